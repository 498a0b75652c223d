/* stream_in: streams that peers open to us (RFC 6120 §4, §5, §6).
 *
 * We are the receiving server: we offer STARTTLS, then SASL EXTERNAL
 * when the peer's certificate proves the domain in its header's 'from'
 * (XEP-0178), and dialback (XEP-0220) unless valid certificates are
 * required. A stream carries stanzas only for the (local, remote) pairs
 * it was authenticated for; anything else closes it. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/base64.h"
#include "../../lib/log.h"
#include "s2s.h"

void s2s_in_authorize(struct s2s_conn *c, const char *local, const char *remote)
{
	for (size_t i = 0; i < c->npairs; i++)
		if (strcmp(c->pairs[i].local, local) == 0 &&
		    strcmp(c->pairs[i].remote, remote) == 0)
			return;
	if (c->npairs == S2S_MAX_PAIRS) {
		s2s_stream_error(c, "policy-violation",
				 "too many domains on one stream");
		return;
	}
	struct s2s_pair *p = realloc(c->pairs, (c->npairs + 1) * sizeof *p);
	if (!p) {
		s2s_stream_error(c, "resource-constraint", NULL);
		return;
	}
	c->pairs = p;
	snprintf(p[c->npairs].local, sizeof p->local, "%s", local);
	snprintf(p[c->npairs].remote, sizeof p->remote, "%s", remote);
	c->npairs++;
	log_info("s2s conn %" PRIu64 " (%s): %s may now send to %s", c->nc.id,
		 c->nc.peer, remote, local[0] ? local : "our domains");
}

/* ------------------------------------------------------------------ */
/* The peer's header and our features */

static bool offer_dialback(const struct s2s_conn *c)
{
	const struct config_s2s *sc = c->s2s->sc;
	return !sc->require_valid_certificate &&
	       (c->nc.tls || !sc->require_tls);
}

static int append_features(struct s2s_conn *c, struct buf *b)
{
	const struct config_s2s *sc = c->s2s->sc;
	int r = buf_append_str(b, "<stream:features>");
	if (!c->nc.tls) {
		r |= buf_printf(b, "<starttls xmlns='%s'>%s</starttls>", NS_TLS,
				sc->require_tls ? "<required/>" : "");
	} else if (!c->sasl_done && c->remote[0] &&
		   s2s_tls_peer_proves(c, c->remote)) {
		r |= buf_printf(b,
				"<mechanisms xmlns='%s'><mechanism>EXTERNAL"
				"</mechanism></mechanisms>",
				NS_SASL);
	}
	/* XEP-0220 §2.1.1: dialback, with support for its errors. */
	if (!c->sasl_done && offer_dialback(c))
		r |= buf_printf(b, "<dialback xmlns='%s'><errors/></dialback>",
				NS_DIALBACK_FEATURE);
	r |= buf_append_str(b, "</stream:features>");
	return r;
}

static int prep_attr_domain(const struct xml_node *root, const char *name,
			    char *out)
{
	const char *v = xml_attr_get(root, name);
	char prepped[JID_PART_MAX + 1];
	if (!v || jid_prep_domain(prepped, v) < 0 ||
	    strlen(prepped) > S2S_DOMAIN_MAX)
		return -1;
	strcpy(out, prepped);
	return 0;
}

static void in_on_open(void *ctx, const struct xml_node *root)
{
	struct s2s_conn *c = ctx;
	const char *why;
	if (c->nc.closing)
		return;
	const char *condition =
		xmlstream_check_header(root, XML_NS_SERVER, &why);
	if (condition) {
		s2s_stream_error(c, condition, why);
		return;
	}
	char to[S2S_DOMAIN_MAX + 1];
	if (prep_attr_domain(root, "to", to) < 0 || !s2s_is_local(c->s2s, to)) {
		s2s_stream_error(c, "host-unknown", NULL);
		return;
	}
	/* RFC 6120 §4.7.1: 'from' is optional (old dialback-only servers
	 * leave it out); EXTERNAL needs it. */
	char from[S2S_DOMAIN_MAX + 1] = "";
	if (xml_attr_get(root, "from") &&
	    prep_attr_domain(root, "from", from) < 0) {
		s2s_stream_error(c, "invalid-from", NULL);
		return;
	}
	snprintf(c->local, sizeof c->local, "%s", to);
	if (from[0] || !c->sasl_done)
		snprintf(c->remote, sizeof c->remote, "%s", from);
	struct buf b = BUF_INIT;
	int r = s2s_stream_header(c, &b);
	r |= append_features(c, &b);
	if (r == 0)
		s2s_conn_send_buf(c, &b);
	else
		s2s_stream_error(c, "resource-constraint", NULL);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Negotiation */

static void in_starttls(struct s2s_conn *c)
{
	if (c->nc.tls || c->npairs) {
		/* RFC 6120 §5.4.2.2 */
		s2s_conn_send_str(c, "<failure xmlns='" NS_TLS
				     "'/></stream:stream>");
		netconn_close(&c->nc);
		return;
	}
	s2s_conn_send_str(c, "<proceed xmlns='" NS_TLS "'/>");
	netconn_start_tls_later(&c->nc);
}

static void sasl_failure(struct s2s_conn *c, const char *condition)
{
	struct buf b = BUF_INIT;
	if (buf_printf(&b, "<failure xmlns='%s'><%s/></failure>", NS_SASL,
		       condition) == 0)
		s2s_conn_send_buf(c, &b);
	buf_free(&b);
}

/* The authorization identity of an EXTERNAL <auth/>: XEP-0178 §3
 * step 8, "=" (empty) means the stream header's 'from'. */
static int external_identity(struct s2s_conn *c, struct xml_node *el,
			     struct arena *a, char *out)
{
	const char *text = xml_text(a, el);
	size_t len = text ? strlen(text) : 0;
	if (len == 0 || strcmp(text, "=") == 0) {
		strcpy(out, c->remote);
		return out[0] ? 0 : -1;
	}
	unsigned char *raw = arena_alloc(a, len * 3 / 4 + 1);
	long n = raw ? base64_decode(text, len, raw) : -1;
	char prepped[JID_PART_MAX + 1];
	if (n <= 0 || memchr(raw, 0, (size_t)n))
		return -1;
	raw[n] = '\0';
	if (jid_prep_domain(prepped, (char *)raw) < 0 ||
	    strlen(prepped) > S2S_DOMAIN_MAX)
		return -1;
	strcpy(out, prepped);
	return 0;
}

static void in_sasl(struct s2s_conn *c, struct xml_node *el, struct arena *a)
{
	char id[S2S_DOMAIN_MAX + 1];
	const char *mech = xml_attr_get(el, "mechanism");
	if (!xml_is(el, NS_SASL, "auth") || c->sasl_done || !c->nc.tls ||
	    c->npairs) {
		s2s_stream_error(c, "policy-violation",
				 "unexpected SASL element");
		return;
	}
	if (!mech || strcmp(mech, "EXTERNAL") != 0) {
		sasl_failure(c, "invalid-mechanism");
		return;
	}
	if (external_identity(c, el, a, id) < 0) {
		sasl_failure(c, "malformed-request");
		return;
	}
	if (c->remote[0] && strcmp(id, c->remote) != 0) {
		sasl_failure(c, "invalid-authzid");
		return;
	}
	if (!s2s_tls_peer_proves(c, id)) {
		log_info("s2s conn %" PRIu64 " (%s): EXTERNAL as %s refused: "
			 "the certificate does not prove it",
			 c->nc.id, c->nc.peer, id);
		sasl_failure(c, "not-authorized");
		return;
	}
	s2s_conn_send_str(c, "<success xmlns='" NS_SASL "'/>");
	c->sasl_done = true;
	snprintf(c->remote, sizeof c->remote, "%s", id);
	s2s_in_authorize(c, "", id);
	netconn_restart(&c->nc);
}

/* ------------------------------------------------------------------ */
/* Stanzas */

static bool pair_allowed(const struct s2s_conn *c, const char *local,
			 const char *remote)
{
	for (size_t i = 0; i < c->npairs; i++)
		if (strcmp(c->pairs[i].remote, remote) == 0 &&
		    (!c->pairs[i].local[0] ||
		     strcmp(c->pairs[i].local, local) == 0))
			return true;
	return false;
}

static bool is_stanza_name(const char *name)
{
	return strcmp(name, "message") == 0 || strcmp(name, "presence") == 0 ||
	       strcmp(name, "iq") == 0;
}

static void in_stanza(struct s2s_conn *c, struct xml_node *st)
{
	struct s2s *s2s = c->s2s;
	struct jid from, to;
	const char *f = xml_attr_get(st, "from"), *t = xml_attr_get(st, "to");
	if (!c->npairs) {
		/* RFC 6120 §4.9.3.12: nothing before authentication. */
		s2s_stream_error(c, "not-authorized", NULL);
		return;
	}
	/* RFC 6120 §8.1.1.1, §8.1.2.1: both are required between servers. */
	if (!f || !t || jid_parse_str(&to, t) < 0) {
		s2s_stream_error(c, "improper-addressing", NULL);
		return;
	}
	/* §4.9.3.9: 'from' must be a domain this stream was authenticated
	 * for, towards the domain it is sent to. */
	if (jid_parse_str(&from, f) < 0 ||
	    !pair_allowed(c, to.domain, from.domain)) {
		s2s_stream_error(c, "invalid-from", f);
		return;
	}
	if (!s2s_is_local(s2s, to.domain)) {
		s2s_stream_error(c, "host-unknown", t);
		return;
	}
	struct buf b = BUF_INIT;
	log_debug("s2s conn %" PRIu64 ": <%s/> from %s to %s", c->nc.id,
		  st->name, f, t);
	if (xml_serialize(st, XML_NS_SERVER, &b) == 0)
		s2s_to_router(s2s, to.domain, b.data, b.len);
	buf_free(&b);
}

static void in_handle(struct s2s_conn *c, struct xml_node *el, struct arena *a)
{
	const char *ns = el->ns ? el->ns : "";
	const struct config_s2s *sc = c->s2s->sc;
	if (xml_is(el, NS_TLS, "starttls")) {
		in_starttls(c);
	} else if (!c->nc.tls && sc->require_tls) {
		/* RFC 6120 §5.3.1: TLS is mandatory-to-negotiate here. */
		s2s_stream_error(c, "policy-violation", "STARTTLS is required");
	} else if (strcmp(ns, NS_SASL) == 0) {
		in_sasl(c, el, a);
	} else if (strcmp(ns, NS_DIALBACK) == 0) {
		s2s_dialback_in(c, el, a);
	} else if (xml_is(el, XML_NS_STREAM, "error")) {
		log_info("s2s conn %" PRIu64 " (%s): the peer sent a stream "
			 "error",
			 c->nc.id, c->nc.peer);
		netconn_close(&c->nc);
	} else if (!is_stanza_name(el->name)) {
		s2s_stream_error(c, "unsupported-stanza-type", NULL);
	} else if (strcmp(ns, XML_NS_SERVER) != 0) {
		s2s_stream_error(c, "invalid-namespace",
				 "stanzas must be in " XML_NS_SERVER);
	} else {
		in_stanza(c, el);
	}
}

static int in_on_stanza(void *ctx, struct xml_node *el, struct arena *a)
{
	struct s2s_conn *c = ctx;
	if (c->nc.closing)
		return 1;
	c->last_active = uv_now(c->s2s->proc.loop);
	in_handle(c, el, a);
	return c->nc.closing || c->nc.want_tls || !c->nc.header_sent;
}

const struct xmlstream_callbacks s2s_in_callbacks = {
	.on_open = in_on_open,
	.on_stanza = in_on_stanza,
	.on_close = s2s_stream_on_close,
	.on_error = s2s_stream_on_error,
};
