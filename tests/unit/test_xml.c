/* xml: parsing one stanza into a tree, building trees, serializing them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/xml.h"
#include "unit.h"

static struct arena arena = ARENA_INIT;

static void teardown(void)
{
	arena_reset(&arena);
}

static struct xml_node *parse(const char *s)
{
	return xml_parse(&arena, s, strlen(s), XML_NS_CLIENT);
}

/* Serializes n as a top-level stanza of a jabber:client stream. */
static const char *serialize(const struct xml_node *n)
{
	struct buf out = BUF_INIT;
	ck_assert_int_eq(xml_serialize(n, XML_NS_CLIENT, &out), 0);
	char *s = arena_strdup(&arena, out.data);
	buf_free(&out);
	return s;
}

/* Parses s and serializes it back; expects exactly s (or want), which
 * parses in turn (the sm reads what c2s wrote). */
static void assert_round_trip(const char *s, const char *want)
{
	struct xml_node *n = parse(s);
	ck_assert_msg(n != NULL, "parse failed: %s", s);
	const char *out = serialize(n);
	ck_assert_str_eq(out, want ? want : s);
	ck_assert_str_eq(serialize(xml_copy(&arena, n)), out);
	struct xml_node *again = parse(out);
	ck_assert_msg(again != NULL, "output does not parse: %s", out);
	ck_assert_str_eq(serialize(again), out);
}

START_TEST(stanza_in_default_namespace_has_no_xmlns)
{
	struct xml_node *n = parse("<message to='a@b' type='chat'>"
				   "<body>hi</body></message>");
	ck_assert_ptr_nonnull(n);
	ck_assert(xml_is(n, XML_NS_CLIENT, "message"));
	ck_assert_str_eq(xml_attr_get(n, "to"), "a@b");
	ck_assert_ptr_null(xml_attr_get(n, "from"));
	struct xml_node *body = xml_child(n, XML_NS_CLIENT, "body");
	ck_assert_ptr_nonnull(body);
	ck_assert_ptr_eq(body->parent, n);
	ck_assert_str_eq(xml_text(&arena, body), "hi");
	assert_round_trip(
		"<message to='a@b' type='chat'><body>hi</body></message>",
		NULL);
}
END_TEST

START_TEST(namespace_change_is_declared_where_it_changes)
{
	assert_round_trip(
		"<iq type='get' id='1'><query xmlns='jabber:iq:roster'>"
		"<item jid='x@y'><group>g</group></item></query>"
		"<ping xmlns='urn:xmpp:ping'/></iq>",
		NULL);
	struct xml_node *n = parse("<iq><query xmlns='jabber:iq:roster'><item/>"
				   "</query></iq>");
	struct xml_node *item = xml_child(
		xml_child(n, "jabber:iq:roster", "query"), NULL, "item");
	ck_assert(xml_is(item, "jabber:iq:roster", "item"));
	/* Back to the parent's namespace, and to no namespace at all. */
	assert_round_trip(
		"<message><x xmlns='urn:a'><body xmlns='jabber:client'/>"
		"<y xmlns=''/></x></message>",
		NULL);
}
END_TEST

START_TEST(prefixed_names_are_resolved)
{
	struct xml_node *n =
		parse("<message xmlns:e='urn:e'><e:x e:a='1' b='2'/>"
		      "</message>");
	ck_assert_ptr_nonnull(n);
	struct xml_node *x = xml_child(n, "urn:e", "x");
	ck_assert_ptr_nonnull(x);
	ck_assert_str_eq(x->attrs->ns, "urn:e");
	ck_assert_str_eq(x->attrs->name, "a");
	ck_assert_ptr_null(xml_attr_get(x, "a")); /* namespaced */
	ck_assert_str_eq(xml_attr_get(x, "b"), "2");
	ck_assert_str_eq(serialize(n),
			 "<message><x xmlns='urn:e' xmlns:a0='urn:e' a0:a='1' "
			 "b='2'/></message>");
	ck_assert_str_eq(
		serialize(xml_parse(&arena, serialize(n), strlen(serialize(n)),
				    XML_NS_CLIENT)),
		serialize(n));
}
END_TEST

START_TEST(namespaced_attributes_get_prefixes_per_element)
{
	struct xml_node *n = xml_node_new(&arena, XML_NS_CLIENT, "message");
	struct xml_attr at[3] = {
		{"urn:p", "a", "1", &at[1]},
		{"urn:q", "b", "2", &at[2]},
		{"urn:p", "c", "3", NULL},
	};
	n->attrs = at;
	ck_assert_str_eq(serialize(n),
			 "<message xmlns:a0='urn:p' a0:a='1' xmlns:a1='urn:q' "
			 "a1:b='2' a0:c='3'/>");
	struct xml_node *back = parse(serialize(n));
	ck_assert_ptr_nonnull(back);
	ck_assert_str_eq(back->attrs->next->next->ns, "urn:p");
	ck_assert_str_eq(back->attrs->next->next->value, "3");
}
END_TEST

START_TEST(xml_lang_stays_xml_lang)
{
	struct xml_node *n = parse("<message xml:lang='fr'><body>salut</body>"
				   "</message>");
	ck_assert_ptr_nonnull(n);
	ck_assert_str_eq(n->attrs->ns, XML_NS_XML);
	ck_assert_str_eq(xml_attr_get(n, "xml:lang"), "fr");
	ck_assert_ptr_null(xml_attr_get(n, "lang"));
	assert_round_trip("<message xml:lang='fr'><body>salut</body></message>",
			  NULL);
	ck_assert_int_eq(xml_set_attr(&arena, n, "xml:lang", "de"), 0);
	ck_assert_str_eq(serialize(n),
			 "<message xml:lang='de'><body>salut</body></message>");
}
END_TEST

/* Namespaces in XML 1.0 §3: the prefix xml is bound by definition, and
 * its namespace is never declared, let alone as the default one. */
START_TEST(xml_prefixed_elements_keep_their_prefix)
{
	assert_round_trip("<message to='a@b'><xml:foo/></message>", NULL);
	assert_round_trip(
		"<iq type='set' id='r'><query xmlns='jabber:iq:roster'>"
		"<item jid='a@b'><xml:g xml:lang='fr'><group>x</group>"
		"</xml:g></item></query></iq>",
		NULL);
	/* The default namespace inside is that of the nearest ancestor
	 * written without a prefix. */
	assert_round_trip("<message><xml:foo xmlns='urn:y'><bar/><xml:b><c/>"
			  "</xml:b></xml:foo><body xmlns=''/></message>",
			  "<message><xml:foo><bar xmlns='urn:y'/><xml:b><c "
			  "xmlns='urn:y'/></xml:b></xml:foo><body xmlns=''/>"
			  "</message>");
	assert_round_trip("<message xml:lang='en' xml:space='preserve'><xml:x "
			  "xml:id='i' a='1'>t</xml:x></message>",
			  NULL);
	/* Built by hand, and as the top of what is serialized. */
	struct xml_node *n = xml_node_new(&arena, XML_NS_XML, "top");
	ck_assert_ptr_nonnull(xml_add_child(&arena, n, XML_NS_CLIENT, "in"));
	ck_assert_str_eq(serialize(n), "<xml:top><in/></xml:top>");
}
END_TEST

/* What xml_parse refuses may still show its start tag, to answer it. */
START_TEST(head_of_an_unreadable_element)
{
	static const char bad[] =
		"<iq type='set' id='r1' from='a@b/c'><query xmlns='jabber:iq:"
		"roster'><foo xmlns='http://www.w3.org/XML/1998/namespace'/>"
		"</query></iq>";
	ck_assert_ptr_null(parse(bad));
	struct xml_node *head =
		xml_parse_head(&arena, bad, strlen(bad), XML_NS_CLIENT);
	ck_assert_ptr_nonnull(head);
	ck_assert_str_eq(serialize(head),
			 "<iq type='set' id='r1' from='a@b/c'/>");
	ck_assert_ptr_null(xml_parse_head(&arena, "<iq id='1' id='2'/>", 19,
					  XML_NS_CLIENT));
	ck_assert_ptr_nonnull(parse("<iq type='get' id='2'/>")); /* goes on */
}
END_TEST

START_TEST(special_characters_are_escaped)
{
	assert_round_trip("<message to='&lt;a&amp;b&apos;&quot;&gt;'>"
			  "<body>1 &lt; 2 &amp;&amp; 3 &gt; 2</body></message>",
			  NULL);
	struct xml_node *n =
		parse("<m a='x&#10;y&#9;z'><b>a\"b'c\r\nd</b></m>");
	ck_assert_str_eq(xml_attr_get(n, "a"), "x\ny\tz");
	ck_assert_str_eq(xml_text(&arena, xml_child(n, NULL, "b")),
			 "a\"b'c\nd");
	assert_round_trip("<m a='x&#10;y&#9;z&#13;'><b>&#13;</b></m>", NULL);
	assert_round_trip("<m><![CDATA[<x>&]]></m>", "<m>&lt;x&gt;&amp;</m>");
	assert_round_trip("<m>caf\xc3\xa9 \xf0\x9f\x98\x80</m>", NULL);
}
END_TEST

START_TEST(text_pieces_are_one_text_node)
{
	/* Expat splits text at newlines and references. */
	struct xml_node *n = parse("<body>a\nb&amp;c\nd&lt;e</body>");
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_eq(n->children, n->last_child);
	ck_assert_ptr_null(n->children->name);
	ck_assert_uint_eq(n->children->text_len, 9);
	ck_assert_str_eq(n->children->text, "a\nb&c\nd<e");

	char big[20000];
	size_t len = 0;
	len += (size_t)sprintf(big, "<body>");
	for (int i = 0; i < 2000; i++)
		len += (size_t)sprintf(big + len, "x&amp;\n");
	len += (size_t)sprintf(big + len, "</body>");
	n = xml_parse(&arena, big, len, XML_NS_CLIENT);
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_eq(n->children, n->last_child);
	ck_assert_uint_eq(n->children->text_len, 6000);
}
END_TEST

START_TEST(mixed_content_keeps_its_order)
{
	assert_round_trip("<p>a<b>b</b>c<i/>d</p>", NULL);
	struct xml_node *n = parse("<p>a<b>b</b>c</p>");
	ck_assert_str_eq(xml_text(&arena, n), "ac");
}
END_TEST

START_TEST(empty_elements_are_self_closed)
{
	assert_round_trip("<presence><x></x></presence>",
			  "<presence><x/></presence>");
}
END_TEST

START_TEST(building_and_serializing)
{
	struct xml_node *iq = xml_node_new(&arena, XML_NS_CLIENT, "iq");
	ck_assert_int_eq(xml_set_attr(&arena, iq, "type", "result"), 0);
	ck_assert_int_eq(xml_set_attr(&arena, iq, "id", "a'1"), 0);
	struct xml_node *q =
		xml_add_child(&arena, iq, "jabber:iq:version", "query");
	struct xml_node *name =
		xml_add_child(&arena, q, "jabber:iq:version", "name");
	ck_assert_int_eq(xml_append_text(&arena, name, "pala", 4), 0);
	ck_assert_int_eq(xml_append_text(&arena, name, "bre<", 4), 0);
	ck_assert_str_eq(xml_text(&arena, name), "palabre<");
	ck_assert_str_eq(serialize(iq),
			 "<iq type='result' id='a&apos;1'><query "
			 "xmlns='jabber:iq:version'><name>palabre&lt;</name>"
			 "</query></iq>");
	/* replace, remove, add */
	ck_assert_int_eq(xml_set_attr(&arena, iq, "type", "error"), 0);
	ck_assert_int_eq(xml_set_attr(&arena, iq, "id", NULL), 0);
	ck_assert_int_eq(xml_set_attr(&arena, iq, "to", "x@y"), 0);
	xml_remove_child(iq, q);
	ck_assert_ptr_null(iq->children);
	ck_assert_ptr_null(iq->last_child);
	ck_assert_str_eq(serialize(iq), "<iq type='error' to='x@y'/>");
	/* A subtree serializes with its own namespace declared. */
	struct buf out = BUF_INIT;
	ck_assert_int_eq(xml_serialize(name, NULL, &out), 0);
	ck_assert_str_eq(out.data,
			 "<name xmlns='jabber:iq:version'>palabre&lt;</name>");
	buf_free(&out);
}
END_TEST

START_TEST(children_are_found_by_namespace_and_name)
{
	struct xml_node *n =
		parse("<message>text<body>1</body><x xmlns='urn:a'/>"
		      "<body>2</body><x xmlns='urn:b'/></message>");
	struct xml_node *b = xml_child(n, NULL, "body");
	ck_assert_str_eq(xml_text(&arena, b), "1");
	b = xml_next(b, XML_NS_CLIENT, "body");
	ck_assert_str_eq(xml_text(&arena, b), "2");
	ck_assert_ptr_null(xml_next(b, NULL, "body"));
	ck_assert(xml_is(xml_child(n, "urn:b", NULL), "urn:b", "x"));
	ck_assert(xml_is(xml_child(n, NULL, NULL), XML_NS_CLIENT, "body"));
	struct xml_node *x = xml_child(n, "urn:a", "x");
	xml_remove_child(n, n->last_child);
	xml_remove_child(n, x);
	ck_assert_str_eq(serialize(n),
			 "<message>text<body>1</body><body>2</body></message>");
}
END_TEST

START_TEST(copy_is_deep)
{
	struct arena other = ARENA_INIT;
	struct xml_node *n = parse("<message a='1'><body>x</body></message>");
	struct xml_node *c = xml_copy(&other, n);
	arena_reset(&arena);
	ck_assert_str_eq(c->name, "message");
	struct buf out = BUF_INIT;
	ck_assert_int_eq(xml_serialize(c, XML_NS_CLIENT, &out), 0);
	ck_assert_str_eq(out.data, "<message a='1'><body>x</body></message>");
	buf_free(&out);
	arena_reset(&other);
}
END_TEST

START_TEST(deep_trees_serialize_without_recursion)
{
	enum { DEPTH = 100000 };
	struct xml_node *top = xml_node_new(&arena, XML_NS_CLIENT, "a");
	struct xml_node *n = top;
	for (int i = 0; i < DEPTH; i++)
		n = xml_add_child(&arena, n, XML_NS_CLIENT, "a");
	struct buf out = BUF_INIT;
	ck_assert_int_eq(xml_serialize(top, XML_NS_CLIENT, &out), 0);
	ck_assert_uint_eq(out.len, DEPTH * 7 + 4);
	buf_free(&out);
}
END_TEST

START_TEST(other_default_namespace)
{
	struct xml_node *n = xml_parse(&arena, "<message/>", 10, XML_NS_SERVER);
	ck_assert(xml_is(n, XML_NS_SERVER, "message"));
	n = xml_parse(&arena, "<message/>", 10, NULL);
	ck_assert(xml_is(n, "", "message"));
	struct buf out = BUF_INIT;
	ck_assert_int_eq(xml_serialize(n, XML_NS_CLIENT, &out), 0);
	ck_assert_str_eq(out.data, "<message xmlns=''/>");
	buf_free(&out);
}
END_TEST

static void assert_refused(const char *s)
{
	ck_assert_msg(parse(s) == NULL, "accepted: %s", s);
}

START_TEST(restricted_and_malformed_xml_is_refused)
{
	assert_refused("<!DOCTYPE m><m/>");
	assert_refused("<!DOCTYPE m [<!ENTITY e 'x'>]><m>&e;</m>");
	assert_refused("<m><?pi data?></m>");
	assert_refused("<?pi data?><m/>");
	assert_refused("<m><!-- comment --></m>");
	assert_refused("<?xml version='1.0'?><m/>");
	assert_refused("<m>&e;</m>");
	assert_refused("<m>");
	assert_refused("<m></n>");
	assert_refused("<m a='1' a='2'/>");
	assert_refused("<p:m/>");
	assert_refused("garbage");
	assert_refused("");
	assert_refused("<a/><b/>");
	assert_refused("<a/>text");
	assert_refused("<a/></r><r>");
	assert_refused("<a>\x01</a>");
	assert_refused("<a>\xff</a>");
	/* and the parser is fine afterwards */
	ck_assert_ptr_nonnull(parse(" <a/>\n"));
}
END_TEST

START_TEST(parses_follow_each_other_whatever_happened_before)
{
	char s[200];
	for (int i = 0; i < 30000; i++) {
		snprintf(s, sizeof s,
			 "<message id='%d'><x%d xmlns='urn:%d'/></message>\r\n",
			 i, i, i);
		const char *ns = i % 3 ? XML_NS_CLIENT : XML_NS_SERVER;
		struct xml_node *n = xml_parse(&arena, s, strlen(s), ns);
		ck_assert_ptr_nonnull(n);
		ck_assert(xml_is(n, ns, "message"));
		if (i % 1000 == 0) {
			ck_assert_ptr_null(parse("<message><body>"));
			ck_assert_ptr_null(parse("</message>"));
			ck_assert_ptr_null(
				xml_parse(&arena, "</r>", 4, XML_NS_SERVER));
		}
		arena_reset(&arena);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("xml");
	TCase *tc = tcase_create("xml");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, stanza_in_default_namespace_has_no_xmlns);
	tcase_add_test(tc, namespace_change_is_declared_where_it_changes);
	tcase_add_test(tc, prefixed_names_are_resolved);
	tcase_add_test(tc, namespaced_attributes_get_prefixes_per_element);
	tcase_add_test(tc, xml_lang_stays_xml_lang);
	tcase_add_test(tc, xml_prefixed_elements_keep_their_prefix);
	tcase_add_test(tc, head_of_an_unreadable_element);
	tcase_add_test(tc, special_characters_are_escaped);
	tcase_add_test(tc, text_pieces_are_one_text_node);
	tcase_add_test(tc, mixed_content_keeps_its_order);
	tcase_add_test(tc, empty_elements_are_self_closed);
	tcase_add_test(tc, building_and_serializing);
	tcase_add_test(tc, children_are_found_by_namespace_and_name);
	tcase_add_test(tc, copy_is_deep);
	tcase_add_test(tc, deep_trees_serialize_without_recursion);
	tcase_add_test(tc, other_default_namespace);
	tcase_add_test(tc, restricted_and_malformed_xml_is_refused);
	tcase_add_test(tc, parses_follow_each_other_whatever_happened_before);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
