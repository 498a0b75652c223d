/* room_role: changing an occupant's role (XEP-0045 §5.1): kicking
 * (§8.2, role none), voice (§8.3-§8.5, participant and visitor) and
 * moderator status (§9.6-§9.8); who may make which change, and the
 * presence everyone gets. */
#include <string.h>

#include "muc.h"

int muc_role_parse(const char *name)
{
	for (int r = MUC_ROLE_NONE; r <= MUC_ROLE_MODERATOR; r++)
		if (strcmp(name, muc_role_name((enum muc_role)r)) == 0)
			return r;
	return -1;
}

static struct muc_refusal refuse(const char *condition, const char *text)
{
	return (struct muc_refusal){.condition = condition, .text = text};
}

/* §8.2: "a user cannot be kicked by a moderator with a lower
 * affiliation"; an admin cannot kick another admin either (§5.2.1: only
 * owners act on admins). */
static bool may_kick(enum muc_affiliation actor, enum muc_affiliation target)
{
	return actor == MUC_AFF_OWNER || actor > target ||
	       (actor == target && target < MUC_AFF_ADMIN);
}

static struct muc_refusal kick_check(const struct muc_actor *actor,
				     const struct occupant *target,
				     enum muc_affiliation aff)
{
	/* §8.2: a service MAY refuse a moderator kicking himself. */
	if (strcmp(target->nick, actor->nick) == 0)
		return refuse("conflict", "You cannot kick yourself.");
	if (!may_kick(actor->affiliation, aff))
		return refuse("not-allowed",
			      "You may not kick an occupant whose affiliation "
			      "is higher than yours, nor an admin unless you "
			      "are an owner.");
	if (target->role == MUC_ROLE_MODERATOR &&
	    actor->affiliation < MUC_AFF_ADMIN)
		return refuse("forbidden",
			      "Only admins and owners may kick a moderator.");
	return refuse(NULL, NULL);
}

struct muc_refusal muc_role_check(const struct muc_actor *actor,
				  const struct occupant *target,
				  enum muc_role role)
{
	enum muc_affiliation aff =
		muc_room_affiliation(target->room, target->jid);
	if (actor->role != MUC_ROLE_MODERATOR)
		return refuse("forbidden",
			      "Only moderators may change an occupant's role.");
	if (role == MUC_ROLE_NONE)
		return kick_check(actor, target, aff);
	/* §9.6, §9.7: moderator status is the admins' to give. */
	if ((role == MUC_ROLE_MODERATOR ||
	     target->role == MUC_ROLE_MODERATOR) &&
	    actor->affiliation < MUC_AFF_ADMIN)
		return refuse("forbidden",
			      "Only admins and owners may grant or "
			      "revoke moderator status.");
	if (role >= target->role)
		return refuse(NULL, NULL);
	/* §8.4, §9.7: nobody revokes an admin's or owner's voice or
	 * moderation, and a moderator not that of an occupant at or above
	 * the moderator's own affiliation. */
	if (aff >= MUC_AFF_ADMIN)
		return refuse("not-allowed",
			      "The voice and moderation of admins and owners "
			      "cannot be revoked.");
	if (aff != MUC_AFF_NONE && aff >= actor->affiliation)
		return refuse("not-allowed",
			      "You may not revoke the voice of an occupant "
			      "whose affiliation is as high as yours.");
	return refuse(NULL, NULL);
}

void muc_role_change(struct occupant *target, enum muc_role role,
		     const struct muc_actor *actor, const char *reason)
{
	static const char *const kicked[] = {"307", NULL};
	const char *by = actor->nick[0] ? actor->nick : NULL;
	if (role != MUC_ROLE_NONE) {
		if (role != target->role)
			muc_occupant_set_role(target, role, by, reason);
		return;
	}
	/* §8.2: the kicked occupant and everyone else learn it (307);
	 * every session of the nick goes. */
	struct muc_presence p = {
		.occupant = target,
		.affiliation = muc_room_affiliation(target->room, target->jid),
		.actor = by,
		.reason = reason,
		.codes = kicked,
	};
	muc_occupant_remove(target, &p);
}

/* §8.5 (voice list), §9.8 (moderator list): nick and role, with the
 * affiliation and real JID the requesting moderator may see. */
int muc_role_list(const struct room *room, struct arena *a,
		  struct xml_node *query, enum muc_role role)
{
	for (const struct occupant *o = room->occupants; o; o = o->next) {
		if (o->role != role || o->primary) /* a nick once */
			continue;
		struct xml_node *item =
			xml_add_child(a, query, NS_MUC_ADMIN, "item");
		enum muc_affiliation aff = muc_room_affiliation(room, o->jid);
		if (!item ||
		    xml_set_attr(a, item, "affiliation",
				 muc_affiliation_name(aff)) < 0 ||
		    xml_set_attr(a, item, "jid", o->jid) < 0 ||
		    xml_set_attr(a, item, "nick", o->nick) < 0 ||
		    xml_set_attr(a, item, "role", muc_role_name(role)) < 0)
			return -1;
	}
	return 0;
}
