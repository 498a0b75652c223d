/* xmlstream: an XMPP stream parser on expat, with limits.
 *
 * It reports the stream header, each top-level element (stanza or
 * stream-level element such as <starttls/>) as a tree, and the stream's
 * end. It refuses what RFC 6120 §11.1 forbids (DOCTYPE, entity
 * declarations, processing instructions, comments) with restricted-xml,
 * and enforces a maximum size per top-level element and a maximum
 * nesting depth. */
#ifndef PALABRE_XMLSTREAM_H
#define PALABRE_XMLSTREAM_H

#include <stddef.h>

#include "arena.h"
#include "xml.h"

enum xmlstream_error {
	XMLSTREAM_NOT_WELL_FORMED,   /* stream error not-well-formed */
	XMLSTREAM_RESTRICTED_XML,    /* stream error restricted-xml */
	XMLSTREAM_TOO_BIG,           /* stanza over max size: policy-violation */
	XMLSTREAM_TOO_DEEP,          /* nesting over max depth: policy-violation */
	XMLSTREAM_BAD_FORMAT,        /* root is not <stream:stream>: invalid-namespace or bad-format */
	XMLSTREAM_NO_MEMORY,         /* resource-constraint */
};

struct xmlstream_limits {
	size_t max_stanza_size; /* bytes of one top-level element, as received */
	unsigned max_depth;     /* element nesting below the stream root */
};

struct xmlstream_callbacks {
	/* The stream header; root holds its attributes (to, from, version,
	 * xml:lang …) and no children. Only valid during the call. */
	void (*on_open)(void *ctx, const struct xml_node *root);
	/* A complete top-level element; it lives in arena, which the
	 * parser resets after the callback returns. Return 0 to go on
	 * parsing, non-zero to stop: the rest of the bytes passed to the
	 * current xmlstream_feed are ignored (e.g. after <starttls/>). */
	int (*on_stanza)(void *ctx, struct xml_node *stanza, struct arena *arena);
	/* </stream:stream> */
	void (*on_close)(void *ctx);
	/* A fatal error; no callback follows. */
	void (*on_error)(void *ctx, enum xmlstream_error error, const char *text);
};

struct xmlstream;

/* NULL when out of memory. */
struct xmlstream *xmlstream_new(const struct xmlstream_limits *limits,
				const struct xmlstream_callbacks *callbacks,
				void *ctx);
/* Returns 0, or -1 after on_error was called (or when parsing had already
 * failed). Callbacks never free the xmlstream themselves. */
int xmlstream_feed(struct xmlstream *s, const char *data, size_t len);
/* Starts over for a new stream (after STARTTLS or SASL success). */
int xmlstream_reset(struct xmlstream *s);
void xmlstream_free(struct xmlstream *s);

#endif
