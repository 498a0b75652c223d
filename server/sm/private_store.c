/* private_store: the items of XEP-0049 private storage (private.h),
 * read and written for private.c's iqs and for other modules.
 *
 * Nothing is loaded at login: a get reads its one item; a put reads
 * whether its namespace is stored, then how many are (the limit), then
 * writes, and its caller hears once the write is durable. The requests
 * of one user run one at a time, in a queue that lives while it holds
 * any, so that two puts of new namespaces cannot both pass the limit. */
#include "private.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/hash_table.h"
#include "../../lib/log.h"
#include "module.h"
#include "sm.h"
#include "userdata.h"

#define PRIVATE_STORE "private"
/* Requests of one user waiting at once; past it a request is refused
 * (a client that floods). */
#define PRIVATE_QUEUE_MAX 32
#define PRIVATE_MIN_BUCKETS 16

extern const struct sm_module sm_module_private;

struct private_store {
	struct sm *sm;
	size_t item_max, namespaces_max;
	struct hash_table queues; /* by bare JID */
};

/* One request: a get (value NULL) or a put. */
struct private_op {
	struct private_op *next;
	struct private_queue *queue;
	char *ns;
	char *value;
	size_t len;
	sm_private_get_cb get_cb;
	sm_private_put_cb put_cb;
	void *ctx;
};

/* One user's requests; the first is the one running. */
struct private_queue {
	struct hash_link link;
	struct private_store *mod;
	char *jid;
	struct private_op *head, **tail;
	size_t n;
	bool running;
};

/* ------------------------------------------------------------ queues */

static struct private_queue *queue_of(const struct hash_link *l)
{
	return hash_entry(l, struct private_queue, link);
}

static uint64_t private_queue_hash(const struct hash_link *l)
{
	return hash_string(queue_of(l)->jid);
}

static bool private_queue_match(const struct hash_link *l, const void *jid)
{
	return strcmp(queue_of(l)->jid, jid) == 0;
}

static struct private_queue *private_queue_get(struct private_store *mod,
					       const char *jid)
{
	uint64_t hash = hash_string(jid);
	struct hash_link *l =
		hash_table_find(&mod->queues, hash, private_queue_match, jid);
	if (l)
		return queue_of(l);
	struct private_queue *q = calloc(1, sizeof *q);
	if (!q || !(q->jid = strdup(jid)) ||
	    hash_table_insert(&mod->queues, &q->link, hash) < 0) {
		if (q)
			free(q->jid);
		free(q);
		return NULL;
	}
	q->mod = mod;
	q->tail = &q->head;
	return q;
}

static void private_queue_release(struct private_queue *q)
{
	if (q->head || q->running)
		return;
	hash_table_remove(&q->mod->queues, &q->link);
	free(q->jid);
	free(q);
}

static void private_op_free(struct private_op *op)
{
	free(op->ns);
	free(op->value);
	free(op);
}

static int private_queue_start(struct private_queue *q);

/* The first request of q is done: its caller hears, the next starts
 * (or fails, if it cannot). */
static void private_op_finish(struct private_op *op,
			      enum sm_private_status status, const char *value,
			      size_t len)
{
	struct private_queue *q = op->queue;
	struct sm *sm = q->mod->sm;
	q->head = op->next;
	if (!q->head)
		q->tail = &q->head;
	q->n--;
	q->running = false;
	if (op->put_cb)
		op->put_cb(sm, op->ctx, status);
	else
		op->get_cb(sm, op->ctx, status, value, len);
	private_op_free(op);
	if (!q->head)
		private_queue_release(q);
	else if (!q->running && private_queue_start(q) < 0)
		private_op_finish(q->head, SM_PRIVATE_ERROR, NULL, 0);
}

/* ------------------------------------------------------------ storage */

static void private_get_done(void *ctx, enum storage_status status,
			     const struct storage_items *result)
{
	struct private_op *op = ctx;
	const struct storage_item *it = status == STORAGE_OK && result->count
						? &result->items[0]
						: NULL;
	if (status != STORAGE_OK)
		log_error("private: cannot read %s of %s", op->ns,
			  op->queue->jid);
	private_op_finish(
		op, status == STORAGE_OK ? SM_PRIVATE_OK : SM_PRIVATE_ERROR,
		it ? it->value : NULL, it ? it->value_len : 0);
}

static void private_put_done(void *ctx, enum storage_status status)
{
	struct private_op *op = ctx;
	if (status != STORAGE_OK)
		log_error("private: cannot store %s of %s", op->ns,
			  op->queue->jid);
	private_op_finish(
		op, status == STORAGE_OK ? SM_PRIVATE_OK : SM_PRIVATE_ERROR,
		NULL, 0);
}

/* A put's reads, one after the other: whether its namespace is stored
 * (private_put_exists_done), then, for a new one, how many are
 * (private_put_count_done), which must stay under the limit; then the
 * write (private_put_write). */
static void private_put_write(struct private_op *op)
{
	struct private_queue *q = op->queue;
	struct storage_batch *b = storage_batch_new(sm_storage(q->mod->sm));
	if (!b ||
	    storage_batch_put(b, q->jid, PRIVATE_STORE, op->ns, op->value,
			      op->len) < 0 ||
	    storage_batch_commit(b, private_put_done, op) < 0) {
		if (b)
			storage_batch_free(b);
		log_error("private: cannot store %s of %s", op->ns, q->jid);
		private_op_finish(op, SM_PRIVATE_ERROR, NULL, 0);
	}
}

static void private_put_count_done(void *ctx, enum storage_status status,
				   const struct storage_items *result)
{
	struct private_op *op = ctx;
	struct private_queue *q = op->queue;
	if (status != STORAGE_OK) {
		log_error("private: cannot count the items of %s", q->jid);
		private_op_finish(op, SM_PRIVATE_ERROR, NULL, 0);
	} else if (result->count >= q->mod->namespaces_max) {
		log_info("private: %s has %zu namespaces stored: %s refused",
			 q->jid, result->count, op->ns);
		private_op_finish(op, SM_PRIVATE_TOO_MANY, NULL, 0);
	} else {
		private_put_write(op);
	}
}

static void private_put_exists_done(void *ctx, enum storage_status status,
				    const struct storage_items *result)
{
	struct private_op *op = ctx;
	struct private_queue *q = op->queue;
	if (status != STORAGE_OK) {
		log_error("private: cannot read %s of %s", op->ns, q->jid);
		private_op_finish(op, SM_PRIVATE_ERROR, NULL, 0);
	} else if (result->count > 0) {
		private_put_write(op); /* replaces: the count stays */
	} else if (storage_count(sm_storage(q->mod->sm), q->jid, PRIVATE_STORE,
				 private_put_count_done, op) < 0) {
		log_error("private: cannot count the items of %s", q->jid);
		private_op_finish(op, SM_PRIVATE_ERROR, NULL, 0);
	}
}

/* Submits the first read of q's first request. Returns 0 or -1. */
static int private_queue_start(struct private_queue *q)
{
	struct private_op *op = q->head;
	if (storage_get(sm_storage(q->mod->sm), q->jid, PRIVATE_STORE, op->ns,
			op->value ? private_put_exists_done : private_get_done,
			op) < 0) {
		log_error("private: cannot read %s of %s", op->ns, q->jid);
		return -1;
	}
	q->running = true;
	return 0;
}

/* ------------------------------------------------------------ the API */

/* Queues op for user; the caller hears from a completion, never before
 * this returns. */
static int private_enqueue(struct sm *sm, const char *user,
			   struct private_op *op)
{
	struct private_store *mod = sm_module_data(sm, &sm_module_private);
	struct private_queue *q =
		mod && sm_storage(sm) ? private_queue_get(mod, user) : NULL;
	if (!q || q->n >= PRIVATE_QUEUE_MAX) {
		if (q)
			private_queue_release(q);
		private_op_free(op);
		return -1;
	}
	op->queue = q;
	*q->tail = op;
	q->tail = &op->next;
	q->n++;
	if (q->running || private_queue_start(q) == 0)
		return 0;
	/* Alone in its queue: taken out again. */
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
	private_op_free(op);
	private_queue_release(q);
	return -1;
}

int sm_private_get(struct sm *sm, const char *user, const char *ns,
		   sm_private_get_cb cb, void *ctx)
{
	struct private_op *op = calloc(1, sizeof *op);
	if (!op || !(op->ns = strdup(ns))) {
		free(op);
		return -1;
	}
	op->get_cb = cb;
	op->ctx = ctx;
	return private_enqueue(sm, user, op);
}

int sm_private_put(struct sm *sm, const char *user, const char *ns,
		   const char *value, size_t len, sm_private_put_cb cb,
		   void *ctx)
{
	struct private_op *op = calloc(1, sizeof *op);
	if (!op || !(op->ns = strdup(ns)) || !(op->value = malloc(len + 1))) {
		if (op)
			private_op_free(op);
		return -1;
	}
	memcpy(op->value, value, len);
	op->value[len] = '\0';
	op->len = len;
	op->put_cb = cb;
	op->ctx = ctx;
	return private_enqueue(sm, user, op);
}

size_t sm_private_item_max(const struct sm *sm)
{
	const struct private_store *mod =
		sm_module_data(sm, &sm_module_private);
	return mod ? mod->item_max : 0;
}

size_t sm_private_namespaces_max(const struct sm *sm)
{
	const struct private_store *mod =
		sm_module_data(sm, &sm_module_private);
	return mod ? mod->namespaces_max : 0;
}

/* ------------------------------------------------------------ private.c */

struct private_store *private_store_new(struct sm *sm, size_t item_max,
					size_t namespaces_max)
{
	struct private_store *mod = calloc(1, sizeof *mod);
	if (!mod)
		return NULL;
	mod->sm = sm;
	mod->item_max = item_max;
	mod->namespaces_max = namespaces_max;
	hash_table_init(&mod->queues, private_queue_hash, PRIVATE_MIN_BUCKETS);
	return mod;
}

/* At sm_free, once the storage's last completions have run: no queue
 * is left but one whose request could not be finished (none). */
void private_store_free(struct private_store *mod)
{
	struct hash_link *l, *next;
	hash_table_for_each(&mod->queues, l, next)
	{
		struct private_queue *q = queue_of(l);
		while (q->head) {
			struct private_op *op = q->head;
			q->head = op->next;
			private_op_free(op);
		}
		free(q->jid);
		free(q);
	}
	hash_table_free(&mod->queues);
	free(mod);
}
