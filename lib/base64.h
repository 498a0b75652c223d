/* base64 (RFC 4648 §4), strict: the SASL payloads of RFC 6120 §6.4.2. */
#ifndef PALABRE_BASE64_H
#define PALABRE_BASE64_H

#include <stddef.h>

#include "buf.h"

size_t base64_encoded_len(size_t len);
int base64_encode(struct buf *out, const unsigned char *in, size_t len);
/* Strict RFC 4648 decoding (padding, no whitespace); out holds
 * len * 3 / 4 + 1 bytes. Returns the decoded length or -1. */
long base64_decode(const char *in, size_t len, unsigned char *out);

/* base64url (RFC 4648 §5) without padding, for identifiers: the len
 * bytes of in as (len * 8 + 5) / 6 characters into out, then a NUL. */
void base64url_encode(const unsigned char *in, size_t len, char *out);
/* Decodes exactly (len * 8 + 5) / 6 characters of in into len bytes;
 * -1 when in is not the one encoding of len bytes (a character outside
 * the alphabet, unused bits set, another length). */
int base64url_decode(const char *in, unsigned char *out, size_t len);

#endif
