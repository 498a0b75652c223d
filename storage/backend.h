/* backend: what storage.c (queue, thread, completions) asks of a
 * database. Every function but open runs on the storage thread; a
 * backend logs each error it returns, naming the file and the operation.
 * The one backend today is sqlite.c; another (PostgreSQL) implements the
 * same functions and is chosen at build time. Private to storage/. */
#ifndef PALABRE_STORAGE_BACKEND_H
#define PALABRE_STORAGE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archive_id.h"
#include "storage.h"

struct storage_backend;

enum storage_op_type {
	STORAGE_OP_PUT,
	STORAGE_OP_DELETE, /* key NULL: every item of (user, store) */
	STORAGE_OP_APPEND, /* key NULL: the backend gives the next one */
	/* To user's archive: store is the correspondent's bare JID,
	 * resource its resource, key the message's id (from
	 * storage_archive_reserve: it holds the row's seq and tag), value
	 * the message. */
	STORAGE_OP_ARCHIVE,
	STORAGE_OP_ARCHIVE_DELETE, /* user's archive */
};

struct storage_op {
	enum storage_op_type type;
	const char *user, *store, *key;
	const void *value;
	size_t value_len;
	const char *resource; /* STORAGE_OP_ARCHIVE */
	int64_t stamp;        /* STORAGE_OP_ARCHIVE */
};

enum storage_read_type {
	STORAGE_READ_LOAD,
	STORAGE_READ_GET,
	STORAGE_READ_COUNT,
};

/* A read's result, owned by the request until its completion ran. */
struct storage_result {
	size_t count;
	struct storage_item *items; /* NULL for a count */
	char *data;                 /* keys and values the items point into */
};

void storage_result_free(struct storage_result *r);

/* An archive query's page, owned by the request until its completion
 * ran. */
struct storage_archive_result {
	size_t count;
	struct storage_archive_item *items;
	char *data; /* ids and messages the items point into */
	bool complete;
};

void storage_archive_result_free(struct storage_archive_result *r);

/* Opens path (created with mode 0600), applies the migrations
 * (schema.c). NULL with a message in err on failure. */
struct storage_backend *storage_backend_open(const char *path, char *err,
					     size_t errlen);
void storage_backend_close(struct storage_backend *b);

/* The transaction of one group of requests (group commit). */
int storage_backend_begin(struct storage_backend *b);
int storage_backend_commit(struct storage_backend *b);
void storage_backend_rollback(struct storage_backend *b);
/* Whether a transaction is open: a failed statement may have rolled the
 * whole transaction back (SQLite does on I/O errors and a full disk). */
bool storage_backend_in_transaction(struct storage_backend *b);

/* One batch inside the transaction: a savepoint that ok == false rolls
 * back, leaving the batches before it in place. */
int storage_backend_batch_begin(struct storage_backend *b);
int storage_backend_batch_end(struct storage_backend *b, bool ok);

int storage_backend_write(struct storage_backend *b,
			  const struct storage_op *op);
/* key only for STORAGE_READ_GET. Fills out (zeroed on failure). */
int storage_backend_read(struct storage_backend *b, enum storage_read_type type,
			 const char *user, const char *store, const char *key,
			 struct storage_result *out);

/* storage.h's archive query; STORAGE_NOT_FOUND for an unknown id.
 * Fills out (zeroed on failure). */
enum storage_status
storage_backend_archive_query(struct storage_backend *b,
			      const struct storage_archive_query *q,
			      struct storage_archive_result *out);
/* The archive's highest seq (0 when empty) and the key of its ids
 * (archive_id.h), for storage_archive_reserve: called at open, before
 * the storage thread starts. 0 or -1. */
int storage_backend_archive_ids(struct storage_backend *b, int64_t *last_seq,
				unsigned char key[ARCHIVE_ID_KEY_SIZE]);
/* storage_archive_expire, inside the transaction; *deleted: how many. */
int storage_backend_archive_expire(struct storage_backend *b, int64_t before,
				   size_t limit, size_t *deleted);
/* storage_delete_user's chunk: deletes at most limit rows of user (its
 * items, then its archive) in the current transaction; *deleted: how
 * many. */
int storage_backend_delete_user(struct storage_backend *b, const char *user,
				size_t limit, size_t *deleted);

#endif
