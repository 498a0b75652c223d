/* netconn: one XML stream over TCP (see netconn.h). */
#include "netconn.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "listener.h"
#include "log.h"
#include "tls.h"

/* Every connection of the process reads into it: each read is handled
 * completely before the next. */
static char netconn_readbuf[NETCONN_READ_SIZE];

static void netconn_write_out(struct netconn *nc);

#define NC_FMT "%s %" PRIu64
#define NC_ARGS(nc) (nc)->set->type->name, (nc)->id

/* ------------------------------------------------------------------ */
/* The set */

static void netconn_on_check(uv_check_t *h)
{
	netconn_flush_all(h->data);
}

void netconn_set_init(struct netconn_set *set, uv_loop_t *loop,
		      const struct netconn_type *type,
		      const struct xmlstream_limits *limits, size_t output_max)
{
	set->loop = loop;
	set->type = type;
	set->limits = *limits;
	set->output_max = output_max;
	uv_check_init(loop, &set->flusher);
	set->flusher.data = set;
	uv_check_start(&set->flusher, netconn_on_check);
	uv_unref((uv_handle_t *)&set->flusher);
	uv_timer_init(loop, &set->stop_timer);
	set->stop_timer.data = set;
}

void netconn_flush_all(struct netconn_set *set)
{
	struct netconn *nc;
	while ((nc = set->flush)) {
		set->flush = nc->flush_next;
		nc->flush_next = NULL;
		nc->in_flush = false;
		netconn_write_out(nc);
	}
}

/* Once: the set's handles go, nothing of it is used after. */
static void netconn_set_stopped(struct netconn_set *set)
{
	void (*on_stopped)(struct netconn_set * set) = set->on_stopped;
	if (!on_stopped)
		return;
	set->on_stopped = NULL;
	uv_timer_stop(&set->stop_timer);
	uv_close((uv_handle_t *)&set->stop_timer, NULL);
	uv_close((uv_handle_t *)&set->flusher, NULL);
	on_stopped(set);
}

static void netconn_on_stop_timeout(uv_timer_t *t)
{
	struct netconn_set *set = t->data;
	struct netconn *nc, *next;
	log_warn("%ss still open after %d ms; closing them", set->type->name,
		 NETCONN_STOP_TIMEOUT_MS);
	for (nc = set->all; nc; nc = next) {
		next = nc->next;
		netconn_abort(nc);
	}
	netconn_set_stopped(set);
}

void netconn_set_stop(struct netconn_set *set,
		      void (*on_stopped)(struct netconn_set *set))
{
	struct netconn *nc, *next;
	if (set->stopping)
		return;
	set->stopping = true;
	set->on_stopped = on_stopped;
	for (nc = set->all; nc; nc = next) {
		next = nc->next;
		set->type->stream_error(nc, "system-shutdown", NULL);
	}
	uv_timer_start(&set->stop_timer, netconn_on_stop_timeout,
		       NETCONN_STOP_TIMEOUT_MS, 0);
	if (!set->all)
		netconn_set_stopped(set);
}

/* ------------------------------------------------------------------ */
/* Making connections */

int netconn_init(struct netconn *nc, struct netconn_set *set,
		 const struct xmlstream_callbacks *cb, void *ctx)
{
	nc->xs = xmlstream_new(&set->limits, cb, ctx);
	if (!nc->xs)
		return -1;
	nc->set = set;
	nc->id = ++set->next_id;
	uv_tcp_init(set->loop, &nc->tcp);
	uv_timer_init(set->loop, &nc->timer);
	nc->tcp.data = nc->timer.data = nc;
	nc->refs = 2; /* the handles */
	nc->next = set->all;
	if (nc->next)
		nc->next->prev = nc;
	set->all = nc;
	return 0;
}

/* TCP is up: reading, with TLS first when direct. */
static int netconn_start(struct netconn *nc)
{
	uv_tcp_nodelay(&nc->tcp, 1);
	uv_tcp_keepalive(&nc->tcp, 1, NETCONN_KEEPALIVE_S);
	if (nc->direct_tls && !(nc->tls = nc->set->type->tls_new(nc))) {
		log_error(NC_FMT ": cannot start TLS (out of memory)",
			  NC_ARGS(nc));
		return -1;
	}
	return netconn_read_start(nc);
}

static void netconn_name_peer(struct netconn *nc)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	snprintf(nc->peer, sizeof nc->peer, "?");
	if (uv_tcp_getpeername(&nc->tcp, (struct sockaddr *)&ss, &len) == 0)
		net_addr_name((struct sockaddr *)&ss, nc->peer,
			      sizeof nc->peer);
}

static void netconn_close_handles(struct netconn *nc);

int netconn_accept(struct netconn *nc, struct listener *l)
{
	if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&nc->tcp) != 0) {
		netconn_close_handles(nc);
		return -1;
	}
	nc->connected = true;
	nc->direct_tls = l->cfg->direct_tls;
	netconn_name_peer(nc);
	log_info(NC_FMT " accepted from %s on port %d%s", NC_ARGS(nc), nc->peer,
		 l->cfg->port, l->cfg->direct_tls ? " (direct TLS)" : "");
	if (netconn_start(nc) < 0 || nc->set->stopping) {
		netconn_abort(nc);
		return -1;
	}
	return 0;
}

static void netconn_on_connect(uv_connect_t *req, int status)
{
	struct netconn *nc = req->data;
	if (nc->closed)
		return;
	if (status < 0) {
		log_info(NC_FMT ": cannot connect to %s: %s", NC_ARGS(nc),
			 nc->peer, uv_strerror(status));
		netconn_abort(nc);
		return;
	}
	if (nc->closing) { /* closed while connecting: nothing to say */
		netconn_abort(nc);
		return;
	}
	nc->connected = true;
	if (netconn_start(nc) < 0) {
		netconn_abort(nc);
		return;
	}
	if (!nc->tls) {
		nc->set->type->connected(nc);
		return;
	}
	tls_conn_feed(nc->tls, NULL, 0, NULL, NULL); /* our ClientHello */
	netconn_want_flush(nc);
}

int netconn_connect(struct netconn *nc, uv_connect_t *req,
		    const struct sockaddr *addr)
{
	nc->outgoing = true;
	net_addr_name(addr, nc->peer, sizeof nc->peer);
	req->data = nc;
	if (uv_tcp_connect(req, &nc->tcp, addr, netconn_on_connect) < 0) {
		netconn_abort(nc);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading */

void netconn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)h;
	(void)suggested;
	b->base = netconn_readbuf;
	b->len = sizeof netconn_readbuf;
}

int netconn_read_start(struct netconn *nc)
{
	const struct netconn_type *type = nc->set->type;
	return uv_read_start((uv_stream_t *)&nc->tcp, type->alloc, type->read);
}

void netconn_read_stop(struct netconn *nc)
{
	uv_read_stop((uv_stream_t *)&nc->tcp);
}

bool netconn_read_ok(struct netconn *nc, ssize_t n)
{
	if (n == 0)
		return false;
	if (n < 0) {
		if (n != UV_EOF)
			log_debug(NC_FMT ": read: %s", NC_ARGS(nc),
				  uv_strerror((int)n));
		netconn_abort(nc);
		return false;
	}
	return !nc->closing;
}

static void netconn_tls_now_ready(struct netconn *nc)
{
	nc->tls_ready = true;
	nc->set->type->tls_ready(nc);
}

static void netconn_start_tls(struct netconn *nc)
{
	nc->want_tls = false;
	nc->tls = nc->set->type->tls_new(nc);
	if (!nc->tls) {
		log_error(NC_FMT ": cannot start TLS", NC_ARGS(nc));
		netconn_abort(nc);
		return;
	}
	netconn_restart(nc);
	if (nc->outgoing) /* our ClientHello */
		tls_conn_feed(nc->tls, NULL, 0, NULL, NULL);
}

void netconn_start_tls_later(struct netconn *nc)
{
	nc->want_tls = true;
}

/* Plaintext from the socket or from TLS. Returns non-zero to stop. */
static int netconn_on_plain(void *ctx, const char *data, size_t len)
{
	struct netconn *nc = ctx;
	if (nc->closing)
		return 1;
	/* The first plaintext can come in the read that ends the handshake:
	 * what the peer's certificate proves must be known before it is
	 * parsed. */
	if (nc->tls && !nc->tls_ready)
		netconn_tls_now_ready(nc);
	if (xmlstream_feed(nc->xs, data, len) < 0)
		return 1; /* on_error has answered */
	if (nc->want_tls) {
		/* RFC 6120 §5.4.3.3: TLS starts right after <proceed/>; what
		 * else came in this read is not part of it. */
		netconn_start_tls(nc);
		return 1;
	}
	return nc->closing;
}

void netconn_feed(struct netconn *nc, const char *data, size_t len)
{
	if (!nc->tls) {
		netconn_on_plain(nc, data, len);
	} else {
		enum tls_status st =
			tls_conn_feed(nc->tls, data, len, netconn_on_plain, nc);
		if (!nc->closing && !nc->tls_ready &&
		    tls_conn_handshake_done(nc->tls))
			netconn_tls_now_ready(nc);
		if (st == TLS_ERROR) {
			log_info(NC_FMT " (%s): TLS error", NC_ARGS(nc),
				 nc->peer);
			netconn_close(nc); /* the alert, if any, goes out */
		} else if (st == TLS_PEER_CLOSED) {
			netconn_close(nc);
		}
	}
	netconn_want_flush(nc);
}

void netconn_restart(struct netconn *nc)
{
	nc->header_sent = false;
	if (xmlstream_reset(nc->xs) < 0)
		nc->set->type->stream_error(nc, "resource-constraint", NULL);
}

/* ------------------------------------------------------------------ */
/* Writing */

void netconn_want_flush(struct netconn *nc)
{
	if (nc->in_flush || nc->closed)
		return;
	nc->in_flush = true;
	nc->flush_next = nc->set->flush;
	nc->set->flush = nc;
}

static int netconn_queue(struct netconn *nc, const char *data, size_t len)
{
	int r = nc->tls ? tls_conn_write(nc->tls, data, len)
			: buf_append(&nc->output.out, data, len);
	if (r < 0) {
		log_warn(NC_FMT ": cannot queue %zu bytes", NC_ARGS(nc), len);
		netconn_abort_later(nc);
		return -1;
	}
	netconn_want_flush(nc);
	return 0;
}

void netconn_send(struct netconn *nc, const char *data, size_t len)
{
	if (len == 0 || nc->closing || nc->overflowed)
		return;
	if (socket_output_pending(&nc->output) > nc->set->output_max) {
		/* A peer that does not read must not take the process's
		 * memory, and with it every other user's session. */
		log_warn(NC_FMT
			 " (%s): %zu bytes wait for a peer that does not "
			 "read",
			 NC_ARGS(nc), nc->peer,
			 socket_output_pending(&nc->output));
		nc->overflowed = true;
		nc->set->type->overflowed(nc);
		return;
	}
	netconn_queue(nc, data, len);
}

void netconn_send_str(struct netconn *nc, const char *s)
{
	netconn_send(nc, s, strlen(s));
}

void netconn_send_buf(struct netconn *nc, const struct buf *b)
{
	if (b->data)
		netconn_send(nc, b->data, b->len);
}

static void netconn_on_written(uv_write_t *req, int status)
{
	struct netconn *nc = req->data;
	socket_output_written(&nc->output, req);
	if (status < 0) {
		if (!nc->closed)
			log_debug(NC_FMT ": write: %s", NC_ARGS(nc),
				  uv_strerror(status));
		netconn_abort(nc);
		return;
	}
	netconn_write_out(nc);
}

static void netconn_write_out(struct netconn *nc)
{
	if (nc->abort_later) {
		netconn_abort(nc);
		return;
	}
	if (nc->closed || !nc->connected)
		return;
	switch (socket_output_flush(&nc->output, (uv_stream_t *)&nc->tcp,
				    netconn_on_written, nc)) {
	case SOCKET_OUTPUT_ERROR:
		log_debug(NC_FMT ": cannot write", NC_ARGS(nc));
		netconn_abort(nc);
		break;
	case SOCKET_OUTPUT_IDLE:
		if (nc->closing)
			netconn_abort(nc);
		break;
	case SOCKET_OUTPUT_WRITING:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Ending */

void netconn_stream_error(struct netconn *nc, const char *condition,
			  const char *text)
{
	if (nc->closing)
		return;
	if (!nc->connected || (nc->tls && !nc->tls_ready)) {
		netconn_abort(nc); /* nothing can be said yet */
		return;
	}
	struct buf b = BUF_INIT;
	int r = 0;
	/* RFC 6120 §4.9.1.1: the header first if it was not sent yet. */
	if (!nc->header_sent)
		r |= nc->set->type->append_header(nc, &b);
	r |= xmlstream_append_error(&b, condition, text);
	/* Past the output bound too: it is the stream's last word. */
	if (r == 0)
		netconn_queue(nc, b.data, b.len);
	buf_free(&b);
	netconn_close(nc);
}

void netconn_stream_closed(struct netconn *nc)
{
	if (nc->closing)
		return;
	netconn_send_str(nc, "</stream:stream>");
	netconn_close(nc);
}

static void netconn_on_close_timeout(uv_timer_t *t)
{
	netconn_abort(t->data); /* the peer does not read what we close with */
}

void netconn_close(struct netconn *nc)
{
	if (nc->closing)
		return;
	nc->closing = true;
	if (nc->connected)
		netconn_read_stop(nc);
	nc->set->type->closing(nc);
	if (nc->tls)
		tls_conn_shutdown(nc->tls);
	uv_timer_start(&nc->timer, netconn_on_close_timeout,
		       NETCONN_CLOSE_TIMEOUT_MS, 0);
	netconn_want_flush(nc);
}

static void netconn_free(struct netconn *nc)
{
	struct netconn_set *set = nc->set;
	tls_conn_free(nc->tls);
	xmlstream_free(nc->xs);
	socket_output_free(&nc->output);
	set->type->free(nc);
	if (set->stopping && !set->all)
		netconn_set_stopped(set);
}

void netconn_unref(struct netconn *nc)
{
	if (--nc->refs == 0)
		netconn_free(nc);
}

static void netconn_on_handle_closed(uv_handle_t *h)
{
	netconn_unref(h->data);
}

static void netconn_unlink(struct netconn *nc)
{
	struct netconn_set *set = nc->set;
	if (nc->prev)
		nc->prev->next = nc->next;
	else if (set->all == nc)
		set->all = nc->next;
	if (nc->next)
		nc->next->prev = nc->prev;
	nc->prev = nc->next = NULL;
	if (nc->in_flush) {
		struct netconn **p = &set->flush;
		while (*p && *p != nc)
			p = &(*p)->flush_next;
		if (*p)
			*p = nc->flush_next;
		nc->in_flush = false;
	}
}

static void netconn_close_handles(struct netconn *nc)
{
	nc->closing = nc->closed = true;
	netconn_unlink(nc);
	uv_close((uv_handle_t *)&nc->tcp, netconn_on_handle_closed);
	uv_close((uv_handle_t *)&nc->timer, netconn_on_handle_closed);
}

void netconn_abort(struct netconn *nc)
{
	if (nc->closed)
		return;
	bool was_closing = nc->closing;
	nc->closing = nc->closed = true;
	nc->set->type->closed(nc);
	if (!was_closing)
		nc->set->type->closing(nc);
	netconn_close_handles(nc);
}

void netconn_abort_later(struct netconn *nc)
{
	nc->abort_later = true;
	netconn_want_flush(nc);
}
