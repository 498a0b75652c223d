/* xmlstream: an XMPP stream parser on expat, with limits.
 *
 * It reports the stream header, each top-level element (stanza or
 * stream-level element such as <starttls/>) as a tree, and the stream's
 * end. It refuses what RFC 6120 §11.1 forbids (DOCTYPE, entity
 * declarations, processing instructions, comments) with restricted-xml,
 * and enforces a maximum size per top-level element and a maximum
 * nesting depth.
 *
 * The stream header: on_open is called with the root element whatever its
 * name and namespace, so that the caller can answer with its own header
 * first (RFC 6120 §4.9.1.3) and tell invalid-namespace (root->ns is not
 * XML_NS_STREAM) from bad-format; when the root is not <stream> in
 * XML_NS_STREAM, on_error(XMLSTREAM_BAD_FORMAT) follows at once. The root
 * carries the default namespace it declares as a pseudo-attribute
 * "xmlns" (xml_attr_get(root, "xmlns") == "jabber:client"), for the
 * content namespace check (§4.8.2), and xml:lang as
 * xml_attr_get(root, "xml:lang").
 *
 * Text other than whitespace between stanzas is XMLSTREAM_BAD_FORMAT;
 * whitespace (keepalives, §4.6.1) is fine. An entity reference other than
 * the five predefined ones is XMLSTREAM_RESTRICTED_XML. A stream in
 * another encoding than UTF-8 (a UTF-16 byte order mark, an XML
 * declaration naming another) is XMLSTREAM_UNSUPPORTED_ENCODING (§11.6).
 *
 * Every element is reported as soon as its last byte is fed, whatever its
 * size, and a token fed a byte at a time costs linear time (xmlscan.h).
 *
 * Callbacks may call nothing on the xmlstream but xmlstream_reset (which
 * then takes effect when the current xmlstream_feed returns, and drops
 * the rest of its bytes); they act through their return values. */
#ifndef PALABRE_XMLSTREAM_H
#define PALABRE_XMLSTREAM_H

#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "xml.h"

enum xmlstream_error {
	XMLSTREAM_NOT_WELL_FORMED, /* stream error not-well-formed */
	XMLSTREAM_RESTRICTED_XML,  /* stream error restricted-xml */
	XMLSTREAM_TOO_BIG,         /* stanza over max size: policy-violation */
	XMLSTREAM_TOO_DEEP, /* nesting over max depth: policy-violation */
	XMLSTREAM_BAD_FORMAT, /* root is not <stream:stream>: invalid-namespace or bad-format */
	XMLSTREAM_NO_MEMORY,            /* resource-constraint */
	XMLSTREAM_UNSUPPORTED_ENCODING, /* not UTF-8: unsupported-encoding */
};

struct xmlstream_limits {
	size_t max_stanza_size; /* bytes of one top-level element, as received;
				   0: no limit */
	unsigned max_depth;     /* element nesting below the stream root (a
				   stanza is depth 1); 0: no limit */
};

struct xmlstream_callbacks {
	/* The stream header; root holds its attributes (to, from, version,
	 * xml:lang …) and no children. Only valid during the call. */
	void (*on_open)(void *ctx, const struct xml_node *root);
	/* A complete top-level element; it lives in arena, which the
	 * parser resets after the callback returns. Return 0 to go on
	 * parsing, non-zero to stop: the rest of the bytes passed to the
	 * current xmlstream_feed are ignored (e.g. after <starttls/>). */
	int (*on_stanza)(void *ctx, struct xml_node *stanza,
			 struct arena *arena);
	/* </stream:stream> */
	void (*on_close)(void *ctx);
	/* A fatal error; no callback follows. */
	void (*on_error)(void *ctx, enum xmlstream_error error,
			 const char *text);
};

struct xmlstream;

/* NULL when out of memory. */
struct xmlstream *xmlstream_new(const struct xmlstream_limits *limits,
				const struct xmlstream_callbacks *callbacks,
				void *ctx);
/* Returns 0, or -1 after on_error was called (or when parsing had already
 * failed, or was stopped by on_stanza: feed again only after
 * xmlstream_reset). Bytes after </stream:stream> are ignored (returns 0).
 * Callbacks never free the xmlstream themselves. */
int xmlstream_feed(struct xmlstream *s, const char *data, size_t len);
/* Starts over for a new stream (after STARTTLS or SASL success). */
int xmlstream_reset(struct xmlstream *s);
void xmlstream_free(struct xmlstream *s);

/* Frees the expat parser of an idle stream: one open, between stanzas,
 * with no partial element pending. The next feed makes a new parser and
 * primes it with the stream header's bytes, kept for this. Call it when a
 * connection goes quiet: an expat parser in the middle of a stream holds
 * about 10 KiB. Returns 0, or -1 when the stream is not idle (nothing
 * done). The stream also does this by itself when expat holds more than
 * 32 KiB (its name tables grow with every new name) at the end of a feed. */
int xmlstream_shrink(struct xmlstream *s);
/* The stream error condition (RFC 6120 §4.9.3) that answers error. */
const char *xmlstream_error_condition(enum xmlstream_error error);

/* Appends <stream:error> with condition (and text, when not NULL) and
 * the end of the stream, </stream:stream> (RFC 6120 §4.9). */
int xmlstream_append_error(struct buf *b, const char *condition,
			   const char *text);

/* Checks a stream header (on_open's root) against RFC 6120 §4.8 and
 * §4.7.5: the stream namespace, <stream>, content_ns as the default
 * namespace, version 1.0 or later. Returns NULL when it is fine, else the
 * stream error condition, with an explanation in *text. */
const char *xmlstream_check_header(const struct xml_node *root,
				   const char *content_ns, const char **text);
/* The same without the version: XEP-0114 streams have none (they
 * predate RFC 6120). content_ns is jabber:client, jabber:server or
 * jabber:component:accept. */
const char *xmlstream_check_root(const struct xml_node *root,
				 const char *content_ns, const char **text);

/* Heap bytes held by s (the struct, expat, the saved header), for stats. */
size_t xmlstream_memory(const struct xmlstream *s);

#endif
