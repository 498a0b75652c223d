/* ldap_stamp: which password stamp an entry shows, and how palabre
 * judges its authPassword values against what it last trusted. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../auth/ldap_stamp.h"
#include "unit.h"

/* RFC 7677 §3's exchange (password "pencil"), as RFC 5803 stores it. */
#define SHA256_VALUE                                                           \
	"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"                         \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"                        \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

static struct berval bv(const char *s)
{
	return (struct berval){.bv_len = strlen(s), .bv_val = (char *)s};
}

/* The view of an entry with these attribute values (NULL: absent). */
static void view_of(struct ldap_stamp_view *v, const char *user_password,
		    const char *user_password2, const char *changed,
		    const char *csn, const struct scram_secret *sha256)
{
	struct berval up[2] = {bv(user_password ? user_password : ""),
			       bv(user_password2 ? user_password2 : "")};
	struct berval ch = bv(changed ? changed : ""), cs = bv(csn ? csn : "");
	struct berval *up_list[3] = {&up[0], user_password2 ? &up[1] : NULL,
				     NULL};
	struct berval *ch_list[2] = {&ch, NULL}, *cs_list[2] = {&cs, NULL};
	struct berval **const values[LDAP_STAMP_KINDS] = {
		[LDAP_STAMP_USER_PASSWORD] = user_password ? up_list : NULL,
		[LDAP_STAMP_PWD_CHANGED_TIME] = changed ? ch_list : NULL,
		[LDAP_STAMP_ENTRY_CSN] = csn ? cs_list : NULL,
	};
	ldap_stamp_view_make(v, values, NULL, sha256);
}

static struct scram_secret secret(void)
{
	struct scram_secret s;
	enum scram_hash hash;
	ck_assert_int_eq(scram_secret_parse(SHA256_VALUE, strlen(SHA256_VALUE),
					    &hash, &s),
			 0);
	return s;
}

#define CSN1 "20261207190403.453000Z#000000#000#000000"
#define CSN2 "20261207190403.460000Z#000000#000#000000"

START_TEST(the_first_stamp_the_service_account_reads_is_used)
{
	struct scram_secret s = secret();
	struct ldap_stamp_view v;
	view_of(&v, "{SSHA}aGFzaA==", NULL, "20261207190403Z", CSN1, &s);
	ck_assert_int_eq(v.kind, LDAP_STAMP_USER_PASSWORD);
	view_of(&v, NULL, NULL, "20261207190403Z", CSN1, &s);
	ck_assert_int_eq(v.kind, LDAP_STAMP_PWD_CHANGED_TIME);
	view_of(&v, NULL, NULL, NULL, CSN1, &s);
	ck_assert_int_eq(v.kind, LDAP_STAMP_ENTRY_CSN);
	view_of(&v, NULL, NULL, NULL, NULL, &s);
	ck_assert_int_eq(v.kind, LDAP_STAMP_NONE);
	ck_assert_int_eq(ldap_stamp_judge(NULL, &v), LDAP_STAMP_BLIND);
}
END_TEST

START_TEST(a_clear_user_password_is_never_a_stamp)
{
	/* Its digest would be an unsalted hash of the password. */
	struct scram_secret s = secret();
	struct ldap_stamp_view v;
	view_of(&v, "pencil", NULL, NULL, CSN1, &s);
	ck_assert_int_eq(v.kind, LDAP_STAMP_ENTRY_CSN);
	view_of(&v, "{SSHA}aGFzaA==", "pencil", NULL, CSN1, &s);
	ck_assert_int_eq(v.kind, LDAP_STAMP_ENTRY_CSN);
	view_of(&v, "{SSHA}", NULL, NULL, CSN1, &s);
	ck_assert_int_eq(v.kind, LDAP_STAMP_USER_PASSWORD);
	view_of(&v, "{}x", NULL, NULL, CSN1, &s);
	ck_assert_int_eq(v.kind, LDAP_STAMP_ENTRY_CSN);
	view_of(&v, "{SSHA x", NULL, NULL, CSN1, &s);
	ck_assert_int_eq(v.kind, LDAP_STAMP_ENTRY_CSN);
	/* 389-ds stores clear passwords as {CLEAR}…: no scheme of a hash. */
	view_of(&v, "{CLEAR}pencil", NULL, NULL, CSN1, &s);
	ck_assert_int_eq(v.kind, LDAP_STAMP_ENTRY_CSN);
	view_of(&v, "{SSHA}aGFzaA==", "{cleartext}pencil", NULL, CSN1, &s);
	ck_assert_int_eq(v.kind, LDAP_STAMP_ENTRY_CSN);
}
END_TEST

START_TEST(the_order_of_values_does_not_matter)
{
	struct scram_secret s = secret();
	struct ldap_stamp_view a, b, c;
	view_of(&a, "{SSHA}b25l", "{CRYPT}dHdv", NULL, NULL, &s);
	view_of(&b, "{CRYPT}dHdv", "{SSHA}b25l", NULL, NULL, &s);
	view_of(&c, "{SSHA}b25l", NULL, NULL, NULL, &s);
	ck_assert_mem_eq(a.password, b.password, LOCAL_STAMP_LEN);
	ck_assert(memcmp(a.password, c.password, LOCAL_STAMP_LEN) != 0);
}
END_TEST

START_TEST(the_kind_is_part_of_the_stamp)
{
	/* Moving to pwdChangedTime (ppolicy's first change) is a change. */
	struct scram_secret s = secret();
	struct ldap_stamp_view a, b;
	view_of(&a, NULL, NULL, NULL, "20261207190403Z", &s);
	view_of(&b, NULL, NULL, "20261207190403Z", "20261207190403Z", &s);
	ck_assert(memcmp(a.password, b.password, LOCAL_STAMP_LEN) != 0);
}
END_TEST

START_TEST(judged_against_the_record)
{
	struct scram_secret s = secret(), other = secret();
	other.iterations = 8192;
	struct ldap_stamp_view v, changed, rewritten;
	view_of(&v, NULL, NULL, NULL, CSN1, &s);
	view_of(&changed, NULL, NULL, NULL, CSN2, &s);
	view_of(&rewritten, NULL, NULL, NULL, CSN2, &other);
	struct local_stamp record = {0};
	memcpy(record.password, v.password, LOCAL_STAMP_LEN);
	memcpy(record.secrets, v.secrets, LOCAL_STAMP_LEN);
	ck_assert_int_eq(ldap_stamp_judge(NULL, &v), LDAP_STAMP_NEW);
	ck_assert_int_eq(ldap_stamp_judge(&record, &v), LDAP_STAMP_SAME);
	ck_assert_int_eq(ldap_stamp_judge(&record, &changed), LDAP_STAMP_STALE);
	ck_assert_int_eq(ldap_stamp_judge(&record, &rewritten),
			 LDAP_STAMP_REWRITTEN);
}
END_TEST

/* ---- with accounts.sqlite ---------------------------------------------- */

static char dir[] = "/tmp/palabre-test-ldap-stamp-XXXXXX";
static char path[64];

static struct local_db *open_db(void)
{
	char err[512];
	struct local_db *db = local_open(path, err, sizeof err);
	ck_assert_msg(db != NULL, "%s", err);
	return db;
}

START_TEST(records_are_kept_and_replaced)
{
	struct local_db *db = open_db();
	char err[512];
	struct local_stamp in = {0}, out;
	memset(in.password, 1, LOCAL_STAMP_LEN);
	memset(in.secrets, 2, LOCAL_STAMP_LEN);
	ck_assert_int_eq(local_stamp_get(db, "example.org", "kept", &out, err,
					 sizeof err),
			 LOCAL_NOT_FOUND);
	ck_assert_int_eq(local_stamp_put(db, "example.org", "kept", &in, err,
					 sizeof err),
			 LOCAL_OK);
	memset(in.warned, 3, LOCAL_STAMP_LEN);
	ck_assert_int_eq(local_stamp_put(db, "example.org", "kept", &in, err,
					 sizeof err),
			 LOCAL_OK);
	ck_assert_int_eq(local_stamp_get(db, "example.org", "kept", &out, err,
					 sizeof err),
			 LOCAL_OK);
	ck_assert_mem_eq(&in, &out, sizeof in);
	local_close(db);
}
END_TEST

START_TEST(scram_stops_when_the_password_changes_alone)
{
	struct local_db *db = open_db();
	struct scram_secret s = secret();
	struct ldap_stamp_view v, changed;
	view_of(&v, "{SSHA}b2xk", NULL, NULL, NULL, &s);
	view_of(&changed, "{SSHA}bmV3", NULL, NULL, NULL, &s);
	/* First use: trusted and remembered, then the same again. */
	ck_assert_int_eq(ldap_stamp_trust(db, "d", "example.org", "u", &v), 1);
	ck_assert_int_eq(ldap_stamp_trust(db, "d", "example.org", "u", &v), 1);
	/* ldappasswd: the stamp moves, the secrets stay. */
	ck_assert_int_eq(
		ldap_stamp_trust(db, "d", "example.org", "u", &changed), 0);
	ck_assert_int_eq(
		ldap_stamp_trust(db, "d", "example.org", "u", &changed), 0);
	/* A PLAIN login with a password that does not give them. */
	ldap_stamp_confirm(db, "d", "example.org", "u", &changed, NULL, &s,
			   "new password");
	ck_assert_int_eq(
		ldap_stamp_trust(db, "d", "example.org", "u", &changed), 0);
	/* Nor does going back to the old stamp make them good again. */
	ck_assert_int_eq(ldap_stamp_trust(db, "d", "example.org", "u", &v), 0);
	local_close(db);
}
END_TEST

START_TEST(a_plain_login_that_gives_the_secrets_heals_a_false_alarm)
{
	struct local_db *db = open_db();
	struct scram_secret s = secret();
	struct ldap_stamp_view v, changed;
	view_of(&v, NULL, NULL, NULL, CSN1, &s);
	view_of(&changed, NULL, NULL, NULL, CSN2, &s);
	ck_assert_int_eq(ldap_stamp_trust(db, "d", "example.org", "h", &v), 1);
	ck_assert_int_eq(
		ldap_stamp_trust(db, "d", "example.org", "h", &changed), 0);
	ldap_stamp_confirm(db, "d", "example.org", "h", &changed, NULL, &s,
			   "pencil");
	ck_assert_int_eq(
		ldap_stamp_trust(db, "d", "example.org", "h", &changed), 1);
	local_close(db);
}
END_TEST

START_TEST(secrets_rewritten_with_the_password_are_trusted)
{
	struct local_db *db = open_db();
	struct scram_secret s = secret(), other = secret();
	other.salt[0] ^= 1;
	struct ldap_stamp_view v, both, stale;
	view_of(&v, "{SSHA}b2xk", NULL, NULL, NULL, &s);
	view_of(&both, "{SSHA}bmV3", NULL, NULL, NULL, &other);
	view_of(&stale, "{SSHA}bmV3ZXI=", NULL, NULL, NULL, &other);
	ck_assert_int_eq(ldap_stamp_trust(db, "d", "example.org", "r", &v), 1);
	ck_assert_int_eq(ldap_stamp_trust(db, "d", "example.org", "r", &both),
			 1);
	/* The record follows the rewrite: the next lone change shows. */
	ck_assert_int_eq(ldap_stamp_trust(db, "d", "example.org", "r", &stale),
			 0);
	local_close(db);
}
END_TEST

START_TEST(a_first_plain_login_can_find_them_stale)
{
	struct local_db *db = open_db();
	struct scram_secret s = secret();
	struct ldap_stamp_view v;
	view_of(&v, "{SSHA}bmV3", NULL, NULL, NULL, &s);
	ldap_stamp_confirm(db, "d", "example.org", "f", &v, NULL, &s, "new");
	ck_assert_int_eq(ldap_stamp_trust(db, "d", "example.org", "f", &v), 0);
	local_close(db);
}
END_TEST

/* Values left behind by a password change made before palabre first saw
 * the account: a SCRAM exchange opened for it (by anyone, with any proof)
 * trusts them; the owner's PLAIN login with the current password must
 * still find them stale, or the old password works by SCRAM for ever. */
START_TEST(a_plain_login_checks_values_a_first_scram_lookup_trusted)
{
	struct local_db *db = open_db();
	struct scram_secret s = secret(); /* from "pencil", the old password */
	struct ldap_stamp_view v;
	view_of(&v, "{SSHA}bmV3", NULL, NULL, NULL, &s);
	ck_assert_int_eq(ldap_stamp_trust(db, "d", "example.org", "t", &v), 1);
	ldap_stamp_confirm(db, "d", "example.org", "t", &v, NULL, &s,
			   "new password");
	ck_assert_int_eq(ldap_stamp_trust(db, "d", "example.org", "t", &v), 0);
	/* A login whose password gives them (changed back): trusted again. */
	ldap_stamp_confirm(db, "d", "example.org", "t", &v, NULL, &s, "pencil");
	ck_assert_int_eq(ldap_stamp_trust(db, "d", "example.org", "t", &v), 1);
	local_close(db);
}
END_TEST

START_TEST(no_database_is_an_error_not_a_pass)
{
	struct scram_secret s = secret();
	struct ldap_stamp_view v;
	view_of(&v, NULL, NULL, NULL, CSN1, &s);
	ck_assert_int_eq(ldap_stamp_trust(NULL, "d", "example.org", "n", &v),
			 -1);
}
END_TEST

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	snprintf(path, sizeof path, "%s/accounts.sqlite", dir);
	Suite *s = suite_create("ldap_stamp");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, the_first_stamp_the_service_account_reads_is_used);
	tcase_add_test(tc, a_clear_user_password_is_never_a_stamp);
	tcase_add_test(tc, the_order_of_values_does_not_matter);
	tcase_add_test(tc, the_kind_is_part_of_the_stamp);
	tcase_add_test(tc, judged_against_the_record);
	tcase_add_test(tc, records_are_kept_and_replaced);
	tcase_add_test(tc, scram_stops_when_the_password_changes_alone);
	tcase_add_test(
		tc, a_plain_login_that_gives_the_secrets_heals_a_false_alarm);
	tcase_add_test(tc, secrets_rewritten_with_the_password_are_trusted);
	tcase_add_test(tc, a_first_plain_login_can_find_them_stale);
	tcase_add_test(
		tc, a_plain_login_checks_values_a_first_scram_lookup_trusted);
	tcase_add_test(tc, no_database_is_an_error_not_a_pass);
	suite_add_tcase(s, tc);
	int rc = unit_run(s);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = EXIT_FAILURE;
	return rc;
}
