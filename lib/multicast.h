/* multicast: the payload of FRAME_MULTICAST, one stanza for several
 * recipients of one domain (frame.h): a big-endian u32 count, count
 * NUL-terminated full JIDs, then the stanza's XML without a 'to', which
 * the receiver adds for each recipient. */
#ifndef PALABRE_MULTICAST_H
#define PALABRE_MULTICAST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Writing: begin, add each recipient, then finish with the stanza.
 * Each returns 0, or -1 when memory runs out. */
int multicast_begin(struct buf *out);
int multicast_add(struct buf *out, const char *jid);
int multicast_finish(struct buf *out, const char *stanza, size_t len);
/* Recipients added since begin. */
uint32_t multicast_count(const struct buf *out);

/* Reading: checks the whole payload first (every JID terminated, the
 * count right, a stanza after them): 0, or -1 when it is malformed. */
struct multicast_reader {
	const char *next; /* the next JID */
	uint32_t left;
	const char *stanza;
	size_t stanza_len;
};
int multicast_read(struct multicast_reader *r, const char *payload, size_t len);
/* The next recipient, NULL after the last. */
const char *multicast_next(struct multicast_reader *r);

#endif
