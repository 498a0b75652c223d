/* voice_request: a visitor of a moderated room asks for voice
 * (XEP-0045 §7.13) and a moderator grants it (§8.6). The room turns the
 * request into an approval form for every moderator in the room; a
 * moderator who submits it with muc#request_allow true makes the
 * visitor a participant, told to everyone as §8.3's grant of voice. */
#include <string.h>
#include <time.h>

#include "../../lib/log.h"
#include "muc.h"

#define NS_MUC_REQUEST "http://jabber.org/protocol/muc#request"

/* One request per nick this often at most, so that a visitor cannot
 * flood the moderators with forms. */
#define MUC_VOICE_REQUEST_INTERVAL 60 /* seconds */

/* §8.6: the approval form of o's request. */
static struct xml_node *approval_form(struct arena *a, const struct room *room,
				      const struct occupant *o)
{
	struct xml_node *m = xml_node_new(a, XML_NS_CLIENT, "message");
	struct xml_node *x = m ? xml_add_child(a, m, NS_XDATA, "x") : NULL;
	if (!x || xml_set_attr(a, m, "from", room->jid) < 0 ||
	    xml_set_attr(a, x, "type", "form") < 0 ||
	    !xml_add_text_child(a, x, NS_XDATA, "title", "Voice request") ||
	    !xml_add_text_child(a, x, NS_XDATA, "instructions",
				"To grant voice to this person, check \"Grant "
				"voice to this person?\" and submit; to skip "
				"the request, cancel.") ||
	    !muc_form_add(a, x, "FORM_TYPE", "hidden", NULL, NS_MUC_REQUEST) ||
	    !muc_form_add(a, x, "muc#role", "list-single", "Requested role",
			  "participant") ||
	    !muc_form_add(a, x, "muc#jid", "jid-single", "User ID", o->jid) ||
	    !muc_form_add(a, x, "muc#roomnick", "text-single", "Room Nickname",
			  o->nick) ||
	    !muc_form_add(a, x, "muc#request_allow", "boolean",
			  "Grant voice to this person?", "false"))
		return NULL;
	return m;
}

/* §7.13: the request, to every moderator. False when none is in. */
static bool voice_ask(struct muc *muc, struct occupant *o, struct stanza *st)
{
	struct xml_node *m = approval_form(st->arena, o->room, o);
	bool sent = false;
	if (!m)
		return false;
	for (struct occupant *mod = o->room->occupants; mod; mod = mod->next) {
		if (mod->role != MUC_ROLE_MODERATOR ||
		    xml_set_attr(st->arena, m, "to", mod->jid) < 0)
			continue;
		sent = muc_send_xml(muc, m) == 0 || sent;
	}
	return sent;
}

static void voice_request(struct muc *muc, struct occupant *o,
			  struct stanza *st, const struct xml_node *form)
{
	const char *role = muc_form_value(st->arena, form, "muc#role");
	struct occupant *nick = muc_session_primary(o); /* §7.2.8 */
	time_t now = time(NULL);
	if (o->role != MUC_ROLE_VISITOR) {
		muc_send_error(muc, st, "not-acceptable",
			       "You have voice in this room already.");
	} else if (!role || strcmp(role, "participant") != 0) {
		muc_send_error(muc, st, "bad-request",
			       "Only voice (the role participant) can be "
			       "requested.");
	} else if (nick->voice_requested &&
		   now - nick->voice_requested < MUC_VOICE_REQUEST_INTERVAL) {
		muc_send_error(muc, st, "policy-violation",
			       "You asked for voice less than a minute ago; "
			       "the moderators have your request.");
	} else if (!voice_ask(muc, o, st)) {
		muc_send_error(muc, st, "recipient-unavailable",
			       "No moderator is in the room to grant voice.");
	} else {
		nick->voice_requested = now;
		log_debug("muc: %s asked for voice in %s", o->jid,
			  o->room->jid);
	}
}

/* §8.6: a moderator's answer. The occupant is named by nickname, and
 * by real JID as the form said (the one who asked may have left and
 * another taken the nickname): any session of the nick (§7.2.8). */
static void voice_approve(struct muc *muc, struct occupant *mod,
			  struct stanza *st, const struct xml_node *form)
{
	struct arena *a = st->arena;
	const char *nick = muc_form_value(a, form, "muc#roomnick");
	const char *jid = muc_form_value(a, form, "muc#jid");
	struct occupant *o = nick ? muc_room_occupant(mod->room, nick) : NULL;
	struct occupant *asker =
		jid ? muc_room_occupant_by_jid(mod->room, jid) : o;
	if (mod->role != MUC_ROLE_MODERATOR) {
		muc_send_error(muc, st, "forbidden",
			       "Only moderators may grant voice.");
		return;
	}
	if (!o || !asker || !muc_session_same_nick(o, asker)) {
		muc_send_error(muc, st, "item-not-found",
			       "The occupant who asked for voice is no longer "
			       "in the room.");
		return;
	}
	if (!muc_form_true(muc_form_value(a, form, "muc#request_allow")) ||
	    o->role != MUC_ROLE_VISITOR)
		return;
	log_info("muc: %s granted voice to %s in %s", mod->jid, o->jid,
		 o->room->jid);
	muc_occupant_set_role(o, MUC_ROLE_PARTICIPANT, mod->nick, NULL);
}

void muc_voice_request(struct muc *muc, struct room *room, struct occupant *o,
		       struct stanza *st, struct xml_node *form)
{
	const char *type = xml_attr_get(form, "type");
	if (type && strcmp(type, "cancel") == 0)
		return; /* §8.6: a moderator skipped the request */
	if (!o) {
		muc_send_error(muc, st, "not-acceptable",
			       "Only occupants may ask for voice.");
		return;
	}
	if (muc_form_field(form, "muc#roomnick"))
		voice_approve(muc, o, st, form);
	else
		voice_request(muc, o, st, form);
}
