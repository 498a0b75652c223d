/* netconn: one XML stream over TCP, the layer c2s and s2s share (as
 * OpenSMTPD's ioev serves its SMTP server and client sessions).
 *
 * A netconn is a socket, TLS when it runs (lib/tls.h, over memory), the
 * stream parser (lib/xmlstream.h) and a bounded output (lib/socket_output.h)
 * written once per loop iteration, so that many stanzas make one write.
 * A kind of connection (a c2s client, an s2s stream; later WebSocket or
 * BOSH) embeds a struct netconn in its own and describes itself with a
 * struct netconn_type: what is particular to it, called by the layer at
 * the few moments that need it (TLS starts, the stream ends, the output
 * overflows), never per read or per stanza. Its read callbacks are its
 * own, called by libuv directly: they count what they need and hand the
 * bytes to netconn_feed.
 *
 * The connections of a process form a netconn_set: one read buffer, the
 * list of connections to flush, and a graceful stop with a timeout.
 *
 * How to add a connection type: docs/architecture.md. */
#ifndef PALABRE_NETCONN_H
#define PALABRE_NETCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "net.h"
#include "socket_output.h"
#include "xmlstream.h"

/* The process's read buffer: each read is handled whole before the next. */
#define NETCONN_READ_SIZE 65536
/* What a peer that does not read what we close with gets (RFC 6120 §4.4:
 * we wait for its </stream:stream>, but not for ever). */
#define NETCONN_CLOSE_TIMEOUT_MS 5000
/* A graceful stop (netconn_set_stop) aborts what is still open then. */
#define NETCONN_STOP_TIMEOUT_MS 2000
/* TCP keepalive: a peer that vanished without a FIN (a phone off the
 * network) is found rather than kept for ever. */
#define NETCONN_KEEPALIVE_S 60

struct netconn;
struct netconn_set;
struct listener;
struct tls_conn;

struct netconn_type {
	const char *name; /* in logs, before the id: "conn", "s2s conn" */
	/* Reading; libuv calls them with handle->data the netconn. */
	uv_alloc_cb alloc;
	uv_read_cb read;
	/* A TLS connection for nc (STARTTLS or direct TLS) writing its
	 * records to nc->output.out; NULL when it cannot. */
	struct tls_conn *(*tls_new)(struct netconn *nc);
	/* The TLS handshake is done; before the first plaintext is parsed. */
	void (*tls_ready)(struct netconn *nc);
	/* Outgoing: TCP is up, and no TLS is to start first. */
	void (*connected)(struct netconn *nc);
	/* Our stream header, into b: a stream error needs it first when it
	 * was not sent (RFC 6120 §4.9.1.1). Sets nc->header_sent. */
	int (*append_header)(struct netconn *nc, struct buf *b);
	/* The type's stream error (its log, then netconn_stream_error): the
	 * set's graceful stop ends each stream with it. */
	void (*stream_error)(struct netconn *nc, const char *condition,
			     const char *text);
	/* More than the set's output_max waits: once. What is sent after is
	 * dropped; a stream error still goes out. */
	void (*overflowed)(struct netconn *nc);
	/* No more input (netconn_close, or netconn_abort first): once. */
	void (*closing)(struct netconn *nc);
	/* The handles close (netconn_abort): once, before closing if that
	 * was not called yet. */
	void (*closed)(struct netconn *nc);
	/* Last: frees what the type holds, and the struct around nc. */
	void (*free)(struct netconn *nc);
};

struct netconn {
	struct netconn_set *set;
	uint64_t id;
	uv_tcp_t tcp;
	/* The close timeout once closing; the type's to use before. */
	uv_timer_t timer;
	struct netconn *prev, *next; /* set->all */
	struct netconn *flush_next;  /* set->flush */
	struct tls_conn *tls;        /* NULL: plain so far */
	struct xmlstream *xs;
	/* Bytes to write (ciphertext once TLS runs). */
	struct socket_output output;
	unsigned refs;    /* open handles, and what the type counts */
	bool connected;   /* TCP is up */
	bool outgoing;    /* we connected: the TLS client */
	bool direct_tls;  /* TLS from the first byte (XEP-0368) */
	bool tls_ready;   /* the handshake is done */
	bool want_tls;    /* <proceed/>: TLS starts after this read */
	bool header_sent; /* our header of the current stream */
	bool in_flush;
	bool overflowed;
	bool abort_later; /* at the next flush */
	bool closing;     /* no more input; close once written */
	bool closed;      /* the handles are closing */
	char peer[NET_ADDR_NAME_MAX];
};

struct netconn_set {
	uv_loop_t *loop;
	const struct netconn_type *type;
	struct xmlstream_limits limits;
	size_t output_max;
	struct netconn *all;   /* every open connection (prev/next) */
	struct netconn *flush; /* connections with bytes to write */
	uint64_t next_id;
	uv_check_t flusher;
	uv_timer_t stop_timer;
	void (*on_stopped)(struct netconn_set *set);
	bool stopping;
};

/* The struct of a type around its netconn. */
#define netconn_outer(nc, type, member)                                        \
	((type *)((char *)(nc)-offsetof(type, member)))

/* The set writes what its connections queued once per loop iteration. */
void netconn_set_init(struct netconn_set *set, uv_loop_t *loop,
		      const struct netconn_type *type,
		      const struct xmlstream_limits *limits, size_t output_max);
void netconn_flush_all(struct netconn_set *set);
/* Graceful stop: every stream ends with system-shutdown (the type's
 * stream_error), new connections are refused; on_stopped once all are
 * gone, or after NETCONN_STOP_TIMEOUT_MS, when the rest are aborted. */
void netconn_set_stop(struct netconn_set *set,
		      void (*on_stopped)(struct netconn_set *set));

/* nc is zeroed, inside the type's struct; the stream parser calls cb
 * with ctx. Returns 0, or -1 when out of memory (nothing to undo). */
int netconn_init(struct netconn *nc, struct netconn_set *set,
		 const struct xmlstream_callbacks *cb, void *ctx);
/* Accepts a connection of l into nc and starts reading (and TLS, on a
 * direct TLS port). Returns 0, or -1 when nc closes already. */
int netconn_accept(struct netconn *nc, struct listener *l);
/* Connects to addr (nc->direct_tls says whether TLS comes first); the
 * type's connected or tls_ready follows. req lives as long as nc.
 * Returns 0, or -1 when nc closes already. */
int netconn_connect(struct netconn *nc, uv_connect_t *req,
		    const struct sockaddr *addr);

/* For the type's read callback: false when there is nothing to handle
 * (n == 0, closing; n < 0 aborts nc). */
bool netconn_read_ok(struct netconn *nc, ssize_t n);
/* Bytes read: through TLS when it runs, to the stream parser; a flush. */
void netconn_feed(struct netconn *nc, const char *data, size_t len);
/* The whole read buffer (the type's alloc may shorten it). */
void netconn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
int netconn_read_start(struct netconn *nc);
void netconn_read_stop(struct netconn *nc);

/* Queues bytes for the peer (encrypted when TLS runs). */
void netconn_send(struct netconn *nc, const char *data, size_t len);
void netconn_send_str(struct netconn *nc, const char *s);
void netconn_send_buf(struct netconn *nc, const struct buf *b);
void netconn_want_flush(struct netconn *nc);
/* RFC 6120 §5.4.3.3: TLS starts right after <proceed/>, once the current
 * read is parsed; what else it held is not part of it. */
void netconn_start_tls_later(struct netconn *nc);
/* Starts the stream over (after STARTTLS or SASL success). */
void netconn_restart(struct netconn *nc);

/* RFC 6120 §4.9: our header first if it was not sent, the error,
 * </stream:stream>, then closes; aborts when nothing can be said yet
 * (not connected, TLS not up). The type's stream error logs first. */
void netconn_stream_error(struct netconn *nc, const char *condition,
			  const char *text);
/* The peer's </stream:stream> (RFC 6120 §4.4): ours, then close. */
void netconn_stream_closed(struct netconn *nc);
/* Graceful: no more input, close_notify, write what is queued, close. */
void netconn_close(struct netconn *nc);
/* At once: the handles close, what is queued is dropped. */
void netconn_abort(struct netconn *nc);
/* At the next flush: for callers that may be walking what an abort
 * would change. */
void netconn_abort_later(struct netconn *nc);
/* Drops a reference the type took (nc->refs++); the last frees nc. */
void netconn_unref(struct netconn *nc);

#endif
