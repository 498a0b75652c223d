/* jid: RFC 7622 §3 syntax, prepared with the RFC 6122 stringprep profiles
 * through libidn, as Prosody does. Nothing here allocates or keeps state;
 * libidn's stringprep allocates internally and is thread-safe. */
#include "jid.h"

#include <arpa/inet.h>
#include <punycode.h>
#include <stdint.h>
#include <string.h>
#include <stringprep.h>

/* RFC 1035 §2.3.4 and RFC 5890 §2.3.2.1: a label is 1..63 octets in its
 * ASCII form; an A-label spends four of them on "xn--". */
#define LABEL_MAX 63
#define ACE_PREFIX_LEN 4

/* ---- UTF-8 ---------------------------------------------------------- */

/* Decodes one code point from s[0..len), len > 0. Returns its length in
 * octets, or 0 when it is not well-formed UTF-8 (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF) or is a NUL byte, which
 * stringprep's C strings could not carry. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t min;
	if (c == 0)
		return 0;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2, min = 0x80, *cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3, min = 0x800, *cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4, min = 0x10000, *cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return n;
}

static bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	while (len > 0) {
		size_t n = utf8_decode(p, len, &cp);
		if (n == 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* ---- One part through a stringprep profile ---------------------------- */

/* The profiles on printable ASCII (U+0020..U+007E), the JIDs nearly all
 * stanzas carry, without libidn (it was an eighth of c2s's CPU under
 * chat load). There NFKC changes nothing, bidi cannot fail, nothing is
 * unassigned, and the tables of RFC 3454 reduce to: B.2 folds A-Z
 * (nodeprep, nameprep); nodeprep prohibits C.1.1 (the space) and
 * RFC 6122 Appendix A.5's " & ' / : < > @; resourceprep and nameprep
 * prohibit no printable ASCII. Returns 1 when it decided (0 prepared,
 * -1 refused in *rc), 0 to leave it to libidn. */
static int prep_ascii(char *out, const char *in, size_t len,
		      const Stringprep_profile *profile, int *rc)
{
	bool fold = profile != stringprep_xmpp_resourceprep;
	if (profile != stringprep_xmpp_nodeprep && fold &&
	    profile != stringprep_nameprep)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (in[i] < 0x20 || in[i] > 0x7E)
			return 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (profile == stringprep_xmpp_nodeprep &&
		    strchr(" \"&'/:<>@", c)) {
			out[0] = '\0';
			*rc = -1;
			return 1;
		}
		out[i] = fold && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a')
						      : c;
	}
	out[len] = '\0';
	*rc = 0;
	return 1;
}

/* Copies in[0..len) into out (JID_PART_MAX + 1 bytes) and prepares it in
 * place. RFC 7622 §3.1: a part is 1..1023 octets, before and after. */
static int prep_part(char *out, const char *in, size_t len,
		     const Stringprep_profile *profile)
{
	int rc;
	out[0] = '\0';
	if (len == 0 || len > JID_PART_MAX)
		return -1;
	if (prep_ascii(out, in, len, profile, &rc))
		return rc;
	if (!utf8_valid(in, len))
		return -1;
	memcpy(out, in, len);
	out[len] = '\0';
	/* Flags 0: unassigned code points allowed (RFC 3454 §7, queries),
	 * bidi checked; maxlen counts the NUL, so the result fits 1023. */
	if (stringprep(out, JID_PART_MAX + 1, 0, profile) != STRINGPREP_OK ||
	    out[0] == '\0') {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* ---- Domain part ------------------------------------------------------ */

static bool is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

/* RFC 7622 §3.2.1: "[" IPv6address "]", kept as written but lowercased. */
static int prep_ipv6_literal(char *out, const char *in, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	if (len < 3 || in[len - 1] != ']' || len - 2 >= sizeof addr ||
	    memchr(in, '\0', len))
		return -1;
	memcpy(addr, in + 1, len - 2);
	addr[len - 2] = '\0';
	if (inet_pton(AF_INET6, addr, bin) != 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[len] = '\0';
	return 0;
}

/* RFC 3490 §3.1: U+3002 IDEOGRAPHIC FULL STOP separates labels too.
 * Nameprep has already folded U+FF0E and U+FF61 onto '.' and U+3002. */
static void domain_unify_dots(char *s)
{
	char *w = s;
	for (const char *r = s; *r;) {
		if ((unsigned char)r[0] == 0xE3 &&
		    (unsigned char)r[1] == 0x80 &&
		    (unsigned char)r[2] == 0x82) {
			*w++ = '.';
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* RFC 3490 §4.1 ToASCII with UseSTD3ASCIIRules: the label's ASCII
 * characters are letters, digits and hyphens, not at either end, and its
 * ASCII form (Punycode after "xn--" when it is not all ASCII) fits 63
 * octets. */
static int domain_check_label(const char *label, size_t len)
{
	const unsigned char *p = (const unsigned char *)label;
	punycode_uint cps[LABEL_MAX];
	size_t ncp = 0;
	bool ascii = true;
	if (len == 0 || label[0] == '-' || label[len - 1] == '-')
		return -1;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);
		if (n == 0 || ncp == LABEL_MAX)
			return -1;
		if (cp < 0x80 && !is_ldh((unsigned char)cp))
			return -1;
		if (cp >= 0x80)
			ascii = false;
		cps[ncp++] = cp;
		i += n;
	}
	if (ascii)
		return len <= LABEL_MAX ? 0 : -1;
	char ace[LABEL_MAX - ACE_PREFIX_LEN];
	size_t acelen = sizeof ace;
	if (punycode_encode(ncp, cps, NULL, &acelen, ace) != PUNYCODE_SUCCESS)
		return -1;
	return 0;
}

static int domain_check_labels(const char *s)
{
	for (;;) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);
		if (domain_check_label(s, len) < 0)
			return -1;
		if (!dot)
			return 0;
		s = dot + 1;
	}
}

/* IPv4 literals (RFC 7622 §3.2.1) pass through Nameprep and the label
 * rules unchanged, so they need no case of their own. */
static int prep_domain(char *out, const char *in, size_t len)
{
	out[0] = '\0';
	if (len > 0 && in[0] == '[')
		return prep_ipv6_literal(out, in, len);
	if (prep_part(out, in, len, stringprep_nameprep) < 0)
		return -1;
	domain_unify_dots(out);
	/* RFC 7622 §3.2: one trailing dot is stripped before comparison. */
	size_t n = strlen(out);
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
	if (n == 0 || domain_check_labels(out) < 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* ---- Public interface ------------------------------------------------- */

int jid_prep_local(char *out, const char *in)
{
	return prep_part(out, in, strlen(in), stringprep_xmpp_nodeprep);
}

int jid_prep_domain(char *out, const char *in)
{
	return prep_domain(out, in, strlen(in));
}

int jid_prep_resource(char *out, const char *in)
{
	return prep_part(out, in, strlen(in), stringprep_xmpp_resourceprep);
}

/* RFC 7622 §3.1: the domain part runs to the first '/', the local part is
 * what precedes the first '@' in it, the resource is all after that '/'. */
int jid_parse(struct jid *out, const char *s, size_t len)
{
	const char *slash = memchr(s, '/', len);
	size_t bare_len = slash ? (size_t)(slash - s) : len;
	const char *at = memchr(s, '@', bare_len);
	const char *domain = at ? at + 1 : s;
	size_t domain_len = bare_len - (size_t)(domain - s);
	out->local[0] = out->domain[0] = out->resource[0] = '\0';
	if ((at && prep_part(out->local, s, (size_t)(at - s),
			     stringprep_xmpp_nodeprep) < 0) ||
	    prep_domain(out->domain, domain, domain_len) < 0 ||
	    (slash && prep_part(out->resource, slash + 1, len - bare_len - 1,
				stringprep_xmpp_resourceprep) < 0)) {
		out->local[0] = out->domain[0] = out->resource[0] = '\0';
		return -1;
	}
	return 0;
}

int jid_parse_str(struct jid *out, const char *s)
{
	return jid_parse(out, s, strlen(s));
}

size_t jid_format_bare(const struct jid *j, char *out)
{
	size_t n = 0, len;
	if (j->local[0]) {
		len = strlen(j->local);
		memcpy(out, j->local, len);
		n = len;
		out[n++] = '@';
	}
	len = strlen(j->domain);
	memcpy(out + n, j->domain, len);
	n += len;
	out[n] = '\0';
	return n;
}

size_t jid_format(const struct jid *j, char *out)
{
	size_t n = jid_format_bare(j, out);
	if (j->resource[0]) {
		size_t len = strlen(j->resource);
		out[n++] = '/';
		memcpy(out + n, j->resource, len);
		n += len;
		out[n] = '\0';
	}
	return n;
}

bool jid_is_bare(const struct jid *j)
{
	return j->resource[0] == '\0';
}

bool jid_equal_bare(const struct jid *a, const struct jid *b)
{
	return strcmp(a->local, b->local) == 0 &&
	       strcmp(a->domain, b->domain) == 0;
}

bool jid_equal(const struct jid *a, const struct jid *b)
{
	return jid_equal_bare(a, b) && strcmp(a->resource, b->resource) == 0;
}
