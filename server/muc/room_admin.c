/* room_admin: the muc#admin requests (XEP-0045 §8-§10). A get asks for
 * a list: occupants by role (§8.5 voice, §9.8 moderators) or JIDs by
 * affiliation (§9.2 bans, §9.5 members, §10.5 owners, §10.8 admins). A
 * set changes roles and affiliations, item by item (room_role.c,
 * room_affiliation.c); the whole request is checked before anything
 * changes, so that one item refused refuses them all. */
#include <string.h>

#include "../../lib/log.h"
#include "muc.h"

void muc_actor_of(struct muc_actor *actor, const struct room *room,
		  const struct stanza *st)
{
	char full[JID_MAX + 1];
	jid_format(st->from, full);
	jid_format_bare(st->from, actor->jid);
	const struct occupant *o = muc_room_occupant_by_jid(room, full);
	actor->affiliation = muc_room_affiliation(room, actor->jid);
	actor->nick[0] = '\0';
	if (o) {
		memcpy(actor->nick, o->nick, strlen(o->nick) + 1);
		actor->role = o->role;
	} else {
		/* §9, §10: admins and owners act from outside too. */
		actor->role = actor->affiliation >= MUC_AFF_ADMIN
				      ? MUC_ROLE_MODERATOR
				      : MUC_ROLE_NONE;
	}
}

static struct muc_refusal refuse(const char *condition, const char *text)
{
	return (struct muc_refusal){.condition = condition, .text = text};
}

/* ------------------------------------------------------------ lists */

/* Who may see which affiliation list. */
static struct muc_refusal list_check(const struct room *room,
				     const struct muc_actor *actor,
				     enum muc_affiliation aff)
{
	if (aff == MUC_AFF_NONE)
		return refuse("bad-request",
			      "There is no list of the affiliation none.");
	/* §10.5, §10.8: the owner and admin lists are the owners'. */
	if (aff >= MUC_AFF_ADMIN && actor->affiliation < MUC_AFF_OWNER)
		return refuse("forbidden",
			      "Only owners may see the owner and admin lists.");
	/* §9.5: occupants of the roles the configuration names
	 * (muc#roomconfig_getmemberlist) may see the members too. */
	bool member_list =
		aff == MUC_AFF_MEMBER && actor->nick[0] &&
		(room->config.member_list_roles & (1u << actor->role));
	if (actor->affiliation < MUC_AFF_ADMIN && !member_list)
		return refuse("forbidden",
			      "Only admins and owners may see this list.");
	return refuse(NULL, NULL);
}

static void admin_get(struct muc *muc, struct room *room, struct stanza *st,
		      const struct muc_actor *actor)
{
	struct xml_node *item = xml_child(st->payload, NS_MUC_ADMIN, "item");
	const char *aff_name = item ? xml_attr_get(item, "affiliation") : NULL;
	const char *role_name = item ? xml_attr_get(item, "role") : NULL;
	int aff = aff_name ? muc_affiliation_parse(aff_name) : -1;
	int role = role_name ? muc_role_parse(role_name) : -1;
	struct muc_refusal no = {0};
	if (aff >= 0)
		no = list_check(room, actor, (enum muc_affiliation)aff);
	else if (role > MUC_ROLE_NONE && actor->role != MUC_ROLE_MODERATOR)
		no = refuse("forbidden", "Only moderators may see who has "
					 "which role.");
	else if (role <= MUC_ROLE_NONE)
		no = refuse("bad-request",
			    "Ask for an affiliation (owner, admin, member, "
			    "outcast) or a role (moderator, participant, "
			    "visitor).");
	if (no.condition) {
		muc_send_error(muc, st, no.condition, no.text);
		return;
	}
	struct xml_node *r = sm_stanza_result_new(st);
	struct xml_node *q =
		r ? xml_add_child(st->arena, r, NS_MUC_ADMIN, "query") : NULL;
	if (!q ||
	    (aff >= 0 ? muc_affiliation_list(room, st->arena, q,
					     (enum muc_affiliation)aff, actor)
		      : muc_role_list(room, st->arena, q,
				      (enum muc_role)role)) < 0) {
		muc_send_error(muc, st, "resource-constraint", NULL);
		return;
	}
	muc_send_result(muc, st, r);
}

/* ------------------------------------------------------------ changes */

/* One item of a set: a role for a nick, or an affiliation for a bare
 * JID. */
struct admin_change {
	bool is_role;
	int value;          /* enum muc_role or enum muc_affiliation */
	const char *target; /* nick, or bare JID */
	const char *reason;
};

/* An affiliation item names a JID (§9.1), or an occupant by nick
 * (§9.3: "based on nick if the user is in the room"). */
static struct muc_refusal item_jid(const struct room *room, struct stanza *st,
				   const struct xml_node *item,
				   struct admin_change *c)
{
	const char *jid = xml_attr_get(item, "jid");
	const char *nick = xml_attr_get(item, "nick");
	struct jid j;
	char bare[JID_MAX + 1];
	if (jid) {
		if (jid_parse_str(&j, jid) < 0)
			return refuse("jid-malformed",
				      "An item's jid is not a valid JID.");
	} else if (nick) {
		const struct occupant *o = muc_room_occupant(room, nick);
		if (!o)
			return refuse("item-not-found",
				      "No occupant has that nickname.");
		jid_parse_str(&j, o->jid);
	} else {
		return refuse("bad-request",
			      "An affiliation item needs a jid or a nick.");
	}
	jid_format_bare(&j, bare);
	if (!(c->target = arena_strdup(st->arena, bare)))
		return refuse("resource-constraint", NULL);
	return refuse(NULL, NULL);
}

/* A role item names an occupant by nick (§8.2), or by real full JID
 * (§9.8). */
static struct muc_refusal item_nick(const struct room *room, struct stanza *st,
				    const struct xml_node *item,
				    struct admin_change *c)
{
	const char *nick = xml_attr_get(item, "nick");
	const char *jid = xml_attr_get(item, "jid");
	const struct occupant *o = nick  ? muc_room_occupant(room, nick)
				   : jid ? muc_room_occupant_by_jid(room, jid)
					 : NULL;
	if (!nick && !jid)
		return refuse("bad-request",
			      "A role item needs a nick or a jid.");
	if (!o)
		return refuse("item-not-found",
			      "No occupant has that nickname.");
	if (!(c->target = arena_strdup(st->arena, o->nick)))
		return refuse("resource-constraint", NULL);
	return refuse(NULL, NULL);
}

static struct muc_refusal item_read(const struct room *room, struct stanza *st,
				    const struct xml_node *item,
				    struct admin_change *c)
{
	const char *aff = xml_attr_get(item, "affiliation");
	const char *role = xml_attr_get(item, "role");
	struct xml_node *reason = xml_child(item, NS_MUC_ADMIN, "reason");
	c->reason = reason ? xml_text(st->arena, reason) : NULL;
	c->is_role = !aff;
	if (aff) {
		if ((c->value = muc_affiliation_parse(aff)) < 0)
			return refuse("bad-request",
				      "An item's affiliation is not owner, "
				      "admin, member, none or outcast.");
		return item_jid(room, st, item, c);
	}
	if (!role)
		return refuse("bad-request",
			      "An item needs a role or an affiliation.");
	if ((c->value = muc_role_parse(role)) < 0)
		return refuse("bad-request", "An item's role is not moderator, "
					     "participant, visitor or none.");
	return item_nick(room, st, item, c);
}

static struct muc_refusal change_check(const struct room *room,
				       const struct muc_actor *actor,
				       const struct admin_change *c)
{
	if (c->is_role)
		return muc_role_check(actor, muc_room_occupant(room, c->target),
				      (enum muc_role)c->value);
	return muc_affiliation_check(room, actor, c->target,
				     (enum muc_affiliation)c->value);
}

/* §10.7: "a service MUST NOT allow an owner to revoke his or her own
 * ownership privileges if there are no other owners". */
static bool leaves_an_owner(const struct room *room,
			    const struct admin_change *c, size_t n)
{
	long owners = (long)muc_affiliation_count(room, MUC_AFF_OWNER);
	bool demoted = false;
	for (size_t i = 0; i < n; i++) {
		if (c[i].is_role)
			continue;
		bool was = muc_room_affiliation(room, c[i].target) ==
			   MUC_AFF_OWNER;
		bool will = c[i].value == MUC_AFF_OWNER;
		owners += (long)will - (long)was;
		demoted |= was && !will;
	}
	return !demoted || owners > 0;
}

/* The changes, in order; an occupant an earlier item removed is
 * skipped. -1: out of memory on the way. */
static int changes_apply(struct room *room, const struct muc_actor *actor,
			 const struct admin_change *c, size_t n)
{
	int status = 0;
	for (size_t i = 0; i < n; i++) {
		if (!c[i].is_role) {
			if (muc_affiliation_change(
				    room, c[i].target,
				    (enum muc_affiliation)c[i].value, actor,
				    c[i].reason) < 0)
				status = -1;
			continue;
		}
		struct occupant *o = muc_room_occupant(room, c[i].target);
		if (o)
			muc_role_change(o, (enum muc_role)c[i].value, actor,
					c[i].reason);
	}
	return status;
}

static size_t items_count(const struct xml_node *query)
{
	size_t n = 0;
	for (const struct xml_node *i = xml_child(query, NS_MUC_ADMIN, "item");
	     i; i = xml_next(i, NS_MUC_ADMIN, "item"))
		n++;
	return n;
}

/* Reads and checks every item; the first refusal, or none. */
static struct muc_refusal changes_read(const struct room *room,
				       struct stanza *st,
				       const struct muc_actor *actor,
				       struct admin_change *c)
{
	size_t n = 0;
	for (const struct xml_node *i =
		     xml_child(st->payload, NS_MUC_ADMIN, "item");
	     i; i = xml_next(i, NS_MUC_ADMIN, "item"), n++) {
		struct muc_refusal no = item_read(room, st, i, &c[n]);
		if (!no.condition)
			no = change_check(room, actor, &c[n]);
		if (no.condition)
			return no;
	}
	if (n == 0)
		return refuse("bad-request", "A set needs an item.");
	if (!leaves_an_owner(room, c, n))
		return refuse("conflict", "A room needs an owner: the last "
					  "one cannot give up ownership.");
	return refuse(NULL, NULL);
}

static bool changes_affiliations(const struct admin_change *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!c[i].is_role)
			return true;
	return false;
}

static void admin_set(struct muc *muc, struct room *room, struct stanza *st,
		      const struct muc_actor *actor)
{
	size_t n = items_count(st->payload);
	struct admin_change *c =
		arena_alloc(st->arena, (n ? n : 1) * sizeof *c);
	/* §8, §9: every change is a moderator's (admins and owners act
	 * from outside as moderators). Refused before an item is read:
	 * item-not-found would tell anyone else whether a nick, or a
	 * real JID (§7.2.3), is in the room. */
	if (actor->role != MUC_ROLE_MODERATOR) {
		muc_send_error(muc, st, "forbidden",
			       "Only moderators may change roles, and admins "
			       "and owners affiliations.");
		return;
	}
	if (!c) {
		muc_send_error(muc, st, "resource-constraint", NULL);
		return;
	}
	struct muc_refusal no = changes_read(room, st, actor, c);
	if (no.condition) {
		muc_send_error(muc, st, no.condition, no.text);
		return;
	}
	if (changes_apply(room, actor, c, n) < 0) {
		log_error("muc: %s: out of memory changing affiliations",
			  room->jid);
		muc_send_error(muc, st, "resource-constraint", NULL);
	} else if (changes_affiliations(c, n)) {
		/* Answered once a persistent room is stored (room_store.c). */
		muc_room_store_reply(room, ROOM_STORE_AFFILIATIONS, st);
	} else {
		muc_send_result(muc, st, NULL);
	}
	/* Kicks and bans may have emptied a temporary room. */
	muc_room_release(room);
}

void muc_room_admin(struct muc *muc, struct room *room, struct stanza *st)
{
	if (!room) {
		muc_send_error(muc, st, "item-not-found",
			       "There is no such room.");
		return;
	}
	struct muc_actor actor;
	muc_actor_of(&actor, room, st);
	if (sm_stanza_is_type(st, "get"))
		admin_get(muc, room, st, &actor);
	else
		admin_set(muc, room, st, &actor);
}
