/* ldap_filter: RFC 4515 §3 escaping of login values, and the template. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../auth/ldap_filter.h"
#include "../../lib/jid.h"
#include "unit.h"

static void assert_escapes(const char *in, size_t len, const char *want)
{
	char out[256];
	long n = ldap_filter_escape(in, len, out, sizeof out);
	ck_assert_int_eq(n, (long)strlen(want));
	ck_assert_str_eq(out, want);
}

START_TEST(plain_values_are_unchanged)
{
	assert_escapes("alice.martin", 12, "alice.martin");
	assert_escapes("", 0, "");
	/* UTF-8 goes as it is (RFC 4515 §3: only the five must go). */
	assert_escapes("chlo\xc3\xa9", 6, "chlo\xc3\xa9");
}
END_TEST

START_TEST(the_five_special_bytes_are_escaped)
{
	assert_escapes("*", 1, "\\2a");
	assert_escapes("(", 1, "\\28");
	assert_escapes(")", 1, "\\29");
	assert_escapes("\\", 1, "\\5c");
	assert_escapes("\0", 1, "\\00");
	assert_escapes("a*b(c)d\\e\0f", 11, "a\\2ab\\28c\\29d\\5ce\\00f");
}
END_TEST

START_TEST(escaping_stops_when_out_is_too_small)
{
	char out[4];
	ck_assert_int_eq(ldap_filter_escape("abc", 3, out, sizeof out), 3);
	ck_assert_int_eq(ldap_filter_escape("abcd", 4, out, sizeof out), -1);
	ck_assert_int_eq(ldap_filter_escape("a*", 2, out, sizeof out), -1);
	ck_assert_int_eq(ldap_filter_escape("*", 1, out, sizeof out), 3);
}
END_TEST

static void assert_builds(const char *template, const char *user,
			  const char *domain, const char *want)
{
	char out[LDAP_FILTER_MAX];
	ck_assert_int_eq(
		ldap_filter_build(template, user, domain, out, sizeof out), 0);
	ck_assert_str_eq(out, want);
}

START_TEST(template_takes_user_and_domain)
{
	assert_builds("(mail=%u@%d)", "alice.martin", "example.org",
		      "(mail=alice.martin@example.org)");
	assert_builds("(&(uid=%u)(objectClass=inetOrgPerson))", "amartin",
		      "example.org",
		      "(&(uid=amartin)(objectClass=inetOrgPerson))");
	assert_builds("(cn=100%%)", "x", "d", "(cn=100%)");
	assert_builds("(|(uid=%u)(uid=%u))", "a", "d", "(|(uid=a)(uid=a))");
}
END_TEST

START_TEST(injections_stay_values)
{
	/* What a login could try to widen the search with. */
	assert_builds("(mail=%u@%d)", "*", "example.org",
		      "(mail=\\2a@example.org)");
	assert_builds("(mail=%u@%d)", ")(uid=*", "example.org",
		      "(mail=\\29\\28uid=\\2a@example.org)");
	assert_builds("(uid=%u)", "a)(|(uid=*", "d",
		      "(uid=a\\29\\28|\\28uid=\\2a)");
	assert_builds("(uid=%u)", "x\\2a", "d", "(uid=x\\5c2a)");
	/* The domain is escaped too, though config prepared it. */
	assert_builds("(mail=%u@%d)", "a", "(d)", "(mail=a@\\28d\\29)");
}
END_TEST

START_TEST(longest_local_part_fits)
{
	/* Every byte of a 1023-byte local part escaped to three. */
	char user[JID_PART_MAX + 1], out[LDAP_FILTER_MAX];
	memset(user, '*', JID_PART_MAX);
	user[JID_PART_MAX] = '\0';
	ck_assert_int_eq(ldap_filter_build("(mail=%u@%d)", user, "example.org",
					   out, sizeof out),
			 0);
	ck_assert_uint_eq(strlen(out), 6 + 3 * JID_PART_MAX + 1 + 11 + 1);
	ck_assert_int_eq(ldap_filter_build("(mail=%u@%d)", user, "example.org",
					   out, 100),
			 -1);
}
END_TEST

START_TEST(unknown_percent_sequences_are_refused)
{
	char out[64];
	ck_assert_int_eq(
		ldap_filter_build("(uid=%x)", "a", "d", out, sizeof out), -1);
	ck_assert_int_eq(ldap_filter_build("(uid=%", "a", "d", out, sizeof out),
			 -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ldap_filter");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, plain_values_are_unchanged);
	tcase_add_test(tc, the_five_special_bytes_are_escaped);
	tcase_add_test(tc, escaping_stops_when_out_is_too_small);
	tcase_add_test(tc, template_takes_user_and_domain);
	tcase_add_test(tc, injections_stay_values);
	tcase_add_test(tc, longest_local_part_fits);
	tcase_add_test(tc, unknown_percent_sequences_are_refused);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
