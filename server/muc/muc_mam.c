/* muc_mam: a room's archive queries (XEP-0313 §4 on the room's JID,
 * §6.1.2 "MUC archives"), with the form, #extended's fields and the
 * XEP-0059 paging of a user's archive: server/archive/ reads the query
 * and builds the answer's pieces, as for the sm's mam_query.c.
 *
 * Who may ask: the room's occupants, and its members (and admins,
 * owners) whether present or not; in a members-only room that is its
 * members alone. Anyone else is forbidden, as Prosody's muc_mam does.
 *
 * The query runs on the storage thread; its completion sends each
 * result message from the room to the full JID that asked, then the
 * iq result with <fin/>. At most MUC_MAM_QUERIES_PER_JID queries of
 * one JID and MUC_MAM_QUERIES_MAX in all are in flight: past them,
 * resource-constraint (type wait). */
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "muc.h"
#include "muc_archive.h"

#define MUC_MAM_QUERIES_PER_JID 4
#define MUC_MAM_QUERIES_MAX 256

/* A query waiting for its page: what its answer needs. */
struct muc_mam_query {
	struct muc_mam_query *prev, *next;
	struct muc_archive *arch;
	char *room;    /* the room's JID: the answers' from */
	char *to;      /* the full JID that asked */
	char *id;      /* the iq's id */
	char *queryid; /* NULL: none */
	bool flip, none;
};

static void query_free(struct muc_mam_query *mq)
{
	struct muc_archive *arch = mq->arch;
	if (mq->prev)
		mq->prev->next = mq->next;
	else
		arch->queries = mq->next;
	if (mq->next)
		mq->next->prev = mq->prev;
	arch->nqueries--;
	free(mq->room);
	free(mq->to);
	free(mq->id);
	free(mq->queryid);
	free(mq);
}

/* <iq type='…' id='…' from='room' to='…'/>, in the muc's arena. */
static struct xml_node *query_iq(struct muc *muc, struct muc_mam_query *mq,
				 const char *type)
{
	struct arena *a = &muc->arena;
	struct xml_node *iq = xml_node_new(a, XML_NS_CLIENT, "iq");
	if (!iq || xml_set_attr(a, iq, "type", type) < 0 ||
	    xml_set_attr(a, iq, "id", mq->id) < 0 ||
	    xml_set_attr(a, iq, "from", mq->room) < 0 ||
	    xml_set_attr(a, iq, "to", mq->to) < 0)
		return NULL;
	return iq;
}

static void query_error(struct muc *muc, struct muc_mam_query *mq,
			const char *condition)
{
	struct arena *a = &muc->arena;
	struct xml_node *iq = query_iq(muc, mq, "error");
	struct xml_node *e =
		iq ? xml_add_child(a, iq, XML_NS_CLIENT, "error") : NULL;
	if (e &&
	    xml_set_attr(a, e, "type", sm_stanza_error_type(condition)) == 0 &&
	    xml_add_child(a, e, NS_STANZAS, condition))
		muc_send_xml(muc, iq);
}

static void query_send_page(struct muc *muc, struct muc_mam_query *mq,
			    const struct storage_archive_page *page,
			    size_t shown)
{
	struct buf *out = &mq->arch->out;
	for (size_t i = 0; i < shown; i++) {
		const struct storage_archive_item *it =
			mam_page_item(page, shown, i, mq->flip);
		if (mam_result_bytes(out, mq->room, NULL, mq->queryid, it) <
		    0) {
			query_error(muc, mq, "internal-server-error");
			return;
		}
		muc_send_to(muc, mq->to, out->data, out->len);
	}
	struct xml_node *iq = query_iq(muc, mq, "result");
	struct xml_node *fin = iq ? mam_fin(&muc->arena, page, shown) : NULL;
	if (!fin)
		return;
	xml_append_child(iq, fin);
	muc_send_xml(muc, iq);
}

static void query_done(void *ctx, enum storage_status status,
		       const struct storage_archive_page *page)
{
	struct muc_mam_query *mq = ctx;
	struct muc *muc = mq->arch->muc;
	const char *cond = mam_status_condition(status);
	if (cond)
		query_error(muc, mq, cond);
	else
		query_send_page(muc, mq, page, mq->none ? 0 : page->count);
	query_free(mq);
	arena_reset(&muc->arena);
}

/* ------------------------------------------------------------ the iq */

static size_t queries_of(const struct muc_archive *arch, const char *jid)
{
	size_t n = 0;
	for (const struct muc_mam_query *mq = arch->queries; mq; mq = mq->next)
		n += strcmp(mq->to, jid) == 0;
	return n;
}

static struct muc_mam_query *query_new(struct muc_archive *arch,
				       const struct room *room,
				       const struct stanza *st,
				       const struct mam_request *r)
{
	struct muc_mam_query *mq = calloc(1, sizeof *mq);
	char to[JID_MAX + 1];
	jid_format(st->from, to);
	if (!mq || !(mq->room = strdup(room->jid)) || !(mq->to = strdup(to)) ||
	    !(mq->id = strdup(st->id ? st->id : "")) ||
	    (r->queryid && !(mq->queryid = strdup(r->queryid)))) {
		if (mq) {
			free(mq->room);
			free(mq->to);
			free(mq->id);
		}
		free(mq);
		return NULL;
	}
	mq->arch = arch;
	mq->flip = r->flip;
	mq->none = r->none;
	mq->next = arch->queries;
	if (arch->queries)
		arch->queries->prev = mq;
	arch->queries = mq;
	arch->nqueries++;
	return mq;
}

static void query_start(struct muc *muc, struct room *room, struct stanza *st)
{
	struct muc_archive *arch = muc->archive;
	struct mam_request r;
	char from[JID_MAX + 1];
	const char *cond = mam_request_read(st->arena, st->payload, &r);
	if (cond) {
		muc_send_error(muc, st, cond,
			       strcmp(cond, "policy-violation") == 0
				       ? MAM_MAX_TEXT
				       : NULL);
		return;
	}
	jid_format(st->from, from);
	if (arch->nqueries >= MUC_MAM_QUERIES_MAX ||
	    queries_of(arch, from) >= MUC_MAM_QUERIES_PER_JID) {
		muc_send_error(muc, st, "resource-constraint",
			       "Too many archive queries at once.");
		return;
	}
	struct muc_mam_query *mq = query_new(arch, room, st, &r);
	if (!mq) {
		muc_send_error(muc, st, "internal-server-error", NULL);
		return;
	}
	r.q.user = room->jid;
	if (storage_archive_query(muc->storage, &r.q, query_done, mq) < 0) {
		query_free(mq);
		muc_send_error(muc, st, "resource-constraint", NULL);
	}
}

/* The room's occupants and members (§6.1.2: "a MUC service MAY
 * restrict archive access"): see the comment at the top. */
static bool may_query(const struct room *room, const struct stanza *st)
{
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	enum muc_affiliation aff = muc_room_affiliation(room, from);
	if (aff == MUC_AFF_OUTCAST)
		return false;
	if (aff >= MUC_AFF_MEMBER)
		return true;
	return !room->config.members_only &&
	       muc_room_occupant_by_jid(room, from) != NULL;
}

void muc_mam_query(struct muc *muc, struct room *room, struct stanza *st)
{
	if (!xml_is(st->payload, NS_MAM, "query")) {
		/* §7's preferences are a user's, not a room's. */
		muc_send_error(muc, st, "feature-not-implemented", NULL);
		return;
	}
	if (!room || room->locked) {
		muc_send_error(muc, st, "item-not-found", NULL);
		return;
	}
	if (!may_query(room, st)) {
		muc_send_error(muc, st, "forbidden",
			       "Only the room's occupants and members may "
			       "read its archive.");
		return;
	}
	if (sm_stanza_is_type(st, "get")) {
		/* §4.1.1: the fields a query may use. */
		struct xml_node *r = sm_stanza_result_new(st);
		if (r && mam_fields_add(st->arena, r) == 0)
			muc_send_result(muc, st, r);
		return;
	}
	if (!muc->archive || !muc->storage) {
		muc_send_error(muc, st, "service-unavailable", NULL);
		return;
	}
	query_start(muc, room, st);
}
