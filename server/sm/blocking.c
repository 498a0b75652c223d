/* blocking: XEP-0191 Blocking Command. A user's block list lives in the
 * store "blocklist" (keys: the blocked JIDs, prepared; values empty),
 * loaded with the user (userdata.h). Stanzas from a blocked JID to the
 * user are dropped or refused as if the user were offline (§3.3);
 * stanzas from the user to a blocked JID are refused with
 * <not-acceptable/><blocked/>. Changes are written through: the list in
 * memory changes at once, the result and the pushes go out once the
 * storage has committed. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "delivery.h"
#include "module.h"
#include "roster.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

#define NS_BLOCKING "urn:xmpp:blocking"
#define NS_BLOCKING_ERRORS "urn:xmpp:blocking:errors"
#define NS_MUC_USER "http://jabber.org/protocol/muc#user"
#define BLOCKLIST_STORE "blocklist"
/* Items per user: a list this long is a mistake or an attack. */
#define BLOCKLIST_MAX 1000

/* One user's block list, and the sessions that asked for it. */
struct blocklist {
	char **jids; /* prepared, unordered */
	size_t n, cap;
	uint64_t *interested; /* session serials (XEP-0191 §3.3 pushes) */
	size_t ninterested, icap;
};

extern const struct sm_module sm_module_blocking;

struct blocking {
	struct sm *sm;
	int slot;
	unsigned push_seq;
};

/* ------------------------------------------------------------ the list */

static void blocklist_free(void *p)
{
	struct blocklist *l = p;
	for (size_t i = 0; i < l->n; i++)
		free(l->jids[i]);
	free(l->jids);
	free(l->interested);
	free(l);
}

static struct blocklist *blocklist_of(const struct blocking *mod,
				      struct user *u, bool create)
{
	if (!u)
		return NULL;
	if (!u->slots[mod->slot] && create)
		u->slots[mod->slot] = calloc(1, sizeof(struct blocklist));
	return u->slots[mod->slot];
}

static bool blocklist_has(const struct blocklist *l, const char *jid)
{
	for (size_t i = 0; l && i < l->n; i++)
		if (strcmp(l->jids[i], jid) == 0)
			return true;
	return false;
}

static int blocklist_add(struct blocklist *l, const char *jid)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **j = realloc(l->jids, cap * sizeof *j);
		if (!j)
			return -1;
		l->jids = j;
		l->cap = cap;
	}
	if (!(l->jids[l->n] = strdup(jid)))
		return -1;
	l->n++;
	return 0;
}

static void blocklist_remove(struct blocklist *l, const char *jid)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->jids[i], jid) == 0) {
			free(l->jids[i]);
			l->jids[i] = l->jids[--l->n];
			return;
		}
}

/* XEP-0191 §"JID Matching" (as XEP-0016 §2.1): in order
 * <user@domain/resource>, <user@domain> (any resource), <domain/resource>,
 * <domain> (the domain itself, and any user@domain or domain/resource).
 * Subdomains are not matched. */
static bool blocklist_matches(const struct blocklist *l, const struct jid *j)
{
	if (!l || !l->n)
		return false;
	char s[JID_MAX + 1];
	struct jid k = *j;
	if (j->resource[0]) {
		jid_format(&k, s);
		if (blocklist_has(l, s))
			return true;
	}
	if (j->local[0]) {
		jid_format_bare(&k, s);
		if (blocklist_has(l, s))
			return true;
	}
	k.local[0] = '\0';
	if (j->resource[0]) {
		jid_format(&k, s);
		if (blocklist_has(l, s))
			return true;
	}
	return blocklist_has(l, k.domain);
}

static void blocklist_interested_remove(struct blocklist *l, uint64_t serial)
{
	for (size_t i = 0; l && i < l->ninterested; i++)
		if (l->interested[i] == serial) {
			l->interested[i] = l->interested[--l->ninterested];
			return;
		}
}

static int blocklist_interested_add(struct blocklist *l, uint64_t serial)
{
	for (size_t i = 0; i < l->ninterested; i++)
		if (l->interested[i] == serial)
			return 0;
	if (l->ninterested == l->icap) {
		size_t cap = l->icap ? l->icap * 2 : 4;
		uint64_t *n = realloc(l->interested, cap * sizeof *n);
		if (!n)
			return -1;
		l->interested = n;
		l->icap = cap;
	}
	l->interested[l->ninterested++] = serial;
	return 0;
}

static bool blocklist_interested_has(const struct blocklist *l, uint64_t serial)
{
	for (size_t i = 0; l && i < l->ninterested; i++)
		if (l->interested[i] == serial)
			return true;
	return false;
}

/* userdata.h: the items of "blocklist" are the blocked JIDs. */
static int blocklist_parse(struct sm *sm, struct user *u,
			   const struct storage_items *items, void *data)
{
	struct blocking *mod = data;
	struct blocklist *l = calloc(1, sizeof *l);
	if (!l)
		return -1;
	for (size_t i = 0; i < items->count; i++)
		if (!blocklist_has(l, items->items[i].key) &&
		    blocklist_add(l, items->items[i].key) < 0) {
			blocklist_free(l);
			return -1;
		}
	if (u->slots[mod->slot])
		blocklist_free(u->slots[mod->slot]);
	u->slots[mod->slot] = l;
	return 0;
}

/* ------------------------------------------------------------ enforcement */

/* XEP-0191 §3.3, a stanza from a blocked JID to the user: "For presence
 * stanzas (including notifications, subscriptions, and probes), the
 * server MUST NOT respond and MUST NOT return an error. For message
 * stanzas, the server SHOULD return an error, which SHOULD be
 * <service-unavailable/>. For IQ stanzas of type "get" or "set", the
 * server MUST return an error, which SHOULD be <service-unavailable/>.
 * IQ stanzas of other types MUST be silently dropped". Messages of type
 * groupchat and headline are dropped too (as Prosody does): no error
 * would come back for them from an offline user either. So is a
 * private message through a room (XEP-0045 §7.5 marks it with a
 * muc#user <x/>): a room takes an error from an occupant's JID for the
 * occupant being gone and removes it (333), so the error would let a
 * blocked occupant throw the user out of the room with one message. */
static enum sm_verdict blocking_in(struct sm_event *ev, void *data)
{
	struct blocking *mod = data;
	struct stanza *st = ev->st;
	if (!st->from || !st->to || !st->to_user)
		return SM_NEXT;
	const struct blocklist *l = blocklist_of(mod, st->to_user, false);
	if (!l || !l->n || jid_equal_bare(st->from, st->to) ||
	    !blocklist_matches(l, st->from))
		return SM_NEXT;
	bool answer = false;
	switch (st->kind) {
	case STANZA_PRESENCE:
		break;
	case STANZA_MESSAGE:
		answer = (!st->type[0] || sm_stanza_is_type(st, "normal") ||
			  sm_stanza_is_type(st, "chat")) &&
			 !xml_child(st->xml, NS_MUC_USER, "x");
		break;
	case STANZA_IQ:
		answer = sm_stanza_is_type(st, "get") ||
			 sm_stanza_is_type(st, "set");
		break;
	}
	log_debug("blocking: %s from a JID %s blocked: %s", st->xml->name,
		  st->to_user->jid, answer ? "refused" : "dropped");
	if (answer)
		sm_deliver_error(ev->sm, st, "service-unavailable");
	return SM_DONE;
}

/* XEP-0191 §3.3: "If the user attempts to send an outbound stanza to the
 * contact, the user's server MUST NOT route the stanza to the contact but
 * instead MUST return a <not-acceptable/> error containing an
 * application-specific error condition of <blocked/>". Presence goes
 * nowhere, silently (a broadcast must not earn the user errors), and so
 * do errors and iq results, which cannot be answered. */
static enum sm_verdict blocking_out(struct sm_event *ev, void *data)
{
	struct blocking *mod = data;
	struct stanza *st = ev->st;
	struct session *origin = ev->session;
	if (!st->to || !origin)
		return SM_NEXT;
	const struct blocklist *l = blocklist_of(mod, origin->user, false);
	if (!l || !l->n || (st->from && jid_equal_bare(st->from, st->to)) ||
	    !blocklist_matches(l, st->to))
		return SM_NEXT;
	if (st->kind == STANZA_PRESENCE || sm_stanza_is_type(st, "error") ||
	    sm_stanza_is_type(st, "result"))
		return SM_DONE;
	struct xml_node *e = sm_stanza_error_new(st, "not-acceptable");
	struct xml_node *err = e ? xml_child(e, XML_NS_CLIENT, "error") : NULL;
	/* The XEP's example has type 'cancel': the block stays. */
	if (!err || xml_set_attr(st->arena, err, "type", "cancel") < 0 ||
	    !xml_add_child(st->arena, err, NS_BLOCKING_ERRORS, "blocked"))
		return SM_DONE;
	/* Straight to the sender: routed, it would come from the blocked
	 * JID and be dropped on the way in. */
	sm_send_stanza(ev->sm, origin, e);
	return SM_DONE;
}

/* ------------------------------------------------------------ replies */

static struct xml_node *blocking_iq_new(struct arena *a, const char *type,
					const char *to, const char *id)
{
	struct xml_node *iq = xml_node_new(a, XML_NS_CLIENT, "iq");
	if (!iq || xml_set_attr(a, iq, "type", type) < 0 ||
	    xml_set_attr(a, iq, "to", to) < 0 ||
	    (id && xml_set_attr(a, iq, "id", id) < 0))
		return NULL;
	return iq;
}

static int blocking_items_add(struct arena *a, struct xml_node *parent,
			      char **jids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct xml_node *it =
			xml_add_child(a, parent, NS_BLOCKING, "item");
		if (!it || xml_set_attr(a, it, "jid", jids[i]) < 0)
			return -1;
	}
	return 0;
}

/* XEP-0191 §3.2: the list, and pushes from now on. */
static void blocklist_get(struct blocking *mod, struct sm_event *ev)
{
	struct stanza *st = ev->st;
	struct blocklist *l = blocklist_of(mod, ev->session->user, true);
	struct xml_node *r = sm_stanza_result_new(st);
	struct xml_node *q =
		r ? xml_add_child(st->arena, r, NS_BLOCKING, "blocklist")
		  : NULL;
	if (!l || !q || blocking_items_add(st->arena, q, l->jids, l->n) < 0 ||
	    blocklist_interested_add(l, ev->session->serial) < 0) {
		sm_deliver_error(ev->sm, st, "internal-server-error");
		return;
	}
	sm_send_stanza(ev->sm, ev->session, r);
}

/* ------------------------------------------------------------ changes */

/* A block or unblock waiting for its commit. */
struct blocking_change {
	struct blocking *mod;
	char *user;     /* bare JID */
	char *resource; /* of the session that asked */
	uint64_t serial;
	char *id; /* of its iq */
	bool block;
	bool all;    /* <unblock/> with no items */
	char **jids; /* as asked, prepared, without duplicates */
	size_t njids;
	char **changed; /* what was added or removed */
	size_t nchanged;
};

static void blocking_change_free(struct blocking_change *c)
{
	for (size_t i = 0; i < c->njids; i++)
		free(c->jids[i]);
	for (size_t i = 0; i < c->nchanged; i++)
		free(c->changed[i]);
	free(c->jids);
	free(c->changed);
	free(c->user);
	free(c->resource);
	free(c->id);
	free(c);
}

static int blocking_strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (!nv)
		return -1;
	*v = nv;
	if (!(nv[*n] = strdup(s)))
		return -1;
	(*n)++;
	return 0;
}

/* Routes presence from session s to `to`: its last presence (type
 * NULL) or one of that type. Straight to sm_deliver_stanza: the filter of
 * SM_EV_STANZA_FROM_LOCAL is for the fan-out of other modules. */
static void blocking_send_presence(struct sm *sm, const struct session *s,
				   const char *to, const char *type)
{
	struct xml_node *p =
		type ? xml_node_new(&sm->arena, XML_NS_CLIENT, "presence")
		     : xml_parse(&sm->arena, s->presence, strlen(s->presence),
				 XML_NS_CLIENT);
	struct stanza st;
	if (p && xml_set_attr(&sm->arena, p, "from", s->jid) == 0 &&
	    xml_set_attr(&sm->arena, p, "to", to) == 0 &&
	    (!type || xml_set_attr(&sm->arena, p, "type", type) == 0) &&
	    sm_stanza_init(&st, &sm->arena, p) == 0)
		sm_deliver_stanza(sm, &st, NULL);
}

/* Whether the list entry `entry` covers jid (XEP-0191 matching). */
static bool blocking_entry_covers(const char *entry, const struct jid *jid)
{
	struct blocklist one = {.jids = (char **)&entry, .n = 1};
	return blocklist_matches(&one, jid);
}

/* XEP-0191 §3.3: "When the user blocks communications with the contact,
 * the user's server MUST send unavailable presence information to the
 * contact (but only if the contact is allowed to receive presence
 * notifications from the user ...)"; §3.4, on unblocking, "the user's
 * current presence information". Allowed: roster items with a
 * subscription "from" or "both", and what got directed presence from a
 * session (RFC 6121 §4.6). Without the roster module, unavailable
 * presence (which tells nothing) goes to a blocked user or full JID,
 * current presence to nobody. type: "unavailable", or NULL for the
 * current presence. l: the list as it now is (unblocking: a contact
 * still covered by another entry gets nothing). */
static void blocking_presence_for(struct sm *sm, struct user *u,
				  const char *entry, const char *type,
				  const struct blocklist *l)
{
	struct jid e;
	if (jid_parse_str(&e, entry) < 0)
		return;
	struct roster *r = sm_roster_of(u);
	for (struct session *s = u->sessions; s; s = s->next) {
		if (!sm_session_available(s))
			continue;
		if (e.local[0]) {
			char bare[JID_MAX + 1];
			jid_format_bare(&e, bare);
			struct roster_item *it =
				r ? sm_roster_find(r, bare) : NULL;
			bool allowed = r ? it && it->sub & ROSTER_SUB_FROM
					 : type != NULL;
			if (allowed && (type || !blocklist_matches(l, &e)))
				blocking_send_presence(sm, s, entry, type);
		}
		/* A domain entry: every allowed contact there. */
		for (struct roster_item *it =
			     r && !e.local[0] ? sm_roster_next(r, NULL) : NULL;
		     it; it = sm_roster_next(r, it)) {
			struct jid c;
			if (!(it->sub & ROSTER_SUB_FROM) ||
			    jid_parse_str(&c, it->jid) < 0 ||
			    !blocking_entry_covers(entry, &c) ||
			    (!type && blocklist_matches(l, &c)))
				continue;
			blocking_send_presence(sm, s, it->jid, type);
		}
		for (size_t i = 0; i < s->ndirected; i++) {
			struct jid d;
			if (jid_parse_str(&d, s->directed[i]) < 0 ||
			    !blocking_entry_covers(entry, &d) ||
			    (!type && blocklist_matches(l, &d)))
				continue;
			struct roster_item *it = NULL;
			char bare[JID_MAX + 1];
			jid_format_bare(&d, bare);
			if (r && (it = sm_roster_find(r, bare)) &&
			    it->sub & ROSTER_SUB_FROM)
				continue; /* done above */
			blocking_send_presence(sm, s, s->directed[i], type);
		}
	}
}

/* XEP-0191 §3.3: no presence of the user's to a blocked JID, whoever
 * fans it out (presence.c's broadcast, probe answers). The unavailable
 * presence sent on blocking goes around this (blocking_send_presence). */
static enum sm_verdict blocking_from_local(struct sm_event *ev, void *data)
{
	struct blocking *mod = data;
	struct stanza *st = ev->st;
	if (st->kind != STANZA_PRESENCE || !st->to ||
	    jid_equal_bare(st->from, st->to))
		return SM_NEXT;
	char bare[JID_MAX + 1];
	jid_format_bare(st->from, bare);
	struct user *u = sm_userdata_user(ev->sm, bare);
	const struct blocklist *l = blocklist_of(mod, u, false);
	if (!blocklist_matches(l, st->to))
		return SM_NEXT;
	log_debug("blocking: presence of %s to a blocked JID dropped", bare);
	return SM_DONE;
}

/* XEP-0191 §3.3, §3.4, §3.5: "The server MUST also send an IQ-set to all
 * of the user's resources that have requested the blocklist". */
static void blocking_change_push(struct blocking *mod, struct user *u,
				 const struct blocking_change *c,
				 const struct blocklist *l)
{
	struct sm *sm = mod->sm;
	for (struct session *s = u->sessions; s; s = s->next) {
		if (!blocklist_interested_has(l, s->serial))
			continue;
		char id[32];
		snprintf(id, sizeof id, "block-push-%u", ++mod->push_seq);
		struct xml_node *iq =
			blocking_iq_new(&sm->arena, "set", s->jid, id);
		struct xml_node *q =
			iq ? xml_add_child(&sm->arena, iq, NS_BLOCKING,
					   c->block ? "block" : "unblock")
			   : NULL;
		if (!q || (!c->all && blocking_items_add(&sm->arena, q, c->jids,
							 c->njids) < 0))
			return;
		sm_send_stanza(sm, s, iq);
	}
}

/* The commit is done: on success the result, the pushes and the
 * presence; on failure the list in memory goes back and the client gets
 * an error. */
static void blocking_change_finish(struct blocking_change *c,
				   enum storage_status status)
{
	struct blocking *mod = c->mod;
	struct sm *sm = mod->sm;
	struct user *u = sm_session_user_find(&sm->sessions, c->user);
	struct blocklist *l = blocklist_of(mod, u, false);
	struct session *s = sm_session_find(u, c->resource);
	if (s && s->serial != c->serial)
		s = NULL;
	if (status != STORAGE_OK) {
		log_error("blocking: the block list of %s could not be saved",
			  c->user);
		for (size_t i = 0; l && i < c->nchanged; i++) {
			if (c->block)
				blocklist_remove(l, c->changed[i]);
			else if (!blocklist_has(l, c->changed[i]))
				blocklist_add(l, c->changed[i]);
		}
		struct xml_node *e =
			s ? blocking_iq_new(&sm->arena, "error", s->jid, c->id)
			  : NULL;
		struct xml_node *err =
			e ? xml_add_child(&sm->arena, e, XML_NS_CLIENT, "error")
			  : NULL;
		if (err && xml_set_attr(&sm->arena, err, "type", "wait") == 0 &&
		    xml_add_child(&sm->arena, err, NS_STANZAS,
				  "internal-server-error"))
			sm_send_stanza(sm, s, e);
	} else {
		struct xml_node *r =
			s ? blocking_iq_new(&sm->arena, "result", s->jid, c->id)
			  : NULL;
		if (r)
			sm_send_stanza(sm, s, r);
		if (u && l)
			blocking_change_push(mod, u, c, l);
		for (size_t i = 0; u && l && i < c->nchanged; i++)
			blocking_presence_for(sm, u, c->changed[i],
					      c->block ? "unavailable" : NULL,
					      l);
	}
	blocking_change_free(c);
}

static void blocking_change_done(void *ctx, enum storage_status status)
{
	struct blocking_change *c = ctx;
	struct sm *sm = c->mod->sm;
	blocking_change_finish(c, status);
	arena_reset(&sm->arena);
}

/* The <item jid=''/> of a block or unblock, prepared and without
 * duplicates, into c->jids. Returns 0, or the error condition. */
static const char *blocking_read_items(struct blocking_change *c,
				       const struct xml_node *payload)
{
	for (const struct xml_node *it =
		     xml_child(payload, NS_BLOCKING, "item");
	     it; it = xml_next(it, NS_BLOCKING, "item")) {
		const char *v = xml_attr_get(it, "jid");
		struct jid j;
		char s[JID_MAX + 1];
		if (!v || jid_parse_str(&j, v) < 0)
			return "jid-malformed";
		jid_format(&j, s);
		bool dup = false;
		for (size_t i = 0; i < c->njids && !dup; i++)
			dup = strcmp(c->jids[i], s) == 0;
		if (!dup && blocking_strv_push(&c->jids, &c->njids, s) < 0)
			return "internal-server-error";
	}
	return NULL;
}

/* Applies c to the list in memory and to batch. */
static const char *blocking_change_apply(struct blocking_change *c,
					 struct blocklist *l,
					 struct storage_batch *batch)
{
	if (c->block) {
		size_t fresh = 0;
		for (size_t i = 0; i < c->njids; i++)
			fresh += !blocklist_has(l, c->jids[i]);
		if (l->n + fresh > BLOCKLIST_MAX)
			return "not-allowed";
		for (size_t i = 0; i < c->njids; i++) {
			if (blocklist_has(l, c->jids[i]))
				continue;
			if (blocking_strv_push(&c->changed, &c->nchanged,
					       c->jids[i]) < 0 ||
			    storage_batch_put(batch, c->user, BLOCKLIST_STORE,
					      c->jids[i], "", 0) < 0 ||
			    blocklist_add(l, c->jids[i]) < 0)
				return "internal-server-error";
		}
		return NULL;
	}
	if (c->all) {
		if (storage_batch_delete(batch, c->user, BLOCKLIST_STORE,
					 NULL) < 0)
			return "internal-server-error";
		while (l->n) {
			if (blocking_strv_push(&c->changed, &c->nchanged,
					       l->jids[l->n - 1]) < 0)
				return "internal-server-error";
			free(l->jids[--l->n]);
		}
		return NULL;
	}
	for (size_t i = 0; i < c->njids; i++) {
		if (!blocklist_has(l, c->jids[i]))
			continue;
		if (blocking_strv_push(&c->changed, &c->nchanged, c->jids[i]) <
			    0 ||
		    storage_batch_delete(batch, c->user, BLOCKLIST_STORE,
					 c->jids[i]) < 0)
			return "internal-server-error";
		blocklist_remove(l, c->jids[i]);
	}
	return NULL;
}

/* XEP-0191 §3.3 to §3.5: <block/> and <unblock/>. */
static void blocklist_set(struct blocking *mod, struct sm_event *ev)
{
	struct sm *sm = ev->sm;
	struct stanza *st = ev->st;
	struct session *s = ev->session;
	struct blocklist *l = blocklist_of(mod, s->user, true);
	struct storage *storage = sm_storage(sm);
	struct blocking_change *c = calloc(1, sizeof *c);
	if (!l || !c || !storage) {
		free(c);
		sm_deliver_error(sm, st, "internal-server-error");
		return;
	}
	c->mod = mod;
	c->block = strcmp(st->payload->name, "block") == 0;
	c->serial = s->serial;
	const char *cond = blocking_read_items(c, st->payload);
	/* "If the <block/> element does not contain at least one <item/>
	 * child element, the server MUST return a <bad-request/> error." */
	if (!cond && c->block && !c->njids)
		cond = "bad-request";
	c->all = !c->block && !c->njids;
	if (!cond && (!(c->user = strdup(s->user->jid)) ||
		      !(c->resource = strdup(s->resource)) ||
		      (st->id && !(c->id = strdup(st->id)))))
		cond = "internal-server-error";
	struct storage_batch *batch = cond ? NULL : storage_batch_new(storage);
	if (!cond && !batch)
		cond = "internal-server-error";
	if (!cond)
		cond = blocking_change_apply(c, l, batch);
	if (cond) {
		/* Undo what blocking_change_apply did to the list. */
		for (size_t i = 0; i < c->nchanged; i++) {
			if (c->block)
				blocklist_remove(l, c->changed[i]);
			else if (!blocklist_has(l, c->changed[i]))
				blocklist_add(l, c->changed[i]);
		}
		if (batch)
			storage_batch_free(batch);
		blocking_change_free(c);
		sm_deliver_error(sm, st, cond);
		return;
	}
	/* Even with nothing changed the batch goes: its completion comes
	 * after every earlier write is durable. */
	if (storage_batch_commit(batch, blocking_change_done, c) < 0)
		blocking_change_finish(c, STORAGE_ERROR);
}

/* Only the account itself reads or changes its list (no 'to', or its
 * own bare JID). */
static enum sm_verdict blocking_iq(struct sm_event *ev, void *data)
{
	struct blocking *mod = data;
	struct stanza *st = ev->st;
	if (!ev->session || !sm_stanza_to_self(st)) {
		sm_deliver_error(ev->sm, st, "service-unavailable");
		return SM_DONE;
	}
	const char *name = st->payload->name;
	bool get = sm_stanza_is_type(st, "get");
	if (strcmp(name, "blocklist") == 0 && get)
		blocklist_get(mod, ev);
	else if ((strcmp(name, "block") == 0 || strcmp(name, "unblock") == 0) &&
		 sm_stanza_is_type(st, "set"))
		blocklist_set(mod, ev);
	else if (get || sm_stanza_is_type(st, "set"))
		sm_deliver_error(ev->sm, st, "bad-request");
	return SM_DONE;
}

static enum sm_verdict blocking_session_ended(struct sm_event *ev, void *data)
{
	struct blocking *mod = data;
	blocklist_interested_remove(blocklist_of(mod, ev->session->user, false),
				    ev->session->serial);
	return SM_NEXT;
}

/* ------------------------------------------------------------ module */

static int blocking_init(struct sm *sm)
{
	struct blocking *mod = calloc(1, sizeof *mod);
	if (!mod)
		return -1;
	mod->sm = sm;
	sm_module_set_data(sm, &sm_module_blocking, mod);
	mod->slot = sm_session_slot_register(&sm->sessions, blocklist_free);
	/* Blocking comes before any other module sees the stanza. */
	if (mod->slot < 0 ||
	    sm_userdata_register(sm, BLOCKLIST_STORE, mod->slot,
				 blocklist_parse, mod) < 0 ||
	    sm_module_hook(sm, SM_EV_STANZA_IN, NULL, 100, blocking_in, mod) <
		    0 ||
	    sm_module_hook(sm, SM_EV_STANZA_OUT, NULL, 100, blocking_out, mod) <
		    0 ||
	    sm_module_hook(sm, SM_EV_STANZA_FROM_LOCAL, NULL, 100,
			   blocking_from_local, mod) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_BARE, NS_BLOCKING, 0, blocking_iq,
			   mod) < 0 ||
	    sm_module_hook(sm, SM_EV_SESSION_ENDED, NULL, 0,
			   blocking_session_ended, mod) < 0)
		return -1; /* mod lives on: hooks may point at it */
	return 0;
}

/* The block lists are per user (slots, freed with the users). */
static void blocking_free(struct sm *sm)
{
	free(sm_module_data(sm, &sm_module_blocking));
	sm_module_set_data(sm, &sm_module_blocking, NULL);
}

const struct sm_module sm_module_blocking = {
	.name = "blocking",
	.on_by_default = true,
	.features = (const char *const[]){NS_BLOCKING, NULL},
	.init = blocking_init,
	.free = blocking_free,
};
