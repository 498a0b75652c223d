/* sockout: the output of one socket, written once per loop iteration.
 *
 * Bytes queue in `out`. A flush writes what the kernel takes at once
 * (uv_try_write) and hands the rest to one uv_write, during which new
 * bytes queue in `out` again. An idle output holds no buffer: an idle
 * session must cost next to nothing (the memory budget). */
#ifndef PALABRE_SOCKOUT_H
#define PALABRE_SOCKOUT_H

#include <stdbool.h>
#include <uv.h>

#include "buf.h"

struct sockout {
	struct buf out;  /* queued */
	struct buf wbuf; /* handed to uv_write */
	bool writing;
};

enum sockout_status {
	SOCKOUT_IDLE,    /* all written, buffers freed */
	SOCKOUT_WRITING, /* a uv_write runs: cb follows */
	SOCKOUT_ERROR,   /* the socket failed: close it */
};

/* Writes what is queued. cb ends a uv_write, with req->data = data; it
 * must call sockout_written first. */
enum sockout_status sockout_flush(struct sockout *o, uv_stream_t *s,
				  uv_write_cb cb, void *data);
void sockout_written(struct sockout *o, uv_write_t *req);
/* Bytes queued or being written. */
size_t sockout_pending(const struct sockout *o);
void sockout_free(struct sockout *o);

#endif
