/* dialback_key: XEP-0185 dialback keys (see dialback_key.h). */
#include "dialback_key.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <string.h>

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

/* HMAC-SHA256 of the concatenation of nparts strings into out
 * (SHA256_DIGEST_LENGTH bytes). Returns 0 or -1. */
static int hmac_sha256(const char *key, size_t key_len,
		       const char *const parts[], size_t nparts,
		       unsigned char *out)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest,
						 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	int ok = ctx &&
		 EVP_MAC_init(ctx, (const unsigned char *)key, key_len, params);
	for (size_t i = 0; ok && i < nparts; i++)
		ok = EVP_MAC_update(ctx, (const unsigned char *)parts[i],
				    strlen(parts[i]));
	size_t out_len = 0;
	ok = ok && EVP_MAC_final(ctx, out, &out_len, SHA256_DIGEST_LENGTH) &&
	     out_len == SHA256_DIGEST_LENGTH;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -1;
}

static bool filled(const char *s)
{
	return s && *s;
}

int dialback_key(const char *secret, const char *receiving,
		 const char *originating, const char *stream_id, char *out)
{
	out[0] = '\0';
	/* An empty secret would make every key computable by anyone. */
	if (!filled(secret) || !filled(receiving) || !filled(originating) ||
	    !filled(stream_id))
		return -1;
	/* XEP-0185 §2 notes 2 and 4: the secret is hashed with SHA-256 and
	 * the hash used in hex; the XEP's example (§3) feeds the hex string
	 * "a7136eb1…" itself to HMAC as the key, not the 32 raw bytes. */
	unsigned char hash[SHA256_DIGEST_LENGTH];
	char hmac_key[2 * SHA256_DIGEST_LENGTH + 1];
	SHA256((const unsigned char *)secret, strlen(secret), hash);
	hex_encode(hash, sizeof hash, hmac_key);
	/* Note 5: a space between the parts, so that "example.info" +
	 * "rm.example.org" differs from "example.in" + "form.example.org". */
	const char *const parts[] = {receiving, " ", originating, " ",
				     stream_id};
	unsigned char mac[SHA256_DIGEST_LENGTH];
	int rc = hmac_sha256(hmac_key, strlen(hmac_key), parts,
			     sizeof parts / sizeof parts[0], mac);
	if (rc == 0)
		hex_encode(mac, sizeof mac, out);
	OPENSSL_cleanse(hash, sizeof hash);
	OPENSSL_cleanse(hmac_key, sizeof hmac_key);
	return rc;
}

bool dialback_key_valid(const char *secret, const char *receiving,
			const char *originating, const char *stream_id,
			const char *key, size_t key_len)
{
	char expected[DIALBACK_KEY_LEN + 1];
	/* The length is public (always 64): only the bytes need constant
	 * time. */
	if (!key || key_len != DIALBACK_KEY_LEN ||
	    dialback_key(secret, receiving, originating, stream_id, expected) <
		    0)
		return false;
	bool valid = CRYPTO_memcmp(expected, key, DIALBACK_KEY_LEN) == 0;
	OPENSSL_cleanse(expected, sizeof expected);
	return valid;
}
