/* dialback_key: the keys of Server Dialback (XEP-0220), generated and
 * checked as XEP-0185 recommends. */
#ifndef PALABRE_S2S_DIALBACK_KEY_H
#define PALABRE_S2S_DIALBACK_KEY_H

#include <stdbool.h>
#include <stddef.h>

#define DIALBACK_KEY_LEN 64 /* hex of HMAC-SHA256 */

/* XEP-0185 §2:
 *   key = HEX( HMAC-SHA256( HEX(SHA256(secret)),
 *                           receiving || ' ' || originating || ' ' ||
 *                           stream_id ) )
 * with lowercase hex; the HMAC key is the 64-character hex string of
 * SHA-256(secret), as in the XEP's example (§3). Writes the key into out
 * (DIALBACK_KEY_LEN + 1 bytes, NUL-terminated). Returns 0, or -1 (and
 * out = "") when an argument is NULL or empty or OpenSSL fails. */
int dialback_key(const char *secret, const char *receiving,
		 const char *originating, const char *stream_id, char *out);

/* Whether key (key_len bytes, need not be NUL-terminated) is the key of
 * these inputs, compared in constant time. The caller strips the XML
 * whitespace around a <db:verify/>'s text; hex digits must be lowercase,
 * as dialback_key writes them (the peer echoes our key verbatim). */
bool dialback_key_valid(const char *secret, const char *receiving,
			const char *originating, const char *stream_id,
			const char *key, size_t key_len);

#endif
