/* pep_config: a PEP node's configuration from data forms (XEP-0060 §8.2
 * configure, §7.1.5 publish-options), its checks, and its record. */
#include <check.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/xml.h"
#include "../../server/sm/pep_node.h"
#include "../../server/sm/sm.h"
#include "sm_harness.h"
#include "unit.h"

static struct sm sm_;
static struct pep pep_ = {.sm = &sm_, .max_items = 50};

static struct xml_node *form(const char *form_type, const char *fields)
{
	char xml[2048];
	snprintf(xml, sizeof xml,
		 "<x xmlns='jabber:x:data' type='submit'><field "
		 "var='FORM_TYPE' type='hidden'><value>%s</value></field>%s"
		 "</x>",
		 form_type, fields);
	struct xml_node *x = xml_parse(&sm_.arena, xml, strlen(xml), "");
	ck_assert_ptr_nonnull(x);
	return x;
}

#define OPTIONS NS_PUBSUB "#publish-options"
#define NODE_CONFIG NS_PUBSUB "#node_config"
#define FIELD(var, value)                                                      \
	"<field var='" var "'><value>" value "</value></field>"

START_TEST(record_reads_back)
{
	struct pep_config c, d;
	pep_config_default(&c);
	c.access = PEP_ACCESS_WHITELIST;
	c.max_items = 42;
	c.persist_items = false;
	c.send_last = PEP_SEND_LAST_NEVER;
	struct buf b = BUF_INIT;
	ck_assert_int_eq(pep_config_encode(&c, &b), 0);
	ck_assert_int_eq(pep_config_decode(&d, b.data), 0);
	ck_assert(d.access == c.access && d.max_items == c.max_items &&
		  d.persist_items == c.persist_items &&
		  d.send_last == c.send_last &&
		  d.notify_retract == c.notify_retract &&
		  d.deliver_payloads == c.deliver_payloads);
	ck_assert_int_eq(pep_config_decode(&d, "access=closed\n"), -1);
	buf_free(&b);
}
END_TEST

START_TEST(publish_options_read_and_checked)
{
	struct pep_config c, node;
	unsigned fields = 0;
	const char *why = NULL;
	pep_config_default(&c);
	ck_assert_int_eq(
		pep_config_read_form(
			&pep_,
			form(OPTIONS, FIELD("pubsub#access_model", "open")
					      FIELD("pubsub#max_items", "max")),
			OPTIONS, &c, &fields, &why),
		0);
	ck_assert_uint_eq(fields, PEP_FIELD_ACCESS | PEP_FIELD_MAX_ITEMS);
	ck_assert_uint_eq(c.max_items, 50); /* 'max' is the setting */
	struct pep_options o = {.fields = fields, .config = c};
	pep_config_default(&node);
	ck_assert(!pep_config_meets(&node, &o));
	pep_config_apply(&node, &o);
	ck_assert(pep_config_meets(&node, &o));
	ck_assert(node.persist_items); /* what o did not name stays */
}
END_TEST

/* nbxmpp's BOOKMARK_OPTIONS, Gajim 1.7's XEP-0402 publish-options. */
#define GAJIM_BOOKMARK_OPTIONS                                                 \
	FIELD("pubsub#notify_delete", "true")                                  \
	FIELD("pubsub#notify_retract", "true")                                 \
	FIELD("pubsub#persist_items", "true")                                  \
	FIELD("pubsub#max_items", "max")                                       \
	FIELD("pubsub#access_model", "whitelist")                              \
	FIELD("pubsub#send_last_published_item", "never")

START_TEST(notify_delete_is_always_true)
{
	struct pep_config c, node;
	unsigned fields = 0;
	const char *why = NULL;
	pep_config_default(&c);
	ck_assert_int_eq(pep_config_read_form(
				 &pep_, form(OPTIONS, GAJIM_BOOKMARK_OPTIONS),
				 OPTIONS, &c, &fields, &why),
			 0);
	ck_assert(fields & PEP_FIELD_NOTIFY_DELETE);
	struct pep_options o = {.fields = fields, .config = c};
	pep_config_default(&node);
	pep_config_apply(&node, &o);
	ck_assert(pep_config_meets(&node, &o));
	/* Deletion is always notified: false is a precondition not met. */
	ck_assert_int_eq(
		pep_config_read_form(
			&pep_,
			form(OPTIONS, FIELD("pubsub#notify_delete", "0")),
			OPTIONS, &c, &fields, &why),
		-1);
	ck_assert_str_eq(why, "pubsub#notify_delete");
}
END_TEST

START_TEST(bad_forms_name_the_field)
{
	struct pep_config c;
	unsigned fields = 0;
	const char *why = NULL;
	pep_config_default(&c);
	/* An option we cannot check is a precondition not met. */
	ck_assert_int_eq(
		pep_config_read_form(&pep_,
				     form(OPTIONS, FIELD("pubsub#title", "x")),
				     OPTIONS, &c, &fields, &why),
		-1);
	ck_assert_str_eq(why, "pubsub#title");
	/* ... but a configuration form may carry it. */
	ck_assert_int_eq(pep_config_read_form(
				 &pep_,
				 form(NODE_CONFIG, FIELD("pubsub#title", "x")),
				 NODE_CONFIG, &c, &fields, &why),
			 0);
	ck_assert_int_eq(
		pep_config_read_form(
			&pep_,
			form(NODE_CONFIG, FIELD("pubsub#max_items", "51")),
			NODE_CONFIG, &c, &fields, &why),
		-1);
	ck_assert_str_eq(why, "pubsub#max_items");
	ck_assert_int_eq(pep_config_read_form(
				 &pep_,
				 form(NODE_CONFIG,
				      FIELD("pubsub#persist_items", "maybe")),
				 NODE_CONFIG, &c, &fields, &why),
			 -1);
	ck_assert_int_eq(pep_config_read_form(&pep_, form(OPTIONS, ""),
					      NODE_CONFIG, &c, &fields, &why),
			 -1);
	ck_assert_str_eq(why, "FORM_TYPE");
}
END_TEST

START_TEST(form_shows_the_configuration)
{
	struct pep_config c;
	pep_config_default(&c);
	struct xml_node *parent = xml_node_new(&sm_.arena, NS_PUBSUB, "c");
	ck_assert_int_eq(pep_config_add_form(&sm_.arena, parent, &c), 0);
	struct xml_node *x = xml_child(parent, "jabber:x:data", "x");
	int n = 0;
	for (struct xml_node *f = xml_child(x, "jabber:x:data", "field"); f;
	     f = xml_next(f, "jabber:x:data", "field"))
		n++;
	ck_assert_int_eq(n, 7);
}
END_TEST

/* ---- pep.h's API (bookmarks, avatars), on an sm without storage ---- */

static int calls, heard;
static const char *last_error;

static void api_done(struct sm *s, void *ctx, const struct pep_error *err)
{
	calls++;
	last_error = err ? err->condition : NULL;
}

static void api_items(struct sm *s, void *ctx, const struct pep_error *err,
		      const struct storage_items *items)
{
	calls++;
	last_error = err ? err->condition : NULL;
}

static void api_heard(struct sm *s, const char *owner, const char *node,
		      const char *id, const struct xml_node *item, void *data)
{
	heard++;
	ck_assert_str_eq(owner, "juliet@localhost");
	ck_assert_str_eq(id, "current");
	/* A retraction: no item. */
	if (item)
		ck_assert_ptr_nonnull(
			xml_child(item, "urn:xmpp:bookmarks:1", NULL));
}

START_TEST(api_publishes_and_listeners_hear)
{
	char *hosts[] = {"localhost"};
	char *modules[] = {"roster", "caps", "pep"};
	config_reset(hosts, 1, modules, 3);
	start_sm_recording();
	const char *xml = "<item xmlns='" NS_PUBSUB "' id='current'>"
			  "<conference xmlns='urn:xmpp:bookmarks:1'/></item>";
	struct xml_node *item =
		xml_parse(&sm.arena, xml, strlen(xml), NS_PUBSUB);
	struct pep_options o = {.fields = PEP_FIELD_ACCESS};
	o.config.access = PEP_ACCESS_WHITELIST;
	ck_assert_int_eq(
		pep_listen(&sm, "urn:xmpp:bookmarks:1", api_heard, NULL), 0);
	ck_assert_int_eq(pep_publish(&sm, "juliet@localhost",
				     "urn:xmpp:bookmarks:1", item, &o, api_done,
				     NULL),
			 0);
	ck_assert_int_eq(calls, 1);
	ck_assert_ptr_null(last_error);
	ck_assert_int_eq(heard, 1);
	/* The same options meet the node; others do not. */
	o.config.access = PEP_ACCESS_OPEN;
	pep_publish(&sm, "juliet@localhost", "urn:xmpp:bookmarks:1", item, &o,
		    api_done, NULL);
	ck_assert_str_eq(last_error, "conflict");
	pep_items(&sm, "juliet@localhost", "nothing", NULL, 0, api_items, NULL);
	ck_assert_str_eq(last_error, "item-not-found");
	pep_retract(&sm, "juliet@localhost", "urn:xmpp:bookmarks:1", "current",
		    true, api_done, NULL);
	ck_assert_ptr_null(last_error);
	ck_assert_int_eq(calls, 4);
	ck_assert_int_eq(heard, 2);
	sm_free(&sm);
	clear_sent();
}
END_TEST

static const struct pep_error full = {"not-allowed", "max-items-exceeded",
				      "full"};

static const struct pep_error *guard_one(struct sm *s, const char *owner,
					 const struct xml_node *item,
					 size_t count, size_t max,
					 bool replaces, void *data)
{
	ck_assert_ptr_nonnull(xml_attr_get(item, "id"));
	return count >= 1 && !replaces ? &full : NULL;
}

START_TEST(guards_refuse_and_create_only_is_not_required)
{
	char *hosts[] = {"localhost"};
	char *modules[] = {"roster", "caps", "pep"};
	config_reset(hosts, 1, modules, 3);
	start_sm_recording();
	const char *a = "<item xmlns='" NS_PUBSUB "' id='a'><x xmlns='urn:x'/>"
			"</item>",
		   *b = "<item xmlns='" NS_PUBSUB "' id='b'><x xmlns='urn:x'/>"
			"</item>";
	struct xml_node *ia = xml_parse(&sm.arena, a, strlen(a), NS_PUBSUB);
	struct xml_node *ib = xml_parse(&sm.arena, b, strlen(b), NS_PUBSUB);
	struct pep_options o = {.fields =
					PEP_FIELD_ACCESS | PEP_FIELD_MAX_ITEMS,
				.create_only = PEP_FIELD_MAX_ITEMS};
	o.config.access = PEP_ACCESS_WHITELIST;
	o.config.max_items = 5;
	ck_assert_int_eq(pep_guard(&sm, "urn:x", guard_one, NULL), 0);
	pep_publish(&sm, "juliet@localhost", "urn:x", ia, &o, api_done, NULL);
	ck_assert_ptr_null(last_error);
	/* The guard refuses a second item, not the first again. */
	pep_publish(&sm, "juliet@localhost", "urn:x", ib, &o, api_done, NULL);
	ck_assert_str_eq(last_error, "not-allowed");
	pep_publish(&sm, "juliet@localhost", "urn:x", ia, &o, api_done, NULL);
	ck_assert_ptr_null(last_error);
	/* max_items, create-only, is not required of the node; access is. */
	o.config.max_items = 7;
	pep_publish(&sm, "juliet@localhost", "urn:x", ia, &o, api_done, NULL);
	ck_assert_ptr_null(last_error);
	o.create_only = 0;
	pep_publish(&sm, "juliet@localhost", "urn:x", ia, &o, api_done, NULL);
	ck_assert_str_eq(last_error, "conflict");
	sm_free(&sm);
	clear_sent();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pep_config");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, record_reads_back);
	tcase_add_test(tc, publish_options_read_and_checked);
	tcase_add_test(tc, notify_delete_is_always_true);
	tcase_add_test(tc, bad_forms_name_the_field);
	tcase_add_test(tc, form_shows_the_configuration);
	tcase_add_test(tc, api_publishes_and_listeners_hear);
	tcase_add_test(tc, guards_refuse_and_create_only_is_not_required);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
