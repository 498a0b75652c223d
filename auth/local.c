/* local: accounts in SQLite, and the `local` backend over them. */
#include "local.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "../lib/log.h"
#include "../lib/migrate.h"
#include "account.h"
#include "backend.h"

#define LOCAL_BUSY_TIMEOUT_MS 5000

struct local_db {
	sqlite3 *sql;
	char *path;
};

/* The schema's steps (lib/migrate.h): migrations[i] brings version i
 * to i + 1. A change is a new step at the end, never an edit. */
static const char *const migrations[] = {
	"CREATE TABLE accounts ("
	" domain TEXT NOT NULL,"
	" localpart TEXT NOT NULL,"
	" scram_sha1_salt BLOB NOT NULL,"
	" scram_sha1_iterations INTEGER NOT NULL,"
	" scram_sha1_stored_key BLOB NOT NULL,"
	" scram_sha1_server_key BLOB NOT NULL,"
	" scram_sha256_salt BLOB NOT NULL,"
	" scram_sha256_iterations INTEGER NOT NULL,"
	" scram_sha256_stored_key BLOB NOT NULL,"
	" scram_sha256_server_key BLOB NOT NULL,"
	/* NULL unless DIGEST-MD5 was configured when the password was set. */
	" digest_md5_ha1 BLOB,"
	" created INTEGER NOT NULL,"
	" PRIMARY KEY (domain, localpart)"
	") WITHOUT ROWID;",
	"CREATE TABLE ldap_stamps ("
	" domain TEXT NOT NULL,"
	" localpart TEXT NOT NULL,"
	" password BLOB NOT NULL,"
	" secrets BLOB NOT NULL,"
	" warned BLOB NOT NULL,"
	" PRIMARY KEY (domain, localpart)"
	") WITHOUT ROWID;",
};

static void db_error(struct local_db *db, const char *what, char *err,
		     size_t errlen)
{
	snprintf(err, errlen, "%s: %s: %s", db->path, what,
		 sqlite3_errmsg(db->sql));
}

struct local_db *local_open(const char *path, char *err, size_t errlen)
{
	struct local_db *db = calloc(1, sizeof *db);
	if (!db || !(db->path = strdup(path))) {
		free(db);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	bool existed = access(path, F_OK) == 0;
	int rc = sqlite3_open_v2(path, &db->sql,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					 SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 db->sql ? sqlite3_errmsg(db->sql)
				 : sqlite3_errstr(rc));
		local_close(db);
		return NULL;
	}
	/* The file holds keys that let anyone who reads it pose as the
	 * server to a client (ServerKey): only the owner may read it. */
	if (!existed)
		chmod(path, 0600);
	sqlite3_busy_timeout(db->sql, LOCAL_BUSY_TIMEOUT_MS);
	if (sqlite3_exec(db->sql, "PRAGMA journal_mode = WAL", NULL, NULL,
			 NULL) != SQLITE_OK) {
		db_error(db, "cannot switch to WAL mode", err, errlen);
		local_close(db);
		return NULL;
	}
	if (migrate_schema(db->sql, path, migrations,
			   (int)(sizeof migrations / sizeof migrations[0]), err,
			   errlen) < 0) {
		local_close(db);
		return NULL;
	}
	/* A login reads a few pages of one B-tree: SQLite's default cache
	 * (2 MiB per connection, one connection per SASL thread and one in
	 * the sm) held ~1.7 KiB per idle session at 3,000 sessions on a
	 * 10,000-account database, for no CPU saved (docs/performance.md). */
	sqlite3_exec(db->sql, "PRAGMA cache_size = -128", NULL, NULL, NULL);
	return db;
}

void local_close(struct local_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->sql);
	free(db->path);
	free(db);
}

static int copy_blob(sqlite3_stmt *st, int col, unsigned char *out, size_t max,
		     size_t *len)
{
	const void *p = sqlite3_column_blob(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	if (!p || n > max)
		return -1;
	memcpy(out, p, n);
	if (len)
		*len = n;
	return 0;
}

static int read_secret(sqlite3_stmt *st, int col, enum scram_hash hash,
		       struct scram_secret *s)
{
	size_t klen = scram_hash_len(hash), n1, n2;
	int64_t it = sqlite3_column_int64(st, col + 1);
	if (copy_blob(st, col, s->salt, sizeof s->salt, &s->salt_len) < 0 ||
	    copy_blob(st, col + 2, s->stored_key, klen, &n1) < 0 ||
	    copy_blob(st, col + 3, s->server_key, klen, &n2) < 0 ||
	    n1 != klen || n2 != klen || it < 1 || it > 100000000)
		return -1;
	s->iterations = (unsigned)it;
	return 0;
}

enum local_status local_get(struct local_db *db, const char *domain,
			    const char *localpart, struct local_account *out,
			    char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT scram_sha1_salt, scram_sha1_iterations,"
		" scram_sha1_stored_key, scram_sha1_server_key,"
		" scram_sha256_salt, scram_sha256_iterations,"
		" scram_sha256_stored_key, scram_sha256_server_key,"
		" digest_md5_ha1, created"
		" FROM accounts WHERE domain = ?1 AND localpart = ?2";
	sqlite3_stmt *st;
	memset(out, 0, sizeof *out);
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(db, "cannot read accounts", err, errlen);
		return LOCAL_ERROR;
	}
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, localpart, -1, SQLITE_STATIC);
	enum local_status status;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		status = LOCAL_NOT_FOUND;
	} else if (rc != SQLITE_ROW) {
		db_error(db, "cannot read accounts", err, errlen);
		status = LOCAL_ERROR;
	} else if (read_secret(st, 0, SCRAM_SHA_1, &out->sha1) < 0 ||
		   read_secret(st, 4, SCRAM_SHA_256, &out->sha256) < 0) {
		snprintf(err, errlen, "%s: account %s@%s: damaged secrets",
			 db->path, localpart, domain);
		status = LOCAL_ERROR;
	} else {
		snprintf(out->domain, sizeof out->domain, "%s", domain);
		snprintf(out->localpart, sizeof out->localpart, "%s",
			 localpart);
		size_t n = 0;
		out->has_digest_md5 =
			sqlite3_column_type(st, 8) == SQLITE_BLOB &&
			copy_blob(st, 8, out->digest_md5_ha1,
				  DIGEST_MD5_HA1_LEN, &n) == 0 &&
			n == DIGEST_MD5_HA1_LEN;
		out->created = sqlite3_column_int64(st, 9);
		status = LOCAL_OK;
	}
	sqlite3_finalize(st);
	return status;
}

static void bind_secret(sqlite3_stmt *st, int param, enum scram_hash hash,
			const struct scram_secret *s)
{
	int klen = (int)scram_hash_len(hash);
	sqlite3_bind_blob(st, param, s->salt, (int)s->salt_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, param + 1, s->iterations);
	sqlite3_bind_blob(st, param + 2, s->stored_key, klen, SQLITE_STATIC);
	sqlite3_bind_blob(st, param + 3, s->server_key, klen, SQLITE_STATIC);
}

static void bind_account(sqlite3_stmt *st, const struct local_account *a)
{
	sqlite3_bind_text(st, 1, a->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->localpart, -1, SQLITE_STATIC);
	bind_secret(st, 3, SCRAM_SHA_1, &a->sha1);
	bind_secret(st, 7, SCRAM_SHA_256, &a->sha256);
	if (a->has_digest_md5)
		sqlite3_bind_blob(st, 11, a->digest_md5_ha1, DIGEST_MD5_HA1_LEN,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 11);
	/* UPDATE has no ?12: that bind is a harmless SQLITE_RANGE. */
	sqlite3_bind_int64(st, 12, a->created);
}

/* Runs one INSERT/UPDATE/DELETE; returns the sqlite3_step code and sets
 * *changes. */
static int run_write(struct local_db *db, const char *sql,
		     const struct local_account *a, const char *domain,
		     const char *localpart, int *changes)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	if (a) {
		bind_account(st, a);
	} else {
		sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, localpart, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	*changes = sqlite3_changes(db->sql);
	return rc;
}

enum local_status local_add(struct local_db *db,
			    const struct local_account *account, char *err,
			    size_t errlen)
{
	static const char sql[] =
		"INSERT INTO accounts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
		" ?9, ?10, ?11, ?12)";
	int changes;
	int rc = run_write(db, sql, account, NULL, NULL, &changes);
	if (rc == SQLITE_CONSTRAINT)
		return LOCAL_EXISTS;
	if (rc != SQLITE_DONE) {
		db_error(db, "cannot add the account", err, errlen);
		return LOCAL_ERROR;
	}
	return LOCAL_OK;
}

enum local_status local_update(struct local_db *db,
			       const struct local_account *account, char *err,
			       size_t errlen)
{
	static const char sql[] =
		"UPDATE accounts SET scram_sha1_salt = ?3,"
		" scram_sha1_iterations = ?4, scram_sha1_stored_key = ?5,"
		" scram_sha1_server_key = ?6, scram_sha256_salt = ?7,"
		" scram_sha256_iterations = ?8, scram_sha256_stored_key = ?9,"
		" scram_sha256_server_key = ?10, digest_md5_ha1 = ?11"
		" WHERE domain = ?1 AND localpart = ?2";
	int changes;
	if (run_write(db, sql, account, NULL, NULL, &changes) != SQLITE_DONE) {
		db_error(db, "cannot change the password", err, errlen);
		return LOCAL_ERROR;
	}
	return changes ? LOCAL_OK : LOCAL_NOT_FOUND;
}

enum local_status local_delete(struct local_db *db, const char *domain,
			       const char *localpart, char *err, size_t errlen)
{
	static const char sql[] =
		"DELETE FROM accounts WHERE domain = ?1 AND localpart = ?2";
	int changes;
	if (run_write(db, sql, NULL, domain, localpart, &changes) !=
	    SQLITE_DONE) {
		db_error(db, "cannot delete the account", err, errlen);
		return LOCAL_ERROR;
	}
	return changes ? LOCAL_OK : LOCAL_NOT_FOUND;
}

enum local_status local_list(struct local_db *db, const char *domain,
			     void (*fn)(void *ctx, const char *localpart),
			     void *ctx, char *err, size_t errlen)
{
	static const char sql[] = "SELECT localpart FROM accounts"
				  " WHERE domain = ?1 ORDER BY localpart";
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(db, "cannot list accounts", err, errlen);
		return LOCAL_ERROR;
	}
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_error(db, "cannot list accounts", err, errlen);
		return LOCAL_ERROR;
	}
	return LOCAL_OK;
}

int local_account_set_password(struct local_account *account,
			       const char *password, bool with_digest_md5,
			       unsigned iterations, char *err, size_t errlen)
{
	char *prepared;
	if (scram_saslprep(password, true, &prepared) < 0) {
		snprintf(err, errlen,
			 "the password has characters that SASLprep "
			 "(RFC 4013) forbids");
		return -1;
	}
	int rc = 0;
	if (scram_secret_make(SCRAM_SHA_1, prepared, iterations,
			      &account->sha1) < 0 ||
	    scram_secret_make(SCRAM_SHA_256, prepared, iterations,
			      &account->sha256) < 0) {
		snprintf(err, errlen, "cannot derive the SCRAM keys");
		rc = -1;
	}
	OPENSSL_cleanse(prepared, strlen(prepared));
	free(prepared);
	/* RFC 2831 §2.1.2.1: clients hash the password as typed, in the
	 * realm the server names (palabre names the domain). */
	account->has_digest_md5 = with_digest_md5;
	if (with_digest_md5)
		digest_md5_ha1(account->localpart, account->domain, password,
			       account->digest_md5_ha1);
	else
		memset(account->digest_md5_ha1, 0, DIGEST_MD5_HA1_LEN);
	if (!account->created)
		account->created = (int64_t)time(NULL);
	return rc;
}

static enum local_status local_exec(struct local_db *db, const char *sql,
				    const char *what, char *err, size_t errlen)
{
	if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) == SQLITE_OK)
		return LOCAL_OK;
	db_error(db, what, err, errlen);
	return LOCAL_ERROR;
}

enum local_status local_begin(struct local_db *db, char *err, size_t errlen)
{
	return local_exec(db, "BEGIN IMMEDIATE", "cannot lock the database",
			  err, errlen);
}

enum local_status local_commit(struct local_db *db, char *err, size_t errlen)
{
	return local_exec(db, "COMMIT", "cannot commit", err, errlen);
}

/* ---- directory accounts' password stamps ------------------------------- */

enum local_status local_stamp_get(struct local_db *db, const char *domain,
				  const char *localpart,
				  struct local_stamp *out, char *err,
				  size_t errlen)
{
	static const char sql[] = "SELECT password, secrets, warned"
				  " FROM ldap_stamps"
				  " WHERE domain = ?1 AND localpart = ?2";
	sqlite3_stmt *st;
	memset(out, 0, sizeof *out);
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(db, "cannot read password stamps", err, errlen);
		return LOCAL_ERROR;
	}
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, localpart, -1, SQLITE_STATIC);
	enum local_status status = LOCAL_OK;
	size_t n[3] = {0};
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		status = LOCAL_NOT_FOUND;
	} else if (rc != SQLITE_ROW) {
		db_error(db, "cannot read password stamps", err, errlen);
		status = LOCAL_ERROR;
	} else if (copy_blob(st, 0, out->password, LOCAL_STAMP_LEN, &n[0]) ||
		   copy_blob(st, 1, out->secrets, LOCAL_STAMP_LEN, &n[1]) ||
		   copy_blob(st, 2, out->warned, LOCAL_STAMP_LEN, &n[2]) ||
		   n[0] != LOCAL_STAMP_LEN || n[1] != LOCAL_STAMP_LEN ||
		   n[2] != LOCAL_STAMP_LEN) {
		snprintf(err, errlen, "%s: password stamp of %s@%s: damaged",
			 db->path, localpart, domain);
		status = LOCAL_ERROR;
	}
	sqlite3_finalize(st);
	return status;
}

enum local_status local_stamp_put(struct local_db *db, const char *domain,
				  const char *localpart,
				  const struct local_stamp *stamp, char *err,
				  size_t errlen)
{
	static const char sql[] = "INSERT OR REPLACE INTO ldap_stamps"
				  " VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		db_error(db, "cannot write a password stamp", err, errlen);
		return LOCAL_ERROR;
	}
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, localpart, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, stamp->password, LOCAL_STAMP_LEN,
			  SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, stamp->secrets, LOCAL_STAMP_LEN,
			  SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, stamp->warned, LOCAL_STAMP_LEN, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_error(db, "cannot write a password stamp", err, errlen);
		return LOCAL_ERROR;
	}
	return LOCAL_OK;
}

/* ---- the `local` backend (backend.h) ------------------------------------ */

static int local_backend_check(const struct config *cfg, char *err,
			       size_t errlen)
{
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

/* Every secret is kept. */
static unsigned local_backend_mechanisms(const struct config *cfg,
					 const struct config_host *host)
{
	return AUTH_BACKEND_PLAIN | AUTH_BACKEND_SCRAM |
	       AUTH_BACKEND_DIGEST_MD5;
}

/* One lane for every local domain (auth_lane). */
static size_t local_backend_lane(const struct config *cfg,
				 const struct config_host *host)
{
	return 0;
}

static enum account_status local_backend_lookup(const struct config *cfg,
						const struct config_host *host,
						const char *localpart,
						struct local_account *out)
{
	struct local_db *db = account_db(cfg);
	char err[512];
	if (!db)
		return ACCOUNT_ERROR;
	switch (local_get(db, host->domain, localpart, out, err, sizeof err)) {
	case LOCAL_OK:
		return ACCOUNT_FOUND;
	case LOCAL_NOT_FOUND:
		return ACCOUNT_UNKNOWN;
	default:
		log_error("auth: %s", err);
		/* Reopen next time: the file may have been replaced. */
		account_db_reopen();
		return ACCOUNT_ERROR;
	}
}

/* RFC 5802 §3 keys recomputed from the SASLprep'd password, against
 * made-up ones for an unknown user: the same work either way. */
static enum account_status
local_backend_check_password(const struct config *cfg,
			     const struct config_host *host,
			     const char *localpart, const char *password)
{
	struct local_account a;
	char *prepared = NULL;
	enum account_status st = local_backend_lookup(cfg, host, localpart, &a);
	if (st != ACCOUNT_FOUND)
		account_made_up(host->domain, localpart, &a);
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

static enum account_status local_backend_exists(const struct config *cfg,
						const struct config_host *host,
						const char *localpart)
{
	struct local_account a;
	enum account_status st = local_backend_lookup(cfg, host, localpart, &a);
	OPENSSL_cleanse(&a, sizeof a);
	return st;
}

const struct auth_backend auth_backend_local = {
	.name = "local",
	.check = local_backend_check,
	.mechanisms = local_backend_mechanisms,
	.lane = local_backend_lane,
	.lookup = local_backend_lookup,
	.check_password = local_backend_check_password,
	.exists = local_backend_exists,
	/* palabrectl manages the accounts, and they have no attributes. */
};
