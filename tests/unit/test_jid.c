/* jid: RFC 7622 syntax and the RFC 6122 stringprep profiles, case by case. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stringprep.h>

#include "../../lib/jid.h"
#include "unit.h"

static void assert_parses(const char *s, const char *local, const char *domain,
			  const char *resource)
{
	struct jid j;
	ck_assert_msg(jid_parse_str(&j, s) == 0, "'%s' should parse", s);
	ck_assert_str_eq(j.local, local);
	ck_assert_str_eq(j.domain, domain);
	ck_assert_str_eq(j.resource, resource);
}

static void assert_refused_len(const char *s, size_t len)
{
	struct jid j;
	ck_assert_msg(jid_parse(&j, s, len) < 0, "'%.*s' should be refused",
		      (int)len, s);
	/* A refused JID leaves nothing half-prepared behind. */
	ck_assert_str_eq(j.local, "");
	ck_assert_str_eq(j.domain, "");
	ck_assert_str_eq(j.resource, "");
}

static void assert_refused(const char *s)
{
	assert_refused_len(s, strlen(s));
}

/* n copies of c in buf, which holds size bytes. */
static char *repeat_into(char *buf, size_t size, const char *c, size_t n)
{
	size_t len = strlen(c);
	ck_assert_uint_lt(n * len, size);
	for (size_t i = 0; i < n; i++)
		memcpy(buf + i * len, c, len);
	buf[n * len] = '\0';
	return buf;
}
#define repeat(buf, c, n) repeat_into(buf, sizeof buf, c, n)

/* Fifteen labels of 63 octets with their dots make 960 octets; a last
 * label of 63 brings the domain to 1023, two more labels of 31 and 32 to
 * 1024. */
static char *long_domain(char *buf, int extra)
{
	char label[64];
	repeat(label, "d", 63);
	buf[0] = '\0';
	for (int i = 0; i < 15; i++)
		strcat(strcat(buf, label), ".");
	if (extra)
		strcat(strcat(strcat(buf, label + 32), "."), label + 31);
	else
		strcat(buf, label);
	ck_assert_uint_eq(strlen(buf), 1023 + (size_t)extra);
	return buf;
}

/* ---- Syntax ------------------------------------------------------------ */

START_TEST(plain_jids_parse)
{
	assert_parses("juliet@example.com/balcony", "juliet", "example.com",
		      "balcony");
	assert_parses("juliet@example.com", "juliet", "example.com", "");
	assert_parses("example.com/balcony", "", "example.com", "balcony");
	assert_parses("example.com", "", "example.com", "");
}
END_TEST

START_TEST(resource_keeps_everything_after_first_slash)
{
	assert_parses("a@b/c@d/e", "a", "b", "c@d/e");
	assert_parses("d/r@x", "", "d", "r@x");
	assert_parses("d/r/s", "", "d", "r/s");
}
END_TEST

START_TEST(second_at_lands_in_the_domain)
{
	/* RFC 7622 §3.1: local "a", domain "b@c", which is no domain. */
	assert_refused("a@b@c");
}
END_TEST

START_TEST(empty_parts_are_refused)
{
	assert_refused("");
	assert_refused("@example.com");
	assert_refused("juliet@");
	assert_refused("@");
	assert_refused("/balcony");
	assert_refused("juliet@/balcony");
	assert_refused("juliet@example.com/");
	assert_refused("example.com/");
}
END_TEST

START_TEST(part_mapped_to_nothing_is_empty)
{
	/* RFC 3454 B.1: U+00AD SOFT HYPHEN maps to nothing. */
	assert_parses("ju\xC2\xAD"
		      "liet@example.com",
		      "juliet", "example.com", "");
	assert_refused("\xC2\xAD@example.com");
}
END_TEST

/* ---- Folding ----------------------------------------------------------- */

START_TEST(local_and_domain_are_case_folded_resource_is_not)
{
	assert_parses("JuLiEt@ExAmPlE.CoM/BaLcOnY", "juliet", "example.com",
		      "BaLcOnY");
	/* U+00C7 → U+00E7, U+00C9 → U+00E9 */
	assert_parses("\xC3\x87"
		      "a@\xC3\x89t\xC3\xA9.fr/\xC3\x87",
		      "\xC3\xA7"
		      "a",
		      "\xC3\xA9t\xC3\xA9.fr", "\xC3\x87");
}
END_TEST

START_TEST(fullwidth_letters_are_width_folded)
{
	/* ＪＵＬＩＥＴ → juliet; NFKC applies to the resource, case folding
	 * does not: Ｒ → R. */
	assert_parses("\xEF\xBC\xAA\xEF\xBC\xB5\xEF\xBC\xAC\xEF\xBC\xA9"
		      "\xEF\xBC\xA5\xEF\xBC\xB4@example.com/\xEF\xBC\xB2",
		      "juliet", "example.com", "R");
	/* Fullwidth full stop U+FF0E separates domain labels. */
	assert_parses("example\xEF\xBC\x8E"
		      "com",
		      "", "example.com", "");
}
END_TEST

/* ---- Lengths ----------------------------------------------------------- */

START_TEST(local_part_of_1023_octets_fits_1024_does_not)
{
	static char s[2048], part[1100];
	repeat(part, "a", 1023);
	strcat(strcpy(s, part), "@example.com");
	assert_parses(s, part, "example.com", "");
	repeat(part, "a", 1024);
	strcat(strcpy(s, part), "@example.com");
	assert_refused(s);
}
END_TEST

START_TEST(resource_of_1023_octets_fits_1024_does_not)
{
	static char s[2048], part[1100];
	repeat(part, "r", 1023);
	strcat(strcpy(s, "example.com/"), part);
	assert_parses(s, "", "example.com", part);
	repeat(part, "r", 1024);
	strcat(strcpy(s, "example.com/"), part);
	assert_refused(s);
}
END_TEST

START_TEST(domain_of_1023_octets_fits_1024_does_not)
{
	static char domain[1100];
	assert_parses(long_domain(domain, 0), "", domain, "");
	assert_refused(long_domain(domain, 1));
}
END_TEST

START_TEST(part_that_grows_past_1023_octets_is_refused)
{
	/* U+FDFA (3 octets) is 33 octets after NFKC: 31 make 1023. */
	static char s[2048], part[1100];
	strcat(strcpy(s, "example.com/"), repeat(part, "\xEF\xB7\xBA", 31));
	ck_assert_int_eq(jid_parse_str(&(struct jid){0}, s), 0);
	strcat(strcpy(s, "example.com/"), repeat(part, "\xEF\xB7\xBA", 32));
	assert_refused(s);
}
END_TEST

START_TEST(domain_label_over_63_octets_is_refused)
{
	static char label[128];
	assert_parses(repeat(label, "l", 63), "", label, "");
	assert_refused(repeat(label, "l", 64));
	/* Fifty 'ä' are "xn--4caaa…" in 56 octets, fifty-nine are 65. */
	assert_parses(repeat(label, "\xC3\xA4", 50), "", label, "");
	assert_refused(repeat(label, "\xC3\xA4", 59));
}
END_TEST

/* ---- Bidi and prohibited characters ------------------------------------ */

START_TEST(mixed_rtl_and_ltr_is_refused)
{
	/* RFC 3454 §6: U+05D0 HEBREW LETTER ALEF beside Latin letters. */
	assert_refused("a\xD7\x90@example.com");
	assert_refused("juliet@a\xD7\x90.com");
	assert_refused("example.com/r\xD7\x90");
	/* A Hebrew label that starts and ends right to left is fine. */
	assert_parses("\xD7\x90\xD7\x91@example.com", "\xD7\x90\xD7\x91",
		      "example.com", "");
}
END_TEST

START_TEST(nodeprep_prohibited_characters_are_refused)
{
	/* RFC 6122 Appendix A.5: " & ' / : < > @ and ASCII space. */
	static const char *const bad[] = {"a\"b@d", "a&b@d", "a'b@d", "a:b@d",
					  "a<b@d",  "a>b@d", "a b@d"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_refused(bad[i]);
}
END_TEST

START_TEST(replacement_character_is_refused)
{
	/* RFC 3454 C.6: U+FFFD is inappropriate for plain text. */
	assert_refused("a\xEF\xBF\xBD@example.com");
	assert_refused("example\xEF\xBF\xBD.com");
	assert_refused("example.com/\xEF\xBF\xBD");
}
END_TEST

START_TEST(control_characters_are_refused)
{
	assert_refused("a\x01@example.com");
	assert_refused("exa\x01mple.com");
	assert_refused("example.com/r\x01");
	assert_refused("example.com/r\x7F");
	/* U+0085 NEXT LINE, a non-ASCII control (C.2.2). */
	assert_refused("example.com/r\xC2\x85");
}
END_TEST

START_TEST(space_is_allowed_only_in_resource)
{
	assert_parses("example.com/the balcony", "", "example.com",
		      "the balcony");
	assert_refused("jul iet@example.com");
	assert_refused("exa mple.com");
}
END_TEST

START_TEST(domain_outside_letters_digits_hyphen_is_refused)
{
	assert_refused("exa_mple.com");
	assert_refused("-example.com");
	assert_refused("example-.com");
	assert_refused("exa..mple.com");
	assert_refused(".example.com");
	assert_parses("my-host.example.com", "", "my-host.example.com", "");
}
END_TEST

/* ---- Domain forms ------------------------------------------------------ */

START_TEST(one_trailing_dot_is_stripped)
{
	assert_parses("juliet@example.com./balcony", "juliet", "example.com",
		      "balcony");
	assert_parses("example.com.", "", "example.com", "");
	assert_refused("example.com..");
	assert_refused(".");
}
END_TEST

START_TEST(ideographic_full_stop_separates_labels)
{
	assert_parses("example\xE3\x80\x82"
		      "com",
		      "", "example.com", "");
}
END_TEST

START_TEST(ip_literals_are_kept)
{
	assert_parses("juliet@[2001:DB8::1]/balcony", "juliet", "[2001:db8::1]",
		      "balcony");
	assert_parses("[::1]", "", "[::1]", "");
	assert_parses("juliet@192.0.2.1", "juliet", "192.0.2.1", "");
	assert_refused("[2001:db8::zz]");
	assert_refused("[::1");
	assert_refused("[]");
	assert_refused_len("[::1\0x]", 7);
}
END_TEST

/* ---- Encoding ---------------------------------------------------------- */

START_TEST(invalid_utf8_is_refused)
{
	assert_refused("\xC3@example.com");             /* truncated */
	assert_refused("juliet@example.com/\xFF");      /* never UTF-8 */
	assert_refused("\xC0\xAF@example.com");         /* overlong '/' */
	assert_refused("example.com/\xED\xA0\x80");     /* surrogate */
	assert_refused("example.com/\xF4\x90\x80\x80"); /* over U+10FFFF */
	assert_refused("exa\x80mple.com");              /* lone continuation */
}
END_TEST

START_TEST(embedded_nul_is_refused)
{
	assert_refused_len("jul\0iet@example.com", 19);
	assert_refused_len("juliet@exa\0mple.com", 19);
	assert_refused_len("juliet@example.com/r\0", 21);
}
END_TEST

/* ---- Formatting and comparison ----------------------------------------- */

START_TEST(format_round_trips)
{
	struct jid j, again;
	char s[JID_MAX + 1];
	ck_assert_int_eq(jid_parse_str(&j, "JuLiet@Example.COM./Balcony"), 0);
	ck_assert_uint_eq(jid_format(&j, s), strlen(s));
	ck_assert_str_eq(s, "juliet@example.com/Balcony");
	ck_assert_int_eq(jid_parse_str(&again, s), 0);
	ck_assert(jid_equal(&j, &again));
	ck_assert_uint_eq(jid_format_bare(&j, s), 18);
	ck_assert_str_eq(s, "juliet@example.com");
}
END_TEST

START_TEST(format_leaves_absent_parts_out)
{
	struct jid j;
	char s[JID_MAX + 1];
	ck_assert_int_eq(jid_parse_str(&j, "example.com/r"), 0);
	jid_format(&j, s);
	ck_assert_str_eq(s, "example.com/r");
	jid_format_bare(&j, s);
	ck_assert_str_eq(s, "example.com");
	ck_assert_int_eq(jid_parse_str(&j, "example.com"), 0);
	jid_format(&j, s);
	ck_assert_str_eq(s, "example.com");
}
END_TEST

START_TEST(format_of_longest_jid_fits)
{
	static char in[JID_MAX + 100], part[1100], domain[1100];
	struct jid j;
	char s[JID_MAX + 1];
	long_domain(domain, 0);
	repeat(part, "x", 1023);
	strcat(strcat(strcat(strcat(strcpy(in, part), "@"), domain), "/"),
	       part);
	ck_assert_int_eq(jid_parse_str(&j, in), 0);
	ck_assert_uint_eq(jid_format(&j, s), JID_MAX);
	ck_assert_str_eq(s, in);
}
END_TEST

START_TEST(equal_compares_prepared_parts)
{
	struct jid a, b, c, d;
	ck_assert_int_eq(jid_parse_str(&a, "Juliet@Example.COM/r"), 0);
	ck_assert_int_eq(jid_parse_str(&b, "juliet@example.com./r"), 0);
	ck_assert_int_eq(jid_parse_str(&c, "juliet@example.com/R"), 0);
	ck_assert_int_eq(jid_parse_str(&d, "juliet@example.com"), 0);
	ck_assert(jid_equal(&a, &b));
	ck_assert(!jid_equal(&a, &c));
	ck_assert(jid_equal_bare(&a, &c));
	ck_assert(!jid_equal(&a, &d));
	ck_assert(jid_equal_bare(&a, &d));
	ck_assert(!jid_is_bare(&a));
	ck_assert(jid_is_bare(&d));
}
END_TEST

START_TEST(parts_prepare_alone)
{
	char out[JID_PART_MAX + 1];
	ck_assert_int_eq(jid_prep_local(out, "Juliet"), 0);
	ck_assert_str_eq(out, "juliet");
	ck_assert_int_eq(jid_prep_local(out, "a@b"), -1);
	ck_assert_int_eq(jid_prep_domain(out, "Example.ORG"), 0);
	ck_assert_str_eq(out, "example.org");
	ck_assert_int_eq(jid_prep_domain(out, "a b"), -1);
	ck_assert_int_eq(jid_prep_domain(out, ""), -1);
	ck_assert_int_eq(jid_prep_resource(out, "Balcony/2"), 0);
	ck_assert_str_eq(out, "Balcony/2");
	ck_assert_int_eq(jid_prep_resource(out, ""), -1);
}
END_TEST

/* The ASCII fast path gives exactly what libidn gives. */
static void same_as_libidn(int (*prep)(char *, const char *),
			   const Stringprep_profile *profile)
{
	for (int c = 0x20; c <= 0x7E; c++) {
		char in[8], ours[JID_PART_MAX + 1], theirs[JID_PART_MAX + 1];
		snprintf(in, sizeof in, "aB%cZ", c);
		int r1 = prep(ours, in);
		snprintf(theirs, sizeof theirs, "%s", in);
		int r2 = stringprep(theirs, sizeof theirs, 0, profile) ==
					 STRINGPREP_OK
				 ? 0
				 : -1;
		ck_assert_msg(r1 == r2, "'%s': %d, libidn %d", in, r1, r2);
		if (r1 == 0)
			ck_assert_str_eq(ours, theirs);
	}
}

START_TEST(ascii_fast_path_matches_libidn)
{
	same_as_libidn(jid_prep_local, stringprep_xmpp_nodeprep);
	same_as_libidn(jid_prep_resource, stringprep_xmpp_resourceprep);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jid");
	TCase *tc = tcase_create("jid");
	tcase_add_test(tc, plain_jids_parse);
	tcase_add_test(tc, ascii_fast_path_matches_libidn);
	tcase_add_test(tc, resource_keeps_everything_after_first_slash);
	tcase_add_test(tc, second_at_lands_in_the_domain);
	tcase_add_test(tc, empty_parts_are_refused);
	tcase_add_test(tc, part_mapped_to_nothing_is_empty);
	tcase_add_test(tc, local_and_domain_are_case_folded_resource_is_not);
	tcase_add_test(tc, fullwidth_letters_are_width_folded);
	tcase_add_test(tc, local_part_of_1023_octets_fits_1024_does_not);
	tcase_add_test(tc, resource_of_1023_octets_fits_1024_does_not);
	tcase_add_test(tc, domain_of_1023_octets_fits_1024_does_not);
	tcase_add_test(tc, part_that_grows_past_1023_octets_is_refused);
	tcase_add_test(tc, domain_label_over_63_octets_is_refused);
	tcase_add_test(tc, mixed_rtl_and_ltr_is_refused);
	tcase_add_test(tc, nodeprep_prohibited_characters_are_refused);
	tcase_add_test(tc, replacement_character_is_refused);
	tcase_add_test(tc, control_characters_are_refused);
	tcase_add_test(tc, space_is_allowed_only_in_resource);
	tcase_add_test(tc, domain_outside_letters_digits_hyphen_is_refused);
	tcase_add_test(tc, one_trailing_dot_is_stripped);
	tcase_add_test(tc, ideographic_full_stop_separates_labels);
	tcase_add_test(tc, ip_literals_are_kept);
	tcase_add_test(tc, invalid_utf8_is_refused);
	tcase_add_test(tc, embedded_nul_is_refused);
	tcase_add_test(tc, format_round_trips);
	tcase_add_test(tc, format_leaves_absent_parts_out);
	tcase_add_test(tc, format_of_longest_jid_fits);
	tcase_add_test(tc, equal_compares_prepared_parts);
	tcase_add_test(tc, parts_prepare_alone);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
