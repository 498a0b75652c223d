/* random: identifiers that must not be guessed (see random.h). */
#include "random.h"

#include <openssl/rand.h>
#include <uv.h>

void random_bytes(void *out, size_t n)
{
	if (RAND_bytes(out, (int)n) != 1)
		uv_random(NULL, NULL, out, n, 0, NULL);
}

void random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char bytes[32];
	if (nbytes > sizeof bytes)
		nbytes = sizeof bytes;
	random_bytes(bytes, nbytes);
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[bytes[i] >> 4];
		out[2 * i + 1] = hex[bytes[i] & 15];
	}
	out[2 * nbytes] = '\0';
}
