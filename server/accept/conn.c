/* conn: one external component's stream over the connection layer
 * (lib/netconn.h), which does the socket, the stream parser and the
 * output. What is accept's: its connection type (no TLS: XEP-0114 runs
 * on plain TCP, on loopback by default), our header, the time a stream
 * has to authenticate, and letting go of its component when it ends.
 * The stream's meaning is stream.c's. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../lib/random.h"
#include "accept.h"

/* ------------------------------------------------------------------ */
/* Our stream header and errors */

/* XEP-0114 §3 example 2: from the component's name, with an id the
 * handshake covers; no version (the protocol predates RFC 6120). */
int accept_stream_header(struct accept_conn *c, struct buf *b)
{
	int r = buf_printf(b,
			   "<?xml version='1.0'?><stream:stream xmlns='%s' "
			   "xmlns:stream='%s'",
			   XML_NS_COMPONENT, XML_NS_STREAM);
	if (c->component)
		r |= buf_printf(b, " from='%s'", c->component->cfg->name);
	random_hex(c->stream_id, ACCEPT_STREAM_ID_BYTES);
	r |= buf_printf(b, " id='%s'>", c->stream_id);
	c->nc.header_sent = true;
	return r;
}

void accept_stream_error(struct accept_conn *c, const char *condition,
			 const char *text)
{
	if (c->nc.closing)
		return;
	log_info("accept conn %" PRIu64 " (%s, %s): stream error %s%s%s",
		 c->nc.id, c->nc.peer,
		 c->component ? c->component->cfg->name : "?", condition,
		 text ? ": " : "", text ? text : "");
	netconn_stream_error(&c->nc, condition, text);
}

/* ------------------------------------------------------------------ */
/* Reading, and the handshake's time limit */

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct accept_conn *c = accept_conn_of(s->data);
	if (!netconn_read_ok(&c->nc, n))
		return;
	netconn_feed(&c->nc, b->base, (size_t)n);
}

static void conn_auth_timeout(uv_timer_t *t)
{
	struct accept_conn *c = accept_conn_of(t->data);
	accept_stream_error(c, "connection-timeout",
			    "no handshake in 30 seconds");
}

void accept_conn_authenticated(struct accept_conn *c)
{
	c->authenticated = true;
	c->component->conn = c;
	uv_timer_stop(&c->nc.timer);
	log_info("accept conn %" PRIu64 " (%s): component %s connected",
		 c->nc.id, c->nc.peer, c->component->cfg->name);
	/* Frames for the router wait: this stream waits with the others. */
	if (accept_router_full(c->acc))
		netconn_read_stop(&c->nc);
}

/* ------------------------------------------------------------------ */
/* The connection type: what the layer asks of accept */

static int conn_append_header(struct netconn *nc, struct buf *b)
{
	return accept_stream_header(accept_conn_of(nc), b);
}

static void conn_stream_error(struct netconn *nc, const char *condition,
			      const char *text)
{
	accept_stream_error(accept_conn_of(nc), condition, text);
}

/* A component that does not read: its stream ends at the next flush,
 * not now (the router frame being written may have more to send). */
static void conn_overflowed(struct netconn *nc)
{
	log_warn("accept conn %" PRIu64 ": the component does not read what "
		 "it is sent; closing",
		 nc->id);
	netconn_abort_later(nc);
}

/* The component's name is free again at once: what comes for it from
 * now on is answered as for a component not connected. */
static void conn_closing(struct netconn *nc)
{
	struct accept_conn *c = accept_conn_of(nc);
	if (!c->authenticated || c->component->conn != c)
		return;
	c->component->conn = NULL;
	log_info("accept: component %s disconnected", c->component->cfg->name);
}

static void conn_closed(struct netconn *nc)
{
	log_info("accept conn %" PRIu64 " from %s closed", nc->id, nc->peer);
}

static void conn_free(struct netconn *nc)
{
	free(accept_conn_of(nc));
}

const struct netconn_type accept_conn_type = {
	.name = "accept conn",
	.alloc = netconn_alloc,
	.read = conn_read,
	.append_header = conn_append_header,
	.stream_error = conn_stream_error,
	.overflowed = conn_overflowed,
	.closing = conn_closing,
	.closed = conn_closed,
	.free = conn_free,
};

/* ------------------------------------------------------------------ */

void accept_conn_accept(struct listener *l)
{
	struct accept *acc = l->data;
	struct accept_conn *c = calloc(1, sizeof *c);
	if (!c || netconn_init(&c->nc, &acc->proc.conns,
			       &accept_stream_callbacks, c) < 0) {
		free(c);
		listener_drop(l);
		log_error("accept: out of memory accepting a connection");
		return;
	}
	c->acc = acc;
	if (netconn_accept(&c->nc, l) == 0)
		uv_timer_start(&c->nc.timer, conn_auth_timeout,
			       ACCEPT_AUTH_TIMEOUT_MS, 0);
}
