/* room_vcard: a room's vCard (XEP-0054 vcard-temp on the room's JID)
 * and its avatar (XEP-0486). Its owners set it; whoever may see the
 * room reads it. The SHA-1 of each PHOTO (XEP-0153 §4.1) is the
 * room's avatar hash, in its disco#info (muc#roominfo_avatarhash, in
 * disco.c); when it changes, the occupants are told (XEP-0486 §3.2:
 * status 104; and the presence from the room's bare JID some clients
 * look for, §5.2). */
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../sm/vcard.h"
#include "muc.h"

/* XEP-0486 §4 asks nothing of the size; this holds a photo of about
 * 90 KB (120 KB once in base64), as the accounts' default
 * (sm/vcard-max-bytes). */
#define MUC_VCARD_MAX (128u << 10)

static void vcard_get(struct muc *muc, struct room *room, struct stanza *st)
{
	struct xml_node *r = sm_stanza_result_new(st), *vc = NULL;
	if (room->vcard)
		vc = xml_parse(st->arena, room->vcard, room->vcard_len,
			       XML_NS_CLIENT);
	else
		vc = xml_node_new(st->arena, NS_VCARD, "vCard");
	if (!r || !vc) {
		muc_send_error(muc, st, "resource-constraint", NULL);
		return;
	}
	xml_append_child(r, vc);
	muc_send_result(muc, st, r);
}

/* The SHA-1 of each PHOTO of vc, one after the other (XEP-0486 §5.1:
 * several photos are the same image in several types, and the room
 * advertises the hash of each), into b. -1: a BINVAL is not base64. */
static int photo_hashes(struct arena *a, const struct xml_node *vc,
			struct buf *b)
{
	buf_clear(b);
	for (struct xml_node *p = xml_child(vc, NS_VCARD, "PHOTO"); p;
	     p = xml_next(p, NS_VCARD, "PHOTO")) {
		struct xml_node *bin = xml_child(p, NS_VCARD, "BINVAL");
		const char *text = bin ? xml_text(a, bin) : NULL;
		unsigned char *image;
		char hex[VCARD_HASH_SIZE];
		long n = text ? sm_vcard_base64_decode(a, text, &image) : 0;
		if (n < 0 ||
		    (n > 0 && sm_vcard_sha1_hex(image, (size_t)n, hex) < 0))
			return -1;
		if (n > 0 && buf_append(b, hex, MUC_AVATAR_HASH_LEN) < 0)
			return -1;
	}
	return 0;
}

/* Keeps the serialized vCard (NULL, none: removed) and its hashes. */
static int vcard_keep(struct room *room, const struct buf *vc,
		      const struct buf *hashes)
{
	char *copy = vc ? malloc(vc->len) : NULL;
	char *h = hashes->len ? strndup(hashes->data, hashes->len) : NULL;
	if ((vc && !copy) || (hashes->len && !h)) {
		free(copy);
		free(h);
		return -1;
	}
	if (copy)
		memcpy(copy, vc->data, vc->len);
	free(room->vcard);
	free(room->avatar_hashes);
	room->vcard = copy;
	room->vcard_len = vc ? vc->len : 0;
	room->avatar_hashes = h;
	return 0;
}

/* XEP-0486 §3.2 and §5.2: status 104 ("the room configuration
 * changed"), then the presence from the room's bare JID with the
 * first of the new hashes (an empty <photo/>: no avatar, XEP-0153
 * §3.2), for every occupant. -1: out of memory. */
static int avatar_notify(struct muc *muc, const struct room *room,
			 const struct buf *hashes, struct muc_outbox *o)
{
	struct buf *b = &muc->with_jid;
	buf_clear(b);
	if (buf_append_str(b, "<message type=\"groupchat\" from=\"") < 0 ||
	    buf_append_xml_escaped(b, room->jid, strlen(room->jid)) < 0 ||
	    buf_append_str(b, "\"><x xmlns=\"" NS_MUC_USER "\"><status "
			      "code=\"104\"/></x></message>") < 0 ||
	    muc_outbox_add(o, NULL, b->data, b->len) < 0)
		return -1;
	buf_clear(b);
	if (buf_append_str(b, "<presence from=\"") < 0 ||
	    buf_append_xml_escaped(b, room->jid, strlen(room->jid)) < 0 ||
	    buf_append_str(b, "\"><x xmlns=\"" NS_VCARD_UPDATE "\"><photo>") <
		    0 ||
	    (hashes->len &&
	     buf_append(b, hashes->data, MUC_AVATAR_HASH_LEN) < 0) ||
	    buf_append_str(b, "</photo></x></presence>") < 0)
		return -1;
	return muc_outbox_add(o, NULL, b->data, b->len);
}

static bool hashes_equal(const char *kept, const struct buf *hashes)
{
	size_t len = kept ? strlen(kept) : 0;
	return len == hashes->len && memcmp(kept, hashes->data, len) == 0;
}

/* Keeps the vCard vc (NULL: removed), then answers the owner and tells
 * the occupants once it is stored (room_store.c). */
static void vcard_store(struct muc *muc, struct room *room, struct stanza *st,
			const struct buf *vc, const struct buf *hashes)
{
	bool changed = !hashes_equal(room->avatar_hashes, hashes);
	struct muc_outbox *o = muc_outbox_new(muc, st);
	if (!o || muc_outbox_add_xml(o, sm_stanza_result_new(st)) < 0 ||
	    (changed && avatar_notify(muc, room, hashes, o) < 0) ||
	    vcard_keep(room, vc, hashes) < 0) {
		muc_outbox_free(o);
		muc_send_error(muc, st, "resource-constraint", NULL);
		return;
	}
	muc_room_store_send(room, ROOM_STORE_VCARD, st, o);
}

static void vcard_set(struct muc *muc, struct room *room, struct stanza *st)
{
	struct buf vc = {0}, hashes = {0};
	bool empty = !xml_child(st->payload, NULL, NULL);
	if (xml_serialize(st->payload, XML_NS_CLIENT, &vc) < 0)
		muc_send_error(muc, st, "resource-constraint", NULL);
	else if (vc.len > MUC_VCARD_MAX)
		/* RFC 6120 §8.3.3.12, as the accounts' vCards. */
		muc_send_error(muc, st, "not-acceptable",
			       "A room's vCard is 128 KiB at most (try a "
			       "smaller photo).");
	else if (photo_hashes(st->arena, st->payload, &hashes) < 0)
		muc_send_error(muc, st, "bad-request",
			       "PHOTO/BINVAL is not base64 (RFC 4648).");
	else
		vcard_store(muc, room, st, empty ? NULL : &vc, &hashes);
	buf_free(&vc);
	buf_free(&hashes);
}

void muc_room_vcard(struct muc *muc, struct room *room, struct stanza *st)
{
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	if (!room || (room->locked && !sm_stanza_is_type(st, "set"))) {
		muc_send_error(muc, st, "item-not-found",
			       "There is no such room.");
	} else if (sm_stanza_is_type(st, "get")) {
		if (muc_room_visible_to(room, st))
			vcard_get(muc, room, st);
		else
			muc_send_error(muc, st, "forbidden",
				       "This room shows itself to its members "
				       "only.");
	} else if (muc_room_affiliation(room, from) != MUC_AFF_OWNER) {
		/* XEP-0486 §3.2, §7. */
		muc_send_error(muc, st, "forbidden",
			       "Only the room's owners may change its vCard.");
	} else {
		vcard_set(muc, room, st);
	}
}
