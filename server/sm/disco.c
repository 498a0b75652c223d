/* disco: XEP-0030 Service Discovery for the server and, on their
 * behalf, for its users' accounts. disco#info lists exactly the
 * features of the modules that are on, as each declares them
 * (struct sm_module's features). */
#include <string.h>

#include "../../lib/config.h"
#include "delivery.h"
#include "module.h"
#include "roster.h"
#include "sm.h"
#include "stanza.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

static struct xml_node *identity_add(struct arena *a, struct xml_node *q,
				     const char *category, const char *type)
{
	struct xml_node *id = xml_add_child(a, q, NS_DISCO_INFO, "identity");
	if (!id || xml_set_attr(a, id, "category", category) < 0 ||
	    xml_set_attr(a, id, "type", type) < 0)
		return NULL;
	return id;
}

static int feature_add(struct arena *a, struct xml_node *q, const char *var)
{
	struct xml_node *f = xml_add_child(a, q, NS_DISCO_INFO, "feature");
	return f ? xml_set_attr(a, f, "var", var) : -1;
}

/* The result with an empty <query/> in ns, the request's node kept
 * (XEP-0030 §3.1). NULL when the request was answered already. */
static struct xml_node *query_result(struct sm_event *ev, const char *ns,
				     struct xml_node **query)
{
	struct stanza *st = ev->st;
	if (!sm_stanza_is_type(st, "get")) {
		sm_deliver_error(ev->sm, st, "bad-request");
		return NULL;
	}
	const char *node = xml_attr_get(st->payload, "node");
	if (node) {
		/* No nodes here yet. */
		sm_deliver_error(ev->sm, st, "item-not-found");
		return NULL;
	}
	struct xml_node *r = sm_stanza_result_new(st);
	*query = r ? xml_add_child(st->arena, r, ns, "query") : NULL;
	return *query ? r : NULL;
}

/* Adds the features (the module's list `account` or not) of every
 * module on that serves domain. */
static int features_add(struct sm_event *ev, struct xml_node *q,
			const char *domain, bool account)
{
	const struct config_host *host = config_find_host(ev->sm->cfg, domain);
	const struct sm_module_registry *m = &ev->sm->modules;
	for (size_t i = 0; i < m->nloaded; i++) {
		const struct sm_module *mod = m->loaded[i].module;
		if (!sm_module_serves(ev->sm->cfg, mod, host))
			continue;
		for (const char *const *f = account ? mod->account_features
						    : mod->features;
		     f && *f; f++)
			if (feature_add(ev->st->arena, q, *f) < 0)
				return -1;
	}
	return 0;
}

/* The identities (category, type pairs) of every module on that
 * serves domain, for an account. */
static int identities_add(struct sm_event *ev, struct xml_node *q,
			  const char *domain)
{
	const struct config_host *host = config_find_host(ev->sm->cfg, domain);
	const struct sm_module_registry *m = &ev->sm->modules;
	for (size_t i = 0; i < m->nloaded; i++) {
		const struct sm_module *mod = m->loaded[i].module;
		if (!sm_module_serves(ev->sm->cfg, mod, host))
			continue;
		for (const char *const *id = mod->account_identities;
		     id && id[0] && id[1]; id += 2)
			if (!identity_add(ev->st->arena, q, id[0], id[1]))
				return -1;
	}
	return 0;
}

/* XEP-0030 §3.1: the server is category 'server', type 'im'. */
static enum sm_verdict info_host(struct sm_event *ev, void *data)
{
	struct arena *a = ev->st->arena;
	struct xml_node *q, *r = query_result(ev, NS_DISCO_INFO, &q);
	if (r && identity_add(a, q, "server", "im") &&
	    features_add(ev, q, ev->st->to->domain, false) == 0)
		sm_deliver_xml(ev->sm, r);
	return SM_DONE;
}

static enum sm_verdict items_host(struct sm_event *ev, void *data)
{
	struct xml_node *q, *r = query_result(ev, NS_DISCO_ITEMS, &q);
	if (r)
		sm_deliver_xml(ev->sm, r);
	return SM_DONE;
}

/* The account's domain: 'to', or without it the sender's (RFC 6120
 * §10.3.3), which sm_stanza_to_self allowed. */
static const char *account_domain(const struct stanza *st)
{
	return st->to ? st->to->domain : st->from ? st->from->domain : "";
}

/* Who may disco an account: its own resources, and (XEP-0163 §1: a
 * contact discovers the account's PEP support, identity pubsub/pep)
 * the contacts subscribed to its presence (from or both), as Prosody
 * answers; others learn nothing of it (XEP-0030 §3.1's
 * service-unavailable for an entity that does not disclose). */
static bool account_visible(const struct stanza *st)
{
	if (sm_stanza_to_self(st))
		return true;
	struct roster *r = st->to_user ? sm_roster_of(st->to_user) : NULL;
	char from[JID_MAX + 1];
	if (!r || !st->from)
		return false;
	jid_format_bare(st->from, from);
	struct roster_item *it = sm_roster_find(r, from);
	return it && it->sub & ROSTER_SUB_FROM;
}

/* The server answers for an account (XEP-0030 §3.1, identity
 * account/registered, and the identities of the modules on). */
static enum sm_verdict info_account(struct sm_event *ev, void *data)
{
	if (!account_visible(ev->st)) {
		sm_deliver_error(ev->sm, ev->st, "service-unavailable");
		return SM_DONE;
	}
	struct arena *a = ev->st->arena;
	struct xml_node *q, *r = query_result(ev, NS_DISCO_INFO, &q);
	if (r && identity_add(a, q, "account", "registered") &&
	    identities_add(ev, q, account_domain(ev->st)) == 0 &&
	    feature_add(a, q, NS_DISCO_INFO) == 0 &&
	    features_add(ev, q, account_domain(ev->st), true) == 0)
		sm_deliver_xml(ev->sm, r);
	return SM_DONE;
}

static enum sm_verdict items_account(struct sm_event *ev, void *data)
{
	if (!account_visible(ev->st)) {
		sm_deliver_error(ev->sm, ev->st, "service-unavailable");
		return SM_DONE;
	}
	struct xml_node *q, *r = query_result(ev, NS_DISCO_ITEMS, &q);
	if (r)
		sm_deliver_xml(ev->sm, r);
	return SM_DONE;
}

static int disco_init(struct sm *sm)
{
	if (sm_module_hook(sm, SM_EV_IQ_HOST, NS_DISCO_INFO, 0, info_host,
			   NULL) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_HOST, NS_DISCO_ITEMS, 0, items_host,
			   NULL) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_BARE, NS_DISCO_INFO, 0, info_account,
			   NULL) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_BARE, NS_DISCO_ITEMS, 0, items_account,
			   NULL) < 0)
		return -1;
	return 0;
}

const struct sm_module sm_module_disco = {
	.name = "disco",
	.on_by_default = true,
	.features = (const char *const[]){NS_DISCO_INFO, NS_DISCO_ITEMS, NULL},
	.init = disco_init,
};
