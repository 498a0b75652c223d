/* auth backends (auth/backend.h): what a host's <auth backend="…">
 * chooses, asked through auth.h as c2s, the sm and palabrectl ask it:
 * mechanisms, lanes, the check at start, attributes and who manages
 * the accounts. No directory runs here: nothing asks one. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../auth/auth.h"
#include "../../auth/local.h"
#include "unit.h"

static char data_dir[64];
static struct config cfg;
static char *all_mechs[] = {"SCRAM-SHA-256-PLUS",
			    "SCRAM-SHA-1-PLUS",
			    "SCRAM-SHA-256",
			    "SCRAM-SHA-1",
			    "PLAIN",
			    "DIGEST-MD5"};
static char *uris[] = {"ldap://127.0.0.1:1/"};

/* local.org: local accounts; a.org and b.org: the directory "central";
 * odd.org: a backend nobody implements. */
static void setup(void)
{
	strcpy(data_dir, "/tmp/palabre-test-backend-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(data_dir));
	memset(&cfg, 0, sizeof cfg);
	cfg.data_dir = data_dir;
	static const char *const domains[] = {"local.org", "a.org", "b.org",
					      "odd.org"};
	static const char *const backends[] = {"local", "ldap", "ldap", "odd"};
	for (size_t i = 0; i < 4; i++) {
		cfg.hosts[i].domain = (char *)domains[i];
		cfg.hosts[i].auth_backend = (char *)backends[i];
		cfg.hosts[i].directory = i == 1 || i == 2 ? 1 : -1;
	}
	cfg.nhosts = 4;
	cfg.directories[0].id = "other";
	cfg.directories[1].id = "central";
	cfg.directories[1].uris[0] = uris[0];
	cfg.directories[1].nuris = 1;
	cfg.directories[1].password_access = CONFIG_LDAP_BIND;
	cfg.ndirectories = 2;
	for (size_t i = 0; i < 6; i++)
		cfg.mechanisms[i] = all_mechs[i];
	cfg.nmechanisms = 6;
	cfg.require_starttls = true;
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", data_dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* want: the names expected, in the configured order, then NULL. */
static void expect_mechs(const char *domain, const char *const *want)
{
	const char *got[16];
	size_t n = auth_mechanisms(&cfg, domain, true, true, got, 16), i;
	for (i = 0; want[i]; i++)
		ck_assert_msg(i < n && strcmp(got[i], want[i]) == 0,
			      "%s: %s missing", domain, want[i]);
	ck_assert_uint_eq(n, i);
}

START_TEST(each_domain_is_offered_what_its_backend_can_verify)
{
	static const char *const every[] = {"SCRAM-SHA-256-PLUS",
					    "SCRAM-SHA-1-PLUS",
					    "SCRAM-SHA-256",
					    "SCRAM-SHA-1",
					    "PLAIN",
					    "DIGEST-MD5",
					    NULL};
	static const char *const bind[] = {"PLAIN", NULL};
	static const char *const scram[] = {"SCRAM-SHA-256-PLUS",
					    "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
					    "SCRAM-SHA-1", NULL};
	static const char *const clear[] = {
		"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
		"SCRAM-SHA-1",        "DIGEST-MD5",       NULL};
	static const char *const none[] = {NULL};
	expect_mechs("local.org", every);
	expect_mechs("a.org", bind);
	cfg.directories[1].password_access = CONFIG_LDAP_AUTH_PASSWORD;
	expect_mechs("a.org", scram);
	cfg.directories[1].password_access = CONFIG_LDAP_CLEAR_PASSWORD;
	expect_mechs("b.org", clear);
	expect_mechs("odd.org", none);
	expect_mechs("nowhere.org", none);
}
END_TEST

START_TEST(directories_have_a_lane_each_after_the_local_accounts)
{
	ck_assert_uint_eq(auth_lane_count(&cfg), 3);
	ck_assert_uint_eq(auth_lane(&cfg, &cfg.hosts[0]), 0);
	ck_assert_uint_eq(auth_lane(&cfg, NULL), 0);
	ck_assert_uint_eq(auth_lane(&cfg, &cfg.hosts[1]), 2);
	ck_assert_uint_eq(auth_lane(&cfg, &cfg.hosts[2]), 2);
	ck_assert_uint_eq(auth_lane(&cfg, &cfg.hosts[3]), 0);
}
END_TEST

START_TEST(palabrectl_manages_local_accounts_only)
{
	char why[512] = "";
	ck_assert(
		!auth_accounts_elsewhere(&cfg, &cfg.hosts[0], why, sizeof why));
	ck_assert(
		auth_accounts_elsewhere(&cfg, &cfg.hosts[1], why, sizeof why));
	ck_assert_str_eq(why, "domain 'a.org' authenticates against the LDAP "
			      "directory 'central' (ldap://127.0.0.1:1/): its "
			      "accounts live in the directory; add, remove or "
			      "change them there (ldapadd, ldapmodify, "
			      "ldappasswd, or your directory's own tools)");
	ck_assert(
		auth_accounts_elsewhere(&cfg, &cfg.hosts[3], why, sizeof why));
	ck_assert_str_eq(why, "domain 'odd.org' uses the 'odd' account "
			      "backend, not local: its accounts are not "
			      "managed here");
}
END_TEST

START_TEST(local_accounts_have_no_attributes)
{
	static const char *const attrs[] = {"cn"};
	char ***values = (char ***)1;
	ck_assert_int_eq(auth_user_attributes(&cfg, "local.org", "alice", attrs,
					      1, &values),
			 AUTH_USER_UNKNOWN);
	ck_assert_ptr_null(values);
	auth_attribute_values_free(values, 1);
}
END_TEST

START_TEST(unknown_domains_and_backends_have_no_accounts)
{
	ck_assert_int_eq(auth_user_exists(&cfg, "nowhere.org", "alice"),
			 AUTH_USER_UNKNOWN);
	ck_assert_int_eq(auth_user_exists(&cfg, "odd.org", "alice"),
			 AUTH_USER_UNKNOWN);
}
END_TEST

START_TEST(local_accounts_are_checked_in_the_database)
{
	ck_assert_int_eq(auth_user_exists(&cfg, "local.org", "alice"),
			 AUTH_USER_UNKNOWN);
	char err[512], path[128];
	snprintf(path, sizeof path, "%s/%s", data_dir, LOCAL_DB_FILE);
	struct local_db *db = local_open(path, err, sizeof err);
	ck_assert_ptr_nonnull(db);
	struct local_account a = {0};
	strcpy(a.domain, "local.org");
	strcpy(a.localpart, "alice");
	ck_assert_int_eq(local_account_set_password(&a, "secret", false, 4096,
						    err, sizeof err),
			 0);
	ck_assert_int_eq(local_add(db, &a, err, sizeof err), LOCAL_OK);
	local_close(db);
	ck_assert_int_eq(auth_user_exists(&cfg, "local.org", "alice"),
			 AUTH_USER_EXISTS);
	ck_assert_int_eq(auth_user_exists(&cfg, "local.org", "bob"),
			 AUTH_USER_UNKNOWN);
}
END_TEST

START_TEST(the_start_opens_the_accounts_only_where_a_domain_is_local)
{
	char err[512] = "", path[128];
	cfg.data_dir = "/nonexistent/palabre";
	ck_assert_int_eq(auth_check_accounts(&cfg, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "/nonexistent/palabre/accounts.sqlite: "
				  "cannot open"),
		      "%s", err);
	cfg.hosts[0].auth_backend = "ldap";
	cfg.hosts[0].directory = 0;
	ck_assert_int_eq(auth_check_accounts(&cfg, err, sizeof err), 0);
	cfg.hosts[0].auth_backend = "local";
	cfg.data_dir = data_dir;
	ck_assert_int_eq(auth_check_accounts(&cfg, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/%s", data_dir, LOCAL_DB_FILE);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

START_TEST(accounts_of_a_newer_palabre_stop_the_start)
{
	char err[512] = "", path[128];
	snprintf(path, sizeof path, "%s/%s", data_dir, LOCAL_DB_FILE);
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(auth_check_accounts(&cfg, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "accounts.sqlite: the database has schema "
				  "version 999, newer than the version 2"),
		      "%s", err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth_backend");
	TCase *tc = tcase_create("backends");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, each_domain_is_offered_what_its_backend_can_verify);
	tcase_add_test(tc,
		       directories_have_a_lane_each_after_the_local_accounts);
	tcase_add_test(tc, palabrectl_manages_local_accounts_only);
	tcase_add_test(tc, local_accounts_have_no_attributes);
	tcase_add_test(tc, unknown_domains_and_backends_have_no_accounts);
	tcase_add_test(tc, local_accounts_are_checked_in_the_database);
	tcase_add_test(
		tc, the_start_opens_the_accounts_only_where_a_domain_is_local);
	tcase_add_test(tc, accounts_of_a_newer_palabre_stop_the_start);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
