/* invite: mediated invitations (XEP-0045 §7.8.2) and their declines
 * (§7.8.3). An occupant asks the room to invite someone; the room sends
 * the invitee the invitation from the room, with the inviter's bare
 * JID, the reason and the room's password, and in a members-only room
 * makes the invitee a member (§9.3). A decline goes back the same way,
 * from the room to the inviter. */
#include <stdio.h>
#include <string.h>

#include "../../lib/log.h"
#include "muc.h"

/* Invitations one message may carry (§7.8.2 allows several). */
#define MUC_INVITES_MAX 20

/* §9.3: invitations to a members-only room are for its admins and
 * owners, and for its members when the room allows it
 * (muc#roomconfig_allowinvites, which "doesn't restrict owners but
 * enables additional permissions for members", 1.35.3); in an open
 * room any occupant may invite. */
static bool may_invite(const struct room *room, enum muc_affiliation aff)
{
	if (!room->config.members_only)
		return true;
	return aff >= MUC_AFF_ADMIN ||
	       (room->config.allow_invites && aff >= MUC_AFF_MEMBER);
}

/* A plain text for clients that do not read the <x/>. */
static int add_body(struct arena *a, struct xml_node *m, const char *inviter,
		    const char *room, const char *reason)
{
	static const char fmt[] = "%s invites you to the room %s%s%s";
	const char *sep = reason ? ": " : ".";
	reason = reason ? reason : "";
	size_t len = strlen(fmt) + strlen(inviter) + strlen(room) +
		     strlen(reason) + 1;
	char *text = arena_alloc(a, len);
	if (!text)
		return -1;
	snprintf(text, len, fmt, inviter, room, sep, reason);
	return xml_add_text_child(a, m, XML_NS_CLIENT, "body", text) ? 0 : -1;
}

/* The <invite/> the invitee gets: from the inviter, with the reason
 * and §7.9's <continue/> (the thread of a one-to-one chat the room
 * continues) of the inviter's. */
static struct xml_node *invite_of(struct arena *a, struct xml_node *x,
				  const char *inviter,
				  const struct xml_node *asked,
				  const char **reason)
{
	struct xml_node *inv = xml_add_child(a, x, NS_MUC_USER, "invite");
	struct xml_node *why =
		asked ? xml_child(asked, NS_MUC_USER, "reason") : NULL;
	struct xml_node *cont =
		asked ? xml_child(asked, NS_MUC_USER, "continue") : NULL;
	struct xml_node *thread = cont ? xml_copy(a, cont) : NULL;
	*reason = why ? xml_text(a, why) : NULL;
	if (*reason && !**reason)
		*reason = NULL;
	if (!inv || xml_set_attr(a, inv, "from", inviter) < 0 ||
	    (*reason &&
	     !xml_add_text_child(a, inv, NS_MUC_USER, "reason", *reason)) ||
	    (cont && !thread))
		return NULL;
	if (thread)
		xml_append_child(inv, thread);
	return inv;
}

struct xml_node *muc_invite_message(const struct room *room, struct arena *a,
				    const char *id, const char *inviter,
				    const char *invitee,
				    const struct xml_node *invite)
{
	const char *reason;
	struct xml_node *m = xml_node_new(a, XML_NS_CLIENT, "message");
	struct xml_node *x = m ? xml_add_child(a, m, NS_MUC_USER, "x") : NULL;
	if (!x || !invite_of(a, x, inviter, invite, &reason) ||
	    xml_set_attr(a, m, "from", room->jid) < 0 ||
	    xml_set_attr(a, m, "to", invitee) < 0 ||
	    (id && xml_set_attr(a, m, "id", id) < 0) ||
	    add_body(a, m, inviter, room->jid, reason) < 0)
		return NULL;
	/* §7.8.2: "the room SHOULD add the password if the room is
	 * password-protected". */
	if (room->config.password_protected && room->config.password &&
	    !xml_add_text_child(a, x, NS_MUC_USER, "password",
				room->config.password))
		return NULL;
	return m;
}

/* The 'to' of an <invite/> or a <decline/> (what names it), into j:
 * 0, or -1 once st is answered. §7.8.2: "If the invitor supplies a
 * non-existent JID, the room SHOULD return an <item-not-found/>
 * error"; what the room knows cannot be a person is an address of its
 * own services (itself, another room, an occupant's room JID: it
 * would send the room its own invitation). An account that does not
 * exist is the invitee's server's to say (it bounces the message to
 * the room). */
static int addressee_read(struct muc *muc, struct stanza *st,
			  const struct xml_node *el, const char *what,
			  struct jid *j)
{
	const char *to = xml_attr_get(el, "to");
	char text[96];
	if (!to) {
		snprintf(text, sizeof text, "An <%s/> needs a 'to'.", what);
		muc_send_error(muc, st, "bad-request", text);
	} else if (jid_parse_str(j, to) < 0) {
		/* RFC 6120 §8.3.3.8: not even a JID. */
		snprintf(text, sizeof text, "An <%s/>'s 'to' is not a JID.",
			 what);
		muc_send_error(muc, st, "jid-malformed", text);
	} else if (muc_service_find(muc, j->domain)) {
		snprintf(text, sizeof text,
			 "An <%s/> goes to a person's JID, not to a room's.",
			 what);
		muc_send_error(muc, st, "item-not-found", text);
	} else {
		return 0;
	}
	return -1;
}

/* The invitees of x's <invite/>s, bare JIDs for the member list, all
 * checked before any is sent. Their count, or -1 once st is answered. */
static int invitees_read(struct muc *muc, struct stanza *st, struct xml_node *x,
			 struct xml_node **invites, struct jid *jids)
{
	int n = 0;
	for (struct xml_node *i = xml_child(x, NS_MUC_USER, "invite"); i;
	     i = xml_next(i, NS_MUC_USER, "invite")) {
		if (n == MUC_INVITES_MAX) {
			muc_send_error(muc, st, "policy-violation",
				       "Too many invitations in one message.");
			return -1;
		}
		if (addressee_read(muc, st, i, "invite", &jids[n]) < 0)
			return -1;
		invites[n++] = i;
	}
	return n;
}

/* §9.3: "any invitation sent SHOULD automatically trigger the addition
 * of the invitee to the member list"; never in an open room, never
 * over an existing affiliation (an outcast stays one), and never for a
 * domain: its affiliation is every user's of it (§5.2), a member list
 * change for admins to make, not any member who may invite. */
static int invitee_admit(struct room *room, const struct jid *invitee)
{
	char bare[JID_MAX + 1];
	jid_format_bare(invitee, bare);
	if (!room->config.members_only || !invitee->local[0] ||
	    muc_room_affiliation(room, bare) != MUC_AFF_NONE)
		return 0;
	log_info("muc: %s is a member of %s (invited)", bare, room->jid);
	return muc_room_set_affiliation(room, bare, MUC_AFF_MEMBER, NULL);
}

/* The invitations, then the members they make; sent once those are
 * stored (room_store.c), so that an invitee who comes after a restart
 * is still a member. */
static void invite_all(struct muc *muc, struct room *room, struct stanza *st,
		       struct xml_node **invites, const struct jid *jids, int n)
{
	char inviter[JID_MAX + 1], to[JID_MAX + 1];
	struct muc_outbox *o = muc_outbox_new(muc, st);
	bool failed = !o;
	jid_format_bare(st->from, inviter);
	for (int i = 0; !failed && i < n; i++) {
		jid_format(&jids[i], to);
		struct xml_node *m = muc_invite_message(
			room, st->arena, st->id, inviter, to, invites[i]);
		failed = muc_outbox_add_xml(o, m) < 0;
	}
	for (int i = 0; !failed && i < n; i++)
		failed = invitee_admit(room, &jids[i]) < 0;
	if (failed) {
		muc_outbox_free(o);
		o = NULL;
	}
	muc_room_store_send(room, ROOM_STORE_AFFILIATIONS, st, o);
}

void muc_invite(struct muc *muc, struct room *room, struct occupant *o,
		struct stanza *st, struct xml_node *x)
{
	struct xml_node *invites[MUC_INVITES_MAX];
	struct jid jids[MUC_INVITES_MAX];
	if (!o) {
		muc_send_error(muc, st, "not-acceptable",
			       "Only occupants may invite others to the room.");
		return;
	}
	if (!may_invite(room, muc_room_affiliation(room, o->jid))) {
		muc_send_error(muc, st, "forbidden",
			       "Only the room's admins may invite others to "
			       "this members-only room.");
		return;
	}
	int n = invitees_read(muc, st, x, invites, jids);
	if (n >= 0)
		invite_all(muc, room, st, invites, jids, n);
}

/* §7.8.3: the decline, from the room, to the one who invited. */
void muc_invite_decline(struct muc *muc, struct room *room, struct stanza *st,
			struct xml_node *x)
{
	struct arena *a = st->arena;
	struct xml_node *d = xml_child(x, NS_MUC_USER, "decline");
	struct xml_node *reason = xml_child(d, NS_MUC_USER, "reason");
	const char *to = xml_attr_get(d, "to"), *why;
	char decliner[JID_MAX + 1];
	struct jid j;
	if (addressee_read(muc, st, d, "decline", &j) < 0)
		return;
	jid_format_bare(st->from, decliner);
	struct xml_node *m = xml_node_new(a, XML_NS_CLIENT, "message");
	struct xml_node *rx = m ? xml_add_child(a, m, NS_MUC_USER, "x") : NULL;
	struct xml_node *rd =
		rx ? xml_add_child(a, rx, NS_MUC_USER, "decline") : NULL;
	why = reason ? xml_text(a, reason) : NULL;
	if (!rd || xml_set_attr(a, m, "from", room->jid) < 0 ||
	    xml_set_attr(a, m, "to", to) < 0 ||
	    (st->id && xml_set_attr(a, m, "id", st->id) < 0) ||
	    xml_set_attr(a, rd, "from", decliner) < 0 ||
	    (why && *why &&
	     !xml_add_text_child(a, rd, NS_MUC_USER, "reason", why)) ||
	    muc_send_xml(muc, m) < 0)
		muc_send_error(muc, st, "resource-constraint", NULL);
}
