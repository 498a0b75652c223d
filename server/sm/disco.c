/* disco: XEP-0030 Service Discovery for the server and, on their
 * behalf, for its users' accounts. disco#info lists exactly the
 * features of the modules that are on, as each declares them
 * (struct sm_module's features), and the forms they add: each host's
 * is built once, at start (disco_info.c), with its XEP-0115 ver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/config.h"
#include "delivery.h"
#include "disco_info.h"
#include "module.h"
#include "roster.h"
#include "sm.h"
#include "stanza.h"

#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

extern const struct sm_module sm_module_disco;

/* A host's disco#info, and the caps node that names it (XEP-0115 §4:
 * SM_CAPS_NODE#ver). */
struct disco_host {
	struct xml_node *info;
	char node[sizeof SM_CAPS_NODE + CAPS_VER_SIZE];
};

struct disco {
	struct arena arena; /* the hosts' queries */
	struct disco_host hosts[CONFIG_MAX_HOSTS];
};

/* The result with an empty <query/> in ns, the request's node kept
 * (XEP-0030 §3.1): none, or `node` when not NULL. NULL when the request
 * was answered already. */
static struct xml_node *query_result(struct sm_event *ev, const char *ns,
				     struct xml_node **query, const char *node)
{
	struct stanza *st = ev->st;
	if (!sm_stanza_is_type(st, "get")) {
		sm_deliver_error(ev->sm, st, "bad-request");
		return NULL;
	}
	const char *asked = xml_attr_get(st->payload, "node");
	if (asked && (!node || strcmp(asked, node) != 0)) {
		sm_deliver_error(ev->sm, st, "item-not-found");
		return NULL;
	}
	struct xml_node *r = sm_stanza_result_new(st);
	*query = r ? xml_add_child(st->arena, r, ns, "query") : NULL;
	if (*query && asked &&
	    xml_set_attr(st->arena, *query, "node", asked) < 0)
		return NULL;
	return *query ? r : NULL;
}

/* XEP-0030 §3.1: the host's query as built at start; XEP-0115 §6.2:
 * the same under the caps node that names it. */
static enum sm_verdict info_host(struct sm_event *ev, void *data)
{
	const struct disco *d = data;
	const struct config *cfg = ev->sm->cfg;
	const struct config_host *h = config_find_host(cfg, ev->st->to->domain);
	if (!h)
		return SM_NEXT;
	const struct disco_host *host = &d->hosts[h - cfg->hosts];
	struct xml_node *q,
		*r = query_result(ev, NS_DISCO_INFO, &q, host->node);
	if (!r)
		return SM_DONE;
	for (struct xml_node *c = host->info->children; c; c = c->next) {
		struct xml_node *copy = xml_copy(ev->st->arena, c);
		if (!copy)
			return SM_DONE;
		xml_append_child(q, copy);
	}
	sm_deliver_xml(ev->sm, r);
	return SM_DONE;
}

/* Whether name is domain's subdomain ("conference.example.org" of
 * "example.org"). */
static bool is_subdomain(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);
	return n > d + 1 && name[n - d - 1] == '.' &&
	       strcmp(name + n - d, domain) == 0;
}

/* Whether a room service belongs in domain's items: its subdomains,
 * and a service that is the subdomain of no host in every host's. */
static bool muc_service_listed(const struct config *cfg, const char *service,
			       const char *domain)
{
	if (is_subdomain(service, domain))
		return true;
	for (size_t i = 0; i < cfg->nhosts; i++)
		if (is_subdomain(service, cfg->hosts[i].domain))
			return false;
	return true;
}

/* XEP-0030 §4 on the domain: its room services (XEP-0045 §6.1: how
 * clients find a conference service). */
static enum sm_verdict items_host(struct sm_event *ev, void *data)
{
	struct xml_node *q, *r = query_result(ev, NS_DISCO_ITEMS, &q, NULL);
	const struct config_muc *muc = &ev->sm->cfg->muc;
	const char *domain = ev->st->to ? ev->st->to->domain : "";
	for (size_t i = 0; r && muc->enabled && i < muc->nservices; i++) {
		if (!muc_service_listed(ev->sm->cfg, muc->services[i], domain))
			continue;
		struct xml_node *item =
			xml_add_child(ev->st->arena, q, NS_DISCO_ITEMS, "item");
		if (!item || xml_set_attr(ev->st->arena, item, "jid",
					  muc->services[i]) < 0)
			return SM_DONE;
	}
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

/* An account shows itself to its own resources and (so that a
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
	const struct config *cfg = ev->sm->cfg;
	const struct config_host *host =
		config_find_host(cfg, account_domain(ev->st));
	struct xml_node *q, *r = query_result(ev, NS_DISCO_INFO, &q, NULL);
	if (r && sm_disco_add_identity(a, q, "account", "registered") == 0 &&
	    sm_disco_add_account_identities(a, q, cfg, host) == 0 &&
	    sm_disco_add_feature(a, q, NS_DISCO_INFO) == 0 &&
	    sm_disco_add_features(a, q, cfg, host, true) == 0)
		sm_deliver_xml(ev->sm, r);
	return SM_DONE;
}

static enum sm_verdict items_account(struct sm_event *ev, void *data)
{
	if (!account_visible(ev->st)) {
		sm_deliver_error(ev->sm, ev->st, "service-unavailable");
		return SM_DONE;
	}
	struct xml_node *q, *r = query_result(ev, NS_DISCO_ITEMS, &q, NULL);
	if (r)
		sm_deliver_xml(ev->sm, r);
	return SM_DONE;
}

static int disco_init(struct sm *sm)
{
	struct disco *d = calloc(1, sizeof *d);
	if (!d)
		return -1;
	sm_module_set_data(sm, &sm_module_disco, d);
	for (size_t h = 0; h < sm->cfg->nhosts; h++) {
		char ver[CAPS_VER_SIZE];
		d->hosts[h].info = sm_disco_host_info(&d->arena, sm->cfg, h);
		if (!d->hosts[h].info)
			return -1;
		sm_disco_host_ver(sm->cfg, h, ver);
		snprintf(d->hosts[h].node, sizeof d->hosts[h].node, "%s#%s",
			 SM_CAPS_NODE, ver);
	}
	if (sm_module_hook(sm, SM_EV_IQ_HOST, NS_DISCO_INFO, 0, info_host, d) <
		    0 ||
	    sm_module_hook(sm, SM_EV_IQ_HOST, NS_DISCO_ITEMS, 0, items_host,
			   NULL) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_BARE, NS_DISCO_INFO, 0, info_account,
			   NULL) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_BARE, NS_DISCO_ITEMS, 0, items_account,
			   NULL) < 0)
		return -1;
	return 0;
}

static void disco_free(struct sm *sm)
{
	struct disco *d = sm_module_data(sm, &sm_module_disco);
	if (d)
		arena_reset(&d->arena);
	free(d);
	sm_module_set_data(sm, &sm_module_disco, NULL);
}

const struct sm_module sm_module_disco = {
	.name = "disco",
	.on_by_default = true,
	.features = (const char *const[]){NS_DISCO_INFO, NS_DISCO_ITEMS, NULL},
	.init = disco_init,
	.free = disco_free,
};
