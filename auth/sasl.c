/* sasl: cyrus-sasl set up for palabre, with no /etc/sasl2 file.
 *
 * Everything cyrus-sasl would read from a configuration file comes from
 * auth_sasl_getopt. Secrets come from two plugins registered in-process:
 *
 * - an auxprop plugin ("palabre") that answers, for the user being
 *   authenticated, the two properties cyrus's mechanisms ask for in
 *   place of a password:
 *     "*authPassword": RFC 5803 values "SCRAM-SHA-1$i:salt$StoredKey:
 *       ServerKey" (one per hash), read by the SCRAM plugin (scram.c,
 *       scram_server_mech_step1) when no userPassword exists;
 *     "*cmusaslsecretDIGEST-MD5": the 16 bytes of HA1, read by the
 *       DIGEST-MD5 plugin (digestmd5.c) instead of a clear password.
 *   It never answers "*userPassword": there is none to give.
 * - a canon_user plugin ("palabre") that turns the client's authcid,
 *   "alice" or "alice@domain", into the prepared local part (RFC 7622
 *   nodeprep), so that every later lookup uses one spelling.
 *
 * Both come from account.c, whatever the domain's backend (backend.h:
 * `local`, or `ldap`: authPassword values as stored, or derived from a
 * readable clear userPassword).
 *
 * PLAIN is verified by sasl_exchange.c's SASL_CB_SERVER_USERDB_CHECKPASS
 * callback, through account_check_password (the local keys recomputed
 * from the password, or a bind to the directory). */
#include "sasl_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "backend.h"

/* Mechanisms cyrus-sasl may use at all; auth_mechanisms narrows this to
 * the configuration, the domain and the connection. */
static const char cyrus_mech_list[] = "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN "
				      "DIGEST-MD5";

static const struct auth_mech mechs[] = {
	{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", true, true, true, true,
	 AUTH_BACKEND_SCRAM},
	{"SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", true, true, true, true,
	 AUTH_BACKEND_SCRAM},
	{"SCRAM-SHA-256", "SCRAM-SHA-256", false, true, true, false,
	 AUTH_BACKEND_SCRAM},
	{"SCRAM-SHA-1", "SCRAM-SHA-1", false, true, true, false,
	 AUTH_BACKEND_SCRAM},
	{"PLAIN", "PLAIN", false, false, true, true, AUTH_BACKEND_PLAIN},
	{"DIGEST-MD5", "DIGEST-MD5", false, false, false, false,
	 AUTH_BACKEND_DIGEST_MD5},
};
#define NMECHS (sizeof mechs / sizeof mechs[0])

static bool sasl_ready;
static bool plugin_loaded[NMECHS];
static const char *sasl_log_level = "1"; /* SASL_LOG_ERR */

const struct auth_mech *auth_mech_find(const char *name)
{
	for (size_t i = 0; i < NMECHS; i++)
		if (strcmp(mechs[i].name, name) == 0)
			return &mechs[i];
	return NULL;
}

/* ---- threads ---------------------------------------------------------- */

static void *mutex_alloc(void)
{
	pthread_mutex_t *m = malloc(sizeof *m);
	if (m && pthread_mutex_init(m, NULL) != 0) {
		free(m);
		return NULL;
	}
	return m;
}

static int mutex_lock(void *m)
{
	return pthread_mutex_lock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static int mutex_unlock(void *m)
{
	return pthread_mutex_unlock(m) == 0 ? SASL_OK : SASL_FAIL;
}

static void mutex_free(void *m)
{
	if (m) {
		pthread_mutex_destroy(m);
		free(m);
	}
}

/* ---- options and log -------------------------------------------------- */

int auth_sasl_getopt(void *context, const char *plugin_name, const char *option,
		     const char **result, unsigned *len)
{
	static const struct {
		const char *option;
		const char *value;
	} options[] = {
		{"auxprop_plugin", "palabre"},
		{"canon_user_plugin", "palabre"},
		{"mech_list", cyrus_mech_list},
		/* PLAIN: our checkpass callback answers first; cyrus's
		 * fallback then finds no userPassword and fails. */
		{"pwcheck_method", "auxprop"},
		{"auto_transition", "no"},
		/* No DIGEST-MD5 fast reauthentication across streams. */
		{"reauth_timeout", "0"},
	};
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
		if (strcmp(option, options[i].option) == 0) {
			*result = options[i].value;
			if (len)
				*len = (unsigned)strlen(*result);
			return SASL_OK;
		}
	}
	if (strcmp(option, "log_level") == 0) {
		*result = sasl_log_level;
		if (len)
			*len = (unsigned)strlen(*result);
		return SASL_OK;
	}
	return SASL_FAIL;
}

int auth_sasl_log(void *context, int level, const char *message)
{
	/* cyrus reports a wrong password at SASL_LOG_ERR; c2s logs the
	 * outcome of each exchange itself, so this is detail. */
	if (level <= SASL_LOG_ERR)
		log_info("sasl: %s", message);
	else
		log_debug("sasl: %s", message);
	return SASL_OK;
}

/* ---- auxprop plugin ------------------------------------------------- */

static void auxprop_set_scram(const sasl_utils_t *utils, struct propctx *ctx,
			      const char *name, const struct local_account *a)
{
	char value[256];
	if (scram_secret_format(SCRAM_SHA_1, &a->sha1, value, sizeof value))
		utils->prop_set(ctx, name, value, 0);
	if (scram_secret_format(SCRAM_SHA_256, &a->sha256, value, sizeof value))
		utils->prop_set(ctx, name, value, 0);
}

static int auxprop_lookup(void *glob_context, sasl_server_params_t *sparams,
			  unsigned flags, const char *user, unsigned ulen)
{
	/* Only the authentication identity's secrets ("*" properties);
	 * palabre keeps nothing about an authorization identity. */
	if (flags & SASL_AUXPROP_AUTHZID)
		return SASL_OK;
	struct auth_exchange *s = auth_exchange_of(sparams->utils);
	if (!s)
		return SASL_NOUSER;
	char localpart[JID_PART_MAX + 1];
	if (ulen == 0)
		ulen = (unsigned)strlen(user);
	if (ulen > JID_PART_MAX)
		return SASL_NOUSER;
	memcpy(localpart, user, ulen);
	localpart[ulen] = '\0';

	const struct propval *p = sparams->utils->prop_get(sparams->propctx);
	for (; p && p->name; p++) {
		bool scram = strcmp(p->name, "*authPassword") == 0;
		bool digest = strcmp(p->name, "*cmusaslsecretDIGEST-MD5") == 0;
		if (!scram && !digest)
			continue;
		if (p->values && !(flags & SASL_AUXPROP_OVERRIDE))
			continue;
		if (p->values)
			sparams->utils->prop_erase(sparams->propctx, p->name);
		const struct local_account *a =
			auth_exchange_account(s, localpart);
		if (scram)
			auxprop_set_scram(sparams->utils, sparams->propctx,
					  p->name, a);
		else if (a->has_digest_md5)
			sparams->utils->prop_set(
				sparams->propctx, p->name,
				(const char *)a->digest_md5_ha1,
				DIGEST_MD5_HA1_LEN);
	}
	return SASL_OK;
}

static sasl_auxprop_plug_t auxprop_plugin = {
	.auxprop_lookup = auxprop_lookup,
	.name = "palabre",
};

static int auxprop_init(const sasl_utils_t *utils, int max_version,
			int *out_version, sasl_auxprop_plug_t **plug,
			const char *plugname)
{
	if (max_version < SASL_AUXPROP_PLUG_VERSION)
		return SASL_BADVERS;
	*out_version = SASL_AUXPROP_PLUG_VERSION;
	*plug = &auxprop_plugin;
	return SASL_OK;
}

/* ---- canon_user plugin ---------------------------------------------- */

/* RFC 6120 §6.3.7 leaves the authcid's form to the mechanism; palabre
 * takes the local part, or the bare JID of the stream's domain. */
static int canon_authcid(const char *realm, char *name, char *out)
{
	char *at = strchr(name, '@');
	if (at) {
		char domain[JID_PART_MAX + 1];
		*at = '\0';
		if (!realm || jid_prep_domain(domain, at + 1) < 0 ||
		    strcmp(domain, realm) != 0)
			return -1;
	}
	return jid_prep_local(out, name);
}

static int canon_server(void *glob_context, sasl_server_params_t *sparams,
			const char *user, unsigned len, unsigned flags,
			char *out, unsigned out_max, unsigned *out_len)
{
	char name[JID_MAX + 1], local[JID_PART_MAX + 1];
	if (len == 0)
		len = (unsigned)strlen(user);
	if (len > JID_MAX || memchr(user, '\0', len))
		return SASL_NOUSER;
	memcpy(name, user, len);
	name[len] = '\0';

	const char *result = name;
	if (flags & SASL_CU_AUTHID) {
		if (canon_authcid(sparams->user_realm, name, local) < 0)
			return SASL_NOUSER;
		result = local;
	}
	/* An authzid alone is passed through as sent: sasl_exchange.c checks
	 * it against the authenticated user (RFC 6120 §6.3.8). */
	size_t n = strlen(result);
	if (n >= out_max)
		return SASL_BUFOVER;
	memcpy(out, result, n + 1);
	*out_len = (unsigned)n;
	return SASL_OK;
}

static sasl_canonuser_plug_t canon_plugin = {
	.name = "palabre",
	.canon_user_server = canon_server,
};

static int canon_init(const sasl_utils_t *utils, int max_version,
		      int *out_version, sasl_canonuser_plug_t **plug,
		      const char *plugname)
{
	if (max_version < SASL_CANONUSER_PLUG_VERSION)
		return SASL_BADVERS;
	*out_version = SASL_CANONUSER_PLUG_VERSION;
	*plug = &canon_plugin;
	return SASL_OK;
}

/* ---- start ---------------------------------------------------------- */

static void note_loaded_plugins(void)
{
	const char **list = sasl_global_listmech();
	for (size_t i = 0; i < NMECHS; i++)
		for (size_t j = 0; list && list[j]; j++)
			if (strcmp(list[j], mechs[i].plugin) == 0)
				plugin_loaded[i] = true;
}

int auth_sasl_init(const struct config *cfg, char *err, size_t errlen)
{
	static const sasl_callback_t callbacks[] = {
		{SASL_CB_GETOPT, AUTH_SASL_CALLBACK(auth_sasl_getopt), NULL},
		{SASL_CB_LOG, AUTH_SASL_CALLBACK(auth_sasl_log), NULL},
		{SASL_CB_LIST_END, NULL, NULL},
	};
	if (sasl_ready)
		return 0;
	if (cfg->log_level == LOG_DEBUG)
		sasl_log_level = "5"; /* SASL_LOG_DEBUG */
	/* Before sasl_server_init: the steps run on libuv's worker
	 * threads, and cyrus guards its shared state with these. */
	sasl_set_mutex(mutex_alloc, mutex_lock, mutex_unlock, mutex_free);
	int rc = sasl_server_init(callbacks, "palabre");
	if (rc != SASL_OK) {
		snprintf(err, errlen, "cyrus-sasl: cannot start: %s",
			 sasl_errstring(rc, NULL, NULL));
		return -1;
	}
	if ((rc = sasl_auxprop_add_plugin("palabre", auxprop_init)) !=
		    SASL_OK ||
	    (rc = sasl_canonuser_add_plugin("palabre", canon_init)) !=
		    SASL_OK) {
		snprintf(err, errlen, "cyrus-sasl: cannot add plugins: %s",
			 sasl_errstring(rc, NULL, NULL));
		return -1;
	}
	note_loaded_plugins();
	for (size_t i = 0; i < cfg->nmechanisms; i++) {
		const struct auth_mech *m = auth_mech_find(cfg->mechanisms[i]);
		if (m && !plugin_loaded[m - mechs]) {
			snprintf(err, errlen,
				 "c2s/mechanisms: %s is configured but "
				 "cyrus-sasl has no %s plugin (install "
				 "libsasl2-modules)",
				 m->name, m->plugin);
			return -1;
		}
	}
	sasl_ready = true;
	return 0;
}

/* ---- what to offer -------------------------------------------------- */

size_t auth_host_mechanisms(const struct config *cfg,
			    const struct config_host *host, bool tls,
			    bool channel_binding, const char **out, size_t max)
{
	const struct auth_backend *b = auth_backend_of(host);
	if (!b || (!tls && cfg->require_starttls))
		return 0;
	/* ARCHITECTURE §5: only what the host's backend can verify. */
	unsigned serves = b->mechanisms(cfg, host);
	size_t n = 0;
	for (size_t i = 0; i < cfg->nmechanisms && n < max; i++) {
		const struct auth_mech *m = auth_mech_find(cfg->mechanisms[i]);
		if (!m || (m->needs_tls && !tls) ||
		    (m->plus && !channel_binding) || !(serves & m->verified) ||
		    (sasl_ready && !plugin_loaded[m - mechs]))
			continue;
		out[n++] = m->name;
	}
	return n;
}

size_t auth_mechanisms(const struct config *cfg, const char *domain, bool tls,
		       bool channel_binding, const char **out, size_t max)
{
	return auth_host_mechanisms(cfg, config_find_host(cfg, domain), tls,
				    channel_binding, out, max);
}
