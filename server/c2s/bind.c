/* bind: RFC 6120 §7 resource binding, and the legacy session iq
 * (RFC 3921 §3, kept as <optional/> by RFC 6121 Appendix E). The sm
 * decides whether the full JID may have a session; c2s waits for its
 * FRAME_SESSION_OK before answering the bind request. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/jid.h"
#include "../../lib/log.h"
#include "../../lib/random.h"
#include "../sm/disco_info.h"
#include "../sm/module.h"
#include "c2s.h"

void c2s_bind_caps_init(struct c2s *c2s)
{
	for (size_t h = 0; h < c2s->cfg->nhosts; h++)
		sm_disco_host_ver(c2s->cfg, h, c2s->caps_ver[h]);
}

/* The features of the stream after SASL: binding, the legacy session,
 * what the sm's modules offer at stream level (XEP-0237 roster
 * versioning, RFC 6121 §3.4 pre-approval), and the server's caps
 * (XEP-0115 §6.3): the ver of the disco#info the sm answers for the
 * stream's domain, which c2s computes from the configuration as the sm
 * does (disco_info.h). */
void c2s_bind_append_features(const struct conn *c, struct buf *out)
{
	const struct config *cfg = c->c2s->cfg;
	const char *ver = c->c2s->caps_ver[c->host - cfg->hosts];
	buf_append_str(out,
		       "<bind xmlns='" NS_BIND "'/>"
		       "<session xmlns='" NS_SESSION "'><optional/></session>");
	sm_module_append_stream_features(cfg, out);
	if (ver[0])
		buf_printf(out,
			   "<c xmlns='" NS_CAPS
			   "' hash='sha-1' node='" SM_CAPS_NODE "' ver='%s'/>",
			   ver);
}

/* Whether the iq's 'to' is absent or names our domain itself. */
static bool bind_to_is_server(struct conn *c, const char *to)
{
	struct jid j;
	if (!to)
		return true;
	return jid_parse_str(&j, to) == 0 && !j.local[0] && !j.resource[0] &&
	       strcmp(j.domain, c2s_conn_domain(c)) == 0;
}

static int bind_append_id(struct buf *b, const char *id)
{
	int r = 0;
	if (id) {
		r |= buf_append_str(b, " id='");
		r |= buf_append_xml_escaped(b, id, strlen(id));
		r |= buf_append_str(b, "'");
	}
	return r;
}

void c2s_bind_reply_error(struct conn *c, const char *id, const char *type,
			  const char *condition)
{
	struct buf b = BUF_INIT;
	int r = buf_append_str(&b, "<iq type='error'");
	r |= bind_append_id(&b, id);
	r |= buf_printf(&b, "><error type='%s'><%s xmlns='%s'/></error></iq>",
			type, condition, NS_STANZAS);
	if (r == 0)
		netconn_send_buf(&c->nc, &b);
	buf_free(&b);
}

static void bind_reply_result(struct conn *c, const char *id, const char *jid)
{
	struct buf b = BUF_INIT;
	int r = buf_append_str(&b, "<iq type='result'");
	r |= bind_append_id(&b, id);
	if (jid) {
		r |= buf_append_str(&b, "><bind xmlns='" NS_BIND "'><jid>");
		r |= buf_append_xml_escaped(&b, jid, strlen(jid));
		r |= buf_append_str(&b, "</jid></bind></iq>");
	} else {
		r |= buf_append_str(&b, "/>");
	}
	if (r == 0)
		netconn_send_buf(&c->nc, &b);
	buf_free(&b);
}

/* RFC 6120 §7.6: the resource the client asked for, prepared, or one we
 * make (§7.6.2.1). Returns 0, or -1 when the client's is not valid. */
static int bind_resource(struct xml_node *bind, struct arena *a, char *out)
{
	struct xml_node *res = xml_child(bind, NS_BIND, "resource");
	const char *wanted = res ? xml_text(a, res) : NULL;
	if (wanted && *wanted)
		return jid_prep_resource(out, wanted);
	random_hex(out, 8);
	return 0;
}

static void bind_request(struct conn *c, const char *id, struct xml_node *bind,
			 struct arena *a)
{
	char resource[JID_PART_MAX + 1];
	if (c->state != CONN_AUTHENTICATED) {
		/* One resource per stream. */
		c2s_bind_reply_error(c, id, "cancel", "not-allowed");
		return;
	}
	if (bind_resource(bind, a, resource) < 0) {
		/* RFC 6120 §7.7.2.1 */
		c2s_bind_reply_error(c, id, "modify", "bad-request");
		return;
	}
	size_t bare_len = strlen(c->jid), res_len = strlen(resource);
	char *full = malloc(bare_len + 1 + res_len + 1);
	char *saved_id = strdup(id ? id : "");
	if (!full || !saved_id) {
		free(full);
		free(saved_id);
		c2s_stream_error(c, "resource-constraint", NULL);
		return;
	}
	memcpy(full, c->jid, bare_len);
	full[bare_len] = '/';
	memcpy(full + bare_len + 1, resource, res_len + 1);
	free(c->bind_id);
	c->bind_id = saved_id;
	c->state = CONN_BINDING;
	c2s_route_session_start(c, full);
	free(full);
}

bool c2s_bind_handle_iq(struct conn *c, struct xml_node *iq, struct arena *a)
{
	struct xml_node *bind = xml_child(iq, NS_BIND, "bind");
	struct xml_node *session =
		bind ? NULL : xml_child(iq, NS_SESSION, "session");
	if (!bind && !session)
		return false;
	if (!bind_to_is_server(c, xml_attr_get(iq, "to")))
		return false; /* not for us: the sm's business */
	const char *type = xml_attr_get(iq, "type");
	const char *id = xml_attr_get(iq, "id");
	if (type && (strcmp(type, "result") == 0 || strcmp(type, "error") == 0))
		return true; /* never answer an answer */
	if (!type || strcmp(type, "set") != 0 || !id) {
		c2s_bind_reply_error(c, id, "modify", "bad-request");
		return true;
	}
	if (session)
		bind_reply_result(c, id, NULL);
	else
		bind_request(c, id, bind, a);
	return true;
}

void c2s_bind_session_ok(struct conn *c, const char *jid, size_t len)
{
	if (c->state != CONN_BINDING)
		return;
	char *full = malloc(len + 1);
	if (!full) {
		c2s_stream_error(c, "resource-constraint", NULL);
		return;
	}
	memcpy(full, jid, len);
	full[len] = '\0';
	free(c->jid);
	c->jid = full;
	c->state = CONN_BOUND;
	c2s_conn_stop_timer(c);
	bind_reply_result(c, c->bind_id, full);
	free(c->bind_id);
	c->bind_id = NULL;
	log_info("conn %" PRIu64 " (%s): bound %s", c->nc.id, c->nc.peer, full);
	/* At once rather than a sweep later: a burst of logins would keep
	 * every new session's handshake state for that long, and leave holes
	 * between the sessions where it was (ARCHITECTURE.md §10's budget). */
	c2s_conn_release_tls(c);
	c2s_stream_replay_held(c);
}

void c2s_bind_session_refused(struct conn *c, const char *type,
			      const char *condition)
{
	if (c->state != CONN_BINDING)
		return;
	c->state = CONN_AUTHENTICATED;
	c->session_started = false;
	c->session_ended = false;
	c2s_bind_reply_error(c, c->bind_id, type, condition);
	free(c->bind_id);
	c->bind_id = NULL;
	/* What the client sent meanwhile assumed a session: drop it. */
	c->hold_first = c->hold_last = NULL;
	arena_reset(&c->hold);
}
