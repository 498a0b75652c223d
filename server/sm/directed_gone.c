/* directed_gone: when the component serving a domain goes (the router's
 * FRAME_UNBOUND of that name: the muc process killed, a gateway
 * gone), the sessions that sent it directed presence (RFC 6121 §4.6,
 * presence.c's s->directed: a room entered, XEP-0045 §7.2) would
 * believe for ever that they are still there. Each gets, from each
 * such JID, what tells its client so, and the JID is forgotten:
 *
 * - from an occupant JID of a room service (<muc><service>): the
 *   unavailable presence a room sends its occupants at a shutdown,
 *   XEP-0045 status 332 with 110 (their own). Gajim then rejoins on
 *   its own every 10 s until the room is back, Conversations offers
 *   to try again, and Prosody's rooms send the same when they stop.
 *   A presence error while joined is only shown by Gajim, which then
 *   still believes itself joined;
 * - from any other JID: a presence error, remote-server-not-found
 *   (RFC 6120 §8.3.3.15: the domain cannot be reached).
 *
 * The clients enter again once the supervisor has restarted the
 * process; their new directed presence is tracked anew. */
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../lib/xml.h"
#include "send.h"
#include "sm.h"
#include "stanza.h"

#define NS_MUC_USER "http://jabber.org/protocol/muc#user"

static bool is_room_service(const struct sm *sm, const char *domain)
{
	const struct config_muc *m = &sm->cfg->muc;
	for (size_t i = 0; i < m->nservices; i++)
		if (strcmp(m->services[i], domain) == 0)
			return true;
	return false;
}

/* <x xmlns='…muc#user'><item affiliation='none' role='none'/>
 * <status code='110'/><status code='332'/></x> */
static int add_shutdown(struct arena *a, struct xml_node *p)
{
	static const char *const codes[] = {"110", "332"};
	struct xml_node *x = xml_add_child(a, p, NS_MUC_USER, "x");
	struct xml_node *item =
		x ? xml_add_child(a, x, NS_MUC_USER, "item") : NULL;
	if (!item || xml_set_attr(a, item, "affiliation", "none") < 0 ||
	    xml_set_attr(a, item, "role", "none") < 0)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		struct xml_node *st =
			xml_add_child(a, x, NS_MUC_USER, "status");
		if (!st || xml_set_attr(a, st, "code", codes[i]) < 0)
			return -1;
	}
	return 0;
}

static int add_error(struct arena *a, struct xml_node *p)
{
	struct xml_node *e = xml_add_child(a, p, XML_NS_CLIENT, "error");
	if (!e || xml_set_attr(a, e, "type", "cancel") < 0 ||
	    !xml_add_child(a, e, NS_STANZAS, "remote-server-not-found"))
		return -1;
	return 0;
}

static void tell_gone(struct sm *sm, struct session *s, const char *from,
		      const struct jid *j)
{
	struct arena *a = &sm->arena;
	bool room = j->resource[0] && is_room_service(sm, j->domain);
	struct xml_node *p = xml_node_new(a, XML_NS_CLIENT, "presence");
	if (!p || xml_set_attr(a, p, "from", from) < 0 ||
	    xml_set_attr(a, p, "to", s->jid) < 0 ||
	    xml_set_attr(a, p, "type", room ? "unavailable" : "error") < 0 ||
	    (room ? add_shutdown(a, p) : add_error(a, p)) < 0) {
		log_error("sm: out of memory telling %s that %s is gone",
			  s->jid, from);
		return;
	}
	sm_send_stanza(sm, s, p);
}

/* The session's directed presences to domain: told, and forgotten. */
static void session_domain_gone(struct sm *sm, struct session *s,
				const char *domain)
{
	size_t i = 0;
	while (i < s->ndirected) {
		struct jid j;
		if (jid_parse_str(&j, s->directed[i]) < 0 ||
		    strcmp(j.domain, domain) != 0) {
			i++;
			continue;
		}
		tell_gone(sm, s, s->directed[i], &j);
		free(s->directed[i]);
		s->directed[i] = s->directed[--s->ndirected];
	}
}

void sm_directed_domain_gone(struct sm *sm, const char *name, size_t len)
{
	char domain[JID_PART_MAX + 1];
	if (len >= sizeof domain || memchr(name, '\0', len))
		return; /* a c2s name, "*": no JID's domain */
	memcpy(domain, name, len);
	domain[len] = '\0';
	struct hash_link *l, *next;
	hash_table_for_each(&sm->sessions.users, l, next)
	{
		struct user *u = hash_entry(l, struct user, link);
		for (struct session *s = u->sessions; s; s = s->next)
			if (s->ndirected && !s->ending)
				session_domain_gone(sm, s, domain);
		arena_reset(&sm->arena);
	}
}
