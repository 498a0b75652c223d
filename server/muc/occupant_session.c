/* occupant_session: one user's several resources under one nickname,
 * a phone and a desktop both in the room as "juliet". XEP-0045 §7.2.8:
 * "if the bare JID of the present occupant matches the bare JID of the
 * user seeking to enter the room, then the service SHOULD allow entry
 * to the user, so that the user has two (or more) in-room 'sessions'
 * with the same roomnick, one for each resource".
 *
 * Each session is an occupant of its own: its real full JID in
 * room->jids, its own presence, its own copy of what the room sends.
 * The nick is one: its first session, the primary, alone is in
 * room->nicks, counted in room->noccupants, and is what the others see
 * (its presence, its real JID). The other sessions hang off it in join
 * order; when the primary leaves, the next one takes its place. */
#include <string.h>

#include "muc.h"

struct occupant *muc_session_primary(const struct occupant *o)
{
	return o->primary ? o->primary : (struct occupant *)o;
}

bool muc_session_same_nick(const struct occupant *a, const struct occupant *b)
{
	return muc_session_primary(a) == muc_session_primary(b);
}

bool muc_session_is_of(const struct occupant *o, const char *bare)
{
	size_t n = strlen(bare);
	return strncmp(o->jid, bare, n) == 0 &&
	       (o->jid[n] == '/' || o->jid[n] == '\0');
}

int muc_session_attach(struct occupant *o, struct occupant *primary)
{
	struct room *room = o->room;
	o->primary = primary;
	o->next_session = NULL;
	if (!primary) {
		if (hash_table_insert(&room->nicks, &o->by_nick,
				      hash_string(o->nick)) < 0)
			return -1;
		room->noccupants++;
		return 0;
	}
	struct occupant *last = primary;
	while (last->next_session)
		last = last->next_session;
	last->next_session = o;
	o->role = primary->role;
	return 0;
}

/* The primary leaves: the next session takes its place in room->nicks
 * (the same nick), and the others point to it. */
static struct occupant *promote_next(struct occupant *o)
{
	struct room *room = o->room;
	struct occupant *next = o->next_session;
	hash_table_remove(&room->nicks, &o->by_nick);
	if (!next) {
		room->noccupants--;
		return NULL;
	}
	next->primary = NULL;
	for (struct occupant *s = next->next_session; s; s = s->next_session)
		s->primary = next;
	/* Cannot fail: the table has its buckets (o was in it). */
	hash_table_insert(&room->nicks, &next->by_nick,
			  hash_string(next->nick));
	return next;
}

struct occupant *muc_session_detach(struct occupant *o)
{
	struct occupant *primary = o->primary;
	if (!primary) {
		primary = promote_next(o);
	} else {
		struct occupant *s = primary;
		while (s->next_session != o)
			s = s->next_session;
		s->next_session = o->next_session;
	}
	o->primary = NULL;
	o->next_session = NULL;
	return primary;
}

struct occupant *muc_session_next_other(const struct occupant *o)
{
	struct occupant *next = o->next;
	while (next && muc_session_same_nick(next, o))
		next = next->next;
	return next;
}
