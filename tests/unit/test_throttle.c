/* throttle: authentication attempts per key in fixed windows, counted
 * from when they start, with time given by the test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/c2s/throttle.h"
#include "unit.h"

/* One attempt that fails: claimed, failed, released. */
static void fail_once(struct throttle *t, const char *key, uint64_t now_ms)
{
	ck_assert_int_eq(throttle_claim(t, key, now_ms), THROTTLE_OPEN);
	throttle_fail(t, key, now_ms);
	throttle_release(t, key, now_ms);
}

START_TEST(a_key_is_throttled_at_its_limit_until_the_window_ends)
{
	struct throttle *t = throttle_new(3, 60, 16);
	ck_assert_ptr_nonnull(t);
	fail_once(t, "k", 1000);
	fail_once(t, "k", 2000);
	fail_once(t, "k", 3000);
	/* The first refusal of the window is the one to log. */
	ck_assert_int_eq(throttle_claim(t, "k", 3000), THROTTLE_CLOSED_FIRST);
	ck_assert_int_eq(throttle_claim(t, "k", 4000), THROTTLE_CLOSED);
	ck_assert_int_eq(throttle_claim(t, "k", 60999), THROTTLE_CLOSED);
	/* The window opened at the first attempt (1000) and lasts 60 s. */
	ck_assert_int_eq(throttle_claim(t, "k", 61000), THROTTLE_OPEN);
	throttle_free(t);
}
END_TEST

START_TEST(attempts_in_flight_count_before_they_fail)
{
	/* Parallel attempts: the fourth is refused while three run, though
	 * none has failed yet: busy, not closed. */
	struct throttle *t = throttle_new(3, 60, 16);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(throttle_claim(t, "k", 0), THROTTLE_OPEN);
	ck_assert_int_eq(throttle_claim(t, "k", 0), THROTTLE_BUSY);
	/* One succeeds: its place is free again. */
	throttle_release(t, "k", 10);
	ck_assert_int_eq(throttle_claim(t, "k", 20), THROTTLE_OPEN);
	/* All three fail: the key stays closed for the window. */
	for (int i = 0; i < 3; i++) {
		throttle_fail(t, "k", 30);
		throttle_release(t, "k", 30);
	}
	ck_assert_int_eq(throttle_claim(t, "k", 40), THROTTLE_CLOSED_FIRST);
	ck_assert_int_eq(throttle_claim(t, "k", 60000), THROTTLE_OPEN);
	throttle_free(t);
}
END_TEST

START_TEST(a_key_without_failures_is_forgotten_once_released)
{
	struct throttle *t = throttle_new(3, 60, 16);
	ck_assert_int_eq(throttle_claim(t, "ok", 0), THROTTLE_OPEN);
	ck_assert_int_eq(throttle_claim(t, "bad", 0), THROTTLE_OPEN);
	ck_assert_uint_eq(throttle_count(t), 2);
	throttle_release(t, "ok", 1);
	throttle_fail(t, "bad", 1);
	throttle_release(t, "bad", 1);
	ck_assert_uint_eq(throttle_count(t), 1);
	/* A failure outlives its window only until the key's next end. */
	ck_assert_int_eq(throttle_claim(t, "bad", 70000), THROTTLE_OPEN);
	throttle_release(t, "bad", 70000);
	ck_assert_uint_eq(throttle_count(t), 0);
	throttle_free(t);
}
END_TEST

START_TEST(failures_after_the_window_open_a_new_one)
{
	struct throttle *t = throttle_new(2, 10, 16);
	fail_once(t, "k", 0);
	fail_once(t, "k", 10000); /* window [0,10000) is over */
	ck_assert_int_eq(throttle_claim(t, "k", 10000), THROTTLE_OPEN);
	throttle_fail(t, "k", 15000);
	throttle_release(t, "k", 15000);
	ck_assert_int_eq(throttle_claim(t, "k", 15000), THROTTLE_CLOSED_FIRST);
	/* New window, logged again once. */
	ck_assert_int_eq(throttle_claim(t, "k", 19999), THROTTLE_CLOSED);
	fail_once(t, "k", 20000);
	fail_once(t, "k", 21000);
	ck_assert_int_eq(throttle_claim(t, "k", 21000), THROTTLE_CLOSED_FIRST);
	throttle_free(t);
}
END_TEST

START_TEST(keys_are_counted_apart)
{
	struct throttle *t = throttle_new(1, 60, 16);
	fail_once(t, "alice@example.org", 0);
	ck_assert_int_eq(throttle_claim(t, "alice@example.org", 1),
			 THROTTLE_CLOSED_FIRST);
	ck_assert_int_eq(throttle_claim(t, "bob@example.org", 1),
			 THROTTLE_OPEN);
	ck_assert_int_eq(throttle_claim(t, "alice@example.or", 1),
			 THROTTLE_OPEN);
	throttle_free(t);
}
END_TEST

START_TEST(no_limit_is_always_open)
{
	struct throttle *t = throttle_new(0, 60, 16);
	ck_assert_ptr_null(t);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(throttle_claim(t, "k", 0), THROTTLE_OPEN);
	throttle_fail(t, "k", 0);
	throttle_release(t, "k", 0);
	throttle_note(t, "k", 0);
	ck_assert(!throttle_claim_noted(t, "k", 0));
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
	ck_assert_int_eq(throttle_claim(t, "d", 90000), THROTTLE_CLOSED_FIRST);
	ck_assert_int_eq(throttle_claim(t, "b", 90000), THROTTLE_CLOSED_FIRST);
	/* None expired: the oldest window ("b", 70000) goes. */
	throttle_fail(t, "e", 91000);
	ck_assert_uint_eq(throttle_count(t), 3);
	ck_assert_int_eq(throttle_claim(t, "c", 91000), THROTTLE_CLOSED_FIRST);
	ck_assert_int_eq(throttle_claim(t, "e", 91000), THROTTLE_CLOSED_FIRST);
	ck_assert_int_eq(throttle_claim(t, "b", 91000), THROTTLE_OPEN);
	throttle_free(t);
}
END_TEST

START_TEST(keys_with_attempts_in_flight_keep_their_slot)
{
	struct throttle *t = throttle_new(2, 60, 2);
	ck_assert_int_eq(throttle_claim(t, "busy", 0), THROTTLE_OPEN);
	ck_assert_int_eq(throttle_claim(t, "busy", 0), THROTTLE_OPEN);
	throttle_fail(t, "idle", 1000);
	/* A new key takes the newer slot with nothing in flight. */
	throttle_fail(t, "new", 2000);
	ck_assert_int_eq(throttle_claim(t, "busy", 3000), THROTTLE_BUSY);
	throttle_free(t);
}
END_TEST

/* ---- waiting for a place ---- */

/* n attempts in flight for key, then n_waiting waiters queued. */
static void fill_and_queue(struct throttle *t, const char *key, int n,
			   struct throttle_waiter *w, int n_waiting)
{
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(throttle_claim(t, key, 0), THROTTLE_OPEN);
	for (int i = 0; i < n_waiting; i++)
		ck_assert_int_eq(throttle_wait(t, key, &w[i], 0),
				 THROTTLE_BUSY);
}

START_TEST(a_busy_key_queues_waiters_and_hands_them_places_in_order)
{
	struct throttle *t = throttle_new(2, 60, 16);
	struct throttle_waiter w[3];
	fill_and_queue(t, "k", 2, w, 3);
	/* Nothing ended: nobody's turn. */
	ck_assert_ptr_null(throttle_wake(t, "k", 1));
	/* A success frees one place: the first waiter takes it. */
	throttle_release(t, "k", 10);
	ck_assert_ptr_eq(throttle_wake(t, "k", 10), &w[0]);
	ck_assert_int_eq(w[0].state, THROTTLE_OPEN);
	ck_assert_ptr_null(throttle_wake(t, "k", 10));
	/* A newcomer queues behind those already waiting. */
	ck_assert_int_eq(throttle_claim(t, "k", 11), THROTTLE_BUSY);
	throttle_release(t, "k", 20);
	ck_assert_ptr_eq(throttle_wake(t, "k", 20), &w[1]);
	throttle_release(t, "k", 30);
	ck_assert_ptr_eq(throttle_wake(t, "k", 30), &w[2]);
	ck_assert_int_eq(w[2].state, THROTTLE_OPEN);
	/* Both places taken by the woken ones, no failure: */
	ck_assert_int_eq(throttle_claim(t, "k", 40), THROTTLE_BUSY);
	throttle_release(t, "k", 50);
	throttle_release(t, "k", 50);
	ck_assert_uint_eq(throttle_count(t), 0);
	throttle_free(t);
}
END_TEST

START_TEST(failures_refuse_the_waiters_and_never_pass_the_limit)
{
	/* Ten waiting behind two guesses in flight, limit 2: both guesses
	 * fail, and every waiter is refused, none admitted. */
	struct throttle *t = throttle_new(2, 60, 16);
	struct throttle_waiter w[10];
	fill_and_queue(t, "alice", 2, w, 10);
	throttle_fail(t, "alice", 5);
	throttle_release(t, "alice", 5);
	/* One failure, one in flight: still no place. */
	ck_assert_ptr_null(throttle_wake(t, "alice", 5));
	throttle_fail(t, "alice", 6);
	throttle_release(t, "alice", 6);
	for (int i = 0; i < 10; i++) {
		ck_assert_ptr_eq(throttle_wake(t, "alice", 6), &w[i]);
		ck_assert_int_eq(w[i].state, i == 0 ? THROTTLE_CLOSED_FIRST
						    : THROTTLE_CLOSED);
	}
	ck_assert_ptr_null(throttle_wake(t, "alice", 6));
	/* A closed key queues no one. */
	struct throttle_waiter late;
	ck_assert_int_eq(throttle_wait(t, "alice", &late, 7), THROTTLE_CLOSED);
	ck_assert_ptr_null(throttle_wake(t, "alice", 7));
	throttle_free(t);
}
END_TEST

START_TEST(a_waiter_that_leaves_is_out_of_the_queue_at_once)
{
	struct throttle *t = throttle_new(1, 60, 16);
	struct throttle_waiter w[3];
	fill_and_queue(t, "k", 1, w, 3);
	/* The middle one, then the first, leave; the last is next. */
	throttle_unwait(t, "k", &w[1], 1);
	throttle_unwait(t, "k", &w[0], 1);
	throttle_release(t, "k", 2);
	ck_assert_ptr_eq(throttle_wake(t, "k", 2), &w[2]);
	ck_assert_ptr_null(throttle_wake(t, "k", 2));
	/* The last one leaves once woken: nothing to take out. */
	throttle_unwait(t, "k", &w[2], 3);
	throttle_release(t, "k", 3);
	ck_assert_uint_eq(throttle_count(t), 0);
	/* A key whose only waiter left, with nothing else, is forgotten. */
	struct throttle_waiter v;
	fill_and_queue(t, "j", 1, &v, 1);
	throttle_unwait(t, "j", &v, 5);
	throttle_release(t, "j", 5);
	ck_assert_ptr_null(throttle_wake(t, "j", 5));
	ck_assert_uint_eq(throttle_count(t), 0);
	throttle_free(t);
}
END_TEST

START_TEST(keys_with_waiters_are_never_given_away)
{
	/* Their queues are the callers' memory: a full table refuses to
	 * make a new key rather than forget them. */
	struct throttle *t = throttle_new(1, 60, 2);
	struct throttle_waiter a, b;
	fill_and_queue(t, "a", 1, &a, 1);
	fill_and_queue(t, "b", 1, &b, 1);
	throttle_fail(t, "c", 120000);
	ck_assert_uint_eq(throttle_count(t), 2);
	throttle_release(t, "a", 120000);
	ck_assert_ptr_eq(throttle_wake(t, "a", 120000), &a);
	ck_assert_ptr_eq(a.next, NULL);
	throttle_release(t, "b", 120000);
	ck_assert_ptr_eq(throttle_wake(t, "b", 120000), &b);
	throttle_free(t);
}
END_TEST

START_TEST(no_limit_never_makes_anyone_wait)
{
	struct throttle_waiter w;
	ck_assert_int_eq(throttle_wait(NULL, "k", &w, 0), THROTTLE_OPEN);
	ck_assert_ptr_null(throttle_wake(NULL, "k", 0));
	throttle_unwait(NULL, "k", &w, 0);
}
END_TEST

START_TEST(many_keys_stay_within_capacity)
{
	struct throttle *t = throttle_new(5, 60, 1000);
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof key, "10.0.%d.%d", i / 256, i % 256);
		throttle_fail(t, key, (uint64_t)i);
		ck_assert_int_eq(throttle_claim(t, key, (uint64_t)i),
				 THROTTLE_OPEN);
	}
	ck_assert_uint_eq(throttle_count(t), 1000);
	throttle_free(t);
}
END_TEST

/* A forgotten key's slot takes the last one: the keys that move keep
 * their state. */
START_TEST(forgetting_keys_loses_none_of_the_others)
{
	struct throttle *t = throttle_new(1, 60, 200);
	char key[32];
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "user%d@example.org", i);
		ck_assert_int_eq(throttle_claim(t, key, 0), THROTTLE_OPEN);
	}
	for (int i = 1; i < 100; i += 2) {
		snprintf(key, sizeof key, "user%d@example.org", i);
		throttle_release(t, key, 1);
	}
	ck_assert_uint_eq(throttle_count(t), 50);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "user%d@example.org", i);
		ck_assert_int_eq(throttle_claim(t, key, 2),
				 i % 2 ? THROTTLE_OPEN : THROTTLE_BUSY);
	}
	ck_assert_uint_eq(throttle_count(t), 100);
	throttle_free(t);
}
END_TEST

START_TEST(a_noted_success_admits_one_attempt_at_a_time_until_a_failure)
{
	struct throttle *t = throttle_new(1, 3600, 16);
	ck_assert(!throttle_claim_noted(t, "alice 192.0.2.7", 0));
	throttle_note(t, "alice 192.0.2.7", 0);
	ck_assert(throttle_claim_noted(t, "alice 192.0.2.7", 1000));
	ck_assert(!throttle_claim_noted(t, "alice 192.0.2.7", 1000));
	/* Unfinished without a failure (nothing checked): kept. */
	throttle_release(t, "alice 192.0.2.7", 2000);
	ck_assert(throttle_claim_noted(t, "alice 192.0.2.7", 3000));
	/* A failure spends the record. */
	throttle_fail(t, "alice 192.0.2.7", 4000);
	throttle_release(t, "alice 192.0.2.7", 4000);
	ck_assert(!throttle_claim_noted(t, "alice 192.0.2.7", 5000));
	/* A new success renews it, for the period. */
	throttle_note(t, "alice 192.0.2.7", 6000);
	ck_assert(throttle_claim_noted(t, "alice 192.0.2.7", 7000));
	throttle_release(t, "alice 192.0.2.7", 7000);
	ck_assert(throttle_claim_noted(t, "alice 192.0.2.7", 3605999));
	throttle_release(t, "alice 192.0.2.7", 3605999);
	ck_assert(!throttle_claim_noted(t, "alice 192.0.2.7", 3606000));
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
	tcase_add_test(tc,
		       a_key_is_throttled_at_its_limit_until_the_window_ends);
	tcase_add_test(tc, attempts_in_flight_count_before_they_fail);
	tcase_add_test(tc, a_key_without_failures_is_forgotten_once_released);
	tcase_add_test(tc, failures_after_the_window_open_a_new_one);
	tcase_add_test(tc, keys_are_counted_apart);
	tcase_add_test(tc, no_limit_is_always_open);
	tcase_add_test(tc, a_full_table_reuses_expired_then_oldest_slots);
	tcase_add_test(tc, keys_with_attempts_in_flight_keep_their_slot);
	tcase_add_test(tc, many_keys_stay_within_capacity);
	tcase_add_test(tc, forgetting_keys_loses_none_of_the_others);
	tcase_add_test(
		tc, a_busy_key_queues_waiters_and_hands_them_places_in_order);
	tcase_add_test(tc,
		       failures_refuse_the_waiters_and_never_pass_the_limit);
	tcase_add_test(tc, a_waiter_that_leaves_is_out_of_the_queue_at_once);
	tcase_add_test(tc, keys_with_waiters_are_never_given_away);
	tcase_add_test(tc, no_limit_never_makes_anyone_wait);
	tcase_add_test(
		tc,
		a_noted_success_admits_one_attempt_at_a_time_until_a_failure);
	tcase_add_test(tc, address_keys_drop_the_port_and_keep_an_ipv6_64);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
