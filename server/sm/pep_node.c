/* pep_node: the operations on an owner's nodes (pep.h's API, and what
 * pep.c runs for iq requests once the owner's nodes are loaded):
 * publish with auto-create and publish-options, retract, item
 * retrieval, node deletion and configuration, with their limits.
 *
 * Each change is written through (pep_store.c): memory changes at once,
 * a batch is committed, and the completion (done, the notifications,
 * the listeners) runs once the batch is durable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../lib/random.h"
#include "pep_node.h"
#include "sm.h"
#include "userdata.h"

static const struct pep_error pep_error_internal = {"internal-server-error",
						    NULL, NULL};
static const struct pep_error pep_error_no_node = {"item-not-found", NULL,
						   NULL};

/* ------------------------------------------------------------ writes */

/* A change on its way to the disk. */
struct pep_write {
	struct pep *pep;
	struct pep_owner *owner;
	void (*written)(struct pep_write *w, bool ok);
	pep_done_fn done;
	void *ctx;
	/* What the completion tells: the node's name and, for publish and
	 * retract, the item id and the item (serialized, with its id). */
	char *node;
	char *id;
	char *item;
	size_t item_len;
	bool notify;
	struct pep_config config; /* of a deleted node, to notify */
};

static void pep_write_free(struct pep_write *w)
{
	free(w->node);
	free(w->id);
	free(w->item);
	free(w);
}

/* After a failed write memory says more than the disk: the owner is
 * read again by its next request. */
static void pep_write_forget(struct pep_owner *o)
{
	if (o->running)
		return;
	while (o->nnodes)
		pep_store_remove_node(o, o->nodes[0]);
	o->loaded = false;
}

static void pep_write_finish(struct pep_write *w, bool ok)
{
	struct pep_owner *o = w->owner;
	o->busy--;
	o->writes--;
	if (!ok) {
		log_error("pep: %s: a change of node %s could not be stored",
			  o->jid, w->node);
		pep_write_forget(o);
	}
	w->written(w, ok);
	if (!ok && w->done)
		w->done(w->pep->sm, w->ctx, &pep_error_internal);
	pep_store_touch(o);
	pep_write_free(w);
}

static void pep_write_committed(void *ctx, enum storage_status status)
{
	struct pep_write *w = ctx;
	struct sm *sm = w->pep->sm;
	pep_write_finish(w, status == STORAGE_OK);
	arena_reset(&sm->arena);
}

/* Commits b (NULL without storage: done at once) for w. */
static void pep_write_commit(struct pep_write *w, struct storage_batch *b,
			     bool ok)
{
	w->owner->busy++;
	w->owner->writes++;
	if (!b) {
		pep_write_finish(w, ok && !sm_storage(w->pep->sm));
		return;
	}
	if (!ok) {
		storage_batch_free(b);
		pep_write_finish(w, false);
		return;
	}
	if (storage_batch_commit(b, pep_write_committed, w) < 0)
		pep_write_finish(w, false);
}

static struct pep_write *pep_write_new(struct pep *pep, struct pep_owner *o,
				       const char *node, pep_done_fn done,
				       void *ctx)
{
	struct pep_write *w = calloc(1, sizeof *w);
	if (!w || !(w->node = strdup(node))) {
		free(w);
		return NULL;
	}
	*w = (struct pep_write){.pep = pep,
				.owner = o,
				.done = done,
				.ctx = ctx,
				.node = w->node};
	return w;
}

static struct storage_batch *pep_write_batch(struct pep *pep)
{
	struct storage *s = sm_storage(pep->sm);
	return s ? storage_batch_new(s) : NULL;
}

/* ------------------------------------------------------------ events */

/* <event xmlns='…#event'><items node='NODE'/></event> in the sm's
 * arena; *items is the <items/>. */
static struct xml_node *pep_event_items(struct pep *pep, const char *node,
					struct xml_node **items)
{
	struct arena *a = &pep->sm->arena;
	struct xml_node *e = xml_node_new(a, NS_PUBSUB_EVENT, "event");
	*items = e ? xml_add_child(a, e, NS_PUBSUB_EVENT, "items") : NULL;
	if (!*items || xml_set_attr(a, *items, "node", node) < 0)
		return NULL;
	return e;
}

struct xml_node *pep_node_event_item(struct pep *pep, const char *bytes,
				     size_t len, bool payload)
{
	struct arena *a = &pep->sm->arena;
	struct xml_node *stored = xml_parse(a, bytes, len, NS_PUBSUB);
	struct xml_node *it =
		stored ? xml_node_new(a, NS_PUBSUB_EVENT, "item") : NULL;
	if (!it || xml_set_attr(a, it, "id", xml_attr_get(stored, "id")) < 0)
		return NULL;
	struct xml_node *p = xml_child(stored, NULL, NULL);
	if (payload && p) {
		xml_remove_child(stored, p);
		xml_append_child(it, p);
	}
	return it;
}

static void pep_event_listeners(struct pep *pep, const char *owner,
				const char *node, const char *id,
				const struct xml_node *item)
{
	for (size_t i = 0; i < pep->nlisteners; i++)
		if (pep->listeners[i].fn &&
		    strcmp(pep->listeners[i].node, node) == 0)
			pep->listeners[i].fn(pep->sm, owner, node, id, item,
					     pep->listeners[i].data);
}

/* The items n keeps: its max_items, within pep-max-items. */
static unsigned pep_node_max_items(const struct pep *pep,
				   const struct pep_node *n)
{
	return n->config.max_items < pep->max_items ? n->config.max_items
						    : pep->max_items;
}

/* The first guard of p's node that refuses it (pep.h), or NULL. */
static const struct pep_error *pep_node_guard(struct pep *pep,
					      struct pep_owner *o,
					      const struct pep_node *n,
					      const struct pep_publish *p)
{
	const struct pep_error *refused = NULL;
	struct xml_node *item = NULL;
	for (size_t i = 0; !refused && i < pep->nlisteners; i++) {
		const struct pep_listener *l = &pep->listeners[i];
		if (!l->guard || strcmp(l->node, p->node) != 0)
			continue;
		if (!item && !(item = xml_parse(&pep->sm->arena, p->item,
						p->item_len, NS_PUBSUB)))
			return &pep_error_internal;
		refused = l->guard(pep->sm, o->jid, item, n ? n->nids : 0,
				   n ? pep_node_max_items(pep, n) : 0,
				   n && pep_store_has_id(n, p->id), l->data);
	}
	return refused;
}

/* ------------------------------------------------------------ publish */

int pep_node_prepare_item(struct pep *pep, const struct xml_node *item,
			  struct buf *out, struct pep_error *err)
{
	struct arena *a = &pep->sm->arena;
	const struct xml_node *payload = xml_child(item, NULL, NULL);
	/* XEP-0060 §7.1.3.6: "If the <item/> element contains more than
	 * one payload element ..., the service MUST bounce the request
	 * with a <bad-request/> error and a pubsub-specific error
	 * condition of <invalid-payload/>"; §7.1.3.5, none for a node
	 * that persists items: <payload-required/>. */
	if (!payload || xml_next(payload, NULL, NULL)) {
		*err = (struct pep_error){"bad-request",
					  payload ? "invalid-payload"
						  : "payload-required",
					  "an item has exactly one payload"};
		return -1;
	}
	struct xml_node *copy = xml_copy(a, item);
	const char *id = xml_attr_get(item, "id");
	char made[32];
	if (!id || !id[0]) {
		/* §7.1.2: "If the publisher did not include an item ID,
		 * the service MUST generate one". */
		random_hex(made, 8);
		id = made;
	}
	buf_clear(out);
	if (!copy || strlen(id) > PEP_NAME_MAX ||
	    xml_set_attr(a, copy, "id", id) < 0 ||
	    xml_serialize(copy, NS_PUBSUB, out) < 0) {
		*err = pep_error_internal;
		return -1;
	}
	/* §7.1.3.4: "If the payload size exceeds a service-defined
	 * limit, the service MUST return a <not-acceptable/> error with
	 * a pubsub-specific error condition of <payload-too-big/>." */
	if (out->len > pep->max_item_bytes) {
		*err = (struct pep_error){"not-acceptable", "payload-too-big",
					  "the item is larger than "
					  "pep-max-item-bytes"};
		return -1;
	}
	return 0;
}

/* XEP-0060 §7.1.2: "the service MUST inform the publisher of success"
 * and "MUST send one event notification to each entity that meets the
 * criteria for receiving an event notification". */
static void pep_publish_written(struct pep_write *w, bool ok)
{
	struct pep *pep = w->pep;
	struct pep_node *n = pep_store_find_node(w->owner, w->node);
	if (!ok)
		return;
	if (w->done)
		w->done(pep->sm, w->ctx, NULL);
	struct xml_node *items, *e = pep_event_items(pep, w->node, &items);
	struct xml_node *it =
		e ? pep_node_event_item(pep, w->item, w->item_len,
					!n || n->config.deliver_payloads)
		  : NULL;
	if (!it)
		return;
	xml_append_child(items, it);
	if (n)
		pep_notify_event(pep, w->owner->jid, n, e);
	pep_event_listeners(
		pep, w->owner->jid, w->node, w->id,
		xml_parse(&pep->sm->arena, w->item, w->item_len, NS_PUBSUB));
}

/* The node to publish to: n, or a new one with options (XEP-0163 §3:
 * "the account owner's server MUST auto-create the node"). Fills err
 * when it cannot be. */
static struct pep_node *pep_publish_node(struct pep *pep, struct pep_owner *o,
					 struct pep_node *n, const char *name,
					 const struct pep_options *options,
					 struct pep_error *err)
{
	/* XEP-0060 §7.1.5: "If the node exists and the precondition is
	 * not met, then the publish MUST fail with a <conflict/> error
	 * condition and a pubsub-specific condition of
	 * <precondition-not-met/>." */
	if (n && options && !pep_config_meets(&n->config, options)) {
		*err = (struct pep_error){"conflict", "precondition-not-met",
					  "the node's configuration differs "
					  "from the publish options"};
		return NULL;
	}
	if (n)
		return n;
	if (o->nnodes >= pep->max_nodes) {
		/* XEP-0060 §8.1.3 (create): not-allowed with
		 * max-nodes-exceeded. */
		*err = (struct pep_error){"not-allowed", "max-nodes-exceeded",
					  "too many PEP nodes"};
		return NULL;
	}
	/* §7.1.5: "If the node does not exist and the service supports
	 * the auto-create feature, the service MUST auto-create the node
	 * with default configuration but the configuration MUST be
	 * overridden by the preconditions". */
	struct pep_config c;
	pep_config_default(&c);
	if (options)
		pep_config_apply(&c, options);
	if (!(n = pep_store_add_node(o, name, &c)))
		*err = pep_error_internal;
	return n;
}

/* Deletes n's oldest items beyond its max_items (XEP-0060 §7.1.2:
 * "the service MUST delete the oldest item(s)"). */
static bool pep_node_trim(struct pep *pep, struct pep_owner *o,
			  struct pep_node *n, struct storage_batch *b)
{
	unsigned max = pep_node_max_items(pep, n);
	bool ok = true;
	while (n->nids > max) {
		if (b) {
			pep_store_items_name(n->name, &pep->out);
			ok = ok &&
			     storage_batch_delete(b, o->jid, pep->out.data,
						  n->ids[0]) == 0;
		}
		pep_store_remove_id(n, n->ids[0]);
	}
	return ok;
}

/* What a publish of id to n frees: the item it replaces and the oldest
 * that max_items then drops (pep_node_trim), in stored bytes and in
 * bytes of the owner's records. */
static void pep_publish_frees(const struct pep *pep, const struct pep_node *n,
			      const char *id, size_t *bytes, size_t *record)
{
	ssize_t same = pep_store_id_index(n, id);
	size_t after = n->nids + (same < 0), max = pep_node_max_items(pep, n);
	*bytes = *record = 0;
	for (size_t i = 0; i < n->nids; i++) {
		bool dropped = (ssize_t)i != same && after > max;
		if (dropped)
			after--;
		if (dropped || (ssize_t)i == same) {
			*bytes += n->sizes[i];
			*record += pep_store_id_bytes(n->ids[i]);
		}
	}
}

/* Whether p fits in the owner's quota (pep-quota-bytes) and its
 * records in PEP_OWNER_BYTES_MAX. No XEP-0060 condition tells a quota:
 * RFC 6120 §8.3.3.12 policy-violation, the text saying which. */
static bool pep_publish_fits(struct pep *pep, const struct pep_owner *o,
			     const struct pep_node *n,
			     const struct pep_publish *p, struct pep_error *err)
{
	size_t used = 0, bytes, record;
	if (!n->config.persist_items)
		return true; /* XEP-0223 §4: nothing kept */
	for (size_t i = 0; i < o->nnodes; i++)
		used += o->nodes[i]->bytes;
	pep_publish_frees(pep, n, p->id, &bytes, &record);
	if (used - bytes + p->item_len > pep->quota_bytes) {
		*err = (struct pep_error){"policy-violation", NULL,
					  pep->quota_text};
		return false;
	}
	if (pep_store_owner_bytes(o) - record + pep_store_id_bytes(p->id) >
	    PEP_OWNER_BYTES_MAX) {
		*err = (struct pep_error){"policy-violation", NULL,
					  "too many PEP items for this "
					  "account: retract or delete some"};
		return false;
	}
	return true;
}

void pep_node_publish(struct pep *pep, struct pep_owner *o,
		      struct pep_publish *p)
{
	struct pep_error err = {0};
	struct pep_node *had = pep_store_find_node(o, p->node);
	const struct pep_error *refused = pep_node_guard(pep, o, had, p);
	if (refused) {
		p->done(pep->sm, p->ctx, refused);
		return;
	}
	struct pep_node *n =
		pep_publish_node(pep, o, had, p->node,
				 p->has_options ? &p->options : NULL, &err);
	if (n && !pep_publish_fits(pep, o, n, p, &err)) {
		if (!had)
			pep_store_remove_node(o, n);
		n = NULL;
	}
	if (!n) {
		p->done(pep->sm, p->ctx, &err);
		return;
	}
	struct pep_write *w = pep_write_new(pep, o, p->node, p->done, p->ctx);
	if (!w || !(w->id = strdup(p->id)) ||
	    !(w->item = malloc(p->item_len))) {
		if (w)
			pep_write_free(w);
		p->done(pep->sm, p->ctx, &pep_error_internal);
		return;
	}
	memcpy(w->item, p->item, w->item_len = p->item_len);
	w->written = pep_publish_written;
	struct storage_batch *b = pep_write_batch(pep);
	bool ok = true;
	/* XEP-0223 §4: items of a node that does not persist them are
	 * notified, not kept. */
	if (n->config.persist_items) {
		ok = pep_store_add_id(n, p->id, p->item_len) == 0;
		if (b && ok && pep_store_items_name(n->name, &pep->out) == 0)
			ok = storage_batch_put(b, o->jid, pep->out.data, p->id,
					       p->item, p->item_len) == 0;
		ok = pep_node_trim(pep, o, n, b) && ok;
	}
	if (b && ok)
		ok = pep_store_put_node(b, o, n) == 0;
	pep_write_commit(w, b, ok);
}

/* ------------------------------------------------------------ retract */

static void pep_retract_written(struct pep_write *w, bool ok)
{
	struct pep *pep = w->pep;
	struct pep_node *n = pep_store_find_node(w->owner, w->node);
	if (!ok)
		return;
	if (w->done)
		w->done(pep->sm, w->ctx, NULL);
	struct xml_node *items, *e = pep_event_items(pep, w->node, &items);
	struct xml_node *r = e ? xml_add_child(&pep->sm->arena, items,
					       NS_PUBSUB_EVENT, "retract")
			       : NULL;
	if (!r || xml_set_attr(&pep->sm->arena, r, "id", w->id) < 0)
		return;
	/* §7.2.2: "If the service supports the pubsub#notify_retract
	 * option and it is set to true, the service MUST send a
	 * notification"; the publisher may ask for it with notify. */
	if (n && w->notify && n->config.notify_retract)
		pep_notify_event(pep, w->owner->jid, n, e);
	pep_event_listeners(pep, w->owner->jid, w->node, w->id, NULL);
}

void pep_node_retract(struct pep *pep, struct pep_owner *o, const char *node,
		      const char *id, bool notify, pep_done_fn done, void *ctx)
{
	struct pep_node *n = pep_store_find_node(o, node);
	if (!n || !pep_store_has_id(n, id)) {
		/* §7.2.3.5, §7.2.3.4: the node or the item does not
		 * exist: item-not-found. */
		done(pep->sm, ctx, &pep_error_no_node);
		return;
	}
	struct pep_write *w = pep_write_new(pep, o, node, done, ctx);
	if (!w || !(w->id = strdup(id))) {
		if (w)
			pep_write_free(w);
		done(pep->sm, ctx, &pep_error_internal);
		return;
	}
	w->written = pep_retract_written;
	w->notify = notify;
	pep_store_remove_id(n, id);
	struct storage_batch *b = pep_write_batch(pep);
	bool ok = !b ||
		  (pep_store_items_name(node, &pep->out) == 0 &&
		   storage_batch_delete(b, o->jid, pep->out.data, id) == 0 &&
		   pep_store_put_node(b, o, n) == 0);
	pep_write_commit(w, b, ok);
}

/* ------------------------------------------------------------ delete */

static void pep_delete_written(struct pep_write *w, bool ok)
{
	struct pep *pep = w->pep;
	if (!ok)
		return;
	if (w->done)
		w->done(pep->sm, w->ctx, NULL);
	/* XEP-0060 §8.4.2: "the service MUST send notification of node
	 * deletion to all subscribers": a <delete/> in the event. */
	struct arena *a = &pep->sm->arena;
	struct xml_node *e = xml_node_new(a, NS_PUBSUB_EVENT, "event");
	struct xml_node *d =
		e ? xml_add_child(a, e, NS_PUBSUB_EVENT, "delete") : NULL;
	struct pep_node gone = {.name = w->node, .config = w->config};
	if (d && xml_set_attr(a, d, "node", w->node) == 0)
		pep_notify_event(pep, w->owner->jid, &gone, e);
}

/* The write of a change to the existing node `node` of o, found into
 * *n; NULL when it was answered already: item-not-found without the
 * node, internal-server-error without memory. */
static struct pep_write *
pep_node_write_start(struct pep *pep, struct pep_owner *o, const char *node,
		     pep_done_fn done, void *ctx, struct pep_node **n)
{
	struct pep_write *w = NULL;
	if (!(*n = pep_store_find_node(o, node)))
		done(pep->sm, ctx, &pep_error_no_node);
	else if (!(w = pep_write_new(pep, o, node, done, ctx)))
		done(pep->sm, ctx, &pep_error_internal);
	return w;
}

void pep_node_delete(struct pep *pep, struct pep_owner *o, const char *node,
		     pep_done_fn done, void *ctx)
{
	/* §8.4.3.2: "If the requesting entity attempts to delete a node
	 * that does not exist, the service MUST return an
	 * <item-not-found/> error." */
	struct pep_node *n;
	struct pep_write *w = pep_node_write_start(pep, o, node, done, ctx, &n);
	if (!w)
		return;
	w->written = pep_delete_written;
	w->config = n->config;
	pep_store_remove_node(o, n);
	struct storage_batch *b = pep_write_batch(pep);
	bool ok = !b ||
		  (pep_store_items_name(node, &pep->out) == 0 &&
		   storage_batch_delete(b, o->jid, pep->out.data, NULL) == 0 &&
		   storage_batch_delete(b, o->jid, PEP_STORE, node) == 0);
	pep_write_commit(w, b, ok);
}

/* ------------------------------------------------------------ configure */

static void pep_configure_written(struct pep_write *w, bool ok)
{
	if (ok && w->done)
		w->done(w->pep->sm, w->ctx, NULL);
}

void pep_node_configure(struct pep *pep, struct pep_owner *o, const char *node,
			const struct pep_options *options, pep_done_fn done,
			void *ctx)
{
	/* §8.2.3.4: "If the node does not exist, the service MUST return
	 * an <item-not-found/> error." */
	struct pep_node *n;
	struct pep_write *w = pep_node_write_start(pep, o, node, done, ctx, &n);
	if (!w)
		return;
	w->written = pep_configure_written;
	pep_config_apply(&n->config, options);
	struct storage_batch *b = pep_write_batch(pep);
	/* A smaller max_items drops the oldest items at once; a node that
	 * no longer persists items (XEP-0223 §4) keeps none, on disk too,
	 * or they would be out of the quota's count. */
	bool ok = pep_node_trim(pep, o, n, b);
	if (!n->config.persist_items) {
		while (n->nids)
			pep_store_remove_id(n, n->ids[0]);
		ok = ok &&
		     (!b || (pep_store_items_name(node, &pep->out) == 0 &&
			     storage_batch_delete(b, o->jid, pep->out.data,
						  NULL) == 0));
	}
	if (b && ok)
		ok = pep_store_put_node(b, o, n) == 0;
	pep_write_commit(w, b, ok);
}

/* ------------------------------------------------------------ items */

struct pep_read {
	struct pep *pep;
	struct pep_owner *owner;
	char *node;
	size_t max;
	pep_items_fn done;
	void *ctx;
};

/* result in publication order (n's ids), the last max of it. */
static void pep_read_order(const struct pep_node *n,
			   const struct storage_items *result, size_t max,
			   struct storage_item *out, size_t *count)
{
	size_t k = 0;
	for (size_t i = 0; n && i < n->nids; i++)
		for (size_t j = 0; j < result->count; j++)
			if (strcmp(result->items[j].key, n->ids[i]) == 0) {
				out[k++] = result->items[j];
				break;
			}
	if (max && k > max) {
		memmove(out, out + (k - max), max * sizeof *out);
		k = max;
	}
	*count = k;
}

static void pep_read_done(void *ctx, enum storage_status status,
			  const struct storage_items *result)
{
	struct pep_read *r = ctx;
	struct pep *pep = r->pep;
	r->owner->busy--;
	struct storage_item *items = calloc(result->count + 1, sizeof *items);
	if (status != STORAGE_OK || !items) {
		log_error("pep: cannot read the items of %s's node %s",
			  r->owner->jid, r->node);
		r->done(pep->sm, r->ctx, &pep_error_internal, NULL);
	} else {
		struct storage_items sorted = {0, items};
		pep_read_order(pep_store_find_node(r->owner, r->node), result,
			       r->max, items, &sorted.count);
		r->done(pep->sm, r->ctx, NULL, &sorted);
	}
	free(items);
	pep_store_touch(r->owner);
	free(r->node);
	free(r);
	arena_reset(&pep->sm->arena);
}

void pep_node_items(struct pep *pep, struct pep_owner *o, const char *node,
		    const char *id, size_t max, pep_items_fn done, void *ctx)
{
	static const struct storage_items none = {0, NULL};
	struct pep_node *n = pep_store_find_node(o, node);
	struct storage *s = sm_storage(pep->sm);
	if (!n) {
		/* §6.5.9.11: "If the node does not exist, the service
		 * SHOULD return an <item-not-found/> error". */
		done(pep->sm, ctx, &pep_error_no_node, NULL);
		return;
	}
	if (!s || !n->nids || (id && !pep_store_has_id(n, id))) {
		done(pep->sm, ctx, NULL, &none);
		return;
	}
	struct pep_read *r = malloc(sizeof *r);
	if (!r || !(r->node = strdup(node)) ||
	    pep_store_items_name(node, &pep->out) < 0) {
		if (r)
			free(r->node);
		free(r);
		done(pep->sm, ctx, &pep_error_internal, NULL);
		return;
	}
	*r = (struct pep_read){pep, o, r->node, max, done, ctx};
	int rc =
		id ? storage_get(s, o->jid, pep->out.data, id, pep_read_done, r)
		   : storage_load(s, o->jid, pep->out.data, pep_read_done, r);
	if (rc < 0) {
		free(r->node);
		free(r);
		done(pep->sm, ctx, &pep_error_internal, NULL);
		return;
	}
	o->busy++;
}
