/* muc: every session enters a room (XEP-0045 §7.2), then a few of them
 * send groupchat messages that the room delivers to every occupant.
 *
 * Sessions are split among --rooms rooms in blocks (account i is in room
 * i x R / N), roomK@--muc-service, each with its account's local part as
 * its nickname. Three phases, with a barrier of the parent between them:
 *
 * 1. Setup: every session logs in; then the first account of each room,
 *    its owner, enters it, which creates it; when the room says it was
 *    created and is locked (status 201, §10.1.1) the owner accepts the
 *    default configuration, an instant room (§10.1.2), which unlocks it.
 * 2. Joins: every other session enters its room, --concurrency joins
 *    waiting per process; a join is done when the session's own
 *    presence (status 110, §7.2.3) comes back, refused when an error
 *    presence does. The presences received meanwhile are counted.
 * 3. Messages: the senders (--senders, spread evenly over the accounts,
 *    so over the rooms and processes) send
 *    <message type='groupchat'><body>T</body></message> to their room,
 *    T the CLOCK_MONOTONIC time of sending in ns; every occupant, the
 *    sender too (§7.4), receives it and takes the latency from T. At
 *    --msg-rate R, R messages per second in total, spread evenly in time
 *    (an open loop); at --msg-rate 0, each sender keeps --window messages
 *    in flight, sending the next when the room sends one of its own back
 *    (a closed loop). After --duration nothing more is sent; deliveries
 *    within the next DRAIN_MS still count, then the sessions log out.
 *
 * The deliveries expected are, per room, the messages sent to it times
 * its occupants; lost = expected - received. The joins (and owners'
 * unlocks) still waiting when the worker got no presence at all for
 * --timeout seconds count as refused. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define DRAIN_MS 5000
#define NS_MUC "http://jabber.org/protocol/muc"
#define UNLOCK_ID "muc_unlock"

/* XEP-0045 §15.6: the status codes read here, as bits */
#define STATUS_SELF 1u    /* 110 */
#define STATUS_CREATED 2u /* 201 */

enum muc_phase { PHASE_SETUP, PHASE_JOIN, PHASE_JOINED, PHASE_WINDOW };

/* Where a session is with its room. */
enum member { MEMBER_OUT, MEMBER_JOINING, MEMBER_UNLOCKING, MEMBER_IN };

struct muc_state {
	enum muc_phase phase;
	bool owners_sent;   /* the owners' joins went out */
	bool draining;      /* the window is over */
	uint32_t join_next; /* the next slot to enter (joins) */
	uint32_t pending;   /* joins and unlocks waiting for their answer */
	uint64_t
		progress_ms; /* the last answer (--timeout after it: give up) */
	uint64_t join_t0_ms;
	uint64_t t0_ns, due_sent; /* the --msg-rate ticker */
	uint32_t rr, nsenders;    /* round-robin over the senders */
	uint32_t *senders;        /* slots that send, in the room */
	unsigned char *member;    /* enum member, per slot */
};

/* ---- who is where --------------------------------------------------------- */

static unsigned muc_room(const struct options *o, uint64_t account)
{
	return (unsigned)(account * (uint64_t)o->rooms / (uint64_t)o->sessions);
}

/* Room k's first account: ceil(k x N / R). */
static bool muc_is_owner(const struct options *o, uint64_t account)
{
	uint64_t k = muc_room(o, account), r = (uint64_t)o->rooms;
	return account == (k * (uint64_t)o->sessions + r - 1) / r;
}

static bool muc_is_sender(const struct options *o, uint64_t account)
{
	uint64_t stride = (uint64_t)(o->sessions / o->senders);
	return account % stride == 0 && account / stride < (uint64_t)o->senders;
}

static int muc_init(struct worker *w)
{
	/* one block: the state, the senders, the members */
	struct muc_state *st =
		calloc(1, sizeof *st + w->slots * (sizeof(uint32_t) + 1));
	w->scenario_state = st;
	if (!st)
		return -1;
	st->senders = (uint32_t *)(st + 1);
	st->member = (unsigned char *)(st->senders + w->slots);
	return 0;
}

/* ---- entering ----------------------------------------------------------- */

static void muc_enter(struct session *s)
{
	struct worker *w = s->w;
	struct muc_state *st = w->scenario_state;
	char nick[300], msg[1024];
	worker_account_name(w, s->account, nick, sizeof nick);
	snprintf(msg, sizeof msg,
		 "<presence to='room%u@%s/%s'><x xmlns='" NS_MUC
		 "'/></presence>",
		 muc_room(w->opt, s->account), w->opt->muc_service, nick);
	session_send_str(s, msg);
	st->member[s->slot] = MEMBER_JOINING;
	st->pending++;
}

/* §10.1.2: the owner accepts the default configuration. */
static void muc_unlock(struct session *s)
{
	struct worker *w = s->w;
	struct muc_state *st = w->scenario_state;
	char msg[1024];
	snprintf(msg, sizeof msg,
		 "<iq type='set' id='" UNLOCK_ID "' to='room%u@%s'><query "
		 "xmlns='" NS_MUC "#owner'><x xmlns='jabber:x:data' "
		 "type='submit'/></query></iq>",
		 muc_room(w->opt, s->account), w->opt->muc_service);
	session_send_str(s, msg);
	st->member[s->slot] = MEMBER_UNLOCKING;
}

static void muc_in(struct session *s)
{
	struct worker *w = s->w;
	struct muc_state *st = w->scenario_state;
	st->member[s->slot] = MEMBER_IN;
	st->pending--;
	w->report.muc_occupants++;
	w->report.room_occupants[muc_room(w->opt, s->account)]++;
	if (muc_is_owner(w->opt, s->account))
		w->report.muc_owners++;
}

static void muc_refused(struct session *s)
{
	struct muc_state *st = s->w->scenario_state;
	st->member[s->slot] = MEMBER_OUT;
	st->pending--;
	s->w->report.muc_refused++;
}

/* Joins up to --concurrency waiting, in slot order. */
static void muc_join_more(struct worker *w)
{
	struct muc_state *st = w->scenario_state;
	while (st->pending < (uint32_t)w->opt->concurrency &&
	       st->join_next < w->slots) {
		struct session *s = &w->sessions[st->join_next++];
		if (session_online(s) && st->member[s->slot] == MEMBER_OUT &&
		    !muc_is_owner(w->opt, s->account))
			muc_enter(s);
	}
}

/* ---- the phases ------------------------------------------------------------ */

/* Setup: once every login is done, the owners enter; once their rooms
 * are open, the worker is ready. */
static void muc_check_setup(struct worker *w)
{
	struct muc_state *st = w->scenario_state;
	if (st->phase != PHASE_SETUP || w->ready_sent || !worker_setup_done(w))
		return;
	if (!st->owners_sent) {
		st->owners_sent = true;
		worker_setup_opened(w);
		st->progress_ms = worker_now_ms(w);
		for (uint32_t i = 0; i < w->slots; i++)
			if (session_online(&w->sessions[i]) &&
			    muc_is_owner(w->opt, w->sessions[i].account))
				muc_enter(&w->sessions[i]);
	}
	if (st->pending == 0)
		worker_ready(w, false);
}

static void muc_check_joins(struct worker *w)
{
	struct muc_state *st = w->scenario_state;
	muc_join_more(w);
	if (st->pending || st->join_next < w->slots || st->phase != PHASE_JOIN)
		return;
	st->phase = PHASE_JOINED;
	w->report.join_s = (double)(worker_now_ms(w) - st->join_t0_ms) / 1000.0;
	worker_ready_count(w, w->report.muc_occupants - w->report.muc_owners);
}

/* Gives up on the joins and unlocks waiting when no presence came for
 * --timeout seconds. */
static void muc_check_stalled(struct worker *w)
{
	struct muc_state *st = w->scenario_state;
	if (!st->pending || worker_now_ms(w) - st->progress_ms <=
				    (uint64_t)(w->opt->timeout * 1000.0))
		return;
	fprintf(stderr,
		"xmppload: worker %d: %u joins waiting, no presence for %g s: "
		"giving up on them\n",
		w->index, st->pending, w->opt->timeout);
	for (uint32_t i = 0; i < w->slots; i++)
		if (st->member[i] == MEMBER_JOINING ||
		    st->member[i] == MEMBER_UNLOCKING)
			muc_refused(&w->sessions[i]);
}

static void muc_tick(struct worker *w)
{
	struct muc_state *st = w->scenario_state;
	if ((st->phase == PHASE_SETUP && st->owners_sent) ||
	    st->phase == PHASE_JOIN)
		muc_check_stalled(w);
	if (st->phase == PHASE_SETUP)
		muc_check_setup(w);
	else if (st->phase == PHASE_JOIN)
		muc_check_joins(w);
}

/* ---- messages ------------------------------------------------------------ */

static void muc_send(struct session *s)
{
	struct worker *w = s->w;
	unsigned room = muc_room(w->opt, s->account);
	char msg[512];
	int n = snprintf(
		msg, sizeof msg,
		"<message type='groupchat' to='room%u@%s'><body>%" PRIu64
		"</body></message>",
		room, w->opt->muc_service, worker_now_ns());
	session_send(s, msg, (size_t)n);
	w->report.messages_sent++;
	w->report.room_sent[room]++;
}

/* --msg-rate: this worker's share, by its senders. */
static void muc_tick_rate(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct muc_state *st = w->scenario_state;
	double rate = w->opt->msg_rate * st->nsenders / w->opt->senders;
	uint64_t due =
		(uint64_t)(rate * (double)(worker_now_ns() - st->t0_ns) / 1e9);
	for (uint32_t n = 0; st->due_sent < due && n < st->nsenders;) {
		struct session *s =
			&w->sessions[st->senders[st->rr++ % st->nsenders]];
		if (session_online(s)) {
			muc_send(s);
			st->due_sent++;
			n = 0;
		} else {
			n++; /* a whole round without a sender online */
		}
	}
}

static void muc_drained(uv_timer_t *t)
{
	worker_finish(t->data);
}

static void muc_window_over(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct muc_state *st = w->scenario_state;
	st->draining = true;
	uv_timer_stop(&w->ticker);
	worker_measure_memory(w);
	uv_timer_start(&w->timer, muc_drained, DRAIN_MS, 0);
}

static void muc_start_window(struct worker *w)
{
	struct muc_state *st = w->scenario_state;
	st->phase = PHASE_WINDOW;
	for (uint32_t i = 0; i < w->slots; i++)
		if (st->member[i] == MEMBER_IN &&
		    muc_is_sender(w->opt, w->sessions[i].account))
			st->senders[st->nsenders++] = i;
	st->t0_ns = worker_now_ns();
	w->report.window_s = w->opt->duration;
	if (w->opt->msg_rate > 0) {
		if (st->nsenders)
			uv_timer_start(&w->ticker, muc_tick_rate, 1, 1);
	} else {
		for (uint32_t i = 0; i < st->nsenders; i++)
			for (int k = 0; k < w->opt->window; k++)
				muc_send(&w->sessions[st->senders[i]]);
	}
	uv_timer_start(&w->timer, muc_window_over,
		       (uint64_t)(w->opt->duration * 1000.0), 0);
}

/* Each go of the parent: the joins, then the messages. */
static void muc_run(struct worker *w)
{
	struct muc_state *st = w->scenario_state;
	if (st->phase == PHASE_SETUP) {
		st->phase = PHASE_JOIN;
		w->ready_sent = false; /* a second barrier follows */
		st->join_t0_ms = st->progress_ms = worker_now_ms(w);
		muc_check_joins(w);
	} else if (st->phase == PHASE_JOINED) {
		muc_start_window(w);
	}
}

/* ---- what the rooms send --------------------------------------------------- */

static unsigned muc_status(struct span presence)
{
	unsigned bits = 0;
	struct span x = {NULL, 0}, status;
	while (scan_next_child(presence, &x)) {
		if (!scan_is(x, "x"))
			continue;
		status = (struct span){NULL, 0};
		while (scan_next_child(x, &status)) {
			if (scan_attr_is(status, "code", "110"))
				bits |= STATUS_SELF;
			else if (scan_attr_is(status, "code", "201"))
				bits |= STATUS_CREATED;
		}
	}
	return bits;
}

static void muc_on_presence(struct session *s, struct span e)
{
	struct worker *w = s->w;
	struct muc_state *st = w->scenario_state;
	unsigned char *m = &st->member[s->slot];
	if (st->phase == PHASE_JOIN)
		w->report.presences++;
	/* any presence: the server is still at the joins (a room of N sends
	 * each newcomer N presences and the newcomer's to N occupants) */
	st->progress_ms = worker_now_ms(w);
	if (*m != MEMBER_JOINING)
		return;
	if (scan_attr_is(e, "type", "error")) { /* §7.2.6-§7.2.9 … */
		muc_refused(s);
		return;
	}
	unsigned status = muc_status(e);
	if (!(status & STATUS_SELF))
		return; /* another occupant's */
	if ((status & STATUS_CREATED) && muc_is_owner(w->opt, s->account))
		muc_unlock(s);
	else
		muc_in(s);
}

static void muc_on_unlocked(struct session *s, struct span iq)
{
	struct muc_state *st = s->w->scenario_state;
	if (st->member[s->slot] != MEMBER_UNLOCKING)
		return;
	st->progress_ms = worker_now_ms(s->w);
	if (scan_attr_is(iq, "type", "result"))
		muc_in(s);
	else
		muc_refused(s);
}

/* Whether the groupchat message e came back to its sender. */
static bool muc_is_own(struct session *s, struct span e)
{
	struct span from;
	char nick[300];
	if (!scan_attr(e, "from", &from))
		return false;
	const char *slash = memchr(from.p, '/', from.len);
	if (!slash)
		return false;
	worker_account_name(s->w, s->account, nick, sizeof nick);
	struct span res = {slash + 1, from.len - (size_t)(slash + 1 - from.p)};
	return span_eq(res, nick);
}

static void muc_on_message(struct session *s, struct span e)
{
	struct worker *w = s->w;
	struct muc_state *st = w->scenario_state;
	struct span body, delay;
	/* the history (XEP-0203 <delay/>) and the subject are not ours */
	if (st->phase != PHASE_WINDOW ||
	    !scan_attr_is(e, "type", "groupchat") ||
	    !scan_find(e, "body", &body) || scan_find(e, "delay", &delay))
		return;
	char text[32];
	span_copy(scan_text(body), text, sizeof text);
	uint64_t sent = strtoull(text, NULL, 10), now = worker_now_ns();
	if (!sent || sent > now)
		return;
	histogram_add(&w->report.latency_us, (now - sent) / 1000);
	w->report.messages_received++;
	if (st->draining)
		return;
	w->report.messages_in_window++;
	if (w->opt->msg_rate == 0 && muc_is_sender(w->opt, s->account) &&
	    muc_is_own(s, e))
		muc_send(s);
}

static void muc_on_stanza(struct session *s, struct span e)
{
	struct worker *w = s->w;
	struct muc_state *st = w->scenario_state;
	if (scan_is(e, "message")) {
		muc_on_message(s, e);
	} else if (scan_is(e, "presence")) {
		muc_on_presence(s, e);
	} else if (scan_is(e, "iq") && scan_attr_is(e, "id", UNLOCK_ID)) {
		muc_on_unlocked(s, e);
	} else {
		return;
	}
	if (st->phase == PHASE_SETUP)
		muc_check_setup(w);
	else if (st->phase == PHASE_JOIN)
		muc_check_joins(w);
}

static void muc_setup(struct worker *w)
{
	w->counting_logins = true;
}

static void muc_on_login(struct session *s, struct span roster)
{
	muc_check_setup(s->w);
}

/* A session gone while it waited for its room is no longer waited for
 * (its failure is counted already). */
static void muc_on_end(struct session *s, bool clean)
{
	struct muc_state *st = s->w->scenario_state;
	if (st->member[s->slot] == MEMBER_JOINING ||
	    st->member[s->slot] == MEMBER_UNLOCKING) {
		st->member[s->slot] = MEMBER_OUT;
		st->pending--;
	}
	muc_tick(s->w);
}

const struct scenario scenario_muc = {
	.name = "muc",
	.init = muc_init,
	.setup = muc_setup,
	.run = muc_run,
	.next_login = worker_setup_next,
	.on_login = muc_on_login,
	.on_stanza = muc_on_stanza,
	.on_end = muc_on_end,
	.tick = muc_tick,
};
