/* sqlite_archive: the message archive of the SQLite backend (storage.h,
 * XEP-0313). The table and its indexes are schema.c's (1 → 2).
 *
 * A row names its owner and correspondent by ids of the table jids,
 * which a bounded cache keeps (most writes look nothing up), and
 * carries no XEP-0359 id: that is its seq and tag encrypted
 * (archive_id.h), made on the loop (storage_archive_reserve), decrypted
 * here to insert and to find a row.
 *
 * A query is one range scan: the bounds (start, end, after and before
 * ids) become a lower and an upper position (stamp, seq), seq being the
 * rowid (arrival order), and the statement reads the index (user,
 * stamp) or (user, with_bare, stamp) between them, in either
 * direction, at most max + 1 rows: the extra row only tells whether the
 * page is complete. Neither statement sorts (the rowid ends every index
 * entry), which tests/unit/test_archive.c checks with EXPLAIN QUERY
 * PLAN. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/hash_table.h"
#include "../lib/log.h"
#include "../lib/random.h"
#include "archive_id.h"
#include "sqlite.h"

/* The JIDs whose ids the storage thread keeps: past it, the cache
 * starts again empty (a miss costs one lookup of jids' index). */
#define ARCHIVE_JIDS_CACHED 8192

/* Rows between two positions, exclusive: (stamp, seq) > (?2, ?3) and
 * < (?4, ?5), written so that SQLite sees a range of stamp (the
 * residual tests only skip rows of the bounds' own stamps). */
#define ARCHIVE_COLUMNS "SELECT seq, tag, stamp, message FROM archive"
#define ARCHIVE_RANGE                                                          \
	" WHERE user = ?1 AND stamp >= ?2 AND (stamp > ?2 OR seq > ?3)"        \
	" AND stamp <= ?4 AND (stamp < ?4 OR seq < ?5)"
#define ARCHIVE_WITH                                                           \
	" AND with_bare = ?7 AND (?8 IS NULL OR with_resource = ?8)"

enum archive_statement {
	AR_INSERT,
	AR_DELETE_USER,
	AR_POSITION,
	AR_BY_ID,
	AR_FORWARD,
	AR_BACKWARD,
	AR_WITH_FORWARD,
	AR_WITH_BACKWARD,
	AR_EXPIRE,
	AR_PURGE_ITEMS,
	AR_PURGE_ARCHIVE,
	AR_JID_FIND,
	AR_JID_ADD,
	AR_LAST_SEQ,
	AR_KEY_GET,
	AR_KEY_ADD,
	AR_MAX
};

const char *const sqlite_archive_statements[AR_MAX + 1] = {
	[AR_INSERT] = "INSERT INTO archive (seq, user, with_bare,"
		      " with_resource, stamp, tag, message)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[AR_DELETE_USER] = "DELETE FROM archive WHERE user = ?1",
	[AR_POSITION] = "SELECT stamp, seq FROM archive"
			" WHERE seq = ?1 AND user = ?2 AND tag = ?3",
	[AR_BY_ID] = "SELECT seq, tag, stamp, message, with_bare, with_resource"
		     " FROM archive WHERE seq = ?1 AND user = ?2 AND tag = ?3",
	[AR_FORWARD] =
		ARCHIVE_COLUMNS ARCHIVE_RANGE " ORDER BY stamp, seq LIMIT ?6",
	[AR_BACKWARD] = ARCHIVE_COLUMNS ARCHIVE_RANGE
	" ORDER BY stamp DESC, seq DESC LIMIT ?6",
	[AR_WITH_FORWARD] = ARCHIVE_COLUMNS ARCHIVE_RANGE ARCHIVE_WITH
	" ORDER BY stamp, seq LIMIT ?6",
	[AR_WITH_BACKWARD] = ARCHIVE_COLUMNS ARCHIVE_RANGE ARCHIVE_WITH
	" ORDER BY stamp DESC, seq DESC LIMIT ?6",
	/* The oldest `limit` rows by arrival, of which those too old. */
	[AR_EXPIRE] = "DELETE FROM archive WHERE seq IN (SELECT seq FROM"
		      " (SELECT seq, stamp FROM archive ORDER BY seq LIMIT ?2)"
		      " WHERE stamp < ?1)",
	[AR_PURGE_ITEMS] = "DELETE FROM items WHERE (user, store, key) IN"
			   " (SELECT user, store, key FROM items"
			   " WHERE user = ?1 LIMIT ?2)",
	[AR_PURGE_ARCHIVE] = "DELETE FROM archive WHERE seq IN"
			     " (SELECT seq FROM archive WHERE user = ?1"
			     " LIMIT ?2)",
	[AR_JID_FIND] = "SELECT id FROM jids WHERE jid = ?1",
	[AR_JID_ADD] = "INSERT INTO jids (jid) VALUES (?1) RETURNING id",
	[AR_LAST_SEQ] = "SELECT max(seq) FROM archive",
	[AR_KEY_GET] = "SELECT key FROM archive_key WHERE id = 1",
	/* Two processes making the key at once: the first one's holds. */
	[AR_KEY_ADD] = "INSERT OR IGNORE INTO archive_key (id, key)"
		       " VALUES (1, ?1)",
	NULL,
};

struct sqlite_archive {
	sqlite3_stmt *st[AR_MAX];
	unsigned char key[ARCHIVE_ID_KEY_SIZE];
	struct archive_id_codec *ids; /* the storage thread's */
	/* jid → id, at most ARCHIVE_JIDS_CACHED; fresh: it holds ids
	 * that the open transaction read or inserted (gone if it is
	 * rolled back). */
	struct hash_table jids;
	bool fresh;
};

/* ---- the ids of JIDs ---- */

struct archive_jid {
	struct hash_link link;
	uint64_t hash;
	int64_t id;
	char jid[];
};

static uint64_t archive_jid_hash(const struct hash_link *l)
{
	return hash_entry(l, struct archive_jid, link)->hash;
}

static bool archive_jid_match(const struct hash_link *l, const void *jid)
{
	return strcmp(hash_entry(l, struct archive_jid, link)->jid, jid) == 0;
}

static void archive_jids_clear(struct sqlite_archive *a)
{
	struct hash_link *l, *next;
	hash_table_for_each(&a->jids, l, next)
	{
		hash_table_remove(&a->jids, l);
		free(hash_entry(l, struct archive_jid, link));
	}
	a->fresh = false;
}

void sqlite_archive_settle(struct storage_backend *b, bool kept)
{
	if (b->archive && b->archive->fresh && !kept)
		archive_jids_clear(b->archive);
	else if (b->archive)
		b->archive->fresh = false;
}

static void archive_jid_cache(struct sqlite_archive *a, const char *jid,
			      uint64_t hash, int64_t id)
{
	size_t len = strlen(jid) + 1;
	if (a->jids.count >= ARCHIVE_JIDS_CACHED)
		archive_jids_clear(a);
	struct archive_jid *e = malloc(sizeof *e + len);
	if (!e)
		return; /* a cache: the next write looks it up again */
	e->hash = hash;
	e->id = id;
	memcpy(e->jid, jid, len);
	if (hash_table_insert(&a->jids, &e->link, hash) < 0)
		free(e);
}

/* Runs a statement bound to ?1 jid for the id in its first column:
 * 1 with *id, 0 without a row, -1 on failure. */
static int archive_jid_step(struct storage_backend *b, sqlite3_stmt *st,
			    const char *jid, int64_t *id)
{
	int rc = sqlite3_bind_text(st, 1, jid, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		/* to SQLITE_DONE: an INSERT … RETURNING is complete then */
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_ROW
						     : SQLITE_ERROR;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		sqlite_backend_log(b, "archive jid", jid, "jids");
	sqlite_backend_done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The id of jid in *id: 0 for a JID that no archived message names
 * (no row has it), unless create adds it. 0 or -1. */
static int archive_jid_id(struct storage_backend *b, const char *jid,
			  bool create, int64_t *id)
{
	struct sqlite_archive *a = b->archive;
	uint64_t hash = hash_string(jid);
	struct hash_link *l =
		hash_table_find(&a->jids, hash, archive_jid_match, jid);
	if (l) {
		*id = hash_entry(l, struct archive_jid, link)->id;
		return 0;
	}
	*id = 0;
	int rc = archive_jid_step(b, a->st[AR_JID_FIND], jid, id);
	if (rc == 0 && create)
		rc = archive_jid_step(b, a->st[AR_JID_ADD], jid, id);
	if (rc == 1)
		archive_jid_cache(a, jid, hash, *id);
	/* Inside a transaction a row found may be one it inserted (also
	 * after a failed batch settled the cache): it goes if that
	 * transaction does not commit. */
	if (rc == 1 && storage_backend_in_transaction(b))
		a->fresh = true;
	return rc < 0 ? -1 : 0;
}

/* ---- open and close ---- */

/* The key of the ids, made at the first open. */
static int archive_key_load(struct storage_backend *b, char *err, size_t errlen)
{
	struct sqlite_archive *a = b->archive;
	unsigned char key[ARCHIVE_ID_KEY_SIZE];
	random_bytes(key, sizeof key);
	sqlite3_stmt *add = a->st[AR_KEY_ADD], *get = a->st[AR_KEY_GET];
	int rc = sqlite3_bind_blob(add, 1, key, sizeof key, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(add);
	sqlite_backend_done(add);
	if (rc == SQLITE_DONE && sqlite3_step(get) == SQLITE_ROW &&
	    sqlite3_column_bytes(get, 0) == ARCHIVE_ID_KEY_SIZE) {
		memcpy(a->key, sqlite3_column_blob(get, 0), sizeof a->key);
		rc = SQLITE_OK;
	}
	sqlite_backend_done(get);
	if (rc != SQLITE_OK || !(a->ids = archive_id_codec_new(a->key))) {
		snprintf(err, errlen, "%s: cannot read the archive's key: %s",
			 b->path, sqlite3_errmsg(b->sql));
		return -1;
	}
	return 0;
}

int sqlite_archive_open(struct storage_backend *b, char *err, size_t errlen)
{
	if (!(b->archive = calloc(1, sizeof *b->archive))) {
		snprintf(err, errlen, "%s: out of memory", b->path);
		return -1;
	}
	hash_table_init(&b->archive->jids, archive_jid_hash, 64);
	for (int i = 0; i < AR_MAX; i++)
		if (!(b->archive->st[i] = sqlite_backend_prepare(
			      b, sqlite_archive_statements[i], err, errlen)))
			return -1;
	return archive_key_load(b, err, errlen);
}

void sqlite_archive_close(struct storage_backend *b)
{
	if (!b->archive)
		return;
	for (int i = 0; i < AR_MAX; i++)
		sqlite3_finalize(b->archive->st[i]);
	archive_jids_clear(b->archive);
	hash_table_free(&b->archive->jids);
	archive_id_codec_free(b->archive->ids);
	free(b->archive);
	b->archive = NULL;
}

int storage_backend_archive_ids(struct storage_backend *b, int64_t *last_seq,
				unsigned char key[ARCHIVE_ID_KEY_SIZE])
{
	sqlite3_stmt *st = b->archive->st[AR_LAST_SEQ];
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*last_seq = sqlite3_column_int64(st, 0); /* NULL: 0 */
	else
		sqlite_backend_log(b, "the archive's last seq", NULL, NULL);
	sqlite_backend_done(st);
	memcpy(key, b->archive->key, ARCHIVE_ID_KEY_SIZE);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* ---- writes ---- */

static int archive_insert(struct storage_backend *b,
			  const struct storage_op *op)
{
	sqlite3_stmt *st = b->archive->st[AR_INSERT];
	int64_t seq, user, with;
	uint64_t tag;
	if (op->value_len > STORAGE_VALUE_MAX) {
		log_error("storage %s: archive (%s): a message of %zu bytes, "
			  "more than %u",
			  b->path, op->user, op->value_len, STORAGE_VALUE_MAX);
		return -1;
	}
	if (!archive_id_decode(b->archive->ids, op->key, &seq, &tag)) {
		log_error("storage %s: archive (%s): \"%s\" is not an id "
			  "storage_archive_reserve made",
			  b->path, op->user, op->key);
		return -1;
	}
	if (archive_jid_id(b, op->user, true, &user) < 0 ||
	    archive_jid_id(b, op->store, true, &with) < 0)
		return -1;
	/* A NULL pointer would bind SQL NULL: an empty value is "". */
	if (sqlite3_bind_int64(st, 1, seq) || sqlite3_bind_int64(st, 2, user) ||
	    sqlite3_bind_int64(st, 3, with) ||
	    sqlite3_bind_text(st, 4, op->resource, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(st, 5, op->stamp) ||
	    sqlite3_bind_int64(st, 6, (sqlite3_int64)tag) ||
	    sqlite3_bind_blob(st, 7, op->value_len ? op->value : "",
			      (int)op->value_len, SQLITE_STATIC)) {
		sqlite_backend_done(st);
		st = NULL;
	}
	return sqlite_backend_step(b, st, "archive", op->user, op->store);
}

int sqlite_archive_write(struct storage_backend *b, const struct storage_op *op)
{
	if (op->type == STORAGE_OP_ARCHIVE)
		return archive_insert(b, op);
	sqlite3_stmt *st = b->archive->st[AR_DELETE_USER];
	int64_t user;
	if (archive_jid_id(b, op->user, false, &user) < 0)
		return -1;
	if (sqlite3_bind_int64(st, 1, user)) {
		sqlite_backend_done(st);
		st = NULL;
	}
	return sqlite_backend_step(b, st, "delete the archive", op->user,
				   "archive");
}

/* ---- positions ---- */

/* A query with its JIDs' ids: 0 for a JID the archive does not know
 * (no row has it, so that the statements find nothing). */
struct archive_scope {
	const struct storage_archive_query *q;
	int64_t user, with;
};

/* A place in the order of the archive: (stamp, seq), lexicographic. */
struct archive_position {
	int64_t stamp, seq;
};

static int position_cmp(struct archive_position a, struct archive_position b)
{
	if (a.stamp != b.stamp)
		return a.stamp < b.stamp ? -1 : 1;
	return a.seq < b.seq ? -1 : a.seq > b.seq;
}

/* Binds AR_POSITION or AR_BY_ID to the row of id in user's archive;
 * false when id cannot name one. */
static bool archive_bind_id(struct storage_backend *b, sqlite3_stmt *st,
			    int64_t user, const char *id)
{
	int64_t seq;
	uint64_t tag;
	if (!archive_id_decode(b->archive->ids, id, &seq, &tag))
		return false;
	if (sqlite3_bind_int64(st, 1, seq) || sqlite3_bind_int64(st, 2, user) ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)tag)) {
		sqlite_backend_done(st);
		return false;
	}
	return true;
}

/* The position of id in user's archive. */
static enum storage_status archive_position(struct storage_backend *b,
					    int64_t user, const char *id,
					    struct archive_position *out)
{
	sqlite3_stmt *st = b->archive->st[AR_POSITION];
	if (!archive_bind_id(b, st, user, id))
		return STORAGE_NOT_FOUND;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->stamp = sqlite3_column_int64(st, 0);
		out->seq = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE) {
		sqlite_backend_log(b, "archive position", NULL, NULL);
	}
	sqlite_backend_done(st);
	return rc == SQLITE_ROW    ? STORAGE_OK
	       : rc == SQLITE_DONE ? STORAGE_NOT_FOUND
				   : STORAGE_ERROR;
}

/* The range of q, exclusive at both ends: (start, 0) is every stamp
 * from start (seq counts from 1), (end, INT64_MAX) every one to end. */
static enum storage_status archive_bounds(struct storage_backend *b,
					  const struct archive_scope *sc,
					  struct archive_position *low,
					  struct archive_position *high)
{
	const struct storage_archive_query *q = sc->q;
	*low = (struct archive_position){q->start, 0};
	*high = (struct archive_position){q->end, INT64_MAX};
	for (int i = 0; i < 4; i++) {
		const char *id = i < 2 ? q->after[i] : q->before[i - 2];
		struct archive_position p;
		if (!id)
			continue;
		enum storage_status rc = archive_position(b, sc->user, id, &p);
		if (rc != STORAGE_OK)
			return rc;
		if (i < 2 && position_cmp(p, *low) > 0)
			*low = p;
		else if (i >= 2 && position_cmp(p, *high) < 0)
			*high = p;
	}
	return STORAGE_OK;
}

/* ---- rows ---- */

/* A row while the page's data still grows (and moves). */
struct archive_row {
	struct archive_position pos;
	size_t id, message, message_len;
};

struct archive_rows {
	struct archive_row *rows;
	size_t count, cap;
	char *data;
	size_t len, data_cap;
};

/* Copies the current row (seq, tag, stamp, message, …) to r, with its
 * id. */
static int archive_add_row(struct storage_backend *b, sqlite3_stmt *st,
			   struct archive_rows *r)
{
	char id[ARCHIVE_ID_LEN + 1];
	size_t ilen = ARCHIVE_ID_LEN;
	/* The pointer first, then its length (sqlite3_column_blob(3)). */
	const void *message = sqlite3_column_blob(st, 3);
	size_t mlen = (size_t)sqlite3_column_bytes(st, 3);
	if (archive_id_encode(b->archive->ids, sqlite3_column_int64(st, 0),
			      (uint64_t)sqlite3_column_int64(st, 1), id) < 0 ||
	    (mlen && !message) ||
	    sqlite_result_grow((void **)&r->rows, &r->cap, r->count + 1,
			       sizeof *r->rows) < 0 ||
	    sqlite_result_grow((void **)&r->data, &r->data_cap,
			       r->len + ilen + mlen + 2, 1) < 0)
		return -1;
	struct archive_row *row = &r->rows[r->count++];
	row->pos.seq = sqlite3_column_int64(st, 0);
	row->pos.stamp = sqlite3_column_int64(st, 2);
	row->id = r->len;
	memcpy(r->data + r->len, id, ilen);
	r->data[r->len + ilen] = '\0';
	r->len += ilen + 1;
	row->message = r->len;
	row->message_len = mlen;
	if (mlen)
		memcpy(r->data + r->len, message, mlen);
	r->data[r->len + mlen] = '\0';
	r->len += mlen + 1;
	return 0;
}

/* Whether r holds STORAGE_ARCHIVE_PAGE_BYTES of messages: the page
 * ends there. */
static bool archive_rows_full(const struct archive_rows *r)
{
	return r->len >= STORAGE_ARCHIVE_PAGE_BYTES;
}

/* The page: rows [from, from + count) of r, oldest first. */
static int archive_finish(struct archive_rows *r, size_t from, size_t count,
			  bool reversed, struct storage_archive_result *out)
{
	out->count = count;
	out->data = r->data;
	r->data = NULL;
	if (!count)
		return 0;
	if (!(out->items = malloc(count * sizeof *out->items)))
		return -1;
	for (size_t i = 0; i < count; i++) {
		const struct archive_row *row =
			&r->rows[reversed ? from + count - 1 - i : from + i];
		out->items[i] = (struct storage_archive_item){
			.id = out->data + row->id,
			.stamp = row->pos.stamp,
			.message = out->data + row->message,
			.message_len = row->message_len,
		};
	}
	return 0;
}

static void archive_rows_free(struct archive_rows *r)
{
	free(r->rows);
	free(r->data);
}

/* ---- the range query ---- */

static sqlite3_stmt *archive_bind_range(struct storage_backend *b,
					const struct archive_scope *sc,
					struct archive_position low,
					struct archive_position high)
{
	const struct storage_archive_query *q = sc->q;
	enum archive_statement which =
		q->with_bare
			? (q->backward ? AR_WITH_BACKWARD : AR_WITH_FORWARD)
			: (q->backward ? AR_BACKWARD : AR_FORWARD);
	sqlite3_stmt *st = b->archive->st[which];
	if (sqlite3_bind_int64(st, 1, sc->user) ||
	    sqlite3_bind_int64(st, 2, low.stamp) ||
	    sqlite3_bind_int64(st, 3, low.seq) ||
	    sqlite3_bind_int64(st, 4, high.stamp) ||
	    sqlite3_bind_int64(st, 5, high.seq) ||
	    sqlite3_bind_int64(st, 6, (sqlite3_int64)q->max + 1) ||
	    (q->with_bare &&
	     (sqlite3_bind_int64(st, 7, sc->with) ||
	      (q->with_resource && sqlite3_bind_text(st, 8, q->with_resource,
						     -1, SQLITE_STATIC))))) {
		sqlite_backend_done(st);
		sqlite_backend_log(b, "bind", q->user, "archive");
		return NULL;
	}
	return st;
}

static enum storage_status
archive_query_range(struct storage_backend *b, const struct archive_scope *sc,
		    struct archive_position low, struct archive_position high,
		    struct storage_archive_result *out)
{
	const struct storage_archive_query *q = sc->q;
	sqlite3_stmt *st = archive_bind_range(b, sc, low, high);
	if (!st)
		return STORAGE_ERROR;
	struct archive_rows r = {0};
	bool full = false;
	int rc;
	while (!full && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (archive_add_row(b, st, &r) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
		full = r.count <= q->max && archive_rows_full(&r);
	}
	if (full)
		rc = SQLITE_DONE;
	if (rc != SQLITE_DONE)
		sqlite_backend_log(b, "archive query", q->user, "archive");
	sqlite_backend_done(st);
	size_t count = r.count > q->max ? q->max : r.count;
	out->complete = !full && r.count <= q->max;
	/* Backward, the rows came newest first: the page is their first
	 * `count`, reversed. */
	if (rc != SQLITE_DONE ||
	    archive_finish(&r, 0, count, q->backward, out) < 0) {
		archive_rows_free(&r);
		storage_archive_result_free(out);
		return STORAGE_ERROR;
	}
	archive_rows_free(&r);
	return STORAGE_OK;
}

/* ---- the ids query ---- */

/* Whether the row that AR_BY_ID found passes the query's with filter. */
static bool archive_row_with(sqlite3_stmt *st, const struct archive_scope *sc)
{
	const char *resource = (const char *)sqlite3_column_text(st, 5);
	return !sc->q->with_bare ||
	       (sqlite3_column_int64(st, 4) == sc->with &&
		(!sc->q->with_resource ||
		 (resource && strcmp(resource, sc->q->with_resource) == 0)));
}

/* Adds the message of id to r if it is in the range; 0 or -1. */
static int archive_fetch_id(struct storage_backend *b,
			    const struct archive_scope *sc, const char *id,
			    struct archive_position low,
			    struct archive_position high,
			    struct archive_rows *r)
{
	sqlite3_stmt *st = b->archive->st[AR_BY_ID];
	if (!archive_bind_id(b, st, sc->user, id))
		return 0; /* names no message */
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct archive_position p = {sqlite3_column_int64(st, 2),
					     sqlite3_column_int64(st, 0)};
		if (position_cmp(p, low) > 0 && position_cmp(p, high) < 0 &&
		    archive_row_with(st, sc) && archive_add_row(b, st, r) < 0)
			rc = SQLITE_NOMEM;
	} else if (rc != SQLITE_DONE) {
		sqlite_backend_log(b, "archive id", sc->q->user, "archive");
	}
	sqlite_backend_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int archive_row_cmp(const void *a, const void *b)
{
	const struct archive_row *x = a, *y = b;
	return position_cmp(x->pos, y->pos);
}

/* XEP-0313 §4.1.4's ids: each found by its seq (the primary key),
 * kept if the other filters let it through, then ordered and paged as
 * a range would be. */
static enum storage_status archive_query_ids(struct storage_backend *b,
					     const struct archive_scope *sc,
					     struct archive_position low,
					     struct archive_position high,
					     struct storage_archive_result *out)
{
	const struct storage_archive_query *q = sc->q;
	struct archive_rows r = {0};
	bool full = false;
	for (size_t i = 0; i < q->nids && !full; i++) {
		if (archive_fetch_id(b, sc, q->ids[i], low, high, &r) < 0) {
			archive_rows_free(&r);
			return STORAGE_ERROR;
		}
		full = archive_rows_full(&r);
	}
	if (r.count)
		qsort(r.rows, r.count, sizeof *r.rows, archive_row_cmp);
	size_t count = r.count > q->max ? q->max : r.count;
	size_t from = q->backward ? r.count - count : 0;
	out->complete = !full && r.count <= q->max;
	if (archive_finish(&r, from, count, false, out) < 0) {
		archive_rows_free(&r);
		storage_archive_result_free(out);
		return STORAGE_ERROR;
	}
	archive_rows_free(&r);
	return STORAGE_OK;
}

enum storage_status
storage_backend_archive_query(struct storage_backend *b,
			      const struct storage_archive_query *q,
			      struct storage_archive_result *out)
{
	*out = (struct storage_archive_result){0};
	struct archive_scope sc = {q, 0, 0};
	if (archive_jid_id(b, q->user, false, &sc.user) < 0 ||
	    (q->with_bare &&
	     archive_jid_id(b, q->with_bare, false, &sc.with) < 0))
		return STORAGE_ERROR;
	struct archive_position low, high;
	enum storage_status rc = archive_bounds(b, &sc, &low, &high);
	if (rc != STORAGE_OK)
		return rc;
	if (q->nids)
		return archive_query_ids(b, &sc, low, high, out);
	return archive_query_range(b, &sc, low, high, out);
}

void storage_archive_result_free(struct storage_archive_result *r)
{
	free(r->items);
	free(r->data);
	*r = (struct storage_archive_result){0};
}

/* ---- deletions in chunks ---- */

/* Runs a DELETE of at most limit rows bound to (?1 user's text or
 * int64 key, ?2 limit); *deleted: how many went. */
static int archive_delete_chunk(struct storage_backend *b, sqlite3_stmt *st,
				const char *user, int64_t key, size_t limit,
				size_t *deleted, const char *what)
{
	*deleted = 0;
	int bad = user ? sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC)
		       : sqlite3_bind_int64(st, 1, key);
	if (bad || sqlite3_bind_int64(st, 2, (sqlite3_int64)limit)) {
		sqlite_backend_done(st);
		st = NULL;
	}
	if (sqlite_backend_step(b, st, what, user, "archive") < 0)
		return -1;
	*deleted = (size_t)sqlite3_changes(b->sql);
	return 0;
}

int storage_backend_archive_expire(struct storage_backend *b, int64_t before,
				   size_t limit, size_t *deleted)
{
	return archive_delete_chunk(b, b->archive->st[AR_EXPIRE], NULL, before,
				    limit, deleted, "archive expiry");
}

int storage_backend_delete_user(struct storage_backend *b, const char *user,
				size_t limit, size_t *deleted)
{
	size_t items = 0, messages = 0;
	int64_t id;
	if (archive_delete_chunk(b, b->archive->st[AR_PURGE_ITEMS], user, 0,
				 limit, &items, "delete the user's items") < 0)
		return -1;
	/* The user's row of jids stays: other archives may name it (and
	 * a running palabred may hold its id). */
	if (items < limit &&
	    (archive_jid_id(b, user, false, &id) < 0 ||
	     archive_delete_chunk(b, b->archive->st[AR_PURGE_ARCHIVE], NULL, id,
				  limit - items, &messages,
				  "delete the user's archive") < 0))
		return -1;
	*deleted = items + messages;
	return 0;
}
