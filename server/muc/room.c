/* room: the rooms of the process, by bare JID, and what each keeps:
 * its configuration, affiliations (XEP-0045 §5.2) and occupants (by
 * nickname and by real JID). */
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "muc.h"

/* ------------------------------------------------------------ hashes */

static uint64_t room_hash(const struct hash_link *l)
{
	return hash_string(hash_entry(l, struct room, link)->jid);
}

static bool room_match(const struct hash_link *l, const void *key)
{
	return strcmp(hash_entry(l, struct room, link)->jid, key) == 0;
}

static uint64_t affiliation_hash(const struct hash_link *l)
{
	return hash_string(hash_entry(l, struct affiliation, link)->jid);
}

static bool affiliation_match(const struct hash_link *l, const void *key)
{
	return strcmp(hash_entry(l, struct affiliation, link)->jid, key) == 0;
}

static uint64_t nick_hash(const struct hash_link *l)
{
	return hash_string(hash_entry(l, struct occupant, by_nick)->nick);
}

static bool nick_match(const struct hash_link *l, const void *key)
{
	return strcmp(hash_entry(l, struct occupant, by_nick)->nick, key) == 0;
}

static uint64_t occupant_jid_hash(const struct hash_link *l)
{
	return hash_string(hash_entry(l, struct occupant, by_jid)->jid);
}

static bool occupant_jid_match(const struct hash_link *l, const void *key)
{
	return strcmp(hash_entry(l, struct occupant, by_jid)->jid, key) == 0;
}

/* ------------------------------------------------------------ rooms */

void muc_rooms_init(struct muc *muc)
{
	hash_table_init(&muc->rooms, room_hash, 64);
	muc_owners_init(muc);
}

struct room *muc_room_find(struct muc *muc, const char *jid)
{
	struct hash_link *l =
		hash_table_find(&muc->rooms, hash_string(jid), room_match, jid);
	return l ? hash_entry(l, struct room, link) : NULL;
}

/* XEP-0045 §10.1.3: the defaults of a new room; the service's settings
 * give its history and size. */
static void room_config_defaults(struct room_config *c,
				 const struct config_muc *cfg)
{
	memset(c, 0, sizeof *c);
	c->public = true;
	c->allow_pm = MUC_PM_ANYONE;
	c->whois = MUC_WHOIS_MODERATORS;
	c->max_users = cfg->max_occupants;
	c->history = cfg->history;
	c->logging = true;
	c->member_list_roles =
		1u << MUC_ROLE_MODERATOR | 1u << MUC_ROLE_PARTICIPANT;
}

struct room *muc_room_new(struct muc *muc, const char *jid, const char *service)
{
	struct room *r = calloc(1, sizeof *r);
	if (!r || !(r->jid = strdup(jid))) {
		free(r);
		return NULL;
	}
	r->muc = muc;
	r->service = (char *)service;
	r->locked = true;
	room_config_defaults(&r->config, &muc->cfg->muc);
	hash_table_init(&r->affiliations, affiliation_hash, 8);
	hash_table_init(&r->nicks, nick_hash, 8);
	hash_table_init(&r->jids, occupant_jid_hash, 8);
	if (hash_table_insert(&muc->rooms, &r->link, hash_string(r->jid)) < 0) {
		free(r->jid);
		free(r);
		return NULL;
	}
	return r;
}

static void room_free(struct room *r)
{
	struct hash_link *l, *next;
	hash_table_for_each(&r->affiliations, l, next)
	{
		struct affiliation *a = hash_entry(l, struct affiliation, link);
		if (a->affiliation == MUC_AFF_OWNER)
			muc_owners_add(r->muc, a->jid, -1);
		free(a->reason);
		free(a);
	}
	hash_table_free(&r->affiliations);
	hash_table_free(&r->nicks);
	hash_table_free(&r->jids);
	muc_history_free(r);
	room_config_free(&r->config);
	free(r->subject);
	free(r->vcard);
	free(r->avatar_hashes);
	buf_free(&r->affiliations_changed);
	free(r->jid);
	free(r);
}

/* Each occupant is told it left (the owner's destroy, §10.9, tells
 * them why first). */
void muc_room_destroy(struct room *r)
{
	while (r->occupants)
		muc_occupant_remove(r->occupants, NULL);
	hash_table_remove(&r->muc->rooms, &r->link);
	log_info("muc: room %s destroyed", r->jid);
	muc_room_store_forget(r->muc, r->jid);
	room_free(r);
}

void muc_room_release(struct room *r)
{
	if (r->noccupants > 0 || (r->config.persistent && !r->locked))
		return;
	hash_table_remove(&r->muc->rooms, &r->link);
	log_info("muc: room %s is empty and temporary: gone", r->jid);
	muc_room_store_forget(r->muc, r->jid); /* its archive */
	room_free(r);
}

void muc_rooms_free(struct muc *muc)
{
	struct hash_link *l, *next;
	hash_table_for_each(&muc->rooms, l, next)
	{
		struct room *r = hash_entry(l, struct room, link);
		while (r->occupants) {
			struct occupant *o = r->occupants;
			r->occupants = o->next;
			free(o->nick);
			free(o->jid);
			free(o->presence);
			free(o);
		}
		room_free(r);
	}
	hash_table_free(&muc->rooms);
	muc_owners_free(muc);
}

/* ------------------------------------------------------------ affiliations */

static struct affiliation *affiliation_find(const struct room *r,
					    const char *bare)
{
	struct hash_link *l = hash_table_find(
		&r->affiliations, hash_string(bare), affiliation_match, bare);
	return l ? hash_entry(l, struct affiliation, link) : NULL;
}

/* §5.2: by bare JID, else by the JID's domain (an outcast domain). */
enum muc_affiliation muc_room_affiliation(const struct room *r, const char *jid)
{
	struct jid j;
	char bare[JID_MAX + 1];
	if (jid_parse_str(&j, jid) < 0)
		return MUC_AFF_NONE;
	jid_format_bare(&j, bare);
	if (muc_is_service_admin(r->muc, bare))
		return MUC_AFF_OWNER;
	struct affiliation *a = affiliation_find(r, bare);
	if (!a && j.local[0])
		a = affiliation_find(r, j.domain);
	return a ? a->affiliation : MUC_AFF_NONE;
}

const struct affiliation *muc_room_affiliation_entry(const struct room *r,
						     const char *bare)
{
	return affiliation_find(r, bare);
}

int muc_room_set_affiliation(struct room *r, const char *bare,
			     enum muc_affiliation aff, const char *reason)
{
	struct affiliation *a = affiliation_find(r, bare);
	size_t len = strlen(bare);
	bool was_owner = a && a->affiliation == MUC_AFF_OWNER;
	/* Noted first: a change the storage would not hear of is none. */
	if (buf_append(&r->affiliations_changed, bare, len + 1) < 0)
		return -1;
	if (a) {
		hash_table_remove(&r->affiliations, &a->link);
		free(a->reason);
		free(a);
	}
	if (was_owner)
		muc_owners_add(r->muc, bare, -1);
	if (aff == MUC_AFF_NONE)
		return 0;
	/* A JID's own entry was taken out above: only a new one counts. */
	if (r->affiliations.count >= MUC_AFFILIATIONS_MAX) {
		log_warn("muc: %s keeps %u affiliations, the most a room "
			 "may: %s's refused",
			 r->jid, MUC_AFFILIATIONS_MAX, bare);
		return -1;
	}
	a = calloc(1, sizeof *a + len + 1);
	if (!a)
		return -1;
	memcpy(a->jid, bare, len + 1);
	a->affiliation = aff;
	if ((reason && *reason && !(a->reason = strdup(reason))) ||
	    hash_table_insert(&r->affiliations, &a->link, hash_string(bare)) <
		    0) {
		free(a->reason);
		free(a);
		return -1;
	}
	if (aff == MUC_AFF_OWNER)
		muc_owners_add(r->muc, bare, 1);
	return 0;
}

/* ------------------------------------------------------------ occupants */

struct occupant *muc_room_occupant(const struct room *r, const char *nick)
{
	struct hash_link *l =
		hash_table_find(&r->nicks, hash_string(nick), nick_match, nick);
	return l ? hash_entry(l, struct occupant, by_nick) : NULL;
}

void muc_room_add_occupant(struct room *r, struct occupant *o)
{
	hash_table_insert(&r->jids, &o->by_jid, hash_string(o->jid));
	o->prev = r->last_occupant;
	if (o->prev)
		o->prev->next = o;
	else
		r->occupants = o;
	r->last_occupant = o;
}

void muc_room_remove_occupant(struct room *r, struct occupant *o)
{
	hash_table_remove(&r->jids, &o->by_jid);
	if (o->prev)
		o->prev->next = o->next;
	else
		r->occupants = o->next;
	if (o->next)
		o->next->prev = o->prev;
	else
		r->last_occupant = o->prev;
}

struct occupant *muc_room_occupant_by_jid(const struct room *r, const char *jid)
{
	struct hash_link *l = hash_table_find(&r->jids, hash_string(jid),
					      occupant_jid_match, jid);
	return l ? hash_entry(l, struct occupant, by_jid) : NULL;
}

enum muc_role muc_room_default_role(const struct room *r,
				    enum muc_affiliation aff)
{
	switch (aff) {
	case MUC_AFF_OWNER:
	case MUC_AFF_ADMIN:
		return MUC_ROLE_MODERATOR;
	case MUC_AFF_MEMBER:
		return MUC_ROLE_PARTICIPANT;
	case MUC_AFF_NONE:
		return r->config.moderated ? MUC_ROLE_VISITOR
					   : MUC_ROLE_PARTICIPANT;
	default:
		return MUC_ROLE_NONE;
	}
}

const char *muc_role_name(enum muc_role role)
{
	static const char *const names[] = {"none", "visitor", "participant",
					    "moderator"};
	return names[role];
}

const char *muc_affiliation_name(enum muc_affiliation aff)
{
	static const char *const names[] = {"outcast", "none", "member",
					    "admin", "owner"};
	return names[aff];
}

/* §6.4-style visibility: a hidden members-only room shows itself (its
 * information, its vCard) to its members and occupants only. */
bool muc_room_visible_to(const struct room *room, const struct stanza *st)
{
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	return room->config.public || !room->config.members_only ||
	       muc_room_affiliation(room, from) >= MUC_AFF_MEMBER ||
	       muc_room_occupant_by_jid(room, from);
}
