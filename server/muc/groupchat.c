/* groupchat: messages to a room (XEP-0045 §7.4, the subject §8.1) and
 * private messages between occupants (§7.5). A message to the room is
 * stamped once (from room@service/nick), serialized once, and each
 * occupant gets those bytes behind its own 'to'. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "muc.h"

void muc_room_broadcast(struct room *room, const char *bytes, size_t len)
{
	muc_fanout_begin(room->muc, bytes, len);
	for (struct occupant *o = room->occupants; o; o = o->next)
		muc_fanout_add(room->muc, o->jid, o->local);
	muc_fanout_end(room->muc);
}

/* The room's own attributes on a message from o: from its nick, no
 * 'to' (each copy gets its own), o's occupant id. */
static int stamp_from(struct stanza *st, const struct occupant *o)
{
	char from[JID_MAX + 1];
	int n = snprintf(from, sizeof from, "%s/%s", o->room->jid, o->nick);
	if (n < 0 || (size_t)n >= sizeof from)
		return -1;
	if (xml_set_attr(st->arena, st->xml, "from", from) < 0 ||
	    xml_set_attr(st->arena, st->xml, "to", NULL) < 0)
		return -1;
	/* XEP-0421 §3.2: who sent it, as the room knows them. */
	return muc_occupant_id_stamp(st->arena, st->xml, o);
}

/* §8.1: a subject change, by a moderator or, when the room allows it,
 * by any participant. Kept to be sent to newcomers (§7.2.16). */
static bool subject_allowed(const struct occupant *o)
{
	return o->role == MUC_ROLE_MODERATOR ||
	       (o->room->config.change_subject &&
		o->role >= MUC_ROLE_PARTICIPANT);
}

static int keep_subject(struct room *room, const char *bytes, size_t len)
{
	char *copy = malloc(len);
	if (!copy)
		return -1;
	memcpy(copy, bytes, len);
	free(room->subject);
	room->subject = copy;
	room->subject_len = len;
	return 0;
}

static void room_groupchat(struct muc *muc, struct room *room,
			   struct occupant *o, struct stanza *st)
{
	bool subject = xml_child(st->xml, XML_NS_CLIENT, "subject") &&
		       !xml_child(st->xml, XML_NS_CLIENT, "body");
	if (o->role < MUC_ROLE_PARTICIPANT) {
		/* §7.4: a visitor in a moderated room has no voice. */
		muc_send_error(muc, st, "forbidden",
			       "You have no voice in this room.");
		return;
	}
	if (subject && !subject_allowed(o)) {
		muc_send_error(muc, st, "forbidden",
			       "Only moderators may change the subject.");
		return;
	}
	if (stamp_from(st, o) < 0 ||
	    (!subject && muc_archive_message(room, o, st) < 0) ||
	    muc_serialize(muc, st->xml) < 0) {
		muc_send_error(muc, st, "resource-constraint", NULL);
		return;
	}
	if (subject && keep_subject(room, muc->out.data, muc->out.len) < 0) {
		muc_send_error(muc, st, "resource-constraint", NULL);
		return;
	}
	if (subject) {
		/* The occupants see it once a persistent room stored it. */
		muc_room_store_broadcast(room, ROOM_STORE_SUBJECT, st,
					 room->subject, room->subject_len);
		return;
	}
	if (xml_child(st->xml, XML_NS_CLIENT, "body"))
		muc_history_add(room, muc->out.data, muc->out.len);
	muc_room_broadcast(room, muc->out.data, muc->out.len);
}

/* §7.5: a private message, through the room, to one occupant. */
static bool pm_allowed(const struct occupant *o)
{
	switch (o->room->config.allow_pm) {
	case MUC_PM_ANYONE:
		return true;
	case MUC_PM_PARTICIPANTS:
		return o->role >= MUC_ROLE_PARTICIPANT;
	case MUC_PM_MODERATORS:
		return o->role == MUC_ROLE_MODERATOR;
	default:
		return false;
	}
}

static void room_private(struct muc *muc, struct room *room, struct occupant *o,
			 struct stanza *st)
{
	struct occupant *target = muc_room_occupant(room, st->to->resource);
	if (sm_stanza_is_type(st, "groupchat")) {
		muc_send_error(muc, st, "bad-request",
			       "A private message is not of type groupchat.");
		return;
	}
	if (!pm_allowed(o)) {
		muc_send_error(muc, st, "not-allowed",
			       "Private messages are not allowed in this "
			       "room.");
		return;
	}
	if (!target) {
		muc_send_error(muc, st, "item-not-found",
			       "No occupant has that nickname.");
		return;
	}
	/* §7.5: marked as coming through the room. */
	if (stamp_from(st, o) < 0 ||
	    !xml_add_child(st->arena, st->xml, NS_MUC_USER, "x") ||
	    muc_serialize(muc, st->xml) < 0) {
		muc_send_error(muc, st, "resource-constraint", NULL);
		return;
	}
	/* §7.2.8: to every session of the nick. */
	for (struct occupant *s = target; s; s = s->next_session)
		muc_send_to(muc, s->jid, muc->out.data, muc->out.len);
}

void muc_room_message(struct muc *muc, struct room *room, struct stanza *st)
{
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	struct occupant *o = room ? muc_room_occupant_by_jid(room, from) : NULL;
	if (sm_stanza_is_type(st, "error")) {
		/* An answer to a copy the room sent the occupant, from
		 * room@service/nick (a groupchat message, a private
		 * message) or from the room (its subject). */
		muc_occupant_error(room, st);
		return;
	}
	if (!room) {
		muc_send_error(muc, st, "item-not-found",
			       "There is no such room.");
		return;
	}
	if (!st->to->resource[0] && !sm_stanza_is_type(st, "groupchat")) {
		/* Invitations, declines (from outside), voice requests. */
		muc_room_request(muc, room, o, st);
		return;
	}
	if (!o) {
		/* §7.4, §7.5: only occupants speak in a room. */
		muc_send_error(muc, st, "not-acceptable",
			       "Only occupants may send messages to the room.");
		return;
	}
	if (st->to->resource[0])
		room_private(muc, room, o, st);
	else
		room_groupchat(muc, room, o, st);
}
