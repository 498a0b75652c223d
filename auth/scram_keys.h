/* scram_keys: the secrets palabre keeps instead of passwords.
 *
 * RFC 5802 §3: SaltedPassword = Hi(SASLprep(password), salt, i),
 * StoredKey = H(HMAC(SaltedPassword, "Client Key")),
 * ServerKey = HMAC(SaltedPassword, "Server Key"). With StoredKey and
 * ServerKey the server verifies a SCRAM exchange, and a PLAIN password by
 * recomputing them; neither gives back the password. DIGEST-MD5 (RFC 2831
 * §3.9) needs HA1 = MD5(user ":" realm ":" password) instead. */
#ifndef PALABRE_AUTH_SCRAM_KEYS_H
#define PALABRE_AUTH_SCRAM_KEYS_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5802 §5.1 and RFC 7677 §4 ask for at least 4096. palabre stores
 * 10000 (Prosody's count as well): about 5 ms of SHA-256 per PLAIN login
 * on the worker pool, a small one-time cost for a phone client, and
 * 2.4 times the work for whoever steals the account file. Each account
 * keeps its own count, so raising this changes only new passwords. */
#define SCRAM_ITERATIONS 10000
#define SCRAM_MIN_ITERATIONS 4096
#define SCRAM_SALT_LEN 16
#define SCRAM_SALT_MAX 64
#define SCRAM_HASH_MAX 32
#define DIGEST_MD5_HA1_LEN 16

enum scram_hash { SCRAM_SHA_1, SCRAM_SHA_256 };

struct scram_secret {
	unsigned char salt[SCRAM_SALT_MAX];
	size_t salt_len;
	unsigned iterations;
	unsigned char stored_key[SCRAM_HASH_MAX];
	unsigned char server_key[SCRAM_HASH_MAX];
};

size_t scram_hash_len(enum scram_hash hash);
/* "SCRAM-SHA-1" or "SCRAM-SHA-256". */
const char *scram_hash_mechanism(enum scram_hash hash);

/* RFC 4013 SASLprep of a password, malloc'd into *out. `stored`: the
 * stricter rules for a stored string (no unassigned code points).
 * Returns 0, or -1 when the password has prohibited characters. */
int scram_saslprep(const char *password, bool stored, char **out);

/* Derives the secret of `prepared` (already SASLprep'd) with the salt and
 * iteration count in *secret, filling its keys. Returns 0 or -1. */
int scram_secret_derive(enum scram_hash hash, const char *prepared,
			struct scram_secret *secret);
/* Same with a fresh random salt of SCRAM_SALT_LEN and `iterations`
 * (0: SCRAM_ITERATIONS). */
int scram_secret_make(enum scram_hash hash, const char *prepared,
		      unsigned iterations, struct scram_secret *secret);
/* True when `prepared` gives this secret's keys (constant time compare). */
bool scram_secret_check(enum scram_hash hash, const struct scram_secret *secret,
			const char *prepared);

/* RFC 5803 authPassword value, the form cyrus-sasl's SCRAM plugin reads:
 * "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" in base64.
 * Returns the length, or 0 when out (outlen bytes) is too small. */
size_t scram_secret_format(enum scram_hash hash,
			   const struct scram_secret *secret, char *out,
			   size_t outlen);

/* The inverse of scram_secret_format, for values read from a directory:
 * RFC 5803 §3 (with RFC 3112 §3's optional spaces around "$"):
 * "<scheme>$<iterations>:<b64 salt>$<b64 StoredKey>:<b64 ServerKey>"
 * of len bytes. Fills *hash and *secret. Returns 0, or -1 for another
 * scheme, an iteration count below SCRAM_MIN_ITERATIONS (or above
 * 10,000,000), bad base64, a salt of 0 or more than SCRAM_SALT_MAX
 * bytes, or keys not of the hash's length. */
int scram_secret_parse(const char *value, size_t len, enum scram_hash *hash,
		       struct scram_secret *secret);

/* HA1 of DIGEST-MD5 for user in realm. */
void digest_md5_ha1(const char *user, const char *realm, const char *password,
		    unsigned char out[DIGEST_MD5_HA1_LEN]);

#endif
