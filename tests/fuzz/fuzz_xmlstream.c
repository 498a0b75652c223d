/* fuzz_xmlstream: an XMPP stream (lib/xmlstream.c), fed in pieces.
 *
 * Input: one byte that seeds the cutting (its top bit: a stanza limit of
 * 1 KiB rather than c2s's 256 KiB), then the stream's bytes. The
 * stream is parsed twice: whole, in one xmlstream_feed, and cut into
 * pieces of 1 to 4096 bytes drawn from the seed, with xmlstream_shrink
 * tried between some of them (as c2s does on a quiet connection). Both
 * must tell the same story (header, stanzas, end, error; when both end
 * in an error, its condition may differ: which fault is seen first can
 * depend on where the bytes are cut, as the size limit counts bytes as
 * they arrive, and text is reported before a bad byte after it, when
 * they come apart). Then twice as
 * much whitespace (keepalives, RFC 6120 §4.6.1) must complete nothing: a
 * stanza that appears only then was sent in full but left unparsed
 * (issue 11 item 5). Every stanza
 * serialized (as c2s hands it to the sm) must parse again with xml_parse
 * (as the sm reads it) into the same tree, which serializes to the same
 * bytes. */
#include <stdbool.h>
#include <string.h>

#include "../../lib/xml.h"
#include "../../lib/xmlstream.h"
#include "fuzz.h"

/* What one parse saw, as text, to compare the two. */
struct story {
	struct buf log;
	struct buf stanza;
	char *default_ns; /* the root's xmlns, "" if none */
	struct arena arena;
};

static void story_open(void *ctx, const struct xml_node *root)
{
	struct story *s = ctx;
	const char *ns = xml_attr_get(root, "xmlns");
	free(s->default_ns);
	s->default_ns = strdup(ns ? ns : "");
	buf_printf(&s->log, "open {%s}%s xmlns='%s'\n", root->ns, root->name,
		   s->default_ns);
}

/* Equal trees: names, namespaces, attributes in order, and text, where
 * adjacent text nodes count as one. */
static bool tree_equal(const struct xml_node *a, const struct xml_node *b,
		       struct arena *arena)
{
	if (!a->name || !b->name)
		return false;
	if (strcmp(a->ns, b->ns) != 0 || strcmp(a->name, b->name) != 0)
		return false;
	const struct xml_attr *x = a->attrs, *y = b->attrs;
	for (; x && y; x = x->next, y = y->next)
		if (strcmp(x->ns, y->ns) != 0 ||
		    strcmp(x->name, y->name) != 0 ||
		    strcmp(x->value, y->value) != 0)
			return false;
	if (x || y)
		return false;
	if (strcmp(xml_text(arena, a), xml_text(arena, b)) != 0)
		return false;
	const struct xml_node *c = xml_child(a, NULL, NULL);
	const struct xml_node *d = xml_child(b, NULL, NULL);
	for (; c && d; c = xml_next(c, NULL, NULL), d = xml_next(d, NULL, NULL))
		if (!tree_equal(c, d, arena))
			return false;
	return !c && !d;
}

/* Serialized, parsed again, serialized again: the same tree and bytes. */
static void stanza_round_trip(struct story *s, const struct xml_node *n)
{
	struct buf again = BUF_INIT;
	buf_clear(&s->stanza);
	FUZZ_CHECK(xml_serialize(n, s->default_ns, &s->stanza) == 0,
		   "serialize");
	struct xml_node *p = xml_parse(&s->arena, s->stanza.data, s->stanza.len,
				       s->default_ns);
	FUZZ_CHECK(p != NULL, "the serialized stanza does not parse: %s",
		   s->stanza.data);
	FUZZ_CHECK(tree_equal(n, p, &s->arena),
		   "parsed again, a different tree: %s", s->stanza.data);
	FUZZ_CHECK(xml_serialize(p, s->default_ns, &again) == 0, "serialize");
	FUZZ_CHECK(again.len == s->stanza.len &&
			   memcmp(again.data, s->stanza.data, again.len) == 0,
		   "serialized again, other bytes: %s / %s", s->stanza.data,
		   again.data);
	buf_free(&again);
	arena_reset(&s->arena);
}

static int story_stanza(void *ctx, struct xml_node *stanza, struct arena *arena)
{
	struct story *s = ctx;
	stanza_round_trip(s, stanza);
	buf_printf(&s->log, "stanza %s\n", s->stanza.data);
	return 0;
}

static void story_close(void *ctx)
{
	struct story *s = ctx;
	buf_printf(&s->log, "close\n");
}

static void story_error(void *ctx, enum xmlstream_error error, const char *text)
{
	struct story *s = ctx;
	buf_printf(&s->log, "error %s\n", xmlstream_error_condition(error));
}

static const struct xmlstream_callbacks story_callbacks = {
	story_open, story_stanza, story_close, story_error};

/* c2s's defaults, or a stanza limit that small inputs reach. */
static const struct xmlstream_limits limits[2] = {{262144, 16}, {1024, 16}};

/* Whitespace after the input, twice as much as the input (a parser that
 * waits for its buffer to double must then have parsed everything): no
 * stanza, no header may come of it. */
static void feed_keepalives(struct xmlstream *xs, struct story *s, size_t size)
{
	static char spaces[4096];
	if (!spaces[0])
		memset(spaces, ' ', sizeof spaces);
	size_t before = s->log.len;
	for (size_t fed = 0; fed <= 2 * size; fed += sizeof spaces)
		if (xmlstream_feed(xs, spaces, sizeof spaces) < 0)
			break;
	FUZZ_CHECK(s->log.len == before ||
			   strncmp(s->log.data + before, "error ", 6) == 0,
		   "whitespace completed what was sent before it: %s",
		   s->log.data + before);
}

/* The events as text: a stanza's serialization holds no NUL (XML 1.0
 * forbids it, and xml_serialize writes no other). */
static const char *story_text(const struct story *s)
{
	return s->log.data ? s->log.data : "";
}

/* The length of the story before its last line if that is an error. */
static size_t story_before_error(const struct story *s)
{
	const char *text = story_text(s);
	size_t len = s->log.len;
	size_t start = len;
	while (start > 0 && (start == len || text[start - 1] != '\n'))
		start--;
	return strncmp(text + start, "error ", 6) == 0 ? start : len;
}

static bool story_same(const struct story *a, const struct story *b)
{
	size_t na = story_before_error(a), nb = story_before_error(b);
	if (na == a->log.len || nb == b->log.len) /* not both errors */
		return strcmp(story_text(a), story_text(b)) == 0;
	return na == nb && memcmp(story_text(a), story_text(b), na) == 0;
}

static void story_free(struct story *s)
{
	buf_free(&s->log);
	buf_free(&s->stanza);
	free(s->default_ns);
	arena_reset(&s->arena);
}

/* xorshift32: the pieces, from the seed byte. */
static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

static void parse_in_pieces(struct story *s, uint8_t seed, const char *data,
			    size_t size)
{
	uint32_t state = 0x9e3779b9u ^ seed;
	struct xmlstream *xs =
		xmlstream_new(&limits[seed >> 7], &story_callbacks, s);
	FUZZ_CHECK(xs != NULL, "xmlstream_new");
	size_t at = 0;
	while (at < size) {
		uint32_t r = next_random(&state);
		size_t piece = (r & 0x700) ? 1 + r % 16 : 1 + r % 4096;
		if (piece > size - at)
			piece = size - at;
		if (xmlstream_feed(xs, data + at, piece) < 0)
			break;
		at += piece;
		if ((r >> 24) < 32)
			xmlstream_shrink(xs); /* -1 unless idle: fine */
	}
	feed_keepalives(xs, s, size);
	xmlstream_free(xs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct story whole = {0}, pieces = {0};
	const char *stream = (const char *)data + 1;
	struct xmlstream *xs =
		xmlstream_new(&limits[data[0] >> 7], &story_callbacks, &whole);
	FUZZ_CHECK(xs != NULL, "xmlstream_new");
	xmlstream_feed(xs, stream, size - 1);
	feed_keepalives(xs, &whole, size - 1);
	xmlstream_free(xs);
	parse_in_pieces(&pieces, data[0], stream, size - 1);
	FUZZ_CHECK(story_same(&whole, &pieces), "whole:\n%s\nin pieces:\n%s",
		   story_text(&whole), story_text(&pieces));
	story_free(&whole);
	story_free(&pieces);
	return 0;
}
