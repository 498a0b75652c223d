/* pep: XEP-0163 Personal Eventing Protocol on every account (pep.h
 * tells the files). This one is the module and its iq requests: a
 * pubsub or pubsub#owner iq to an account's bare JID (or without 'to',
 * the sender's own) waits for the owner's nodes (pep_store.c), then
 * runs, and is answered once what it changed is durable.
 *
 * Who asks decides what is allowed (XEP-0060 §4.1 affiliations, as PEP
 * has them): the account owner may do everything; another entity may
 * retrieve items as the node's access model allows (§4.5: presence, the
 * owner's contacts with a subscription from or both; open, anyone;
 * whitelist, the owner alone). Subscriptions are implicit (XEP-0163
 * §4: presence and caps), so subscribe requests are not implemented. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "delivery.h"
#include "module.h"
#include "pep_node.h"
#include "roster.h"
#include "sm.h"
#include "stanza.h"

extern const struct sm_module sm_module_pep;

#define FORM_PUBLISH_OPTIONS NS_PUBSUB "#publish-options"
#define NS_DATA "jabber:x:data"

/* What the requester is to the owner. */
enum pep_relation { PEP_STRANGER, PEP_CONTACT, PEP_OWNER };

/* A request waiting for its owner's nodes, then for its answer. */
struct pep_request {
	struct pep *pep;
	enum pep_relation relation;
	char *id;    /* publish: the item id */
	char **only; /* items: the ids asked for, if more than one */
	size_t nonly;
	size_t len;
	char bytes[]; /* the iq, serialized */
};

struct pep *pep_of(struct sm *sm)
{
	return sm_module_data(sm, &sm_module_pep);
}

static void pep_request_free(struct pep_request *r)
{
	for (size_t i = 0; i < r->nonly; i++)
		free(r->only[i]);
	free(r->only);
	free(r->id);
	free(r);
}

/* The request's iq, parsed again into the sm's arena. */
static int pep_request_stanza(struct pep_request *r, struct stanza *st)
{
	struct sm *sm = r->pep->sm;
	struct xml_node *xml =
		xml_parse(&sm->arena, r->bytes, r->len, XML_NS_CLIENT);
	return xml && sm_stanza_init(st, &sm->arena, xml) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ answers */

void pep_deliver_error(struct sm *sm, const struct stanza *st,
		       const struct pep_error *err)
{
	struct xml_node *e = sm_stanza_error_new(st, err->condition);
	struct xml_node *x = e ? xml_child(e, XML_NS_CLIENT, "error") : NULL;
	if (!x)
		return;
	if (err->pubsub &&
	    !xml_add_child(st->arena, x, NS_PUBSUB_ERRORS, err->pubsub))
		return;
	struct xml_node *t =
		err->text ? xml_add_child(st->arena, x, NS_STANZAS, "text")
			  : NULL;
	if (err->text && (!t || xml_append_text(st->arena, t, err->text,
						strlen(err->text)) < 0))
		return;
	sm_deliver_xml(sm, e);
}

static void pep_answer(struct sm *sm, const struct stanza *st,
		       const struct pep_error *err, struct xml_node *result)
{
	if (err)
		pep_deliver_error(sm, st, err);
	else if (result)
		sm_deliver_xml(sm, result);
}

/* The empty result, or for a publish (§7.1.2, Example 101) the item's
 * id: <pubsub><publish node='…'><item id='…'/></publish></pubsub>. */
static void pep_request_done(struct sm *sm, void *ctx,
			     const struct pep_error *err)
{
	struct pep_request *r = ctx;
	struct stanza st;
	if (pep_request_stanza(r, &st) == 0) {
		struct xml_node *res = err ? NULL : sm_stanza_result_new(&st);
		struct xml_node *pub =
			res && r->id
				? xml_child(st.payload, NS_PUBSUB, "publish")
				: NULL;
		struct arena *a = st.arena;
		struct xml_node *p, *pp, *it;
		if (pub && (!(p = xml_add_child(a, res, NS_PUBSUB, "pubsub")) ||
			    !(pp = xml_add_child(a, p, NS_PUBSUB, "publish")) ||
			    xml_set_attr(a, pp, "node",
					 xml_attr_get(pub, "node")) < 0 ||
			    !(it = xml_add_child(a, pp, NS_PUBSUB, "item")) ||
			    xml_set_attr(a, it, "id", r->id) < 0))
			res = NULL;
		pep_answer(sm, &st, err, res);
	}
	pep_request_free(r);
}

static bool pep_request_wants(const struct pep_request *r, const char *id)
{
	for (size_t i = 0; i < r->nonly; i++)
		if (strcmp(r->only[i], id) == 0)
			return true;
	return r->nonly == 0;
}

/* §6.5.2 (Example 78): <pubsub><items node='…'><item/>…</items>. */
static void pep_request_items_done(struct sm *sm, void *ctx,
				   const struct pep_error *err,
				   const struct storage_items *items)
{
	struct pep_request *r = ctx;
	struct stanza st;
	if (pep_request_stanza(r, &st) == 0) {
		struct arena *a = st.arena;
		struct xml_node *asked =
			xml_child(st.payload, NS_PUBSUB, "items");
		struct xml_node *res = err ? NULL : sm_stanza_result_new(&st);
		struct xml_node *p =
			res ? xml_add_child(a, res, NS_PUBSUB, "pubsub") : NULL;
		struct xml_node *its =
			p ? xml_add_child(a, p, NS_PUBSUB, "items") : NULL;
		if (its && xml_set_attr(a, its, "node",
					xml_attr_get(asked, "node")) < 0)
			its = NULL;
		for (size_t i = 0; its && i < items->count; i++) {
			struct xml_node *it =
				pep_request_wants(r, items->items[i].key)
					? xml_parse(a, items->items[i].value,
						    items->items[i].value_len,
						    NS_PUBSUB)
					: NULL;
			if (it)
				xml_append_child(its, it);
		}
		pep_answer(sm, &st, err, its ? res : NULL);
	}
	pep_request_free(r);
}

static void pep_request_fail(struct pep_request *r, const char *condition,
			     const char *pubsub, const char *text)
{
	struct pep_error err = {condition, pubsub, text};
	pep_request_done(r->pep->sm, r, &err);
}

/* ------------------------------------------------------------ requests */

/* §7.1 publish, with §7.1.5 publish-options. */
static void pep_run_publish(struct pep *pep, struct pep_owner *o,
			    struct pep_request *r, struct xml_node *pubsub,
			    struct xml_node *publish)
{
	struct pep_publish p = {.node = xml_attr_get(publish, "node"),
				.done = pep_request_done,
				.ctx = r};
	struct xml_node *item = xml_child(publish, NS_PUBSUB, "item");
	struct xml_node *po = xml_child(pubsub, NS_PUBSUB, "publish-options");
	struct xml_node *form = po ? xml_child(po, NS_DATA, "x") : NULL;
	struct pep_error err;
	const char *why;
	if (!item || xml_next(item, NS_PUBSUB, "item")) {
		/* §7.1.3.? (Example 107): "bad-request" with
		 * "item-required" (PEP nodes persist items). */
		pep_request_fail(r, "bad-request", "item-required",
				 "publish one item");
		return;
	}
	pep_config_default(&p.options.config);
	if (form && pep_config_read_form(pep, form, FORM_PUBLISH_OPTIONS,
					 &p.options.config, &p.options.fields,
					 &why) < 0) {
		/* §7.1.5: options that cannot be met, whatever the node:
		 * "conflict" with "precondition-not-met". */
		pep_request_fail(r, "conflict", "precondition-not-met", why);
		return;
	}
	p.has_options = form != NULL;
	if (pep_node_prepare_item(pep, item, &pep->out, &err) < 0) {
		pep_request_done(pep->sm, r, &err);
		return;
	}
	struct xml_node *stored = xml_parse(&pep->sm->arena, pep->out.data,
					    pep->out.len, NS_PUBSUB);
	if (!stored || !(r->id = strdup(xml_attr_get(stored, "id")))) {
		pep_request_fail(r, "internal-server-error", NULL, NULL);
		return;
	}
	p.id = r->id;
	/* pep->out is reused by the publish: a copy of the item. */
	struct buf item_bytes = BUF_INIT;
	if (buf_append(&item_bytes, pep->out.data, pep->out.len) < 0) {
		pep_request_fail(r, "internal-server-error", NULL, NULL);
		return;
	}
	p.item = item_bytes.data;
	p.item_len = item_bytes.len;
	pep_node_publish(pep, o, &p);
	buf_free(&item_bytes);
}

/* §6.5 retrieve items: all, the most recent max_items, or by id. */
static void pep_run_items(struct pep *pep, struct pep_owner *o,
			  struct pep_request *r, struct xml_node *items)
{
	const char *node = xml_attr_get(items, "node");
	const char *max = xml_attr_get(items, "max_items");
	char *end = NULL;
	long n = max ? strtol(max, &end, 10) : 0;
	if (max && (end == max || *end || n < 1)) {
		pep_request_fail(r, "bad-request", NULL,
				 "max_items is a positive number");
		return;
	}
	const char *one = NULL;
	for (struct xml_node *it = xml_child(items, NS_PUBSUB, "item"); it;
	     it = xml_next(it, NS_PUBSUB, "item")) {
		const char *id = xml_attr_get(it, "id");
		char **only =
			id ? realloc(r->only, (r->nonly + 1) * sizeof *only)
			   : NULL;
		if (!only || !(only[r->nonly] = strdup(id))) {
			if (only)
				r->only = only;
			pep_request_fail(
				r, id ? "internal-server-error" : "bad-request",
				NULL, NULL);
			return;
		}
		r->only = only;
		one = r->nonly++ ? NULL : id;
	}
	pep_node_items(pep, o, node, r->nonly == 1 ? one : NULL, (size_t)n,
		       pep_request_items_done, r);
}

/* §8.2 configure: the form, or a submitted one. */
static void pep_run_configure(struct pep *pep, struct pep_owner *o,
			      struct pep_request *r, struct stanza *st,
			      struct xml_node *configure)
{
	const char *node = xml_attr_get(configure, "node");
	struct pep_node *n = pep_store_find_node(o, node);
	struct xml_node *form = xml_child(configure, NS_DATA, "x");
	if (!n) {
		pep_request_fail(r, "item-not-found", NULL, NULL);
		return;
	}
	if (sm_stanza_is_type(st, "get")) {
		/* §8.2.1, Example 126. */
		struct arena *a = st->arena;
		struct xml_node *res = sm_stanza_result_new(st);
		struct xml_node *p =
			res ? xml_add_child(a, res, NS_PUBSUB_OWNER, "pubsub")
			    : NULL;
		struct xml_node *c =
			p ? xml_add_child(a, p, NS_PUBSUB_OWNER, "configure")
			  : NULL;
		if (c && xml_set_attr(a, c, "node", node) == 0 &&
		    pep_config_add_form(a, c, &n->config) == 0)
			sm_deliver_xml(pep->sm, res);
		pep_request_free(r);
		return;
	}
	struct pep_options options = {0};
	const char *why;
	options.config = n->config;
	const char *type = form ? xml_attr_get(form, "type") : NULL;
	if (type && strcmp(type, "cancel") == 0) {
		/* §8.2.6: "the service MUST ... leave the configuration
		 * unchanged" and answer with success. */
		pep_request_done(pep->sm, r, NULL);
		return;
	}
	if (!form ||
	    pep_config_read_form(pep, form, NS_PUBSUB "#node_config",
				 &options.config, &options.fields, &why) < 0) {
		/* §8.2.5.4: "If the form is not valid, the service MUST
		 * return a <bad-request/> error" (not-acceptable for a
		 * value it cannot accept, as Prosody answers). */
		pep_request_fail(r, form ? "not-acceptable" : "bad-request",
				 NULL,
				 form ? "a field of the configuration form "
					"is not acceptable"
				      : "no configuration form");
		return;
	}
	pep_node_configure(pep, o, node, &options, pep_request_done, r);
}

/* Items are the one thing others may do; the node's access model says
 * whether they may (XEP-0060 §6.5.9). */
static bool pep_access_allowed(struct pep_request *r, struct pep_owner *o,
			       const char *node)
{
	struct pep_node *n = pep_store_find_node(o, node);
	if (r->relation == PEP_OWNER || !n)
		return true; /* item-not-found follows for a missing node */
	if (n->config.access == PEP_ACCESS_WHITELIST) {
		/* §6.5.9.? "Not on Whitelist": not-allowed, closed-node. */
		pep_request_fail(r, "not-allowed", "closed-node", NULL);
		return false;
	}
	if (n->config.access == PEP_ACCESS_PRESENCE &&
	    r->relation != PEP_CONTACT) {
		/* §6.5.9.? "Presence Subscription Required": not-authorized,
		 * presence-subscription-required. */
		pep_request_fail(r, "not-authorized",
				 "presence-subscription-required", NULL);
		return false;
	}
	return true;
}

/* XEP-0060 §4.1: only the owner publishes, retracts, deletes and
 * configures; anyone else is forbidden. */
static bool pep_owner_only(struct pep_request *r)
{
	if (r->relation == PEP_OWNER)
		return true;
	pep_request_fail(r, "forbidden", NULL, NULL);
	return false;
}

static void pep_run_pubsub(struct pep *pep, struct pep_owner *o,
			   struct pep_request *r, struct stanza *st)
{
	struct xml_node *p = st->payload, *c;
	bool set = sm_stanza_is_type(st, "set");
	if (set && (c = xml_child(p, NS_PUBSUB, "publish"))) {
		if (pep_owner_only(r))
			pep_run_publish(pep, o, r, p, c);
	} else if (set && (c = xml_child(p, NS_PUBSUB, "retract"))) {
		const char *notify = xml_attr_get(c, "notify");
		struct xml_node *it = xml_child(c, NS_PUBSUB, "item");
		const char *id = it ? xml_attr_get(it, "id") : NULL;
		if (!pep_owner_only(r))
			return;
		if (!id)
			pep_request_fail(r, "bad-request", "item-required",
					 NULL); /* §7.2.3.3 */
		else
			pep_node_retract(pep, o, xml_attr_get(c, "node"), id,
					 !notify ||
						 strcmp(notify, "true") == 0 ||
						 strcmp(notify, "1") == 0,
					 pep_request_done, r);
	} else if (!set && (c = xml_child(p, NS_PUBSUB, "items"))) {
		if (pep_access_allowed(r, o, xml_attr_get(c, "node")))
			pep_run_items(pep, o, r, c);
	} else {
		/* §5.1 … : subscriptions are implicit in PEP (XEP-0163
		 * §4): feature-not-implemented, unsupported. */
		struct xml_node *first = xml_child(p, NULL, NULL);
		pep_request_fail(r, "feature-not-implemented", "unsupported",
				 first ? first->name : NULL);
	}
}

static void pep_run_owner(struct pep *pep, struct pep_owner *o,
			  struct pep_request *r, struct stanza *st)
{
	struct xml_node *p = st->payload, *c;
	if (!pep_owner_only(r))
		return;
	if ((c = xml_child(p, NS_PUBSUB_OWNER, "configure")))
		pep_run_configure(pep, o, r, st, c);
	else if (sm_stanza_is_type(st, "set") &&
		 (c = xml_child(p, NS_PUBSUB_OWNER, "delete")))
		pep_node_delete(pep, o, xml_attr_get(c, "node"),
				pep_request_done, r);
	else
		pep_request_fail(r, "feature-not-implemented", NULL, NULL);
}

/* Every element that names a node must name one: XEP-0060 §7.1.3.3,
 * "nodeid-required" (bad-request). Each child but the publish-options
 * (the one acted on need not be the first: <items node='x'/><publish/>
 * would publish to no node). */
static bool pep_request_names_node(const struct stanza *st)
{
	struct xml_node *c = xml_child(st->payload, NULL, NULL);
	if (!c)
		return false;
	for (; c; c = xml_next(c, NULL, NULL)) {
		const char *node = xml_attr_get(c, "node");
		if (strcmp(c->name, "publish-options") != 0 &&
		    (!node || !node[0] || strlen(node) > PEP_NAME_MAX))
			return false;
	}
	return true;
}

static void pep_request_run(struct pep *pep, struct pep_owner *o, void *ctx)
{
	struct pep_request *r = ctx;
	struct stanza st;
	if (pep_request_stanza(r, &st) < 0) {
		pep_request_free(r);
		return;
	}
	if (!o)
		pep_request_fail(r, "internal-server-error", NULL, NULL);
	else if (!pep_request_names_node(&st))
		pep_request_fail(r, "bad-request", "nodeid-required", NULL);
	else if (strcmp(st.payload->ns, NS_PUBSUB) == 0)
		pep_run_pubsub(pep, o, r, &st);
	else
		pep_run_owner(pep, o, r, &st);
}

/* ------------------------------------------------------------ hooks */

static enum pep_relation pep_relation_of(const struct stanza *st,
					 const char *owner)
{
	char from[JID_MAX + 1];
	if (!st->from)
		return PEP_STRANGER;
	jid_format_bare(st->from, from);
	if (strcmp(from, owner) == 0)
		return PEP_OWNER;
	struct roster *ros = st->to_user ? sm_roster_of(st->to_user) : NULL;
	struct roster_item *it = ros ? sm_roster_find(ros, from) : NULL;
	return it && it->sub & ROSTER_SUB_FROM ? PEP_CONTACT : PEP_STRANGER;
}

static enum sm_verdict pep_iq(struct sm_event *ev, void *data)
{
	struct pep *pep = data;
	struct stanza *st = ev->st;
	if (!sm_stanza_is_type(st, "get") && !sm_stanza_is_type(st, "set"))
		return SM_NEXT;
	if (!st->to_user)
		return SM_NEXT;
	const char *owner = st->to_user->jid;
	if (pep_store_owner_full(pep, owner)) {
		sm_deliver_error(ev->sm, st, "resource-constraint");
		return SM_DONE;
	}
	if (sm_send_serialize(ev->sm, st->xml) < 0)
		return SM_DONE;
	struct pep_request *r = calloc(1, sizeof *r + ev->sm->out.len);
	if (!r) {
		sm_deliver_error(ev->sm, st, "resource-constraint");
		return SM_DONE;
	}
	r->pep = pep;
	r->relation = pep_relation_of(st, owner);
	r->len = ev->sm->out.len;
	memcpy(r->bytes, ev->sm->out.data, r->len);
	if (pep_store_with_owner(pep, owner, pep_request_run, r) < 0) {
		free(r);
		sm_deliver_error(ev->sm, st, "resource-constraint");
	}
	return SM_DONE;
}

/* ------------------------------------------------------------ module */

static int pep_init(struct sm *sm)
{
	struct pep *pep = calloc(1, sizeof *pep);
	if (!pep)
		return -1;
	pep->sm = sm;
	pep_store_init(pep);
	sm_module_set_data(sm, &sm_module_pep, pep);
	pep->max_items = (unsigned)sm_module_option_integer(
		sm->cfg, &sm_module_pep, "pep-max-items");
	pep->max_item_bytes = (size_t)sm_module_option_integer(
		sm->cfg, &sm_module_pep, "pep-max-item-bytes");
	pep->max_nodes = (size_t)sm_module_option_integer(
		sm->cfg, &sm_module_pep, "pep-max-nodes");
	pep->quota_bytes = (size_t)sm_module_option_integer(
		sm->cfg, &sm_module_pep, "pep-quota-bytes");
	snprintf(pep->quota_text, sizeof pep->quota_text,
		 "the account's PEP items would exceed its quota of %zu "
		 "bytes (pep-quota-bytes)",
		 pep->quota_bytes);
	if (sm_module_hook(sm, SM_EV_IQ_BARE, NS_PUBSUB, 0, pep_iq, pep) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_BARE, NS_PUBSUB_OWNER, 0, pep_iq, pep) <
		    0 ||
	    pep_notify_init(pep) < 0)
		return -1;
	return 0;
}

static void pep_free(struct sm *sm)
{
	struct pep *pep = pep_of(sm);
	if (!pep)
		return;
	pep_store_free_all(pep);
	pep_notify_free_remotes(pep);
	for (size_t i = 0; i < pep->nlisteners; i++)
		free(pep->listeners[i].node);
	free(pep->listeners);
	buf_free(&pep->out);
	free(pep);
	sm_module_set_data(sm, &sm_module_pep, NULL);
}

static const struct sm_option pep_options[] = {{.name = "pep-max-items",
						.type = SM_OPTION_INTEGER,
						.min = 1,
						.max = 10000,
						.def = 256},
					       {.name = "pep-max-item-bytes",
						.type = SM_OPTION_INTEGER,
						.min = 1024,
						.max = 16L << 20,
						.def = 256L << 10},
					       {.name = "pep-max-nodes",
						.type = SM_OPTION_INTEGER,
						.min = 1,
						.max = 10000,
						.def = 256},
					       /* Real use with room to spare:
						* OMEMO (a device list, a bundle
						* of ~100 prekeys, some KB, per
						* device), XEP-0084 avatars (one
						* item of up to
						* pep-max-item-bytes, replaced),
						* XEP-0402 bookmarks (~200 bytes
						* a room), nick, mood: under
						* 1 MiB for a heavy user. */
					       {.name = "pep-quota-bytes",
						.type = SM_OPTION_INTEGER,
						.min = 64L << 10,
						.max = 1L << 30,
						.def = 8L << 20},
					       {0}};

/* XEP-0060 §10 features of what is implemented; XEP-0163 §6 asks the
 * account to advertise them, and the server's domain too. #config-node-max
 * (pubsub#max_items 'max', §16.4.3) is what Gajim checks, beside
 * #compat-pep, before it keeps bookmarks in XEP-0402's node. */
static const char *const pep_features[] = {
	NS_PUBSUB "#access-open",
	NS_PUBSUB "#access-presence",
	NS_PUBSUB "#access-whitelist",
	NS_PUBSUB "#auto-create",
	NS_PUBSUB "#auto-subscribe",
	NS_PUBSUB "#config-node",
	NS_PUBSUB "#config-node-max",
	NS_PUBSUB "#delete-items",
	NS_PUBSUB "#delete-nodes",
	NS_PUBSUB "#filtered-notifications",
	NS_PUBSUB "#item-ids",
	NS_PUBSUB "#last-published",
	NS_PUBSUB "#multi-items",
	NS_PUBSUB "#persistent-items",
	NS_PUBSUB "#publish",
	NS_PUBSUB "#publish-options",
	NS_PUBSUB "#retract-items",
	NS_PUBSUB "#retrieve-items",
	NULL,
};

const struct sm_module sm_module_pep = {
	.name = "pep",
	.on_by_default = true,
	.features = pep_features,
	.account_features = pep_features,
	/* XEP-0163 §1: "an account owner's server ... MUST return an
	 * identity of "pubsub/pep"" for the account. */
	.account_identities = (const char *const[]){"pubsub", "pep", NULL},
	.options = pep_options,
	.init = pep_init,
	.free = pep_free,
};
