/* storage: the SQLite backend on a temporary file, a real loop, the real
 * storage thread; one test per behaviour of storage.h. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../storage/schema.h"
#include "../../storage/storage.h"
#include "storage_fixture.h"
#include "unit.h"

static void run_until(const int *calls, int n)
{
	while (*calls < n)
		uv_run(&storage_loop, UV_RUN_ONCE);
}

struct written {
	int calls;
	enum storage_status status;
	int order; /* where in the sequence of completions (see next_order) */
};

static int next_order;

static void on_written(void *ctx, enum storage_status status)
{
	struct written *w = ctx;
	w->calls++;
	w->status = status;
	w->order = next_order++;
}

/* A copy of a read's result. */
struct got {
	int calls;
	enum storage_status status;
	int order;
	size_t count;
	bool items_null;
	char keys[64][32];
	char values[64][64];
	size_t lens[64];
};

static void on_got(void *ctx, enum storage_status status,
		   const struct storage_items *result)
{
	struct got *g = ctx;
	g->calls++;
	g->status = status;
	g->order = next_order++;
	g->count = result->count;
	g->items_null = result->items == NULL;
	for (size_t i = 0; result->items && i < result->count && i < 64; i++) {
		const struct storage_item *it = &result->items[i];
		ck_assert_uint_lt(strlen(it->key), 32);
		ck_assert_uint_lt(it->value_len, 64);
		strcpy(g->keys[i], it->key);
		memcpy(g->values[i], it->value, it->value_len + 1);
		g->lens[i] = it->value_len;
		/* storage.h: a NUL byte follows every value */
		ck_assert_int_eq(((const char *)it->value)[it->value_len], 0);
	}
}

static enum storage_status put(struct storage *s, const char *user,
			       const char *store, const char *key,
			       const char *value)
{
	struct written w = {0};
	struct storage_batch *b = storage_batch_new(s);
	ck_assert_int_eq(
		storage_batch_put(b, user, store, key, value, strlen(value)),
		0);
	ck_assert_int_eq(storage_batch_commit(b, on_written, &w), 0);
	run_until(&w.calls, 1);
	return w.status;
}

static enum storage_status append(struct storage *s, const char *user,
				  const char *store, const char *value)
{
	struct written w = {0};
	struct storage_batch *b = storage_batch_new(s);
	ck_assert_int_eq(
		storage_batch_append(b, user, store, value, strlen(value)), 0);
	ck_assert_int_eq(storage_batch_commit(b, on_written, &w), 0);
	run_until(&w.calls, 1);
	return w.status;
}

static enum storage_status delete (struct storage *s, const char *user,
				   const char *store, const char *key) {
	struct written w = {0}; struct storage_batch *b = storage_batch_new(s);
	ck_assert_int_eq(storage_batch_delete(b, user, store, key), 0);
	ck_assert_int_eq(storage_batch_commit(b, on_written, &w), 0);
	run_until(&w.calls, 1);
	return w.status;
}

static void load(struct storage *s, const char *user, const char *store,
		 struct got *g)
{
	memset(g, 0, sizeof *g);
	ck_assert_int_eq(storage_load(s, user, store, on_got, g), 0);
	run_until(&g->calls, 1);
	ck_assert_int_eq(g->status, STORAGE_OK);
}

static void get(struct storage *s, const char *user, const char *store,
		const char *key, struct got *g)
{
	memset(g, 0, sizeof *g);
	ck_assert_int_eq(storage_get(s, user, store, key, on_got, g), 0);
	run_until(&g->calls, 1);
	ck_assert_int_eq(g->status, STORAGE_OK);
}

#define A "alice@example.org"
#define B "bob@example.org"

/* ---- maps ---- */

START_TEST(put_then_get)
{
	struct storage *s = open_storage();
	struct got g;
	ck_assert_int_eq(put(s, A, "roster", B, "<item jid='bob'/>"),
			 STORAGE_OK);
	get(s, A, "roster", B, &g);
	ck_assert_uint_eq(g.count, 1);
	ck_assert_str_eq(g.keys[0], B);
	ck_assert_str_eq(g.values[0], "<item jid='bob'/>");
	ck_assert_uint_eq(g.lens[0], 17);
	get(s, A, "roster", "carol@example.org", &g);
	ck_assert_uint_eq(g.count, 0);
	get(s, B, "roster", B, &g); /* another user's store */
	ck_assert_uint_eq(g.count, 0);
	close_storage(s);
}
END_TEST

START_TEST(put_replaces_and_keeps_binary_values)
{
	struct storage *s = open_storage();
	struct got g;
	ck_assert_int_eq(put(s, A, "roster", B, "old"), STORAGE_OK);
	ck_assert_int_eq(put(s, A, "roster", B, "new"), STORAGE_OK);
	get(s, A, "roster", B, &g);
	ck_assert_uint_eq(g.count, 1);
	ck_assert_str_eq(g.values[0], "new");

	/* an empty value, and bytes with a NUL among them */
	struct written w = {0};
	struct storage_batch *b = storage_batch_new(s);
	ck_assert_int_eq(storage_batch_put(b, A, "x", "empty", NULL, 0), 0);
	ck_assert_int_eq(storage_batch_put(b, A, "x", "nul", "a\0b", 3), 0);
	ck_assert_int_eq(storage_batch_commit(b, on_written, &w), 0);
	run_until(&w.calls, 1);
	ck_assert_int_eq(w.status, STORAGE_OK);
	load(s, A, "x", &g);
	ck_assert_uint_eq(g.count, 2);
	ck_assert_uint_eq(g.lens[0], 0);
	ck_assert_uint_eq(g.lens[1], 3);
	ck_assert(memcmp(g.values[1], "a\0b", 3) == 0);
	close_storage(s);
}
END_TEST

START_TEST(load_returns_key_order)
{
	struct storage *s = open_storage();
	struct got g;
	const char *keys[] = {"carol@x", "alice@x", "dave@x", "bob@x"};
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(put(s, A, "roster", keys[i], keys[i]),
				 STORAGE_OK);
	ck_assert_int_eq(put(s, A, "blocklist", "eve@x", ""), STORAGE_OK);
	ck_assert_int_eq(put(s, B, "roster", "zed@x", ""), STORAGE_OK);
	load(s, A, "roster", &g);
	ck_assert_uint_eq(g.count, 4);
	ck_assert_str_eq(g.keys[0], "alice@x");
	ck_assert_str_eq(g.keys[1], "bob@x");
	ck_assert_str_eq(g.keys[2], "carol@x");
	ck_assert_str_eq(g.keys[3], "dave@x");
	ck_assert_str_eq(g.values[3], "dave@x");
	load(s, A, "nothing", &g);
	ck_assert_uint_eq(g.count, 0);
	close_storage(s);
}
END_TEST

START_TEST(count_gives_the_count_only)
{
	struct storage *s = open_storage();
	struct got g = {0};
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(append(s, A, "offline", "<message/>"),
				 STORAGE_OK);
	ck_assert_int_eq(storage_count(s, A, "offline", on_got, &g), 0);
	run_until(&g.calls, 1);
	ck_assert_int_eq(g.status, STORAGE_OK);
	ck_assert_uint_eq(g.count, 3);
	ck_assert(g.items_null);
	close_storage(s);
}
END_TEST

START_TEST(delete_one_and_delete_all)
{
	struct storage *s = open_storage();
	struct got g;
	put(s, A, "roster", "b@x", "1");
	put(s, A, "roster", "c@x", "2");
	put(s, A, "roster", "d@x", "3");
	put(s, A, "blocklist", "e@x", "4");
	ck_assert_int_eq(delete (s, A, "roster", "c@x"), STORAGE_OK);
	ck_assert_int_eq(delete (s, A, "roster", "nobody@x"), STORAGE_OK);
	load(s, A, "roster", &g);
	ck_assert_uint_eq(g.count, 2);
	ck_assert_str_eq(g.keys[0], "b@x");
	ck_assert_str_eq(g.keys[1], "d@x");
	ck_assert_int_eq(delete (s, A, "roster", NULL), STORAGE_OK);
	load(s, A, "roster", &g);
	ck_assert_uint_eq(g.count, 0);
	load(s, A, "blocklist", &g); /* another store is left alone */
	ck_assert_uint_eq(g.count, 1);
	close_storage(s);
}
END_TEST

/* ---- lists ---- */

START_TEST(append_keeps_arrival_order_across_reopen)
{
	struct storage *s = open_storage();
	char v[16];
	for (int i = 0; i < 12; i++) {
		if (i == 6) { /* a restart in the middle */
			close_storage(s);
			s = open_storage();
		}
		snprintf(v, sizeof v, "m%d", i);
		ck_assert_int_eq(append(s, A, "offline", v), STORAGE_OK);
		ck_assert_int_eq(append(s, B, "offline", v), STORAGE_OK);
	}
	struct got g;
	load(s, A, "offline", &g);
	ck_assert_uint_eq(g.count, 12);
	for (int i = 0; i < 12; i++) {
		snprintf(v, sizeof v, "m%d", i);
		ck_assert_str_eq(g.values[i], v);
		ck_assert_uint_eq(strlen(g.keys[i]), 20);
		ck_assert(strspn(g.keys[i], "0123456789") == 20);
		if (i > 0)
			ck_assert(strcmp(g.keys[i - 1], g.keys[i]) < 0);
	}
	/* delivered messages are deleted one by one by their key */
	char first[32];
	strcpy(first, g.keys[0]);
	ck_assert_int_eq(delete (s, A, "offline", first), STORAGE_OK);
	load(s, A, "offline", &g);
	ck_assert_uint_eq(g.count, 11);
	ck_assert_str_eq(g.values[0], "m1");
	close_storage(s);
}
END_TEST

/* ---- order ---- */

START_TEST(read_sees_the_write_before_it)
{
	struct storage *s = open_storage();
	struct written w1 = {0}, w2 = {0};
	struct got g1 = {0}, g2 = {0};
	next_order = 0;
	/* all submitted before the loop runs: one group on the thread */
	struct storage_batch *b = storage_batch_new(s);
	storage_batch_put(b, A, "roster", B, "v1", 2);
	ck_assert_int_eq(storage_batch_commit(b, on_written, &w1), 0);
	ck_assert_int_eq(storage_get(s, A, "roster", B, on_got, &g1), 0);
	b = storage_batch_new(s);
	storage_batch_delete(b, A, "roster", B);
	ck_assert_int_eq(storage_batch_commit(b, on_written, &w2), 0);
	ck_assert_int_eq(storage_load(s, A, "roster", on_got, &g2), 0);
	run_until(&g2.calls, 1);
	ck_assert_int_eq(w1.calls + g1.calls + w2.calls, 3);
	ck_assert_uint_eq(g1.count, 1);
	ck_assert_str_eq(g1.values[0], "v1");
	ck_assert_uint_eq(g2.count, 0);
	/* completions come in submission order */
	ck_assert_int_eq(w1.order, 0);
	ck_assert_int_eq(g1.order, 1);
	ck_assert_int_eq(w2.order, 2);
	ck_assert_int_eq(g2.order, 3);
	close_storage(s);
}
END_TEST

/* ---- atomicity ---- */

START_TEST(failing_batch_is_rolled_back_alone)
{
	struct storage *s = open_storage();
	size_t big_len = STORAGE_VALUE_MAX + 1;
	char *big = calloc(1, big_len);
	struct written wa = {0}, wb = {0}, wc = {0};
	struct storage_batch *a = storage_batch_new(s);
	storage_batch_put(a, A, "roster", "a@x", "a", 1);
	struct storage_batch *b = storage_batch_new(s);
	storage_batch_put(b, A, "roster", "b@x", "b", 1);
	storage_batch_append(b, A, "offline", "b", 1);
	ck_assert_int_eq(storage_batch_put(b, A, "vcard", "", big, big_len), 0);
	struct storage_batch *c = storage_batch_new(s);
	storage_batch_put(c, A, "roster", "c@x", "c", 1);
	ck_assert_int_eq(storage_batch_commit(a, on_written, &wa), 0);
	ck_assert_int_eq(storage_batch_commit(b, on_written, &wb), 0);
	ck_assert_int_eq(storage_batch_commit(c, on_written, &wc), 0);
	free(big);
	run_until(&wc.calls, 1);
	ck_assert_int_eq(wa.status, STORAGE_OK);
	ck_assert_int_eq(wb.status, STORAGE_ERROR);
	ck_assert_int_eq(wc.status, STORAGE_OK);
	struct got g;
	load(s, A, "roster", &g);
	ck_assert_uint_eq(g.count, 2);
	ck_assert_str_eq(g.keys[0], "a@x");
	ck_assert_str_eq(g.keys[1], "c@x");
	load(s, A, "offline", &g);
	ck_assert_uint_eq(g.count, 0);
	struct storage_stats st;
	storage_get_stats(s, &st);
	ck_assert_uint_eq(st.batches_failed, 1);
	ck_assert_uint_eq(st.batches, 2);
	/* and the storage goes on */
	ck_assert_int_eq(put(s, A, "roster", "d@x", "d"), STORAGE_OK);
	close_storage(s);
	/* what was acknowledged is on disk, the failed batch is not */
	s = open_storage();
	load(s, A, "roster", &g);
	ck_assert_uint_eq(g.count, 3);
	close_storage(s);
}
END_TEST

START_TEST(batch_with_a_refused_operation_is_not_committed)
{
	struct storage *s = open_storage();
	struct written w = {0};
	struct storage_batch *b = storage_batch_new(s);
	ck_assert_int_eq(storage_batch_put(b, A, "roster", "a@x", "a", 1), 0);
	ck_assert_int_eq(storage_batch_put(b, A, "roster", NULL, "a", 1), -1);
	ck_assert_int_eq(storage_batch_put(b, A, "roster", "b@x", "b", 1), -1);
	ck_assert_int_eq(storage_batch_commit(b, on_written, &w), -1);
	ck_assert_int_eq(put(s, A, "other", "k", "v"), STORAGE_OK);
	ck_assert_int_eq(w.calls, 0);
	struct got g;
	load(s, A, "roster", &g);
	ck_assert_uint_eq(g.count, 0);
	close_storage(s);
}
END_TEST

/* A write error (here the file size limit, as a full disk would) rolls
 * SQLite's whole transaction back: each batch of the group then reports
 * what really happened to it, and the storage goes on afterwards. */
START_TEST(disk_error_fails_the_group_and_storage_recovers)
{
	struct storage *s = open_storage();
	ck_assert_int_eq(put(s, A, "roster", "before@x", "1"), STORAGE_OK);
	char wal[160];
	struct stat st;
	snprintf(wal, sizeof wal, "%s-wal", path);
	ck_assert_int_eq(stat(wal, &st), 0);
	struct rlimit old, low;
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)st.st_size;
	signal(SIGXFSZ, SIG_IGN); /* write(2) fails with EFBIG instead */
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &low), 0);

	size_t len = 1u << 20;
	char *value = calloc(1, len);
	struct written w[3] = {{0}};
	const char *keys[3] = {"a@x", "b@x", "c@x"};
	for (int i = 0; i < 3; i++) {
		struct storage_batch *b = storage_batch_new(s);
		storage_batch_put(b, A, "roster", keys[i], value,
				  i == 1 ? len : 1);
		ck_assert_int_eq(storage_batch_commit(b, on_written, &w[i]), 0);
	}
	run_until(&w[2].calls, 1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	free(value);
	ck_assert_int_eq(w[1].status, STORAGE_ERROR);

	/* the storage works again; what was acknowledged is there, what
	 * failed is not */
	ck_assert_int_eq(put(s, A, "roster", "after@x", "2"), STORAGE_OK);
	struct got g;
	for (int i = 0; i < 3; i++) {
		get(s, A, "roster", keys[i], &g);
		ck_assert_uint_eq(g.count, w[i].status == STORAGE_OK ? 1 : 0);
	}
	close_storage(s);
	s = open_storage();
	get(s, A, "roster", "before@x", &g);
	ck_assert_uint_eq(g.count, 1);
	get(s, A, "roster", "after@x", &g);
	ck_assert_uint_eq(g.count, 1);
	close_storage(s);
}
END_TEST

/* ---- group commit ---- */

START_TEST(group_commit)
{
	enum { N = 1000 };
	struct storage *s = open_storage();
	static struct written w[N];
	memset(w, 0, sizeof w);
	char key[32];
	for (int i = 0; i < N; i++) {
		struct storage_batch *b = storage_batch_new(s);
		snprintf(key, sizeof key, "c%04d@x", i);
		storage_batch_put(b, A, "roster", key, key, strlen(key));
		storage_batch_append(b, A, "offline", key, strlen(key));
		ck_assert_int_eq(storage_batch_commit(b, on_written, &w[i]), 0);
	}
	run_until(&w[N - 1].calls, 1);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(w[i].calls, 1);
		ck_assert_int_eq(w[i].status, STORAGE_OK);
	}
	struct storage_stats st;
	storage_get_stats(s, &st);
	ck_assert_uint_eq(st.batches, N);
	/* the first batch may go alone, the others wait for its fsync and
	 * go together: a few transactions (2 or 3 here, 11 under valgrind) */
	ck_assert_msg(st.transactions <= N / 10,
		      "%" PRIu64 " transactions for %d batches",
		      st.transactions, N);
	ck_assert_uint_eq(st.queued_bytes, 0);
	struct got g = {0};
	storage_count(s, A, "offline", on_got, &g);
	run_until(&g.calls, 1);
	ck_assert_uint_eq(g.count, N);
	close_storage(s);
}
END_TEST

/* ---- open, close, limits ---- */

START_TEST(reopen_keeps_data_and_file_is_private)
{
	struct storage *s = open_storage();
	ck_assert_int_eq(put(s, A, "roster", B, "v"), STORAGE_OK);
	close_storage(s);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	s = open_storage();
	struct got g;
	get(s, A, "roster", B, &g);
	ck_assert_uint_eq(g.count, 1);
	ck_assert_str_eq(g.values[0], "v");
	close_storage(s);
}
END_TEST

START_TEST(newer_schema_is_refused)
{
	close_storage(open_storage());
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	char sql[64];
	int newer = storage_schema_version() + 5;
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", newer);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	char err[512] = "", want[64];
	ck_assert_ptr_null(storage_open(&storage_loop, path, err, sizeof err));
	ck_assert_msg(strstr(err, path), "%s", err);
	snprintf(want, sizeof want, "version %d", newer);
	ck_assert_msg(strstr(err, want), "%s", err);
	snprintf(want, sizeof want, "version %d", storage_schema_version());
	ck_assert_msg(strstr(err, want), "%s", err);
	/* the file is left as it was */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), newer);
	sqlite3_finalize(st);
	sqlite3_close(db);
}
END_TEST

START_TEST(unusable_file_is_a_clear_error)
{
	char err[512] = "";
	snprintf(path, sizeof path, "%s/no/such/dir/sm.sqlite", dir);
	ck_assert_ptr_null(storage_open(&storage_loop, path, err, sizeof err));
	ck_assert_msg(strstr(err, path), "%s", err);
	/* not a database */
	snprintf(path, sizeof path, "%s/sm.sqlite", dir);
	FILE *f = fopen(path, "w");
	fputs("this is not an SQLite database, not at all, no.\n", f);
	fclose(f);
	ck_assert_ptr_null(storage_open(&storage_loop, path, err, sizeof err));
	ck_assert_msg(strstr(err, path), "%s", err);
}
END_TEST

struct closing {
	struct storage *s;
	int calls, refused;
};

static void on_written_while_closing(void *ctx, enum storage_status status)
{
	struct closing *c = ctx;
	ck_assert_int_eq(status, STORAGE_OK);
	c->calls++;
	struct storage_batch *b = storage_batch_new(c->s);
	storage_batch_put(b, A, "late", "k", "v", 1);
	if (storage_batch_commit(b, NULL, NULL) < 0)
		c->refused++;
}

START_TEST(close_completes_everything)
{
	enum { N = 200 };
	struct storage *s = open_storage();
	struct closing c = {s, 0, 0};
	struct got g = {0};
	for (int i = 0; i < N; i++) {
		struct storage_batch *b = storage_batch_new(s);
		storage_batch_append(b, A, "offline", "m", 1);
		ck_assert_int_eq(
			storage_batch_commit(b, on_written_while_closing, &c),
			0);
	}
	ck_assert_int_eq(storage_count(s, A, "offline", on_got, &g), 0);
	storage_close(s); /* without running the loop */
	ck_assert_int_eq(c.calls, N);
	ck_assert_int_eq(c.refused, N);
	ck_assert_int_eq(g.calls, 1);
	ck_assert_uint_eq(g.count, N);
	ck_assert_int_eq(uv_run(&storage_loop, UV_RUN_DEFAULT), 0);
	s = open_storage();
	struct got late;
	load(s, A, "late", &late);
	ck_assert_uint_eq(late.count, 0);
	close_storage(s);
}
END_TEST

START_TEST(full_queue_refuses_then_recovers)
{
	struct storage *s = open_storage();
	size_t len = 4u << 20;
	char *value = calloc(1, len);
	static struct written w[64];
	memset(w, 0, sizeof w);
	int queued = 0;
	for (; queued < 64; queued++) {
		struct storage_batch *b = storage_batch_new(s);
		ck_assert_int_eq(
			storage_batch_append(b, A, "offline", value, len), 0);
		if (storage_batch_commit(b, on_written, &w[queued]) < 0)
			break;
	}
	ck_assert_int_lt(queued, 64);
	ck_assert_int_ge(queued, (int)(STORAGE_QUEUE_MAX_BYTES / len) - 1);
	run_until(&w[queued - 1].calls, 1);
	for (int i = 0; i < queued; i++)
		ck_assert_int_eq(w[i].status, STORAGE_OK);
	struct storage_stats st;
	storage_get_stats(s, &st);
	ck_assert_uint_eq(st.queued_bytes, 0);
	free(value);
	ck_assert_int_eq(append(s, A, "offline", "small"), STORAGE_OK);
	close_storage(s);
}
END_TEST

/* ---- durability: kill -9 ---- */

enum { KILL_MAX = 1 << 20, KILL_IN_FLIGHT = 32, KILL_AFTER = 1500 };

struct child {
	struct storage *s;
	int fd, next;
};

static void child_submit(struct child *c);

struct child_batch {
	struct child *c;
	int index;
};

static void child_on_written(void *ctx, enum storage_status status)
{
	struct child_batch *cb = ctx;
	struct child *c = cb->c;
	if (status != STORAGE_OK)
		_exit(3);
	/* the acknowledgement: a 4-byte write to a pipe is atomic */
	if (write(c->fd, &cb->index, sizeof cb->index) != sizeof cb->index)
		_exit(4);
	free(cb);
	child_submit(c);
}

static void child_submit(struct child *c)
{
	if (c->next >= KILL_MAX)
		return;
	struct child_batch *cb = malloc(sizeof *cb);
	cb->c = c;
	cb->index = c->next++;
	char key[16], value[32];
	snprintf(key, sizeof key, "%08d", cb->index);
	snprintf(value, sizeof value, "value %d", cb->index);
	struct storage_batch *b = storage_batch_new(c->s);
	storage_batch_put(b, A, "kv", key, value, strlen(value));
	storage_batch_append(b, A, "list", key, strlen(key));
	if (storage_batch_commit(b, child_on_written, cb) < 0)
		_exit(5);
}

static void child_run(int fd)
{
	uv_loop_t l;
	char err[512];
	uv_loop_init(&l);
	struct child c = {NULL, fd, 0};
	c.s = storage_open(&l, path, err, sizeof err);
	if (!c.s)
		_exit(2);
	for (int i = 0; i < KILL_IN_FLIGHT; i++)
		child_submit(&c);
	uv_run(&l, UV_RUN_DEFAULT);
	_exit(0);
}

/* Reads the acknowledged indexes until the child is gone. */
static int parent_collect(pid_t pid, int fd, unsigned char *acked)
{
	int n = 0, index;
	size_t have = 0;
	char buf[4096];
	bool killed = false;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof buf - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		size_t whole = have - have % sizeof index;
		for (size_t i = 0; i < whole; i += sizeof index) {
			memcpy(&index, buf + i, sizeof index);
			ck_assert(index >= 0 && index < KILL_MAX);
			acked[index] = 1;
			n++;
		}
		memmove(buf, buf + whole, have - whole);
		have -= whole;
		if (!killed && n >= KILL_AFTER) {
			kill(pid, SIGKILL);
			killed = true;
		}
	}
	return n;
}

struct list_check {
	int calls;
	size_t count;
	bool in_order;
};

/* The list's values are the batches' indexes: increasing, and in
 * the map too. */
static void on_list(void *ctx, enum storage_status status,
		    const struct storage_items *result)
{
	struct list_check *l = ctx;
	l->calls++;
	l->count = result->count;
	l->in_order = status == STORAGE_OK;
	for (size_t i = 1; i < result->count; i++)
		if (strcmp(result->items[i - 1].value,
			   result->items[i].value) >= 0)
			l->in_order = false;
}

START_TEST(acknowledged_batches_survive_kill_9)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		child_run(fds[1]);
	}
	close(fds[1]);
	unsigned char *acked = calloc(KILL_MAX, 1);
	int n = parent_collect(pid, fds[0], acked);
	close(fds[0]);
	int wstatus;
	ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
	ck_assert_msg(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL,
		      "the child ended by itself (status %d)", wstatus);
	ck_assert_int_ge(n, KILL_AFTER);

	struct storage *s = open_storage();
	static struct got g;
	int found = 0;
	char key[16], value[32];
	for (int i = 0; i < KILL_MAX && found < n; i++) {
		if (!acked[i])
			continue;
		snprintf(key, sizeof key, "%08d", i);
		snprintf(value, sizeof value, "value %d", i);
		get(s, A, "kv", key, &g);
		ck_assert_msg(g.count == 1, "acknowledged batch %d lost", i);
		ck_assert_str_eq(g.values[0], value);
		found++;
	}
	ck_assert_int_eq(found, n);
	/* each batch is whole or absent: as many list items as map items,
	 * the list in the order of the batches */
	struct got kv = {0};
	struct list_check list = {0};
	storage_count(s, A, "kv", on_got, &kv);
	storage_load(s, A, "list", on_list, &list);
	run_until(&list.calls, 1);
	ck_assert_uint_eq(kv.count, list.count);
	ck_assert_uint_ge(kv.count, (size_t)n);
	ck_assert(list.in_order);
	close_storage(s);
	free(acked);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("storage");
	TCase *tc = tcase_create("sqlite");
	tcase_add_checked_fixture(tc, storage_fixture_setup,
				  storage_fixture_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, put_then_get);
	tcase_add_test(tc, put_replaces_and_keeps_binary_values);
	tcase_add_test(tc, load_returns_key_order);
	tcase_add_test(tc, count_gives_the_count_only);
	tcase_add_test(tc, delete_one_and_delete_all);
	tcase_add_test(tc, append_keeps_arrival_order_across_reopen);
	tcase_add_test(tc, read_sees_the_write_before_it);
	tcase_add_test(tc, failing_batch_is_rolled_back_alone);
	tcase_add_test(tc, batch_with_a_refused_operation_is_not_committed);
	tcase_add_test(tc, disk_error_fails_the_group_and_storage_recovers);
	tcase_add_test(tc, group_commit);
	tcase_add_test(tc, reopen_keeps_data_and_file_is_private);
	tcase_add_test(tc, newer_schema_is_refused);
	tcase_add_test(tc, unusable_file_is_a_clear_error);
	tcase_add_test(tc, close_completes_everything);
	tcase_add_test(tc, full_queue_refuses_then_recovers);
	tcase_add_test(tc, acknowledged_batches_survive_kill_9);
	suite_add_tcase(suite, tc);
	return unit_run(suite);
}
