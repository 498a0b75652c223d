/* muc_archive: what the rooms archive (XEP-0313 §5 on the room's JID,
 * in muc.sqlite under the room's bare JID): every groupchat message a
 * room broadcasts gets the room's XEP-0359 stanza-id, and those worth
 * keeping (server/archive/'s mam_worth_keeping) are archived while the
 * room's muc#roomconfig_enablelogging is on (XEP-0045 status 170).
 * Messages older than <muc><archive-retention-days> go; at start a
 * persistent room's discussion history (history.c) is read back from
 * the end of its archive.
 *
 * The broadcast does not wait for the archive (the storage commits the
 * appends of many messages together): a message broadcast just before
 * a kill -9 may be missing from it, none is after a clean stop. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../storage/storage.h"
#include "muc.h"
#include "muc_archive.h"

/* ------------------------------------------------------------ archiving */

static void archived(void *ctx, enum storage_status status)
{
	if (status != STORAGE_OK)
		log_error("muc: archived messages were lost (see above)");
}

/* The message as archived: without the room's stanza id, with the
 * client's namespace declared (it is spliced into <forwarded/> as it
 * is). */
static int archive_append(struct room *room, const struct occupant *o,
			  const struct stanza *st, const char *id)
{
	struct muc_archive *arch = room->muc->archive;
	struct storage_batch *b = storage_batch_new(room->muc->storage);
	buf_clear(&arch->out);
	if (!b || xml_serialize(st->xml, NS_FORWARD, &arch->out) < 0 ||
	    storage_batch_archive(b, room->jid, room->jid, o->nick,
				  archive_now_us(), id, arch->out.data,
				  arch->out.len) < 0) {
		storage_batch_free(b);
		return -1;
	}
	return storage_batch_commit(b, archived, NULL);
}

int muc_archive_message(struct room *room, const struct occupant *o,
			struct stanza *st)
{
	struct muc *muc = room->muc;
	char *id = arena_alloc(st->arena, STORAGE_ARCHIVE_ID_SIZE);
	mam_take_ids(st->xml, room->jid);
	if (!muc->storage)
		return 0; /* unit tests */
	if (!id || storage_archive_reserve(muc->storage, id) < 0)
		return -1;
	if (room->config.logging && mam_worth_keeping(st->xml) &&
	    archive_append(room, o, st, id) < 0)
		log_error("muc: %s: a message not archived", room->jid);
	return mam_stanza_id_add(st->arena, st->xml, room->jid, id);
}

/* ------------------------------------------------------------ history */

/* The reading of a room's history from its archive, newest page
 * first, page by page until the room's history is full. */
struct history_load {
	struct room *room;
	void (*done)(struct muc *, bool ok);
	char before[STORAGE_ARCHIVE_ID_SIZE]; /* the oldest read so far */
};

static int history_query(struct history_load *h);

/* The archived message as the room broadcast it: with its stanza id. */
static void history_add(struct room *room,
			const struct storage_archive_item *it)
{
	struct muc *muc = room->muc;
	struct xml_node *m = xml_parse(&muc->arena, it->message,
				       it->message_len, XML_NS_CLIENT);
	if (!m || mam_stanza_id_add(&muc->arena, m, room->jid, it->id) < 0 ||
	    muc_serialize(muc, m) < 0 ||
	    muc_history_add_older(room, muc->out.data, muc->out.len,
				  (time_t)(it->stamp / 1000000)) < 0)
		log_debug("muc: %s: archived message %s left out of the "
			  "history",
			  room->jid, it->id);
	arena_reset(&muc->arena);
}

static void history_page(void *ctx, enum storage_status status,
			 const struct storage_archive_page *page)
{
	struct history_load *h = ctx;
	struct room *room = h->room;
	for (size_t i = page->count; i-- > 0;)
		history_add(room, &page->items[i]);
	bool more = status == STORAGE_OK && !page->complete &&
		    page->count > 0 &&
		    room->history_count < room->config.history;
	if (more) {
		memcpy(h->before, page->items[0].id, STORAGE_ARCHIVE_ID_SIZE);
		if (history_query(h) == 0)
			return;
		status = STORAGE_ERROR;
	}
	h->done(room->muc, status == STORAGE_OK);
	free(h);
}

static int history_query(struct history_load *h)
{
	struct room *room = h->room;
	unsigned want = room->config.history - room->history_count;
	struct storage_archive_query q = {
		.user = room->jid,
		.start = INT64_MIN,
		.end = INT64_MAX,
		.before = {h->before[0] ? h->before : NULL, NULL},
		.max = want < STORAGE_ARCHIVE_PAGE_MAX
			       ? want
			       : STORAGE_ARCHIVE_PAGE_MAX,
		.backward = true,
	};
	return storage_archive_query(room->muc->storage, &q, history_page, h);
}

int muc_archive_load_history(struct room *room,
			     void (*done)(struct muc *, bool ok))
{
	if (!room->config.logging || room->config.history == 0)
		return -1; /* nothing archived, or nothing kept */
	struct history_load *h = calloc(1, sizeof *h);
	if (!h)
		return -1;
	h->room = room;
	h->done = done;
	if (history_query(h) < 0) {
		log_error("muc: %s: its history could not be read", room->jid);
		free(h);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ start, stop */

int muc_archive_start(struct muc *muc)
{
	struct muc_archive *arch = calloc(1, sizeof *arch);
	if (!arch)
		return -1;
	arch->muc = muc;
	archive_expiry_start(
		&arch->expiry, muc->loop, muc->storage,
		(int64_t)muc->cfg->muc.retention_days * 86400 * 1000000, "muc");
	arch->expiry.timer.data = arch;
	muc->archive = arch;
	return 0;
}

static void archive_closed(uv_handle_t *h)
{
	struct muc_archive *arch = h->data;
	buf_free(&arch->out);
	free(arch);
}

void muc_archive_stop(struct muc *muc)
{
	struct muc_archive *arch = muc->archive;
	if (!arch)
		return;
	muc->archive = NULL;
	uv_close((uv_handle_t *)&arch->expiry.timer, archive_closed);
}
