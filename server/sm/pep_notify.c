/* pep_notify: who hears of a PEP node (XEP-0163 §4), and the last item
 * sent to a resource that becomes available (§4.3).
 *
 * XEP-0163 §4: notifications go to the owner's available resources and
 * to the contacts with a presence subscription (from or both), and
 * "the PEP service MUST send a notification only to those of the
 * contact's resources that have advertised support for the
 * NODE+notify feature" in their XEP-0115 caps (XEP-0060 §9.2, filtered
 * notifications). A whitelist node (the owner alone) notifies the owner
 * only.
 *
 * A local contact's resources and their caps are its sessions'. A
 * remote contact's are learnt from the presence the owner receives
 * while online: kept per owner (at most PEP_REMOTES_MAX resources,
 * PEP_REMOTES_PER_CONTACT of one contact), dropped with the owner's
 * last session. A remote contact that comes online while the owner is
 * offline sends its presence to nobody here: it hears of the owner's
 * nodes at the owner's next publish, or when the owner, back online,
 * probes it and it answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "caps.h"
#include "delivery.h"
#include "pep_node.h"
#include "roster.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

/* Remote resources kept per owner, and of one contact (a bare JID):
 * one contact's server cannot crowd the others out. */
#define PEP_REMOTES_MAX 256
#define PEP_REMOTES_PER_CONTACT 16

struct pep_remote {
	char *jid; /* full */
	struct caps_entry *caps;
};

/* An owner's remote contacts' available resources. */
struct pep_remotes {
	struct hash_link link; /* in pep->remotes */
	char *owner;
	struct pep_remote *res;
	size_t n;
};

/* ------------------------------------------------------------ sending */

/* XEP-0163 §4.2 (Example 6): a headline message from the owner's bare
 * JID to one full JID, with the event. */
static void pep_notify_send(struct pep *pep, const char *owner, const char *to,
			    const struct xml_node *event)
{
	struct arena *a = &pep->sm->arena;
	struct xml_node *m = xml_node_new(a, XML_NS_CLIENT, "message");
	struct xml_node *e = m ? xml_copy(a, event) : NULL;
	char id[24];
	snprintf(id, sizeof id, "pep-%u", ++pep->seq);
	if (!e || xml_set_attr(a, m, "from", owner) < 0 ||
	    xml_set_attr(a, m, "to", to) < 0 ||
	    xml_set_attr(a, m, "type", "headline") < 0 ||
	    xml_set_attr(a, m, "id", id) < 0)
		return;
	xml_append_child(m, e);
	sm_deliver_xml(pep->sm, m);
}

static void pep_notify_sessions(struct pep *pep, const char *owner,
				const struct user *u, const struct pep_node *n,
				const struct xml_node *event)
{
	for (struct session *s = u ? u->sessions : NULL; s; s = s->next)
		if (sm_session_available(s) && !s->ending &&
		    caps_wants_notify(s->caps, n->name))
			pep_notify_send(pep, owner, s->jid, event);
}

/* ------------------------------------------------------------ remotes */

static struct pep_remotes *remotes_of(const struct hash_link *l)
{
	return hash_entry(l, struct pep_remotes, link);
}

static uint64_t pep_remotes_hash(const struct hash_link *l)
{
	return hash_string(remotes_of(l)->owner);
}

static bool pep_remotes_match(const struct hash_link *l, const void *owner)
{
	return strcmp(remotes_of(l)->owner, owner) == 0;
}

static struct pep_remotes *pep_remotes_find(struct pep *pep, const char *owner)
{
	struct hash_link *l = hash_table_find(&pep->remotes, hash_string(owner),
					      pep_remotes_match, owner);
	return l ? remotes_of(l) : NULL;
}

static void pep_remotes_free(struct pep *pep, struct pep_remotes *r)
{
	hash_table_remove(&pep->remotes, &r->link);
	for (size_t i = 0; i < r->n; i++) {
		caps_release(pep->sm, r->res[i].caps);
		free(r->res[i].jid);
	}
	free(r->res);
	free(r->owner);
	free(r);
}

void pep_notify_free_remotes(struct pep *pep)
{
	struct hash_link *l, *next;
	hash_table_for_each(&pep->remotes, l, next)
	{
		pep_remotes_free(pep, remotes_of(l));
	}
	hash_table_free(&pep->remotes);
}

static struct pep_remote *pep_remote_find(struct pep_remotes *r,
					  const char *jid)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (strcmp(r->res[i].jid, jid) == 0)
			return &r->res[i];
	return NULL;
}

/* How many of r's resources are of the bare JID of full JID jid. */
static size_t pep_remotes_of_contact(const struct pep_remotes *r,
				     const char *jid)
{
	size_t bare = strcspn(jid, "/"), n = 0;
	for (size_t i = 0; r && i < r->n; i++)
		if (strncmp(r->res[i].jid, jid, bare) == 0 &&
		    r->res[i].jid[bare] == '/')
			n++;
	return n;
}

/* Whether bare is a contact of owner's with a subscription from or
 * both (owner loaded: it is online, or being handled). */
static bool pep_notify_subscribed(struct pep *pep, const char *owner,
				  const char *bare)
{
	struct user *u = sm_userdata_user(pep->sm, owner);
	struct roster *r = u ? sm_roster_of(u) : NULL;
	struct roster_item *it = r ? sm_roster_find(r, bare) : NULL;
	return it && it->sub & ROSTER_SUB_FROM;
}

static bool pep_notify_remote_allowed(struct pep *pep, const char *owner,
				      const char *full)
{
	struct jid j;
	char bare[JID_MAX + 1];
	if (jid_parse_str(&j, full) < 0)
		return false;
	jid_format_bare(&j, bare);
	return pep_notify_subscribed(pep, owner, bare);
}

/* ------------------------------------------------------------ events */

void pep_notify_event(struct pep *pep, const char *owner,
		      const struct pep_node *n, const struct xml_node *event)
{
	struct sm *sm = pep->sm;
	struct user *u = sm_userdata_user(sm, owner);
	pep_notify_sessions(pep, owner, u, n, event);
	struct roster *r = u ? sm_roster_of(u) : NULL;
	if (!r || n->config.access == PEP_ACCESS_WHITELIST)
		return;
	for (struct roster_item *it = sm_roster_next(r, NULL); it;
	     it = sm_roster_next(r, it)) {
		struct jid j;
		if (!(it->sub & ROSTER_SUB_FROM) ||
		    jid_parse_str(&j, it->jid) < 0 || !sm_serves(sm, j.domain))
			continue;
		pep_notify_sessions(
			pep, owner,
			sm_session_user_find(&sm->sessions, it->jid), n, event);
	}
	struct pep_remotes *rs = pep_remotes_find(pep, owner);
	for (size_t i = 0; rs && i < rs->n; i++)
		if (caps_wants_notify(rs->res[i].caps, n->name) &&
		    pep_notify_remote_allowed(pep, owner, rs->res[i].jid))
			pep_notify_send(pep, owner, rs->res[i].jid, event);
}

/* ------------------------------------------------------------ last item */

/* The caps of full JID jid as seen by owner: a local session's, or a
 * remote resource's that owner tracks. */
static struct caps_entry *pep_notify_caps_of(struct pep *pep, const char *owner,
					     const char *jid)
{
	struct jid j;
	if (jid_parse_str(&j, jid) < 0)
		return NULL;
	if (sm_serves(pep->sm, j.domain)) {
		char bare[JID_MAX + 1];
		jid_format_bare(&j, bare);
		struct session *s = sm_session_find(
			sm_session_user_find(&pep->sm->sessions, bare),
			j.resource);
		return s && sm_session_available(s) ? s->caps : NULL;
	}
	struct pep_remote *r =
		pep_remote_find(pep_remotes_find(pep, owner), jid);
	return r ? r->caps : NULL;
}

/* A last item on its way to jid. */
struct pep_last {
	struct pep *pep;
	char *owner;
	char *node;
	bool payload; /* the node's pubsub#deliver_payloads */
	char jid[];
};

static void pep_last_free(struct pep_last *l)
{
	free(l->owner);
	free(l->node);
	free(l);
}

static void pep_last_items_done(struct sm *sm, void *ctx,
				const struct pep_error *err,
				const struct storage_items *items)
{
	struct pep_last *l = ctx;
	struct arena *a = &sm->arena;
	struct xml_node *e = xml_node_new(a, NS_PUBSUB_EVENT, "event");
	struct xml_node *its =
		e ? xml_add_child(a, e, NS_PUBSUB_EVENT, "items") : NULL;
	/* XEP-0060 §6.1.7: the last item is sent as a notification is,
	 * without its payload when deliver_payloads is false. */
	struct xml_node *it =
		!err && items->count
			? pep_node_event_item(
				  l->pep, items->items[items->count - 1].value,
				  items->items[items->count - 1].value_len,
				  l->payload)
			: NULL;
	if (it && its && xml_set_attr(a, its, "node", l->node) == 0) {
		xml_append_child(its, it);
		pep_notify_send(l->pep, l->owner, l->jid, e);
	}
	pep_last_free(l);
}

/* §4.3.? (XEP-0060 §6.1.7 "on_sub_and_presence"): the last item of
 * each node jid's caps ask for, that jid may see. */
static void pep_last_run(struct pep *pep, struct pep_owner *o, void *ctx)
{
	struct pep_last *l = ctx;
	const struct caps_entry *caps =
		o ? pep_notify_caps_of(pep, l->owner, l->jid) : NULL;
	struct jid j;
	char bare[JID_MAX + 1];
	bool self = jid_parse_str(&j, l->jid) == 0 &&
		    (jid_format_bare(&j, bare), strcmp(bare, l->owner) == 0);
	for (size_t i = 0; caps && i < o->nnodes; i++) {
		struct pep_node *n = o->nodes[i];
		struct pep_last *one;
		if (!n->nids ||
		    n->config.send_last != PEP_SEND_LAST_ON_SUB_AND_PRESENCE ||
		    (!self && n->config.access == PEP_ACCESS_WHITELIST) ||
		    !caps_wants_notify(caps, n->name) ||
		    !(one = calloc(1, sizeof *one + strlen(l->jid) + 1)))
			continue;
		*one = (struct pep_last){pep, strdup(l->owner), strdup(n->name),
					 n->config.deliver_payloads};
		strcpy(one->jid, l->jid);
		if (!one->owner || !one->node) {
			pep_last_free(one);
			continue;
		}
		pep_node_items(pep, o, n->name, n->ids[n->nids - 1], 1,
			       pep_last_items_done, one);
	}
	pep_last_free(l);
}

/* XEP-0163 §4.3.1: "the PEP service MUST send the last published item
 * ... when it receives presence from the contact" (and from the
 * owner's own resources, §4.3.2's "account owner's resource"): to jid,
 * of owner's nodes. The caller checked that jid may see them. */
static void pep_notify_last(struct pep *pep, const char *owner, const char *jid)
{
	struct pep_last *l = calloc(1, sizeof *l + strlen(jid) + 1);
	if (!l || !(l->owner = strdup(owner))) {
		free(l);
		return;
	}
	l->pep = pep;
	strcpy(l->jid, jid);
	if (pep_store_with_owner(pep, owner, pep_last_run, l) < 0)
		pep_last_free(l);
}

/* A local session that is available with verified caps: its own
 * account's nodes, and those of the local contacts it is subscribed
 * to (RFC 6121: its subscription "to" is their "from"). */
static void pep_notify_session_ready(struct pep *pep, struct session *s)
{
	struct sm *sm = pep->sm;
	pep_notify_last(pep, s->user->jid, s->jid);
	struct roster *r = sm_roster_of(s->user);
	for (struct roster_item *it = r ? sm_roster_next(r, NULL) : NULL; it;
	     it = sm_roster_next(r, it)) {
		struct jid j;
		if (it->sub & ROSTER_SUB_TO &&
		    jid_parse_str(&j, it->jid) == 0 && sm_serves(sm, j.domain))
			pep_notify_last(pep, it->jid, s->jid);
	}
}

/* ------------------------------------------------------------ hooks */

static enum sm_verdict pep_notify_broadcast(struct sm_event *ev, void *data)
{
	struct session *s = ev->session;
	/* Caps not verified yet: pep_notify_caps_resolved follows. */
	if (ev->initial && sm_session_available(s) && caps_verified(s->caps))
		pep_notify_session_ready(data, s);
	return SM_NEXT;
}

/* A remote resource of owner's contact, tracked from its presence. */
static void pep_notify_track(struct pep *pep, struct stanza *st,
			     const char *owner, const char *jid)
{
	struct pep_remotes *r = pep_remotes_find(pep, owner);
	struct pep_remote *res = pep_remote_find(r, jid);
	if (sm_stanza_is_type(st, "unavailable")) {
		if (res) {
			caps_release(pep->sm, res->caps);
			free(res->jid);
			*res = r->res[--r->n];
		}
		return;
	}
	/* No room: not even its caps are asked for. */
	if (!res && r &&
	    (r->n >= PEP_REMOTES_MAX ||
	     pep_remotes_of_contact(r, jid) >= PEP_REMOTES_PER_CONTACT))
		return;
	struct caps_entry *caps = caps_learn(pep->sm, st, jid, owner);
	if (res) {
		caps_release(pep->sm, res->caps);
		res->caps = caps;
		return;
	}
	if (!r && (r = calloc(1, sizeof *r)) &&
	    (!(r->owner = strdup(owner)) ||
	     hash_table_insert(&pep->remotes, &r->link, hash_string(owner)) <
		     0)) {
		free(r->owner);
		free(r);
		r = NULL;
	}
	struct pep_remote *more =
		r ? realloc(r->res, (r->n + 1) * sizeof *more) : NULL;
	if (!more || !(more[r->n].jid = strdup(jid))) {
		if (more)
			r->res = more;
		caps_release(pep->sm, caps);
		return;
	}
	r->res = more;
	r->res[r->n++].caps = caps;
	if (caps_verified(caps) && pep_notify_remote_allowed(pep, owner, jid))
		pep_notify_last(pep, owner, jid);
}

/* Presence from a remote entity to a local user. */
static enum sm_verdict pep_notify_presence_in(struct sm_event *ev, void *data)
{
	struct pep *pep = data;
	struct stanza *st = ev->st;
	if (!st->from || !st->to_user || sm_serves(ev->sm, st->from->domain) ||
	    !st->from->resource[0] ||
	    (st->type[0] && !sm_stanza_is_type(st, "unavailable")))
		return SM_NEXT;
	char jid[JID_MAX + 1];
	jid_format(st->from, jid);
	/* Only a contact that may hear (from or both) is tracked: another's
	 * presence would make the sm query its caps and hold them. An
	 * unavailable presence still drops one tracked before. */
	if (st->to_user->sessions &&
	    (sm_stanza_is_type(st, "unavailable") ||
	     pep_notify_remote_allowed(pep, st->to_user->jid, jid)))
		pep_notify_track(pep, st, st->to_user->jid, jid);
	return SM_NEXT;
}

static enum sm_verdict pep_notify_session_ended(struct sm_event *ev, void *data)
{
	struct pep *pep = data;
	struct user *u = ev->session->user;
	struct pep_remotes *r;
	if (u->sessions == ev->session && !ev->session->next &&
	    (r = pep_remotes_find(pep, u->jid)))
		pep_remotes_free(pep, r);
	return SM_NEXT;
}

/* caps.c verified the caps jid announced. */
static void pep_notify_caps_resolved(struct sm *sm, const char *jid,
				     const char *owner, struct caps_entry *e,
				     void *data)
{
	struct pep *pep = data;
	if (owner) {
		if (pep_notify_remote_allowed(pep, owner, jid))
			pep_notify_last(pep, owner, jid);
		return;
	}
	struct jid j;
	char bare[JID_MAX + 1];
	if (jid_parse_str(&j, jid) < 0)
		return;
	jid_format_bare(&j, bare);
	struct session *s = sm_session_find(
		sm_session_user_find(&sm->sessions, bare), j.resource);
	if (s && s->caps == e && sm_session_available(s))
		pep_notify_session_ready(pep, s);
}

int pep_notify_init(struct pep *pep)
{
	struct sm *sm = pep->sm;
	hash_table_init(&pep->remotes, pep_remotes_hash, 16);
	/* After caps.c (100) set the session's caps. */
	if (sm_module_hook(sm, SM_EV_PRESENCE_BROADCAST, NULL, 50,
			   pep_notify_broadcast, pep) < 0 ||
	    sm_module_hook(sm, SM_EV_PRESENCE_BARE, NULL, 10,
			   pep_notify_presence_in, pep) < 0 ||
	    sm_module_hook(sm, SM_EV_PRESENCE_FULL, NULL, 10,
			   pep_notify_presence_in, pep) < 0 ||
	    sm_module_hook(sm, SM_EV_SESSION_ENDED, NULL, 0,
			   pep_notify_session_ended, pep) < 0)
		return -1;
	if (caps_listen(sm, pep_notify_caps_resolved, pep) < 0) {
		log_error("sm: module 'pep' needs module 'caps' (sm/modules)");
		return -1;
	}
	return 0;
}
