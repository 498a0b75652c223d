/* link internals shared by link.c and link_client.c only. */
#ifndef PALABRE_LINK_INTERNAL_H
#define PALABRE_LINK_INTERNAL_H

#include "link.h"

/* A link over stream that does not read yet (the stream may not be
 * connected: closing such a link still calls on_close). */
struct link *link_alloc(uv_stream_t *stream, const struct link_callbacks *cb,
			void *data);
/* Starts reading. -1 when the stream cannot be read. */
int link_start(struct link *l);
/* A second pointer beside link_data, for the handshake's own state. */
void *link_private(const struct link *l);
void link_set_private(struct link *l, void *p);

#endif
