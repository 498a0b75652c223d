/* stream_out: streams we open to a peer for one (local, remote) pair.
 *
 * We are the initiating server: STARTTLS when offered (required unless
 * the configuration says otherwise), then SASL EXTERNAL when the peer
 * offers it (it does when our certificate proves our domain to it,
 * XEP-0178), else dialback (XEP-0220). The stream also carries our
 * db:verify requests to the peer as the authoritative server of its
 * domain, which need no authentication of their own. */
#include <inttypes.h>
#include <string.h>

#include "../../lib/base64.h"
#include "../../lib/log.h"
#include "s2s.h"

static void out_fail(struct s2s_conn *c, const char *why)
{
	log_info("s2s conn %" PRIu64 " (%s -> %s): %s", c->nc.id, c->local,
		 c->remote, why);
	if (c->nc.header_sent)
		s2s_conn_send_str(c, "</stream:stream>");
	netconn_close(&c->nc);
}

void s2s_out_start(struct s2s_conn *c)
{
	struct buf b = BUF_INIT;
	if (c->nc.tls && c->s2s->sc->require_valid_certificate &&
	    !s2s_tls_peer_proves(c, c->remote)) {
		/* Nothing verified about whom we talk to: do not send. */
		netconn_abort(&c->nc);
		buf_free(&b);
		return;
	}
	if (s2s_stream_header(c, &b) == 0)
		s2s_conn_send_buf(c, &b);
	else
		netconn_abort(&c->nc);
	buf_free(&b);
}

void s2s_out_send_stanza(struct s2s_conn *c, const char *data, size_t len)
{
	s2s_conn_send(c, data, len);
}

static void out_on_open(void *ctx, const struct xml_node *root)
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
	/* RFC 6120 §4.7.3: the receiving entity MUST give an id; the
	 * dialback key covers it whole. */
	const char *id = xml_attr_get(root, "id");
	if (!id || !id[0] || strlen(id) > S2S_STREAM_ID_MAX) {
		s2s_stream_error(c, "invalid-xml",
				 "a stream id of 1 to 256 "
				 "characters is required");
		return;
	}
	strcpy(c->stream_id, id);
}

/* ------------------------------------------------------------------ */
/* Features */

static bool offers_external(const struct xml_node *features)
{
	struct xml_node *m = xml_child(features, NS_SASL, "mechanisms");
	for (struct xml_node *n = m ? xml_child(m, NS_SASL, "mechanism") : NULL;
	     n; n = xml_next(n, NS_SASL, "mechanism")) {
		const struct xml_node *t = n->children;
		if (t && !t->name && t->text_len == 8 &&
		    memcmp(t->text, "EXTERNAL", 8) == 0)
			return true;
	}
	return false;
}

static void out_send_external(struct s2s_conn *c)
{
	struct buf b = BUF_INIT;
	int r = buf_printf(&b, "<auth xmlns='%s' mechanism='EXTERNAL'>",
			   NS_SASL);
	/* XEP-0178 §3 step 7: our domain as the authorization identity. */
	r |= base64_encode(&b, (const unsigned char *)c->local,
			   strlen(c->local));
	r |= buf_append_str(&b, "</auth>");
	if (r == 0)
		s2s_conn_send_buf(c, &b);
	buf_free(&b);
	c->sasl_tried = true;
}

static void out_authenticate(struct s2s_conn *c,
			     const struct xml_node *features)
{
	const struct config_s2s *sc = c->s2s->sc;
	if (c->nc.tls && !c->sasl_tried && offers_external(features)) {
		out_send_external(c);
		return;
	}
	if (sc->require_valid_certificate) {
		out_fail(c, "the peer does not accept our certificate "
			    "(no SASL EXTERNAL) and dialback is off");
		return;
	}
	/* XEP-0220 §2.1.1: a peer that offers no dialback feature may still
	 * support it (older servers only declare the namespace). */
	s2s_dialback_send_result(c, c->local);
}

static void out_features(struct s2s_conn *c, const struct xml_node *features)
{
	const struct config_s2s *sc = c->s2s->sc;
	if (!c->nc.tls && xml_child(features, NS_TLS, "starttls")) {
		s2s_conn_send_str(c, "<starttls xmlns='" NS_TLS "'/>");
		return;
	}
	if (!c->nc.tls && sc->require_tls) {
		out_fail(c,
			 "the peer does not offer STARTTLS, which we require");
		return;
	}
	c->dialback_errors = false;
	struct xml_node *db =
		xml_child(features, NS_DIALBACK_FEATURE, "dialback");
	if (db) {
		c->peer_dialback = true;
		c->dialback_errors = xml_child(db, NULL, "errors") != NULL;
	}
	c->verify_ready = true;
	if (c->route)
		s2s_dialback_flush_verifies(c->route);
	if (c->authenticated) {
		if (c->route)
			s2s_route_up(c->route);
		return;
	}
	out_authenticate(c, features);
}

/* ------------------------------------------------------------------ */

static void out_sasl(struct s2s_conn *c, struct xml_node *el)
{
	if (!c->sasl_tried || c->authenticated) {
		s2s_stream_error(c, "policy-violation",
				 "unexpected SASL element");
		return;
	}
	if (xml_is(el, NS_SASL, "success")) {
		c->authenticated = true;
		log_info("s2s conn %" PRIu64 ": %s accepted us (%s) by SASL "
			 "EXTERNAL",
			 c->nc.id, c->remote, c->local);
		netconn_restart(&c->nc);
		s2s_out_start(c);
		return;
	}
	if (c->s2s->sc->require_valid_certificate) {
		out_fail(c, "SASL EXTERNAL failed and dialback is off");
		return;
	}
	log_info("s2s conn %" PRIu64 ": SASL EXTERNAL failed at %s; trying "
		 "dialback",
		 c->nc.id, c->remote);
	s2s_dialback_send_result(c, c->local);
}

static void out_handle(struct s2s_conn *c, struct xml_node *el)
{
	const char *ns = el->ns ? el->ns : "";
	if (xml_is(el, XML_NS_STREAM, "features")) {
		out_features(c, el);
	} else if (xml_is(el, NS_TLS, "proceed") && !c->nc.tls) {
		netconn_start_tls_later(&c->nc);
	} else if (strcmp(ns, NS_TLS) == 0) {
		out_fail(c, "STARTTLS failed");
	} else if (strcmp(ns, NS_SASL) == 0) {
		out_sasl(c, el);
	} else if (strcmp(ns, NS_DIALBACK) == 0) {
		s2s_dialback_out(c, el);
	} else if (xml_is(el, XML_NS_STREAM, "error")) {
		struct xml_node *cond = el->children;
		while (cond && !cond->name)
			cond = cond->next;
		log_info("s2s conn %" PRIu64 ": %s sent stream error %s",
			 c->nc.id, c->remote, cond ? cond->name : "?");
		netconn_close(&c->nc);
	} else {
		/* RFC 6120 §4.2: our stream carries stanzas one way only. */
		log_debug("s2s conn %" PRIu64 ": %s sent <%s/> on our stream; "
			  "ignored",
			  c->nc.id, c->remote, el->name);
	}
}

static int out_on_stanza(void *ctx, struct xml_node *el, struct arena *a)
{
	struct s2s_conn *c = ctx;
	(void)a;
	if (c->nc.closing)
		return 1;
	out_handle(c, el);
	return c->nc.closing || c->nc.want_tls || !c->nc.header_sent;
}

const struct xmlstream_callbacks s2s_out_callbacks = {
	.on_open = out_on_open,
	.on_stanza = out_on_stanza,
	.on_close = s2s_stream_on_close,
	.on_error = s2s_stream_on_error,
};
