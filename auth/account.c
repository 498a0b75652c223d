/* account: per-thread database connection and made-up secrets. */
#include "account.h"
#include "auth.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "../lib/log.h"
#include "ldap.h"

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

static void account_fake(const char *domain, const char *localpart,
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
}

enum account_status account_made_up(const char *domain,
				    const char *localpart,
				    struct local_account *out)
{
	account_fake(domain, localpart, out);
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

/* The calling worker thread's connection to accounts.sqlite, or NULL
 * (logged). */
static struct local_db *account_db(const struct config *cfg)
{
	struct thread_db *t = thread_db_self();
	return t ? thread_db_get(t, cfg) : NULL;
}

static enum account_status local_lookup(const struct config *cfg,
				       const char *domain,
				       const char *localpart,
				       struct local_account *out)
{
	struct local_db *db = account_db(cfg);
	if (db) {
		char err[512];
		switch (local_get(db, domain, localpart, out, err,
				  sizeof err)) {
		case LOCAL_OK:
			return ACCOUNT_FOUND;
		case LOCAL_NOT_FOUND:
			account_fake(domain, localpart, out);
			return ACCOUNT_UNKNOWN;
		default:
			log_error("auth: %s", err);
			/* Reopen next time: the file may have been replaced. */
			thread_db_drop(thread_db_self());
			break;
		}
	}
	account_fake(domain, localpart, out);
	return ACCOUNT_ERROR;
}

enum account_status account_lookup(const struct config *cfg,
				   const char *domain, const char *localpart,
				   struct local_account *out)
{
	const struct config_host *host = config_find_host(cfg, domain);
	const struct config_ldap *dir = config_host_directory(cfg, host);
	if (!dir)
		return local_lookup(cfg, domain, localpart, out);
	/* Made-up first: the directory replaces what it has, and a secret
	 * it lacks fails like a wrong password. */
	account_fake(domain, localpart, out);
	enum account_status st = ldap_account_lookup(host, dir, localpart,
						     account_db(cfg), out);
	if (st != ACCOUNT_FOUND)
		account_fake(domain, localpart, out);
	return st;
}

/* local: RFC 5802 §3 keys recomputed from the SASLprep'd password. */
static enum account_status local_check_password(const struct config *cfg,
						const char *domain,
						const char *localpart,
						const char *password)
{
	struct local_account a;
	char *prepared = NULL;
	enum account_status st = local_lookup(cfg, domain, localpart, &a);
	bool ok = false;
	if (scram_saslprep(password, false, &prepared) == 0)
		ok = scram_secret_check(SCRAM_SHA_256, &a.sha256, prepared);
	if (prepared) {
		OPENSSL_cleanse(prepared, strlen(prepared));
		free(prepared);
	}
	OPENSSL_cleanse(&a, sizeof a);
	if (st == ACCOUNT_FOUND && !ok)
		st = ACCOUNT_UNKNOWN;
	return st;
}

enum account_status account_check_password(const struct config *cfg,
					   const char *domain,
					   const char *localpart,
					   const char *password)
{
	const struct config_host *host = config_find_host(cfg, domain);
	const struct config_ldap *dir = config_host_directory(cfg, host);
	if (dir)
		return ldap_account_check_password(host, dir, localpart,
						   password, account_db(cfg));
	return local_check_password(cfg, domain, localpart, password);
}

enum auth_user_status auth_user_exists(const struct config *cfg,
				       const char *domain,
				       const char *localpart)
{
	const struct config_host *host = config_find_host(cfg, domain);
	const struct config_ldap *dir = config_host_directory(cfg, host);
	struct local_account a;
	enum account_status st =
		dir ? ldap_account_exists(host, dir, localpart)
		    : local_lookup(cfg, domain, localpart, &a);
	switch (st) {
	case ACCOUNT_FOUND:
		return AUTH_USER_EXISTS;
	case ACCOUNT_UNKNOWN:
		return AUTH_USER_UNKNOWN;
	default:
		return AUTH_USER_ERROR;
	}
}

static bool local_backend_used(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->nhosts; i++) {
		const struct config_host *h = &cfg->hosts[i];
		if (!config_host_directory(cfg, h) && h->auth_backend &&
		    strcmp(h->auth_backend, "local") == 0)
			return true;
	}
	return false;
}

int auth_check_accounts(const struct config *cfg, char *err, size_t errlen)
{
	if (!local_backend_used(cfg))
		return 0;
	char *path = config_data_path(cfg, LOCAL_DB_FILE);
	if (!path) {
		snprintf(err, errlen, "%s: out of memory", LOCAL_DB_FILE);
		return -1;
	}
	struct local_db *db = local_open(path, err, errlen);
	free(path);
	if (!db)
		return -1;
	local_close(db);
	return 0;
}
