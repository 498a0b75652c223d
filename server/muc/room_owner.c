/* room_owner: the owner's requests (XEP-0045 §10, muc#owner): the
 * configuration form (§10.1.3, §10.2; room_config.c builds it,
 * room_config_submit.c applies it), an instant room (§10.1.2, an empty
 * form), cancelling a new room's creation (§10.1.3), and destroying a
 * room (§10.9). */
#include <string.h>

#include "../../lib/log.h"
#include "muc.h"

static bool is_owner(const struct room *room, const struct stanza *st)
{
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	return muc_room_affiliation(room, from) == MUC_AFF_OWNER;
}

/* §10.1.3, §10.2: the form with the room's current values. */
static void owner_get(struct muc *muc, struct room *room, struct stanza *st)
{
	struct xml_node *r = sm_stanza_result_new(st);
	struct xml_node *q =
		r ? xml_add_child(st->arena, r, NS_MUC_OWNER, "query") : NULL;
	if (!q || muc_room_config_form(room, st->arena, q) < 0) {
		muc_send_error(muc, st, "resource-constraint", NULL);
		return;
	}
	muc_send_result(muc, st, r);
}

/* §10.1.3: a cancelled form destroys a room still being created;
 * §10.2: a later one leaves the configuration as it was. */
static void owner_cancel(struct muc *muc, struct room *room, struct stanza *st)
{
	bool created = room->locked;
	muc_send_result(muc, st, NULL);
	if (created)
		muc_room_destroy(room);
}

/* §10.9's <destroy/> as the occupants get it, inside their <x/>: the
 * alternate venue, its password and the reason. */
static int destroy_notice(struct stanza *st, const struct xml_node *destroy,
			  struct buf *out)
{
	struct xml_node *d = xml_node_new(st->arena, NS_MUC_USER, "destroy");
	const char *venue = xml_attr_get(destroy, "jid");
	if (!d || (venue && xml_set_attr(st->arena, d, "jid", venue) < 0))
		return -1;
	static const char *const children[] = {"reason", "password"};
	for (size_t i = 0; i < 2; i++) {
		struct xml_node *c =
			xml_child(destroy, NS_MUC_OWNER, children[i]);
		const char *text = c ? xml_text(st->arena, c) : NULL;
		if (text && !xml_add_text_child(st->arena, d, NS_MUC_USER,
						children[i], text))
			return -1;
	}
	return xml_serialize(d, NS_MUC_USER, out);
}

/* §10.9: each occupant gets one unavailable presence, its own, with
 * the <destroy/>; nobody gets the others' leaving. */
static void owner_destroy(struct muc *muc, struct room *room, struct stanza *st,
			  const struct xml_node *destroy)
{
	const char *venue = xml_attr_get(destroy, "jid");
	struct jid j;
	struct buf notice = BUF_INIT;
	if (venue && jid_parse_str(&j, venue) < 0) {
		muc_send_error(muc, st, "jid-malformed",
			       "The alternate venue is not a JID.");
		return;
	}
	if (destroy_notice(st, destroy, &notice) < 0) {
		buf_free(&notice);
		muc_send_error(muc, st, "resource-constraint", NULL);
		return;
	}
	while (room->occupants) {
		struct occupant *o = room->occupants;
		struct muc_presence p = {
			.occupant = o,
			.affiliation = MUC_AFF_NONE,
			.role = MUC_ROLE_NONE,
			.unavailable = true,
			.extra = notice.data,
		};
		muc_presence_send(muc, &p, o);
		muc_occupant_free(o);
	}
	buf_free(&notice);
	muc_send_result(muc, st, NULL);
	log_info("muc: %s destroyed by its owner", room->jid);
	muc_room_destroy(room);
}

static void owner_set(struct muc *muc, struct room *room, struct stanza *st)
{
	struct xml_node *x = xml_child(st->payload, NS_XDATA, "x");
	struct xml_node *destroy =
		xml_child(st->payload, NS_MUC_OWNER, "destroy");
	const char *type = x ? xml_attr_get(x, "type") : NULL;
	if (destroy)
		owner_destroy(muc, room, st, destroy);
	else if (type && strcmp(type, "submit") == 0)
		muc_room_config_submit(muc, room, st, x);
	else if (type && strcmp(type, "cancel") == 0)
		owner_cancel(muc, room, st);
	else
		muc_send_error(muc, st, "bad-request",
			       "A muc#owner set carries a submitted or "
			       "cancelled form, or a destroy.");
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
	if (sm_stanza_is_type(st, "get"))
		owner_get(muc, room, st);
	else
		owner_set(muc, room, st);
}
