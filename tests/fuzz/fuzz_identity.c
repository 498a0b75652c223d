/* fuzz_identity: does a peer's certificate prove its domain
 * (server/s2s/identity.c, RFC 6125 as RFC 6120 §13.7.1.2 applies it)?
 *
 * Input: one byte choosing how the certificate comes, a line with the
 * domain, then either the certificate itself (even byte: DER, or PEM
 * when DER does not read), or lines that the harness makes into one
 * (odd byte): "D" then a dNSName, "X" an XmppAddr, "S" an SRV-ID, "U" a
 * URI, "C" the subject's CN, "x" and "s" an XmppAddr and an SRV-ID in
 * the wrong string type. Properties, for a certificate made here: a
 * plain domain (letters, digits, '-', '.') is proved by a dNSName or
 * XmppAddr equal to it and by the SRV-ID "_xmpp-server." + it; and a
 * domain that no name holds, where no name has a wildcard, is never
 * proved. */
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "../../server/s2s/identity.h"
#include "fuzz.h"

#define OID_XMPP_ADDR "1.3.6.1.5.5.7.8.5" /* RFC 6120 §13.7.1.4 */
#define OID_DNS_SRV "1.3.6.1.5.5.7.8.7"   /* RFC 4985 */

/* What the names made here say about the domain. */
struct expect {
	bool proved;   /* a name that must prove it */
	bool possible; /* a name that holds it, or a wildcard */
};

static X509 *cert_read(const uint8_t *p, size_t len)
{
	const unsigned char *der = p;
	X509 *cert = d2i_X509(NULL, &der, (long)len);
	if (cert)
		return cert;
	BIO *bio = BIO_new_mem_buf(p, (int)len);
	cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	return cert;
}

static void san_add_other(GENERAL_NAMES *sans, const char *oid, int type,
			  const char *s, size_t len)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_TYPE *value = ASN1_TYPE_new();
	ASN1_STRING *str = ASN1_STRING_type_new(type);
	FUZZ_CHECK(g && value && str && ASN1_STRING_set(str, s, (int)len) == 1,
		   "otherName");
	ASN1_TYPE_set(value, type, str);
	GENERAL_NAME_set0_othername(g, OBJ_txt2obj(oid, 1), value);
	sk_GENERAL_NAME_push(sans, g);
}

static void san_add_string(GENERAL_NAMES *sans, int gen_type, const char *s,
			   size_t len)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *str = ASN1_IA5STRING_new();
	FUZZ_CHECK(g && str && ASN1_STRING_set(str, s, (int)len) == 1,
		   "GeneralName");
	GENERAL_NAME_set0_value(g, gen_type, str);
	sk_GENERAL_NAME_push(sans, g);
}

static bool plain_domain(const char *d, size_t len)
{
	if (len == 0 || d[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-.", d[i]))
			return false;
	return true;
}

/* Whether s holds d, ignoring ASCII case. */
static bool holds_nocase(const char *s, size_t n, const char *d, size_t dlen)
{
	for (size_t i = 0; i + dlen <= n; i++)
		if (strncasecmp(s + i, d, dlen) == 0)
			return true;
	return false;
}

/* One line of names: onto the certificate, and into what to expect. */
static void name_add(X509 *cert, GENERAL_NAMES *sans, const char *line,
		     size_t len, const char *domain, struct expect *e)
{
	const char *v = line + 1;
	size_t n = len - 1, dlen = strlen(domain);
	bool equal = n == dlen && memcmp(v, domain, n) == 0;
	bool srv_equal = n == 13 + dlen &&
			 memcmp(v, "_xmpp-server.", 13) == 0 &&
			 memcmp(v + 13, domain, dlen) == 0;
	bool plain = plain_domain(domain, dlen);
	/* The domain without its trailing dots, as the matching sees it. */
	while (dlen > 0 && domain[dlen - 1] == '.')
		dlen--;
	if (memchr(v, '*', n) || dlen == 0 || holds_nocase(v, n, domain, dlen))
		e->possible = true;
	switch (line[0]) {
	case 'D':
		san_add_string(sans, GEN_DNS, v, n);
		e->proved |= plain && equal;
		break;
	case 'U':
		san_add_string(sans, GEN_URI, v, n);
		break;
	case 'X':
	case 'x':
		san_add_other(sans, OID_XMPP_ADDR,
			      line[0] == 'X' ? V_ASN1_UTF8STRING
					     : V_ASN1_IA5STRING,
			      v, n);
		e->proved |= line[0] == 'X' && plain && equal;
		break;
	case 'S':
	case 's':
		san_add_other(sans, OID_DNS_SRV,
			      line[0] == 'S' ? V_ASN1_IA5STRING
					     : V_ASN1_UTF8STRING,
			      v, n);
		e->proved |= line[0] == 'S' && plain && srv_equal;
		break;
	case 'C':
		X509_NAME_add_entry_by_NID(
			X509_get_subject_name(cert), NID_commonName,
			MBSTRING_UTF8, (const unsigned char *)v, (int)n, -1, 0);
		break;
	}
}

/* The certificate the lines describe, with what to expect of it. */
static X509 *cert_make(const char *p, const char *end, const char *domain,
		       struct expect *e)
{
	X509 *cert = X509_new();
	GENERAL_NAMES *sans = GENERAL_NAMES_new();
	FUZZ_CHECK(cert && sans, "X509_new");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		if (len > 0)
			name_add(cert, sans, p, len, domain, e);
		p += len + 1;
	}
	if (sk_GENERAL_NAME_num(sans) > 0)
		X509_add1_ext_i2d(cert, NID_subject_alt_name, sans, 0,
				  X509V3_ADD_DEFAULT);
	GENERAL_NAMES_free(sans);
	return cert;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char domain[512];
	if (size < 1)
		return 0;
	const char *p = (const char *)data + 1,
		   *end = (const char *)data + size;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t dlen = (size_t)((nl ? nl : end) - p);
	if (dlen >= sizeof domain || memchr(p, '\0', dlen))
		return 0;
	memcpy(domain, p, dlen);
	domain[dlen] = '\0';
	p = nl ? nl + 1 : end;
	struct expect e = {false, false};
	X509 *cert = data[0] & 1
			     ? cert_make(p, end, domain, &e)
			     : cert_read((const uint8_t *)p, (size_t)(end - p));
	bool matches = s2s_identity_matches(cert, domain);
	if (data[0] & 1) {
		FUZZ_CHECK(!e.proved || matches, "%s is not proved", domain);
		FUZZ_CHECK(e.possible || !matches,
			   "%s proved by names that do not hold it", domain);
	}
	X509_free(cert);
	return 0;
}
