/* caps_ver: XEP-0115 §5.1's verification string and hash, on the
 * examples of §5.2 and §5.3, and §5.4's ill-formed results. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/sm/caps_ver.h"
#include "unit.h"

#define QUERY_OPEN "<query xmlns='http://jabber.org/protocol/disco#info'>"
#define QUERY_CLOSE "</query>"
#define FORM(type, fields)                                                     \
	"<x xmlns='jabber:x:data' type='result'>"                              \
	"<field var='FORM_TYPE' type='" type "'>"                              \
	"<value>urn:example:form</value></field>" fields "</x>"

/* XEP-0115 §5.2. */
static const char simple[] =
	"<query xmlns='http://jabber.org/protocol/disco#info'"
	" node='http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0='>"
	"<identity category='client' name='Exodus 0.9.1' type='pc'/>"
	"<feature var='http://jabber.org/protocol/caps'/>"
	"<feature var='http://jabber.org/protocol/disco#info'/>"
	"<feature var='http://jabber.org/protocol/disco#items'/>"
	"<feature var='http://jabber.org/protocol/muc'/>"
	"</query>";

/* XEP-0115 §5.3, in its order (not the sorted one). */
static const char complex[] =
	"<query xmlns='http://jabber.org/protocol/disco#info'"
	" node='http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w='>"
	"<identity xml:lang='en' category='client' name='Psi 0.11'"
	" type='pc'/>"
	"<identity xml:lang='el' category='client' name='\xce\xa8 0.11'"
	" type='pc'/>"
	"<feature var='http://jabber.org/protocol/caps'/>"
	"<feature var='http://jabber.org/protocol/disco#info'/>"
	"<feature var='http://jabber.org/protocol/disco#items'/>"
	"<feature var='http://jabber.org/protocol/muc'/>"
	"<x xmlns='jabber:x:data' type='result'>"
	"<field var='FORM_TYPE' type='hidden'>"
	"<value>urn:xmpp:dataforms:softwareinfo</value></field>"
	"<field var='ip_version' type='text-multi'>"
	"<value>ipv4</value><value>ipv6</value></field>"
	"<field var='os'><value>Mac</value></field>"
	"<field var='os_version'><value>10.5.1</value></field>"
	"<field var='software'><value>Psi</value></field>"
	"<field var='software_version'><value>0.11</value></field>"
	"</x></query>";

static struct arena arena = ARENA_INIT;

static void teardown(void)
{
	arena_reset(&arena);
}

static struct xml_node *parse(const char *s)
{
	struct xml_node *q = xml_parse(&arena, s, strlen(s), "jabber:client");
	ck_assert_msg(q != NULL, "'%s' should parse", s);
	return q;
}

static void assert_string(const char *query, const char *expected)
{
	struct buf s = BUF_INIT;
	const char *why = NULL;
	ck_assert_int_eq(caps_ver_string(parse(query), &s, &why), 0);
	ck_assert_str_eq(s.data ? s.data : "", expected);
	buf_free(&s);
}

static void assert_ver(const char *query, const char *expected)
{
	char ver[CAPS_VER_SIZE];
	const char *why = NULL;
	ck_assert_int_eq(caps_ver_hash(parse(query), ver, &why), 0);
	ck_assert_str_eq(ver, expected);
}

static void assert_ill_formed(const char *query, const char *reason)
{
	struct buf s = BUF_INIT;
	char ver[CAPS_VER_SIZE];
	const char *why = NULL;
	ck_assert_int_eq(caps_ver_string(parse(query), &s, &why), -1);
	ck_assert_str_eq(why, reason);
	why = NULL;
	ck_assert_int_eq(caps_ver_hash(parse(query), ver, &why), -1);
	ck_assert_str_eq(why, reason);
	buf_free(&s);
}

START_TEST(simple_example)
{
	assert_string(simple, "client/pc//Exodus 0.9.1<"
			      "http://jabber.org/protocol/caps<"
			      "http://jabber.org/protocol/disco#info<"
			      "http://jabber.org/protocol/disco#items<"
			      "http://jabber.org/protocol/muc<");
	assert_ver(simple, "QgayPKawpkPSDYmwT/WM94uAlu0=");
}
END_TEST

START_TEST(complex_example)
{
	assert_string(complex,
		      "client/pc/el/\xce\xa8 0.11<client/pc/en/Psi 0.11<"
		      "http://jabber.org/protocol/caps<"
		      "http://jabber.org/protocol/disco#info<"
		      "http://jabber.org/protocol/disco#items<"
		      "http://jabber.org/protocol/muc<"
		      "urn:xmpp:dataforms:softwareinfo<"
		      "ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<"
		      "software<Psi<software_version<0.11<");
	assert_ver(complex, "q07IKJEyjvHSyhy//CH0CxmKi8w=");
}
END_TEST

/* Features, identities, forms, fields and values are sorted, whatever
 * order they come in. */
START_TEST(everything_is_sorted)
{
	assert_string(QUERY_OPEN
		      "<feature var='b'/><feature var='a'/>"
		      "<identity category='c' type='t' name='2'/>"
		      "<identity category='c' type='t' name='1'/>"
		      "<identity category='b' type='z'/>"
		      "<x xmlns='jabber:x:data' type='result'>"
		      "<field var='f'><value>y</value><value>x</value></field>"
		      "<field var='e'><value>z</value></field>"
		      "<field var='FORM_TYPE' type='hidden'>"
		      "<value>urn:z</value></field></x>" FORM("hidden", "")
			      QUERY_CLOSE,
		      "b/z//<c/t//1<c/t//2<a<b<urn:example:form<"
		      "urn:z<e<z<f<x<y<");
}
END_TEST

START_TEST(empty_query)
{
	assert_string(QUERY_OPEN QUERY_CLOSE, "");
	assert_ver(QUERY_OPEN QUERY_CLOSE, "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
}
END_TEST

/* §5.4 step 3.3, 3.4. */
START_TEST(duplicates_are_ill_formed)
{
	assert_ill_formed(QUERY_OPEN "<identity category='client' type='pc'"
				     " xml:lang='en' name='A'/>"
				     "<identity category='client' type='pc'"
				     " xml:lang='en' name='A'/>" QUERY_CLOSE,
			  "duplicate identity");
	assert_ill_formed(QUERY_OPEN
			  "<feature var='urn:a'/><feature var='urn:b'/>"
			  "<feature var='urn:a'/>" QUERY_CLOSE,
			  "duplicate feature");
	/* Differing by xml:lang only, they are two. */
	assert_string(QUERY_OPEN "<identity category='client' type='pc'"
				 " xml:lang='en' name='A'/>"
				 "<identity category='client' type='pc'"
				 " name='A'/>" QUERY_CLOSE,
		      "client/pc//A<client/pc/en/A<");
}
END_TEST

/* §5.4 step 3.5. */
START_TEST(form_types_are_unique)
{
	assert_ill_formed(QUERY_OPEN FORM("hidden", "") FORM("hidden", "")
				  QUERY_CLOSE,
			  "two forms of one FORM_TYPE");
	assert_ill_formed(QUERY_OPEN
			  "<x xmlns='jabber:x:data' type='result'>"
			  "<field var='FORM_TYPE' type='hidden'>"
			  "<value>urn:a</value><value>urn:b</value></field>"
			  "</x>" QUERY_CLOSE,
			  "a FORM_TYPE with several values");
	assert_ill_formed(
		QUERY_OPEN
		"<x xmlns='jabber:x:data' type='result'>"
		"<field var='FORM_TYPE' type='hidden'/></x>" QUERY_CLOSE,
		"a FORM_TYPE without a value");
	assert_ill_formed(QUERY_OPEN
			  "<x xmlns='jabber:x:data' type='result'>"
			  "<field var='FORM_TYPE' type='hidden'>"
			  "<value>urn:a</value></field>"
			  "<field var='FORM_TYPE' type='hidden'>"
			  "<value>urn:b</value></field></x>" QUERY_CLOSE,
			  "two FORM_TYPE fields in a form");
	/* The same value twice does not differ. */
	assert_string(QUERY_OPEN "<x xmlns='jabber:x:data' type='result'>"
				 "<field var='FORM_TYPE' type='hidden'>"
				 "<value>urn:a</value><value>urn:a</value>"
				 "</field></x>" QUERY_CLOSE,
		      "urn:a<");
}
END_TEST

/* §5.4 step 3.6: such a form is left out, the rest still counts. */
START_TEST(forms_without_hidden_form_type_are_ignored)
{
	assert_string(QUERY_OPEN "<feature var='urn:a'/>" FORM(
			      "text-single", "<field var='x'><value>1</value>"
					     "</field>") QUERY_CLOSE,
		      "urn:a<");
	assert_string(QUERY_OPEN "<feature var='urn:a'/>"
				 "<x xmlns='jabber:x:data' type='result'>"
				 "<field var='x'><value>1</value></field>"
				 "</x>" QUERY_CLOSE,
		      "urn:a<");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("caps_ver");
	TCase *tc = tcase_create("caps_ver");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, simple_example);
	tcase_add_test(tc, complex_example);
	tcase_add_test(tc, everything_is_sorted);
	tcase_add_test(tc, empty_query);
	tcase_add_test(tc, duplicates_are_ill_formed);
	tcase_add_test(tc, form_types_are_unique);
	tcase_add_test(tc, forms_without_hidden_form_type_are_ignored);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
