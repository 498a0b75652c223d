/* session: one client session (see session.h). */
#include "session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/tls.h"
#include "sasl.h"
#include "worker.h"
#include "xmppload.h"

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define NS_ROSTER "jabber:iq:roster"
#define NS_PING "urn:xmpp:ping"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

static void session_input(struct session *s, const char *data, size_t len);

const char *session_step_name(int state)
{
	static const char *const names[SESSION_STEPS] = {
		[SESSION_FREE] = "free",
		[SESSION_CONNECTING] = "connect",
		[SESSION_FEATURES] = "stream",
		[SESSION_STARTTLS] = "starttls",
		[SESSION_HANDSHAKE] = "tls-handshake",
		[SESSION_AUTH_FEATURES] = "tls-stream",
		[SESSION_SASL] = "sasl",
		[SESSION_BIND_FEATURES] = "auth-stream",
		[SESSION_BIND] = "bind",
		[SESSION_LEGACY_SESSION] = "session",
		[SESSION_ROSTER] = "roster",
		[SESSION_ONLINE] = "online",
		[SESSION_CLOSING] = "closing",
		[SESSION_CLOSED] = "closed",
	};
	return state >= 0 && state < SESSION_STEPS ? names[state] : "?";
}

static void session_arm(struct session *s)
{
	s->deadline_ms =
		worker_now_ms(s->w) + (uint64_t)(s->w->opt->timeout * 1000.0);
}

bool session_online(const struct session *s)
{
	return s->state == SESSION_ONLINE;
}

/* ---- output ------------------------------------------------------------ */

void session_send(struct session *s, const char *data, size_t len)
{
	if (s->state == SESSION_FREE || s->state == SESSION_CLOSED)
		return;
	int r = s->tls ? tls_conn_write(s->tls, data, len)
		       : buf_append(&s->out.out, data, len);
	if (r < 0) {
		session_abort(s, FAIL_TLS);
		return;
	}
	worker_mark_dirty(s->w, s);
}

void session_send_str(struct session *s, const char *text)
{
	session_send(s, text, strlen(text));
}

static void session_send_buf(struct session *s, struct buf *b)
{
	if (b->data)
		session_send(s, b->data, b->len);
	buf_free(b);
}

static void on_written(uv_write_t *req, int status)
{
	struct session *s = req->data;
	socket_output_written(&s->out, req);
	if (status == UV_ECANCELED)
		return;
	if (status < 0)
		session_abort(s, FAIL_CLOSED);
	else if (s->out.out.len)
		worker_mark_dirty(s->w, s);
}

void session_flush(struct session *s)
{
	if (s->state == SESSION_FREE || s->state == SESSION_CLOSED ||
	    s->state == SESSION_CONNECTING)
		return;
	if (socket_output_flush(&s->out, (uv_stream_t *)&s->tcp, on_written,
				s) == SOCKET_OUTPUT_ERROR)
		session_abort(s, FAIL_CLOSED);
}

static void session_send_header(struct session *s)
{
	struct buf b = BUF_INIT;
	scan_reset(&s->scan);
	buf_printf(&b,
		   "<?xml version='1.0'?><stream:stream to='%s' version='1.0' "
		   "xml:lang='en' xmlns='jabber:client' "
		   "xmlns:stream='http://etherx.jabber.org/streams'>",
		   s->w->opt->domain);
	session_send_buf(s, &b);
	session_arm(s);
}

/* ---- the end of a session --------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
	struct session *s = h->data;
	struct worker *w = s->w;
	tls_conn_free(s->tls);
	s->tls = NULL;
	sasl_client_free(s->sasl);
	s->sasl = NULL;
	socket_output_free(&s->out);
	buf_free(&s->scan.pending);
	s->state = SESSION_FREE;
	s->deadline_ms = 0;
	if (s->in_progress) {
		s->in_progress = false;
		worker_login_done(w, s);
	}
	worker_slot_free(w, s);
}

void session_abort(struct session *s, int f)
{
	if (s->state == SESSION_FREE || s->state == SESSION_CLOSED)
		return;
	if (f >= 0) {
		s->w->report.failures[f]++;
		s->w->report.failure_steps[s->state]++;
	}
	s->clean = f < 0 && s->state == SESSION_CLOSING;
	s->state = SESSION_CLOSED;
	uv_close((uv_handle_t *)&s->tcp, on_closed);
}

/* The server answered our </stream:stream>: close_notify, then close. */
static void session_closed_cleanly(struct session *s)
{
	if (s->tls)
		tls_conn_shutdown(s->tls);
	socket_output_flush(&s->out, (uv_stream_t *)&s->tcp, on_written, s);
	session_abort(s, -1);
}

void session_logout(struct session *s)
{
	switch (s->state) {
	case SESSION_FREE:
	case SESSION_CLOSING:
	case SESSION_CLOSED:
		return;
	case SESSION_CONNECTING:
	case SESSION_STARTTLS:
	case SESSION_HANDSHAKE:
		session_abort(s, -1);
		return;
	default:
		session_send_str(s, "</stream:stream>");
		s->state = SESSION_CLOSING;
		session_arm(s);
	}
}

/* RFC 6120 §4.9.3: the condition is the child that is not <text/>. */
static void session_stream_error(struct session *s, struct span e)
{
	struct span child = {NULL, 0};
	while (scan_next_child(e, &child)) {
		struct span name = scan_name(child);
		if (!span_eq(name, "text")) {
			session_abort(
				s, failure_of_stream_error(name.p, name.len));
			return;
		}
	}
	session_abort(s, failure_of_stream_error("", 0));
}

static void session_peer_closed(struct session *s)
{
	if (s->state == SESSION_CLOSING)
		session_closed_cleanly(s);
	else
		session_abort(s, FAIL_CLOSED);
}

/* ---- connecting --------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
	struct session *s = h->data;
	*b = uv_buf_init(s->w->inbuf, sizeof s->w->inbuf);
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *b)
{
	struct session *s = stream->data;
	if (n < 0)
		session_peer_closed(s);
	else if (n > 0)
		session_input(s, b->base, (size_t)n);
}

static int on_plain(void *ctx, const char *data, size_t len);

static void session_start_tls(struct session *s)
{
	struct worker *w = s->w;
	s->tls = tls_conn_new(w->ssl_ctx, false, &s->out.out);
	if (!s->tls) {
		session_abort(s, FAIL_TLS);
		return;
	}
	SSL *ssl = tls_conn_ssl(s->tls);
	SSL_set_tlsext_host_name(ssl, w->opt->domain);
	SSL_SESSION *ticket = worker_take_ticket(w);
	if (ticket) {
		SSL_set_session(ssl, ticket);
		SSL_SESSION_free(ticket); /* ssl holds it now */
	}
	s->state = SESSION_HANDSHAKE;
	session_arm(s);
	if (tls_conn_feed(s->tls, NULL, 0, on_plain, s) == TLS_ERROR)
		session_abort(s, FAIL_TLS);
	else
		worker_mark_dirty(w, s);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct session *s = req->data;
	free(req);
	if (status == UV_ECANCELED)
		return;
	if (status < 0 ||
	    uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) < 0) {
		session_abort(s, FAIL_CONNECT);
		return;
	}
	if (s->w->opt->tls == TLS_MODE_DIRECT) {
		session_start_tls(s);
	} else {
		s->state = SESSION_FEATURES;
		session_send_header(s);
	}
}

/* A socket bound to the next source address, so that many connections
 * fit: IP_BIND_ADDRESS_NO_PORT leaves the port to connect(), which then
 * needs only the whole 4-tuple to be unique. */
static int session_bind_source(struct session *s, uint32_t source)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(source)};
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    uv_tcp_open(&s->tcp, fd) < 0) {
		close(fd);
		return -1;
	}
	return 0;
}

void session_login(struct session *s, uint64_t account)
{
	struct worker *w = s->w;
	s->account = account;
	s->state = SESSION_CONNECTING;
	s->in_progress = true;
	s->session_required = s->clean = false;
	s->login_start_ns = worker_now_ns();
	w->in_progress++;
	w->open++;
	w->report.sessions_requested++;
	session_arm(s);
	uv_tcp_init(w->loop, &s->tcp); /* cannot fail: no socket yet */
	s->tcp.data = s;
	uint32_t source = worker_next_source(w);
	uv_connect_t *req = malloc(sizeof *req);
	if (!req || (source && session_bind_source(s, source) < 0)) {
		free(req);
		session_abort(s, FAIL_CONNECT);
		return;
	}
	req->data = s;
	uv_tcp_nodelay(&s->tcp, 1);
	if (uv_tcp_connect(req, &s->tcp, (struct sockaddr *)&w->opt->server,
			   on_connect) < 0) {
		free(req);
		session_abort(s, FAIL_CONNECT);
	}
}

/* ---- negotiation ------------------------------------------------------- */

static void session_start_sasl(struct session *s, struct span features)
{
	struct worker *w = s->w;
	const char *mech = sasl_mech_name(w->opt->mech);
	struct span list, m = {NULL, 0};
	bool offered = false;
	if (scan_find(features, "mechanisms", &list))
		while (!offered && scan_next_child(list, &m))
			offered = span_eq(scan_text(m), mech);
	if (!offered) {
		session_abort(s, FAIL_AUTH);
		return;
	}
	char name[300];
	worker_account_name(w, s->account, name, sizeof name);
	struct scram_keys *keys = w->keys && s->account >= w->base
					  ? &w->keys[s->account - w->base]
					  : NULL;
	struct buf b = BUF_INIT;
	s->sasl = sasl_client_new(w->opt->mech, name, w->opt->password, keys);
	int r = s->sasl ? 0 : -1;
	r |= buf_printf(&b, "<auth xmlns='" NS_SASL "' mechanism='%s'>", mech);
	r |= r ? -1 : sasl_client_start(s->sasl, &b);
	r |= buf_append_str(&b, "</auth>");
	if (r) {
		buf_free(&b);
		session_abort(s, FAIL_AUTH);
		return;
	}
	session_send_buf(s, &b);
	s->state = SESSION_SASL;
	session_arm(s);
}

static int session_sasl(struct session *s, struct span e)
{
	struct span text = scan_text(e);
	if (scan_is(e, "challenge")) {
		struct buf b = BUF_INIT;
		buf_append_str(&b, "<response xmlns='" NS_SASL "'>");
		if (sasl_client_step(s->sasl, text.p, text.len, &b) < 0) {
			buf_free(&b);
			session_abort(s, FAIL_AUTH);
			return 1;
		}
		buf_append_str(&b, "</response>");
		session_send_buf(s, &b);
		session_arm(s);
		return 0;
	}
	if (scan_is(e, "success") &&
	    sasl_client_success(s->sasl, text.p, text.len) == 0) {
		sasl_client_free(s->sasl);
		s->sasl = NULL;
		s->state = SESSION_BIND_FEATURES;
		session_send_header(s); /* RFC 6120 §6.4.6: a new stream */
		return 1;
	}
	session_abort(s, FAIL_AUTH); /* <failure/>, or a bad signature */
	return 1;
}

static void session_features(struct session *s, struct span e)
{
	if (!scan_is(e, "features")) {
		session_abort(s, FAIL_PROTOCOL);
		return;
	}
	struct span f;
	switch (s->state) {
	case SESSION_FEATURES:
		if (s->w->opt->tls == TLS_MODE_NONE) {
			session_start_sasl(s, e);
		} else if (scan_find(e, "starttls", &f)) {
			session_send_str(s, "<starttls xmlns='" NS_TLS "'/>");
			s->state = SESSION_STARTTLS;
			session_arm(s);
		} else {
			session_abort(s, FAIL_TLS); /* no STARTTLS offered */
		}
		return;
	case SESSION_AUTH_FEATURES:
		session_start_sasl(s, e);
		return;
	default: /* SESSION_BIND_FEATURES */
		if (!scan_find(e, "bind", &f)) {
			session_abort(s, FAIL_BIND);
			return;
		}
		/* RFC 3921 session establishment, only when not optional */
		s->session_required = scan_find(e, "session", &f) &&
				      !scan_find(f, "optional", &f);
		session_send_str(
			s, "<iq type='set' id='bind_1'><bind xmlns='" NS_BIND
			   "'/></iq>");
		s->state = SESSION_BIND;
		session_arm(s);
	}
}

/* Answers an iq get or set; false for any other stanza. */
static bool session_answer_iq(struct session *s, struct span iq)
{
	struct span type, id, from, child;
	if (!scan_is(iq, "iq") || !scan_attr(iq, "type", &type) ||
	    !(span_eq(type, "get") || span_eq(type, "set")))
		return false;
	struct buf b = BUF_INIT;
	bool ours = (span_eq(type, "get") && scan_find(iq, "ping", &child)) ||
		    (span_eq(type, "set") && scan_find(iq, "query", &child) &&
		     scan_attr_is(child, "xmlns", NS_ROSTER));
	buf_append_str(&b, ours ? "<iq type='result'" : "<iq type='error'");
	/* the values as received, in the same quotes */
	if (scan_attr(iq, "id", &id))
		buf_printf(&b, " id=%c%.*s%c", id.p[-1], (int)id.len, id.p,
			   id.p[-1]);
	if (scan_attr(iq, "from", &from))
		buf_printf(&b, " to=%c%.*s%c", from.p[-1], (int)from.len,
			   from.p, from.p[-1]);
	buf_append_str(&b, ours ? "/>"
				: "><error type='cancel'><service-unavailable "
				  "xmlns='" NS_STANZAS "'/></error></iq>");
	session_send_buf(s, &b);
	return true;
}

static void session_login_done(struct session *s, struct span roster)
{
	struct worker *w = s->w;
	session_send_str(s, "<presence/>");
	s->state = SESSION_ONLINE;
	s->deadline_ms = 0;
	if (w->counting_logins) {
		histogram_add(&w->report.login_us,
			      (worker_now_ns() - s->login_start_ns) / 1000);
		w->report.logins++;
	}
	w->report.sessions_ok++;
	if (s->tls && SSL_session_reused(tls_conn_ssl(s->tls)))
		w->report.tls_resumed++;
	s->in_progress = false;
	worker_login_done(w, s);
	if (w->sc->on_login)
		w->sc->on_login(s, roster);
}

/* The answers to our iqs during the login: bind, session, roster. */
static void session_login_iq(struct session *s, struct span iq)
{
	static const char *const ids[] = {
		[SESSION_BIND] = "bind_1",
		[SESSION_LEGACY_SESSION] = "sess_1",
		[SESSION_ROSTER] = "roster_1",
	};
	if (!scan_is(iq, "iq") || !scan_attr_is(iq, "id", ids[s->state]))
		return; /* not the answer: wait on */
	if (!scan_attr_is(iq, "type", "result")) {
		session_abort(s, s->state == SESSION_ROSTER ? FAIL_PROTOCOL
							    : FAIL_BIND);
		return;
	}
	if (s->state == SESSION_BIND && s->session_required) {
		session_send_str(
			s,
			"<iq type='set' id='sess_1'><session xmlns='" NS_SESSION
			"'/></iq>");
		s->state = SESSION_LEGACY_SESSION;
	} else if (s->state != SESSION_ROSTER) {
		session_send_str(
			s,
			"<iq type='get' id='roster_1'><query xmlns='" NS_ROSTER
			"'/></iq>");
		s->state = SESSION_ROSTER;
	} else {
		session_login_done(s, iq);
		return;
	}
	session_arm(s);
}

/* ---- input ------------------------------------------------------------- */

/* One top-level element; non-zero to stop reading this input. */
static int session_element(struct session *s, struct span e)
{
	if (scan_is(e, "error")) { /* only <stream:error> is top-level */
		session_stream_error(s, e);
		return 1;
	}
	switch (s->state) {
	case SESSION_FEATURES:
	case SESSION_AUTH_FEATURES:
	case SESSION_BIND_FEATURES:
		session_features(s, e);
		break;
	case SESSION_STARTTLS:
		if (scan_is(e, "proceed"))
			session_start_tls(s);
		else
			session_abort(s, FAIL_TLS);
		return 1; /* what follows is TLS */
	case SESSION_SASL:
		return session_sasl(s, e);
	case SESSION_BIND:
	case SESSION_LEGACY_SESSION:
	case SESSION_ROSTER:
		if (!session_answer_iq(s, e))
			session_login_iq(s, e);
		break;
	case SESSION_ONLINE:
	case SESSION_CLOSING:
		if (session_answer_iq(s, e) && !scan_attr_is(e, "type", "set"))
			break;
		if (s->w->sc->on_stanza)
			s->w->sc->on_stanza(s, e);
		break;
	default:
		break;
	}
	return s->state == SESSION_CLOSED;
}

static int on_unit(void *ctx, enum scan_event ev, const char *data, size_t len)
{
	struct session *s = ctx;
	switch (ev) {
	case SCAN_OPEN:
		return 0;
	case SCAN_ELEMENT:
		return session_element(s, (struct span){data, len});
	case SCAN_CLOSE:
		session_peer_closed(s);
		return 1;
	default:
		session_abort(s, FAIL_PROTOCOL);
		return 1;
	}
}

static int on_plain(void *ctx, const char *data, size_t len)
{
	struct session *s = ctx;
	if (scan_feed(&s->scan, data, len, on_unit, s) < 0)
		session_abort(s, FAIL_PROTOCOL);
	return s->state == SESSION_CLOSED;
}

static void session_input(struct session *s, const char *data, size_t len)
{
	if (!s->tls) {
		on_plain(s, data, len);
		return;
	}
	bool handshaking = !tls_conn_handshake_done(s->tls);
	enum tls_status st = tls_conn_feed(s->tls, data, len, on_plain, s);
	if (s->state == SESSION_CLOSED)
		return;
	if (s->out.out.len)
		worker_mark_dirty(s->w, s); /* handshake records, alerts */
	if (st == TLS_ERROR) {
		session_abort(s, FAIL_TLS);
	} else if (st == TLS_PEER_CLOSED) {
		session_peer_closed(s);
	} else if (handshaking && tls_conn_handshake_done(s->tls) &&
		   s->state == SESSION_HANDSHAKE) {
		s->state = SESSION_AUTH_FEATURES;
		session_send_header(s);
	}
}
