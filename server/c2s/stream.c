/* stream: the XML stream of one client (RFC 6120 §4): our header, the
 * features of each negotiation step, stream errors, and which code a
 * top-level element goes to. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/jid.h"
#include "../../lib/log.h"
#include "../../lib/random.h"
#include "c2s.h"

/* ------------------------------------------------------------------ */
/* What we send */

int c2s_stream_append_header(struct conn *c, struct buf *b)
{
	char id[33];
	random_hex(id, 16);
	int r = buf_printf(b,
			   "<?xml version='1.0'?><stream:stream xmlns='%s' "
			   "xmlns:stream='%s' id='%s'",
			   XML_NS_CLIENT, XML_NS_STREAM, id);
	if (c->host) {
		r |= buf_append_str(b, " from='");
		r |= buf_append_xml_escaped(b, c->host->domain,
					    strlen(c->host->domain));
		r |= buf_append_str(b, "'");
	}
	r |= buf_append_str(b, " version='1.0' xml:lang='en'>");
	c->nc.header_sent = true;
	return r;
}

void c2s_stream_error(struct conn *c, const char *condition, const char *text)
{
	if (c->nc.closing)
		return;
	log_info("conn %" PRIu64 " (%s): stream error %s%s%s", c->nc.id,
		 c->nc.peer, condition, text ? ": " : "", text ? text : "");
	netconn_stream_error(&c->nc, condition, text);
}

static void stream_answer_header(struct conn *c)
{
	struct buf b = BUF_INIT;
	int r = c2s_stream_append_header(c, &b);
	r |= buf_append_str(&b, "<stream:features>");
	if (c->state == CONN_NEGOTIATING) {
		/* RFC 6120 §5.3.1: STARTTLS is offered until TLS runs. */
		if (!c->nc.tls)
			r |= buf_printf(
				&b, "<starttls xmlns='%s'>%s</starttls>",
				NS_TLS,
				c->c2s->cfg->require_starttls ? "<required/>"
							      : "");
		c2s_sasl_append_features(c, &b);
	} else {
		c2s_bind_append_features(c, &b);
	}
	r |= buf_append_str(&b, "</stream:features>");
	if (r == 0 && b.data)
		netconn_send_buf(&c->nc, &b);
	else
		c2s_stream_error(c, "resource-constraint", NULL);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* The client's header (RFC 6120 §4.7, §4.8) */

static void stream_on_open(void *ctx, const struct xml_node *root)
{
	struct conn *c = ctx;
	if (c->nc.closing)
		return;
	const char *why;
	const char *condition =
		xmlstream_check_header(root, XML_NS_CLIENT, &why);
	if (condition) {
		c2s_stream_error(c, condition, why);
		return;
	}
	const char *to = xml_attr_get(root, "to");
	char domain[JID_PART_MAX + 1];
	const struct config_host *h = NULL;
	if (to && jid_prep_domain(domain, to) == 0)
		h = config_find_host(c->c2s->cfg, domain);
	if (!h) {
		c2s_stream_error(c, "host-unknown", NULL);
		return;
	}
	if (c->state != CONN_NEGOTIATING && h != c->host) {
		c2s_stream_error(
			c, "host-unknown",
			"the stream was authenticated for another domain");
		return;
	}
	c->host = h;
	stream_answer_header(c);
}

/* ------------------------------------------------------------------ */
/* Top-level elements */

static bool stream_is_stanza_name(const char *name)
{
	return strcmp(name, "message") == 0 || strcmp(name, "presence") == 0 ||
	       strcmp(name, "iq") == 0;
}

static void stream_starttls(struct conn *c)
{
	if (c->nc.tls || c->job || c->auth) {
		/* RFC 6120 §5.4.2.2: <failure/>, then close. Also in the middle
		 * of a SASL exchange: an exchange begun in clear must not go on
		 * inside TLS. */
		netconn_send_str(&c->nc, "<failure xmlns='" NS_TLS
					 "'/></stream:stream>");
		netconn_close(&c->nc);
		return;
	}
	netconn_send_str(&c->nc, "<proceed xmlns='" NS_TLS "'/>");
	netconn_start_tls_later(&c->nc);
}

static void stream_hold(struct conn *c, struct xml_node *stanza)
{
	size_t max = c->c2s->cfg->max_stanza_size;
	struct xml_node *copy = xml_copy(&c->hold, stanza);
	if (!copy) {
		c2s_stream_error(c, "resource-constraint", NULL);
		return;
	}
	if (max && c->hold.used > 2 * max) {
		c2s_stream_error(
			c, "policy-violation",
			"too many stanzas sent before the resource was bound");
		return;
	}
	copy->next = NULL;
	if (c->hold_last)
		c->hold_last->next = copy;
	else
		c->hold_first = copy;
	c->hold_last = copy;
}

/* RFC 6121 §4.2.1: presence with neither 'to' nor 'type'. */
static bool stream_is_initial_presence(const struct xml_node *st)
{
	return strcmp(st->name, "presence") == 0 && !xml_attr_get(st, "to") &&
	       !xml_attr_get(st, "type");
}

static void stream_handle_stanza(struct conn *c, struct xml_node *st,
				 struct arena *a)
{
	bool is_iq = strcmp(st->name, "iq") == 0;
	switch (c->state) {
	case CONN_NEGOTIATING:
		break;
	case CONN_AUTHENTICATED:
		if (is_iq && c2s_bind_handle_iq(c, st, a))
			return;
		/* RFC 6120 §7.1: nothing but binding before a resource is bound. */
		c2s_stream_error(c, "not-authorized", "bind a resource first");
		return;
	case CONN_BINDING:
		/* The sm has not answered yet: keep them, in order. */
		stream_hold(c, st);
		return;
	case CONN_BOUND:
		if (is_iq && c2s_bind_handle_iq(c, st, a))
			return;
		if (stream_is_initial_presence(st))
			c2s_conn_logged_in(c);
		c2s_route_stanza(c, st, a);
		return;
	}
}

void c2s_stream_replay_held(struct conn *c)
{
	struct xml_node *n = c->hold_first;
	c->hold_first = c->hold_last = NULL;
	while (n && !c->nc.closing && c->state == CONN_BOUND) {
		struct xml_node *next = n->next;
		n->next = NULL;
		stream_handle_stanza(c, n, &c->hold);
		n = next;
	}
	arena_reset(&c->hold);
}

static void stream_handle(struct conn *c, struct xml_node *el, struct arena *a)
{
	const char *ns = el->ns ? el->ns : "";
	if (c->state == CONN_NEGOTIATING) {
		if (strcmp(ns, NS_TLS) == 0 &&
		    strcmp(el->name, "starttls") == 0)
			stream_starttls(c);
		else if (strcmp(ns, NS_SASL) == 0)
			c2s_sasl_handle(c, el, a);
		else /* RFC 6120 §4.9.3.12: anything else before authentication */
			c2s_stream_error(c, "not-authorized", NULL);
		return;
	}
	if (!stream_is_stanza_name(el->name)) {
		/* RFC 6120 §4.9.3.23 */
		c2s_stream_error(c, "unsupported-stanza-type", NULL);
		return;
	}
	if (strcmp(ns, XML_NS_CLIENT) != 0) {
		/* RFC 6120 §4.9.3.10: stanzas are qualified by jabber:client. */
		c2s_stream_error(c, "invalid-namespace",
				 "stanzas must be in " XML_NS_CLIENT);
		return;
	}
	stream_handle_stanza(c, el, a);
}

static int stream_on_stanza(void *ctx, struct xml_node *el, struct arena *a)
{
	struct conn *c = ctx;
	if (c->nc.closing)
		return 1;
	stream_handle(c, el, a);
	return c->nc.closing || c->nc.want_tls;
}

static void stream_on_close(void *ctx)
{
	struct conn *c = ctx;
	/* RFC 6120 §4.4: answer with our own close, then end the TCP
	 * connection once it is written. */
	netconn_stream_closed(&c->nc);
}

static void stream_on_error(void *ctx, enum xmlstream_error error,
			    const char *text)
{
	struct conn *c = ctx;
	const struct config *cfg = c->c2s->cfg;
	char why[128];
	if (c->nc.closing)
		return;
	switch (error) {
	case XMLSTREAM_TOO_BIG:
		snprintf(why, sizeof why, "a stanza may have at most %zu bytes",
			 cfg->max_stanza_size);
		text = why;
		break;
	case XMLSTREAM_TOO_DEEP:
		snprintf(why, sizeof why,
			 "elements may be nested %u deep at most",
			 cfg->max_depth);
		text = why;
		break;
	case XMLSTREAM_NO_MEMORY:
		text = NULL;
		break;
	default:
		break;
	}
	c2s_stream_error(c, xmlstream_error_condition(error), text);
}

const struct xmlstream_callbacks c2s_stream_callbacks = {
	.on_open = stream_on_open,
	.on_stanza = stream_on_stanza,
	.on_close = stream_on_close,
	.on_error = stream_on_error,
};
