/* hash_table: see hash_table.h. */
#include "hash_table.h"

#include <stdlib.h>

/* Buckets past this would not fit the 32-bit mask. */
#define HASH_TABLE_MAX_BUCKETS (1u << 31)

void hash_table_init(struct hash_table *t, hash_table_hash_fn *hash,
		     uint32_t size)
{
	uint32_t n = 1;
	while (n < size && n < HASH_TABLE_MAX_BUCKETS)
		n *= 2;
	*t = (struct hash_table){.hash = hash, .mask = n - 1};
}

void hash_table_free(struct hash_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->count = 0;
}

/* Doubles the buckets, moving every link to its new chain. */
static int hash_table_grow(struct hash_table *t)
{
	uint32_t n = t->mask + 1;
	if (n >= HASH_TABLE_MAX_BUCKETS)
		return -1;
	struct hash_link **b = calloc((size_t)n * 2, sizeof *b);
	if (!b)
		return -1;
	uint32_t mask = n * 2 - 1;
	for (uint32_t i = 0; i < n; i++) {
		struct hash_link *l = t->buckets[i], *next;
		for (; l; l = next) {
			next = l->next;
			struct hash_link **chain = &b[t->hash(l) & mask];
			l->next = *chain;
			*chain = l;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->mask = mask;
	return 0;
}

int hash_table_insert(struct hash_table *t, struct hash_link *l, uint64_t hash)
{
	if (t->count == UINT32_MAX)
		return -1;
	if (!t->buckets) {
		t->buckets = calloc((size_t)t->mask + 1, sizeof *t->buckets);
		if (!t->buckets)
			return -1;
	} else if (t->count > t->mask) {
		hash_table_grow(t); /* else longer chains, still correct */
	}
	struct hash_link **chain = &t->buckets[hash & t->mask];
	l->next = *chain;
	*chain = l;
	t->count++;
	return 0;
}

void hash_table_remove(struct hash_table *t, struct hash_link *l)
{
	if (!t->buckets)
		return;
	struct hash_link **p = &t->buckets[t->hash(l) & t->mask];
	while (*p && *p != l)
		p = &(*p)->next;
	if (!*p)
		return;
	*p = l->next;
	l->next = NULL;
	t->count--;
}

struct hash_link *hash_table_next(const struct hash_table *t,
				  const struct hash_link *l)
{
	if (l && l->next)
		return l->next;
	if (!t->buckets)
		return NULL;
	/* The end of l's chain: on to the next bucket that has one. */
	size_t i = l ? (t->hash(l) & t->mask) + 1 : 0;
	for (; i <= t->mask; i++)
		if (t->buckets[i])
			return t->buckets[i];
	return NULL;
}
