/* sm: sessions and the delivery rules of RFC 6121 §8, driven with frames
 * as c2s would send them and checked on the frames the sm sends back.
 * No sockets: the sm's send function records into a list. */

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
#define NS_PING "urn:xmpp:ping"

/* ------------------------------------------------------------ harness */

static char *hosts[] = {"localhost", "example.org"};
static char *modules_on[] = {"disco", "ping"};

static void start_sm_with(char **modules, size_t nmodules, bool replace)
{
	config_reset(hosts, 2, modules, nmodules);
	cfg.resource_conflict_replace = replace;
	start_sm_recording();
}

static void setup(void)
{
	start_sm_with(modules_on, 2, true);
}

static void teardown(void)
{
	clear_sent();
	sm_free(&sm);
}

/* The frames that went to one client connection, in order. */
static size_t to_conn(uint64_t conn, struct sent **out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < nsent; i++)
		if (sent[i].type == FRAME_STANZA && sent[i].conn == conn &&
		    strcmp(sent[i].to, "c2s.1") == 0 && n < max)
			out[n++] = &sent[i];
	return n;
}

static size_t count_to_conn(uint64_t conn)
{
	struct sent *s[MAX_SENT];
	return to_conn(conn, s, MAX_SENT);
}

/* The one stanza that went to conn, parsed. */
static struct xml_node *only_stanza_to(uint64_t conn)
{
	struct sent *s[MAX_SENT];
	ck_assert_uint_eq(to_conn(conn, s, MAX_SENT), 1);
	return parse_sent(s[0]);
}

static void assert_error(struct xml_node *n, const char *condition)
{
	ck_assert_str_eq(xml_attr_get(n, "type"), "error");
	struct xml_node *e = xml_child(n, XML_NS_CLIENT, "error");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(xml_child(e, NS_STANZAS, condition));
	ck_assert_str_eq(xml_attr_get(e, "type"),
			 sm_stanza_error_type(condition));
}

#define ALICE1 "alice@localhost/one"
#define ALICE2 "alice@localhost/two"
#define BOB "bob@localhost/home"

/* ------------------------------------------------------------ sessions */

START_TEST(sm_session_start_is_confirmed)
{
	bind_session(1, ALICE1);
	ck_assert_uint_eq(nsent, 1);
	ck_assert_int_eq(sent[0].type, FRAME_SESSION_OK);
	ck_assert_str_eq(sent[0].to, "c2s.1");
	ck_assert_uint_eq(sent[0].conn, 1);
	ck_assert_str_eq(sent[0].payload, ALICE1);
	ck_assert_ptr_nonnull(
		sm_session_find_conn(&sm.sessions, "c2s.1", 5, 1));
}
END_TEST

START_TEST(resource_conflict_replaces_the_old_session)
{
	bind_session(1, ALICE1);
	clear_sent();
	bind_session(2, ALICE1);
	ck_assert_uint_eq(nsent, 2);
	ck_assert_int_eq(sent[0].type, FRAME_SESSION_END);
	ck_assert_uint_eq(sent[0].conn, 1);
	ck_assert_str_eq(sent[0].payload, "conflict");
	ck_assert_int_eq(sent[1].type, FRAME_SESSION_OK);
	ck_assert_uint_eq(sent[1].conn, 2);
	ck_assert_ptr_null(sm_session_find_conn(&sm.sessions, "c2s.1", 5, 1));
}
END_TEST

START_TEST(resource_conflict_refuses_the_new_session)
{
	sm_free(&sm);
	start_sm_with(modules_on, 2, false);
	bind_session(1, ALICE1);
	clear_sent();
	bind_session(2, ALICE1);
	ck_assert_uint_eq(nsent, 1);
	ck_assert_int_eq(sent[0].type, FRAME_SESSION_END);
	ck_assert_uint_eq(sent[0].conn, 2);
	ck_assert_str_eq(sent[0].payload, "conflict");
	ck_assert_ptr_nonnull(
		sm_session_find_conn(&sm.sessions, "c2s.1", 5, 1));
}
END_TEST

START_TEST(sm_session_for_a_foreign_domain_is_refused)
{
	bind_session(1, "alice@elsewhere.net/x");
	ck_assert_uint_eq(nsent, 1);
	ck_assert_int_eq(sent[0].type, FRAME_SESSION_END);
}
END_TEST

START_TEST(end_of_available_session_tells_the_other_resources)
{
	bind_session(1, ALICE1);
	bind_session(2, ALICE2);
	available(1, ALICE1, 0);
	available(2, ALICE2, 0);
	clear_sent();
	hand_frame(FRAME_SESSION_END, "c2s.1", 1, "localhost", "closed");
	struct xml_node *p = only_stanza_to(2);
	ck_assert_str_eq(p->name, "presence");
	ck_assert_str_eq(xml_attr_get(p, "type"), "unavailable");
	ck_assert_str_eq(xml_attr_get(p, "from"), ALICE1);
	ck_assert_uint_eq(count_to_conn(1), 0);
	ck_assert_ptr_null(sm_session_find_conn(&sm.sessions, "c2s.1", 5, 1));
}
END_TEST

START_TEST(unbound_c2s_ends_all_its_sessions)
{
	bind_session(1, ALICE1);
	bind_session(2, BOB);
	hand_frame(FRAME_STANZA, "c2s.2", 0, "localhost", "<x/>"); /* noise */
	hand_frame(FRAME_UNBOUND, "router", 0, "c2s.1", "");
	ck_assert_uint_eq(sm.sessions.conns.count, 0);
	/* the users stay a while in userdata's cache, without sessions */
	struct user *u = sm_session_user_find(&sm.sessions, "alice@localhost");
	ck_assert(!u || !u->sessions);
}
END_TEST

/* The sessions of a c2s are listed under its name: ending them when it
 * goes does not walk the whole index, and touches no other c2s's. */
START_TEST(unbound_c2s_ends_only_its_own_sessions)
{
	bind_session(1, ALICE1);
	bind_session(2, ALICE2);
	bind_session(3, BOB);
	hand_frame(FRAME_SESSION_START, "c2s.2", 1, "localhost",
		   "carol@localhost/desk");
	hand_frame(FRAME_SESSION_START, "c2s.2", 2, "localhost",
		   "dave@localhost/desk");
	/* one from the middle of c2s.1's list first */
	hand_frame(FRAME_SESSION_END, "c2s.1", 2, "localhost", "closed");
	ck_assert_uint_eq(sm.sessions.conns.count, 4);
	hand_frame(FRAME_UNBOUND, "router", 0, "c2s.1", "");
	ck_assert_uint_eq(sm.sessions.conns.count, 2);
	ck_assert_ptr_null(
		sm_session_first_of_component(&sm.sessions, "c2s.1", 5));
	ck_assert_ptr_null(sm_session_find_conn(&sm.sessions, "c2s.1", 5, 3));
	struct session *carol =
		sm_session_find_conn(&sm.sessions, "c2s.2", 5, 1);
	ck_assert_ptr_nonnull(carol);
	ck_assert_str_eq(carol->jid, "carol@localhost/desk");
	ck_assert_ptr_nonnull(
		sm_session_first_of_component(&sm.sessions, "c2s.2", 5));
	/* c2s.1 comes back: its name is known, its list starts empty */
	bind_session(4, BOB);
	ck_assert_ptr_eq(
		sm_session_first_of_component(&sm.sessions, "c2s.1", 5),
		sm_session_find_conn(&sm.sessions, "c2s.1", 5, 4));
	hand_frame(FRAME_UNBOUND, "router", 0, "c2s.2", "");
	ck_assert_uint_eq(sm.sessions.conns.count, 1);
	hand_frame(FRAME_UNBOUND, "router", 0, "c2s.1", "");
	ck_assert_uint_eq(sm.sessions.conns.count, 0);
}
END_TEST

/* ------------------------------------------------------------ presence */

/* RFC 6121 §4.2.2: the server delivers the user's presence to each of
 * its available resources; each copy is addressed to that resource. */
START_TEST(initial_presence_goes_to_own_resources_and_back)
{
	bind_session(1, ALICE1);
	bind_session(2, ALICE2);
	available(2, ALICE2, 3);
	clear_sent();
	available(1, ALICE1, 1);
	struct session *s = sm_session_find_conn(&sm.sessions, "c2s.1", 5, 1);
	ck_assert(sm_session_available(s));
	ck_assert_int_eq(s->priority, 1);
	/* the sender gets its own presence, then its sibling's, both
	 * addressed to it */
	struct sent *one[8];
	ck_assert_uint_eq(to_conn(1, one, 8), 2);
	struct xml_node *own = parse_sent(one[0]);
	ck_assert_str_eq(xml_attr_get(own, "from"), ALICE1);
	ck_assert_str_eq(xml_attr_get(own, "to"), ALICE1);
	struct xml_node *sibling = parse_sent(one[1]);
	ck_assert_str_eq(xml_attr_get(sibling, "from"), ALICE2);
	ck_assert_str_eq(xml_attr_get(sibling, "to"), ALICE1);
	ck_assert_ptr_nonnull(xml_child(sibling, XML_NS_CLIENT, "priority"));
	struct xml_node *p = only_stanza_to(2);
	ck_assert_str_eq(xml_attr_get(p, "from"), ALICE1);
	ck_assert_str_eq(xml_attr_get(p, "to"), ALICE2);
}
END_TEST

/* §4.4.2, §4.5.2: updates and unavailable presence the same way. */
START_TEST(presence_update_and_unavailable_are_addressed_to_each_resource)
{
	bind_session(1, ALICE1);
	bind_session(2, ALICE2);
	available(1, ALICE1, 0);
	available(2, ALICE2, 0);
	clear_sent();
	client_sends(1, "<presence from='" ALICE1 "'><show>away</show>"
			"</presence>");
	ck_assert_str_eq(xml_attr_get(only_stanza_to(1), "to"), ALICE1);
	ck_assert_str_eq(xml_attr_get(only_stanza_to(2), "to"), ALICE2);
	clear_sent();
	client_sends(1, "<presence from='" ALICE1 "' type='unavailable'/>");
	ck_assert_uint_eq(count_to_conn(1), 0);
	struct xml_node *p = only_stanza_to(2);
	ck_assert_str_eq(xml_attr_get(p, "type"), "unavailable");
	ck_assert_str_eq(xml_attr_get(p, "to"), ALICE2);
}
END_TEST

START_TEST(presence_to_bare_jid_reaches_available_resources)
{
	bind_session(1, ALICE1);
	bind_session(2, ALICE2);
	bind_session(3, BOB);
	available(1, ALICE1, 0);
	clear_sent();
	client_sends(3, "<presence from='" BOB "' to='alice@localhost'/>");
	ck_assert_uint_eq(count_to_conn(1), 1);
	ck_assert_uint_eq(count_to_conn(2), 0); /* not available */
}
END_TEST

START_TEST(presence_to_unknown_resource_is_dropped)
{
	bind_session(1, ALICE1);
	bind_session(3, BOB);
	available(1, ALICE1, 0);
	clear_sent();
	client_sends(3, "<presence from='" BOB "' to='alice@localhost/nope'/>");
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

START_TEST(unknown_presence_type_is_a_bad_request)
{
	bind_session(3, BOB);
	client_sends(3, "<presence from='" BOB
			"' type='bogus' to='x@localhost'/>");
	assert_error(only_stanza_to(3), "bad-request");
}
END_TEST

/* ------------------------------------------------------------ messages */

START_TEST(message_to_full_jid_reaches_that_resource)
{
	bind_session(1, ALICE1);
	bind_session(2, ALICE2);
	bind_session(3, BOB);
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='" ALICE2
			"' type='chat'><body>hi</body></message>");
	ck_assert_uint_eq(count_to_conn(1), 0);
	struct xml_node *m = only_stanza_to(2);
	ck_assert_str_eq(m->name, "message");
	ck_assert_str_eq(
		xml_text(&test_arena, xml_child(m, XML_NS_CLIENT, "body")),
		"hi");
}
END_TEST

START_TEST(message_to_bare_jid_goes_to_highest_priority)
{
	bind_session(1, ALICE1);
	bind_session(2, ALICE2);
	bind_session(3, BOB);
	available(1, ALICE1, 5);
	available(2, ALICE2, 1);
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='alice@localhost' "
			"type='chat'><body>hi</body></message>");
	ck_assert_uint_eq(count_to_conn(1), 1);
	ck_assert_uint_eq(count_to_conn(2), 0);
}
END_TEST

START_TEST(message_to_bare_jid_goes_to_all_equal_best)
{
	bind_session(1, ALICE1);
	bind_session(2, ALICE2);
	bind_session(3, BOB);
	available(1, ALICE1, 2);
	available(2, ALICE2, 2);
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='alice@localhost'>"
			"<body>hi</body></message>");
	ck_assert_uint_eq(count_to_conn(1), 1);
	ck_assert_uint_eq(count_to_conn(2), 1);
}
END_TEST

START_TEST(headline_goes_to_all_non_negative)
{
	bind_session(1, ALICE1);
	bind_session(2, ALICE2);
	bind_session(3, BOB);
	available(1, ALICE1, 5);
	available(2, ALICE2, 0);
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='alice@localhost' "
			"type='headline'><body>news</body></message>");
	ck_assert_uint_eq(count_to_conn(1), 1);
	ck_assert_uint_eq(count_to_conn(2), 1);
}
END_TEST

START_TEST(message_with_no_available_resource_bounces)
{
	bind_session(1, ALICE1);
	bind_session(3, BOB);
	available(1, ALICE1, -1); /* negative: not a target */
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='alice@localhost' "
			"id='m1' type='chat'><body>hi</body></message>");
	ck_assert_uint_eq(count_to_conn(1), 0);
	struct xml_node *e = only_stanza_to(3);
	assert_error(e, "service-unavailable");
	ck_assert_str_eq(xml_attr_get(e, "id"), "m1");
	ck_assert_str_eq(xml_attr_get(e, "to"), BOB);
	ck_assert_str_eq(xml_attr_get(e, "from"), "alice@localhost");
}
END_TEST

START_TEST(groupchat_to_bare_jid_is_refused)
{
	bind_session(1, ALICE1);
	bind_session(3, BOB);
	available(1, ALICE1, 0);
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='alice@localhost' "
			"type='groupchat'><body>hi</body></message>");
	ck_assert_uint_eq(count_to_conn(1), 0);
	assert_error(only_stanza_to(3), "service-unavailable");
}
END_TEST

START_TEST(message_to_unknown_resource_is_treated_as_bare)
{
	bind_session(1, ALICE1);
	bind_session(3, BOB);
	available(1, ALICE1, 0);
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='alice@localhost/gone' "
			"type='chat'><body>hi</body></message>");
	ck_assert_uint_eq(count_to_conn(1), 1);
	ck_assert_uint_eq(count_to_conn(3), 0);
}
END_TEST

START_TEST(error_message_is_never_answered)
{
	bind_session(3, BOB);
	client_sends(3, "<message from='" BOB "' to='nobody@localhost' "
			"type='error'/>");
	client_sends(3, "<message from='" BOB "' to='localhost' "
			"type='error'/>");
	ck_assert_uint_eq(count_to_conn(3), 0);
}
END_TEST

START_TEST(message_without_to_goes_to_own_bare_jid)
{
	bind_session(1, ALICE1);
	bind_session(2, ALICE2);
	available(2, ALICE2, 0);
	clear_sent();
	client_sends(1, "<message from='" ALICE1 "'><body>me</body></message>");
	ck_assert_uint_eq(count_to_conn(2), 1);
}
END_TEST

/* ------------------------------------------------------------ iq */

START_TEST(ping_to_server_is_answered)
{
	bind_session(3, BOB);
	client_sends(3, "<iq from='" BOB "' to='localhost' type='get' "
			"id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
	struct xml_node *r = only_stanza_to(3);
	ck_assert_str_eq(xml_attr_get(r, "type"), "result");
	ck_assert_str_eq(xml_attr_get(r, "id"), "p1");
	ck_assert_str_eq(xml_attr_get(r, "from"), "localhost");
	ck_assert_str_eq(xml_attr_get(r, "to"), BOB);
}
END_TEST

START_TEST(unknown_iq_namespace_is_service_unavailable)
{
	bind_session(3, BOB);
	client_sends(3, "<iq from='" BOB "' to='localhost' type='get' "
			"id='q'><query xmlns='urn:example:nope'/></iq>");
	assert_error(only_stanza_to(3), "service-unavailable");
	clear_sent();
	client_sends(3, "<iq from='" BOB "' type='get' id='q2'>"
			"<query xmlns='urn:example:nope'/></iq>");
	struct xml_node *e = only_stanza_to(3);
	assert_error(e, "service-unavailable");
	ck_assert_ptr_null(xml_attr_get(e, "from"));
}
END_TEST

START_TEST(malformed_iqs_are_bad_requests)
{
	bind_session(3, BOB);
	client_sends(3, "<iq from='" BOB "' to='localhost' type='get'>"
			"<ping xmlns='urn:xmpp:ping'/></iq>");
	assert_error(only_stanza_to(3), "bad-request");
	clear_sent();
	client_sends(3, "<iq from='" BOB "' to='localhost' type='get' id='a'>"
			"<ping xmlns='urn:xmpp:ping'/><x xmlns='y'/></iq>");
	assert_error(only_stanza_to(3), "bad-request");
	clear_sent();
	client_sends(3, "<iq from='" BOB "' to='localhost' type='fetch' "
			"id='b'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_error(only_stanza_to(3), "bad-request");
	clear_sent();
	client_sends(3, "<iq from='" BOB "' to='localhost' type='error' "
			"id='c'/>");
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

/* A payload the sm cannot parse (here what xml_serialize wrote for
 * <xml:g/> before it kept the prefix) is answered, never dropped. */
#define XML_AS_DEFAULT "<g xmlns='http://www.w3.org/XML/1998/namespace'/>"

START_TEST(unparsable_stanzas_are_answered)
{
	bind_session(3, BOB);
	client_sends(
		3,
		"<iq from='" BOB "' type='set' id='r1'><query xmlns="
		"'jabber:iq:roster'><item jid='alice@localhost'>" XML_AS_DEFAULT
		"</item></query></iq>");
	struct xml_node *e = only_stanza_to(3);
	assert_error(e, "internal-server-error");
	ck_assert_str_eq(xml_attr_get(e, "id"), "r1");
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='" ALICE1
			"' id='m1'>" XML_AS_DEFAULT "</message>");
	assert_error(only_stanza_to(3), "internal-server-error");
	clear_sent();
	client_sends(3, "<iq from='" BOB "' to='" ALICE1 "' type='result' "
			"id='r2'>" XML_AS_DEFAULT "</iq>");
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

START_TEST(iq_to_unknown_resource_is_service_unavailable)
{
	bind_session(1, ALICE1);
	bind_session(3, BOB);
	clear_sent();
	client_sends(3, "<iq from='" BOB "' to='alice@localhost/gone' "
			"type='get' id='v'><query xmlns='jabber:iq:version'/>"
			"</iq>");
	assert_error(only_stanza_to(3), "service-unavailable");
	clear_sent();
	client_sends(3, "<iq from='" BOB "' to='alice@localhost/gone' "
			"type='result' id='v'/>");
	ck_assert_uint_eq(nsent, 0);
	client_sends(3, "<iq from='" BOB "' to='" ALICE1 "' type='get' "
			"id='w'><query xmlns='jabber:iq:version'/></iq>");
	ck_assert_uint_eq(count_to_conn(1), 1);
}
END_TEST

START_TEST(disco_info_lists_enabled_features)
{
	bind_session(3, BOB);
	client_sends(3, "<iq from='" BOB "' to='localhost' type='get' "
			"id='d'><query xmlns='"
			"http://jabber.org/protocol/disco#info'/></iq>");
	struct xml_node *r = only_stanza_to(3);
	ck_assert_str_eq(xml_attr_get(r, "type"), "result");
	struct xml_node *q = xml_child(r, NS_DISCO_INFO, "query");
	ck_assert_ptr_nonnull(q);
	struct xml_node *id = xml_child(q, NS_DISCO_INFO, "identity");
	ck_assert_str_eq(xml_attr_get(id, "category"), "server");
	ck_assert_str_eq(xml_attr_get(id, "type"), "im");
	int n = 0, ping = 0;
	for (struct xml_node *f = xml_child(q, NS_DISCO_INFO, "feature"); f;
	     f = xml_next(f, NS_DISCO_INFO, "feature")) {
		n++;
		ping += strcmp(xml_attr_get(f, "var"), NS_PING) == 0;
	}
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(ping, 1);
}
END_TEST

START_TEST(disabled_module_is_neither_listed_nor_answering)
{
	sm_free(&sm);
	char *only_disco[] = {"disco"};
	start_sm_with(only_disco, 1, true);
	bind_session(3, BOB);
	clear_sent();
	client_sends(3, "<iq from='" BOB "' to='localhost' type='get' "
			"id='d'><query xmlns='"
			"http://jabber.org/protocol/disco#info'/></iq>");
	ck_assert_ptr_null(strstr(sent[0].payload, NS_PING));
	clear_sent();
	client_sends(3, "<iq from='" BOB "' to='localhost' type='get' "
			"id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_error(only_stanza_to(3), "service-unavailable");
}
END_TEST

START_TEST(disco_of_an_account_only_to_itself)
{
	bind_session(1, ALICE1);
	bind_session(3, BOB);
	clear_sent();
	client_sends(1, "<iq from='" ALICE1 "' to='alice@localhost' "
			"type='get' id='a'><query xmlns='" NS_DISCO_INFO
			"'/></iq>");
	struct xml_node *r = only_stanza_to(1);
	ck_assert_str_eq(xml_attr_get(r, "type"), "result");
	struct xml_node *id = xml_child(xml_child(r, NULL, "query"),
					NS_DISCO_INFO, "identity");
	ck_assert_str_eq(xml_attr_get(id, "category"), "account");
	client_sends(3, "<iq from='" BOB "' to='alice@localhost' "
			"type='get' id='b'><query xmlns='" NS_DISCO_INFO
			"'/></iq>");
	assert_error(only_stanza_to(3), "service-unavailable");
}
END_TEST

/* ------------------------------------------------------------ elsewhere */

START_TEST(sm_stanza_for_another_domain_goes_to_the_router)
{
	bind_session(3, BOB);
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='carol@remote.example'>"
			"<body>hi</body></message>");
	ck_assert_uint_eq(nsent, 1);
	ck_assert_int_eq(sent[0].type, FRAME_STANZA);
	ck_assert_str_eq(sent[0].to, "remote.example");
	ck_assert_uint_eq(sent[0].conn, 0);
	ck_assert_ptr_nonnull(strstr(sent[0].payload, "<body>hi</body>"));
	ck_assert_ptr_null(strstr(sent[0].payload, "xmlns"));
}
END_TEST

START_TEST(second_served_domain_is_local)
{
	bind_session(3, BOB);
	hand_frame(FRAME_SESSION_START, "c2s.1", 4, "example.org",
		   "dave@example.org/r");
	available(4, "dave@example.org/r", 0);
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='dave@example.org'>"
			"<body>hi</body></message>");
	ck_assert_uint_eq(count_to_conn(4), 1);
}
END_TEST

START_TEST(no_route_bounces_remote_server_not_found)
{
	bind_session(3, BOB);
	clear_sent();
	struct frame f = {.type = FRAME_NO_ROUTE, .flags = FRAME_STANZA};
	frame_set_to(&f, "remote.example");
	frame_set_from(&f, "sm");
	f.payload = "<message from='" BOB "' to='carol@remote.example' "
		    "id='z'><body>hi</body></message>";
	f.payload_len = strlen(f.payload);
	sm_handle_frame(&sm, &f);
	struct xml_node *e = only_stanza_to(3);
	assert_error(e, "remote-server-not-found");
	ck_assert_str_eq(xml_attr_get(e, "from"), "carol@remote.example");
	ck_assert_str_eq(xml_attr_get(e, "id"), "z");
}
END_TEST

/* ------------------------------------------------------------ modules */

static int calls;
static enum sm_verdict block_all(struct sm_event *ev, void *data)
{
	calls++;
	return SM_DONE;
}
static enum sm_verdict count_only(struct sm_event *ev, void *data)
{
	calls += 10;
	return SM_NEXT;
}

START_TEST(higher_priority_hook_can_stop_delivery)
{
	bind_session(1, ALICE1);
	bind_session(3, BOB);
	available(1, ALICE1, 0);
	calls = 0;
	sm_module_hook(&sm, SM_EV_STANZA_IN, NULL, 100, count_only, NULL);
	sm_module_hook(&sm, SM_EV_STANZA_IN, NULL, 50, block_all, NULL);
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='alice@localhost'>"
			"<body>hi</body></message>");
	ck_assert_int_eq(calls, 11);
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

START_TEST(offline_event_can_take_over_the_bounce)
{
	bind_session(3, BOB);
	calls = 0;
	sm_module_hook(&sm, SM_EV_MESSAGE_OFFLINE, NULL, 0, block_all, NULL);
	clear_sent();
	client_sends(3, "<message from='" BOB "' to='alice@localhost'>"
			"<body>hi</body></message>");
	ck_assert_int_eq(calls, 1);
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

static enum sm_verdict count_session_event(struct sm_event *ev, void *data)
{
	ck_assert_ptr_nonnull(ev->session);
	calls += ev->type == SM_EV_SESSION_STARTED ? 1 : 100;
	return SM_NEXT;
}

START_TEST(modules_hear_sessions_start_and_end)
{
	calls = 0;
	sm_module_hook(&sm, SM_EV_SESSION_STARTED, NULL, 0, count_session_event,
		       NULL);
	sm_module_hook(&sm, SM_EV_SESSION_ENDED, NULL, 0, count_session_event,
		       NULL);
	bind_session(1, ALICE1);
	bind_session(2, ALICE1); /* replaces the first */
	hand_frame(FRAME_SESSION_END, "c2s.1", 2, "localhost", "closed");
	ck_assert_int_eq(calls, 202);
}
END_TEST

/* A module's state ends with its sm (module.h's free): the roster's
 * slot number does not outlive it, so that a later sm without the
 * roster does not take another module's slot for a roster. */
START_TEST(module_state_ends_with_the_sm)
{
	static char *with_roster[] = {"roster"};
	static char *with_blocking[] = {"blocking"};
	sm_free(&sm);
	start_sm_with(with_roster, 1, true);
	bind_session(1, ALICE1);
	ck_assert_ptr_nonnull(sm_roster_of(
		sm_session_user_find(&sm.sessions, "alice@localhost")));
	clear_sent();
	sm_free(&sm);
	start_sm_with(with_blocking, 1, true);
	bind_session(1, ALICE1);
	struct user *u = sm_session_user_find(&sm.sessions, "alice@localhost");
	ck_assert_ptr_nonnull(u);
	ck_assert_ptr_null(sm_roster_of(u));
}
END_TEST

static void arena_teardown(void)
{
	arena_reset(&test_arena);
}

int main(void)
{
	log_init("test_sm", LOG_WARN);
	Suite *s = suite_create("sm");
	TCase *tc = tcase_create("sm");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_checked_fixture(tc, NULL, arena_teardown);
	tcase_add_test(tc, sm_session_start_is_confirmed);
	tcase_add_test(tc, resource_conflict_replaces_the_old_session);
	tcase_add_test(tc, resource_conflict_refuses_the_new_session);
	tcase_add_test(tc, sm_session_for_a_foreign_domain_is_refused);
	tcase_add_test(tc, end_of_available_session_tells_the_other_resources);
	tcase_add_test(tc, unbound_c2s_ends_all_its_sessions);
	tcase_add_test(tc, unbound_c2s_ends_only_its_own_sessions);
	tcase_add_test(tc, initial_presence_goes_to_own_resources_and_back);
	tcase_add_test(
		tc,
		presence_update_and_unavailable_are_addressed_to_each_resource);
	tcase_add_test(tc, presence_to_bare_jid_reaches_available_resources);
	tcase_add_test(tc, presence_to_unknown_resource_is_dropped);
	tcase_add_test(tc, unknown_presence_type_is_a_bad_request);
	tcase_add_test(tc, message_to_full_jid_reaches_that_resource);
	tcase_add_test(tc, message_to_bare_jid_goes_to_highest_priority);
	tcase_add_test(tc, message_to_bare_jid_goes_to_all_equal_best);
	tcase_add_test(tc, headline_goes_to_all_non_negative);
	tcase_add_test(tc, message_with_no_available_resource_bounces);
	tcase_add_test(tc, groupchat_to_bare_jid_is_refused);
	tcase_add_test(tc, message_to_unknown_resource_is_treated_as_bare);
	tcase_add_test(tc, error_message_is_never_answered);
	tcase_add_test(tc, message_without_to_goes_to_own_bare_jid);
	tcase_add_test(tc, ping_to_server_is_answered);
	tcase_add_test(tc, unknown_iq_namespace_is_service_unavailable);
	tcase_add_test(tc, malformed_iqs_are_bad_requests);
	tcase_add_test(tc, unparsable_stanzas_are_answered);
	tcase_add_test(tc, iq_to_unknown_resource_is_service_unavailable);
	tcase_add_test(tc, disco_info_lists_enabled_features);
	tcase_add_test(tc, disabled_module_is_neither_listed_nor_answering);
	tcase_add_test(tc, disco_of_an_account_only_to_itself);
	tcase_add_test(tc, sm_stanza_for_another_domain_goes_to_the_router);
	tcase_add_test(tc, second_served_domain_is_local);
	tcase_add_test(tc, no_route_bounces_remote_server_not_found);
	tcase_add_test(tc, higher_priority_hook_can_stop_delivery);
	tcase_add_test(tc, offline_event_can_take_over_the_bounce);
	tcase_add_test(tc, modules_hear_sessions_start_and_end);
	tcase_add_test(tc, module_state_ends_with_the_sm);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
