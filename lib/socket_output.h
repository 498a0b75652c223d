/* socket_output: the output of one socket, written once per loop
 * iteration.
 *
 * Bytes queue in `out`. A flush writes what the kernel takes at once
 * (uv_try_write) and hands the rest to one uv_write, during which new
 * bytes queue in `out` again. An idle output holds no buffer: an idle
 * session must cost next to nothing (the memory budget). */
#ifndef PALABRE_SOCKET_OUTPUT_H
#define PALABRE_SOCKET_OUTPUT_H

#include <stdbool.h>
#include <uv.h>

#include "buf.h"

struct socket_output {
	struct buf out;  /* queued */
	struct buf wbuf; /* handed to uv_write */
	bool writing;
};

enum socket_output_status {
	SOCKET_OUTPUT_IDLE,    /* all written, buffers freed */
	SOCKET_OUTPUT_WRITING, /* a uv_write runs: cb follows */
	SOCKET_OUTPUT_ERROR,   /* the socket failed: close it */
};

/* Writes what is queued. cb ends a uv_write, with req->data = data; it
 * must call socket_output_written first. */
enum socket_output_status socket_output_flush(struct socket_output *o,
					      uv_stream_t *s, uv_write_cb cb,
					      void *data);
void socket_output_written(struct socket_output *o, uv_write_t *req);
/* Bytes queued or being written. */
size_t socket_output_pending(const struct socket_output *o);
void socket_output_free(struct socket_output *o);

#endif
