/* hash_table: a chained hash table that doubles, for every process's
 * indexes (router names, c2s connections, sm users and sessions,
 * rosters, offline boxes, login throttles, the s2s resolver's cache).
 *
 * Redis's dict.c made smaller (no incremental rehash: growing a c2s's
 * connections from 16,384 to 32,768 buckets moves their links in 2-3 ms
 * of CPU, once, less than c2s's malloc_trim stalls its loop) and
 * intrusive, as Linux's hlist: the link lives inside the caller's
 * entry, so an insert allocates nothing and a lookup follows one pointer
 * per entry of its chain. The caller owns the entries, their keys and
 * their hashes: it hashes the key (hash_string, hash_bytes, hash_u64),
 * compares keys in its match function, and gives the table a function
 * that hashes an entry again, to grow and to remove.
 *
 * The table grows when it holds as many entries as buckets (load factor
 * 1). A table is empty and allocates nothing until its first insert. */
#ifndef PALABRE_HASH_TABLE_H
#define PALABRE_HASH_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* In the caller's entry. */
struct hash_link {
	struct hash_link *next;
};

/* The entry of link l, a struct type whose member is l. */
#define hash_entry(l, type, member)                                            \
	((type *)(void *)((char *)(l)-offsetof(type, member)))

/* The hash of the entry of l, as it was given to hash_table_insert. */
typedef uint64_t hash_table_hash_fn(const struct hash_link *l);

struct hash_table {
	struct hash_link **buckets; /* NULL until the first insert */
	hash_table_hash_fn *hash;
	uint32_t mask; /* buckets - 1, buckets a power of two */
	uint32_t count;
};

/* An empty table whose first insert makes size buckets (rounded up to a
 * power of two). */
void hash_table_init(struct hash_table *t, hash_table_hash_fn *hash,
		     uint32_t size);
/* Frees the buckets, not the entries (they are the caller's): empty
 * them first, with hash_table_for_each. */
void hash_table_free(struct hash_table *t);

/* Adds l, whose key is not in t yet, under hash. Returns 0, or -1 when
 * the first buckets cannot be allocated (a table that cannot grow keeps
 * its buckets: its chains get longer). */
int hash_table_insert(struct hash_table *t, struct hash_link *l, uint64_t hash);
/* Takes l out of t (nothing if l is not in t). */
void hash_table_remove(struct hash_table *t, struct hash_link *l);

/* The entries whose hash falls in hash's bucket, through ->next. */
static inline struct hash_link *hash_table_chain(const struct hash_table *t,
						 uint64_t hash)
{
	return t->buckets ? t->buckets[hash & t->mask] : NULL;
}

/* The entry of hash whose key match says is key, or NULL. Inline, so
 * that the compiler inlines match too: a lookup costs what a loop
 * written in place would. */
static inline struct hash_link *
hash_table_find(const struct hash_table *t, uint64_t hash,
		bool (*match)(const struct hash_link *l, const void *key),
		const void *key)
{
	struct hash_link *l = hash_table_chain(t, hash);
	while (l && !match(l, key))
		l = l->next;
	return l;
}

/* Iteration in no particular order: the entry after l, the first with l
 * NULL; NULL after the last. No insert while iterating (growth moves
 * the entries). */
struct hash_link *hash_table_next(const struct hash_table *t,
				  const struct hash_link *l);
/* Every entry l of t; the body may remove (and free) l, not another
 * entry: next is taken before the body runs. */
#define hash_table_for_each(t, l, next)                                        \
	for ((l) = hash_table_next((t), NULL);                                 \
	     (l) && ((next) = hash_table_next((t), (l)), true); (l) = (next))

/* FNV-1a, 64 bits (http://www.isthe.com/chongo/tech/comp/fnv/), from
 * h: HASH_INIT, or the hash of what comes before in a composite key. */
#define HASH_INIT 0xcbf29ce484222325ull
#define HASH_FNV_PRIME 0x100000001b3ull

static inline uint64_t hash_bytes_from(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < len; i++)
		h = (h ^ s[i]) * HASH_FNV_PRIME;
	return h;
}

static inline uint64_t hash_string_from(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * HASH_FNV_PRIME;
	return h;
}

static inline uint64_t hash_bytes(const void *p, size_t len)
{
	return hash_bytes_from(HASH_INIT, p, len);
}

static inline uint64_t hash_string(const char *s)
{
	return hash_string_from(HASH_INIT, s);
}

/* Ids that come from a counter: a multiplicative (Fibonacci) hash
 * spreads consecutive ids over the buckets. */
static inline uint64_t hash_u64(uint64_t id)
{
	return (id * 0x9E3779B97F4A7C15ull) >> 32;
}

#endif
