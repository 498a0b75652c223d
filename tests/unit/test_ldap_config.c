/* config.xml: <ldap> directories, ldap hosts, <auth-throttle>; errors
 * that name file, line and setting. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/config.h"
#include "unit.h"

static char dir[] = "/tmp/palabre-ldapconf-XXXXXX";
static char path[256], secret[256], empty[256];

static int load(const char *xml, struct config *cfg, char *err, size_t len)
{
	unit_write_file(path, xml);
	return config_load(cfg, path, err, len);
}

#define CERT "<certificate>c.pem</certificate><key>c.pem</key>"
#define LDAP_HOST(domain, id)                                                  \
	"<host domain='" domain "'>" CERT                                      \
	"<auth backend='ldap' directory='" id                                  \
	"'><base>ou=people,dc=example,dc=org</base>"                           \
	"<filter>(mail=%u@%d)</filter></auth></host>\n"
#define DIRECTORY                                                              \
	"<ldap id='central'>\n"                                                \
	"<uri>ldap://127.0.0.1:3890</uri>\n"                                   \
	"<uri>ldaps://backup.example.org</uri>\n"                              \
	"<starttls>true</starttls>\n"                                          \
	"<bind-dn>cn=palabre,dc=example,dc=org</bind-dn>\n"                    \
	"<bind-password-file>secret</bind-password-file>\n"                    \
	"<timeout>7</timeout><pool>3</pool>\n"                                 \
	"<password-access>bind auth-password</password-access>\n"              \
	"</ldap>\n"

static void setup(void)
{
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/config.xml", dir);
	snprintf(secret, sizeof secret, "%s/secret", dir);
	snprintf(empty, sizeof empty, "%s/empty", dir);
	char cert[300];
	snprintf(cert, sizeof cert, "%s/c.pem", dir);
	unit_write_file(cert, "x");
	unit_write_file(secret, "s3cret\n");
	unit_write_file(empty, "\n");
}

static void assert_error(const char *xml, const char *want)
{
	struct config cfg;
	char err[512], expected[512];
	ck_assert_int_eq(load(xml, &cfg, err, sizeof err), -1);
	snprintf(expected, sizeof expected, "%s:%s", path, want);
	ck_assert_msg(strncmp(err, expected, strlen(expected)) == 0,
		      "got '%s', want '%s…'", err, expected);
}

START_TEST(domains_share_one_directory)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(load("<palabred>\n" LDAP_HOST("example.org", "central")
				      LDAP_HOST("lab.example.org", "central")
					      DIRECTORY "</palabred>\n",
			      &cfg, err, sizeof err),
			 0);
	ck_assert_uint_eq(cfg.ndirectories, 1);
	const struct config_ldap *d =
		config_host_directory(&cfg, &cfg.hosts[0]);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_eq(d, config_host_directory(&cfg, &cfg.hosts[1]));
	ck_assert_str_eq(d->id, "central");
	ck_assert_uint_eq(d->nuris, 2);
	ck_assert_str_eq(d->uris[1], "ldaps://backup.example.org");
	ck_assert(d->starttls);
	ck_assert_str_eq(d->bind_password, "s3cret");
	ck_assert_uint_eq(d->timeout, 7);
	ck_assert_uint_eq(d->pool, 3);
	ck_assert_uint_eq(d->password_access,
			  CONFIG_LDAP_BIND | CONFIG_LDAP_AUTH_PASSWORD);
	ck_assert_str_eq(cfg.hosts[1].ldap_filter, "(mail=%u@%d)");
	ck_assert_str_eq(cfg.hosts[1].auth_backend, "ldap");
	config_free(&cfg);
}
END_TEST

START_TEST(directory_defaults)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(
		load("<palabred>\n" LDAP_HOST(
			     "example.org",
			     "d") "<ldap id='d'><uri>ldap://h</uri></ldap>\n"
				  "<host domain='local.example'>" CERT
				  "</host>\n"
				  "</palabred>\n",
		     &cfg, err, sizeof err),
		0);
	const struct config_ldap *d =
		config_host_directory(&cfg, &cfg.hosts[0]);
	ck_assert_uint_eq(d->timeout, 5);
	ck_assert_uint_eq(d->pool, 4);
	ck_assert_uint_eq(d->password_access, CONFIG_LDAP_BIND);
	ck_assert(!d->starttls);
	ck_assert_ptr_null(d->bind_dn);
	ck_assert_ptr_null(config_host_directory(&cfg, &cfg.hosts[1]));
	ck_assert_uint_eq(cfg.throttle_per_address, 30);
	ck_assert_uint_eq(cfg.throttle_per_account, 10);
	ck_assert_uint_eq(cfg.throttle_period, 60);
	ck_assert_uint_eq(cfg.throttle_delay_ms, 2000);
	config_free(&cfg);
}
END_TEST

START_TEST(errors_name_line_and_setting)
{
	assert_error("<palabred>\n" LDAP_HOST("example.org", "centrl") DIRECTORY
		     "</palabred>\n",
		     "2: host/auth/@directory: no <ldap id=\"centrl\">");
	assert_error("<palabred>\n<ldap id='x'>\n<uri>http://h</uri></ldap>"
		     "</palabred>\n",
		     "3: ldap/uri: 'http://h' is not an ldap:// or ldaps://");
	assert_error("<palabred>\n<ldap id='x'>\n<uri>ldap://</uri></ldap>"
		     "</palabred>\n",
		     "3: ldap/uri: 'ldap://' names no server");
	assert_error("<palabred>\n<ldap id='x'><uri>ldap://h</uri>\n"
		     "<bind-dn>cn=a</bind-dn><bind-password-file>nope"
		     "</bind-password-file></ldap></palabred>\n",
		     "3: ldap/bind-password-file: cannot read");
	assert_error("<palabred>\n<ldap id='x'><uri>ldap://h</uri>\n"
		     "<bind-dn>cn=a</bind-dn><bind-password-file>empty"
		     "</bind-password-file></ldap></palabred>\n",
		     "3: ldap/bind-password-file: ");
	assert_error("<palabred>\n<ldap id='x'><uri>ldap://h</uri>\n"
		     "<bind-dn>cn=a</bind-dn></ldap></palabred>\n",
		     "2: ldap/bind-password-file: bind-dn and");
	assert_error("<palabred>\n<ldap id='x'><uri>ldap://h</uri>\n"
		     "<password-access>bind scram</password-access></ldap>"
		     "</palabred>\n",
		     "3: ldap/password-access: 'scram' is not");
	assert_error("<palabred>\n<ldap id='x'><uri>ldap://h</uri>\n"
		     "<password-access>clear-password</password-access></ldap>"
		     "</palabred>\n",
		     "2: ldap/password-access: auth-password and "
		     "clear-password need");
	assert_error("<palabred>\n<ldap id='x'>\n</ldap></palabred>\n",
		     "2: ldap/uri: missing");
	assert_error("<palabred>\n<ldap id='x'><uri>ldap://h</uri></ldap>\n"
		     "<ldap id='x'><uri>ldap://h</uri></ldap></palabred>\n",
		     "3: ldap/@id: 'x' is defined twice");
	assert_error("<palabred>\n<ldap id='x'><uri>ldap://h</uri>\n"
		     "<timeout>0</timeout></ldap></palabred>\n",
		     "3: ldap/timeout: '0' is not a number from 1 to 300");
	assert_error("<palabred>\n<ldap id='x'><uri>ldap://h</uri>\n"
		     "<pool>100</pool></ldap></palabred>\n",
		     "3: ldap/pool: ");
}
END_TEST

#define AUTH(inner)                                                            \
	"<palabred>\n<ldap id='d'><uri>ldap://h</uri></ldap>\n"                \
	"<host domain='example.org'>" CERT "\n<auth backend='ldap' "           \
	"directory='d'>\n" inner "</auth></host></palabred>\n"

START_TEST(host_auth_errors)
{
	assert_error(AUTH("<base>dc=x</base><filter>(mail=alice)</filter>"),
		     "5: host/auth/filter: '(mail=alice)' has no %u");
	assert_error(AUTH("<base>dc=x</base><filter>mail=%u</filter>"),
		     "5: host/auth/filter: 'mail=%u' is not an LDAP filter");
	assert_error(AUTH("<base>dc=x</base><filter>(mail=%u))</filter>"),
		     "5: host/auth/filter: '(mail=%u))': unbalanced");
	assert_error(AUTH("<base>dc=x</base><filter>(a=%u)(b=1)</filter>"),
		     "5: host/auth/filter: '(a=%u)(b=1)': unbalanced");
	assert_error(AUTH("<base>dc=x</base><filter>(&amp;(a=%u)</filter>"),
		     "5: host/auth/filter: '(&(a=%u)': unbalanced");
	assert_error(AUTH("<base>dc=x</base><filter>(a=%x%u)</filter>"),
		     "5: host/auth/filter: '%x' is not");
	assert_error(AUTH("<filter>(a=%u)</filter>"),
		     "4: host/auth/base: missing");
	assert_error(AUTH("<base>dc=x</base>"), "4: host/auth/filter: missing");
	assert_error("<palabred>\n<host domain='example.org'>" CERT
		     "<auth backend='ldap'/></host></palabred>\n",
		     "2: host/auth/@directory: missing");
	assert_error(
		"<palabred>\n<host domain='example.org'>" CERT
		"<auth backend='local' directory='d'/></host></palabred>\n",
		"2: host/auth/@directory: only for backend=\"ldap\"");
	assert_error("<palabred>\n<host domain='example.org'>" CERT
		     "<auth backend='nis'/></host></palabred>\n",
		     "2: host/auth/@backend: 'nis' is not a known");
	assert_error("<palabred>\n<host domain='example.org'>" CERT
		     "<auth backend='local'><base>x</base></auth></host>"
		     "</palabred>\n",
		     "2: host/auth/base: unknown setting");
}
END_TEST

START_TEST(auth_throttle_is_read_and_checked)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(
		load("<palabred>\n<host domain='a.example'>" CERT "</host>\n"
		     "<c2s><auth-throttle per-address='0' per-account='3' "
		     "period='300' delay='5'/></c2s></palabred>\n",
		     &cfg, err, sizeof err),
		0);
	ck_assert_uint_eq(cfg.throttle_per_address, 0);
	ck_assert_uint_eq(cfg.throttle_per_account, 3);
	ck_assert_uint_eq(cfg.throttle_period, 300);
	ck_assert_uint_eq(cfg.throttle_delay_ms, 5000);
	config_free(&cfg);
	assert_error("<palabred>\n<host domain='a.example'>" CERT "</host>\n"
		     "<c2s><auth-throttle period='0'/></c2s></palabred>\n",
		     "3: c2s/auth-throttle/@period: '0' is not a number");
	assert_error("<palabred>\n<host domain='a.example'>" CERT "</host>\n"
		     "<c2s><auth-throttle attempts='5'/></c2s></palabred>\n",
		     "3: c2s/auth-throttle: unknown attribute 'attempts'");
}
END_TEST

int main(void)
{
	setup();
	Suite *s = suite_create("ldap_config");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, domains_share_one_directory);
	tcase_add_test(tc, directory_defaults);
	tcase_add_test(tc, errors_name_line_and_setting);
	tcase_add_test(tc, host_auth_errors);
	tcase_add_test(tc, auth_throttle_is_read_and_checked);
	suite_add_tcase(s, tc);
	int status = unit_run(s);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		status = EXIT_FAILURE;
	return status;
}
