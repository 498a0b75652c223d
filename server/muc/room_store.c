/* room_store: persistent rooms on disk (muc.sqlite, storage.h), so
 * that they survive a restart or a kill -9 of the muc process.
 *
 * A room's data is kept under its bare JID, in four stores:
 * "muc_config" (one item per field of room_config.c's table, keyed by
 * its muc#roomconfig var), "muc_affiliations" (one item per entity,
 * keyed by bare JID: "owner", or "owner\nreason"; a change writes the
 * items of the JIDs it changed, struct room's affiliations_changed),
 * "muc_subject" (the last subject message as broadcast) and
 * "muc_vcard" (XEP-0486: the vCard as set, and its avatar hashes).
 * Each service lists its stored rooms in the store "muc_rooms" kept
 * under the service's name, which is what muc_rooms_load reads at
 * start, before the muc binds its names.
 *
 * Write first, then acknowledge (XEP-0045's iq result, the broadcast,
 * an invitation that made a member: a muc_outbox) from the write's
 * completion: what an owner was told survives kill -9. The archive
 * (muc_archive.c) is in the same database. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../storage/storage.h"
#include "muc.h"

#define STORE_CONFIG "muc_config"
#define STORE_AFFILIATIONS "muc_affiliations"
#define STORE_SUBJECT "muc_subject"
#define STORE_VCARD "muc_vcard"
#define STORE_ROOMS "muc_rooms"
#define KEY_SUBJECT "subject"
#define KEY_VCARD "vcard"
#define KEY_AVATAR "avatar"

/* The service of a room's JID: what follows the '@'. */
static const char *service_of(const char *jid)
{
	const char *at = strchr(jid, '@');
	return at ? at + 1 : jid;
}

/* ------------------------------------------------------------ writing */

static int put_config(struct storage_batch *b, const struct room *r)
{
	char buf[ROOM_FIELD_VALUE_SIZE];
	int rc = storage_batch_delete(b, r->jid, STORE_CONFIG, NULL);
	for (const struct room_config_field *f = room_config_fields;
	     f->var && rc == 0; f++) {
		const char *v = room_config_get(&r->config, f, buf);
		rc = storage_batch_put(b, r->jid, STORE_CONFIG, f->var, v,
				       strlen(v));
	}
	return rc;
}

/* a's item: "owner", or "owner\nreason", under its bare JID. */
static int put_affiliation(struct storage_batch *b, const struct room *r,
			   const struct affiliation *a, struct buf *value)
{
	buf_clear(value);
	if (buf_append_str(value, muc_affiliation_name(a->affiliation)) < 0 ||
	    (a->reason && buf_printf(value, "\n%s", a->reason) < 0))
		return -1;
	return storage_batch_put(b, r->jid, STORE_AFFILIATIONS, a->jid,
				 value->data, value->len);
}

/* The whole list: a room written for the first time. */
static int put_affiliations(struct storage_batch *b, const struct room *r)
{
	struct buf value = BUF_INIT;
	struct hash_link *l, *next;
	int rc = storage_batch_delete(b, r->jid, STORE_AFFILIATIONS, NULL);
	hash_table_for_each(&r->affiliations, l, next)
	{
		if (rc == 0)
			rc = put_affiliation(
				b, r, hash_entry(l, struct affiliation, link),
				&value);
	}
	buf_free(&value);
	return rc;
}

/* The items of the JIDs whose affiliation changed since the last
 * write: written, or deleted when it is none now. The list is not
 * written again for each change (docs/architecture.md, "Rooms": that
 * cost 12 ms of the storage thread for a room of 10,000 members). */
static int put_changed_affiliations(struct storage_batch *b,
				    const struct room *r)
{
	const struct buf *changed = &r->affiliations_changed;
	struct buf value = BUF_INIT;
	int rc = 0;
	for (size_t at = 0; at < changed->len && rc == 0;
	     at += strlen(changed->data + at) + 1) {
		const char *bare = changed->data + at;
		const struct affiliation *a =
			muc_room_affiliation_entry(r, bare);
		rc = a ? put_affiliation(b, r, a, &value)
		       : storage_batch_delete(b, r->jid, STORE_AFFILIATIONS,
					      bare);
	}
	buf_free(&value);
	return rc;
}

static int put_subject(struct storage_batch *b, const struct room *r)
{
	if (!r->subject)
		return storage_batch_delete(b, r->jid, STORE_SUBJECT,
					    KEY_SUBJECT);
	return storage_batch_put(b, r->jid, STORE_SUBJECT, KEY_SUBJECT,
				 r->subject, r->subject_len);
}

/* XEP-0486: the vCard as its owner set it, and its photos' hashes
 * (kept, not computed again from the vCard at each start). */
static int put_vcard(struct storage_batch *b, const struct room *r)
{
	int rc = storage_batch_delete(b, r->jid, STORE_VCARD, NULL);
	if (rc == 0 && r->vcard)
		rc = storage_batch_put(b, r->jid, STORE_VCARD, KEY_VCARD,
				       r->vcard, r->vcard_len);
	if (rc == 0 && r->avatar_hashes)
		rc = storage_batch_put(b, r->jid, STORE_VCARD, KEY_AVATAR,
				       r->avatar_hashes,
				       strlen(r->avatar_hashes));
	return rc;
}

/* parts of r; ROOM_STORE_ALL (a room not stored yet) also puts it in
 * its service's list. */
static int put_room(struct storage_batch *b, const struct room *r,
		    unsigned parts)
{
	bool all = parts == ROOM_STORE_ALL;
	if ((all && storage_batch_put(b, r->service, STORE_ROOMS, r->jid, "",
				      0) < 0) ||
	    ((parts & ROOM_STORE_CONFIG) && put_config(b, r) < 0) ||
	    (all && put_affiliations(b, r) < 0) ||
	    (!all && (parts & ROOM_STORE_AFFILIATIONS) &&
	     put_changed_affiliations(b, r) < 0) ||
	    ((parts & ROOM_STORE_SUBJECT) && put_subject(b, r) < 0) ||
	    ((parts & ROOM_STORE_VCARD) && put_vcard(b, r) < 0))
		return -1;
	return 0;
}

/* The room's stores and its place in its service's list. */
static int delete_room(struct storage_batch *b, const char *jid)
{
	if (storage_batch_delete(b, service_of(jid), STORE_ROOMS, jid) < 0 ||
	    storage_batch_delete(b, jid, STORE_CONFIG, NULL) < 0 ||
	    storage_batch_delete(b, jid, STORE_AFFILIATIONS, NULL) < 0 ||
	    storage_batch_delete(b, jid, STORE_SUBJECT, NULL) < 0 ||
	    storage_batch_delete(b, jid, STORE_VCARD, NULL) < 0)
		return -1;
	return 0;
}

/* A write in flight: the room by its JID (it may go meanwhile). */
struct room_write {
	struct muc *muc;
	char *jid;
	room_stored_cb done;
	void *ctx;
};

static void room_written(void *ctx, enum storage_status status)
{
	struct room_write *w = ctx;
	if (status != STORAGE_OK)
		log_error("muc: %s: a change was not written (see above)",
			  w->jid);
	w->done(w->muc, muc_room_find(w->muc, w->jid), w->ctx,
		status == STORAGE_OK);
	arena_reset(&w->muc->arena);
	free(w->jid);
	free(w);
}

static int room_commit(struct muc *muc, struct storage_batch *b,
		       const char *jid, room_stored_cb done, void *ctx)
{
	struct room_write *w = calloc(1, sizeof *w);
	if (!w || !(w->jid = strdup(jid))) {
		free(w);
		storage_batch_free(b);
		return -1;
	}
	w->muc = muc;
	w->done = done;
	w->ctx = ctx;
	if (storage_batch_commit(b, room_written, w) < 0) {
		free(w->jid);
		free(w);
		return -1;
	}
	return 0;
}

int muc_room_store(struct room *r, unsigned parts, room_stored_cb done,
		   void *ctx)
{
	struct muc *muc = r->muc;
	bool keep = r->config.persistent && !r->locked;
	/* Affiliations changed and not written go with any write. */
	if (r->affiliations_changed.len)
		parts |= ROOM_STORE_AFFILIATIONS;
	if ((!keep && !r->stored) || !muc->storage) {
		buf_free(&r->affiliations_changed);
		done(muc, r, ctx, true);
		return 0;
	}
	struct storage_batch *b = storage_batch_new(muc->storage);
	if (!b)
		return -1;
	/* XEP-0045 §10.2: a room made persistent is written whole. */
	int rc = keep ? put_room(b, r, r->stored ? parts : ROOM_STORE_ALL)
		      : delete_room(b, r->jid);
	if (rc < 0) {
		storage_batch_free(b);
		return -1;
	}
	if (room_commit(muc, b, r->jid, done, ctx) < 0)
		return -1;
	buf_free(&r->affiliations_changed);
	if (r->stored != keep)
		log_info("muc: %s %s", r->jid,
			 keep ? "is persistent: stored"
			      : "is not persistent any more: deleted");
	r->stored = keep;
	return 0;
}

/* ------------------------------------------------------------ outbox */

/* What goes out once a change is stored: made before the write (the
 * stanzas live in the frame's arena), sent from its completion. */
struct outbox_item {
	char *to; /* NULL: every occupant */
	char *bytes;
	size_t len; /* serialized, without 'to' */
};

struct muc_outbox {
	struct muc *muc;
	char *author; /* of the change: gets error if the write fails */
	char *error;
	size_t error_len;
	struct outbox_item *items;
	size_t count, cap;
};

void muc_outbox_free(struct muc_outbox *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->count; i++) {
		free(o->items[i].to);
		free(o->items[i].bytes);
	}
	free(o->items);
	free(o->author);
	free(o->error);
	free(o);
}

static char *copy_bytes(const char *bytes, size_t len)
{
	char *copy = malloc(len);
	if (copy)
		memcpy(copy, bytes, len);
	return copy;
}

/* xml serialized into muc->out without its 'to' (muc_send_to puts it
 * back). */
static int serialize_without_to(struct muc *muc, struct xml_node *xml)
{
	if (!xml || xml_set_attr(&muc->arena, xml, "to", NULL) < 0 ||
	    muc_serialize(muc, xml) < 0)
		return -1;
	return 0;
}

struct muc_outbox *muc_outbox_new(struct muc *muc, const struct stanza *st)
{
	struct muc_outbox *o = calloc(1, sizeof *o);
	const char *author = xml_attr_get(st->xml, "from");
	struct xml_node *e = sm_stanza_error_new(st, "internal-server-error");
	if (!o || !author || !(o->author = strdup(author)) ||
	    serialize_without_to(muc, e) < 0 ||
	    !(o->error = copy_bytes(muc->out.data, muc->out.len))) {
		muc_outbox_free(o);
		return NULL;
	}
	o->error_len = muc->out.len;
	o->muc = muc;
	return o;
}

int muc_outbox_add(struct muc_outbox *o, const char *to, const char *bytes,
		   size_t len)
{
	if (o->count == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 4;
		struct outbox_item *items =
			realloc(o->items, cap * sizeof *items);
		if (!items)
			return -1;
		o->items = items;
		o->cap = cap;
	}
	struct outbox_item *it = &o->items[o->count];
	*it = (struct outbox_item){.len = len};
	if ((to && !(it->to = strdup(to))) ||
	    !(it->bytes = copy_bytes(bytes, len))) {
		free(it->to);
		return -1;
	}
	o->count++;
	return 0;
}

int muc_outbox_add_xml(struct muc_outbox *o, struct xml_node *xml)
{
	const char *to = xml ? xml_attr_get(xml, "to") : NULL;
	char *copy = to ? strdup(to) : NULL;
	struct buf *out = &o->muc->out;
	int rc = copy && serialize_without_to(o->muc, xml) == 0
			 ? muc_outbox_add(o, copy, out->data, out->len)
			 : -1;
	free(copy);
	return rc;
}

static void outbox_send(struct muc *muc, struct room *room, void *ctx, bool ok)
{
	struct muc_outbox *o = ctx;
	if (!ok)
		muc_send_to(muc, o->author, o->error, o->error_len);
	for (size_t i = 0; ok && i < o->count; i++) {
		const struct outbox_item *it = &o->items[i];
		if (it->to)
			muc_send_to(muc, it->to, it->bytes, it->len);
		else if (room)
			muc_room_broadcast(room, it->bytes, it->len);
	}
	muc_outbox_free(o);
}

void muc_room_store_send(struct room *room, unsigned parts,
			 const struct stanza *st, struct muc_outbox *o)
{
	if (!o || muc_room_store(room, parts, outbox_send, o) < 0) {
		muc_outbox_free(o);
		muc_send_error(room->muc, st, "resource-constraint", NULL);
	}
}

void muc_room_store_reply(struct room *room, unsigned parts,
			  const struct stanza *st)
{
	struct muc_outbox *o = muc_outbox_new(room->muc, st);
	if (o && muc_outbox_add_xml(o, sm_stanza_result_new(st)) < 0) {
		muc_outbox_free(o);
		o = NULL;
	}
	muc_room_store_send(room, parts, st, o);
}

void muc_room_store_broadcast(struct room *room, unsigned parts,
			      const struct stanza *st, const char *bytes,
			      size_t len)
{
	struct muc_outbox *o = muc_outbox_new(room->muc, st);
	if (o && muc_outbox_add(o, NULL, bytes, len) < 0) {
		muc_outbox_free(o);
		o = NULL;
	}
	muc_room_store_send(room, parts, st, o);
}

static void forgotten(void *ctx, enum storage_status status)
{
	if (status != STORAGE_OK)
		log_error("muc: a room's data was not deleted (see above)");
}

void muc_room_store_forget(struct muc *muc, const char *jid)
{
	struct storage_batch *b =
		muc->storage ? storage_batch_new(muc->storage) : NULL;
	if (!b)
		return;
	if (delete_room(b, jid) < 0 ||
	    storage_batch_archive_delete(b, jid) < 0) {
		storage_batch_free(b);
		return;
	}
	if (storage_batch_commit(b, forgotten, NULL) < 0)
		log_error("muc: %s: its data was not deleted", jid);
}

/* ------------------------------------------------------------ loading */

/* The reads of muc_rooms_load: the process starts serving when none is
 * left. One load per process, at start. */
static struct {
	struct muc *muc;
	void (*done)(struct muc *, bool ok);
	unsigned pending;
	bool failed;
} loading;

static void load_step_done(bool ok)
{
	if (!ok)
		loading.failed = true;
	if (--loading.pending == 0)
		loading.done(loading.muc, !loading.failed);
}

static void history_loaded(struct muc *muc, bool ok)
{
	load_step_done(ok);
}

static void config_loaded(void *ctx, enum storage_status status,
			  const struct storage_items *items)
{
	struct room *r = ctx;
	for (size_t i = 0; i < items->count; i++) {
		const struct storage_item *it = &items->items[i];
		const struct room_config_field *f =
			room_config_field_find(it->key);
		if (!f || room_config_set(&r->config, f, it->value) < 0)
			log_warn("muc: %s: stored field %s='%s' ignored",
				 r->jid, it->key, (const char *)it->value);
	}
	/* Its history is the end of its archive, read once the
	 * configuration says how much is kept. */
	if (status == STORAGE_OK &&
	    muc_archive_load_history(r, history_loaded) == 0)
		loading.pending++;
	load_step_done(status == STORAGE_OK);
}

static int parse_affiliation(const char *name, size_t len,
			     enum muc_affiliation *out)
{
	for (int a = MUC_AFF_OUTCAST; a <= MUC_AFF_OWNER; a++) {
		const char *n = muc_affiliation_name(a);
		if (strlen(n) == len && memcmp(n, name, len) == 0) {
			*out = a;
			return 0;
		}
	}
	return -1;
}

static void affiliations_loaded(void *ctx, enum storage_status status,
				const struct storage_items *items)
{
	struct room *r = ctx;
	for (size_t i = 0; i < items->count; i++) {
		const char *v = items->items[i].value;
		const char *nl = strchr(v, '\n');
		enum muc_affiliation aff;
		if (parse_affiliation(v, nl ? (size_t)(nl - v) : strlen(v),
				      &aff) < 0 ||
		    muc_room_set_affiliation(r, items->items[i].key, aff,
					     nl ? nl + 1 : NULL) < 0)
			log_warn("muc: %s: stored affiliation of %s ignored",
				 r->jid, items->items[i].key);
	}
	/* As stored: nothing to write again. */
	buf_free(&r->affiliations_changed);
	load_step_done(status == STORAGE_OK);
}

static void subject_loaded(void *ctx, enum storage_status status,
			   const struct storage_items *items)
{
	struct room *r = ctx;
	if (items->count == 1 &&
	    (r->subject = malloc(items->items[0].value_len))) {
		memcpy(r->subject, items->items[0].value,
		       items->items[0].value_len);
		r->subject_len = items->items[0].value_len;
	}
	load_step_done(status == STORAGE_OK);
}

/* Hashes of MUC_AVATAR_HASH_LEN hex digits each, one after the other. */
static bool avatar_hashes_valid(const char *h, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!h[i] || !strchr("0123456789abcdef", h[i]))
			return false;
	return len > 0 && len % MUC_AVATAR_HASH_LEN == 0;
}

static void vcard_loaded(void *ctx, enum storage_status status,
			 const struct storage_items *items)
{
	struct room *r = ctx;
	for (size_t i = 0; i < items->count; i++) {
		const struct storage_item *it = &items->items[i];
		if (strcmp(it->key, KEY_VCARD) == 0 &&
		    (r->vcard = copy_bytes(it->value, it->value_len)))
			r->vcard_len = it->value_len;
		else if (strcmp(it->key, KEY_AVATAR) == 0 &&
			 avatar_hashes_valid(it->value, it->value_len))
			r->avatar_hashes = strndup(it->value, it->value_len);
		else
			log_warn("muc: %s: stored vCard item %s ignored",
				 r->jid, it->key);
	}
	load_step_done(status == STORAGE_OK);
}

static void load_room(struct muc *muc, const char *jid, const char *service)
{
	struct room *r = muc_room_new(muc, jid, service);
	if (!r) {
		loading.failed = true;
		return;
	}
	r->locked = false;
	r->stored = true;
	struct storage *s = muc->storage;
	loading.pending += 4;
	if (storage_load(s, jid, STORE_CONFIG, config_loaded, r) < 0)
		load_step_done(false);
	if (storage_load(s, jid, STORE_AFFILIATIONS, affiliations_loaded, r) <
	    0)
		load_step_done(false);
	if (storage_get(s, jid, STORE_SUBJECT, KEY_SUBJECT, subject_loaded, r) <
	    0)
		load_step_done(false);
	if (storage_load(s, jid, STORE_VCARD, vcard_loaded, r) < 0)
		load_step_done(false);
}

static void index_loaded(void *ctx, enum storage_status status,
			 const struct storage_items *items)
{
	const char *service = ctx;
	for (size_t i = 0; i < items->count; i++)
		load_room(loading.muc, items->items[i].key, service);
	if (items->count)
		log_info("muc: %s: %zu persistent room(s) loaded", service,
			 items->count);
	load_step_done(status == STORAGE_OK);
}

void muc_rooms_load(struct muc *muc, void (*done)(struct muc *, bool ok))
{
	const struct config_muc *m = &muc->cfg->muc;
	loading.muc = muc;
	loading.done = done;
	loading.pending = 1; /* until every service's list is asked for */
	for (size_t i = 0; i < m->nservices; i++) {
		loading.pending++;
		if (storage_load(muc->storage, m->services[i], STORE_ROOMS,
				 index_loaded, m->services[i]) < 0)
			load_step_done(false);
	}
	load_step_done(true);
}
