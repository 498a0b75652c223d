/* xmlstream: an XMPP stream parser on expat, with limits. */
#include "xmlstream.h"
#include "have.h"
#include "xmlscan.h"

#include <expat.h>
#include <limits.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

/* Input is scanned in slices, so that an element over the size limit is
 * cut off within one slice of it, however large the caller's buffer. */
#define FEED_SLICE 4096
/* The smallest buffer for held bytes (see "held bytes"). */
#define HELD_MIN 256
/* Past this much expat memory (its name tables grow with every new
 * element or attribute name), an idle stream gets a fresh parser. */
#define EXPAT_BYTES_MAX (32 * 1024)
/* Expat's blocks come from one mapping per parser (see "expat memory"):
 * freed at once, a parser leaves no holes in the heap. */
#define REGION_SIZE EXPAT_BYTES_MAX
#define REGION_ALIGN 16

enum state { S_HEADER, S_OPEN, S_STOPPED, S_CLOSED, S_FAILED };

/* The start of a token still arriving, not given to expat yet. */
struct held {
	size_t len, cap;
	char bytes[];
};

struct xmlstream {
	XML_Parser parser; /* NULL until needed, and while released */
	struct xmlstream_callbacks cb;
	void *ctx;
	struct xmlstream_limits limits;
	struct arena arena;         /* the stanza being received */
	struct xml_builder builder; /* builds it */
	uint64_t fed;               /* bytes given to the current parser */
	uint64_t mark; /* where the unit being received (stanza …) began */
	size_t expat_bytes;
	char *region;       /* REGION_SIZE bytes mapped, or NULL */
	size_t region_used; /* bump pointer into region */
	char *header; /* the root's start tag, replayed into a new parser */
	size_t header_len;
	const char *root_xmlns; /* default namespace declared on the root */
	const char *error_text;
	struct held *held;   /* NULL while nothing is held */
	unsigned depth;      /* open elements, the root included */
	struct xmlscan scan; /* of the bytes received, ahead of expat */
	unsigned char state;
	unsigned char error;
	bool in_feed, reset_pending, replaying;
};

/* ---- expat memory, counted per stream ---------------------------------- */

/* Expat's allocator hooks take no context: the stream whose parser is
 * being called is noted here around every call into expat.
 *
 * An expat parser makes about 25 blocks (8 KiB fresh, 10-11 KiB in the
 * middle of a stream) and keeps most of them for its life. From malloc,
 * those blocks end up between the long-lived blocks (OpenSSL's) of the
 * connections accepted meanwhile, and when an idle stream frees its parser
 * they become holes of a few hundred bytes to a few KiB that malloc cannot
 * give back: the idle sweep then saved no resident memory at all. So the
 * blocks of a parser are carved out of one private mapping (a bump
 * allocator: a block freed is reused only when it is the last one), which
 * xmlstream_shrink unmaps as a whole; a reset keeps it for the next
 * stream's parser. What does not fit, or when the mapping cannot be made,
 * comes from malloc. Both are counted in expat_bytes, the waste of freed
 * blocks included, so EXPAT_BYTES_MAX still bounds a stream. */
static _Thread_local struct xmlstream *accounted;

struct region_block {
	size_t size; /* usable bytes after this header */
	size_t pad;
};

static void account(size_t added, size_t removed)
{
	struct xmlstream *s = accounted;
	if (!s)
		return;
	s->expat_bytes += added;
	s->expat_bytes -= removed < s->expat_bytes ? removed : s->expat_bytes;
}

static struct region_block *region_block_of(void *p)
{
	struct xmlstream *s = accounted;
	if (!s || !s->region || (char *)p < s->region ||
	    (char *)p >= s->region + REGION_SIZE)
		return NULL;
	return (struct region_block *)p - 1;
}

static bool region_is_last(const struct xmlstream *s,
			   const struct region_block *b)
{
	return (char *)(b + 1) + b->size == s->region + s->region_used;
}

static void *region_alloc(size_t size)
{
	struct xmlstream *s = accounted;
	if (!s || !s->region || size > REGION_SIZE)
		return NULL;
	size_t rounded =
		(size + REGION_ALIGN - 1) & ~(size_t)(REGION_ALIGN - 1);
	size_t need = sizeof(struct region_block) + rounded;
	if (REGION_SIZE - s->region_used < need)
		return NULL;
	struct region_block *b =
		(struct region_block *)(s->region + s->region_used);
	b->size = rounded;
	s->region_used += need;
	account(need, 0);
	return b + 1;
}

static void *expat_malloc(size_t size)
{
	void *p = region_alloc(size);
	if (p)
		return p;
	p = malloc(size);
	if (p)
		account(malloc_usable_size(p), 0);
	return p;
}

static void *expat_realloc(void *p, size_t size)
{
	struct region_block *b = p ? region_block_of(p) : NULL;
	if (b) {
		struct xmlstream *s = accounted;
		if (size <= b->size)
			return p;
		if (region_is_last(s, b)) {
			size_t rounded = (size + REGION_ALIGN - 1) &
					 ~(size_t)(REGION_ALIGN - 1);
			size_t end =
				(size_t)((char *)(b + 1) - s->region) + rounded;
			if (end <= REGION_SIZE) {
				account(rounded - b->size, 0);
				s->region_used = end;
				b->size = rounded;
				return p;
			}
		}
		void *q = expat_malloc(size);
		if (q)
			memcpy(q, p, b->size); /* size > b->size */
		return q; /* the old block stays until the parser goes */
	}
	size_t old = p ? malloc_usable_size(p) : 0;
	void *q = realloc(p, size);
	if (q)
		account(malloc_usable_size(q), old);
	return q;
}

static void expat_free(void *p)
{
	if (!p)
		return;
	struct region_block *b = region_block_of(p);
	if (b) {
		struct xmlstream *s = accounted;
		if (region_is_last(s, b)) {
			size_t freed = sizeof *b + b->size;
			s->region_used -= freed;
			account(0, freed);
		}
		return;
	}
	account(0, malloc_usable_size(p));
	free(p);
}

static void region_unmap(struct xmlstream *s)
{
	if (s->region)
		munmap(s->region, REGION_SIZE);
	s->region = NULL;
	s->region_used = 0;
}

static const XML_Memory_Handling_Suite expat_memory = {
	expat_malloc, expat_realloc, expat_free};

/* ---- held bytes --------------------------------------------------------- */

/* Expat would scan an incomplete token again from its start on every
 * call: one pre-auth attribute sent a byte per TCP segment cost 20 µs of
 * CPU per byte at 16 KiB. So the bytes of a token still arriving wait
 * here (xmlscan.h tells which), and expat gets each token once, in full,
 * as soon as it is complete. The buffer is bounded by the stanza size
 * limit (checked on every slice) and freed once empty: an idle stream
 * holds nothing. */
static size_t held_len(const struct xmlstream *s)
{
	return s->held ? s->held->len : 0;
}

static int hold(struct xmlstream *s, const char *data, size_t len)
{
	size_t have = held_len(s), cap = s->held ? s->held->cap : 0;
	if (len == 0)
		return 0;
	if (cap - have < len) {
		size_t grown = 2 * cap > have + len ? 2 * cap : have + len;
		grown = grown > HELD_MIN ? grown : HELD_MIN;
		struct held *h = realloc(s->held, sizeof *h + grown);
		if (!h)
			return -1;
		h->len = have;
		h->cap = grown;
		s->held = h;
	}
	memcpy(s->held->bytes + have, data, len);
	s->held->len += len;
	return 0;
}

static void held_drop(struct xmlstream *s)
{
	free(s->held);
	s->held = NULL;
}

/* ---- errors ------------------------------------------------------------ */

static void fail(struct xmlstream *s, enum xmlstream_error error,
		 const char *text)
{
	if (s->state == S_FAILED)
		return;
	s->state = S_FAILED;
	s->error = (unsigned char)error;
	s->error_text = text;
	if (s->parser)
		XML_StopParser(s->parser, XML_FALSE);
}

static void report_error(struct xmlstream *s)
{
	char text[200];
	const char *what = s->error_text;
	if (s->error == XMLSTREAM_NOT_WELL_FORMED && s->parser) {
		snprintf(text, sizeof text, "%s, at line %lu column %lu", what,
			 (unsigned long)XML_GetCurrentLineNumber(s->parser),
			 (unsigned long)XML_GetCurrentColumnNumber(s->parser));
		what = text;
	}
	if (s->cb.on_error)
		s->cb.on_error(s->ctx, (enum xmlstream_error)s->error, what);
}

static void expat_failed(struct xmlstream *s)
{
	enum XML_Error code = XML_GetErrorCode(s->parser);
	if (code == XML_ERROR_NO_MEMORY)
		fail(s, XMLSTREAM_NO_MEMORY,
		     "out of memory parsing the stream");
	else if (code == XML_ERROR_UNDEFINED_ENTITY)
		/* RFC 6120 §11.1: no entity references but the predefined */
		fail(s, XMLSTREAM_RESTRICTED_XML, "entity reference");
	else
		fail(s, XMLSTREAM_NOT_WELL_FORMED, XML_ErrorString(code));
}

static bool over_size(const struct xmlstream *s, uint64_t end)
{
	return s->limits.max_stanza_size &&
	       end - s->mark > s->limits.max_stanza_size;
}

static uint64_t event_end(XML_Parser p)
{
	return (uint64_t)XML_GetCurrentByteIndex(p) +
	       (uint64_t)XML_GetCurrentByteCount(p);
}

/* ---- expat handlers ---------------------------------------------------- */

static bool running(const struct xmlstream *s)
{
	/* Expat may still call a handler or two after XML_StopParser. */
	return s->state <= S_OPEN;
}

/* The encoding an XML declaration names (XML 1.0 §4.3.3), as a pointer to
 * its first byte and its length; NULL when it names none. */
static const char *declared_encoding(const char *decl, size_t len,
				     size_t *name_len)
{
	static const char key[] = "encoding";
	const char *end = decl + len;
	const char *p = memmem(decl, len, key, sizeof key - 1);
	if (!p)
		return NULL;
	for (p += sizeof key - 1; p < end && strchr(" \t\r\n=", *p); p++)
		;
	if (p == end || (*p != '\'' && *p != '"'))
		return NULL;
	const char *close = memchr(p + 1, *p, (size_t)(end - p - 1));
	*name_len = close ? (size_t)(close - p - 1) : 0;
	return close ? p + 1 : NULL;
}

/* The XML declaration, which expat passes on here unparsed when there is
 * no handler for it (one would cost the parser a 1 KiB pool for good).
 * RFC 6120 §11.6: UTF-8 only (§4.9.3.22); expat, told the encoding, would
 * ignore the declaration. */
static void XMLCALL on_prolog(void *ud, const char *text, int len)
{
	size_t n;
	const char *name;
	if (len < 5 || memcmp(text, "<?xml", 5) != 0 ||
	    !(name = declared_encoding(text, (size_t)len, &n)))
		return;
	if (n != 5 || strncasecmp(name, "UTF-8", 5) != 0)
		fail(ud, XMLSTREAM_UNSUPPORTED_ENCODING,
		     "the stream must be in UTF-8");
}

static void XMLCALL on_namespace(void *ud, const char *prefix, const char *uri)
{
	struct xmlstream *s = ud;
	if (running(s) && s->depth == 0 && !s->replaying && !prefix && uri &&
	    !(s->root_xmlns = arena_strdup(&s->arena, uri)))
		fail(s, XMLSTREAM_NO_MEMORY, "out of memory");
}

static void open_root(struct xmlstream *s, const char *name, const char **atts)
{
	XML_Parser p = s->parser;
	/* Counted like a stanza, whether it came in one read or in many. */
	if (over_size(s, event_end(p)))
		return fail(s, XMLSTREAM_TOO_BIG, "stream header too big");
	struct xml_builder b = {.arena = &s->arena};
	struct xml_node *root = xml_builder_start(&b, name, atts);
	struct xml_attr *xmlns = arena_alloc(&s->arena, sizeof *xmlns);
	int offset, size, count = XML_GetCurrentByteCount(p);
	const char *context = XML_GetInputContext(p, &offset, &size);
	if (!root || !xmlns)
		return fail(s, XMLSTREAM_NO_MEMORY, "out of memory");
	if (s->root_xmlns) { /* so that the caller can check it (§4.8.2) */
		xmlns->ns = "";
		xmlns->name = "xmlns";
		xmlns->value = s->root_xmlns;
		xmlns->next = root->attrs;
		root->attrs = xmlns;
	}
	free(s->header);
	s->header = NULL;
	if (context && offset + count <= size &&
	    (s->header = malloc((size_t)count))) {
		memcpy(s->header, context + offset, (size_t)count);
		s->header_len = (size_t)count;
	}
	XML_SetStartNamespaceDeclHandler(p, NULL);
	XML_SetDefaultHandlerExpand(p, NULL);
	s->depth = 1;
	s->state = S_OPEN;
	s->mark = event_end(p);
	if (s->cb.on_open)
		s->cb.on_open(s->ctx, root);
	bool is_stream = xml_is(root, XML_NS_STREAM, "stream");
	arena_reset(&s->arena);
	s->root_xmlns = NULL;
	if (!is_stream)
		fail(s, XMLSTREAM_BAD_FORMAT,
		     "the root element is not <stream> in " XML_NS_STREAM);
}

static void XMLCALL on_start(void *ud, const char *name, const char **atts)
{
	struct xmlstream *s = ud;
	if (!running(s))
		return;
	if (s->replaying) { /* the header again, into a new parser */
		s->depth = 1;
		return;
	}
	if (s->depth == 0)
		return open_root(s, name, atts);
	if (s->depth == 1) {
		s->mark = (uint64_t)XML_GetCurrentByteIndex(s->parser);
		s->builder.cur = NULL;
	}
	if (s->limits.max_depth && s->depth > s->limits.max_depth)
		return fail(s, XMLSTREAM_TOO_DEEP, "elements nested too deep");
	if (over_size(s, event_end(s->parser)))
		return fail(s, XMLSTREAM_TOO_BIG, "stanza too big");
	if (!xml_builder_start(&s->builder, name, atts))
		return fail(s, XMLSTREAM_NO_MEMORY, "out of memory");
	s->depth++;
}

static void stanza_done(struct xmlstream *s)
{
	struct xml_node *stanza = xml_builder_end(&s->builder);
	uint64_t end = event_end(s->parser);
	if (over_size(s, end))
		return fail(s, XMLSTREAM_TOO_BIG, "stanza too big");
	s->mark = end;
	int stop = s->cb.on_stanza ? s->cb.on_stanza(s->ctx, stanza, &s->arena)
				   : 0;
	arena_reset(&s->arena);
	s->builder.cur = NULL;
	if (stop && running(s)) {
		s->state = S_STOPPED;
		XML_StopParser(s->parser, XML_FALSE);
	}
}

static void XMLCALL on_end(void *ud, const char *name)
{
	struct xmlstream *s = ud;
	if (!running(s))
		return;
	s->depth--;
	if (s->depth == 0) {
		/* Whatever follows </stream:stream> is ignored. */
		s->state = S_CLOSED;
		XML_StopParser(s->parser, XML_FALSE);
		if (s->cb.on_close)
			s->cb.on_close(s->ctx);
	} else if (s->depth == 1) {
		stanza_done(s);
	} else {
		xml_builder_end(&s->builder);
	}
}

static void XMLCALL on_text(void *ud, const char *text, int len)
{
	struct xmlstream *s = ud;
	if (!running(s) || s->depth == 0)
		return;
	if (s->depth == 1) {
		/* RFC 6120 §11.7: only whitespace between stanzas */
		for (int i = 0; i < len; i++)
			if (!strchr(" \t\r\n", text[i]))
				return fail(s, XMLSTREAM_BAD_FORMAT,
					    "text between stanzas");
		s->mark = event_end(s->parser);
		return;
	}
	if (over_size(s, event_end(s->parser)))
		return fail(s, XMLSTREAM_TOO_BIG, "stanza too big");
	if (xml_builder_text(&s->builder, text, (size_t)len) < 0)
		fail(s, XMLSTREAM_NO_MEMORY, "out of memory");
}

/* RFC 6120 §11.1: restricted XML. */
static void XMLCALL refuse_doctype(void *ud, const char *name,
				   const char *sysid, const char *pubid,
				   int has_internal_subset)
{
	fail(ud, XMLSTREAM_RESTRICTED_XML, "document type declaration");
}

static void XMLCALL refuse_entity(void *ud, const char *name, int pe,
				  const char *value, int len, const char *base,
				  const char *sysid, const char *pubid,
				  const char *notation)
{
	fail(ud, XMLSTREAM_RESTRICTED_XML, "entity declaration");
}

static void XMLCALL refuse_pi(void *ud, const char *target, const char *data)
{
	fail(ud, XMLSTREAM_RESTRICTED_XML, "processing instruction");
}

static void XMLCALL refuse_comment(void *ud, const char *data)
{
	fail(ud, XMLSTREAM_RESTRICTED_XML, "comment");
}

/* ---- the parser's life ------------------------------------------------- */

static void parser_close(struct xmlstream *s)
{
	if (!s->parser)
		return;
	XML_ParserFree(s->parser);
	s->parser = NULL;
	s->expat_bytes = 0;
	s->region_used = 0; /* every block of the region was the parser's */
}

/* A parser for the stream as it stands: fresh before the header, primed
 * with the header's bytes once the stream is open. */
static int parser_open(struct xmlstream *s)
{
	static const char separator[] = {XML_NS_SEP, '\0'};
	if (!s->region) {
		void *r = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		s->region = r == MAP_FAILED ? NULL : r; /* NULL: malloc only */
		s->region_used = 0;
	}
	XML_Parser p = XML_ParserCreate_MM("UTF-8", &expat_memory, separator);
	if (!p)
		return -1;
	s->parser = p;
#ifdef HAVE_XML_SETREPARSEDEFERRALENABLED
	/* Expat gets complete tokens (see "held bytes"): waiting for more
	 * bytes before it parses them would stall the stream. */
	XML_SetReparseDeferralEnabled(p, XML_FALSE);
#endif
	XML_SetUserData(p, s);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetCharacterDataHandler(p, on_text);
	XML_SetStartDoctypeDeclHandler(p, refuse_doctype);
	XML_SetEntityDeclHandler(p, refuse_entity);
	XML_SetProcessingInstructionHandler(p, refuse_pi);
	XML_SetCommentHandler(p, refuse_comment);
	s->fed = s->mark = 0;
	if (s->state == S_HEADER) {
		XML_SetStartNamespaceDeclHandler(p, on_namespace);
		XML_SetDefaultHandlerExpand(p, on_prolog);
		return 0;
	}
	s->replaying = true;
	enum XML_Status st = XML_Parse(p, s->header, (int)s->header_len, 0);
	s->replaying = false;
	if (st != XML_STATUS_OK || s->depth != 1) {
		parser_close(s);
		return -1;
	}
	s->fed = s->mark = s->header_len;
	return 0;
}

struct xmlstream *xmlstream_new(const struct xmlstream_limits *limits,
				const struct xmlstream_callbacks *callbacks,
				void *ctx)
{
	struct xmlstream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->limits = *limits;
	s->cb = *callbacks;
	s->ctx = ctx;
	s->builder.arena = &s->arena;
	return s;
}

static void start_over(struct xmlstream *s)
{
	parser_close(s);
	arena_reset(&s->arena);
	free(s->header);
	s->header = NULL;
	s->header_len = 0;
	s->root_xmlns = NULL;
	s->builder.cur = NULL;
	held_drop(s);
	s->scan = (struct xmlscan){0};
	s->depth = 0;
	s->state = S_HEADER;
	s->reset_pending = false;
}

int xmlstream_reset(struct xmlstream *s)
{
	struct xmlstream *outer = accounted;
	accounted = s;
	if (s->in_feed) {
		/* From a callback: stop here, start over once out of expat. */
		s->reset_pending = true;
		if (running(s)) {
			s->state = S_STOPPED;
			XML_StopParser(s->parser, XML_FALSE);
		}
	} else {
		start_over(s);
	}
	accounted = outer;
	return 0;
}

int xmlstream_shrink(struct xmlstream *s)
{
	/* In a CDATA section between stanzas (whitespace, reported), a new
	 * parser would read its end as content, while the scanner went on
	 * feeding every byte as it comes, long tokens included. */
	if (s->in_feed || s->state != S_OPEN || s->depth != 1 ||
	    s->fed != s->mark || !s->header || xmlscan_in_cdata(&s->scan))
		return -1;
	struct xmlstream *outer = accounted;
	accounted = s;
	parser_close(s);
	region_unmap(s);
	accounted = outer;
	return 0;
}

size_t xmlstream_memory(const struct xmlstream *s)
{
	return malloc_usable_size((void *)s) + s->expat_bytes +
	       (s->header ? malloc_usable_size(s->header) : 0) +
	       (s->held ? malloc_usable_size(s->held) : 0);
}

static void parse(struct xmlstream *s, const char *data, size_t len)
{
	while (len > 0 && running(s)) {
		int n = len < INT_MAX ? (int)len : INT_MAX;
		if (XML_Parse(s->parser, data, n, 0) == XML_STATUS_ERROR) {
			if (running(s))
				expat_failed(s);
			return;
		}
		s->fed += (unsigned)n;
		data += n;
		len -= (unsigned)n;
	}
}

/* RFC 6120 §11.6: UTF-8 only. Expat would switch to UTF-16 (or UTF-32) on
 * a byte order mark, or on a zero byte beside the first '<': bytes that
 * cannot begin a UTF-8 document. */
static bool encoding_refused(const struct xmlstream *s, const char *data,
			     size_t len)
{
	size_t at = s->fed + held_len(s); /* bytes of the stream before data */
	for (size_t i = 0; s->state == S_HEADER && at + i < 2 && i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == 0 || (at + i == 0 && (c == 0xFE || c == 0xFF)))
			return true;
	}
	return false;
}

/* One slice: expat gets the held bytes and this slice up to where a token
 * still arriving begins, in one call, so that it never sees the held
 * token incomplete (expat 2.6 would defer it); that new token is held. */
static void feed_slice(struct xmlstream *s, const char *data, size_t len)
{
	size_t ready = xmlscan_feed(&s->scan, data, len);
	if (ready > 0 && s->held) {
		if (hold(s, data, ready) < 0)
			return fail(s, XMLSTREAM_NO_MEMORY, "out of memory");
		parse(s, s->held->bytes, s->held->len);
		held_drop(s);
	} else {
		parse(s, data, ready);
	}
	if (running(s) && hold(s, data + ready, len - ready) < 0)
		fail(s, XMLSTREAM_NO_MEMORY, "out of memory");
	/* An element still arriving: a token held, or text expat holds. */
	if (running(s) && over_size(s, s->fed + held_len(s)))
		fail(s, XMLSTREAM_TOO_BIG, "stanza too big");
}

static void feed_slices(struct xmlstream *s, const char *data, size_t len)
{
	if (!s->parser && parser_open(s) < 0)
		return fail(s, XMLSTREAM_NO_MEMORY, "out of memory");
	if (encoding_refused(s, data, len))
		return fail(s, XMLSTREAM_UNSUPPORTED_ENCODING,
			    "the stream must be in UTF-8");
	while (len > 0 && running(s)) {
		size_t n = len < FEED_SLICE ? len : FEED_SLICE;
		feed_slice(s, data, n);
		data += n;
		len -= n;
	}
}

int xmlstream_feed(struct xmlstream *s, const char *data, size_t len)
{
	if (s->in_feed || s->state == S_STOPPED || s->state == S_FAILED)
		return -1;
	if (s->state == S_CLOSED)
		return 0;
	struct xmlstream *outer = accounted;
	accounted = s;
	s->in_feed = true;
	feed_slices(s, data, len);
	s->in_feed = false;
	int r = 0;
	if (s->state == S_FAILED) {
		report_error(s);
		r = -1;
	} else if (s->reset_pending) {
		start_over(s);
	} else if (s->expat_bytes > EXPAT_BYTES_MAX) {
		xmlstream_shrink(s);
	}
	accounted = outer;
	return r;
}

void xmlstream_free(struct xmlstream *s)
{
	if (!s)
		return;
	struct xmlstream *outer = accounted;
	accounted = s;
	start_over(s);
	region_unmap(s);
	accounted = outer;
	free(s);
}

const char *xmlstream_error_condition(enum xmlstream_error error)
{
	switch (error) {
	case XMLSTREAM_NOT_WELL_FORMED:
		return "not-well-formed";
	case XMLSTREAM_RESTRICTED_XML:
		return "restricted-xml";
	case XMLSTREAM_TOO_BIG:
	case XMLSTREAM_TOO_DEEP:
		return "policy-violation";
	case XMLSTREAM_BAD_FORMAT:
		return "bad-format";
	case XMLSTREAM_UNSUPPORTED_ENCODING:
		return "unsupported-encoding";
	case XMLSTREAM_NO_MEMORY:
	default:
		return "resource-constraint";
	}
}

static unsigned long version_major(const char *v)
{
	char *end;
	if (!v || *v < '0' || *v > '9')
		return 0;
	unsigned long major = strtoul(v, &end, 10);
	return *end == '.' ? major : 0;
}

static const char *content_ns_text(const char *content_ns)
{
	if (strcmp(content_ns, XML_NS_CLIENT) == 0)
		return "the default namespace is not " XML_NS_CLIENT;
	if (strcmp(content_ns, XML_NS_SERVER) == 0)
		return "the default namespace is not " XML_NS_SERVER;
	return "the default namespace is not " XML_NS_COMPONENT;
}

const char *xmlstream_check_root(const struct xml_node *root,
				 const char *content_ns, const char **text)
{
	/* §4.8.1: the stream namespace. */
	if (!root->ns || strcmp(root->ns, XML_NS_STREAM) != 0) {
		*text = "the stream namespace is not " XML_NS_STREAM;
		return "invalid-namespace";
	}
	if (strcmp(root->name, "stream") != 0) {
		*text = "the root element is not <stream>";
		return "bad-format";
	}
	/* §4.8.2: the content namespace (reported as "xmlns"). */
	const char *ns = xml_attr_get(root, "xmlns");
	if (!ns || strcmp(ns, content_ns) != 0) {
		*text = content_ns_text(content_ns);
		return "invalid-namespace";
	}
	return NULL;
}

const char *xmlstream_check_header(const struct xml_node *root,
				   const char *content_ns, const char **text)
{
	const char *condition = xmlstream_check_root(root, content_ns, text);
	if (condition)
		return condition;
	/* §4.7.5: no version means a pre-1.0 entity; we speak 1.0 only. */
	if (version_major(xml_attr_get(root, "version")) < 1) {
		*text = "version 1.0 is required";
		return "unsupported-version";
	}
	return NULL;
}

int xmlstream_append_error(struct buf *b, const char *condition,
			   const char *text)
{
	static const char ns[] = "urn:ietf:params:xml:ns:xmpp-streams";
	int r = buf_printf(b, "<stream:error><%s xmlns='%s'/>", condition, ns);
	if (text) {
		r |= buf_printf(b, "<text xmlns='%s' xml:lang='en'>", ns);
		r |= buf_append_xml_escaped(b, text, strlen(text));
		r |= buf_append_str(b, "</text>");
	}
	return r | buf_append_str(b, "</stream:error></stream:stream>");
}
