/* scram_keys: derivation of SCRAM and DIGEST-MD5 secrets (OpenSSL). */
#include "scram_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
		      unsigned iterations, struct scram_secret *secret)
{
	memset(secret, 0, sizeof *secret);
	secret->salt_len = SCRAM_SALT_LEN;
	secret->iterations = iterations ? iterations : SCRAM_ITERATIONS;
	if (RAND_bytes(secret->salt, SCRAM_SALT_LEN) != 1)
		return -1;
	return scram_secret_derive(hash, prepared, secret);
}

bool scram_secret_check(enum scram_hash hash, const struct scram_secret *secret,
			const char *prepared)
{
	struct scram_secret probe = *secret;
	size_t len = scram_hash_len(hash);
	if (scram_secret_derive(hash, prepared, &probe) < 0)
		return false;
	bool same =
		CRYPTO_memcmp(probe.stored_key, secret->stored_key, len) == 0 &&
		CRYPTO_memcmp(probe.server_key, secret->server_key, len) == 0;
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

/* Strict RFC 4648 §4 base64 of in[0..len) into out (max bytes).
 * Returns the decoded length or -1. */
static long base64_decode_strict(const char *in, size_t len, unsigned char *out,
				 size_t max)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789+/";
	if (len == 0 || len % 4)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < len; i += 4) {
		unsigned v = 0;
		int pad = 0;
		for (size_t j = 0; j < 4; j++) {
			char c = in[i + j];
			const char *at = c ? strchr(alphabet, c) : NULL;
			if (c == '=' && i + 4 == len && j >= 2 &&
			    (j == 3 || in[i + 3] == '=')) {
				pad++;
				v <<= 6;
			} else if (at && !pad) {
				v = v << 6 | (unsigned)(at - alphabet);
			} else {
				return -1;
			}
		}
		unsigned char bytes[3] = {(unsigned char)(v >> 16),
					  (unsigned char)(v >> 8),
					  (unsigned char)v};
		if ((pad == 2 && bytes[1]) || (pad >= 1 && bytes[2]))
			return -1; /* non-canonical trailing bits */
		for (int k = 0; k < 3 - pad; k++) {
			if (n == max)
				return -1;
			out[n++] = bytes[k];
		}
	}
	return (long)n;
}

/* Splits s[0..len) at the first sep into two trimmed (spaces) parts. */
static int split_at(const char *s, size_t len, char sep, const char **a,
		    size_t *alen, const char **b, size_t *blen)
{
	const char *at = memchr(s, sep, len);
	if (!at)
		return -1;
	*a = s;
	*alen = (size_t)(at - s);
	*b = at + 1;
	*blen = len - *alen - 1;
	while (*alen && (*a)[*alen - 1] == ' ')
		(*alen)--;
	while (*blen && **b == ' ') {
		(*b)++;
		(*blen)--;
	}
	return 0;
}

int scram_secret_parse(const char *value, size_t len, enum scram_hash *hash,
		       struct scram_secret *secret)
{
	const char *scheme, *rest, *info, *keys, *iter, *salt, *stored, *server;
	size_t scheme_len, rest_len, info_len, keys_len, iter_len, salt_len,
		stored_len, server_len;
	while (len && *value == ' ') {
		value++;
		len--;
	}
	while (len && value[len - 1] == ' ')
		len--;
	if (split_at(value, len, '$', &scheme, &scheme_len, &rest, &rest_len) <
		    0 ||
	    split_at(rest, rest_len, '$', &info, &info_len, &keys, &keys_len) <
		    0 ||
	    split_at(info, info_len, ':', &iter, &iter_len, &salt, &salt_len) <
		    0 ||
	    split_at(keys, keys_len, ':', &stored, &stored_len, &server,
		     &server_len) < 0)
		return -1;
	/* RFC 3112 §3: the scheme is case-insensitive. */
	if (scheme_len == 11 && strncasecmp(scheme, "SCRAM-SHA-1", 11) == 0)
		*hash = SCRAM_SHA_1;
	else if (scheme_len == 13 &&
		 strncasecmp(scheme, "SCRAM-SHA-256", 13) == 0)
		*hash = SCRAM_SHA_256;
	else
		return -1;
	unsigned long iterations = 0;
	if (iter_len == 0 || iter_len > 8)
		return -1;
	for (size_t i = 0; i < iter_len; i++) {
		if (iter[i] < '0' || iter[i] > '9')
			return -1;
		iterations = iterations * 10 + (unsigned long)(iter[i] - '0');
	}
	if (iterations < SCRAM_MIN_ITERATIONS || iterations > 10000000)
		return -1;
	memset(secret, 0, sizeof *secret);
	secret->iterations = (unsigned)iterations;
	size_t hlen = scram_hash_len(*hash);
	long n = base64_decode_strict(salt, salt_len, secret->salt,
				      sizeof secret->salt);
	if (n <= 0)
		return -1;
	secret->salt_len = (size_t)n;
	if (base64_decode_strict(stored, stored_len, secret->stored_key,
				 sizeof secret->stored_key) != (long)hlen ||
	    base64_decode_strict(server, server_len, secret->server_key,
				 sizeof secret->server_key) != (long)hlen) {
		OPENSSL_cleanse(secret, sizeof *secret);
		return -1;
	}
	return 0;
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
