/* tls_record: a TLS 1.3 record layer after the handshake (see
 * tls_record.h). */
#include "tls_record.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#define RECORD_HEADER_LEN 5
#define RECORD_TAG_LEN 16      /* all three AEADs */
#define RECORD_IV_LEN 12       /* RFC 8446 §5.3: max(8, N_MIN) for all three */
#define RECORD_MAX_PLAIN 16384 /* RFC 8446 §5.1: 2^14 */
#define RECORD_MAX_CIPHERTEXT (16384 + 256) /* RFC 8446 §5.2 */
#define RECORD_MAX_SECRET 48                /* SHA-384 */
#define RECORD_MAX_KEY 32

/* RFC 8446 §4.6.3: KeyUpdate.request_update. */
enum { KEY_UPDATE_NOT_REQUESTED = 0, KEY_UPDATE_REQUESTED = 1 };

/* ------------------------------------------------------------------ */
/* Suites and key schedule */

struct tls_suite {
	uint16_t id;
	const char *name;
	const char *cipher; /* OpenSSL's names */
	const char *digest;
	size_t key_len;
	size_t hash_len;
	size_t aead_bytes; /* an EVP_CIPHER_CTX keyed, OpenSSL 3.0 */
};

static const struct tls_suite suites[] = {
	{0x1301, "TLS_AES_128_GCM_SHA256", "AES-128-GCM", "SHA256", 16, 32,
	 1144},
	{0x1302, "TLS_AES_256_GCM_SHA384", "AES-256-GCM", "SHA384", 32, 48,
	 1144},
	{0x1303, "TLS_CHACHA20_POLY1305_SHA256", "ChaCha20-Poly1305", "SHA256",
	 32, 32, 1032},
};
#define SUITES (sizeof suites / sizeof suites[0])

/* Fetched once: an implicit fetch at each use costs a lookup. */
static EVP_CIPHER *suite_ciphers[SUITES];
static EVP_KDF *hkdf;

static void suites_fetch(void)
{
	for (size_t i = 0; i < SUITES; i++)
		suite_ciphers[i] =
			EVP_CIPHER_fetch(NULL, suites[i].cipher, NULL);
	hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

static const struct tls_suite *suite_find(uint16_t id)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, suites_fetch);
	for (size_t i = 0; i < SUITES; i++)
		if (suites[i].id == id && suite_ciphers[i] && hkdf)
			return &suites[i];
	return NULL;
}

/* RFC 8446 §7.1: HKDF-Expand-Label(Secret, Label, "", Length), with
 * HkdfLabel = uint16 Length, opaque label<7..255> = "tls13 " + Label,
 * opaque context<0..255> = "". */
static int hkdf_expand_label(const struct tls_suite *s,
			     const unsigned char *secret, const char *label,
			     unsigned char *out, size_t len)
{
	unsigned char info[32];
	size_t label_len = strlen(label), n = 0;
	info[n++] = (unsigned char)(len >> 8);
	info[n++] = (unsigned char)len;
	info[n++] = (unsigned char)(6 + label_len);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						 (char *)s->digest, 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						  (void *)secret, s->hash_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
		OSSL_PARAM_construct_end(),
	};
	EVP_KDF_CTX *kdf = EVP_KDF_CTX_new(hkdf);
	int ok = kdf && EVP_KDF_derive(kdf, out, len, params) == 1;
	EVP_KDF_CTX_free(kdf); /* wipes its copy of the secret */
	return ok ? 0 : -1;
}

/* RFC 8446 §7.2: application_traffic_secret_N+1 =
 * HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "",
 * Hash.length). */
static int secret_next(const struct tls_suite *s, unsigned char *secret)
{
	unsigned char next[RECORD_MAX_SECRET];
	int r = hkdf_expand_label(s, secret, "traffic upd", next, s->hash_len);
	if (r == 0)
		memcpy(secret, next, s->hash_len);
	OPENSSL_cleanse(next, sizeof next);
	return r;
}

int tls_record_next_secret(uint16_t suite, unsigned char *secret,
			   size_t secret_len)
{
	const struct tls_suite *s = suite_find(suite);
	if (!s || secret_len != s->hash_len)
		return -1;
	return secret_next(s, secret);
}

/* ------------------------------------------------------------------ */
/* One direction's protection */

struct record_key {
	EVP_CIPHER_CTX *aead; /* made on use, dropped while idle */
	unsigned char secret[RECORD_MAX_SECRET];
	unsigned char key[RECORD_MAX_KEY];
	unsigned char iv[RECORD_IV_LEN];
	uint64_t seq;
};

struct tls_record {
	const struct tls_suite *suite;
	struct buf *out;
	struct record_key read, write;
	unsigned char head[RECORD_HEADER_LEN]; /* of the record being read */
	size_t head_have;
	unsigned char *body; /* a record that spans reads, until it is whole */
	size_t body_have;
	unsigned char handshake[5]; /* a KeyUpdate, possibly in fragments */
	size_t handshake_have;
	enum tls_status ended; /* TLS_PEER_CLOSED or TLS_ERROR, once so */
	bool write_closed;     /* close_notify or a fatal alert sent */
};

/* RFC 8446 §7.3: the key and iv of a traffic secret; §5.3: the sequence
 * number starts over with them. */
static int key_set(const struct tls_suite *s, struct record_key *k,
		   const unsigned char *secret)
{
	if (secret != k->secret)
		memcpy(k->secret, secret, s->hash_len);
	EVP_CIPHER_CTX_free(k->aead);
	k->aead = NULL;
	k->seq = 0;
	if (hkdf_expand_label(s, k->secret, "key", k->key, s->key_len) < 0 ||
	    hkdf_expand_label(s, k->secret, "iv", k->iv, RECORD_IV_LEN) < 0)
		return -1;
	return 0;
}

static int key_next(const struct tls_suite *s, struct record_key *k)
{
	return secret_next(s, k->secret) < 0 ? -1 : key_set(s, k, k->secret);
}

static EVP_CIPHER_CTX *key_aead(const struct tls_record *r,
				struct record_key *k, int enc)
{
	if (k->aead)
		return k->aead;
	k->aead = EVP_CIPHER_CTX_new();
	if (k->aead &&
	    EVP_CipherInit_ex2(k->aead, suite_ciphers[r->suite - suites],
			       k->key, NULL, enc, NULL) != 1) {
		EVP_CIPHER_CTX_free(k->aead);
		k->aead = NULL;
	}
	return k->aead;
}

/* RFC 8446 §5.3: the sequence number, 64 bits big-endian, left-padded
 * with zeros to the iv's length and XORed with it. */
static void key_nonce(const struct record_key *k,
		      unsigned char nonce[RECORD_IV_LEN])
{
	memcpy(nonce, k->iv, RECORD_IV_LEN);
	for (int i = 0; i < 8; i++)
		nonce[RECORD_IV_LEN - 1 - i] ^=
			(unsigned char)(k->seq >> (8 * i));
}

/* ------------------------------------------------------------------ */
/* Writing */

/* RFC 8446 §5.2: TLSInnerPlaintext (content, type, no padding) sealed
 * with additional_data = the record header. A sequence number never
 * wraps (§5.3): the connection fails first. */
static int record_seal(struct tls_record *r, unsigned char type,
		       const void *data, size_t len)
{
	struct record_key *k = &r->write;
	size_t body = len + 1 + RECORD_TAG_LEN;
	unsigned char nonce[RECORD_IV_LEN];
	EVP_CIPHER_CTX *aead = key_aead(r, k, 1);
	int n;
	if (!aead || k->seq == UINT64_MAX ||
	    buf_reserve(r->out, RECORD_HEADER_LEN + body) < 0)
		return -1;
	unsigned char *h = (unsigned char *)r->out->data + r->out->len;
	unsigned char *c = h + RECORD_HEADER_LEN;
	h[0] = SSL3_RT_APPLICATION_DATA;
	h[1] = 3; /* legacy_record_version 0x0303 */
	h[2] = 3;
	h[3] = (unsigned char)(body >> 8);
	h[4] = (unsigned char)body;
	key_nonce(k, nonce);
	if (EVP_EncryptInit_ex2(aead, NULL, NULL, nonce, NULL) != 1 ||
	    EVP_EncryptUpdate(aead, NULL, &n, h, RECORD_HEADER_LEN) != 1 ||
	    EVP_EncryptUpdate(aead, c, &n, data, (int)len) != 1 ||
	    EVP_EncryptUpdate(aead, c + len, &n, &type, 1) != 1 ||
	    EVP_EncryptFinal_ex(aead, c + len + 1, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(aead, EVP_CTRL_AEAD_GET_TAG, RECORD_TAG_LEN,
				c + len + 1) != 1)
		return -1;
	k->seq++;
	r->out->len += RECORD_HEADER_LEN + body;
	r->out->data[r->out->len] = '\0';
	return 0;
}

/* RFC 8446 §6: after close_notify or a fatal alert we send nothing. */
static void record_send_alert(struct tls_record *r, unsigned char level,
			      unsigned char description)
{
	const unsigned char alert[2] = {level, description};
	if (!r->write_closed)
		record_seal(r, SSL3_RT_ALERT, alert, sizeof alert);
	r->write_closed = true;
}

/* RFC 8446 §6.2: a fatal alert ends the connection both ways. */
static enum tls_status record_fail(struct tls_record *r,
				   unsigned char description)
{
	record_send_alert(r, SSL3_AL_FATAL, description);
	r->ended = TLS_ERROR;
	return TLS_ERROR;
}

int tls_record_write(struct tls_record *r, const char *data, size_t len)
{
	if (r->write_closed)
		return -1;
	while (len > 0) {
		size_t n = len < RECORD_MAX_PLAIN ? len : RECORD_MAX_PLAIN;
		if (record_seal(r, SSL3_RT_APPLICATION_DATA, data, n) < 0)
			return -1;
		data += n;
		len -= n;
	}
	return 0;
}

void tls_record_close(struct tls_record *r)
{
	record_send_alert(r, SSL3_AL_WARNING, SSL_AD_CLOSE_NOTIFY);
}

/* ------------------------------------------------------------------ */
/* Reading */

/* RFC 8446 §4.6.3: the peer's next records use its next secret; when it
 * asks, ours change too, after a KeyUpdate of our own that does not ask
 * (sent now, before any further application data). */
static enum tls_status record_key_update(struct tls_record *r,
					 unsigned char request)
{
	static const unsigned char answer[] = {SSL3_MT_KEY_UPDATE, 0, 0, 1,
					       KEY_UPDATE_NOT_REQUESTED};
	if (request != KEY_UPDATE_NOT_REQUESTED &&
	    request != KEY_UPDATE_REQUESTED)
		return record_fail(r, SSL_AD_ILLEGAL_PARAMETER);
	if (key_next(r->suite, &r->read) < 0)
		return record_fail(r, SSL_AD_INTERNAL_ERROR);
	if (request == KEY_UPDATE_REQUESTED && !r->write_closed &&
	    (record_seal(r, SSL3_RT_HANDSHAKE, answer, sizeof answer) < 0 ||
	     key_next(r->suite, &r->write) < 0))
		return record_fail(r, SSL_AD_INTERNAL_ERROR);
	return TLS_OK;
}

/* After the handshake a client sends a server no handshake message but
 * KeyUpdate (type 24, length 1, request_update): no NewSessionTicket, and
 * we never ask for post-handshake authentication. RFC 8446 §5.1: it may
 * come in fragments, none empty, and must end its record (a key change
 * follows it). */
static enum tls_status record_read_handshake(struct tls_record *r,
					     const unsigned char *data,
					     size_t len)
{
	unsigned char *m = r->handshake;
	if (len == 0)
		return record_fail(r, SSL_AD_UNEXPECTED_MESSAGE);
	for (size_t i = 0; i < len; i++) {
		m[r->handshake_have++] = data[i];
		if (m[0] != SSL3_MT_KEY_UPDATE)
			return record_fail(r, SSL_AD_UNEXPECTED_MESSAGE);
		if (r->handshake_have == 4 && (m[1] || m[2] || m[3] != 1))
			return record_fail(r, SSL_AD_DECODE_ERROR);
		if (r->handshake_have == sizeof r->handshake) {
			r->handshake_have = 0;
			if (i + 1 != len)
				return record_fail(r,
						   SSL_AD_UNEXPECTED_MESSAGE);
			return record_key_update(r, m[4]);
		}
	}
	return TLS_OK;
}

/* RFC 8446 §6: an alert is neither fragmented nor coalesced. close_notify
 * ends the peer's side (what follows is ignored); any other alert ends
 * the connection, and is not answered. */
static enum tls_status record_read_alert(struct tls_record *r,
					 const unsigned char *data, size_t len)
{
	if (len != 2)
		return record_fail(r, SSL_AD_DECODE_ERROR);
	if (data[1] == SSL_AD_CLOSE_NOTIFY) {
		r->ended = TLS_PEER_CLOSED;
		return TLS_PEER_CLOSED;
	}
	r->write_closed = true;
	r->ended = TLS_ERROR;
	return TLS_ERROR;
}

static enum tls_status record_content(struct tls_record *r, unsigned char type,
				      const unsigned char *data, size_t len,
				      tls_plain_fn fn, void *ctx)
{
	/* RFC 8446 §5.1: no record comes between the fragments of a
	 * handshake message. */
	if (r->handshake_have > 0 && type != SSL3_RT_HANDSHAKE)
		return record_fail(r, SSL_AD_UNEXPECTED_MESSAGE);
	switch (type) {
	case SSL3_RT_APPLICATION_DATA:
		/* §5.1: zero-length application data is allowed. */
		return len > 0 && fn(ctx, (const char *)data, len) ? TLS_STOPPED
								   : TLS_OK;
	case SSL3_RT_ALERT:
		return record_read_alert(r, data, len);
	case SSL3_RT_HANDSHAKE:
		return record_read_handshake(r, data, len);
	default:
		return record_fail(r, SSL_AD_UNEXPECTED_MESSAGE);
	}
}

/* RFC 8446 §5.2: decrypts with additional_data = the record header; §5.4:
 * the content type is the last non-zero byte, zeros after it padding. */
static enum tls_status record_open(struct tls_record *r,
				   const unsigned char *body, size_t len,
				   tls_plain_fn fn, void *ctx)
{
	/* One record's plaintext; shared, as the loop is one thread. */
	static unsigned char plain[RECORD_MAX_CIPHERTEXT];
	struct record_key *k = &r->read;
	size_t n = len - RECORD_TAG_LEN;
	unsigned char nonce[RECORD_IV_LEN];
	EVP_CIPHER_CTX *aead = key_aead(r, k, 0);
	int out;
	if (!aead || k->seq == UINT64_MAX)
		return record_fail(r, SSL_AD_INTERNAL_ERROR);
	key_nonce(k, nonce);
	if (EVP_DecryptInit_ex2(aead, NULL, NULL, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(aead, NULL, &out, r->head, RECORD_HEADER_LEN) !=
		    1 ||
	    EVP_DecryptUpdate(aead, plain, &out, body, (int)n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(aead, EVP_CTRL_AEAD_SET_TAG, RECORD_TAG_LEN,
				(void *)(body + n)) != 1 ||
	    EVP_DecryptFinal_ex(aead, plain + n, &out) != 1)
		return record_fail(r, SSL_AD_BAD_RECORD_MAC);
	k->seq++;
	while (n > 0 && plain[n - 1] == 0)
		n--;
	if (n == 0)
		return record_fail(r, SSL_AD_UNEXPECTED_MESSAGE);
	n--;
	if (n > RECORD_MAX_PLAIN)
		return record_fail(r, SSL_AD_RECORD_OVERFLOW);
	return record_content(r, plain[n], plain, n, fn, ctx);
}

static size_t record_body_len(const struct tls_record *r)
{
	return (size_t)r->head[3] << 8 | r->head[4];
}

/* RFC 8446 §5.2: once the handshake is over every record is
 * application_data outside (a change_cipher_spec no longer may come,
 * §5), of at most 2^14 + 256 bytes, and holds at least the tag. */
static enum tls_status record_check_head(struct tls_record *r)
{
	size_t len = record_body_len(r);
	if (r->head[0] != SSL3_RT_APPLICATION_DATA)
		return record_fail(r, SSL_AD_UNEXPECTED_MESSAGE);
	if (len > RECORD_MAX_CIPHERTEXT)
		return record_fail(r, SSL_AD_RECORD_OVERFLOW);
	if (len < RECORD_TAG_LEN)
		return record_fail(r, SSL_AD_BAD_RECORD_MAC);
	return TLS_OK;
}

static size_t take(unsigned char *to, size_t want, const unsigned char **p,
		   size_t *len)
{
	size_t n = want < *len ? want : *len;
	memcpy(to, *p, n);
	*p += n;
	*len -= n;
	return n;
}

/* Takes what it can of one record from *p; opens the record once whole,
 * in place when its body came in one piece, else from a copy made for
 * it (the copy lives while the record is incomplete). */
static enum tls_status record_read(struct tls_record *r,
				   const unsigned char **p, size_t *len,
				   tls_plain_fn fn, void *ctx)
{
	enum tls_status status;
	if (r->head_have < RECORD_HEADER_LEN) {
		r->head_have += take(r->head + r->head_have,
				     RECORD_HEADER_LEN - r->head_have, p, len);
		if (r->head_have < RECORD_HEADER_LEN)
			return TLS_OK;
		if (record_check_head(r) != TLS_OK)
			return TLS_ERROR;
		if (*len == 0)
			return TLS_OK;
	}
	size_t body_len = record_body_len(r);
	if (!r->body && *len >= body_len) {
		const unsigned char *body = *p;
		*p += body_len;
		*len -= body_len;
		status = record_open(r, body, body_len, fn, ctx);
	} else {
		if (!r->body && !(r->body = OPENSSL_malloc(body_len)))
			return record_fail(r, SSL_AD_INTERNAL_ERROR);
		r->body_have += take(r->body + r->body_have,
				     body_len - r->body_have, p, len);
		if (r->body_have < body_len)
			return TLS_OK;
		status = record_open(r, r->body, body_len, fn, ctx);
		OPENSSL_free(r->body);
		r->body = NULL;
		r->body_have = 0;
	}
	r->head_have = 0;
	return status;
}

enum tls_status tls_record_feed(struct tls_record *r, const char *data,
				size_t len, tls_plain_fn fn, void *ctx)
{
	const unsigned char *p = (const unsigned char *)data;
	enum tls_status status = r->ended;
	while (status == TLS_OK && len > 0)
		status = record_read(r, &p, &len, fn, ctx);
	return status;
}

/* ------------------------------------------------------------------ */
/* The record layer */

struct tls_record *tls_record_new(const struct tls_record_keys *keys,
				  struct buf *out)
{
	const struct tls_suite *s = suite_find(keys->suite);
	if (!s || keys->secret_len != s->hash_len)
		return NULL;
	struct tls_record *r = OPENSSL_zalloc(sizeof *r);
	if (!r)
		return NULL;
	r->suite = s;
	r->out = out;
	if (key_set(s, &r->read, keys->read_secret) < 0 ||
	    key_set(s, &r->write, keys->write_secret) < 0) {
		tls_record_free(r);
		return NULL;
	}
	r->read.seq = keys->read_seq;
	r->write.seq = keys->write_seq;
	return r;
}

void tls_record_idle(struct tls_record *r)
{
	EVP_CIPHER_CTX_free(r->read.aead); /* wipes the key schedule */
	EVP_CIPHER_CTX_free(r->write.aead);
	r->read.aead = r->write.aead = NULL;
}

void tls_record_free(struct tls_record *r)
{
	if (!r)
		return;
	tls_record_idle(r);
	OPENSSL_free(r->body);
	OPENSSL_clear_free(r, sizeof *r);
}

size_t tls_record_memory(const struct tls_record *r)
{
	size_t n = sizeof *r;
	if (r->body)
		n += record_body_len(r);
	if (r->read.aead)
		n += r->suite->aead_bytes;
	if (r->write.aead)
		n += r->suite->aead_bytes;
	return n;
}

const char *tls_record_suite_name(const struct tls_record *r)
{
	return r->suite->name;
}
