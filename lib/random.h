/* random: identifiers that must not be guessed (stream ids, resources). */
#ifndef PALABRE_RANDOM_H
#define PALABRE_RANDOM_H

#include <stddef.h>

/* nbytes (at most 32) random bytes as lowercase hex into out, which holds
 * 2 * nbytes + 1 characters. */
void random_hex(char *out, size_t nbytes);

#endif
