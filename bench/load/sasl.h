/* sasl: the client side of the SASL mechanisms a bench logs in with.
 *
 * PLAIN (RFC 4616) and SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802, RFC 7677)
 * without channel binding (gs2 header "n,,"). The SCRAM client checks the
 * server's signature. Payloads are base64, as they travel in XMPP
 * (RFC 6120 §6.4.2). */
#ifndef XMPPLOAD_SASL_H
#define XMPPLOAD_SASL_H

#include <stdbool.h>
#include <stdint.h>

#include "../../lib/buf.h"

enum sasl_mech { SASL_PLAIN, SASL_SCRAM_SHA_1, SASL_SCRAM_SHA_256 };

const char *sasl_mech_name(enum sasl_mech m);

/* What a SCRAM client may keep between logins of one account so as not
 * to run PBKDF2 every time (RFC 5802 §5.1 allows it; Conversations does
 * it): the keys derived from the salted password, valid while the
 * server's salt and iteration count stay the same. Without it the
 * generator, not the server, would pay most of a SCRAM login: the server
 * keeps only StoredKey and ServerKey and runs no PBKDF2 for SCRAM. */
struct scram_keys {
	uint64_t salt_tag; /* of salt and iterations; 0: empty */
	unsigned char client_key[32];
	unsigned char server_key[32];
};

struct sasl_client;

/* keys may be NULL (no caching). Returns NULL when out of memory. */
struct sasl_client *sasl_client_new(enum sasl_mech m, const char *user,
				    const char *password,
				    struct scram_keys *keys);
void sasl_client_free(struct sasl_client *c);
/* Appends the initial response, base64, to out. 0 or -1. */
int sasl_client_start(struct sasl_client *c, struct buf *out);
/* Appends the answer (base64) to a challenge (base64) to out. -1 when
 * the challenge is not what the mechanism expects at this point. */
int sasl_client_step(struct sasl_client *c, const char *b64, size_t len,
		     struct buf *out);
/* Checks the additional data of <success/> (base64, may be empty): for
 * SCRAM, the server's signature, unless a challenge carried it. */
int sasl_client_success(struct sasl_client *c, const char *b64, size_t len);

#endif
