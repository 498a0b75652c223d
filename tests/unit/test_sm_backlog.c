/* sm: backpressure from the router link (send.c). The link is a
 * recorder that can refuse frames as a full link does; nothing is lost:
 * refused frames wait, in order, reading stops, and all goes out at
 * the drain; past the backlog's cap, messages and iqs from local users
 * bounce with resource-constraint, the rest is dropped. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../lib/xml.h"
#include "../../server/sm/sessions.h"
#include "../../server/sm/sm.h"
#include "../../server/sm/stanza.h"
#include "sm_harness.h"
#include "unit.h"

/* ------------------------------------------------------------ harness */

static char *hosts[] = {"localhost"};
static char *modules_on[] = {"disco", "ping"};

/* The link: full while `full`; reading as the sm last asked. */
static bool full;
static size_t refused;
static bool reading = true;
static unsigned pauses, resumes;

static int record(struct sm *s, const struct frame *f)
{
	if (full) {
		refused++;
		return SM_SEND_FULL;
	}
	return record_sent(s, f);
}

static void set_reading(struct sm *s, bool on)
{
	if (on && !reading)
		resumes++;
	if (!on && reading)
		pauses++;
	reading = on;
}

static void setup(void)
{
	config_reset(hosts, 1, modules_on, 2);
	start_sm_recording();
	sm.send = record;
	sm.set_reading = set_reading;
	full = false;
	refused = 0;
	reading = true;
	pauses = resumes = 0;
}

static void teardown(void)
{
	clear_sent();
	sm_free(&sm);
	arena_reset(&test_arena);
}

#define ALICE "alice@localhost/one"
#define BOB "bob@localhost/home"

/* Bob (conn 3) and Alice (conn 1), both available; nothing recorded. */
static void two_users(void)
{
	bind_session(1, ALICE);
	bind_session(3, BOB);
	available_no_priority(1, ALICE);
	available_no_priority(3, BOB);
	clear_sent();
}

static void bob_says(const char *id, const char *body)
{
	char *xml;
	ck_assert_int_ge(asprintf(&xml,
				  "<message from='" BOB "' to='" ALICE "' "
				  "id='%s' type='chat'><body>%s</body>"
				  "</message>",
				  id, body),
			 0);
	client_sends(3, xml);
	free(xml);
}

/* ------------------------------------------------------------ tests */

START_TEST(refused_frames_wait_and_go_out_in_order_at_the_drain)
{
	two_users();
	full = true;
	bob_says("m1", "one");
	bob_says("m2", "two");
	ck_assert_uint_eq(nsent, 0);
	ck_assert_uint_eq(refused, 1); /* the second queued behind at once */
	ck_assert_uint_gt(sm_send_backlog(&sm), 0);
	ck_assert(!reading);
	ck_assert_uint_eq(pauses, 1);

	full = false;
	sm_send_drained(&sm);
	ck_assert_uint_eq(nsent, 2);
	ck_assert_str_eq(xml_attr_get(parse_sent(&sent[0]), "id"), "m1");
	ck_assert_str_eq(xml_attr_get(parse_sent(&sent[1]), "id"), "m2");
	ck_assert_uint_eq(sent[0].conn, 1);
	ck_assert_str_eq(sent[0].to, "c2s.1");
	ck_assert_uint_eq(sm_send_backlog(&sm), 0);
	ck_assert(reading);
	ck_assert_uint_eq(resumes, 1);
}
END_TEST

/* Once a frame waits, later ones queue behind it even if the link
 * would take them: a SESSION_OK never overtakes a stanza, nor a stanza
 * another. */
START_TEST(nothing_overtakes_the_backlog)
{
	two_users();
	full = true;
	bob_says("m1", "one");
	full = false;
	bind_session(2, "alice@localhost/two");
	bob_says("m2", "two");
	ck_assert_uint_eq(nsent, 0);
	sm_send_drained(&sm);
	ck_assert_uint_eq(nsent, 3);
	ck_assert_int_eq(sent[0].type, FRAME_STANZA);
	ck_assert_int_eq(sent[1].type, FRAME_SESSION_OK);
	ck_assert_uint_eq(sent[1].conn, 2);
	ck_assert_str_eq(xml_attr_get(parse_sent(&sent[2]), "id"), "m2");
}
END_TEST

/* A drain that the link cuts short keeps the rest, in order, and
 * reading stays stopped. */
static size_t accept_then_refuse;
static int record_some(struct sm *s, const struct frame *f)
{
	if (accept_then_refuse == 0)
		return SM_SEND_FULL;
	accept_then_refuse--;
	return record(s, f);
}

START_TEST(a_partial_drain_keeps_the_rest)
{
	two_users();
	full = true;
	bob_says("m1", "one");
	bob_says("m2", "two");
	bob_says("m3", "three");
	full = false;
	sm.send = record_some;
	accept_then_refuse = 1;
	sm_send_drained(&sm);
	ck_assert_uint_eq(nsent, 1);
	ck_assert(!reading);
	ck_assert_uint_gt(sm_send_backlog(&sm), 0);
	sm.send = record;
	sm_send_drained(&sm);
	ck_assert_uint_eq(nsent, 3);
	ck_assert_str_eq(xml_attr_get(parse_sent(&sent[0]), "id"), "m1");
	ck_assert_str_eq(xml_attr_get(parse_sent(&sent[1]), "id"), "m2");
	ck_assert_str_eq(xml_attr_get(parse_sent(&sent[2]), "id"), "m3");
	ck_assert(reading);
}
END_TEST

#define BIG (256u << 10)
static char *big_body(void)
{
	char *b = malloc(BIG + 1);
	ck_assert_ptr_nonnull(b);
	memset(b, 'x', BIG);
	b[BIG] = '\0';
	return b;
}

/* Fills the backlog to the brim: big messages from Bob to Alice, then
 * small ones until one no longer fits and bounces. Returns how many
 * wait; the room left is less than a small message. */
static size_t fill_backlog(void)
{
	char *body = big_body();
	size_t n = 0;
	full = true;
	while (sm_send_backlog(&sm) + BIG + 512 <= SM_BACKLOG_MAX) {
		char id[16];
		snprintf(id, sizeof id, "fill%zu", n++);
		bob_says(id, body);
	}
	/* one message that leaves less than 1 KiB */
	size_t room = SM_BACKLOG_MAX - sm_send_backlog(&sm);
	body[room - 1024] = '\0';
	bob_says("middle", body);
	n++;
	free(body);
	while (sm.backlog_bounced == 0) {
		char id[16];
		snprintf(id, sizeof id, "small%zu", n++);
		bob_says(id, "x");
	}
	ck_assert_uint_le(sm_send_backlog(&sm),
			  SM_BACKLOG_MAX + SM_BACKLOG_BOUNCES);
	return n - 1;
}

/* A stanza of Bob's, padded past the room the backlog has left. */
static void bob_sends_padded(const char *fmt)
{
	char pad[512];
	memset(pad, 'p', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	char *xml;
	ck_assert_int_ge(asprintf(&xml, fmt, pad), 0);
	client_sends(3, xml);
	free(xml);
}

/* RFC 6120 §8.3.3.18: past the cap, a message or an iq request from a
 * local user comes back to it with resource-constraint; an error, a
 * presence or an iq result is dropped. What waited goes out first. */
START_TEST(past_the_cap_messages_and_iqs_bounce_the_rest_is_dropped)
{
	two_users();
	size_t filled = fill_backlog();
	bob_sends_padded("<message from='" BOB "' to='" ALICE "' id='over' "
			 "type='chat'><body>%s</body></message>");
	bob_sends_padded("<iq from='" BOB "' to='" ALICE "' id='q1' "
			 "type='get'><query xmlns='urn:example:x'>%s</query>"
			 "</iq>");
	bob_sends_padded("<message from='" BOB "' to='" ALICE "' id='e1' "
			 "type='error'><body>%s</body><error type='cancel'>"
			 "<undefined-condition xmlns='" NS_STANZAS
			 "'/></error></message>");
	bob_sends_padded("<presence from='" BOB "' to='" ALICE "'>"
			 "<status>%s</status></presence>");
	bob_sends_padded("<iq from='" BOB "' to='" ALICE "' id='r1' "
			 "type='result'><query xmlns='urn:example:x'>%s"
			 "</query></iq>");
	ck_assert_uint_eq(sm.backlog_bounced, 3); /* with the last filler */
	ck_assert_uint_eq(sm.backlog_dropped, 3);
	ck_assert_uint_le(sm_send_backlog(&sm),
			  SM_BACKLOG_MAX + SM_BACKLOG_BOUNCES);

	full = false;
	sm_send_drained(&sm);
	ck_assert_uint_eq(nsent, filled + 3);
	for (size_t i = 0; i < filled; i++)
		ck_assert_uint_eq(sent[i].conn, 1);
	/* the bounces, to Bob, from their recipient, in order */
	for (size_t i = filled; i < filled + 3; i++) {
		ck_assert_uint_eq(sent[i].conn, 3);
		struct xml_node *n = parse_sent(&sent[i]);
		ck_assert_str_eq(xml_attr_get(n, "type"), "error");
		ck_assert_str_eq(xml_attr_get(n, "to"), BOB);
		ck_assert_str_eq(xml_attr_get(n, "from"), ALICE);
		struct xml_node *e = xml_child(n, XML_NS_CLIENT, "error");
		ck_assert_ptr_nonnull(e);
		ck_assert_str_eq(xml_attr_get(e, "type"), "wait");
		ck_assert_ptr_nonnull(
			xml_child(e, NS_STANZAS, "resource-constraint"));
	}
	ck_assert_str_eq(parse_sent(&sent[filled + 1])->name, "message");
	ck_assert_str_eq(xml_attr_get(parse_sent(&sent[filled + 1]), "id"),
			 "over");
	ck_assert_str_eq(parse_sent(&sent[filled + 2])->name, "iq");
	ck_assert_str_eq(xml_attr_get(parse_sent(&sent[filled + 2]), "id"),
			 "q1");
	ck_assert_uint_eq(sm.backlog_bounced + sm.backlog_dropped, 0);
	ck_assert(reading);
}
END_TEST

/* A stanza from elsewhere (no local sender) past the cap: dropped. */
START_TEST(past_the_cap_a_remote_senders_stanza_is_dropped)
{
	two_users();
	size_t filled = fill_backlog();
	const char *xml = "<message from='juliet@remote.example/x' to='" ALICE
			  "' id='r1'><body>hello, this does not fit</body>"
			  "</message>";
	struct frame f = {.type = FRAME_STANZA};
	frame_set_from(&f, "s2s");
	frame_set_to(&f, "localhost");
	f.payload = xml;
	f.payload_len = strlen(xml);
	sm_handle_frame(&sm, &f);
	ck_assert_uint_eq(sm.backlog_dropped, 1);
	ck_assert_uint_eq(sm.backlog_bounced, 1); /* the last filler */
	full = false;
	sm_send_drained(&sm);
	ck_assert_uint_eq(nsent, filled + 1);
	ck_assert_uint_eq(sent[filled].conn, 3);
}
END_TEST

/* Session control frames always wait, even past the cap. */
START_TEST(past_the_cap_session_frames_still_wait)
{
	two_users();
	size_t filled = fill_backlog();
	bind_session(2, "alice@localhost/two");
	full = false;
	sm_send_drained(&sm);
	ck_assert_uint_eq(nsent, filled + 2);
	ck_assert_int_eq(sent[filled + 1].type, FRAME_SESSION_OK);
	ck_assert_uint_eq(sent[filled + 1].conn, 2);
}
END_TEST

int main(void)
{
	log_init("test_sm_backlog", LOG_ERROR);
	Suite *s = suite_create("sm_backlog");
	TCase *tc = tcase_create("backlog");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
		       refused_frames_wait_and_go_out_in_order_at_the_drain);
	tcase_add_test(tc, nothing_overtakes_the_backlog);
	tcase_add_test(tc, a_partial_drain_keeps_the_rest);
	tcase_add_test(
		tc, past_the_cap_messages_and_iqs_bounce_the_rest_is_dropped);
	tcase_add_test(tc, past_the_cap_a_remote_senders_stanza_is_dropped);
	tcase_add_test(tc, past_the_cap_session_frames_still_wait);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
