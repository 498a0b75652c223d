/* account: per-thread database connection and made-up secrets. */
#include "account.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "../lib/log.h"

/* One connection per worker thread (SQLite connections are not shared
 * between threads here), reopened when the configured path changes. */
static _Thread_local struct local_db *thread_db;
static _Thread_local char *thread_db_path;

static unsigned char fake_key[32];
static pthread_once_t fake_key_once = PTHREAD_ONCE_INIT;

static void fake_key_init(void)
{
	if (RAND_bytes(fake_key, sizeof fake_key) != 1)
		log_error("auth: no randomness for the unknown-user salts");
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

static struct local_db *thread_db_get(const struct config *cfg)
{
	char *path = config_data_path(cfg, LOCAL_DB_FILE);
	if (!path)
		return NULL;
	if (thread_db && strcmp(path, thread_db_path) == 0) {
		free(path);
		return thread_db;
	}
	local_close(thread_db);
	free(thread_db_path);
	thread_db = NULL;
	thread_db_path = NULL;
	char err[512];
	struct local_db *db = local_open(path, err, sizeof err);
	if (!db) {
		log_error("auth: %s", err);
		free(path);
		return NULL;
	}
	thread_db = db;
	thread_db_path = path;
	return db;
}

enum account_status account_lookup(const struct config *cfg,
				   const char *domain, const char *localpart,
				   struct local_account *out)
{
	struct local_db *db = thread_db_get(cfg);
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
			local_close(thread_db);
			free(thread_db_path);
			thread_db = NULL;
			thread_db_path = NULL;
			break;
		}
	}
	account_fake(domain, localpart, out);
	return ACCOUNT_ERROR;
}
