/* conn_table: connection id -> conn, for the frames from the sm. */
#include "c2s.h"

#define CONN_TABLE_MIN 256

static struct conn *conn_of_link(const struct hash_link *l)
{
	return hash_entry(l, struct conn, hash_link);
}

/* Ids come from a counter: hash_u64 spreads them. */
static uint64_t conn_table_hash(const struct hash_link *l)
{
	return hash_u64(conn_of_link(l)->nc.id);
}

static bool conn_table_match(const struct hash_link *l, const void *id)
{
	return conn_of_link(l)->nc.id == *(const uint64_t *)id;
}

void c2s_conn_table_init(struct hash_table *t)
{
	hash_table_init(t, conn_table_hash, CONN_TABLE_MIN);
}

int c2s_conn_table_insert(struct hash_table *t, struct conn *c)
{
	return hash_table_insert(t, &c->hash_link, hash_u64(c->nc.id));
}

void c2s_conn_table_remove(struct hash_table *t, struct conn *c)
{
	hash_table_remove(t, &c->hash_link);
}

struct conn *c2s_conn_table_find(const struct hash_table *t, uint64_t id)
{
	struct hash_link *l =
		hash_table_find(t, hash_u64(id), conn_table_match, &id);
	return l ? conn_of_link(l) : NULL;
}
