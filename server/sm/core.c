/* core: the sm's state and the frames that come from the router:
 * sessions starting and ending, stanzas, failed routes. */
#include <string.h>

#include "../../lib/log.h"
#include "module.h"
#include "route.h"
#include "session.h"
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
	if (sm_userdata_init(sm) < 0 || sm_route_init(sm) < 0 ||
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

static void send_session_end(struct sm *sm, const struct session *s,
			     const char *reason)
{
	sm_send(sm, FRAME_SESSION_END, s->c2s, strlen(s->c2s), s->conn,
		reason, strlen(reason));
}

/* ------------------------------------------------------------ sessions */

/* Ends s: if it was available, its unavailable presence goes out as if
 * the client had sent it (RFC 6121 §4.5: the server does so for a client
 * that went away without it); then modules hear of the end. */
static void sm_session_end(struct sm *sm, struct session *s)
{
	log_info("sm: session %s ended", s->jid);
	if (sm_session_available(s)) {
		struct xml_node *p = xml_node_new(&sm->arena, XML_NS_CLIENT,
						  "presence");
		struct stanza st;
		if (p && xml_set_attr(&sm->arena, p, "from", s->jid) == 0 &&
		    xml_set_attr(&sm->arena, p, "type", "unavailable") == 0 &&
		    sm_stanza_init(&st, &sm->arena, p) == 0)
			sm_route_stanza(sm, &st, s);
	}
	struct sm_event ev = {.type = SM_EV_SESSION_ENDED, .session = s};
	sm_module_fire(sm, &ev);
	if (s->user->sessions == s && !s->next)
		sm_userdata_keep(sm, s->user);
	sm_session_remove(&sm->sessions, s);
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
	const char *need = bare;
	if (valid)
		jid_format_bare(&j, bare);
	if (sm_userdata_hold(sm, f, &need, valid ? 1 : 0))
		return;
	if (!valid) {
		log_warn("sm: %.*s conn %llu: refused session for '%.*s'",
			 (int)f->from_len, f->from,
			 (unsigned long long)f->conn, (int)f->payload_len,
			 f->payload);
		sm_send(sm, FRAME_SESSION_END, f->from, f->from_len, f->conn,
			"bad-jid", 7);
		return;
	}
	struct session *old = sm_session_find_conn(&sm->sessions, f->from,
						f->from_len, f->conn);
	if (old)
		sm_session_end(sm, old); /* a second start on one connection */

	old = sm_session_find(sm_session_user_find(&sm->sessions, bare), j.resource);
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
	sm_send(sm, FRAME_SESSION_OK, s->c2s, strlen(s->c2s), s->conn,
		s->jid, strlen(s->jid));
	struct sm_event ev = {.type = SM_EV_SESSION_STARTED, .session = s};
	sm_module_fire(sm, &ev);
}

/* FRAME_SESSION_END from c2s: the client went away. */
static void sm_session_closed(struct sm *sm, const struct frame *f)
{
	struct session *s = sm_session_find_conn(&sm->sessions, f->from,
					      f->from_len, f->conn);
	if (s)
		sm_session_end(sm, s);
}

/* FRAME_UNBOUND: if `to` was a c2s, all its clients are gone. */
static void component_gone(struct sm *sm, const struct frame *f)
{
	struct session *s;
	while ((s = sm_session_first_of_component(&sm->sessions, f->to,
					       f->to_len)) != NULL) {
		sm_session_end(sm, s);
		arena_reset(&sm->arena);
	}
}

/* FRAME_STANZA: parsed here, so that its recipient can be loaded
 * before it is handled. */
static void sm_stanza_frame(struct sm *sm, const struct frame *f)
{
	struct stanza st;
	struct session *origin;
	if (sm_route_frame_parse(sm, f, &st, &origin) < 0)
		return;
	char bare[JID_MAX + 1];
	const char *need = bare;
	size_t n = 0;
	if (st.to && st.to->local[0] && sm_serves(sm, st.to->domain)) {
		jid_format_bare(st.to, bare);
		n = 1;
	}
	/* The sender, if local, is loaded: it has a session. */
	if (sm_userdata_hold(sm, f, &need, n))
		return;
	sm_route_stanza(sm, &st, origin);
}

void sm_dispatch_frame(struct sm *sm, const struct frame *f)
{
	switch (f->type) {
	case FRAME_SESSION_START:
		sm_session_start(sm, f);
		return;
	case FRAME_STANZA:
		sm_stanza_frame(sm, f);
		return;
	default:
		break;
	}
	/* Frames about no user wait only behind others (arrival order). */
	if (sm_userdata_hold(sm, f, NULL, 0))
		return;
	switch (f->type) {
	case FRAME_SESSION_END:
		sm_session_closed(sm, f);
		break;
	case FRAME_UNBOUND:
		component_gone(sm, f);
		break;
	case FRAME_NO_ROUTE:
		sm_route_frame_no_route(sm, f);
		break;
	default:
		log_debug("sm: ignored frame type %u", f->type);
		break;
	}
}

void sm_handle_frame(struct sm *sm, const struct frame *f)
{
	sm_dispatch_frame(sm, f);
	arena_reset(&sm->arena);
}
