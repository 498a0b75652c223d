/* sqlite: the SQLite backend of storage (backend.h).
 *
 * Durability: WAL with synchronous=FULL, so the WAL is fsync'ed at every
 * COMMIT and a committed transaction survives kill -9 and a power loss
 * (NORMAL would survive kill -9 only). Group commit in storage.c makes
 * that one fsync per group of batches, not one per batch. */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../lib/log.h"
#include "schema.h"
#include "sqlite.h"

#define SQLITE_BUSY_TIMEOUT_MS 5000

enum statement {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_PUT,
	ST_DELETE,
	ST_DELETE_ALL,
	ST_NEXT_KEY,
	ST_LOAD,
	ST_GET,
	ST_COUNT,
	ST_MAX
};

static const char *const statements[ST_MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT batch",
	[ST_RELEASE] = "RELEASE batch",
	[ST_ROLLBACK_TO] = "ROLLBACK TO batch",
	[ST_PUT] = "INSERT OR REPLACE INTO items (user, store, key, value)"
		   " VALUES (?1, ?2, ?3, ?4)",
	[ST_DELETE] = "DELETE FROM items"
		      " WHERE user = ?1 AND store = ?2 AND key = ?3",
	[ST_DELETE_ALL] = "DELETE FROM items WHERE user = ?1 AND store = ?2",
	[ST_NEXT_KEY] = "UPDATE sequence SET value = value + 1"
			" WHERE name = 'append' RETURNING value",
	[ST_LOAD] = "SELECT key, value FROM items"
		    " WHERE user = ?1 AND store = ?2 ORDER BY key",
	[ST_GET] = "SELECT key, value FROM items"
		   " WHERE user = ?1 AND store = ?2 AND key = ?3",
	[ST_COUNT] =
		"SELECT count(*) FROM items WHERE user = ?1 AND store = ?2",
};

/* ---- errors ---- */

/* "storage <file>: <operation> [(<user>, <store>)]: <SQLite's message>
 * [(<the system's>)]" */
void sqlite_backend_log(struct storage_backend *b, const char *what,
			const char *user, const char *store)
{
	char where[512] = "", system[128] = "";
	int errnum = sqlite3_system_errno(b->sql);
	if (user && store)
		snprintf(where, sizeof where, " (%s, %s)", user, store);
	if (errnum)
		snprintf(system, sizeof system, " (%s)", strerror(errnum));
	log_error("storage %s: %s%s: %s%s", b->path, what, where,
		  sqlite3_errmsg(b->sql), system);
}

/* ---- statements ---- */

static sqlite3_stmt *backend_bind(struct storage_backend *b,
				  enum statement which, const char *user,
				  const char *store, const char *key)
{
	sqlite3_stmt *st = b->st[which];
	if ((user && sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC)) ||
	    (store && sqlite3_bind_text(st, 2, store, -1, SQLITE_STATIC)) ||
	    (key && sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC))) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return NULL;
	}
	return st;
}

void sqlite_backend_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no row. */
int sqlite_backend_step(struct storage_backend *b, sqlite3_stmt *st,
			const char *what, const char *user, const char *store)
{
	int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc != SQLITE_DONE)
		sqlite_backend_log(b, what, user, store);
	if (st)
		sqlite_backend_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- transactions ---- */

int storage_backend_begin(struct storage_backend *b)
{
	/* A transaction that ended with no commit nor rollback of ours
	 * (SQLite rolls back on I/O errors): what it inserted is gone. */
	sqlite_archive_settle(b, false);
	return sqlite_backend_step(b, b->st[ST_BEGIN], "begin", NULL, NULL);
}

int storage_backend_commit(struct storage_backend *b)
{
	int rc = sqlite_backend_step(b, b->st[ST_COMMIT], "commit", NULL, NULL);
	sqlite_archive_settle(b, rc == 0);
	return rc;
}

void storage_backend_rollback(struct storage_backend *b)
{
	sqlite_archive_settle(b, false);
	if (storage_backend_in_transaction(b))
		sqlite_backend_step(b, b->st[ST_ROLLBACK], "rollback", NULL,
				    NULL);
}

bool storage_backend_in_transaction(struct storage_backend *b)
{
	return !sqlite3_get_autocommit(b->sql);
}

int storage_backend_batch_begin(struct storage_backend *b)
{
	return sqlite_backend_step(b, b->st[ST_SAVEPOINT], "savepoint", NULL,
				   NULL);
}

int storage_backend_batch_end(struct storage_backend *b, bool ok)
{
	/* A failure that rolled back the whole transaction left no
	 * savepoint to go back to: storage.c sees it and starts again. */
	if (!ok || !storage_backend_in_transaction(b))
		sqlite_archive_settle(b, false);
	if (!storage_backend_in_transaction(b))
		return -1;
	if (!ok && sqlite_backend_step(b, b->st[ST_ROLLBACK_TO],
				       "roll back a batch", NULL, NULL) < 0)
		return -1;
	if (sqlite_backend_step(b, b->st[ST_RELEASE], "release a batch", NULL,
				NULL) < 0)
		return -1;
	return ok ? 0 : -1;
}

/* ---- writes ---- */

static int backend_put(struct storage_backend *b, const char *user,
		       const char *store, const char *key, const void *value,
		       size_t value_len)
{
	if (value_len > STORAGE_VALUE_MAX) {
		log_error("storage %s: put (%s, %s): a value of %zu bytes, "
			  "more than %u",
			  b->path, user, store, value_len, STORAGE_VALUE_MAX);
		return -1;
	}
	sqlite3_stmt *st = backend_bind(b, ST_PUT, user, store, key);
	/* A NULL pointer would bind SQL NULL: an empty value is "". */
	if (st && sqlite3_bind_blob(st, 4, value_len ? value : "",
				    (int)value_len, SQLITE_STATIC)) {
		sqlite_backend_done(st);
		st = NULL;
	}
	return sqlite_backend_step(b, st, "put", user, store);
}

static int backend_next_key(struct storage_backend *b, char key[21])
{
	sqlite3_stmt *st = b->st[ST_NEXT_KEY];
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite_backend_log(b, "next list key", NULL, NULL);
		sqlite_backend_done(st);
		return -1;
	}
	uint64_t n = (uint64_t)sqlite3_column_int64(st, 0);
	snprintf(key, 21, "%020" PRIu64, n);
	/* Run it to SQLITE_DONE so that the UPDATE is complete. */
	rc = sqlite3_step(st);
	sqlite_backend_done(st);
	if (rc != SQLITE_DONE) {
		sqlite_backend_log(b, "next list key", NULL, NULL);
		return -1;
	}
	return 0;
}

int storage_backend_write(struct storage_backend *b,
			  const struct storage_op *op)
{
	char key[21];
	switch (op->type) {
	case STORAGE_OP_PUT:
		return backend_put(b, op->user, op->store, op->key, op->value,
				   op->value_len);
	case STORAGE_OP_APPEND:
		if (backend_next_key(b, key) < 0)
			return -1;
		return backend_put(b, op->user, op->store, key, op->value,
				   op->value_len);
	case STORAGE_OP_ARCHIVE:
	case STORAGE_OP_ARCHIVE_DELETE:
		return sqlite_archive_write(b, op);
	case STORAGE_OP_DELETE:
		if (!op->key)
			return sqlite_backend_step(
				b,
				backend_bind(b, ST_DELETE_ALL, op->user,
					     op->store, NULL),
				"delete all", op->user, op->store);
		return sqlite_backend_step(b,
					   backend_bind(b, ST_DELETE, op->user,
							op->store, op->key),
					   "delete", op->user, op->store);
	}
	return -1;
}

/* ---- reads ---- */

/* Where an item's key and value sit in the result's data while the data
 * still grows (and moves). */
struct row_offsets {
	size_t key, value, value_len;
};

int sqlite_result_grow(void **p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * size);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Copies the current row (key, value) to the end of data; each is
 * followed by a NUL byte. */
static int result_add_row(sqlite3_stmt *st, char **data, size_t *len,
			  size_t *cap, struct row_offsets *row)
{
	/* The pointer first, then its length (sqlite3_column_blob(3)). */
	const void *key = sqlite3_column_text(st, 0);
	size_t klen = (size_t)sqlite3_column_bytes(st, 0);
	const void *value = sqlite3_column_blob(st, 1);
	size_t vlen = (size_t)sqlite3_column_bytes(st, 1);
	if (!key || (vlen && !value) ||
	    sqlite_result_grow((void **)data, cap, *len + klen + vlen + 2, 1) <
		    0)
		return -1;
	row->key = *len;
	memcpy(*data + *len, key, klen);
	(*data)[*len + klen] = '\0';
	*len += klen + 1;
	row->value = *len;
	row->value_len = vlen;
	if (vlen)
		memcpy(*data + *len, value, vlen);
	(*data)[*len + vlen] = '\0';
	*len += vlen + 1;
	return 0;
}

static int result_finish(struct storage_result *out, char *data,
			 struct row_offsets *rows, size_t count)
{
	out->data = data;
	out->count = count;
	if (!count)
		return 0;
	out->items = malloc(count * sizeof *out->items);
	if (!out->items)
		return -1;
	for (size_t i = 0; i < count; i++)
		out->items[i] = (struct storage_item){
			.key = data + rows[i].key,
			.value = data + rows[i].value,
			.value_len = rows[i].value_len,
		};
	return 0;
}

static int backend_read_rows(struct storage_backend *b, sqlite3_stmt *st,
			     const char *user, const char *store,
			     struct storage_result *out)
{
	char *data = NULL;
	struct row_offsets *rows = NULL;
	size_t count = 0, len = 0, data_cap = 0, rows_cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite_result_grow((void **)&rows, &rows_cap, count + 1,
				       sizeof *rows) < 0 ||
		    result_add_row(st, &data, &len, &data_cap, &rows[count]) <
			    0) {
			rc = SQLITE_NOMEM;
			break;
		}
		count++;
	}
	if (rc == SQLITE_NOMEM)
		log_error("storage %s: read (%s, %s): out of memory", b->path,
			  user, store);
	else if (rc != SQLITE_DONE)
		sqlite_backend_log(b, "read", user, store);
	sqlite_backend_done(st);
	if (rc == SQLITE_DONE && result_finish(out, data, rows, count) == 0) {
		free(rows);
		return 0;
	}
	free(rows);
	free(data);
	*out = (struct storage_result){0};
	return -1;
}

static int backend_count(struct storage_backend *b, sqlite3_stmt *st,
			 const char *user, const char *store,
			 struct storage_result *out)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		out->count = (size_t)sqlite3_column_int64(st, 0);
	else
		sqlite_backend_log(b, "count", user, store);
	sqlite_backend_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int storage_backend_read(struct storage_backend *b, enum storage_read_type type,
			 const char *user, const char *store, const char *key,
			 struct storage_result *out)
{
	*out = (struct storage_result){0};
	enum statement which = type == STORAGE_READ_GET     ? ST_GET
			       : type == STORAGE_READ_COUNT ? ST_COUNT
							    : ST_LOAD;
	sqlite3_stmt *st = backend_bind(b, which, user, store,
					type == STORAGE_READ_GET ? key : NULL);
	if (!st) {
		sqlite_backend_log(b, "bind", user, store);
		return -1;
	}
	if (type == STORAGE_READ_COUNT)
		return backend_count(b, st, user, store, out);
	return backend_read_rows(b, st, user, store, out);
}

void storage_result_free(struct storage_result *r)
{
	free(r->items);
	free(r->data);
	*r = (struct storage_result){0};
}

/* ---- open and close ---- */

static int backend_pragmas(struct storage_backend *b, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	const char *mode = NULL;
	sqlite3_extended_result_codes(b->sql, 1);
	sqlite3_busy_timeout(b->sql, SQLITE_BUSY_TIMEOUT_MS);
	/* The journal mode is the row the pragma returns: a file system
	 * without shared memory keeps the old one. */
	if (sqlite3_prepare_v2(b->sql, "PRAGMA journal_mode = WAL", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		mode = (const char *)sqlite3_column_text(st, 0);
	bool wal = mode && strcmp(mode, "wal") == 0;
	sqlite3_finalize(st);
	if (!wal) {
		snprintf(err, errlen, "%s: cannot switch to WAL mode: %s",
			 b->path, sqlite3_errmsg(b->sql));
		return -1;
	}
	if (sqlite3_exec(b->sql,
			 "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot set the pragmas: %s", b->path,
			 sqlite3_errmsg(b->sql));
		return -1;
	}
	return 0;
}

sqlite3_stmt *sqlite_backend_prepare(struct storage_backend *b, const char *sql,
				     char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(b->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
			       NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot prepare \"%s\": %s", b->path,
			 sql, sqlite3_errmsg(b->sql));
		return NULL;
	}
	return st;
}

static int backend_prepare(struct storage_backend *b, char *err, size_t errlen)
{
	if (!(b->st = calloc(ST_MAX, sizeof *b->st))) {
		snprintf(err, errlen, "%s: out of memory", b->path);
		return -1;
	}
	for (int i = 0; i < ST_MAX; i++)
		if (!(b->st[i] = sqlite_backend_prepare(b, statements[i], err,
							errlen)))
			return -1;
	return sqlite_archive_open(b, err, errlen);
}

/* Creates the file with mode 0600 before SQLite opens it (SQLite gives
 * its -wal and -shm files the same mode): users' contacts and messages
 * are nobody else's business. An existing file keeps its mode. */
static int backend_create_file(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

struct storage_backend *storage_backend_open(const char *path, char *err,
					     size_t errlen)
{
	struct storage_backend *b = calloc(1, sizeof *b);
	if (!b || !(b->path = strdup(path))) {
		free(b);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (backend_create_file(path, err, errlen) < 0)
		goto fail;
	/* NOMUTEX: the connection is used by one thread at a time (the
	 * opening thread, then the storage thread, then the closing one). */
	int rc = sqlite3_open_v2(path, &b->sql,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					 SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 b->sql ? sqlite3_errmsg(b->sql) : sqlite3_errstr(rc));
		goto fail;
	}
	if (backend_pragmas(b, err, errlen) < 0 ||
	    storage_schema_migrate(b->sql, path, err, errlen) < 0 ||
	    backend_prepare(b, err, errlen) < 0)
		goto fail;
	return b;
fail:
	storage_backend_close(b);
	return NULL;
}

void storage_backend_close(struct storage_backend *b)
{
	if (!b)
		return;
	sqlite_archive_close(b);
	for (int i = 0; b->st && i < ST_MAX; i++)
		sqlite3_finalize(b->st[i]);
	free(b->st);
	if (b->sql && sqlite3_close(b->sql) != SQLITE_OK)
		log_error("storage %s: close: %s", b->path,
			  sqlite3_errmsg(b->sql));
	free(b->path);
	free(b);
}
