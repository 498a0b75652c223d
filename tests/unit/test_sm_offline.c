/* sm offline: XEP-0160 offline messages, driven with frames as c2s would
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

#define NS_DELAY "urn:xmpp:delay"
#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"

/* ------------------------------------------------------------ harness */

static char *hosts[] = {"localhost"};
static char *modules_on[] = {"disco", "offline"};
static unsigned quota;
static size_t quota_bytes;

/* <sm><offline-quota> and <offline-quota-bytes>, for the next start. */
static void set_quota(unsigned messages, size_t bytes)
{
	char v[32];
	quota = messages;
	quota_bytes = bytes;
	snprintf(v, sizeof v, "%u", messages);
	config_set_sm("offline-quota", v);
	snprintf(v, sizeof v, "%zu", bytes);
	config_set_sm("offline-quota-bytes", v);
}

static void setup(void)
{
	make_temp_store("offline");
	config_reset(hosts, 1, modules_on, 2);
	cfg.resource_conflict_replace = true;
	set_quota(1000, 10 << 20);
	start_sm();
}

/* Message stanzas (parsed) that went to conn, in order. */
static size_t messages_to(uint64_t conn, struct xml_node **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < nsent && n < max; i++) {
		if (sent[i].type != FRAME_STANZA || sent[i].conn != conn)
			continue;
		struct xml_node *x = parse_sent(&sent[i]);
		if (strcmp(x->name, "message") == 0)
			out[n++] = x;
	}
	return n;
}

static const char *body_of(struct xml_node *m)
{
	struct xml_node *b = xml_child(m, XML_NS_CLIENT, "body");
	return b ? xml_text(&test_arena, b) : NULL;
}

static void assert_error(struct xml_node *n, const char *condition)
{
	ck_assert_str_eq(xml_attr_get(n, "type"), "error");
	struct xml_node *e = xml_child(n, XML_NS_CLIENT, "error");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(xml_child(e, NS_STANZAS, condition));
}

/* The "offline" store of a user, as it is on disk. */
static struct stored *stored_for(const char *user)
{
	return load_stored(user, "offline");
}

#define ALICE "alice@localhost/home"
#define BOB1 "bob@localhost/one"
#define BOB2 "bob@localhost/two"

static void alice_to_bob(const char *type, const char *body)
{
	char xml[512];
	snprintf(xml, sizeof xml,
		 "<message from='" ALICE "' to='bob@localhost' type='%s' "
		 "id='m-%s'><body>%s</body></message>",
		 type, body, body);
	client_sends(1, xml);
}

/* alice got one answer, service-unavailable; bob has n messages stored. */
static void assert_bounced_once(size_t n)
{
	struct xml_node *m[4];
	ck_assert_uint_eq(messages_to(1, m, 4), 1);
	assert_error(m[0], "service-unavailable");
	ck_assert_uint_eq(stored_for("bob@localhost")->count, n);
}

/* The sm again with these quotas, and alice logged in. */
static void restart_with_quota(unsigned messages, size_t bytes)
{
	stop_sm();
	set_quota(messages, bytes);
	start_sm();
	bind_session(1, ALICE);
	clear_sent();
}

/* A stanza from alice handled with no settle after it: the storage has
 * not answered yet. */
static void alice_sends_unsettled(const char *xml)
{
	struct frame f = {.type = FRAME_STANZA, .conn = 1};
	frame_set_from(&f, "c2s.1");
	frame_set_to(&f, "localhost");
	f.payload = xml;
	f.payload_len = strlen(xml);
	sm_handle_frame(&sm, &f);
}

/* ------------------------------------------------------------ storing */

START_TEST(message_to_offline_user_is_stored_with_delay)
{
	bind_session(1, ALICE);
	clear_sent();
	alice_to_bob("chat", "hello");
	ck_assert_uint_eq(nsent, 0); /* no error to the sender */
	struct stored *s = stored_for("bob@localhost");
	ck_assert_uint_eq(s->count, 1);
	struct xml_node *m = xml_parse(&test_arena, s->values[0],
				       strlen(s->values[0]), XML_NS_CLIENT);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(body_of(m), "hello");
	struct xml_node *d = xml_child(m, NS_DELAY, "delay");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(xml_attr_get(d, "from"), "localhost");
	const char *stamp = xml_attr_get(d, "stamp");
	ck_assert_uint_eq(strlen(stamp), 20); /* 2026-01-02T03:04:05Z */
	ck_assert_int_eq(stamp[10], 'T');
	ck_assert_int_eq(stamp[19], 'Z');
}
END_TEST

START_TEST(normal_and_untyped_messages_are_stored)
{
	bind_session(1, ALICE);
	alice_to_bob("normal", "one");
	client_sends(1, "<message from='" ALICE "' to='bob@localhost'>"
			"<body>two</body></message>");
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 2);
}
END_TEST

START_TEST(headline_groupchat_and_error_are_not_stored)
{
	bind_session(1, ALICE);
	clear_sent();
	alice_to_bob("headline", "news");
	ck_assert_uint_eq(nsent, 0); /* RFC 6121 §8.5.2.2.1: ignored */
	alice_to_bob("groupchat", "room");
	struct xml_node *m[4];
	ck_assert_uint_eq(messages_to(1, m, 4), 1);
	assert_error(m[0], "service-unavailable");
	clear_sent();
	alice_to_bob("error", "oops");
	ck_assert_uint_eq(nsent, 0); /* never answered, never stored */
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 0);
}
END_TEST

START_TEST(chat_states_alone_are_dropped)
{
	bind_session(1, ALICE);
	clear_sent();
	client_sends(1, "<message from='" ALICE "' to='bob@localhost' "
			"type='chat'><composing xmlns='" NS_CHATSTATES "'/>"
			"<no-store xmlns='urn:xmpp:hints'/></message>");
	ck_assert_uint_eq(nsent, 0);
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 0);
	/* with a body, the chat state goes along */
	client_sends(1,
		     "<message from='" ALICE "' to='bob@localhost' "
		     "type='chat'><body>hi</body><active xmlns='" NS_CHATSTATES
		     "'/></message>");
	/* XEP-0334 <store/> wins */
	client_sends(1, "<message from='" ALICE "' to='bob@localhost' "
			"type='chat'><gone xmlns='" NS_CHATSTATES "'/>"
			"<store xmlns='urn:xmpp:hints'/></message>");
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 2);
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

START_TEST(no_store_hint_is_bounced)
{
	bind_session(1, ALICE);
	clear_sent();
	client_sends(1, "<message from='" ALICE "' to='bob@localhost' "
			"type='chat' id='x'><body>secret</body><no-store "
			"xmlns='urn:xmpp:hints'/></message>");
	assert_bounced_once(0);
}
END_TEST

START_TEST(full_queue_bounces_with_text)
{
	restart_with_quota(2, 10 << 20);
	alice_to_bob("chat", "one");
	alice_to_bob("chat", "two");
	ck_assert_uint_eq(nsent, 0);
	alice_to_bob("chat", "three");
	struct xml_node *m[4];
	ck_assert_uint_eq(messages_to(1, m, 4), 1);
	assert_error(m[0], "service-unavailable");
	ck_assert_str_eq(xml_attr_get(m[0], "id"), "m-three");
	ck_assert_str_eq(xml_attr_get(m[0], "from"), "bob@localhost");
	struct xml_node *e = xml_child(m[0], XML_NS_CLIENT, "error");
	ck_assert_str_eq(xml_attr_get(e, "type"), "cancel");
	struct xml_node *t = xml_child(e, NS_STANZAS, "text");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(xml_text(&test_arena, t), "offline storage is full");
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 2);
	/* once delivered, there is room again */
	bind_session(2, BOB1);
	available(2, BOB1, 0);
	clear_sent();
	alice_to_bob("chat", "four"); /* bob is online: delivered */
	ck_assert_uint_eq(messages_to(2, m, 4), 1);
	frame_in(FRAME_SESSION_END, 2, "closed");
	alice_to_bob("chat", "five");
	ck_assert_uint_eq(messages_to(1, m, 4), 0);
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 1);
}
END_TEST

START_TEST(quota_counts_messages_stored_before_a_restart)
{
	restart_with_quota(2, 10 << 20);
	alice_to_bob("chat", "one");
	alice_to_bob("chat", "two");
	restart_with_quota(quota, quota_bytes);
	alice_to_bob("chat", "three");
	struct xml_node *m[4];
	ck_assert_uint_eq(messages_to(1, m, 4), 1);
	assert_error(m[0], "service-unavailable");
}
END_TEST

/* A burst while the count is being read: all wait, in order, and the
 * quota still holds. */
START_TEST(burst_keeps_order_and_quota)
{
	restart_with_quota(3, 10 << 20);
	const char *bodies[] = {"a", "b", "c", "d", "e"};
	for (int i = 0; i < 5; i++) {
		char xml[256];
		snprintf(xml, sizeof xml,
			 "<message from='" ALICE "' to='bob@localhost' "
			 "type='chat' id='%s'><body>%s</body></message>",
			 bodies[i], bodies[i]);
		alice_sends_unsettled(xml);
	}
	settle();
	struct xml_node *m[8];
	ck_assert_uint_eq(messages_to(1, m, 8), 2);
	ck_assert_str_eq(xml_attr_get(m[0], "id"), "d");
	ck_assert_str_eq(xml_attr_get(m[1], "id"), "e");
	struct stored *s = stored_for("bob@localhost");
	ck_assert_uint_eq(s->count, 3);
	ck_assert_ptr_nonnull(strstr(s->values[0], ">a<"));
	ck_assert_ptr_nonnull(strstr(s->values[2], ">c<"));
}
END_TEST

/* A message of about size bytes of body, id'd id. */
static void alice_to_bob_sized(const char *id, size_t size)
{
	char xml[4096];
	ck_assert_uint_lt(size, 3000);
	int n = snprintf(xml, sizeof xml,
			 "<message from='" ALICE "' to='bob@localhost' "
			 "type='chat' id='%s'><body>%0*d</body></message>",
			 id, (int)size, 0);
	ck_assert_int_lt(n, (int)sizeof xml);
	client_sends(1, xml);
}

/* 400 messages of 250 kB once took 100 MB: the bytes are bounded too. */
START_TEST(bytes_quota_bounces_past_the_bound_with_text)
{
	restart_with_quota(1000, 2000);
	alice_to_bob_sized("one", 600);
	alice_to_bob_sized("two", 600);
	ck_assert_uint_eq(nsent, 0);
	alice_to_bob_sized("three", 600);
	struct xml_node *m[4];
	ck_assert_uint_eq(messages_to(1, m, 4), 1);
	assert_error(m[0], "service-unavailable");
	ck_assert_str_eq(xml_attr_get(m[0], "id"), "three");
	struct xml_node *e = xml_child(m[0], XML_NS_CLIENT, "error");
	struct xml_node *t = xml_child(e, NS_STANZAS, "text");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(xml_text(&test_arena, t), "offline storage is full");
	/* A small one still fits under the bound. */
	clear_sent();
	alice_to_bob("chat", "small");
	ck_assert_uint_eq(messages_to(1, m, 4), 0);
	struct stored *st = stored_for("bob@localhost");
	ck_assert_uint_eq(st->count, 3);
	/* What was stored comes at the next login; then there is room. */
	bind_session(2, BOB1);
	available(2, BOB1, 0);
	ck_assert_uint_eq(messages_to(2, m, 4), 3);
	ck_assert_str_eq(xml_attr_get(m[0], "id"), "one");
	ck_assert_str_eq(xml_attr_get(m[2], "id"), "m-small");
	frame_in(FRAME_SESSION_END, 2, "closed");
	clear_sent();
	alice_to_bob_sized("four", 600);
	alice_to_bob_sized("five", 600);
	ck_assert_uint_eq(messages_to(1, m, 4), 0);
}
END_TEST

START_TEST(bytes_quota_counts_what_was_stored_before_a_restart)
{
	restart_with_quota(1000, 2500);
	alice_to_bob_sized("one", 1000);
	alice_to_bob_sized("two", 1000);
	restart_with_quota(quota, quota_bytes);
	alice_to_bob_sized("three", 1000);
	assert_bounced_once(2);
}
END_TEST

/* A burst while the store is being read: the bytes of those waiting
 * count too. */
START_TEST(bytes_quota_holds_for_a_burst)
{
	restart_with_quota(1000, 3000);
	char xml[4096];
	for (int i = 0; i < 5; i++) {
		snprintf(xml, sizeof xml,
			 "<message from='" ALICE "' to='bob@localhost' "
			 "type='chat' id='b%d'><body>%0*d</body></message>",
			 i, 1000, 0);
		alice_sends_unsettled(xml);
	}
	settle();
	struct xml_node *m[8];
	ck_assert_uint_eq(messages_to(1, m, 8), 3);
	ck_assert_str_eq(xml_attr_get(m[0], "id"), "b2");
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 2);
}
END_TEST

/* ------------------------------------------------------------ delivery */

START_TEST(delivered_in_order_at_initial_presence_then_deleted)
{
	bind_session(1, ALICE);
	alice_to_bob("chat", "one");
	alice_to_bob("normal", "two");
	alice_to_bob("chat", "three");
	bind_session(2, BOB1);
	clear_sent();
	available(2, BOB1, 0);
	struct xml_node *m[8];
	ck_assert_uint_eq(messages_to(2, m, 8), 3);
	ck_assert_str_eq(body_of(m[0]), "one");
	ck_assert_str_eq(body_of(m[1]), "two");
	ck_assert_str_eq(body_of(m[2]), "three");
	ck_assert_str_eq(xml_attr_get(m[0], "from"), ALICE);
	ck_assert_ptr_nonnull(xml_child(m[0], NS_DELAY, "delay"));
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 0);
	/* nothing comes twice */
	frame_in(FRAME_SESSION_END, 2, "closed");
	bind_session(3, BOB2);
	clear_sent();
	available(3, BOB2, 0);
	ck_assert_uint_eq(messages_to(3, m, 8), 0);
}
END_TEST

START_TEST(negative_priority_gets_nothing_until_it_turns_positive)
{
	bind_session(1, ALICE);
	bind_session(2, BOB1);
	available(2, BOB1, -1);
	clear_sent();
	alice_to_bob("chat", "one"); /* RFC 6121: not to a negative one */
	struct xml_node *m[8];
	ck_assert_uint_eq(messages_to(2, m, 8), 0);
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 1);
	available(2, BOB1, -5); /* still negative */
	ck_assert_uint_eq(messages_to(2, m, 8), 0);
	available(2, BOB1, 1);
	ck_assert_uint_eq(messages_to(2, m, 8), 1);
	ck_assert_str_eq(body_of(m[0]), "one");
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 0);
	/* a later presence update delivers nothing more */
	clear_sent();
	available(2, BOB1, 2);
	ck_assert_uint_eq(messages_to(2, m, 8), 0);
}
END_TEST

START_TEST(only_the_resource_that_sent_presence_gets_them)
{
	bind_session(1, ALICE);
	alice_to_bob("chat", "one");
	bind_session(2, BOB1);
	bind_session(3, BOB2);
	available(3, BOB2, -1);
	clear_sent();
	available(2, BOB1, 0);
	struct xml_node *m[8];
	ck_assert_uint_eq(messages_to(2, m, 8), 1);
	ck_assert_uint_eq(messages_to(3, m, 8), 0);
}
END_TEST

START_TEST(messages_survive_a_restart)
{
	bind_session(1, ALICE);
	alice_to_bob("chat", "before");
	stop_sm();
	start_sm();
	bind_session(2, BOB1);
	clear_sent();
	available(2, BOB1, 0);
	struct xml_node *m[8];
	ck_assert_uint_eq(messages_to(2, m, 8), 1);
	ck_assert_str_eq(body_of(m[0]), "before");
}
END_TEST

/* What the load did not deliver stays: here the resource turned
 * negative before the load came back, and a message was stored
 * meanwhile. */
START_TEST(undelivered_messages_stay_stored)
{
	bind_session(1, ALICE);
	alice_to_bob("chat", "one");
	bind_session(2, BOB1);
	clear_sent();
	const char *frames[] = {
		"<presence from='" BOB1 "'><priority>0</priority></presence>",
		"<presence from='" BOB1 "'><priority>-1</priority></presence>",
	};
	for (int i = 0; i < 2; i++) {
		struct frame f = {.type = FRAME_STANZA, .conn = 2};
		frame_set_from(&f, "c2s.1");
		frame_set_to(&f, "localhost");
		f.payload = frames[i];
		f.payload_len = strlen(frames[i]);
		sm_handle_frame(&sm, &f);
	}
	alice_to_bob("chat", "two");
	struct xml_node *m[8];
	ck_assert_uint_eq(messages_to(2, m, 8), 0);
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 2);
	available(2, BOB1, 0);
	ck_assert_uint_eq(messages_to(2, m, 8), 2);
	ck_assert_str_eq(body_of(m[0]), "one");
	ck_assert_str_eq(body_of(m[1]), "two");
	ck_assert_uint_eq(stored_for("bob@localhost")->count, 0);
}
END_TEST

START_TEST(message_to_own_account_while_offline_is_stored)
{
	bind_session(1, ALICE);
	clear_sent();
	client_sends(1, "<message from='" ALICE "' type='chat'><body>note"
			"</body></message>");
	struct stored *s = stored_for("alice@localhost");
	ck_assert_uint_eq(s->count, 1);
	ck_assert_ptr_nonnull(
		strstr(s->values[0], "to=\"alice@localhost\"")
			? s->values[0]
			: strstr(s->values[0], "to='alice@localhost'"));
	available(1, ALICE, 0);
	struct xml_node *m[8];
	ck_assert_uint_eq(messages_to(1, m, 8), 1);
}
END_TEST

START_TEST(disco_lists_msgoffline)
{
	bind_session(1, ALICE);
	clear_sent();
	client_sends(1, "<iq from='" ALICE "' to='localhost' type='get' "
			"id='d'><query xmlns='" NS_DISCO_INFO "'/></iq>");
	ck_assert_uint_eq(nsent, 1);
	ck_assert_ptr_nonnull(strstr(sent[0].payload, "msgoffline"));
}
END_TEST

int main(void)
{
	log_init("test_sm_offline", LOG_WARN);
	Suite *s = suite_create("sm_offline");
	TCase *tc = tcase_create("offline");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown_stored_sm);
	tcase_add_test(tc, message_to_offline_user_is_stored_with_delay);
	tcase_add_test(tc, normal_and_untyped_messages_are_stored);
	tcase_add_test(tc, headline_groupchat_and_error_are_not_stored);
	tcase_add_test(tc, chat_states_alone_are_dropped);
	tcase_add_test(tc, no_store_hint_is_bounced);
	tcase_add_test(tc, full_queue_bounces_with_text);
	tcase_add_test(tc, quota_counts_messages_stored_before_a_restart);
	tcase_add_test(tc, burst_keeps_order_and_quota);
	tcase_add_test(tc, bytes_quota_bounces_past_the_bound_with_text);
	tcase_add_test(tc, bytes_quota_counts_what_was_stored_before_a_restart);
	tcase_add_test(tc, bytes_quota_holds_for_a_burst);
	tcase_add_test(tc, delivered_in_order_at_initial_presence_then_deleted);
	tcase_add_test(tc,
		       negative_priority_gets_nothing_until_it_turns_positive);
	tcase_add_test(tc, only_the_resource_that_sent_presence_gets_them);
	tcase_add_test(tc, messages_survive_a_restart);
	tcase_add_test(tc, undelivered_messages_stay_stored);
	tcase_add_test(tc, message_to_own_account_while_offline_is_stored);
	tcase_add_test(tc, disco_lists_msgoffline);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
