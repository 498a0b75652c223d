/* mam_query: the archive queries (XEP-0313 §4, with #extended's
 * after-id, before-id, ids and flip-page, paged by XEP-0059).
 *
 * A query is read into a storage_archive_query (server/archive/, as
 * the muc's rooms do) and answered from its
 * completion, never on the loop: each result message straight to the
 * session that asked (serialized once, the stored message spliced in
 * as it is), then the iq result with <fin/>. A user has at most
 * MAM_QUERIES_PER_USER queries in flight and the sm MAM_QUERIES_MAX:
 * past them, resource-constraint (type wait). */
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "delivery.h"
#include "mam.h"
#include "module.h"
#include "send.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

#define MAM_QUERIES_PER_USER 4
#define MAM_QUERIES_MAX 256

/* A query waiting for its page. */
struct mam_query {
	struct mam_query *prev, *next; /* the queries in flight */
	struct mam *mod;
	struct mam_reply reply;
	char *queryid; /* NULL: none */
	bool flip;
	bool none; /* <max>0</max>: no message, only <fin/> */
};

/* ------------------------------------------------------------ answering */

static void mam_send_page(struct mam_query *mq, struct session *s,
			  const struct storage_archive_page *page, size_t shown)
{
	struct sm *sm = mq->mod->sm;
	struct buf *out = &mq->mod->out;
	for (size_t i = 0; i < shown; i++) {
		const struct storage_archive_item *it =
			mam_page_item(page, shown, i, mq->flip);
		if (mam_result_bytes(out, NULL, s->jid, mq->queryid, it) < 0) {
			mam_reply_error(sm, s, &mq->reply,
					"internal-server-error");
			return;
		}
		sm_send_stanza_bytes(sm, s, out->data, out->len);
	}
	struct xml_node *iq = mam_reply_iq(sm, s, &mq->reply, "result");
	struct xml_node *fin = iq ? mam_fin(&sm->arena, page, shown) : NULL;
	if (!fin)
		return;
	xml_append_child(iq, fin);
	sm_send_stanza(sm, s, iq);
}

static void mam_query_free(struct mam_query *mq)
{
	if (mq->prev)
		mq->prev->next = mq->next;
	else
		mq->mod->queries = mq->next;
	if (mq->next)
		mq->next->prev = mq->prev;
	mq->mod->nqueries--;
	mam_reply_free(&mq->reply);
	free(mq->queryid);
	free(mq);
}

static void mam_query_done(void *ctx, enum storage_status status,
			   const struct storage_archive_page *page)
{
	struct mam_query *mq = ctx;
	struct sm *sm = mq->mod->sm;
	struct session *s = mam_reply_session(sm, &mq->reply);
	const char *cond = mam_status_condition(status);
	if (s && cond)
		mam_reply_error(sm, s, &mq->reply, cond);
	else if (s)
		mam_send_page(mq, s, page, mq->none ? 0 : page->count);
	mam_query_free(mq);
	arena_reset(&sm->arena);
}

/* ------------------------------------------------------------ the iq */

static size_t mam_queries_of(const struct mam *mod, const char *user)
{
	size_t n = 0;
	for (const struct mam_query *mq = mod->queries; mq; mq = mq->next)
		n += strcmp(mq->reply.user, user) == 0;
	return n;
}

static void mam_query_start(struct mam *mod, struct sm_event *ev)
{
	struct stanza *st = ev->st;
	struct mam_request r;
	const char *cond = mam_request_read(st->arena, st->payload, &r);
	if (cond) {
		mam_deliver_error(ev->sm, st, cond,
				  strcmp(cond, "policy-violation") == 0
					  ? MAM_MAX_TEXT
					  : NULL);
		return;
	}
	r.q.user = ev->session->user->jid;
	if (mod->nqueries >= MAM_QUERIES_MAX ||
	    mam_queries_of(mod, r.q.user) >= MAM_QUERIES_PER_USER) {
		mam_deliver_error(ev->sm, st, "resource-constraint",
				  "too many archive queries at once");
		return;
	}
	struct mam_query *mq = calloc(1, sizeof *mq);
	if (!mq || mam_reply_init(&mq->reply, ev) < 0 ||
	    (r.queryid && !(mq->queryid = strdup(r.queryid)))) {
		if (mq)
			mam_reply_free(&mq->reply);
		free(mq);
		sm_deliver_error(ev->sm, st, "internal-server-error");
		return;
	}
	mq->mod = mod;
	mq->flip = r.flip;
	mq->none = r.none;
	mq->next = mod->queries;
	if (mod->queries)
		mod->queries->prev = mq;
	mod->queries = mq;
	mod->nqueries++;
	struct storage *s = sm_storage(ev->sm);
	if (!s || storage_archive_query(s, &r.q, mam_query_done, mq) < 0) {
		mam_query_free(mq);
		sm_deliver_error(ev->sm, st, "resource-constraint");
	}
}

/* §4.1.1: the form's fields, with #extended's. */
static void mam_query_fields(struct sm_event *ev)
{
	struct xml_node *r = sm_stanza_result_new(ev->st);
	if (r && mam_fields_add(ev->st->arena, r) == 0)
		sm_deliver_xml(ev->sm, r);
}

static enum sm_verdict mam_query_iq(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	/* Results and errors are never answered (RFC 6120 §8.2.3). */
	if (!xml_is(st->payload, NS_MAM, "query") ||
	    !(sm_stanza_is_type(st, "get") || sm_stanza_is_type(st, "set")))
		return SM_NEXT;
	/* §4: a user queries its own archive; nobody else's. */
	if (!ev->session || !sm_stanza_to_self(st))
		sm_deliver_error(ev->sm, st, "forbidden");
	else if (sm_stanza_is_type(st, "get"))
		mam_query_fields(ev);
	else
		mam_query_start(data, ev);
	return SM_DONE;
}

int mam_query_init(struct mam *mod)
{
	return sm_module_hook(mod->sm, SM_EV_IQ_BARE, NS_MAM, 0, mam_query_iq,
			      mod);
}
