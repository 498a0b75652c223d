/* sm blocking: XEP-0191 Blocking Command, driven with frames as c2s would
 * send them, on a real storage (SQLite in a temporary directory) and a
 * real loop; checked on the frames the sm sends back and on the store.
 *
 * The Makefile links unit tests with libpalabre.a only (lib, auth,
 * storage), so the sm's files are compiled in here. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../lib/log.h"
#include "../../lib/xml.h"
#include "../../server/sm/roster.h"
#include "../../server/sm/route.h"
#include "../../server/sm/session.h"
#include "../../server/sm/sm.h"
#include "../../server/sm/stanza.h"
#include "../../server/sm/userdata.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"


/* ------------------------------------------------------------ harness */

struct sent {
	uint8_t type;
	char to[256];
	uint64_t conn;
	char *payload;
};

#define MAX_SENT 256
static struct sent sent[MAX_SENT];
static size_t nsent;
static struct sm sm;
static struct config cfg;
static char *modules_on[] = {"disco", "blocking"};
static char host1[] = "localhost", host2[] = "example.org";
static uv_loop_t loop;
static char dir[64], db[128];
static struct arena test_arena;

static int record(struct sm *s, const struct frame *f)
{
	ck_assert_uint_lt(nsent, MAX_SENT);
	struct sent *r = &sent[nsent++];
	r->type = f->type;
	snprintf(r->to, sizeof r->to, "%.*s", (int)f->to_len, f->to);
	r->conn = f->conn;
	r->payload = strndup(f->payload, f->payload_len);
	return 0;
}

static void clear_sent(void)
{
	for (size_t i = 0; i < nsent; i++)
		free(sent[i].payload);
	nsent = 0;
}

static void start_sm(void)
{
	char err[256];
	ck_assert_int_eq(sm_init(&sm, &cfg, "sm"), 0);
	sm.send = record;
	sm.loop = &loop;
	sm.storage = storage_open(&loop, db, err, sizeof err);
	ck_assert_msg(sm.storage != NULL, "storage_open: %s", err);
}

static void stop_sm(void)
{
	sm_free(&sm); /* closes the storage */
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
}

static void setup(void)
{
	strcpy(dir, "/tmp/palabre-blocking-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/sm.sqlite", dir);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	memset(&cfg, 0, sizeof cfg);
	cfg.hosts[0].domain = host1;
	cfg.hosts[1].domain = host2;
	cfg.nhosts = 2;
	for (size_t i = 0; i < 2; i++)
		cfg.modules[i] = modules_on[i];
	cfg.nmodules = 2;
	cfg.resource_conflict_replace = true;
	cfg.offline_quota = 1000;
	start_sm();
}

static void teardown(void)
{
	clear_sent();
	stop_sm();
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (int i = 0; i < 4; i++) {
		char p[160];
		snprintf(p, sizeof p, "%s%s", db, suffixes[i]);
		unlink(p);
	}
	rmdir(dir);
	arena_reset(&test_arena);
}

static void on_barrier(void *ctx, enum storage_status status)
{
	*(int *)ctx = 1;
}

/* Runs the loop until the storage and the held frames are quiet: a
 * barrier (an empty batch completes after every earlier request) until
 * nothing but the barrier itself went through. */
static void settle(void)
{
	for (;;) {
		struct storage_stats a, b;
		storage_get_stats(sm.storage, &a);
		int done = 0;
		struct storage_batch *batch = storage_batch_new(sm.storage);
		ck_assert_int_eq(storage_batch_commit(batch, on_barrier, &done),
				 0);
		struct sm_userdata_stats ud;
		sm_userdata_get_stats(&sm, &ud);
		while (!done || ud.works > 0) {
			uv_run(&loop, UV_RUN_ONCE);
			sm_userdata_get_stats(&sm, &ud);
		}
		storage_get_stats(sm.storage, &b);
		if (b.reads == a.reads && b.batches == a.batches + 1 &&
		    ud.held == 0)
			return;
	}
}

static void frame_in(uint8_t type, uint64_t conn, const char *payload)
{
	struct frame f = {.type = type, .conn = conn};
	frame_set_from(&f, "c2s.1");
	frame_set_to(&f, "localhost");
	f.payload = payload;
	f.payload_len = strlen(payload);
	sm_handle_frame(&sm, &f);
	settle();
}

static void bind_session(uint64_t conn, const char *jid)
{
	frame_in(FRAME_SESSION_START, conn, jid);
}

static void client_sends(uint64_t conn, const char *xml)
{
	frame_in(FRAME_STANZA, conn, xml);
}

static void available(uint64_t conn, const char *jid, int priority)
{
	char xml[512];
	snprintf(xml, sizeof xml,
		 "<presence from='%s'><priority>%d</priority></presence>",
		 jid, priority);
	client_sends(conn, xml);
}

struct stored {
	int done;
	size_t count;
	char keys[16][256];
};

static void on_loaded(void *ctx, enum storage_status status,
		      const struct storage_items *items)
{
	struct stored *s = ctx;
	ck_assert_int_eq(status, STORAGE_OK);
	s->count = items->count;
	for (size_t i = 0; i < items->count && i < 16; i++)
		snprintf(s->keys[i], sizeof s->keys[i], "%s",
			 items->items[i].key);
	s->done = 1;
}

/* The "blocklist" store of a user, as it is on disk. */
static struct stored *stored_for(const char *user)
{
	static struct stored s;
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(storage_load(sm.storage, user, "blocklist",
				      on_loaded, &s),
			 0);
	while (!s.done)
		uv_run(&loop, UV_RUN_ONCE);
	return &s;
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
		out[n] = xml_parse(&test_arena, sent[i].payload,
				   strlen(sent[i].payload), XML_NS_CLIENT);
		ck_assert_ptr_nonnull(out[n]);
		n++;
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
	block(1, ALICE1, "<item jid='Bob@LocalHost'/><item jid='example.org'/>");
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
	for (it = xml_child(l, NS_B, "item"); it; it = xml_next(it, NS_B, "item"))
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
	ck_assert_ptr_nonnull(xml_child(xml_child(r, NULL, "error"),
					NS_STANZAS, "bad-request"));
	clear_sent();
	block(1, ALICE1, "<item jid='ok@localhost'/><item jid='@bad'/>");
	r = only_stanza_to(1);
	ck_assert_ptr_nonnull(xml_child(xml_child(r, NULL, "error"),
					NS_STANZAS, "jid-malformed"));
	clear_sent();
	block(1, ALICE1, "<item/>");
	r = only_stanza_to(1);
	ck_assert_ptr_nonnull(xml_child(xml_child(r, NULL, "error"),
					NS_STANZAS, "jid-malformed"));
	ck_assert_uint_eq(stored_for("alice@localhost")->count, 0);
	clear_sent();
	client_sends(1, "<iq from='" ALICE1 "' type='get' id='x'><block "
			"xmlns='" NS_B "'><item jid='a@b'/></block></iq>");
	r = only_stanza_to(1);
	ck_assert_ptr_nonnull(xml_child(xml_child(r, NULL, "error"),
					NS_STANZAS, "bad-request"));
}
END_TEST

START_TEST(others_cannot_read_or_change_the_list)
{
	everyone_online();
	client_sends(3, "<iq from='" BOB "' to='alice@localhost' type='get' "
			"id='g'><blocklist xmlns='" NS_B "'/></iq>");
	struct xml_node *r = only_stanza_to(3);
	ck_assert_ptr_nonnull(xml_child(xml_child(r, NULL, "error"),
					NS_STANZAS, "service-unavailable"));
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
	block(1, ALICE1, "<item jid='bob@localhost'/><item jid='x@y'/>"
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
	ck_assert_ptr_nonnull(xml_child(xml_child(e, NULL, "error"),
					NS_STANZAS, "service-unavailable"));
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
	ck_assert_ptr_nonnull(xml_child(xml_child(e, NULL, "error"),
					NS_STANZAS, "service-unavailable"));
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
	ck_assert_ptr_nonnull(xml_child(xml_child(e, NULL, "error"),
					NS_STANZAS, "not-acceptable"));
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
	ck_assert_ptr_nonnull(xml_child(xml_child(e, NULL, "error"),
					NS_STANZAS, "service-unavailable"));
}
END_TEST

/* With the roster: presence goes only to those allowed to see it, and
 * the user's broadcasts skip a blocked contact. */
START_TEST(presence_follows_the_roster)
{
	stop_sm();
	static char *with_roster[] = {"roster", "presence", "blocking"};
	for (size_t i = 0; i < 3; i++)
		cfg.modules[i] = with_roster[i];
	cfg.nmodules = 3;
	start_sm();
	everyone_online();
	/* bob subscribes to alice, alice approves: bob is "from" */
	client_sends(3, "<presence from='" BOB "' to='alice@localhost' "
			"type='subscribe'/>");
	client_sends(1, "<presence from='" ALICE1 "' to='bob@localhost' "
			"type='subscribed'/>");
	clear_sent();
	block(1, ALICE1, "<item jid='bob@localhost'/><item jid='" CAROL
			 "'/>");
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
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, disco_lists_blocking);
	tcase_add_test(tc, empty_blocklist);
	tcase_add_test(tc, block_is_stored_listed_and_pushed_to_interested_resources);
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
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
