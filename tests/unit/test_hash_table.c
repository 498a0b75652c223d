/* hash_table: the intrusive table of lib/, with entries keyed by a
 * number, hashed well (hash_u64) or badly (every key in one of a few
 * chains), so that every path meets long chains too. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/hash_table.h"
#include "unit.h"

#define MANY 5000

struct item {
	unsigned key;
	struct hash_link link;
	unsigned seen; /* times an iteration met it */
};

static struct item items[MANY];
static struct hash_table table;
/* The hash in use: hash_u64, or one of a few values. */
static uint64_t (*key_hash)(unsigned key);

static uint64_t good_hash(unsigned key)
{
	return hash_u64(key);
}

static uint64_t colliding_hash(unsigned key)
{
	return key % 3;
}

static uint64_t item_hash(const struct hash_link *l)
{
	return key_hash(hash_entry(l, struct item, link)->key);
}

static bool item_match(const struct hash_link *l, const void *key)
{
	return hash_entry(l, struct item, link)->key == *(const unsigned *)key;
}

static struct item *find(unsigned key)
{
	struct hash_link *l =
		hash_table_find(&table, key_hash(key), item_match, &key);
	return l ? hash_entry(l, struct item, link) : NULL;
}

/* Inserts items[from .. to - 1]. */
static void insert(unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++) {
		items[i] = (struct item){.key = i * 7 + 1};
		ck_assert_int_eq(hash_table_insert(&table, &items[i].link,
						   key_hash(items[i].key)),
				 0);
	}
	ck_assert_uint_eq(table.count, to);
}

static void setup_good(void)
{
	key_hash = good_hash;
	hash_table_init(&table, item_hash, 4);
}

static void setup_colliding(void)
{
	key_hash = colliding_hash;
	hash_table_init(&table, item_hash, 4);
}

static void teardown(void)
{
	hash_table_free(&table);
}

START_TEST(an_empty_table_finds_nothing_and_allocates_nothing)
{
	unsigned key = 1;
	ck_assert_ptr_null(find(key));
	ck_assert_ptr_null(hash_table_next(&table, NULL));
	hash_table_remove(&table, &items[0].link);
	ck_assert_ptr_null(table.buckets);
	ck_assert_uint_eq(table.count, 0);
}
END_TEST

START_TEST(what_is_inserted_is_found_until_removed)
{
	insert(0, 3);
	ck_assert_ptr_eq(find(1), &items[0]);
	ck_assert_ptr_eq(find(8), &items[1]);
	ck_assert_ptr_eq(find(15), &items[2]);
	ck_assert_ptr_null(find(2));
	hash_table_remove(&table, &items[1].link);
	ck_assert_uint_eq(table.count, 2);
	ck_assert_ptr_null(find(8));
	ck_assert_ptr_eq(find(1), &items[0]);
	ck_assert_ptr_eq(find(15), &items[2]);
	/* Removing what is not there changes nothing. */
	hash_table_remove(&table, &items[1].link);
	ck_assert_uint_eq(table.count, 2);
	ck_assert_int_eq(hash_table_insert(&table, &items[1].link,
					   key_hash(items[1].key)),
			 0);
	ck_assert_ptr_eq(find(8), &items[1]);
}
END_TEST

START_TEST(the_table_doubles_at_one_entry_per_bucket)
{
	ck_assert_uint_eq(table.mask + 1, 4);
	insert(0, 4);
	ck_assert_uint_eq(table.mask + 1, 4);
	insert(4, 5);
	ck_assert_uint_eq(table.mask + 1, 8);
	insert(5, MANY);
	ck_assert_uint_eq(table.mask + 1, 8192); /* >= 5000, doubled from 4 */
	for (unsigned i = 0; i < MANY; i++)
		ck_assert_ptr_eq(find(items[i].key), &items[i]);
	ck_assert_ptr_null(find(0));
}
END_TEST

START_TEST(the_first_size_is_a_power_of_two)
{
	hash_table_init(&table, item_hash, 100);
	ck_assert_uint_eq(table.mask + 1, 128);
	hash_table_init(&table, item_hash, 0);
	ck_assert_uint_eq(table.mask + 1, 1);
	insert(0, 3);
	ck_assert_uint_eq(table.mask + 1, 4);
}
END_TEST

START_TEST(iteration_meets_every_entry_once)
{
	insert(0, MANY);
	struct hash_link *l;
	size_t n = 0;
	for (l = hash_table_next(&table, NULL); l;
	     l = hash_table_next(&table, l), n++)
		hash_entry(l, struct item, link)->seen++;
	ck_assert_uint_eq(n, MANY);
	for (unsigned i = 0; i < MANY; i++)
		ck_assert_uint_eq(items[i].seen, 1);
}
END_TEST

START_TEST(iteration_may_remove_the_current_entry)
{
	insert(0, MANY);
	struct hash_link *l, *next;
	size_t n = 0;
	/* Removes every odd key, and wipes its link as freeing would. */
	hash_table_for_each(&table, l, next)
	{
		struct item *it = hash_entry(l, struct item, link);
		it->seen++;
		n++;
		if (it->key % 2) {
			hash_table_remove(&table, l);
			memset(&it->link, 0xa5, sizeof it->link);
		}
	}
	ck_assert_uint_eq(n, MANY);
	for (unsigned i = 0; i < MANY; i++) {
		ck_assert_uint_eq(items[i].seen, 1);
		ck_assert_ptr_eq(find(items[i].key),
				 items[i].key % 2 ? NULL : &items[i]);
	}
	ck_assert_uint_eq(table.count, MANY / 2);
	/* Then removes the rest. */
	hash_table_for_each(&table, l, next) hash_table_remove(&table, l);
	ck_assert_uint_eq(table.count, 0);
	ck_assert_ptr_null(hash_table_next(&table, NULL));
}
END_TEST

START_TEST(the_string_hash_is_fnv1a)
{
	/* The FNV-1a 64-bit test vectors of draft-eastlake-fnv. */
	ck_assert_uint_eq(hash_string(""), 0xcbf29ce484222325ull);
	ck_assert_uint_eq(hash_string("a"), 0xaf63dc4c8601ec8cull);
	ck_assert_uint_eq(hash_string("foobar"), 0x85944171f73967e8ull);
	ck_assert_uint_eq(hash_bytes("foobar", 6), hash_string("foobar"));
	ck_assert_uint_eq(hash_bytes_from(hash_bytes("foo", 3), "bar", 3),
			  hash_string("foobar"));
	ck_assert_uint_eq(hash_string_from(hash_string("foo"), "bar"),
			  hash_string("foobar"));
}
END_TEST

START_TEST(consecutive_ids_spread_over_the_buckets)
{
	/* 1024 ids in a row, 1024 buckets: no chain longer than 2. */
	unsigned chain[1024] = {0};
	for (uint64_t id = 1000; id < 2024; id++)
		ck_assert_uint_le(++chain[hash_u64(id) & 1023], 2);
}
END_TEST

static void add_table_tests(TCase *tc)
{
	tcase_add_test(tc, an_empty_table_finds_nothing_and_allocates_nothing);
	tcase_add_test(tc, what_is_inserted_is_found_until_removed);
	tcase_add_test(tc, the_table_doubles_at_one_entry_per_bucket);
	tcase_add_test(tc, the_first_size_is_a_power_of_two);
	tcase_add_test(tc, iteration_meets_every_entry_once);
	tcase_add_test(tc, iteration_may_remove_the_current_entry);
}

int main(void)
{
	Suite *s = suite_create("hash_table");
	TCase *good = tcase_create("hashed");
	tcase_add_checked_fixture(good, setup_good, teardown);
	add_table_tests(good);
	suite_add_tcase(s, good);
	/* The same with every key in one of 3 chains. */
	TCase *bad = tcase_create("colliding");
	tcase_add_checked_fixture(bad, setup_colliding, teardown);
	add_table_tests(bad);
	suite_add_tcase(s, bad);
	TCase *fn = tcase_create("hashes");
	tcase_add_test(fn, the_string_hash_is_fnv1a);
	tcase_add_test(fn, consecutive_ids_spread_over_the_buckets);
	suite_add_tcase(s, fn);
	return unit_run(s);
}
