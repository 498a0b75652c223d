/* scram_keys: derivation of SCRAM and DIGEST-MD5 secrets (OpenSSL). */
#include "scram_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stringprep.h>

static const EVP_MD *scram_md(enum scram_hash hash)
{
	return hash == SCRAM_SHA_1 ? EVP_sha1() : EVP_sha256();
}

size_t scram_hash_len(enum scram_hash hash)
{
	return hash == SCRAM_SHA_1 ? 20 : 32;
}

const char *scram_hash_mechanism(enum scram_hash hash)
{
	return hash == SCRAM_SHA_1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

int scram_saslprep(const char *password, bool stored, char **out)
{
	*out = NULL;
	int rc = stringprep_profile(password, out, "SASLprep",
				    stored ? STRINGPREP_NO_UNASSIGNED : 0);
	if (rc != STRINGPREP_OK) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int scram_secret_derive(enum scram_hash hash, const char *prepared,
			struct scram_secret *secret)
{
	const EVP_MD *md = scram_md(hash);
	size_t len = scram_hash_len(hash);
	unsigned char salted[SCRAM_HASH_MAX], client_key[SCRAM_HASH_MAX];
	unsigned int outlen;
	int ok = 1;

	/* RFC 5802 §2.2: Hi() is PBKDF2 with HMAC as the PRF. */
	ok &= PKCS5_PBKDF2_HMAC(prepared, (int)strlen(prepared), secret->salt,
				(int)secret->salt_len, (int)secret->iterations,
				md, (int)len, salted);
	ok &= HMAC(md, salted, (int)len, (const unsigned char *)"Client Key",
		   10, client_key, &outlen) != NULL;
	ok &= EVP_Digest(client_key, len, secret->stored_key, NULL, md, NULL);
	ok &= HMAC(md, salted, (int)len, (const unsigned char *)"Server Key",
		   10, secret->server_key, &outlen) != NULL;
	OPENSSL_cleanse(salted, sizeof salted);
	OPENSSL_cleanse(client_key, sizeof client_key);
	return ok == 1 ? 0 : -1;
}

int scram_secret_make(enum scram_hash hash, const char *prepared,
		      struct scram_secret *secret)
{
	memset(secret, 0, sizeof *secret);
	secret->salt_len = SCRAM_SALT_LEN;
	secret->iterations = SCRAM_ITERATIONS;
	if (RAND_bytes(secret->salt, SCRAM_SALT_LEN) != 1)
		return -1;
	return scram_secret_derive(hash, prepared, secret);
}

bool scram_secret_check(enum scram_hash hash,
			const struct scram_secret *secret,
			const char *prepared)
{
	struct scram_secret probe = *secret;
	size_t len = scram_hash_len(hash);
	if (scram_secret_derive(hash, prepared, &probe) < 0)
		return false;
	bool same = CRYPTO_memcmp(probe.stored_key, secret->stored_key,
				  len) == 0 &&
		    CRYPTO_memcmp(probe.server_key, secret->server_key,
				  len) == 0;
	OPENSSL_cleanse(&probe, sizeof probe);
	return same;
}

size_t scram_secret_format(enum scram_hash hash,
			   const struct scram_secret *secret, char *out,
			   size_t outlen)
{
	/* base64 of at most 64 bytes is 88 characters, plus NUL. */
	unsigned char salt[92], stored[48], server[48];
	size_t len = scram_hash_len(hash);
	EVP_EncodeBlock(salt, secret->salt, (int)secret->salt_len);
	EVP_EncodeBlock(stored, secret->stored_key, (int)len);
	EVP_EncodeBlock(server, secret->server_key, (int)len);
	int n = snprintf(out, outlen, "%s$%u:%s$%s:%s",
			 scram_hash_mechanism(hash), secret->iterations,
			 (char *)salt, (char *)stored, (char *)server);
	if (n < 0 || (size_t)n >= outlen)
		return 0;
	return (size_t)n;
}

void digest_md5_ha1(const char *user, const char *realm, const char *password,
		    unsigned char out[DIGEST_MD5_HA1_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx) {
		memset(out, 0, DIGEST_MD5_HA1_LEN);
		return;
	}
	EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	EVP_DigestUpdate(ctx, user, strlen(user));
	EVP_DigestUpdate(ctx, ":", 1);
	EVP_DigestUpdate(ctx, realm, strlen(realm));
	EVP_DigestUpdate(ctx, ":", 1);
	EVP_DigestUpdate(ctx, password, strlen(password));
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
}
