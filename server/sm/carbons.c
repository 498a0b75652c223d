/* carbons: XEP-0280 Message Carbons. A session that enabled carbons
 * (§4, one bit in struct session) gets a copy of every eligible message
 * (§6) that another resource of its user sends (<sent/>, §8) or that
 * reaches the user and not this session (<received/>, §7), wrapped in
 * a XEP-0297 <forwarded/>.
 *
 * The copies are made at priority 50 on the events of a message's way,
 * below the archive (mam.c, 100), so that they carry its XEP-0359
 * <stanza-id/>, and return SM_NEXT: the core delivers the original.
 * Sent copies on SM_EV_STANZA_OUT, received ones on SM_EV_MESSAGE_BARE
 * and SM_EV_MESSAGE_FULL, the last events before delivery.
 *
 * Cost: for a user none of whose sessions enabled carbons a message
 * costs a walk of the user's sessions and of the message's children
 * (the <private/> to remove, forged wrappers): no allocation, no
 * serialization. A copy is serialized once, whatever its number of
 * targets; each target gets those bytes behind its own 'to'. */
#include "carbons.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "delivery.h"
#include "module.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"

#define NS_FORWARD "urn:xmpp:forward:0"
#define NS_HINTS "urn:xmpp:hints"
#define NS_MUC_USER "http://jabber.org/protocol/muc#user"

extern const struct sm_module sm_module_carbons;

struct carbons {
	struct buf copy; /* the copy, serialized once, without 'to' */
	struct buf out;  /* the copy for one target */
};

/* ------------------------------------------------------------ eligibility */

/* Payloads that only instant messaging uses, carried without a body:
 * chat states (XEP-0085; XEP-0280 §10.2: their copies are
 * "intentional"), receipts (XEP-0184), markers (XEP-0333), reactions
 * (XEP-0444), and the Jingle Message Initiation of a call (XEP-0353:
 * propose, retract, accept, proceed, reject), so that a call rings on
 * every device and stops ringing on all when one answers. */
static const char *const im_payloads[] = {
	"http://jabber.org/protocol/chatstates",
	"urn:xmpp:receipts",
	"urn:xmpp:chat-markers:0",
	"urn:xmpp:reactions:0",
	"urn:xmpp:jingle-message:0",
};

static bool carbons_has_im_payload(const struct xml_node *m)
{
	for (const struct xml_node *c = xml_child(m, NULL, NULL); c;
	     c = xml_next(c, NULL, NULL))
		for (size_t i = 0; i < sizeof im_payloads / sizeof *im_payloads;
		     i++)
			if (strcmp(c->ns, im_payloads[i]) == 0)
				return true;
	return false;
}

/* XEP-0280 §6 leaves the rules to the server ("it SHOULD follow the
 * general intent of these rules"):
 * - "A <message/> is eligible for carbons delivery if it is of type
 *   "chat"", or "of type "normal" and it contains a <body> element"
 *   (an unknown type is normal, RFC 6121 §5.2.2); here also a message
 *   of an IM payload above without a body.
 * - "if it is of type "error" and sent in response to a <message/> that
 *   was itself eligible": without tracking what was sent, an error
 *   that echoes such a message (RFC 6120 §8.3.1 lets the bounce include
 *   it), or that comes from a bare JID (the bounce of a message to an
 *   account, the usual way of a chat).
 * - "not eligible ... if it is determined to have been sent by a MUC
 *   room or service ... (this also includes private messages from MUC
 *   participants)": a received message with a muc#user <x/> to a full
 *   JID (an invitation, to the bare JID, is copied). groupchat and
 *   headline messages are never copied.
 * - §9: "To exclude a <message/> from being forwarded to other
 *   Carbons-enabled resources, the sending client add[s] a <private/>
 *   element"; XEP-0334 §4: a <no-copy/> message "should not be copied
 *   to addresses other than the one to which it is addressed, for
 *   example through Message Carbons (XEP-0280)". */
bool sm_carbons_eligible(const struct stanza *st, bool received)
{
	const struct xml_node *m = st->xml;
	if (st->kind != STANZA_MESSAGE || xml_child(m, NS_CARBONS, "private") ||
	    xml_child(m, NS_HINTS, "no-copy") ||
	    sm_stanza_is_type(st, "groupchat") ||
	    sm_stanza_is_type(st, "headline"))
		return false;
	if (received && st->to && st->to->resource[0] &&
	    xml_child(m, NS_MUC_USER, "x"))
		return false;
	if (sm_stanza_is_type(st, "chat"))
		return true;
	if (sm_stanza_is_type(st, "error") && st->from &&
	    !st->from->resource[0])
		return true;
	return xml_child(m, m->ns, "body") || carbons_has_im_payload(m);
}

/* ------------------------------------------------------------ copies */

/* Where the original goes, to tell who needs a copy: the user's
 * sessions that enabled carbons, but the one that sent it (§8:
 * "excluding the sending client") and those that get it themselves
 * (§7: "each Carbons-enabled resource ... that did not receive it under
 * the RFC 6121 delivery rules"). */
struct carbons_route {
	const struct session *sender;     /* the user's, or NULL */
	bool to_user;                     /* the original is for this user */
	const struct session *to_session; /* the full JID it is for */
	int best;                         /* else: sm_deliver_bare_priority */
};

/* RFC 6121 §8.5.2.1.1: to a bare JID, the available resources of the
 * highest non-negative priority get it. With none (§8.5.2.2.1), it is
 * kept offline for the next resource to become available: a copy to a
 * session not yet available would be a duplicate then. */
static bool carbons_gets_original(const struct session *s,
				  const struct carbons_route *r)
{
	if (!r->to_user)
		return false;
	if (r->to_session)
		return s == r->to_session;
	if (r->best < 0)
		return !sm_session_available(s);
	return sm_session_available(s) && s->priority == r->best;
}

static bool carbons_wants(const struct session *s,
			  const struct carbons_route *r)
{
	return s->carbons && !s->ending && s != r->sender &&
	       !carbons_gets_original(s, r);
}

/* Whether a session of u, other than sender, enabled carbons: the test
 * that a message pays when nobody did. */
static bool carbons_enabled(const struct user *u, const struct session *sender)
{
	for (const struct session *s = u->sessions; s; s = s->next)
		if (s->carbons && s != sender)
			return true;
	return false;
}

/* §7, §8: "Each forwarded copy is wrapped using Stanza Forwarding
 * (XEP-0297). The wrapping message SHOULD maintain the same 'type'
 * attribute value; the 'from' attribute MUST be the Carbons-enabled
 * user's bare JID", and it contains a <received/> or <sent/> holding a
 * <forwarded/> holding the original. Into mod->copy, without 'to'. The
 * original is a child for the serialization alone: it is delivered
 * afterwards. */
static int carbons_serialize(struct carbons *mod, struct stanza *st,
			     const char *wrapper, const char *bare)
{
	struct arena *a = st->arena;
	struct xml_node *m = xml_node_new(a, XML_NS_CLIENT, "message");
	struct xml_node *w =
		m ? xml_add_child(a, m, NS_CARBONS, wrapper) : NULL;
	struct xml_node *f =
		w ? xml_add_child(a, w, NS_FORWARD, "forwarded") : NULL;
	if (!f || xml_set_attr(a, m, "from", bare) < 0 ||
	    (st->type[0] && xml_set_attr(a, m, "type", st->type) < 0))
		return -1;
	/* RFC 6120 §10.3.1: a message without 'to' is to the sender's
	 * bare JID; the copy says so. */
	if (!xml_attr_get(st->xml, "to") &&
	    xml_set_attr(a, st->xml, "to", bare) < 0)
		return -1;
	buf_clear(&mod->copy);
	xml_append_child(f, st->xml);
	int rc = xml_serialize(m, XML_NS_CLIENT, &mod->copy);
	xml_remove_child(f, st->xml);
	return rc;
}

/* mod->copy to s: §7, "the 'to' attribute MUST be the full JID of the
 * resource receiving the copy" (§8: SHOULD). */
static void carbons_send(struct sm *sm, struct carbons *mod, struct session *s)
{
	static const char tag[] = "<message";
	size_t n = sizeof tag - 1;
	if (mod->copy.len < n || memcmp(mod->copy.data, tag, n) != 0)
		return; /* cannot be: carbons_serialize made it */
	buf_clear(&mod->out);
	if (buf_append(&mod->out, tag, n) < 0 ||
	    buf_append_str(&mod->out, " to=\"") < 0 ||
	    buf_append_xml_escaped(&mod->out, s->jid, strlen(s->jid)) < 0 ||
	    buf_append(&mod->out, "\"", 1) < 0 ||
	    buf_append(&mod->out, mod->copy.data + n, mod->copy.len - n) < 0) {
		log_error("carbons: out of memory copying a message to %s",
			  s->jid);
		return;
	}
	sm_send_stanza_bytes(sm, s, mod->out.data, mod->out.len);
}

/* Copies st, as wrapper (sent or received), to the sessions of u that
 * route says want it. */
static void carbons_copy(struct sm *sm, struct stanza *st, struct user *u,
			 const struct carbons_route *r, const char *wrapper)
{
	struct carbons *mod = sm_module_data(sm, &sm_module_carbons);
	struct session *s = u->sessions;
	while (s && !carbons_wants(s, r))
		s = s->next;
	if (!s || !sm_carbons_eligible(st, r->sender == NULL))
		return;
	if (carbons_serialize(mod, st, wrapper, u->jid) < 0) {
		log_error("carbons: out of memory copying a message for %s",
			  u->jid);
		return;
	}
	for (; s; s = s->next)
		if (carbons_wants(s, r))
			carbons_send(sm, mod, s);
}

/* ------------------------------------------------------------ events */

/* §8: "When a client sends a <message/> eligible for carbons delivery,
 * its sending server ... delivers a forwarded copy to each
 * Carbons-enabled resource for the matching bare JID sender, excluding
 * the sending client. Note that this happens irrespective of whether
 * the sending client has carbons enabled."
 *
 * A message to the user's own JID (a note to self, or to another of its
 * resources) is both sent and received: its other resources get one
 * copy, <sent/>, and none that gets the original (carbons_received
 * makes no <received/> copy of it). */
static enum sm_verdict carbons_sent(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	struct session *origin = ev->session;
	if (st->kind != STANZA_MESSAGE ||
	    !carbons_enabled(origin->user, origin))
		return SM_NEXT;
	struct user *u = origin->user;
	struct carbons_route r = {.sender = origin, .best = -1};
	if (!st->to || (st->from && jid_equal_bare(st->from, st->to))) {
		/* RFC 6121 §8.5.3.2.1: to a resource not connected, as if
		 * to the bare JID. */
		r.to_user = true;
		if (st->to && st->to->resource[0])
			r.to_session = sm_session_find(u, st->to->resource);
		if (!r.to_session)
			r.best = sm_deliver_bare_priority(u);
	}
	carbons_copy(ev->sm, st, u, &r, "sent");
	return SM_NEXT;
}

/* §7: "When the server receives a <message/> eligible for carbons
 * delivery addressed to a client JID (either bare or full), it delivers
 * the <message/> according to RFC 6121 § 8.5.3, and then delivers a
 * forwarded copy to each Carbons-enabled resource for the matching bare
 * JID recipient that did not receive it". §9: "The receiving server ...
 * SHOULD remove the <private/> element before delivering to the
 * recipient." */
static enum sm_verdict carbons_received(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	struct user *u = st->to_user;
	if (!u)
		return SM_NEXT;
	/* From another resource of the user: carbons_sent copied it. An
	 * error to a bare JID is dropped (RFC 6121 §8.5.2.1.1): nobody
	 * gets it, nobody gets a copy. */
	bool self = ev->session && ev->session->user == u;
	bool dropped = !st->to_session && sm_stanza_is_type(st, "error");
	if (!self && !dropped && carbons_enabled(u, NULL)) {
		struct carbons_route r = {
			.to_user = true,
			.to_session = st->to_session,
			.best = st->to_session ? -1
					       : sm_deliver_bare_priority(u)};
		carbons_copy(ev->sm, st, u, &r, "received");
	}
	struct xml_node *private = xml_child(st->xml, NS_CARBONS, "private");
	if (private)
		xml_remove_child(st->xml, private);
	return SM_NEXT;
}

/* §11: "Any forwarded copies received by a Carbons-enabled client MUST
 * be from that user's bare JID; any copies that do not meet this
 * requirement MUST be ignored." Only this server sends from a user's
 * bare JID (c2s stamps a client's full JID): a <received/> or <sent/>
 * in a message from anyone else is a forgery, removed here, before the
 * archive (100) keeps it and whether or not the user's clients check. */
static enum sm_verdict carbons_strip_forged(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	if (st->kind != STANZA_MESSAGE ||
	    (!ev->session && st->from && jid_is_bare(st->from) && st->to &&
	     jid_equal_bare(st->from, st->to)))
		return SM_NEXT;
	struct xml_node *c = xml_child(st->xml, NS_CARBONS, NULL), *next;
	for (; c; c = next) {
		next = xml_next(c, NS_CARBONS, NULL);
		if (strcmp(c->name, "received") != 0 &&
		    strcmp(c->name, "sent") != 0)
			continue;
		log_info("carbons: a forged <%s/> from %s removed", c->name,
			 xml_attr_get(st->xml, "from"));
		xml_remove_child(st->xml, c);
	}
	return SM_NEXT;
}

/* §4, §5: <enable/> and <disable/> in an iq set, to the user's own
 * account. §10.1: "The server SHOULD NOT treat multiple enable requests
 * ... as an error", nor disables. §4.1, §5.1: <not-allowed/> "if the
 * request is from a client that is not hosted on this server"; the
 * same for a request to another account (§5: "e.g., <not-allowed/> if
 * trying to disable another client's Carbons"). */
static enum sm_verdict carbons_iq(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	struct session *s = ev->session;
	const struct xml_node *p = st->payload;
	if (!s || (st->to && !jid_equal_bare(st->to, st->from))) {
		sm_deliver_error(ev->sm, st, "not-allowed");
		return SM_DONE;
	}
	if (!sm_stanza_is_type(st, "set") ||
	    (!xml_is(p, NS_CARBONS, "enable") &&
	     !xml_is(p, NS_CARBONS, "disable"))) {
		sm_deliver_error(ev->sm, st, "bad-request");
		return SM_DONE;
	}
	s->carbons = xml_is(p, NS_CARBONS, "enable");
	log_debug("carbons: %s for %s", s->carbons ? "on" : "off", s->jid);
	struct xml_node *r = sm_stanza_result_new(st);
	if (r)
		sm_deliver_xml(ev->sm, r);
	return SM_DONE;
}

/* ------------------------------------------------------------ module */

static int carbons_init(struct sm *sm)
{
	struct carbons *mod = calloc(1, sizeof *mod);
	if (!mod)
		return -1;
	sm_module_set_data(sm, &sm_module_carbons, mod);
	/* Forgeries go first, a check like blocking's (100); the copies
	 * after the archive (100), at 50. */
	if (sm_module_hook(sm, SM_EV_STANZA_IN, NULL, 150, carbons_strip_forged,
			   NULL) < 0 ||
	    sm_module_hook(sm, SM_EV_STANZA_OUT, NULL, 50, carbons_sent, NULL) <
		    0 ||
	    sm_module_hook(sm, SM_EV_MESSAGE_BARE, NULL, 50, carbons_received,
			   NULL) < 0 ||
	    sm_module_hook(sm, SM_EV_MESSAGE_FULL, NULL, 50, carbons_received,
			   NULL) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_BARE, NS_CARBONS, 0, carbons_iq, NULL) <
		    0)
		return -1;
	return 0;
}

static void carbons_free(struct sm *sm)
{
	struct carbons *mod = sm_module_data(sm, &sm_module_carbons);
	if (!mod)
		return;
	buf_free(&mod->copy);
	buf_free(&mod->out);
	free(mod);
	sm_module_set_data(sm, &sm_module_carbons, NULL);
}

/* §3: "An entity advertises support for this protocol by including the
 * "urn:xmpp:carbons:2" feature in its service discovery information". */
const struct sm_module sm_module_carbons = {
	.name = "carbons",
	.on_by_default = true,
	.features = (const char *const[]){NS_CARBONS, NULL},
	.init = carbons_init,
	.free = carbons_free,
};
