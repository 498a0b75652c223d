/* identity: whether a server certificate names a domain (see identity.h). */
#include "identity.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <string.h>

/* RFC 6120 §13.7.1.2.1: a server proves its domain with the
 * _xmpp-server service; _xmpp-client names a client service. */
#define SRV_XMPP_SERVER "_xmpp-server."

/* A name as bytes and a length, not NUL-terminated. */
struct name {
	const char *s;
	size_t len;
};

/* What one subjectAltName entry says about the domain. */
enum san_verdict {
	SAN_OTHER,    /* not an identity type we match: no say on CN-ID */
	SAN_IDENTITY, /* an SRV-ID, XmppAddr or DNS-ID for another name */
	SAN_MATCH,    /* an identity that proves the domain */
};

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive in ASCII only: DNS labels compare so (RFC 4343), and
 * the result must not depend on the process's locale. */
static bool ascii_equal_nocase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

static bool name_equal(struct name a, struct name b)
{
	return a.len == b.len && ascii_equal_nocase(a.s, b.s, a.len);
}

/* s without one trailing dot: "example.org." is the same domain. */
static struct name name_trim(const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '.')
		len--;
	return (struct name){s, len};
}

/* A presented name from raw bytes; false when empty or when it holds a
 * NUL ("example.org\0.evil.com"). The comparisons below go by length and
 * would not match such a name anyway; refusing it here keeps that true
 * should a name ever be read as a C string. */
static bool name_from_bytes(const void *data, int len, struct name *out)
{
	if (!data || len <= 0 || memchr(data, '\0', (size_t)len))
		return false;
	*out = name_trim(data, (size_t)len);
	return out->len > 0;
}

static bool name_from_asn1(const ASN1_STRING *s, struct name *out)
{
	return name_from_bytes(ASN1_STRING_get0_data(s), ASN1_STRING_length(s),
			       out);
}

/* RFC 6125 §6.4.3: "*" may only be the whole left-most label, and stands
 * for exactly one label. Like OpenSSL's X509_check_host we also refuse a
 * wildcard over a single remaining label ("*.org"). */
static bool dns_id_matches(struct name id, struct name domain)
{
	if (name_equal(id, domain))
		return true;
	if (id.len < 2 || id.s[0] != '*' || id.s[1] != '.')
		return false;
	struct name parent = {id.s + 2, id.len - 2};
	if (!memchr(parent.s, '.', parent.len))
		return false;
	const char *dot = memchr(domain.s, '.', domain.len);
	if (!dot || dot == domain.s)
		return false;
	size_t label = (size_t)(dot - domain.s) + 1;
	return name_equal(parent, (struct name){dot + 1, domain.len - label});
}

/* RFC 6125 §6.5.1: the service part compares case-insensitively; the
 * domain part is exact (no wildcard in an SRV-ID here). */
static bool srv_id_matches(struct name id, struct name domain)
{
	size_t n = strlen(SRV_XMPP_SERVER);
	if (id.len <= n || !ascii_equal_nocase(id.s, SRV_XMPP_SERVER, n))
		return false;
	return name_equal((struct name){id.s + n, id.len - n}, domain);
}

static enum san_verdict verdict(bool matches)
{
	return matches ? SAN_MATCH : SAN_IDENTITY;
}

/* RFC 4985 §2: SRVName ::= IA5String; RFC 6120 §13.7.1.4: XmppAddr ::=
 * UTF8String. A value of another type is a broken identity: it matches
 * nothing but still counts as one (no CN-ID fallback). */
static enum san_verdict othername_check(const OTHERNAME *other,
					struct name domain)
{
	const ASN1_TYPE *value = other->value;
	struct name id;
	switch (OBJ_obj2nid(other->type_id)) {
	case NID_SRVName:
		return verdict(value->type == V_ASN1_IA5STRING &&
			       name_from_asn1(value->value.ia5string, &id) &&
			       srv_id_matches(id, domain));
	case NID_XmppAddr:
		return verdict(value->type == V_ASN1_UTF8STRING &&
			       name_from_asn1(value->value.utf8string, &id) &&
			       name_equal(id, domain));
	default:
		return SAN_OTHER;
	}
}

static enum san_verdict san_check(const GENERAL_NAME *san, struct name domain)
{
	struct name id;
	switch (san->type) {
	case GEN_OTHERNAME:
		return othername_check(san->d.otherName, domain);
	case GEN_DNS:
		return verdict(name_from_asn1(san->d.dNSName, &id) &&
			       dns_id_matches(id, domain));
	default:
		return SAN_OTHER;
	}
}

/* Whether one subject CN is the domain. ASN1_STRING_to_UTF8 reads every
 * string type a CN may have (PrintableString, BMPString …). */
static bool cn_entry_matches(const ASN1_STRING *cn, struct name domain)
{
	unsigned char *utf8 = NULL;
	int len = ASN1_STRING_to_UTF8(&utf8, cn);
	struct name id;
	bool matches = len > 0 && name_from_bytes(utf8, len, &id) &&
		       name_equal(id, domain);
	OPENSSL_free(utf8);
	return matches;
}

static bool cn_id_matches(X509 *cert, struct name domain)
{
	const X509_NAME *subject = X509_get_subject_name(cert);
	int i = -1;
	while ((i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >=
	       0) {
		X509_NAME_ENTRY *entry = X509_NAME_get_entry(subject, i);
		if (cn_entry_matches(X509_NAME_ENTRY_get_data(entry), domain))
			return true;
	}
	return false;
}

/* Every entry of the subjectAltName is looked at: each of SRV-ID,
 * XmppAddr and DNS-ID proves the domain on its own, so the order in
 * which they are tried does not change the answer. */
bool s2s_identity_matches(X509 *cert, const char *domain)
{
	if (!cert || !domain)
		return false;
	struct name d = name_trim(domain, strlen(domain));
	/* A '*' in the reference would equal a wildcard DNS-ID literally. */
	if (d.len == 0 || memchr(d.s, '*', d.len))
		return false;
	int crit;
	GENERAL_NAMES *sans =
		X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	/* crit is -1 only when there is no such extension; a repeated
	 * (-2) or undecodable one must not open the CN-ID fallback. */
	if (!sans && crit != -1)
		return false;
	bool identities = false, matched = false;
	for (int i = 0; !matched && i < sk_GENERAL_NAME_num(sans); i++) {
		enum san_verdict v =
			san_check(sk_GENERAL_NAME_value(sans, i), d);
		matched = v == SAN_MATCH;
		identities |= v != SAN_OTHER;
	}
	GENERAL_NAMES_free(sans);
	/* RFC 6125 §6.4.4: no CN-ID once the certificate presents an
	 * identifier of a type the client supports. */
	return matched || (!identities && cn_id_matches(cert, d));
}
