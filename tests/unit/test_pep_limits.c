/* pep limits: what one account, or one requester, may make the sm hold
 * (pep_node.c, pep_store.c, pep_notify.c, last.c), driven with frames
 * as c2s and s2s would send them, on a real storage where the bound is
 * on what waits for it. */

#include "../../lib/log.h"
#include "../../lib/xml.h"
#include "../../server/sm/sm.h"
#include "sm_harness.h"
#include "unit.h"
#include <check.h>
#include <stdio.h>
#include <string.h>

static char *hosts[] = {"localhost"};
static char *modules_on[] = {"roster", "presence", "caps", "pep", "last"};

static void setup(void)
{
	config_reset(hosts, 1, modules_on, 5);
	start_sm_recording();
	bind_session(1, "romeo@localhost/a");
}

static void teardown(void)
{
	clear_sent();
	sm_free(&sm);
	arena_reset(&test_arena);
}

static void setup_stored(void)
{
	make_temp_store("pep-limits");
	config_reset(hosts, 1, modules_on, 5);
	start_sm();
	bind_session(1, "romeo@localhost/a");
	bind_session(2, "juliet@localhost/b");
	clear_sent();
}

static size_t sent_with(const char *what)
{
	size_t n = 0;
	for (size_t i = 0; i < nsent; i++)
		if (sent[i].type == FRAME_STANZA &&
		    strstr(sent[i].payload, what))
			n++;
	return n;
}

/* Romeo's iq, handed over without waiting for the storage. */
static void romeo_sends_now(const char *fmt, unsigned i)
{
	char xml[2048];
	snprintf(xml, sizeof xml, fmt, i);
	hand_frame(FRAME_STANZA, "c2s.1", 1, "localhost", xml);
}

#define PUBLISH                                                                \
	"<iq from='romeo@localhost/a' type='set' id='p%u'><pubsub "            \
	"xmlns='http://jabber.org/protocol/pubsub'><publish node='n%u'>"       \
	"<item id='%s'><x xmlns='y'/></item></publish><publish-options><x "    \
	"xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"   \
	"http://jabber.org/protocol/pubsub#publish-options</value></field>"    \
	"<field var='pubsub#max_items'><value>max</value></field></x>"         \
	"</publish-options></pubsub></iq>"

/* Item ids of 1000 bytes: 256 nodes of 256 such items would make
 * Romeo's records 64 MB, more than the whole cache (PEP_CACHE_BYTES),
 * read again at each request. They stop at PEP_OWNER_BYTES_MAX, with
 * the text that says why, long before the quota. */
START_TEST(an_owner_s_records_stay_within_the_cache)
{
	char id[1001], xml[2048];
	unsigned i;
	for (i = 0; i < 4096; i++) {
		snprintf(id, sizeof id, "%0999u", i);
		snprintf(xml, sizeof xml, PUBLISH, i, i / 256, id);
		clear_sent();
		client_sends(1, xml);
		ck_assert_uint_eq(nsent, 1);
		if (strstr(sent[0].payload, "type='error'"))
			break;
	}
	ck_assert_uint_gt(i, 512);
	ck_assert_uint_lt(i, 1100);
	ck_assert_uint_eq(sent_with("policy-violation"), 1);
	ck_assert_uint_eq(sent_with("too many PEP items"), 1);
}
END_TEST

#define ITEMS                                                                  \
	"<iq from='romeo@localhost/a' type='get' id='i%u'><pubsub "            \
	"xmlns='http://jabber.org/protocol/pubsub'><items node='n'/>"          \
	"</pubsub></iq>"

/* ARCHITECTURE §9: requests that wait for Romeo's nodes to load are
 * bounded per owner (PEP_OWNER_QUEUE_MAX), past it resource-constraint
 * (wait), and the ones taken are all answered. */
START_TEST(requests_waiting_for_an_owner_are_bounded)
{
	for (unsigned i = 0; i < 70; i++)
		romeo_sends_now(ITEMS, i);
	ck_assert_uint_eq(sent_with("resource-constraint"), 6);
	settle();
	ck_assert_uint_eq(sent_with("item-not-found"), 64);
}
END_TEST

#define PUBLISH_ONE                                                            \
	"<iq from='romeo@localhost/a' type='set' id='p%u'><pubsub "            \
	"xmlns='http://jabber.org/protocol/pubsub'><publish node='n'>"         \
	"<item id='i%u'><x xmlns='y'/></item></publish></pubsub></iq>"

/* ... and so are the publishes waiting for the disk. */
START_TEST(publishes_waiting_for_the_disk_are_bounded)
{
	char xml[1024];
	snprintf(xml, sizeof xml, ITEMS, 0u);
	client_sends(1, xml); /* loads Romeo's nodes */
	clear_sent();
	for (unsigned i = 1; i <= 70; i++) {
		snprintf(xml, sizeof xml, PUBLISH_ONE, i, i);
		hand_frame(FRAME_STANZA, "c2s.1", 1, "localhost", xml);
	}
	ck_assert_uint_eq(sent_with("resource-constraint"), 6);
	settle();
	ck_assert_uint_eq(sent_with("type='result'"), 64);
}
END_TEST

#define LAST                                                                   \
	"<iq from='%s' type='get' id='l%u'><query "                            \
	"xmlns='jabber:iq:last'/></iq>"

/* XEP-0012 §3: reads of an offline user's last logout. One requester
 * cannot take them all: past LAST_READS_PER_USER of Romeo's in flight,
 * his wait; Juliet's still go. */
START_TEST(one_requester_cannot_take_every_last_activity_read)
{
	char xml[256];
	for (unsigned i = 0; i < 9; i++) {
		snprintf(xml, sizeof xml, LAST, "romeo@localhost/a", i);
		hand_frame(FRAME_STANZA, "c2s.1", 1, "localhost", xml);
	}
	ck_assert_uint_eq(sent_with("resource-constraint"), 1);
	snprintf(xml, sizeof xml, LAST, "juliet@localhost/b", 0u);
	hand_frame(FRAME_STANZA, "c2s.1", 2, "localhost", xml);
	ck_assert_uint_eq(sent_with("resource-constraint"), 1);
	settle();
	/* Nobody logged out yet (§3: item-not-found). */
	ck_assert_uint_eq(sent_with("item-not-found"), 9);
}
END_TEST

static bool caps_queried(const char *ver)
{
	char id[64];
	snprintf(id, sizeof id, "id='caps:%s'", ver);
	return sent_with(id) > 0;
}

static void remote_presence(const char *from, const char *ver)
{
	char xml[512];
	snprintf(xml, sizeof xml,
		 "<presence from='%s' to='romeo@localhost'><c "
		 "xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
		 "node='http://example.org' ver='%s'/></presence>",
		 from, ver);
	hand_frame(FRAME_STANZA, "s2s", 0, "localhost", xml);
	settle();
}

/* Romeo approves a remote contact's subscription: it hears of his
 * nodes (XEP-0163 §4, subscription from). */
static void remote_contact(const char *bare)
{
	char xml[512];
	snprintf(xml, sizeof xml,
		 "<presence from='%s' to='romeo@localhost' type='subscribe'/>",
		 bare);
	hand_frame(FRAME_STANZA, "s2s", 0, "localhost", xml);
	settle();
	snprintf(xml, sizeof xml,
		 "<presence from='romeo@localhost/a' to='%s' "
		 "type='subscribed'/>",
		 bare);
	client_sends(1, xml);
}

/* XEP-0163 §4: Romeo tracks his remote contacts' resources (at most
 * 256) to notify them; one contact's server announcing resource after
 * resource stops at PEP_REMOTES_PER_CONTACT (its caps not even asked
 * for), and another contact still gets in. */
START_TEST(one_remote_contact_cannot_fill_the_tracked_resources)
{
	remote_contact("eve@remote.example");
	remote_contact("bob@remote.example");
	available(1, "romeo@localhost/a", 0);
	clear_sent();
	char from[64], ver[32];
	for (unsigned i = 0; i <= 16; i++) {
		snprintf(from, sizeof from, "eve@remote.example/r%u", i);
		snprintf(ver, sizeof ver, "eve%08u=", i);
		remote_presence(from, ver);
		ck_assert(caps_queried(ver) == (i < 16));
	}
	remote_presence("bob@remote.example/r", "bob=");
	ck_assert(caps_queried("bob="));
}
END_TEST

int main(void)
{
	log_init("test_pep_limits", LOG_WARN);
	Suite *s = suite_create("pep_limits");
	TCase *mem = tcase_create("memory");
	tcase_add_checked_fixture(mem, setup, teardown);
	tcase_add_test(mem, an_owner_s_records_stay_within_the_cache);
	tcase_set_timeout(mem, 60);
	suite_add_tcase(s, mem);
	TCase *stored = tcase_create("stored");
	tcase_add_checked_fixture(stored, setup_stored, teardown_stored_sm);
	tcase_add_test(stored, requests_waiting_for_an_owner_are_bounded);
	tcase_add_test(stored, publishes_waiting_for_the_disk_are_bounded);
	tcase_add_test(stored,
		       one_requester_cannot_take_every_last_activity_read);
	tcase_add_test(stored,
		       one_remote_contact_cannot_fill_the_tracked_resources);
	suite_add_tcase(s, stored);
	return unit_run(s);
}
