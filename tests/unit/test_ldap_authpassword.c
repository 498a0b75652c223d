/* scram_secret_parse: RFC 5803 authPassword values as a directory holds
 * them, the inverse of scram_secret_format. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../auth/scram_keys.h"
#include "unit.h"

/* RFC 7677 §3's exchange (user "user", password "pencil"), stored. */
#define SHA256_VALUE                                                           \
	"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"                         \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"                        \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
/* RFC 5802 §5's (password "pencil"). */
#define SHA1_VALUE                                                             \
	"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"      \
	"D+CSWLOshSulAsxiupA+qs2/fTE="

static int parse(const char *value, enum scram_hash *hash,
		 struct scram_secret *secret)
{
	return scram_secret_parse(value, strlen(value), hash, secret);
}

START_TEST(rfc_values_parse_and_verify_their_password)
{
	enum scram_hash hash;
	struct scram_secret s;
	ck_assert_int_eq(parse(SHA256_VALUE, &hash, &s), 0);
	ck_assert_int_eq(hash, SCRAM_SHA_256);
	ck_assert_uint_eq(s.iterations, 4096);
	ck_assert_uint_eq(s.salt_len, 16);
	ck_assert(scram_secret_check(SCRAM_SHA_256, &s, "pencil"));
	ck_assert(!scram_secret_check(SCRAM_SHA_256, &s, "pencil2"));

	ck_assert_int_eq(parse(SHA1_VALUE, &hash, &s), 0);
	ck_assert_int_eq(hash, SCRAM_SHA_1);
	ck_assert_uint_eq(s.salt_len, 12);
	ck_assert(scram_secret_check(SCRAM_SHA_1, &s, "pencil"));
}
END_TEST

START_TEST(format_and_parse_round_trip)
{
	struct scram_secret made, back;
	enum scram_hash hash;
	char value[256];
	ck_assert_int_eq(scram_secret_make(SCRAM_SHA_256, "s3cret", 0, &made),
			 0);
	ck_assert_uint_gt(
		scram_secret_format(SCRAM_SHA_256, &made, value, sizeof value),
		0);
	ck_assert_int_eq(parse(value, &hash, &back), 0);
	ck_assert_int_eq(hash, SCRAM_SHA_256);
	ck_assert_uint_eq(back.iterations, made.iterations);
	ck_assert_mem_eq(back.salt, made.salt, made.salt_len);
	ck_assert_mem_eq(back.stored_key, made.stored_key, 32);
	ck_assert_mem_eq(back.server_key, made.server_key, 32);
}
END_TEST

START_TEST(spaces_around_dollars_and_scheme_case_are_accepted)
{
	/* RFC 3112 §3: w "$" w between the parts; schemes are
	 * case-insensitive. */
	enum scram_hash hash;
	struct scram_secret s;
	ck_assert_int_eq(parse(" scram-sha-1 $ 4096:QSXCR+Q6sek8bf92 $ "
			       "6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+"
			       "CSWLOshSulAsxiupA+qs2/fTE= ",
			       &hash, &s),
			 0);
	ck_assert(scram_secret_check(SCRAM_SHA_1, &s, "pencil"));
}
END_TEST

START_TEST(other_schemes_and_malformed_values_are_refused)
{
	static const char *const bad[] = {
		"", "{SSHA}abcd", "MD5$c2FsdA==$aGFzaA==",
		"SCRAM-SHA-512$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
		"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
		"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		/* too few iterations (RFC 7677 §4: at least 4096) */
		"SCRAM-SHA-1$1000:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y="
		":"
		"D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$x4096:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"
		"D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$99999999999:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"
		"D+CSWLOshSulAsxiupA+qs2/fTE=",
		/* no salt */
		"SCRAM-SHA-1$4096:$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"
		"D+CSWLOshSulAsxiupA+qs2/fTE=",
		/* bad base64 */
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf9$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"
		"D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y="
		":"
		"D+CSWLOshSulAsxiupA+qs2/fTF=",
		"SCRAM-SHA-1$4096:QSXC*+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y="
		":"
		"D+CSWLOshSulAsxiupA+qs2/fTE=",
		/* a SHA-256 key length under SCRAM-SHA-1 */
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$"
		"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
		"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		/* parts missing */
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$"
		"6dlGYMOdZcOPutkcNY8U2g7vK9Y=",
		"SCRAM-SHA-1$4096$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"
		"D+CSWLOshSulAsxiupA+qs2/fTE=",
		NULL};
	for (size_t i = 0; bad[i]; i++) {
		enum scram_hash hash;
		struct scram_secret s;
		ck_assert_msg(parse(bad[i], &hash, &s) < 0,
			      "'%s' should be refused", bad[i]);
	}
}
END_TEST

START_TEST(a_nul_inside_is_refused)
{
	enum scram_hash hash;
	struct scram_secret s;
	char value[] = SHA1_VALUE;
	value[20] = '\0';
	ck_assert_int_lt(scram_secret_parse(value, sizeof value - 1, &hash, &s),
			 0);
}
END_TEST

START_TEST(salt_longer_than_kept_is_refused)
{
	/* 66 bytes of salt: more than SCRAM_SALT_MAX. */
	char value[512];
	snprintf(value, sizeof value,
		 "SCRAM-SHA-1$4096:%s$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"
		 "D+CSWLOshSulAsxiupA+qs2/fTE=",
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		 "QUFBQUFBQUFBQUFBQUFBQUFBQUFB");
	enum scram_hash hash;
	struct scram_secret s;
	ck_assert_int_lt(parse(value, &hash, &s), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ldap_authpassword");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, rfc_values_parse_and_verify_their_password);
	tcase_add_test(tc, format_and_parse_round_trip);
	tcase_add_test(tc, spaces_around_dollars_and_scheme_case_are_accepted);
	tcase_add_test(tc, other_schemes_and_malformed_values_are_refused);
	tcase_add_test(tc, a_nul_inside_is_refused);
	tcase_add_test(tc, salt_longer_than_kept_is_refused);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
