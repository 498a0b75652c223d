/* delivery: the second step of a stanza's way (core.c tells the whole of
 * it): which event it is, by the rules of RFC 6121 §8 and RFC 6120 §10,
 * and the core's default handlers of those events.
 *
 * sm_deliver_stanza() only decides which event a stanza is (to the server, to
 * a bare JID, to a connected full JID …) and fires it (module.c); what
 * then happens to it is the handlers' business: any module hooked above
 * SM_PRIORITY_DEFAULT, then the core's defaults below, which answer or
 * deliver it through send.c. */
#include "delivery.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "module.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

static enum sm_verdict fire(struct sm *sm, enum sm_event_type type,
			    struct stanza *st, struct session *origin)
{
	struct sm_event ev = {.type = type, .st = st, .session = origin};
	return sm_module_fire(sm, &ev);
}

/* ------------------------------------------------------------ checks */

static bool is_subscription(const struct stanza *st)
{
	return sm_stanza_is_type(st, "subscribe") ||
	       sm_stanza_is_type(st, "subscribed") ||
	       sm_stanza_is_type(st, "unsubscribe") ||
	       sm_stanza_is_type(st, "unsubscribed");
}

/* RFC 6120 §8.2.3: the 'id' attribute is REQUIRED for IQ stanzas; the
 * 'type' is one of get, set, result, error; a get or set contains
 * exactly one child element, a result zero or one. An error goes
 * through as it is: it cannot be answered, and the bad-request for an
 * iq without id has none either. */
static bool iq_valid(const struct stanza *st)
{
	if (sm_stanza_is_type(st, "error"))
		return true;
	if (!st->id)
		return false;
	if (sm_stanza_is_type(st, "get") || sm_stanza_is_type(st, "set"))
		return st->payload && !xml_next(st->payload, NULL, NULL);
	if (sm_stanza_is_type(st, "result"))
		return !st->payload || !xml_next(st->payload, NULL, NULL);
	return false;
}

static bool iq_is_request(const struct stanza *st)
{
	return sm_stanza_is_type(st, "get") || sm_stanza_is_type(st, "set");
}

/* RFC 6121 §4.7.1: presence types; an unknown one gets bad-request. */
static bool presence_valid(const struct stanza *st)
{
	return !st->type[0] || sm_stanza_is_type(st, "unavailable") ||
	       is_subscription(st) || sm_stanza_is_type(st, "probe") ||
	       sm_stanza_is_type(st, "error");
}

/* RFC 6121 §4.7.2.3: an integer from -128 to +127, 0 when absent. */
static int presence_priority(struct stanza *st)
{
	struct xml_node *p = xml_child(st->xml, st->xml->ns, "priority");
	if (!p)
		return 0;
	const char *text = xml_text(st->arena, p);
	char *end;
	long v = text ? strtol(text, &end, 10) : 0;
	if (!text || end == text)
		return 0;
	return v < -128 ? -128 : v > 127 ? 127 : (int)v;
}

/* ------------------------------------------------------------ broadcast */

/* RFC 6120 §10.3.2: "If the server receives a presence stanza with no
 * 'to' attribute, it MUST broadcast it to the entities that are
 * subscribed to the sending entity's presence". The session's state
 * (available or not, priority, last presence) changes here, whoever
 * then does the fan-out. */
static void sm_deliver_broadcast(struct sm *sm, struct stanza *st,
				 struct session *origin)
{
	bool was_available = sm_session_available(origin);
	bool initial = false;
	if (origin->ending)
		return; /* gone: its unavailable presence went out */

	if (!st->type[0]) {
		int priority = presence_priority(st);
		if (sm_send_serialize(sm, st->xml) < 0 ||
		    sm_session_set_presence(origin, sm->out.data, sm->out.len,
					    priority) < 0)
			return;
		initial = !was_available;
		origin->initial_presence_sent = true;
	} else if (sm_stanza_is_type(st, "unavailable")) {
		if (!was_available)
			return; /* nothing was announced */
		sm_session_set_presence(origin, NULL, 0, 0);
	} else {
		/* Subscription presence needs a 'to'; probe and error too. */
		log_debug("sm: dropped presence type '%s' without 'to'",
			  st->type);
		return;
	}
	struct sm_event ev = {.type = SM_EV_PRESENCE_BROADCAST,
			      .st = st,
			      .session = origin,
			      .initial = initial};
	sm_module_fire(sm, &ev);
}

/* ------------------------------------------------------------ routing */

/* Stanzas without 'to' from a local session. */
static void sm_deliver_no_to(struct sm *sm, struct stanza *st,
			     struct session *origin)
{
	if (!st->from)
		return;
	if (st->kind == STANZA_PRESENCE) {
		if (origin)
			sm_deliver_broadcast(sm, st, origin);
		return;
	}
	st->to_user = origin ? origin->user : NULL;
	if (!st->to_user) {
		char bare[JID_MAX + 1];
		jid_format_bare(st->from, bare);
		st->to_user = sm_userdata_user(sm, bare);
	}
	if (!st->to_user)
		return; /* not from a local user: nobody to answer for */
	if (st->kind == STANZA_IQ) {
		/* RFC 6120 §10.3.3: "If the server receives an IQ stanza
		 * with no 'to' attribute, it MUST process the stanza on
		 * behalf of the account from which received the stanza". */
		fire(sm, SM_EV_IQ_BARE, st, origin);
		return;
	}
	/* RFC 6120 §10.3.1: "If the server receives a message stanza with
	 * no 'to' attribute, it MUST treat the message as if the 'to'
	 * address were the bare JID <localpart@domainpart> of the sending
	 * entity." */
	struct jid *to = arena_alloc(st->arena, sizeof *to);
	if (!to)
		return;
	*to = *st->from;
	to->resource[0] = '\0';
	st->to = to;
	if (fire(sm, SM_EV_STANZA_IN, st, origin) == SM_DONE)
		return;
	fire(sm, SM_EV_MESSAGE_BARE, st, origin);
}

/* To a served domain itself. */
static void sm_deliver_host(struct sm *sm, struct stanza *st,
			    struct session *origin)
{
	static const enum sm_event_type events[] = {
		[STANZA_MESSAGE] = SM_EV_MESSAGE_HOST,
		[STANZA_PRESENCE] = SM_EV_PRESENCE_HOST,
		[STANZA_IQ] = SM_EV_IQ_HOST,
	};
	fire(sm, events[st->kind], st, origin);
}

/* RFC 6121 §8.5.3: to localpart@domainpart/resourcepart. */
static void sm_deliver_full(struct sm *sm, struct stanza *st,
			    struct session *origin)
{
	if (st->to_session) {
		/* §8.5.3.1: the resource matches. "For a presence stanza
		 * with no type or of type "unavailable", the server MUST
		 * deliver the stanza to that resource. For a subscription-
		 * related presence stanza, the server MUST … process it as
		 * if addressed to the bare JID"; a probe is the server's
		 * to answer (§4.3). */
		switch (st->kind) {
		case STANZA_MESSAGE:
			fire(sm, SM_EV_MESSAGE_FULL, st, origin);
			break;
		case STANZA_IQ:
			fire(sm, SM_EV_IQ_FULL, st, origin);
			break;
		case STANZA_PRESENCE:
			if (is_subscription(st) ||
			    sm_stanza_is_type(st, "probe"))
				fire(sm, SM_EV_PRESENCE_BARE, st, origin);
			else
				fire(sm, SM_EV_PRESENCE_FULL, st, origin);
			break;
		}
		return;
	}
	/* §8.5.3.2: no resource matches. */
	switch (st->kind) {
	case STANZA_MESSAGE:
		/* §8.5.3.2.1 (paraphrased): normal, chat or headline:
		 * either (a) treat it as addressed to the bare JID or (b)
		 * return <service-unavailable/>; we take (a). groupchat:
		 * <service-unavailable/>. error: silently ignore. */
		if (sm_stanza_is_type(st, "groupchat"))
			sm_deliver_error(sm, st, "service-unavailable");
		else if (!sm_stanza_is_type(st, "error"))
			fire(sm, SM_EV_MESSAGE_BARE, st, origin);
		break;
	case STANZA_PRESENCE:
		/* §8.5.3.2.2: no type or "unavailable": silently ignore;
		 * subscription-related: as if to the bare JID; probe: the
		 * server answers (§4.3). */
		if (is_subscription(st) || sm_stanza_is_type(st, "probe"))
			fire(sm, SM_EV_PRESENCE_BARE, st, origin);
		break;
	case STANZA_IQ:
		/* §8.5.3.2.3: the server MUST return
		 * <service-unavailable/> to the sender; results and
		 * errors have nobody to go to. */
		if (iq_is_request(st))
			sm_deliver_error(sm, st, "service-unavailable");
		break;
	}
}

/* RFC 6121 §8.5.1: "If the user account identified by the 'to'
 * attribute does not exist, how the stanza is processed depends on the
 * stanza type":
 * - iq: "the server MUST return a <service-unavailable/> stanza error";
 * - message: "either (a) silently ignore the message or (b) return a
 *   <service-unavailable/> stanza error": (b), errors aside;
 * - presence without type or unavailable: "silently ignore";
 * - subscribe: "either (a) silently ignore the subscription request or
 *   (b) return a presence stanza of type "unsubscribed"": (b), as
 *   §3.1.3 also says ("the contact's server ... SHOULD return a
 *   presence stanza of type "unsubscribed" to the user");
 * - probe: §4.3.2, "If the contact account does not exist ... SHOULD
 *   return a presence stanza of type "unsubscribed"";
 * - subscribed, unsubscribe, unsubscribed: "silently ignore". */
static void sm_deliver_no_such_user(struct sm *sm, struct stanza *st)
{
	log_debug("sm: %s for %s@%s: no such user", st->xml->name,
		  st->to->local, st->to->domain);
	switch (st->kind) {
	case STANZA_IQ:
		if (iq_is_request(st))
			sm_deliver_error(sm, st, "service-unavailable");
		return;
	case STANZA_MESSAGE:
		sm_deliver_error(sm, st, "service-unavailable");
		return;
	case STANZA_PRESENCE:
		break;
	}
	if (!st->from || !(sm_stanza_is_type(st, "subscribe") ||
			   sm_stanza_is_type(st, "probe")))
		return;
	char to[JID_MAX + 1], from[JID_MAX + 1];
	jid_format_bare(st->to, from);
	jid_format_bare(st->from, to);
	struct xml_node *p = xml_node_new(st->arena, XML_NS_CLIENT, "presence");
	if (p && xml_set_attr(st->arena, p, "from", from) == 0 &&
	    xml_set_attr(st->arena, p, "to", to) == 0 &&
	    xml_set_attr(st->arena, p, "type", "unsubscribed") == 0)
		sm_deliver_xml(sm, p);
}

/* A stanza the server made for a local user that is not in memory (not
 * loaded means no session). Presence without type or unavailable has
 * nobody to go to (§8.5.2.2.2: silently ignore); the rest waits for the
 * user's data. */
static void sm_deliver_unloaded(struct sm *sm, struct stanza *st,
				const char *bare)
{
	if (st->kind == STANZA_PRESENCE &&
	    (!st->type[0] || sm_stanza_is_type(st, "unavailable")))
		return;
	sm_userdata_defer(sm, st, bare);
}

/* RFC 6121 §8.5: to a local user. */
static void sm_deliver_local(struct sm *sm, struct stanza *st,
			     struct session *origin)
{
	char bare[JID_MAX + 1];
	jid_format_bare(st->to, bare);
	st->to_user = sm_userdata_user(sm, bare);
	if (!st->to_user) {
		sm_deliver_unloaded(sm, st, bare);
		return;
	}
	if (!sm_userdata_account_exists(st->to_user)) {
		sm_deliver_no_such_user(sm, st);
		return;
	}
	if (st->to->resource[0])
		st->to_session = sm_session_find(st->to_user, st->to->resource);
	if (fire(sm, SM_EV_STANZA_IN, st, origin) == SM_DONE)
		return;
	if (st->to->resource[0]) {
		sm_deliver_full(sm, st, origin);
		return;
	}
	/* §8.5.2: to localpart@domainpart. */
	static const enum sm_event_type events[] = {
		[STANZA_MESSAGE] = SM_EV_MESSAGE_BARE,
		[STANZA_PRESENCE] = SM_EV_PRESENCE_BARE,
		[STANZA_IQ] = SM_EV_IQ_BARE,
	};
	fire(sm, events[st->kind], st, origin);
}

void sm_deliver_stanza(struct sm *sm, struct stanza *st, struct session *origin)
{
	if (origin && fire(sm, SM_EV_STANZA_OUT, st, origin) == SM_DONE)
		return;
	if ((st->kind == STANZA_IQ && !iq_valid(st)) ||
	    (st->kind == STANZA_PRESENCE && !presence_valid(st))) {
		sm_deliver_error(sm, st, "bad-request");
		return;
	}
	if (!st->to)
		sm_deliver_no_to(sm, st, origin);
	else if (!sm_serves(sm, st->to->domain))
		sm_send_remote(sm, st->to->domain, st->xml);
	else if (!st->to->local[0])
		sm_deliver_host(sm, st, origin);
	else
		sm_deliver_local(sm, st, origin);
}

/* A stanza the server made: its own answers, pushes, presence on
 * behalf of a user. */
void sm_deliver_xml(struct sm *sm, struct xml_node *xml)
{
	struct stanza st;
	if (!xml || sm_stanza_init(&st, &sm->arena, xml) != 0) {
		log_warn("sm: dropped a stanza of the server's own making "
			 "(not a stanza or bad JID)");
		return;
	}
	if (st.from && st.from->local[0] && sm_serves(sm, st.from->domain) &&
	    fire(sm, SM_EV_STANZA_FROM_LOCAL, &st, NULL) == SM_DONE)
		return;
	sm_deliver_stanza(sm, &st, NULL);
}

void sm_deliver_error(struct sm *sm, const struct stanza *st,
		      const char *condition)
{
	/* sm_stanza_error_new() is NULL for a stanza of type error: RFC 6120
	 * §8.3.1, an error is never answered with an error. */
	struct xml_node *e = sm_stanza_error_new(st, condition);
	if (!e)
		return;
	log_debug("sm: %s error for a %s", condition, st->xml->name);
	sm_deliver_xml(sm, e);
}

void sm_deliver_error_text(struct sm *sm, const struct stanza *st,
			   const char *condition, const char *text)
{
	struct xml_node *e = sm_stanza_error_text_new(st, condition, text);
	if (!e)
		return;
	log_debug("sm: %s error for a %s: %s", condition, st->xml->name, text);
	sm_deliver_xml(sm, e);
}

/* ------------------------------------------------------------ defaults */

/* RFC 6120 §8.4: an IQ get or set in a namespace that nobody here
 * understands gets a <service-unavailable/> error. Results and errors
 * nobody waited for are dropped (§8.2.3: never answered). */
static enum sm_verdict default_iq(struct sm_event *ev, void *data)
{
	if (iq_is_request(ev->st))
		sm_deliver_error(ev->sm, ev->st, "service-unavailable");
	return SM_DONE;
}

static enum sm_verdict default_deliver(struct sm_event *ev, void *data)
{
	sm_send_stanza(ev->sm, ev->st->to_session, ev->st->xml);
	return SM_DONE;
}

/* A message to the server itself: nobody reads it. */
static enum sm_verdict default_message_host(struct sm_event *ev, void *data)
{
	sm_deliver_error(ev->sm, ev->st, "service-unavailable");
	return SM_DONE;
}

/* Presence to the server: ignored. */
static enum sm_verdict default_ignore(struct sm_event *ev, void *data)
{
	return SM_DONE;
}

int sm_deliver_bare_priority(const struct user *u)
{
	int best = -1;
	for (struct session *s = u ? u->sessions : NULL; s; s = s->next)
		if (sm_session_available(s) && s->priority > best)
			best = s->priority;
	return best;
}

/* RFC 6121 §8.5.2.1.1 and §8.5.2.2.1, message to a bare JID:
 * - normal, chat: "If there is more than one resource with a
 *   non-negative presence priority then the server MUST either deliver
 *   the message to the "most available" resource or resources
 *   (according to the server's implementation-specific algorithm, e.g.,
 *   treating the resource or resources with the highest presence
 *   priority as "most available") or deliver the message to all of the
 *   non-negative resources": here, every resource with the highest
 *   non-negative priority. With none, SM_EV_MESSAGE_OFFLINE decides.
 * - groupchat: "the server MUST NOT deliver the stanza to any of the
 *   available resources but instead MUST return a stanza error to the
 *   sender, which SHOULD be <service-unavailable/>".
 * - headline: "the server MUST deliver the message to all of the
 *   non-negative resources"; none: silently ignore.
 * - error: "the server MUST silently ignore the message".
 * An unknown type is normal (RFC 6121 §5.2.2). */
static enum sm_verdict default_message_bare(struct sm_event *ev, void *data)
{
	struct sm *sm = ev->sm;
	struct stanza *st = ev->st;
	if (sm_stanza_is_type(st, "groupchat")) {
		sm_deliver_error(sm, st, "service-unavailable");
		return SM_DONE;
	}
	if (sm_stanza_is_type(st, "error"))
		return SM_DONE;
	bool headline = sm_stanza_is_type(st, "headline");
	struct user *u = st->to_user;
	int best = sm_deliver_bare_priority(u);
	if (best < 0) {
		if (!headline)
			fire(sm, SM_EV_MESSAGE_OFFLINE, st, ev->session);
		return SM_DONE;
	}
	if (sm_send_serialize(sm, st->xml) < 0)
		return SM_DONE;
	for (struct session *s = u->sessions; s; s = s->next)
		if (sm_session_available(s) &&
		    (headline ? s->priority >= 0 : s->priority == best))
			sm_send_stanza_bytes(sm, s, sm->out.data, sm->out.len);
	return SM_DONE;
}

/* RFC 6121 §8.5.2.2.1 (paraphrased): with no available resource, the
 * server may store a normal or chat message for later delivery;
 * otherwise it either ignores it or returns <service-unavailable/>.
 * Here: the error, until offline.c takes this event over by hooking
 * above. */
static enum sm_verdict default_message_offline(struct sm_event *ev, void *data)
{
	sm_deliver_error(ev->sm, ev->st, "service-unavailable");
	return SM_DONE;
}

/* RFC 6121 §8.5.2.1.2: "For a presence stanza with no type or of type
 * "unavailable", the server MUST deliver the stanza to all available
 * resources"; with none, §8.5.2.2.2: silently ignore. Subscription
 * requests go the same way until presence.c applies §3; a probe is the
 * server's to answer (§4.3.2), which presence.c does. */
static enum sm_verdict default_presence_bare(struct sm_event *ev, void *data)
{
	struct sm *sm = ev->sm;
	struct stanza *st = ev->st;
	if (sm_stanza_is_type(st, "probe") || !st->to_user)
		return SM_DONE;
	if (sm_send_serialize(sm, st->xml) < 0)
		return SM_DONE;
	for (struct session *s = st->to_user->sessions; s; s = s->next)
		if (sm_session_available(s))
			sm_send_stanza_bytes(sm, s, sm->out.data, sm->out.len);
	return SM_DONE;
}

/* The user's own resources see its presence: RFC 6121 §4.2.2, "The
 * user's server MUST also broadcast initial presence from the user's
 * newly available resource to all of the user's available resources,
 * including the resource that generated the presence notification in
 * the first place (i.e., an entity is implicitly subscribed to its own
 * presence)"; the same for updates (§4.4.2) and unavailable presence
 * (§4.5.2), which the now unavailable sender does not get back. The
 * server delivers to each resource: each copy is addressed to that
 * resource's full JID, as Prosody does (the client sent no 'to'). On
 * initial presence the new resource also learns its siblings' presence,
 * as a probe of its own bare JID would (§4.3.2), addressed to it. */
static void deliver_to_resource(struct sm *sm, struct session *s,
				struct arena *a, struct xml_node *xml)
{
	if (xml_set_attr(a, xml, "to", s->jid) == 0 &&
	    sm_send_serialize(sm, xml) == 0)
		sm_send_stanza_bytes(sm, s, sm->out.data, sm->out.len);
}

static enum sm_verdict default_broadcast(struct sm_event *ev, void *data)
{
	struct sm *sm = ev->sm;
	struct session *origin = ev->session;
	struct user *u = origin->user;
	for (struct session *s = u->sessions; s; s = s->next)
		if (sm_session_available(s))
			deliver_to_resource(sm, s, ev->st->arena, ev->st->xml);
	if (!ev->initial)
		return SM_DONE;
	for (struct session *s = u->sessions; s; s = s->next) {
		if (s == origin || !sm_session_available(s))
			continue;
		struct xml_node *p =
			xml_parse(&sm->arena, s->presence, strlen(s->presence),
				  XML_NS_CLIENT);
		if (p)
			deliver_to_resource(sm, origin, &sm->arena, p);
	}
	return SM_DONE;
}

int sm_delivery_init(struct sm *sm)
{
	static const struct {
		enum sm_event_type type;
		sm_hook_fn fn;
	} defaults[] = {
		{SM_EV_IQ_HOST, default_iq},
		{SM_EV_IQ_BARE, default_iq},
		{SM_EV_IQ_FULL, default_deliver},
		{SM_EV_MESSAGE_HOST, default_message_host},
		{SM_EV_MESSAGE_BARE, default_message_bare},
		{SM_EV_MESSAGE_FULL, default_deliver},
		{SM_EV_MESSAGE_OFFLINE, default_message_offline},
		{SM_EV_PRESENCE_HOST, default_ignore},
		{SM_EV_PRESENCE_BARE, default_presence_bare},
		{SM_EV_PRESENCE_FULL, default_deliver},
		{SM_EV_PRESENCE_BROADCAST, default_broadcast},
	};
	for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++)
		if (sm_module_hook(sm, defaults[i].type, NULL,
				   SM_PRIORITY_DEFAULT, defaults[i].fn,
				   NULL) < 0)
			return -1;
	return 0;
}
