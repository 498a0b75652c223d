/* stream: an external component's stream (XEP-0114 §3).
 *
 *   component                          palabre
 *   <stream:stream to='irc.example.org'
 *     xmlns='jabber:component:accept'>
 *                                      <stream:stream from=… id='ID'>
 *   <handshake>hex SHA-1(ID ‖ secret)</handshake>
 *                                      <handshake/>
 *   stanzas from irc.example.org or a JID at it, either way
 *
 * A name that is not configured is host-unknown, a wrong handshake
 * not-authorized, a name already connected conflict; a stanza whose
 * 'from' is not at the component's name invalid-from. */
#include <ctype.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "../../lib/jid.h"
#include "../../lib/log.h"
#include "accept.h"

/* ------------------------------------------------------------------ */
/* The component's header */

static void stream_on_open(void *ctx, const struct xml_node *root)
{
	struct accept_conn *c = ctx;
	const char *why;
	if (c->nc.closing)
		return;
	const char *condition =
		xmlstream_check_root(root, XML_NS_COMPONENT, &why);
	if (condition) {
		accept_stream_error(c, condition, why);
		return;
	}
	/* §3: 'to' is the name the component wants to serve. */
	const char *to = xml_attr_get(root, "to");
	char name[JID_PART_MAX + 1];
	if (!to || jid_prep_domain(name, to) < 0 ||
	    !(c->component = accept_find(c->acc, name))) {
		accept_stream_error(c, "host-unknown", NULL);
		return;
	}
	struct buf b = BUF_INIT;
	if (accept_stream_header(c, &b) == 0)
		netconn_send_buf(&c->nc, &b);
	else
		accept_stream_error(c, "resource-constraint", NULL);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* The handshake */

/* §3: lowercase hex of SHA-1(stream id ‖ secret), into out (41 bytes).
 * -1 when OpenSSL fails (out of memory). */
static int handshake_expected(const struct accept_conn *c, char out[41])
{
	static const char hex[] = "0123456789abcdef";
	const char *secret = c->component->cfg->secret;
	unsigned char digest[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md || !EVP_DigestInit_ex(md, EVP_sha1(), NULL) ||
	    !EVP_DigestUpdate(md, c->stream_id, strlen(c->stream_id)) ||
	    !EVP_DigestUpdate(md, secret, strlen(secret)) ||
	    !EVP_DigestFinal_ex(md, digest, NULL)) {
		EVP_MD_CTX_free(md);
		return -1;
	}
	EVP_MD_CTX_free(md);
	for (size_t i = 0; i < 20; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[40] = '\0';
	OPENSSL_cleanse(digest, sizeof digest);
	return 0;
}

/* Compared in constant time: how much of it matched tells nothing. */
static bool handshake_matches(const struct accept_conn *c, const char *given)
{
	char expected[41], lower[41];
	size_t len = given ? strlen(given) : 0;
	if (len != 40)
		return false;
	for (size_t i = 0; i < 40; i++)
		lower[i] = (char)tolower((unsigned char)given[i]);
	if (handshake_expected(c, expected) < 0)
		return false;
	bool ok = CRYPTO_memcmp(expected, lower, 40) == 0;
	OPENSSL_cleanse(expected, sizeof expected);
	return ok;
}

static void stream_handshake(struct accept_conn *c, struct xml_node *el,
			     struct arena *a)
{
	if (!xml_is(el, XML_NS_COMPONENT, "handshake")) {
		/* RFC 6120 §4.9.3.12: nothing before authentication. */
		accept_stream_error(c, "not-authorized",
				    "the handshake comes first");
		return;
	}
	if (!handshake_matches(c, xml_text(a, el))) {
		accept_stream_error(c, "not-authorized", "wrong handshake");
		return;
	}
	if (c->component->conn) {
		/* XEP-0114 §3: the name is served by another stream. */
		accept_stream_error(c, "conflict",
				    "this component is connected already");
		return;
	}
	netconn_send_str(&c->nc, "<handshake/>");
	accept_conn_authenticated(c);
}

/* ------------------------------------------------------------------ */
/* Stanzas */

static bool is_stanza_name(const char *name)
{
	return strcmp(name, "message") == 0 || strcmp(name, "presence") == 0 ||
	       strcmp(name, "iq") == 0;
}

/* 'from' is the component's name or a JID at it; 'to' is required (the
 * router routes by its domain). */
static void stream_stanza(struct accept_conn *c, struct xml_node *st)
{
	const char *name = c->component->cfg->name;
	const char *f = xml_attr_get(st, "from"), *t = xml_attr_get(st, "to");
	struct jid from, to;
	if (!f || jid_parse_str(&from, f) < 0 ||
	    strcmp(from.domain, name) != 0) {
		accept_stream_error(c, "invalid-from", f);
		return;
	}
	if (!t || jid_parse_str(&to, t) < 0) {
		accept_stream_error(c, "improper-addressing",
				    t ? "a bad 'to'" : "no 'to'");
		return;
	}
	struct buf b = BUF_INIT;
	log_debug("accept conn %" PRIu64 ": <%s/> from %s to %s", c->nc.id,
		  st->name, f, t);
	/* On the router link a stanza's namespace is left implicit (the
	 * sm reads it as jabber:client): written from its own. */
	if (xml_serialize(st, st->ns, &b) == 0)
		accept_to_router(c->acc, to.domain, b.data, b.len);
	else
		accept_stream_error(c, "resource-constraint", NULL);
	buf_free(&b);
}

static void stream_handle(struct accept_conn *c, struct xml_node *el,
			  struct arena *a)
{
	const char *ns = el->ns ? el->ns : "";
	if (xml_is(el, XML_NS_STREAM, "error")) {
		log_info("accept conn %" PRIu64 " (%s): the component sent a "
			 "stream error",
			 c->nc.id, c->component->cfg->name);
		netconn_close(&c->nc);
	} else if (!c->authenticated) {
		stream_handshake(c, el, a);
	} else if (!is_stanza_name(el->name)) {
		accept_stream_error(c, "unsupported-stanza-type", NULL);
	} else if (strcmp(ns, XML_NS_COMPONENT) != 0 &&
		   strcmp(ns, XML_NS_CLIENT) != 0) {
		/* XEP-0114 components write jabber:component:accept; some
		 * write jabber:client, which means the same here. */
		accept_stream_error(c, "invalid-namespace",
				    "stanzas must be in " XML_NS_COMPONENT);
	} else {
		stream_stanza(c, el);
	}
}

static int stream_on_stanza(void *ctx, struct xml_node *el, struct arena *a)
{
	struct accept_conn *c = ctx;
	if (c->nc.closing)
		return 1;
	stream_handle(c, el, a);
	return c->nc.closing;
}

static void stream_on_close(void *ctx)
{
	struct accept_conn *c = ctx;
	netconn_stream_closed(&c->nc);
}

static void stream_on_error(void *ctx, enum xmlstream_error error,
			    const char *text)
{
	accept_stream_error(ctx, xmlstream_error_condition(error),
			    error == XMLSTREAM_NO_MEMORY ? NULL : text);
}

const struct xmlstream_callbacks accept_stream_callbacks = {
	.on_open = stream_on_open,
	.on_stanza = stream_on_stanza,
	.on_close = stream_on_close,
	.on_error = stream_on_error,
};
