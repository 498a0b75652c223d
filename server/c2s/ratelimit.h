/* ratelimit: how fast one client may send, in stanzas and in bytes, as
 * XEP-0205 §3 advises ("limit the number of bytes or stanzas ... in a
 * given time period"), jabberd2's karma and Prosody's mod_limits do.
 *
 * Each dimension is a token bucket of `burst` units refilled at `rate`
 * units per second, kept as one time (the generic cell rate algorithm):
 * the instant at which the bucket would be full again. A bucket that
 * has never been charged, or not for long, is full. Charging may take
 * it below empty (a read is parsed whole before its stanzas are
 * counted): the client then waits until it has paid that debt. So a
 * connection costs 8 bytes per dimension and no timer.
 *
 * Time is in nanoseconds, from the caller (the tests give theirs). */
#ifndef PALABRE_C2S_RATELIMIT_H
#define PALABRE_C2S_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	uint64_t rate;  /* units per second; 0: no limit */
	uint64_t burst; /* units a full bucket holds (at least 1) */
};

/* Takes n units from the bucket whose full-again time is *full_at. */
void ratelimit_charge(const struct ratelimit *rl, uint64_t *full_at,
		      uint64_t now, uint64_t n);
/* Nanoseconds until the bucket holds at least one unit again; 0 when
 * it does now (or there is no limit). */
uint64_t ratelimit_wait(const struct ratelimit *rl, uint64_t full_at,
			uint64_t now);
/* Whether the bucket holds less than half its burst: the client has
 * been sending at about its rate lately. */
bool ratelimit_low(const struct ratelimit *rl, uint64_t full_at, uint64_t now);

#endif
