/* core: the sm's state and its way in: every frame that comes from the
 * router (sessions starting and ending, stanzas, failed routes).
 *
 * A stanza's way through the sm, file by file, in order:
 *
 *   sm.c         the router link hands a frame to sm_handle_frame (here).
 *   core.c       the frame is parsed, once, into sm->arena
 *                (sm_stanza_frame_parse); if a local user it concerns is
 *                not in memory, or its source has frames waiting, it
 *                waits in userdata.c, which hands it back to
 *                sm_dispatch_frame once its turn comes.
 *   delivery.c   which event it is (RFC 6121 §8, RFC 6120 §10), fired
 *                through module.c to the handlers: the modules hooked
 *                above SM_PRIORITY_DEFAULT, then delivery.c's defaults.
 *   send.c       what a handler sends (a delivery, an answer) is
 *                serialized once and goes to the router in a frame, or
 *                waits in the backlog while the link is full.
 *
 * A stanza the server makes (an answer, a push) enters at delivery.c
 * (sm_deliver_xml); one for a local user not in memory waits in
 * userdata.c as a frame, and comes back here. */
#include <stdio.h>
#include <string.h>

#include "../../lib/log.h"
#include "delivery.h"
#include "module.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

int sm_init(struct sm *sm, const struct config *cfg, const char *name)
{
	memset(sm, 0, sizeof *sm);
	sm->cfg = cfg;
	sm->name = name;
	if (sm_session_table_init(&sm->sessions) < 0)
		return -1;
	if (sm_userdata_init(sm) < 0 || sm_delivery_init(sm) < 0 ||
	    sm_module_load_all(sm) < 0) {
		sm_free(sm);
		return -1;
	}
	return 0;
}

void sm_free(struct sm *sm)
{
	sm_userdata_free(sm); /* the storage's last completions run here */
	sm_module_free_all(sm);
	sm_session_table_free(&sm->sessions);
	sm_module_registry_free(&sm->modules);
	arena_reset(&sm->arena);
	buf_free(&sm->out);
	buf_free(&sm->backlog);
}

bool sm_serves(const struct sm *sm, const char *domain)
{
	return config_find_host(sm->cfg, domain) != NULL;
}

/* ------------------------------------------------------------ sessions */

static void send_session_end(struct sm *sm, const struct session *s,
			     const char *reason)
{
	sm_send(sm, FRAME_SESSION_END, s->c2s, strlen(s->c2s), s->conn, reason,
		strlen(reason));
}

/* If s was available, its unavailable presence goes out as if the
 * client had sent it (RFC 6121 §4.5: the server does so for a client
 * that went away without it). */
static void sm_session_unavailable(struct sm *sm, struct session *s)
{
	if (!sm_session_available(s))
		return;
	struct xml_node *p =
		xml_node_new(&sm->arena, XML_NS_CLIENT, "presence");
	struct stanza st;
	if (p && xml_set_attr(&sm->arena, p, "from", s->jid) == 0 &&
	    xml_set_attr(&sm->arena, p, "type", "unavailable") == 0 &&
	    sm_stanza_init(&st, &sm->arena, p) == 0)
		sm_deliver_stanza(sm, &st, s);
}

/* Ends s: unavailable, then modules hear of the end. */
static void sm_session_end(struct sm *sm, struct session *s)
{
	log_info("sm: session %s ended", s->jid);
	sm_session_unavailable(sm, s);
	struct sm_event ev = {.type = SM_EV_SESSION_ENDED, .session = s};
	sm_module_fire(sm, &ev);
	if (s->user->sessions == s && !s->next)
		sm_userdata_keep(sm, s->user);
	sm_session_remove(&sm->sessions, s);
}

/* The client of s is gone, but stanzas it sent wait for user data
 * before its SESSION_END (userdata.c): for everyone else the session
 * ends now (no ghost that takes the user's messages), and it goes once
 * those stanzas are handled. */
static void sm_session_ending(struct sm *sm, struct session *s)
{
	log_info("sm: session %s ending once its stanzas are handled", s->jid);
	sm_session_unavailable(sm, s);
	s->ending = true;
}

/* The end of the session of c2s connection (f->from, f->conn): now, or
 * after the frames of its user that wait (f waits with them). */
static void sm_session_end_frame(struct sm *sm, const struct frame *f,
				 struct session *s)
{
	struct user *source =
		s ? s->user
		  : sm_userdata_start_source(sm, f->from, f->from_len, f->conn);
	if (source &&
	    sm_userdata_hold(sm, f, source, NULL, NULL) == SM_HOLD_HELD) {
		if (s)
			sm_session_ending(sm, s);
		return;
	}
	if (s)
		sm_session_end(sm, s);
}

/* FRAME_SESSION_START: c2s bound a resource (payload: the full JID).
 * The user's data is loaded first (userdata.c), so that modules find
 * it from SESSION_STARTED on. */
static void sm_session_start(struct sm *sm, const struct frame *f)
{
	struct jid j;
	char bare[JID_MAX + 1];
	bool valid = jid_parse(&j, f->payload, f->payload_len) == 0 &&
		     j.local[0] && j.resource[0] && sm_serves(sm, j.domain);
	if (!valid) {
		log_warn("sm: %.*s conn %llu: refused session for '%.*s'",
			 (int)f->from_len, f->from, (unsigned long long)f->conn,
			 (int)f->payload_len, f->payload);
		sm_send(sm, FRAME_SESSION_END, f->from, f->from_len, f->conn,
			"bad-jid", 7);
		return;
	}
	jid_format_bare(&j, bare);
	switch (sm_userdata_hold(sm, f, NULL, bare, bare)) {
	case SM_HOLD_HELD:
		return;
	case SM_HOLD_REFUSED:
		log_warn("sm: session for %s refused: too many of its frames "
			 "wait",
			 bare);
		sm_send(sm, FRAME_SESSION_END, f->from, f->from_len, f->conn,
			"resource-constraint", 19);
		return;
	case SM_HOLD_NOW:
		break;
	}
	struct session *old = sm_session_find_conn(&sm->sessions, f->from,
						   f->from_len, f->conn);
	if (old)
		sm_session_end(sm, old); /* a second start on one connection */

	old = sm_session_find(sm_session_user_find(&sm->sessions, bare),
			      j.resource);
	if (old) {
		/* RFC 6120 §7.7.2.2: a resource in use; config says whether
		 * the new session replaces the old or is refused. */
		if (!sm->cfg->resource_conflict_replace) {
			log_info("sm: resource conflict for %s: refused",
				 old->jid);
			sm_send(sm, FRAME_SESSION_END, f->from, f->from_len,
				f->conn, "conflict", 8);
			return;
		}
		log_info("sm: resource conflict for %s: replaced", old->jid);
		send_session_end(sm, old, "conflict");
		sm_session_end(sm, old);
	}
	struct session *s = sm_session_add(&sm->sessions, &j, f->from,
					   f->from_len, f->conn);
	if (!s) {
		log_error("sm: out of memory starting a session");
		sm_send(sm, FRAME_SESSION_END, f->from, f->from_len, f->conn,
			"resource-constraint", 19);
		return;
	}
	log_info("sm: session %s started (%s conn %llu)", s->jid, s->c2s,
		 (unsigned long long)s->conn);
	sm_send(sm, FRAME_SESSION_OK, s->c2s, strlen(s->c2s), s->conn, s->jid,
		strlen(s->jid));
	struct sm_event ev = {.type = SM_EV_SESSION_STARTED, .session = s};
	sm_module_fire(sm, &ev);
}

/* FRAME_SESSION_END from c2s: the client went away. Held, it ends only
 * the session of its own queue's user: c2s numbers its connections
 * anew when it restarts. */
static void sm_session_closed(struct sm *sm, const struct frame *f)
{
	struct session *s = sm_session_find_conn(&sm->sessions, f->from,
						 f->from_len, f->conn);
	struct user *held = sm_userdata_dispatching(sm);
	if (s && held && s->user != held)
		return;
	sm_session_end_frame(sm, f, s);
}

/* FRAME_UNBOUND: if `to` was a c2s, all its clients are gone. Their
 * sessions end, each in its turn (sm_session_end_frame). If it was a
 * domain (a room service), those who sent presence there are told. */
static void component_gone(struct sm *sm, const struct frame *f)
{
	struct frame end = {.type = FRAME_SESSION_END,
			    .from = f->to,
			    .from_len = f->to_len,
			    .to = sm->name,
			    .to_len = strlen(sm->name),
			    .payload = ""};
	struct session *s =
		sm_session_first_of_component(&sm->sessions, f->to, f->to_len);
	while (s) {
		struct session *next = s->c2s_next;
		end.conn = s->conn;
		if (!s->ending)
			sm_session_end_frame(sm, &end, s);
		arena_reset(&sm->arena);
		s = next;
	}
	sm_userdata_end_starts(sm, f->to, f->to_len);
	sm_directed_domain_gone(sm, f->to, f->to_len);
}

/* ------------------------------------------------------------ stanzas */

/* A stanza whose payload does not parse here although c2s (or s2s) read
 * it: never dropped in silence. The fault is the server's, so its sender
 * gets RFC 6120 §8.3.3.6 internal-server-error, built from its start tag
 * (an iq result or error is not answered, §8.2.3). */
static void frame_refuse_unparsed(struct sm *sm, const struct frame *f,
				  const struct stanza *st)
{
	log_warn("sm: from %.*s: a <%s/> that does not parse: "
		 "internal-server-error",
		 (int)f->from_len, f->from, st->xml->name);
	if (st->kind != STANZA_IQ || sm_stanza_is_type(st, "get") ||
	    sm_stanza_is_type(st, "set"))
		sm_deliver_error(sm, st, "internal-server-error");
}

/* The one parse of a stanza frame, into sm->arena: st, and its origin
 * (the local session that sent it, or NULL). Returns 0, or -1 when the
 * frame was dropped or answered here (no session, not a stanza, a bad
 * JID, a payload that does not parse). */
static int sm_stanza_frame_parse(struct sm *sm, const struct frame *f,
				 struct stanza *st, struct session **origin_out)
{
	struct session *origin = NULL;
	*origin_out = NULL;
	if (f->conn) {
		origin = sm_session_find_conn(&sm->sessions, f->from,
					      f->from_len, f->conn);
		if (!origin) {
			log_debug("sm: stanza from %.*s conn %llu: no session",
				  (int)f->from_len, f->from,
				  (unsigned long long)f->conn);
			return -1;
		}
	}
	struct xml_node *xml = xml_parse(&sm->arena, f->payload, f->payload_len,
					 XML_NS_CLIENT);
	bool whole = xml != NULL; /* else its start tag, to answer it */
	if (!whole)
		xml = xml_parse_head(&sm->arena, f->payload, f->payload_len,
				     XML_NS_CLIENT);
	int rc = sm_stanza_init(st, &sm->arena, xml);
	if (rc == -1) {
		log_warn("sm: from %.*s: a frame whose payload is not a "
			 "stanza",
			 (int)f->from_len, f->from);
		return -1;
	}
	if (origin && rc == 0 && !st->from) {
		/* c2s stamps 'from'; be safe if it did not. */
		st->from = arena_alloc(st->arena, sizeof *st->from);
		if (!st->from || jid_parse_str(st->from, origin->jid) < 0 ||
		    xml_set_attr(st->arena, xml, "from", origin->jid) < 0)
			return -1;
	}
	if (rc == -2) {
		/* RFC 6120 §8.3.3.8 jid-malformed, if the sender is known;
		 * the bad 'to' cannot be the error's 'from'. */
		struct xml_node *e =
			st->from ? sm_stanza_error_new(st, "jid-malformed")
				 : NULL;
		if (e && xml_set_attr(st->arena, e, "from", NULL) == 0)
			sm_deliver_xml(sm, e);
		return -1;
	}
	if (!whole) {
		frame_refuse_unparsed(sm, f, st);
		return -1;
	}
	*origin_out = origin;
	return 0;
}

/* Refused past userdata's bounds: RFC 6120 §8.3.3.18, "the server or
 * recipient is busy or lacks the system resources necessary to service
 * the request" (type wait: the sender may retry later). Not for what
 * cannot be answered: an error (§8.3.1) or an iq result (§8.2.3). */
static void sm_stanza_refused(struct sm *sm, const struct stanza *st)
{
	if (sm_stanza_is_type(st, "error") ||
	    (st->kind == STANZA_IQ && !sm_stanza_is_type(st, "get") &&
	     !sm_stanza_is_type(st, "set"))) {
		log_debug("sm: a %s of type %s dropped: too many frames of "
			  "its sender wait, and it cannot be answered",
			  st->xml->name, st->type);
		return;
	}
	sm_deliver_error(sm, st, "resource-constraint");
}

/* FRAME_STANZA: parsed here, so that its recipient can be loaded
 * before it is handled. It waits in its sender's queue: the local
 * session's user; else, for a remote sender, its domain (one remote
 * server, whatever local parts it makes up, fills one queue's bounds,
 * not the sm's); else its 'from' (bare), else the component. */
static void sm_stanza_frame(struct sm *sm, const struct frame *f)
{
	struct stanza st;
	struct session *origin;
	if (sm_stanza_frame_parse(sm, f, &st, &origin) < 0)
		return;
	char bare[JID_MAX + 1], from[JID_MAX + 1];
	const char *need = NULL;
	if (st.to && st.to->local[0] && sm_serves(sm, st.to->domain)) {
		jid_format_bare(st.to, bare);
		need = bare;
	}
	/* A local session's user is the source: no key to make. */
	if (!origin && st.from && !sm_serves(sm, st.from->domain))
		snprintf(from, sizeof from, "%s", st.from->domain);
	else if (!origin && st.from)
		jid_format_bare(st.from, from);
	else if (!origin)
		snprintf(from, sizeof from, "%.*s", (int)f->from_len, f->from);
	switch (sm_userdata_hold(sm, f, origin ? origin->user : NULL, from,
				 need)) {
	case SM_HOLD_HELD:
		return;
	case SM_HOLD_REFUSED:
		sm_stanza_refused(sm, &st);
		return;
	case SM_HOLD_NOW:
		break;
	}
	sm_deliver_stanza(sm, &st, origin);
}

/* FRAME_NO_ROUTE: the router found nobody serving f->to; f's payload
 * is the frame we sent. */
static void sm_stanza_no_route(struct sm *sm, const struct frame *f)
{
	if (f->flags != FRAME_STANZA)
		return;
	if (sm_session_known_component(&sm->sessions, f->to, f->to_len)) {
		/* A c2s went away; FRAME_UNBOUND ends its sessions. */
		log_debug("sm: %.*s is gone; stanza dropped", (int)f->to_len,
			  f->to);
		return;
	}
	struct xml_node *xml = xml_parse(&sm->arena, f->payload, f->payload_len,
					 XML_NS_CLIENT);
	struct stanza st;
	if (sm_stanza_init(&st, &sm->arena, xml) != 0 || !st.from)
		return;
	log_info("sm: no route to %.*s: remote-server-not-found",
		 (int)f->to_len, f->to);
	sm_deliver_error(sm, &st, "remote-server-not-found");
}

/* ------------------------------------------------------------ frames */

void sm_dispatch_frame(struct sm *sm, const struct frame *f)
{
	switch (f->type) {
	case FRAME_SESSION_START:
		sm_session_start(sm, f);
		return;
	case FRAME_STANZA:
		sm_stanza_frame(sm, f);
		return;
	case FRAME_MULTICAST:
		sm_multicast_frame(sm, f);
		return;
	case FRAME_SESSION_END:
		sm_session_closed(sm, f);
		return;
	case FRAME_UNBOUND:
		component_gone(sm, f);
		return;
	case FRAME_NO_ROUTE:
		sm_stanza_no_route(sm, f);
		return;
	default:
		log_debug("sm: %s frame ignored", frame_type_name(f->type));
		return;
	}
}

void sm_handle_frame(struct sm *sm, const struct frame *f)
{
	sm_dispatch_frame(sm, f);
	arena_reset(&sm->arena);
}
