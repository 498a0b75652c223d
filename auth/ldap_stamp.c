/* ldap_stamp: password stamps of directory entries, and the records of
 * the authPassword values palabre trusted. */
#include "ldap_stamp.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../lib/log.h"

const char *const ldap_stamp_attributes[LDAP_STAMP_KINDS] = {
	[LDAP_STAMP_USER_PASSWORD] = "userPassword",
	[LDAP_STAMP_PWD_CHANGED_TIME] = "pwdChangedTime",
	[LDAP_STAMP_ENTRY_CSN] = "entryCSN",
	[LDAP_STAMP_MODIFY_TIMESTAMP] = "modifyTimestamp",
};

/* ---- what an entry shows ------------------------------------------------ */

/* The length of the "{SCHEME}" that begins v, 0 if none. */
static size_t scheme_length(const struct berval *v)
{
	if (v->bv_len < 3 || v->bv_val[0] != '{')
		return 0;
	size_t i = 1;
	while (i < v->bv_len && ((v->bv_val[i] >= 'A' && v->bv_val[i] <= 'Z') ||
				 (v->bv_val[i] >= 'a' && v->bv_val[i] <= 'z') ||
				 (v->bv_val[i] >= '0' && v->bv_val[i] <= '9') ||
				 v->bv_val[i] == '-' || v->bv_val[i] == '.'))
		i++;
	return i > 1 && i < v->bv_len && v->bv_val[i] == '}' ? i + 1 : 0;
}

/* 389-ds and OpenLDAP (with its cleartext scheme) may store a clear
 * password as "{CLEAR}secret" or "{CLEARTEXT}secret". */
static bool scheme_is_clear(const struct berval *v, size_t n)
{
	return (n == 7 && strncasecmp(v->bv_val, "{CLEAR}", n) == 0) ||
	       (n == 11 && strncasecmp(v->bv_val, "{CLEARTEXT}", n) == 0);
}

bool ldap_password_is_hashed(const struct berval *v)
{
	size_t n = scheme_length(v);
	return n > 0 && !scheme_is_clear(v, n);
}

size_t ldap_password_clear_offset(const struct berval *v)
{
	size_t n = scheme_length(v);
	return n > 0 && scheme_is_clear(v, n) ? n : 0;
}

static bool stamp_usable(enum ldap_stamp_kind kind, struct berval **values)
{
	if (!values || !values[0])
		return false;
	/* A clear value would make the stamp an unsalted hash of the
	 * password, kept in accounts.sqlite: never. */
	for (size_t i = 0; kind == LDAP_STAMP_USER_PASSWORD && values[i]; i++)
		if (!ldap_password_is_hashed(values[i]))
			return false;
	return true;
}

static int digest_compare(const void *a, const void *b)
{
	return memcmp(a, b, LOCAL_STAMP_LEN);
}

/* SHA-256 of the kind and of the values' own digests, sorted: a
 * directory returns the values of an attribute in no set order
 * (RFC 4511 §4.1.7). -1 when out of memory. */
static int stamp_digest(enum ldap_stamp_kind kind, struct berval **values,
			unsigned char out[LOCAL_STAMP_LEN])
{
	size_t n = 0;
	while (values[n])
		n++;
	unsigned char(*each)[LOCAL_STAMP_LEN] = calloc(n, sizeof *each);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;
	if (!each || !ctx)
		goto done;
	for (size_t i = 0; i < n; i++)
		EVP_Digest(values[i]->bv_val, values[i]->bv_len, each[i], NULL,
			   EVP_sha256(), NULL);
	qsort(each, n, sizeof *each, digest_compare);
	unsigned char k = (unsigned char)kind;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, &k, 1) == 1 &&
	    (n == 0 || EVP_DigestUpdate(ctx, each, n * sizeof *each) == 1) &&
	    EVP_DigestFinal_ex(ctx, out, NULL) == 1)
		rc = 0;
done:
	free(each);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static void secret_digest(EVP_MD_CTX *ctx, const struct scram_secret *s,
			  size_t keylen)
{
	unsigned char head[6] = {s != NULL};
	if (s) {
		head[1] = (unsigned char)s->salt_len;
		for (int i = 0; i < 4; i++)
			head[2 + i] = (unsigned char)(s->iterations >> (8 * i));
	}
	EVP_DigestUpdate(ctx, head, sizeof head);
	if (!s)
		return;
	EVP_DigestUpdate(ctx, s->salt, s->salt_len);
	EVP_DigestUpdate(ctx, s->stored_key, keylen);
	EVP_DigestUpdate(ctx, s->server_key, keylen);
}

static int secrets_digest(const struct scram_secret *sha1,
			  const struct scram_secret *sha256,
			  unsigned char out[LOCAL_STAMP_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;
	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
		secret_digest(ctx, sha1, scram_hash_len(SCRAM_SHA_1));
		secret_digest(ctx, sha256, scram_hash_len(SCRAM_SHA_256));
		rc = EVP_DigestFinal_ex(ctx, out, NULL) == 1 ? 0 : -1;
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

void ldap_stamp_view_make(struct ldap_stamp_view *v,
			  struct berval **const values[LDAP_STAMP_KINDS],
			  const struct scram_secret *sha1,
			  const struct scram_secret *sha256)
{
	memset(v, 0, sizeof *v);
	v->kind = LDAP_STAMP_NONE;
	for (int k = 0; k < LDAP_STAMP_KINDS; k++) {
		if (stamp_usable(k, values[k])) {
			v->kind = k;
			break;
		}
	}
	/* Out of memory: no stamp, so the secrets are not trusted. */
	if (v->kind != LDAP_STAMP_NONE &&
	    (stamp_digest(v->kind, values[v->kind], v->password) < 0 ||
	     secrets_digest(sha1, sha256, v->secrets) < 0))
		v->kind = LDAP_STAMP_NONE;
}

enum ldap_stamp_verdict ldap_stamp_judge(const struct local_stamp *record,
					 const struct ldap_stamp_view *v)
{
	if (v->kind == LDAP_STAMP_NONE)
		return LDAP_STAMP_BLIND;
	if (!record)
		return LDAP_STAMP_NEW;
	if (memcmp(record->secrets, v->secrets, LOCAL_STAMP_LEN) != 0)
		return LDAP_STAMP_REWRITTEN;
	if (memcmp(record->password, v->password, LOCAL_STAMP_LEN) != 0)
		return LDAP_STAMP_STALE;
	return LDAP_STAMP_SAME;
}

/* ---- the records ---------------------------------------------------- */

/* The record of the account: 1 found, 0 none, -1 error (logged). */
static int stamp_read(struct local_db *db, const char *dir_id,
		      const char *domain, const char *localpart,
		      struct local_stamp *record)
{
	char err[512];
	if (!db) {
		log_error("ldap %s: no accounts database to check the "
			  "authPassword of %s@%s against",
			  dir_id, localpart, domain);
		return -1;
	}
	switch (local_stamp_get(db, domain, localpart, record, err,
				sizeof err)) {
	case LOCAL_OK:
		return 1;
	case LOCAL_NOT_FOUND:
		return 0;
	default:
		log_error("ldap %s: %s", dir_id, err);
		return -1;
	}
}

static int stamp_write(struct local_db *db, const char *dir_id,
		       const char *domain, const char *localpart,
		       const struct local_stamp *record)
{
	char err[512];
	if (local_stamp_put(db, domain, localpart, record, err, sizeof err) ==
	    LOCAL_OK)
		return 0;
	log_error("ldap %s: %s", dir_id, err);
	return -1;
}

/* Writes the record: stamp (NULL: known stale), v's secrets, warned. */
static int stamp_keep(struct local_db *db, const char *dir_id,
		      const char *domain, const char *localpart,
		      const unsigned char *stamp,
		      const struct ldap_stamp_view *v,
		      const unsigned char *warned)
{
	struct local_stamp record = {0};
	if (stamp)
		memcpy(record.password, stamp, LOCAL_STAMP_LEN);
	memcpy(record.secrets, v->secrets, LOCAL_STAMP_LEN);
	if (warned)
		memcpy(record.warned, warned, LOCAL_STAMP_LEN);
	return stamp_write(db, dir_id, domain, localpart, &record);
}

static void stamp_warn_stale(struct local_db *db, const char *dir_id,
			     const char *domain, const char *localpart,
			     struct local_stamp *record,
			     const struct ldap_stamp_view *v)
{
	if (memcmp(record->warned, v->password, LOCAL_STAMP_LEN) == 0)
		return;
	log_warn("ldap %s: the %s of %s@%s changed since palabre last "
		 "trusted its authPassword values, which did not: they belong "
		 "to an old password. SCRAM is refused for this account until "
		 "they are rewritten from the current password (or a PLAIN "
		 "login shows that they match it); PLAIN works meanwhile",
		 dir_id, ldap_stamp_attributes[v->kind], localpart, domain);
	memcpy(record->warned, v->password, LOCAL_STAMP_LEN);
	stamp_write(db, dir_id, domain, localpart, record);
}

static void stamp_warn_blind(const char *dir_id)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;
	if (atomic_flag_test_and_set(&warned))
		return;
	log_warn("ldap %s: the service account reads none of a hashed "
		 "userPassword, pwdChangedTime, entryCSN or modifyTimestamp, "
		 "so palabre cannot see a password change: authPassword "
		 "values are not used, SCRAM fails. Let it read one of them "
		 "(docs/ldap.md)",
		 dir_id);
}

int ldap_stamp_trust(struct local_db *db, const char *dir_id,
		     const char *domain, const char *localpart,
		     const struct ldap_stamp_view *v)
{
	struct local_stamp record;
	int found = stamp_read(db, dir_id, domain, localpart, &record);
	if (found < 0)
		return -1;
	switch (ldap_stamp_judge(found ? &record : NULL, v)) {
	case LDAP_STAMP_SAME:
		return 1;
	case LDAP_STAMP_NEW:
	case LDAP_STAMP_REWRITTEN:
		if (stamp_keep(db, dir_id, domain, localpart, v->password, v,
			       NULL) < 0)
			return -1;
		return 1;
	case LDAP_STAMP_STALE:
		stamp_warn_stale(db, dir_id, domain, localpart, &record, v);
		return 0;
	default:
		stamp_warn_blind(dir_id);
		return 0;
	}
}

/* ---- a PLAIN login settles it ---------------------------------------- */

/* Whether password gives every secret present (RFC 5802 §3). */
static bool stamp_password_gives(const struct scram_secret *sha1,
				 const struct scram_secret *sha256,
				 const char *password)
{
	char *prepared = NULL;
	if (scram_saslprep(password, false, &prepared) < 0)
		return false;
	bool ok = (!sha1 || scram_secret_check(SCRAM_SHA_1, sha1, prepared)) &&
		  (!sha256 ||
		   scram_secret_check(SCRAM_SHA_256, sha256, prepared));
	OPENSSL_cleanse(prepared, strlen(prepared));
	free(prepared);
	return ok;
}

void ldap_stamp_confirm(struct local_db *db, const char *dir_id,
			const char *domain, const char *localpart,
			const struct ldap_stamp_view *v,
			const struct scram_secret *sha1,
			const struct scram_secret *sha256, const char *password)
{
	static const unsigned char zero[LOCAL_STAMP_LEN];
	struct local_stamp record;
	if ((!sha1 && !sha256) || v->kind == LDAP_STAMP_NONE)
		return;
	int found = stamp_read(db, dir_id, domain, localpart, &record);
	if (found < 0)
		return;
	enum ldap_stamp_verdict verdict =
		ldap_stamp_judge(found ? &record : NULL, v);
	/* Checked even when the record trusts them: a first SCRAM lookup
	 * (anyone's, before any proof) trusted what it found, stale too. */
	bool gives = stamp_password_gives(sha1, sha256, password);
	if (gives && verdict == LDAP_STAMP_SAME)
		return;
	if (gives) {
		if (verdict == LDAP_STAMP_STALE)
			log_info("ldap %s: the authPassword values of %s@%s "
				 "match its password: SCRAM accepted again",
				 dir_id, localpart, domain);
		stamp_keep(db, dir_id, domain, localpart, v->password, v, NULL);
	} else if (verdict != LDAP_STAMP_STALE ||
		   memcmp(record.password, zero, LOCAL_STAMP_LEN) != 0 ||
		   memcmp(record.warned, v->password, LOCAL_STAMP_LEN) != 0) {
		/* Known stale: a record no stamp matches, warned for this. */
		log_warn("ldap %s: the authPassword values of %s@%s do not "
			 "match the password the directory accepted: SCRAM is "
			 "refused for this account until they are rewritten "
			 "from it; PLAIN works",
			 dir_id, localpart, domain);
		stamp_keep(db, dir_id, domain, localpart, NULL, v, v->password);
	}
}
