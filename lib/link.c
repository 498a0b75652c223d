/* link: frames over a libuv stream.
 *
 * Reading: the bytes go into one growable buffer; every complete frame
 * is handed to on_frame where it lies (no copy). A paused or closing
 * link stops handing frames at once; what is left waits in the buffer.
 *
 * Writing: link_send encodes into `pending`. One write at a time
 * carries everything pending: the first one leaves from an idle handle
 * (so every frame queued during one loop iteration goes together), as a
 * uv_try_write and, for what the kernel did not take, one uv_write whose
 * completion sends what was queued meanwhile.
 *
 * Closing: uv_close on the stream and the idle handle; when both are
 * closed, on_close is called once and the link is freed. Callbacks may
 * close their own link: it stays valid until the loop's close phase. */
#include "link_internal.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

/* What one read asks for at least. */
#define LINK_READ_SIZE (64u << 10)
/* An idle buffer bigger than this is given back to the allocator. */
#define LINK_BUF_KEEP (256u << 10)

struct link {
	uv_stream_t *stream;
	uv_idle_t idle;
	uv_write_t write_req;
	struct link_callbacks cb;
	void *data;
	void *private_data;

	struct buf in; /* bytes read, from in_off on not yet handed out */
	size_t in_off;
	struct buf pending; /* encoded frames waiting for the next write */
	struct buf writing; /* the bytes of the write in flight */

	struct link_stats stats;
	int open_handles;
	bool reading; /* uv_read_start done */
	bool paused;
	bool closing; /* link_close or an error: no more frames either way */
	bool handles_closed; /* uv_close called */
	bool write_busy;
	bool idle_active;
	bool want_dispatch; /* buffered frames to hand out from the idle handle */
	bool want_drain;    /* a send was refused: call on_drain under LOW */
};

static void link_dispatch(struct link *l);
static void link_flush(struct link *l);
static void link_abort(struct link *l);

/* ---- lifetime ---- */

static void link_on_handle_closed(uv_handle_t *h)
{
	struct link *l = h->data;
	if (--l->open_handles > 0)
		return;
	if (l->cb.on_close)
		l->cb.on_close(l);
	buf_free(&l->in);
	buf_free(&l->pending);
	buf_free(&l->writing);
	free(l->stream);
	free(l);
}

/* Closes now, without flushing. */
static void link_abort(struct link *l)
{
	l->closing = true;
	if (l->handles_closed)
		return;
	l->handles_closed = true;
	uv_close((uv_handle_t *)l->stream, link_on_handle_closed);
	uv_close((uv_handle_t *)&l->idle, link_on_handle_closed);
}

struct link *link_alloc(uv_stream_t *stream, const struct link_callbacks *cb,
			void *data)
{
	struct link *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->stream = stream;
	l->cb = *cb;
	l->data = data;
	stream->data = l;
	uv_idle_init(stream->loop, &l->idle);
	l->idle.data = l;
	l->open_handles = 2;
	return l;
}

static void link_free_stream(uv_handle_t *h)
{
	free(h);
}

struct link *link_new(uv_stream_t *stream, const struct link_callbacks *cb,
		      void *data)
{
	struct link *l = link_alloc(stream, cb, data);
	if (!l) {
		uv_close((uv_handle_t *)stream, link_free_stream);
		return NULL;
	}
	if (link_start(l) < 0) {
		l->cb.on_close = NULL; /* the caller learns it from NULL */
		link_abort(l);
		return NULL;
	}
	return l;
}

void link_close(struct link *l)
{
	if (l->closing)
		return;
	l->closing = true;
	if (l->reading)
		uv_read_stop(l->stream);
	link_flush(l);
	if (!l->write_busy)
		link_abort(l);
	/* else the completion of the last write closes */
}

void *link_data(const struct link *l)
{
	return l->data;
}

void *link_private(const struct link *l)
{
	return l->private_data;
}

void link_set_private(struct link *l, void *p)
{
	l->private_data = p;
}

void link_set_callbacks(struct link *l, const struct link_callbacks *cb)
{
	l->cb = *cb;
}

void link_get_stats(const struct link *l, struct link_stats *st)
{
	*st = l->stats;
}

/* ---- reading ---- */

static void link_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *out)
{
	struct link *l = h->data;
	if (l->in_off > 0) {
		buf_consume(&l->in, l->in_off);
		l->in_off = 0;
	}
	size_t want = LINK_READ_SIZE;
	/* A frame whose length is known gets room for all of it at once. */
	if (l->in.len >= 4) {
		const unsigned char *p = (const unsigned char *)l->in.data;
		size_t total = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
			       (size_t)p[2] << 8 | p[3];
		if (total <= FRAME_MAX_SIZE && total > l->in.len + want)
			want = total - l->in.len;
	}
	if (buf_reserve(&l->in, want) < 0) {
		*out = uv_buf_init(NULL, 0); /* read_cb gets UV_ENOBUFS */
		return;
	}
	*out = uv_buf_init(l->in.data + l->in.len,
			   (unsigned)(l->in.cap - l->in.len - 1));
}

static void link_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct link *l = s->data;
	if (nread == 0 || l->closing)
		return;
	if (nread < 0) {
		if (nread != UV_EOF)
			log_warn("link: read failed: %s",
				 uv_strerror((int)nread));
		link_abort(l);
		return;
	}
	l->in.len += (size_t)nread;
	l->in.data[l->in.len] = '\0';
	l->stats.bytes_in += (uint64_t)nread;
	link_dispatch(l);
}

static void link_dispatch(struct link *l)
{
	while (!l->paused && !l->closing) {
		struct frame f;
		long n = frame_decode(l->in.data + l->in_off,
				      l->in.len - l->in_off, &f);
		if (n == 0)
			break;
		if (n < 0) {
			log_warn("link: the peer sent bytes that are not a "
				 "frame "
				 "(bad version, type or length); closing");
			link_abort(l);
			return;
		}
		l->in_off += (size_t)n;
		l->stats.frames_in++;
		l->cb.on_frame(l, &f);
	}
	if (l->in_off == l->in.len) {
		l->in.len = l->in_off = 0;
		if (l->in.cap > LINK_BUF_KEEP)
			buf_free(&l->in);
	}
}

int link_start(struct link *l)
{
	if (uv_read_start(l->stream, link_on_alloc, link_on_read) < 0)
		return -1;
	l->reading = true;
	return 0;
}

/* ---- writing ---- */

static void link_on_idle(uv_idle_t *h)
{
	struct link *l = h->data;
	uv_idle_stop(h);
	l->idle_active = false;
	if (l->want_dispatch) {
		l->want_dispatch = false;
		link_dispatch(l);
	}
	link_flush(l);
}

static void link_schedule(struct link *l)
{
	if (l->idle_active || l->handles_closed)
		return;
	l->idle_active = true;
	uv_idle_start(&l->idle, link_on_idle);
}

static size_t link_buf_queued(const struct link *l)
{
	return l->pending.len + l->writing.len;
}

/* After the bytes of a write went out: a sender refused for a full queue
 * hears that there is room again. */
static void link_wrote(struct link *l, struct buf *b)
{
	buf_clear(b);
	if (b->cap > LINK_BUF_KEEP)
		buf_free(b);
	if (l->want_drain && link_buf_queued(l) < LINK_QUEUE_LOW &&
	    !l->closing) {
		l->want_drain = false;
		if (l->cb.on_drain)
			l->cb.on_drain(l);
	}
}

static void link_on_write(uv_write_t *req, int status)
{
	struct link *l = req->data;
	l->write_busy = false;
	if (status < 0) {
		if (status != UV_ECANCELED)
			log_warn("link: write failed: %s", uv_strerror(status));
		link_abort(l);
		return;
	}
	link_wrote(l, &l->writing);
	if (l->handles_closed)
		return;
	link_flush(l);
	if (l->closing && !l->write_busy)
		link_abort(l);
}

/* Writes everything pending, unless a write is in flight. Most go whole
 * at once: without a request, libuv neither defers a completion to the
 * next turn of the loop nor re-arms the epoll watcher (an epoll_ctl and
 * an empty epoll_wait per write otherwise). The rest waits in one
 * uv_write. */
static void link_flush(struct link *l)
{
	if (l->write_busy || l->handles_closed || l->pending.len == 0)
		return;
	uv_buf_t b = uv_buf_init(l->pending.data, (unsigned)l->pending.len);
	int n = uv_try_write(l->stream, &b, 1);
	if (n < 0 && n != UV_EAGAIN) {
		log_warn("link: write failed: %s", uv_strerror(n));
		link_abort(l);
		return;
	}
	size_t done = n > 0 ? (size_t)n : 0;
	if (done > 0)
		l->stats.writes++;
	if (done == l->pending.len) {
		link_wrote(l, &l->pending);
		return;
	}
	/* The buffer goes whole to `writing` (what was written already is
	 * counted queued until the uv_write completes: no copy). */
	struct buf tmp = l->writing;
	l->writing = l->pending;
	l->pending = tmp;
	b = uv_buf_init(l->writing.data + done,
			(unsigned)(l->writing.len - done));
	l->write_req.data = l;
	int err = uv_write(&l->write_req, l->stream, &b, 1, link_on_write);
	if (err < 0) {
		log_warn("link: write failed: %s", uv_strerror(err));
		link_abort(l);
		return;
	}
	l->write_busy = true;
	l->stats.writes++;
}

static int link_enqueue(struct link *l, const struct frame *f)
{
	size_t before = l->pending.len;
	if (frame_encode(&l->pending, f) < 0)
		return -1;
	l->stats.frames_out++;
	l->stats.bytes_out += l->pending.len - before;
	if (!l->write_busy)
		link_schedule(l);
	return 0;
}

int link_send(struct link *l, const struct frame *f)
{
	if (l->closing)
		return -1;
	size_t size =
		FRAME_HEADER_SIZE + f->to_len + f->from_len + f->payload_len;
	size_t queued = link_buf_queued(l);
	/* An empty queue takes any frame, so that a big one always fits. */
	if (queued > 0 && queued + size > LINK_QUEUE_MAX) {
		l->want_drain = true;
		return -1;
	}
	return link_enqueue(l, f);
}

int link_send_control(struct link *l, const struct frame *f)
{
	if (l->closing)
		return -1;
	return link_enqueue(l, f);
}

bool link_full(const struct link *l)
{
	return l->want_drain || link_buf_queued(l) >= LINK_QUEUE_MAX;
}

/* ---- backpressure on the peer ---- */

void link_pause(struct link *l)
{
	if (l->paused)
		return;
	l->paused = true;
	if (l->reading && !l->closing)
		uv_read_stop(l->stream);
}

void link_resume(struct link *l)
{
	if (!l->paused)
		return;
	l->paused = false;
	if (l->closing)
		return;
	if (l->reading &&
	    uv_read_start(l->stream, link_on_alloc, link_on_read) < 0) {
		link_abort(l);
		return;
	}
	/* Frames read before the pause are handed out from the loop, not
	 * from inside the caller (which may be another link's callback). */
	if (l->in_off < l->in.len) {
		l->want_dispatch = true;
		link_schedule(l);
	}
}
