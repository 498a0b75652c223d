/* service: the way in. Each stanza frame is parsed once into
 * muc->arena and goes by its 'to': the service itself (disco, XEP-0045
 * §6.1-§6.3) or a room (presence to occupant.c, messages to
 * groupchat.c, iq to the room's handlers by namespace). */
#include <stdio.h>
#include <string.h>

#include "../../lib/log.h"
#include "../archive/archive_query.h"
#include "../sm/vcard.h"
#include "muc.h"

const char *muc_service_find(const struct muc *muc, const char *domain)
{
	const struct config_muc *m = &muc->cfg->muc;
	for (size_t i = 0; i < m->nservices; i++)
		if (strcmp(m->services[i], domain) == 0)
			return m->services[i];
	return NULL;
}

bool muc_is_service_admin(const struct muc *muc, const char *bare)
{
	const struct config_muc *m = &muc->cfg->muc;
	for (size_t i = 0; i < m->nadmins; i++)
		if (strcmp(m->admins[i], bare) == 0)
			return true;
	return false;
}

void muc_send_error(struct muc *muc, const struct stanza *st,
		    const char *condition, const char *text)
{
	struct xml_node *e =
		text ? sm_stanza_error_text_new(st, condition, text)
		     : sm_stanza_error_new(st, condition);
	if (e)
		muc_send_xml(muc, e);
}

int muc_send_result(struct muc *muc, const struct stanza *st,
		    struct xml_node *result)
{
	return muc_send_xml(muc, result ? result : sm_stanza_result_new(st));
}

/* ------------------------------------------------------------ iq */

/* The iq handlers of the service (to = the service) and of the rooms
 * (to = room@service), by the namespace of the iq's child. A room
 * handler gets room NULL when the room does not exist. */
static const struct muc_iq_handler service_iq[] = {
	{NS_DISCO_INFO, muc_service_disco_info},
	{NS_DISCO_ITEMS, muc_service_disco_items},
	{NULL, NULL},
};

static const struct muc_iq_handler room_iq[] = {
	{NS_DISCO_INFO, muc_room_disco_info},
	{NS_DISCO_ITEMS, muc_room_disco_items},
	{NS_MUC_OWNER, muc_room_owner},
	{NS_MUC_ADMIN, muc_room_admin},
	{NS_MAM, muc_mam_query},
	{NS_VCARD, muc_room_vcard},
	{NULL, NULL},
};

static void handle_iq(struct muc *muc, struct room *room, struct stanza *st,
		      const struct muc_iq_handler *table)
{
	bool request =
		sm_stanza_is_type(st, "get") || sm_stanza_is_type(st, "set");
	if (!request)
		return; /* results and errors to the room: nothing waits */
	for (const struct muc_iq_handler *h = table; st->payload && h->ns; h++)
		if (strcmp(st->payload->ns, h->ns) == 0) {
			h->handle(muc, room, st);
			return;
		}
	/* RFC 6120 §8.3.3.19. */
	muc_send_error(muc, st, "service-unavailable", NULL);
}

/* ------------------------------------------------------------ stanzas */

static void handle_stanza(struct muc *muc, struct stanza *st)
{
	if (!st->from || !st->to || !muc_service_find(muc, st->to->domain)) {
		log_debug("muc: a stanza without from, or not for a "
			  "service: dropped");
		return;
	}
	if (!st->to->local[0]) {
		if (st->kind == STANZA_IQ)
			handle_iq(muc, NULL, st, service_iq);
		else if (st->kind == STANZA_MESSAGE)
			muc_send_error(muc, st, "service-unavailable", NULL);
		return;
	}
	char jid[JID_MAX + 1];
	jid_format_bare(st->to, jid);
	struct room *room = muc_room_find(muc, jid);
	switch (st->kind) {
	case STANZA_PRESENCE:
		muc_occupant_presence(muc, room, st);
		return;
	case STANZA_MESSAGE:
		muc_room_message(muc, room, st);
		return;
	case STANZA_IQ:
		if (st->to->resource[0])
			muc_occupant_iq(muc, room, st);
		else
			handle_iq(muc, room, st, room_iq);
		return;
	}
}

/* Every occupant's presence is kept and sent to each newcomer: a big
 * one would cost its size times the occupants, so rooms take presence
 * up to MUC_PRESENCE_MAX bytes (caps, status, an avatar hash and the
 * like take a few hundred). */
static bool presence_too_big(struct muc *muc, const struct stanza *st,
			     size_t len)
{
	if (st->kind != STANZA_PRESENCE || len <= MUC_PRESENCE_MAX ||
	    sm_stanza_is_type(st, "unavailable") ||
	    sm_stanza_is_type(st, "error"))
		return false;
	char text[128];
	snprintf(text, sizeof text,
		 "This presence is %zu bytes; rooms take presence of at most "
		 "%u bytes.",
		 len, MUC_PRESENCE_MAX);
	muc_send_error(muc, st, "not-acceptable", text);
	return true;
}

/* A frame the router could not deliver, whole: nobody serves the
 * domain of its 'to' (no federation, or the s2s process is down). The
 * occupant it was for, in the room of its 'from', is unreachable. */
static void handle_no_route(struct muc *muc, const struct frame *f)
{
	struct xml_node *xml = xml_parse(&muc->arena, f->payload,
					 f->payload_len, XML_NS_CLIENT);
	const char *to = xml ? xml_attr_get(xml, "to") : NULL;
	const char *from = xml ? xml_attr_get(xml, "from") : NULL;
	struct jid room_jid;
	char bare[JID_MAX + 1];
	log_debug("muc: no route to %.*s", (int)f->to_len, f->to);
	if (!to || !from || jid_parse_str(&room_jid, from) < 0)
		return;
	jid_format_bare(&room_jid, bare);
	struct room *room = muc_room_find(muc, bare);
	struct occupant *o = room ? muc_room_occupant_by_jid(room, to) : NULL;
	if (o)
		muc_occupant_unreachable(o, "no route to its server");
}

void muc_handle_frame(struct muc *muc, const struct frame *f)
{
	if (f->type == FRAME_NO_ROUTE) {
		handle_no_route(muc, f);
		return;
	}
	if (f->type != FRAME_STANZA)
		return;
	struct xml_node *xml = xml_parse(&muc->arena, f->payload,
					 f->payload_len, XML_NS_CLIENT);
	struct stanza st;
	if (!xml || sm_stanza_init(&st, &muc->arena, xml) != 0) {
		log_warn("muc: from %.*s: a frame that is not a stanza, or "
			 "with a bad JID: dropped",
			 (int)f->from_len, f->from);
		return;
	}
	if (presence_too_big(muc, &st, f->payload_len))
		return;
	handle_stanza(muc, &st);
}
