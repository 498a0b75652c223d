/* sasl: PLAIN and SCRAM clients (see sasl.h). */
#include "sasl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/base64.h"
#include "../../lib/random.h"

#define SCRAM_MAX_HASH 32

enum scram_step { SCRAM_FIRST_SENT, SCRAM_FINAL_SENT, SCRAM_VERIFIED };

struct sasl_client {
	enum sasl_mech mech;
	enum scram_step step;
	char *user;
	const char *password;
	struct scram_keys *keys;
	char nonce[33];
	struct buf auth_message; /* client-first-bare, then the rest */
	unsigned char server_signature[SCRAM_MAX_HASH];
};

const char *sasl_mech_name(enum sasl_mech m)
{
	switch (m) {
	case SASL_PLAIN:
		return "PLAIN";
	case SASL_SCRAM_SHA_1:
		return "SCRAM-SHA-1";
	case SASL_SCRAM_SHA_256:
		return "SCRAM-SHA-256";
	}
	return "?";
}

struct sasl_client *sasl_client_new(enum sasl_mech m, const char *user,
				    const char *password,
				    struct scram_keys *keys)
{
	struct sasl_client *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->mech = m;
	if (!(c->user = strdup(user))) {
		free(c);
		return NULL;
	}
	c->password = password;
	c->keys = keys;
	return c;
}

void sasl_client_free(struct sasl_client *c)
{
	if (!c)
		return;
	buf_free(&c->auth_message);
	free(c->user);
	OPENSSL_cleanse(c, sizeof *c);
	free(c);
}

static const EVP_MD *scram_md(const struct sasl_client *c)
{
	return c->mech == SASL_SCRAM_SHA_1 ? EVP_sha1() : EVP_sha256();
}

/* RFC 5802 §5.1: saslname escapes '=' and ','. */
static int scram_append_name(struct buf *b, const char *name)
{
	int r = 0;
	for (const char *p = name; *p && r == 0; p++) {
		if (*p == '=')
			r = buf_append_str(b, "=3D");
		else if (*p == ',')
			r = buf_append_str(b, "=2C");
		else
			r = buf_append(b, p, 1);
	}
	return r;
}

int sasl_client_start(struct sasl_client *c, struct buf *out)
{
	if (c->mech == SASL_PLAIN) {
		/* RFC 4616: authzid NUL authcid NUL passwd, no authzid */
		struct buf m = BUF_INIT;
		int r = buf_append(&m, "", 1);
		r |= buf_append_str(&m, c->user);
		r |= buf_append(&m, "", 1);
		r |= buf_append_str(&m, c->password);
		r |= r ? -1
		       : base64_encode(out, (unsigned char *)m.data, m.len);
		OPENSSL_cleanse(m.data, m.cap);
		buf_free(&m);
		return r ? -1 : 0;
	}
	random_hex(c->nonce, 16);
	struct buf *am = &c->auth_message;
	int r = buf_append_str(am, "n=");
	r |= scram_append_name(am, c->user);
	r |= buf_printf(am, ",r=%s", c->nonce);
	struct buf first = BUF_INIT;
	r |= buf_append_str(&first, "n,,"); /* gs2 header: no channel binding */
	r |= buf_append(&first, am->data, am->len);
	r |= r ? -1
	       : base64_encode(out, (unsigned char *)first.data, first.len);
	buf_free(&first);
	c->step = SCRAM_FIRST_SENT;
	return r ? -1 : 0;
}

/* The value of attribute "k=" in a SCRAM message (k the first letter of
 * a comma-separated field), or NULL. */
static const char *scram_field(const char *msg, char k, size_t *len)
{
	for (const char *p = msg; p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (p[0] == k && p[1] == '=') {
			const char *end = strchr(p, ',');
			*len = end ? (size_t)(end - p - 2) : strlen(p + 2);
			return p + 2;
		}
	}
	return NULL;
}

static uint64_t scram_salt_tag(const unsigned char *salt, size_t len,
			       unsigned iterations, const EVP_MD *md)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t tag = 0;
	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, salt, len) &&
	    EVP_DigestUpdate(ctx, &iterations, sizeof iterations) &&
	    EVP_DigestUpdate(ctx, EVP_MD_get0_name(md),
			     strlen(EVP_MD_get0_name(md))) &&
	    EVP_DigestFinal_ex(ctx, digest, &dlen))
		memcpy(&tag, digest, sizeof tag);
	EVP_MD_CTX_free(ctx);
	return tag ? tag : 1;
}

/* ClientKey and ServerKey (RFC 5802 §3), from the cache when the salt and
 * iteration count are those it was made with. */
static int scram_keys_get(struct sasl_client *c, const unsigned char *salt,
			  size_t salt_len, unsigned iterations,
			  struct scram_keys *k)
{
	const EVP_MD *md = scram_md(c);
	int hlen = EVP_MD_get_size(md);
	uint64_t tag = scram_salt_tag(salt, salt_len, iterations, md);
	if (c->keys && c->keys->salt_tag == tag) {
		*k = *c->keys;
		return 0;
	}
	unsigned char salted[SCRAM_MAX_HASH];
	unsigned n;
	if (!PKCS5_PBKDF2_HMAC(c->password, (int)strlen(c->password), salt,
			       (int)salt_len, (int)iterations, md, hlen,
			       salted) ||
	    !HMAC(md, salted, hlen, (const unsigned char *)"Client Key", 10,
		  k->client_key, &n) ||
	    !HMAC(md, salted, hlen, (const unsigned char *)"Server Key", 10,
		  k->server_key, &n))
		return -1;
	OPENSSL_cleanse(salted, sizeof salted);
	k->salt_tag = tag;
	if (c->keys)
		*c->keys = *k;
	return 0;
}

static int scram_answer_first(struct sasl_client *c, const char *msg,
			      struct buf *out)
{
	size_t rlen, slen, ilen;
	const char *r = scram_field(msg, 'r', &rlen);
	const char *s = scram_field(msg, 's', &slen);
	const char *i = scram_field(msg, 'i', &ilen);
	if (msg[0] == 'm' || !r || !s || !i || rlen <= strlen(c->nonce) ||
	    strncmp(r, c->nonce, strlen(c->nonce)) != 0 || ilen == 0 ||
	    ilen > 9)
		return -1;
	unsigned iterations = (unsigned)strtoul(i, NULL, 10);
	unsigned char *salt = malloc(slen * 3 / 4 + 1);
	long salt_len = salt ? base64_decode(s, slen, salt) : -1;
	struct scram_keys k;
	int rc = salt_len > 0 && iterations > 0
			 ? scram_keys_get(c, salt, (size_t)salt_len, iterations,
					  &k)
			 : -1;
	free(salt);
	if (rc < 0)
		return -1;

	const EVP_MD *md = scram_md(c);
	int hlen = EVP_MD_get_size(md);
	struct buf final = BUF_INIT;
	int e = buf_printf(&final, "c=biws,r=%.*s", (int)rlen, r);
	struct buf *am = &c->auth_message;
	e |= buf_printf(am, ",%s,", msg);
	e |= buf_append(am, final.data, final.len);
	unsigned char stored[SCRAM_MAX_HASH], sig[SCRAM_MAX_HASH],
		proof[SCRAM_MAX_HASH];
	unsigned n;
	if (e ||
	    !EVP_Digest(k.client_key, (size_t)hlen, stored, &n, md, NULL) ||
	    !HMAC(md, stored, hlen, (unsigned char *)am->data, am->len, sig,
		  &n) ||
	    !HMAC(md, k.server_key, hlen, (unsigned char *)am->data, am->len,
		  c->server_signature, &n)) {
		buf_free(&final);
		return -1;
	}
	for (int b = 0; b < hlen; b++)
		proof[b] = k.client_key[b] ^ sig[b];
	e |= buf_append_str(&final, ",p=");
	e |= base64_encode(&final, proof, (size_t)hlen);
	e |= e ? -1
	       : base64_encode(out, (unsigned char *) final.data, final.len);
	buf_free(&final);
	OPENSSL_cleanse(&k, sizeof k);
	c->step = SCRAM_FINAL_SENT;
	return e ? -1 : 0;
}

/* RFC 5802 §3: server-final-message, "v=" ServerSignature. */
static int scram_check_final(struct sasl_client *c, const char *msg)
{
	size_t vlen;
	const char *v = scram_field(msg, 'v', &vlen);
	unsigned char sig[SCRAM_MAX_HASH + 3];
	int hlen = EVP_MD_get_size(scram_md(c));
	if (!v || vlen > base64_encoded_len(SCRAM_MAX_HASH) ||
	    base64_decode(v, vlen, sig) != hlen ||
	    CRYPTO_memcmp(sig, c->server_signature, (size_t)hlen) != 0)
		return -1;
	c->step = SCRAM_VERIFIED;
	return 0;
}

/* Decodes a base64 payload into a NUL-terminated string (malloc'd). */
static char *decode_payload(const char *b64, size_t len)
{
	char *msg = malloc(len * 3 / 4 + 2);
	long n = msg ? base64_decode(b64, len, (unsigned char *)msg) : -1;
	if (n < 0) {
		free(msg);
		return NULL;
	}
	msg[n] = '\0';
	if (strlen(msg) != (size_t)n) { /* a NUL inside */
		free(msg);
		return NULL;
	}
	return msg;
}

int sasl_client_step(struct sasl_client *c, const char *b64, size_t len,
		     struct buf *out)
{
	if (c->mech == SASL_PLAIN)
		return -1;
	char *msg = decode_payload(b64, len);
	if (!msg)
		return -1;
	int r = -1;
	if (c->step == SCRAM_FIRST_SENT)
		r = scram_answer_first(c, msg, out);
	else if (c->step == SCRAM_FINAL_SENT)
		r = scram_check_final(c, msg); /* and an empty answer */
	free(msg);
	return r;
}

int sasl_client_success(struct sasl_client *c, const char *b64, size_t len)
{
	if (c->mech == SASL_PLAIN || c->step == SCRAM_VERIFIED)
		return 0;
	if (c->step != SCRAM_FINAL_SENT || len == 0)
		return -1;
	char *msg = decode_payload(b64, len);
	int r = msg ? scram_check_final(c, msg) : -1;
	free(msg);
	return r;
}
