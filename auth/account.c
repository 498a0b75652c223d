/* account: per-thread database connection, made-up secrets, and the
 * calls that go to a host's backend (backend.h). */
#include "account.h"
#include "auth.h"
#include "backend.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "../lib/log.h"

/* One connection per worker thread (SQLite connections are not shared
 * between threads here), reopened when the configured path changes and
 * closed when the thread ends. */
struct thread_db {
	struct local_db *db;
	char *path;
};

static pthread_key_t thread_db_key;
static pthread_once_t thread_db_once = PTHREAD_ONCE_INIT;

static void thread_db_drop(struct thread_db *t)
{
	local_close(t->db);
	free(t->path);
	t->db = NULL;
	t->path = NULL;
}

static void thread_db_free(void *p)
{
	thread_db_drop(p);
	free(p);
}

static void thread_db_key_init(void)
{
	pthread_key_create(&thread_db_key, thread_db_free);
}

static unsigned char fake_key[32];
static bool fake_key_set;
static pthread_once_t fake_key_once = PTHREAD_ONCE_INIT;

static void fake_key_init(void)
{
	if (!fake_key_set && RAND_bytes(fake_key, sizeof fake_key) != 1)
		log_error("auth: no randomness for the unknown-user salts");
}

void auth_set_secret(const char *secret)
{
	static const char label[] = "palabre unknown-user salts\n";
	unsigned int len;
	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	     (const unsigned char *)label, sizeof label - 1, fake_key, &len);
	fake_key_set = true;
}

static void fake_secret(enum scram_hash hash, const char *domain,
			const char *localpart, struct scram_secret *s)
{
	unsigned char mac[32];
	unsigned int maclen;
	char label[2 * JID_PART_MAX + 16];
	int n = snprintf(label, sizeof label, "%s\n%s\n%s",
			 scram_hash_mechanism(hash), domain, localpart);
	HMAC(EVP_sha256(), fake_key, sizeof fake_key,
	     (const unsigned char *)label, (size_t)n, mac, &maclen);
	memcpy(s->salt, mac, SCRAM_SALT_LEN);
	s->salt_len = SCRAM_SALT_LEN;
	s->iterations = SCRAM_ITERATIONS;
	RAND_bytes(s->stored_key, sizeof s->stored_key);
	RAND_bytes(s->server_key, sizeof s->server_key);
}

enum account_status account_made_up(const char *domain, const char *localpart,
				    struct local_account *out)
{
	pthread_once(&fake_key_once, fake_key_init);
	memset(out, 0, sizeof *out);
	snprintf(out->domain, sizeof out->domain, "%s", domain);
	snprintf(out->localpart, sizeof out->localpart, "%s", localpart);
	fake_secret(SCRAM_SHA_1, domain, localpart, &out->sha1);
	fake_secret(SCRAM_SHA_256, domain, localpart, &out->sha256);
	out->has_digest_md5 = true;
	RAND_bytes(out->digest_md5_ha1, DIGEST_MD5_HA1_LEN);
	return ACCOUNT_UNKNOWN;
}

static struct thread_db *thread_db_self(void)
{
	pthread_once(&thread_db_once, thread_db_key_init);
	struct thread_db *t = pthread_getspecific(thread_db_key);
	if (!t && (t = calloc(1, sizeof *t)) &&
	    pthread_setspecific(thread_db_key, t) != 0) {
		free(t);
		t = NULL;
	}
	return t;
}

static struct local_db *thread_db_get(struct thread_db *t,
				      const struct config *cfg)
{
	char *path = config_data_path(cfg, LOCAL_DB_FILE);
	if (!path)
		return NULL;
	if (t->db && strcmp(path, t->path) == 0) {
		free(path);
		return t->db;
	}
	thread_db_drop(t);
	char err[512];
	struct local_db *db = local_open(path, err, sizeof err);
	if (!db) {
		log_error("auth: %s", err);
		free(path);
		return NULL;
	}
	t->db = db;
	t->path = path;
	return db;
}

struct local_db *account_db(const struct config *cfg)
{
	struct thread_db *t = thread_db_self();
	return t ? thread_db_get(t, cfg) : NULL;
}

void account_db_reopen(void)
{
	struct thread_db *t = thread_db_self();
	if (t)
		thread_db_drop(t);
}

/* ---- the host's backend ------------------------------------------------ */

static const struct auth_backend *const backends[] = {
	&auth_backend_local,
	&auth_backend_ldap,
};
#define NBACKENDS (sizeof backends / sizeof backends[0])

const struct auth_backend *auth_backend_of(const struct config_host *host)
{
	for (size_t i = 0; host && host->auth_backend && i < NBACKENDS; i++)
		if (strcmp(host->auth_backend, backends[i]->name) == 0)
			return backends[i];
	return NULL;
}

enum account_status account_lookup(const struct config *cfg,
				   const struct config_host *host,
				   const char *localpart,
				   struct local_account *out)
{
	const struct auth_backend *b = auth_backend_of(host);
	enum account_status st =
		b ? b->lookup(cfg, host, localpart, out) : ACCOUNT_UNKNOWN;
	if (st != ACCOUNT_FOUND)
		account_made_up(host ? host->domain : "", localpart, out);
	return st;
}

enum account_status account_check_password(const struct config *cfg,
					   const struct config_host *host,
					   const char *localpart,
					   const char *password)
{
	const struct auth_backend *b = auth_backend_of(host);
	return b ? b->check_password(cfg, host, localpart, password)
		 : ACCOUNT_UNKNOWN;
}

static enum auth_user_status user_status(enum account_status st)
{
	switch (st) {
	case ACCOUNT_FOUND:
		return AUTH_USER_EXISTS;
	case ACCOUNT_UNKNOWN:
		return AUTH_USER_UNKNOWN;
	default:
		return AUTH_USER_ERROR;
	}
}

enum auth_user_status auth_user_exists(const struct config *cfg,
				       const char *domain,
				       const char *localpart)
{
	const struct config_host *host = config_find_host(cfg, domain);
	const struct auth_backend *b = auth_backend_of(host);
	return user_status(b ? b->exists(cfg, host, localpart)
			     : ACCOUNT_UNKNOWN);
}

enum auth_user_status auth_user_attributes(const struct config *cfg,
					   const char *domain,
					   const char *localpart,
					   const char *const *attrs,
					   size_t nattrs, char ****values)
{
	const struct config_host *host = config_find_host(cfg, domain);
	const struct auth_backend *b = auth_backend_of(host);
	*values = NULL;
	if (!b || !b->attributes)
		return AUTH_USER_UNKNOWN;
	return user_status(
		b->attributes(cfg, host, localpart, attrs, nattrs, values));
}

void auth_attribute_values_free(char ***values, size_t nattrs)
{
	if (!values)
		return;
	for (size_t i = 0; i < nattrs; i++) {
		for (char **p = values[i]; p && *p; p++)
			free(*p);
		free(values[i]);
	}
	free(values);
}

/* ---- lanes, start, palabrectl --------------------------------------- */

size_t auth_lane_count(const struct config *cfg)
{
	return cfg->ndirectories + 1;
}

size_t auth_lane(const struct config *cfg, const struct config_host *host)
{
	const struct auth_backend *b = auth_backend_of(host);
	return b ? b->lane(cfg, host) : 0;
}

bool auth_accounts_elsewhere(const struct config *cfg,
			     const struct config_host *host, char *why,
			     size_t len)
{
	const struct auth_backend *b = auth_backend_of(host);
	if (b && !b->elsewhere)
		return false;
	if (b)
		b->elsewhere(cfg, host, why, len);
	else
		snprintf(why, len,
			 "domain '%s' uses the '%s' account backend, not "
			 "local: its accounts are not managed here",
			 host->domain,
			 host->auth_backend ? host->auth_backend : "?");
	return true;
}

static bool backend_used(const struct config *cfg, const struct auth_backend *b)
{
	for (size_t i = 0; i < cfg->nhosts; i++)
		if (auth_backend_of(&cfg->hosts[i]) == b)
			return true;
	return false;
}

int auth_check_accounts(const struct config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (backends[i]->check && backend_used(cfg, backends[i]) &&
		    backends[i]->check(cfg, err, errlen) < 0)
			return -1;
	return 0;
}
