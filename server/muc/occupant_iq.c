/* occupant_iq: an iq to room@service/nick. XEP-0410 §3.3 (the room
 * says so in its disco#info, disco.c): a ping from the occupant behind
 * nick (any session of it, §7.2.8) to its own occupant JID is answered
 * by the room itself, a result; one from someone not in the room
 * (another resource of a user who is in, too: each resource enters on
 * its own) gets
 * not-acceptable, so that the client enters again. Other iqs to
 * occupants are not forwarded: a ping to another's nick gets
 * service-unavailable, which §3.2 reads as "joined", and one to a nick
 * nobody has item-not-found ("joined, but the nick changed"). */
#include <string.h>

#include "muc.h"

#define NS_PING "urn:xmpp:ping"

void muc_occupant_iq(struct muc *muc, struct room *room, struct stanza *st)
{
	if (!sm_stanza_is_type(st, "get") && !sm_stanza_is_type(st, "set"))
		return;
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	struct occupant *sender =
		room ? muc_room_occupant_by_jid(room, from) : NULL;
	struct occupant *target =
		room ? muc_room_occupant(room, st->to->resource) : NULL;
	bool ping = st->payload && xml_is(st->payload, NS_PING, "ping");
	if (ping && sender && target && muc_session_same_nick(sender, target)) {
		muc_send_result(muc, st, NULL);
		return;
	}
	if (!sender) {
		muc_send_error(muc, st, "not-acceptable",
			       "You are not an occupant of this room.");
		return;
	}
	muc_send_error(muc, st,
		       target ? "service-unavailable" : "item-not-found", NULL);
}
