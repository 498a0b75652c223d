/* vcard: the <ldap><vcard> attribute map of config.xml, and the vCard
 * (XEP-0054) built from an entry's attribute values. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../lib/frame.h"
#include "../../server/sm/module.h"
#include "../../server/sm/stanza.h"
#include "../../server/sm/vcard.h"
#include "../../storage/storage.h"
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

static void setup(void)
{
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/config.xml", dir);
	char cert[300];
	snprintf(cert, sizeof cert, "%s/c.pem", dir);
	unit_write_file(cert, "x");
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
	unit_write_file(path, xml);
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

/* ------------------------------------------------------------ merging */

static struct xml_node *parse_vcard(struct arena *a, const char *xml)
{
	struct xml_node *n = xml_parse(a, xml, strlen(xml), NS_VCARD);
	ck_assert_ptr_nonnull(n);
	return n;
}

/* The default map: FN, N, EMAIL, TEL, ORG, TITLE (and JABBERID). */
static struct sm_vcard_map default_map(void)
{
	struct sm_vcard_map m = {.on = true};
	m.attrs[SM_VCARD_FN] = "cn";
	m.attrs[SM_VCARD_GIVEN] = "givenName";
	m.attrs[SM_VCARD_EMAIL] = "mail";
	m.attrs[SM_VCARD_TEL] = "telephoneNumber";
	m.attrs[SM_VCARD_ORGUNIT] = "ou";
	m.attrs[SM_VCARD_TITLE] = "title";
	return m;
}

#define DIRECTORY_VCARD                                                        \
	"<vCard><FN>Alice Martin</FN><N><GIVEN>Alice</GIVEN></N>"              \
	"<TEL><VOICE/><WORK/><NUMBER>+33 1</NUMBER></TEL>"                     \
	"<JABBERID>alice@example.org</JABBERID>"                               \
	"<ORG><ORGNAME></ORGNAME><ORGUNIT>IT</ORGUNIT></ORG></vCard>"

START_TEST(owned_elements_follow_the_map)
{
	struct sm_vcard_map m = default_map();
	ck_assert(sm_vcard_owned(&m, "FN"));
	ck_assert(sm_vcard_owned(&m, "N"));
	ck_assert(sm_vcard_owned(&m, "TEL"));
	ck_assert(sm_vcard_owned(&m, "ORG"));
	ck_assert(sm_vcard_owned(&m, "JABBERID"));
	ck_assert(!sm_vcard_owned(&m, "PHOTO"));
	ck_assert(!sm_vcard_owned(&m, "NICKNAME"));
	ck_assert(!sm_vcard_owned(&m, "BDAY"));
	ck_assert(!sm_vcard_owned(NULL, "FN"));
	m.attrs[SM_VCARD_NICKNAME] = "uid";
	ck_assert(sm_vcard_owned(&m, "NICKNAME"));
}
END_TEST

/* The directory value that setting vCard xml would change (the default
 * map, DIRECTORY_VCARD), or NULL. */
static const char *change_of(const char *xml)
{
	static char field[64];
	struct sm_vcard_map m = default_map();
	return sm_vcard_directory_change(
		&test_arena, &m, parse_vcard(&test_arena, xml),
		parse_vcard(&test_arena, DIRECTORY_VCARD), field, sizeof field);
}

/* Gajim's profile editor sends the whole vCard back, reordered, with
 * empty elements and a new photo: no change of the directory's. */
START_TEST(the_directory_vcard_sent_back_is_no_change)
{
	ck_assert_ptr_null(change_of(
		"<vCard><PHOTO><TYPE>image/png</TYPE><BINVAL>aGVsbG8=</"
		"BINVAL></PHOTO><ORG><ORGUNIT> IT </ORGUNIT></ORG>"
		"<TEL><WORK/><VOICE/><NUMBER>+33 1</NUMBER></TEL>"
		"<N><GIVEN>Alice</GIVEN><FAMILY/></N><FN>Alice Martin</FN>"
		"<NICKNAME>al</NICKNAME></vCard>"));
	/* Leaving a directory field out is no change either. */
	ck_assert_ptr_null(change_of("<vCard><NICKNAME>al</NICKNAME></vCard>"));
}
END_TEST

START_TEST(a_changed_directory_value_is_named)
{
	ck_assert_str_eq(change_of("<vCard><FN>Alice Martin</FN><TEL><HOME/>"
				   "<NUMBER>+33 2</NUMBER></TEL></vCard>"),
			 "TEL/NUMBER");
	ck_assert_str_eq(change_of("<vCard><N><FAMILY>Dupont</FAMILY></N>"
				   "</vCard>"),
			 "N/FAMILY");
	ck_assert_str_eq(change_of("<vCard><TITLE>Boss</TITLE></vCard>"),
			 "TITLE");
}
END_TEST

START_TEST(strip_then_merge_the_directory_wins)
{
	struct arena a = {0};
	struct buf b = {0};
	struct sm_vcard_map m = default_map();
	struct xml_node *set = parse_vcard(
		&a, "<vCard><FN>Old</FN><NICKNAME>al</NICKNAME>"
		    "<PHOTO><BINVAL>aGVsbG8=</BINVAL></PHOTO></vCard>");
	sm_vcard_strip_owned(&m, set);
	ck_assert_str_eq(serialize(set, &b),
			 "<vCard xmlns='vcard-temp'><NICKNAME>al</NICKNAME>"
			 "<PHOTO><BINVAL>aGVsbG8=</BINVAL></PHOTO></vCard>");
	/* A stored FN (the map changed since) does not show. */
	struct xml_node *stored = parse_vcard(
		&a, "<vCard><FN>Old</FN><NICKNAME>al</NICKNAME></vCard>");
	struct xml_node *directory =
		parse_vcard(&a, "<vCard><FN>Alice Martin</FN></vCard>");
	ck_assert_int_eq(sm_vcard_merge(&a, &m, directory, stored), 0);
	ck_assert_str_eq(serialize(directory, &b),
			 "<vCard xmlns='vcard-temp'><FN>Alice Martin</FN>"
			 "<NICKNAME>al</NICKNAME></vCard>");
	buf_free(&b);
	arena_reset(&a);
}
END_TEST

/* XEP-0153 §4.1: the SHA-1 of the image data, not of its base64. */
START_TEST(photo_hash_is_the_sha1_of_the_decoded_binval)
{
	struct arena a = {0};
	char hex[VCARD_HASH_SIZE];
	/* sha1("hello") */
	const char *hello = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d";
	static const char *const forms[] = {
		"<vCard><PHOTO><BINVAL>aGVsbG8=</BINVAL></PHOTO></vCard>",
		/* wrapped lines, padding left out */
		"<vCard><PHOTO><TYPE>image/png</TYPE><BINVAL>\n aGVs\r\n"
		"bG8\n</BINVAL></PHOTO></vCard>",
	};
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(
			sm_vcard_photo_hash(&a, parse_vcard(&a, forms[i]), hex),
			SM_VCARD_PHOTO_OK);
		ck_assert_str_eq(hex, hello);
	}
	ck_assert_int_eq(
		sm_vcard_photo_hash(&a,
				    parse_vcard(&a, "<vCard><PHOTO>"
						    "<EXTVAL>https://"
						    "x/y.png</EXTVAL>"
						    "</PHOTO></vCard>"),
				    hex),
		SM_VCARD_PHOTO_NONE);
	ck_assert_str_eq(hex, "");
	ck_assert_int_eq(sm_vcard_photo_hash(&a,
					     parse_vcard(&a, "<vCard><PHOTO>"
							     "<BINVAL>a*b=c"
							     "</BINVAL></PHOTO>"
							     "</vCard>"),
					     hex),
			 SM_VCARD_PHOTO_BAD);
	arena_reset(&a);
}
END_TEST

/* ------------------------------------------------------------ presence */

#define HASH "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
#define X "<x xmlns='vcard-temp:x:update'>"

/* XEP-0398 §4 on one presence: what it becomes, and whether it changed. */
static void assert_update(const char *hash, const char *in, const char *out,
			  int changed)
{
	struct arena a = {0};
	struct buf b = {0};
	struct xml_node *p = xml_parse(&a, in, strlen(in), XML_NS_CLIENT);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(sm_vcard_update_presence(&a, p, hash), changed);
	ck_assert_str_eq(serialize(p, &b), out);
	buf_free(&b);
	arena_reset(&a);
}

START_TEST(presence_gets_or_keeps_the_photo_hash)
{
	/* "services MUST include the hash … in every available presence" */
	assert_update(HASH, "<presence/>",
		      "<presence>" X "<photo>" HASH "</photo></x></presence>",
		      1);
	/* "Empty x elements … MUST be overwritten." */
	assert_update(HASH, "<presence>" X "</x></presence>",
		      "<presence>" X "<photo>" HASH "</photo></x></presence>",
		      1);
	assert_update("", "<presence>" X "</x></presence>",
		      "<presence>" X "<photo/></x></presence>", 1);
	/* An empty photo element is left untouched. */
	assert_update(HASH, "<presence>" X "<photo/></x></presence>",
		      "<presence>" X "<photo/></x></presence>", 0);
	/* Another hash "MAY be overwritten": ours is the vCard's. */
	assert_update(HASH, "<presence>" X "<photo>0123</photo></x></presence>",
		      "<presence>" X "<photo>" HASH "</photo></x></presence>",
		      1);
	assert_update(
		HASH, "<presence>" X "<photo>" HASH "</photo></x></presence>",
		"<presence>" X "<photo>" HASH "</photo></x></presence>", 0);
	/* No photo stored: nothing added, another's hash kept. */
	assert_update("", "<presence><show>away</show></presence>",
		      "<presence><show>away</show></presence>", 0);
	assert_update("", "<presence>" X "<photo>0123</photo></x></presence>",
		      "<presence>" X "<photo>0123</photo></x></presence>", 0);
}
END_TEST

/* ------------------------------------------------------------ the module */

static char *sm_hosts[] = {"localhost", "example.org"};
static char *sm_modules[] = {"roster", "presence", "disco", "vcard"};

/* localhost: local accounts; example.org: a directory with a vCard map
 * (no URI: nothing here may ask it). Alice has two resources. */
static void sm_setup(void)
{
	make_temp_store("vcard");
	config_reset(sm_hosts, 2, sm_modules, 4);
	cfg.hosts[0].directory = -1;
	cfg.hosts[1].auth_backend = (char *)"ldap";
	cfg.hosts[1].directory = 0;
	cfg.ndirectories = 1;
	cfg.directories[0].id = (char *)"central";
	ck_assert_int_eq(config_keep(&cfg.directories[0].kept, "vcard", ""), 0);
	config_set_sm("vcard-max-bytes", "2048");
	start_sm();
	bind_session(1, "alice@localhost/pc");
	bind_session(2, "bob@localhost/pc");
	bind_session(3, "alice@localhost/phone");
	clear_sent();
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

static const char *error_text(struct xml_node *n)
{
	struct xml_node *e = xml_child(n, XML_NS_CLIENT, "error");
	struct xml_node *t = xml_child(e, NS_STANZAS, "text");
	ck_assert_ptr_nonnull(t);
	return xml_text(&test_arena, t);
}

/* The vCard of the result n, serialized. */
static const char *vcard_in(struct xml_node *n, struct buf *b)
{
	ck_assert_str_eq(xml_attr_get(n, "type"), "result");
	struct xml_node *vc = xml_child(n, NS_VCARD, "vCard");
	ck_assert_ptr_nonnull(vc);
	return serialize(vc, b);
}

#define ALICE_VCARD                                                            \
	"<vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/png"       \
	"</TYPE><BINVAL>aGVsbG8=</BINVAL></PHOTO></vCard>"

START_TEST(own_vcard_empty_then_set_then_read_by_anyone)
{
	struct buf b = {0};
	client_sends(1, "<iq type='get' id='g1'><vCard xmlns='vcard-temp'/>"
			"</iq>");
	ck_assert_str_eq(vcard_in(last_sent(), &b),
			 "<vCard xmlns='vcard-temp'/>");
	clear_sent();
	client_sends(2, "<iq type='get' id='g2' to='alice@localhost'>"
			"<vCard xmlns='vcard-temp'/></iq>");
	assert_error_of(last_sent(), "g2", "item-not-found");
	clear_sent();

	client_sends(1, "<iq type='set' id='s1'>" ALICE_VCARD "</iq>");
	ck_assert_uint_eq(nsent, 1);
	struct xml_node *r = last_sent();
	ck_assert_str_eq(xml_attr_get(r, "type"), "result");
	ck_assert_str_eq(xml_attr_get(r, "id"), "s1");
	struct stored *st = load_stored("alice@localhost", VCARD_STORE);
	ck_assert_uint_eq(st->count, 2);
	ck_assert_str_eq(st->keys[0], VCARD_KEY_PHOTO);
	ck_assert_str_eq(st->values[0], HASH);
	ck_assert_str_eq(st->keys[1], VCARD_KEY);
	ck_assert_str_eq(st->values[1], ALICE_VCARD);
	clear_sent();

	client_sends(2, "<iq type='get' id='g3' to='alice@localhost'>"
			"<vCard xmlns='vcard-temp'/></iq>");
	r = last_sent();
	ck_assert_str_eq(xml_attr_get(r, "from"), "alice@localhost");
	ck_assert_str_eq(vcard_in(r, &b), ALICE_VCARD);
	clear_sent();
	client_sends(3, "<iq type='get' id='g4' to='alice@localhost'>"
			"<vCard xmlns='vcard-temp'/></iq>");
	ck_assert_str_eq(vcard_in(last_sent(), &b), ALICE_VCARD);
	buf_free(&b);
}
END_TEST

START_TEST(empty_set_removes_the_vcard)
{
	client_sends(1, "<iq type='set' id='s1'>" ALICE_VCARD "</iq>");
	client_sends(1, "<iq type='set' id='s2' to='alice@localhost'>"
			"<vCard xmlns='vcard-temp'/></iq>");
	ck_assert_str_eq(xml_attr_get(last_sent(), "type"), "result");
	ck_assert_uint_eq(load_stored("alice@localhost", VCARD_STORE)->count,
			  0);
	clear_sent();
	client_sends(2, "<iq type='get' id='g1' to='alice@localhost'>"
			"<vCard xmlns='vcard-temp'/></iq>");
	assert_error_of(last_sent(), "g1", "item-not-found");
}
END_TEST

START_TEST(bad_sets_are_refused)
{
	/* XEP-0054 §3.2: another's vCard. */
	client_sends(2, "<iq type='set' id='s1' to='alice@localhost'>"
			"<vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard>"
			"</iq>");
	assert_error_of(last_sent(), "s1", "forbidden");
	clear_sent();
	client_sends(1, "<iq type='set' id='s2'><vCard xmlns='vcard-temp'>"
			"<PHOTO><BINVAL>not base64!</BINVAL></PHOTO></vCard>"
			"</iq>");
	assert_error_of(last_sent(), "s2", "bad-request");
	ck_assert_ptr_nonnull(strstr(error_text(last_sent()), "BINVAL"));
	clear_sent();
	char big[4096];
	snprintf(big, sizeof big,
		 "<iq type='set' id='s3'><vCard xmlns='vcard-temp'>"
		 "<DESC>%03000d</DESC></vCard></iq>",
		 0);
	client_sends(1, big);
	assert_error_of(last_sent(), "s3", "not-acceptable");
	ck_assert_ptr_nonnull(strstr(error_text(last_sent()), "2048 bytes"));
	ck_assert_uint_eq(load_stored("alice@localhost", VCARD_STORE)->count,
			  0);
}
END_TEST

/* The presence copy sent to conn, parsed; NULL when none. */
static struct xml_node *presence_to(uint64_t conn, size_t from)
{
	for (size_t i = from; i < nsent; i++) {
		struct xml_node *p = parse_sent(&sent[i]);
		if (sent[i].conn == conn && strcmp(p->name, "presence") == 0)
			return p;
	}
	return NULL;
}

static const char *photo_of(struct xml_node *p)
{
	struct xml_node *x = xml_child(p, NS_VCARD_UPDATE, "x");
	struct xml_node *ph = x ? xml_child(x, NS_VCARD_UPDATE, "photo") : NULL;
	return ph ? xml_text(&test_arena, ph) : NULL;
}

START_TEST(presence_carries_the_hash_after_a_set)
{
	available(3, "alice@localhost/phone", 0);
	client_sends(1, "<iq type='set' id='s1'>" ALICE_VCARD "</iq>");
	clear_sent();
	available(1, "alice@localhost/pc", 0);
	struct xml_node *p = presence_to(3, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(photo_of(p), HASH);
	/* Directed presence too (XEP-0398 §4, "such as MUC joins"). */
	clear_sent();
	client_sends(1, "<presence to='alice@localhost/phone'/>");
	ck_assert_str_eq(photo_of(presence_to(3, 0)), HASH);
}
END_TEST

/* After a restart the hash is read at the first available presence,
 * which goes at once; the read's completion sends it again, with the
 * hash. */
START_TEST(hash_is_read_lazily_then_presence_corrected)
{
	client_sends(1, "<iq type='set' id='s1'>" ALICE_VCARD "</iq>");
	clear_sent();
	stop_sm();
	start_sm();
	bind_session(1, "alice@localhost/pc");
	struct storage_stats before, after;
	storage_get_stats(sm.storage, &before);
	clear_sent();
	hand_frame(FRAME_STANZA, "c2s.1", 1, "localhost", "<presence/>");
	struct xml_node *p = presence_to(1, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(photo_of(p));
	size_t first = nsent;
	settle();
	p = presence_to(1, first);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(photo_of(p), HASH);
	/* One read, then none per presence. */
	storage_get_stats(sm.storage, &after);
	ck_assert_uint_eq(after.reads, before.reads + 1);
	clear_sent();
	client_sends(1, "<presence><show>away</show></presence>");
	ck_assert_str_eq(photo_of(presence_to(1, 0)), HASH);
	storage_get_stats(sm.storage, &before);
	ck_assert_uint_eq(after.reads, before.reads);
}
END_TEST

START_TEST(no_photo_no_change_no_resend)
{
	available(1, "alice@localhost/pc", 0);
	size_t n = nsent;
	ck_assert_ptr_null(photo_of(presence_to(1, 0)));
	settle();
	ck_assert_uint_eq(nsent, n);
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
	tcase_add_test(tc, owned_elements_follow_the_map);
	tcase_add_test(tc, the_directory_vcard_sent_back_is_no_change);
	tcase_add_test(tc, a_changed_directory_value_is_named);
	tcase_add_test(tc, strip_then_merge_the_directory_wins);
	tcase_add_test(tc, photo_hash_is_the_sha1_of_the_decoded_binval);
	tcase_add_test(tc, presence_gets_or_keeps_the_photo_hash);
	suite_add_tcase(s, tc);
	TCase *mod = tcase_create("module");
	tcase_add_checked_fixture(mod, sm_setup, teardown_stored_sm);
	tcase_add_test(mod, own_vcard_empty_then_set_then_read_by_anyone);
	tcase_add_test(mod, empty_set_removes_the_vcard);
	tcase_add_test(mod, bad_sets_are_refused);
	tcase_add_test(mod, presence_carries_the_hash_after_a_set);
	tcase_add_test(mod, hash_is_read_lazily_then_presence_corrected);
	tcase_add_test(mod, no_photo_no_change_no_resend);
	tcase_add_test(mod, disco_lists_vcard_temp);
	suite_add_tcase(s, mod);
	return unit_run(s);
}
