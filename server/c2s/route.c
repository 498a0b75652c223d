/* route: frames between c2s and the sm. Stanzas go to the sm of the
 * user's domain with `from` stamped; stanzas from the sm go to the
 * client as they are. When the router link is full, a conn keeps its
 * frames and stops reading its client until the link drains. */
#include <inttypes.h>
#include <string.h>

#include "../../lib/jid.h"
#include "../../lib/log.h"
#include "c2s.h"

/* ------------------------------------------------------------------ */
/* To the sm */

static void route_frame_init(struct frame *f, struct conn *c, uint8_t type)
{
	memset(f, 0, sizeof *f);
	f->type = type;
	frame_set_to(f, c2s_conn_domain(c));
	frame_set_from(f, c->c2s->name);
	f->conn = c->id;
}

void c2s_route_send_control(struct c2s *c2s, const struct frame *f)
{
	if (!c2s->link)
		return;
	if (c2s->held.len == 0 && link_send(c2s->link, f) == 0)
		return;
	if (frame_encode(&c2s->held, f) < 0)
		log_error("c2s: lost a control frame (type %u) for the router", f->type);
}

void c2s_route_session_start(struct conn *c, const char *full_jid)
{
	struct frame f;
	route_frame_init(&f, c, FRAME_SESSION_START);
	f.payload = full_jid;
	f.payload_len = strlen(full_jid);
	c->session_started = true;
	c->session_ended = false;
	c2s_route_send_control(c->c2s, &f);
}

void c2s_route_session_end(struct conn *c, const char *reason)
{
	if (!c->session_started || c->session_ended)
		return;
	struct frame f;
	route_frame_init(&f, c, FRAME_SESSION_END);
	f.payload = reason;
	f.payload_len = strlen(reason);
	c->session_ended = true;
	c2s_route_send_control(c->c2s, &f);
}

static void route_send_stanza(struct conn *c, const struct frame *f)
{
	struct link *link = c->c2s->link;
	if (!link)
		return;
	/* Frames kept earlier go first: order matters within a session. */
	if (c->held.len == 0 && link_send(link, f) == 0)
		return;
	if (frame_encode(&c->held, f) < 0) {
		c2s_stream_error(c, "resource-constraint", NULL);
		return;
	}
	c2s_conn_pause(c);
}

/* An error of c2s's own about a stanza the client sent (RFC 6120 §8.3). */
static void route_reply_error(struct conn *c, struct xml_node *st,
			      struct arena *a, const char *type,
			      const char *condition)
{
	struct buf *out = &c->c2s->scratch;
	struct xml_node *err;
	buf_clear(out);
	if (xml_set_attr(a, st, "to", c->jid) < 0 ||
	    xml_set_attr(a, st, "from", c2s_conn_domain(c)) < 0 ||
	    xml_set_attr(a, st, "type", "error") < 0 ||
	    !(err = xml_add_child(a, st, XML_NS_CLIENT, "error")) ||
	    xml_set_attr(a, err, "type", type) < 0 ||
	    !xml_add_child(a, err, NS_STANZAS, condition) ||
	    xml_serialize(st, XML_NS_CLIENT, out) < 0) {
		c2s_stream_error(c, "resource-constraint", NULL);
		return;
	}
	c2s_conn_send_buf(c, out);
}

void c2s_route_stanza(struct conn *c, struct xml_node *st, struct arena *a)
{
	const char *to = xml_attr_get(st, "to");
	const char *type = xml_attr_get(st, "type");
	struct buf *out = &c->c2s->scratch;
	c2s_conn_charge_stanza(c);
	if (to) {
		static struct jid jid; /* 3 KiB: not on the stack of every call */
		if (jid_parse_str(&jid, to) < 0) {
			/* RFC 6120 §8.3.3.8; and never an error about an error
			 * (§8.3.1), lest two entities loop. */
			if (!type || strcmp(type, "error") != 0)
				route_reply_error(c, st, a, "modify", "jid-malformed");
			return;
		}
	}
	/* RFC 6120 §8.1.2.1: the server stamps the full JID, whatever the
	 * client wrote. */
	buf_clear(out);
	if (xml_set_attr(a, st, "from", c->jid) < 0 ||
	    xml_serialize(st, XML_NS_CLIENT, out) < 0) {
		c2s_stream_error(c, "resource-constraint", NULL);
		return;
	}
	struct frame f;
	route_frame_init(&f, c, FRAME_STANZA);
	f.payload = out->data;
	f.payload_len = out->len;
	route_send_stanza(c, &f);
}

/* ------------------------------------------------------------------ */
/* Backpressure */

/* Sends the frames kept in b. Returns 0 when all went, -1 when the link
 * is full again (b keeps the rest). */
static int route_flush_held(struct link *link, struct buf *b)
{
	size_t off = 0;
	while (off < b->len) {
		struct frame f;
		long n = frame_decode(b->data + off, b->len - off, &f);
		if (n <= 0) {
			log_error("c2s: a kept frame does not decode; dropped");
			break;
		}
		if (link_send(link, &f) < 0) {
			buf_consume(b, off);
			return -1;
		}
		off += (size_t)n;
	}
	buf_free(b);
	return 0;
}

void c2s_route_on_drain(struct c2s *c2s)
{
	if (!c2s->link || route_flush_held(c2s->link, &c2s->held) < 0)
		return;
	struct conn *c;
	while ((c = c2s->paused)) {
		if (route_flush_held(c2s->link, &c->held) < 0)
			return;
		c2s_conn_resume(c);
	}
}

/* ------------------------------------------------------------------ */
/* From the sm */

/* The stream error conditions of RFC 6120 §4.9.3 */
static const char *const route_stream_conditions[] = {
	"bad-format", "bad-namespace-prefix", "conflict", "connection-timeout",
	"host-gone", "host-unknown", "improper-addressing",
	"internal-server-error", "invalid-from", "invalid-namespace",
	"invalid-xml", "not-authorized", "not-well-formed", "policy-violation",
	"remote-connection-failed", "reset", "resource-constraint",
	"restricted-xml", "see-other-host", "system-shutdown",
	"undefined-condition", "unsupported-encoding", "unsupported-feature",
	"unsupported-stanza-type", "unsupported-version", NULL};

static struct conn *route_find(struct c2s *c2s, const struct frame *f)
{
	struct conn *c = c2s_conntab_find(&c2s->conns, f->conn);
	if (!c || c->closing) {
		log_debug("c2s: frame type %u for conn %" PRIu64 " that is gone; dropped",
			  f->type, f->conn);
		return NULL;
	}
	return c;
}

static void route_session_ended(struct c2s *c2s, const struct frame *f)
{
	struct conn *c = route_find(c2s, f);
	char reason[64];
	if (!c)
		return;
	size_t len = f->payload_len < sizeof reason - 1 ? f->payload_len : sizeof reason - 1;
	memcpy(reason, f->payload, len);
	reason[len] = '\0';
	c->session_ended = true; /* the sm knows: no SESSION_END back */
	if (c->state == CONN_BINDING) {
		/* The sm refuses the resource (resource-conflict refuse). */
		if (strcmp(reason, "conflict") == 0)
			c2s_bind_session_refused(c, "cancel", "conflict");
		else
			c2s_bind_session_refused(c, "wait", "internal-server-error");
		return;
	}
	/* RFC 6120 §4.9.3.3: "conflict" when a new stream with the same full
	 * JID replaced this one; any other reason that names a stream error
	 * is used as it is. */
	const char *condition = "undefined-condition";
	for (size_t i = 0; route_stream_conditions[i]; i++)
		if (strcmp(reason, route_stream_conditions[i]) == 0)
			condition = route_stream_conditions[i];
	c2s_stream_error(c, condition, strcmp(condition, "undefined-condition") == 0 ? reason : NULL);
}

/* The sm of a domain went away (FRAME_UNBOUND): its sessions are lost.
 * RFC 6120 §4.9.3.11 internal-server-error ("an internal error that
 * prevents it from servicing the stream") says exactly that; not
 * system-shutdown (§4.9.3.22: the server is not shutting down, and
 * clients would wait as for a restart), not reset (§4.9.3.16: it is about
 * security state, and asks the client to re-negotiate on the same
 * server as if its features had changed). Clients reconnect, and their
 * new session goes to the restarted sm. */
static void route_domain_gone(struct c2s *c2s, const struct frame *f)
{
	struct conn *c, *next;
	for (c = c2s->all; c; c = next) {
		next = c->next;
		if (c->closing || !c->host ||
		    !frame_name_equals(f->to, f->to_len, c->host->domain))
			continue;
		if (c->state != CONN_BINDING && c->state != CONN_BOUND)
			continue;
		c->session_ended = true;
		c2s_stream_error(c, "internal-server-error",
			     "the session manager stopped; please reconnect");
	}
}

static void route_no_route(struct c2s *c2s, const struct frame *f)
{
	if (f->flags != FRAME_SESSION_START) {
		log_debug("c2s: no route to %.*s for frame type %u; dropped",
			  (int)f->to_len, f->to, f->flags);
		return;
	}
	struct conn *c = route_find(c2s, f);
	if (c) {
		log_warn("c2s: no session manager for %.*s", (int)f->to_len, f->to);
		c->session_ended = true;
		c2s_bind_session_refused(c, "wait", "internal-server-error");
	}
}

void c2s_route_on_frame(struct c2s *c2s, const struct frame *f)
{
	struct conn *c;
	switch (f->type) {
	case FRAME_STANZA:
		if ((c = route_find(c2s, f)))
			c2s_conn_send(c, f->payload, f->payload_len);
		break;
	case FRAME_SESSION_OK:
		if ((c = route_find(c2s, f)))
			c2s_bind_session_ok(c, f->payload, f->payload_len);
		break;
	case FRAME_SESSION_END:
		route_session_ended(c2s, f);
		break;
	case FRAME_UNBOUND:
		route_domain_gone(c2s, f);
		break;
	case FRAME_NO_ROUTE:
		route_no_route(c2s, f);
		break;
	default:
		log_debug("c2s: frame type %u ignored", f->type);
		break;
	}
}
