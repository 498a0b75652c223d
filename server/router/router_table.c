/* router_table: a chained hash table from names (domains, component
 * names) to the component that owns them. A few hundred entries at most;
 * one lookup per routed frame. */
#include <stdlib.h>
#include <string.h>

#include "router_internal.h"

#define ROUTER_TABLE_MIN 64

/* FNV-1a */
static size_t router_table_hash(const char *name, size_t len)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

void router_table_init(struct router_table *t)
{
	t->buckets = NULL;
	t->nbuckets = 0;
	t->count = 0;
}

void router_table_free(struct router_table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct router_table_entry *e = t->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->buckets);
	router_table_init(t);
}

static struct router_table_entry **
router_table_slot(const struct router_table *t, const char *name, size_t len)
{
	if (t->nbuckets == 0)
		return NULL;
	size_t i = router_table_hash(name, len) & (t->nbuckets - 1);
	struct router_table_entry **e = &t->buckets[i];
	for (; *e; e = &(*e)->next)
		if ((*e)->len == len && memcmp((*e)->name, name, len) == 0)
			return e;
	return e;
}

struct component *router_table_get(const struct router_table *t,
				   const char *name, size_t len)
{
	struct router_table_entry **e = router_table_slot(t, name, len);
	return e && *e ? (*e)->owner : NULL;
}

static int router_table_grow(struct router_table *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : ROUTER_TABLE_MIN;
	struct router_table_entry **b = calloc(n, sizeof *b);
	if (!b)
		return -1;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct router_table_entry *e = t->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			size_t j = router_table_hash(e->name, e->len) & (n - 1);
			e->next = b[j];
			b[j] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
	return 0;
}

int router_table_put(struct router_table *t, const char *name, size_t len,
		     struct component *owner)
{
	if (t->count >= t->nbuckets && router_table_grow(t) < 0)
		return -1;
	struct router_table_entry **e = router_table_slot(t, name, len);
	if (*e) {
		(*e)->owner = owner;
		return 0;
	}
	struct router_table_entry *n = malloc(sizeof *n + len + 1);
	if (!n)
		return -1;
	n->next = NULL;
	n->owner = owner;
	n->len = len;
	memcpy(n->name, name, len);
	n->name[len] = '\0';
	*e = n;
	t->count++;
	return 0;
}

void router_table_del_owner(struct router_table *t,
			    const struct component *owner,
			    void (*fn)(const char *name, size_t len, void *ctx),
			    void *ctx)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct router_table_entry **e = &t->buckets[i];
		while (*e) {
			struct router_table_entry *dead = *e;
			if (dead->owner != owner) {
				e = &dead->next;
				continue;
			}
			if (fn)
				fn(dead->name, dead->len, ctx);
			*e = dead->next;
			free(dead);
			t->count--;
		}
	}
}
