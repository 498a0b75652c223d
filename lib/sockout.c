/* sockout: the output of one socket (see sockout.h). */
#include "sockout.h"

#include <stdlib.h>

enum sockout_status sockout_flush(struct sockout *o, uv_stream_t *s,
				  uv_write_cb cb, void *data)
{
	if (o->writing)
		return SOCKOUT_WRITING;
	if (o->out.len) {
		uv_buf_t b = uv_buf_init(o->out.data, (unsigned)o->out.len);
		int n = uv_try_write(s, &b, 1);
		if (n < 0 && n != UV_EAGAIN)
			return SOCKOUT_ERROR;
		if (n > 0)
			buf_consume(&o->out, (size_t)n);
	}
	if (!o->out.len) {
		sockout_free(o);
		return SOCKOUT_IDLE;
	}
	struct buf t = o->wbuf;
	o->wbuf = o->out;
	o->out = t;
	uv_buf_t b = uv_buf_init(o->wbuf.data, (unsigned)o->wbuf.len);
	/* Only while the kernel does not take it all: not in the caller's
	 * struct, where an idle session would keep it. */
	uv_write_t *req = malloc(sizeof *req);
	if (!req)
		return SOCKOUT_ERROR;
	req->data = data;
	if (uv_write(req, s, &b, 1, cb) < 0) {
		free(req);
		return SOCKOUT_ERROR;
	}
	o->writing = true;
	return SOCKOUT_WRITING;
}

void sockout_written(struct sockout *o, uv_write_t *req)
{
	free(req);
	o->writing = false;
	buf_clear(&o->wbuf);
}

size_t sockout_pending(const struct sockout *o)
{
	return o->out.len + o->wbuf.len;
}

void sockout_free(struct sockout *o)
{
	buf_free(&o->out);
	buf_free(&o->wbuf);
}
