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
 * spends that record. */
#include <inttypes.h>
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
	struct auth_session *auth;
	const char *mechanism; /* NULL: a <response/> */
	bool has_in;
	size_t in_len;
	struct auth_step step;
	/* A throttled answer waiting for its delay (instead of a step). */
	bool delayed;
	uv_timer_t timer;
	const char *condition;
	unsigned char in[]; /* decoded */
};

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
	address_throttle = throttle_new(cfg->throttle_per_address,
					cfg->throttle_period, THROTTLE_CAPACITY);
	account_throttle = throttle_new(cfg->throttle_per_account,
					cfg->throttle_period, THROTTLE_CAPACITY);
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
	bool tls = c2s_conn_tls_active(c);
	*ncb = tls ? c2s_tls_conn_bindings(c->tls, cb) : 0;
	if (!tls && cfg->require_starttls)
		return 0;
	return auth_mechanisms(cfg, c2s_conn_domain(c), tls, *ncb > 0, mechs, max);
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
		buf_append_str(out, "<sasl-channel-binding xmlns='" NS_SASL_CB "'>");
		for (size_t i = 0; i < ncb; i++)
			buf_printf(out, "<channel-binding type='%s'/>", cb[i].type);
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
	if (throttle_address_key(c->peer, k->address, sizeof k->address) < 0)
		snprintf(k->address, sizeof k->address, "%s", c->peer);
	snprintf(k->account, sizeof k->account, "%s@%s", localpart, domain);
	snprintf(k->proved, sizeof k->proved, "%s %s", k->account,
		 k->address);
}

static enum sasl_outcome sasl_outcome_of(const char *condition)
{
	return strcmp(condition, "temporary-auth-failure") == 0
		       ? SASL_UNCHECKED
		       : SASL_FAILED;
}

/* At <auth/>: the exchange takes its place among the address's attempts,
 * or is refused (logged once per window). */
static bool sasl_claim_address(struct conn *c)
{
	struct sasl_keys k;
	sasl_keys_make(&k, c, "", "");
	switch (throttle_claim(address_throttle, k.address, sasl_now_ms())) {
	case THROTTLE_OPEN:
		return true;
	case THROTTLE_CLOSED_FIRST:
		log_warn("conn %" PRIu64 " (%s): throttling address %s: %u "
			 "failed or unfinished authentications within %u s",
			 c->id, c->peer, k.address,
			 c->c2s->cfg->throttle_per_address,
			 c->c2s->cfg->throttle_period);
		return false;
	default:
		return false;
	}
}

/* The gate auth/ asks on a worker thread once a mechanism names its
 * user, before any secret is read (once per exchange; the conn is the
 * step's until it comes back, so sasl_claim is ours to write). */
static bool sasl_account_allowed(void *ctx, const char *domain,
				 const char *localpart)
{
	struct conn *c = ctx;
	const struct config *cfg = c->c2s->cfg;
	struct sasl_keys k;
	uint64_t now = sasl_now_ms();
	sasl_keys_make(&k, c, localpart, domain);
	enum throttle_state state = throttle_claim(account_throttle,
						   k.account, now);
	if (state == THROTTLE_OPEN) {
		c->sasl_claim = SASL_CLAIM_ACCOUNT;
		return true;
	}
	if (state == THROTTLE_CLOSED_FIRST)
		log_warn("auth: throttling %s: %u failed or unfinished "
			 "authentications within %u s", k.account,
			 cfg->throttle_per_account, cfg->throttle_period);
	if (throttle_claim_noted(proved_logins, k.proved, now)) {
		c->sasl_claim = SASL_CLAIM_PROVED;
		return true;
	}
	return false;
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
}

/* Starts an exchange at <auth/> (c->auth, NULL when out of memory):
 * false when the address is throttled. */
static bool sasl_begin_exchange(struct conn *c,
				const struct auth_channel_binding *cb,
				size_t ncb)
{
	if (!sasl_claim_address(c))
		return false;
	c->sasl_claim = SASL_CLAIM_NONE;
	c->auth = auth_session_new(c->c2s->cfg, c2s_conn_domain(c),
				   c2s_conn_tls_active(c), cb, ncb);
	if (c->auth)
		auth_session_set_gate(c->auth, sasl_account_allowed, c);
	else
		sasl_release(c, NULL, SASL_UNCHECKED);
	return true;
}

/* The exchange is over (none running on a worker): its attempts counted
 * as outcome says, nothing of it kept. */
static void sasl_end_exchange(struct conn *c, enum sasl_outcome outcome)
{
	if (!c->auth || c->job)
		return;
	sasl_release(c, auth_session_user(c->auth), outcome);
	auth_session_free(c->auth);
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
static void sasl_failure_send(struct conn *c, const char *condition,
			      bool log)
{
	if (!sasl_is_condition(condition))
		condition = "not-authorized";
	sasl_end_exchange(c, sasl_outcome_of(condition));
	struct buf b = BUF_INIT;
	if (buf_printf(&b, "<failure xmlns='%s'><%s/></failure>", NS_SASL, condition) == 0)
		c2s_conn_send_buf(c, &b);
	buf_free(&b);
	if (strcmp(condition, "aborted") == 0)
		return;
	if (log)
		log_info("conn %" PRIu64 " (%s): authentication failed for "
			 "domain %s with %s: %s", c->id, c->peer,
			 c2s_conn_domain(c), c->mechanism ? c->mechanism : "-",
			 condition);
	if (++c->auth_failures >= C2S_MAX_AUTH_FAILURES)
		c2s_stream_error(c, "policy-violation", "too many failed authentication attempts");
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
		c2s_conn_send_buf(c, &b);
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
	log_info("conn %" PRIu64 " (%s): %s authenticated with %s", c->id,
		 c->peer, jid, c->mechanism);
	sasl_send_data(c, "success", step->out, step->out_len);
	/* The memory budget: nothing of SASL stays with the session. */
	sasl_end_exchange(c, SASL_SUCCEEDED);
	c->mechanism = NULL;
	c->state = CONN_AUTHENTICATED;
	/* RFC 6120 §6.4.6: a new stream, without closing the old one. */
	c2s_stream_restart(c);
}

/* ------------------------------------------------------------------ */
/* Delayed refusals */

static void sasl_delay_closed(uv_handle_t *h)
{
	struct sasl_job *job = h->data;
	struct conn *c = job->conn;
	free(job);
	c2s_conn_unref(c);
}

static void sasl_delay_answer(struct sasl_job *job)
{
	struct conn *c = job->conn;
	if (c->job == job)
		c->job = NULL;
	if (c->closing)
		return;
	if (c->sasl_abort) {
		c->sasl_abort = false;
		sasl_failure(c, "aborted");
	} else {
		sasl_failure_send(c, job->condition, false);
	}
	/* Timers run before the loop's poll; the flusher (a check handle)
	 * only after it: write now rather than at the next event. */
	c2s_conn_flush_all(c->c2s);
}

static void sasl_delay_fire(uv_timer_t *t)
{
	struct sasl_job *job = t->data;
	sasl_delay_answer(job);
	uv_close((uv_handle_t *)t, sasl_delay_closed);
}

/* Answers condition after the configured delay, on a timer. job: the
 * finished step's (its reference to the conn is kept), or NULL. */
static void sasl_delay_failure(struct conn *c, struct sasl_job *job,
			       const char *condition)
{
	if (!job) {
		job = calloc(1, sizeof *job);
		if (!job) {
			sasl_failure_send(c, condition, false);
			return;
		}
		job->conn = c;
		c->refs++;
	}
	auth_step_clear(&job->step);
	job->delayed = true;
	job->condition = condition;
	job->timer.data = job;
	c->job = job;
	if (uv_timer_init(c->c2s->loop, &job->timer) != 0) {
		sasl_delay_answer(job);
		free(job);
		c2s_conn_unref(c);
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
		auth_start(job->auth, job->mechanism, in, job->in_len, &job->step);
	else
		auth_continue(job->auth, in, job->in_len, &job->step);
}

static void sasl_done(struct lanes_job *lane, int status)
{
	struct sasl_job *job = lane->data;
	struct conn *c = job->conn;
	bool gated = c->auth && auth_session_gated(c->auth);
	c->job = NULL;
	if (c->closing || status != 0) {
		/* The client left, or the step was cancelled: an
		 * unfinished exchange, unless the gate had refused it. */
		sasl_end_exchange(c, gated ? SASL_UNCHECKED : SASL_FAILED);
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
			sasl_send_data(c, "challenge", job->step.out, job->step.out_len);
			break;
		case AUTH_SUCCESS:
			sasl_success(c, &job->step);
			break;
		case AUTH_FAILURE:
		default:
			sasl_failure(c, job->step.condition);
			break;
		}
		c2s_conn_want_flush(c);
	}
	auth_step_clear(&job->step);
	free(job);
	c2s_conn_unref(c);
}

/* Decodes the element's text and queues a step. */
static void sasl_submit(struct conn *c, const char *mechanism,
			struct xml_node *el, struct arena *a)
{
	const char *text = xml_text(a, el);
	size_t len = text ? strlen(text) : 0;
	struct sasl_job *job = calloc(1, sizeof *job + len / 4 * 3 + 1);
	if (!job) {
		c2s_stream_error(c, "resource-constraint", NULL);
		return;
	}
	/* RFC 6120 §6.4.2: no text is no initial response, "=" an empty one. */
	job->has_in = !(mechanism && len == 0);
	if (len > 0 && !(len == 1 && text[0] == '=')) {
		long n = base64_decode(text, len, job->in);
		if (n < 0) {
			free(job);
			sasl_failure(c, "incorrect-encoding");
			return;
		}
		job->in_len = (size_t)n;
	}
	job->conn = c;
	job->auth = c->auth;
	job->mechanism = mechanism;
	job->lane.data = job;
	/* In the lane of the host's directory (lib/lanes.h): a step that
	 * waits for a hung directory never holds up another domain's. */
	struct c2s *c2s = c->c2s;
	size_t lane = lanes_directory_lane(c2s->cfg, c->host);
	if (lanes_queue(c2s->lanes, &job->lane, lane, sasl_work, sasl_done) != 0) {
		free(job);
		sasl_failure(c, "temporary-auth-failure");
		return;
	}
	c->job = job;
	c->refs++;
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
	if (!c2s_conn_tls_active(c) && cfg->require_starttls) {
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
	if (!sasl_begin_exchange(c, cb, ncb)) {
		sasl_delay_failure(c, NULL, "temporary-auth-failure");
		return;
	}
	if (!c->auth) {
		sasl_failure(c, "temporary-auth-failure");
		return;
	}
	c->mechanism = mechanism;
	sasl_submit(c, mechanism, el, a);
}

void c2s_sasl_handle(struct conn *c, struct xml_node *el, struct arena *a)
{
	bool is_abort = strcmp(el->name, "abort") == 0;
	if (c->job) {
		/* The client must wait for our answer (RFC 6120 §6.4.3);
		 * <abort/> is the one thing it may send meanwhile. */
		if (is_abort)
			c->sasl_abort = true;
		else
			c2s_stream_error(c, "policy-violation",
				     "a SASL step is still in progress");
		return;
	}
	if (strcmp(el->name, "auth") == 0) {
		sasl_auth(c, el, a);
	} else if (strcmp(el->name, "response") == 0) {
		if (c->auth)
			sasl_submit(c, NULL, el, a);
		else
			sasl_failure(c, "malformed-request");
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
	} else if (!c->job->delayed) {
		lanes_cancel(&c->job->lane);
	} else {
		struct sasl_job *job = c->job;
		c->job = NULL;
		uv_timer_stop(&job->timer);
		uv_close((uv_handle_t *)&job->timer, sasl_delay_closed);
		sasl_end_exchange(c, sasl_outcome_of(job->condition));
	}
}
