/* conn: one server-to-server stream, incoming or outgoing, over the
 * connection layer (lib/netconn.h) that does the socket, TLS, the stream
 * parser and the output. What is s2s's: its connection type (TLS
 * contexts, what the peer's certificate proves, our header, what an
 * outgoing stream's end tells its routes), idle streams, and making
 * connections. The stream's meaning is stream_in.c's or stream_out.c's. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../lib/random.h"
#include "s2s.h"

/* ------------------------------------------------------------------ */
/* Our stream header and errors */

int s2s_stream_header(struct s2s_conn *c, struct buf *b)
{
	int r = buf_printf(b,
			   "<?xml version='1.0'?><stream:stream xmlns='%s' "
			   "xmlns:stream='%s' xmlns:db='%s'",
			   XML_NS_SERVER, XML_NS_STREAM, NS_DIALBACK);
	if (c->local[0])
		r |= buf_printf(b, " from='%s'", c->local);
	if (c->remote[0])
		r |= buf_printf(b, " to='%s'", c->remote);
	if (!c->nc.outgoing) {
		random_hex(c->stream_id, 16);
		r |= buf_printf(b, " id='%s'", c->stream_id);
	}
	r |= buf_append_str(b, " version='1.0'>");
	c->nc.header_sent = true;
	return r;
}

void s2s_stream_error(struct s2s_conn *c, const char *condition,
		      const char *text)
{
	if (c->nc.closing)
		return;
	log_info("s2s conn %" PRIu64 " (%s, %s): stream error %s%s%s", c->nc.id,
		 c->nc.peer, c->remote[0] ? c->remote : "?", condition,
		 text ? ": " : "", text ? text : "");
	netconn_stream_error(&c->nc, condition, text);
}

/* </stream:stream> from the peer, either way: ours, then close. */
void s2s_stream_on_close(void *ctx)
{
	struct s2s_conn *c = ctx;
	netconn_stream_closed(&c->nc);
}

void s2s_stream_on_error(void *ctx, enum xmlstream_error error,
			 const char *text)
{
	s2s_stream_error(ctx, xmlstream_error_condition(error),
			 error == XMLSTREAM_NO_MEMORY ? NULL : text);
}

/* ------------------------------------------------------------------ */
/* Reading and writing */

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct s2s_conn *c = s2s_conn_of(s->data);
	if (!netconn_read_ok(&c->nc, n))
		return;
	c->last_active = uv_now(c->s2s->proc.loop);
	netconn_feed(&c->nc, b->base, (size_t)n);
}

void s2s_conn_send(struct s2s_conn *c, const char *data, size_t len)
{
	/* Never closes at once: callers may be walking routes or queues
	 * that closing would free. The flush aborts an overflowed conn. */
	if (len && !c->nc.closing && !c->nc.overflowed)
		c->last_active = uv_now(c->s2s->proc.loop);
	netconn_send(&c->nc, data, len);
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

/* ------------------------------------------------------------------ */
/* The connection type: what the layer asks of s2s */

static struct tls_conn *conn_tls_new(struct netconn *nc)
{
	return s2s_tls_new(s2s_conn_of(nc));
}

static void conn_tls_ready(struct netconn *nc)
{
	struct s2s_conn *c = s2s_conn_of(nc);
	char desc[128];
	c->cert_valid = s2s_tls_peer_verified(c);
	log_debug("s2s conn %" PRIu64 ": TLS %s, peer certificate %s", nc->id,
		  tls_conn_describe(nc->tls, desc, sizeof desc),
		  c->cert_valid ? "verified" : "not verified");
	if (nc->outgoing)
		s2s_out_start(c);
}

static void conn_connected(struct netconn *nc)
{
	s2s_out_start(s2s_conn_of(nc));
}

static int conn_append_header(struct netconn *nc, struct buf *b)
{
	return s2s_stream_header(s2s_conn_of(nc), b);
}

static void conn_stream_error(struct netconn *nc, const char *condition,
			      const char *text)
{
	s2s_stream_error(s2s_conn_of(nc), condition, text);
}

/* A peer that does not read: the stream ends at the next flush, not
 * now (the callers of s2s_conn_send may be walking routes or queues). */
static void conn_overflowed(struct netconn *nc)
{
	netconn_abort_later(nc);
}

/* An outgoing connection that ends takes its routes with it: stanzas
 * that come later must not be written to a closing stream. */
static void conn_closing(struct netconn *nc)
{
	struct s2s_conn *c = s2s_conn_of(nc);
	if (!nc->outgoing || c->left_routes)
		return;
	c->left_routes = true;
	c->route = NULL;
	const char *why = !nc->closed     ? "the stream was closed"
			  : nc->connected ? "the connection was lost"
					  : "cannot connect";
	s2s_route_conn_gone(c->s2s, c, why);
}

static void conn_closed(struct netconn *nc)
{
	struct s2s_conn *c = s2s_conn_of(nc);
	log_info("s2s conn %" PRIu64 " %s %s (%s) closed", nc->id,
		 nc->outgoing ? "to" : "from", nc->peer,
		 c->remote[0] ? c->remote : "?");
}

static void conn_free(struct netconn *nc)
{
	struct s2s_conn *c = s2s_conn_of(nc);
	free(c->pairs);
	free(c);
}

const struct netconn_type s2s_conn_type = {
	.name = "s2s conn",
	.alloc = netconn_alloc,
	.read = conn_read,
	.tls_new = conn_tls_new,
	.tls_ready = conn_tls_ready,
	.connected = conn_connected,
	.append_header = conn_append_header,
	.stream_error = conn_stream_error,
	.overflowed = conn_overflowed,
	.closing = conn_closing,
	.closed = conn_closed,
	.free = conn_free,
};

/* ------------------------------------------------------------------ */
/* Idle streams */

void s2s_conn_sweep(struct s2s *s2s)
{
	uint64_t now = uv_now(s2s->proc.loop);
	uint64_t idle = (uint64_t)s2s->sc->idle_timeout * 1000;
	uint64_t auth = (uint64_t)s2s->sc->connect_timeout * 1000;
	struct netconn *nc, *next;
	for (nc = s2s->proc.conns.all; nc; nc = next) {
		struct s2s_conn *c = s2s_conn_of(nc);
		next = nc->next;
		if (!nc->outgoing && !nc->closing && !c->npairs &&
		    !c->nverifies && now - c->created_at >= auth) {
			s2s_stream_error(c, "connection-timeout",
					 "not authenticated in time");
			continue;
		}
		if (nc->closing || now - c->last_active < idle)
			continue;
		log_info("s2s conn %" PRIu64 " (%s): idle, closing", nc->id,
			 c->remote[0] ? c->remote : nc->peer);
		if (nc->header_sent)
			s2s_conn_send_str(c, "</stream:stream>");
		netconn_close(nc);
	}
}

struct s2s_conn *s2s_conn_find(struct s2s *s2s, uint64_t id)
{
	for (struct netconn *nc = s2s->proc.conns.all; nc; nc = nc->next)
		if (nc->id == id)
			return s2s_conn_of(nc);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Making connections */

static struct s2s_conn *conn_new(struct s2s *s2s, bool outgoing)
{
	const struct xmlstream_callbacks *cb =
		outgoing ? &s2s_out_callbacks : &s2s_in_callbacks;
	struct s2s_conn *c = calloc(1, sizeof *c);
	if (!c || netconn_init(&c->nc, &s2s->proc.conns, cb, c) < 0) {
		free(c);
		return NULL;
	}
	c->s2s = s2s;
	c->last_active = c->created_at = uv_now(s2s->proc.loop);
	return c;
}

void s2s_conn_accept(struct listener *l)
{
	struct s2s_conn *c = conn_new(l->data, false);
	if (!c) {
		listener_drop(l);
		log_error("s2s: out of memory accepting a connection");
		return;
	}
	netconn_accept(&c->nc, l);
}

struct s2s_conn *s2s_conn_connect(struct s2s_route *r,
				  const struct resolve_target *target)
{
	struct s2s_conn *c = conn_new(r->s2s, true);
	if (!c)
		return NULL;
	snprintf(c->local, sizeof c->local, "%s", r->local);
	snprintf(c->remote, sizeof c->remote, "%s", r->remote);
	c->nc.direct_tls = target->direct_tls;
	if (netconn_connect(&c->nc, &c->connect_req,
			    (const struct sockaddr *)&target->addr) < 0)
		return NULL;
	log_info("s2s conn %" PRIu64 ": connecting to %s (%s%s) for %s -> %s",
		 c->nc.id, c->nc.peer, target->host,
		 target->direct_tls ? ", direct TLS" : "", r->local, r->remote);
	c->route = r;
	return c;
}
