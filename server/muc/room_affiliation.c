/* room_affiliation: changing an entity's affiliation with a room
 * (XEP-0045 §5.2): bans (§9.1, §9.2), membership (§9.3-§9.5), admins
 * and owners (§10.3-§10.8); who may make which change, what it does to
 * that entity's occupants in the room, and the lists. */
#include <string.h>

#include "muc.h"

int muc_affiliation_parse(const char *name)
{
	for (int a = MUC_AFF_OUTCAST; a <= MUC_AFF_OWNER; a++)
		if (strcmp(name,
			   muc_affiliation_name((enum muc_affiliation)a)) == 0)
			return a;
	return -1;
}

static struct muc_refusal refuse(const char *condition, const char *text)
{
	return (struct muc_refusal){.condition = condition, .text = text};
}

/* §5.2.1: admins change the affiliations below theirs; owners all. */
struct muc_refusal muc_affiliation_check(const struct room *room,
					 const struct muc_actor *actor,
					 const char *bare,
					 enum muc_affiliation aff)
{
	enum muc_affiliation now = muc_room_affiliation(room, bare);
	if (actor->affiliation < MUC_AFF_ADMIN)
		return refuse(
			"forbidden",
			"Only admins and owners may change affiliations.");
	/* §9.1: "if an admin or owner attempts to ban himself, the service
	 * MUST deny the request and return a <conflict/> error". */
	if (aff == MUC_AFF_OUTCAST && strcmp(bare, actor->jid) == 0)
		return refuse("conflict", "You cannot ban yourself.");
	/* §10.3, §10.6: granting admin or owner status. */
	if (aff >= MUC_AFF_ADMIN && actor->affiliation < MUC_AFF_OWNER)
		return refuse("forbidden",
			      "Only owners may grant admin or owner status.");
	/* §9.1: an admin banning an owner (or another admin). */
	if (now >= MUC_AFF_ADMIN && actor->affiliation < MUC_AFF_OWNER)
		return refuse("not-allowed",
			      "Only owners may change the "
			      "affiliation of an admin or owner.");
	return refuse(NULL, NULL);
}

unsigned muc_affiliation_count(const struct room *room,
			       enum muc_affiliation aff)
{
	unsigned n = 0;
	struct hash_link *l, *next;
	hash_table_for_each(&room->affiliations, l, next)
	{
		if (hash_entry(l, struct affiliation, link)->affiliation == aff)
			n++;
	}
	return n;
}

/* Whether the real JID full is of bare, a bare JID or a whole domain
 * (§9.2: a domain's ban covers its users). */
static bool jid_is_of(const char *full, const char *bare)
{
	size_t n = strlen(bare);
	const char *slash = strchr(full, '/');
	size_t bare_len = slash ? (size_t)(slash - full) : strlen(full);
	const char *at = memchr(full, '@', bare_len);
	if (bare_len == n && strncmp(full, bare, n) == 0)
		return true;
	return at && !strchr(bare, '@') &&
	       bare_len - (size_t)(at + 1 - full) == n &&
	       strncmp(at + 1, bare, n) == 0;
}

/* §5.1.2: admins and owners moderate; a new affiliation below that
 * gives its default role, or keeps the voice the occupant was given. */
static enum muc_role role_after(const struct occupant *o,
				enum muc_affiliation aff)
{
	enum muc_role def = muc_room_default_role(o->room, aff);
	if (aff >= MUC_AFF_ADMIN || o->role == MUC_ROLE_MODERATOR)
		return def;
	return o->role > def ? o->role : def;
}

static void occupant_follow(struct occupant *o, enum muc_affiliation aff,
			    const struct muc_actor *actor, const char *reason)
{
	static const char *const banned[] = {"301", NULL};
	static const char *const not_member[] = {"321", NULL};
	const char *by = actor->nick[0] ? actor->nick : NULL;
	bool outcast = aff == MUC_AFF_OUTCAST;
	if (outcast || (o->room->config.members_only && aff < MUC_AFF_MEMBER)) {
		/* §9.1 banned (301); §9.4 no longer a member (321). */
		struct muc_presence p = {
			.occupant = o,
			.affiliation = aff,
			.actor = by,
			.reason = reason,
			.codes = outcast ? banned : not_member,
		};
		muc_occupant_remove(o, &p);
		return;
	}
	/* §9.3, §10.3 …: everyone sees the new affiliation. */
	muc_occupant_set_role(o, role_after(o, aff), by, reason);
}

int muc_affiliation_change(struct room *room, const char *bare,
			   enum muc_affiliation aff,
			   const struct muc_actor *actor, const char *reason)
{
	if (muc_room_set_affiliation(room, bare, aff, reason) < 0)
		return -1;
	struct occupant *o, *next;
	/* A nick at a time, every session of it (§7.2.8). */
	for (o = room->occupants; o; o = next) {
		next = muc_session_next_other(o);
		if (!o->primary && jid_is_of(o->jid, bare))
			occupant_follow(o, muc_room_affiliation(room, o->jid),
					actor, reason);
	}
	return 0;
}

/* The occupant of bare in the room, if any, for the list's nick. */
static const struct occupant *occupant_of(const struct room *room,
					  const char *bare)
{
	for (const struct occupant *o = room->occupants; o; o = o->next)
		if (jid_is_of(o->jid, bare))
			return o;
	return NULL;
}

/* The item of entry; with the nick and role of its occupant when
 * shown. */
static int list_item(const struct room *room, struct arena *a,
		     struct xml_node *query, const struct affiliation *entry,
		     bool show_occupant)
{
	struct xml_node *item = xml_add_child(a, query, NS_MUC_ADMIN, "item");
	const struct occupant *o =
		show_occupant ? occupant_of(room, entry->jid) : NULL;
	if (!item ||
	    xml_set_attr(a, item, "affiliation",
			 muc_affiliation_name(entry->affiliation)) < 0 ||
	    xml_set_attr(a, item, "jid", entry->jid) < 0 ||
	    (o &&
	     (xml_set_attr(a, item, "nick", o->nick) < 0 ||
	      xml_set_attr(a, item, "role", muc_role_name(o->role)) < 0)) ||
	    (entry->reason && !xml_add_text_child(a, item, NS_MUC_ADMIN,
						  "reason", entry->reason)))
		return -1;
	return 0;
}

int muc_affiliation_list(const struct room *room, struct arena *a,
			 struct xml_node *query, enum muc_affiliation aff,
			 const struct muc_actor *viewer)
{
	/* §7.2.3: in a semi-anonymous room only moderators learn whose a
	 * nickname is; a participant given the member list
	 * (getmemberlist) learns who the members are, but which occupant
	 * each one is only for itself. */
	bool all = viewer->role == MUC_ROLE_MODERATOR ||
		   room->config.whois == MUC_WHOIS_ANYONE;
	struct hash_link *l, *next;
	hash_table_for_each(&room->affiliations, l, next)
	{
		const struct affiliation *entry =
			hash_entry(l, struct affiliation, link);
		bool show = all || strcmp(entry->jid, viewer->jid) == 0;
		if (entry->affiliation == aff &&
		    list_item(room, a, query, entry, show) < 0)
			return -1;
	}
	return 0;
}
