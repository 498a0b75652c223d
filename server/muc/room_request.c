/* room_request: a message to the room's bare JID that is not groupchat
 * asks something of the room, by what it carries: invitations and
 * their declines (XEP-0045 §7.8.2, §7.8.3: invite.c), a voice request
 * or a moderator's answer to one (§7.13, §8.6: voice_request.c). */
#include <string.h>

#include "muc.h"

#define NS_MUC_REQUEST "http://jabber.org/protocol/muc#request"

/* A muc#request form, or a cancelled form (XEP-0004 §3.1: empty),
 * which only a moderator skipping a voice request sends a room. */
static bool voice_form(struct arena *a, const struct xml_node *form)
{
	const char *type = xml_attr_get(form, "type");
	return muc_form_is(a, form, NS_MUC_REQUEST) ||
	       (type && strcmp(type, "cancel") == 0);
}

void muc_room_request(struct muc *muc, struct room *room, struct occupant *o,
		      struct stanza *st)
{
	struct xml_node *x = xml_child(st->xml, NS_MUC_USER, "x");
	struct xml_node *form = xml_child(st->xml, NS_XDATA, "x");
	/* §7.8.2: "the message MUST be explicitly or implicitly of type
	 * normal"; so is a request for voice (§7.13). */
	bool normal = !st->type[0] || sm_stanza_is_type(st, "normal");
	if (normal && x && xml_child(x, NS_MUC_USER, "invite"))
		muc_invite(muc, room, o, st, x);
	else if (normal && x && xml_child(x, NS_MUC_USER, "decline"))
		muc_invite_decline(muc, room, st, x);
	else if (normal && form && voice_form(st->arena, form))
		muc_voice_request(muc, room, o, st, form);
	else
		muc_send_error(muc, st, "bad-request",
			       "Messages to a room are of type groupchat.");
}
