/* send: the sm's way out, the last step of a stanza's way (core.c
 * tells the whole of it): a stanza for a local session's client or for
 * another domain is serialized once, into sm->out, and goes to the
 * router in a frame; the backlog keeps the frames while the router link
 * is full.
 *
 * ARCHITECTURE.md §2: a full queue is backpressure, never lost frames
 * nor unbounded memory. When the link refuses a frame, it and every
 * frame after it (order matters: a SESSION_OK before the stanzas of
 * that session) wait here, encoded, and the sm stops reading from the
 * router, so that no new work comes in; the work already under way
 * (frames waiting for their users' data, storage completions) goes on
 * and adds to the backlog. When the link drains, the backlog goes out
 * and reading starts again.
 *
 * The backlog has a cap: past SM_BACKLOG_MAX, a message or an iq
 * request from a local user is answered with resource-constraint
 * (RFC 6120 §8.3.3.18: "the server ... lacks the system resources
 * necessary to service the request"), kept in a small reserve beyond
 * the cap; other stanzas (errors, presence, results) are dropped.
 * Control frames (SESSION_OK, SESSION_END) always wait: small, and
 * losing one would leave c2s wrong about its sessions.
 *
 * No deadlock: the sm's own reading does not decide whether its link
 * drains. The router takes the sm's frames unless their destination's
 * queue is full; c2s always reads from the router, so a destination
 * drains by itself, save one: the sm itself, when the router bounces a
 * frame back to it (FRAME_NO_ROUTE) while the router->sm queue is full
 * because the sm is not reading. sm.c bounds the pause (a timer) so
 * that this cycle, or one through another component that stops
 * reading, ends: the sm reads again and sheds load by the cap. */
#include <string.h>

#include "../../lib/log.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"

/* ------------------------------------------------------------ stanzas */

int sm_send_serialize(struct sm *sm, const struct xml_node *xml)
{
	buf_clear(&sm->out);
	if (xml_serialize(xml, XML_NS_CLIENT, &sm->out) < 0) {
		log_error("sm: out of memory serializing a stanza");
		return -1;
	}
	return 0;
}

int sm_send_stanza_bytes(struct sm *sm, struct session *s, const char *bytes,
			 size_t len)
{
	return sm_send(sm, FRAME_STANZA, s->c2s, strlen(s->c2s), s->conn, bytes,
		       len);
}

int sm_send_stanza(struct sm *sm, struct session *s, const struct xml_node *xml)
{
	if (sm_send_serialize(sm, xml) < 0)
		return -1;
	return sm_send_stanza_bytes(sm, s, sm->out.data, sm->out.len);
}

int sm_send_remote(struct sm *sm, const char *domain,
		   const struct xml_node *xml)
{
	if (sm_send_serialize(sm, xml) < 0)
		return -1;
	return sm_send(sm, FRAME_STANZA, domain, strlen(domain), 0,
		       sm->out.data, sm->out.len);
}

/* ------------------------------------------------------------ backlog */

size_t sm_send_backlog(const struct sm *sm)
{
	return sm->backlog.len;
}

static void set_reading(struct sm *sm, bool on)
{
	if (sm->set_reading)
		sm->set_reading(sm, on);
}

/* The session of the local full JID j, or NULL. */
static struct session *local_session(struct sm *sm, const struct jid *j)
{
	if (!j || !j->local[0] || !j->resource[0] || !sm_serves(sm, j->domain))
		return NULL;
	char bare[JID_MAX + 1];
	jid_format_bare(j, bare);
	return sm_session_find(sm_session_user_find(&sm->sessions, bare),
			       j->resource);
}

/* Answers the stanza of f (refused past the cap) with resource-
 * constraint to its local sender, in the backlog's reserve. Returns
 * whether it did. */
static bool backlog_bounce(struct sm *sm, const struct frame *f)
{
	struct arena a = ARENA_INIT;
	struct buf b = BUF_INIT;
	struct stanza st;
	bool done = false;
	struct xml_node *xml =
		xml_parse(&a, f->payload, f->payload_len, XML_NS_CLIENT);
	if (!xml || sm_stanza_init(&st, &a, xml) != 0 ||
	    st.kind == STANZA_PRESENCE ||
	    (st.kind == STANZA_IQ && !sm_stanza_is_type(&st, "get") &&
	     !sm_stanza_is_type(&st, "set")))
		goto out;
	struct session *s = local_session(sm, st.from);
	struct xml_node *e =
		s ? sm_stanza_error_new(&st, "resource-constraint") : NULL;
	if (!e || xml_serialize(e, XML_NS_CLIENT, &b) < 0)
		goto out;
	struct frame bounce = {
		.type = FRAME_STANZA,
		.conn = s->conn,
		.payload = b.data,
		.payload_len = b.len,
	};
	frame_set_to(&bounce, s->c2s);
	frame_set_from(&bounce, sm->name);
	size_t size = FRAME_HEADER_SIZE + bounce.to_len + bounce.from_len +
		      bounce.payload_len;
	if (sm->backlog.len + size <= SM_BACKLOG_MAX + SM_BACKLOG_BOUNCES &&
	    frame_encode(&sm->backlog, &bounce) == 0)
		done = true;
out:
	buf_free(&b);
	arena_reset(&a);
	return done;
}

/* A stanza frame that does not fit under the cap. */
static void backlog_refuse(struct sm *sm, const struct frame *f)
{
	if (sm->backlog_bounced + sm->backlog_dropped == 0)
		log_warn("sm: %zu bytes wait for the router link; stanzas "
			 "past that are bounced (messages, iqs) or dropped",
			 sm->backlog.len);
	if (backlog_bounce(sm, f)) {
		sm->backlog_bounced++;
		log_debug("sm: stanza to %.*s bounced: resource-constraint",
			  (int)f->to_len, f->to);
	} else {
		sm->backlog_dropped++;
		log_debug("sm: stanza to %.*s dropped: backlog full",
			  (int)f->to_len, f->to);
	}
}

static int backlog_add(struct sm *sm, const struct frame *f)
{
	size_t size =
		FRAME_HEADER_SIZE + f->to_len + f->from_len + f->payload_len;
	/* An empty backlog takes any frame, so that a big one always
	 * fits (as link.c does). */
	if (f->type == FRAME_STANZA && sm->backlog.len > 0 &&
	    sm->backlog.len + size > SM_BACKLOG_MAX) {
		backlog_refuse(sm, f);
		return -1;
	}
	if (frame_encode(&sm->backlog, f) < 0) {
		log_error("sm: frame to %.*s dropped: out of memory or "
			  "cannot be encoded",
			  (int)f->to_len, f->to);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ frames */

int sm_send(struct sm *sm, uint8_t type, const char *to, size_t to_len,
	    uint64_t conn, const char *payload, size_t payload_len)
{
	struct frame f = {
		.type = type,
		.conn = conn,
		.to = to,
		.to_len = to_len,
		.payload = payload,
		.payload_len = payload_len,
	};
	frame_set_from(&f, sm->name);
	if (sm->backlog.len == 0) {
		int rc = sm->send(sm, &f);
		if (rc == SM_SEND_OK)
			return 0;
		if (rc != SM_SEND_FULL) {
			log_warn("sm: frame to %.*s dropped (link closed, or "
				 "the frame cannot be encoded)",
				 (int)to_len, to);
			return -1;
		}
		log_info("sm: the router link is full; frames wait and "
			 "reading from the router stops until it drains");
		set_reading(sm, false);
	}
	return backlog_add(sm, &f);
}

void sm_send_drained(struct sm *sm)
{
	size_t off = 0;
	while (off < sm->backlog.len) {
		struct frame f;
		long n = frame_decode(sm->backlog.data + off,
				      sm->backlog.len - off, &f);
		if (n <= 0) { /* cannot be: we encoded them */
			log_error("sm: backlog corrupt; %zu bytes dropped",
				  sm->backlog.len - off);
			break;
		}
		int rc = sm->send(sm, &f);
		if (rc == SM_SEND_FULL) {
			/* Progress, but full again: the link calls on_drain
			 * again; no reading meanwhile (a new pause period). */
			buf_consume(&sm->backlog, off);
			set_reading(sm, false);
			return;
		}
		if (rc != SM_SEND_OK)
			log_warn("sm: frame to %.*s dropped (link closed)",
				 (int)f.to_len, f.to);
		off += (size_t)n;
	}
	buf_free(&sm->backlog);
	if (sm->backlog_bounced + sm->backlog_dropped > 0)
		log_warn("sm: the router link drained; while it was full, "
			 "%zu stanzas were bounced and %zu dropped",
			 sm->backlog_bounced, sm->backlog_dropped);
	sm->backlog_bounced = sm->backlog_dropped = 0;
	set_reading(sm, true);
}
