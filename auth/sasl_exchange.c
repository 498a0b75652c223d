/* sasl_exchange: one SASL exchange of a c2s stream, over cyrus-sasl.
 *
 * palabre reads a little of each mechanism's first message itself, for
 * what cyrus-sasl leaves to the application: the SCRAM GS2 header (which
 * channel binding the client names, RFC 5802 §6 downgrade protection)
 * and the authzid of every mechanism (RFC 6120 §6.3.8: it must be the
 * user's bare JID, or absent). */
#include "sasl_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "../lib/log.h"

/* ---- callbacks cyrus-sasl calls on this session's connection ---------- */

/* Notes the user the mechanism names and asks the gate (c2s's throttle)
 * whether it may be tried: before any secret is read or compared. The
 * gate counts an attempt, so it is asked once per exchange; an exchange
 * that names a second user gets nothing of it. */
static bool session_user_allowed(struct auth_exchange *s, const char *localpart)
{
	if (s->user[0])
		return !s->gated && strcmp(s->user, localpart) == 0;
	if (strlen(localpart) >= sizeof s->user)
		return false; /* not a prepared local part */
	snprintf(s->user, sizeof s->user, "%s", localpart);
	if (s->gate && !s->gate(s->gate_ctx, s->domain, localpart))
		s->gated = true;
	return !s->gated;
}

/* SASL_CB_SERVER_USERDB_CHECKPASS: PLAIN's password, checked by the
 * domain's backend (account.c, backend.h): the local keys recomputed,
 * or a bind to the directory. */
static int session_checkpass(sasl_conn_t *conn, void *context, const char *user,
			     const char *pass, unsigned passlen,
			     struct propctx *propctx)
{
	struct auth_exchange *s = context;
	if (!session_user_allowed(s, user))
		return SASL_BADAUTH;
	char *password = strndup(pass, passlen);
	enum account_status st = ACCOUNT_ERROR;
	if (password && strlen(password) != passlen)
		st = ACCOUNT_UNKNOWN; /* a NUL inside */
	else if (password)
		st = account_check_password(s->cfg, s->host, user, password);
	if (password) {
		OPENSSL_cleanse(password, passlen);
		free(password);
	}
	/* What session_finish and condition_of read. */
	OPENSSL_cleanse(&s->account, sizeof s->account);
	snprintf(s->account.localpart, sizeof s->account.localpart, "%s", user);
	s->account_status = st;
	s->account_loaded = true;
	return st == ACCOUNT_FOUND ? SASL_OK : SASL_BADAUTH;
}

/* SASL_CB_PROXY_POLICY: cyrus's default refuses any authzid that is not
 * the authcid's spelling; palabre compares the authzid with the bare JID
 * itself once the exchange succeeds (session_finish). */
static int session_proxy_policy(sasl_conn_t *conn, void *context,
				const char *requested_user, unsigned rlen,
				const char *auth_identity, unsigned alen,
				const char *def_realm, unsigned urlen,
				struct propctx *propctx)
{
	return SASL_OK;
}

struct auth_exchange *auth_exchange_of(const sasl_utils_t *utils)
{
	sasl_callback_ft proc = NULL;
	void *context = NULL;
	if (!utils || !utils->conn ||
	    utils->getcallback(utils->conn, SASL_CB_SERVER_USERDB_CHECKPASS,
			       &proc, &context) != SASL_OK ||
	    proc != AUTH_SASL_CALLBACK(session_checkpass))
		return NULL;
	return context;
}

const struct local_account *auth_exchange_account(struct auth_exchange *s,
						  const char *localpart)
{
	if (!s->account_loaded || strcmp(s->account.localpart, localpart)) {
		if (session_user_allowed(s, localpart))
			s->account_status = account_lookup(
				s->cfg, s->host, localpart, &s->account);
		else
			s->account_status = account_made_up(
				s->domain, localpart, &s->account);
		s->account_loaded = true;
	}
	return &s->account;
}

void auth_exchange_set_gate(struct auth_exchange *s, auth_gate_fn gate,
			    void *ctx)
{
	s->gate = gate;
	s->gate_ctx = ctx;
}

bool auth_exchange_gated(const struct auth_exchange *s)
{
	return s->gated;
}

const char *auth_exchange_user(const struct auth_exchange *s)
{
	return s->user[0] ? s->user : NULL;
}

bool auth_exchange_replayable(const struct auth_exchange *s)
{
	return s->mech && s->mech->client_first;
}

void auth_exchange_replay_user(struct auth_exchange *s, const char *user)
{
	/* session_user_allowed then compares, and asks no gate. */
	snprintf(s->user, sizeof s->user, "%s", user);
}

/* ---- life ----------------------------------------------------------- */

struct auth_exchange *
auth_exchange_new(const struct config *cfg, const char *domain, bool tls,
		  const struct auth_channel_binding *bindings, size_t nbindings)
{
	struct auth_exchange *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cfg = cfg;
	s->host = config_find_host(cfg, domain);
	snprintf(s->domain, sizeof s->domain, "%s", domain);
	s->tls = tls;
	/* The type names are kept as our own static strings, so the
	 * caller's may go once this returns. */
	static const char *const types[] = {"tls-exporter", "tls-unique",
					    "tls-server-end-point"};
	for (size_t i = 0; i < nbindings && i < AUTH_MAX_BINDINGS; i++) {
		const struct auth_channel_binding *b = &bindings[i];
		if (!b->type || !b->len || b->len > sizeof b->data)
			continue;
		for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
			if (strcmp(b->type, types[t]) == 0) {
				s->bindings[s->nbindings] = *b;
				s->bindings[s->nbindings++].type = types[t];
			}
		}
	}
	s->noffered =
		auth_host_mechanisms(cfg, s->host, tls, tls && s->nbindings > 0,
				     s->offered, AUTH_MAX_OFFERED);
	for (size_t i = 0; i < s->noffered; i++)
		if (auth_mech_find(s->offered[i])->plus)
			s->plus_offered = true;
	return s;
}

static void session_end_cyrus(struct auth_exchange *s)
{
	/* ARCHITECTURE §9: no SASL state left once the exchange is over. */
	if (s->conn)
		sasl_dispose(&s->conn);
	OPENSSL_cleanse(&s->account, sizeof s->account);
	s->account_loaded = false;
}

void auth_exchange_free(struct auth_exchange *s)
{
	if (!s)
		return;
	session_end_cyrus(s);
	free(s);
}

void auth_step_clear(struct auth_step *step)
{
	free(step->out);
	free(step->localpart);
	memset(step, 0, sizeof *step);
}

/* ---- outcome -------------------------------------------------------- */

static void step_fail(struct auth_exchange *s, struct auth_step *step,
		      const char *condition)
{
	step->result = AUTH_FAILURE;
	step->condition = condition;
	s->state = AUTH_STATE_DONE;
	session_end_cyrus(s);
}

static int step_set_out(struct auth_step *step, const char *out, unsigned len)
{
	step->out = malloc(len ? len : 1);
	if (!step->out)
		return -1;
	if (len)
		memcpy(step->out, out, len);
	step->out_len = len;
	return 0;
}

/* RFC 6120 §6.5 conditions for cyrus-sasl's answers. */
static const char *condition_of(struct auth_exchange *s, int rc)
{
	if (s->account_loaded && s->account_status == ACCOUNT_ERROR)
		return "temporary-auth-failure";
	switch (rc) {
	case SASL_NOMECH:
		return "invalid-mechanism";
	case SASL_BADPROT:
		/* cyrus's SCRAM answers SASL_BADPROT to a wrong proof or a
		 * wrong channel binding as well as to garbage. */
		return s->scram_challenge_sent ? "not-authorized"
					       : "malformed-request";
	case SASL_NOAUTHZ:
		return "invalid-authzid";
	case SASL_TOOWEAK:
		return "mechanism-too-weak";
	case SASL_ENCRYPT:
		return "encryption-required";
	case SASL_NOMEM:
	case SASL_UNAVAIL:
	case SASL_TRYAGAIN:
		return "temporary-auth-failure";
	default: /* SASL_BADAUTH, SASL_NOUSER, SASL_BADBINDING, ... */
		return "not-authorized";
	}
}

/* RFC 6120 §6.3.8: an authzid, if any, is the bare JID of the user. */
static bool authzid_acceptable(struct auth_exchange *s, const char *localpart)
{
	struct jid j;
	if (!s->authzid[0])
		return true;
	return jid_parse_str(&j, s->authzid) == 0 && jid_is_bare(&j) &&
	       strcmp(j.local, localpart) == 0 &&
	       strcmp(j.domain, s->domain) == 0;
}

static void session_finish(struct auth_exchange *s, struct auth_step *step,
			   const char *out, unsigned outlen)
{
	const void *authid = NULL;
	if (sasl_getprop(s->conn, SASL_AUTHUSER, &authid) != SASL_OK ||
	    !authid || !s->account_loaded ||
	    s->account_status != ACCOUNT_FOUND ||
	    strcmp(authid, s->account.localpart) != 0) {
		/* Made-up secrets can never succeed; if they did, refuse. */
		step_fail(s, step, "not-authorized");
		return;
	}
	if (!authzid_acceptable(s, authid)) {
		step_fail(s, step, "invalid-authzid");
		return;
	}
	step->localpart = strdup(authid);
	if (!step->localpart || step_set_out(step, out, outlen) < 0) {
		step_fail(s, step, "temporary-auth-failure");
		return;
	}
	step->result = AUTH_SUCCESS;
	s->state = AUTH_STATE_DONE;
	s->succeeded = true;
	session_end_cyrus(s);
}

static void session_answer(struct auth_exchange *s, struct auth_step *step,
			   int rc, const char *out, unsigned outlen)
{
	if (rc == SASL_OK) {
		session_finish(s, step, out, outlen);
	} else if (rc == SASL_CONTINUE) {
		if (step_set_out(step, out, outlen) < 0) {
			step_fail(s, step, "temporary-auth-failure");
			return;
		}
		if (s->mech->scram && outlen)
			s->scram_challenge_sent = true;
		step->result = AUTH_CONTINUE;
		s->state = AUTH_STATE_STEPPING;
	} else {
		log_debug("auth: %s for %s: %s", s->mech->name, s->domain,
			  s->conn ? sasl_errdetail(s->conn)
				  : sasl_errstring(rc, NULL, NULL));
		step_fail(s, step, condition_of(s, rc));
	}
}

/* ---- what palabre reads of the client's messages ---------------------- */

/* RFC 5802 §7: gs2-header = gs2-cbind-flag "," [ authzid ] ","
 * with gs2-cbind-flag = ("p=" cb-name) / "n" / "y" and
 * authzid = "a=" saslname ("=2C" for ',', "=3D" for '='). */
struct gs2_header {
	char flag; /* 'n', 'y' or 'p' */
	char cb_name[32];
};

static int saslname_decode(const char *in, size_t len, char *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '=') {
			if (len - i < 3)
				return -1;
			if (in[i + 1] == '2' && in[i + 2] == 'C')
				c = ',';
			else if (in[i + 1] == '3' && in[i + 2] == 'D')
				c = '=';
			else
				return -1;
			i += 2;
		} else if (c == ',' || c == '\0') {
			return -1;
		}
		if (n + 1 >= max)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

static int gs2_parse(const unsigned char *in, size_t len, struct gs2_header *h,
		     char *authzid, size_t authzid_max)
{
	const char *p = (const char *)in, *end = p + len;
	const char *comma = memchr(p, ',', len);
	if (!comma)
		return -1;
	if (comma - p == 1 && (*p == 'n' || *p == 'y')) {
		h->flag = *p;
	} else if (comma - p > 2 && p[0] == 'p' && p[1] == '=') {
		size_t n = (size_t)(comma - p - 2);
		if (n >= sizeof h->cb_name)
			return -1;
		for (size_t i = 0; i < n; i++) {
			char c = p[2 + i];
			/* RFC 5056 §7: cb-name = 1*(ALPHA / DIGIT / "." / "-") */
			if (!((c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '-'))
				return -1;
		}
		memcpy(h->cb_name, p + 2, n);
		h->cb_name[n] = '\0';
		h->flag = 'p';
	} else {
		return -1;
	}
	p = comma + 1;
	comma = memchr(p, ',', (size_t)(end - p));
	if (!comma)
		return -1;
	authzid[0] = '\0';
	if (comma == p)
		return 0;
	if (comma - p < 2 || p[0] != 'a' || p[1] != '=')
		return -1;
	return saslname_decode(p + 2, (size_t)(comma - p - 2), authzid,
			       authzid_max);
}

/* RFC 4616 §2: message = [authzid] NUL authcid NUL passwd */
static int plain_authzid(const unsigned char *in, size_t len, char *authzid,
			 size_t max)
{
	const unsigned char *nul = memchr(in, '\0', len);
	if (!nul)
		return -1;
	const unsigned char *nul2 =
		memchr(nul + 1, '\0', len - (size_t)(nul + 1 - in));
	if (!nul2 || memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - in)))
		return -1;
	size_t n = (size_t)(nul - in);
	if (n >= max)
		return -1;
	memcpy(authzid, in, n);
	authzid[n] = '\0';
	return 0;
}

/* RFC 2831 §2.1.2: digest-response = 1#( ... | authzid | auth-param ),
 * each "name=value" with value a token or a quoted-string. Finds
 * authzid; 0 (absent: authzid = ""), or -1 when malformed. */
static int digest_authzid(const unsigned char *in, size_t len, char *authzid,
			  size_t max)
{
	const char *p = (const char *)in, *end = p + len;
	authzid[0] = '\0';
	while (p < end) {
		while (p < end && (*p == ',' || *p == ' ' || *p == '\t' ||
				   *p == '\r' || *p == '\n'))
			p++;
		if (p == end)
			break;
		const char *name = p;
		while (p < end && *p != '=' && *p != ',')
			p++;
		if (p == end || *p != '=')
			return -1;
		size_t namelen = (size_t)(p - name);
		while (namelen && (name[namelen - 1] == ' '))
			namelen--;
		p++;
		while (p < end && *p == ' ')
			p++;
		char value[JID_MAX + 1];
		size_t n = 0;
		bool toolong = false;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				if (n + 1 < sizeof value)
					value[n++] = *p;
				else
					toolong = true;
			}
			if (p == end)
				return -1;
			p++;
		} else {
			for (; p < end && *p != ','; p++) {
				if (n + 1 < sizeof value)
					value[n++] = *p;
				else
					toolong = true;
			}
		}
		value[n] = '\0';
		if (namelen == 7 && strncasecmp(name, "authzid", 7) == 0) {
			if (toolong || n >= max)
				return -1;
			memcpy(authzid, value, n + 1);
		}
	}
	return 0;
}

/* ---- steps ---------------------------------------------------------- */

static const struct auth_channel_binding *
session_binding(struct auth_exchange *s, const char *type)
{
	for (size_t i = 0; i < s->nbindings; i++)
		if (strcmp(s->bindings[i].type, type) == 0)
			return &s->bindings[i];
	return NULL;
}

/* SCRAM: the GS2 header decides the channel binding. Returns NULL or
 * the failure condition. */
static const char *scram_prepare(struct auth_exchange *s,
				 const unsigned char *in, size_t len)
{
	struct gs2_header h = {0};
	if (gs2_parse(in, len, &h, s->authzid, sizeof s->authzid) < 0)
		return "malformed-request";
	if (!s->mech->plus) {
		/* RFC 5802 §6: "p" asks for a -PLUS mechanism; "y" from a
		 * client to which -PLUS was offered means someone removed
		 * it from the list on the way: a downgrade. */
		if (h.flag == 'p')
			return "malformed-request";
		if (h.flag == 'y' && s->plus_offered)
			return "not-authorized";
		return NULL;
	}
	if (h.flag != 'p')
		return "malformed-request";
	const struct auth_channel_binding *b = session_binding(s, h.cb_name);
	if (!b)
		return "not-authorized"; /* a type this TLS session lacks */
	s->cbinding.name = b->type;
	s->cbinding.critical = 1;
	s->cbinding.len = b->len;
	s->cbinding.data = b->data;
	if (sasl_setprop(s->conn, SASL_CHANNEL_BINDING, &s->cbinding) !=
	    SASL_OK)
		return "temporary-auth-failure";
	return NULL;
}

static int session_open_cyrus(struct auth_exchange *s)
{
	sasl_callback_t *cb = s->callbacks;
	cb[0] = (sasl_callback_t){SASL_CB_GETOPT,
				  AUTH_SASL_CALLBACK(auth_sasl_getopt), s};
	cb[1] = (sasl_callback_t){SASL_CB_LOG,
				  AUTH_SASL_CALLBACK(auth_sasl_log), s};
	cb[2] = (sasl_callback_t){SASL_CB_SERVER_USERDB_CHECKPASS,
				  AUTH_SASL_CALLBACK(session_checkpass), s};
	cb[3] = (sasl_callback_t){SASL_CB_PROXY_POLICY,
				  AUTH_SASL_CALLBACK(session_proxy_policy), s};
	cb[4] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
	/* service "xmpp" and the domain as server name and realm: the
	 * DIGEST-MD5 digest-uri is "xmpp/<domain>" (RFC 6120 §6.4.1 does
	 * not change RFC 2831's rule) and its realm names the domain. */
	if (sasl_server_new("xmpp", s->domain, s->domain, NULL, NULL,
			    s->callbacks, SASL_SUCCESS_DATA,
			    &s->conn) != SASL_OK)
		return -1;
	/* No SASL security layer: TLS protects the stream. */
	sasl_security_properties_t props = {0};
	return sasl_setprop(s->conn, SASL_SEC_PROPS, &props) == SASL_OK ? 0
									: -1;
}

/* Starts cyrus-sasl with the client's first message (or none, for a
 * server-first mechanism). */
static void session_begin(struct auth_exchange *s, const unsigned char *in,
			  size_t in_len, bool have_in, struct auth_step *step)
{
	if (session_open_cyrus(s) < 0) {
		step_fail(s, step, "temporary-auth-failure");
		return;
	}
	const char *bad = NULL;
	if (have_in && s->mech->scram && in_len)
		bad = scram_prepare(s, in, in_len);
	else if (have_in && strcmp(s->mech->name, "PLAIN") == 0 && in_len &&
		 plain_authzid(in, in_len, s->authzid, sizeof s->authzid) < 0)
		bad = "malformed-request";
	if (bad) {
		step_fail(s, step, bad);
		return;
	}
	/* cyrus wants the input NUL-terminated. */
	char *copy = have_in ? malloc(in_len + 1) : NULL;
	if (have_in && !copy) {
		step_fail(s, step, "temporary-auth-failure");
		return;
	}
	if (copy) {
		memcpy(copy, in, in_len);
		copy[in_len] = '\0';
	}
	const char *out = NULL;
	unsigned outlen = 0;
	int rc = sasl_server_start(s->conn, s->mech->name, copy,
				   (unsigned)in_len, &out, &outlen);
	free(copy);
	session_answer(s, step, rc, out, outlen);
}

static bool offered(struct auth_exchange *s, const char *mechanism)
{
	for (size_t i = 0; i < s->noffered; i++)
		if (strcmp(s->offered[i], mechanism) == 0)
			return true;
	return false;
}

void auth_start(struct auth_exchange *s, const char *mechanism,
		const unsigned char *in, size_t in_len, struct auth_step *step)
{
	memset(step, 0, sizeof *step);
	/* RFC 6120 §6.4.5: after a failure the client may try again on the
	 * same stream; after a success it may not (§6.4.6). */
	if (s->state == AUTH_STATE_DONE && !s->succeeded) {
		session_end_cyrus(s);
		s->state = AUTH_STATE_NEW;
		s->mech = NULL;
		s->scram_challenge_sent = false;
		s->gated = false;
		s->user[0] = '\0';
		s->authzid[0] = '\0';
		memset(&s->cbinding, 0, sizeof s->cbinding);
	}
	if (s->state != AUTH_STATE_NEW) {
		step->result = AUTH_FAILURE;
		step->condition = "malformed-request";
		return;
	}
	if (!mechanism || !offered(s, mechanism)) {
		step_fail(s, step, "invalid-mechanism");
		return;
	}
	s->mech = auth_mech_find(mechanism);
	if (in && in_len > 4096) {
		step_fail(s, step, "malformed-request");
		return;
	}
	if (!s->mech->client_first) {
		/* RFC 6120 §6.4.2: a server-first mechanism takes no initial
		 * response, or an empty one. */
		if (in && in_len) {
			step_fail(s, step, "malformed-request");
			return;
		}
		session_begin(s, NULL, 0, false, step);
	} else if (!in || !in_len) {
		/* RFC 6120 §6.4.2: no initial response (or "="): an empty
		 * challenge, the first <response/> then starts cyrus. */
		s->state = AUTH_STATE_AWAIT_FIRST;
		step->result = AUTH_CONTINUE;
		if (step_set_out(step, NULL, 0) < 0)
			step_fail(s, step, "temporary-auth-failure");
	} else {
		session_begin(s, in, in_len, true, step);
	}
}

void auth_continue(struct auth_exchange *s, const unsigned char *in,
		   size_t in_len, struct auth_step *step)
{
	memset(step, 0, sizeof *step);
	if (in_len > 4096) {
		step_fail(s, step, "malformed-request");
		return;
	}
	if (s->state == AUTH_STATE_AWAIT_FIRST) {
		session_begin(s, in, in_len, true, step);
		return;
	}
	if (s->state != AUTH_STATE_STEPPING) {
		step->result = AUTH_FAILURE;
		step->condition = "malformed-request";
		return;
	}
	if (strcmp(s->mech->name, "DIGEST-MD5") == 0 && in_len &&
	    !s->authzid[0] &&
	    digest_authzid(in, in_len, s->authzid, sizeof s->authzid) < 0) {
		step_fail(s, step, "malformed-request");
		return;
	}
	char *copy = malloc(in_len + 1);
	if (!copy) {
		step_fail(s, step, "temporary-auth-failure");
		return;
	}
	if (in_len)
		memcpy(copy, in, in_len);
	copy[in_len] = '\0';
	const char *out = NULL;
	unsigned outlen = 0;
	int rc = sasl_server_step(s->conn, copy, (unsigned)in_len, &out,
				  &outlen);
	free(copy);
	session_answer(s, step, rc, out, outlen);
}
