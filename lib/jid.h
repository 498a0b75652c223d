/* jid: parsing and preparation of JIDs (RFC 7622 syntax; the RFC 6122
 * stringprep profiles Nodeprep, Nameprep and Resourceprep through libidn,
 * as Prosody does). */
#ifndef PALABRE_JID_H
#define PALABRE_JID_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 7622 §3.1: each part is at most 1023 octets once prepared. */
#define JID_PART_MAX 1023
#define JID_MAX (3 * JID_PART_MAX + 2)

/* A prepared JID. Parts are NUL-terminated; an absent part is "". */
struct jid {
	char local[JID_PART_MAX + 1];
	char domain[JID_PART_MAX + 1];
	char resource[JID_PART_MAX + 1];
};

/* Parses and prepares s (len bytes, need not be NUL-terminated).
 * Returns 0, or -1 when s is not a valid JID: empty domain, empty local
 * part before '@', empty resource after '/', a part over 1023 octets,
 * a prohibited character or a failed bidi rule. */
int jid_parse(struct jid *out, const char *s, size_t len);
int jid_parse_str(struct jid *out, const char *s);

/* Prepares one part alone; out holds JID_PART_MAX + 1 bytes.
 * Returns 0 or -1 (same rules as jid_parse). */
int jid_prep_local(char *out, const char *in);
int jid_prep_domain(char *out, const char *in);
int jid_prep_resource(char *out, const char *in);

/* Writes "local@domain/resource" (absent parts left out) into out,
 * which holds JID_MAX + 1 bytes. Returns the length. */
size_t jid_format(const struct jid *j, char *out);
/* Same, without the resource. */
size_t jid_format_bare(const struct jid *j, char *out);

bool jid_is_bare(const struct jid *j);
/* Equal as prepared JIDs (all three parts). */
bool jid_equal(const struct jid *a, const struct jid *b);
bool jid_equal_bare(const struct jid *a, const struct jid *b);

#endif
