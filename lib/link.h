/* link: a framed connection over a libuv stream, with batched writes
 * (every frame sent during one loop iteration goes out in one write)
 * and a bounded write queue. Used by the router and by components. */
#ifndef PALABRE_LINK_H
#define PALABRE_LINK_H

#include <stdbool.h>
#include <uv.h>

#include "frame.h"

/* A link refuses frames past this many queued bytes (backpressure). */
#define LINK_QUEUE_MAX (8u << 20)
/* A full link calls its drain callback when it gets back under this. */
#define LINK_QUEUE_LOW (1u << 20)

struct link;

struct link_callbacks {
	/* A frame arrived; f and its bytes are valid during the call only. */
	void (*on_frame)(struct link *l, const struct frame *f);
	/* The peer went away or sent garbage; l is freed after this returns. */
	void (*on_close)(struct link *l);
	/* Optional: the queue fell back under LINK_QUEUE_LOW after a refusal. */
	void (*on_drain)(struct link *l);
};

/* Takes ownership of stream (already connected or accepted, allocated
 * with malloc: the link frees it after closing it) and starts reading.
 * NULL when out of memory or when reading cannot start. */
struct link *link_new(uv_stream_t *stream, const struct link_callbacks *cb,
		      void *data);
void *link_data(const struct link *l);
/* Replaces the callbacks (copied), e.g. at the end of a handshake. */
void link_set_callbacks(struct link *l, const struct link_callbacks *cb);

/* Queues f. Returns 0, or -1 when the link is closed or its queue holds
 * LINK_QUEUE_MAX bytes (the caller keeps the frame and stops reading its
 * own source until on_drain). -1 with !link_full(): closed, or f cannot
 * be encoded (name longer than FRAME_NAME_MAX, frame too big). */
int link_send(struct link *l, const struct frame *f);
bool link_full(const struct link *l);
/* Queues f even past LINK_QUEUE_MAX: only for the few small control
 * frames whose loss would leave the peer wrong about the routes
 * (BIND_OK, UNBOUND ...), never for stanzas. -1 when closed. */
int link_send_control(struct link *l, const struct frame *f);

/* Counters since the link was made, for statistics and tests. */
struct link_stats {
	uint64_t frames_in, frames_out;
	uint64_t bytes_in, bytes_out;
	uint64_t writes; /* write calls: frames_out / writes is the batching */
};
void link_get_stats(const struct link *l, struct link_stats *st);

/* Backpressure on the peer: stop / start reading from it. */
void link_pause(struct link *l);
void link_resume(struct link *l);

/* Flushes what is queued, then closes; on_close follows. */
void link_close(struct link *l);

/* The component side of the handshake. Connects to address (a Unix
 * socket path, or "host:port"), answers the router's challenge as `name`
 * with `secret`, binds each name in `binds` (NULL-terminated), then calls
 * on_ready. Any failure calls on_close. Frames that come between
 * authentication and the last BIND_OK (UNBOUND notices, frames for the
 * component's own name) already go to on_frame. Returns 0, or -1 at once
 * (bad address or name, out of memory), and then no callback follows.
 * "host:port" is plain TCP for now (TLS between hosts is to come). */
struct link_client_callbacks {
	void (*on_ready)(struct link *l);
	void (*on_frame)(struct link *l, const struct frame *f);
	void (*on_close)(struct link *l);
	void (*on_drain)(struct link *l);
};
int link_client_connect(uv_loop_t *loop, const char *address, const char *name,
			const char *secret, const char *const *binds,
			const struct link_client_callbacks *cb, void *data);

/* HMAC-SHA256(secret, nonce || name) into out (32 bytes). */
void link_auth_digest(const char *secret, const unsigned char *nonce,
		      const char *name, size_t name_len, unsigned char out[32]);

#endif
