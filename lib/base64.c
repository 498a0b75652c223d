/* base64 (RFC 4648 §4) for SASL payloads: RFC 6120 §6.4.2 wants strict
 * decoding, with padding and without whitespace. base64url (§5) for
 * identifiers in XML attributes and URIs. */
#include "base64.h"

#include <string.h>

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

int base64_encode(struct buf *out, const unsigned char *in, size_t len)
{
	if (buf_reserve(out, base64_encoded_len(len)) < 0)
		return -1;
	char *p = out->data + out->len;
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 |
			     in[i + 2];
		*p++ = base64_alphabet[v >> 18];
		*p++ = base64_alphabet[(v >> 12) & 63];
		*p++ = base64_alphabet[(v >> 6) & 63];
		*p++ = base64_alphabet[v & 63];
	}
	if (i < len) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		*p++ = base64_alphabet[v >> 18];
		*p++ = base64_alphabet[(v >> 12) & 63];
		*p++ = i + 1 < len ? base64_alphabet[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	out->len = (size_t)(p - out->data);
	out->data[out->len] = '\0';
	return 0;
}

static int base64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

long base64_decode(const char *in, size_t len, unsigned char *out)
{
	if (len % 4)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			char ch = in[i + k];
			if (ch == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad || (v[k] = base64_value(ch)) < 0)
				return -1;
		}
		unsigned bits = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 |
				(unsigned)v[2] << 6 | (unsigned)v[3];
		/* RFC 4648 §3.5: the unused bits before padding are zero. */
		if ((pad == 1 && (bits & 0xff)) ||
		    (pad == 2 && (bits & 0xffff)))
			return -1;
		out[n++] = (unsigned char)(bits >> 16);
		if (pad < 2)
			out[n++] = (unsigned char)(bits >> 8);
		if (pad < 1)
			out[n++] = (unsigned char)bits;
	}
	return (long)n;
}

static const char base64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void base64url_encode(const unsigned char *in, size_t len, char *out)
{
	unsigned bits = 0;
	int nbits = 0;
	for (size_t i = 0; i < len; i++) {
		bits = bits << 8 | in[i];
		for (nbits += 8; nbits >= 6; nbits -= 6)
			*out++ = base64url_alphabet[(bits >> (nbits - 6)) & 63];
	}
	if (nbits)
		*out++ = base64url_alphabet[(bits << (6 - nbits)) & 63];
	*out = '\0';
}

static int base64url_value(char ch)
{
	return ch == '-'                ? 62
	       : ch == '_'              ? 63
	       : ch == '+' || ch == '/' ? -1
					: base64_value(ch);
}

int base64url_decode(const char *in, unsigned char *out, size_t len)
{
	size_t n = (len * 8 + 5) / 6, k = 0;
	unsigned bits = 0;
	int nbits = 0;
	if (strnlen(in, n + 1) != n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = base64url_value(in[i]);
		if (v < 0)
			return -1;
		bits = bits << 6 | (unsigned)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			out[k++] = (unsigned char)(bits >> nbits);
		}
	}
	/* One string per value: the bits past the last byte are zero. */
	return bits & ((1u << nbits) - 1) ? -1 : 0;
}
