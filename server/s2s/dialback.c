/* dialback: Server Dialback (XEP-0220) with XEP-0185 keys.
 *
 * Three roles:
 *  - originating (outgoing stream): we send <db:result> with a key for
 *    (peer, us, the peer's stream id) and wait for type='valid';
 *  - receiving (incoming stream): a peer sends <db:result>; we ask the
 *    authoritative server of its domain, over our own outgoing stream
 *    to that domain, with <db:verify>, and answer the peer;
 *  - authoritative (any stream): a peer asks us with <db:verify>
 *    whether a key is ours; we recompute it. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "dialback_key.h"
#include "s2s.h"

/* XEP-0220 §2.4: the error conditions of a failed verification. */
static const char *condition_type(const char *condition)
{
	return strcmp(condition, "remote-server-timeout") == 0 ||
			       strcmp(condition, "resource-constraint") == 0
		       ? "wait"
		       : "cancel";
}

static void send_result(struct s2s_conn *c, const char *from, const char *to,
			const char *type, const char *condition)
{
	struct buf b = BUF_INIT;
	int r = buf_printf(&b, "<db:result from='%s' to='%s' type='%s'", from,
			   to, type);
	if (condition)
		r |= buf_printf(&b,
				"><error type='%s'><%s xmlns='%s'/></error>"
				"</db:result>",
				condition_type(condition), condition,
				NS_STANZAS);
	else
		r |= buf_append_str(&b, "/>");
	if (r == 0)
		s2s_conn_send_buf(c, &b);
	buf_free(&b);
}

static int prep_domain(const char *in, char *out)
{
	char prepped[JID_PART_MAX + 1];
	if (!in || jid_prep_domain(prepped, in) < 0 ||
	    strlen(prepped) > S2S_DOMAIN_MAX)
		return -1;
	strcpy(out, prepped);
	return 0;
}

/* The key of a dialback element, without surrounding white space. */
static const char *key_text(struct arena *a, const struct xml_node *el,
			    size_t *len)
{
	const char *t = xml_text(a, el);
	if (!t)
		return NULL;
	while (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n')
		t++;
	size_t n = strlen(t);
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\r' ||
		     t[n - 1] == '\n'))
		n--;
	*len = n;
	return t;
}

/* A key we pass on in our own db:verify: only characters that keys are
 * made of (hex, base64, a few marks), so that nothing a peer sends can
 * become markup in what we write. */
static bool key_is_plain(const char *key, size_t len)
{
	if (len == 0 || len > S2S_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)key[i];
		if (!(ch >= '0' && ch <= '9') && !(ch >= 'a' && ch <= 'z') &&
		    !(ch >= 'A' && ch <= 'Z') && !strchr("+/=._-", ch))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Originating */

void s2s_dialback_send_result(struct s2s_conn *c, const char *local)
{
	char key[DIALBACK_KEY_LEN + 1];
	if (!c->stream_id[0] || dialback_key(c->s2s->dialback_secret, c->remote,
					     local, c->stream_id, key) < 0) {
		log_info("s2s conn %" PRIu64 ": %s gave no stream id; no "
			 "dialback",
			 c->nc.id, c->remote);
		netconn_close(&c->nc);
		return;
	}
	struct buf b = BUF_INIT;
	if (buf_printf(&b, "<db:result from='%s' to='%s'>%s</db:result>", local,
		       c->remote, key) == 0)
		s2s_conn_send_buf(c, &b);
	buf_free(&b);
}

/* The route an answer is about: its 'to' is our domain, its 'from' the
 * peer's. Answers without them are about the stream's own route. */
static struct s2s_route *answer_route(struct s2s_conn *c,
				      const struct xml_node *el)
{
	const char *from = xml_attr_get(el, "from");
	const char *to = xml_attr_get(el, "to");
	char local[S2S_DOMAIN_MAX + 1], remote[S2S_DOMAIN_MAX + 1];
	if (prep_domain(to, local) < 0 || prep_domain(from, remote) < 0)
		return c->route;
	struct s2s_route *r = s2s_route_find(c->s2s, local, remote);
	return r && r->conn == c ? r : NULL;
}

static void out_result(struct s2s_conn *c, struct xml_node *el)
{
	const char *type = xml_attr_get(el, "type");
	struct s2s_route *r = answer_route(c, el);
	bool valid = type && strcmp(type, "valid") == 0;
	if (!r)
		return;
	log_info("s2s conn %" PRIu64 ": %s %s us (%s) by dialback%s%s",
		 c->nc.id, c->remote, valid ? "accepted" : "refused", r->local,
		 valid ? "" : ": ", valid ? "" : (type ? type : "no type"));
	if (valid) {
		if (r == c->route)
			c->authenticated = true;
		s2s_route_up(r);
		return;
	}
	/* Refused: another target of the same domain would say the same. */
	if (r == c->route && c->nc.header_sent)
		s2s_conn_send_str(c, "</stream:stream>");
	s2s_route_refused(r);
}

/* ------------------------------------------------------------------ */
/* Receiving: the answers to our db:verify */

static void answer_waiting(struct s2s *s2s, const struct s2s_verify *v,
			   const char *local, const char *remote,
			   const char *type, const char *condition)
{
	struct s2s_conn *in = s2s_conn_find(s2s, v->conn_id);
	if (!in || in->nc.closing)
		return;
	in->nverifies--;
	if (strcmp(in->stream_id, v->stream_id) != 0)
		return; /* restarted since */
	if (strcmp(type, "valid") == 0)
		s2s_in_authorize(in, local, remote);
	else
		log_info("s2s conn %" PRIu64 ": dialback of %s refused (%s)",
			 in->nc.id, remote, condition ? condition : type);
	send_result(in, local, remote, type, condition);
}

static void out_verify(struct s2s_conn *c, struct xml_node *el)
{
	struct s2s_route *r = answer_route(c, el);
	const char *id = xml_attr_get(el, "id");
	const char *type = xml_attr_get(el, "type");
	if (!r || !id)
		return;
	for (struct s2s_verify **p = &r->verifies; *p; p = &(*p)->next) {
		struct s2s_verify *v = *p;
		if (strcmp(v->stream_id, id) != 0)
			continue;
		*p = v->next;
		answer_waiting(c->s2s, v, r->local, r->remote,
			       type && strcmp(type, "valid") == 0 ? "valid"
								  : "invalid",
			       NULL);
		free(v);
		return;
	}
}

void s2s_dialback_out(struct s2s_conn *c, struct xml_node *el)
{
	if (strcmp(el->name, "result") == 0)
		out_result(c, el);
	else if (strcmp(el->name, "verify") == 0)
		out_verify(c, el);
}

void s2s_dialback_flush_verifies(struct s2s_route *r)
{
	struct s2s_conn *c = r->conn;
	if (!c || c->nc.closing || !c->verify_ready)
		return;
	for (struct s2s_verify *v = r->verifies; v; v = v->next) {
		if (v->sent)
			continue;
		struct buf b = BUF_INIT;
		int rc = buf_printf(&b, "<db:verify from='%s' to='%s' id='%s'>",
				    r->local, r->remote, v->stream_id);
		rc |= buf_append_xml_escaped(&b, v->key, strlen(v->key));
		rc |= buf_append_str(&b, "</db:verify>");
		v->sent = true;
		if (rc == 0)
			s2s_conn_send_buf(c, &b);
		buf_free(&b);
	}
}

void s2s_dialback_expire_verifies(struct s2s_route *r, uint64_t asked_before)
{
	struct s2s_verify **p = &r->verifies, *v;
	while ((v = *p)) {
		if (v->asked_at >= asked_before) {
			p = &v->next;
			continue;
		}
		*p = v->next;
		answer_waiting(r->s2s, v, r->local, r->remote, "error",
			       "remote-server-timeout");
		free(v);
	}
}

void s2s_dialback_fail_verifies(struct s2s_route *r, const char *condition)
{
	struct s2s_verify *v;
	while ((v = r->verifies)) {
		r->verifies = v->next;
		answer_waiting(r->s2s, v, r->local, r->remote, "error",
			       condition);
		free(v);
	}
}

/* ------------------------------------------------------------------ */
/* Receiving: a peer's db:result on its stream to us */

static int queue_verify(struct s2s_conn *c, const char *local,
			const char *remote, const char *key, size_t key_len)
{
	if (c->nverifies >= S2S_MAX_VERIFIES)
		return -1;
	struct s2s_verify *v = calloc(1, sizeof *v);
	if (!v)
		return -1;
	v->conn_id = c->nc.id;
	v->asked_at = uv_now(c->s2s->proc.loop);
	snprintf(v->stream_id, sizeof v->stream_id, "%s", c->stream_id);
	memcpy(v->key, key, key_len);
	struct s2s_route *r = s2s_route_get(c->s2s, local, remote);
	if (!r) {
		free(v);
		return -1;
	}
	v->next = r->verifies;
	r->verifies = v;
	c->nverifies++;
	s2s_dialback_flush_verifies(r);
	return 0;
}

static void in_result(struct s2s_conn *c, struct xml_node *el, struct arena *a)
{
	char from[S2S_DOMAIN_MAX + 1] = "", to[S2S_DOMAIN_MAX + 1] = "";
	size_t key_len = 0;
	const char *key = key_text(a, el, &key_len);
	if (prep_domain(xml_attr_get(el, "from"), from) < 0) {
		s2s_stream_error(c, "invalid-from", NULL);
		return;
	}
	if (prep_domain(xml_attr_get(el, "to"), to) < 0 ||
	    !s2s_is_local(c->s2s, to)) {
		/* XEP-0220 §2.4: a domain we do not serve. */
		send_result(c, to[0] ? to : c->local, from, "error",
			    "item-not-found");
		return;
	}
	if (c->s2s->sc->require_valid_certificate) {
		send_result(c, to, from, "error", "policy-violation");
		return;
	}
	/* XEP-0344 §2.4: a certificate that proves the domain makes the
	 * round trip to the authoritative server needless. */
	if (s2s_tls_peer_proves(c, from)) {
		s2s_in_authorize(c, to, from);
		send_result(c, to, from, "valid", NULL);
		return;
	}
	if (!key || !key_is_plain(key, key_len)) {
		send_result(c, to, from, "invalid", NULL);
		return;
	}
	if (queue_verify(c, to, from, key, key_len) < 0)
		send_result(c, to, from, "error", "resource-constraint");
}

/* ------------------------------------------------------------------ */
/* Authoritative */

static void in_verify(struct s2s_conn *c, struct xml_node *el, struct arena *a)
{
	char from[S2S_DOMAIN_MAX + 1] = "", to[S2S_DOMAIN_MAX + 1] = "";
	const char *id = xml_attr_get(el, "id");
	size_t key_len = 0;
	const char *key = key_text(a, el, &key_len);
	if (prep_domain(xml_attr_get(el, "from"), from) < 0 ||
	    prep_domain(xml_attr_get(el, "to"), to) < 0 || !id) {
		s2s_stream_error(c, "improper-addressing",
				 "db:verify needs "
				 "from, to and id");
		return;
	}
	/* The key we gave as originating server `to` when connecting to the
	 * receiving server `from`, over the stream it named `id`. */
	bool valid = s2s_is_local(c->s2s, to) && key &&
		     dialback_key_valid(c->s2s->dialback_secret, from, to, id,
					key, key_len);
	struct buf b = BUF_INIT;
	int r = buf_printf(&b, "<db:verify from='%s' to='%s' id='", to, from);
	r |= buf_append_xml_escaped(&b, id, strlen(id));
	r |= buf_printf(&b, "' type='%s'/>", valid ? "valid" : "invalid");
	if (r == 0)
		s2s_conn_send_buf(c, &b);
	buf_free(&b);
}

void s2s_dialback_in(struct s2s_conn *c, struct xml_node *el, struct arena *a)
{
	if (strcmp(el->name, "result") == 0 && !xml_attr_get(el, "type"))
		in_result(c, el, a);
	else if (strcmp(el->name, "verify") == 0 && !xml_attr_get(el, "type"))
		in_verify(c, el, a);
	else
		s2s_stream_error(c, "unsupported-stanza-type", NULL);
}
