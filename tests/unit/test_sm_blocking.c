/* sm blocking: XEP-0191 Blocking Command, driven with frames as c2s would
 * send them, on a real storage (SQLite in a temporary directory) and a
 * real loop; checked on the frames the sm sends back and on the store. */

#include "../../lib/log.h"
#include "../../lib/xml.h"
#include "../../server/sm/delivery.h"
#include "../../server/sm/roster.h"
#include "../../server/sm/sessions.h"
#include "../../server/sm/sm.h"
#include "../../server/sm/stanza.h"
#include "../../server/sm/userdata.h"
#include "sm_harness.h"
#include "unit.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"

/* ------------------------------------------------------------ harness */

static char *hosts[] = {"localhost", "example.org"};
static char *modules_on[] = {"disco", "blocking"};

static void setup(void)
{
	make_temp_store("blocking");
	config_reset(hosts, 2, modules_on, 2);
	cfg.resource_conflict_replace = true;
	config_set_sm("offline-quota", "1000");
	start_sm();
}

/* The "blocklist" store of a user, as it is on disk. */
static struct stored *stored_for(const char *user)
{
	return load_stored(user, "blocklist");
}

static bool stored_has(struct stored *s, const char *jid)
{
	for (size_t i = 0; i < s->count; i++)
		if (strcmp(s->keys[i], jid) == 0)
			return true;
	return false;
}

/* Every stanza (parsed) that went to conn, in order. */
static size_t stanzas_to(uint64_t conn, struct xml_node **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < nsent && n < max; i++) {
		if (sent[i].type != FRAME_STANZA || sent[i].conn != conn)
			continue;
		out[n++] = parse_sent(&sent[i]);
	}
	return n;
}

static struct xml_node *only_stanza_to(uint64_t conn)
{
	struct xml_node *x[8];
	ck_assert_uint_eq(stanzas_to(conn, x, 8), 1);
	return x[0];
}

#define ALICE1 "alice@localhost/one"
#define ALICE2 "alice@localhost/two"
#define BOB "bob@localhost/home"
#define CAROL "carol@example.org/phone"
#define NS_B "urn:xmpp:blocking"

static void block(uint64_t conn, const char *from, const char *items)
{
	char xml[1024];
	snprintf(xml, sizeof xml,
		 "<iq from='%s' type='set' id='b1'><block xmlns='" NS_B "'>"
		 "%s</block></iq>",
		 from, items);
	client_sends(conn, xml);
}

static void unblock(uint64_t conn, const char *from, const char *items)
{
	char xml[1024];
	snprintf(xml, sizeof xml,
		 "<iq from='%s' type='set' id='u1'><unblock xmlns='" NS_B
		 "'>%s</unblock></iq>",
		 from, items);
	client_sends(conn, xml);
}

static void get_blocklist(uint64_t conn, const char *from)
{
	char xml[512];
	snprintf(xml, sizeof xml,
		 "<iq from='%s' type='get' id='g1'><blocklist xmlns='" NS_B
		 "'/></iq>",
		 from);
	client_sends(conn, xml);
}

/* Alice (two resources, available), Bob, Carol on example.org. */
static void everyone_online(void)
{
	bind_session(1, ALICE1);
	bind_session(2, ALICE2);
	bind_session(3, BOB);
	bind_session(4, CAROL);
	available(1, ALICE1, 0);
	available(2, ALICE2, 0);
	available(3, BOB, 0);
	available(4, CAROL, 0);
	clear_sent();
}

/* ------------------------------------------------------------ the list */

START_TEST(disco_lists_blocking)
{
	bind_session(1, ALICE1);
	clear_sent();
	client_sends(1, "<iq from='" ALICE1 "' to='localhost' type='get' "
			"id='d'><query xmlns='" NS_DISCO_INFO "'/></iq>");
	ck_assert_ptr_nonnull(strstr(sent[0].payload, "urn:xmpp:blocking"));
}
END_TEST

START_TEST(empty_blocklist)
{
	bind_session(1, ALICE1);
	clear_sent();
	get_blocklist(1, ALICE1);
	struct xml_node *r = only_stanza_to(1);
	ck_assert_str_eq(xml_attr_get(r, "type"), "result");
	ck_assert_str_eq(xml_attr_get(r, "id"), "g1");
	struct xml_node *l = xml_child(r, NS_B, "blocklist");
	ck_assert_ptr_nonnull(l);
	ck_assert_ptr_null(xml_child(l, NULL, NULL));
}
END_TEST

START_TEST(block_is_stored_listed_and_pushed_to_interested_resources)
{
	everyone_online();
	get_blocklist(2, ALICE2); /* two is interested, one is not */
	clear_sent();
	block(1, ALICE1,
	      "<item jid='Bob@LocalHost'/><item jid='example.org'/>");
	struct stored *s = stored_for("alice@localhost");
	ck_assert_uint_eq(s->count, 2);
	ck_assert(stored_has(s, "bob@localhost")); /* prepared */
	ck_assert(stored_has(s, "example.org"));
	struct xml_node *r = only_stanza_to(1);
	ck_assert_str_eq(xml_attr_get(r, "type"), "result");
	ck_assert_str_eq(xml_attr_get(r, "id"), "b1");
	struct xml_node *x[8];
	size_t n = stanzas_to(2, x, 8);
	ck_assert_uint_ge(n, 1);
	struct xml_node *push = NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(x[i]->name, "iq") == 0)
			push = x[i];
	ck_assert_ptr_nonnull(push);
	ck_assert_str_eq(xml_attr_get(push, "type"), "set");
	ck_assert_str_eq(xml_attr_get(push, "to"), ALICE2);
	struct xml_node *b = xml_child(push, NS_B, "block");
	ck_assert_ptr_nonnull(b);
	struct xml_node *it = xml_child(b, NS_B, "item");
	ck_assert_str_eq(xml_attr_get(it, "jid"), "bob@localhost");
	clear_sent();
	get_blocklist(1, ALICE1);
	struct xml_node *l = xml_child(only_stanza_to(1), NS_B, "blocklist");
	int items = 0;
	for (it = xml_child(l, NS_B, "item"); it;
	     it = xml_next(it, NS_B, "item"))
		items++;
	ck_assert_int_eq(items, 2);
}
END_TEST

START_TEST(block_errors)
{
	bind_session(1, ALICE1);
	clear_sent();
	block(1, ALICE1, "");
	struct xml_node *r = only_stanza_to(1);
	ck_assert_str_eq(xml_attr_get(r, "type"), "error");
	ck_assert_ptr_nonnull(xml_child(xml_child(r, NULL, "error"), NS_STANZAS,
					"bad-request"));
	clear_sent();
	block(1, ALICE1, "<item jid='ok@localhost'/><item jid='@bad'/>");
	r = only_stanza_to(1);
	ck_assert_ptr_nonnull(xml_child(xml_child(r, NULL, "error"), NS_STANZAS,
					"jid-malformed"));
	clear_sent();
	block(1, ALICE1, "<item/>");
	r = only_stanza_to(1);
	ck_assert_ptr_nonnull(xml_child(xml_child(r, NULL, "error"), NS_STANZAS,
					"jid-malformed"));
	ck_assert_uint_eq(stored_for("alice@localhost")->count, 0);
	clear_sent();
	client_sends(1, "<iq from='" ALICE1 "' type='get' id='x'><block "
			"xmlns='" NS_B "'><item jid='a@b'/></block></iq>");
	r = only_stanza_to(1);
	ck_assert_ptr_nonnull(xml_child(xml_child(r, NULL, "error"), NS_STANZAS,
					"bad-request"));
}
END_TEST

START_TEST(others_cannot_read_or_change_the_list)
{
	everyone_online();
	client_sends(3, "<iq from='" BOB "' to='alice@localhost' type='get' "
			"id='g'><blocklist xmlns='" NS_B "'/></iq>");
	struct xml_node *r = only_stanza_to(3);
	ck_assert_ptr_nonnull(xml_child(xml_child(r, NULL, "error"), NS_STANZAS,
					"service-unavailable"));
	clear_sent();
	client_sends(3, "<iq from='" BOB "' to='alice@localhost' type='set' "
			"id='s'><block xmlns='" NS_B "'><item jid='x@y'/>"
			"</block></iq>");
	ck_assert_uint_eq(stored_for("alice@localhost")->count, 0);
}
END_TEST

START_TEST(unblock_one_and_unblock_all)
{
	everyone_online();
	block(1, ALICE1,
	      "<item jid='bob@localhost'/><item jid='x@y'/>"
	      "<item jid='z@y'/>");
	get_blocklist(2, ALICE2);
	clear_sent();
	unblock(1, ALICE1, "<item jid='x@y'/>");
	struct stored *s = stored_for("alice@localhost");
	ck_assert_uint_eq(s->count, 2);
	ck_assert(!stored_has(s, "x@y"));
	struct xml_node *push = only_stanza_to(2);
	struct xml_node *u = xml_child(push, NS_B, "unblock");
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(xml_attr_get(xml_child(u, NS_B, "item"), "jid"),
			 "x@y");
	clear_sent();
	unblock(1, ALICE1, "");
	ck_assert_uint_eq(stored_for("alice@localhost")->count, 0);
	push = only_stanza_to(2);
	u = xml_child(push, NS_B, "unblock");
	ck_assert_ptr_nonnull(u);
	ck_assert_ptr_null(xml_child(u, NULL, NULL));
	ck_assert_str_eq(xml_attr_get(only_stanza_to(1), "type"), "result");
	/* bob gets through again */
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='" ALICE1 "' type='chat'>"
			"<body>back</body></message>");
	ck_assert_uint_eq(stanzas_to(1, (struct xml_node *[8]){0}, 8), 1);
}
END_TEST

/* ------------------------------------------------------------ inbound */

START_TEST(stanzas_from_a_blocked_jid)
{
	everyone_online();
	block(1, ALICE1, "<item jid='bob@localhost'/>");
	clear_sent();
	/* message: service-unavailable, as if alice were offline */
	client_sends(3, "<message from='" BOB "' to='alice@localhost' "
			"type='chat' id='m'><body>hi</body></message>");
	ck_assert_uint_eq(stanzas_to(1, (struct xml_node *[8]){0}, 8), 0);
	ck_assert_uint_eq(stanzas_to(2, (struct xml_node *[8]){0}, 8), 0);
	struct xml_node *e = only_stanza_to(3);
	ck_assert_str_eq(xml_attr_get(e, "type"), "error");
	ck_assert_str_eq(xml_attr_get(e, "from"), "alice@localhost");
	ck_assert_ptr_nonnull(xml_child(xml_child(e, NULL, "error"), NS_STANZAS,
					"service-unavailable"));
	/* to a full JID too */
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='" ALICE2 "' "
			"type='chat'><body>hi</body></message>");
	ck_assert_uint_eq(stanzas_to(2, (struct xml_node *[8]){0}, 8), 0);
	ck_assert_uint_eq(stanzas_to(3, (struct xml_node *[8]){0}, 8), 1);
	/* presence: dropped without a word */
	clear_sent();
	client_sends(3, "<presence from='" BOB "' to='alice@localhost'/>");
	client_sends(3, "<presence from='" BOB "' to='alice@localhost' "
			"type='subscribe'/>");
	client_sends(3, "<presence from='" BOB "' to='alice@localhost' "
			"type='probe'/>");
	ck_assert_uint_eq(nsent, 0);
	/* iq get: service-unavailable; result: dropped */
	client_sends(3, "<iq from='" BOB "' to='" ALICE1 "' type='get' "
			"id='v'><query xmlns='jabber:iq:version'/></iq>");
	e = only_stanza_to(3);
	ck_assert_ptr_nonnull(xml_child(xml_child(e, NULL, "error"), NS_STANZAS,
					"service-unavailable"));
	clear_sent();
	client_sends(3, "<iq from='" BOB "' to='" ALICE1 "' type='result' "
			"id='v'/>");
	/* headline: dropped */
	client_sends(3, "<message from='" BOB "' to='alice@localhost' "
			"type='headline'><body>news</body></message>");
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

START_TEST(domain_and_full_jid_matching)
{
	everyone_online();
	block(1, ALICE1, "<item jid='example.org'/>");
	clear_sent();
	client_sends(4, "<message from='" CAROL "' to='" ALICE1 "' "
			"type='chat'><body>hi</body></message>");
	ck_assert_uint_eq(stanzas_to(1, (struct xml_node *[8]){0}, 8), 0);
	unblock(1, ALICE1, "");
	block(1, ALICE1, "<item jid='carol@example.org/laptop'/>");
	clear_sent();
	/* another resource of carol's is not blocked */
	client_sends(4, "<message from='" CAROL "' to='" ALICE1 "' "
			"type='chat'><body>hi</body></message>");
	ck_assert_uint_eq(stanzas_to(1, (struct xml_node *[8]){0}, 8), 1);
	block(1, ALICE1, "<item jid='" CAROL "'/>");
	clear_sent();
	client_sends(4, "<message from='" CAROL "' to='" ALICE1 "' "
			"type='chat'><body>hi</body></message>");
	ck_assert_uint_eq(stanzas_to(1, (struct xml_node *[8]){0}, 8), 0);
	/* bob is on another domain: through */
	client_sends(3, "<message from='" BOB "' to='" ALICE1 "' "
			"type='chat'><body>hi</body></message>");
	ck_assert_uint_eq(stanzas_to(1, (struct xml_node *[8]){0}, 8), 1);
}
END_TEST

/* ------------------------------------------------------------ outbound */

START_TEST(stanzas_to_a_blocked_jid)
{
	everyone_online();
	block(1, ALICE1, "<item jid='bob@localhost'/>");
	clear_sent();
	client_sends(2, "<message from='" ALICE2 "' to='" BOB "' type='chat' "
			"id='o'><body>hi</body></message>");
	ck_assert_uint_eq(stanzas_to(3, (struct xml_node *[8]){0}, 8), 0);
	struct xml_node *e = only_stanza_to(2);
	ck_assert_str_eq(xml_attr_get(e, "type"), "error");
	ck_assert_str_eq(xml_attr_get(e, "id"), "o");
	ck_assert_str_eq(xml_attr_get(e, "from"), BOB);
	struct xml_node *err = xml_child(e, NULL, "error");
	ck_assert_str_eq(xml_attr_get(err, "type"), "cancel");
	ck_assert_ptr_nonnull(xml_child(err, NS_STANZAS, "not-acceptable"));
	ck_assert_ptr_nonnull(
		xml_child(err, "urn:xmpp:blocking:errors", "blocked"));
	/* iq get too */
	clear_sent();
	client_sends(2, "<iq from='" ALICE2 "' to='" BOB "' type='get' "
			"id='q'><query xmlns='jabber:iq:version'/></iq>");
	ck_assert_uint_eq(stanzas_to(3, (struct xml_node *[8]){0}, 8), 0);
	e = only_stanza_to(2);
	ck_assert_ptr_nonnull(xml_child(xml_child(e, NULL, "error"), NS_STANZAS,
					"not-acceptable"));
	/* directed presence, errors and results: nothing either way */
	clear_sent();
	client_sends(2, "<presence from='" ALICE2 "' to='" BOB "'/>");
	client_sends(2, "<iq from='" ALICE2 "' to='" BOB "' type='result' "
			"id='r'/>");
	client_sends(2, "<message from='" ALICE2 "' to='" BOB "' "
			"type='error'/>");
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

START_TEST(blocking_sends_unavailable_presence_to_the_contact)
{
	everyone_online();
	block(1, ALICE1, "<item jid='bob@localhost'/>");
	struct xml_node *x[8];
	size_t n = stanzas_to(3, x, 8);
	ck_assert_uint_eq(n, 2); /* one per available resource */
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(x[i]->name, "presence");
		ck_assert_str_eq(xml_attr_get(x[i], "type"), "unavailable");
	}
	ck_assert_str_ne(xml_attr_get(x[0], "from"),
			 xml_attr_get(x[1], "from"));
}
END_TEST

START_TEST(blocklist_survives_a_restart)
{
	bind_session(1, ALICE1);
	block(1, ALICE1, "<item jid='bob@localhost'/>");
	stop_sm();
	start_sm();
	everyone_online();
	get_blocklist(1, ALICE1);
	struct xml_node *l = xml_child(only_stanza_to(1), NS_B, "blocklist");
	ck_assert_str_eq(xml_attr_get(xml_child(l, NS_B, "item"), "jid"),
			 "bob@localhost");
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='" ALICE1 "' type='chat'>"
			"<body>hi</body></message>");
	ck_assert_uint_eq(stanzas_to(1, (struct xml_node *[8]){0}, 8), 0);
}
END_TEST

/* The block list is loaded for a user with no session too (a message
 * to an offline user from a blocked JID is refused, not stored). */
START_TEST(offline_user_blocks_too)
{
	bind_session(1, ALICE1);
	block(1, ALICE1, "<item jid='bob@localhost'/>");
	frame_in(FRAME_SESSION_END, 1, "closed");
	stop_sm();
	start_sm();
	bind_session(3, BOB);
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='alice@localhost' "
			"type='chat'><body>hi</body></message>");
	struct xml_node *e = only_stanza_to(3);
	ck_assert_ptr_nonnull(xml_child(xml_child(e, NULL, "error"), NS_STANZAS,
					"service-unavailable"));
}
END_TEST

/* With the roster: presence goes only to those allowed to see it, and
 * the user's broadcasts skip a blocked contact. */
START_TEST(presence_follows_the_roster)
{
	stop_sm();
	config_set_sm("modules", "roster presence blocking");
	start_sm();
	everyone_online();
	/* bob subscribes to alice, alice approves: bob is "from" */
	client_sends(3, "<presence from='" BOB "' to='alice@localhost' "
			"type='subscribe'/>");
	client_sends(1, "<presence from='" ALICE1 "' to='bob@localhost' "
			"type='subscribed'/>");
	clear_sent();
	block(1, ALICE1, "<item jid='bob@localhost'/><item jid='" CAROL "'/>");
	struct xml_node *x[8];
	size_t n = stanzas_to(3, x, 8);
	ck_assert_uint_eq(n, 2); /* one unavailable per resource */
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(xml_attr_get(x[i], "type"), "unavailable");
	/* carol is not subscribed: nothing */
	ck_assert_uint_eq(stanzas_to(4, x, 8), 0);
	/* alice's broadcast skips bob */
	clear_sent();
	available(1, ALICE1, 1);
	ck_assert_uint_eq(stanzas_to(3, x, 8), 0);
	ck_assert_uint_ge(stanzas_to(2, x, 8), 1);
	/* unblocking: bob gets alice's current presence again */
	clear_sent();
	unblock(1, ALICE1, "<item jid='bob@localhost'/>");
	n = stanzas_to(3, x, 8);
	ck_assert_uint_eq(n, 2);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(x[i]->name, "presence");
		ck_assert_ptr_null(xml_attr_get(x[i], "type"));
	}
	ck_assert_uint_eq(stanzas_to(4, x, 8), 0);
	clear_sent();
	available(1, ALICE1, 2);
	ck_assert_uint_eq(stanzas_to(3, x, 8), 1);
}
END_TEST

int main(void)
{
	log_init("test_sm_blocking", LOG_WARN);
	Suite *s = suite_create("sm_blocking");
	TCase *tc = tcase_create("blocking");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown_stored_sm);
	tcase_add_test(tc, disco_lists_blocking);
	tcase_add_test(tc, empty_blocklist);
	tcase_add_test(
		tc, block_is_stored_listed_and_pushed_to_interested_resources);
	tcase_add_test(tc, block_errors);
	tcase_add_test(tc, others_cannot_read_or_change_the_list);
	tcase_add_test(tc, unblock_one_and_unblock_all);
	tcase_add_test(tc, stanzas_from_a_blocked_jid);
	tcase_add_test(tc, domain_and_full_jid_matching);
	tcase_add_test(tc, stanzas_to_a_blocked_jid);
	tcase_add_test(tc, blocking_sends_unavailable_presence_to_the_contact);
	tcase_add_test(tc, blocklist_survives_a_restart);
	tcase_add_test(tc, offline_user_blocks_too);
	tcase_add_test(tc, presence_follows_the_roster);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
