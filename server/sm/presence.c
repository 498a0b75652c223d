/* presence: subscriptions (RFC 6121 §3, Appendix A) and presence
 * exchange (§4) over the roster (roster.h).
 *
 * Outbound subscription stanzas (from a local user) change the user's
 * item and go on to the contact: a local contact's inbound handling
 * runs when the stanza reaches it here, a remote one's on its server
 * (the router takes the stanza to s2s); nothing differs on this side.
 * Inbound ones (for a local user) change the contact's item on the
 * user's side, are delivered or stored, and get the automatic answers
 * of Appendix A. Each change is written and pushed through
 * roster_change. */
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

/* ------------------------------------------------------------ helpers */

/* Writes it (which may be freed here), and pushes it if what the
 * roster shows of it changed from view `before` (sm_roster_item_view). */
static void commit_item(struct sm *sm, struct user *u, struct roster_item *it,
			unsigned before)
{
	bool was_shown = before & 16u;
	struct roster_change *c = sm_roster_change_new(sm, u);
	if (!c) {
		log_error("sm: %s: out of memory changing the roster", u->jid);
		return;
	}
	sm_roster_change_item(c, it, was_shown,
			      sm_roster_item_view(it) != before);
	sm_roster_change_commit(c);
}

/* A presence of the server's making: type (NULL: available) from
 * `from` to `to`. */
static void send_presence(struct sm *sm, const char *from, const char *to,
			  const char *type)
{
	struct xml_node *p =
		xml_node_new(&sm->arena, XML_NS_CLIENT, "presence");
	if (p && xml_set_attr(&sm->arena, p, "from", from) == 0 &&
	    xml_set_attr(&sm->arena, p, "to", to) == 0 &&
	    (!type || xml_set_attr(&sm->arena, p, "type", type) == 0))
		sm_deliver_xml(sm, p);
}

/* xml to every available resource of u. */
static void deliver_available(struct sm *sm, struct user *u,
			      const struct xml_node *xml)
{
	struct buf b = BUF_INIT;
	if (xml_serialize(xml, XML_NS_CLIENT, &b) == 0)
		for (struct session *s = u->sessions; s; s = s->next)
			if (sm_session_available(s))
				sm_send_stanza_bytes(sm, s, b.data, b.len);
	buf_free(&b);
}

/* The last presence of session s, addressed to `to`, routed. */
static void send_session_presence(struct sm *sm, const struct session *s,
				  const char *to)
{
	struct xml_node *p = xml_parse(&sm->arena, s->presence,
				       strlen(s->presence), XML_NS_CLIENT);
	if (p && xml_set_attr(&sm->arena, p, "from", s->jid) == 0 &&
	    xml_set_attr(&sm->arena, p, "to", to) == 0)
		sm_deliver_xml(sm, p);
}

/* Presence of every available resource of u to `to` (type NULL: their
 * last presence; "unavailable": an unavailable from each). Returns how
 * many went. */
static size_t send_resources(struct sm *sm, struct user *u, const char *to,
			     const char *type)
{
	size_t n = 0;
	for (struct session *s = u->sessions; s; s = s->next) {
		if (!sm_session_available(s))
			continue;
		if (type)
			send_presence(sm, s->jid, to, type);
		else
			send_session_presence(sm, s, to);
		n++;
	}
	return n;
}

static bool presence_is_type(const struct stanza *st, const char *type)
{
	return sm_stanza_is_type(st, type);
}

static bool presence_is_subscription(const struct stanza *st)
{
	return presence_is_type(st, "subscribe") ||
	       presence_is_type(st, "subscribed") ||
	       presence_is_type(st, "unsubscribe") ||
	       presence_is_type(st, "unsubscribed");
}

/* ------------------------------------------------------------ outbound */

/* RFC 6121 Appendix A.3: a subscription stanza from user u to contact.
 * Returns SM_NEXT when the stanza goes on to the contact as it is,
 * SM_DONE when it was routed here or must not go. */
static enum sm_verdict outbound_subscription(struct sm *sm, struct stanza *st,
					     struct user *u,
					     const char *contact)
{
	struct roster *r = sm_roster_of(u);
	struct roster_item *it = sm_roster_find(r, contact);
	unsigned before = sm_roster_item_view(it);

	if (presence_is_type(st, "subscribe")) {
		/* §3.1.2: the contact goes in the roster with ask, and the
		 * request always goes on (the contact's server may have
		 * lost its state). */
		if (!(it = sm_roster_get(r, contact)))
			return SM_DONE;
		if (!(it->sub & ROSTER_SUB_TO) && !it->ask) {
			it->ask = true;
			it->shown = true;
			commit_item(sm, u, it, before);
		} else if (!it->shown) {
			it->shown = true;
			commit_item(sm, u, it, before);
		}
		return SM_NEXT;
	}
	if (presence_is_type(st, "unsubscribe")) {
		/* A.3.3: To → None, Both → From, pending out cancelled. */
		if (it && (it->sub & ROSTER_SUB_TO || it->ask)) {
			it->sub &= ~ROSTER_SUB_TO;
			it->ask = false;
			commit_item(sm, u, it, before);
		}
		return SM_NEXT;
	}
	if (presence_is_type(st, "subscribed")) {
		if (it && it->pending_in) {
			/* A.3.2: the request is approved: + From. §3.1.5:
			 * then the contact gets the user's presence. */
			it->sub |= ROSTER_SUB_FROM;
			it->pending_in = it->approved = false;
			it->shown = true;
			sm_roster_set_request(it, NULL);
			commit_item(sm, u, it, before);
			sm_deliver_stanza(sm, st, NULL);
			send_resources(sm, u, contact, NULL);
			return SM_DONE;
		}
		if (it && it->sub & ROSTER_SUB_FROM)
			return SM_DONE; /* A.3.2: no state change, not routed */
		/* §3.4.2: pre-approval of a request to come. "the user's
		 * server MUST NOT route the presence stanza of type
		 * subscribed to the contact" but records it. */
		if (!(it = sm_roster_get(r, contact)))
			return SM_DONE;
		if (!it->approved || !it->shown) {
			it->approved = true;
			it->shown = true;
			commit_item(sm, u, it, before);
		}
		return SM_DONE;
	}
	/* unsubscribed, A.3.4: From → None, Both → To, a pending request
	 * declined, a pre-approval cancelled (§3.4.3). */
	bool had_from = it && it->sub & ROSTER_SUB_FROM;
	if (it && (had_from || it->pending_in || it->approved)) {
		it->sub &= ~ROSTER_SUB_FROM;
		it->pending_in = it->approved = false;
		sm_roster_set_request(it, NULL);
		commit_item(sm, u, it, before);
	}
	sm_deliver_stanza(sm, st, NULL);
	/* §3.2.2: "the user's server MUST then send unavailable presence
	 * from all of the user's available resources to the contact". */
	if (had_from)
		send_resources(sm, u, contact, "unavailable");
	return SM_DONE;
}

/* RFC 6121 §4.6: directed presence from an available session to an
 * entity that is not subscribed to the user's presence; it is owed the
 * session's unavailable presence later. */
static void track_directed(struct session *s, struct stanza *st,
			   const char *contact)
{
	char to[JID_MAX + 1];
	jid_format(st->to, to);
	size_t i = 0;
	while (i < s->ndirected && strcmp(s->directed[i], to) != 0)
		i++;
	if (presence_is_type(st, "unavailable")) {
		if (i < s->ndirected) {
			free(s->directed[i]);
			s->directed[i] = s->directed[--s->ndirected];
		}
		return;
	}
	struct roster *r = sm_roster_of(s->user);
	struct roster_item *it = r ? sm_roster_find(r, contact) : NULL;
	if (i < s->ndirected || !sm_session_available(s) ||
	    (it && it->sub & ROSTER_SUB_FROM) || s->ndirected >= 256)
		return;
	char **d = realloc(s->directed, (s->ndirected + 1) * sizeof *d);
	if (!d)
		return;
	s->directed = d;
	if ((d[s->ndirected] = strdup(to)) != NULL)
		s->ndirected++;
}

static enum sm_verdict presence_out(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	struct session *s = ev->session;
	if (st->kind != STANZA_PRESENCE || !st->to || !st->from)
		return SM_NEXT;
	char contact[JID_MAX + 1];
	jid_format_bare(st->to, contact);
	if (!presence_is_subscription(st)) {
		if ((!st->type[0] || presence_is_type(st, "unavailable")) &&
		    strcmp(contact, s->user->jid) != 0)
			track_directed(s, st, contact);
		return SM_NEXT;
	}
	if (strcmp(contact, s->user->jid) == 0)
		return SM_DONE; /* a subscription to oneself means nothing */
	/* §3.1.2 and the like: the user's server stamps the bare JID of
	 * the user as 'from' and addresses the contact's bare JID. */
	st->from->resource[0] = '\0';
	st->to->resource[0] = '\0';
	if (xml_set_attr(st->arena, st->xml, "from", s->user->jid) < 0 ||
	    xml_set_attr(st->arena, st->xml, "to", contact) < 0)
		return SM_DONE;
	return outbound_subscription(ev->sm, st, s->user, contact);
}

/* ------------------------------------------------------------ inbound */

/* RFC 6121 §3.1.3 and A.2.1: a subscription request for u. */
static void inbound_subscribe(struct sm *sm, struct stanza *st, struct user *u,
			      struct roster *r, const char *contact)
{
	struct roster_item *it = sm_roster_find(r, contact);
	unsigned before = sm_roster_item_view(it);
	if (it && it->sub & ROSTER_SUB_FROM) {
		/* Already subscribed: "the contact's server MUST
		 * auto-reply on behalf of the contact by sending a
		 * presence stanza of type subscribed". */
		send_presence(sm, u->jid, contact, "subscribed");
		return;
	}
	if (it && it->approved) {
		/* §3.4: pre-approved: subscribed at once, no question. */
		it->sub |= ROSTER_SUB_FROM;
		it->approved = false;
		commit_item(sm, u, it, before);
		send_presence(sm, u->jid, contact, "subscribed");
		send_resources(sm, u, contact, NULL);
		return;
	}
	if (it && it->pending_in)
		return; /* A.2.1: no state change; asked already */
	if (!it && r->items.count - r->shown >= ROSTER_MAX_PENDING) {
		/* Strangers' requests are bounded: the rest are dropped. */
		log_warn("sm: %s: too many pending requests; one from %s "
			 "dropped",
			 u->jid, contact);
		return;
	}
	struct buf b = BUF_INIT;
	if (!(it = sm_roster_get(r, contact)) ||
	    xml_serialize(st->xml, XML_NS_CLIENT, &b) < 0) {
		buf_free(&b);
		return;
	}
	/* "the contact's server MUST keep a record of the subscription
	 * request and deliver it when the contact next becomes
	 * available" (§3.1.3), and to the available resources now. */
	if (b.len > ROSTER_MAX_REQUEST) {
		/* Kept without its extras (status …) when they are large. */
		buf_clear(&b);
		if (buf_append_str(&b, "<presence type='subscribe' from='") <
			    0 ||
		    buf_append_xml_escaped(&b, contact, strlen(contact)) < 0 ||
		    buf_append_str(&b, "' to='") < 0 ||
		    buf_append_xml_escaped(&b, u->jid, strlen(u->jid)) < 0 ||
		    buf_append_str(&b, "'/>") < 0) {
			buf_free(&b);
			return;
		}
	}
	it->pending_in = true;
	sm_roster_set_request(it, b.data);
	buf_free(&b);
	commit_item(sm, u, it, before);
	deliver_available(sm, u, st->xml);
}

/* A.2.2 to A.2.4: the other subscription stanzas for u. */
static void inbound_answer(struct sm *sm, struct stanza *st, struct user *u,
			   struct roster *r, const char *contact)
{
	struct roster_item *it = sm_roster_find(r, contact);
	if (!it)
		return; /* no state change: silently ignored */
	unsigned before = sm_roster_item_view(it);
	if (presence_is_type(st, "subscribed")) {
		/* A.2.3: only an awaited answer counts. */
		if (!it->ask)
			return;
		it->sub |= ROSTER_SUB_TO;
		it->ask = false;
	} else if (presence_is_type(st, "unsubscribed")) {
		/* A.2.4: To → None, Both → From, pending out refused. */
		if (!(it->sub & ROSTER_SUB_TO) && !it->ask)
			return;
		it->sub &= ~ROSTER_SUB_TO;
		it->ask = false;
	} else {
		/* unsubscribe, A.2.2: From → None, Both → To, a pending
		 * request withdrawn. */
		if (!(it->sub & ROSTER_SUB_FROM) && !it->pending_in)
			return;
		bool had_from = it->sub & ROSTER_SUB_FROM;
		it->sub &= ~ROSTER_SUB_FROM;
		it->pending_in = false;
		sm_roster_set_request(it, NULL);
		/* §3.3.3: "the contact's server MUST send unavailable
		 * presence from all of the contact's available resources
		 * to the user". */
		if (had_from)
			send_resources(sm, u, contact, "unavailable");
	}
	deliver_available(sm, u, st->xml);
	commit_item(sm, u, it, before);
}

/* RFC 6121 §4.3.2: a probe for u from `from` (bare: contact). */
static void inbound_probe(struct sm *sm, struct stanza *st, struct user *u,
			  struct roster *r, const char *contact)
{
	char from[JID_MAX + 1];
	jid_format(st->from, from);
	struct roster_item *it = sm_roster_find(r, contact);
	bool self = strcmp(contact, u->jid) == 0;
	if (!self && (!it || !(it->sub & ROSTER_SUB_FROM))) {
		/* "the contact's server SHOULD return a presence stanza of
		 * type unsubscribed", from the bare JID. */
		send_presence(sm, u->jid, contact, "unsubscribed");
		return;
	}
	if (st->to_session) {
		/* To a full JID: that resource's presence only. */
		if (sm_session_available(st->to_session))
			send_session_presence(sm, st->to_session, from);
		else
			send_presence(sm, st->to_session->jid, from,
				      "unavailable");
		return;
	}
	/* "if the contact has no available resources, then the server
	 * SHOULD reply to the presence probe by sending to the user the
	 * full XML of the last presence stanza of type unavailable": that
	 * is not kept; a plain unavailable from the bare JID says it. */
	if (send_resources(sm, u, from, NULL) == 0)
		send_presence(sm, u->jid, from, "unavailable");
}

static enum sm_verdict presence_in(struct sm_event *ev, void *data)
{
	struct sm *sm = ev->sm;
	struct stanza *st = ev->st;
	if (!presence_is_subscription(st) && !presence_is_type(st, "probe"))
		return SM_NEXT;
	struct user *u = st->to_user;
	struct roster *r = u ? sm_roster_of(u) : NULL;
	if (!st->from || !r)
		return SM_DONE;
	char contact[JID_MAX + 1];
	jid_format_bare(st->from, contact);
	if (presence_is_type(st, "probe"))
		inbound_probe(sm, st, u, r, contact);
	else if (strcmp(contact, u->jid) == 0)
		; /* a subscription of oneself: nothing */
	else if (presence_is_type(st, "subscribe"))
		inbound_subscribe(sm, st, u, r, contact);
	else
		inbound_answer(sm, st, u, r, contact);
	return SM_DONE;
}

/* ------------------------------------------------------------ broadcast */

/* The presence st, copied for `to`, routed (each route may change its
 * copy's attributes). */
static void send_copy(struct sm *sm, const struct stanza *st, const char *to)
{
	struct xml_node *p = xml_copy(st->arena, st->xml);
	if (p && xml_set_attr(st->arena, p, "to", to) == 0)
		sm_deliver_xml(sm, p);
}

/* RFC 6121 §4.2.2 (initial presence), §4.4.2 (updates), §4.5.2
 * (unavailable): to every contact with a subscription "from" or
 * "both"; at initial presence, probes to those the user has a
 * subscription to (§4.2.2: "the user's server MUST also send presence
 * probes ... to each contact ... with a subscription state of To or
 * Both") and the pending requests (§3.1.3); at unavailable, to the
 * entities that got directed presence (§4.6.3). A contact's copy is
 * addressed to its bare JID (§4.2.2's examples: to='romeo@example.net';
 * its server then delivers to each available resource, §4.2.3); a
 * directed-presence target's to the full JID it was sent to. The
 * user's own resources are the core's (delivery.c). */
static enum sm_verdict presence_broadcast(struct sm_event *ev, void *data)
{
	struct sm *sm = ev->sm;
	struct stanza *st = ev->st;
	struct session *s = ev->session;
	struct user *u = s->user;
	struct roster *r = sm_roster_of(u);
	if (!r)
		return SM_NEXT;
	bool unavailable = presence_is_type(st, "unavailable");
	for (struct roster_item *it = sm_roster_next(r, NULL); it;
	     it = sm_roster_next(r, it))
		if (it->sub & ROSTER_SUB_FROM)
			send_copy(sm, st, it->jid);
	if (ev->initial) {
		for (struct roster_item *it = sm_roster_next(r, NULL); it;
		     it = sm_roster_next(r, it)) {
			if (it->sub & ROSTER_SUB_TO)
				send_presence(sm, u->jid, it->jid, "probe");
			if (it->pending_in && it->request)
				sm_send_stanza_bytes(sm, s, it->request,
						     strlen(it->request));
		}
	}
	if (unavailable) {
		for (size_t i = 0; i < s->ndirected; i++) {
			struct jid j;
			char bare[JID_MAX + 1];
			struct roster_item *it = NULL;
			if (jid_parse_str(&j, s->directed[i]) == 0) {
				jid_format_bare(&j, bare);
				it = sm_roster_find(r, bare);
			}
			if (!it || !(it->sub & ROSTER_SUB_FROM))
				send_copy(sm, st, s->directed[i]);
			free(s->directed[i]);
		}
		s->ndirected = 0;
	}
	return SM_NEXT;
}

static int presence_init(struct sm *sm)
{
	if (!sm_module_is_on(sm->cfg, "roster")) {
		log_error("sm: module 'presence' needs module 'roster' "
			  "(sm/modules)");
		return -1;
	}
	if (sm_module_hook(sm, SM_EV_STANZA_OUT, NULL, 0, presence_out, NULL) <
		    0 ||
	    sm_module_hook(sm, SM_EV_PRESENCE_BARE, NULL, 0, presence_in,
			   NULL) < 0 ||
	    sm_module_hook(sm, SM_EV_PRESENCE_BROADCAST, NULL, 0,
			   presence_broadcast, NULL) < 0)
		return -1;
	return 0;
}

const struct sm_module sm_module_presence = {
	.name = "presence",
	.on_by_default = true,
	/* RFC 6121 §3.4: subscription pre-approval, a stream feature. */
	.stream_feature = "<sub xmlns='urn:xmpp:features:pre-approval'/>",
	.init = presence_init,
};
