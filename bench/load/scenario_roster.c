/* roster-setup: makes user i and users i+1 .. i+K (mod N) contacts with
 * subscription 'both', every user logged in by the generator.
 *
 * Each user, once logged in, reads its roster and sends a subscription
 * request (RFC 6121 §3.1.1) to each of its 2K neighbours (i-K .. i+K)
 * whose presence it does not receive yet ('none' or 'from'); it approves
 * every request it gets (§3.1.4, presence type='subscribed'). So each
 * pair asks and approves both ways, and ends in 'both'. A pair counts
 * once, at its lower end i (i's roster says 'both' for i+d), whether it
 * was made now or found made: a second run on the same accounts counts
 * them all and sends nothing.
 *
 * Once every login of the worker is done, the requests go out
 * ROSTER_WINDOW at a time, nearest neighbours first
 * (i+1, i-1, i+2, ...), each batch followed by a ping (XEP-0199; any
 * answer, result or error, will do): the next batch waits for its
 * answer, which the server sends once it has worked through the batch.
 * All 2K at once from every user would queue N x 2K requests in the
 * server before its first answer: ejabberd 23.01 (roster in Mnesia
 * disc_only_copies, each request a transaction on both rosters, done in
 * the sender's session process, which handles its own pushes only after
 * its input) then sent nothing at all for longer than --timeout. A
 * request to a neighbour who asked first goes out at once, with the
 * approval.
 *
 * Requests to users of other workers are approved there: every worker
 * stays logged in until all are done (the parent's barrier). A worker
 * gives up on the subscriptions missing when nothing about them has
 * moved for --timeout seconds: no pair completed, no ping answered, no
 * roster push of a neighbour nor subscription presence from one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

/* Requests in a batch, per user. */
#define ROSTER_WINDOW 2

struct roster_slot {
	uint32_t next; /* the next neighbour to ask, 0 .. 2K (pump order) */
	bool waiting;  /* for the answer to the batch's ping */
};

struct roster_state {
	uint64_t done, expected;
	uint64_t last_progress_ms;
	bool asking; /* the worker's logins are done: requests go out */
	struct roster_slot *slot;
	size_t per_slot; /* bytes of bits per slot */
	/* per slot: K bits "pair with i+d done", then 2K bits "asked
	 * neighbour", d = 1 .. K, then -1 .. -K */
	unsigned char bits[];
};

static unsigned contacts(const struct worker *w)
{
	return (unsigned)w->opt->contacts;
}

static int roster_init(struct worker *w)
{
	size_t per = (3u * contacts(w) + 7) / 8;
	struct roster_state *st = calloc(1, sizeof *st + per * w->slots);
	if (!st)
		return -1;
	st->slot = calloc(w->slots, sizeof *st->slot);
	if (!st->slot) {
		free(st);
		return -1;
	}
	st->per_slot = per;
	st->expected = (uint64_t)w->count * contacts(w);
	w->report.subscriptions_expected = st->expected;
	w->scenario_state = st;
	return 0;
}

/* Bit b of slot's bits: flips it on, returns whether it was on. */
static bool roster_bit_set(struct worker *w, uint32_t slot, unsigned b)
{
	struct roster_state *st = w->scenario_state;
	unsigned char *p = st->bits + st->per_slot * slot + b / 8;
	bool was = *p & (1u << (b % 8));
	*p |= (unsigned char)(1u << (b % 8));
	return was;
}

/* The neighbour distance of account j from session s: 1..K (j = i+d),
 * -1..-K (j = i-d), or 0 when j is no neighbour. */
static long roster_distance(const struct session *s, long long j)
{
	long long n = s->w->opt->sessions, k = contacts(s->w);
	if (j < 0 || j >= n)
		return 0;
	long long d = ((j - (long long)s->account) % n + n) % n;
	if (d >= 1 && d <= k)
		return (long)d;
	if (d >= n - k)
		return (long)(d - n);
	return 0;
}

/* The account of a JID (local@domain[/resource]) span, or -1. */
static long long roster_account(const struct worker *w, struct span jid)
{
	const char *at = memchr(jid.p, '@', jid.len);
	if (!at)
		return -1;
	size_t rest = jid.len - (size_t)(at + 1 - jid.p);
	size_t dlen = strlen(w->opt->domain);
	if (rest < dlen || memcmp(at + 1, w->opt->domain, dlen) != 0 ||
	    (rest > dlen && at[1 + dlen] != '/'))
		return -1;
	return options_account_index(w->opt, jid.p, (size_t)(at - jid.p));
}

/* Something about the subscriptions moved: the server is still at it. */
static void roster_moved(struct worker *w)
{
	struct roster_state *st = w->scenario_state;
	st->last_progress_ms = uv_now(w->loop);
}

static void roster_pump(struct session *s);

static void roster_check(struct worker *w)
{
	struct roster_state *st = w->scenario_state;
	if (w->ready_sent || !worker_setup_done(w))
		return;
	if (!st->asking) {
		/* Every login of this worker is done: the requests start now,
		 * or a server busy with them (Prosody) times out the last
		 * logins. */
		st->asking = true;
		roster_moved(w);
		for (uint32_t i = 0; i < w->slots; i++)
			roster_pump(&w->sessions[i]);
		return;
	}
	bool stalled = uv_now(w->loop) - st->last_progress_ms >
		       (uint64_t)(w->opt->timeout * 1000.0);
	if (st->done < st->expected && !stalled)
		return;
	if (st->done < st->expected)
		fprintf(stderr,
			"xmppload: worker %d: %llu of %llu subscriptions "
			"done, no progress for %g s: giving up\n",
			w->index, (unsigned long long)st->done,
			(unsigned long long)st->expected, w->opt->timeout);
	w->report.subscriptions = st->done;
	worker_setup_opened(w);
	worker_ready(w, true);
}

static void roster_pair_done(struct session *s, long d)
{
	struct worker *w = s->w;
	struct roster_state *st = w->scenario_state;
	if (d < 1 || roster_bit_set(w, s->slot, (unsigned)d - 1))
		return;
	st->done++;
	roster_moved(w);
}

static void roster_subscribe(struct session *s, long d, const char *type)
{
	char name[300], msg[512];
	long long j = ((long long)s->account + d + s->w->opt->sessions) %
		      s->w->opt->sessions;
	worker_account_name(s->w, (uint64_t)j, name, sizeof name);
	snprintf(msg, sizeof msg, "<presence type='%s' to='%s@%s'/>", type,
		 name, s->w->opt->domain);
	session_send_str(s, msg);
}

/* The bit that says we asked neighbour d (or need not). */
static unsigned roster_ask_bit(const struct worker *w, long d)
{
	unsigned k = contacts(w);
	return k + (d > 0 ? (unsigned)d - 1 : k + (unsigned)(-d) - 1);
}

/* Asks neighbour d unless done already; whether it asked now. */
static bool roster_ask(struct session *s, long d)
{
	if (roster_bit_set(s->w, s->slot, roster_ask_bit(s->w, d)))
		return false;
	roster_subscribe(s, d, "subscribe");
	return true;
}

/* Sends the next batch of requests, and the ping after it, unless the
 * last batch's ping is unanswered. */
static void roster_pump(struct session *s)
{
	struct roster_state *st = s->w->scenario_state;
	struct roster_slot *rs = &st->slot[s->slot];
	unsigned k = contacts(s->w), sent = 0;
	if (rs->waiting || !session_online(s))
		return; /* nothing after our </stream:stream> */
	while (rs->next < 2 * k && sent < ROSTER_WINDOW) {
		/* 1, -1, 2, -2, ... */
		long d = (long)(rs->next / 2 + 1);
		if (rs->next++ % 2)
			d = -d;
		sent += roster_ask(s, d);
	}
	if (sent) {
		char msg[128];
		snprintf(msg, sizeof msg,
			 "<iq type='get' id='rsping_%u'><ping xmlns="
			 "'urn:xmpp:ping'/></iq>",
			 (unsigned)rs->next);
		session_send_str(s, msg);
		rs->waiting = true;
	}
}

/* An item of the roster at login (login true) or of a push: 'both'
 * completes its pair; at login, 'to' or 'both' needs no request; a push
 * of a neighbour, whatever its state, is progress. */
static void roster_item(struct session *s, struct span item, bool login)
{
	struct span jid, sub;
	if (!scan_attr(item, "jid", &jid))
		return;
	long d = roster_distance(s, roster_account(s->w, jid));
	if (d == 0)
		return;
	if (!login)
		roster_moved(s->w);
	if (!scan_attr(item, "subscription", &sub))
		return;
	bool both = span_eq(sub, "both");
	if (both)
		roster_pair_done(s, d);
	if (login && (both || span_eq(sub, "to")))
		roster_bit_set(s->w, s->slot, roster_ask_bit(s->w, d));
}

static void roster_on_login(struct session *s, struct span roster)
{
	struct worker *w = s->w;
	struct span query, item = {NULL, 0};
	if (scan_find(roster, "query", &query))
		while (scan_next_child(query, &item))
			roster_item(s, item, true);
	roster_moved(w);
	roster_check(w);
}

static void roster_on_stanza(struct session *s, struct span e)
{
	struct span type, from, id, query, item = {NULL, 0};
	if (scan_is(e, "presence") && scan_attr(e, "type", &type) &&
	    span_eq(type, "subscribe") && scan_attr(e, "from", &from)) {
		long d = roster_distance(s, roster_account(s->w, from));
		char msg[512];
		const char *slash = memchr(from.p, '/', from.len);
		int len = slash ? (int)(slash - from.p) : (int)from.len;
		snprintf(msg, sizeof msg,
			 "<presence type='subscribed' to=%c%.*s%c/>",
			 from.p[-1], len, from.p, from.p[-1]);
		session_send_str(s, msg);
		if (d) {
			roster_ask(s, d);
			roster_moved(s->w);
		}
	} else if (scan_is(e, "presence") && scan_attr(e, "type", &type) &&
		   span_eq(type, "subscribed") && scan_attr(e, "from", &from)) {
		if (roster_distance(s, roster_account(s->w, from)))
			roster_moved(s->w); /* the pair's 'both' push follows */
	} else if (scan_is(e, "iq") && scan_attr(e, "type", &type) &&
		   span_eq(type, "set")) {
		if (scan_find(e, "query", &query))
			while (scan_next_child(query, &item))
				roster_item(s, item, false);
	} else if (scan_is(e, "iq") && scan_attr(e, "id", &id) && id.len > 7 &&
		   memcmp(id.p, "rsping_", 7) == 0) {
		/* the batch's ping answered (result or error) */
		struct roster_state *st = s->w->scenario_state;
		st->slot[s->slot].waiting = false;
		roster_moved(s->w);
		roster_pump(s);
	}
}

static void roster_setup(struct worker *w)
{
	w->counting_logins = true;
	roster_moved(w);
}

static void roster_on_end(struct session *s, bool clean)
{
	roster_check(s->w);
}

const struct scenario scenario_roster_setup = {
	.name = "roster-setup",
	.init = roster_init,
	.setup = roster_setup,
	.run = worker_finish,
	.next_login = worker_setup_next,
	.on_login = roster_on_login,
	.on_stanza = roster_on_stanza,
	.on_end = roster_on_end,
	.tick = roster_check,
};
