/* router_link: frames between c2s and the sm, over the router link.
 * Stanzas go to the sm of the user's domain with `from` stamped; stanzas
 * from the sm go to the client as they are. When the router link is
 * full, a conn keeps its frames and stops reading its client until the
 * link drains. */
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
	frame_set_from(f, c->c2s->proc.name);
	f->conn = c->nc.id;
}

/* Without a link, c2s is stopping: the router tells every component
 * that this c2s is gone (FRAME_UNBOUND), and the sm ends its sessions.
 * A full link keeps the frame in c2s->held, sent first at the drain. */
void c2s_route_send_control(struct c2s *c2s, const struct frame *f)
{
	if (!c2s->proc.link)
		return;
	if (c2s->held.len == 0 && link_send(c2s->proc.link, f) == 0)
		return;
	if (frame_encode(&c2s->held, f) < 0)
		log_error("c2s: lost a %s frame for the router",
			  frame_type_name(f->type));
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

static int route_flush_held(struct link *link, struct buf *b);

/* The stanzas c kept while the link was full go before its SESSION_END:
 * the client sent them before it left. */
static void route_keep_held(struct conn *c)
{
	struct c2s *c2s = c->c2s;
	if (c->held.len == 0)
		return;
	if (c2s->held.len == 0 && c2s->proc.link &&
	    route_flush_held(c2s->proc.link, &c->held) == 0)
		return;
	if (buf_append(&c2s->held, c->held.data, c->held.len) < 0)
		log_error("conn %" PRIu64 ": lost %zu bytes of stanzas for the "
			  "router (out of memory)",
			  c->nc.id, c->held.len);
	buf_free(&c->held);
}

void c2s_route_session_end(struct conn *c, const char *reason)
{
	if (!c->session_started || c->session_ended)
		return;
	route_keep_held(c);
	struct frame f;
	route_frame_init(&f, c, FRAME_SESSION_END);
	f.payload = reason;
	f.payload_len = strlen(reason);
	c->session_ended = true;
	c2s_route_send_control(c->c2s, &f);
	/* Frames of the sm that cross this one need no second SESSION_END. */
	c->c2s->gone_id = c->nc.id;
	c->c2s->gone_at = uv_now(c->c2s->proc.loop);
}

static void route_send_stanza(struct conn *c, const struct frame *f)
{
	struct link *link = c->c2s->proc.link;
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
	netconn_send_buf(&c->nc, out);
}

void c2s_route_stanza(struct conn *c, struct xml_node *st, struct arena *a)
{
	const char *to = xml_attr_get(st, "to");
	const char *type = xml_attr_get(st, "type");
	struct buf *out = &c->c2s->scratch;
	c2s_conn_charge_stanza(c);
	if (to) {
		/* 3 KiB: not on the stack of every call */
		static struct jid jid;
		if (jid_parse_str(&jid, to) < 0) {
			/* RFC 6120 §8.3.3.8; and never an error about an error
			 * (§8.3.1), lest two entities loop. */
			if (!type || strcmp(type, "error") != 0)
				route_reply_error(c, st, a, "modify",
						  "jid-malformed");
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
	if (!c2s->proc.link || route_flush_held(c2s->proc.link, &c2s->held) < 0)
		return;
	struct conn *c;
	while ((c = c2s->paused)) {
		if (route_flush_held(c2s->proc.link, &c->held) < 0)
			return;
		c2s_conn_resume(c);
	}
}

/* ------------------------------------------------------------------ */
/* From the sm */

/* The stream error conditions of RFC 6120 §4.9.3 */
static const char *const route_stream_conditions[] = {
	"bad-format",
	"bad-namespace-prefix",
	"conflict",
	"connection-timeout",
	"host-gone",
	"host-unknown",
	"improper-addressing",
	"internal-server-error",
	"invalid-from",
	"invalid-namespace",
	"invalid-xml",
	"not-authorized",
	"not-well-formed",
	"policy-violation",
	"remote-connection-failed",
	"reset",
	"resource-constraint",
	"restricted-xml",
	"see-other-host",
	"system-shutdown",
	"undefined-condition",
	"unsupported-encoding",
	"unsupported-feature",
	"unsupported-stanza-type",
	"unsupported-version",
	NULL};

static struct conn *route_find(struct c2s *c2s, const struct frame *f)
{
	struct conn *c = c2s_conn_table_find(&c2s->conns, f->conn);
	return c && !c->nc.closing ? c : NULL;
}

/* ------------------------------------------------------------------ */
/* Frames for a conn that is gone */

/* How long the stanzas for a conn gone go back to the sm: those it sent
 * before it learnt that the session ended. Past it, the sm is not
 * listening, and they are dropped lest one go round for ever. */
#define C2S_GONE_WINDOW_MS 5000

/* The sm of f still believes in the session of f->conn (its frame
 * crossed our SESSION_END, or that was lost): the session must end. */
static void route_end_gone(struct c2s *c2s, const struct frame *f)
{
	struct frame end = {.type = FRAME_SESSION_END,
			    .conn = f->conn,
			    .to = f->from,
			    .to_len = f->from_len,
			    .payload = "gone",
			    .payload_len = 4};
	frame_set_from(&end, c2s->proc.name);
	log_info("c2s: a %s frame from %.*s for conn %" PRIu64
		 ", which is gone: its session ends",
		 frame_type_name(f->type), (int)f->from_len, f->from, f->conn);
	c2s_route_send_control(c2s, &end);
}

/* A stanza for the session of a conn gone goes back to the sm that sent
 * it, behind the SESSION_END: it then routes it as RFC 6121 §8.5.3.2
 * says for a full JID with no session (a chat message to the other
 * resources or offline storage, an iq answered service-unavailable,
 * presence dropped). c2s keeps no IM rule of its own. */
static void route_send_back(struct c2s *c2s, const struct frame *f)
{
	struct frame back = {.type = FRAME_STANZA,
			     .to = f->from,
			     .to_len = f->from_len,
			     .payload = f->payload,
			     .payload_len = f->payload_len};
	frame_set_from(&back, c2s->proc.name);
	c2s_route_send_control(c2s, &back);
}

/* RFC 6121 §8.5.3.2.3: presence for a full JID without a session is
 * ignored, so it has nothing to gain from the way back. (The common one:
 * the echo of a client's initial presence, §4.2.2, when the client left
 * at once.) The sm writes stanzas with their name first. */
static bool route_is_presence(const struct frame *f)
{
	static const char start[] = "<presence";
	size_t n = sizeof start - 1;
	return f->payload_len > n && memcmp(f->payload, start, n) == 0 &&
	       (f->payload[n] == ' ' || f->payload[n] == '/' ||
		f->payload[n] == '>');
}

/* A frame for a conn that closed, or is closing, before the sm knew. */
static void route_to_gone(struct c2s *c2s, const struct frame *f)
{
	uint64_t now = uv_now(c2s->proc.loop);
	if (c2s->gone_id != f->conn) {
		c2s->gone_id = f->conn;
		c2s->gone_at = now;
		route_end_gone(c2s, f);
	}
	if (f->type != FRAME_STANZA || route_is_presence(f))
		return;
	if (now - c2s->gone_at > C2S_GONE_WINDOW_MS) {
		log_warn("c2s: %.*s sends to conn %" PRIu64
			 ", gone for %" PRIu64 " ms; stanza dropped",
			 (int)f->from_len, f->from, f->conn,
			 now - c2s->gone_at);
		return;
	}
	route_send_back(c2s, f);
}

static void route_session_ended(struct c2s *c2s, const struct frame *f)
{
	struct conn *c = route_find(c2s, f);
	char reason[64];
	if (!c)
		return;
	size_t len = f->payload_len < sizeof reason - 1 ? f->payload_len
							: sizeof reason - 1;
	memcpy(reason, f->payload, len);
	reason[len] = '\0';
	c->session_ended = true; /* the sm knows: no SESSION_END back */
	if (c->state == CONN_BINDING) {
		/* The sm refuses the resource (resource-conflict refuse), or
		 * has no room for the session now (RFC 6120 §8.3.3.18). */
		if (strcmp(reason, "conflict") == 0)
			c2s_bind_session_refused(c, "cancel", "conflict");
		else if (strcmp(reason, "resource-constraint") == 0)
			c2s_bind_session_refused(c, "wait",
						 "resource-constraint");
		else
			c2s_bind_session_refused(c, "wait",
						 "internal-server-error");
		return;
	}
	/* RFC 6120 §4.9.3.3: "conflict" when a new stream with the same full
	 * JID replaced this one; any other reason that names a stream error
	 * is used as it is. */
	const char *condition = "undefined-condition";
	for (size_t i = 0; route_stream_conditions[i]; i++)
		if (strcmp(reason, route_stream_conditions[i]) == 0)
			condition = route_stream_conditions[i];
	c2s_stream_error(c, condition,
			 strcmp(condition, "undefined-condition") == 0 ? reason
								       : NULL);
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
	struct netconn *nc, *next;
	for (nc = c2s->proc.conns.all; nc; nc = next) {
		struct conn *c = conn_of(nc);
		next = nc->next;
		if (nc->closing || !c->host ||
		    !frame_name_equals(f->to, f->to_len, c->host->domain))
			continue;
		if (c->state != CONN_BINDING && c->state != CONN_BOUND)
			continue;
		c->session_ended = true;
		c2s_stream_error(
			c, "internal-server-error",
			"the session manager stopped; please reconnect");
	}
}

static void route_no_route(struct c2s *c2s, const struct frame *f)
{
	if (f->flags != FRAME_SESSION_START) {
		log_debug("c2s: no route to %.*s for a %s frame; dropped",
			  (int)f->to_len, f->to, frame_type_name(f->flags));
		return;
	}
	struct conn *c = route_find(c2s, f);
	if (c) {
		log_warn("c2s: no session manager for %.*s", (int)f->to_len,
			 f->to);
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
			netconn_send(&c->nc, f->payload, f->payload_len);
		else
			route_to_gone(c2s, f);
		break;
	case FRAME_SESSION_OK:
		if ((c = route_find(c2s, f)))
			c2s_bind_session_ok(c, f->payload, f->payload_len);
		else
			route_to_gone(c2s, f);
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
		log_debug("c2s: %s frame ignored", frame_type_name(f->type));
		break;
	}
}
