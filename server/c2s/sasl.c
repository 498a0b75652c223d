/* sasl: RFC 6120 §6 on libuv's worker pool. auth/ may block (databases,
 * directories), so each step runs in a worker; the conn holds a
 * reference until the step comes back, and a step that comes back to a
 * closed conn is thrown away. Payloads are never logged. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
	unsigned char in[]; /* decoded */
};

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
static void sasl_failure(struct conn *c, const char *condition)
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
	log_info("conn %" PRIu64 " (%s): authentication failed for domain %s "
		 "with %s: %s", c->id, c->peer, c2s_conn_domain(c),
		 c->mechanism ? c->mechanism : "-", condition);
	if (++c->auth_failures >= C2S_MAX_AUTH_FAILURES)
		c2s_stream_error(c, "policy-violation", "too many failed authentication attempts");
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
		r |= c2s_base64_encode(&b, data, len);
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
		long n = c2s_base64_decode(text, len, job->in);
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
	if (c->job)
		uv_cancel((uv_req_t *)&c->job->req);
}
