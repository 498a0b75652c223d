/* storage: the requests' way (storage.h). The loop queues requests; one
 * storage thread per storage owns the database connection, takes every
 * request queued at once and runs them, in order, as one group: the
 * batches in one transaction (group commit: one fsync for them all), each
 * batch in a savepoint so that a failing batch is rolled back alone, the
 * reads between them inside the same transaction (they see the writes
 * before them). The completions wait until COMMIT returned, then go back
 * to the loop through a uv_async_t, in submission order.
 *
 * The queue is bounded in bytes (STORAGE_QUEUE_MAX_BYTES, counted from
 * submission to completion): a client flooding the sm with writes gets
 * errors, not a server that grows until the kernel kills it. */
#include "storage.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/random.h"
#include "archive_id.h"
#include "backend.h"

#define STORAGE_TAGS 64

struct storage_batch {
	struct storage *s;
	struct storage_op *ops;
	size_t count, cap;
	size_t bytes;
	bool broken; /* an operation could not be added: never commit */
};

/* A batch to commit or a read, from submission to completion. */
struct storage_request {
	struct storage_request *next;
	size_t bytes; /* counted in queued_bytes */
	enum storage_status status;
	void *ctx;
	/* a write */
	struct storage_batch *batch;
	storage_write_cb write_cb;
	/* a read; the strings follow the request in its allocation */
	enum storage_read_type read;
	const char *user, *store, *key;
	storage_read_cb read_cb;
	struct storage_result result;
	/* an archive query; the copy of its strings follows the request */
	struct storage_archive_query *query;
	storage_archive_cb archive_cb;
	struct storage_archive_result page;
	/* an archive expiry: a write that counts (read_cb) */
	bool expire;
	int64_t expire_before;
	size_t expire_limit, expired;
};

struct storage {
	uv_loop_t *loop;
	uv_async_t async; /* the thread's "completions are ready" */
	uv_thread_t thread;
	struct storage_backend *db; /* the thread's, between open and close */
	/* lock guards what follows it */
	uv_mutex_t lock;
	uv_cond_t wake;
	struct storage_request *queue, **queue_tail;
	struct storage_request *done, **done_tail;
	bool stopping;
	struct storage_stats stats;
	/* the loop's only */
	int64_t archive_seq; /* the last seq reserved */
	struct archive_id_codec *archive_ids;
	/* Tags drawn ahead: one call to OpenSSL's generator (a getpid
	 * system call each, its fork check) per STORAGE_TAGS messages. */
	uint64_t tags[STORAGE_TAGS];
	size_t ntags;
	size_t queued_bytes;
	bool refusing; /* the last submission was refused as over the cap */
};

/* ---- the storage thread ---- */

static int storage_run_batch(struct storage_backend *db,
			     const struct storage_batch *b)
{
	if (storage_backend_batch_begin(db) < 0)
		return -1;
	bool ok = true;
	for (size_t i = 0; ok && i < b->count; i++)
		ok = storage_backend_write(db, &b->ops[i]) == 0;
	return storage_backend_batch_end(db, ok);
}

static int storage_run_expire(struct storage_backend *db,
			      struct storage_request *r)
{
	if (storage_backend_batch_begin(db) < 0)
		return -1;
	bool ok = storage_backend_archive_expire(db, r->expire_before,
						 r->expire_limit,
						 &r->expired) == 0;
	return storage_backend_batch_end(db, ok);
}

static void storage_run_read(struct storage_backend *db,
			     struct storage_request *r)
{
	if (r->query) {
		r->status =
			storage_backend_archive_query(db, r->query, &r->page);
		return;
	}
	if (storage_backend_read(db, r->read, r->user, r->store, r->key,
				 &r->result) < 0)
		r->status = STORAGE_ERROR;
}

/* The transaction that held [from, to) is gone: none of its batches is
 * committed and the reads among them saw what was not. */
static void storage_fail_requests(struct storage_request *from,
				  struct storage_request *to)
{
	for (struct storage_request *r = from; r != to; r = r->next) {
		r->status = STORAGE_ERROR;
		storage_result_free(&r->result);
		storage_archive_result_free(&r->page);
		r->expired = 0;
	}
}

/* Runs a batch in the group's transaction, beginning it (*txn: the
 * first request it holds) if need be. */
static void storage_run_write(struct storage_backend *db,
			      struct storage_request *r,
			      struct storage_request **txn)
{
	if (!*txn && storage_backend_begin(db) < 0) {
		r->status = STORAGE_ERROR;
		return;
	}
	if (!*txn)
		*txn = r;
	if ((r->batch ? storage_run_batch(db, r->batch)
		      : storage_run_expire(db, r)) < 0)
		r->status = STORAGE_ERROR;
}

/* Runs a group of requests; returns the address of its last next. */
static struct storage_request **storage_run_group(struct storage *s,
						  struct storage_request *group,
						  struct storage_stats *d)
{
	struct storage_request *txn = NULL, **tail = &group;
	for (struct storage_request *r = group; r; r = r->next) {
		tail = &r->next;
		if (r->batch || r->expire)
			storage_run_write(s->db, r, &txn);
		else
			storage_run_read(s->db, r);
		/* An I/O error or a full disk rolls back the whole
		 * transaction: what it held failed too; start again. */
		if (txn && !storage_backend_in_transaction(s->db)) {
			storage_fail_requests(txn, r->next);
			txn = NULL;
		}
	}
	if (txn && storage_backend_commit(s->db) < 0) {
		storage_backend_rollback(s->db);
		storage_fail_requests(txn, NULL);
	} else if (txn) {
		d->transactions++;
	}
	for (struct storage_request *r = group; r; r = r->next) {
		if (!r->batch && !r->expire)
			d->reads++;
		else if (r->status == STORAGE_OK)
			d->batches++;
		else
			d->batches_failed++;
	}
	return tail;
}

static void storage_add_stats(struct storage_stats *to,
			      const struct storage_stats *d)
{
	to->transactions += d->transactions;
	to->batches += d->batches;
	to->batches_failed += d->batches_failed;
	to->reads += d->reads;
}

static void storage_thread(void *arg)
{
	struct storage *s = arg;
	uv_mutex_lock(&s->lock);
	for (;;) {
		while (!s->queue && !s->stopping)
			uv_cond_wait(&s->wake, &s->lock);
		struct storage_request *group = s->queue;
		if (!group)
			break; /* stopping, and every request was run */
		s->queue = NULL;
		s->queue_tail = &s->queue;
		uv_mutex_unlock(&s->lock);

		struct storage_stats d = {0};
		struct storage_request **tail = storage_run_group(s, group, &d);

		uv_mutex_lock(&s->lock);
		storage_add_stats(&s->stats, &d);
		*s->done_tail = group;
		s->done_tail = tail;
		uv_async_send(&s->async);
	}
	uv_mutex_unlock(&s->lock);
}

/* ---- completions, on the loop ---- */

static void storage_batch_clear(struct storage_batch *b)
{
	for (size_t i = 0; i < b->count; i++)
		free((void *)b->ops[i].user); /* the op's one allocation */
	free(b->ops);
}

static void storage_request_free(struct storage_request *r)
{
	storage_batch_free(r->batch);
	storage_result_free(&r->result);
	storage_archive_result_free(&r->page);
	free(r);
}

static void storage_complete(struct storage *s, struct storage_request *r)
{
	s->queued_bytes -= r->bytes;
	if (r->batch && r->write_cb) {
		r->write_cb(r->ctx, r->status);
	} else if (r->query) {
		struct storage_archive_page page = {
			r->page.count, r->page.items, r->page.complete};
		r->archive_cb(r->ctx, r->status, &page);
	} else if (r->expire) {
		struct storage_items items = {r->expired, NULL};
		r->read_cb(r->ctx, r->status, &items);
	} else if (!r->batch) {
		struct storage_items items = {r->result.count, r->result.items};
		if (r->read == STORAGE_READ_COUNT)
			items.items = NULL;
		r->read_cb(r->ctx, r->status, &items);
	}
	storage_request_free(r);
}

static void storage_complete_done(struct storage *s)
{
	uv_mutex_lock(&s->lock);
	struct storage_request *r = s->done;
	s->done = NULL;
	s->done_tail = &s->done;
	uv_mutex_unlock(&s->lock);
	while (r) {
		struct storage_request *next = r->next;
		storage_complete(s, r);
		r = next;
	}
}

static void storage_on_async(uv_async_t *h)
{
	storage_complete_done(h->data);
}

/* ---- submission ---- */

static int storage_submit(struct storage *s, struct storage_request *r)
{
	if (s->queued_bytes + r->bytes > STORAGE_QUEUE_MAX_BYTES) {
		if (!s->refusing)
			log_warn("storage: the queue holds %zu bytes: "
				 "refusing requests until it drains",
				 s->queued_bytes);
		s->refusing = true;
		return -1;
	}
	uv_mutex_lock(&s->lock);
	bool stopping = s->stopping;
	if (!stopping) {
		*s->queue_tail = r;
		s->queue_tail = &r->next;
		uv_cond_signal(&s->wake);
	}
	uv_mutex_unlock(&s->lock);
	if (stopping)
		return -1;
	s->queued_bytes += r->bytes;
	s->refusing = false;
	return 0;
}

static int storage_read(struct storage *s, enum storage_read_type type,
			const char *user, const char *store, const char *key,
			storage_read_cb cb, void *ctx)
{
	if (!s || !user || !store || !cb || (type == STORAGE_READ_GET && !key))
		return -1;
	size_t ulen = strlen(user) + 1, slen = strlen(store) + 1,
	       klen = key ? strlen(key) + 1 : 0;
	struct storage_request *r = calloc(1, sizeof *r + ulen + slen + klen);
	if (!r)
		return -1;
	char *p = (char *)(r + 1);
	r->user = memcpy(p, user, ulen);
	r->store = memcpy(p + ulen, store, slen);
	r->key = key ? memcpy(p + ulen + slen, key, klen) : NULL;
	r->read = type;
	r->read_cb = cb;
	r->ctx = ctx;
	r->bytes = sizeof *r + ulen + slen + klen;
	if (storage_submit(s, r) < 0) {
		free(r);
		return -1;
	}
	return 0;
}

int storage_load(struct storage *s, const char *user, const char *store,
		 storage_read_cb cb, void *ctx)
{
	return storage_read(s, STORAGE_READ_LOAD, user, store, NULL, cb, ctx);
}

int storage_get(struct storage *s, const char *user, const char *store,
		const char *key, storage_read_cb cb, void *ctx)
{
	return storage_read(s, STORAGE_READ_GET, user, store, key, cb, ctx);
}

int storage_count(struct storage *s, const char *user, const char *store,
		  storage_read_cb cb, void *ctx)
{
	return storage_read(s, STORAGE_READ_COUNT, user, store, NULL, cb, ctx);
}

/* ---- the archive ---- */

static size_t storage_strsize(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char *storage_strcopy(char **p, const char *s, size_t size)
{
	if (!s)
		return NULL;
	const char *copy = memcpy(*p, s, size);
	*p += size;
	return copy;
}

/* The bytes a copy of q's strings takes, or 0 when q is not valid. */
static size_t storage_query_size(const struct storage_archive_query *q)
{
	if (!q->user || q->max < 1 || q->max > STORAGE_ARCHIVE_PAGE_MAX ||
	    q->nids > STORAGE_ARCHIVE_PAGE_MAX || (q->nids && !q->ids) ||
	    (q->with_resource && !q->with_bare))
		return 0;
	size_t size = sizeof *q + q->nids * sizeof(char *) +
		      storage_strsize(q->user) + storage_strsize(q->with_bare) +
		      storage_strsize(q->with_resource);
	for (int i = 0; i < 2; i++)
		size += storage_strsize(q->after[i]) +
			storage_strsize(q->before[i]);
	for (size_t i = 0; i < q->nids; i++) {
		if (!q->ids[i])
			return 0;
		size += storage_strsize(q->ids[i]);
	}
	return size;
}

/* Copies q into p (storage_query_size bytes). */
static struct storage_archive_query *
storage_query_copy(char *p, const struct storage_archive_query *q)
{
	struct storage_archive_query *c = (void *)p;
	*c = *q;
	const char **ids = (const char **)(c + 1);
	p = (char *)(ids + q->nids);
	c->user = storage_strcopy(&p, q->user, storage_strsize(q->user));
	c->with_bare = storage_strcopy(&p, q->with_bare,
				       storage_strsize(q->with_bare));
	c->with_resource = storage_strcopy(&p, q->with_resource,
					   storage_strsize(q->with_resource));
	for (int i = 0; i < 2; i++) {
		c->after[i] = storage_strcopy(&p, q->after[i],
					      storage_strsize(q->after[i]));
		c->before[i] = storage_strcopy(&p, q->before[i],
					       storage_strsize(q->before[i]));
	}
	for (size_t i = 0; i < q->nids; i++)
		ids[i] = storage_strcopy(&p, q->ids[i],
					 storage_strsize(q->ids[i]));
	c->ids = q->nids ? ids : NULL;
	return c;
}

int storage_archive_query(struct storage *s,
			  const struct storage_archive_query *q,
			  storage_archive_cb cb, void *ctx)
{
	size_t size = s && q && cb ? storage_query_size(q) : 0;
	/* The copy follows the request, aligned as the request is. */
	struct storage_request *r = size ? calloc(1, sizeof *r + size) : NULL;
	if (!r)
		return -1;
	r->query = storage_query_copy((char *)(r + 1), q);
	r->archive_cb = cb;
	r->ctx = ctx;
	r->bytes = sizeof *r + size;
	if (storage_submit(s, r) < 0) {
		free(r);
		return -1;
	}
	return 0;
}

/* The sm is the archive's only writer (palabrectl only deletes): a
 * counter of its own gives each message its seq. After a restart it
 * goes on from the highest left; one reused (the newest were deleted)
 * comes with another tag, so that an old id finds nothing. */
int storage_archive_reserve(struct storage *s, char *id)
{
	if (!s->ntags) {
		random_bytes(s->tags, sizeof s->tags);
		s->ntags = STORAGE_TAGS;
	}
	return archive_id_encode(s->archive_ids, ++s->archive_seq,
				 s->tags[--s->ntags], id);
}

int storage_archive_expire(struct storage *s, int64_t before, size_t limit,
			   storage_read_cb cb, void *ctx)
{
	struct storage_request *r =
		s && cb && limit ? calloc(1, sizeof *r) : NULL;
	if (!r)
		return -1;
	r->expire = true;
	r->expire_before = before;
	r->expire_limit = limit;
	r->read_cb = cb;
	r->ctx = ctx;
	r->bytes = sizeof *r;
	if (storage_submit(s, r) < 0) {
		free(r);
		return -1;
	}
	return 0;
}

/* ---- batches ---- */

struct storage_batch *storage_batch_new(struct storage *s)
{
	struct storage_batch *b = s ? calloc(1, sizeof *b) : NULL;
	if (b)
		b->s = s;
	return b;
}

static int storage_batch_grow(struct storage_batch *b)
{
	if (b->count < b->cap)
		return 0;
	size_t cap = b->cap ? b->cap * 2 : 4;
	struct storage_op *ops = realloc(b->ops, cap * sizeof *ops);
	if (!ops)
		return -1;
	b->ops = ops;
	b->cap = cap;
	return 0;
}

/* Copies an operation into the batch: its strings and value in one
 * allocation, which op->user points to. */
static int storage_batch_add(struct storage_batch *b,
			     const struct storage_op *src)
{
	if (!b || b->broken)
		return -1;
	size_t ulen = storage_strsize(src->user),
	       slen = storage_strsize(src->store),
	       klen = storage_strsize(src->key),
	       rlen = storage_strsize(src->resource),
	       size = ulen + slen + klen + rlen;
	char *p = NULL;
	if (!src->user ||
	    (!src->store && src->type != STORAGE_OP_ARCHIVE_DELETE) ||
	    (src->type == STORAGE_OP_PUT && !src->key) ||
	    src->value_len > STORAGE_QUEUE_MAX_BYTES - size ||
	    storage_batch_grow(b) < 0 || !(p = malloc(size + src->value_len))) {
		b->broken = true;
		return -1;
	}
	struct storage_op *op = &b->ops[b->count++];
	*op = *src;
	op->user = storage_strcopy(&p, src->user, ulen);
	op->store = storage_strcopy(&p, src->store, slen);
	op->key = storage_strcopy(&p, src->key, klen);
	op->resource = storage_strcopy(&p, src->resource, rlen);
	op->value =
		src->value_len ? memcpy(p, src->value, src->value_len) : NULL;
	b->bytes += sizeof *op + size + src->value_len;
	return 0;
}

int storage_batch_put(struct storage_batch *b, const char *user,
		      const char *store, const char *key, const void *value,
		      size_t value_len)
{
	return storage_batch_add(b, &(struct storage_op){
					    .type = STORAGE_OP_PUT,
					    .user = user,
					    .store = store,
					    .key = key,
					    .value = value,
					    .value_len = value_len,
				    });
}

int storage_batch_delete(struct storage_batch *b, const char *user,
			 const char *store, const char *key)
{
	return storage_batch_add(b, &(struct storage_op){
					    .type = STORAGE_OP_DELETE,
					    .user = user,
					    .store = store,
					    .key = key,
				    });
}

int storage_batch_append(struct storage_batch *b, const char *user,
			 const char *store, const void *value, size_t value_len)
{
	return storage_batch_add(b, &(struct storage_op){
					    .type = STORAGE_OP_APPEND,
					    .user = user,
					    .store = store,
					    .value = value,
					    .value_len = value_len,
				    });
}

int storage_batch_archive(struct storage_batch *b, const char *user,
			  const char *with_bare, const char *with_resource,
			  int64_t stamp, const char *id, const void *message,
			  size_t message_len)
{
	if (!with_resource || !id) {
		if (b)
			b->broken = true;
		return -1;
	}
	return storage_batch_add(b, &(struct storage_op){
					    .type = STORAGE_OP_ARCHIVE,
					    .user = user,
					    .store = with_bare,
					    .key = id,
					    .resource = with_resource,
					    .stamp = stamp,
					    .value = message,
					    .value_len = message_len,
				    });
}

int storage_batch_archive_delete(struct storage_batch *b, const char *user)
{
	return storage_batch_add(b, &(struct storage_op){
					    .type = STORAGE_OP_ARCHIVE_DELETE,
					    .user = user,
				    });
}

int storage_batch_commit(struct storage_batch *b, storage_write_cb cb,
			 void *ctx)
{
	if (!b)
		return -1;
	struct storage_request *r = b->broken ? NULL : calloc(1, sizeof *r);
	if (!r) {
		storage_batch_free(b);
		return -1;
	}
	r->batch = b;
	r->write_cb = cb;
	r->ctx = ctx;
	r->bytes = sizeof *r + sizeof *b + b->bytes;
	if (storage_submit(b->s, r) < 0) {
		storage_request_free(r);
		return -1;
	}
	return 0;
}

void storage_batch_free(struct storage_batch *b)
{
	if (!b)
		return;
	storage_batch_clear(b);
	free(b);
}

/* ---- open, close, stats ---- */

static void storage_on_closed(uv_handle_t *h)
{
	struct storage *s = h->data;
	archive_id_codec_free(s->archive_ids);
	uv_cond_destroy(&s->wake);
	uv_mutex_destroy(&s->lock);
	free(s);
}

struct storage *storage_open(uv_loop_t *loop, const char *path, char *err,
			     size_t errlen)
{
	struct storage *s = calloc(1, sizeof *s);
	if (!s || uv_mutex_init(&s->lock) != 0) {
		free(s);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (uv_cond_init(&s->wake) != 0) {
		uv_mutex_destroy(&s->lock);
		free(s);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	s->loop = loop;
	s->queue_tail = &s->queue;
	s->done_tail = &s->done;
	s->async.data = s;
	unsigned char key[ARCHIVE_ID_KEY_SIZE];
	if (!(s->db = storage_backend_open(path, err, errlen)) ||
	    storage_backend_archive_ids(s->db, &s->archive_seq, key) < 0 ||
	    !(s->archive_ids = archive_id_codec_new(key)) ||
	    uv_async_init(loop, &s->async, storage_on_async) != 0) {
		if (s->db)
			snprintf(err, errlen,
				 "%s: cannot set up the archive's ids or "
				 "the loop",
				 path);
		storage_backend_close(s->db);
		storage_on_closed((uv_handle_t *)&s->async);
		return NULL;
	}
	int rc = uv_thread_create(&s->thread, storage_thread, s);
	if (rc != 0) {
		snprintf(err, errlen, "%s: cannot start the storage thread: %s",
			 path, uv_strerror(rc));
		storage_backend_close(s->db);
		uv_close((uv_handle_t *)&s->async, storage_on_closed);
		return NULL;
	}
	return s;
}

void storage_close(struct storage *s)
{
	if (!s)
		return;
	uv_mutex_lock(&s->lock);
	s->stopping = true;
	uv_cond_signal(&s->wake);
	uv_mutex_unlock(&s->lock);
	uv_thread_join(&s->thread);
	storage_backend_close(s->db);
	s->db = NULL;
	/* The thread delivered its last group: complete it here, the async
	 * callback will not run once the handle is closing. */
	storage_complete_done(s);
	uv_close((uv_handle_t *)&s->async, storage_on_closed);
}

/* One transaction of storage_delete_user; *deleted: rows gone. */
static int storage_delete_chunk(struct storage_backend *db, const char *user,
				size_t chunk, size_t *deleted)
{
	if (storage_backend_begin(db) < 0)
		return -1;
	if (storage_backend_delete_user(db, user, chunk, deleted) < 0 ||
	    storage_backend_commit(db) < 0) {
		storage_backend_rollback(db);
		return -1;
	}
	return 0;
}

int storage_delete_user(const char *path, const char *user, size_t chunk,
			char *err, size_t errlen)
{
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	struct storage_backend *db = storage_backend_open(path, err, errlen);
	if (!db)
		return -1;
	size_t deleted = chunk = chunk ? chunk : 1;
	int rc = 0;
	while (rc == 0 && deleted == chunk)
		rc = storage_delete_chunk(db, user, chunk, &deleted);
	storage_backend_close(db);
	if (rc < 0)
		snprintf(err, errlen,
			 "%s: cannot delete the data of %s (see "
			 "the log)",
			 path, user);
	return rc;
}

void storage_get_stats(struct storage *s, struct storage_stats *out)
{
	uv_mutex_lock(&s->lock);
	*out = s->stats;
	uv_mutex_unlock(&s->lock);
	out->queued_bytes = s->queued_bytes;
}
