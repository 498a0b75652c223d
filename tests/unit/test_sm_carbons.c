/* sm carbons: XEP-0280's rule of which messages are copied (§6), and
 * the copies' targets, driven with frames as c2s would send them and
 * checked on the frames the sm sends back (no storage). */

#include "../../lib/log.h"
#include "../../lib/xml.h"
#include "../../server/sm/carbons.h"
#include "../../server/sm/sm.h"
#include "../../server/sm/stanza.h"
#include "sm_harness.h"
#include "unit.h"
#include <check.h>
#include <stdio.h>
#include <string.h>

#define NS_FORWARD "urn:xmpp:forward:0"

static char *hosts[] = {"localhost", "example.org"};
static char *modules_on[] = {"carbons"};

static void setup(void)
{
	config_reset(hosts, 2, modules_on, 1);
	start_sm_recording();
}

static void teardown(void)
{
	clear_sent();
	sm_free(&sm);
	arena_reset(&test_arena);
}

/* ------------------------------------------------------------ the rule */

static bool eligible(const char *xml, bool received)
{
	struct xml_node *x =
		xml_parse(&test_arena, xml, strlen(xml), XML_NS_CLIENT);
	struct stanza st;
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(sm_stanza_init(&st, &test_arena, x), 0);
	return sm_carbons_eligible(&st, received);
}

START_TEST(chat_and_normal_with_a_body_are_copied)
{
	ck_assert(eligible("<message type='chat'/>", true));
	ck_assert(eligible("<message><body>hi</body></message>", true));
	ck_assert(eligible("<message type='normal'><body>hi</body></message>",
			   false));
	/* RFC 6121 §5.2.2: an unknown type is normal. */
	ck_assert(
		eligible("<message type='x'><body>hi</body></message>", true));
	ck_assert(!eligible("<message/>", true));
	ck_assert(!eligible("<message><subject>s</subject></message>", true));
}
END_TEST

START_TEST(im_payloads_without_a_body_are_copied)
{
	static const char *const ok[] = {
		"<message><composing "
		"xmlns='http://jabber.org/protocol/chatstates'/></message>",
		"<message><received xmlns='urn:xmpp:receipts' "
		"id='a'/></message>",
		"<message><displayed xmlns='urn:xmpp:chat-markers:0' "
		"id='a'/></message>",
		"<message><reactions xmlns='urn:xmpp:reactions:0' "
		"id='a'/></message>",
		"<message><propose xmlns='urn:xmpp:jingle-message:0' "
		"id='c'/></message>",
		"<message><retract xmlns='urn:xmpp:jingle-message:0' "
		"id='c'/></message>",
		"<message><accept xmlns='urn:xmpp:jingle-message:0' "
		"id='c'/></message>",
		"<message><proceed xmlns='urn:xmpp:jingle-message:0' "
		"id='c'/></message>",
		"<message><reject xmlns='urn:xmpp:jingle-message:0' "
		"id='c'/></message>",
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		ck_assert_msg(eligible(ok[i], true), "%s", ok[i]);
	ck_assert(!eligible("<message><x xmlns='jabber:x:oob'/></message>",
			    true));
}
END_TEST

START_TEST(private_no_copy_groupchat_headline_are_not)
{
	ck_assert(!eligible("<message type='chat'><private "
			    "xmlns='urn:xmpp:carbons:2'/></message>",
			    false));
	ck_assert(!eligible("<message type='chat'><no-copy "
			    "xmlns='urn:xmpp:hints'/></message>",
			    true));
	ck_assert(!eligible("<message type='groupchat'><body>b</body>"
			    "</message>",
			    true));
	ck_assert(!eligible("<message type='headline'><body>b</body>"
			    "</message>",
			    true));
}
END_TEST

START_TEST(muc_private_messages_received_are_not)
{
	static const char pm[] =
		"<message type='chat' to='a@localhost/r' "
		"from='room@muc.example.org/nick'><body>b</body>"
		"<x xmlns='http://jabber.org/protocol/muc#user'/></message>";
	ck_assert(!eligible(pm, true));
	/* An invitation, to the bare JID, is. */
	ck_assert(eligible("<message to='a@localhost' "
			   "from='room@muc.example.org'><body>b</body>"
			   "<x xmlns='http://jabber.org/protocol/muc#user'>"
			   "<invite/></x></message>",
			   true));
	/* A PM the user sends, to the room's occupant, is. */
	ck_assert(eligible("<message type='chat' "
			   "to='room@muc.example.org/nick'><body>b</body>"
			   "<x xmlns='http://jabber.org/protocol/muc#user'/>"
			   "</message>",
			   false));
}
END_TEST

START_TEST(errors_are_copied_when_they_bounce_a_chat)
{
	ck_assert(eligible("<message type='error' from='b@example.org'>"
			   "<error type='cancel'/></message>",
			   true));
	ck_assert(eligible("<message type='error' from='b@example.org/r'>"
			   "<body>echo</body><error type='cancel'/></message>",
			   true));
	ck_assert(!eligible("<message type='error' from='b@example.org/r'>"
			    "<error type='cancel'/></message>",
			    true));
}
END_TEST

/* ------------------------------------------------------------ copies */

#define JU1 "juliet@localhost/balcony"
#define JU2 "juliet@localhost/phone"
#define JU3 "juliet@localhost/a&b\"<'"
#define ROMEO "romeo@montague.example/orchard"

static void enable(uint64_t conn, const char *jid)
{
	char xml[256];
	snprintf(xml, sizeof xml,
		 "<iq from=\"%s\" type='set' id='e'><enable "
		 "xmlns='" NS_CARBONS "'/></iq>",
		 jid);
	client_sends(conn, xml);
}

/* From a remote server, as s2s hands it. */
static void remote_sends(const char *xml)
{
	hand_frame(FRAME_STANZA, "s2s", 0, "localhost", xml);
}

static size_t stanzas_to(uint64_t conn, struct xml_node **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < nsent && n < max; i++)
		if (sent[i].type == FRAME_STANZA && sent[i].conn == conn)
			out[n++] = parse_sent(&sent[i]);
	return n;
}

/* The message inside the carbon x (wrapper received or sent), or NULL. */
static struct xml_node *carbon_of(struct xml_node *x, const char *wrapper)
{
	struct xml_node *w = xml_child(x, NS_CARBONS, wrapper);
	struct xml_node *f = w ? xml_child(w, NS_FORWARD, "forwarded") : NULL;
	return f ? xml_child(f, XML_NS_CLIENT, "message") : NULL;
}

START_TEST(copies_go_to_each_target_with_its_own_to)
{
	bind_session(1, JU1);
	bind_session(2, JU2);
	bind_session(3, JU3);
	available(1, JU1, 1);
	available(2, JU2, 0);
	/* Without 'from': the sm stamps the session's JID. */
	client_sends(3, "<presence/>");
	enable(2, JU2);
	client_sends(3, "<iq type='set' id='e'><enable xmlns='" NS_CARBONS
			"'/></iq>");
	clear_sent();
	remote_sends("<message from='" ROMEO "' to='juliet@localhost' "
		     "type='chat' id='m1'><body>hi</body></message>");
	struct xml_node *x[4];
	ck_assert_uint_eq(stanzas_to(1, x, 4), 1);
	ck_assert_ptr_null(carbon_of(x[0], "received"));
	ck_assert_uint_eq(stanzas_to(2, x, 4), 1);
	ck_assert_str_eq(xml_attr_get(x[0], "to"), JU2);
	ck_assert_str_eq(xml_attr_get(x[0], "from"), "juliet@localhost");
	ck_assert_str_eq(xml_attr_get(x[0], "type"), "chat");
	struct xml_node *m = carbon_of(x[0], "received");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(xml_attr_get(m, "id"), "m1");
	ck_assert_uint_eq(stanzas_to(3, x, 4), 1);
	ck_assert_str_eq(xml_attr_get(x[0], "to"), JU3);
	ck_assert_ptr_nonnull(carbon_of(x[0], "received"));
}
END_TEST

/* RFC 6121 §8.5.2.2.1: with no resource of non-negative priority, the
 * message is kept offline. A carbons session available at a negative
 * priority gets a copy (it will never get the stored message); one not
 * yet available does not (it may get the stored one). */
START_TEST(offline_message_copied_to_negative_priority_only)
{
	bind_session(1, JU1);
	bind_session(2, JU2);
	available(1, JU1, -1);
	enable(1, JU1);
	enable(2, JU2);
	clear_sent();
	remote_sends("<message from='" ROMEO "' to='juliet@localhost' "
		     "type='chat' id='m1'><body>hi</body></message>");
	struct xml_node *x[4];
	ck_assert_uint_eq(stanzas_to(1, x, 4), 1);
	ck_assert_ptr_nonnull(carbon_of(x[0], "received"));
	ck_assert_uint_eq(stanzas_to(2, x, 4), 0);
}
END_TEST

START_TEST(sent_without_to_is_a_note_to_self)
{
	bind_session(1, JU1);
	bind_session(2, JU2);
	available(1, JU1, 0);
	enable(2, JU2);
	clear_sent();
	client_sends(1, "<message from='" JU1 "' type='chat' id='n'>"
			"<body>note</body></message>");
	struct xml_node *x[4];
	ck_assert_uint_eq(stanzas_to(2, x, 4), 1);
	struct xml_node *m = carbon_of(x[0], "sent");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(xml_attr_get(m, "to"), "juliet@localhost");
	ck_assert_ptr_null(carbon_of(x[0], "received"));
}
END_TEST

START_TEST(private_is_removed_before_delivery)
{
	bind_session(1, JU1);
	available(1, JU1, 0);
	clear_sent();
	remote_sends("<message from='" ROMEO "' to='" JU1 "' type='chat' "
		     "id='m'><body>b</body><private xmlns='" NS_CARBONS
		     "'/></message>");
	struct xml_node *x[4];
	ck_assert_uint_eq(stanzas_to(1, x, 4), 1);
	ck_assert_ptr_null(xml_child(x[0], NS_CARBONS, NULL));
	ck_assert_ptr_nonnull(xml_child(x[0], XML_NS_CLIENT, "body"));
}
END_TEST

START_TEST(forged_wrappers_are_removed)
{
	bind_session(1, JU1);
	available(1, JU1, 0);
	clear_sent();
	remote_sends("<message from='" ROMEO "' to='" JU1 "' type='chat' "
		     "id='m'><sent xmlns='" NS_CARBONS
		     "'><forwarded xmlns='" NS_FORWARD
		     "'><message xmlns='jabber:client'/>"
		     "</forwarded></sent><received xmlns='" NS_CARBONS "'/>"
		     "</message>");
	struct xml_node *x[4];
	ck_assert_uint_eq(stanzas_to(1, x, 4), 1);
	ck_assert_ptr_null(xml_child(x[0], NS_CARBONS, NULL));
}
END_TEST

/* §4.1: not-allowed from a client not hosted here. */
START_TEST(enable_from_a_remote_entity_is_not_allowed)
{
	bind_session(1, JU1);
	clear_sent();
	remote_sends("<iq from='" ROMEO "' to='juliet@localhost' type='set' "
		     "id='e'><enable xmlns='" NS_CARBONS "'/></iq>");
	ck_assert_uint_eq(nsent, 1);
	ck_assert_ptr_nonnull(strstr(sent[0].payload, "not-allowed"));
}
END_TEST

int main(void)
{
	log_init("test_sm_carbons", LOG_WARN);
	Suite *s = suite_create("sm_carbons");
	TCase *rule = tcase_create("rule");
	tcase_add_checked_fixture(rule, setup, teardown);
	tcase_add_test(rule, chat_and_normal_with_a_body_are_copied);
	tcase_add_test(rule, im_payloads_without_a_body_are_copied);
	tcase_add_test(rule, private_no_copy_groupchat_headline_are_not);
	tcase_add_test(rule, muc_private_messages_received_are_not);
	tcase_add_test(rule, errors_are_copied_when_they_bounce_a_chat);
	suite_add_tcase(s, rule);
	TCase *tc = tcase_create("copies");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, copies_go_to_each_target_with_its_own_to);
	tcase_add_test(tc, offline_message_copied_to_negative_priority_only);
	tcase_add_test(tc, sent_without_to_is_a_note_to_self);
	tcase_add_test(tc, private_is_removed_before_delivery);
	tcase_add_test(tc, forged_wrappers_are_removed);
	tcase_add_test(tc, enable_from_a_remote_entity_is_not_allowed);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
