/* owners: how many rooms each bare JID owns, so that one user cannot
 * create rooms without end (<muc><max-owned-rooms>: each persistent
 * room keeps its history, archive, vCard and subject even when empty).
 * Kept as affiliations change (room.c), never counted by walking the
 * rooms. Service admins own every room and count nothing here. */
#include <stdlib.h>
#include <string.h>

#include "muc.h"

struct owned {
	struct hash_link link;
	unsigned count;
	char jid[];
};

static uint64_t owned_hash(const struct hash_link *l)
{
	return hash_string(hash_entry(l, struct owned, link)->jid);
}

static bool owned_match(const struct hash_link *l, const void *key)
{
	return strcmp(hash_entry(l, struct owned, link)->jid, key) == 0;
}

void muc_owners_init(struct muc *muc)
{
	hash_table_init(&muc->owners, owned_hash, 64);
}

void muc_owners_free(struct muc *muc)
{
	struct hash_link *l, *next;
	hash_table_for_each(&muc->owners, l, next)
	{
		hash_table_remove(&muc->owners, l);
		free(hash_entry(l, struct owned, link));
	}
	hash_table_free(&muc->owners);
}

static struct owned *owned_find(const struct muc *muc, const char *bare)
{
	struct hash_link *l = hash_table_find(&muc->owners, hash_string(bare),
					      owned_match, bare);
	return l ? hash_entry(l, struct owned, link) : NULL;
}

unsigned muc_owned_rooms(const struct muc *muc, const char *bare)
{
	struct owned *o = owned_find(muc, bare);
	return o ? o->count : 0;
}

void muc_owners_add(struct muc *muc, const char *bare, int delta)
{
	struct owned *o = owned_find(muc, bare);
	if (!o && delta > 0) {
		size_t len = strlen(bare);
		if (!(o = calloc(1, sizeof *o + len + 1)))
			return; /* uncounted: the cap is a bound, not a ledger */
		memcpy(o->jid, bare, len + 1);
		if (hash_table_insert(&muc->owners, &o->link,
				      hash_string(bare)) < 0) {
			free(o);
			return;
		}
	}
	if (!o)
		return;
	o->count = delta < 0 && o->count < (unsigned)-delta
			   ? 0
			   : o->count + (unsigned)delta;
	if (o->count == 0) {
		hash_table_remove(&muc->owners, &o->link);
		free(o);
	}
}
