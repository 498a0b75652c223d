/* scan: a light splitter of an XMPP stream into top-level elements (see
 * scan.h). */
#include "scan.h"

#include <string.h>

enum { INCOMPLETE = 0, MALFORMED = -1 };

/* ---- finding where things end ------------------------------------------ */

/* The length of the tag that starts at p[0] == '<', up to and with its
 * '>', quoted attribute values skipped; INCOMPLETE when it goes on. */
static long tag_end(const char *p, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		char c = p[i];
		if (c == '>')
			return (long)i + 1;
		if (c == '"' || c == '\'') {
			const char *q = memchr(p + i + 1, c, n - i - 1);
			if (!q)
				return INCOMPLETE;
			i = (size_t)(q - p);
		}
	}
	return INCOMPLETE;
}

/* The length of the markup that is not an element at p[0] == '<' (a
 * comment, CDATA, a processing instruction or the XML declaration). */
static long markup_end(const char *p, size_t n)
{
	const char *close;
	size_t open;
	if (n < 2)
		return INCOMPLETE;
	if (p[1] == '?') {
		close = "?>", open = 2;
	} else if (n >= 4 && memcmp(p, "<!--", 4) == 0) {
		close = "-->", open = 4;
	} else if (n >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
		close = "]]>", open = 9;
	} else if (n < 9 && (memcmp(p, "<![CDATA[", n) == 0 ||
			     memcmp(p, "<!--", n < 4 ? n : 4) == 0)) {
		return INCOMPLETE; /* too short to tell yet */
	} else {
		return MALFORMED; /* DOCTYPE and the like */
	}
	size_t clen = strlen(close);
	const char *e = memmem(p + open, n - open, close, clen);
	return e ? (long)(e - p) + (long)clen : INCOMPLETE;
}

/* The length of the element whose start tag is at p[0]. */
static long element_end(const char *p, size_t n)
{
	size_t i = 0;
	long depth = 0;
	for (;;) {
		const char *lt = memchr(p + i, '<', n - i);
		if (!lt)
			return INCOMPLETE;
		i = (size_t)(lt - p);
		if (n - i < 2)
			return INCOMPLETE;
		char c = p[i + 1];
		long t;
		if (c == '!' || c == '?') {
			if ((t = markup_end(p + i, n - i)) <= 0)
				return t;
			i += (size_t)t;
			continue;
		}
		if ((t = tag_end(p + i, n - i)) == INCOMPLETE)
			return INCOMPLETE;
		if (c == '/')
			depth--;
		else if (p[i + (size_t)t - 2] != '/')
			depth++;
		i += (size_t)t;
		if (depth <= 0)
			return (long)i;
	}
}

/* ---- the stream ---------------------------------------------------------- */

/* Emits the complete units of p; returns how many bytes were used (the
 * rest is a partial unit), or -1 when fn stopped or on error. */
static long scan_units(struct scan *s, const char *p, size_t n, scan_fn fn,
		       void *ctx)
{
	size_t i = 0;
	while (i < n) {
		const char *lt = memchr(p + i, '<', n - i);
		if (!lt) /* whitespace keepalives between stanzas */
			return (long)n;
		i = (size_t)(lt - p);
		if (n - i < 2)
			break;
		char c = p[i + 1];
		long t;
		enum scan_event ev = SCAN_ELEMENT;
		if (c == '?' || c == '!') {
			t = markup_end(p + i, n - i);
			if (t > 0) {
				i += (size_t)t;
				continue;
			}
		} else if (c == '/') {
			ev = SCAN_CLOSE;
			t = s->open ? tag_end(p + i, n - i) : MALFORMED;
		} else if (!s->open) {
			ev = SCAN_OPEN;
			t = tag_end(p + i, n - i);
		} else {
			t = element_end(p + i, n - i);
		}
		if (t == INCOMPLETE)
			break;
		if (t == MALFORMED) {
			fn(ctx, SCAN_ERROR, p + i, n - i);
			return -1;
		}
		if (ev == SCAN_OPEN)
			s->open = true;
		if (fn(ctx, ev, p + i, (size_t)t) || ev == SCAN_CLOSE)
			return -1;
		i += (size_t)t;
	}
	return (long)i;
}

int scan_feed(struct scan *s, const char *data, size_t len, scan_fn fn,
	      void *ctx)
{
	long used;
	if (s->pending.len == 0) {
		used = scan_units(s, data, len, fn, ctx);
		if (used < 0) {
			buf_free(&s->pending);
			return 0;
		}
		if ((size_t)used < len && buf_append(&s->pending, data + used,
						     len - (size_t)used) < 0)
			return -1;
		return 0;
	}
	if (buf_append(&s->pending, data, len) < 0)
		return -1;
	used = scan_units(s, s->pending.data, s->pending.len, fn, ctx);
	if (used < 0 || (size_t)used == s->pending.len)
		buf_free(&s->pending);
	else
		buf_consume(&s->pending, (size_t)used);
	return 0;
}

void scan_reset(struct scan *s)
{
	s->open = false;
}

/* ---- reading one element ------------------------------------------------ */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ends_name(char c)
{
	return is_space(c) || c == '/' || c == '>' || c == '=';
}

struct span scan_name(struct span el)
{
	size_t i = 1, start = 1;
	while (i < el.len && !ends_name(el.p[i])) {
		if (el.p[i] == ':')
			start = i + 1;
		i++;
	}
	return (struct span){el.p + start, i - start};
}

bool span_eq(struct span s, const char *str)
{
	size_t n = strlen(str);
	return s.len == n && memcmp(s.p, str, n) == 0;
}

bool scan_is(struct span el, const char *name)
{
	return span_eq(scan_name(el), name);
}

bool scan_attr(struct span el, const char *name, struct span *value)
{
	long t = tag_end(el.p, el.len);
	size_t end = t > 0 ? (size_t)t : el.len;
	size_t i = 1;
	while (i < end && !ends_name(el.p[i])) /* the element's name */
		i++;
	for (;;) {
		while (i < end && is_space(el.p[i]))
			i++;
		if (i >= end || el.p[i] == '>' || el.p[i] == '/')
			return false;
		size_t name_start = i;
		while (i < end && !ends_name(el.p[i]))
			i++;
		struct span attr = {el.p + name_start, i - name_start};
		while (i < end && (is_space(el.p[i]) || el.p[i] == '='))
			i++;
		if (i >= end || (el.p[i] != '"' && el.p[i] != '\''))
			return false;
		const char *q = memchr(el.p + i + 1, el.p[i], end - i - 1);
		if (!q)
			return false;
		if (span_eq(attr, name)) {
			*value = (struct span){el.p + i + 1,
					       (size_t)(q - el.p) - i - 1};
			return true;
		}
		i = (size_t)(q - el.p) + 1;
	}
}

bool scan_attr_is(struct span el, const char *name, const char *value)
{
	struct span v;
	return scan_attr(el, name, &v) && span_eq(v, value);
}

/* Where el's content starts (after its start tag); 0 when it has none. */
static size_t content_start(struct span el)
{
	long t = tag_end(el.p, el.len);
	if (t <= 0 || el.p[t - 2] == '/')
		return 0;
	return (size_t)t;
}

bool scan_find(struct span el, const char *name, struct span *found)
{
	size_t i = content_start(el);
	if (!i)
		return false;
	while (i < el.len) {
		const char *lt = memchr(el.p + i, '<', el.len - i);
		if (!lt)
			return false;
		i = (size_t)(lt - el.p);
		struct span rest = {lt, el.len - i};
		if (i + 1 < el.len && lt[1] != '/' && lt[1] != '!' &&
		    lt[1] != '?' && scan_is(rest, name)) {
			long e = element_end(rest.p, rest.len);
			if (e <= 0)
				return false;
			*found = (struct span){rest.p, (size_t)e};
			return true;
		}
		i++;
	}
	return false;
}

bool scan_next_child(struct span el, struct span *cursor)
{
	size_t i;
	if (cursor->p)
		i = (size_t)(cursor->p - el.p) + cursor->len;
	else if (!(i = content_start(el)))
		return false;
	while (i < el.len) {
		const char *lt = memchr(el.p + i, '<', el.len - i);
		if (!lt || lt + 1 >= el.p + el.len || lt[1] == '/')
			return false;
		i = (size_t)(lt - el.p);
		long e = lt[1] == '!' || lt[1] == '?'
				 ? markup_end(lt, el.len - i)
				 : element_end(lt, el.len - i);
		if (e <= 0)
			return false;
		if (lt[1] != '!' && lt[1] != '?') {
			*cursor = (struct span){lt, (size_t)e};
			return true;
		}
		i += (size_t)e;
	}
	return false;
}

struct span scan_text(struct span el)
{
	size_t i = content_start(el);
	if (!i)
		return (struct span){el.p, 0};
	const char *lt = memchr(el.p + i, '<', el.len - i);
	size_t end = lt ? (size_t)(lt - el.p) : el.len;
	return (struct span){el.p + i, end - i};
}

void span_copy(struct span s, char *out, size_t size)
{
	size_t n = s.len < size - 1 ? s.len : size - 1;
	memcpy(out, s.p, n);
	out[n] = '\0';
}
