/* vcard: the <ldap><vcard> attribute map of config.xml, and the vCard
 * (XEP-0054) built from an entry's attribute values. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../server/sm/module.h"
#include "../../server/sm/stanza.h"
#include "../../server/sm/vcard.h"
#include "sm_harness.h"
#include "unit.h"

/* Under the sanitizers (make check), a pointer to a stack frame gone is
 * caught when used (ASan reads this hook; other builds ignore it). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_stack_use_after_return=1";
}

static char dir[] = "/tmp/palabre-vcard-XXXXXX";
static char path[256];

static void write_file(const char *file, const char *text)
{
	FILE *f = fopen(file, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/config.xml", dir);
	char cert[300];
	snprintf(cert, sizeof cert, "%s/c.pem", dir);
	write_file(cert, "x");
}

static int load(const char *vcard, struct config *c, char *err, size_t len)
{
	char xml[2048];
	snprintf(xml, sizeof xml,
		 "<palabred>\n"
		 "<host domain='example.org'><certificate>c.pem</certificate>"
		 "<key>c.pem</key><auth backend='ldap' directory='central'>"
		 "<base>ou=people,dc=example,dc=org</base>"
		 "<filter>(uid=%%u)</filter></auth></host>\n"
		 "<ldap id='central'>\n<uri>ldap://127.0.0.1:3890</uri>\n"
		 "%s</ldap>\n</palabred>\n",
		 vcard);
	write_file(path, xml);
	if (config_load(c, path, err, len) < 0)
		return -1;
	if (sm_module_check_config(c, err, len) < 0) {
		config_free(c);
		return -1;
	}
	return 0;
}

/* The map of the directory, as the vcard module reads it. */
static struct sm_vcard_map map_of(const struct config *c)
{
	struct sm_vcard_map map = {0};
	char err[512];
	ck_assert_int_ge(sm_module_option_read(c, &sm_module_vcard, "vcard", 0,
					       &map, err, sizeof err),
			 0);
	return map;
}

static void assert_error(const char *vcard, const char *want)
{
	struct config c;
	char err[512], expected[512];
	ck_assert_int_eq(load(vcard, &c, err, sizeof err), -1);
	snprintf(expected, sizeof expected, "%s:%s", path, want);
	ck_assert_msg(strncmp(err, expected, strlen(expected)) == 0,
		      "got '%s', want '%s…'", err, expected);
}

START_TEST(no_vcard_element_no_map)
{
	struct config c;
	char err[512];
	ck_assert_int_eq(load("", &c, err, sizeof err), 0);
	struct sm_vcard_map d = map_of(&c);
	ck_assert(!d.on);
	for (size_t f = 0; f < SM_VCARD_NFIELDS; f++)
		ck_assert_ptr_null(d.attrs[f]);
	config_free(&c);
}
END_TEST

START_TEST(empty_vcard_element_gives_the_defaults)
{
	struct config c;
	char err[512];
	ck_assert_int_eq(load("<vcard/>\n", &c, err, sizeof err), 0);
	struct sm_vcard_map map = map_of(&c), *d = &map;
	ck_assert(d->on);
	ck_assert_str_eq(d->attrs[SM_VCARD_FN], "cn");
	ck_assert_str_eq(d->attrs[SM_VCARD_GIVEN], "givenName");
	ck_assert_str_eq(d->attrs[SM_VCARD_FAMILY], "sn");
	ck_assert_str_eq(d->attrs[SM_VCARD_EMAIL], "mail");
	ck_assert_str_eq(d->attrs[SM_VCARD_TEL], "telephoneNumber");
	ck_assert_str_eq(d->attrs[SM_VCARD_ORGUNIT], "ou");
	ck_assert_str_eq(d->attrs[SM_VCARD_TITLE], "title");
	ck_assert_ptr_null(d->attrs[SM_VCARD_ORGNAME]);
	config_free(&c);
}
END_TEST

START_TEST(fields_override_or_switch_off_defaults)
{
	struct config c;
	char err[512];
	ck_assert_int_eq(load("<vcard><field name='TEL' attribute='homePhone'/>"
			      "<field name='TITLE' attribute=''/>"
			      "<field name='ORGNAME' attribute='o'/></vcard>\n",
			      &c, err, sizeof err),
			 0);
	struct sm_vcard_map map = map_of(&c), *d = &map;
	ck_assert_str_eq(d->attrs[SM_VCARD_TEL], "homePhone");
	ck_assert_ptr_null(d->attrs[SM_VCARD_TITLE]);
	ck_assert_str_eq(d->attrs[SM_VCARD_ORGNAME], "o");
	ck_assert_str_eq(d->attrs[SM_VCARD_FN], "cn");
	config_free(&c);

	ck_assert_int_eq(load("<vcard defaults='false'><field name='FN' "
			      "attribute='displayName'/></vcard>\n",
			      &c, err, sizeof err),
			 0);
	map = map_of(&c);
	ck_assert_str_eq(d->attrs[SM_VCARD_FN], "displayName");
	ck_assert_ptr_null(d->attrs[SM_VCARD_TEL]);
	config_free(&c);
}
END_TEST

/* Two directories, each with its map: palabred's check reads the second
 * as it read the first (found in review: the check kept a pointer to a
 * map on a stack frame gone, which the sanitizers' run below catches). */
START_TEST(two_directories_each_keep_their_map)
{
	struct config c;
	char err[512];
	ck_assert_int_eq(load("<vcard><field name='TEL' attribute='homePhone'/>"
			      "</vcard>\n</ldap>\n<ldap id='other'>\n"
			      "<uri>ldap://127.0.0.1:3891</uri>\n"
			      "<vcard defaults='false'><field name='TEL' "
			      "attribute='mobile'/></vcard>\n",
			      &c, err, sizeof err),
			 0);
	struct sm_vcard_map maps[2] = {{0}};
	for (size_t d = 0; d < 2; d++)
		ck_assert_int_ge(sm_module_option_read(&c, &sm_module_vcard,
						       "vcard", d, &maps[d],
						       err, sizeof err),
				 0);
	ck_assert_str_eq(maps[0].attrs[SM_VCARD_TEL], "homePhone");
	ck_assert_str_eq(maps[0].attrs[SM_VCARD_FN], "cn");
	ck_assert_str_eq(maps[1].attrs[SM_VCARD_TEL], "mobile");
	ck_assert_ptr_null(maps[1].attrs[SM_VCARD_FN]);
	config_free(&c);
}
END_TEST

START_TEST(errors_name_line_and_setting)
{
	assert_error("<vcard><field name='PHOTO' attribute='jpegPhoto'/>"
		     "</vcard>\n",
		     "5: ldap/vcard/field/@name: 'PHOTO' is not a vCard field");
	assert_error("<vcard>\n<field name='TEL'/></vcard>\n",
		     "6: ldap/vcard/field/@attribute: missing");
	assert_error("<vcard><field name='TEL' attribute='a)(b'/></vcard>\n",
		     "5: ldap/vcard/field/@attribute: 'a)(b' is not an LDAP "
		     "attribute name");
	assert_error("<vcard defaults='maybe'/>\n",
		     "5: ldap/vcard/@defaults: 'maybe' is not true or false");
	assert_error("<vcard><phone/></vcard>\n",
		     "5: ldap/vcard/phone: unknown setting");
	assert_error("<vcard/><vcard/>\n", "5: ldap/vcard: given twice");
	assert_error("<vcard><field name='FN' attribute='cn' x='1'/></vcard>\n",
		     "5: ldap/vcard/field: unknown attribute 'x'");
}
END_TEST

static const char *serialize(const struct xml_node *n, struct buf *b)
{
	buf_clear(b);
	ck_assert_int_eq(xml_serialize(n, "jabber:client", b), 0);
	ck_assert_int_eq(buf_append(b, "", 1), 0);
	return b->data;
}

START_TEST(vcard_from_values)
{
	struct arena a = {0};
	struct buf b = {0};
	char *cn[] = {"Alice Martin", NULL};
	char *given[] = {"Alice", NULL};
	char *sn[] = {"Martin", NULL};
	char *mail[] = {"alice@example.org", "a.martin@example.org", NULL};
	char *tel[] = {"+33 1 23 45 67 89", NULL};
	char *ou[] = {"Research", "Lab <A&B>", NULL};
	char **values[SM_VCARD_NFIELDS] = {
		[SM_VCARD_FN] = cn,     [SM_VCARD_GIVEN] = given,
		[SM_VCARD_FAMILY] = sn, [SM_VCARD_EMAIL] = mail,
		[SM_VCARD_TEL] = tel,   [SM_VCARD_ORGUNIT] = ou};
	struct xml_node *vc = sm_vcard_build(&a, values, "alice@example.org");
	ck_assert_ptr_nonnull(vc);
	ck_assert_str_eq(
		serialize(vc, &b),
		"<vCard xmlns='vcard-temp'><FN>Alice Martin</FN>"
		"<N><FAMILY>Martin</FAMILY><GIVEN>Alice</GIVEN></N>"
		"<TEL><VOICE/><WORK/><NUMBER>+33 1 23 45 67 89</NUMBER></TEL>"
		"<EMAIL><INTERNET/><USERID>alice@example.org</USERID></EMAIL>"
		"<EMAIL><INTERNET/><USERID>a.martin@example.org</USERID></"
		"EMAIL>"
		"<JABBERID>alice@example.org</JABBERID>"
		"<ORG><ORGNAME></ORGNAME><ORGUNIT>Research</ORGUNIT>"
		"<ORGUNIT>Lab &lt;A&amp;B&gt;</ORGUNIT></ORG></vCard>");
	buf_free(&b);
	arena_reset(&a);
}
END_TEST

START_TEST(bad_values_are_left_out)
{
	struct arena a = {0};
	struct buf b = {0};
	char *cn[] = {"bad\xff", "", "ctl\x01", "Chlo\xc3\xa9", NULL};
	char *tel[] = {"\xed\xa0\x80", NULL}; /* a surrogate */
	char **values[SM_VCARD_NFIELDS] = {
		[SM_VCARD_FN] = cn, [SM_VCARD_TEL] = tel};
	struct xml_node *vc = sm_vcard_build(&a, values, NULL);
	ck_assert_ptr_nonnull(vc);
	ck_assert_str_eq(serialize(vc, &b),
			 "<vCard xmlns='vcard-temp'><FN>Chlo\xc3\xa9</FN>"
			 "</vCard>");
	char **none[SM_VCARD_NFIELDS] = {0};
	vc = sm_vcard_build(&a, none, "bob@example.org");
	ck_assert_str_eq(serialize(vc, &b),
			 "<vCard xmlns='vcard-temp'><JABBERID>bob@example.org"
			 "</JABBERID></vCard>");
	buf_free(&b);
	arena_reset(&a);
}
END_TEST

/* ------------------------------------------------------------ the module */

static char *sm_hosts[] = {"localhost", "example.org"};
static char *sm_modules[] = {"disco", "vcard"};

/* localhost: local accounts; example.org: a directory with a vCard map
 * (no URI: nothing here may ask it). */
static void sm_setup(void)
{
	config_reset(sm_hosts, 2, sm_modules, 2);
	cfg.hosts[0].directory = -1;
	cfg.hosts[1].auth_backend = (char *)"ldap";
	cfg.hosts[1].directory = 0;
	cfg.ndirectories = 1;
	cfg.directories[0].id = (char *)"central";
	ck_assert_int_eq(config_keep(&cfg.directories[0].kept, "vcard", ""), 0);
	start_sm_recording();
	bind_session(1, "alice@localhost/pc");
	bind_session(2, "bob@example.org/pc");
	clear_sent();
}

static void sm_teardown(void)
{
	clear_sent();
	sm_free(&sm);
}

static struct xml_node *last_sent(void)
{
	ck_assert_uint_ge(nsent, 1);
	return parse_sent(&sent[nsent - 1]);
}

static void assert_error_of(struct xml_node *n, const char *id,
			    const char *condition)
{
	ck_assert_str_eq(xml_attr_get(n, "type"), "error");
	ck_assert_str_eq(xml_attr_get(n, "id"), id);
	struct xml_node *e = xml_child(n, XML_NS_CLIENT, "error");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(xml_child(e, NS_STANZAS, condition));
	ck_assert_str_eq(xml_attr_get(e, "type"),
			 sm_stanza_error_type(condition));
}

START_TEST(set_for_a_directory_user_is_not_allowed)
{
	client_sends(2, "<iq type='set' id='s1'><vCard xmlns='vcard-temp'>"
			"<FN>Not Bob</FN></vCard></iq>");
	struct xml_node *r = last_sent();
	assert_error_of(r, "s1", "not-allowed");
	struct xml_node *e = xml_child(r, XML_NS_CLIENT, "error");
	struct xml_node *t = xml_child(e, NS_STANZAS, "text");
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(xml_text(&test_arena, t), "directory"));
	clear_sent();
	client_sends(1, "<iq type='set' id='s2' to='bob@example.org'>"
			"<vCard xmlns='vcard-temp'/></iq>");
	assert_error_of(last_sent(), "s2", "not-allowed");
}
END_TEST

START_TEST(local_domain_is_left_to_the_core)
{
	client_sends(1, "<iq type='get' id='g1'><vCard xmlns='vcard-temp'/>"
			"</iq>");
	assert_error_of(last_sent(), "g1", "service-unavailable");
	clear_sent();
	client_sends(2, "<iq type='get' id='g2' to='carol@localhost'>"
			"<vCard xmlns='vcard-temp'/></iq>");
	assert_error_of(last_sent(), "g2", "service-unavailable");
	clear_sent();
	client_sends(1, "<iq type='set' id='g3'><vCard xmlns='vcard-temp'/>"
			"</iq>");
	assert_error_of(last_sent(), "g3", "service-unavailable");
}
END_TEST

START_TEST(disco_lists_vcard_temp)
{
	client_sends(1, "<iq type='get' id='d1' to='localhost'><query "
			"xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	struct xml_node *r = last_sent();
	ck_assert_str_eq(xml_attr_get(r, "type"), "result");
	const char *ns = "http://jabber.org/protocol/disco#info";
	struct xml_node *q = xml_child(r, ns, "query");
	bool found = false;
	for (struct xml_node *f = xml_child(q, ns, "feature"); f;
	     f = xml_next(f, ns, "feature"))
		found |= strcmp(xml_attr_get(f, "var"), "vcard-temp") == 0;
	ck_assert(found);
}
END_TEST

int main(void)
{
	setup();
	Suite *s = suite_create("vcard");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, no_vcard_element_no_map);
	tcase_add_test(tc, empty_vcard_element_gives_the_defaults);
	tcase_add_test(tc, fields_override_or_switch_off_defaults);
	tcase_add_test(tc, two_directories_each_keep_their_map);
	tcase_add_test(tc, errors_name_line_and_setting);
	tcase_add_test(tc, vcard_from_values);
	tcase_add_test(tc, bad_values_are_left_out);
	suite_add_tcase(s, tc);
	TCase *mod = tcase_create("module");
	tcase_add_checked_fixture(mod, sm_setup, sm_teardown);
	tcase_add_test(mod, set_for_a_directory_user_is_not_allowed);
	tcase_add_test(mod, local_domain_is_left_to_the_core);
	tcase_add_test(mod, disco_lists_vcard_temp);
	suite_add_tcase(s, mod);
	return unit_run(s);
}
