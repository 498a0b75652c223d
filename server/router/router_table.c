/* router_table: a hash table from names (domains, component names) to
 * the component that owns them. A few hundred entries at most; one
 * lookup per routed frame. */
#include <stdlib.h>
#include <string.h>

#include "router_internal.h"

#define ROUTER_TABLE_MIN 64

static struct router_table_entry *entry_of(const struct hash_link *l)
{
	return hash_entry(l, struct router_table_entry, link);
}

static uint64_t router_table_hash(const struct hash_link *l)
{
	const struct router_table_entry *e = entry_of(l);
	return hash_bytes(e->name, e->len);
}

void router_table_init(struct router_table *t)
{
	hash_table_init(&t->index, router_table_hash, ROUTER_TABLE_MIN);
}

void router_table_free(struct router_table *t)
{
	struct hash_link *l, *next;
	hash_table_for_each(&t->index, l, next) free(entry_of(l));
	hash_table_free(&t->index);
	router_table_init(t);
}

/* A name, as router_table_match's key. */
struct router_name {
	const char *name;
	size_t len;
};

static bool router_table_match(const struct hash_link *l, const void *key)
{
	const struct router_table_entry *e = entry_of(l);
	const struct router_name *n = key;
	return e->len == n->len && memcmp(e->name, n->name, n->len) == 0;
}

static struct router_table_entry *
router_table_find(const struct router_table *t, const char *name, size_t len)
{
	struct router_name key = {name, len};
	struct hash_link *l = hash_table_find(&t->index, hash_bytes(name, len),
					      router_table_match, &key);
	return l ? entry_of(l) : NULL;
}

struct component *router_table_get(const struct router_table *t,
				   const char *name, size_t len)
{
	struct router_table_entry *e = router_table_find(t, name, len);
	return e ? e->owner : NULL;
}

int router_table_put(struct router_table *t, const char *name, size_t len,
		     struct component *owner)
{
	struct router_table_entry *e = router_table_find(t, name, len);
	if (e) {
		e->owner = owner;
		return 0;
	}
	if (!(e = malloc(sizeof *e + len + 1)))
		return -1;
	e->owner = owner;
	e->len = len;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	if (hash_table_insert(&t->index, &e->link, hash_bytes(name, len)) < 0) {
		free(e);
		return -1;
	}
	return 0;
}

void router_table_del_owner(struct router_table *t,
			    const struct component *owner,
			    void (*fn)(const char *name, size_t len, void *ctx),
			    void *ctx)
{
	struct hash_link *l, *next;
	hash_table_for_each(&t->index, l, next)
	{
		struct router_table_entry *dead = entry_of(l);
		if (dead->owner != owner)
			continue;
		if (fn)
			fn(dead->name, dead->len, ctx);
		hash_table_remove(&t->index, l);
		free(dead);
	}
}
