/* conn: one server-to-server TCP connection, incoming or outgoing.
 * Bytes come in through the process's read buffer, through TLS when it
 * runs, into the stream parser; bytes go out through conn->so, written
 * once per loop iteration. The stream's meaning is stream_in.c's or
 * stream_out.c's. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../lib/net.h"
#include "../../lib/random.h"
#include "s2s.h"

static void conn_write_out(struct s2s_conn *c);

/* ------------------------------------------------------------------ */
/* Our stream header and errors */

int s2s_stream_header(struct s2s_conn *c, struct buf *b)
{
	int r = buf_printf(b, "<?xml version='1.0'?><stream:stream xmlns='%s' "
			   "xmlns:stream='%s' xmlns:db='%s'", XML_NS_SERVER,
			   XML_NS_STREAM, NS_DIALBACK);
	if (c->local[0])
		r |= buf_printf(b, " from='%s'", c->local);
	if (c->remote[0])
		r |= buf_printf(b, " to='%s'", c->remote);
	if (c->dir == S2S_IN) {
		random_hex(c->stream_id, 16);
		r |= buf_printf(b, " id='%s'", c->stream_id);
	}
	r |= buf_append_str(b, " version='1.0'>");
	c->header_sent = true;
	return r;
}

void s2s_stream_error(struct s2s_conn *c, const char *condition,
		      const char *text)
{
	if (c->closing)
		return;
	log_info("s2s conn %" PRIu64 " (%s, %s): stream error %s%s%s", c->id,
		 c->peer, c->remote[0] ? c->remote : "?", condition,
		 text ? ": " : "", text ? text : "");
	if (!c->connected || (c->tls && !c->tls_handshaken)) {
		s2s_conn_abort(c); /* nothing can be said yet */
		return;
	}
	struct buf b = BUF_INIT;
	int r = 0;
	/* RFC 6120 §4.9.1.1: the header first if it was not sent yet. */
	if (!c->header_sent)
		r |= s2s_stream_header(c, &b);
	r |= xmlstream_append_error(&b, condition, text);
	if (r == 0)
		s2s_conn_send_buf(c, &b);
	buf_free(&b);
	s2s_conn_close(c);
}

/* </stream:stream> from the peer, either way: ours, then close. */
void s2s_stream_on_close(void *ctx)
{
	struct s2s_conn *c = ctx;
	if (c->closing)
		return;
	s2s_conn_send_str(c, "</stream:stream>");
	s2s_conn_close(c);
}

void s2s_stream_on_error(void *ctx, enum xmlstream_error error,
			 const char *text)
{
	s2s_stream_error(ctx, xmlstream_error_condition(error),
			 error == XMLSTREAM_NO_MEMORY ? NULL : text);
}

void s2s_stream_restart(struct s2s_conn *c)
{
	c->header_sent = false;
	c->header_received = false;
	if (xmlstream_reset(c->xs) < 0)
		s2s_stream_error(c, "resource-constraint", NULL);
}

/* ------------------------------------------------------------------ */
/* Reading */

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct s2s_conn *c = h->data;
	(void)suggested;
	b->base = c->s2s->readbuf;
	b->len = sizeof c->s2s->readbuf;
}

static void conn_start_tls(struct s2s_conn *c)
{
	c->want_tls = false;
	c->tls = s2s_tls_new(c);
	if (!c->tls) {
		log_error("s2s conn %" PRIu64 ": cannot start TLS", c->id);
		s2s_conn_abort(c);
		return;
	}
	s2s_stream_restart(c);
	if (c->dir == S2S_OUT) /* our ClientHello */
		tls_conn_feed(c->tls, NULL, 0, NULL, NULL);
}

void s2s_conn_start_tls_later(struct s2s_conn *c)
{
	c->want_tls = true;
}

static void conn_tls_ready(struct s2s_conn *c);

static int conn_on_plain(void *ctx, const char *data, size_t len)
{
	struct s2s_conn *c = ctx;
	if (c->closing)
		return 1;
	/* The first plaintext can come in the read that ends the handshake:
	 * what the certificate proves must be known before it is parsed. */
	if (c->tls && !c->tls_handshaken)
		conn_tls_ready(c);
	if (xmlstream_feed(c->xs, data, len) < 0)
		return 1;
	if (c->want_tls) {
		/* RFC 6120 §5.4.3.3: TLS starts right after <proceed/>; what
		 * else came in this read is not part of it. */
		conn_start_tls(c);
		return 1;
	}
	return c->closing;
}

static void conn_tls_ready(struct s2s_conn *c)
{
	char desc[128];
	if (c->tls_handshaken)
		return;
	c->tls_handshaken = true;
	c->cert_valid = s2s_tls_peer_verified(c);
	log_debug("s2s conn %" PRIu64 ": TLS %s, peer certificate %s", c->id,
		  tls_conn_describe(c->tls, desc, sizeof desc),
		  c->cert_valid ? "verified" : "not verified");
	if (c->dir == S2S_OUT)
		s2s_out_start(c);
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct s2s_conn *c = s->data;
	if (n == 0)
		return;
	if (n < 0) {
		if (n != UV_EOF)
			log_debug("s2s conn %" PRIu64 ": read: %s", c->id,
				  uv_strerror((int)n));
		s2s_conn_abort(c);
		return;
	}
	if (c->closing)
		return;
	c->last_active = uv_now(c->s2s->loop);
	if (!c->tls) {
		conn_on_plain(c, b->base, (size_t)n);
	} else {
		enum tls_status st = tls_conn_feed(c->tls, b->base, (size_t)n,
						   conn_on_plain, c);
		if (!c->closing && tls_conn_handshake_done(c->tls))
			conn_tls_ready(c);
		if (st == TLS_ERROR) {
			log_info("s2s conn %" PRIu64 " (%s): TLS error", c->id,
				 c->peer);
			s2s_conn_close(c);
		} else if (st == TLS_PEER_CLOSED) {
			s2s_conn_close(c);
		}
	}
	if (!c->closed)
		s2s_conn_send(c, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Writing */

static void conn_want_flush(struct s2s_conn *c)
{
	if (c->in_flush || c->closed)
		return;
	c->in_flush = true;
	c->flush_next = c->s2s->flush;
	c->s2s->flush = c;
}

void s2s_conn_send(struct s2s_conn *c, const char *data, size_t len)
{
	/* Never closes at once: callers may be walking routes or queues
	 * that closing would free. The flush closes an overflowed conn. */
	if (len && !c->closing && !c->overflowed) {
		int r = c->tls ? tls_conn_write(c->tls, data, len)
			       : buf_append(&c->so.out, data, len);
		if (r < 0 || sockout_pending(&c->so) > S2S_OUTPUT_MAX) {
			log_warn("s2s conn %" PRIu64 " (%s): %zu bytes wait for "
				 "a peer that does not read", c->id, c->peer,
				 sockout_pending(&c->so));
			c->overflowed = true;
		}
		c->last_active = uv_now(c->s2s->loop);
	}
	conn_want_flush(c);
}

void s2s_conn_send_str(struct s2s_conn *c, const char *s)
{
	s2s_conn_send(c, s, strlen(s));
}

void s2s_conn_send_buf(struct s2s_conn *c, const struct buf *b)
{
	if (b->data)
		s2s_conn_send(c, b->data, b->len);
}

void s2s_conn_flush_all(struct s2s *s2s)
{
	struct s2s_conn *c;
	while ((c = s2s->flush)) {
		s2s->flush = c->flush_next;
		c->flush_next = NULL;
		c->in_flush = false;
		conn_write_out(c);
	}
}

static void conn_written(uv_write_t *req, int status)
{
	struct s2s_conn *c = req->data;
	sockout_written(&c->so, req);
	if (status < 0) {
		s2s_conn_abort(c);
		return;
	}
	conn_write_out(c);
}

static void conn_write_out(struct s2s_conn *c)
{
	if (c->overflowed) {
		s2s_conn_abort(c);
		return;
	}
	if (c->closed || !c->connected)
		return;
	switch (sockout_flush(&c->so, (uv_stream_t *)&c->tcp, conn_written, c)) {
	case SOCKOUT_ERROR:
		s2s_conn_abort(c);
		break;
	case SOCKOUT_IDLE:
		if (c->closing)
			s2s_conn_abort(c);
		break;
	case SOCKOUT_WRITING:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Closing */

static void conn_timeout(uv_timer_t *t)
{
	s2s_conn_abort(t->data); /* the peer does not read what we close with */
}

/* An outgoing connection that ends takes its routes with it: stanzas
 * that come later must not be written to a closing stream. */
static void conn_leave_route(struct s2s_conn *c, const char *why)
{
	if (c->dir != S2S_OUT || c->left_routes)
		return;
	c->left_routes = true;
	c->route = NULL;
	s2s_route_conn_gone(c->s2s, c, why);
}

void s2s_conn_close(struct s2s_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->connected)
		uv_read_stop((uv_stream_t *)&c->tcp);
	if (c->tls)
		tls_conn_shutdown(c->tls);
	uv_timer_start(&c->timer, conn_timeout, S2S_CLOSE_TIMEOUT_MS, 0);
	conn_want_flush(c);
	conn_leave_route(c, "the stream was closed");
}

static void conn_free(struct s2s_conn *c)
{
	struct s2s *s2s = c->s2s;
	tls_conn_free(c->tls);
	if (c->xs)
		xmlstream_free(c->xs);
	sockout_free(&c->so);
	free(c->pairs);
	free(c);
	s2s_conn_gone(s2s);
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct s2s_conn *c = h->data;
	if (--c->refs == 0)
		conn_free(c);
}

static void conn_unlink(struct s2s_conn *c)
{
	struct s2s *s2s = c->s2s;
	if (c->prev)
		c->prev->next = c->next;
	else if (s2s->conns == c)
		s2s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (c->in_flush) {
		struct s2s_conn **p = &s2s->flush;
		while (*p && *p != c)
			p = &(*p)->flush_next;
		if (*p)
			*p = c->flush_next;
		c->in_flush = false;
	}
}

void s2s_conn_abort(struct s2s_conn *c)
{
	if (c->closed)
		return;
	c->closing = c->closed = true;
	conn_unlink(c);
	log_info("s2s conn %" PRIu64 " %s %s (%s) closed", c->id,
		 c->dir == S2S_IN ? "from" : "to", c->peer,
		 c->remote[0] ? c->remote : "?");
	conn_leave_route(c, c->connected ? "the connection was lost"
					 : "cannot connect");
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

void s2s_conn_sweep(struct s2s *s2s)
{
	uint64_t now = uv_now(s2s->loop);
	uint64_t idle = (uint64_t)s2s->sc->idle_timeout * 1000;
	struct s2s_conn *c, *next;
	uint64_t auth = (uint64_t)s2s->sc->connect_timeout * 1000;
	for (c = s2s->conns; c; c = next) {
		next = c->next;
		if (c->dir == S2S_IN && !c->closing && !c->npairs &&
		    !c->nverifies && now - c->created_at >= auth) {
			s2s_stream_error(c, "connection-timeout",
					 "not authenticated in time");
			continue;
		}
		if (c->closing || now - c->last_active < idle)
			continue;
		log_info("s2s conn %" PRIu64 " (%s): idle, closing", c->id,
			 c->remote[0] ? c->remote : c->peer);
		if (c->header_sent)
			s2s_conn_send_str(c, "</stream:stream>");
		s2s_conn_close(c);
	}
}

struct s2s_conn *s2s_conn_find(struct s2s *s2s, uint64_t id)
{
	for (struct s2s_conn *c = s2s->conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Making connections */

static struct s2s_conn *conn_new(struct s2s *s2s, enum s2s_dir dir)
{
	const struct xmlstream_callbacks *cb =
		dir == S2S_IN ? &s2s_in_callbacks : &s2s_out_callbacks;
	struct xmlstream_limits limits = {s2s->sc->max_stanza_size,
					  S2S_MAX_DEPTH};
	struct s2s_conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->xs = xmlstream_new(&limits, cb, c);
	if (!c->xs) {
		free(c);
		return NULL;
	}
	c->s2s = s2s;
	c->dir = dir;
	c->id = ++s2s->next_id;
	c->last_active = c->created_at = uv_now(s2s->loop);
	uv_tcp_init(s2s->loop, &c->tcp);
	uv_timer_init(s2s->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->refs = 2;
	c->next = s2s->conns;
	if (c->next)
		c->next->prev = c;
	s2s->conns = c;
	return c;
}

static int conn_start_reading(struct s2s_conn *c)
{
	uv_tcp_nodelay(&c->tcp, 1);
	uv_tcp_keepalive(&c->tcp, 1, 60);
	return uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
}

void s2s_conn_accept(struct s2s_listener *l)
{
	struct s2s_conn *c = conn_new(l->s2s, S2S_IN);
	struct sockaddr_storage ss;
	int len = sizeof ss;
	if (!c) {
		log_error("s2s: out of memory accepting a connection");
		return;
	}
	if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&c->tcp) != 0) {
		s2s_conn_abort(c);
		return;
	}
	c->connected = true;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
		net_addr_name((struct sockaddr *)&ss, c->peer, sizeof c->peer);
	log_info("s2s conn %" PRIu64 " accepted from %s on port %d%s", c->id,
		 c->peer, l->cfg->port, l->cfg->direct_tls ? " (direct TLS)" : "");
	if (l->cfg->direct_tls) {
		c->direct_tls = true;
		c->tls = s2s_tls_new(c);
	}
	if ((l->cfg->direct_tls && !c->tls) || conn_start_reading(c) < 0 ||
	    l->s2s->stopping)
		s2s_conn_abort(c);
}

static void conn_connected(uv_connect_t *req, int status)
{
	struct s2s_conn *c = req->data;
	if (c->closed)
		return;
	if (status < 0) {
		log_info("s2s conn %" PRIu64 ": cannot connect to %s: %s",
			 c->id, c->peer, uv_strerror(status));
		s2s_conn_abort(c);
		return;
	}
	c->connected = true;
	if (conn_start_reading(c) < 0) {
		s2s_conn_abort(c);
		return;
	}
	if (c->direct_tls) {
		c->tls = s2s_tls_new(c);
		if (!c->tls) {
			s2s_conn_abort(c);
			return;
		}
		tls_conn_feed(c->tls, NULL, 0, NULL, NULL);
		s2s_conn_send(c, NULL, 0);
		return;
	}
	s2s_out_start(c);
}

struct s2s_conn *s2s_conn_connect(struct s2s_route *r,
				  const struct resolve_target *target)
{
	struct s2s_conn *c = conn_new(r->s2s, S2S_OUT);
	if (!c)
		return NULL;
	snprintf(c->local, sizeof c->local, "%s", r->local);
	snprintf(c->remote, sizeof c->remote, "%s", r->remote);
	c->route = r;
	c->direct_tls = target->direct_tls;
	net_addr_name((const struct sockaddr *)&target->addr, c->peer,
		      sizeof c->peer);
	log_info("s2s conn %" PRIu64 ": connecting to %s (%s%s) for %s -> %s",
		 c->id, c->peer, target->host,
		 target->direct_tls ? ", direct TLS" : "", r->local, r->remote);
	c->connect_req.data = c;
	if (uv_tcp_connect(&c->connect_req, &c->tcp,
			   (const struct sockaddr *)&target->addr,
			   conn_connected) < 0) {
		c->route = NULL;
		s2s_conn_abort(c);
		return NULL;
	}
	return c;
}
