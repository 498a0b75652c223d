/* conn: one client connection. Bytes come in through one read buffer
 * shared by the process, go through TLS when it runs, then to the
 * stream parser; bytes go out through conn->so, written once per loop
 * iteration (the flusher) so that many stanzas make one write. */
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../lib/net.h"
#include "../../lib/sockout.h"
#include "c2s.h"
#include "tls.h"

static void conn_write_out(struct conn *c);
static void conn_charge_bytes(struct conn *c, size_t n);
static void conn_check_rate(struct conn *c);
static bool conn_reads_slowly(const struct conn *c);

/* ------------------------------------------------------------------ */
/* Reading */

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct conn *c = h->data;
	(void)suggested;
	/* Safe to share: each read is handled completely before the next. */
	b->base = c->c2s->readbuf;
	b->len = conn_reads_slowly(c) ? C2S_SLOW_READ_SIZE
				      : sizeof c->c2s->readbuf;
}

static void conn_start_tls(struct conn *c)
{
	c->want_tls = false;
	c->tls = c2s_tls_conn_new(c->c2s->tls, &c->so.out);
	if (!c->tls) {
		log_error("conn %" PRIu64 ": cannot start TLS (out of memory)", c->id);
		c2s_conn_abort(c);
		return;
	}
	c2s_stream_restart(c);
}

/* Plaintext from the socket or from TLS. Returns non-zero to stop. */
static int conn_on_plain(void *ctx, const char *data, size_t len)
{
	struct conn *c = ctx;
	if (c->closing)
		return 1;
	if (xmlstream_feed(c->xs, data, len) < 0)
		return 1; /* on_error has answered */
	if (c->want_tls) {
		/* RFC 6120 §5.4.3.3: TLS starts right after <proceed/>; what
		 * else the client sent in this read is not part of it. */
		conn_start_tls(c);
		return 1;
	}
	return c->closing;
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = s->data;
	if (n == 0)
		return;
	if (n < 0) {
		if (n != UV_EOF)
			log_debug("conn %" PRIu64 ": read: %s", c->id, uv_strerror((int)n));
		c2s_conn_abort(c);
		return;
	}
	if (c->closing)
		return;
	c->active = true;
	c->login_quiet = false;
	conn_charge_bytes(c, (size_t)n);
	if (!c->tls) {
		conn_on_plain(c, b->base, (size_t)n);
	} else {
		bool was_done = tls_conn_handshake_done(c->tls);
		enum tls_status st = tls_conn_feed(c->tls, b->base, (size_t)n, conn_on_plain, c);
		if (!was_done && tls_conn_handshake_done(c->tls)) {
			char desc[128];
			log_debug("conn %" PRIu64 ": TLS %s", c->id,
				  tls_conn_describe(c->tls, desc, sizeof desc));
		}
		if (st == TLS_ERROR) {
			log_info("conn %" PRIu64 " (%s): TLS error", c->id, c->peer);
			c2s_conn_close(c); /* the alert, if any, goes out */
		} else if (st == TLS_PEER_CLOSED) {
			c2s_conn_close(c);
		}
	}
	c2s_conn_want_flush(c);
	conn_check_rate(c);
}

/* ------------------------------------------------------------------ */
/* Writing */

/* Bytes that may wait for a client that does not read: past this, the
 * client is closed rather than letting one slow reader take the
 * process's memory (and with it every other user's session). */
#define C2S_KEEPALIVE_S 60

static size_t conn_output_max(const struct conn *c)
{
	size_t four_stanzas = 4 * c->c2s->cfg->max_stanza_size;
	return four_stanzas > (1u << 20) ? four_stanzas : (1u << 20);
}

void c2s_conn_send(struct conn *c, const char *data, size_t len)
{
	if (c->closing || len == 0)
		return;
	if (!c->overflowed && sockout_pending(&c->so) > conn_output_max(c)) {
		/* Once: the stream error itself still goes out, and the
		 * stream is closing after it. */
		c->overflowed = true;
		log_warn("conn %" PRIu64 " (%s): %zu bytes wait for a client "
			 "that does not read", c->id, c->peer,
			 sockout_pending(&c->so));
		c2s_stream_error(c, "policy-violation",
				 "too much data waits for you to read it");
		return;
	}
	int r = c->tls ? tls_conn_write(c->tls, data, len)
		       : buf_append(&c->so.out, data, len);
	if (r < 0) {
		log_warn("conn %" PRIu64 ": cannot queue %zu bytes", c->id, len);
		c2s_conn_abort(c);
		return;
	}
	c2s_conn_want_flush(c);
}

void c2s_conn_send_str(struct conn *c, const char *s)
{
	c2s_conn_send(c, s, strlen(s));
}

void c2s_conn_send_buf(struct conn *c, const struct buf *b)
{
	if (b->data)
		c2s_conn_send(c, b->data, b->len);
}

void c2s_conn_want_flush(struct conn *c)
{
	if (c->in_flush || c->closed)
		return;
	c->in_flush = true;
	c->flush_next = c->c2s->flush;
	c->c2s->flush = c;
}

void c2s_conn_flush_all(struct c2s *c2s)
{
	struct conn *c;
	while ((c = c2s->flush)) {
		c2s->flush = c->flush_next;
		c->flush_next = NULL;
		c->in_flush = false;
		conn_write_out(c);
	}
}

static void conn_written(uv_write_t *req, int status)
{
	struct conn *c = req->data;
	sockout_written(&c->so, req);
	if (status < 0) {
		if (!c->closed)
			log_debug("conn %" PRIu64 ": write: %s", c->id, uv_strerror(status));
		c2s_conn_abort(c);
		return;
	}
	conn_write_out(c);
}

static void conn_write_out(struct conn *c)
{
	if (c->closed)
		return;
	switch (sockout_flush(&c->so, (uv_stream_t *)&c->tcp, conn_written, c)) {
	case SOCKOUT_ERROR:
		log_debug("conn %" PRIu64 ": cannot write", c->id);
		c2s_conn_abort(c);
		break;
	case SOCKOUT_IDLE:
		if (c->closing)
			c2s_conn_abort(c);
		break;
	case SOCKOUT_WRITING:
		break;
	}
}

/* Once bound, nothing needs OpenSSL's ~14 KiB of connection state any
 * more (the channel bindings were taken during SASL): the records go on
 * with the keys alone. On a conn already released, this frees the AEAD
 * contexts that its last records made. */
void c2s_conn_release_tls(struct conn *c)
{
	if (!c->tls || c->state != CONN_BOUND)
		return;
	bool held = tls_conn_ssl(c->tls) != NULL;
	if (tls_conn_release(c->tls) == 0 && held)
		log_debug("conn %" PRIu64 ": TLS state released", c->id);
}

/* An expat parser in the middle of a stream holds about 10 KiB: a quiet
 * conn gives it back (the memory budget), and its TLS state, and the next
 * read makes a new parser (~50 us here, mapping and page faults included). */
static void conn_let_go(struct conn *c)
{
	xmlstream_shrink(c->xs);
	c2s_conn_release_tls(c);
}

static void conn_on_login_quiet(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->login_quiet && !c->closing) {
		log_debug("conn %" PRIu64 ": quiet after its login", c->id);
		conn_let_go(c);
	}
	c->login_quiet = false;
}

/* Most clients go quiet once logged in; in a burst of logins, each would
 * otherwise keep its parser (8-13 KiB) for one to two sweep periods. A
 * client that goes on talking within C2S_LOGIN_QUIET_MS keeps it: no new
 * parser for it. Once per session (RFC 6121 §4.2: the initial presence). */
void c2s_conn_logged_in(struct conn *c)
{
	if (c->presence_seen || c->closing)
		return;
	c->presence_seen = true;
	c->login_quiet = true;
	uv_timer_start(&c->timer, conn_on_login_quiet, C2S_LOGIN_QUIET_MS, 0);
}

/* A conn quiet for a sweep period lets go (conn_let_go); busy conns keep
 * their parser. Returns the conns not bound yet (logins in progress). */
size_t c2s_conn_sweep_idle(struct c2s *c2s)
{
	size_t logging_in = 0;
	for (struct conn *c = c2s->all; c; c = c->next) {
		if (!c->active && !c->closing)
			conn_let_go(c);
		c->active = false;
		logging_in += c->state != CONN_BOUND && !c->closing;
	}
	return logging_in;
}

/* ------------------------------------------------------------------ */
/* Backpressure */

void c2s_conn_pause(struct conn *c)
{
	if (c->paused)
		return;
	c->paused = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->pause_prev = NULL;
	c->pause_next = c->c2s->paused;
	if (c->pause_next)
		c->pause_next->pause_prev = c;
	c->c2s->paused = c;
}

static void conn_unpause(struct conn *c)
{
	if (!c->paused)
		return;
	c->paused = false;
	if (c->pause_prev)
		c->pause_prev->pause_next = c->pause_next;
	else
		c->c2s->paused = c->pause_next;
	if (c->pause_next)
		c->pause_next->pause_prev = c->pause_prev;
	c->pause_prev = c->pause_next = NULL;
}

/* Reads again unless the link or the rate limit still holds c back. */
static void conn_read_again(struct conn *c)
{
	if (!c->closing && !c->paused && !c->slowed)
		uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
}

void c2s_conn_resume(struct conn *c)
{
	if (!c->paused)
		return;
	conn_unpause(c);
	conn_read_again(c);
}

/* ------------------------------------------------------------------ */
/* Rate limit (ratelimit.h, c2s/rate-limit): a client that sent faster
 * than allowed is not read until its buckets hold a unit again, so TCP
 * slows it down: nothing it sent is refused or lost. Only once its
 * resource is bound; before, auth-timeout, max-stanza-size, the hold
 * limit while binding and auth-throttle bound what a client can do.
 * One timer serves every slowed conn. */

static uint64_t conn_now_ns(const struct c2s *c2s)
{
	return uv_now(c2s->loop) * 1000000ull;
}

void c2s_conn_charge_stanza(struct conn *c)
{
	ratelimit_charge(&c->c2s->rate_stanzas, &c->stanzas_full_at,
			 conn_now_ns(c->c2s), 1);
}

static void conn_charge_bytes(struct conn *c, size_t n)
{
	if (c->state == CONN_BOUND)
		ratelimit_charge(&c->c2s->rate_bytes, &c->bytes_full_at,
				 conn_now_ns(c->c2s), n);
}

static bool conn_reads_slowly(const struct conn *c)
{
	uint64_t now = conn_now_ns(c->c2s);
	return c->state == CONN_BOUND &&
	       (ratelimit_low(&c->c2s->rate_stanzas, c->stanzas_full_at, now) ||
		ratelimit_low(&c->c2s->rate_bytes, c->bytes_full_at, now));
}

/* Nanoseconds before c may send again. */
static uint64_t conn_rate_wait(const struct conn *c, uint64_t now)
{
	const struct c2s *c2s = c->c2s;
	uint64_t s = ratelimit_wait(&c2s->rate_stanzas, c->stanzas_full_at, now);
	uint64_t b = ratelimit_wait(&c2s->rate_bytes, c->bytes_full_at, now);
	return s > b ? s : b;
}

static void conn_on_rate_timer(uv_timer_t *t);

static void conn_arm_rate_timer(struct c2s *c2s, uint64_t wait_ns)
{
	uint64_t ms = (wait_ns + 999999) / 1000000;
	if (uv_is_active((uv_handle_t *)&c2s->rate_timer) &&
	    uv_timer_get_due_in(&c2s->rate_timer) <= ms)
		return;
	uv_timer_start(&c2s->rate_timer, conn_on_rate_timer, ms, 0);
}

static void conn_check_rate(struct conn *c)
{
	if (c->closing || c->slowed || c->state != CONN_BOUND)
		return;
	uint64_t wait = conn_rate_wait(c, conn_now_ns(c->c2s));
	if (!wait)
		return;
	c->slowed = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->slow_next = c->c2s->slowed;
	c->c2s->slowed = c;
	conn_arm_rate_timer(c->c2s, wait);
}

static void conn_unslow(struct conn *c)
{
	if (!c->slowed)
		return;
	struct conn **p = &c->c2s->slowed;
	while (*p != c)
		p = &(*p)->slow_next;
	*p = c->slow_next;
	c->slow_next = NULL;
	c->slowed = false;
}

static void conn_on_rate_timer(uv_timer_t *t)
{
	struct c2s *c2s = t->data;
	uint64_t now = conn_now_ns(c2s), next = 0;
	struct conn **p = &c2s->slowed;
	while (*p) {
		struct conn *c = *p;
		uint64_t wait = conn_rate_wait(c, now);
		if (wait) {
			next = next && next < wait ? next : wait;
			p = &c->slow_next;
			continue;
		}
		*p = c->slow_next;
		c->slow_next = NULL;
		c->slowed = false;
		conn_read_again(c);
	}
	if (next)
		conn_arm_rate_timer(c2s, next);
}

/* ------------------------------------------------------------------ */
/* Closing */

static void conn_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->closing) {
		c2s_conn_abort(c); /* the client does not read what we close with */
		return;
	}
	if (c->state != CONN_BOUND)
		c2s_stream_error(c, "connection-timeout",
			     "authentication and resource binding took too long");
}

void c2s_conn_stop_timer(struct conn *c)
{
	uv_timer_stop(&c->timer);
}

void c2s_conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	conn_unpause(c);
	conn_unslow(c);
	c2s_route_session_end(c, "closed");
	buf_free(&c->held);
	c2s_sasl_cancel(c);
	if (c->tls)
		tls_conn_shutdown(c->tls);
	uv_timer_stop(&c->timer);
	uv_timer_start(&c->timer, conn_timeout, C2S_CLOSE_TIMEOUT_MS, 0);
	c2s_conn_want_flush(c);
}

static void conn_free(struct conn *c)
{
	struct c2s *c2s = c->c2s;
	tls_conn_free(c->tls);
	if (c->xs)
		xmlstream_free(c->xs);
	if (c->auth)
		auth_session_free(c->auth);
	sockout_free(&c->so);
	buf_free(&c->held);
	arena_reset(&c->hold);
	free(c->jid);
	free(c->bind_id);
	free(c);
	c2s_conn_gone(c2s);
}

void c2s_conn_unref(struct conn *c)
{
	if (--c->refs == 0)
		conn_free(c);
}

static void conn_handle_closed(uv_handle_t *h)
{
	c2s_conn_unref(h->data);
}

static void conn_unlink(struct conn *c)
{
	struct c2s *c2s = c->c2s;
	c2s_conntab_remove(&c2s->conns, c);
	if (c->prev)
		c->prev->next = c->next;
	else if (c2s->all == c)
		c2s->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (c->in_flush) {
		struct conn **p = &c2s->flush;
		while (*p && *p != c)
			p = &(*p)->flush_next;
		if (*p)
			*p = c->flush_next;
		c->in_flush = false;
	}
}

void c2s_conn_abort(struct conn *c)
{
	if (c->closed)
		return;
	if (!c->closing) {
		c->closing = true;
		c2s_route_session_end(c, "closed");
		c2s_sasl_cancel(c);
	}
	c->closed = true;
	conn_unpause(c);
	conn_unslow(c);
	conn_unlink(c);
	log_info("conn %" PRIu64 " from %s closed%s%s", c->id, c->peer,
		 c->jid ? ": " : "", c->jid ? c->jid : "");
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

/* ------------------------------------------------------------------ */
/* Accepting */

static void conn_peer_name(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	snprintf(c->peer, sizeof c->peer, "?");
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
		net_addr_name((struct sockaddr *)&ss, c->peer, sizeof c->peer);
}

static int conn_setup(struct conn *c, bool direct_tls)
{
	struct c2s *c2s = c->c2s;
	const struct config *cfg = c2s->cfg;
	struct xmlstream_limits limits = {cfg->max_stanza_size, cfg->max_depth};
	c->xs = xmlstream_new(&limits, &c2s_stream_callbacks, c);
	if (!c->xs)
		return -1;
	if (direct_tls) {
		c->direct_tls = true;
		c->tls = c2s_tls_conn_new(c2s->tls, &c->so.out);
		if (!c->tls)
			return -1;
	}
	if (c2s_conntab_insert(&c2s->conns, c) < 0)
		return -1;
	c->next = c2s->all;
	if (c->next)
		c->next->prev = c;
	c2s->all = c;
	unsigned timeout = cfg->auth_timeout ? cfg->auth_timeout : C2S_DEFAULT_AUTH_TIMEOUT;
	uv_timer_start(&c->timer, conn_timeout, (uint64_t)timeout * 1000, 0);
	uv_tcp_nodelay(&c->tcp, 1);
	return uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read) ? -1 : 0;
}

/* Past the descriptor limit the kernel's accept fails and libuv drops
 * the connections it cannot take, silently: say so before it happens. */
#define C2S_FD_RESERVE 64
#define C2S_FD_WARN_EVERY_MS 60000

static void conn_check_fd_limit(struct c2s *c2s)
{
	uint64_t now = uv_now(c2s->loop);
	if (c2s->conns.count + C2S_FD_RESERVE < c2s->fd_limit ||
	    (c2s->fd_warned_at && now - c2s->fd_warned_at < C2S_FD_WARN_EVERY_MS))
		return;
	c2s->fd_warned_at = now;
	log_warn("%s: %zu clients, near this process's limit of %zu open "
		 "files: new connections will be dropped; raise c2s/processes "
		 "(or the limit)", c2s->name, (size_t)c2s->conns.count,
		 c2s->fd_limit);
}

void c2s_conn_accept(struct listener *l)
{
	struct c2s *c2s = l->c2s;
	struct conn *c = calloc(1, sizeof *c);
	if (!c) {
		/* Take the socket off the queue anyway, or libuv calls again. */
		uv_tcp_t *t = malloc(sizeof *t);
		if (t && uv_tcp_init(c2s->loop, t) == 0) {
			uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)t);
			uv_close((uv_handle_t *)t, (uv_close_cb)free);
		} else {
			free(t);
		}
		log_error("c2s: out of memory accepting a connection");
		return;
	}
	c->c2s = c2s;
	c->id = ++c2s->next_id;
	uv_tcp_init(c2s->loop, &c->tcp);
	uv_timer_init(c2s->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->refs = 2;
	if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&c->tcp) != 0) {
		c->closing = c->closed = true;
		uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
		uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
		return;
	}
	conn_peer_name(c);
	/* A client that vanished without a FIN (a phone off the network)
	 * is found by TCP keepalive rather than kept available for ever. */
	uv_tcp_keepalive(&c->tcp, 1, C2S_KEEPALIVE_S);
	log_info("conn %" PRIu64 " accepted from %s on port %d%s", c->id, c->peer,
		 l->cfg->port, l->cfg->direct_tls ? " (direct TLS)" : "");
	conn_check_fd_limit(c2s);
	if (conn_setup(c, l->cfg->direct_tls) < 0) {
		log_error("conn %" PRIu64 ": out of memory", c->id);
		c2s_conn_abort(c);
		return;
	}
	if (c2s->stopping)
		c2s_conn_abort(c);
}

/* ------------------------------------------------------------------ */

bool c2s_conn_tls_active(const struct conn *c)
{
	return c->tls && tls_conn_handshake_done(c->tls);
}

const char *c2s_conn_domain(const struct conn *c)
{
	return c->host ? c->host->domain : NULL;
}
