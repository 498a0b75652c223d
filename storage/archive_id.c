/* archive_id: the archive's XEP-0359 ids (archive_id.h). AES-128 on one
 * block (ECB of a single block is the block cipher itself: nothing
 * repeats inside an id), OpenSSL's EVP; the seq and tag big-endian. */
#include "archive_id.h"

#include <stdlib.h>

#include <openssl/evp.h>

#include "../lib/base64.h"

#define ARCHIVE_ID_BLOCK 16

struct archive_id_codec {
	EVP_CIPHER_CTX *encrypt, *decrypt;
};

struct archive_id_codec *
archive_id_codec_new(const unsigned char key[ARCHIVE_ID_KEY_SIZE])
{
	struct archive_id_codec *c = calloc(1, sizeof *c);
	if (!c || !(c->encrypt = EVP_CIPHER_CTX_new()) ||
	    !(c->decrypt = EVP_CIPHER_CTX_new()) ||
	    EVP_EncryptInit_ex(c->encrypt, EVP_aes_128_ecb(), NULL, key,
			       NULL) != 1 ||
	    EVP_DecryptInit_ex(c->decrypt, EVP_aes_128_ecb(), NULL, key,
			       NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->encrypt, 0) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->decrypt, 0) != 1) {
		archive_id_codec_free(c);
		return NULL;
	}
	return c;
}

void archive_id_codec_free(struct archive_id_codec *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->encrypt);
	EVP_CIPHER_CTX_free(c->decrypt);
	free(c);
}

static void archive_id_put(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t archive_id_get(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int archive_id_encode(struct archive_id_codec *c, int64_t seq, uint64_t tag,
		      char *out)
{
	unsigned char plain[ARCHIVE_ID_BLOCK], block[ARCHIVE_ID_BLOCK];
	int len = 0;
	archive_id_put(plain, (uint64_t)seq);
	archive_id_put(plain + 8, tag);
	/* Whole blocks without padding: Update gives them all. */
	if (EVP_EncryptUpdate(c->encrypt, block, &len, plain, sizeof plain) !=
		    1 ||
	    len != ARCHIVE_ID_BLOCK)
		return -1;
	base64url_encode(block, sizeof block, out);
	return 0;
}

bool archive_id_decode(struct archive_id_codec *c, const char *id, int64_t *seq,
		       uint64_t *tag)
{
	unsigned char block[ARCHIVE_ID_BLOCK], plain[ARCHIVE_ID_BLOCK];
	int len = 0;
	if (base64url_decode(id, block, sizeof block) < 0 ||
	    EVP_DecryptUpdate(c->decrypt, plain, &len, block, sizeof block) !=
		    1 ||
	    len != ARCHIVE_ID_BLOCK)
		return false;
	*seq = (int64_t)archive_id_get(plain);
	*tag = archive_id_get(plain + 8);
	return true;
}
