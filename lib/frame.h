/* frame: the binary messages between the router and its components.
 *
 * Wire format (all integers big-endian):
 *   u32 length    whole frame, header included (<= FRAME_MAX_SIZE)
 *   u8  version   FRAME_VERSION
 *   u8  type      enum frame_type
 *   u8  to_len    bytes of the destination name that follow the header
 *   u8  from_len  bytes of the sender name that follow the destination
 *   u8  flags     type-specific (FRAME_NO_ROUTE: the original type)
 *   u8  reserved[3]
 *   u64 conn      a c2s connection id, or 0
 *   to, from, payload
 * The router reads the header and the names only, never the payload. */
#ifndef PALABRE_FRAME_H
#define PALABRE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define FRAME_VERSION 1
#define FRAME_HEADER_SIZE 20
#define FRAME_MAX_SIZE (4u << 20)
#define FRAME_NAME_MAX 255
#define FRAME_NONCE_SIZE 32

enum frame_type {
	/* router -> component, first frame: payload = FRAME_NONCE_SIZE random bytes */
	FRAME_HELLO = 1,
	/* component -> router: from = component name,
	 * payload = HMAC-SHA256(secret, nonce || name) */
	FRAME_AUTH,
	/* router -> component: authenticated (to = component name) */
	FRAME_AUTH_OK,
	/* component -> router: serve name `to` (a domain, or "*" for the
	 * default route) */
	FRAME_BIND,
	/* router -> component: to = the name */
	FRAME_BIND_OK,
	FRAME_BIND_FAIL,
	/* router -> every component: nobody serves `to` any more
	 * (its component went away) */
	FRAME_UNBOUND,
	/* a stanza: to = destination name, from = sender component name,
	 * conn = c2s connection id where it concerns one, payload = XML */
	FRAME_STANZA,
	/* c2s -> sm: a bound resource wants a session; payload = full JID */
	FRAME_SESSION_START,
	/* sm -> c2s: the session exists; payload = full JID */
	FRAME_SESSION_OK,
	/* either way: the session ends; payload = reason, e.g. "closed"
	 * (c2s: the client went away) or "conflict" (sm: replaced) */
	FRAME_SESSION_END,
	/* router -> sender: nobody serves `to`; flags = the original type;
	 * the rest of the frame is the original one */
	FRAME_NO_ROUTE,
	/* one stanza for several recipients at the domain `to` (muc -> sm:
	 * a room's fan-out, no frame per occupant); payload = u32 count,
	 * count NUL-terminated full JIDs, then the stanza's XML without a
	 * 'to' (lib/multicast.h reads and writes it) */
	FRAME_MULTICAST,
	FRAME_TYPE_MAX
};

struct frame {
	uint8_t type;
	uint8_t flags;
	uint64_t conn;
	const char *to; /* not NUL-terminated when decoded */
	size_t to_len;
	const char *from;
	size_t from_len;
	const char *payload;
	size_t payload_len;
};

/* The name of a frame type for logs ("SESSION_START"), or "unknown". */
const char *frame_type_name(unsigned type);

/* Appends f encoded to out. Returns 0, or -1 when a name is longer than
 * FRAME_NAME_MAX, the frame would exceed FRAME_MAX_SIZE, or memory runs out. */
int frame_encode(struct buf *out, const struct frame *f);

/* Decodes the frame at the start of bytes. Returns the frame's length
 * (> 0), 0 when more bytes are needed, or -1 when the bytes are not a
 * frame (bad version, type or length). f points into bytes. */
long frame_decode(const char *bytes, size_t len, struct frame *f);

/* Convenience for NUL-terminated names. */
void frame_set_to(struct frame *f, const char *to);
void frame_set_from(struct frame *f, const char *from);
/* Compares a decoded name with a C string. */
int frame_name_equals(const char *name, size_t len, const char *s);

#endif
