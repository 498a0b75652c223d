/* xmlscan: where the bytes of an XML stream may be cut for expat.
 *
 * Expat tokenizes what it is given and keeps an incomplete token (a start
 * tag, a reference, a comment …) to scan it again from its first byte on
 * the next call: a token that arrives one byte per read costs time
 * quadratic in its length. Expat 2.6 answers this with reparse deferral,
 * which waits for the pending bytes to double before trying again, and so
 * may leave a token that arrived in full unparsed until the peer sends as
 * much again. This scanner, run over the bytes ahead of expat, tells how
 * far expat can be fed without an incomplete long token: it follows the
 * tokens that matter (text, tags and their quoted attribute values,
 * references, comments, processing instructions, CDATA sections) in a
 * state of two bytes, each byte looked at once.
 *
 * It only chooses cut points: expat still judges the bytes. On input that
 * is not well-formed it may hold a few bytes more than expat would have
 * read before failing (until the next '<', '>' or quote). */
#ifndef PALABRE_XMLSCAN_H
#define PALABRE_XMLSCAN_H

#include <stdbool.h>
#include <stddef.h>

struct xmlscan {
	unsigned char state; /* SCAN_TEXT (0) at the start of a stream */
	unsigned char count; /* characters of a delimiter matched so far */
};

/* Scans the next len bytes of the stream. Returns how many of them expat
 * may have now: the rest begins a token that is not complete yet. When
 * that token began before data (it is held from an earlier call), 0. */
size_t xmlscan_feed(struct xmlscan *sc, const char *data, size_t len);
/* Whether the bytes scanned end inside a CDATA section: expat has had
 * its start (its content comes as it arrives), so only the parser that
 * had it can take the rest. */
bool xmlscan_in_cdata(const struct xmlscan *sc);

#endif
