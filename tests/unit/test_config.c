/* config.xml: defaults, values, and errors that name file, line, setting,
 * as palabred reads it: config_load, then the sm's modules check what
 * lib/ kept for them (sm_module_check_config). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../server/sm/module.h"
#include "unit.h"

extern const struct sm_module sm_module_offline;
extern const struct sm_module sm_module_version;
extern const struct sm_module sm_module_private;
extern const struct sm_module sm_module_bookmarks;

static char dir[] = "/tmp/palabre-config-XXXXXX";
static char path[256];

static int load(const char *xml, struct config *cfg, char *err, size_t len)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(xml, f);
	fclose(f);
	if (config_load(cfg, path, err, len) < 0)
		return -1;
	if (sm_module_check_config(cfg, err, len) < 0) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

#define HOST                                                                   \
	"<host domain='Example.ORG'><certificate>c.pem</certificate>"          \
	"<key>k.pem</key></host>\n"

START_TEST(defaults_are_filled_in)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(load("<palabred>\n" HOST "</palabred>\n", &cfg, err,
			      sizeof err),
			 0);
	ck_assert_str_eq(cfg.hosts[0].domain, "example.org");
	ck_assert_int_eq(cfg.nlisteners, 2);
	ck_assert_int_eq(cfg.listeners[0].port, 5222);
	ck_assert(cfg.listeners[1].direct_tls);
	ck_assert(cfg.require_starttls);
	ck_assert(!config_has_mechanism(&cfg, "DIGEST-MD5"));
	ck_assert(config_has_mechanism(&cfg, "SCRAM-SHA-256"));
	ck_assert(sm_module_is_on(&cfg, "ping"));
	char expected[300];
	snprintf(expected, sizeof expected, "%s/c.pem", dir);
	ck_assert_str_eq(cfg.hosts[0].certificate, expected);
	config_free(&cfg);
}
END_TEST

START_TEST(settings_are_read)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(
		load("<palabred>\n" HOST
		     "<c2s><listen address='127.0.0.1' port='15222'/>\n"
		     "<require-starttls>false</require-starttls>\n"
		     "<mechanisms>PLAIN DIGEST-MD5</mechanisms>\n"
		     "<max-stanza-size>10000</max-stanza-size>\n"
		     "<resource-conflict>refuse</resource-conflict></c2s>\n"
		     "</palabred>\n",
		     &cfg, err, sizeof err),
		0);
	ck_assert_int_eq(cfg.nlisteners, 1);
	ck_assert_str_eq(cfg.listeners[0].address, "127.0.0.1");
	ck_assert(!cfg.require_starttls);
	ck_assert(config_has_mechanism(&cfg, "DIGEST-MD5"));
	ck_assert_int_eq(cfg.max_stanza_size, 10000);
	ck_assert(!cfg.resource_conflict_replace);
	config_free(&cfg);
}
END_TEST

static void assert_error(const char *xml, const char *line_and_setting)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(load(xml, &cfg, err, sizeof err), -1);
	char expected[512];
	snprintf(expected, sizeof expected, "%s:%s", path, line_and_setting);
	ck_assert_msg(strncmp(err, expected, strlen(expected)) == 0,
		      "got '%s', expected it to start with '%s'", err,
		      expected);
}

START_TEST(bad_port_names_line_and_setting)
{
	assert_error("<palabred>\n" HOST "<c2s>\n<listen port='abc'/>\n</c2s>"
		     "</palabred>",
		     "4: c2s/listen/@port: 'abc' is not a number");
}
END_TEST

START_TEST(unknown_setting_is_an_error)
{
	assert_error("<palabred>\n" HOST "<c2s>\n\n<colour>red</colour></c2s>"
		     "</palabred>",
		     "5: c2s/colour: unknown setting");
}
END_TEST

START_TEST(missing_host_is_an_error)
{
	assert_error("<palabred>\n</palabred>", "1: host: no <host>");
}
END_TEST

START_TEST(unknown_mechanism_is_an_error)
{
	assert_error("<palabred>" HOST "<c2s><mechanisms>PLAIN CRAM-MD5"
		     "</mechanisms></c2s></palabred>",
		     "2: c2s/mechanisms: 'CRAM-MD5' is not a supported");
}
END_TEST

START_TEST(malformed_file_names_line)
{
	assert_error("<palabred>\n" HOST "<c2s>\n</palabred>",
		     "4: not well-formed XML: mismatched tag");
}
END_TEST

START_TEST(unreadable_certificate_is_an_error)
{
	assert_error("<palabred>\n<host domain='a'>\n"
		     "<certificate>nothere.pem</certificate></host></palabred>",
		     "3: host/certificate: cannot read ");
}
END_TEST

START_TEST(bad_domain_is_an_error)
{
	assert_error("<palabred>\n<host domain='a b'/></palabred>",
		     "2: host/@domain: 'a b' is not a domain name");
}
END_TEST

START_TEST(s2s_is_off_without_its_section)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(load("<palabred>\n" HOST "</palabred>\n", &cfg, err,
			      sizeof err),
			 0);
	ck_assert(!cfg.s2s.enabled);
	config_free(&cfg);
}
END_TEST

START_TEST(s2s_defaults_are_filled_in)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(load("<palabred>\n" HOST "<s2s/></palabred>\n", &cfg,
			      err, sizeof err),
			 0);
	ck_assert(cfg.s2s.enabled);
	ck_assert_int_eq(cfg.s2s.nlisteners, 1);
	ck_assert_int_eq(cfg.s2s.listeners[0].port, 5269);
	ck_assert_str_eq(cfg.s2s.listeners[0].address, "0.0.0.0");
	ck_assert(cfg.s2s.require_tls);
	ck_assert(!cfg.s2s.require_valid_certificate);
	ck_assert_ptr_null(cfg.s2s.resolver);
	ck_assert_ptr_null(cfg.s2s.ca_file);
	ck_assert_int_eq(cfg.s2s.connect_timeout, 30);
	ck_assert_int_eq(cfg.s2s.idle_timeout, 300);
	ck_assert_int_eq(cfg.s2s.queue_size, 1000);
	config_free(&cfg);
}
END_TEST

START_TEST(s2s_settings_are_read)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(
		load("<palabred>\n" HOST
		     "<s2s><listen address='127.0.0.2' port='15269'/>\n"
		     "<listen address='127.0.0.2' port='15270' tls='direct'/>\n"
		     "<resolver address='127.0.0.1' port='5353'/>\n"
		     "<require-valid-certificate>true</"
		     "require-valid-certificate>\n"
		     "<ca-file>c.pem</ca-file><connect-timeout>5</"
		     "connect-timeout>\n"
		     "<idle-timeout>60</idle-timeout><queue-size>10</"
		     "queue-size>\n"
		     "</s2s></palabred>\n",
		     &cfg, err, sizeof err),
		0);
	ck_assert_int_eq(cfg.s2s.nlisteners, 2);
	ck_assert(cfg.s2s.listeners[1].direct_tls);
	ck_assert_str_eq(cfg.s2s.resolver, "127.0.0.1");
	ck_assert_int_eq(cfg.s2s.resolver_port, 5353);
	ck_assert(cfg.s2s.require_valid_certificate);
	ck_assert_int_eq(cfg.s2s.connect_timeout, 5);
	ck_assert_int_eq(cfg.s2s.idle_timeout, 60);
	ck_assert_int_eq(cfg.s2s.queue_size, 10);
	config_free(&cfg);
}
END_TEST

START_TEST(s2s_errors_name_line_and_setting)
{
	assert_error("<palabred>\n" HOST
		     "<s2s>\n<resolver address='dns.example'/>"
		     "</s2s></palabred>",
		     "4: s2s/resolver/@address: "
		     "'dns.example' is not an IPv4 or IPv6 address");
	assert_error("<palabred>\n" HOST "<s2s>\n\n<listen address='::1'/>"
		     "</s2s></palabred>",
		     "5: s2s/listen/@port: missing");
	assert_error("<palabred>\n" HOST "<s2s><max-stanza-size>5000"
		     "</max-stanza-size></s2s></palabred>",
		     "3: s2s/max-stanza-size: ");
	assert_error("<palabred>\n" HOST "<s2s><ca-file>nothere.pem</ca-file>"
		     "</s2s></palabred>",
		     "3: s2s/ca-file: cannot read ");
	assert_error("<palabred>\n" HOST "<s2s/>\n<s2s/></palabred>",
		     "4: s2s: <s2s> is given twice");
}
END_TEST

START_TEST(muc_services_default_to_conference_of_each_host)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(load("<palabred>\n" HOST "</palabred>\n", &cfg, err,
			      sizeof err),
			 0);
	ck_assert(!cfg.muc.enabled);
	config_free(&cfg);
	ck_assert_int_eq(
		load("<palabred>\n<muc/>\n" HOST
		     "<host domain='b.example'><certificate>c.pem</"
		     "certificate><key>k.pem</key></host>\n</palabred>\n",
		     &cfg, err, sizeof err),
		0);
	ck_assert(cfg.muc.enabled);
	ck_assert_int_eq(cfg.muc.nservices, 2);
	ck_assert_str_eq(cfg.muc.services[0], "conference.example.org");
	ck_assert_str_eq(cfg.muc.services[1], "conference.b.example");
	ck_assert_int_eq(cfg.muc.create, CONFIG_MUC_CREATE_LOCAL);
	ck_assert_uint_eq(cfg.muc.history, 20);
	ck_assert_uint_eq(cfg.muc.max_occupants, 1000);
	ck_assert_uint_eq(cfg.muc.max_owned_rooms, 100);
	config_free(&cfg);
}
END_TEST

START_TEST(muc_settings_are_read)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(
		load("<palabred>\n" HOST
		     "<muc><service>Rooms.Example.ORG</service>\n"
		     "<create>admins</create><admin>Alice@example.org</admin>\n"
		     "<history>5</history><max-occupants>50</max-occupants>\n"
		     "<max-owned-rooms>3</max-owned-rooms>\n"
		     "<archive-retention-days>30</archive-retention-days>\n"
		     "</muc></palabred>\n",
		     &cfg, err, sizeof err),
		0);
	ck_assert_int_eq(cfg.muc.nservices, 1);
	ck_assert_str_eq(cfg.muc.services[0], "rooms.example.org");
	ck_assert_int_eq(cfg.muc.create, CONFIG_MUC_CREATE_ADMINS);
	ck_assert_int_eq(cfg.muc.nadmins, 1);
	ck_assert_str_eq(cfg.muc.admins[0], "alice@example.org");
	ck_assert_uint_eq(cfg.muc.history, 5);
	ck_assert_uint_eq(cfg.muc.max_occupants, 50);
	ck_assert_uint_eq(cfg.muc.max_owned_rooms, 3);
	ck_assert_uint_eq(cfg.muc.retention_days, 30);
	config_free(&cfg);
}
END_TEST

START_TEST(muc_errors_name_line_and_setting)
{
	assert_error("<palabred>\n" HOST "<muc>\n<create>everyone</create>"
		     "</muc></palabred>",
		     "4: muc/create: 'everyone' is not local, admins or "
		     "anyone");
	assert_error("<palabred>\n" HOST "<muc>\n<admin>alice</admin>"
		     "</muc></palabred>",
		     "4: muc/admin: 'alice' is not a bare JID (user@domain)");
	assert_error("<palabred>\n" HOST "<muc>\n<admin>a@b/c</admin>"
		     "</muc></palabred>",
		     "4: muc/admin: 'a@b/c' is not a bare JID");
	assert_error("<palabred>\n" HOST "<muc>\n<history>1001</history>"
		     "</muc></palabred>",
		     "4: muc/history: ");
	assert_error("<palabred>\n" HOST "<muc><service>x.example</service>\n"
		     "<service>X.example</service></muc></palabred>",
		     "4: muc/service: 'x.example' is given twice");
	assert_error("<palabred>\n" HOST "<muc>\n<service>example.org"
		     "</service></muc></palabred>",
		     "3: muc/service: 'example.org' is also a <host>");
	assert_error("<palabred>\n" HOST "<muc/>\n<muc/></palabred>",
		     "4: muc: <muc> is given twice");
}
END_TEST

START_TEST(rate_limit_defaults_and_values)
{
	struct config cfg;
	char err[512];
	ck_assert_int_eq(load("<palabred>\n" HOST "</palabred>\n", &cfg, err,
			      sizeof err),
			 0);
	ck_assert_uint_eq(cfg.rate_stanzas, 50);
	ck_assert_uint_eq(cfg.rate_stanza_burst, 500);
	ck_assert_uint_eq(cfg.rate_bytes, 65536);
	ck_assert_uint_eq(cfg.rate_byte_burst, 524288);
	config_free(&cfg);
	/* Given, the element says it all: an absent rate is no limit, an
	 * absent burst its default. */
	ck_assert_int_eq(load("<palabred>\n" HOST "<c2s><rate-limit "
			      "stanzas-per-second='200' burst='40'/></c2s>"
			      "</palabred>\n",
			      &cfg, err, sizeof err),
			 0);
	ck_assert_uint_eq(cfg.rate_stanzas, 200);
	ck_assert_uint_eq(cfg.rate_stanza_burst, 40);
	ck_assert_uint_eq(cfg.rate_bytes, 0);
	ck_assert_uint_eq(cfg.rate_byte_burst, 524288);
	config_free(&cfg);
}
END_TEST

START_TEST(bad_rate_limit_names_line_and_setting)
{
	assert_error("<palabred>\n" HOST "<c2s>\n<rate-limit "
		     "stanzas-per-second='fast'/></c2s></palabred>",
		     "4: c2s/rate-limit/@stanzas-per-second: 'fast' is not a "
		     "number from 0 to 1000000");
	assert_error("<palabred>\n" HOST "<c2s>\n\n<rate-limit burst='0'/>"
		     "</c2s></palabred>",
		     "5: c2s/rate-limit/@burst: '0' is not a number from 1");
	assert_error("<palabred>\n" HOST "<c2s>\n<rate-limit "
		     "bytes-per-second='-1'/></c2s></palabred>",
		     "4: c2s/rate-limit/@bytes-per-second: '-1' is not");
	assert_error("<palabred>\n" HOST "<c2s>\n<rate-limit "
		     "stanzas='9'/></c2s></palabred>",
		     "4: c2s/rate-limit: ");
}
END_TEST

/* ---- The sm's modules and their options ------------------------------ */

static void load_ok(const char *xml, struct config *cfg)
{
	char err[512];
	ck_assert_msg(load(xml, cfg, err, sizeof err) == 0, "%s", err);
}

/* The names of the modules on, in order, space-separated. */
static const char *modules_on(const struct config *cfg)
{
	static char names[512];
	const struct sm_module *on[SM_MODULES_MAX];
	size_t n = sm_module_list_on(cfg, on);
	names[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(names + strlen(names), sizeof names - strlen(names),
			 "%s%s", i ? " " : "", on[i]->name);
	return names;
}

START_TEST(defaults_are_on_without_sm_modules)
{
	struct config cfg;
	load_ok("<palabred>\n" HOST "</palabred>\n", &cfg);
	ck_assert(sm_module_is_on(&cfg, "roster"));
	ck_assert(sm_module_is_on(&cfg, "vcard"));
	ck_assert_str_eq(modules_on(&cfg),
			 "avatar_convert blocking bookmarks caps carbons "
			 "contacts disco extdisco last mam offline pep ping "
			 "presence private roster time vcard version");
	config_free(&cfg);
}
END_TEST

START_TEST(modules_start_in_the_order_given_each_once)
{
	struct config cfg;
	load_ok("<palabred>\n" HOST "<sm><modules>\n  ping disco\tping\n"
		"vcard</modules></sm></palabred>\n",
		&cfg);
	ck_assert_str_eq(modules_on(&cfg), "ping disco vcard");
	ck_assert(!sm_module_is_on(&cfg, "roster"));
	config_free(&cfg);
	/* Given twice, the last counts; empty, none is on. */
	load_ok("<palabred>\n" HOST "<sm><modules>ping</modules>"
		"<modules></modules></sm></palabred>\n",
		&cfg);
	ck_assert_str_eq(modules_on(&cfg), "");
	config_free(&cfg);
}
END_TEST

START_TEST(every_module_file_is_known)
{
	struct config cfg;
	load_ok("<palabred>\n" HOST "<sm><modules>roster presence offline "
		"blocking disco ping vcard "
		"extdisco</modules></sm></palabred>\n",
		&cfg);
	ck_assert_str_eq(modules_on(&cfg),
			 "roster presence offline "
			 "blocking disco ping vcard extdisco");
	config_free(&cfg);
}
END_TEST

START_TEST(stream_features_follow_the_modules)
{
	struct config cfg;
	struct buf b = BUF_INIT;
	load_ok("<palabred>\n" HOST "<sm><modules>roster presence"
		"</modules></sm></palabred>\n",
		&cfg);
	sm_module_append_stream_features(&cfg, &b);
	ck_assert_int_eq(buf_append(&b, "", 1), 0);
	ck_assert_str_eq(b.data,
			 "<ver xmlns='urn:xmpp:features:rosterver'/>"
			 "<sub xmlns='urn:xmpp:features:pre-approval'/>");
	config_free(&cfg);
	buf_clear(&b);
	load_ok("<palabred>\n" HOST "<sm><modules>disco ping</modules></sm>"
		"</palabred>\n",
		&cfg);
	sm_module_append_stream_features(&cfg, &b);
	ck_assert_uint_eq(b.len, 0);
	config_free(&cfg);
	buf_free(&b);
}
END_TEST

START_TEST(offline_quota_bytes_default_value_and_error)
{
	struct config cfg;
	load_ok("<palabred>\n" HOST "</palabred>\n", &cfg);
	ck_assert_int_eq(sm_module_option_integer(&cfg, &sm_module_offline,
						  "offline-quota-bytes"),
			 10 << 20);
	ck_assert_int_eq(sm_module_option_integer(&cfg, &sm_module_offline,
						  "offline-quota"),
			 1000);
	config_free(&cfg);
	load_ok("<palabred>\n" HOST "<sm><offline-quota-bytes>"
		"65536</offline-quota-bytes></sm></palabred>\n",
		&cfg);
	ck_assert_int_eq(sm_module_option_integer(&cfg, &sm_module_offline,
						  "offline-quota-bytes"),
			 65536);
	config_free(&cfg);
	assert_error("<palabred>\n" HOST "<sm>\n<offline-quota-bytes>10M"
		     "</offline-quota-bytes></sm></palabred>",
		     "4: sm/offline-quota-bytes: '10M' is not a number from "
		     "1024 to 1073741824");
	assert_error("<palabred>\n" HOST "<sm>\n\n<offline-quota>0"
		     "</offline-quota></sm></palabred>",
		     "5: sm/offline-quota: '0' is not a number from 1 to "
		     "100000");
}
END_TEST

START_TEST(version_hidden_default_value_and_error)
{
	struct config cfg;
	load_ok("<palabred>\n" HOST "</palabred>\n", &cfg);
	ck_assert(!sm_module_option_boolean(&cfg, &sm_module_version,
					    "version-hidden"));
	config_free(&cfg);
	load_ok("<palabred>\n" HOST "<sm><version-hidden>true"
		"</version-hidden></sm></palabred>\n",
		&cfg);
	ck_assert(sm_module_option_boolean(&cfg, &sm_module_version,
					   "version-hidden"));
	config_free(&cfg);
	assert_error("<palabred>\n" HOST "<sm>\n<version-hidden>maybe"
		     "</version-hidden></sm></palabred>",
		     "4: sm/version-hidden: 'maybe' is not true or false");
}
END_TEST

#define HOST_WITH(what)                                                        \
	"<host domain='Example.ORG'><certificate>c.pem</certificate>"          \
	"<key>k.pem</key>\n" what "</host>\n"

START_TEST(contacts_are_checked)
{
	struct config cfg;
	load_ok("<palabred>\n" HOST_WITH("<contacts><admin>mailto:a@example."
					 "org</admin>"
					 "<abuse>https://example.org/abuse</"
					 "abuse></contacts>") "</palabred>\n",
		&cfg);
	config_free(&cfg);
	assert_error("<palabred>\n" HOST_WITH(
			     "<contacts>\n<boss>mailto:b@example.org</boss>"
			     "</contacts>") "</palabred>",
		     "4: host/contacts: <boss> is not a kind of address "
		     "(abuse, admin, feedback, sales, security, support)");
	assert_error("<palabred>\n" HOST_WITH(
			     "<contacts><admin>admin at example.org</admin>"
			     "</contacts>") "</palabred>",
		     "3: host/contacts: 'admin at example.org' is not an "
		     "address URI (mailto:…, xmpp:…, https:…)");
	assert_error("<palabred>\n" HOST_WITH(
			     "<contacts/><contacts/>") "</palabred>",
		     "3: host/contacts: given twice");
}
END_TEST

START_TEST(private_limits_default_value_and_error)
{
	struct config cfg;
	load_ok("<palabred>\n" HOST "</palabred>\n", &cfg);
	ck_assert_int_eq(sm_module_option_integer(&cfg, &sm_module_private,
						  "private-item-bytes"),
			 65536);
	ck_assert_int_eq(sm_module_option_integer(&cfg, &sm_module_private,
						  "private-namespaces"),
			 100);
	config_free(&cfg);
	assert_error("<palabred>\n" HOST "<sm>\n<private-item-bytes>100"
		     "</private-item-bytes></sm></palabred>",
		     "4: sm/private-item-bytes: '100' is not a number from "
		     "1024 to 16777216");
	assert_error("<palabred>\n" HOST "<sm>\n<private-namespaces>0"
		     "</private-namespaces></sm></palabred>",
		     "4: sm/private-namespaces: '0' is not a number "
		     "from 1 to "
		     "10000");
}
END_TEST

START_TEST(mam_retention_days_bounds)
{
	struct config cfg;
	load_ok("<palabred>\n" HOST "<sm><mam-retention-days>365"
		"</mam-retention-days></sm></palabred>\n",
		&cfg);
	ck_assert(sm_module_is_on(&cfg, "mam"));
	config_free(&cfg);
	assert_error("<palabred>\n" HOST "<sm>\n<mam-retention-days>-1"
		     "</mam-retention-days></sm></palabred>",
		     "4: sm/mam-retention-days: '-1' is not a number from 0 "
		     "to 36500");
}
END_TEST

START_TEST(bookmarks_max_default_value_and_error)
{
	struct config cfg;
	load_ok("<palabred>\n" HOST "</palabred>\n", &cfg);
	ck_assert_int_eq(sm_module_option_integer(&cfg, &sm_module_bookmarks,
						  "bookmarks-max"),
			 256);
	config_free(&cfg);
	assert_error("<palabred>\n" HOST "<sm>\n<bookmarks-max>0"
		     "</bookmarks-max></sm></palabred>",
		     "4: sm/bookmarks-max: '0' is not a number from 1 to "
		     "10000");
}
END_TEST

START_TEST(errors_name_line_and_setting)
{
	assert_error("<palabred>\n" HOST "<sm>\n<modules>roster pong"
		     "</modules></sm></palabred>",
		     "4: sm/modules: 'pong' is not a known module");
	assert_error("<palabred>\n" HOST "<sm>\n\n<colour>red</colour></sm>"
		     "</palabred>",
		     "5: sm/colour: unknown setting");
	assert_error("<palabred>\n" HOST "<ldap id='d'>\n<uri>ldap://h</uri>\n"
		     "<colour/></ldap></palabred>",
		     "5: ldap/colour: unknown setting");
	assert_error("<palabred>\n<host domain='a'>\n<colour/>\n"
		     "<certificate>c.pem</certificate><key>k.pem</key>"
		     "</host></palabred>",
		     "3: host/colour: unknown setting");
}
END_TEST

/* A secret file in dir: the config names it relative to config.xml. */
static void write_secret(const char *name, const char *text)
{
	char file[300];
	snprintf(file, sizeof file, "%s/%s", dir, name);
	FILE *f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void unlink_secret(const char *name)
{
	char file[300];
	snprintf(file, sizeof file, "%s/%s", dir, name);
	unlink(file);
}

START_TEST(components_are_read)
{
	struct config cfg;
	write_secret("irc.secret", "s3cret\nnot this line\n");
	load_ok("<palabred>\n" HOST "<components>\n"
		"<component name='IRC.example.org' secret-file='irc.secret'/>\n"
		"</components></palabred>\n",
		&cfg);
	ck_assert(cfg.components.enabled);
	ck_assert_int_eq(cfg.components.nlisteners, 1);
	ck_assert_str_eq(cfg.components.listeners[0].address, "127.0.0.1");
	ck_assert_int_eq(cfg.components.listeners[0].port, 5347);
	ck_assert_int_eq(cfg.components.count, 1);
	const struct config_component *c =
		config_find_component(&cfg, "irc.example.org");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->secret, "s3cret");
	ck_assert(!c->federate); /* for the local users, unless told */
	config_free(&cfg);
	load_ok("<palabred>\n" HOST "<components><listen port='15347'/>"
		"<component name='irc.example.org' secret-file='irc.secret' "
		"federate='true'/></components></palabred>\n",
		&cfg);
	ck_assert(config_find_component(&cfg, "irc.example.org")->federate);
	ck_assert_str_eq(cfg.components.listeners[0].address, "127.0.0.1");
	ck_assert_int_eq(cfg.components.listeners[0].port, 15347);
	config_free(&cfg);
	load_ok("<palabred>\n" HOST "</palabred>\n", &cfg);
	ck_assert(!cfg.components.enabled);
	config_free(&cfg);
	unlink_secret("irc.secret");
}
END_TEST

START_TEST(component_errors_name_line_and_setting)
{
	write_secret("irc.secret", "s3cret\n");
	write_secret("empty.secret", "\n");
	assert_error("<palabred>\n" HOST "<components>\n</components>"
		     "</palabred>",
		     "3: components/component: no <component> is configured");
	assert_error("<palabred>\n" HOST "<components>\n<component "
		     "name='irc.example.org' secret-file='irc.secret' "
		     "federate='maybe'/></components></palabred>",
		     "4: components/component/@federate: ");
	assert_error("<palabred>\n" HOST "<components>\n<component "
		     "name='a..b' secret-file='irc.secret'/></components>"
		     "</palabred>",
		     "4: components/component/@name: 'a..b' is not a domain "
		     "name");
	assert_error("<palabred>\n" HOST "<components>\n<component "
		     "secret='inline'/></components></palabred>",
		     "4: components/component: unknown attribute 'secret'");
	assert_error("<palabred>\n" HOST "<components>\n<component "
		     "name='irc.example.org'/></components></palabred>",
		     "4: components/component/@secret-file: missing");
	assert_error("<palabred>\n" HOST "<components>\n<component "
		     "name='irc.example.org' secret-file='none.secret'/>"
		     "</components></palabred>",
		     "4: components/component/@secret-file: cannot read");
	assert_error("<palabred>\n" HOST "<components>\n<component "
		     "name='irc.example.org' secret-file='empty.secret'/>"
		     "</components></palabred>",
		     "4: components/component/@secret-file: ");
	assert_error("<palabred>\n" HOST "<components>"
		     "<component name='irc.example.org' "
		     "secret-file='irc.secret'/>\n<component "
		     "name='IRC.example.org' secret-file='irc.secret'/>"
		     "</components></palabred>",
		     "4: components/component/@name: 'irc.example.org' is "
		     "given twice");
	assert_error("<palabred>\n" HOST "<components>\n<component "
		     "name='example.org' secret-file='irc.secret'/>"
		     "</components></palabred>",
		     "4: components/component/@name: 'example.org' is also a "
		     "<host>");
	assert_error("<palabred>\n" HOST "<muc/><components>\n<component "
		     "name='conference.example.org' secret-file='irc.secret'/>"
		     "</components></palabred>",
		     "4: components/component/@name: 'conference.example.org' "
		     "is also a <muc> service");
	assert_error("<palabred>\n" HOST "<components>\n<listen port='5347' "
		     "tls='direct'/></components></palabred>",
		     "4: components/listen: unknown attribute 'tls'");
	assert_error("<palabred>\n" HOST "<components><component "
		     "name='irc.example.org' secret-file='irc.secret'/>"
		     "</components>\n<components/></palabred>",
		     "4: components: <components> is given twice");
	unlink_secret("irc.secret");
	unlink_secret("empty.secret");
}
END_TEST

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	snprintf(path, sizeof path, "%s/config.xml", dir);
	char pem[300];
	snprintf(pem, sizeof pem, "%s/c.pem", dir);
	fclose(fopen(pem, "w"));
	snprintf(pem, sizeof pem, "%s/k.pem", dir);
	fclose(fopen(pem, "w"));
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, defaults_are_filled_in);
	tcase_add_test(tc, settings_are_read);
	tcase_add_test(tc, bad_port_names_line_and_setting);
	tcase_add_test(tc, unknown_setting_is_an_error);
	tcase_add_test(tc, missing_host_is_an_error);
	tcase_add_test(tc, unknown_mechanism_is_an_error);
	tcase_add_test(tc, malformed_file_names_line);
	tcase_add_test(tc, bad_domain_is_an_error);
	tcase_add_test(tc, unreadable_certificate_is_an_error);
	tcase_add_test(tc, s2s_is_off_without_its_section);
	tcase_add_test(tc, s2s_defaults_are_filled_in);
	tcase_add_test(tc, s2s_settings_are_read);
	tcase_add_test(tc, s2s_errors_name_line_and_setting);
	tcase_add_test(tc, muc_services_default_to_conference_of_each_host);
	tcase_add_test(tc, muc_settings_are_read);
	tcase_add_test(tc, muc_errors_name_line_and_setting);
	tcase_add_test(tc, rate_limit_defaults_and_values);
	tcase_add_test(tc, bad_rate_limit_names_line_and_setting);
	tcase_add_test(tc, defaults_are_on_without_sm_modules);
	tcase_add_test(tc, modules_start_in_the_order_given_each_once);
	tcase_add_test(tc, every_module_file_is_known);
	tcase_add_test(tc, stream_features_follow_the_modules);
	tcase_add_test(tc, offline_quota_bytes_default_value_and_error);
	tcase_add_test(tc, version_hidden_default_value_and_error);
	tcase_add_test(tc, contacts_are_checked);
	tcase_add_test(tc, private_limits_default_value_and_error);
	tcase_add_test(tc, mam_retention_days_bounds);
	tcase_add_test(tc, bookmarks_max_default_value_and_error);
	tcase_add_test(tc, errors_name_line_and_setting);
	tcase_add_test(tc, components_are_read);
	tcase_add_test(tc, component_errors_name_line_and_setting);
	suite_add_tcase(s, tc);
	int status = unit_run(s);
	unlink(path);
	snprintf(pem, sizeof pem, "%s/c.pem", dir);
	unlink(pem);
	snprintf(pem, sizeof pem, "%s/k.pem", dir);
	unlink(pem);
	rmdir(dir);
	return status;
}
