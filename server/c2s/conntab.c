/* conntab: connection id -> conn, a chained hash table that doubles. */
#include <stdlib.h>

#include "c2s.h"

static size_t conntab_slot(const struct conntab *t, uint64_t id)
{
	/* Ids come from a counter: a multiplicative hash spreads them. */
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (t->nbuckets - 1);
}

static int conntab_grow(struct conntab *t)
{
	size_t old_n = t->nbuckets;
	struct conn **old = t->buckets;
	size_t n = old_n ? old_n * 2 : 256;
	struct conn **b = calloc(n, sizeof *b);
	if (!b)
		return -1;
	t->buckets = b;
	t->nbuckets = n;
	for (size_t i = 0; i < old_n; i++) {
		struct conn *c = old[i];
		while (c) {
			struct conn *next = c->hash_next;
			size_t s = conntab_slot(t, c->nc.id);
			c->hash_next = b[s];
			b[s] = c;
			c = next;
		}
	}
	free(old);
	return 0;
}

int c2s_conntab_insert(struct conntab *t, struct conn *c)
{
	if (t->count >= t->nbuckets && conntab_grow(t) < 0 && t->nbuckets == 0)
		return -1;
	size_t s = conntab_slot(t, c->nc.id);
	c->hash_next = t->buckets[s];
	t->buckets[s] = c;
	t->count++;
	return 0;
}

void c2s_conntab_remove(struct conntab *t, struct conn *c)
{
	if (!t->nbuckets)
		return;
	struct conn **p = &t->buckets[conntab_slot(t, c->nc.id)];
	for (; *p; p = &(*p)->hash_next) {
		if (*p == c) {
			*p = c->hash_next;
			c->hash_next = NULL;
			t->count--;
			return;
		}
	}
}

struct conn *c2s_conntab_find(const struct conntab *t, uint64_t id)
{
	if (!t->nbuckets)
		return NULL;
	struct conn *c = t->buckets[conntab_slot(t, id)];
	while (c && c->nc.id != id)
		c = c->hash_next;
	return c;
}

void c2s_conntab_free(struct conntab *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = t->count = 0;
}
