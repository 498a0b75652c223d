/* sqlite: what the SQLite backend's files share (sqlite.c: the stores,
 * transactions, open and close; sqlite_archive.c: the message archive).
 * Private to storage/. */
#ifndef PALABRE_STORAGE_SQLITE_H
#define PALABRE_STORAGE_SQLITE_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "backend.h"

struct sqlite_archive;

struct storage_backend {
	sqlite3 *sql;
	char *path;
	sqlite3_stmt **st;              /* sqlite.c's statements */
	struct sqlite_archive *archive; /* sqlite_archive.c's */
};

/* Logs "storage <file>: <what> [(<user>, <store>)]: <SQLite's message>". */
void sqlite_backend_log(struct storage_backend *b, const char *what,
			const char *user, const char *store);
/* Resets st and clears its bindings. */
void sqlite_backend_done(sqlite3_stmt *st);
/* Runs st (NULL: a failed bind) to its end, expecting no row; logs a
 * failure. 0 or -1. */
int sqlite_backend_step(struct storage_backend *b, sqlite3_stmt *st,
			const char *what, const char *user, const char *store);
/* Grows the array *p of *cap elements of size to hold need. 0 or -1. */
int sqlite_result_grow(void **p, size_t *cap, size_t need, size_t size);
/* Prepares one statement, persistent; NULL with err filled. */
sqlite3_stmt *sqlite_backend_prepare(struct storage_backend *b, const char *sql,
				     char *err, size_t errlen);

/* sqlite_archive.c: its statements, prepared at open, finalized at
 * close; and the archive's writes. */
int sqlite_archive_open(struct storage_backend *b, char *err, size_t errlen);
void sqlite_archive_close(struct storage_backend *b);
int sqlite_archive_write(struct storage_backend *b,
			 const struct storage_op *op);
/* The transaction (or a batch's savepoint) ended: kept (committed) or
 * not, so that the archive forgets the ids of JIDs it inserted in it. */
void sqlite_archive_settle(struct storage_backend *b, bool kept);
/* Its statements' SQL, NULL-terminated: tests/unit/test_archive.c
 * checks their query plans. */
extern const char *const sqlite_archive_statements[];

#endif
