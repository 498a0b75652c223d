/* ratelimit: the token buckets of c2s/rate-limit, with time given by
 * the test (nanoseconds). */
#include <check.h>

#include "../../server/c2s/ratelimit.h"
#include "unit.h"

#define MS 1000000ull
#define S (1000 * MS)

/* How many units the bucket lets through at `now`, one at a time. */
static unsigned take_all(const struct ratelimit *rl, uint64_t *full_at,
			 uint64_t now)
{
	unsigned n = 0;
	while (ratelimit_wait(rl, *full_at, now) == 0 && n < 1000000) {
		ratelimit_charge(rl, full_at, now, 1);
		n++;
	}
	return n;
}

START_TEST(a_full_bucket_gives_its_burst_then_the_rate)
{
	struct ratelimit rl = {10, 5}; /* 10 a second, bursts of 5 */
	uint64_t full_at = 0;
	uint64_t now = 1000 * S;
	ck_assert_uint_eq(take_all(&rl, &full_at, now), 5);
	/* Empty: the next unit comes after 1/10 s. */
	ck_assert_uint_eq(ratelimit_wait(&rl, full_at, now), 100 * MS);
	ck_assert_uint_eq(take_all(&rl, &full_at, now + 99 * MS), 0);
	ck_assert_uint_eq(take_all(&rl, &full_at, now + 100 * MS), 1);
	/* One second later: 10 more, never more than the burst. */
	ck_assert_uint_eq(take_all(&rl, &full_at, now + 1100 * MS), 5);
	ck_assert_uint_eq(take_all(&rl, &full_at, now + 1200 * MS), 1);
}
END_TEST

START_TEST(idle_time_is_no_credit_beyond_the_burst)
{
	struct ratelimit rl = {100, 20};
	uint64_t full_at = 0;
	ck_assert_uint_eq(take_all(&rl, &full_at, 5 * S), 20);
	/* An hour of silence refills the bucket, no more. */
	ck_assert_uint_eq(take_all(&rl, &full_at, 3605 * S), 20);
}
END_TEST

/* A read is parsed whole before its stanzas are counted: the bucket
 * goes below empty, and the client waits until that debt is paid. */
START_TEST(a_debt_is_paid_in_time)
{
	struct ratelimit rl = {50, 10};
	uint64_t full_at = 0, now = 7 * S;
	ratelimit_charge(&rl, &full_at, now, 110); /* 100 over the burst */
	/* Back to one unit once 101 units came back: 101/50 s. */
	ck_assert_uint_eq(ratelimit_wait(&rl, full_at, now), 2020 * MS);
	ck_assert_uint_eq(ratelimit_wait(&rl, full_at, now + 2020 * MS), 0);
	ck_assert(ratelimit_low(&rl, full_at, now + 2020 * MS));
	ck_assert(!ratelimit_low(&rl, full_at, now + 2300 * MS));
}
END_TEST

START_TEST(bytes_are_charged_by_the_read)
{
	struct ratelimit rl = {64 << 10, 512 << 10};
	uint64_t full_at = 0, now = S;
	ratelimit_charge(&rl, &full_at, now, 256 << 10);
	ck_assert_uint_eq(ratelimit_wait(&rl, full_at, now), 0);
	ck_assert(!ratelimit_low(&rl, full_at, now));
	ratelimit_charge(&rl, &full_at, now, 512 << 10);
	ck_assert(ratelimit_low(&rl, full_at, now));
	/* 256 KiB over: 4 s at 64 KiB/s (and one byte's time). */
	uint64_t wait = ratelimit_wait(&rl, full_at, now);
	ck_assert_uint_gt(wait, 4 * S);
	ck_assert_uint_lt(wait, 4 * S + MS);
}
END_TEST

START_TEST(a_rate_of_zero_is_no_limit)
{
	struct ratelimit rl = {0, 1};
	uint64_t full_at = 0;
	ratelimit_charge(&rl, &full_at, S, 1000000);
	ck_assert_uint_eq(full_at, 0);
	ck_assert_uint_eq(ratelimit_wait(&rl, full_at, S), 0);
	ck_assert(!ratelimit_low(&rl, full_at, S));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, a_full_bucket_gives_its_burst_then_the_rate);
	tcase_add_test(tc, idle_time_is_no_credit_beyond_the_burst);
	tcase_add_test(tc, a_debt_is_paid_in_time);
	tcase_add_test(tc, bytes_are_charged_by_the_read);
	tcase_add_test(tc, a_rate_of_zero_is_no_limit);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
