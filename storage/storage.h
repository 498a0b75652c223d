/* storage: palabre's persistent data, asynchronous (ARCHITECTURE.md §6).
 *
 * Data is kept per user (a bare JID) in named stores. A store is a map
 * from keys to opaque values (roster items keyed by contact JID, the
 * block list keyed by JID, a roster version under one fixed key …) or
 * an ordered list (offline messages: storage_batch_append gives each
 * value a key that sorts in arrival order).
 *
 * Every request runs on the storage thread, in the order submitted, and
 * its completion is called on the loop that opened the storage. A read
 * submitted after a write sees that write. A write's completion comes
 * only once its transaction is durable (SQLite, WAL, synchronous=FULL):
 * reply to the client then and not before, so that what palabre
 * acknowledged survives kill -9. Writes waiting together are committed in
 * one transaction (group commit); each batch is atomic.
 *
 * Backends: sqlite (storage/sqlite.c). The loop never waits on disk.
 *
 * Memory is bounded: requests submitted and not yet completed may hold
 * STORAGE_QUEUE_MAX_BYTES; past it a submission returns -1 (a flood of
 * writes is refused, it does not grow the process). Every function is
 * called on the loop's thread. */
#ifndef PALABRE_STORAGE_H
#define PALABRE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct storage;
struct storage_batch;

/* A put or append of a longer value fails on the storage thread: its
 * batch is rolled back and completes with STORAGE_ERROR. */
#define STORAGE_VALUE_MAX (16u * 1024 * 1024)
/* What the requests not yet completed may hold (their keys and values,
 * not the results of reads). */
#define STORAGE_QUEUE_MAX_BYTES (64u * 1024 * 1024)

enum storage_status {
	STORAGE_OK = 0,
	STORAGE_ERROR = -1, /* the database failed: details were logged */
	/* An archive query names an id the archive does not hold. */
	STORAGE_NOT_FOUND = -2,
};

struct storage_item {
	const char *key;
	const void *value;
	size_t value_len;
};

/* A read's result: items in key order (list stores: arrival order).
 * Valid during the callback only. Keys compare as bytes (memcmp); each
 * value is followed by a NUL byte that value_len does not count, so a
 * text value can be read as a C string. On STORAGE_ERROR, count is 0. */
struct storage_items {
	size_t count;
	const struct storage_item *items;
};

typedef void (*storage_read_cb)(void *ctx, enum storage_status status,
				const struct storage_items *result);
typedef void (*storage_write_cb)(void *ctx, enum storage_status status);

/* Opens (creating it if needed) the database at path, applies the schema
 * migrations it lacks (synchronously: this is called once at start) and
 * starts the storage thread. NULL with a message in err on failure. */
struct storage *storage_open(uv_loop_t *loop, const char *path, char *err,
			     size_t errlen);
/* Finishes every submitted request (their completions run before it
 * returns; what they submit then is refused), then stops the thread and
 * closes the database. This waits for the last transaction: call it at
 * shutdown. s is freed once its uv_async_t handle is closed, on the
 * loop: run the loop again (uv_run(loop, UV_RUN_DEFAULT) returns once
 * nothing else is active) before uv_loop_close. */
void storage_close(struct storage *s);

/* The reads return 0, or -1 when the request could not be queued (the
 * storage is closing, the queue is full, memory is short): then cb is
 * not called. */

/* Every item of (user, store). */
int storage_load(struct storage *s, const char *user, const char *store,
		 storage_read_cb cb, void *ctx);
/* One item: result->count is 0 or 1. */
int storage_get(struct storage *s, const char *user, const char *store,
		const char *key, storage_read_cb cb, void *ctx);
/* How many items (user, store) holds: result->count, no items. */
int storage_count(struct storage *s, const char *user, const char *store,
		  storage_read_cb cb, void *ctx);

/* A batch of writes, committed atomically. NULL when out of memory. */
struct storage_batch *storage_batch_new(struct storage *s);
/* Sets key to value (replacing it). */
int storage_batch_put(struct storage_batch *b, const char *user,
		      const char *store, const char *key, const void *value,
		      size_t value_len);
/* Removes key; key NULL removes every item of (user, store). */
int storage_batch_delete(struct storage_batch *b, const char *user,
			 const char *store, const char *key);
/* Adds value at the end of the list (user, store), under a new key: 20
 * decimal digits, increasing (across restarts too) in arrival order. */
int storage_batch_append(struct storage_batch *b, const char *user,
			 const char *store, const void *value,
			 size_t value_len);
/* Submits the batch (which is then owned by the storage); cb may be
 * NULL. Returns 0, or -1 when the batch could not be queued (its
 * operations are dropped, the batch is freed and cb is not called): the
 * storage is closing, the queue is full (STORAGE_QUEUE_MAX_BYTES), or an
 * earlier put, delete or append of the batch returned -1 (out of
 * memory, a NULL user, store or put key), so that a batch is never
 * committed with a hole in it. An
 * empty batch completes after every request submitted before it. */
int storage_batch_commit(struct storage_batch *b, storage_write_cb cb,
			 void *ctx);
/* Drops a batch without committing it. */
void storage_batch_free(struct storage_batch *b);

/* ---- The message archive (XEP-0313) -------------------------------
 *
 * A user's archived messages, apart from the stores: each with its
 * correspondent (bare JID and resource), its time in microseconds since
 * the epoch, its XEP-0359 id (unique per user) and its bytes. Messages
 * are ordered by time, then arrival. Every query is a range of one
 * index and reads at most STORAGE_ARCHIVE_PAGE_MAX + 1 rows, so that it
 * holds the storage thread (and the writes behind it) for a short,
 * bounded time whatever the archive's size. */

#define STORAGE_ARCHIVE_PAGE_MAX 250

/* The size of an id, with its NUL: 22 characters of base64url. */
#define STORAGE_ARCHIVE_ID_SIZE 23

/* A new id for a message to archive, into id: its place in arrival
 * order is taken now, so that the message can carry its id before it
 * is written. 0, or -1 (out of memory in OpenSSL). An id reserved and
 * never archived is a gap, nothing more. */
int storage_archive_reserve(struct storage *s, char *id);
/* Appends a message to user's archive (with_resource "" for a bare
 * JID) under an id storage_archive_reserve gave, once: an id archived
 * twice (or not made so) fails the batch. */
int storage_batch_archive(struct storage_batch *b, const char *user,
			  const char *with_bare, const char *with_resource,
			  int64_t stamp, const char *id, const void *message,
			  size_t message_len);
/* Removes every archived message of user (an account deleted). */
int storage_batch_archive_delete(struct storage_batch *b, const char *user);

struct storage_archive_query {
	const char *user;
	/* Only messages with this correspondent (NULL: any); with a
	 * resource, only with that full JID (XEP-0313 §4.1.1). */
	const char *with_bare, *with_resource;
	/* Only messages from start to end, inclusive (µs); INT64_MIN and
	 * INT64_MAX for none. */
	int64_t start, end;
	/* Only messages after (before) the message of each id, bounds
	 * that do not include it; NULL for none. Two of each: XEP-0313's
	 * after-id / before-id and XEP-0059's after / before; the tighter
	 * holds. An id the archive does not hold: STORAGE_NOT_FOUND. */
	const char *after[2], *before[2];
	/* Only the messages of these ids (at most
	 * STORAGE_ARCHIVE_PAGE_MAX; ids not held are left out); nids 0:
	 * no such filter. */
	const char *const *ids;
	size_t nids;
	/* The page: at most max messages (1 .. STORAGE_ARCHIVE_PAGE_MAX)
	 * from the start of the range, or from its end when backward
	 * (XEP-0059 §2.5's <before/>), and no more of them than
	 * STORAGE_ARCHIVE_PAGE_BYTES hold (the first always): the rest
	 * comes with the next page. */
	size_t max;
	bool backward;
};

/* Past this many bytes of messages a page ends (not complete), so that
 * a query of 250 messages of 256 KiB each does not carry 64 MB through
 * the sm. */
#define STORAGE_ARCHIVE_PAGE_BYTES (1u << 20)

struct storage_archive_item {
	const char *id;
	int64_t stamp;
	const void *message; /* followed by a NUL byte */
	size_t message_len;
};

/* A page, in order (oldest first, also when backward); complete when
 * it holds the last message of the range (the first when backward):
 * XEP-0313 §4.3's <fin complete='true'/>. No count: counting a range
 * reads all of it (XEP-0059 §2.6 makes it optional). Valid during the
 * callback only; empty on any status but STORAGE_OK. */
struct storage_archive_page {
	size_t count;
	const struct storage_archive_item *items;
	bool complete;
};

typedef void (*storage_archive_cb)(void *ctx, enum storage_status status,
				   const struct storage_archive_page *page);

/* Runs a query (copied: q may go once this returns). 0, or -1 as the
 * reads above, with q->max out of bounds too. */
int storage_archive_query(struct storage *s,
			  const struct storage_archive_query *q,
			  storage_archive_cb cb, void *ctx);
/* Deletes the oldest archived messages of every user whose time is
 * before `before`, at most limit of them (a retention period, applied
 * in chunks so that no transaction stays long): result->count is how
 * many went; fewer than limit means none is left. The oldest are found
 * by arrival, so a message stamped earlier than one that arrived before
 * it (the clock went back) goes once that one went. */
int storage_archive_expire(struct storage *s, int64_t before, size_t limit,
			   storage_read_cb cb, void *ctx);

/* Deletes every item of every store and the archive of user, in the
 * database at path, synchronously, in chunks of at most chunk rows per
 * transaction (so that a running palabred's writes wait little):
 * palabrectl's "user del". A missing file holds nothing: 0. Returns 0,
 * or -1 with a message in err. */
int storage_delete_user(const char *path, const char *user, size_t chunk,
			char *err, size_t errlen);

/* What the storage did since it was opened. */
struct storage_stats {
	uint64_t transactions;   /* committed: one WAL fsync each */
	uint64_t batches;        /* committed */
	uint64_t batches_failed; /* rolled back: STORAGE_ERROR */
	uint64_t reads;
	size_t queued_bytes; /* see STORAGE_QUEUE_MAX_BYTES */
};
void storage_get_stats(struct storage *s, struct storage_stats *out);

#endif
