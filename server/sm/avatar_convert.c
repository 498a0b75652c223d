/* avatar_convert: XEP-0398 User Avatar to vCard-Based Avatars
 * Conversion, both ways, on by default (with the pep and vcard modules;
 * without either it does nothing).
 *
 * PEP to vCard (§3.1): once a user's publish to urn:xmpp:avatar:metadata
 * is durable (pep_listen), its <info/> without a url (image/png first)
 * names an item of urn:xmpp:avatar:data; that image, if its SHA-1 is
 * the id, becomes the PHOTO of the user's vCard (sm_vcard_photo_put),
 * and the hash in the user's presence follows (§4). Metadata without
 * <info/> (XEP-0084 §4.6: avatar publishing disabled) removes the PHOTO.
 *
 * vCard to PEP (§3.2): once a vCard the user set is durable
 * (sm_vcard_listen), its PHOTO goes to the data node (item id: its
 * SHA-1), then its <info/> to the metadata node, which notifies the
 * contacts; a vCard without PHOTO publishes an empty <metadata/>.
 *
 * No loop: a side is written only when it differs from the other (the
 * vCard's photo hash against the metadata's info id), and the vCard is
 * written by sm_vcard_photo_put, which the vCard listener does not
 * hear. What cannot be converted (over the other side's size limit,
 * data missing or not matching its id) is logged with the reason. Each
 * conversion holds its image until it is written; nothing stays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../lib/base64.h"
#include "../../lib/buf.h"
#include "../../lib/log.h"
#include "avatar.h"
#include "module.h"
#include "pep.h"
#include "sm.h"
#include "vcard.h"

extern const struct sm_module sm_module_avatar_convert;

/* One conversion on its way. */
struct convert {
	char *owner;
	char hash[VCARD_HASH_SIZE]; /* "": the avatar's removal */
	char *type;
	char *binval; /* the image in base64, without line breaks */
	size_t bytes;
	unsigned width, height;
};

static void convert_free(struct convert *c)
{
	free(c->owner);
	free(c->type);
	free(c->binval);
	free(c);
}

static struct convert *convert_new(const char *owner, const char *hash)
{
	struct convert *c = calloc(1, sizeof *c);
	if (!c || !(c->owner = strdup(owner))) {
		free(c);
		return NULL;
	}
	snprintf(c->hash, sizeof c->hash, "%s", hash);
	return c;
}

/* c->binval from the image. 0 or -1. */
static int convert_keep_image(struct convert *c, const unsigned char *image,
			      size_t len)
{
	struct buf b64 = BUF_INIT;
	int rc = base64_encode(&b64, image, len) == 0 &&
				 (c->binval = strndup(b64.data, b64.len))
			 ? 0
			 : -1;
	buf_free(&b64);
	c->bytes = len;
	return rc;
}

static const char *pep_error_text(const struct pep_error *err)
{
	return err->text ? err->text : err->condition;
}

/* ------------------------------------------------------------ PEP to vCard */

static void to_vcard_done(struct sm *sm, void *ctx, const char *error)
{
	struct convert *c = ctx;
	(void)sm;
	if (error)
		log_warn("avatar_convert: %s: the PEP avatar %s was not "
			 "copied into the vCard: %s",
			 c->owner, c->hash[0] ? c->hash : "(removal)", error);
	convert_free(c);
}

/* Hands c to the vCard. */
static void to_vcard_put(struct sm *sm, struct convert *c)
{
	if (sm_vcard_photo_put(sm, c->owner, c->type, c->binval, c->hash,
			       to_vcard_done, c) < 0)
		to_vcard_done(sm, c,
			      "out of memory, or the vcard module is off");
}

/* The image of the data node's item (items: the one of id c->hash) into
 * c, checked against its id (§3.1: "SHOULD verify that the SHA-1 hash
 * of the image matches the id"). NULL, or why not. */
static const char *to_vcard_image(struct sm *sm, struct convert *c,
				  const struct storage_items *items)
{
	if (items->count != 1)
		return "the data node has no item of that id";
	struct xml_node *item = xml_parse(&sm->arena, items->items[0].value,
					  items->items[0].value_len, NS_PUBSUB);
	struct xml_node *data =
		item ? xml_child(item, NS_AVATAR_DATA, "data") : NULL;
	const char *text = data ? xml_text(&sm->arena, data) : NULL;
	unsigned char *image = NULL;
	long n = text ? sm_vcard_base64_decode(&sm->arena, text, &image) : -1;
	char hex[VCARD_HASH_SIZE];
	if (n <= 0)
		return "its <data/> is not an image in base64";
	if (sm_vcard_sha1_hex(image, (size_t)n, hex) < 0 ||
	    strcmp(hex, c->hash) != 0)
		return "the SHA-1 of its data is not its id";
	if (convert_keep_image(c, image, (size_t)n) < 0)
		return "out of memory";
	return NULL;
}

static void to_vcard_data(struct sm *sm, void *ctx, const struct pep_error *err,
			  const struct storage_items *items)
{
	struct convert *c = ctx;
	const char *why =
		err ? pep_error_text(err) : to_vcard_image(sm, c, items);
	if (why)
		to_vcard_done(sm, c, why);
	else
		to_vcard_put(sm, c);
}

/* The <info/> of metadata to convert: not at a url (§3.1: "MUST pick
 * the info element that does not point to an exernal URL"), the
 * image/png one if there are several (XEP-0084 §4.2.1: the one every
 * client reads). NULL: none. */
static const struct xml_node *to_vcard_info(const struct xml_node *metadata)
{
	const struct xml_node *pick = NULL;
	for (const struct xml_node *i =
		     xml_child(metadata, NS_AVATAR_METADATA, "info");
	     i; i = xml_next(i, NS_AVATAR_METADATA, "info")) {
		const char *type = xml_attr_get(i, "type");
		if (xml_attr_get(i, "url") || !type || !xml_attr_get(i, "id"))
			continue;
		if (!pick || strcmp(type, "image/png") == 0)
			pick = i;
	}
	return pick;
}

/* id in lowercase into hash, if it is a SHA-1 in hex. 0 or -1. */
static int to_vcard_hash(const char *id, char hash[VCARD_HASH_SIZE])
{
	if (strlen(id) != VCARD_HASH_SIZE - 1 ||
	    strspn(id, "0123456789abcdefABCDEF") != VCARD_HASH_SIZE - 1)
		return -1;
	for (size_t i = 0; i < VCARD_HASH_SIZE; i++)
		hash[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] + 32
							      : id[i]);
	return 0;
}

/* pep_listen: a metadata item the owner published is durable. */
static void to_vcard_heard(struct sm *sm, const char *owner, const char *node,
			   const char *id, const struct xml_node *item,
			   void *data)
{
	(void)node, (void)id, (void)data;
	const struct xml_node *metadata =
		item ? xml_child(item, NS_AVATAR_METADATA, "metadata") : NULL;
	if (!metadata)
		return; /* a retraction, or not an avatar's */
	const struct xml_node *info = to_vcard_info(metadata);
	char hash[VCARD_HASH_SIZE] = "";
	if (info && to_vcard_hash(xml_attr_get(info, "id"), hash) < 0) {
		log_warn("avatar_convert: %s: the avatar's id is not a SHA-1; "
			 "not copied into the vCard",
			 owner);
		return;
	}
	if (!info && xml_child(metadata, NS_AVATAR_METADATA, "info"))
		return; /* only at URLs: the vCard keeps what it has */
	const char *known = sm_vcard_photo_known(sm, owner);
	if (known && strcmp(known, hash) == 0)
		return; /* the vCard has it: what it just gave us, say */
	struct convert *c = convert_new(owner, hash);
	if (!c || (info && !(c->type = strdup(xml_attr_get(info, "type"))))) {
		if (c)
			convert_free(c);
		log_warn("avatar_convert: %s: out of memory", owner);
	} else if (!info) {
		to_vcard_put(sm, c);
	} else if (pep_items(sm, owner, NS_AVATAR_DATA, hash, 1, to_vcard_data,
			     c) < 0) {
		to_vcard_done(sm, c, "out of memory");
	}
}

/* ------------------------------------------------------------ vCard to PEP */

/* Ends c: why (NULL: done) it was not published. */
static void to_pep_end(struct convert *c, const char *why)
{
	if (why)
		log_warn("avatar_convert: %s: the vCard photo %s was not "
			 "published as a PEP avatar: %s",
			 c->owner, c->hash[0] ? c->hash : "(removal)", why);
	convert_free(c);
}

static void to_pep_done(struct sm *sm, void *ctx, const struct pep_error *err)
{
	(void)sm;
	to_pep_end(ctx, err ? pep_error_text(err) : NULL);
}

/* <item id='id'/> in the pubsub namespace (id NULL: pep makes one). */
static struct xml_node *to_pep_item(struct sm *sm, const char *id)
{
	struct xml_node *item = xml_node_new(&sm->arena, NS_PUBSUB, "item");
	if (item && id && xml_set_attr(&sm->arena, item, "id", id) < 0)
		return NULL;
	return item;
}

/* XEP-0084 §4.2: the <info/> of the image (bytes, id, type REQUIRED;
 * width and height RECOMMENDED, given when known). */
static int to_pep_info(struct sm *sm, struct xml_node *metadata,
		       const struct convert *c)
{
	struct arena *a = &sm->arena;
	struct xml_node *info =
		xml_add_child(a, metadata, NS_AVATAR_METADATA, "info");
	char n[24];
	if (!info)
		return -1;
	snprintf(n, sizeof n, "%zu", c->bytes);
	int rc = xml_set_attr(a, info, "bytes", n) |
		 xml_set_attr(a, info, "id", c->hash) |
		 xml_set_attr(a, info, "type", c->type);
	if (c->width && c->height) {
		snprintf(n, sizeof n, "%u", c->width);
		rc |= xml_set_attr(a, info, "width", n);
		snprintf(n, sizeof n, "%u", c->height);
		rc |= xml_set_attr(a, info, "height", n);
	}
	return rc < 0 ? -1 : 0;
}

/* §3.2: "Afterwards the service MUST publish a new item to the
 * 'urn:xmpp:avatar:metadata' node with one info element"; XEP-0084
 * §4.6: an empty <metadata/> when the photo is gone. */
static void to_pep_metadata(struct sm *sm, struct convert *c)
{
	struct xml_node *item = to_pep_item(sm, c->hash[0] ? c->hash : NULL);
	struct xml_node *metadata =
		item ? xml_add_child(&sm->arena, item, NS_AVATAR_METADATA,
				     "metadata")
		     : NULL;
	if (!metadata || (c->hash[0] && to_pep_info(sm, metadata, c) < 0) ||
	    pep_publish(sm, c->owner, NS_AVATAR_METADATA, item, NULL,
			to_pep_done, c) < 0)
		to_pep_end(c, "out of memory");
}

static void to_pep_data_done(struct sm *sm, void *ctx,
			     const struct pep_error *err)
{
	if (err)
		to_pep_done(sm, ctx, err);
	else
		to_pep_metadata(sm, ctx);
}

/* §3.2: "a service MUST first publish an item to the
 * 'urn:xmpp:avatar:data' node … The id of that item MUST be the SHA-1
 * hash of the image". Its size is checked against pep-max-item-bytes
 * by pep_publish. */
static void to_pep_data(struct sm *sm, struct convert *c)
{
	struct xml_node *item = to_pep_item(sm, c->hash);
	struct xml_node *data =
		item ? xml_add_text_child(&sm->arena, item, NS_AVATAR_DATA,
					  "data", c->binval)
		     : NULL;
	if (!data || pep_publish(sm, c->owner, NS_AVATAR_DATA, item, NULL,
				 to_pep_data_done, c) < 0)
		to_pep_end(c, "out of memory");
}

/* Whether the newest metadata item already says hash: has an <info/> of
 * that id, or ("" for hash) has none, or there is no metadata at all. */
static bool to_pep_said(struct sm *sm, const struct storage_items *items,
			const char *hash)
{
	if (!items || !items->count)
		return !hash[0];
	const struct storage_item *last = &items->items[items->count - 1];
	struct xml_node *item =
		xml_parse(&sm->arena, last->value, last->value_len, NS_PUBSUB);
	struct xml_node *md =
		item ? xml_child(item, NS_AVATAR_METADATA, "metadata") : NULL;
	struct xml_node *info =
		md ? xml_child(md, NS_AVATAR_METADATA, "info") : NULL;
	if (!hash[0])
		return !info;
	for (; info; info = xml_next(info, NS_AVATAR_METADATA, "info")) {
		const char *id = xml_attr_get(info, "id");
		if (id && strcasecmp(id, hash) == 0)
			return true;
	}
	return false;
}

/* The metadata as it is: converted only if it differs. */
static void to_pep_current(struct sm *sm, void *ctx,
			   const struct pep_error *err,
			   const struct storage_items *items)
{
	struct convert *c = ctx;
	/* item-not-found: no metadata node yet. */
	if (err && strcmp(err->condition, "item-not-found") != 0)
		to_pep_done(sm, c, err);
	else if (to_pep_said(sm, err ? NULL : items, c->hash))
		convert_free(c);
	else if (c->hash[0])
		to_pep_data(sm, c);
	else
		to_pep_metadata(sm, c);
}

/* c's image from vc's PHOTO: its bytes, size and type (the vCard's TYPE,
 * §3.2: "using the type value from the vCard", else the one its bytes
 * tell). NULL, or why not. */
static const char *to_pep_image(struct sm *sm, struct convert *c,
				const struct xml_node *vc)
{
	const struct xml_node *photo = xml_child(vc, NS_VCARD, "PHOTO");
	const struct xml_node *bin =
		photo ? xml_child(photo, NS_VCARD, "BINVAL") : NULL;
	const struct xml_node *type =
		photo ? xml_child(photo, NS_VCARD, "TYPE") : NULL;
	const char *text = bin ? xml_text(&sm->arena, bin) : NULL;
	const char *given = type ? xml_text(&sm->arena, type) : NULL;
	unsigned char *image = NULL;
	long n = text ? sm_vcard_base64_decode(&sm->arena, text, &image) : -1;
	struct avatar_image probe;
	if (n <= 0)
		return "its PHOTO has no BINVAL";
	avatar_image_probe(image, (size_t)n, &probe);
	if (given)
		given += strspn(given, " \t\r\n");
	if (!given || !*given)
		given = probe.type;
	if (!given)
		return "its PHOTO has no TYPE, and its image is not PNG, "
		       "JPEG, GIF or WebP";
	c->width = probe.width;
	c->height = probe.height;
	if (!(c->type = strndup(given, strcspn(given, " \t\r\n"))) ||
	    convert_keep_image(c, image, (size_t)n) < 0)
		return "out of memory";
	return NULL;
}

/* sm_vcard_listen: a vCard the user set is durable. */
static void to_pep_heard(struct sm *sm, const char *user,
			 const struct xml_node *vc, const char *hash,
			 void *data)
{
	(void)data;
	struct convert *c = convert_new(user, hash);
	const char *why = c && hash[0] ? to_pep_image(sm, c, vc) : NULL;
	if (!c)
		log_warn("avatar_convert: %s: out of memory", user);
	else if (why)
		to_pep_end(c, why);
	else if (pep_items(sm, user, NS_AVATAR_METADATA, NULL, 1,
			   to_pep_current, c) < 0)
		to_pep_end(c, "out of memory");
}

/* ------------------------------------------------------------ module */

static int avatar_convert_started(struct sm *sm)
{
	/* Without pep or vcard there is nothing to convert. */
	if (!sm_module_is_on(sm->cfg, "pep") ||
	    !sm_module_is_on(sm->cfg, "vcard")) {
		log_warn("avatar_convert: the pep and vcard modules must both "
			 "be on; no conversion");
		return 0;
	}
	if (pep_listen(sm, NS_AVATAR_METADATA, to_vcard_heard, NULL) < 0 ||
	    sm_vcard_listen(sm, to_pep_heard, NULL) < 0)
		return -1;
	return 0;
}

const struct sm_module sm_module_avatar_convert = {
	.name = "avatar_convert",
	.on_by_default = true,
	/* XEP-0398 §2: "The service MUST include a … feature of
	 * "urn:xmpp:pep-vcard-conversion:0" on the account." */
	.account_features =
		(const char *const[]){NS_PEP_VCARD_CONVERSION, NULL},
	.started = avatar_convert_started,
};
