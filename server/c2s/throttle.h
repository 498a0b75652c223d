/* throttle: authentication attempts counted per key (a source address,
 * an account, or an account at an address), see throttle.c's head. A
 * NULL table (no limit) is open: every claim succeeds, nothing is kept. */
#ifndef PALABRE_C2S_THROTTLE_H
#define PALABRE_C2S_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum throttle_state {
	THROTTLE_OPEN,
	/* Refused for the attempts in flight (or already waiting) alone:
	 * a place may free up, see throttle_wait. */
	THROTTLE_BUSY,
	THROTTLE_CLOSED_FIRST, /* refused; the first refusal this window */
	THROTTLE_CLOSED,
};

struct throttle;

/* An attempt waiting for a place among its key's (throttle_wait), in
 * the caller's own structure; linked into the key's queue only while it
 * waits. */
struct throttle_waiter {
	struct throttle_waiter *prev, *next;
	enum throttle_state state; /* how the wait ended (throttle_wake) */
};

/* NULL when limit is 0 (no limit) or out of memory. */
struct throttle *throttle_new(unsigned limit, unsigned period_s,
			      size_t capacity);
void throttle_free(struct throttle *t);

/* An attempt for key starts: refused (closed) once the key's failures
 * in its window reach the limit, busy while they and its attempts in
 * flight do or others wait; otherwise counted in flight until
 * throttle_release. */
enum throttle_state throttle_claim(struct throttle *t, const char *key,
				   uint64_t now_ms);
/* throttle_claim, except that a busy key queues w behind its waiters
 * (and THROTTLE_BUSY says so) until throttle_wake hands it back, or
 * throttle_unwait takes it out. */
enum throttle_state throttle_wait(struct throttle *t, const char *key,
				  struct throttle_waiter *w, uint64_t now_ms);
/* w leaves key's queue (w waits there). */
void throttle_unwait(struct throttle *t, const char *key,
		     struct throttle_waiter *w, uint64_t now_ms);
/* After a release: key's first waiter if its wait is over, out of the
 * queue, its state THROTTLE_OPEN (claimed for it) or closed; NULL while
 * it must wait on (or none waits). Call until NULL. */
struct throttle_waiter *throttle_wake(struct throttle *t, const char *key,
				      uint64_t now_ms);
/* The attempt claimed for key is over (call throttle_fail first when it
 * failed; then throttle_wake). A key with nothing in flight or waiting
 * and no failure is forgotten. */
void throttle_release(struct throttle *t, const char *key, uint64_t now_ms);
/* One failure more for key in its window (a new window if it ended). */
void throttle_fail(struct throttle *t, const char *key, uint64_t now_ms);

/* Records of recent successes, in a table made with limit 1 (period:
 * how long a record lasts): throttle_note makes or renews key's record;
 * throttle_claim_noted claims it for one attempt, only while it lasts,
 * has no failure (throttle_fail spends it) and nothing else in flight. */
void throttle_note(struct throttle *t, const char *key, uint64_t now_ms);
bool throttle_claim_noted(struct throttle *t, const char *key, uint64_t now_ms);

size_t throttle_count(struct throttle *t);

/* The address part of a peer name ("ip:port", "[ipv6]:port"); an IPv6
 * address as its /64. Returns 0, or -1. */
int throttle_address_key(const char *peer, char *out, size_t outlen);

#endif
