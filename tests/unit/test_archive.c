/* archive: the message archive of storage.h (XEP-0313's store) on the
 * SQLite backend, a real loop and the storage thread: order, paging
 * both ways, filters, ids, retention, deletion, the migration from the
 * schema before it, and that every query is an index range. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../storage/archive_id.h"
#include "../../storage/backend.h"
#include "../../storage/schema.h"
#include "../../storage/sqlite.h"
#include "../../storage/storage.h"
#include "storage_fixture.h"
#include "unit.h"

#define A "alice@example.org"
#define B "bob@example.org"
#define C "carol@example.org"

static void run_until(const int *calls)
{
	while (*calls < 1)
		uv_run(&storage_loop, UV_RUN_ONCE);
}

static void on_written(void *ctx, enum storage_status status)
{
	int *w = ctx;
	ck_assert_int_eq(status, STORAGE_OK);
	(*w)++;
}

static void commit(struct storage_batch *b)
{
	int w = 0;
	ck_assert_int_eq(storage_batch_commit(b, on_written, &w), 0);
	run_until(&w);
}

/* The ids the storage gave, under the tests' names for them: "a3" is
 * Alice's message 3. */
static struct {
	char name[16];
	char id[STORAGE_ARCHIVE_ID_SIZE];
} names[64];
static size_t nnames;

/* The id of a name (that name itself when no message has it: an id
 * that names no message). */
static const char *id_of(const char *name)
{
	for (size_t i = 0; i < nnames; i++)
		if (strcmp(names[i].name, name) == 0)
			return names[i].id;
	return name;
}

static const char *name_of(const char *id)
{
	for (size_t i = 0; i < nnames; i++)
		if (strcmp(names[i].id, id) == 0)
			return names[i].name;
	return "?";
}

/* Message i of user, named "<user's initial>i", body "m<i>". */
static void archive(struct storage *s, struct storage_batch *b,
		    const char *user, const char *with, const char *resource,
		    int64_t stamp, int i)
{
	char name[16], body[48];
	snprintf(name, sizeof name, "%c%d", user[0], i);
	snprintf(body, sizeof body, "<message><body>m%d</body></message>", i);
	ck_assert_uint_lt(nnames, sizeof names / sizeof *names);
	strcpy(names[nnames].name, name);
	ck_assert_int_eq(storage_archive_reserve(s, names[nnames].id), 0);
	ck_assert_int_eq(storage_batch_archive(b, user, with, resource, stamp,
					       names[nnames++].id, body,
					       strlen(body)),
			 0);
}

/* Alice's 10 messages: with Bob (even, resource "phone" for 0 and 4)
 * and Carol (odd); stamps 100, 100, 200, 200 … (equal pairs: arrival
 * decides). Bob has one of his own. */
static void fill(struct storage *s)
{
	struct storage_batch *b = storage_batch_new(s);
	nnames = 0;
	for (int i = 0; i < 10; i++)
		archive(s, b, A, i % 2 ? C : B, i % 4 == 0 ? "phone" : "",
			100 * (i / 2 + 1), i);
	archive(s, b, B, A, "", 150, 0);
	commit(b);
}

struct page {
	int calls;
	enum storage_status status;
	size_t count;
	bool complete;
	char ids[STORAGE_ARCHIVE_PAGE_MAX][16];
};

static void on_page(void *ctx, enum storage_status status,
		    const struct storage_archive_page *p)
{
	struct page *g = ctx;
	g->calls++;
	g->status = status;
	g->count = p->count;
	g->complete = p->complete;
	for (size_t i = 0; i < p->count; i++) {
		ck_assert_uint_eq(strlen(p->items[i].id),
				  STORAGE_ARCHIVE_ID_SIZE - 1);
		strcpy(g->ids[i], name_of(p->items[i].id));
		const char *m = p->items[i].message;
		ck_assert_int_eq(m[p->items[i].message_len], 0);
		ck_assert_ptr_nonnull(strstr(m, "<body>m"));
		if (i > 0)
			ck_assert_int_le(p->items[i - 1].stamp,
					 p->items[i].stamp);
	}
}

static struct storage_archive_query everything(size_t max)
{
	return (struct storage_archive_query){
		.user = A, .start = INT64_MIN, .end = INT64_MAX, .max = max};
}

static void query(struct storage *s, const struct storage_archive_query *q,
		  struct page *g)
{
	memset(g, 0, sizeof *g);
	ck_assert_int_eq(storage_archive_query(s, q, on_page, g), 0);
	run_until(&g->calls);
}

/* The page's ids, joined by spaces: "a0 a1 a2". */
static const char *ids(const struct page *g)
{
	static char out[1024];
	out[0] = '\0';
	for (size_t i = 0; i < g->count; i++)
		snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s",
			 i ? " " : "", g->ids[i]);
	return out;
}

START_TEST(pages_forward_in_order)
{
	struct storage *s = open_storage();
	fill(s);
	struct storage_archive_query q = everything(4);
	struct page g;
	query(s, &q, &g);
	ck_assert_int_eq(g.status, STORAGE_OK);
	ck_assert_str_eq(ids(&g), "a0 a1 a2 a3");
	ck_assert(!g.complete);
	q.after[1] = id_of("a3"); /* XEP-0059's <after>: the last of the page */
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a4 a5 a6 a7");
	ck_assert(!g.complete);
	q.after[1] = id_of("a7");
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a8 a9");
	ck_assert(g.complete);
	/* exactly max left: complete, the extra row was not there */
	q.after[1] = id_of("a5");
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a6 a7 a8 a9");
	ck_assert(g.complete);
	close_storage(s);
}
END_TEST

/* STORAGE_ARCHIVE_PAGE_BYTES: six messages of 400 KiB come three to
 * a page, whatever max asks; the pages go on where the last ended. */
START_TEST(a_page_ends_at_its_bytes)
{
	struct storage *s = open_storage();
	struct storage_batch *b = storage_batch_new(s);
	size_t len = 400 * 1024;
	char *big = malloc(len + 1);
	ck_assert_ptr_nonnull(big);
	nnames = 0;
	for (int i = 0; i < 6; i++) {
		snprintf(big, len + 1, "<message><body>m%d</body>", i);
		memset(big + strlen(big), 'x', len - strlen(big));
		big[len] = '\0';
		snprintf(names[nnames].name, sizeof names[nnames].name, "a%d",
			 i);
		ck_assert_int_eq(storage_archive_reserve(s, names[nnames].id),
				 0);
		ck_assert_int_eq(storage_batch_archive(b, A, B, "", 100 + i,
						       names[nnames++].id, big,
						       len),
				 0);
	}
	free(big);
	commit(b);
	struct storage_archive_query q = everything(10);
	struct page g;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a0 a1 a2");
	ck_assert(!g.complete);
	q.after[1] = id_of("a2");
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a3 a4 a5");
	q.after[1] = id_of("a5");
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "");
	ck_assert(g.complete);
	q = everything(10);
	q.backward = true;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a3 a4 a5");
	ck_assert(!g.complete);
	close_storage(s);
}
END_TEST

START_TEST(pages_backward_from_the_end)
{
	struct storage *s = open_storage();
	fill(s);
	struct storage_archive_query q = everything(4);
	q.backward = true; /* an empty <before/>: the last page */
	struct page g;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a6 a7 a8 a9");
	ck_assert(!g.complete);
	q.before[1] = id_of("a6");
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a2 a3 a4 a5");
	ck_assert(!g.complete);
	q.before[1] = id_of("a2");
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a0 a1");
	ck_assert(g.complete);
	close_storage(s);
}
END_TEST

START_TEST(with_bare_or_full_jid)
{
	struct storage *s = open_storage();
	fill(s);
	struct storage_archive_query q = everything(10);
	q.with_bare = B;
	struct page g;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a0 a2 a4 a6 a8");
	ck_assert(g.complete);
	q.with_resource = "phone";
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a0 a4 a8");
	q.with_resource = "";
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a2 a6");
	/* paging inside a filter, backward */
	q.with_resource = NULL;
	q.max = 2;
	q.backward = true;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a6 a8");
	ck_assert(!g.complete);
	/* nobody else's messages */
	q = everything(10);
	q.user = B;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "b0");
	close_storage(s);
}
END_TEST

START_TEST(start_and_end_are_inclusive)
{
	struct storage *s = open_storage();
	fill(s);
	struct storage_archive_query q = everything(10);
	q.start = 200;
	q.end = 400;
	struct page g;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a2 a3 a4 a5 a6 a7");
	/* with an after id inside the range: the tighter bound */
	q.after[0] = id_of("a0");
	q.after[1] = id_of("a4");
	q.before[0] = id_of("a7");
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a5 a6");
	close_storage(s);
}
END_TEST

START_TEST(ids_in_archive_order)
{
	struct storage *s = open_storage();
	fill(s);
	const char *want[] = {id_of("a7"), "nope", id_of("a1"), id_of("b0"),
			      id_of("a4")};
	struct storage_archive_query q = everything(10);
	q.ids = want;
	q.nids = 5;
	struct page g;
	query(s, &q, &g);
	ck_assert_int_eq(g.status, STORAGE_OK);
	ck_assert_str_eq(ids(&g), "a1 a4 a7"); /* Bob's b0 is not Alice's */
	ck_assert(g.complete);
	q.max = 2;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a1 a4");
	ck_assert(!g.complete);
	q.with_bare = C;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a1 a7");
	close_storage(s);
}
END_TEST

START_TEST(unknown_id_is_not_found)
{
	struct storage *s = open_storage();
	fill(s);
	struct storage_archive_query q = everything(10);
	q.after[1] = id_of("b0"); /* Bob's, not Alice's */
	struct page g;
	query(s, &q, &g);
	ck_assert_int_eq(g.status, STORAGE_NOT_FOUND);
	ck_assert_uint_eq(g.count, 0);
	q.after[1] = NULL;
	q.before[0] = id_of("zz");
	query(s, &q, &g);
	ck_assert_int_eq(g.status, STORAGE_NOT_FOUND);
	/* bad queries are refused at once */
	q = everything(STORAGE_ARCHIVE_PAGE_MAX + 1);
	ck_assert_int_eq(storage_archive_query(s, &q, on_page, &g), -1);
	q = everything(0);
	ck_assert_int_eq(storage_archive_query(s, &q, on_page, &g), -1);
	close_storage(s);
}
END_TEST

static void on_status(void *ctx, enum storage_status status)
{
	enum storage_status *out = ctx;
	*out = status;
}

START_TEST(a_duplicate_id_fails_its_batch)
{
	struct storage *s = open_storage();
	fill(s);
	struct storage_batch *b = storage_batch_new(s);
	ck_assert_int_eq(
		storage_batch_archive(b, A, B, "", 999, id_of("a3"), "x", 1),
		0);
	enum storage_status status = 1;
	ck_assert_int_eq(storage_batch_commit(b, on_status, &status), 0);
	while (status == 1)
		uv_run(&storage_loop, UV_RUN_ONCE);
	ck_assert_int_eq(status, STORAGE_ERROR);
	struct storage_archive_query q = everything(20);
	struct page g;
	query(s, &q, &g);
	ck_assert_uint_eq(g.count, 10);
	close_storage(s);
}
END_TEST

struct count {
	int calls;
	enum storage_status status;
	size_t count;
};

static void on_count(void *ctx, enum storage_status status,
		     const struct storage_items *r)
{
	struct count *c = ctx;
	c->calls++;
	c->status = status;
	c->count = r->count;
}

static size_t expire(struct storage *s, int64_t before, size_t limit)
{
	struct count c = {0};
	ck_assert_int_eq(storage_archive_expire(s, before, limit, on_count, &c),
			 0);
	run_until(&c.calls);
	ck_assert_int_eq(c.status, STORAGE_OK);
	return c.count;
}

START_TEST(retention_deletes_the_oldest_in_chunks)
{
	struct storage *s = open_storage();
	fill(s);
	/* before 300: a0..a3 (100, 200), 3 at a time, in arrival order */
	ck_assert_uint_eq(expire(s, 300, 3), 3);
	ck_assert_uint_eq(expire(s, 300, 3), 1);
	ck_assert_uint_eq(expire(s, 300, 3), 0);
	struct storage_archive_query q = everything(10);
	struct page g;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a4 a5 a6 a7 a8 a9");
	/* Bob's b0 (150) arrived after a4 (300): it waits for a4 to go
	 * (storage.h: a clock that went back delays an expiry) */
	q.user = B;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "b0");
	ck_assert_uint_eq(expire(s, 1000, 20), 7);
	query(s, &q, &g);
	ck_assert_uint_eq(g.count, 0);
	close_storage(s);
}
END_TEST

START_TEST(delete_a_users_archive_and_data)
{
	struct storage *s = open_storage();
	fill(s);
	struct storage_batch *b = storage_batch_new(s);
	ck_assert_int_eq(storage_batch_put(b, A, "roster", B, "x", 1), 0);
	ck_assert_int_eq(storage_batch_put(b, B, "roster", A, "y", 1), 0);
	commit(b);
	b = storage_batch_new(s);
	ck_assert_int_eq(storage_batch_archive_delete(b, B), 0);
	commit(b);
	struct storage_archive_query q = everything(10);
	q.user = B;
	struct page g;
	query(s, &q, &g);
	ck_assert_uint_eq(g.count, 0);
	close_storage(s);

	/* palabrectl's way: everything of Alice, 4 rows per transaction */
	char err[256];
	ck_assert_int_eq(storage_delete_user(path, A, 4, err, sizeof err), 0);
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	ck_assert_int_eq(
		sqlite3_prepare_v2(db,
				   "SELECT (SELECT count(*) FROM archive WHERE"
				   " user = ?1) + (SELECT count(*) FROM items"
				   " WHERE user = ?1),"
				   " (SELECT count(*) FROM items)",
				   -1, &st, NULL),
		SQLITE_OK);
	sqlite3_bind_text(st, 1, A, -1, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 0);
	ck_assert_int_eq(sqlite3_column_int(st, 1), 1); /* Bob's roster */
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* a missing database holds nothing to delete */
	ck_assert_int_eq(storage_delete_user("/nonexistent/sm.sqlite", A, 4,
					     err, sizeof err),
			 0);
}
END_TEST

/* XEP-0359 ids: each of the 11 messages has its own, of 22 base64url
 * characters, and a query finds each message by its id and by nothing
 * else: an id altered in any one character, a forged one, another
 * user's, none finds a message. */
START_TEST(ids_name_one_message_of_one_user)
{
	struct storage *s = open_storage();
	fill(s);
	for (size_t i = 0; i < nnames; i++) {
		ck_assert_uint_eq(
			strspn(names[i].id,
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
			       "mnopqrstuvwxyz0123456789-_"),
			STORAGE_ARCHIVE_ID_SIZE - 1);
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(names[i].id, names[j].id);
	}
	struct storage_archive_query q = everything(10);
	const char *one[1] = {id_of("a5")};
	q.ids = one;
	q.nids = 1;
	struct page g;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a5");
	/* altered: every character in turn, to a neighbour in base64url */
	char altered[STORAGE_ARCHIVE_ID_SIZE];
	for (size_t k = 0; k < STORAGE_ARCHIVE_ID_SIZE - 1; k++) {
		strcpy(altered, id_of("a5"));
		altered[k] = altered[k] == 'A' ? 'B' : 'A';
		one[0] = altered;
		query(s, &q, &g);
		ck_assert_msg(g.count == 0, "%s found", altered);
		q.ids = NULL;
		q.nids = 0;
		q.after[0] = altered;
		query(s, &q, &g);
		ck_assert_int_eq(g.status, STORAGE_NOT_FOUND);
		q.after[0] = NULL;
		q.ids = one;
		q.nids = 1;
	}
	/* forged: well-formed, never given; and ids of other lengths */
	const char *forged[] = {
		"AAAAAAAAAAAAAAAAAAAAAA", "_____________________w", "",
		"AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAB"};
	for (size_t k = 0; k < sizeof forged / sizeof *forged; k++) {
		one[0] = forged[k];
		query(s, &q, &g);
		ck_assert_uint_eq(g.count, 0);
	}
	/* Bob's id in Alice's archive, Alice's in Bob's */
	one[0] = id_of("b0");
	query(s, &q, &g);
	ck_assert_uint_eq(g.count, 0);
	q.user = B;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "b0");
	one[0] = id_of("a0");
	query(s, &q, &g);
	ck_assert_uint_eq(g.count, 0);
	close_storage(s);
}
END_TEST

/* The counter of ids goes on after a restart: a new message sorts after
 * the old ones and its id is new, also once the newest were deleted. */
START_TEST(ids_stay_unique_across_restarts)
{
	struct storage *s = open_storage();
	fill(s);
	close_storage(s);
	s = open_storage();
	struct storage_batch *b = storage_batch_new(s);
	archive(s, b, A, B, "", 100, 10); /* as old as a0, arrived last */
	commit(b);
	struct storage_archive_query q = everything(3);
	struct page g;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a0 a1 a10");
	/* the newest deleted (Alice's archive): their seqs may come back,
	 * not their ids */
	b = storage_batch_new(s);
	ck_assert_int_eq(storage_batch_archive_delete(b, A), 0);
	commit(b);
	close_storage(s);
	s = open_storage();
	b = storage_batch_new(s);
	archive(s, b, A, B, "", 100, 11);
	commit(b);
	for (size_t i = 0; i + 1 < nnames; i++)
		ck_assert_str_ne(names[i].id, names[nnames - 1].id);
	const char *old[1] = {id_of("a10")};
	q.ids = old;
	q.nids = 1;
	query(s, &q, &g);
	ck_assert_uint_eq(g.count, 0);
	close_storage(s);
}
END_TEST

/* An archive op of user with with under the id of seq on the backend:
 * 0 or -1, as storage_backend_write. */
static int backend_archive(struct storage_backend *db,
			   struct archive_id_codec *c, const char *user,
			   const char *with, int64_t seq)
{
	char id[ARCHIVE_ID_LEN + 1];
	ck_assert_int_eq(archive_id_encode(c, seq, 7, id), 0);
	struct storage_op op = {.type = STORAGE_OP_ARCHIVE,
				.user = user,
				.store = with,
				.key = id,
				.value = "<message/>",
				.value_len = 10,
				.resource = "",
				.stamp = 100};
	ck_assert_int_eq(storage_backend_batch_begin(db), 0);
	return storage_backend_batch_end(db,
					 storage_backend_write(db, &op) == 0);
}

/* The ids of JIDs the storage thread keeps name rows that exist: a
 * transaction rolled back (a commit that failed) takes its JIDs' ids
 * from the cache also when a batch of it failed before and a later one
 * looked them up again; else a JID added later would take that id and
 * its messages would be another user's (found in review). */
START_TEST(jid_ids_of_a_rolled_back_transaction_are_forgotten)
{
	char err[256];
	int64_t last;
	unsigned char key[ARCHIVE_ID_KEY_SIZE];
	struct storage_backend *db =
		storage_backend_open(path, err, sizeof err);
	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(storage_backend_archive_ids(db, &last, key), 0);
	struct archive_id_codec *c = archive_id_codec_new(key);
	ck_assert_int_eq(storage_backend_begin(db), 0);
	ck_assert_int_eq(backend_archive(db, c, A, B, 1), 0);
	ck_assert_int_eq(backend_archive(db, c, A, B, 1), -1); /* again */
	ck_assert_int_eq(backend_archive(db, c, A, B, 2), 0);
	storage_backend_rollback(db); /* as when the commit fails */
	ck_assert_int_eq(storage_backend_begin(db), 0);
	ck_assert_int_eq(backend_archive(db, c, C, C, 3), 0);
	ck_assert_int_eq(storage_backend_commit(db), 0);
	struct storage_archive_query q = everything(10);
	struct storage_archive_result r;
	ck_assert_int_eq(storage_backend_archive_query(db, &q, &r), STORAGE_OK);
	ck_assert_uint_eq(r.count, 0); /* Carol's message is not Alice's */
	storage_archive_result_free(&r);
	archive_id_codec_free(c);
	storage_backend_close(db);
}
END_TEST

/* The schema before the archive (version 1), as it shipped. */
static const char schema_v1[] =
	"CREATE TABLE items (user TEXT NOT NULL, store TEXT NOT NULL,"
	" key TEXT NOT NULL, value BLOB NOT NULL,"
	" PRIMARY KEY (user, store, key)) WITHOUT ROWID;"
	"CREATE TABLE sequence (name TEXT PRIMARY KEY,"
	" value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO sequence (name, value) VALUES ('append', 7);"
	"INSERT INTO items VALUES ('" A "', 'roster', '" B "', 'kept');"
	"PRAGMA user_version = 1;";

START_TEST(migrates_from_version_1)
{
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, schema_v1, NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	struct storage *s = open_storage();
	fill(s);
	struct storage_archive_query q = everything(1);
	struct page g;
	query(s, &q, &g);
	ck_assert_str_eq(ids(&g), "a0");
	close_storage(s);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT value FROM items, pragma_"
					    "user_version",
					    -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "kept");
	sqlite3_finalize(st);
	sqlite3_close(db);
	ck_assert_int_eq(storage_schema_version(), 2);
}
END_TEST

/* Every statement reads an index range (or, for the expiry, the table
 * from its start with a LIMIT), and none sorts: a query costs its page,
 * not the archive. */
START_TEST(every_query_is_an_index_range)
{
	close_storage(open_storage());
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	for (int i = 0; sqlite_archive_statements[i]; i++) {
		char sql[1024], plan[1024] = "";
		snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s",
			 sqlite_archive_statements[i]);
		sqlite3_stmt *st;
		ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
				 SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW)
			snprintf(plan + strlen(plan),
				 sizeof plan - strlen(plan), "%s; ",
				 (const char *)sqlite3_column_text(st, 3));
		sqlite3_finalize(st);
		bool expiry = strstr(sql, "ORDER BY seq LIMIT") != NULL;
		ck_assert_msg(!strstr(plan, "TEMP B-TREE"), "%s: %s", sql,
			      plan);
		ck_assert_msg(expiry || !strstr(plan, "SCAN archive"), "%s: %s",
			      sql, plan);
		ck_assert_msg(!strstr(plan, "SCAN items"), "%s: %s", sql, plan);
		ck_assert_msg(!strstr(plan, "SCAN jids"), "%s: %s", sql, plan);
	}
	sqlite3_close(db);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("archive");
	TCase *tc = tcase_create("archive");
	tcase_add_checked_fixture(tc, storage_fixture_setup,
				  storage_fixture_teardown);
	tcase_add_test(tc, pages_forward_in_order);
	tcase_add_test(tc, pages_backward_from_the_end);
	tcase_add_test(tc, a_page_ends_at_its_bytes);
	tcase_add_test(tc, with_bare_or_full_jid);
	tcase_add_test(tc, start_and_end_are_inclusive);
	tcase_add_test(tc, ids_in_archive_order);
	tcase_add_test(tc, unknown_id_is_not_found);
	tcase_add_test(tc, a_duplicate_id_fails_its_batch);
	tcase_add_test(tc, retention_deletes_the_oldest_in_chunks);
	tcase_add_test(tc, delete_a_users_archive_and_data);
	tcase_add_test(tc, ids_name_one_message_of_one_user);
	tcase_add_test(tc, ids_stay_unique_across_restarts);
	tcase_add_test(tc, jid_ids_of_a_rolled_back_transaction_are_forgotten);
	tcase_add_test(tc, migrates_from_version_1);
	tcase_add_test(tc, every_query_is_an_index_range);
	suite_add_tcase(suite, tc);
	return unit_run(suite);
}
