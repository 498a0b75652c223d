/* s2s identity: which names in a server certificate prove its domain
 * (RFC 6125, RFC 6120 §13.7.1.2, XEP-0178). */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <string.h>

#include "../../server/s2s/identity.h"
#include "unit.h"

#define OID_SRV_NAME "1.3.6.1.5.5.7.8.7"  /* RFC 4985 id-on-dnsSRV */
#define OID_XMPP_ADDR "1.3.6.1.5.5.7.8.5" /* RFC 6120 id-on-xmppAddr */

/* ------------------------------------------------------------------ */
/* subjectAltName entries */

static GENERAL_NAME *string_name(int type, const char *s, size_t len)
{
	ASN1_IA5STRING *value = ASN1_IA5STRING_new();
	ck_assert(ASN1_STRING_set(value, s, (int)len));
	GENERAL_NAME *name = GENERAL_NAME_new();
	GENERAL_NAME_set0_value(name, type, value);
	return name;
}

static GENERAL_NAME *dns(const char *s)
{
	return string_name(GEN_DNS, s, strlen(s));
}

static GENERAL_NAME *email(const char *s)
{
	return string_name(GEN_EMAIL, s, strlen(s));
}

static GENERAL_NAME *other_name(const char *oid, int type, const char *s,
				size_t len)
{
	ASN1_STRING *string = ASN1_STRING_type_new(type);
	ck_assert(ASN1_STRING_set(string, s, (int)len));
	ASN1_TYPE *value = ASN1_TYPE_new();
	ASN1_TYPE_set(value, type, string);
	GENERAL_NAME *name = GENERAL_NAME_new();
	ck_assert(
		GENERAL_NAME_set0_othername(name, OBJ_txt2obj(oid, 1), value));
	return name;
}

static GENERAL_NAME *srv(const char *s)
{
	return other_name(OID_SRV_NAME, V_ASN1_IA5STRING, s, strlen(s));
}

static GENERAL_NAME *xmpp_addr(const char *s)
{
	return other_name(OID_XMPP_ADDR, V_ASN1_UTF8STRING, s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* certificates */

static X509 *cert_new(void)
{
	X509 *x = X509_new();
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	return x;
}

static void add_cn(X509 *x, const char *cn)
{
	ck_assert(X509_NAME_add_entry_by_NID(
		X509_get_subject_name(x), NID_commonName, MBSTRING_UTF8,
		(const unsigned char *)cn, -1, -1, 0));
}

/* Adds one subjectAltName extension of names (NULL-terminated) and frees
 * them. X509V3_ADD_APPEND lets a test add a second extension. */
static void add_sans(X509 *x, va_list names)
{
	GENERAL_NAMES *sans = GENERAL_NAMES_new();
	GENERAL_NAME *name;
	while ((name = va_arg(names, GENERAL_NAME *)))
		sk_GENERAL_NAME_push(sans, name);
	ck_assert(X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0,
				    X509V3_ADD_APPEND));
	GENERAL_NAMES_free(sans);
}

static void add_sans_list(X509 *x, ...)
{
	va_list names;
	va_start(names, x);
	add_sans(x, names);
	va_end(names);
}

/* Self-signed with a fresh EC key, then read back from DER, so that the
 * names are parsed as a peer's certificate would be. Frees x. */
static X509 *cert_finish(X509 *x)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(key);
	X509_set_pubkey(x, key);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	ck_assert(X509_sign(x, key, EVP_sha256()) > 0);
	EVP_PKEY_free(key);
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	ck_assert_int_gt(len, 0);
	const unsigned char *p = der;
	X509 *parsed = d2i_X509(NULL, &p, len);
	ck_assert_ptr_nonnull(parsed);
	OPENSSL_free(der);
	X509_free(x);
	return parsed;
}

/* A certificate with subject CN cn (none if NULL) and the
 * subjectAltNames that follow, up to NULL (no extension if none). */
static X509 *cert(const char *cn, ...)
{
	X509 *x = cert_new();
	if (cn)
		add_cn(x, cn);
	va_list names;
	va_start(names, cn);
	va_list peek;
	va_copy(peek, names);
	if (va_arg(peek, GENERAL_NAME *))
		add_sans(x, names);
	va_end(peek);
	va_end(names);
	return cert_finish(x);
}

/* Whether a certificate with just this one subjectAltName proves domain. */
static bool san_proves(GENERAL_NAME *san, const char *domain)
{
	X509 *x = cert(NULL, san, NULL);
	bool proves = s2s_identity_matches(x, domain);
	X509_free(x);
	return proves;
}

static bool dns_id_proves(const char *dns_id, const char *domain)
{
	return san_proves(dns(dns_id), domain);
}

/* ------------------------------------------------------------------ */
/* SRV-ID */

START_TEST(srv_id_xmpp_server_proves)
{
	ck_assert(san_proves(srv("_xmpp-server.example.org"), "example.org"));
	ck_assert(!san_proves(srv("_xmpp-server.example.org"),
			      "other.example.org"));
	ck_assert(!san_proves(srv("_xmpp-server.example.org"), "org"));
}
END_TEST

/* RFC 6120 §13.7.1.2.1: a server proves itself with _xmpp-server. */
START_TEST(srv_id_xmpp_client_refused)
{
	ck_assert(!san_proves(srv("_xmpp-client.example.org"), "example.org"));
	ck_assert(!san_proves(srv("_xmpp.example.org"), "example.org"));
	ck_assert(!san_proves(srv("_xmpp-server"), "example.org"));
	ck_assert(!san_proves(srv("_xmpp-server."), "example.org"));
	ck_assert(!san_proves(srv("example.org"), "example.org"));
}
END_TEST

/* RFC 6125 §6.5.1: the service name compares case-insensitively. */
START_TEST(srv_id_ignores_case)
{
	ck_assert(san_proves(srv("_XMPP-Server.Example.ORG"), "example.org"));
}
END_TEST

/* RFC 4985 §2: SRVName is an IA5String. */
START_TEST(srv_id_of_wrong_type_refused)
{
	const char s[] = "_xmpp-server.example.org";
	ck_assert(!san_proves(
		other_name(OID_SRV_NAME, V_ASN1_UTF8STRING, s, strlen(s)),
		"example.org"));
}
END_TEST

START_TEST(srv_id_wildcard_refused)
{
	ck_assert(!san_proves(srv("_xmpp-server.*.example.org"),
			      "a.example.org"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* XmppAddr */

START_TEST(xmpp_addr_proves)
{
	ck_assert(san_proves(xmpp_addr("example.org"), "example.org"));
	ck_assert(!san_proves(xmpp_addr("example.org"), "example.net"));
	ck_assert(!san_proves(xmpp_addr("example.org"), "a.example.org"));
}
END_TEST

/* A user's or a resource's JID is not the server's domain. */
START_TEST(xmpp_addr_of_a_user_refused)
{
	ck_assert(!san_proves(xmpp_addr("juliet@example.org"), "example.org"));
	ck_assert(!san_proves(xmpp_addr("example.org/balcony"), "example.org"));
	ck_assert(!san_proves(xmpp_addr("*.example.org"), "a.example.org"));
}
END_TEST

/* RFC 6120 §13.7.1.4: XmppAddr is a UTF8String. */
START_TEST(xmpp_addr_of_wrong_type_refused)
{
	ck_assert(!san_proves(
		other_name(OID_XMPP_ADDR, V_ASN1_IA5STRING, "example.org", 11),
		"example.org"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* DNS-ID */

START_TEST(dns_id_exact)
{
	ck_assert(dns_id_proves("example.org", "example.org"));
	ck_assert(!dns_id_proves("example.org", "example.net"));
	ck_assert(!dns_id_proves("example.org", "xample.org"));
	ck_assert(!dns_id_proves("example.org", "a.example.org"));
	ck_assert(!dns_id_proves("example.org", "example.org.evil.com"));
	ck_assert(!dns_id_proves("example.org.evil.com", "example.org"));
	ck_assert(!dns_id_proves("evilexample.org", "example.org"));
}
END_TEST

START_TEST(dns_id_ignores_case)
{
	ck_assert(dns_id_proves("EXAMPLE.Org", "example.org"));
	ck_assert(dns_id_proves("*.EXAMPLE.ORG", "xmpp.example.org"));
	/* the caller's domain too, though it should come lowercase */
	ck_assert(dns_id_proves("example.org", "Example.ORG"));
}
END_TEST

/* RFC 6125 §6.4.3: "*" is a whole left-most label, for exactly one. */
START_TEST(dns_id_wildcard)
{
	ck_assert(dns_id_proves("*.example.org", "a.example.org"));
	ck_assert(dns_id_proves("*.example.org", "xmpp.example.org"));
	ck_assert(!dns_id_proves("*.example.org", "example.org"));
	ck_assert(!dns_id_proves("*.example.org", "a.b.example.org"));
	ck_assert(!dns_id_proves("*.example.org", ".example.org"));
	ck_assert(!dns_id_proves("*.example.org", "a.example.net"));
}
END_TEST

START_TEST(dns_id_partial_wildcard_refused)
{
	ck_assert(!dns_id_proves("f*.example.org", "foo.example.org"));
	ck_assert(!dns_id_proves("f*.example.org", "f.example.org"));
	ck_assert(!dns_id_proves("*o.example.org", "foo.example.org"));
	ck_assert(!dns_id_proves("a.*.example.org", "a.b.example.org"));
	ck_assert(!dns_id_proves("*", "example"));
	ck_assert(!dns_id_proves("*.", "example"));
}
END_TEST

/* Like OpenSSL's X509_check_host: no wildcard over a top-level domain. */
START_TEST(dns_id_wildcard_over_one_label_refused)
{
	ck_assert(!dns_id_proves("*.org", "example.org"));
	ck_assert(!dns_id_proves("*.org.", "example.org"));
}
END_TEST

/* A '*' in the domain asked for is not a name a wildcard can prove. */
START_TEST(domain_with_star_refused)
{
	ck_assert(!dns_id_proves("*.example.org", "*.example.org"));
	ck_assert(!san_proves(xmpp_addr("*.example.org"), "*.example.org"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* trailing dots, NULs */

START_TEST(trailing_dots_ignored)
{
	ck_assert(dns_id_proves("example.org.", "example.org"));
	ck_assert(dns_id_proves("example.org", "example.org."));
	ck_assert(dns_id_proves("example.org.", "example.org."));
	ck_assert(dns_id_proves("*.example.org.", "a.example.org"));
	ck_assert(dns_id_proves("*.example.org", "a.example.org."));
	ck_assert(san_proves(srv("_xmpp-server.example.org."), "example.org"));
	ck_assert(san_proves(xmpp_addr("example.org"), "example.org."));
	/* only one: "example.org.." is not example.org */
	ck_assert(!dns_id_proves("example.org..", "example.org"));
	ck_assert(!dns_id_proves(".", "."));
}
END_TEST

/* The classic "example.org\0.evil.com" certificate, in each type. */
START_TEST(embedded_nul_refused)
{
	static const char evil[] = "example.org\0.evil.com";
	static const char evil_srv[] = "_xmpp-server.example.org\0.evil.com";
	size_t len = sizeof evil - 1;
	ck_assert(!san_proves(string_name(GEN_DNS, evil, len), "example.org"));
	ck_assert(!san_proves(string_name(GEN_DNS, evil, len),
			      "example.org.evil.com"));
	ck_assert(!san_proves(other_name(OID_SRV_NAME, V_ASN1_IA5STRING,
					 evil_srv, sizeof evil_srv - 1),
			      "example.org"));
	ck_assert(!san_proves(
		other_name(OID_XMPP_ADDR, V_ASN1_UTF8STRING, evil, len),
		"example.org"));
}
END_TEST

START_TEST(cn_with_embedded_nul_refused)
{
	static const char evil[] = "example.org\0.evil.com";
	X509 *x = cert_new();
	ck_assert(X509_NAME_add_entry_by_NID(
		X509_get_subject_name(x), NID_commonName, V_ASN1_UTF8STRING,
		(const unsigned char *)evil, sizeof evil - 1, -1, 0));
	x = cert_finish(x);
	ck_assert(!s2s_identity_matches(x, "example.org"));
	X509_free(x);
}
END_TEST

/* ------------------------------------------------------------------ */
/* several names; CN-ID */

START_TEST(any_san_may_prove)
{
	X509 *x = cert(
		"ignored.example", dns("www.example.org"),
		srv("_xmpp-client.example.org"), xmpp_addr("chat.example.org"),
		srv("_xmpp-server.example.org"), dns("*.example.net"), NULL);
	ck_assert(s2s_identity_matches(x, "example.org"));
	ck_assert(s2s_identity_matches(x, "chat.example.org"));
	ck_assert(s2s_identity_matches(x, "www.example.org"));
	ck_assert(s2s_identity_matches(x, "a.example.net"));
	ck_assert(!s2s_identity_matches(x, "ignored.example"));
	ck_assert(!s2s_identity_matches(x, "example.net"));
	X509_free(x);
}
END_TEST

START_TEST(cn_without_san_proves)
{
	X509 *x = cert("example.org", NULL);
	ck_assert(s2s_identity_matches(x, "example.org"));
	ck_assert(s2s_identity_matches(x, "example.org."));
	ck_assert(!s2s_identity_matches(x, "a.example.org"));
	ck_assert(!s2s_identity_matches(x, "example.net"));
	X509_free(x);
	x = cert("EXAMPLE.ORG.", NULL);
	ck_assert(s2s_identity_matches(x, "example.org"));
	X509_free(x);
}
END_TEST

START_TEST(cn_wildcard_refused)
{
	X509 *x = cert("*.example.org", NULL);
	ck_assert(!s2s_identity_matches(x, "a.example.org"));
	ck_assert(!s2s_identity_matches(x, "example.org"));
	X509_free(x);
}
END_TEST

/* Every CN of the subject counts, not only the first. */
START_TEST(cn_second_entry_proves)
{
	X509 *x = cert_new();
	add_cn(x, "first.example");
	add_cn(x, "example.org");
	x = cert_finish(x);
	ck_assert(s2s_identity_matches(x, "example.org"));
	X509_free(x);
}
END_TEST

/* A CN is not always UTF-8: a BMPString is read as the text it holds. */
START_TEST(cn_in_bmp_string)
{
	static const unsigned char ucs2[] = {0,   'a', 0,   '.', 0,
					     'o', 0,   'r', 0,   'g'};
	X509 *x = cert_new();
	ck_assert(X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
					     NID_commonName, V_ASN1_BMPSTRING,
					     ucs2, sizeof ucs2, -1, 0));
	x = cert_finish(x);
	ck_assert(s2s_identity_matches(x, "a.org"));
	X509_free(x);
}
END_TEST

/* RFC 6125 §6.4.4: a certificate presenting a DNS-ID, SRV-ID or
 * XmppAddr is judged by those alone; its CN is not looked at. */
START_TEST(cn_ignored_beside_identity_san)
{
	const char *d = "example.org";
	X509 *x = cert(d, dns("other.example"), NULL);
	ck_assert(!s2s_identity_matches(x, d));
	X509_free(x);
	x = cert(d, srv("_xmpp-client.example.org"), NULL);
	ck_assert(!s2s_identity_matches(x, d));
	X509_free(x);
	x = cert(d, xmpp_addr("juliet@example.org"), NULL);
	ck_assert(!s2s_identity_matches(x, d));
	X509_free(x);
	/* even an SRV-ID of the wrong string type */
	x = cert(d, other_name(OID_SRV_NAME, V_ASN1_UTF8STRING, "x", 1), NULL);
	ck_assert(!s2s_identity_matches(x, d));
	X509_free(x);
}
END_TEST

/* Other name types (an e-mail address, an unknown otherName) are no
 * identity of ours: the CN still speaks. */
START_TEST(cn_used_beside_other_san)
{
	X509 *x = cert(
		"example.org", email("admin@example.org"),
		other_name("1.3.6.1.4.1.99999.1", V_ASN1_UTF8STRING, "x", 1),
		NULL);
	ck_assert(s2s_identity_matches(x, "example.org"));
	ck_assert(!s2s_identity_matches(x, "example.net"));
	X509_free(x);
}
END_TEST

/* RFC 5280 §4.2: an extension appears at most once. Two
 * subjectAltNames must not read as none and open the CN fallback. */
START_TEST(repeated_san_extension_refused)
{
	X509 *x = cert_new();
	add_cn(x, "example.org");
	add_sans_list(x, dns("a.example"), NULL);
	add_sans_list(x, dns("b.example"), NULL);
	x = cert_finish(x);
	ck_assert(!s2s_identity_matches(x, "example.org"));
	ck_assert(!s2s_identity_matches(x, "a.example"));
	X509_free(x);
}
END_TEST

START_TEST(no_names_proves_nothing)
{
	X509 *x = cert(NULL, NULL);
	ck_assert(!s2s_identity_matches(x, "example.org"));
	ck_assert(!s2s_identity_matches(x, ""));
	X509_free(x);
}
END_TEST

START_TEST(bad_arguments)
{
	X509 *x = cert("example.org", dns("example.org"), NULL);
	ck_assert(!s2s_identity_matches(x, NULL));
	ck_assert(!s2s_identity_matches(x, ""));
	ck_assert(!s2s_identity_matches(x, "."));
	ck_assert(!s2s_identity_matches(NULL, "example.org"));
	X509_free(x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("s2s_identity");
	TCase *srv_id = tcase_create("srv-id");
	tcase_add_test(srv_id, srv_id_xmpp_server_proves);
	tcase_add_test(srv_id, srv_id_xmpp_client_refused);
	tcase_add_test(srv_id, srv_id_ignores_case);
	tcase_add_test(srv_id, srv_id_of_wrong_type_refused);
	tcase_add_test(srv_id, srv_id_wildcard_refused);
	suite_add_tcase(s, srv_id);
	TCase *xmpp = tcase_create("xmppaddr");
	tcase_add_test(xmpp, xmpp_addr_proves);
	tcase_add_test(xmpp, xmpp_addr_of_a_user_refused);
	tcase_add_test(xmpp, xmpp_addr_of_wrong_type_refused);
	suite_add_tcase(s, xmpp);
	TCase *dns_id = tcase_create("dns-id");
	tcase_add_test(dns_id, dns_id_exact);
	tcase_add_test(dns_id, dns_id_ignores_case);
	tcase_add_test(dns_id, dns_id_wildcard);
	tcase_add_test(dns_id, dns_id_partial_wildcard_refused);
	tcase_add_test(dns_id, dns_id_wildcard_over_one_label_refused);
	tcase_add_test(dns_id, domain_with_star_refused);
	suite_add_tcase(s, dns_id);
	TCase *form = tcase_create("form");
	tcase_add_test(form, trailing_dots_ignored);
	tcase_add_test(form, embedded_nul_refused);
	tcase_add_test(form, cn_with_embedded_nul_refused);
	suite_add_tcase(s, form);
	TCase *cn = tcase_create("cn-id");
	tcase_add_test(cn, any_san_may_prove);
	tcase_add_test(cn, cn_without_san_proves);
	tcase_add_test(cn, cn_wildcard_refused);
	tcase_add_test(cn, cn_second_entry_proves);
	tcase_add_test(cn, cn_in_bmp_string);
	tcase_add_test(cn, cn_ignored_beside_identity_san);
	tcase_add_test(cn, cn_used_beside_other_san);
	tcase_add_test(cn, repeated_san_extension_refused);
	tcase_add_test(cn, no_names_proves_nothing);
	tcase_add_test(cn, bad_arguments);
	suite_add_tcase(s, cn);
	return unit_run(s);
}
