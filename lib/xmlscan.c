/* xmlscan: where the bytes of an XML stream may be cut for expat. */
#include "xmlscan.h"

#include <stdbool.h>

/* The states; each is named after what the scanner is inside of. Only in
 * text and in a CDATA section's content may expat be fed up to the last
 * byte: it reports character data as it comes. */
enum {
	SCAN_TEXT,         /* character data, or between tags in the prolog */
	SCAN_LT,           /* after '<' */
	SCAN_TAG,          /* a start or end tag (or a <!DOCTYPE …>) */
	SCAN_QUOTED,       /* an attribute value; count: its quote */
	SCAN_REFERENCE,    /* after '&', until ';' */
	SCAN_BANG,         /* after "<!" */
	SCAN_COMMENT_OPEN, /* after "<!-" */
	SCAN_COMMENT,      /* count: the '-' just before, 2 at most */
	SCAN_CDATA_OPEN,   /* count: characters of "[CDATA[" matched */
	SCAN_CDATA,        /* count: the ']' just before, 2 at most */
	SCAN_PI,           /* count: 1 just after '?' */
};

static const char cdata_open[] = "[CDATA["; /* after "<!" (XML 1.0 §2.7) */

/* XML 1.0 §4.1: the characters of an entity or character reference. */
static bool is_reference_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '#' || c == '_' || c == ':' ||
	       c == '-' || c == '.' || c >= 0x80;
}

static void enter(struct xmlscan *sc, unsigned char state, unsigned char count)
{
	sc->state = state;
	sc->count = count;
}

/* Inside a tag. '<' cannot be in one (nor in an attribute value, XML 1.0
 * §3.1): the tag is broken, and expat, given it, will say so. */
static void scan_tag(struct xmlscan *sc, char c)
{
	if (c == '\'' || c == '"')
		enter(sc, SCAN_QUOTED, (unsigned char)c);
	else if (c == '>' || c == '<')
		enter(sc, SCAN_TEXT, 0);
}

static void read_as_tag(struct xmlscan *sc, char c)
{
	enter(sc, SCAN_TAG, 0);
	scan_tag(sc, c);
}

/* Counts the repeats of the delimiter's first character (the "--" of
 * "-->", the "]]" of "]]>"), and whether c ends the delimiter. */
static bool closes(struct xmlscan *sc, char c, char repeated)
{
	if (c == repeated) {
		sc->count = sc->count < 2 ? sc->count + 1 : 2;
		return false;
	}
	bool end = c == '>' && sc->count == 2;
	sc->count = 0;
	return end;
}

/* After "<!": a comment, a CDATA section, or a declaration (the
 * DOCTYPE, refused by xmlstream), read like a tag. */
static void scan_bang(struct xmlscan *sc, char c)
{
	if (sc->state == SCAN_BANG && c == '-')
		enter(sc, SCAN_COMMENT_OPEN, 0);
	else if (sc->state == SCAN_BANG && c == cdata_open[0])
		enter(sc, SCAN_CDATA_OPEN, 1);
	else if (sc->state == SCAN_COMMENT_OPEN && c == '-')
		enter(sc, SCAN_COMMENT, 0);
	else if (sc->state != SCAN_CDATA_OPEN || c != cdata_open[sc->count])
		read_as_tag(sc, c);
	else if (++sc->count == sizeof cdata_open - 1)
		enter(sc, SCAN_CDATA, 0);
}

/* One byte; returns whether a token begins with it. */
static bool scan_byte(struct xmlscan *sc, char c)
{
	switch (sc->state) {
	case SCAN_TEXT:
		if (c != '<' && c != '&')
			return false;
		enter(sc, c == '<' ? SCAN_LT : SCAN_REFERENCE, 0);
		return true;
	case SCAN_LT:
		if (c == '!' || c == '?') {
			enter(sc, c == '!' ? SCAN_BANG : SCAN_PI, 0);
			return false;
		}
		read_as_tag(sc, c); /* c is the tag's first character */
		return false;
	case SCAN_TAG:
		scan_tag(sc, c);
		return false;
	case SCAN_QUOTED:
		if (c == (char)sc->count || c == '<')
			enter(sc, c == '<' ? SCAN_TEXT : SCAN_TAG, 0);
		return false;
	case SCAN_REFERENCE: /* ends at ';', or broken, for expat to say */
		if (!is_reference_char((unsigned char)c))
			enter(sc, SCAN_TEXT, 0);
		return false;
	case SCAN_COMMENT:
	case SCAN_CDATA:
		if (closes(sc, c, sc->state == SCAN_COMMENT ? '-' : ']'))
			enter(sc, SCAN_TEXT, 0);
		return false;
	case SCAN_PI:
		if (c == '>' && sc->count)
			enter(sc, SCAN_TEXT, 0);
		else
			sc->count = c == '?';
		return false;
	default:
		scan_bang(sc, c);
		return false;
	}
}

size_t xmlscan_feed(struct xmlscan *sc, const char *data, size_t len)
{
	size_t start = 0; /* where the last token began; 0: before data */
	for (size_t i = 0; i < len; i++)
		if (scan_byte(sc, data[i]))
			start = i;
	return sc->state == SCAN_TEXT || sc->state == SCAN_CDATA ? len : start;
}

bool xmlscan_in_cdata(const struct xmlscan *sc)
{
	return sc->state == SCAN_CDATA;
}
