/* mam: the message archive (XEP-0313), its archiving side. Every
 * one-to-one message worth keeping is stored in the archive of each
 * local party (the recipient's: received; the sender's: sent) with a
 * XEP-0359 stanza id, which the recipient's copy carries on delivery.
 *
 * The hooks run at MAM_PRIORITY on SM_EV_STANZA_OUT and SM_EV_STANZA_IN:
 * below blocking.c (100), so that a message it stops is not archived,
 * above carbons (50), so that copies carry the stanza id. A sent
 * message gets the sender's <stanza-id/> at once, for the carbons of
 * the sender's other clients; for a local recipient the sender's copy
 * is archived on the way in (past the recipient's block list: a
 * message refused is not kept), for a remote one at once; then the
 * sender's id leaves the stanza (MAM_PRIORITY_STRIP, after carbons, as
 * ejabberd does): it names an entry of the sender's archive, the
 * recipient has no use for it.
 *
 * Delivery never waits for the archive: the appends of a turn of the
 * loop go in one batch, committed at its check phase (the storage's
 * group commit then makes one transaction of many batches). The
 * archive is not acknowledged to anyone: a message delivered just
 * before a kill -9 may be missing from it, none is after a clean stop. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/log.h"
#include "../../storage/storage.h"
#include "delivery.h"
#include "mam.h"
#include "module.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

#define MAM_PRIORITY 75
#define MAM_PRIORITY_STRIP 10
/* A batch is committed at the latest at this many messages. */
#define MAM_BATCH_MAX 256

extern const struct sm_module sm_module_mam;

struct mam *mam_of(struct sm *sm)
{
	return sm_module_data(sm, &sm_module_mam);
}

/* ------------------------------------------------------------ replies */

int mam_reply_init(struct mam_reply *r, const struct sm_event *ev)
{
	const struct session *s = ev->session;
	*r = (struct mam_reply){.serial = s->serial};
	if ((r->user = strdup(s->user->jid)) &&
	    (r->resource = strdup(s->resource)) &&
	    (r->id = strdup(ev->st->id ? ev->st->id : "")))
		return 0;
	mam_reply_free(r);
	return -1;
}

void mam_reply_free(struct mam_reply *r)
{
	free(r->user);
	free(r->resource);
	free(r->id);
}

struct session *mam_reply_session(struct sm *sm, const struct mam_reply *r)
{
	struct user *u = sm_session_user_find(&sm->sessions, r->user);
	struct session *s = u ? sm_session_find(u, r->resource) : NULL;
	return s && s->serial == r->serial ? s : NULL;
}

struct xml_node *mam_reply_iq(struct sm *sm, struct session *s,
			      const struct mam_reply *r, const char *type)
{
	struct xml_node *iq = xml_node_new(&sm->arena, XML_NS_CLIENT, "iq");
	if (!iq || xml_set_attr(&sm->arena, iq, "type", type) < 0 ||
	    xml_set_attr(&sm->arena, iq, "id", r->id) < 0 ||
	    xml_set_attr(&sm->arena, iq, "from", r->user) < 0 ||
	    xml_set_attr(&sm->arena, iq, "to", s->jid) < 0)
		return NULL;
	return iq;
}

void mam_reply_error(struct sm *sm, struct session *s,
		     const struct mam_reply *r, const char *condition)
{
	struct xml_node *iq = mam_reply_iq(sm, s, r, "error");
	struct xml_node *e =
		iq ? xml_add_child(&sm->arena, iq, XML_NS_CLIENT, "error")
		   : NULL;
	if (e &&
	    xml_set_attr(&sm->arena, e, "type",
			 sm_stanza_error_type(condition)) == 0 &&
	    xml_add_child(&sm->arena, e, NS_STANZAS, condition))
		sm_send_stanza(sm, s, iq);
}

void mam_deliver_error(struct sm *sm, const struct stanza *st,
		       const char *condition, const char *text)
{
	struct xml_node *e = sm_stanza_error_new(st, condition);
	struct xml_node *err = e ? xml_child(e, XML_NS_CLIENT, "error") : NULL;
	struct xml_node *t =
		err && text ? xml_add_child(st->arena, err, NS_STANZAS, "text")
			    : NULL;
	if (!err || (text && (!t || xml_append_text(st->arena, t, text,
						    strlen(text)) < 0)))
		return;
	sm_deliver_xml(sm, e);
}

/* ------------------------------------------------------------ policy */

/* XEP-0313 §5.1.1 leaves what a user archive keeps to the server; as
 * Prosody and ejabberd: one-to-one messages (chat, normal; not
 * groupchat, headline, error) worth keeping (mam_worth_keeping). */
static bool mam_archivable(const struct stanza *st)
{
	if (st->kind != STANZA_MESSAGE || sm_stanza_is_type(st, "groupchat") ||
	    sm_stanza_is_type(st, "headline") || sm_stanza_is_type(st, "error"))
		return false;
	return mam_worth_keeping(st->xml);
}

/* ------------------------------------------------------------ stanza ids */

/* A new id of bare's archive (storage_archive_reserve: the message's
 * place in it) on st; NULL without a storage (unit tests). */
static const char *mam_add_id(struct mam *mod, struct stanza *st,
			      const char *bare)
{
	struct storage *s = sm_storage(mod->sm);
	char *id = s ? arena_alloc(st->arena, STORAGE_ARCHIVE_ID_SIZE) : NULL;
	if (!id || storage_archive_reserve(s, id) < 0 ||
	    mam_stanza_id_add(st->arena, st->xml, bare, id) < 0)
		return NULL;
	return id;
}

/* ------------------------------------------------------------ appends */

static void mam_flushed(void *ctx, enum storage_status status)
{
	if (status != STORAGE_OK)
		log_error("mam: archived messages were lost (see above)");
}

static void mam_flush(struct mam *mod)
{
	struct storage_batch *b = mod->batch;
	mod->batch = NULL;
	mod->batch_count = 0;
	if (mod->handles)
		uv_check_stop(&mod->flush);
	if (b && storage_batch_commit(b, mam_flushed, NULL) < 0)
		log_error("mam: the storage refused archived messages");
}

static void mam_on_check(uv_check_t *h)
{
	mam_flush(h->data);
}

/* The loop's handles, made once the sm has a loop (after init). */
static bool mam_start(struct mam *mod)
{
	uv_loop_t *loop = mod->sm->loop;
	if (mod->handles || !loop)
		return mod->handles;
	uv_check_init(loop, &mod->flush);
	archive_expiry_start(&mod->expiry, loop, sm_storage(mod->sm),
			     mod->retention_us, "mam");
	mod->flush.data = mod->expiry.timer.data = mod;
	mod->handles = true;
	return true;
}

/* Appends the message in mod->out to owner's archive, with the JID
 * with. */
static void mam_append(struct mam *mod, const char *owner,
		       const struct jid *with, const char *id)
{
	struct storage *s = sm_storage(mod->sm);
	char bare[JID_MAX + 1];
	if (!s || !mam_start(mod))
		return; /* unit tests without a storage */
	if (!mod->batch && !(mod->batch = storage_batch_new(s))) {
		log_error("mam: out of memory: a message not archived");
		return;
	}
	jid_format_bare(with, bare);
	if (storage_batch_archive(mod->batch, owner, bare, with->resource,
				  archive_now_us(), id, mod->out.data,
				  mod->out.len) < 0) {
		log_error("mam: out of memory: messages not archived");
		storage_batch_free(mod->batch);
		mod->batch = NULL;
		mod->batch_count = 0;
		return;
	}
	if (++mod->batch_count == 1)
		uv_check_start(&mod->flush, mam_on_check);
	if (mod->batch_count >= MAM_BATCH_MAX)
		mam_flush(mod);
}

/* The message as archived: without our stanza ids, with the client's
 * namespace declared (it is spliced into <forwarded/> as it is). */
static int mam_serialize(struct mam *mod, const struct stanza *st)
{
	buf_clear(&mod->out);
	return xml_serialize(st->xml, NS_FORWARD, &mod->out);
}

/* ------------------------------------------------------------ hooks */

/* A message from a local session: the sender's id, for its carbons;
 * archived now when it leaves for another domain. */
static enum sm_verdict mam_out(struct sm_event *ev, void *data)
{
	struct mam *mod = data;
	struct stanza *st = ev->st;
	if (st->kind != STANZA_MESSAGE || !ev->session)
		return SM_NEXT;
	struct user *u = ev->session->user;
	mam_take_ids(st->xml, u->jid);
	/* To its own account: archived once, on the way in. */
	if (!st->to || !st->to->local[0] || !st->from ||
	    jid_equal_bare(st->from, st->to) || !mam_archivable(st))
		return SM_NEXT;
	if (!mam_prefs_archives(mod, u, st->to))
		return SM_NEXT;
	bool remote = !sm_serves(ev->sm, st->to->domain);
	if (remote && mam_serialize(mod, st) < 0)
		return SM_NEXT;
	const char *id = mam_add_id(mod, st, u->jid);
	if (id && remote)
		mam_append(mod, u->jid, st->to, id);
	return SM_NEXT;
}

/* After carbons: the sender's id does not travel to another domain. */
static enum sm_verdict mam_out_strip(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	if (st->kind == STANZA_MESSAGE && ev->session && st->to &&
	    !sm_serves(ev->sm, st->to->domain))
		mam_take_ids(st->xml, ev->session->user->jid);
	return SM_NEXT;
}

/* A message for a local user, past its block list: the recipient's
 * archive, and the sender's when it is local. */
static enum sm_verdict mam_in(struct sm_event *ev, void *data)
{
	struct mam *mod = data;
	struct stanza *st = ev->st;
	struct user *to = st->to_user;
	if (st->kind != STANZA_MESSAGE || !to)
		return SM_NEXT;
	mam_take_ids(st->xml, to->jid);
	struct user *from = ev->session ? ev->session->user : NULL;
	const char *sent =
		from && from != to ? mam_take_ids(st->xml, from->jid) : NULL;
	bool received = st->from && mam_archivable(st) &&
			mam_prefs_archives(mod, to, st->from);
	if ((!sent && !received) || mam_serialize(mod, st) < 0)
		return SM_NEXT;
	if (sent)
		mam_append(mod, from->jid, st->to, sent);
	const char *id = received ? mam_add_id(mod, st, to->jid) : NULL;
	if (id)
		mam_append(mod, to->jid, st->from, id);
	return SM_NEXT;
}

/* The loop's handles start with the first session (the sm has no loop
 * at init): retention runs from then on, messages or not. */
static enum sm_verdict mam_session_started(struct sm_event *ev, void *data)
{
	mam_start(data);
	return SM_NEXT;
}

/* ------------------------------------------------------------ module */

static int mam_init(struct sm *sm)
{
	struct mam *mod = calloc(1, sizeof *mod);
	if (!mod)
		return -1;
	mod->sm = sm;
	sm_module_set_data(sm, &sm_module_mam, mod);
	mod->retention_us =
		(int64_t)sm_module_option_integer(sm->cfg, &sm_module_mam,
						  "mam-retention-days") *
		86400 * 1000000;
	if (sm_module_hook(sm, SM_EV_STANZA_OUT, NULL, MAM_PRIORITY, mam_out,
			   mod) < 0 ||
	    sm_module_hook(sm, SM_EV_STANZA_OUT, NULL, MAM_PRIORITY_STRIP,
			   mam_out_strip, mod) < 0 ||
	    sm_module_hook(sm, SM_EV_STANZA_IN, NULL, MAM_PRIORITY, mam_in,
			   mod) < 0 ||
	    sm_module_hook(sm, SM_EV_SESSION_STARTED, NULL, 0,
			   mam_session_started, mod) < 0 ||
	    mam_prefs_init(mod) < 0 || mam_query_init(mod) < 0)
		return -1; /* mod lives on: hooks may point at it */
	return 0;
}

static void mam_free_now(struct mam *mod)
{
	buf_free(&mod->out);
	free(mod);
}

static void mam_on_closed(uv_handle_t *h)
{
	struct mam *mod = h->data;
	if (--mod->closing == 0)
		mam_free_now(mod);
}

/* At sm_free the storage is closed: a batch still open is lost (the
 * check phase commits it within the loop turn that made it, so only
 * an sm that stops without running its loop has one). The handles
 * close on the loop sm_main runs once more. */
static void mam_free(struct sm *sm)
{
	struct mam *mod = mam_of(sm);
	if (!mod)
		return;
	sm_module_set_data(sm, &sm_module_mam, NULL);
	storage_batch_free(mod->batch);
	if (!mod->handles) {
		mam_free_now(mod);
		return;
	}
	mod->closing = 2;
	uv_close((uv_handle_t *)&mod->flush, mam_on_closed);
	uv_close((uv_handle_t *)&mod->expiry.timer, mam_on_closed);
}

/* <sm><mam-retention-days>: archived messages older than this are
 * deleted; 0 keeps them (docs/configuration.md). */
static const struct sm_option mam_options[] = {{.name = "mam-retention-days",
						.type = SM_OPTION_INTEGER,
						.min = 0,
						.max = 36500,
						.def = 0},
					       {0}};

const struct sm_module sm_module_mam = {
	.name = "mam",
	.on_by_default = true,
	/* XEP-0359 §6 on the host; XEP-0313 §6.1 on the account. */
	.features = (const char *const[]){NS_SID, NULL},
	.account_features =
		(const char *const[]){NS_MAM, NS_MAM_EXTENDED, NULL},
	.options = mam_options,
	.init = mam_init,
	.free = mam_free,
};
