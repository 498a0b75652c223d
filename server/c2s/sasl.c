/* sasl: RFC 6120 §6 on libuv's worker pool. auth/ may block (databases,
 * directories), so each step runs in a worker; the conn holds a
 * reference until the step comes back, and a step that comes back to a
 * closed conn is thrown away. Payloads are never logged.
 *
 * Failed attempts are counted per source address and per account
 * (throttle.c, <c2s><auth-throttle>). Past a limit, an <auth/> from that
 * address, or an exchange naming that account, is answered
 * temporary-auth-failure after a delay (a timer on the loop, not a
 * worker), without the password being checked: the directory, or the
 * local backend's PBKDF2, is not asked at all. */
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
	uv_work_t req;
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

/* Throttle tables of this process, made from the first conn's config. */
#define THROTTLE_CAPACITY 16384
static struct throttle *address_throttle, *account_throttle;
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
	if (ncb) {
		/* XEP-0440: the channel-binding types this connection has. */
		buf_append_str(out, "<sasl-channel-binding xmlns='" NS_SASL_CB "'>");
		for (size_t i = 0; i < ncb; i++)
			buf_printf(out, "<channel-binding type='%s'/>", cb[i].type);
		buf_append_str(out, "</sasl-channel-binding>");
	}
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

static void sasl_drop_session(struct conn *c)
{
	if (c->auth && !c->job) {
		auth_session_free(c->auth);
		c->auth = NULL;
	}
}

/* RFC 6120 §6.4.5: a failure ends the exchange, not the stream; the
 * client may try again, up to C2S_MAX_AUTH_FAILURES times. */
static void sasl_failure_send(struct conn *c, const char *condition,
			      bool log)
{
	if (!sasl_is_condition(condition))
		condition = "not-authorized";
	sasl_drop_session(c);
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
	sasl_drop_session(c);
	c->mechanism = NULL;
	c->state = CONN_AUTHENTICATED;
	/* RFC 6120 §6.4.6: a new stream, without closing the old one. */
	c2s_stream_restart(c);
}

/* ------------------------------------------------------------------ */
/* Throttling */

static void sasl_address_key(const struct conn *c, char *key, size_t len)
{
	if (throttle_address_key(c->peer, key, len) < 0)
		snprintf(key, len, "%s", c->peer);
}

/* The gate auth/ asks on a worker thread once a mechanism names its
 * user, before any secret is read. */
static bool sasl_account_allowed(void *ctx, const char *domain,
				 const char *localpart)
{
	char key[2 * JID_PART_MAX + 2];
	snprintf(key, sizeof key, "%s@%s", localpart, domain);
	switch (throttle_check(account_throttle, key, sasl_now_ms())) {
	case THROTTLE_OPEN:
		return true;
	case THROTTLE_CLOSED_FIRST:
		log_warn("auth: throttling %s: %u failed "
			 "authentications within %u s", key,
			 ((const struct config *)ctx)->throttle_per_account,
			 ((const struct config *)ctx)->throttle_period);
		return false;
	default:
		return false;
	}
}

/* RFC 6120 §6.5: these say the credentials were tried and were wrong;
 * temporary-auth-failure (the directory is down), malformed-request and
 * the like count for nothing. */
static bool sasl_counts_as_failure(const char *condition)
{
	return condition && (strcmp(condition, "not-authorized") == 0 ||
			     strcmp(condition, "invalid-authzid") == 0);
}

static void sasl_count_failure(struct conn *c, const char *user)
{
	char key[2 * JID_PART_MAX + 2];
	uint64_t now = sasl_now_ms();
	sasl_address_key(c, key, sizeof key);
	throttle_fail(address_throttle, key, now);
	if (user) {
		snprintf(key, sizeof key, "%s@%s", user, c2s_conn_domain(c));
		throttle_fail(account_throttle, key, now);
	}
}

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

/* At <auth/>: whether the source address is throttled (logged once per
 * window). */
static bool sasl_address_throttled(struct conn *c)
{
	char key[80];
	sasl_address_key(c, key, sizeof key);
	switch (throttle_check(address_throttle, key, sasl_now_ms())) {
	case THROTTLE_OPEN:
		return false;
	case THROTTLE_CLOSED_FIRST:
		log_warn("conn %" PRIu64 " (%s): throttling address %s: "
			 "%u failed authentications within %u s", c->id,
			 c->peer, key, c->c2s->cfg->throttle_per_address,
			 c->c2s->cfg->throttle_period);
		return true;
	default:
		return true;
	}
}

/* ------------------------------------------------------------------ */
/* Worker pool */

static void sasl_work(uv_work_t *req)
{
	struct sasl_job *job = req->data;
	const unsigned char *in = job->has_in ? job->in : NULL;
	if (job->mechanism)
		auth_start(job->auth, job->mechanism, in, job->in_len, &job->step);
	else
		auth_continue(job->auth, in, job->in_len, &job->step);
}

static void sasl_done(uv_work_t *req, int status)
{
	struct sasl_job *job = req->data;
	struct conn *c = job->conn;
	c->job = NULL;
	if (c->closing || status != 0) {
		/* The client left, or the loop cancelled the step. */
	} else if (job->step.result == AUTH_FAILURE && c->auth &&
		   auth_session_gated(c->auth)) {
		/* The account is throttled: nothing was checked. */
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
			if (sasl_counts_as_failure(job->step.condition))
				sasl_count_failure(c, c->auth ? auth_session_user(c->auth) : NULL);
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
	job->req.data = job;
	if (uv_queue_work(c->c2s->loop, &job->req, sasl_work, sasl_done) != 0) {
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

	sasl_drop_session(c); /* a new <auth/> starts over */
	c->mechanism = NULL;
	if (!c2s_conn_tls_active(c) && cfg->require_starttls) {
		sasl_failure(c, "encryption-required");
		return;
	}
	sasl_make_throttles(cfg);
	if (sasl_address_throttled(c)) {
		sasl_delay_failure(c, NULL, "temporary-auth-failure");
		return;
	}
	size_t n = sasl_offer(c, mechs, CONFIG_MAX_MECHANISMS, cb, &ncb);
	for (size_t i = 0; wanted && i < n; i++)
		if (strcmp(mechs[i], wanted) == 0)
			mechanism = mechs[i];
	if (!mechanism) {
		sasl_failure(c, "invalid-mechanism");
		return;
	}
	c->mechanism = mechanism;
	c->auth = auth_session_new(cfg, c2s_conn_domain(c), c2s_conn_tls_active(c), cb, ncb);
	if (!c->auth) {
		sasl_failure(c, "temporary-auth-failure");
		return;
	}
	auth_session_set_gate(c->auth, sasl_account_allowed, (void *)cfg);
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
	/* A step already running finishes; sasl_done then finds the conn
	 * closing and throws its result away. */
	if (!c->job)
		return;
	if (!c->job->delayed) {
		uv_cancel((uv_req_t *)&c->job->req);
	} else {
		struct sasl_job *job = c->job;
		c->job = NULL;
		uv_timer_stop(&job->timer);
		uv_close((uv_handle_t *)&job->timer, sasl_delay_closed);
	}
}
