/* local: the `local` account backend, one SQLite file
 * (<data_dir>/accounts.sqlite) shared by every c2s process and palabrectl.
 *
 * Per account it keeps the SCRAM-SHA-1 and SCRAM-SHA-256 secrets
 * (salt, iteration count, StoredKey, ServerKey) and, only when the
 * configuration lists DIGEST-MD5, that mechanism's HA1. Never a password.
 * For accounts of ldap domains it keeps no secret, only digests that tell
 * whether a directory's authPassword values still go with its password
 * (struct local_stamp).
 *
 * A struct local_db is one SQLite connection: use it from one thread at
 * a time. WAL mode and a busy timeout let palabrectl write while
 * palabred reads. */
#ifndef PALABRE_AUTH_LOCAL_H
#define PALABRE_AUTH_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/jid.h"
#include "scram_keys.h"

#define LOCAL_DB_FILE "accounts.sqlite"

enum local_status {
	LOCAL_OK = 0,
	LOCAL_NOT_FOUND = 1,
	LOCAL_EXISTS = 2,
	LOCAL_ERROR = -1,
};

struct local_account {
	char domain[JID_PART_MAX + 1];
	char localpart[JID_PART_MAX + 1];
	struct scram_secret sha1;
	struct scram_secret sha256;
	bool has_digest_md5;
	unsigned char digest_md5_ha1[DIGEST_MD5_HA1_LEN];
	int64_t created; /* Unix time */
};

struct local_db;

/* Opens (creating it and its schema when absent, mode 0600) the
 * database at path. NULL with a message naming the file on error. */
struct local_db *local_open(const char *path, char *err, size_t errlen);
void local_close(struct local_db *db);

/* Fills *out. LOCAL_OK, LOCAL_NOT_FOUND or LOCAL_ERROR (message in err). */
enum local_status local_get(struct local_db *db, const char *domain,
			    const char *localpart, struct local_account *out,
			    char *err, size_t errlen);
/* LOCAL_OK, LOCAL_EXISTS or LOCAL_ERROR. */
enum local_status local_add(struct local_db *db,
			    const struct local_account *account, char *err,
			    size_t errlen);
/* Replaces the secrets of an existing account: LOCAL_OK,
 * LOCAL_NOT_FOUND or LOCAL_ERROR. */
enum local_status local_update(struct local_db *db,
			       const struct local_account *account, char *err,
			       size_t errlen);
enum local_status local_delete(struct local_db *db, const char *domain,
			       const char *localpart, char *err, size_t errlen);
/* Calls fn for each local part of domain, in order. LOCAL_OK or
 * LOCAL_ERROR. */
enum local_status local_list(struct local_db *db, const char *domain,
			     void (*fn)(void *ctx, const char *localpart),
			     void *ctx, char *err, size_t errlen);

/* Fills the secrets of *account from a password: both SCRAM hashes with
 * `iterations` (0: SCRAM_ITERATIONS), and the DIGEST-MD5 HA1 when
 * with_digest_md5 (realm: the account's domain). Returns 0, or -1 when
 * SASLprep refuses the password or on a crypto error (message in err). */
int local_account_set_password(struct local_account *account,
			       const char *password, bool with_digest_md5,
			       unsigned iterations, char *err, size_t errlen);

/* What the ldap backend remembers of a directory account so that an
 * authPassword left behind by a password change is noticed (see
 * ldap_stamp.h): SHA-256 digests only, never a secret. */
#define LOCAL_STAMP_LEN 32
struct local_stamp {
	/* The entry's password stamp when its secrets were last trusted
	 * (all zero: known not to match the password). */
	unsigned char password[LOCAL_STAMP_LEN];
	/* Its SCRAM secrets then. */
	unsigned char secrets[LOCAL_STAMP_LEN];
	/* The password stamp a "stale" warning was last logged for. */
	unsigned char warned[LOCAL_STAMP_LEN];
};

/* LOCAL_OK, LOCAL_NOT_FOUND or LOCAL_ERROR (message in err). */
enum local_status local_stamp_get(struct local_db *db, const char *domain,
				  const char *localpart,
				  struct local_stamp *out, char *err,
				  size_t errlen);
/* Creates or replaces: LOCAL_OK or LOCAL_ERROR. */
enum local_status local_stamp_put(struct local_db *db, const char *domain,
				  const char *localpart,
				  const struct local_stamp *stamp, char *err,
				  size_t errlen);

/* Many changes in one transaction (an import): LOCAL_OK or LOCAL_ERROR. */
enum local_status local_begin(struct local_db *db, char *err, size_t errlen);
enum local_status local_commit(struct local_db *db, char *err, size_t errlen);

#endif
