/* vcard_update: the vCard photo's hash in the user's available presence
 * (XEP-0153 §4.1, as XEP-0398 §4 asks the server to do for clients
 * that do not fetch their own vCard at each login).
 *
 * The hash is known in memory, in a slot of the user, only while the
 * user is: nothing is read at login. The first available presence of
 * a user whose hash is unknown asks the store for it (one small read,
 * storage_get of the key beside the vCard) and goes on without waiting;
 * once the read completes, the presence of each available resource that
 * the hash would have changed is broadcast again, corrected, as the
 * client would after a change (§3.2). From then on every available
 * presence, broadcast or directed (§4: "also … into directed presences
 * such as MUC joins"), is corrected as it passes, without a read. A
 * set writes the new hash beside the vCard and into the slot. Users
 * without a photo cost no allocation (a mark in the slot). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../lib/log.h"
#include "delivery.h"
#include "module.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"
#include "vcard.h"

/* What a slot holds besides a hash (malloc'd, VCARD_HASH_SIZE bytes);
 * NULL: unknown. */
static char loading_mark, no_photo_mark;
#define HASH_LOADING ((void *)&loading_mark)
#define HASH_NONE ((void *)&no_photo_mark)

/* A hash read in flight. */
struct update_load {
	struct sm_vcard_update *update;
	char jid[]; /* the user's, bare */
};

static void hash_free(void *p)
{
	if (p != HASH_LOADING && p != HASH_NONE)
		free(p);
}

/* ------------------------------------------------------------ presence */

/* Whether text, spaces around it aside, is empty or is hash. */
static bool photo_says(const char *text, const char *hash, bool *empty)
{
	while (*text && strchr(" \t\r\n", *text))
		text++;
	size_t len = strlen(text);
	while (len && strchr(" \t\r\n", text[len - 1]))
		len--;
	*empty = len == 0;
	return len == strlen(hash) && strncasecmp(text, hash, len) == 0;
}

int sm_vcard_update_presence(struct arena *a, struct xml_node *p,
			     const char *hash)
{
	struct xml_node *x = xml_child(p, NS_VCARD_UPDATE, "x");
	if (!x) {
		if (!*hash)
			return 0; /* no photo to tell of: no bytes added */
		if (!(x = xml_add_child(a, p, NS_VCARD_UPDATE, "x")))
			return -1;
	}
	struct xml_node *photo = xml_child(x, NS_VCARD_UPDATE, "photo");
	if (photo) {
		/* §4: a presence "that does not contain an empty photo
		 * element" gets the hash: the client's empty <photo/> (no
		 * avatar, XEP-0153 §4.1) stays; a hash that is not ours "MAY
		 * be overwritten": ours is the vCard's truth, while one we
		 * cannot check (no photo stored) stays. */
		const char *text = xml_text(a, photo);
		bool empty = true;
		if (!text || photo_says(text, hash, &empty) || empty || !*hash)
			return 0;
		xml_remove_child(x, photo);
	}
	/* "Empty x elements … MUST be overwritten." */
	photo = xml_add_child(a, x, NS_VCARD_UPDATE, "photo");
	if (!photo ||
	    (*hash && xml_append_text(a, photo, hash, strlen(hash)) < 0))
		return -1;
	return 1;
}

static const char *slot_hash(const void *slot)
{
	return slot == HASH_NONE ? "" : slot;
}

/* ------------------------------------------------------------ the slot */

void sm_vcard_update_set(struct sm_vcard_update *u, struct user *user,
			 const char *hash)
{
	hash_free(user->slots[u->slot]);
	if (!*hash)
		user->slots[u->slot] = HASH_NONE;
	else /* NULL (memory): unknown, asked for again */
		user->slots[u->slot] = strdup(hash);
}

/* Presence p once the photo is gone, for contacts that were told a hash
 * (which sm_vcard_update_presence leaves, having nothing to check it
 * against): an empty <photo/>, XEP-0153 §4.1's "no avatar", over the
 * hash the client gave, unless its own empty <photo/> says so already
 * (XEP-0398 §4). 1 when p changed, 0 when not, -1 (memory). */
static int update_removed(struct arena *a, struct xml_node *p)
{
	struct xml_node *x = xml_child(p, NS_VCARD_UPDATE, "x");
	struct xml_node *photo =
		x ? xml_child(x, NS_VCARD_UPDATE, "photo") : NULL;
	const char *text = photo ? xml_text(a, photo) : NULL;
	bool empty;
	if (text && photo_says(text, "", &empty))
		return 0;
	if (!x && !(x = xml_add_child(a, p, NS_VCARD_UPDATE, "x")))
		return -1;
	if (photo)
		xml_remove_child(x, photo);
	return xml_add_child(a, x, NS_VCARD_UPDATE, "photo") ? 1 : -1;
}

/* The last presence of each available resource of user, broadcast again
 * where the hash changes it (removed: where it must say the photo is
 * gone). */
static void update_resend(struct sm *sm, struct user *user, const char *hash,
			  bool removed)
{
	for (struct session *s = user->sessions; s; s = s->next) {
		if (!sm_session_available(s))
			continue;
		struct xml_node *p =
			xml_parse(&sm->arena, s->presence, strlen(s->presence),
				  XML_NS_CLIENT);
		struct stanza st;
		int rc = !p        ? -1
			 : removed ? update_removed(&sm->arena, p)
				   : sm_vcard_update_presence(&sm->arena, p,
							      hash);
		if (rc == 1 && sm_stanza_init(&st, &sm->arena, p) == 0)
			sm_deliver_stanza(sm, &st, s);
	}
}

void sm_vcard_update_changed(struct sm_vcard_update *u, struct user *user,
			     const char *hash)
{
	const char *old = sm_vcard_update_known(u, user);
	bool removed = !*hash && (!old || *old);
	sm_vcard_update_set(u, user, hash);
	update_resend(u->sm, user, hash, removed);
}

const char *sm_vcard_update_known(const struct sm_vcard_update *u,
				  const struct user *user)
{
	void *slot = user->slots[u->slot];
	return slot && slot != HASH_LOADING ? slot_hash(slot) : NULL;
}

/* A stored hash is 40 hex digits; anything else is none. */
static const char *stored_hash(const struct storage_items *res)
{
	if (res->count != 1 || res->items[0].value_len != VCARD_HASH_SIZE - 1)
		return "";
	const char *v = res->items[0].value;
	return strspn(v, "0123456789abcdef") == VCARD_HASH_SIZE - 1 ? v : "";
}

static void update_loaded(void *ctx, enum storage_status status,
			  const struct storage_items *res)
{
	struct update_load *l = ctx;
	struct sm_vcard_update *u = l->update;
	struct sm *sm = u->sm;
	struct user *user = sm_session_user_find(&sm->sessions, l->jid);
	void **slot = user ? &user->slots[u->slot] : NULL;
	if (slot && *slot == HASH_LOADING && status != STORAGE_OK)
		*slot = NULL; /* the next presence asks again */
	else if (slot && *slot == HASH_LOADING)
		sm_vcard_update_set(u, user, stored_hash(res));
	/* A set that completed meanwhile put its own hash: the presence
	 * sent while it was unknown is corrected all the same. */
	if (slot && *slot && *slot != HASH_LOADING)
		update_resend(sm, user, slot_hash(*slot), false);
	free(l);
	arena_reset(&sm->arena);
}

/* Asks the store for user's hash. */
static void update_load(struct sm_vcard_update *u, struct user *user)
{
	struct storage *storage = sm_storage(u->sm);
	if (!storage) {
		user->slots[u->slot] = HASH_NONE; /* no store, no photo */
		return;
	}
	size_t len = strlen(user->jid) + 1;
	struct update_load *l = malloc(sizeof *l + len);
	if (!l)
		return;
	l->update = u;
	memcpy(l->jid, user->jid, len);
	if (storage_get(storage, user->jid, VCARD_STORE, VCARD_KEY_PHOTO,
			update_loaded, l) < 0) {
		log_warn("vcard: %s: the photo hash could not be asked for",
			 user->jid);
		free(l);
		return;
	}
	user->slots[u->slot] = HASH_LOADING;
}

/* Every available presence from a local session. */
static enum sm_verdict update_out(struct sm_event *ev, void *data)
{
	struct sm_vcard_update *u = data;
	struct stanza *st = ev->st;
	if (st->kind != STANZA_PRESENCE || st->type[0])
		return SM_NEXT;
	struct user *user = ev->session->user;
	void *slot = user->slots[u->slot];
	if (!slot)
		update_load(u, user);
	else if (slot != HASH_LOADING &&
		 sm_vcard_update_presence(st->arena, st->xml, slot_hash(slot)) <
			 0)
		log_warn("vcard: %s: out of memory adding the photo hash",
			 user->jid);
	return SM_NEXT;
}

int sm_vcard_update_init(struct sm *sm, struct sm_vcard_update *u)
{
	u->sm = sm;
	u->slot = sm_session_slot_register(&sm->sessions, hash_free);
	/* After blocking's check (100), which may refuse the stanza. */
	if (u->slot < 0 ||
	    sm_module_hook(sm, SM_EV_STANZA_OUT, NULL, 10, update_out, u) < 0)
		return -1;
	return 0;
}
