/* ldap: the `ldap` account backend (backend.h, ARCHITECTURE §5).
 *
 * A domain's users are entries of a directory (lib/config.h struct
 * config_ldap, shared by the domains that name it), found by a subtree
 * search under the host's base with its filter, as the service account,
 * on pooled connections (ldap_pool.h). Exactly one entry is the user;
 * none, or several, is no user.
 *
 * - PLAIN: a bind as the entry's DN with the given password, on a
 *   connection kept for user binds. Nothing is cached.
 * - SCRAM-SHA-1/-256: keys derived from a clear userPassword, or the
 *   RFC 5803 authPassword values of the entry while its password stamp
 *   says they are still the password's (ldap_stamp.h), handed to
 *   cyrus-sasl by auth/sasl.c's auxprop plugin exactly as the local
 *   backend's.
 * - DIGEST-MD5: the HA1 of a clear userPassword.
 * Which of these a directory allows is its <password-access>.
 *
 * Searches and binds block (bounded by the directory's <timeout>): on
 * worker threads only (backend.h). The local part given is already
 * prepared (RFC 7622 nodeprep); it is escaped (RFC 4515) into the
 * filter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldap.h>
#include <openssl/crypto.h>

#include "../lib/log.h"
#include "auth.h"
#include "backend.h"
#include "ldap_filter.h"
#include "ldap_pool.h"
#include "ldap_stamp.h"

#define LDAP_PASSWORD_MAX 1024

/* Reads what it needs of the one entry found, while its result lives. */
typedef void (*ldap_entry_fn)(LDAP *ld, LDAPMessage *entry, void *ctx);

static enum account_status search_result(const struct config_host *host,
					 const struct config_ldap *dir,
					 LDAP *ld, int rc, LDAPMessage *res,
					 ldap_entry_fn fn, void *ctx, char **dn)
{
	int count = rc == LDAP_SUCCESS ? ldap_count_entries(ld, res) : 0;
	if (rc == LDAP_SIZELIMIT_EXCEEDED || count > 1) {
		log_warn("ldap %s: the filter of %s finds several entries "
			 "under %s: no one logs in with that name",
			 dir->id, host->domain, host->ldap_base);
		return ACCOUNT_UNKNOWN;
	}
	if (rc == LDAP_NO_SUCH_OBJECT) {
		log_error("ldap %s: the base %s of %s does not exist", dir->id,
			  host->ldap_base, host->domain);
		return ACCOUNT_ERROR;
	}
	if (rc != LDAP_SUCCESS) {
		log_error("ldap %s: search for %s: %s", dir->id, host->domain,
			  ldap_err2string(rc));
		return ACCOUNT_ERROR;
	}
	if (count != 1)
		return ACCOUNT_UNKNOWN;
	LDAPMessage *entry = ldap_first_entry(ld, res);
	char *found = entry ? ldap_get_dn(ld, entry) : NULL;
	if (!found || !*found) {
		/* An empty DN would make the user's bind anonymous. */
		ldap_memfree(found);
		return ACCOUNT_UNKNOWN;
	}
	if (fn)
		fn(ld, entry, ctx);
	if (dn)
		*dn = strdup(found);
	ldap_memfree(found);
	return dn && !*dn ? ACCOUNT_ERROR : ACCOUNT_FOUND;
}

/* The entry of localpart under host's base: exactly one, or none. */
static enum account_status ldap_find(const struct config_host *host,
				     const struct config_ldap *dir,
				     const char *localpart, char **attrs,
				     ldap_entry_fn fn, void *ctx, char **dn)
{
	char filter[LDAP_FILTER_MAX];
	if (ldap_filter_build(host->ldap_filter, localpart, host->domain,
			      filter, sizeof filter) < 0)
		return ACCOUNT_UNKNOWN;
	struct ldap_pool *p = ldap_pool_of(dir);
	if (!p)
		return ACCOUNT_ERROR;
	/* Once more when a pooled connection turns out broken or silent
	 * (the directory restarted or hangs, a firewall forgot it): the new
	 * connection tries the URIs in order, so a hung first directory
	 * costs one timeout on the old connection and one on the new. */
	for (int attempt = 0; attempt < 2; attempt++) {
		struct ldap_pool_conn *c =
			ldap_pool_acquire(p, LDAP_POOL_SEARCH);
		if (!c)
			return ACCOUNT_ERROR;
		LDAPMessage *res = NULL;
		struct timeval tv = {.tv_sec = dir->timeout};
		/* Size limit 2: enough to tell one entry from several. */
		int rc = ldap_search_ext_s(c->ld, host->ldap_base,
					   LDAP_SCOPE_SUBTREE, filter, attrs, 0,
					   NULL, NULL, &tv, 2, &res);
		if (ldap_pool_conn_failed(rc)) {
			bool retry = !c->fresh;
			log_warn("ldap %s: search: %s%s", dir->id,
				 ldap_err2string(rc),
				 retry ? ", trying a new connection" : "");
			ldap_msgfree(res);
			ldap_pool_release(p, c, true);
			if (!retry)
				return ACCOUNT_ERROR;
			continue;
		}
		enum account_status st =
			search_result(host, dir, c->ld, rc, res, fn, ctx, dn);
		ldap_msgfree(res);
		ldap_pool_release(p, c, false);
		return st;
	}
	return ACCOUNT_ERROR;
}

/* ---- authPassword values and the password stamp ------------------- */

/* What the entry's authPassword values give, and its password stamp. */
struct auth_passwords {
	struct scram_secret sha1, sha256;
	bool has_sha1, has_sha256;
	struct ldap_stamp_view view;
};

static void read_stamp(LDAP *ld, LDAPMessage *entry, struct auth_passwords *a)
{
	struct berval **values[LDAP_STAMP_KINDS];
	for (int k = 0; k < LDAP_STAMP_KINDS; k++)
		values[k] = ldap_get_values_len(ld, entry,
						ldap_stamp_attributes[k]);
	ldap_stamp_view_make(&a->view, values, a->has_sha1 ? &a->sha1 : NULL,
			     a->has_sha256 ? &a->sha256 : NULL);
	for (int k = 0; k < LDAP_STAMP_KINDS; k++) {
		for (size_t j = 0; values[k] && values[k][j]; j++)
			OPENSSL_cleanse(values[k][j]->bv_val,
					values[k][j]->bv_len);
		ldap_value_free_len(values[k]);
	}
}

static void read_auth_passwords(LDAP *ld, LDAPMessage *entry, void *ctx)
{
	struct auth_passwords *a = ctx;
	struct berval **values = ldap_get_values_len(ld, entry, "authPassword");
	for (size_t i = 0; values && values[i]; i++) {
		enum scram_hash hash;
		struct scram_secret secret;
		if (scram_secret_parse(values[i]->bv_val, values[i]->bv_len,
				       &hash, &secret) < 0)
			continue; /* another scheme, or not RFC 5803 */
		if (hash == SCRAM_SHA_1 && !a->has_sha1) {
			a->sha1 = secret;
			a->has_sha1 = true;
		} else if (hash == SCRAM_SHA_256 && !a->has_sha256) {
			a->sha256 = secret;
			a->has_sha256 = true;
		}
		OPENSSL_cleanse(&secret, sizeof secret);
	}
	ldap_value_free_len(values);
	if (a->has_sha1 || a->has_sha256)
		read_stamp(ld, entry, a);
}

/* authPassword and what the password stamp may be made of. */
static void auth_password_attributes(char **attrs, size_t *n)
{
	attrs[(*n)++] = "authPassword";
	for (int k = 0; k < LDAP_STAMP_KINDS; k++)
		attrs[(*n)++] = (char *)ldap_stamp_attributes[k];
}

/* ---- PLAIN: a bind as the user -------------------------------------- */

static enum account_status bind_result(const struct config_ldap *dir, int rc)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return ACCOUNT_FOUND;
	case LDAP_INVALID_CREDENTIALS:  /* wrong password */
	case LDAP_INAPPROPRIATE_AUTH:   /* an entry without a password */
	case LDAP_UNWILLING_TO_PERFORM: /* e.g. a disabled account */
	case LDAP_CONSTRAINT_VIOLATION: /* e.g. a locked account (ppolicy) */
	case LDAP_INSUFFICIENT_ACCESS:
		return ACCOUNT_UNKNOWN;
	default:
		log_error("ldap %s: user bind: %s", dir->id,
			  ldap_err2string(rc));
		return ACCOUNT_ERROR;
	}
}

static enum account_status bind_as(const struct config_ldap *dir,
				   const char *dn, const char *password,
				   size_t len)
{
	struct ldap_pool *p = ldap_pool_of(dir);
	enum account_status st = ACCOUNT_ERROR;
	for (int attempt = 0; p && attempt < 2; attempt++) {
		struct ldap_pool_conn *c = ldap_pool_acquire(p, LDAP_POOL_BIND);
		if (!c)
			break;
		struct berval cred = {.bv_val = (char *)password,
				      .bv_len = len};
		int rc = ldap_sasl_bind_s(c->ld, dn, LDAP_SASL_SIMPLE, &cred,
					  NULL, NULL, NULL);
		if (ldap_pool_conn_failed(rc)) {
			bool retry = !c->fresh;
			log_warn("ldap %s: user bind: %s%s", dir->id,
				 ldap_err2string(rc),
				 retry ? ", trying a new connection" : "");
			ldap_pool_release(p, c, true);
			if (!retry)
				break;
			continue;
		}
		st = bind_result(dir, rc);
		/* A bound connection keeps no password; the next user's
		 * bind replaces this identity. */
		ldap_pool_release(p, c, false);
		break;
	}
	return st;
}

static enum account_status
ldap_backend_check_password(const struct config *cfg,
			    const struct config_host *host,
			    const char *localpart, const char *password)
{
	const struct config_ldap *dir = config_host_directory(cfg, host);
	struct local_db *db = account_db(cfg);
	size_t len = strlen(password);
	if (!dir)
		return ACCOUNT_ERROR;
	/* RFC 4513 §5.1.2: a simple bind with a DN and an empty password
	 * is an unauthenticated bind, which many directories accept. */
	if (len == 0 || len > LDAP_PASSWORD_MAX)
		return ACCOUNT_UNKNOWN;
	/* With authPassword, the search reads them and the stamp too: a
	 * login the directory accepts tells whether they still match. */
	bool stamped = dir->password_access & CONFIG_LDAP_AUTH_PASSWORD;
	char *attrs[2 + LDAP_STAMP_KINDS] = {LDAP_NO_ATTRS};
	size_t n = 0;
	if (stamped)
		auth_password_attributes(attrs, &n);
	struct auth_passwords a = {0};
	char *dn = NULL;
	enum account_status st =
		ldap_find(host, dir, localpart, attrs,
			  stamped ? read_auth_passwords : NULL, &a, &dn);
	if (st == ACCOUNT_FOUND)
		st = bind_as(dir, dn, password, len);
	if (st == ACCOUNT_FOUND && (a.has_sha1 || a.has_sha256))
		ldap_stamp_confirm(db, dir->id, host->domain, localpart,
				   &a.view, a.has_sha1 ? &a.sha1 : NULL,
				   a.has_sha256 ? &a.sha256 : NULL, password);
	OPENSSL_cleanse(&a, sizeof a);
	free(dn);
	return st;
}

static enum account_status ldap_backend_exists(const struct config *cfg,
					       const struct config_host *host,
					       const char *localpart)
{
	static char *no_attrs[] = {LDAP_NO_ATTRS, NULL};
	const struct config_ldap *dir = config_host_directory(cfg, host);
	if (!dir)
		return ACCOUNT_ERROR;
	return ldap_find(host, dir, localpart, no_attrs, NULL, NULL, NULL);
}

/* ---- secrets for SCRAM and DIGEST-MD5 ------------------------------- */

struct secrets {
	const struct config_host *host;
	const struct config_ldap *dir;
	struct local_account *out;
	bool have_sha1, have_sha256;
	struct auth_passwords auth;
};

/* A clear userPassword: not "{SSHA}…" or another hashed form. */
static bool is_clear_password(const struct berval *v)
{
	return v->bv_len > ldap_password_clear_offset(v) &&
	       v->bv_len <= LDAP_PASSWORD_MAX &&
	       !memchr(v->bv_val, '\0', v->bv_len) &&
	       !ldap_password_is_hashed(v);
}

/* SCRAM keys from the clear password, with the salt account.c made up
 * for this name (stable, and the same as an unknown user's would be),
 * and DIGEST-MD5's HA1 (realm: the domain). */
static void use_clear_password(struct secrets *s, const char *password)
{
	struct local_account *a = s->out;
	char *prepared = NULL;
	if (scram_saslprep(password, false, &prepared) == 0) {
		s->have_sha1 = scram_secret_derive(SCRAM_SHA_1, prepared,
						   &a->sha1) == 0;
		s->have_sha256 = scram_secret_derive(SCRAM_SHA_256, prepared,
						     &a->sha256) == 0;
		OPENSSL_cleanse(prepared, strlen(prepared));
		free(prepared);
	}
	digest_md5_ha1(a->localpart, a->domain, password, a->digest_md5_ha1);
	a->has_digest_md5 = true;
}

static void read_clear_password(LDAP *ld, LDAPMessage *entry, struct secrets *s)
{
	struct berval **values = ldap_get_values_len(ld, entry, "userPassword");
	size_t i = 0;
	while (values && values[i] && !is_clear_password(values[i]))
		i++;
	if (values && values[i]) {
		char password[LDAP_PASSWORD_MAX + 1];
		size_t skip = ldap_password_clear_offset(values[i]);
		memcpy(password, values[i]->bv_val + skip,
		       values[i]->bv_len - skip);
		password[values[i]->bv_len - skip] = '\0';
		use_clear_password(s, password);
		OPENSSL_cleanse(password, sizeof password);
	} else if (values) {
		log_debug("ldap %s: the userPassword of a user of %s is "
			  "hashed: no DIGEST-MD5 or SCRAM from it",
			  s->dir->id, s->host->domain);
	}
	for (size_t j = 0; values && values[j]; j++)
		OPENSSL_cleanse(values[j]->bv_val, values[j]->bv_len);
	ldap_value_free_len(values);
}

static void read_secrets(LDAP *ld, LDAPMessage *entry, void *ctx)
{
	struct secrets *s = ctx;
	/* A clear password is the password: keys from it follow every
	 * change, where authPassword values may be left behind. */
	if (s->dir->password_access & CONFIG_LDAP_CLEAR_PASSWORD)
		read_clear_password(ld, entry, s);
	if ((s->dir->password_access & CONFIG_LDAP_AUTH_PASSWORD) &&
	    !s->have_sha1 && !s->have_sha256)
		read_auth_passwords(ld, entry, &s->auth);
}

/* The authPassword secrets, when ldap_stamp.h trusts them to be the
 * current password's; else the made-up ones stay and SCRAM fails like a
 * wrong password. */
static enum account_status use_auth_passwords(const struct config_host *host,
					      const struct config_ldap *dir,
					      const char *localpart,
					      struct local_db *db,
					      struct secrets *s)
{
	struct auth_passwords *a = &s->auth;
	int trusted = ldap_stamp_trust(db, dir->id, host->domain, localpart,
				       &a->view);
	if (trusted < 0)
		return ACCOUNT_ERROR;
	if (trusted && a->has_sha1)
		s->out->sha1 = a->sha1;
	if (trusted && a->has_sha256)
		s->out->sha256 = a->sha256;
	return ACCOUNT_FOUND;
}

/* Made-up secrets first: the directory replaces those it has. */
static enum account_status ldap_backend_lookup(const struct config *cfg,
					       const struct config_host *host,
					       const char *localpart,
					       struct local_account *out)
{
	const struct config_ldap *dir = config_host_directory(cfg, host);
	struct local_db *db = account_db(cfg);
	account_made_up(host->domain, localpart, out);
	if (!dir)
		return ACCOUNT_ERROR;
	char *attrs[2 + LDAP_STAMP_KINDS];
	size_t n = 0;
	if (dir->password_access & CONFIG_LDAP_AUTH_PASSWORD)
		auth_password_attributes(attrs, &n); /* userPassword too */
	else if (dir->password_access & CONFIG_LDAP_CLEAR_PASSWORD)
		attrs[n++] = "userPassword";
	if (n == 0)
		attrs[n++] = LDAP_NO_ATTRS;
	attrs[n] = NULL;
	struct secrets s = {.host = host, .dir = dir, .out = out};
	enum account_status st =
		ldap_find(host, dir, localpart, attrs, read_secrets, &s, NULL);
	if (st == ACCOUNT_FOUND && (s.auth.has_sha1 || s.auth.has_sha256))
		st = use_auth_passwords(host, dir, localpart, db, &s);
	OPENSSL_cleanse(&s.auth, sizeof s.auth);
	return st;
}

/* ---- attributes for directory vCards -------------------------------- */

struct attr_values {
	const char *const *attrs;
	size_t nattrs;
	char ***values;
	bool failed;
};

static char **read_values(LDAP *ld, LDAPMessage *entry, const char *attr,
			  bool *failed)
{
	struct berval **v = ldap_get_values_len(ld, entry, attr);
	size_t n = v ? ldap_count_values_len(v) : 0;
	if (n == 0) {
		ldap_value_free_len(v);
		return NULL;
	}
	char **out = calloc(n + 1, sizeof *out);
	size_t k = 0;
	for (size_t i = 0; out && i < n; i++) {
		if (memchr(v[i]->bv_val, '\0', v[i]->bv_len))
			continue;
		if (!(out[k] = strndup(v[i]->bv_val, v[i]->bv_len)))
			break;
		k++;
	}
	ldap_value_free_len(v);
	if (!out)
		*failed = true;
	return out;
}

static void read_attributes(LDAP *ld, LDAPMessage *entry, void *ctx)
{
	struct attr_values *a = ctx;
	for (size_t i = 0; i < a->nattrs; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcasecmp(a->attrs[i], a->attrs[j]) == 0;
		if (!seen)
			a->values[i] =
				read_values(ld, entry, a->attrs[i], &a->failed);
	}
}

static enum account_status
ldap_backend_attributes(const struct config *cfg,
			const struct config_host *host, const char *localpart,
			const char *const *attrs, size_t nattrs,
			char ****values)
{
	const struct config_ldap *dir = config_host_directory(cfg, host);
	if (!dir)
		return ACCOUNT_ERROR;
	char **list = calloc(nattrs + 2, sizeof *list);
	char ***v = calloc(nattrs + 1, sizeof *v);
	if (!list || !v) {
		free(list);
		free(v);
		return ACCOUNT_ERROR;
	}
	size_t n = 0;
	for (size_t i = 0; i < nattrs; i++)
		list[n++] = (char *)attrs[i];
	if (n == 0)
		list[n++] = LDAP_NO_ATTRS;
	struct attr_values a = {.attrs = attrs, .nattrs = nattrs, .values = v};
	enum account_status st = ldap_find(host, dir, localpart, list,
					   read_attributes, &a, NULL);
	free(list);
	if (st == ACCOUNT_FOUND && a.failed)
		st = ACCOUNT_ERROR;
	if (st != ACCOUNT_FOUND) {
		auth_attribute_values_free(v, nattrs);
		return st;
	}
	*values = v;
	return st;
}

/* ---- the rest of the backend ------------------------------------------- */

/* What <password-access> lets palabre verify (lib/config.h). */
static unsigned ldap_backend_mechanisms(const struct config *cfg,
					const struct config_host *host)
{
	const struct config_ldap *dir = config_host_directory(cfg, host);
	unsigned access = dir ? dir->password_access : 0, mechs = 0;
	if (access & CONFIG_LDAP_BIND)
		mechs |= AUTH_BACKEND_PLAIN;
	if (access & (CONFIG_LDAP_AUTH_PASSWORD | CONFIG_LDAP_CLEAR_PASSWORD))
		mechs |= AUTH_BACKEND_SCRAM;
	if (access & CONFIG_LDAP_CLEAR_PASSWORD)
		mechs |= AUTH_BACKEND_DIGEST_MD5;
	return mechs;
}

/* A lane per directory, after the local accounts' (auth_lane). */
static size_t ldap_backend_lane(const struct config *cfg,
				const struct config_host *host)
{
	const struct config_ldap *dir = config_host_directory(cfg, host);
	return dir ? (size_t)(dir - cfg->directories) + 1 : 0;
}

static void ldap_backend_elsewhere(const struct config *cfg,
				   const struct config_host *host, char *why,
				   size_t len)
{
	const struct config_ldap *dir = config_host_directory(cfg, host);
	snprintf(why, len,
		 "domain '%s' authenticates against the LDAP directory '%s' "
		 "(%s): its accounts live in the directory; add, remove or "
		 "change them there (ldapadd, ldapmodify, ldappasswd, or your "
		 "directory's own tools)",
		 host->domain, dir ? dir->id : "?",
		 dir && dir->nuris ? dir->uris[0] : "?");
}

const struct auth_backend auth_backend_ldap = {
	.name = "ldap",
	/* Nothing to check at start: a directory that does not answer
	 * then may answer later (ldap_pool.h). */
	.mechanisms = ldap_backend_mechanisms,
	.lane = ldap_backend_lane,
	.lookup = ldap_backend_lookup,
	.check_password = ldap_backend_check_password,
	.exists = ldap_backend_exists,
	.attributes = ldap_backend_attributes,
	.elsewhere = ldap_backend_elsewhere,
};
