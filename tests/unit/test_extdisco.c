/* extdisco: a host's <external-services> as config.xml gives it (the
 * <service/> entries of XEP-0215 it makes, its errors), and the TURN
 * REST API credentials (draft-uberti-behave-turn-rest-00 §2.2). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/config.h"
#include "../../server/sm/extdisco.h"
#include "../../server/sm/module.h"
#include "unit.h"

static char dir[] = "/tmp/palabre-extdisco-XXXXXX";
static char path[256];

static void setup(void)
{
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/config.xml", dir);
	char file[300];
	snprintf(file, sizeof file, "%s/c.pem", dir);
	unit_write_file(file, "x");
	snprintf(file, sizeof file, "%s/turn-secret", dir);
	unit_write_file(file, "from-a-file\nsecond line\n");
	snprintf(file, sizeof file, "%s/empty-secret", dir);
	unit_write_file(file, "\n");
}

static void teardown(void)
{
	const char *files[] = {"config.xml", "c.pem", "turn-secret",
			       "empty-secret"};
	char file[300];
	for (size_t i = 0; i < 4; i++) {
		snprintf(file, sizeof file, "%s/%s", dir, files[i]);
		unlink(file);
	}
	rmdir(dir);
}

/* config.xml with services inside the host example.org (line 3 on). */
static int load(const char *services, struct config *c, char *err, size_t len)
{
	char xml[8192];
	snprintf(xml, sizeof xml,
		 "<palabred>\n"
		 "<host domain='example.org'><certificate>c.pem</certificate>"
		 "<key>c.pem</key><auth backend='local'/>\n"
		 "%s</host>\n</palabred>\n",
		 services);
	unit_write_file(path, xml);
	if (config_load(c, path, err, len) < 0)
		return -1;
	if (sm_module_check_config(c, err, len) < 0) {
		config_free(c);
		return -1;
	}
	return 0;
}

/* The host's services, as the module reads them. */
static void read_host(const char *services, struct extdisco_host *h)
{
	struct config c;
	char err[512];
	ck_assert_msg(load(services, &c, err, sizeof err) == 0, "%s", err);
	*h = (struct extdisco_host){0};
	ck_assert_int_eq(sm_module_option_read_host(&c, &sm_module_extdisco,
						    EXTDISCO_OPTION, 0, h, err,
						    sizeof err),
			 1);
	/* The strings point into the configuration: copy what is
	 * checked before it goes. */
	static char hosts[EXTDISCO_SERVICES_MAX][64];
	static char names[EXTDISCO_SERVICES_MAX][64];
	for (size_t i = 0; i < h->nservices; i++) {
		snprintf(hosts[i], sizeof hosts[i], "%s", h->services[i].host);
		h->services[i].host = hosts[i];
		if (h->services[i].name) {
			snprintf(names[i], sizeof names[i], "%s",
				 h->services[i].name);
			h->services[i].name = names[i];
		}
	}
	config_free(&c);
}

static void assert_service(const struct extdisco_service *s, const char *type,
			   const char *host, unsigned port,
			   const char *transport, bool credentials)
{
	ck_assert_str_eq(s->type, type);
	ck_assert_str_eq(s->host, host);
	ck_assert_uint_eq(s->port, port);
	ck_assert_str_eq(s->transport, transport);
	ck_assert_int_eq(s->secret != NULL, credentials);
}

static void assert_error(const char *services, const char *want)
{
	struct config c;
	char err[512], expected[512];
	ck_assert_int_eq(load(services, &c, err, sizeof err), -1);
	snprintf(expected, sizeof expected, "%s:%s", path, want);
	ck_assert_msg(strncmp(err, expected, strlen(expected)) == 0,
		      "got '%s', want '%s…'", err, expected);
	ck_assert_msg(!strstr(err, "hush"), "the secret in '%s'", err);
}

/* ------------------------------------------------------------ config */

START_TEST(a_turn_server_is_stun_turn_and_turns)
{
	struct extdisco_host h;
	read_host("<external-services><turn host='turn.example.org' "
		  "secret='north' tls-port='5349'/></external-services>\n",
		  &h);
	ck_assert_uint_eq(h.nservices, 4);
	assert_service(&h.services[0], "stun", "turn.example.org", 3478, "udp",
		       false);
	assert_service(&h.services[1], "turn", "turn.example.org", 3478, "udp",
		       true);
	assert_service(&h.services[2], "turn", "turn.example.org", 3478, "tcp",
		       true);
	assert_service(&h.services[3], "turns", "turn.example.org", 5349, "tcp",
		       true);
	ck_assert_str_eq(h.services[1].secret->value, "north");
	ck_assert_uint_eq(h.services[1].secret->ttl, 86400);
	ck_assert_ptr_null(h.services[0].name);
	extdisco_host_clear(&h);
	ck_assert_uint_eq(h.nservices, 0);
}
END_TEST

START_TEST(turn_attributes_change_the_entries)
{
	struct extdisco_host h;
	read_host("<external-services><turn host='192.0.2.1' port='3479' "
		  "transports='tcp' stun='false' ttl='600' name='Relay' "
		  "secret='north'/>\n"
		  "<stun host='2001:db8::1' port='8888' transports='tcp udp'/>"
		  "</external-services>\n",
		  &h);
	ck_assert_uint_eq(h.nservices, 3);
	assert_service(&h.services[0], "turn", "192.0.2.1", 3479, "tcp", true);
	ck_assert_str_eq(h.services[0].name, "Relay");
	ck_assert_uint_eq(h.services[0].secret->ttl, 600);
	assert_service(&h.services[1], "stun", "2001:db8::1", 8888, "udp",
		       false);
	assert_service(&h.services[2], "stun", "2001:db8::1", 8888, "tcp",
		       false);
	extdisco_host_clear(&h);
}
END_TEST

START_TEST(the_secret_comes_from_a_file_beside_config_xml)
{
	struct extdisco_host h;
	read_host("<external-services><turn host='turn.example.org' "
		  "secret-file='turn-secret'/></external-services>\n",
		  &h);
	ck_assert_uint_eq(h.nsecrets, 1);
	ck_assert_str_eq(h.secrets[0].value, "from-a-file");
	ck_assert_ptr_eq(h.services[1].secret, &h.secrets[0]);
	extdisco_host_clear(&h);
}
END_TEST

START_TEST(a_host_without_services_has_none)
{
	struct config c;
	char err[512];
	struct extdisco_host h = {0};
	ck_assert_int_eq(load("", &c, err, sizeof err), 0);
	ck_assert_int_eq(sm_module_option_read_host(&c, &sm_module_extdisco,
						    EXTDISCO_OPTION, 0, &h, err,
						    sizeof err),
			 0);
	ck_assert_uint_eq(h.nservices, 0);
	config_free(&c);
}
END_TEST

START_TEST(errors_name_line_and_setting_never_the_secret)
{
	const char *p = "3: host/external-services";
	char want[256];
#define TURN(attrs)                                                            \
	"<external-services><turn host='turn.example.org' "                    \
	"secret='hush' " attrs "/></external-services>\n"
#define ERROR_IS(services, what)                                               \
	do {                                                                   \
		snprintf(want, sizeof want, "%s%s", p, what);                  \
		assert_error(services, want);                                  \
	} while (0)
	ERROR_IS("<external-services><turn secret='hush'/>"
		 "</external-services>\n",
		 "/turn/@host: missing");
	ERROR_IS("<external-services><stun host='a b'/></external-services>\n",
		 "/stun/@host: 'a b' is not a DNS name or an IP address");
	ERROR_IS(TURN("port='0'"),
		 "/turn/@port: '0' is not a number from 1 to 65535");
	ERROR_IS(TURN("tls-port='x'"), "/turn/@tls-port: 'x' is not a number");
	ERROR_IS(TURN("ttl='10'"),
		 "/turn/@ttl: '10' is not a number from 60 to 604800");
	ERROR_IS(TURN("transports='udp sctp'"),
		 "/turn/@transports: 'sctp' is not a transport");
	ERROR_IS(TURN("transports=''"), "/turn/@transports: empty");
	ERROR_IS(TURN("stun='maybe'"), "/turn/@stun: 'maybe' is not");
	ERROR_IS(TURN("secret-file='turn-secret'"),
		 "/turn/@secret-file: give secret or secret-file, not both");
	ERROR_IS(TURN("colour='blue'"), "/turn: unknown attribute 'colour'");
	ERROR_IS("<external-services><turn host='t.example.org'/>"
		 "</external-services>\n",
		 "/turn/@secret-file: missing");
	ERROR_IS("<external-services><turn host='t.example.org' "
		 "secret-file='empty-secret'/></external-services>\n",
		 "/turn/@secret-file: ");
	ERROR_IS("<external-services><turn host='t.example.org' "
		 "secret-file='no-such-file'/></external-services>\n",
		 "/turn/@secret-file: cannot read ");
	ERROR_IS("<external-services><turn host='t.example.org' "
		 "secret=''/></external-services>\n",
		 "/turn/@secret: the secret is empty");
	ERROR_IS("<external-services><relay host='t'/></external-services>\n",
		 "/relay: unknown setting");
	ERROR_IS("<external-services/>\n", ": empty");
	ERROR_IS("<external-services><stun host='s'/></external-services>"
		 "<external-services><stun host='s'/></external-services>\n",
		 ": given twice");
#undef ERROR_IS
#undef TURN
}
END_TEST

START_TEST(limits_are_errors)
{
	char xml[6000] = "<external-services>";
	for (int i = 0; i < EXTDISCO_TURN_MAX + 1; i++)
		strcat(xml, "<turn host='t.example.org' secret='hush' "
			    "stun='false' transports='udp'/>");
	strcat(xml, "</external-services>\n");
	assert_error(xml, "3: host/external-services/turn: more than 8 for "
			  "one host");
	strcpy(xml, "<external-services>");
	for (int i = 0; i < EXTDISCO_SERVICES_MAX / 2 + 1; i++)
		strcat(xml,
		       "<stun host='s.example.org' transports='udp tcp'/>");
	strcat(xml, "</external-services>\n");
	assert_error(xml, "3: host/external-services/stun: more than 32 "
			  "services");
	char secret[EXTDISCO_SECRET_MAX + 40];
	memset(secret, 'h', sizeof secret - 1);
	secret[sizeof secret - 1] = '\0';
	snprintf(xml, sizeof xml,
		 "<external-services><turn host='t' secret='%s'/>"
		 "</external-services>\n",
		 secret);
	assert_error(xml, "3: host/external-services/turn/@secret: the "
			  "secret is longer than 512 bytes");
}
END_TEST

/* ------------------------------------------------------------ credentials */

START_TEST(credentials_of_the_turn_rest_api)
{
	char username[EXTDISCO_USERNAME_MAX + 1];
	char password[EXTDISCO_PASSWORD_SIZE];
	/* base64(HMAC-SHA1("north", username)), by Python's hmac. */
	ck_assert_int_eq(extdisco_credentials("north", 1700000000,
					      "alice@example.org", username,
					      password),
			 0);
	ck_assert_str_eq(username, "1700000000:alice@example.org");
	ck_assert_str_eq(password, "PZI+z4ibN1IQ7v4pzuL4fO8lnhI=");
}
END_TEST

START_TEST(a_jid_too_long_for_stun_is_left_out)
{
	char user[600], username[EXTDISCO_USERNAME_MAX + 1];
	char password[EXTDISCO_PASSWORD_SIZE];
	memset(user, 'a', sizeof user - 1);
	user[sizeof user - 1] = '\0';
	ck_assert_int_eq(extdisco_credentials("north", 1700000000, user,
					      username, password),
			 0);
	ck_assert_str_eq(username, "1700000000");
	ck_assert_str_eq(password, "CWyHi3zCeWqXBir9thl4m+iZPRY=");
}
END_TEST

int main(void)
{
	setup();
	Suite *s = suite_create("extdisco");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, a_turn_server_is_stun_turn_and_turns);
	tcase_add_test(tc, turn_attributes_change_the_entries);
	tcase_add_test(tc, the_secret_comes_from_a_file_beside_config_xml);
	tcase_add_test(tc, a_host_without_services_has_none);
	tcase_add_test(tc, errors_name_line_and_setting_never_the_secret);
	tcase_add_test(tc, limits_are_errors);
	suite_add_tcase(s, tc);
	TCase *cred = tcase_create("credentials");
	tcase_add_test(cred, credentials_of_the_turn_rest_api);
	tcase_add_test(cred, a_jid_too_long_for_stun_is_left_out);
	suite_add_tcase(s, cred);
	int rc = unit_run(s);
	teardown();
	return rc;
}
