/* sm multicast: FRAME_MULTICAST, a room's stanza for several local
 * occupants in one frame (server/sm/multicast.c): each recipient gets
 * its copy with its own 'to' as if it had come alone, block lists
 * apply, a session gone makes an error for the room (RFC 6121
 * §8.5.3.2.1), a malformed frame is dropped whole. */

#include "../../lib/multicast.h"
#include "../../lib/xml.h"
#include "../../server/sm/sm.h"
#include "sm_harness.h"
#include "unit.h"
#include <check.h>
#include <stdio.h>
#include <string.h>

static char *hosts[] = {"localhost"};
static char *modules_on[] = {"roster", "presence", "disco", "blocking"};

#define ROOM "hall@conference.localhost"
#define ALICE "alice@localhost/one"
#define BOB "bob@localhost/home"
#define GONE "carol@localhost/gone"
#define MESSAGE                                                                \
	"<message type='groupchat' from='" ROOM "/romeo' id='g1'>"             \
	"<body>Hi all</body></message>"

static void setup(void)
{
	make_temp_store("multicast");
	config_reset(hosts, 1, modules_on, 4);
	start_sm();
	bind_session(1, ALICE);
	available(1, ALICE, 0);
	bind_session(2, BOB);
	available(2, BOB, 0);
	clear_sent();
}

static void multicast_in(const char *const *to, const char *stanza)
{
	struct buf b = BUF_INIT;
	ck_assert_int_eq(multicast_begin(&b), 0);
	for (; *to; to++)
		ck_assert_int_eq(multicast_add(&b, *to), 0);
	ck_assert_int_eq(multicast_finish(&b, stanza, strlen(stanza)), 0);
	struct frame f = {.type = FRAME_MULTICAST,
			  .payload = b.data,
			  .payload_len = b.len};
	frame_set_from(&f, "muc");
	frame_set_to(&f, "localhost");
	sm_handle_frame(&sm, &f);
	settle();
	buf_free(&b);
}

/* The one stanza that went to conn, or NULL. */
static struct xml_node *stanza_to(uint64_t conn)
{
	struct xml_node *found = NULL;
	for (size_t i = 0; i < nsent; i++)
		if (sent[i].type == FRAME_STANZA && sent[i].conn == conn) {
			ck_assert_ptr_null(found);
			found = parse_sent(&sent[i]);
		}
	return found;
}

START_TEST(each_recipient_gets_its_copy)
{
	static const char *const to[] = {ALICE, BOB, NULL};
	multicast_in(to, MESSAGE);
	struct xml_node *a = stanza_to(1), *b = stanza_to(2);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(xml_attr_get(a, "to"), ALICE);
	ck_assert_str_eq(xml_attr_get(b, "to"), BOB);
	ck_assert_str_eq(xml_attr_get(b, "from"), ROOM "/romeo");
	ck_assert_str_eq(xml_text(&test_arena, xml_child(b, NULL, "body")),
			 "Hi all");
}
END_TEST

/* RFC 6121 §8.5.3.2.1: a groupchat message to a full JID without a
 * session is an error for its sender, here the room. */
START_TEST(a_session_gone_is_an_error_for_the_room)
{
	static const char *const to[] = {GONE, BOB, NULL};
	multicast_in(to, MESSAGE);
	ck_assert_ptr_nonnull(stanza_to(2));
	struct xml_node *e = NULL;
	for (size_t i = 0; i < nsent; i++)
		if (strcmp(sent[i].to, "conference.localhost") == 0)
			e = parse_sent(&sent[i]);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(xml_attr_get(e, "type"), "error");
	ck_assert_str_eq(xml_attr_get(e, "to"), ROOM "/romeo");
	ck_assert_str_eq(xml_attr_get(e, "from"), GONE);
}
END_TEST

/* XEP-0191: a user who blocked the room gets nothing of it. */
START_TEST(a_block_list_applies_to_each)
{
	frame_in(FRAME_STANZA, 1,
		 "<iq from='" ALICE "' type='set' id='b1'>"
		 "<block xmlns='urn:xmpp:blocking'><item jid='" ROOM "'/>"
		 "</block></iq>");
	clear_sent();
	static const char *const to[] = {ALICE, BOB, NULL};
	multicast_in(to, MESSAGE);
	ck_assert_ptr_null(stanza_to(1));
	ck_assert_ptr_nonnull(stanza_to(2));
}
END_TEST

START_TEST(a_malformed_frame_is_dropped_whole)
{
	/* the count says 3 recipients, 2 follow */
	static const char payload[] = "\0\0\0\3" ALICE "\0" BOB "\0" MESSAGE;
	struct frame f = {.type = FRAME_MULTICAST,
			  .payload = payload,
			  .payload_len = sizeof payload - 1};
	frame_set_from(&f, "muc");
	frame_set_to(&f, "localhost");
	sm_handle_frame(&sm, &f);
	settle();
	ck_assert_uint_eq(nsent, 0);
	/* a stanza with a 'to' of its own is no multicast either */
	static const char *const to[] = {ALICE, NULL};
	multicast_in(to, "<message type='groupchat' from='" ROOM
			 "/romeo' to='" BOB "'><body>x</body></message>");
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sm multicast");
	TCase *tc = tcase_create("multicast");
	tcase_add_checked_fixture(tc, setup, teardown_stored_sm);
	tcase_add_test(tc, each_recipient_gets_its_copy);
	tcase_add_test(tc, a_session_gone_is_an_error_for_the_room);
	tcase_add_test(tc, a_block_list_applies_to_each);
	tcase_add_test(tc, a_malformed_frame_is_dropped_whole);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
