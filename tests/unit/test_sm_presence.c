/* sm roster and presence: RFC 6121 §2 (rosters), §3 and Appendix A
 * (subscriptions), §4 (presence), driven with frames as c2s would send
 * them, on a real storage (SQLite in a temporary directory) and a real
 * loop; checked on the frames the sm sends back, the in-memory roster
 * and, after a restart, the stored one. */

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

/* ------------------------------------------------------------ harness */

static char *hosts[] = {"localhost"};
static char *modules_on[] = {"roster", "presence"};

#define ALICE "alice@localhost"
#define BOB "bob@localhost"
#define CAROL "carol@localhost"
#define ALICE1 ALICE "/one"
#define ALICE2 ALICE "/two"
#define BOB1 BOB "/one"
#define CAROL1 CAROL "/one"

/* The account check, on the worker pool like auth_user_exists: every
 * account exists but nobody@. */
static enum auth_user_status
fake_user_exists(const struct config *c, const char *domain, const char *local)
{
	return strcmp(local, "nobody") == 0 ? AUTH_USER_UNKNOWN
					    : AUTH_USER_EXISTS;
}

static void setup(void)
{
	make_temp_store("presence");
	config_reset(hosts, 1, modules_on, 2);
	cfg.resource_conflict_replace = true;
	account_check = fake_user_exists;
	start_sm();
}

static void frame_from(const char *c2s, uint8_t type, uint64_t conn,
		       const char *payload, bool wait)
{
	hand_frame(type, c2s, conn, "localhost", payload);
	if (wait)
		settle();
}

static void clientf(uint64_t conn, const char *fmt, const char *a,
		    const char *b)
{
	char xml[1024];
	snprintf(xml, sizeof xml, fmt, a, b);
	client_sends(conn, xml);
}

static void client_roster_get(uint64_t conn, const char *jid)
{
	clientf(conn,
		"<iq type='get' id='g1' from='%s'><query xmlns='"
		"jabber:iq:roster'/>%s</iq>",
		jid, "");
}

/* A session that asked for the roster and is available. */
static void login(uint64_t conn, const char *jid)
{
	bind_session(conn, jid);
	client_roster_get(conn, jid);
	available_no_priority(conn, jid);
}

/* Stanzas that went to conn with element name `name`, in order. */
static size_t stanzas_to(uint64_t conn, const char *name, struct xml_node **out,
			 size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < nsent && n < max; i++) {
		if (sent[i].type != FRAME_STANZA || sent[i].conn != conn ||
		    strncmp(sent[i].to, "c2s.", 4) != 0)
			continue;
		struct xml_node *x = parse_sent(&sent[i]);
		if (strcmp(x->name, name) == 0)
			out[n++] = x;
	}
	return n;
}

static const char *attr(struct xml_node *x, const char *name)
{
	const char *v = xml_attr_get(x, name);
	return v ? v : "";
}

/* Presence of type (``: available) from `from` that went to conn. */
static size_t presence_count(uint64_t conn, const char *type, const char *from)
{
	struct xml_node *p[MAX_SENT];
	size_t n = stanzas_to(conn, "presence", p, MAX_SENT), count = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(attr(p[i], "type"), type) == 0 &&
		    (!from || strcmp(attr(p[i], "from"), from) == 0))
			count++;
	return count;
}

/* The roster pushes about jid that went to conn; *last: the item of the
 * last one. */
static size_t pushes(uint64_t conn, const char *jid, struct xml_node **last)
{
	struct xml_node *iq[MAX_SENT];
	size_t n = stanzas_to(conn, "iq", iq, MAX_SENT), count = 0;
	for (size_t i = 0; i < n; i++) {
		struct xml_node *q = xml_child(iq[i], NS_ROSTER, "query");
		struct xml_node *it =
			q ? xml_child(q, NS_ROSTER, "item") : NULL;
		if (strcmp(attr(iq[i], "type"), "set") != 0 || !it ||
		    strcmp(attr(it, "jid"), jid) != 0)
			continue;
		ck_assert_str_ne(attr(q, "ver"), "");
		if (last)
			*last = it;
		count++;
	}
	return count;
}

/* The one iq result or error that went to conn. */
static struct xml_node *reply_to(uint64_t conn)
{
	struct xml_node *iq[MAX_SENT], *r = NULL;
	size_t n = stanzas_to(conn, "iq", iq, MAX_SENT), count = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(attr(iq[i], "type"), "set") != 0) {
			r = iq[i];
			count++;
		}
	ck_assert_uint_eq(count, 1);
	return r;
}

static void assert_error(struct xml_node *n, const char *condition)
{
	ck_assert_str_eq(attr(n, "type"), "error");
	struct xml_node *e = xml_child(n, XML_NS_CLIENT, "error");
	ck_assert_ptr_nonnull(e);
	ck_assert_msg(xml_child(e, NS_STANZAS, condition) != NULL,
		      "expected %s", condition);
}

static struct roster_item *item_of(const char *user, const char *contact)
{
	struct user *u = sm_userdata_user(&sm, user);
	ck_assert_ptr_nonnull(u);
	return sm_roster_find(sm_roster_of(u), contact);
}

/* ------------------------------------------------------------ Appendix A */

enum state {
	NONE,
	NONE_OUT,
	NONE_IN,
	NONE_OUT_IN,
	TO,
	TO_IN,
	FROM,
	FROM_OUT,
	BOTH,
	NSTATES,
	SAME = NSTATES
};
static const char *const state_names[] = {
	"None", "None+PendingOut", "None+PendingIn", "None+PendingOut/In",
	"To",   "To+PendingIn",    "From",           "From+PendingOut",
	"Both"};
/* subscription bits, pending out, pending in */
static const struct {
	unsigned sub;
	bool out, in;
} state_def[] = {{0, 0, 0},
		 {0, 1, 0},
		 {0, 0, 1},
		 {0, 1, 1},
		 {ROSTER_SUB_TO, 0, 0},
		 {ROSTER_SUB_TO, 0, 1},
		 {ROSTER_SUB_FROM, 0, 0},
		 {ROSTER_SUB_FROM, 1, 0},
		 {3, 0, 0}};
static const enum state mirror[] = {
	NONE, NONE_IN, NONE_OUT, NONE_OUT_IN, FROM, FROM_OUT, TO, TO_IN, BOTH};

enum event { SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBED, UNSUBSCRIBED, NEVENTS };
static const char *const event_names[] = {"subscribe", "unsubscribe",
					  "subscribed", "unsubscribed"};

struct cell {
	bool pass; /* outbound: routed; inbound: delivered to the user */
	enum state next;
};

/* RFC 6121 A.2 (the user's server, outbound), by event then state. With
 * pre-approval (§3.4), subscribed in None, None+Out and To is recorded
 * (approved) and not routed. */
static const struct cell outbound[NEVENTS][NSTATES] = {
	[SUBSCRIBE] = {{1, NONE_OUT},
		       {1, SAME},
		       {1, NONE_OUT_IN},
		       {1, SAME},
		       {1, SAME},
		       {1, SAME},
		       {1, FROM_OUT},
		       {1, SAME},
		       {1, SAME}},
	[UNSUBSCRIBE] = {{1, SAME},
			 {1, NONE},
			 {1, SAME},
			 {1, NONE_IN},
			 {1, NONE},
			 {1, NONE_IN},
			 {1, SAME},
			 {1, FROM},
			 {1, FROM}},
	[SUBSCRIBED] = {{0, SAME},
			{0, SAME},
			{1, FROM},
			{1, FROM_OUT},
			{0, SAME},
			{1, BOTH},
			{0, SAME},
			{0, SAME},
			{0, SAME}},
	/* routed always here (harmless when nothing changes) */
	[UNSUBSCRIBED] = {{1, SAME},
			  {1, SAME},
			  {1, NONE},
			  {1, NONE_OUT},
			  {1, SAME},
			  {1, TO},
			  {1, NONE},
			  {1, NONE_OUT},
			  {1, TO}},
};

/* RFC 6121 A.3 (the contact's server, inbound). */
static const struct cell inbound[NEVENTS][NSTATES] = {
	[SUBSCRIBE] = {{1, NONE_IN},
		       {1, NONE_OUT_IN},
		       {0, SAME},
		       {0, SAME},
		       {1, TO_IN},
		       {0, SAME},
		       {0, SAME},
		       {0, SAME},
		       {0, SAME}},
	[UNSUBSCRIBE] = {{0, SAME},
			 {0, SAME},
			 {1, NONE},
			 {1, NONE_OUT},
			 {0, SAME},
			 {1, TO},
			 {1, NONE},
			 {1, NONE_OUT},
			 {1, TO}},
	[SUBSCRIBED] = {{0, SAME},
			{1, TO},
			{0, SAME},
			{1, TO_IN},
			{0, SAME},
			{0, SAME},
			{0, SAME},
			{1, BOTH},
			{0, SAME}},
	[UNSUBSCRIBED] = {{0, SAME},
			  {1, NONE},
			  {0, SAME},
			  {1, NONE_IN},
			  {1, NONE},
			  {1, NONE_IN},
			  {0, SAME},
			  {1, FROM},
			  {1, FROM}},
};

/* How alice's item for bob reaches each state: who sends what. */
struct step {
	bool by_bob;
	enum event ev;
};
static const struct step way_to[NSTATES][4] = {
	[NONE] = {{0}},
	[NONE_OUT] = {{0, SUBSCRIBE}},
	[NONE_IN] = {{1, SUBSCRIBE}},
	[NONE_OUT_IN] = {{0, SUBSCRIBE}, {1, SUBSCRIBE}},
	[TO] = {{0, SUBSCRIBE}, {1, SUBSCRIBED}},
	[TO_IN] = {{0, SUBSCRIBE}, {1, SUBSCRIBED}, {1, SUBSCRIBE}},
	[FROM] = {{1, SUBSCRIBE}, {0, SUBSCRIBED}},
	[FROM_OUT] = {{1, SUBSCRIBE}, {0, SUBSCRIBED}, {0, SUBSCRIBE}},
	[BOTH] = {{1, SUBSCRIBE},
		  {0, SUBSCRIBED},
		  {0, SUBSCRIBE},
		  {1, SUBSCRIBED}},
};
static const size_t way_len[NSTATES] = {0, 1, 1, 2, 2, 3, 2, 3, 4};

static void send_subscription(bool by_bob, enum event ev)
{
	char xml[256];
	snprintf(xml, sizeof xml, "<presence from='%s' to='%s' type='%s'/>",
		 by_bob ? BOB1 : ALICE1, by_bob ? ALICE : BOB, event_names[ev]);
	client_sends(by_bob ? 2 : 1, xml);
}

/* The state of user's item for contact, NSTATES when none fits. */
static enum state state_of(const char *user, const char *contact)
{
	struct roster_item *it = item_of(user, contact);
	unsigned sub = it ? it->sub : 0;
	bool out = it && it->ask, in = it && it->pending_in;
	for (int s = 0; s < NSTATES; s++)
		if (state_def[s].sub == sub && state_def[s].out == out &&
		    state_def[s].in == in)
			return (enum state)s;
	return NSTATES;
}

/* What a roster shows: subscription and ask. */
static void assert_shows(struct xml_node *item, enum state s)
{
	static const char *const subs[] = {"none", "to", "from", "both"};
	ck_assert_str_eq(attr(item, "subscription"), subs[state_def[s].sub]);
	ck_assert_str_eq(attr(item, "ask"),
			 state_def[s].out ? "subscribe" : "");
}

static bool same_view(enum state a, enum state b)
{
	return state_def[a].sub == state_def[b].sub &&
	       state_def[a].out == state_def[b].out;
}

static bool receives_presence(enum state s)
{
	return state_def[s].sub & ROSTER_SUB_TO;
}

/* One row: alice's item for bob is in `state`; alice (outbound) or bob
 * (inbound for alice) sends `ev`. */
static void appendix_a_row(enum state state, bool by_bob, enum event ev)
{
	login(1, ALICE1);
	login(2, BOB1);
	clientf(1,
		"<iq type='set' id='s1' from='%s'><query xmlns='jabber:iq:"
		"roster'><item jid='%s'/></query></iq>",
		ALICE1, BOB);
	for (size_t i = 0; i < way_len[state]; i++)
		send_subscription(way_to[state][i].by_bob, way_to[state][i].ev);
	ck_assert_int_eq(state_of(ALICE, BOB), state);
	ck_assert_int_eq(state_of(BOB, ALICE), mirror[state]);
	clear_sent();

	/* sender's state s, receiver's mirror(s) */
	enum state s = by_bob ? mirror[state] : state;
	struct cell out = outbound[ev][s];
	enum state s_new = out.next == SAME ? s : out.next;
	enum state r_old = mirror[s], r_new = r_old;
	bool delivered = false;
	if (out.pass) {
		struct cell in = inbound[ev][r_old];
		r_new = in.next == SAME ? r_old : in.next;
		delivered = in.pass;
		ck_assert_int_eq(r_new, mirror[s_new]); /* the tables agree */
	}
	send_subscription(by_bob, ev);

	enum state alice_old = state, alice_new = by_bob ? r_new : s_new;
	const char *what = event_names[ev];
	ck_assert_msg(state_of(ALICE, BOB) == alice_new,
		      "%s %s in %s: alice's state %s, expected %s",
		      by_bob ? "inbound" : "outbound", what, state_names[state],
		      state_names[state_of(ALICE, BOB)],
		      state_names[alice_new]);
	ck_assert_int_eq(state_of(BOB, ALICE), mirror[alice_new]);

	/* delivered exactly when the tables say, from the bare JID */
	uint64_t receiver = by_bob ? 1 : 2;
	const char *sender_bare = by_bob ? BOB : ALICE;
	ck_assert_msg(presence_count(receiver, what, sender_bare) ==
			      (delivered ? 1u : 0u),
		      "%s %s in %s: delivered %zu",
		      by_bob ? "inbound" : "outbound", what, state_names[state],
		      presence_count(receiver, what, sender_bare));
	/* nothing else of the subscription kind went either way */
	for (int e = 0; e < NEVENTS; e++) {
		size_t to_alice = presence_count(1, event_names[e], BOB);
		size_t to_bob = presence_count(2, event_names[e], ALICE);
		size_t expected_alice = by_bob && (int)ev == e && delivered;
		size_t expected_bob = !by_bob && (int)ev == e && delivered;
		ck_assert_uint_eq(to_alice, expected_alice);
		ck_assert_uint_eq(to_bob, expected_bob);
	}

	/* pushes: one at least when what alice's roster shows changed,
	 * and the last shows the new state */
	struct xml_node *last = NULL;
	size_t n = pushes(1, BOB, &last);
	bool pre_approval = !by_bob && ev == SUBSCRIBED &&
			    (s == NONE || s == NONE_OUT || s == TO);
	if (!same_view(alice_old, alice_new) || pre_approval)
		ck_assert_uint_ge(n, 1);
	else
		ck_assert_uint_eq(n, 0);
	if (last)
		assert_shows(last, alice_new);
	if (pre_approval) {
		ck_assert_str_eq(attr(last, "approved"), "true");
		ck_assert(item_of(ALICE, BOB)->approved);
	}

	/* presence that the change brings to alice (§3.1.5, §3.2.2,
	 * §3.3.3): bob's current presence when she gains "to", his
	 * unavailable when she loses it */
	bool before = receives_presence(alice_old),
	     after = receives_presence(alice_new);
	ck_assert_uint_eq(presence_count(1, "", BOB1), !before && after);
	ck_assert_uint_eq(presence_count(1, "unavailable", BOB1),
			  before && !after);
}

START_TEST(appendix_a)
{
	/* _i: state × event × direction */
	enum state state = (enum state)(_i % NSTATES);
	enum event ev = (enum event)((_i / NSTATES) % NEVENTS);
	bool by_bob = _i / (NSTATES * NEVENTS);
	appendix_a_row(state, by_bob, ev);
}
END_TEST

/* Each state of A.1 is stored: the same after a restart. */
START_TEST(every_state_survives_a_restart)
{
	enum state state = (enum state)_i;
	login(1, ALICE1);
	login(2, BOB1);
	for (size_t i = 0; i < way_len[state]; i++)
		send_subscription(way_to[state][i].by_bob, way_to[state][i].ev);
	ck_assert_int_eq(state_of(ALICE, BOB), state);
	clear_sent();
	stop_sm();
	start_sm();
	login(1, ALICE1);
	login(2, BOB1);
	ck_assert_int_eq(state_of(ALICE, BOB), state);
	ck_assert_int_eq(state_of(BOB, ALICE), mirror[state]);
}
END_TEST

/* ------------------------------------------------------------ rosters */

START_TEST(roster_set_is_answered_after_the_write_and_pushed)
{
	login(1, ALICE1);
	bind_session(3, ALICE2); /* not interested: no push */
	clear_sent();
	frame_from("c2s.1", FRAME_STANZA, 1,
		   "<iq type='set' id='s1' from='" ALICE1 "'><query xmlns='"
		   "jabber:iq:roster'><item jid='" BOB "' name='Bob'><group>"
		   "Friends</group></item></query></iq>",
		   false);
	ck_assert_uint_eq(nsent, 0); /* nothing before it is durable */
	settle();
	ck_assert_str_eq(attr(reply_to(1), "type"), "result");
	struct xml_node *item;
	ck_assert_uint_eq(pushes(1, BOB, &item), 1);
	ck_assert_str_eq(attr(item, "name"), "Bob");
	ck_assert_str_eq(attr(item, "subscription"), "none");
	ck_assert_uint_eq(pushes(3, BOB, NULL), 0);
	/* and it is stored */
	stop_sm();
	start_sm();
	login(1, ALICE1);
	struct roster_item *it = item_of(ALICE, BOB);
	ck_assert_ptr_nonnull(it);
	ck_assert_str_eq(it->name, "Bob");
	ck_assert_uint_eq(it->ngroups, 1);
	ck_assert_str_eq(it->groups[0], "Friends");
}
END_TEST

START_TEST(roster_get_with_the_current_version_is_empty)
{
	login(1, ALICE1);
	clientf(1,
		"<iq type='set' id='s1' from='%s'><query xmlns='jabber:iq:"
		"roster'><item jid='%s'/></query></iq>",
		ALICE1, BOB);
	struct xml_node *item;
	clear_sent();
	client_roster_get(1, ALICE1);
	struct xml_node *r = reply_to(1);
	struct xml_node *q = xml_child(r, NS_ROSTER, "query");
	ck_assert_ptr_nonnull(q);
	char ver[32];
	snprintf(ver, sizeof ver, "%s", attr(q, "ver"));
	ck_assert_str_ne(ver, "");
	ck_assert_ptr_nonnull(xml_child(q, NS_ROSTER, "item"));
	clear_sent();
	clientf(1,
		"<iq type='get' id='g2' from='%s'><query xmlns='jabber:iq:"
		"roster' ver='%s'/></iq>",
		ALICE1, ver);
	r = reply_to(1);
	ck_assert_str_eq(attr(r, "type"), "result");
	ck_assert_ptr_null(xml_child(r, NULL, NULL));
	/* a change: the push brings the next version */
	clear_sent();
	clientf(1,
		"<iq type='set' id='s2' from='%s'><query xmlns='jabber:iq:"
		"roster'><item jid='%s' name='B'/></query></iq>",
		ALICE1, BOB);
	ck_assert_uint_eq(pushes(1, BOB, &item), 1);
	struct xml_node *iq[4];
	ck_assert_uint_ge(stanzas_to(1, "iq", iq, 4), 1);
	clear_sent();
	clientf(1,
		"<iq type='get' id='g3' from='%s'><query xmlns='jabber:iq:"
		"roster' ver='%s'/></iq>",
		ALICE1, ver);
	q = xml_child(reply_to(1), NS_ROSTER, "query");
	ck_assert_ptr_nonnull(q); /* old version: the whole roster */
	ck_assert_str_ne(attr(q, "ver"), ver);
}
END_TEST

static void set_error(const char *item_xml, const char *condition)
{
	char xml[8192];
	snprintf(xml, sizeof xml,
		 "<iq type='set' id='e' from='" ALICE1 "'><query xmlns='"
		 "jabber:iq:roster'>%s</query></iq>",
		 item_xml);
	clear_sent();
	client_sends(1, xml);
	assert_error(reply_to(1), condition);
	ck_assert_uint_eq(pushes(1, BOB, NULL), 0);
}

START_TEST(roster_set_errors)
{
	login(1, ALICE1);
	/* RFC 6121 §2.3.3 */
	set_error("<item jid='" BOB "'/><item jid='" CAROL "'/>",
		  "bad-request");
	set_error("<item name='x'/>", "bad-request");
	set_error("<item jid='a@b@c'/>", "jid-malformed");
	set_error("<item jid='" BOB "'><group>a</group><group>a</group></item>",
		  "bad-request");
	set_error("<item jid='" BOB "'><group></group></item>",
		  "not-acceptable");
	set_error("<item jid='" ALICE "'/>", "not-allowed");
	char many[4096] = "<item jid='" BOB "'>";
	for (int i = 0; i < ROSTER_MAX_GROUPS + 1; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many),
			 "<group>g%d</group>", i);
	strcat(many, "</item>");
	set_error(many, "policy-violation");
	char name[2048];
	memset(name, 'n', ROSTER_MAX_TEXT + 1);
	name[ROSTER_MAX_TEXT + 1] = '\0';
	char long_name[4096];
	snprintf(long_name, sizeof long_name, "<item jid='%s' name='%s'/>", BOB,
		 name);
	set_error(long_name, "not-acceptable");
	set_error("<item jid='" BOB "' subscription='remove'/>",
		  "item-not-found");
	ck_assert_ptr_null(item_of(ALICE, BOB));
}
END_TEST

START_TEST(another_users_roster_is_forbidden)
{
	login(1, ALICE1);
	login(2, BOB1);
	clear_sent();
	client_sends(2, "<iq type='get' id='x' from='" BOB1 "' to='" ALICE
			"'><query xmlns='jabber:iq:roster'/></iq>");
	assert_error(reply_to(2), "forbidden");
}
END_TEST

START_TEST(items_per_roster_are_limited)
{
	login(1, ALICE1);
	struct user *u = sm_userdata_user(&sm, ALICE);
	struct roster *r = sm_roster_of(u);
	r->shown = ROSTER_MAX_ITEMS; /* as if full */
	set_error("<item jid='" BOB "'/>", "policy-violation");
}
END_TEST

/* ------------------------------------------------------------ presence */

static void befriend(void)
{
	send_subscription(false, SUBSCRIBE);
	send_subscription(true, SUBSCRIBED);
	send_subscription(true, SUBSCRIBE);
	send_subscription(false, SUBSCRIBED);
	ck_assert_int_eq(state_of(ALICE, BOB), BOTH);
}

START_TEST(pending_request_is_delivered_at_the_next_login)
{
	login(2, BOB1);
	clientf(2, "<presence from='%s' to='%s' type='subscribe'/>", BOB1,
		ALICE);
	stop_sm(); /* and it is stored */
	start_sm();
	bind_session(1, ALICE1);
	ck_assert_uint_eq(presence_count(1, "subscribe", BOB), 0);
	available_no_priority(1, ALICE1);
	ck_assert_uint_eq(presence_count(1, "subscribe", BOB), 1);
	/* a request is not a roster item (RFC 6121 §3.1.3) */
	ck_assert(!item_of(ALICE, BOB)->shown);
}
END_TEST

START_TEST(initial_presence_probes_and_broadcasts)
{
	login(1, ALICE1);
	login(2, BOB1);
	befriend();
	clear_sent();
	/* alice's second resource comes */
	bind_session(3, ALICE2);
	available_no_priority(3, ALICE2);
	/* it learns bob's presence (probe answered, §4.3.2) */
	ck_assert_uint_eq(presence_count(3, "", BOB1), 1);
	/* bob learns its presence (§4.2.2) */
	ck_assert_uint_eq(presence_count(2, "", ALICE2), 1);
	/* an update goes to bob (§4.4.2) */
	clear_sent();
	client_sends(3, "<presence from='" ALICE2
			"'><show>away</show></presence>");
	ck_assert_uint_eq(presence_count(2, "", ALICE2), 1);
	/* unavailable (§4.5.2) */
	clear_sent();
	client_sends(3, "<presence from='" ALICE2 "' type='unavailable'/>");
	ck_assert_uint_eq(presence_count(2, "unavailable", ALICE2), 1);
}
END_TEST

/* §4.3.2: a probe from someone not subscribed gets unsubscribed, which
 * repairs the prober's side: here bob believes he has "to". */
START_TEST(probe_from_a_stranger_gets_unsubscribed)
{
	login(1, ALICE1);
	login(2, BOB1);
	struct roster_item *it =
		sm_roster_get(sm_roster_of(sm_userdata_user(&sm, BOB)), ALICE);
	it->sub = ROSTER_SUB_TO;
	it->shown = true;
	clear_sent();
	client_sends(2,
		     "<presence from='" BOB1 "' to='" ALICE "' type='probe'/>");
	ck_assert_uint_eq(presence_count(2, "unsubscribed", ALICE), 1);
	ck_assert_uint_eq(presence_count(2, "", NULL), 0);
	ck_assert_int_eq(state_of(BOB, ALICE), NONE);
	ck_assert_uint_eq(pushes(2, ALICE, NULL), 1);
}
END_TEST

START_TEST(probe_of_an_offline_contact_gets_unavailable)
{
	login(1, ALICE1);
	login(2, BOB1);
	befriend();
	frame_in(FRAME_SESSION_END, 2, "closed");
	clear_sent();
	bind_session(3, ALICE2);
	available_no_priority(3, ALICE2);
	ck_assert_uint_eq(presence_count(3, "unavailable", BOB), 1);
}
END_TEST

START_TEST(directed_presence_gets_unavailable_at_logout)
{
	login(1, ALICE1);
	login(4, CAROL1);
	clear_sent();
	client_sends(1, "<presence from='" ALICE1 "' to='" CAROL1 "'/>");
	ck_assert_uint_eq(presence_count(4, "", ALICE1), 1);
	clear_sent();
	frame_in(FRAME_SESSION_END, 1, "closed");
	ck_assert_uint_eq(presence_count(4, "unavailable", ALICE1), 1);
}
END_TEST

START_TEST(a_c2s_gone_means_unavailable_to_contacts)
{
	login(1, ALICE1);
	login(2, BOB1);
	befriend();
	/* alice on a second c2s */
	frame_from("c2s.2", FRAME_SESSION_START, 7, ALICE2, true);
	frame_from("c2s.2", FRAME_STANZA, 7, "<presence from='" ALICE2 "'/>",
		   true);
	clear_sent();
	struct frame f = {.type = FRAME_UNBOUND};
	frame_set_from(&f, "router");
	frame_set_to(&f, "c2s.2");
	f.payload = "";
	sm_handle_frame(&sm, &f);
	settle();
	ck_assert_uint_eq(presence_count(2, "unavailable", ALICE2), 1);
	ck_assert_uint_eq(presence_count(1, "unavailable", ALICE2), 1);
}
END_TEST

START_TEST(removing_a_contact_cancels_both_ways)
{
	login(1, ALICE1);
	login(2, BOB1);
	befriend();
	clear_sent();
	clientf(1,
		"<iq type='set' id='r' from='%s'><query xmlns='jabber:iq:"
		"roster'><item jid='%s' subscription='remove'/></query></iq>",
		ALICE1, BOB);
	struct xml_node *item;
	ck_assert_uint_eq(pushes(1, BOB, &item), 1);
	ck_assert_str_eq(attr(item, "subscription"), "remove");
	ck_assert_uint_eq(presence_count(2, "unsubscribe", ALICE), 1);
	ck_assert_uint_eq(presence_count(2, "unsubscribed", ALICE), 1);
	ck_assert_uint_eq(presence_count(2, "unavailable", ALICE1), 1);
	ck_assert_ptr_null(item_of(ALICE, BOB));
	ck_assert_int_eq(state_of(BOB, ALICE), NONE);
}
END_TEST

/* ------------------------------------------------------------ §8.5.1 */

START_TEST(no_such_user)
{
	login(1, ALICE1);
	clear_sent();
	client_sends(1, "<message from='" ALICE1 "' to='nobody@localhost' "
			"id='m'><body>hi</body></message>");
	struct xml_node *m[4];
	ck_assert_uint_eq(stanzas_to(1, "message", m, 4), 1);
	assert_error(m[0], "service-unavailable");
	clear_sent();
	client_sends(1, "<presence from='" ALICE1 "' to='nobody@localhost' "
			"type='subscribe'/>");
	ck_assert_uint_eq(presence_count(1, "unsubscribed", "nobody@localhost"),
			  1);
	clear_sent();
	client_sends(1, "<iq from='" ALICE1 "' to='nobody@localhost' id='v' "
			"type='get'><query xmlns='jabber:iq:version'/></iq>");
	assert_error(reply_to(1), "service-unavailable");
	clear_sent();
	client_sends(1, "<presence from='" ALICE1 "' to='nobody@localhost'/>");
	ck_assert_uint_eq(nsent, 0);
}
END_TEST

/* Stanzas wait for their user's data in arrival order. */
START_TEST(held_stanzas_keep_their_order)
{
	login(1, ALICE1);
	clear_sent();
	for (int i = 0; i < 5; i++) {
		char xml[256];
		snprintf(xml, sizeof xml,
			 "<iq type='get' id='q%d' from='%s' to='%s'><ping "
			 "xmlns='urn:xmpp:ping'/></iq>",
			 i, ALICE1, i % 2 ? "nobody@localhost" : BOB);
		frame_from("c2s.1", FRAME_STANZA, 1, xml, false);
	}
	settle();
	struct xml_node *iq[8];
	ck_assert_uint_eq(stanzas_to(1, "iq", iq, 8), 5);
	for (int i = 0; i < 5; i++) {
		char id[8];
		snprintf(id, sizeof id, "q%d", i);
		ck_assert_str_eq(attr(iq[i], "id"), id);
	}
}
END_TEST

/* Offline users loaded for stanzas stay in a bounded cache. */
START_TEST(offline_users_cache_is_bounded)
{
	login(1, ALICE1);
	for (int i = 0; i < USERDATA_CACHE + 50; i++) {
		char xml[256];
		snprintf(xml, sizeof xml,
			 "<iq type='get' id='c%d' from='%s' to='u%d@localhost'>"
			 "<query xmlns='jabber:iq:version'/></iq>",
			 i, ALICE1, i);
		frame_from("c2s.1", FRAME_STANZA, 1, xml, false);
		if (i % 64 == 63) {
			settle();
			clear_sent();
		}
	}
	settle();
	ck_assert_uint_le(sm.sessions.users.count, USERDATA_CACHE + 1);
	struct sm_userdata_stats ud;
	sm_userdata_get_stats(&sm, &ud);
	ck_assert_uint_eq(ud.cached, USERDATA_CACHE);
	ck_assert_ptr_nonnull(sm_userdata_user(&sm, ALICE));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sm_presence");
	TCase *tc = tcase_create("presence");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown_stored_sm);
	tcase_add_loop_test(tc, appendix_a, 0, NSTATES * NEVENTS * 2);
	tcase_add_loop_test(tc, every_state_survives_a_restart, 0, NSTATES);
	tcase_add_test(tc, roster_set_is_answered_after_the_write_and_pushed);
	tcase_add_test(tc, roster_get_with_the_current_version_is_empty);
	tcase_add_test(tc, roster_set_errors);
	tcase_add_test(tc, another_users_roster_is_forbidden);
	tcase_add_test(tc, items_per_roster_are_limited);
	tcase_add_test(tc, pending_request_is_delivered_at_the_next_login);
	tcase_add_test(tc, initial_presence_probes_and_broadcasts);
	tcase_add_test(tc, probe_from_a_stranger_gets_unsubscribed);
	tcase_add_test(tc, probe_of_an_offline_contact_gets_unavailable);
	tcase_add_test(tc, directed_presence_gets_unavailable_at_logout);
	tcase_add_test(tc, a_c2s_gone_means_unavailable_to_contacts);
	tcase_add_test(tc, removing_a_contact_cancels_both_ways);
	tcase_add_test(tc, no_such_user);
	tcase_add_test(tc, held_stanzas_keep_their_order);
	tcase_add_test(tc, offline_users_cache_is_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
