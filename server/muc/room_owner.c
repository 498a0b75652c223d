/* room_owner: the owner's requests (XEP-0045 §10, muc#owner): the
 * configuration form's submission (§10.2, its fields room_config.c's),
 * an instant room (§10.1.2), cancelling a new room's creation
 * (§10.1.3). */
#include <string.h>

#include "../../lib/log.h"
#include "muc.h"

static bool is_owner(const struct room *room, const struct stanza *st)
{
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	return muc_room_affiliation(room, from) == MUC_AFF_OWNER;
}

/* §10.1.2: an empty submitted form accepts the defaults; §10.2: a
 * form's fields change them. Either unlocks the room. */
static void owner_submit(struct muc *muc, struct room *room, struct stanza *st,
			 struct xml_node *x)
{
	const char *cond = room_config_submit(room, x, st->arena);
	if (cond) {
		muc_send_error(muc, st, cond, NULL);
		return;
	}
	if (room->locked)
		log_info("muc: %s unlocked", room->jid);
	room->locked = false;
	/* Answered once a persistent room is stored (room_store.c). */
	muc_room_store_reply(room, ROOM_STORE_CONFIG, st);
}

/* §10.1.3: a cancelled form destroys a room still being created. */
static void owner_cancel(struct muc *muc, struct room *room, struct stanza *st)
{
	bool created = room->locked;
	muc_send_result(muc, st, NULL);
	if (created)
		muc_room_destroy(room);
}

void muc_room_owner(struct muc *muc, struct room *room, struct stanza *st)
{
	if (!room) {
		muc_send_error(muc, st, "item-not-found", NULL);
		return;
	}
	if (!is_owner(room, st)) {
		muc_send_error(muc, st, "forbidden",
			       "Only the room's owners may do this.");
		return;
	}
	struct xml_node *x = xml_child(st->payload, NS_XDATA, "x");
	const char *type = x ? xml_attr_get(x, "type") : NULL;
	if (sm_stanza_is_type(st, "set") && type && strcmp(type, "submit") == 0)
		owner_submit(muc, room, st, x);
	else if (sm_stanza_is_type(st, "set") && type &&
		 strcmp(type, "cancel") == 0)
		owner_cancel(muc, room, st);
	else
		muc_send_error(muc, st, "feature-not-implemented", NULL);
}
