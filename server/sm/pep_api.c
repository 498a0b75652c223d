/* pep_api: pep.h's API for other modules (bookmarks, avatars): each
 * call waits for the owner's nodes (pep_store.c), then runs the same
 * operation as an iq request (pep_node.c), as the owner. */
#include <stdlib.h>
#include <string.h>

#include "pep_node.h"
#include "sm.h"

static const struct pep_error pep_api_error = {"internal-server-error", NULL,
					       NULL};

/* A call waiting for its owner. */
struct pep_call {
	enum { PEP_CALL_PUBLISH, PEP_CALL_RETRACT, PEP_CALL_ITEMS } what;
	char *node, *id;
	char *item;
	size_t item_len, max;
	bool notify, has_options;
	struct pep_options options;
	pep_done_fn done;
	pep_items_fn items_done;
	void *ctx;
};

static void pep_call_free(struct pep_call *c)
{
	free(c->node);
	free(c->id);
	free(c->item);
	free(c);
}

static void pep_call_run(struct pep *pep, struct pep_owner *o, void *ctx)
{
	struct pep_call *c = ctx;
	struct pep_publish p = {c->node,     c->id,          c->item,
				c->item_len, c->has_options, c->options,
				c->done,     c->ctx};
	if (!o && c->what == PEP_CALL_ITEMS)
		c->items_done(pep->sm, c->ctx, &pep_api_error, NULL);
	else if (!o)
		c->done(pep->sm, c->ctx, &pep_api_error);
	else if (c->what == PEP_CALL_PUBLISH)
		pep_node_publish(pep, o, &p);
	else if (c->what == PEP_CALL_RETRACT)
		pep_node_retract(pep, o, c->node, c->id, c->notify, c->done,
				 c->ctx);
	else
		pep_node_items(pep, o, c->node, c->id, c->max, c->items_done,
			       c->ctx);
	pep_call_free(c);
}

static struct pep_call *pep_call_new(const char *node, const char *id)
{
	struct pep_call *c = calloc(1, sizeof *c);
	if (!c || !(c->node = strdup(node)) || (id && !(c->id = strdup(id)))) {
		if (c)
			pep_call_free(c);
		return NULL;
	}
	return c;
}

static int pep_call_submit(struct sm *sm, const char *owner, struct pep_call *c)
{
	struct pep *pep = pep_of(sm);
	if (!pep || pep_store_with_owner(pep, owner, pep_call_run, c) < 0) {
		pep_call_free(c);
		return -1;
	}
	return 0;
}

int pep_publish(struct sm *sm, const char *owner, const char *node,
		const struct xml_node *item, const struct pep_options *options,
		pep_done_fn done, void *ctx)
{
	struct pep *pep = pep_of(sm);
	struct pep_error err;
	if (!pep)
		return -1;
	if (pep_node_prepare_item(pep, item, &pep->out, &err) < 0) {
		done(sm, ctx, &err);
		return 0;
	}
	struct xml_node *stored =
		xml_parse(&sm->arena, pep->out.data, pep->out.len, NS_PUBSUB);
	struct pep_call *c =
		stored ? pep_call_new(node, xml_attr_get(stored, "id")) : NULL;
	if (!c || !(c->item = malloc(pep->out.len))) {
		if (c)
			pep_call_free(c);
		return -1;
	}
	memcpy(c->item, pep->out.data, c->item_len = pep->out.len);
	c->what = PEP_CALL_PUBLISH;
	c->has_options = options != NULL;
	if (options)
		c->options = *options;
	c->done = done;
	c->ctx = ctx;
	return pep_call_submit(sm, owner, c);
}

int pep_retract(struct sm *sm, const char *owner, const char *node,
		const char *id, bool notify, pep_done_fn done, void *ctx)
{
	struct pep_call *c = pep_call_new(node, id);
	if (!c)
		return -1;
	c->what = PEP_CALL_RETRACT;
	c->notify = notify;
	c->done = done;
	c->ctx = ctx;
	return pep_call_submit(sm, owner, c);
}

int pep_items(struct sm *sm, const char *owner, const char *node,
	      const char *id, size_t max, pep_items_fn done, void *ctx)
{
	struct pep_call *c = pep_call_new(node, id);
	if (!c)
		return -1;
	c->what = PEP_CALL_ITEMS;
	c->max = max;
	c->items_done = done;
	c->ctx = ctx;
	return pep_call_submit(sm, owner, c);
}

static int pep_add_listener(struct sm *sm, const char *node,
			    const struct pep_listener *add)
{
	struct pep *pep = pep_of(sm);
	struct pep_listener *l =
		pep ? realloc(pep->listeners, (pep->nlisteners + 1) * sizeof *l)
		    : NULL;
	if (!l)
		return -1;
	pep->listeners = l;
	l += pep->nlisteners;
	*l = *add;
	if (!(l->node = strdup(node)))
		return -1;
	pep->nlisteners++;
	return 0;
}

int pep_listen(struct sm *sm, const char *node, pep_listener_fn fn, void *data)
{
	struct pep_listener l = {.fn = fn, .data = data};
	return pep_add_listener(sm, node, &l);
}

int pep_guard(struct sm *sm, const char *node, pep_guard_fn fn, void *data)
{
	struct pep_listener l = {.guard = fn, .data = data};
	return pep_add_listener(sm, node, &l);
}
