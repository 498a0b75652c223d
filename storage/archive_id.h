/* archive_id: the XEP-0359 ids of the message archive.
 *
 * An archived message is a row of seq (its place in arrival order, the
 * table's primary key) and tag (64 random bits kept in the row). Its id
 * is base64url(AES-128_k(seq || tag)): one block, 22 characters, k made
 * at random once per database. So an id is unique (seq is), cannot be
 * guessed (the tag) and says nothing of how many messages the server
 * holds (without k a block's encryption looks random); finding it is a
 * decryption and one lookup of the primary key that checks the tag and
 * the owner. An id not made here (forged, altered, another user's or
 * another database's) names no message: it decrypts to a seq whose row,
 * if any, has another tag (one chance in 2^64) or another owner. The
 * archive needs no index of ids, the one index whose inserts land at
 * random places (docs/performance.md). Private to storage/. */
#ifndef PALABRE_STORAGE_ARCHIVE_ID_H
#define PALABRE_STORAGE_ARCHIVE_ID_H

#include <stdbool.h>
#include <stdint.h>

#define ARCHIVE_ID_KEY_SIZE 16
#define ARCHIVE_ID_LEN 22 /* characters, without the NUL */

/* A key's cipher contexts: one thread's at a time. */
struct archive_id_codec;

struct archive_id_codec *
archive_id_codec_new(const unsigned char key[ARCHIVE_ID_KEY_SIZE]);
void archive_id_codec_free(struct archive_id_codec *c);

/* The id of (seq, tag) into out (ARCHIVE_ID_LEN + 1 bytes). 0, or -1
 * when OpenSSL fails. */
int archive_id_encode(struct archive_id_codec *c, int64_t seq, uint64_t tag,
		      char *out);
/* The (seq, tag) of an id; false when id is no encoding of a block (its
 * length, its characters): then it names no message. */
bool archive_id_decode(struct archive_id_codec *c, const char *id, int64_t *seq,
		       uint64_t *tag);

#endif
