/* tls_record: a minimal TLS 1.3 record layer (RFC 8446 §5) for a
 * connection whose handshake OpenSSL has done, so that an idle
 * connection holds its traffic secrets, keys, IVs and sequence numbers
 * (about 300 bytes) instead of OpenSSL's ~14 KiB of state.
 *
 * It protects and deprotects records with the three AEAD suites, reads
 * application data, alerts and KeyUpdate, and writes application data,
 * KeyUpdate and alerts. Nothing else of TLS is here: tls.c decides when
 * a connection may move over (see tls_conn_release). */
#ifndef PALABRE_TLS_RECORD_H
#define PALABRE_TLS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "tls.h"

/* The traffic secrets of both directions and the sequence number of the
 * next record under each (RFC 8446 §5.3, §7.1). */
struct tls_record_keys {
	uint16_t suite; /* RFC 8446 §B.4: 0x1301, 0x1302 or 0x1303 */
	const unsigned char *read_secret;
	const unsigned char *write_secret;
	size_t secret_len; /* the suite's hash length */
	uint64_t read_seq;
	uint64_t write_seq;
};

/* A record layer writing its records to out; copies the secrets. NULL
 * when the suite is not one of the three or out of memory. */
struct tls_record *tls_record_new(const struct tls_record_keys *keys,
				  struct buf *out);
/* Wipes the secrets and frees. */
void tls_record_free(struct tls_record *r);

/* Reads records from ciphertext that may end anywhere, passing
 * application data to fn; answers a KeyUpdate, sends a fatal alert on a
 * bad record. After TLS_PEER_CLOSED or TLS_ERROR, returns it again. */
enum tls_status tls_record_feed(struct tls_record *r, const char *data,
				size_t len, tls_plain_fn fn, void *ctx);
/* Encrypts data as application data records. Returns 0 or -1. */
int tls_record_write(struct tls_record *r, const char *data, size_t len);
/* Sends close_notify (once; nothing after a fatal alert). */
void tls_record_close(struct tls_record *r);

/* Frees the AEAD contexts (about 1 KiB each) of a quiet connection; the
 * next record makes them again from the keys. */
void tls_record_idle(struct tls_record *r);
/* Bytes held, the AEAD contexts (as measured with OpenSSL 3.0) included. */
size_t tls_record_memory(const struct tls_record *r);
/* "TLS_AES_128_GCM_SHA256" and so on. */
const char *tls_record_suite_name(const struct tls_record *r);

/* RFC 8446 §7.2: replaces application_traffic_secret_N of suite by
 * application_traffic_secret_N+1, in place. Returns 0 or -1. */
int tls_record_next_secret(uint16_t suite, unsigned char *secret,
			   size_t secret_len);

#endif
