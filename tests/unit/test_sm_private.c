/* sm private: the items of XEP-0049 private storage through private.h,
 * as another module (bookmarks) uses them, on a real storage (SQLite in
 * a temporary directory) and a real loop. */

#include "../../lib/log.h"
#include "../../server/sm/private.h"
#include "../../server/sm/sm.h"
#include "sm_harness.h"
#include "unit.h"
#include <check.h>
#include <stdio.h>
#include <string.h>

static char *hosts[] = {"localhost"};
static char *modules_on[] = {"private"};

#define HAMLET "hamlet@localhost"
#define ITEM "<query xmlns='jabber:iq:private'><x xmlns='urn:a'/></query>"

static void setup(void)
{
	make_temp_store("private");
	config_reset(hosts, 1, modules_on, 1);
	config_set_sm("private-namespaces", "2");
	start_sm();
}

/* What the callbacks heard, in order. */
static struct heard {
	char what[64];
	int status;
	char value[256];
} heard[16];
static size_t nheard, calls;

static void on_get(struct sm *s, void *ctx, enum sm_private_status status,
		   const char *value, size_t len)
{
	calls++;
	if (nheard == sizeof heard / sizeof *heard)
		return;
	struct heard *h = &heard[nheard++];
	snprintf(h->what, sizeof h->what, "%s", (const char *)ctx);
	h->status = status;
	snprintf(h->value, sizeof h->value, "%.*s", (int)len,
		 value ? value : "");
}

static void on_put(struct sm *s, void *ctx, enum sm_private_status status)
{
	on_get(s, ctx, status, NULL, 0);
}

static void put(const char *user, const char *ns, const char *what)
{
	ck_assert_int_eq(sm_private_put(&sm, user, ns, ITEM, strlen(ITEM),
					on_put, (void *)what),
			 0);
}

/* Runs the loop until n callbacks came: a request's reads follow one
 * another, which settle() does not wait for. */
static void wait_calls(size_t n)
{
	while (calls < n)
		uv_run(&loop, UV_RUN_ONCE);
	settle();
}

static void teardown(void)
{
	nheard = calls = 0;
	teardown_stored_sm();
}

START_TEST(get_of_nothing_then_put_then_get)
{
	ck_assert_int_eq(sm_private_get(&sm, HAMLET, "urn:a", on_get, "get1"),
			 0);
	put(HAMLET, "urn:a", "put");
	ck_assert_int_eq(sm_private_get(&sm, HAMLET, "urn:a", on_get, "get2"),
			 0);
	ck_assert_uint_eq(nheard, 0); /* never before the completions */
	wait_calls(3);
	ck_assert_uint_eq(nheard, 3);
	ck_assert_str_eq(heard[0].what, "get1");
	ck_assert_int_eq(heard[0].status, SM_PRIVATE_OK);
	ck_assert_str_eq(heard[0].value, "");
	ck_assert_str_eq(heard[1].what, "put");
	ck_assert_int_eq(heard[1].status, SM_PRIVATE_OK);
	ck_assert_str_eq(heard[2].what, "get2");
	ck_assert_str_eq(heard[2].value, ITEM);
	struct stored *st = load_stored(HAMLET, "private");
	ck_assert_uint_eq(st->count, 1);
	ck_assert_str_eq(st->keys[0], "urn:a");
}
END_TEST

/* Puts queued together: the third new namespace is refused, a
 * replacement is not, and another user has a limit of its own. */
START_TEST(namespace_limit_holds_for_puts_queued_together)
{
	put(HAMLET, "urn:a", "a");
	put(HAMLET, "urn:b", "b");
	put(HAMLET, "urn:c", "c");
	put(HAMLET, "urn:a", "a again");
	put("ophelia@localhost", "urn:c", "ophelia");
	wait_calls(5);
	ck_assert_uint_eq(nheard, 5);
	for (size_t i = 0; i < nheard; i++)
		ck_assert_int_eq(heard[i].status,
				 strcmp(heard[i].what, "c") == 0
					 ? SM_PRIVATE_TOO_MANY
					 : SM_PRIVATE_OK);
	ck_assert_uint_eq(load_stored(HAMLET, "private")->count, 2);
}
END_TEST

START_TEST(items_survive_a_restart)
{
	put(HAMLET, "urn:a", "put");
	wait_calls(1);
	stop_sm();
	start_sm();
	ck_assert_int_eq(sm_private_get(&sm, HAMLET, "urn:a", on_get, "get"),
			 0);
	wait_calls(2);
	ck_assert_uint_eq(nheard, 2);
	ck_assert_str_eq(heard[1].value, ITEM);
}
END_TEST

START_TEST(a_flood_of_one_user_is_refused_past_the_queue)
{
	int refused = 0;
	for (int i = 0; i < 40; i++)
		if (sm_private_get(&sm, HAMLET, "urn:a", on_get, "g") < 0)
			refused++;
	/* 32 wait at most, each answered once. */
	ck_assert_int_eq(refused, 40 - 32);
	wait_calls(32);
	ck_assert_uint_eq(calls, 32);
	ck_assert_uint_eq(sm_private_item_max(&sm), 65536);
}
END_TEST

int main(void)
{
	log_init("test_sm_private", LOG_WARN);
	Suite *s = suite_create("sm_private");
	TCase *tc = tcase_create("private");
	tcase_set_timeout(tc, 30);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, get_of_nothing_then_put_then_get);
	tcase_add_test(tc, namespace_limit_holds_for_puts_queued_together);
	tcase_add_test(tc, items_survive_a_restart);
	tcase_add_test(tc, a_flood_of_one_user_is_refused_past_the_queue);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
