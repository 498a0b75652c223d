/* join: entering a room (XEP-0045 §7.2), and creating it when it does
 * not exist (§10.1). The checks come in the order of §7.2's error
 * cases; then the newcomer gets everyone's presence, its own with its
 * status codes, the discussion history and the subject. A user's other
 * resource entering under the nick the user holds becomes another
 * session of it (§7.2.8, occupant_session.c): it gets what a newcomer
 * gets, and the others see nothing new. */
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "muc.h"

/* Config <muc><create>: who may make a room exist. */
static bool may_create(const struct muc *muc, const struct jid *from)
{
	char bare[JID_MAX + 1];
	jid_format_bare(from, bare);
	if (muc_is_service_admin(muc, bare))
		return true;
	switch (muc->cfg->muc.create) {
	case CONFIG_MUC_CREATE_ANYONE:
		return true;
	case CONFIG_MUC_CREATE_LOCAL:
		return config_find_host(muc->cfg, from->domain) != NULL;
	default:
		return false;
	}
}

/* <muc><max-owned-rooms>: a user who owns that many rooms creates no
 * more until one goes (service admins are not counted). */
static bool owns_too_many(struct muc *muc, const struct stanza *st,
			  const char *bare)
{
	unsigned most = muc->cfg->muc.max_owned_rooms;
	if (muc_is_service_admin(muc, bare) ||
	    muc_owned_rooms(muc, bare) < most)
		return false;
	char text[128];
	snprintf(text, sizeof text,
		 "You own %u rooms, the most this service lets one user own.",
		 most);
	muc_send_error(muc, st, "not-allowed", text);
	return true;
}

static struct room *room_create(struct muc *muc, struct stanza *st)
{
	char jid[JID_MAX + 1], bare[JID_MAX + 1];
	struct jid room_jid = *st->to;
	room_jid.resource[0] = '\0';
	jid_format_bare(&room_jid, jid);
	jid_format_bare(st->from, bare);
	if (!may_create(muc, st->from)) {
		muc_send_error(
			muc, st, "not-allowed",
			muc->cfg->muc.create == CONFIG_MUC_CREATE_LOCAL
				? "Rooms are created by local users only."
				: "Rooms are created by the service's "
				  "admins only.");
		return NULL;
	}
	if (owns_too_many(muc, st, bare))
		return NULL;
	struct room *room =
		muc_room_new(muc, jid, muc_service_find(muc, st->to->domain));
	if (!room ||
	    muc_room_set_affiliation(room, bare, MUC_AFF_OWNER, NULL) < 0) {
		if (room)
			muc_room_destroy(room);
		muc_send_error(muc, st, "resource-constraint", NULL);
		return NULL;
	}
	/* What an earlier room of that name left (its archive) is not
	 * this one's. */
	muc_room_store_forget(muc, jid);
	log_info("muc: %s created %s", bare, jid);
	return room;
}

static const char *password_given(const struct stanza *st)
{
	struct xml_node *x = xml_child(st->xml, NS_MUC, "x");
	struct xml_node *pw = x ? xml_child(x, NS_MUC, "password") : NULL;
	return pw ? xml_text(st->arena, pw) : NULL;
}

/* §7.2.8: the nick is someone else's. The same user's other resource
 * joins the nick's sessions instead. */
static bool nick_taken(const struct occupant *same, const struct stanza *st)
{
	char bare[JID_MAX + 1];
	jid_format_bare(st->from, bare);
	return same && !muc_session_is_of(same, bare);
}

/* The password compared in a time that does not depend on where it
 * first differs: SHA-256 of each, then CRYPTO_memcmp. */
static bool password_matches(const char *given, const char *password)
{
	unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
	if (!given)
		return false;
	SHA256((const unsigned char *)given, strlen(given), a);
	SHA256((const unsigned char *)password, strlen(password), b);
	return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

/* §7.2.5-§7.2.9: false when st may enter (same: the occupant that has
 * the nick, NULL: none), else true: refused, the error sent. */
static bool join_refused(struct muc *muc, struct room *room, struct stanza *st,
			 enum muc_affiliation aff, const struct occupant *same)
{
	const char *condition = NULL, *text = NULL;
	const char *pw = room->config.password;
	if (room->locked && aff != MUC_AFF_OWNER) {
		condition = "item-not-found"; /* §10.1.1 */
		text = "The room is being created; it is locked until its "
		       "owner configures it.";
	} else if (aff == MUC_AFF_OUTCAST) {
		condition = "forbidden"; /* §7.2.7 */
		text = "You are banned from this room.";
	} else if (room->config.members_only && aff < MUC_AFF_MEMBER) {
		condition = "registration-required"; /* §7.2.6 */
		text = "This room is for its members only.";
	} else if (nick_taken(same, st)) {
		condition = "conflict"; /* §7.2.8 */
		text = "That nickname is already in use in the room.";
	} else if (!same && room->noccupants >= room->config.max_users &&
		   aff < MUC_AFF_ADMIN) {
		/* A nick counts once, however many sessions it has. */
		condition = "service-unavailable"; /* §7.2.9 */
		text = "The room is full.";
	} else if (room->config.password_protected && pw &&
		   aff < MUC_AFF_OWNER &&
		   !password_matches(password_given(st), pw)) {
		condition = "not-authorized"; /* §7.2.5 */
		text = "A password is required to enter this room.";
	}
	if (!condition)
		return false;
	muc_send_error(muc, st, condition, text);
	return true;
}

static void occupant_discard(struct occupant *o)
{
	free(o->nick);
	free(o->jid);
	free(o->presence);
	free(o);
}

/* st's sender as an occupant of room, under its nick: a new one
 * (primary NULL) or another session of primary's. */
static struct occupant *occupant_add(struct room *room, struct stanza *st,
				     enum muc_affiliation aff,
				     struct occupant *primary)
{
	struct occupant *o = calloc(1, sizeof *o);
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	if (!o)
		return NULL;
	o->room = room;
	o->local = config_find_host(room->muc->cfg, st->from->domain) != NULL;
	o->role = muc_room_default_role(room, aff);
	if (!(o->nick = strdup(st->to->resource)) || !(o->jid = strdup(from)) ||
	    muc_occupant_id(room->muc, room->jid, from, o->occupant_id) < 0 ||
	    muc_occupant_keep_presence(room->muc, o, st->xml) < 0 ||
	    muc_session_attach(o, primary) < 0) {
		occupant_discard(o);
		return NULL;
	}
	muc_room_add_occupant(room, o);
	return o;
}

/* §7.2.16: the subject, an empty one if none was set. */
static void send_subject(struct muc *muc, const struct occupant *o)
{
	struct room *room = o->room;
	if (room->subject) {
		muc_send_to(muc, o->jid, room->subject, room->subject_len);
		return;
	}
	struct buf *b = &muc->out;
	buf_clear(b);
	if (buf_append_str(b, "<message type=\"groupchat\" from=\"") == 0 &&
	    buf_append_xml_escaped(b, room->jid, strlen(room->jid)) == 0 &&
	    buf_append_str(b, "\"><subject/></message>") == 0)
		muc_send_to(muc, o->jid, b->data, b->len);
}

/* What a newcomer (or one who lost track, §7.2's rejoin) is sent:
 * every other occupant's presence (§7.2.3), its own with codes, the
 * history (§7.2.15) and the subject (§7.2.16). */
static void welcome(struct muc *muc, struct occupant *o, struct stanza *st,
		    bool created)
{
	struct room *room = o->room;
	/* Each nick once, by its primary; o's own nick is o's own
	 * presence, below. */
	for (struct occupant *other = room->occupants; other;
	     other = other->next) {
		if (other->primary || muc_session_same_nick(other, o))
			continue;
		struct muc_presence p = {
			.occupant = other,
			.affiliation = muc_room_affiliation(room, other->jid),
			.role = other->role,
		};
		muc_presence_send(muc, &p, o);
	}
	const char *codes[5];
	size_t n = 0;
	if (room->config.whois == MUC_WHOIS_ANYONE)
		codes[n++] = "100"; /* §7.2.3: non-anonymous */
	if (room->config.logging)
		codes[n++] = "170"; /* §7.2.12: archived */
	if (created)
		codes[n++] = "201"; /* §10.1.1: a new room */
	codes[n] = NULL;
	struct muc_presence self = {
		.occupant = o,
		.affiliation = muc_room_affiliation(room, o->jid),
		.role = o->role,
		.codes = codes,
	};
	muc_presence_send(muc, &self, o);
	muc_history_send(o, xml_child(st->xml, NS_MUC, "x"));
	send_subject(muc, o);
}

void muc_occupant_join(struct muc *muc, struct room *room, struct stanza *st)
{
	bool created = false;
	if (!room) {
		if (!(room = room_create(muc, st)))
			return;
		created = true;
	}
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	enum muc_affiliation aff = muc_room_affiliation(room, from);
	struct occupant *same = muc_room_occupant(room, st->to->resource);
	if (join_refused(muc, room, st, aff, same)) {
		muc_room_release(room);
		return;
	}
	struct occupant *o = occupant_add(room, st, aff, same);
	if (!o) {
		muc_send_error(muc, st, "resource-constraint", NULL);
		muc_room_release(room);
		return;
	}
	/* §7.2.8: another session of a nick already there is no news to
	 * the others. */
	struct muc_presence p = {
		.occupant = o, .affiliation = aff, .role = o->role};
	if (!same)
		muc_presence_to_others(muc, &p);
	welcome(muc, o, st, created);
	log_debug("muc: %s entered %s as %s%s", o->jid, room->jid, o->nick,
		  same ? " (another session)" : "");
}

void muc_occupant_rejoin(struct muc *muc, struct occupant *o, struct stanza *st)
{
	muc_occupant_keep_presence(muc, o, st->xml);
	welcome(muc, o, st, false);
}
