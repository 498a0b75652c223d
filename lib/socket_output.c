/* socket_output: the output of one socket (see socket_output.h). */
#include "socket_output.h"

#include <stdlib.h>

enum socket_output_status socket_output_flush(struct socket_output *o,
					      uv_stream_t *s, uv_write_cb cb,
					      void *data)
{
	if (o->writing)
		return SOCKET_OUTPUT_WRITING;
	if (o->out.len) {
		uv_buf_t b = uv_buf_init(o->out.data, (unsigned)o->out.len);
		int n = uv_try_write(s, &b, 1);
		if (n < 0 && n != UV_EAGAIN)
			return SOCKET_OUTPUT_ERROR;
		if (n > 0)
			buf_consume(&o->out, (size_t)n);
	}
	if (!o->out.len) {
		socket_output_free(o);
		return SOCKET_OUTPUT_IDLE;
	}
	struct buf t = o->wbuf;
	o->wbuf = o->out;
	o->out = t;
	uv_buf_t b = uv_buf_init(o->wbuf.data, (unsigned)o->wbuf.len);
	/* Only while the kernel does not take it all: not in the caller's
	 * struct, where an idle session would keep it. */
	uv_write_t *req = malloc(sizeof *req);
	if (!req)
		return SOCKET_OUTPUT_ERROR;
	req->data = data;
	if (uv_write(req, s, &b, 1, cb) < 0) {
		free(req);
		return SOCKET_OUTPUT_ERROR;
	}
	o->writing = true;
	return SOCKET_OUTPUT_WRITING;
}

void socket_output_written(struct socket_output *o, uv_write_t *req)
{
	free(req);
	o->writing = false;
	buf_clear(&o->wbuf);
}

size_t socket_output_pending(const struct socket_output *o)
{
	return o->out.len + o->wbuf.len;
}

void socket_output_free(struct socket_output *o)
{
	buf_free(&o->out);
	buf_free(&o->wbuf);
}
