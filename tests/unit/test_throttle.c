/* throttle: failed authentications per key in fixed windows, with time
 * given by the test. */
#include <check.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../../server/c2s/c2s.h"
#include "unit.h"

START_TEST(a_key_is_throttled_at_its_limit_until_the_window_ends)
{
	struct throttle *t = throttle_new(3, 60, 16);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(throttle_check(t, "k", 0), THROTTLE_OPEN);
	throttle_fail(t, "k", 1000);
	throttle_fail(t, "k", 2000);
	ck_assert_int_eq(throttle_check(t, "k", 2000), THROTTLE_OPEN);
	throttle_fail(t, "k", 3000);
	/* The first refusal of the window is the one to log. */
	ck_assert_int_eq(throttle_check(t, "k", 3000), THROTTLE_CLOSED_FIRST);
	ck_assert_int_eq(throttle_check(t, "k", 4000), THROTTLE_CLOSED);
	ck_assert_int_eq(throttle_check(t, "k", 60999), THROTTLE_CLOSED);
	/* The window opened at the first failure (1000) and lasts 60 s. */
	ck_assert_int_eq(throttle_check(t, "k", 61000), THROTTLE_OPEN);
	throttle_free(t);
}
END_TEST

START_TEST(failures_after_the_window_open_a_new_one)
{
	struct throttle *t = throttle_new(2, 10, 16);
	throttle_fail(t, "k", 0);
	throttle_fail(t, "k", 10000); /* window [0,10000) is over */
	ck_assert_int_eq(throttle_check(t, "k", 10000), THROTTLE_OPEN);
	throttle_fail(t, "k", 15000);
	ck_assert_int_eq(throttle_check(t, "k", 15000), THROTTLE_CLOSED_FIRST);
	/* New window, logged again once. */
	ck_assert_int_eq(throttle_check(t, "k", 19999), THROTTLE_CLOSED);
	throttle_fail(t, "k", 20000);
	throttle_fail(t, "k", 21000);
	ck_assert_int_eq(throttle_check(t, "k", 21000), THROTTLE_CLOSED_FIRST);
	throttle_free(t);
}
END_TEST

START_TEST(keys_are_counted_apart)
{
	struct throttle *t = throttle_new(1, 60, 16);
	throttle_fail(t, "alice@example.org", 0);
	ck_assert_int_eq(throttle_check(t, "alice@example.org", 1),
			 THROTTLE_CLOSED_FIRST);
	ck_assert_int_eq(throttle_check(t, "bob@example.org", 1),
			 THROTTLE_OPEN);
	ck_assert_int_eq(throttle_check(t, "alice@example.or", 1),
			 THROTTLE_OPEN);
	throttle_free(t);
}
END_TEST

START_TEST(no_limit_is_always_open)
{
	struct throttle *t = throttle_new(0, 60, 16);
	ck_assert_ptr_null(t);
	throttle_fail(t, "k", 0);
	ck_assert_int_eq(throttle_check(t, "k", 0), THROTTLE_OPEN);
	ck_assert_uint_eq(throttle_count(t), 0);
}
END_TEST

START_TEST(a_full_table_reuses_expired_then_oldest_slots)
{
	struct throttle *t = throttle_new(1, 60, 3);
	throttle_fail(t, "a", 0);
	throttle_fail(t, "b", 70000);
	throttle_fail(t, "c", 80000);
	ck_assert_uint_eq(throttle_count(t), 3);
	/* "a" expired (window 0..60000): its slot goes to "d". */
	throttle_fail(t, "d", 90000);
	ck_assert_uint_eq(throttle_count(t), 3);
	ck_assert_int_eq(throttle_check(t, "d", 90000), THROTTLE_CLOSED_FIRST);
	ck_assert_int_eq(throttle_check(t, "b", 90000), THROTTLE_CLOSED_FIRST);
	/* None expired: the oldest window ("b", 70000) goes. */
	throttle_fail(t, "e", 91000);
	ck_assert_uint_eq(throttle_count(t), 3);
	ck_assert_int_eq(throttle_check(t, "b", 91000), THROTTLE_OPEN);
	ck_assert_int_eq(throttle_check(t, "c", 91000), THROTTLE_CLOSED_FIRST);
	ck_assert_int_eq(throttle_check(t, "e", 91000), THROTTLE_CLOSED_FIRST);
	throttle_free(t);
}
END_TEST

START_TEST(many_keys_stay_within_capacity)
{
	struct throttle *t = throttle_new(5, 60, 1000);
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "10.0.%d.%d", i / 256, i % 256);
		throttle_fail(t, key, (uint64_t)i);
	}
	ck_assert_uint_eq(throttle_count(t), 1000);
	throttle_free(t);
}
END_TEST

static void assert_address_key(const char *peer, const char *want)
{
	char key[80];
	ck_assert_int_eq(throttle_address_key(peer, key, sizeof key), 0);
	ck_assert_str_eq(key, want);
}

START_TEST(address_keys_drop_the_port_and_keep_an_ipv6_64)
{
	assert_address_key("192.0.2.7:51234", "192.0.2.7");
	assert_address_key("[2001:db8:1:2:3:4:5:6]:5222", "2001:db8:1:2::/64");
	assert_address_key("[::1]:5222", "::/64");
	assert_address_key("[::ffff:192.0.2.7]:1", "192.0.2.7");
	char key[80];
	ck_assert_int_lt(throttle_address_key("?", key, sizeof key), 0);
	ck_assert_int_lt(throttle_address_key("[]:1", key, sizeof key), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("throttle");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, a_key_is_throttled_at_its_limit_until_the_window_ends);
	tcase_add_test(tc, failures_after_the_window_open_a_new_one);
	tcase_add_test(tc, keys_are_counted_apart);
	tcase_add_test(tc, no_limit_is_always_open);
	tcase_add_test(tc, a_full_table_reuses_expired_then_oldest_slots);
	tcase_add_test(tc, many_keys_stay_within_capacity);
	tcase_add_test(tc, address_keys_drop_the_port_and_keep_an_ipv6_64);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
