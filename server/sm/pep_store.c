/* pep_store: each owner's PEP nodes (pep_node.h), read from the store
 * "pep" when a request first needs them and kept in a cache bounded by
 * PEP_CACHE_BYTES, the least recently used owner dropped first. No
 * login reads anything: an account that never uses PEP costs nothing,
 * and an idle session holds nothing of it.
 *
 * A node's record: its configuration (pep_config_encode) and the line
 * PEP_SIZED, then for each item, oldest first, a NUL, its id, a NUL and
 * its stored bytes in decimal: the quota (pep-quota-bytes) is known
 * from the records alone. A record of before the sizes (no PEP_SIZED
 * line) has ids alone, counted as 0 bytes until published again.
 * Changes are written
 * through by pep_node.c: the record in memory changes at once and a
 * batch puts it, so that a later read (the storage runs requests in
 * order) sees what memory says. */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "../../lib/log.h"
#include "pep_node.h"
#include "sm.h"
#include "userdata.h"

/* The line that tells a record with item sizes. */
#define PEP_SIZED "sizes=1\n"

struct pep_waiter {
	struct pep_waiter *next;
	pep_owner_fn fn;
	void *ctx;
};

/* ------------------------------------------------------------ nodes */

static void pep_node_free(struct pep_node *n)
{
	for (size_t i = 0; i < n->nids; i++)
		free(n->ids[i]);
	free(n->ids);
	free(n->sizes);
	free(n->name);
	free(n);
}

struct pep_node *pep_store_find_node(const struct pep_owner *o,
				     const char *name)
{
	for (size_t i = 0; i < o->nnodes; i++)
		if (strcmp(o->nodes[i]->name, name) == 0)
			return o->nodes[i];
	return NULL;
}

struct pep_node *pep_store_add_node(struct pep_owner *o, const char *name,
				    const struct pep_config *config)
{
	struct pep_node **nodes =
		realloc(o->nodes, (o->nnodes + 1) * sizeof *nodes);
	if (!nodes)
		return NULL;
	o->nodes = nodes;
	struct pep_node *n = calloc(1, sizeof *n);
	if (!n || !(n->name = strdup(name))) {
		free(n);
		return NULL;
	}
	n->config = *config;
	o->nodes[o->nnodes++] = n;
	return n;
}

void pep_store_remove_node(struct pep_owner *o, struct pep_node *n)
{
	for (size_t i = 0; i < o->nnodes; i++)
		if (o->nodes[i] == n) {
			o->nodes[i] = o->nodes[--o->nnodes];
			pep_node_free(n);
			return;
		}
}

ssize_t pep_store_id_index(const struct pep_node *n, const char *id)
{
	for (size_t i = 0; i < n->nids; i++)
		if (strcmp(n->ids[i], id) == 0)
			return (ssize_t)i;
	return -1;
}

bool pep_store_has_id(const struct pep_node *n, const char *id)
{
	return pep_store_id_index(n, id) >= 0;
}

bool pep_store_remove_id(struct pep_node *n, const char *id)
{
	ssize_t i = pep_store_id_index(n, id);
	if (i < 0)
		return false;
	free(n->ids[i]);
	n->bytes -= n->sizes[i];
	memmove(&n->ids[i], &n->ids[i + 1],
		(n->nids - (size_t)i - 1) * sizeof *n->ids);
	memmove(&n->sizes[i], &n->sizes[i + 1],
		(n->nids - (size_t)i - 1) * sizeof *n->sizes);
	n->nids--;
	return true;
}

int pep_store_add_id(struct pep_node *n, const char *id, size_t size)
{
	char *copy = strdup(id);
	char **ids = copy ? realloc(n->ids, (n->nids + 1) * sizeof *ids) : NULL;
	if (ids)
		n->ids = ids;
	size_t *sizes =
		ids ? realloc(n->sizes, (n->nids + 1) * sizeof *sizes) : NULL;
	if (!sizes) {
		free(copy);
		return -1;
	}
	n->sizes = sizes;
	/* XEP-0060 §7.1.2: publishing an existing id replaces the item,
	 * which becomes the newest. */
	pep_store_remove_id(n, id);
	n->ids[n->nids] = copy;
	n->sizes[n->nids++] = size;
	n->bytes += size;
	return 0;
}

/* ------------------------------------------------------------ records */

int pep_store_items_name(const char *node, struct buf *out)
{
	buf_clear(out);
	return buf_append_str(out, PEP_ITEMS_PREFIX) < 0 ||
			       buf_append(out, node, strlen(node) + 1) < 0
		       ? -1
		       : 0;
}

int pep_store_put_node(struct storage_batch *b, const struct pep_owner *o,
		       const struct pep_node *n)
{
	struct buf rec = BUF_INIT;
	int rc = pep_config_encode(&n->config, &rec) < 0 ||
				 buf_append_str(&rec, PEP_SIZED) < 0
			 ? -1
			 : 0;
	for (size_t i = 0; rc == 0 && i < n->nids; i++)
		rc = buf_append(&rec, "", 1) < 0 ||
				     buf_append_str(&rec, n->ids[i]) < 0 ||
				     buf_append(&rec, "", 1) < 0 ||
				     buf_printf(&rec, "%zu", n->sizes[i]) < 0
			     ? -1
			     : 0;
	if (rc == 0)
		rc = storage_batch_put(b, o->jid, PEP_STORE, n->name, rec.data,
				       rec.len);
	buf_free(&rec);
	return rc;
}

/* The items of record p .. end (past the configuration's NUL) into n:
 * ids with their sizes when sized, else ids alone. */
static int pep_store_parse_ids(struct pep_node *n, const char *p,
			       const char *end, bool sized)
{
	while (p < end) {
		const char *id = ++p; /* the NUL before each id */
		p += strlen(p);
		size_t size = 0;
		if (sized && p < end) {
			size = strtoul(++p, NULL, 10);
			p += strlen(p);
		}
		if (id < end && pep_store_add_id(n, id, size) < 0)
			return -1;
	}
	return 0;
}

/* A record read back into a new node of o. */
static int pep_store_parse_node(struct pep_owner *o,
				const struct storage_item *it)
{
	struct pep_config c;
	pep_config_default(&c);
	const char *p = it->value, *end = p + it->value_len;
	if (pep_config_decode(&c, p) < 0) {
		log_warn("pep: %s: node %s: a record that does not read: "
			 "default configuration",
			 o->jid, it->key);
		pep_config_default(&c);
	}
	struct pep_node *n = pep_store_add_node(o, it->key, &c);
	size_t len = strlen(p);
	bool sized = len >= strlen(PEP_SIZED) &&
		     strcmp(p + len - strlen(PEP_SIZED), PEP_SIZED) == 0;
	return n ? pep_store_parse_ids(n, p + len, end, sized) : -1;
}

/* ------------------------------------------------------------ the cache */

static struct pep_owner *owner_of(const struct hash_link *l)
{
	return hash_entry(l, struct pep_owner, link);
}

static uint64_t pep_store_owner_hash(const struct hash_link *l)
{
	return hash_string(owner_of(l)->jid);
}

static bool pep_store_owner_match(const struct hash_link *l, const void *jid)
{
	return strcmp(owner_of(l)->jid, jid) == 0;
}

static void pep_store_lru_unlink(struct pep_owner *o)
{
	struct pep *pep = o->pep;
	if (o->lru_prev)
		o->lru_prev->lru_next = o->lru_next;
	else if (pep->lru_first == o)
		pep->lru_first = o->lru_next;
	if (o->lru_next)
		o->lru_next->lru_prev = o->lru_prev;
	else if (pep->lru_last == o)
		pep->lru_last = o->lru_prev;
	o->lru_prev = o->lru_next = NULL;
}

static void pep_store_owner_free(struct pep_owner *o)
{
	struct pep *pep = o->pep;
	hash_table_remove(&pep->owners, &o->link);
	pep_store_lru_unlink(o);
	pep->cache_bytes -= o->bytes;
	for (size_t i = 0; i < o->nnodes; i++)
		pep_node_free(o->nodes[i]);
	free(o->nodes);
	free(o->jid);
	free(o);
}

static bool pep_store_pinned(const struct pep_owner *o)
{
	return o->busy || o->loading || o->waiting || o->running;
}

size_t pep_store_id_bytes(const char *id)
{
	return sizeof(char *) + sizeof(size_t) + strlen(id) + 1;
}

size_t pep_store_owner_bytes(const struct pep_owner *o)
{
	size_t bytes =
		sizeof *o + strlen(o->jid) + 1 + o->nnodes * sizeof *o->nodes;
	for (size_t i = 0; i < o->nnodes; i++) {
		const struct pep_node *n = o->nodes[i];
		bytes += sizeof *n + strlen(n->name) + 1;
		for (size_t j = 0; j < n->nids; j++)
			bytes += pep_store_id_bytes(n->ids[j]);
	}
	return bytes;
}

void pep_store_touch(struct pep_owner *o)
{
	struct pep *pep = o->pep;
	pep->cache_bytes -= o->bytes;
	o->bytes = pep_store_owner_bytes(o);
	pep->cache_bytes += o->bytes;
	pep_store_lru_unlink(o);
	o->lru_next = pep->lru_first;
	if (pep->lru_first)
		pep->lru_first->lru_prev = o;
	pep->lru_first = o;
	if (!pep->lru_last)
		pep->lru_last = o;
	struct pep_owner *victim = pep->lru_last;
	while (pep->cache_bytes > PEP_CACHE_BYTES && victim) {
		struct pep_owner *prev = victim->lru_prev;
		if (!pep_store_pinned(victim))
			pep_store_owner_free(victim);
		victim = prev;
	}
}

void pep_store_init(struct pep *pep)
{
	hash_table_init(&pep->owners, pep_store_owner_hash, 64);
}

void pep_store_free_all(struct pep *pep)
{
	struct hash_link *l, *next;
	hash_table_for_each(&pep->owners, l, next)
	{
		struct pep_owner *o = owner_of(l);
		while (o->waiting) {
			struct pep_waiter *w = o->waiting;
			o->waiting = w->next;
			free(w);
		}
		pep_store_owner_free(o);
	}
	hash_table_free(&pep->owners);
}

/* ------------------------------------------------------------ loading */

/* reset: from a completion, where each waiter's stanzas are the last
 * use of the sm's arena (from a handler, the arena holds its stanza). */
static void pep_store_run_waiters(struct pep_owner *o, bool ok, bool reset)
{
	struct pep *pep = o->pep;
	o->running = true;
	while (o->waiting) {
		struct pep_waiter *w = o->waiting;
		if (!(o->waiting = w->next))
			o->waiting_tail = &o->waiting;
		o->nwaiting--;
		w->fn(pep, ok ? o : NULL, w->ctx);
		free(w);
		if (reset)
			arena_reset(&pep->sm->arena);
	}
	o->running = false;
	if (ok)
		pep_store_touch(o);
	else if (!pep_store_pinned(o))
		pep_store_owner_free(o);
}

static void pep_store_load_done(void *ctx, enum storage_status status,
				const struct storage_items *items)
{
	struct pep_owner *o = ctx;
	bool ok = status == STORAGE_OK;
	o->busy--;
	o->loading = false;
	for (size_t i = 0; ok && i < items->count; i++)
		ok = pep_store_parse_node(o, &items->items[i]) == 0;
	if (!ok) {
		log_error("pep: cannot read the nodes of %s", o->jid);
		while (o->nnodes)
			pep_store_remove_node(o, o->nodes[0]);
	}
	o->loaded = ok;
	pep_store_run_waiters(o, ok, true);
}

static struct pep_owner *pep_store_owner_get(struct pep *pep, const char *jid)
{
	uint64_t hash = hash_string(jid);
	struct hash_link *l =
		hash_table_find(&pep->owners, hash, pep_store_owner_match, jid);
	if (l)
		return owner_of(l);
	struct pep_owner *o = calloc(1, sizeof *o);
	if (!o || !(o->jid = strdup(jid)) ||
	    hash_table_insert(&pep->owners, &o->link, hash) < 0) {
		if (o)
			free(o->jid);
		free(o);
		return NULL;
	}
	o->pep = pep;
	o->waiting_tail = &o->waiting;
	return o;
}

static int pep_store_load(struct pep_owner *o)
{
	struct storage *s = sm_storage(o->pep->sm);
	if (!s) {
		/* Unit tests without storage: nothing stored. */
		o->loaded = true;
		return 0;
	}
	if (storage_load(s, o->jid, PEP_STORE, pep_store_load_done, o) < 0)
		return -1;
	o->loading = true;
	o->busy++;
	return 0;
}

/* ARCHITECTURE §9: one owner's flood (requests while its nodes load,
 * publishes faster than the disk) waits alone, bounded. */
bool pep_store_owner_full(struct pep *pep, const char *owner)
{
	struct hash_link *l = hash_table_find(&pep->owners, hash_string(owner),
					      pep_store_owner_match, owner);
	const struct pep_owner *o = l ? owner_of(l) : NULL;
	return o && o->nwaiting + o->writes >= PEP_OWNER_QUEUE_MAX;
}

int pep_store_with_owner(struct pep *pep, const char *owner, pep_owner_fn fn,
			 void *ctx)
{
	struct pep_owner *o = pep_store_owner_get(pep, owner);
	if (!o)
		return -1;
	if (!o->loaded && !o->loading && pep_store_load(o) < 0) {
		if (!pep_store_pinned(o))
			pep_store_owner_free(o);
		return -1;
	}
	struct pep_waiter *w = malloc(sizeof *w);
	if (!w) {
		if (!pep_store_pinned(o) && !o->loaded)
			pep_store_owner_free(o);
		return -1;
	}
	*w = (struct pep_waiter){NULL, fn, ctx};
	*o->waiting_tail = w;
	o->waiting_tail = &w->next;
	o->nwaiting++;
	/* Loaded: now, after whatever waited before it (nothing, unless a
	 * waiter's own request comes back here). */
	if (o->loaded && !o->running)
		pep_store_run_waiters(o, true, false);
	return 0;
}
