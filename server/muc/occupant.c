/* occupant: presence to room@service/nick (XEP-0045 §7): entering a
 * room (creating it, §10.1), changing one's presence or nickname
 * (§7.6), leaving (§7.14); and an occupant's removal and role changes,
 * which kicks, bans and voice (room_admin) use. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "muc.h"

/* The occupant's presence children, all but the MUC <x/> elements, as
 * bytes: what others see of its show and status (§7.7). */
int muc_occupant_keep_presence(struct muc *muc, struct occupant *o,
			       const struct xml_node *presence)
{
	buf_clear(&muc->out);
	for (const struct xml_node *c = presence->children; c; c = c->next) {
		/* XEP-0421 §5: the room's own occupant-id, not the
		 * client's. */
		if (!c->name || strcmp(c->ns, NS_MUC) == 0 ||
		    strcmp(c->ns, NS_MUC_USER) == 0 ||
		    strcmp(c->ns, NS_OCCUPANT_ID) == 0)
			continue;
		if (xml_serialize(c, XML_NS_CLIENT, &muc->out) < 0)
			return -1;
	}
	char *copy = muc->out.len ? malloc(muc->out.len) : NULL;
	if (muc->out.len && !copy)
		return -1;
	if (copy)
		memcpy(copy, muc->out.data, muc->out.len);
	free(o->presence);
	o->presence = copy;
	o->presence_len = muc->out.len;
	return 0;
}

static struct muc_presence presence_of(const struct occupant *o)
{
	struct muc_presence p = {
		.occupant = o,
		.affiliation = muc_room_affiliation(o->room, o->jid),
		.role = o->role,
	};
	return p;
}

/* ------------------------------------------------------------ leaving */

/* o's own unavailable: how's codes, actor and reason, or a plain
 * leave. */
static struct muc_presence leaving(struct occupant *o,
				   const struct muc_presence *how)
{
	struct muc_presence p = how ? *how : presence_of(o);
	p.occupant = o;
	p.unavailable = true;
	p.role = MUC_ROLE_NONE;
	return p;
}

void muc_occupant_remove(struct occupant *o, const struct muc_presence *how)
{
	struct occupant *primary = muc_session_primary(o);
	struct muc_presence p = leaving(primary, how);
	muc_presence_broadcast(o->room->muc, &p);
	while (primary->next_session)
		muc_occupant_free(primary->next_session);
	muc_occupant_free(primary);
}

void muc_occupant_leave(struct occupant *o, const struct muc_presence *how)
{
	struct muc *muc = o->room->muc;
	struct occupant *next = o->primary ? NULL : o->next_session;
	if (!o->primary && !next) {
		muc_occupant_remove(o, how); /* the nick's last session */
		return;
	}
	/* §7.2.8: the nick stays with its other sessions; when o was
	 * its primary, the others now see the next one's presence (its
	 * show and status, its real JID). */
	struct muc_presence p = leaving(o, how);
	muc_presence_send(muc, &p, o);
	muc_occupant_free(o);
	if (next) {
		p = presence_of(next);
		muc_presence_to_others(muc, &p);
	}
}

void muc_occupant_free(struct occupant *o)
{
	struct room *room = o->room;
	muc_session_detach(o);
	muc_room_remove_occupant(room, o);
	log_debug("muc: %s left %s (%s)", o->jid, room->jid, o->nick);
	free(o->nick);
	free(o->jid);
	free(o->presence);
	free(o);
}

/* XEP-0045 status code 333 (its registry, §15.6): a session the room
 * cannot reach any more leaves (the nick with it if it was the last),
 * and the others are told why. */
void muc_occupant_unreachable(struct occupant *o, const char *why)
{
	static const char *const gone[] = {"333", NULL};
	struct room *room = o->room;
	struct muc_presence p = presence_of(o);
	p.codes = gone;
	log_info("muc: %s removed from %s: %s", o->jid, room->jid, why);
	muc_occupant_leave(o, &p);
	muc_room_release(room);
}

/* The conditions (RFC 6120 §8.3.3) by which an occupant's server says
 * that what the room sent it cannot reach it: the user's session is
 * gone (RFC 6121 §8.5.3.2.1 answers a groupchat message to a resource
 * that is not connected with service-unavailable), or its server
 * cannot be reached. Any other error (a client that refuses one
 * message) leaves it in the room. */
static bool condition_means_gone(const char *condition)
{
	static const char *const gone[] = {
		"gone",
		"item-not-found",
		"jid-malformed",
		"recipient-unavailable",
		"redirect",
		"remote-server-not-found",
		"remote-server-timeout",
		"service-unavailable",
		NULL,
	};
	for (const char *const *c = gone; *c; c++)
		if (strcmp(condition, *c) == 0)
			return true;
	return false;
}

void muc_occupant_error(struct room *room, struct stanza *st)
{
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	struct occupant *o = room ? muc_room_occupant_by_jid(room, from) : NULL;
	const struct xml_node *error =
		xml_child(st->xml, XML_NS_CLIENT, "error");
	const struct xml_node *condition =
		error ? xml_child(error, NS_STANZAS, NULL) : NULL;
	if (!o)
		return;
	const char *name = condition ? condition->name : "an error";
	if (condition && !condition_means_gone(name)) {
		log_debug("muc: %s answered %s with %s: stays", from, room->jid,
			  name);
		return;
	}
	muc_occupant_unreachable(o, name);
}

void muc_occupant_set_role(struct occupant *o, enum muc_role role,
			   const char *actor, const char *reason)
{
	struct occupant *primary = muc_session_primary(o);
	for (struct occupant *s = primary; s; s = s->next_session)
		s->role = role;
	struct muc_presence p = presence_of(primary);
	p.actor = actor;
	p.reason = reason;
	muc_presence_broadcast(o->room->muc, &p);
}

/* ------------------------------------------------------------ changes */

/* §7.6: a new nickname for the nick (its only session). Everyone gets
 * the old one's unavailable with 303 and the new nick, then the
 * presence under the new nick. */
static void nick_rename(struct muc *muc, struct occupant *o, char *nick,
			struct stanza *st)
{
	static const char *const changed[] = {"303", NULL};
	struct muc_presence p = presence_of(o);
	p.unavailable = true;
	p.new_nick = nick;
	p.codes = changed;
	muc_presence_broadcast(muc, &p);
	muc_session_detach(o);
	free(o->nick);
	o->nick = nick;
	muc_session_attach(o, NULL); /* cannot fail: the table has buckets */
	muc_occupant_keep_presence(muc, o, st->xml);
	p = presence_of(o);
	muc_presence_broadcast(muc, &p);
}

/* §7.6 for one session of a shared nick, or into a nick the same user
 * holds with another session (to): the session sees its nick change as
 * any occupant does (unavailable with 303, then its presence under the
 * new nick, 110). The others see what changes for them: the old nick
 * leaves with its last session, else shows its primary (maybe another
 * one now); the new nick arrives unless it was there. The session then
 * sees its old nick, still there, as another occupant. */
static void session_move(struct muc *muc, struct occupant *o,
			 struct occupant *to, char *nick, struct stanza *st)
{
	static const char *const changed[] = {"303", NULL};
	struct muc_presence p = presence_of(o);
	p.unavailable = true;
	p.new_nick = nick;
	p.codes = changed;
	muc_presence_send(muc, &p, o);
	bool was_primary = !o->primary;
	struct occupant *stays = muc_session_detach(o);
	if (!stays) {
		p = leaving(o, NULL);
		muc_presence_to_others(muc, &p);
	}
	free(o->nick);
	o->nick = nick;
	muc_session_attach(o, to); /* cannot fail: the table has buckets */
	muc_occupant_keep_presence(muc, o, st->xml);
	p = presence_of(o);
	if (to)
		muc_presence_send(muc, &p, o);
	else
		muc_presence_broadcast(muc, &p);
	if (!stays)
		return;
	p = presence_of(stays);
	if (was_primary)
		muc_presence_to_others(muc, &p);
	else
		muc_presence_send(muc, &p, o);
}

/* A session of a shared nick that takes a new nick of its own adds a
 * nick, which max-occupants counts (§7.2.9). */
static bool adds_a_nick_to_full_room(const struct occupant *o,
				     const struct occupant *other)
{
	const struct room *room = o->room;
	return !other && (o->primary || o->next_session) &&
	       room->noccupants >= room->config.max_users &&
	       muc_room_affiliation(room, o->jid) < MUC_AFF_ADMIN;
}

static void occupant_change_nick(struct muc *muc, struct occupant *o,
				 struct stanza *st)
{
	const char *nick = st->to->resource;
	struct occupant *other = muc_room_occupant(o->room, nick);
	char bare[JID_MAX + 1];
	jid_format_bare(st->from, bare);
	if (other && !muc_session_is_of(other, bare)) {
		/* §7.6.3: taken, by someone else. */
		muc_send_error(muc, st, "conflict",
			       "That nickname is already in use in the room.");
		return;
	}
	if (adds_a_nick_to_full_room(o, other)) {
		muc_send_error(muc, st, "service-unavailable",
			       "The room is full.");
		return;
	}
	char *copy = strdup(nick);
	if (!copy) {
		muc_send_error(muc, st, "resource-constraint", NULL);
		return;
	}
	if (!other && !o->primary && !o->next_session)
		nick_rename(muc, o, copy, st);
	else
		session_move(muc, o, other, copy, st);
}

/* §7.7: new show or status, same nickname. The others see the nick's
 * primary's; another session's changes are its own. */
static void occupant_change_presence(struct muc *muc, struct occupant *o,
				     struct stanza *st)
{
	if (muc_occupant_keep_presence(muc, o, st->xml) < 0) {
		muc_send_error(muc, st, "resource-constraint", NULL);
		return;
	}
	struct muc_presence p = presence_of(o);
	if (!o->primary)
		muc_presence_to_others(muc, &p);
	muc_presence_send(muc, &p, o);
}

/* ------------------------------------------------------------ presence */

void muc_occupant_presence(struct muc *muc, struct room *room,
			   struct stanza *st)
{
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	struct occupant *o = room ? muc_room_occupant_by_jid(room, from) : NULL;
	if (sm_stanza_is_type(st, "error")) {
		muc_occupant_error(room, st);
		return;
	}
	if (sm_stanza_is_type(st, "unavailable")) {
		/* §7.14: leaving; from someone not in the room, nothing. */
		if (o) {
			muc_occupant_leave(o, NULL);
			muc_room_release(room);
		}
		return;
	}
	if (st->type[0]) {
		/* subscribe and the like: a room is no contact. */
		muc_send_error(muc, st, "bad-request", NULL);
		return;
	}
	if (!st->to->resource[0]) {
		/* §7.2.1: entering needs a nickname. */
		muc_send_error(muc, st, "jid-malformed",
			       "A nickname is required to enter a room.");
		return;
	}
	if (!o) {
		muc_occupant_join(muc, room, st);
		return;
	}
	if (strcmp(o->nick, st->to->resource) != 0)
		occupant_change_nick(muc, o, st);
	else if (xml_child(st->xml, NS_MUC, "x"))
		muc_occupant_rejoin(muc, o, st); /* lost track: send it all */
	else
		occupant_change_presence(muc, o, st);
}
