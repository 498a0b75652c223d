/* throttle: authentication attempts counted per key (a source address,
 * an account) in fixed windows, so that passwords cannot be guessed
 * through palabre faster than <c2s><auth-throttle> allows.
 *
 * An attempt counts from the moment it starts (throttle_claim), not
 * only once it has failed: otherwise attempts made in parallel would
 * all be checked before the first failure was known. While a key's
 * failures in its window reach `limit`, a new attempt is refused
 * (closed); while they and its attempts in flight do, it is busy: its
 * caller may queue it (throttle_wait) until a place frees up. An
 * attempt that ends well only stops being in flight; one that fails
 * adds a failure; either way throttle_wake then hands back the waiters
 * at the head of the queue, in arrival order, each with a place claimed
 * or refused once the failures reach the limit. So no more than `limit`
 * attempts are ever checked in a window, however many wait. A key's
 * window opens at its first attempt or failure and lasts `period`
 * seconds; a key with nothing in flight or waiting and no failure is
 * forgotten.
 *
 * The same table with limit 1 keeps records of recent successes
 * (throttle_note, throttle_claim_noted), which last `period` seconds.
 *
 * A table holds at most `capacity` keys: a new key takes the slot of an
 * expired one, or else of the one whose window opened first, sparing
 * keys with attempts in flight while it can and never taking one with
 * waiters (whose queue the caller's structures form). Lookups go
 * through a hash table keyed with a random seed, so that no one
 * chooses collisions easily; were a chain as long as the table, a
 * lookup would cost what a scan of every key does.
 *
 * Tables are used by SASL steps on worker threads too, so every call
 * takes the table's mutex. Time comes from the caller (now_ms), for the
 * unit tests. */
#include "throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <uv.h>

#include "../../lib/hash_table.h"

/* Most tables stay small: a few addresses and accounts at a time. */
#define THROTTLE_MIN_BUCKETS 64

struct throttle_entry {
	struct hash_link link; /* in the table's index */
	char *key;
	uint64_t window_start; /* ms */
	unsigned failures;
	unsigned in_flight;
	bool logged; /* the refusal of this window was logged */
	bool noted;  /* a record of success (throttle_note) */
	struct throttle_waiter *first, *last; /* throttle_wait's queue */
};

struct throttle {
	uv_mutex_t lock;
	unsigned limit;
	uint64_t period_ms;
	size_t capacity, count;
	struct throttle_entry *entries; /* count of them in use */
	struct hash_table index;        /* the entries in use, by key */
};

/* The hash's key, random per process (the first throttle_new draws
 * it: every table hashes with it). */
static uint64_t throttle_seed;
static bool throttle_seeded;

static struct throttle_entry *entry_of(const struct hash_link *l)
{
	return hash_entry(l, struct throttle_entry, link);
}

static uint64_t throttle_hash(const char *key)
{
	return hash_string_from(HASH_INIT ^ throttle_seed, key);
}

static uint64_t throttle_entry_hash(const struct hash_link *l)
{
	return throttle_hash(entry_of(l)->key);
}

static bool throttle_entry_match(const struct hash_link *l, const void *key)
{
	return strcmp(entry_of(l)->key, key) == 0;
}

struct throttle *throttle_new(unsigned limit, unsigned period_s,
			      size_t capacity)
{
	if (limit == 0 || period_s == 0 || capacity == 0)
		return NULL; /* no limit: every call below says "open" */
	struct throttle *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->entries = calloc(capacity, sizeof *t->entries);
	if (!t->entries || uv_mutex_init(&t->lock) != 0) {
		free(t->entries);
		free(t);
		return NULL;
	}
	t->limit = limit;
	t->period_ms = (uint64_t)period_s * 1000;
	t->capacity = capacity;
	hash_table_init(&t->index, throttle_entry_hash, THROTTLE_MIN_BUCKETS);
	if (!throttle_seeded && RAND_bytes((unsigned char *)&throttle_seed,
					   sizeof throttle_seed) != 1)
		throttle_seed = 0x9e3779b97f4a7c15u;
	throttle_seeded = true;
	return t;
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->count; i++)
		free(t->entries[i].key);
	hash_table_free(&t->index);
	uv_mutex_destroy(&t->lock);
	free(t->entries);
	free(t);
}

static bool entry_expired(const struct throttle *t,
			  const struct throttle_entry *e, uint64_t now_ms)
{
	return now_ms - e->window_start >= t->period_ms ||
	       now_ms < e->window_start;
}

static bool entry_admits(const struct throttle *t,
			 const struct throttle_entry *e)
{
	return (uint64_t)e->failures + e->in_flight < t->limit;
}

static struct throttle_entry *throttle_find(struct throttle *t, const char *key)
{
	struct hash_link *l = hash_table_find(&t->index, throttle_hash(key),
					      throttle_entry_match, key);
	return l ? entry_of(l) : NULL;
}

/* Whether a is a better slot to give away than b: one with no waiters,
 * else one with nothing in flight, else the older window. */
static bool entry_evicts_before(const struct throttle_entry *a,
				const struct throttle_entry *b)
{
	if (!a->first != !b->first)
		return !a->first;
	if ((a->in_flight == 0) != (b->in_flight == 0))
		return a->in_flight == 0;
	return a->window_start < b->window_start;
}

/* A slot for a new key: a free one, an expired one with nothing in
 * flight, or the one entry_evicts_before prefers; NULL when every key
 * has waiters (more connections than a process has descriptors). */
static struct throttle_entry *throttle_slot(struct throttle *t, uint64_t now_ms)
{
	if (t->count < t->capacity)
		return &t->entries[t->count++];
	struct throttle_entry *best = &t->entries[0];
	for (size_t i = 0; i < t->count; i++) {
		struct throttle_entry *e = &t->entries[i];
		if (e->in_flight == 0 && entry_expired(t, e, now_ms))
			return e;
		if (entry_evicts_before(e, best))
			best = e;
	}
	return best->first ? NULL : best;
}

/* key's entry, made with a window opening now if there is none; NULL
 * when out of memory. */
static struct throttle_entry *throttle_entry(struct throttle *t,
					     const char *key, uint64_t now_ms)
{
	struct throttle_entry *e = throttle_find(t, key);
	if (e)
		return e;
	char *copy = strdup(key);
	if (!copy)
		return NULL;
	e = throttle_slot(t, now_ms);
	if (!e) {
		free(copy);
		return NULL;
	}
	if (e->key) { /* evicted */
		hash_table_remove(&t->index, &e->link);
		free(e->key);
	}
	*e = (struct throttle_entry){.key = copy, .window_start = now_ms};
	if (hash_table_insert(&t->index, &e->link, throttle_hash(key)) < 0) {
		/* Only a first insert fails (no buckets yet): e is alone. */
		free(copy);
		*e = (struct throttle_entry){0};
		t->count = 0;
		return NULL;
	}
	return e;
}

/* e is forgotten when it holds nothing: no attempt in flight or
 * waiting, no record, no failure that counts. */
static void throttle_forget_idle(struct throttle *t, struct throttle_entry *e,
				 uint64_t now_ms)
{
	if (e->in_flight > 0 || e->first || e->noted ||
	    (e->failures > 0 && !entry_expired(t, e, now_ms)))
		return;
	hash_table_remove(&t->index, &e->link);
	free(e->key);
	struct throttle_entry *last = &t->entries[--t->count];
	if (e != last) {
		/* The last entry moves to e's slot: its link moves with it.
		 * The table has buckets: the insert cannot fail. */
		hash_table_remove(&t->index, &last->link);
		*e = *last;
		hash_table_insert(&t->index, &e->link, throttle_hash(e->key));
	}
	*last = (struct throttle_entry){0};
}

/* An ended window gives way to a new one, opening now. */
static void entry_renew_window(const struct throttle *t,
			       struct throttle_entry *e, uint64_t now_ms)
{
	if (!entry_expired(t, e, now_ms))
		return;
	e->window_start = now_ms;
	e->failures = 0;
	e->logged = false;
}

/* A claim on e, whatever waits: a place in flight, or the refusal
 * (closed ones logged once per window). */
static enum throttle_state
entry_claim(const struct throttle *t, struct throttle_entry *e, uint64_t now_ms)
{
	entry_renew_window(t, e, now_ms);
	if (e->failures >= t->limit) {
		enum throttle_state state =
			e->logged ? THROTTLE_CLOSED : THROTTLE_CLOSED_FIRST;
		e->logged = true;
		return state;
	}
	if (!entry_admits(t, e))
		return THROTTLE_BUSY;
	e->in_flight++;
	return THROTTLE_OPEN;
}

/* A claim behind e's waiters: busy while some wait, unless closed. */
static enum throttle_state entry_claim_in_turn(const struct throttle *t,
					       struct throttle_entry *e,
					       uint64_t now_ms)
{
	entry_renew_window(t, e, now_ms);
	if (e->first && e->failures < t->limit)
		return THROTTLE_BUSY;
	return entry_claim(t, e, now_ms);
}

enum throttle_state throttle_claim(struct throttle *t, const char *key,
				   uint64_t now_ms)
{
	return throttle_wait(t, key, NULL, now_ms);
}

enum throttle_state throttle_wait(struct throttle *t, const char *key,
				  struct throttle_waiter *w, uint64_t now_ms)
{
	if (!t)
		return THROTTLE_OPEN;
	enum throttle_state state = THROTTLE_OPEN;
	uv_mutex_lock(&t->lock);
	struct throttle_entry *e = throttle_entry(t, key, now_ms);
	if (e)
		state = entry_claim_in_turn(t, e, now_ms);
	if (e && state == THROTTLE_BUSY && w) {
		*w = (struct throttle_waiter){.prev = e->last,
					      .state = THROTTLE_BUSY};
		if (e->last)
			e->last->next = w;
		else
			e->first = w;
		e->last = w;
	}
	uv_mutex_unlock(&t->lock);
	return state;
}

static void entry_unlink(struct throttle_entry *e, struct throttle_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		e->first = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		e->last = w->prev;
	w->prev = w->next = NULL;
}

void throttle_unwait(struct throttle *t, const char *key,
		     struct throttle_waiter *w, uint64_t now_ms)
{
	if (!t)
		return;
	uv_mutex_lock(&t->lock);
	struct throttle_entry *e = throttle_find(t, key);
	if (e && (w->prev || e->first == w)) {
		entry_unlink(e, w);
		throttle_forget_idle(t, e, now_ms);
	}
	uv_mutex_unlock(&t->lock);
}

struct throttle_waiter *throttle_wake(struct throttle *t, const char *key,
				      uint64_t now_ms)
{
	if (!t)
		return NULL;
	struct throttle_waiter *w = NULL;
	uv_mutex_lock(&t->lock);
	struct throttle_entry *e = throttle_find(t, key);
	if (e && e->first) {
		enum throttle_state state = entry_claim(t, e, now_ms);
		if (state != THROTTLE_BUSY) {
			w = e->first;
			entry_unlink(e, w);
			w->state = state;
		}
	}
	uv_mutex_unlock(&t->lock);
	return w;
}

void throttle_release(struct throttle *t, const char *key, uint64_t now_ms)
{
	if (!t)
		return;
	uv_mutex_lock(&t->lock);
	struct throttle_entry *e = throttle_find(t, key);
	if (e && e->in_flight > 0)
		e->in_flight--;
	if (e)
		throttle_forget_idle(t, e, now_ms);
	uv_mutex_unlock(&t->lock);
}

void throttle_fail(struct throttle *t, const char *key, uint64_t now_ms)
{
	if (!t)
		return;
	uv_mutex_lock(&t->lock);
	struct throttle_entry *e = throttle_entry(t, key, now_ms);
	if (e) {
		entry_renew_window(t, e, now_ms);
		if (e->failures < UINT32_MAX)
			e->failures++;
	}
	uv_mutex_unlock(&t->lock);
}

void throttle_note(struct throttle *t, const char *key, uint64_t now_ms)
{
	if (!t)
		return;
	uv_mutex_lock(&t->lock);
	struct throttle_entry *e = throttle_entry(t, key, now_ms);
	if (e) {
		e->window_start = now_ms;
		e->failures = 0;
		e->noted = true;
	}
	uv_mutex_unlock(&t->lock);
}

bool throttle_claim_noted(struct throttle *t, const char *key, uint64_t now_ms)
{
	if (!t)
		return false;
	uv_mutex_lock(&t->lock);
	struct throttle_entry *e = throttle_find(t, key);
	bool ok = e && e->noted && !entry_expired(t, e, now_ms) &&
		  entry_admits(t, e);
	if (ok)
		e->in_flight++;
	uv_mutex_unlock(&t->lock);
	return ok;
}

size_t throttle_count(struct throttle *t)
{
	if (!t)
		return 0;
	uv_mutex_lock(&t->lock);
	size_t n = t->count;
	uv_mutex_unlock(&t->lock);
	return n;
}

int throttle_address_key(const char *peer, char *out, size_t outlen)
{
	/* c2s's peer names: "1.2.3.4:5678" or "[2001:db8::1]:5678". */
	char ip[INET6_ADDRSTRLEN + 1];
	const char *end;
	if (peer[0] == '[') {
		end = strchr(peer, ']');
		peer++;
	} else {
		end = strrchr(peer, ':');
	}
	size_t len = end ? (size_t)(end - peer) : strlen(peer);
	if (len == 0 || len >= sizeof ip)
		return -1;
	memcpy(ip, peer, len);
	ip[len] = '\0';
	unsigned char a6[16];
	struct in_addr a4;
	if (inet_pton(AF_INET6, ip, a6) == 1 &&
	    IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a6)) {
		/* A dual-stack socket's IPv4 client: its own address. */
		if (!inet_ntop(AF_INET, a6 + 12, ip, sizeof ip))
			return -1;
	} else if (inet_pton(AF_INET6, ip, a6) == 1) {
		/* One IPv6 host usually has a whole /64 (RFC 7421). */
		memset(a6 + 8, 0, 8);
		if (!inet_ntop(AF_INET6, a6, ip, sizeof ip))
			return -1;
		int n = snprintf(out, outlen, "%s/64", ip);
		return n < 0 || (size_t)n >= outlen ? -1 : 0;
	}
	if (inet_pton(AF_INET, ip, &a4) != 1)
		return -1;
	int n = snprintf(out, outlen, "%s", ip);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
