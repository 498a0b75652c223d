/* scan: a light splitter of an XMPP stream into top-level elements.
 *
 * A load generator must not cost more than the server it measures, and
 * must hold next to nothing per idle session. So instead of an XML parser
 * per session (lib/xmlstream keeps an expat parser of about 10 KiB for
 * an open stream), a session keeps only the bytes of an element that has
 * not fully arrived yet: nothing at all between stanzas. The scan finds
 * where each top-level element ends (tags, quoted attribute values,
 * self-closing tags, CDATA, comments and processing instructions), and
 * the accessors below read the few things a client needs from one
 * complete element: its name, an attribute, a child, its text.
 *
 * It trusts the server to send well-formed XML and does not decode
 * entities: the values it reads (ids, JIDs of bench accounts, base64,
 * numbers) never need it. Prefixes are ignored: <stream:features> is
 * "features". */
#ifndef XMPPLOAD_SCAN_H
#define XMPPLOAD_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "../../lib/buf.h"

struct scan {
	struct buf pending; /* a partial element; freed when empty */
	bool open;          /* the stream header was seen */
};

enum scan_event {
	SCAN_OPEN,    /* the stream header: bytes of its start tag */
	SCAN_ELEMENT, /* one complete top-level element */
	SCAN_CLOSE,   /* </stream:stream> */
	SCAN_ERROR,   /* not XML as a stream carries it */
};

/* Returns non-zero to stop: the rest of the bytes are dropped. */
typedef int (*scan_fn)(void *ctx, enum scan_event ev, const char *el,
		       size_t len);

/* Returns 0, or -1 when out of memory. */
int scan_feed(struct scan *s, const char *data, size_t len, scan_fn fn,
	      void *ctx);
/* A new stream starts (after STARTTLS or SASL success). */
void scan_reset(struct scan *s);

/* ---- reading one complete element ------------------------------------ */

/* A piece of the bytes: not NUL-terminated. */
struct span {
	const char *p;
	size_t len;
};

/* The local name of the element that starts at el. */
struct span scan_name(struct span el);
bool scan_is(struct span el, const char *name);
/* The value of attribute name (exact, e.g. "type", "xml:lang") on el's
 * start tag; false when absent. */
bool scan_attr(struct span el, const char *name, struct span *value);
/* Whether attribute name is there with exactly this value. */
bool scan_attr_is(struct span el, const char *name, const char *value);
/* The first element below el (any depth) with this local name. */
bool scan_find(struct span el, const char *name, struct span *found);
/* The children of el in order: *cursor starts as {NULL, 0}. */
bool scan_next_child(struct span el, struct span *cursor);
/* The text right inside el, up to its first child or its end. */
struct span scan_text(struct span el);
/* Copies s into out (size bytes, NUL-terminated, cut if too long). */
void span_copy(struct span s, char *out, size_t size);
bool span_eq(struct span s, const char *str);

#endif
