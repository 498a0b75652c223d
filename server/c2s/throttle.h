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
	THROTTLE_CLOSED_FIRST, /* refused; the first refusal this window */
	THROTTLE_CLOSED,
};

struct throttle;

/* NULL when limit is 0 (no limit) or out of memory. */
struct throttle *throttle_new(unsigned limit, unsigned period_s,
			      size_t capacity);
void throttle_free(struct throttle *t);

/* An attempt for key starts: refused once the key's failures in its
 * window plus its attempts in flight reach the limit; otherwise counted
 * in flight until throttle_release. */
enum throttle_state throttle_claim(struct throttle *t, const char *key,
				   uint64_t now_ms);
/* The attempt claimed for key is over (call throttle_fail first when it
 * failed). A key with nothing in flight and no failure is forgotten. */
void throttle_release(struct throttle *t, const char *key, uint64_t now_ms);
/* One failure more for key in its window (a new window if it ended). */
void throttle_fail(struct throttle *t, const char *key, uint64_t now_ms);

/* Records of recent successes, in a table made with limit 1 (period:
 * how long a record lasts): throttle_note makes or renews key's record;
 * throttle_claim_noted claims it for one attempt, only while it lasts,
 * has no failure (throttle_fail spends it) and nothing else in flight. */
void throttle_note(struct throttle *t, const char *key, uint64_t now_ms);
bool throttle_claim_noted(struct throttle *t, const char *key,
			  uint64_t now_ms);

size_t throttle_count(struct throttle *t);

/* The address part of a peer name ("ip:port", "[ipv6]:port"); an IPv6
 * address as its /64. Returns 0, or -1. */
int throttle_address_key(const char *peer, char *out, size_t outlen);

#endif
