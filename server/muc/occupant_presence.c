/* occupant_presence: an occupant's presence as the room broadcasts it
 * (XEP-0045 §7.2.3): from room@service/nick, the occupant's own
 * children (show, status, caps …), and the MUC <x/> with its item
 * (affiliation, role, the real JID for those who may see it) and
 * status codes. Built as bytes, without 'to': muc_send_to adds each
 * recipient's. */
#include <string.h>

#include "../../lib/log.h"
#include "muc.h"

/* §7.2.3 / §7.2.4: in a semi-anonymous room only moderators see real
 * JIDs; in a non-anonymous room everyone does. */
bool muc_may_see_jids(const struct room *room, const struct occupant *viewer)
{
	return room->config.whois == MUC_WHOIS_ANYONE ||
	       viewer->role == MUC_ROLE_MODERATOR;
}

static int append_attr(struct buf *b, const char *name, const char *value)
{
	if (!value)
		return 0;
	if (buf_printf(b, " %s=\"", name) < 0 ||
	    buf_append_xml_escaped(b, value, strlen(value)) < 0)
		return -1;
	return buf_append_str(b, "\"");
}

/* <item …>…</item> of p for a viewer who may (or not) see real JIDs. */
static int append_item(struct buf *b, const struct muc_presence *p,
		       bool with_jid)
{
	const struct occupant *o = p->occupant;
	if (buf_printf(b, "<item affiliation=\"%s\" role=\"%s\"",
		       muc_affiliation_name(p->affiliation),
		       muc_role_name(p->role)) < 0 ||
	    (with_jid && append_attr(b, "jid", o->jid) < 0) ||
	    append_attr(b, "nick", p->new_nick) < 0)
		return -1;
	if (!p->actor && !p->reason)
		return buf_append_str(b, "/>");
	if (buf_append_str(b, ">") < 0 ||
	    (p->actor && (buf_append_str(b, "<actor") < 0 ||
			  append_attr(b, "nick", p->actor) < 0 ||
			  buf_append_str(b, "/>") < 0)))
		return -1;
	if (p->reason &&
	    (buf_append_str(b, "<reason>") < 0 ||
	     buf_append_xml_escaped(b, p->reason, strlen(p->reason)) < 0 ||
	     buf_append_str(b, "</reason>") < 0))
		return -1;
	return buf_append_str(b, "</item>");
}

int muc_presence_build(struct buf *b, const struct muc_presence *p,
		       bool with_jid, bool self)
{
	const struct occupant *o = p->occupant;
	buf_clear(b);
	if (buf_append_str(b, "<presence") < 0 ||
	    buf_printf(b, " from=\"") < 0 ||
	    buf_append_xml_escaped(b, o->room->jid, strlen(o->room->jid)) < 0 ||
	    buf_append_str(b, "/") < 0 ||
	    buf_append_xml_escaped(b, o->nick, strlen(o->nick)) < 0 ||
	    buf_append_str(b, "\"") < 0 ||
	    (p->unavailable &&
	     buf_append_str(b, " type=\"unavailable\"") < 0) ||
	    buf_append_str(b, ">") < 0)
		return -1;
	if (!p->unavailable && o->presence &&
	    buf_append(b, o->presence, o->presence_len) < 0)
		return -1;
	if (buf_append_str(b, "<x xmlns=\"" NS_MUC_USER "\">") < 0 ||
	    append_item(b, p, with_jid) < 0 ||
	    (p->extra && buf_append_str(b, p->extra) < 0))
		return -1;
	for (const char *const *c = p->codes; c && *c; c++)
		if (buf_printf(b, "<status code=\"%s\"/>", *c) < 0)
			return -1;
	/* §7.2.3: the occupant's own copy says it is theirs. */
	if (self && buf_append_str(b, "<status code=\"110\"/>") < 0)
		return -1;
	/* XEP-0421 §3.1: in every presence of an occupant. */
	return buf_printf(b,
			  "</x><occupant-id xmlns=\"" NS_OCCUPANT_ID
			  "\" id=\"%s\"/></presence>",
			  o->occupant_id);
}

/* The presence of p to one viewer. */
int muc_presence_send(struct muc *muc, const struct muc_presence *p,
		      const struct occupant *viewer)
{
	bool self = viewer == p->occupant;
	bool with_jid = self || muc_may_see_jids(p->occupant->room, viewer);
	if (muc_presence_build(&muc->out, p, with_jid, self) < 0) {
		log_error("muc: out of memory building a presence");
		return -1;
	}
	return muc_send_to(muc, viewer->jid, muc->out.data, muc->out.len);
}

/* Every session of the other nicks gets p, in one of two forms (with
 * the real JID for moderators, or everyone in a non-anonymous room, and
 * without), each built once and fanned out. */
void muc_presence_to_others(struct muc *muc, const struct muc_presence *p)
{
	struct room *room = p->occupant->room;
	struct buf *with = &muc->with_jid, *without = &muc->without_jid;
	if (muc_presence_build(with, p, true, false) < 0 ||
	    muc_presence_build(without, p, false, false) < 0) {
		log_error("muc: out of memory building a presence");
		return;
	}
	for (int form = 0; form < 2; form++) {
		struct buf *b = form ? with : without;
		muc_fanout_begin(muc, b->data, b->len);
		for (struct occupant *o = room->occupants; o; o = o->next)
			if (!muc_session_same_nick(o, p->occupant) &&
			    muc_may_see_jids(room, o) == (form == 1))
				muc_fanout_add(muc, o->jid, o->local);
		muc_fanout_end(muc);
	}
}

/* §7.2.3: "the service MUST send the new occupant's presence to all
 * occupants", the self presence last; each session of the nick gets
 * its own (§7.2.8). */
void muc_presence_broadcast(struct muc *muc, const struct muc_presence *p)
{
	muc_presence_to_others(muc, p);
	for (struct occupant *s = muc_session_primary(p->occupant); s;
	     s = s->next_session) {
		struct muc_presence own = *p;
		own.occupant = s;
		muc_presence_send(muc, &own, s);
	}
}
