/* disco: what the service and its rooms say of themselves (XEP-0045
 * §6: discovering the service §6.1, its rooms §6.3, a room's
 * information §6.4 and items §6.5), through XEP-0030. */
#include <stdio.h>
#include <string.h>

#include "../archive/archive_query.h"
#include "../sm/vcard.h"
#include "muc.h"

/* XEP-0410 §3.3: the room answers a self-ping itself. */
#define NS_SELF_PING "http://jabber.org/protocol/muc#self-ping-optimization"

static struct xml_node *query_result(const struct stanza *st, const char *ns,
				     struct xml_node **query)
{
	struct xml_node *r = sm_stanza_result_new(st);
	*query = r ? xml_add_child(st->arena, r, ns, "query") : NULL;
	return *query ? r : NULL;
}

static void add_identity(struct arena *a, struct xml_node *q, const char *name)
{
	struct xml_node *id = xml_add_child(a, q, NS_DISCO_INFO, "identity");
	if (!id)
		return;
	xml_set_attr(a, id, "category", "conference");
	xml_set_attr(a, id, "type", "text");
	xml_set_attr(a, id, "name", name);
}

static void add_feature(struct arena *a, struct xml_node *q, const char *var)
{
	struct xml_node *f = xml_add_child(a, q, NS_DISCO_INFO, "feature");
	if (f)
		xml_set_attr(a, f, "var", var);
}

/* A node (XEP-0030 §3.2) the service or a room does not have. */
static bool refuse_node(struct muc *muc, struct stanza *st)
{
	if (!xml_attr_get(st->payload, "node"))
		return false;
	muc_send_error(muc, st, "item-not-found", NULL);
	return true;
}

/* §6.1: a conference service. */
void muc_service_disco_info(struct muc *muc, struct room *room,
			    struct stanza *st)
{
	struct xml_node *q, *r = query_result(st, NS_DISCO_INFO, &q);
	if (refuse_node(muc, st) || !r)
		return;
	add_identity(st->arena, q, "Chatrooms");
	add_feature(st->arena, q, NS_DISCO_INFO);
	add_feature(st->arena, q, NS_DISCO_ITEMS);
	add_feature(st->arena, q, NS_MUC);
	/* XEP-0421 §5: every room has occupant ids; XEP-0486 §3.1. */
	add_feature(st->arena, q, NS_OCCUPANT_ID);
	add_feature(st->arena, q, NS_VCARD);
	muc_send_result(muc, st, r);
}

/* §6.3: the public rooms of the service, those a newcomer could enter
 * (not locked, not hidden). */
void muc_service_disco_items(struct muc *muc, struct room *room,
			     struct stanza *st)
{
	struct xml_node *q, *r = query_result(st, NS_DISCO_ITEMS, &q);
	if (refuse_node(muc, st) || !r)
		return;
	struct hash_link *l, *next;
	hash_table_for_each(&muc->rooms, l, next)
	{
		struct room *each = hash_entry(l, struct room, link);
		if (each->locked || !each->config.public ||
		    strcmp(each->service, st->to->domain) != 0)
			continue;
		struct xml_node *item =
			xml_add_child(st->arena, q, NS_DISCO_ITEMS, "item");
		if (!item)
			break;
		xml_set_attr(st->arena, item, "jid", each->jid);
		if (each->config.name && *each->config.name)
			xml_set_attr(st->arena, item, "name",
				     each->config.name);
	}
	muc_send_result(muc, st, r);
}

/* §6.4: the room's features, one of each pair, as its configuration
 * says. */
static void add_room_features(struct arena *a, struct xml_node *q,
			      const struct room *room)
{
	const struct room_config *c = &room->config;
	add_feature(a, q, NS_MUC);
	add_feature(a, q, NS_SID); /* XEP-0359 §6: its messages' ids */
	add_feature(a, q, c->public ? "muc_public" : "muc_hidden");
	add_feature(a, q, c->persistent ? "muc_persistent" : "muc_temporary");
	add_feature(a, q, c->members_only ? "muc_membersonly" : "muc_open");
	add_feature(a, q, c->moderated ? "muc_moderated" : "muc_unmoderated");
	add_feature(a, q,
		    c->whois == MUC_WHOIS_ANYONE ? "muc_nonanonymous"
						 : "muc_semianonymous");
	add_feature(a, q,
		    c->password_protected ? "muc_passwordprotected"
					  : "muc_unsecured");
	if (c->logging) /* XEP-0313 §6.1.2: its archive may be queried */
		add_feature(a, q, NS_MAM);
	add_feature(a, q, NS_OCCUPANT_ID);
	add_feature(a, q, NS_SELF_PING);
	add_feature(a, q, NS_VCARD);
}

/* The text of the room's subject, from the message kept (NULL: none). */
static const char *subject_text(const struct room *room, struct arena *a)
{
	struct xml_node *m =
		room->subject ? xml_parse(a, room->subject, room->subject_len,
					  XML_NS_CLIENT)
			      : NULL;
	struct xml_node *s = m ? xml_child(m, XML_NS_CLIENT, "subject") : NULL;
	return s ? xml_text(a, s) : NULL;
}

/* §15.5.4 muc#roominfo_contactjid, "normally, room owner or owners":
 * their bare JIDs, in a non-anonymous room only, where every occupant
 * sees real JIDs anyway. */
static void add_contacts(const struct room *room, struct arena *a,
			 struct xml_node *x)
{
	struct xml_node *f = NULL;
	struct hash_link *l, *next;
	if (room->config.whois != MUC_WHOIS_ANYONE)
		return;
	hash_table_for_each(&room->affiliations, l, next)
	{
		struct affiliation *aff =
			hash_entry(l, struct affiliation, link);
		if (aff->affiliation != MUC_AFF_OWNER)
			continue;
		if (!f && !(f = muc_form_add(a, x, "muc#roominfo_contactjid",
					     "jid-multi", NULL, NULL)))
			return;
		xml_add_text_child(a, f, NS_XDATA, "value", aff->jid);
	}
}

/* XEP-0486 §3.3: the hash of each photo, when there is one. */
static void add_avatar(const struct room *room, struct arena *a,
		       struct xml_node *x)
{
	char hash[MUC_AVATAR_HASH_LEN + 1];
	const char *h = room->avatar_hashes;
	struct xml_node *f = h ? muc_form_add(a, x, "muc#roominfo_avatarhash",
					      "text-multi", NULL, NULL)
			       : NULL;
	for (; f && *h; h += MUC_AVATAR_HASH_LEN) {
		memcpy(hash, h, MUC_AVATAR_HASH_LEN);
		hash[MUC_AVATAR_HASH_LEN] = '\0';
		xml_add_text_child(a, f, NS_XDATA, "value", hash);
	}
}

/* §15.5.4: the muc#roominfo form, extended service discovery
 * (XEP-0128): what is cheap to say (no language, logs or pubsub node,
 * which rooms do not have). */
static void room_info_form(const struct room *room, struct arena *a,
			   struct xml_node *q)
{
	const struct room_config *c = &room->config;
	struct xml_node *x = xml_add_child(a, q, NS_XDATA, "x");
	const char *subject = subject_text(room, a);
	char occupants[16], history[16];
	if (!x || xml_set_attr(a, x, "type", "result") < 0)
		return;
	snprintf(occupants, sizeof occupants, "%u", room->noccupants);
	snprintf(history, sizeof history, "%u", c->history);
	muc_form_add(a, x, "FORM_TYPE", "hidden", NULL,
		     "http://jabber.org/protocol/muc#roominfo");
	muc_form_add(a, x, "muc#roominfo_description", NULL, NULL,
		     c->description ? c->description : "");
	muc_form_add(a, x, "muc#roominfo_occupants", NULL, NULL, occupants);
	muc_form_add(a, x, "muc#roominfo_subject", NULL, NULL,
		     subject ? subject : "");
	muc_form_add(a, x, "muc#roominfo_subjectmod", "boolean", NULL,
		     c->change_subject ? "1" : "0");
	muc_form_add(a, x, "muc#maxhistoryfetch", NULL, NULL, history);
	muc_form_add(a, x, "muc#roomconfig_roomname", NULL, NULL,
		     c->name ? c->name : "");
	muc_form_add(a, x, "muc#roomconfig_changesubject", "boolean", NULL,
		     c->change_subject ? "1" : "0");
	add_contacts(room, a, x);
	add_avatar(room, a, x);
}

void muc_room_disco_info(struct muc *muc, struct room *room, struct stanza *st)
{
	/* A hidden members-only room is, to outsiders, no room at all. */
	if (!room || room->locked || !muc_room_visible_to(room, st)) {
		muc_send_error(muc, st, "item-not-found", NULL);
		return;
	}
	if (refuse_node(muc, st))
		return;
	struct xml_node *q, *r = query_result(st, NS_DISCO_INFO, &q);
	if (!r)
		return;
	add_identity(st->arena, q,
		     room->config.name && *room->config.name ? room->config.name
							     : st->to->local);
	add_room_features(st->arena, q, room);
	room_info_form(room, st->arena, q);
	muc_send_result(muc, st, r);
}

/* §6.5: the occupants are not listed to those outside the room. */
void muc_room_disco_items(struct muc *muc, struct room *room, struct stanza *st)
{
	struct xml_node *q, *r = query_result(st, NS_DISCO_ITEMS, &q);
	if (!room) {
		muc_send_error(muc, st, "item-not-found", NULL);
		return;
	}
	if (r)
		muc_send_result(muc, st, r);
}
