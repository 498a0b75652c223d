/* sm: frames that wait for user data (userdata.c), per source, with
 * bounds that answer the sender (ARCHITECTURE.md §9), and account
 * checks in a lane per directory (lookup.c).
 *
 * The account check of domain slow.test blocks on a gate, on the worker
 * pool, until the test opens it: a directory that does not answer. The
 * tests read what the sm sent while the gate is shut, then open it. */
#include <check.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/xml.h"
#include "../../server/sm/sessions.h"
#include "../../server/sm/sm.h"
#include "../../server/sm/stanza.h"
#include "../../server/sm/userdata.h"
#include "sm_harness.h"
#include "unit.h"

static char *hosts[] = {"localhost", "slow.test"};

#define ALICE1 "alice@localhost/one"
#define ALICE2 "alice@localhost/two"
#define BOB1 "bob@localhost/one"
#define CAROL "carol@localhost"
#define CAROL1 CAROL "/one"
#define DAVE "dave@localhost"
#define DAVE1 DAVE "/one"

/* ------------------------------------------------------------ the gate */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int gate_blocked; /* checks waiting at the gate */

static enum auth_user_status
gated_user_exists(const struct config *c, const char *domain, const char *local)
{
	if (strcmp(domain, "slow.test") == 0) {
		pthread_mutex_lock(&gate_lock);
		gate_blocked++;
		while (!gate_open)
			pthread_cond_wait(&gate_cond, &gate_lock);
		gate_blocked--;
		pthread_mutex_unlock(&gate_lock);
	}
	return AUTH_USER_EXISTS;
}

static int blocked(void)
{
	pthread_mutex_lock(&gate_lock);
	int n = gate_blocked;
	pthread_mutex_unlock(&gate_lock);
	return n;
}

static void open_gate(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

/* Runs the loop until cond() or 5 s; returns cond(). */
static bool run_until(bool (*cond)(void))
{
	for (int i = 0; i < 5000 && !cond(); i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	return cond();
}

static bool two_blocked(void)
{
	return blocked() == 2;
}

static bool one_blocked(void)
{
	return blocked() == 1;
}

/* ------------------------------------------------------------ fixture */

static void setup(void)
{
	make_temp_store("queue");
	config_reset(hosts, 2, NULL, 0);
	account_check = gated_user_exists;
	gate_open = false;
	start_sm();
}

static void teardown(void)
{
	open_gate();
	teardown_stored_sm();
}

/* A session with available presence, on c2s.1 connection conn. */
static void login(uint64_t conn, const char *jid)
{
	bind_session(conn, jid);
	available_no_priority(conn, jid);
}

/* A stanza from conn, handed without waiting for anything. */
static void sends(uint64_t conn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sends(uint64_t conn, const char *fmt, ...)
{
	char xml[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(xml, sizeof xml, fmt, ap);
	va_end(ap);
	hand_frame(FRAME_STANZA, "c2s.1", conn, "localhost", xml);
}

/* The index in sent[] of the stanza with id that went to conn, or -1. */
static int sent_index(uint64_t conn, const char *id)
{
	for (size_t i = 0; i < nsent; i++) {
		if (sent[i].type != FRAME_STANZA || sent[i].conn != conn)
			continue;
		const char *v = xml_attr_get(parse_sent(&sent[i]), "id");
		if (v && strcmp(v, id) == 0)
			return (int)i;
	}
	return -1;
}

static void assert_wait_error(uint64_t conn, const char *id, const char *kind)
{
	int i = sent_index(conn, id);
	ck_assert_msg(i >= 0, "no answer to %s", id);
	struct xml_node *n = parse_sent(&sent[i]);
	ck_assert_str_eq(n->name, kind);
	ck_assert_str_eq(xml_attr_get(n, "type"), "error");
	struct xml_node *e = xml_child(n, XML_NS_CLIENT, "error");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(xml_child(e, NS_STANZAS, "resource-constraint"));
	ck_assert_str_eq(xml_attr_get(e, "type"), "wait");
}

static struct sm_userdata_stats stats(void)
{
	struct sm_userdata_stats st;
	sm_userdata_get_stats(&sm, &st);
	return st;
}

/* ------------------------------------------------------------ tests */

/* Alice writes to a user whose directory does not answer; Bob's
 * message to Carol, loaded, goes at once. */
START_TEST(a_stanza_waits_only_behind_its_own_source)
{
	login(1, ALICE1);
	login(2, BOB1);
	login(3, CAROL1);
	clear_sent();
	sends(1, "<message from='" ALICE1 "' to='s1@slow.test' id='a'/>");
	ck_assert(run_until(one_blocked));
	sends(2, "<message from='" BOB1 "' to='" CAROL "' id='b'/>");
	ck_assert_int_ge(sent_index(3, "b"), 0);
	ck_assert_uint_eq(stats().held, 1);
}
END_TEST

/* RFC 6120 §10.1: in order per sender. */
START_TEST(a_sources_frames_keep_their_order)
{
	login(1, ALICE1);
	login(2, BOB1);
	clear_sent();
	sends(1, "<iq type='get' from='" ALICE1 "' to='s1@slow.test' "
		 "id='q1'><ping xmlns='urn:xmpp:ping'/></iq>");
	sends(1, "<message from='" ALICE1 "' to='bob@localhost' id='m2'/>");
	ck_assert(run_until(one_blocked));
	ck_assert_int_lt(sent_index(2, "m2"), 0);
	open_gate();
	settle();
	int q1 = sent_index(1, "q1"), m2 = sent_index(2, "m2");
	ck_assert_int_ge(q1, 0);
	ck_assert_int_gt(m2, q1);
}
END_TEST

/* Federated stanzas wait per sending domain: one remote server's stanza
 * for a user whose directory does not answer holds that server's next
 * ones (whatever their sender), not another server's. */
START_TEST(federated_stanzas_wait_per_domain)
{
	login(3, CAROL1);
	clear_sent();
	hand_frame(FRAME_STANZA, "s2s", 0, "localhost",
		   "<message from='r1@remote.example/x' to='s1@slow.test' "
		   "id='r1a'/>");
	ck_assert(run_until(one_blocked));
	hand_frame(FRAME_STANZA, "s2s", 0, "localhost",
		   "<message from='r1@remote.example/y' to='" CAROL1 "' "
		   "id='r1b'/>");
	hand_frame(FRAME_STANZA, "s2s", 0, "localhost",
		   "<message from='r2@remote.example/x' to='" CAROL1 "' "
		   "id='r2'/>");
	hand_frame(FRAME_STANZA, "s2s", 0, "localhost",
		   "<message from='o1@other.example/x' to='" CAROL1 "' "
		   "id='o1'/>");
	ck_assert_int_lt(sent_index(3, "r1b"), 0);
	ck_assert_int_lt(sent_index(3, "r2"), 0);
	ck_assert_int_ge(sent_index(3, "o1"), 0);
	open_gate();
	settle();
	ck_assert_int_ge(sent_index(3, "r1b"), 0);
	ck_assert_int_gt(sent_index(3, "r2"), sent_index(3, "r1b"));
}
END_TEST

/* Stanzas the server makes for a user not in memory wait in that user's
 * queue within its bounds, like any source's: past them they are
 * refused, and the sm's other users never meet the global bound. */
START_TEST(server_stanzas_for_a_user_keep_its_bounds)
{
	for (int i = 0; i < USERDATA_SOURCE_FRAMES + 10; i++) {
		struct xml_node *m =
			xml_node_new(&sm.arena, XML_NS_CLIENT, "message");
		struct stanza st;
		ck_assert_ptr_nonnull(m);
		ck_assert_int_eq(
			xml_set_attr(&sm.arena, m, "from", "localhost"), 0);
		ck_assert_int_eq(
			xml_set_attr(&sm.arena, m, "to", "s1@slow.test"), 0);
		ck_assert_int_eq(sm_stanza_init(&st, &sm.arena, m), 0);
		sm_userdata_defer(&sm, &st, "s1@slow.test");
		arena_reset(&sm.arena);
	}
	struct sm_userdata_stats stats;
	sm_userdata_get_stats(&sm, &stats);
	ck_assert_uint_eq(stats.held, USERDATA_SOURCE_FRAMES);
	ck_assert_uint_eq(stats.refused, 10);
	open_gate();
	settle();
}
END_TEST

/* Alice sends directed presence to many users not in memory: only the
 * first few load; past the bound her stanzas get resource-constraint
 * (type wait), a new session of hers is refused, and the others go on. */
START_TEST(a_flooding_source_is_answered_past_its_bound)
{
	login(1, ALICE1);
	login(2, BOB1);
	login(3, CAROL1);
	clear_sent();
	for (int i = 0; i < USERDATA_SOURCE_FRAMES; i++)
		sends(1, "<presence from='" ALICE1 "' to='u%d@slow.test'/>", i);
	ck_assert(run_until(two_blocked));
	ck_assert_uint_eq(stats().held, USERDATA_SOURCE_FRAMES);
	ck_assert_uint_le(stats().works, USERDATA_LOADS_AHEAD);
	ck_assert_uint_eq(nsent, 0);

	sends(1, "<message from='" ALICE1 "' to='x@slow.test' id='m'/>");
	assert_wait_error(1, "m", "message");
	sends(1, "<iq type='get' from='" ALICE1 "' to='x@slow.test' "
		 "id='q'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_wait_error(1, "q", "iq");
	sends(1, "<presence from='" ALICE1 "' to='x@slow.test' id='p'/>");
	assert_wait_error(1, "p", "presence");
	/* RFC 6120 §8.2.3, §8.3.1: results and errors are not answered */
	size_t before = nsent;
	sends(1, "<iq type='result' from='" ALICE1 "' to='x@slow.test' "
		 "id='r'/>");
	sends(1, "<message type='error' from='" ALICE1 "' to='x@slow.test' "
		 "id='e'/>");
	ck_assert_uint_eq(nsent, before);
	ck_assert_uint_eq(stats().refused, 5);

	hand_frame(FRAME_SESSION_START, "c2s.1", 9, "localhost", ALICE2);
	ck_assert_int_eq(sent[nsent - 1].type, FRAME_SESSION_END);
	ck_assert_uint_eq(sent[nsent - 1].conn, 9);
	ck_assert_str_eq(sent[nsent - 1].payload, "resource-constraint");

	sends(2, "<message from='" BOB1 "' to='" CAROL "' id='b'/>");
	ck_assert_int_ge(sent_index(3, "b"), 0);

	open_gate();
	settle();
	ck_assert_uint_eq(stats().held, 0);
	ck_assert_uint_eq(stats().held_bytes, 0);
}
END_TEST

/* Dave leaves while a stanza of his waits: his session ends for the
 * others at once (no ghost that takes his messages), and goes once the
 * stanza is handled. */
START_TEST(session_end_ends_a_session_whose_stanzas_wait)
{
	login(2, BOB1);
	login(4, DAVE1);
	sends(4, "<iq type='get' from='" DAVE1 "' to='s1@slow.test' "
		 "id='d'><ping xmlns='urn:xmpp:ping'/></iq>");
	ck_assert(run_until(one_blocked));
	clear_sent();
	hand_frame(FRAME_SESSION_END, "c2s.1", 4, "localhost", "");
	sends(2, "<message from='" BOB1 "' to='" DAVE1 "' id='full'/>");
	sends(2, "<message from='" BOB1 "' to='" DAVE "' id='bare'/>");
	/* no resource of Dave's is available: Bob hears so at once */
	ck_assert_int_lt(sent_index(4, "full"), 0);
	ck_assert_int_lt(sent_index(4, "bare"), 0);
	ck_assert_int_ge(sent_index(2, "full"), 0);
	ck_assert_int_ge(sent_index(2, "bare"), 0);
	ck_assert_uint_eq(stats().held, 2); /* the iq, the end */
	open_gate();
	settle();
	ck_assert_ptr_null(sm_session_find_conn(&sm.sessions, "c2s.1", 5, 4));
}
END_TEST

/* The same past the bound: a SESSION_END is never refused. */
START_TEST(session_end_is_held_past_the_bound)
{
	login(1, ALICE1);
	for (int i = 0; i < USERDATA_SOURCE_FRAMES + 10; i++)
		sends(1, "<presence from='" ALICE1 "' to='u%d@slow.test'/>", i);
	ck_assert(run_until(two_blocked));
	hand_frame(FRAME_SESSION_END, "c2s.1", 1, "localhost", "");
	ck_assert_uint_eq(stats().held, USERDATA_SOURCE_FRAMES + 1);
	open_gate();
	settle();
	ck_assert_uint_eq(sm.sessions.conns.count, 0);
}
END_TEST

/* A session starts for an account c2s authenticated: its load asks no
 * directory, even one that does not answer. */
START_TEST(a_session_start_checks_no_account)
{
	hand_frame(FRAME_SESSION_START, "c2s.1", 5, "localhost",
		   "erin@slow.test/x");
	settle();
	ck_assert_int_eq(blocked(), 0);
	ck_assert_uint_eq(sm.sessions.conns.count, 1);
}
END_TEST

/* A client that leaves while its session waits for its user's data (a
 * load that a stanza to that user started, its check hung). */
START_TEST(session_end_of_a_held_session_start)
{
	login(2, BOB1);
	sends(2, "<message from='" BOB1 "' to='erin@slow.test' id='b'/>");
	ck_assert(run_until(one_blocked));
	hand_frame(FRAME_SESSION_START, "c2s.1", 5, "localhost",
		   "erin@slow.test/x");
	hand_frame(FRAME_SESSION_END, "c2s.1", 5, "localhost", "");
	open_gate();
	settle();
	ck_assert_uint_eq(sm.sessions.conns.count, 1); /* bob's */
	struct user *erin =
		sm_session_user_find(&sm.sessions, "erin@slow.test");
	ck_assert(!erin || !erin->sessions);
}
END_TEST

/* A c2s that goes away ends every session of it, those whose stanzas
 * wait included, and those whose start waits. */
START_TEST(unbound_c2s_ends_sessions_whose_frames_wait)
{
	login(2, BOB1);
	login(4, DAVE1);
	sends(4, "<message from='" DAVE1 "' to='s1@slow.test' id='d'/>");
	sends(2, "<message from='" BOB1 "' to='erin@slow.test' id='b'/>");
	ck_assert(run_until(two_blocked));
	hand_frame(FRAME_SESSION_START, "c2s.1", 5, "localhost",
		   "erin@slow.test/x");
	hand_frame(FRAME_UNBOUND, "router", 0, "c2s.1", "");
	struct user *u = sm_session_user_find(&sm.sessions, DAVE);
	ck_assert(u && u->sessions && u->sessions->ending);
	ck_assert(!sm_session_available(u->sessions));
	open_gate();
	settle();
	ck_assert_uint_eq(sm.sessions.conns.count, 0);
}
END_TEST

/* Six users write to users of a directory that does not answer; a
 * local user's login still loads at once: the directory's checks run
 * two at a time and leave the rest of the worker pool to others. */
static bool gus_is_bound(void)
{
	for (size_t i = 0; i < nsent; i++)
		if (sent[i].type == FRAME_SESSION_OK && sent[i].conn == 7)
			return true;
	return false;
}

START_TEST(a_hung_directory_does_not_hold_local_account_checks)
{
	static struct config_ldap dir = {.id = "slow"};
	cfg.directories[0] = dir;
	cfg.ndirectories = 1;
	cfg.hosts[1].auth_backend = "ldap";
	cfg.hosts[1].directory = 0;
	const char *users[] = {"alice", "bob",  "carol",
			       "dave",  "erin", "frank"};
	for (int i = 0; i < 6; i++) {
		char jid[64];
		snprintf(jid, sizeof jid, "%s@localhost/one", users[i]);
		login((uint64_t)i + 1, jid);
	}
	for (int i = 0; i < 6; i++)
		sends((uint64_t)i + 1,
		      "<message from='%s@localhost/one' to='s%d@slow.test'/>",
		      users[i], i);
	ck_assert(run_until(two_blocked));
	usleep(100 * 1000);
	ck_assert_int_eq(blocked(), 2);
	ck_assert_uint_eq(stats().works, 6);
	hand_frame(FRAME_SESSION_START, "c2s.1", 7, "localhost",
		   "gus@localhost/x");
	ck_assert(run_until(gus_is_bound));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sm_queue");
	TCase *tc = tcase_create("queue");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_stanza_waits_only_behind_its_own_source);
	tcase_add_test(tc, a_sources_frames_keep_their_order);
	tcase_add_test(tc, federated_stanzas_wait_per_domain);
	tcase_add_test(tc, server_stanzas_for_a_user_keep_its_bounds);
	tcase_add_test(tc, a_flooding_source_is_answered_past_its_bound);
	tcase_add_test(tc, session_end_ends_a_session_whose_stanzas_wait);
	tcase_add_test(tc, session_end_is_held_past_the_bound);
	tcase_add_test(tc, a_session_start_checks_no_account);
	tcase_add_test(tc, session_end_of_a_held_session_start);
	tcase_add_test(tc, unbound_c2s_ends_sessions_whose_frames_wait);
	tcase_add_test(tc, a_hung_directory_does_not_hold_local_account_checks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
