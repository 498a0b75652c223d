/* sasl: RFC 6120 §6 on libuv's worker pool. auth/ may block (databases,
 * directories), so each step runs in a worker; the conn holds a
 * reference until the step comes back, and a step that comes back to a
 * closed conn is thrown away. Payloads are never logged.
 *
 * Each exchange counts as an authentication attempt (throttle.c,
 * <c2s><auth-throttle>) from the moment it starts, so that exchanges
 * run in parallel cannot all be checked before the first failure is
 * known: for its source address at <auth/>, for its account once the
 * mechanism names the user (the gate auth/ asks on the worker, before
 * any secret is read). An exchange that does not succeed counts as a
 * failure, whatever went wrong (a wrong password, a malformed message,
 * an abort, a client that left), except temporary-auth-failure, where
 * nothing was checked. Counting malformed exchanges is also what bounds
 * the memory cyrus-sasl's DIGEST-MD5 loses on some malformed responses
 * (7 bytes each, with a repeated cnonce): palabre cannot mend the
 * library, it limits how often a client gets there.
 *
 * Past a limit, an <auth/> from that address, or an exchange naming that
 * account, is answered temporary-auth-failure after a delay (a timer on
 * the loop, not a worker), with no secret read and no proof checked:
 * the directory, or the local backend's PBKDF2, is not asked at all, and
 * SCRAM stops before its server-first-message. One exception, so that
 * someone guessing cannot lock an account's owner out: a client that
 * proved the account's password from the same address within
 * SASL_PROVED_TTL_S may still try, one exchange at a time; a failure
 * spends that record.
 *
 * An exchange refused only because the limit's worth are under way
 * (none failed: a NAT reconnecting hundreds of clients at once, a user
 * with many devices) is not refused: it waits, unanswered, in its key's
 * queue (throttle_wait) until one of those ends. A success frees its
 * place for the first in line; a failure counts, so an attacker's
 * queued exchanges meet the failure limit and get the delayed
 * temporary-auth-failure. The wait is the SASL job's: no timer, nothing
 * kept per idle session; the connection's auth-timeout bounds it, and a
 * connection that aborts, leaves or is closed leaves the queue at once
 * (c2s_sasl_cancel). At <auth/> the exchange waits for its address; once
 * the mechanism names the user, on the worker, the gate cannot wait:
 * the step ends unchecked and, where the user came in the client's
 * first message (PLAIN, SCRAM), the exchange waits for the account and
 * then runs that first step again on a new session; DIGEST-MD5 names
 * its user after our challenge and gets temporary-auth-failure. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/base64.h"
#include "../../lib/jid.h"
#include "../../lib/log.h"
#include "c2s.h"
#include "tls.h"

struct sasl_job {
	struct lanes_job lane;
	struct conn *conn;
	struct auth_exchange *auth;
	const char *mechanism; /* NULL: a <response/> */
	bool has_in;
	size_t in_len;
	bool malformed; /* the text was not base64 */
	struct auth_step step;
	enum {
		SASL_JOB_STEP,  /* a step on the worker pool */
		SASL_JOB_WAIT,  /* waiting for a place (the step not run) */
		SASL_JOB_DELAY, /* a throttled answer waiting for its delay */
	} kind;
	uv_timer_t timer;
	const char *condition;
	struct throttle_waiter waiter;
	bool waits_account; /* for its account's place, else its address's */
	unsigned char in[]; /* decoded */
};

static void sasl_resume(struct sasl_job *job);

/* Throttle tables of this process, made from the first conn's config,
 * and the records of recent successes (the one exception above): about
 * 100 bytes each for usual names, a bounded table, so that a flood of
 * successful logins from many addresses can only push records out (an
 * owner is then treated like anyone else). */
#define THROTTLE_CAPACITY 16384
#define SASL_PROVED_CAPACITY 4096
#define SASL_PROVED_TTL_S (24 * 3600)
static struct throttle *address_throttle, *account_throttle, *proved_logins;
static bool throttles_made;

static void sasl_make_throttles(const struct config *cfg)
{
	if (throttles_made)
		return;
	throttles_made = true;
	address_throttle =
		throttle_new(cfg->throttle_per_address, cfg->throttle_period,
			     THROTTLE_CAPACITY);
	account_throttle =
		throttle_new(cfg->throttle_per_account, cfg->throttle_period,
			     THROTTLE_CAPACITY);
	if (account_throttle)
		proved_logins = throttle_new(1, SASL_PROVED_TTL_S,
					     SASL_PROVED_CAPACITY);
}

static uint64_t sasl_now_ms(void)
{
	/* uv_hrtime: monotonic, and safe on worker threads too. */
	return uv_hrtime() / 1000000;
}

/* ------------------------------------------------------------------ */
/* Features */

static size_t sasl_offer(const struct conn *c, const char **mechs, size_t max,
			 struct auth_channel_binding *cb, size_t *ncb)
{
	const struct config *cfg = c->c2s->cfg;
	bool tls = c->nc.tls_ready;
	*ncb = tls ? c2s_tls_conn_bindings(c->nc.tls, cb) : 0;
	if (!tls && cfg->require_starttls)
		return 0;
	return auth_mechanisms(cfg, c2s_conn_domain(c), tls, *ncb > 0, mechs,
			       max);
}

static bool sasl_offers_plus(const char **mechs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(mechs[i]);
		if (len > 5 && strcmp(mechs[i] + len - 5, "-PLUS") == 0)
			return true;
	}
	return false;
}

void c2s_sasl_append_features(struct conn *c, struct buf *out)
{
	const char *mechs[CONFIG_MAX_MECHANISMS];
	struct auth_channel_binding cb[AUTH_MAX_BINDINGS];
	size_t ncb;
	size_t n = sasl_offer(c, mechs, CONFIG_MAX_MECHANISMS, cb, &ncb);
	if (n) {
		buf_append_str(out, "<mechanisms xmlns='" NS_SASL "'>");
		for (size_t i = 0; i < n; i++)
			buf_printf(out, "<mechanism>%s</mechanism>", mechs[i]);
		buf_append_str(out, "</mechanisms>");
	}
	if (ncb && sasl_offers_plus(mechs, n)) {
		/* XEP-0440 §2: the channel-binding types this connection
		 * has, for the -PLUS mechanisms that use them: none
		 * offered, nothing to announce. */
		buf_append_str(out,
			       "<sasl-channel-binding xmlns='" NS_SASL_CB "'>");
		for (size_t i = 0; i < ncb; i++)
			buf_printf(out, "<channel-binding type='%s'/>",
				   cb[i].type);
		buf_append_str(out, "</sasl-channel-binding>");
	}
}

/* ------------------------------------------------------------------ */
/* Attempts: what each exchange counts as, and for whom */

enum sasl_claim {
	SASL_CLAIM_NONE,    /* no account claimed (yet, or refused) */
	SASL_CLAIM_ACCOUNT, /* one of the account's attempts */
	SASL_CLAIM_PROVED,  /* the record of a recent success, while the
			     * account is throttled */
	SASL_CLAIM_WAIT,    /* none: the account's places are taken */
};

enum sasl_outcome {
	SASL_SUCCEEDED,
	SASL_UNCHECKED, /* temporary-auth-failure: nothing was checked */
	SASL_FAILED,
};

/* The keys an exchange counts under: its address; its account and the
 * two together once the mechanism named the user. */
#define SASL_ADDRESS_KEY_MAX 80
#define SASL_ACCOUNT_KEY_MAX (2 * JID_PART_MAX + 2)
struct sasl_keys {
	char address[SASL_ADDRESS_KEY_MAX];
	char account[SASL_ACCOUNT_KEY_MAX];
	char proved[SASL_ACCOUNT_KEY_MAX + SASL_ADDRESS_KEY_MAX];
};

static void sasl_keys_make(struct sasl_keys *k, const struct conn *c,
			   const char *localpart, const char *domain)
{
	if (throttle_address_key(c->nc.peer, k->address, sizeof k->address) < 0)
		snprintf(k->address, sizeof k->address, "%s", c->nc.peer);
	snprintf(k->account, sizeof k->account, "%s@%s", localpart, domain);
	snprintf(k->proved, sizeof k->proved, "%s %s", k->account, k->address);
}

static enum sasl_outcome sasl_outcome_of(const char *condition)
{
	return strcmp(condition, "temporary-auth-failure") == 0 ? SASL_UNCHECKED
								: SASL_FAILED;
}

/* The address's answer to the exchange's claim (state, after any
 * wait): its place, or a refusal (logged once per window). */
static bool sasl_address_admit(struct conn *c, const struct sasl_keys *k,
			       enum throttle_state state)
{
	if (state == THROTTLE_CLOSED_FIRST)
		log_warn("conn %" PRIu64 " (%s): throttling address %s: %u "
			 "failed or unfinished authentications within %u s",
			 c->nc.id, c->nc.peer, k->address,
			 c->c2s->cfg->throttle_per_address,
			 c->c2s->cfg->throttle_period);
	return state == THROTTLE_OPEN;
}

/* The account's answer to the exchange's claim (state): a place in
 * c->sasl_claim (the account's, or the record of a recent success from
 * this address while the account is closed or busy), or false, with
 * SASL_CLAIM_WAIT when a place may free up. */
static bool sasl_account_admit(struct conn *c, const struct sasl_keys *k,
			       enum throttle_state state, uint64_t now)
{
	const struct config *cfg = c->c2s->cfg;
	if (state == THROTTLE_OPEN) {
		c->sasl_claim = SASL_CLAIM_ACCOUNT;
		return true;
	}
	if (state == THROTTLE_CLOSED_FIRST)
		log_warn("auth: throttling %s: %u failed or unfinished "
			 "authentications within %u s",
			 k->account, cfg->throttle_per_account,
			 cfg->throttle_period);
	if (throttle_claim_noted(proved_logins, k->proved, now)) {
		c->sasl_claim = SASL_CLAIM_PROVED;
		return true;
	}
	c->sasl_claim =
		state == THROTTLE_BUSY ? SASL_CLAIM_WAIT : SASL_CLAIM_NONE;
	return false;
}

/* The gate auth/ asks on a worker thread once a mechanism names its
 * user, before any secret is read (once per session; the conn is the
 * step's until it comes back, so sasl_claim is ours to write). */
static bool sasl_account_allowed(void *ctx, const char *domain,
				 const char *localpart)
{
	struct conn *c = ctx;
	struct sasl_keys k;
	uint64_t now = sasl_now_ms();
	sasl_keys_make(&k, c, localpart, domain);
	return sasl_account_admit(
		c, &k, throttle_claim(account_throttle, k.account, now), now);
}

/* Hands back the exchanges whose wait for key is over, in arrival
 * order (after a place freed up, or a failure closed the key). */
static void sasl_wake(struct throttle *t, const char *key)
{
	struct throttle_waiter *w;
	while ((w = throttle_wake(t, key, sasl_now_ms())))
		sasl_resume(
			(struct sasl_job *)((char *)w -
					    offsetof(struct sasl_job, waiter)));
}

/* The exchange's attempts are over: failures counted unless it
 * succeeded or nothing was checked; a success noted for its address.
 * user: the local part the mechanism named, or NULL. */
static void sasl_release(struct conn *c, const char *user,
			 enum sasl_outcome outcome)
{
	struct sasl_keys k;
	uint64_t now = sasl_now_ms();
	bool failed = outcome == SASL_FAILED;
	sasl_keys_make(&k, c, user ? user : "", c2s_conn_domain(c));
	if (failed)
		throttle_fail(address_throttle, k.address, now);
	throttle_release(address_throttle, k.address, now);
	if (user && failed)
		throttle_fail(account_throttle, k.account, now);
	if (c->sasl_claim == SASL_CLAIM_ACCOUNT)
		throttle_release(account_throttle, k.account, now);
	if (c->sasl_claim == SASL_CLAIM_PROVED) {
		if (failed)
			throttle_fail(proved_logins, k.proved, now);
		throttle_release(proved_logins, k.proved, now);
	}
	if (user && outcome == SASL_SUCCEEDED)
		throttle_note(proved_logins, k.proved, now);
	c->sasl_claim = SASL_CLAIM_NONE;
	/* Everything counted: those waiting for these places go on. */
	sasl_wake(address_throttle, k.address);
	if (user)
		sasl_wake(account_throttle, k.account);
}

/* A new session for an exchange on c's stream, with the throttle's gate;
 * NULL when out of memory. */
static struct auth_exchange *sasl_new_session(struct conn *c)
{
	const char *mechs[CONFIG_MAX_MECHANISMS];
	struct auth_channel_binding cb[AUTH_MAX_BINDINGS];
	size_t ncb;
	sasl_offer(c, mechs, CONFIG_MAX_MECHANISMS, cb, &ncb);
	struct auth_exchange *s = auth_exchange_new(
		c->c2s->cfg, c2s_conn_domain(c), c->nc.tls_ready, cb, ncb);
	if (s)
		auth_exchange_set_gate(s, sasl_account_allowed, c);
	return s;
}

/* The exchange is over (none running on a worker): its attempts counted
 * as outcome says, nothing of it kept. */
static void sasl_end_exchange(struct conn *c, enum sasl_outcome outcome)
{
	if (!c->auth || c->job)
		return;
	sasl_release(c, auth_exchange_user(c->auth), outcome);
	auth_exchange_free(c->auth);
	c->auth = NULL;
}

/* ------------------------------------------------------------------ */
/* Answers */

static bool sasl_is_condition(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '-'))
			return false;
	return true;
}

/* RFC 6120 §6.4.5: a failure ends the exchange, not the stream; the
 * client may try again, up to C2S_MAX_AUTH_FAILURES times. */
static void sasl_failure_send(struct conn *c, const char *condition, bool log)
{
	if (!sasl_is_condition(condition))
		condition = "not-authorized";
	sasl_end_exchange(c, sasl_outcome_of(condition));
	struct buf b = BUF_INIT;
	if (buf_printf(&b, "<failure xmlns='%s'><%s/></failure>", NS_SASL,
		       condition) == 0)
		netconn_send_buf(&c->nc, &b);
	buf_free(&b);
	if (strcmp(condition, "aborted") == 0)
		return;
	if (log)
		log_info("conn %" PRIu64 " (%s): authentication failed for "
			 "domain %s with %s: %s",
			 c->nc.id, c->nc.peer, c2s_conn_domain(c),
			 c->mechanism ? c->mechanism : "-", condition);
	if (++c->auth_failures >= C2S_MAX_AUTH_FAILURES)
		c2s_stream_error(c, "policy-violation",
				 "too many failed authentication attempts");
}

static void sasl_failure(struct conn *c, const char *condition)
{
	sasl_failure_send(c, condition, true);
}

static void sasl_send_data(struct conn *c, const char *name,
			   const unsigned char *data, size_t len)
{
	struct buf b = BUF_INIT;
	int r;
	if (len == 0) {
		r = buf_printf(&b, "<%s xmlns='%s'/>", name, NS_SASL);
	} else {
		r = buf_printf(&b, "<%s xmlns='%s'>", name, NS_SASL);
		r |= base64_encode(&b, data, len);
		r |= buf_printf(&b, "</%s>", name);
	}
	if (r == 0)
		netconn_send_buf(&c->nc, &b);
	else
		c2s_stream_error(c, "resource-constraint", NULL);
	buf_free(&b);
}

static void sasl_success(struct conn *c, struct auth_step *step)
{
	const char *domain = c2s_conn_domain(c);
	size_t local_len = step->localpart ? strlen(step->localpart) : 0;
	size_t domain_len = strlen(domain);
	if (local_len == 0 || local_len > JID_PART_MAX) {
		sasl_failure(c, "temporary-auth-failure");
		return;
	}
	char *jid = malloc(local_len + 1 + domain_len + 1);
	if (!jid) {
		c2s_stream_error(c, "resource-constraint", NULL);
		return;
	}
	memcpy(jid, step->localpart, local_len);
	jid[local_len] = '@';
	memcpy(jid + local_len + 1, domain, domain_len + 1);
	free(c->jid);
	c->jid = jid;
	log_info("conn %" PRIu64 " (%s): %s authenticated with %s", c->nc.id,
		 c->nc.peer, jid, c->mechanism);
	sasl_send_data(c, "success", step->out, step->out_len);
	/* The memory budget: nothing of SASL stays with the session. */
	sasl_end_exchange(c, SASL_SUCCEEDED);
	c->mechanism = NULL;
	c->state = CONN_AUTHENTICATED;
	/* RFC 6120 §6.4.6: a new stream, without closing the old one. */
	netconn_restart(&c->nc);
}

/* ------------------------------------------------------------------ */
/* Jobs */

/* A step's job with the element's decoded text, holding a reference to
 * the conn; NULL (the stream failed) when out of memory. */
static struct sasl_job *sasl_job_new(struct conn *c, const char *mechanism,
				     struct xml_node *el, struct arena *a)
{
	const char *text = xml_text(a, el);
	size_t len = text ? strlen(text) : 0;
	struct sasl_job *job = calloc(1, sizeof *job + len / 4 * 3 + 1);
	if (!job) {
		c2s_stream_error(c, "resource-constraint", NULL);
		return NULL;
	}
	/* RFC 6120 §6.4.2: no text is no initial response, "=" an empty one. */
	job->has_in = !(mechanism && len == 0);
	if (len > 0 && !(len == 1 && text[0] == '=')) {
		long n = base64_decode(text, len, job->in);
		job->malformed = n < 0;
		job->in_len = n < 0 ? 0 : (size_t)n;
	}
	job->conn = c;
	job->mechanism = mechanism;
	c->nc.refs++;
	return job;
}

static void sasl_job_free(struct sasl_job *job)
{
	struct conn *c = job->conn;
	auth_step_clear(&job->step);
	free(job);
	netconn_unref(&c->nc);
}

/* ------------------------------------------------------------------ */
/* Delayed refusals */

static void sasl_delay_closed(uv_handle_t *h)
{
	sasl_job_free(h->data);
}

static void sasl_delay_answer(struct sasl_job *job)
{
	struct conn *c = job->conn;
	if (c->job == job)
		c->job = NULL;
	if (c->nc.closing)
		return;
	if (c->sasl_abort) {
		c->sasl_abort = false;
		sasl_failure(c, "aborted");
	} else {
		sasl_failure_send(c, job->condition, false);
	}
	/* Timers run before the loop's poll; the flusher (a check handle)
	 * only after it: write now rather than at the next event. */
	netconn_flush_all(&c->c2s->proc.conns);
}

static void sasl_delay_fire(uv_timer_t *t)
{
	struct sasl_job *job = t->data;
	sasl_delay_answer(job);
	uv_close((uv_handle_t *)t, sasl_delay_closed);
}

/* Answers condition after the configured delay, on a timer, with the
 * job of the step that was refused (its reference to the conn kept). */
static void sasl_delay_failure(struct conn *c, struct sasl_job *job,
			       const char *condition)
{
	auth_step_clear(&job->step);
	job->kind = SASL_JOB_DELAY;
	job->condition = condition;
	job->timer.data = job;
	c->job = job;
	if (uv_timer_init(c->c2s->proc.loop, &job->timer) != 0) {
		sasl_delay_answer(job);
		sasl_job_free(job);
		return;
	}
	if (uv_timer_start(&job->timer, sasl_delay_fire,
			   c->c2s->cfg->throttle_delay_ms, 0) != 0) {
		sasl_delay_answer(job);
		uv_close((uv_handle_t *)&job->timer, sasl_delay_closed);
	}
}

/* ------------------------------------------------------------------ */
/* Worker pool */

static void sasl_work(struct lanes_job *lane)
{
	struct sasl_job *job = lane->data;
	const unsigned char *in = job->has_in ? job->in : NULL;
	if (job->mechanism)
		auth_start(job->auth, job->mechanism, in, job->in_len,
			   &job->step);
	else
		auth_continue(job->auth, in, job->in_len, &job->step);
}

static void sasl_wait(struct conn *c, struct sasl_job *job, bool account);

static void sasl_done(struct lanes_job *lane, int status)
{
	struct sasl_job *job = lane->data;
	struct conn *c = job->conn;
	bool gated = c->auth && auth_exchange_gated(c->auth);
	c->job = NULL;
	if (c->nc.closing || status != 0) {
		/* The client left, or the step was cancelled: an
		 * unfinished exchange, unless the gate had refused it. */
		sasl_end_exchange(c, gated ? SASL_UNCHECKED : SASL_FAILED);
	} else if (gated && c->sasl_claim == SASL_CLAIM_WAIT &&
		   !c->sasl_abort && auth_exchange_replayable(c->auth)) {
		/* The account's places are taken, none failed: nothing was
		 * checked, and the step runs again once one frees up. */
		sasl_wait(c, job, true);
		return;
	} else if (gated) {
		/* The account is throttled: nothing was checked, and the
		 * exchange ends here (SCRAM before its server-first). */
		sasl_delay_failure(c, job, "temporary-auth-failure");
		return;
	} else if (c->sasl_abort) {
		c->sasl_abort = false;
		sasl_failure(c, "aborted");
	} else {
		switch (job->step.result) {
		case AUTH_CONTINUE:
			sasl_send_data(c, "challenge", job->step.out,
				       job->step.out_len);
			break;
		case AUTH_SUCCESS:
			sasl_success(c, &job->step);
			break;
		case AUTH_FAILURE:
		default:
			sasl_failure(c, job->step.condition);
			break;
		}
		netconn_want_flush(&c->nc);
	}
	sasl_job_free(job);
}

/* Runs the job's step on c->auth (a text that was not base64 fails
 * here, counted like any malformed message). */
static void sasl_queue(struct conn *c, struct sasl_job *job)
{
	job->kind = SASL_JOB_STEP;
	job->auth = c->auth;
	job->lane.data = job;
	if (job->malformed) {
		sasl_failure(c, "incorrect-encoding");
		sasl_job_free(job);
		return;
	}
	/* In the lane of the host's directory (lib/lanes.h): a step that
	 * waits for a hung directory never holds up another domain's. */
	struct c2s *c2s = c->c2s;
	size_t lane = auth_lane(c2s->cfg, c->host);
	if (lanes_queue(c2s->lanes, &job->lane, lane, sasl_work, sasl_done) !=
	    0) {
		sasl_failure(c, "temporary-auth-failure");
		sasl_job_free(job);
		return;
	}
	c->job = job;
}

/* The exchange's first step runs on a new session, which replaces the
 * one whose gate made it wait, if any: the place claimed since is that
 * user's, and the new session names it from the start, so that the
 * place is released under that account even if the step never runs (a
 * client that leaves while the step waits in its lane). */
static void sasl_start(struct conn *c, struct sasl_job *job)
{
	struct auth_exchange *s = sasl_new_session(c);
	if (!s) {
		if (!c->auth)
			sasl_release(c, NULL, SASL_UNCHECKED);
		sasl_failure(c, "temporary-auth-failure");
		sasl_job_free(job);
		return;
	}
	if (c->auth && auth_exchange_user(c->auth))
		auth_exchange_replay_user(s, auth_exchange_user(c->auth));
	auth_exchange_free(c->auth);
	c->auth = s;
	job->mechanism = c->mechanism;
	sasl_queue(c, job);
}

/* ------------------------------------------------------------------ */
/* Waiting for a place */

/* The throttle table and key (in k) job waits on. */
static struct throttle *sasl_waits_on(const struct conn *c,
				      const struct sasl_job *job,
				      struct sasl_keys *k, const char **key)
{
	const char *user = job->waits_account && c->auth
				   ? auth_exchange_user(c->auth)
				   : NULL;
	sasl_keys_make(k, c, user ? user : "", c2s_conn_domain(c));
	*key = job->waits_account ? k->account : k->address;
	return job->waits_account ? account_throttle : address_throttle;
}

/* The exchange takes its place among its address's (at <auth/>) or its
 * account's exchanges (after the gate made it wait), or waits for one,
 * unanswered; the job keeps its input and its reference to the conn. */
static void sasl_wait(struct conn *c, struct sasl_job *job, bool account)
{
	struct sasl_keys k;
	const char *key;
	auth_step_clear(&job->step);
	job->kind = SASL_JOB_WAIT;
	job->waits_account = account;
	c->job = job;
	struct throttle *t = sasl_waits_on(c, job, &k, &key);
	job->waiter.state = throttle_wait(t, key, &job->waiter, sasl_now_ms());
	if (job->waiter.state != THROTTLE_BUSY)
		sasl_resume(job);
}

/* The wait is over (job->waiter.state): the exchange goes on with its
 * place, or is refused after the delay. */
static void sasl_resume(struct sasl_job *job)
{
	struct conn *c = job->conn;
	struct sasl_keys k;
	const char *key;
	enum throttle_state state = job->waiter.state;
	c->job = NULL;
	sasl_waits_on(c, job, &k, &key);
	bool admitted = job->waits_account ? sasl_account_admit(c, &k, state,
								sasl_now_ms())
					   : sasl_address_admit(c, &k, state);
	if (admitted)
		sasl_start(c, job);
	else
		sasl_delay_failure(c, job, "temporary-auth-failure");
}

/* A waiting exchange ends before its turn (the client aborted or left):
 * out of the queue at once, nothing checked. */
static void sasl_unwait(struct conn *c)
{
	struct sasl_job *job = c->job;
	struct sasl_keys k;
	const char *key;
	struct throttle *t = sasl_waits_on(c, job, &k, &key);
	throttle_unwait(t, key, &job->waiter, sasl_now_ms());
	c->job = NULL;
	sasl_end_exchange(c, SASL_UNCHECKED);
	sasl_wake(t, key);
	sasl_job_free(job);
}

/* ------------------------------------------------------------------ */
/* <auth/>, <response/>, <abort/> */

static void sasl_auth(struct conn *c, struct xml_node *el, struct arena *a)
{
	const struct config *cfg = c->c2s->cfg;
	const char *mechs[CONFIG_MAX_MECHANISMS];
	struct auth_channel_binding cb[AUTH_MAX_BINDINGS];
	size_t ncb;
	const char *wanted = xml_attr_get(el, "mechanism");
	const char *mechanism = NULL;

	/* A new <auth/> starts over: the one left unfinished failed. */
	sasl_end_exchange(c, SASL_FAILED);
	c->mechanism = NULL;
	if (!c->nc.tls_ready && cfg->require_starttls) {
		sasl_failure(c, "encryption-required");
		return;
	}
	sasl_make_throttles(cfg);
	size_t n = sasl_offer(c, mechs, CONFIG_MAX_MECHANISMS, cb, &ncb);
	for (size_t i = 0; wanted && i < n; i++)
		if (strcmp(mechs[i], wanted) == 0)
			mechanism = mechs[i];
	if (!mechanism) {
		sasl_failure(c, "invalid-mechanism");
		return;
	}
	struct sasl_job *job = sasl_job_new(c, mechanism, el, a);
	if (!job)
		return;
	c->mechanism = mechanism;
	sasl_wait(c, job, false);
}

static void sasl_response(struct conn *c, struct xml_node *el, struct arena *a)
{
	if (!c->auth) {
		sasl_failure(c, "malformed-request");
		return;
	}
	struct sasl_job *job = sasl_job_new(c, NULL, el, a);
	if (job)
		sasl_queue(c, job);
}

void c2s_sasl_handle(struct conn *c, struct xml_node *el, struct arena *a)
{
	bool is_abort = strcmp(el->name, "abort") == 0;
	if (c->job && is_abort && c->job->kind == SASL_JOB_WAIT) {
		/* RFC 6120 §6.4.4, before the exchange even began. */
		sasl_unwait(c);
		sasl_failure(c, "aborted");
	} else if (c->job) {
		/* The client must wait for our answer (RFC 6120 §6.4.3);
		 * <abort/> is the one thing it may send meanwhile. */
		if (is_abort)
			c->sasl_abort = true;
		else
			c2s_stream_error(c, "policy-violation",
					 "a SASL step is still in progress");
	} else if (strcmp(el->name, "auth") == 0) {
		sasl_auth(c, el, a);
	} else if (strcmp(el->name, "response") == 0) {
		sasl_response(c, el, a);
	} else if (is_abort) {
		/* RFC 6120 §6.4.4 */
		sasl_failure(c, "aborted");
	} else {
		c2s_stream_error(c, "not-authorized", NULL);
	}
}

void c2s_sasl_cancel(struct conn *c)
{
	/* A step waiting in its lane ends at once; one already running
	 * finishes. sasl_done then finds the conn closing, throws its
	 * result away and ends the exchange. */
	if (!c->job) {
		sasl_end_exchange(c, SASL_FAILED); /* left unfinished */
	} else if (c->job->kind == SASL_JOB_STEP) {
		lanes_cancel(&c->job->lane);
	} else if (c->job->kind == SASL_JOB_WAIT) {
		sasl_unwait(c);
	} else {
		struct sasl_job *job = c->job;
		c->job = NULL;
		uv_timer_stop(&job->timer);
		uv_close((uv_handle_t *)&job->timer, sasl_delay_closed);
		sasl_end_exchange(c, sasl_outcome_of(job->condition));
	}
}
