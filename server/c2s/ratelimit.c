/* ratelimit: token buckets as full-again times; see ratelimit.h. */
#include "ratelimit.h"

#define NS_PER_S 1000000000ull

/* The time n units take to come back. */
static uint64_t ratelimit_cost(const struct ratelimit *rl, uint64_t n)
{
	return n * NS_PER_S / rl->rate;
}

void ratelimit_charge(const struct ratelimit *rl, uint64_t *full_at,
		      uint64_t now, uint64_t n)
{
	if (!rl->rate)
		return;
	/* A full bucket does not fill further: idle time is not credit
	 * beyond the burst. */
	uint64_t from = *full_at > now ? *full_at : now;
	*full_at = from + ratelimit_cost(rl, n);
}

uint64_t ratelimit_wait(const struct ratelimit *rl, uint64_t full_at,
			uint64_t now)
{
	if (!rl->rate || full_at <= now)
		return 0;
	/* One unit is there once full_at - now <= (burst - 1) units' time. */
	uint64_t slack = ratelimit_cost(rl, rl->burst ? rl->burst - 1 : 0);
	uint64_t debt = full_at - now;
	return debt > slack ? debt - slack : 0;
}

bool ratelimit_low(const struct ratelimit *rl, uint64_t full_at, uint64_t now)
{
	return rl->rate && full_at > now &&
	       full_at - now > ratelimit_cost(rl, rl->burst / 2);
}
