/* fuzz_tls_record: the TLS 1.3 record reader of a released connection
 * (lib/tls_record.c), facing a peer that the harness plays with its own
 * record protection (RFC 8446 §5.2, §7.1-7.3, on OpenSSL's EVP_PKEY
 * HKDF), so that records open and what is inside them is fuzzed too:
 * content types, padding, alerts, KeyUpdate in fragments.
 *
 * Input: one byte choosing the suite (and sequence numbers about to
 * wrap), then operations, each a byte, a 16-bit length and that many
 * bytes. The operation's low two bits: 0 the peer seals the bytes as a
 * TLSInnerPlaintext (content, type, padding, as given), 1 the bytes go
 * raw, 2 we write them as application data, 3 we go idle (or, if the
 * first byte is odd, send close_notify). Bit 2: the peer then moves to
 * its next traffic secret (as after a KeyUpdate). Bit 3: what the peer
 * sent so far is fed now, in pieces of the size the top four bits say.
 * Properties: a connection that failed stays failed; what we write
 * reads as records; when the peer only ever sent records it sealed and
 * the connection is still open, we read exactly the application data
 * that it sealed. */
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>

#include "../../lib/tls_record.h"
#include "fuzz.h"

#define TAG_LEN 16
#define IV_LEN 12

struct suite {
	uint16_t id;
	const char *cipher;
	const char *digest;
	size_t key_len, hash_len;
};

static const struct suite suites[] = {
	{0x1301, "AES-128-GCM", "SHA256", 16, 32},
	{0x1302, "AES-256-GCM", "SHA384", 32, 48},
	{0x1303, "ChaCha20-Poly1305", "SHA256", 32, 32},
};

/* The peer's sending side: its traffic secret is our read secret. */
struct peer {
	const struct suite *suite;
	unsigned char secret[48], key[32], iv[IV_LEN];
	uint64_t seq;
};

/* RFC 8446 §7.1: HKDF-Expand-Label(secret, label, "", len). */
static void peer_expand(const struct peer *p, const char *label,
			unsigned char *out, size_t len)
{
	unsigned char info[64];
	size_t label_len = strlen(label);
	info[0] = 0;
	info[1] = (unsigned char)len;
	info[2] = (unsigned char)(6 + label_len);
	memcpy(info + 3, "tls13 ", 6);
	memcpy(info + 9, label, label_len);
	info[9 + label_len] = 0; /* empty context */
	EVP_PKEY_CTX *kdf = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	FUZZ_CHECK(
		kdf && EVP_PKEY_derive_init(kdf) == 1 &&
			EVP_PKEY_CTX_set_hkdf_mode(
				kdf, EVP_PKEY_HKDEF_MODE_EXPAND_ONLY) == 1 &&
			EVP_PKEY_CTX_set_hkdf_md(
				kdf, EVP_get_digestbyname(p->suite->digest)) ==
				1 &&
			EVP_PKEY_CTX_set1_hkdf_key(
				kdf, p->secret, (int)p->suite->hash_len) == 1 &&
			EVP_PKEY_CTX_add1_hkdf_info(
				kdf, info, (int)(10 + label_len)) == 1 &&
			EVP_PKEY_derive(kdf, out, &len) == 1,
		"HKDF-Expand-Label %s", label);
	EVP_PKEY_CTX_free(kdf);
}

/* RFC 8446 §7.3: key and iv; the sequence number starts over. */
static void peer_keys(struct peer *p)
{
	peer_expand(p, "key", p->key, p->suite->key_len);
	peer_expand(p, "iv", p->iv, IV_LEN);
	p->seq = 0;
}

/* §5.2: one record of inner (content || type || zeros) onto wire. */
static void peer_seal(struct peer *p, const unsigned char *inner, size_t len,
		      struct buf *wire)
{
	unsigned char head[5] = {0x17, 3, 3,
				 (unsigned char)((len + TAG_LEN) >> 8),
				 (unsigned char)(len + TAG_LEN)};
	unsigned char nonce[IV_LEN], tag[TAG_LEN];
	unsigned char *c = malloc(len + 1);
	int n;
	memcpy(nonce, p->iv, IV_LEN);
	for (int i = 0; i < 8; i++)
		nonce[IV_LEN - 1 - i] ^= (unsigned char)(p->seq >> (8 * i));
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	FUZZ_CHECK(c && ctx &&
			   EVP_EncryptInit_ex2(
				   ctx, EVP_get_cipherbyname(p->suite->cipher),
				   p->key, nonce, NULL) == 1 &&
			   EVP_EncryptUpdate(ctx, NULL, &n, head, 5) == 1 &&
			   EVP_EncryptUpdate(ctx, c, &n, inner, (int)len) ==
				   1 &&
			   EVP_EncryptFinal_ex(ctx, c + len, &n) == 1 &&
			   EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
					       TAG_LEN, tag) == 1,
		   "seal");
	EVP_CIPHER_CTX_free(ctx);
	buf_append(wire, head, 5);
	buf_append(wire, c, len);
	buf_append(wire, tag, TAG_LEN);
	free(c);
	p->seq++;
}

/* What the connection saw. */
struct run {
	struct tls_record *r;
	struct buf out;      /* our records */
	struct buf wire;     /* the peer's, not fed yet */
	struct buf read;     /* application data we read */
	struct buf expected; /* application data the peer sealed */
	bool raw;            /* bytes other than sealed records were fed */
	enum tls_status status;
};

static int on_plain(void *ctx, const char *data, size_t len)
{
	struct run *run = ctx;
	buf_append(&run->read, data, len);
	return 0;
}

static void run_feed(struct run *run, unsigned piece)
{
	size_t at = 0, len = run->wire.len;
	while (at < len && run->status == TLS_OK) {
		size_t n = piece && piece < len - at ? piece : len - at;
		run->status = tls_record_feed(run->r, run->wire.data + at, n,
					      on_plain, run);
		at += n;
	}
	if (run->status == TLS_ERROR)
		FUZZ_CHECK(tls_record_feed(run->r, "x", 1, on_plain, run) ==
				   TLS_ERROR,
			   "a failed connection read on");
	buf_clear(&run->wire);
}

/* The application data in an inner plaintext: §5.4, the type is the
 * last non-zero byte. */
static void expect_inner(struct run *run, const unsigned char *inner,
			 size_t len)
{
	while (len > 0 && inner[len - 1] == 0)
		len--;
	if (len > 0 && inner[len - 1] == 0x17)
		buf_append(&run->expected, inner, len - 1);
}

/* Our records: headers of application_data, within §5.2's bound. */
static void check_out(const struct buf *out)
{
	const unsigned char *p = (const unsigned char *)out->data;
	size_t at = 0;
	while (at < out->len) {
		FUZZ_CHECK(out->len - at >= 5, "a cut record header");
		size_t len = (size_t)p[at + 3] << 8 | p[at + 4];
		FUZZ_CHECK(p[at] == 0x17 && p[at + 1] == 3 && p[at + 2] == 3 &&
				   len >= TAG_LEN + 1 && len <= 16384 + 256 &&
				   out->len - at - 5 >= len,
			   "a bad record at %zu of %zu", at, out->len);
		at += 5 + len;
	}
}

static void run_op(struct run *run, struct peer *peer, uint8_t op,
		   const unsigned char *data, size_t len)
{
	switch (op & 3) {
	case 0:
		peer_seal(peer, data, len, &run->wire);
		expect_inner(run, data, len);
		break;
	case 1:
		buf_append(&run->wire, data, len);
		run->raw = true;
		break;
	case 2:
		tls_record_write(run->r, (const char *)data, len);
		break;
	default:
		if (len > 0 && data[0] & 1)
			tls_record_close(run->r);
		else
			tls_record_idle(run->r);
	}
	if (op & 4) {
		FUZZ_CHECK(tls_record_next_secret(peer->suite->id, peer->secret,
						  peer->suite->hash_len) == 0,
			   "next secret");
		peer_keys(peer);
	}
	if (op & 8)
		run_feed(run, (unsigned)(op >> 4) * (op >> 4));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const unsigned char write_secret[48] = "our write secret";
	struct peer peer = {.suite = &suites[data[0] % 3]};
	memcpy(peer.secret, "the peer's secret, our read one", 32);
	peer_keys(&peer);
	/* Sequence numbers two records away from the end (§5.3). */
	uint64_t seq = data[0] & 0x80 ? UINT64_MAX - 2 : 0;
	peer.seq = seq;
	struct tls_record_keys keys = {
		peer.suite->id,       peer.secret, write_secret,
		peer.suite->hash_len, seq,         seq};
	struct run run = {.out = BUF_INIT};
	run.r = tls_record_new(&keys, &run.out);
	FUZZ_CHECK(run.r != NULL, "tls_record_new");
	const uint8_t *p = data + 1, *end = data + size;
	while (end - p >= 3) {
		size_t len = (size_t)p[1] << 8 | p[2];
		if (len > (size_t)(end - p - 3))
			len = (size_t)(end - p - 3);
		run_op(&run, &peer, p[0], p + 3, len);
		p += 3 + len;
	}
	run_feed(&run, 0);
	check_out(&run.out);
	if (!run.raw && run.status == TLS_OK)
		FUZZ_CHECK(run.read.len == run.expected.len &&
				   (run.read.len == 0 ||
				    memcmp(run.read.data, run.expected.data,
					   run.read.len) == 0),
			   "read %zu bytes of application data, the peer "
			   "sealed %zu",
			   run.read.len, run.expected.len);
	tls_record_free(run.r);
	buf_free(&run.out);
	buf_free(&run.wire);
	buf_free(&run.read);
	buf_free(&run.expected);
	return 0;
}
