/* bookmarks: the module (bookmarks.h tells the design and the files).
 * It takes over, above private.c and pep.c, an account owner's
 * requests of XEP-0048's two forms: a private get or set of
 * storage:bookmarks, an items request or a publish of the PEP node
 * storage:bookmarks; everything else goes on to them. On the :1 node
 * it sets a guard (XEP-0402's payload, the number of bookmarks) and a
 * listener that brings the copies in step after each change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "bookmarks.h"
#include "delivery.h"
#include "module.h"
#include "private.h"
#include "send.h"
#include "sm.h"
#include "stanza.h"

extern const struct sm_module sm_module_bookmarks;
extern const struct sm_module sm_module_pep;

/* Above private.c's and pep.c's hooks (0). */
#define BOOKMARKS_PRIORITY 10

/* ------------------------------------------------------------ the :1 node */

const struct pep_error *bookmarks_too_many(struct bookmarks *bm, bool pubsub,
					   size_t limit)
{
	snprintf(bm->why, sizeof bm->why,
		 "at most %zu bookmarks per user (sm/bookmarks-max, "
		 "pep-max-items)",
		 limit);
	bm->refused = (struct pep_error){
		pubsub ? "not-allowed" : "policy-violation",
		pubsub ? "max-items-exceeded" : NULL, bm->why};
	return &bm->refused;
}

/* pep.h's guard of the :1 node: XEP-0402 §2, "The payload of the item
 * SHALL be a conference element" and "Each item SHALL have, as item id,
 * the Room JID" (else XEP-0060 §7.1.3.6: bad-request, invalid-payload);
 * a new room past the limit, or past the node's max_items, is refused
 * rather than the oldest bookmark dropped (XEP-0060 §7.1.2). */
static const struct pep_error *bookmarks_guard(struct sm *sm, const char *owner,
					       const struct xml_node *item,
					       size_t count, size_t max,
					       bool replaces, void *data)
{
	static const struct pep_error invalid = {
		"bad-request", "invalid-payload",
		"a bookmark is a <conference xmlns='urn:xmpp:bookmarks:1'/> "
		"whose item id is the room's JID (XEP-0402 §2)"};
	static const struct pep_error internal = {"internal-server-error", NULL,
						  NULL};
	struct bookmarks *bm = data;
	struct bookmark b;
	size_t limit = bookmarks_max(bm);
	int rc = bookmark_from_item(&b, &sm->arena, item);
	if (rc != 0)
		return rc > 0 ? &invalid : &internal;
	bookmark_free(&b);
	if (max && max < limit)
		limit = max;
	return !replaces && count >= limit ? bookmarks_too_many(bm, true, limit)
					   : NULL;
}

/* pep.h's listener of the :1 node: a publish or a retraction, durable. */
static void bookmarks_changed(struct sm *sm, const char *owner,
			      const char *node, const char *id,
			      const struct xml_node *item, void *data)
{
	if (bookmarks_sync_queue(data, owner, BOOKMARKS_SYNC, NULL, 0, NULL,
				 0) < 0)
		log_error("bookmarks: %s: the copies of storage:bookmarks "
			  "are not brought in step",
			  owner);
}

/* The guard and the listener, set once pep has started: modules start
 * in the order of <sm><modules>, which must not matter, and pep may
 * come after this one. Each way to the :1 node (a pubsub iq, this
 * module's jobs) comes through this module's hooks first, which call
 * this. */
static int bookmarks_attach(struct bookmarks *bm)
{
	if (bm->attached)
		return 0;
	if (pep_guard(bm->sm, NS_BOOKMARKS, bookmarks_guard, bm) < 0 ||
	    pep_listen(bm->sm, NS_BOOKMARKS, bookmarks_changed, bm) < 0) {
		log_error("bookmarks: cannot watch %s", NS_BOOKMARKS);
		return -1;
	}
	bm->attached = true;
	return 0;
}

/* ------------------------------------------------------------ requests */

/* Queues the job of st: its iq and, for a write, storage. */
static void bookmarks_request(struct bookmarks *bm, struct stanza *st,
			      const char *user, enum bookmarks_job_kind kind,
			      const struct xml_node *storage)
{
	struct sm *sm = bm->sm;
	struct buf given = BUF_INIT;
	int rc = storage ? xml_serialize(storage, "", &given) : 0;
	if (rc == 0 && sm_send_serialize(sm, st->xml) == 0)
		rc = bookmarks_sync_queue(bm, user, kind, sm->out.data,
					  sm->out.len, given.data, given.len);
	buf_free(&given);
	/* RFC 6120 §8.3.3.18: busy (many requests of this user wait) or
	 * short of memory; the client may retry. */
	if (rc < 0)
		sm_deliver_error(sm, st, "resource-constraint");
}

/* The <storage xmlns='storage:bookmarks'/> of a private request that
 * holds that namespace alone (a get names it once, XEP-0049 §2.3), or
 * NULL: private.c takes the request, and answers its errors. */
static struct xml_node *bookmarks_private_storage(const struct stanza *st,
						  bool get)
{
	struct xml_node *first = xml_child(st->payload, NULL, NULL), *c;
	if (!first || !xml_is(st->payload, NS_PRIVATE, "query") ||
	    !xml_is(first, NS_BOOKMARKS_LEGACY, "storage"))
		return NULL;
	for (c = xml_next(first, NULL, NULL); c; c = xml_next(c, NULL, NULL))
		if (get || strcmp(c->ns, NS_BOOKMARKS_LEGACY) != 0)
			return NULL;
	return first;
}

/* XEP-0049 §2.3 on storage:bookmarks, by the account's owner. */
static enum sm_verdict bookmarks_private_iq(struct sm_event *ev, void *data)
{
	struct bookmarks *bm = data;
	struct stanza *st = ev->st;
	bool get = sm_stanza_is_type(st, "get");
	struct xml_node *storage = bookmarks_private_storage(st, get);
	struct buf item = BUF_INIT;
	if (!ev->session || !sm_stanza_to_self(st) || !storage ||
	    (!get && !sm_stanza_is_type(st, "set")) || bookmarks_attach(bm) < 0)
		return SM_NEXT;
	if (get)
		bookmarks_request(bm, st, ev->session->user->jid,
				  BOOKMARKS_GET_PRIVATE, NULL);
	else if (sm_private_item(ev->sm, st, &item) == 0)
		bookmarks_request(bm, st, ev->session->user->jid,
				  BOOKMARKS_SET_PRIVATE, storage);
	buf_free(&item);
	return SM_DONE;
}

/* XEP-0048 §3.1 (XEP-0223): a publish of the item 'current', one
 * <storage/>; its size within what a PEP item may be (XEP-0060
 * §7.1.3.4: not-acceptable, payload-too-big). */
static void bookmarks_legacy_publish(struct bookmarks *bm, struct stanza *st,
				     const char *user,
				     const struct xml_node *publish)
{
	struct xml_node *item = xml_child(publish, NS_PUBSUB, "item");
	struct xml_node *storage =
		item ? xml_child(item, NS_BOOKMARKS_LEGACY, "storage") : NULL;
	struct pep_error err = {
		"bad-request", "invalid-payload",
		"publish one item holding <storage xmlns='storage:bookmarks'/> "
		"(XEP-0048 §3.1)"};
	if (storage && sm_send_serialize(bm->sm, storage) == 0 &&
	    bm->sm->out.len > bm->pep_max_item_bytes)
		err = (struct pep_error){"not-acceptable", "payload-too-big",
					 "the item is larger than "
					 "pep-max-item-bytes"};
	else if (storage && !xml_next(item, NS_PUBSUB, "item") &&
		 !xml_next(storage, NULL, NULL))
		err.condition = NULL;
	if (err.condition)
		pep_deliver_error(bm->sm, st, &err);
	else
		bookmarks_request(bm, st, user, BOOKMARKS_SET_PEP, storage);
}

/* XEP-0048 §3 (XEP-0411): the owner's requests of the node
 * storage:bookmarks that read or write bookmarks. Every pubsub iq
 * passes here first: the :1 node's guard is set before a client's
 * first publish reaches pep.c. */
static enum sm_verdict bookmarks_pubsub_iq(struct sm_event *ev, void *data)
{
	struct bookmarks *bm = data;
	struct stanza *st = ev->st;
	struct xml_node *c = xml_child(st->payload, NS_PUBSUB, NULL);
	const char *node = c ? xml_attr_get(c, "node") : NULL;
	bool set = sm_stanza_is_type(st, "set");
	if (bookmarks_attach(bm) < 0 || !ev->session ||
	    !sm_stanza_to_self(st) ||
	    !xml_is(st->payload, NS_PUBSUB, "pubsub") || !node ||
	    strcmp(node, NS_BOOKMARKS_LEGACY) != 0)
		return SM_NEXT;
	if (set && xml_is(c, NS_PUBSUB, "publish"))
		bookmarks_legacy_publish(bm, st, ev->session->user->jid, c);
	else if (!set && sm_stanza_is_type(st, "get") &&
		 xml_is(c, NS_PUBSUB, "items"))
		bookmarks_request(bm, st, ev->session->user->jid,
				  BOOKMARKS_GET_PEP, NULL);
	else
		return SM_NEXT; /* retract, delete …: pep.c's */
	return SM_DONE;
}

/* ------------------------------------------------------------ module */

static int bookmarks_init(struct sm *sm)
{
	const struct config *cfg = sm->cfg;
	if (!sm_module_is_on(cfg, "pep") || !sm_module_is_on(cfg, "private")) {
		log_error("sm: module 'bookmarks' needs modules 'pep' and "
			  "'private' (sm/modules)");
		return -1;
	}
	struct bookmarks *bm = calloc(1, sizeof *bm);
	if (!bm)
		return -1;
	bm->sm = sm;
	bm->max = (size_t)sm_module_option_integer(cfg, &sm_module_bookmarks,
						   "bookmarks-max");
	bm->pep_max_items = (size_t)sm_module_option_integer(
		cfg, &sm_module_pep, "pep-max-items");
	bm->pep_max_item_bytes = (size_t)sm_module_option_integer(
		cfg, &sm_module_pep, "pep-max-item-bytes");
	bookmarks_sync_init(bm);
	sm_module_set_data(sm, &sm_module_bookmarks, bm);
	return sm_module_hook(sm, SM_EV_IQ_BARE, NS_PRIVATE, BOOKMARKS_PRIORITY,
			      bookmarks_private_iq, bm) < 0 ||
			       sm_module_hook(sm, SM_EV_IQ_BARE, NS_PUBSUB,
					      BOOKMARKS_PRIORITY,
					      bookmarks_pubsub_iq, bm) < 0
		       ? -1
		       : 0;
}

static void bookmarks_free(struct sm *sm)
{
	struct bookmarks *bm = sm_module_data(sm, &sm_module_bookmarks);
	if (!bm)
		return;
	bookmarks_sync_free(bm);
	free(bm);
	sm_module_set_data(sm, &sm_module_bookmarks, NULL);
}

/* <sm><bookmarks-max>: bookmarks per user (docs/configuration.md). */
static const struct sm_option bookmarks_options[] = {{.name = "bookmarks-max",
						      .type = SM_OPTION_INTEGER,
						      .min = 1,
						      .max = 10000,
						      .def = 256},
						     {0}};

/* XEP-0402 §5.3 and §6: "A server that supports unifying bookmarks from
 * XEP-0049 and XEP-0402 SHOULD announce the "urn:xmpp:bookmarks:1#compat"
 * feature on the account", and "#compat-pep" for XEP-0223's node;
 * XEP-0411 §2: "The service MUST include a XEP-0030 feature of
 * "urn:xmpp:bookmarks-conversion:0" on the account." */
static const char *const bookmarks_features[] = {
	NS_BOOKMARKS "#compat",
	NS_BOOKMARKS "#compat-pep",
	"urn:xmpp:bookmarks-conversion:0",
	NULL,
};

const struct sm_module sm_module_bookmarks = {
	.name = "bookmarks",
	.on_by_default = true,
	.account_features = bookmarks_features,
	.options = bookmarks_options,
	.init = bookmarks_init,
	.free = bookmarks_free,
};
