/* random: identifiers that must not be guessed (stream ids, resources). */
#ifndef PALABRE_RANDOM_H
#define PALABRE_RANDOM_H

#include <stddef.h>

/* n random bytes into out (OpenSSL's generator, the kernel's if it
 * fails). */
void random_bytes(void *out, size_t n);
/* nbytes (at most 32) random bytes as lowercase hex into out, which holds
 * 2 * nbytes + 1 characters. */
void random_hex(char *out, size_t nbytes);

#endif
