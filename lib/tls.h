/* tls: one OpenSSL connection over memory instead of a socket.
 *
 * A tls_conn reads the ciphertext that the caller passes to tls_conn_feed
 * and appends the ciphertext it produces to the caller's buffer: it owns
 * no socket and keeps no buffer of its own, so an idle connection costs
 * only OpenSSL's own state (contexts set SSL_MODE_RELEASE_BUFFERS), or
 * once released (tls_conn_release) only its keys.
 * c2s and s2s make their SSL_CTXs (certificates, SNI, ALPN, peer checks)
 * and share this. */
#ifndef PALABRE_TLS_H
#define PALABRE_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct tls_conn;

/* A connection on ctx writing its records to out: the accepting side when
 * server is true, else the connecting side, whose first tls_conn_feed
 * (with no input) writes the ClientHello. NULL when out of memory. */
struct tls_conn *tls_conn_new(SSL_CTX *ctx, bool server, struct buf *out);
void tls_conn_free(struct tls_conn *t);

/* Receives plaintext; returns non-zero to stop reading (the rest of the
 * ciphertext is dropped). */
typedef int (*tls_plain_fn)(void *ctx, const char *data, size_t len);

enum tls_status {
	TLS_OK = 0,      /* all the input was used */
	TLS_STOPPED,     /* the plaintext callback asked to stop */
	TLS_PEER_CLOSED, /* close_notify received */
	TLS_ERROR = -1,  /* handshake failed or a bad record */
};

enum tls_status tls_conn_feed(struct tls_conn *t, const char *data, size_t len,
			      tls_plain_fn fn, void *ctx);
/* Encrypts into out. Returns 0 or -1. Only once the handshake is done. */
int tls_conn_write(struct tls_conn *t, const char *data, size_t len);
/* Queues close_notify. */
void tls_conn_shutdown(struct tls_conn *t);
bool tls_conn_handshake_done(const struct tls_conn *t);
/* Version and cipher, for logs. */
const char *tls_conn_describe(const struct tls_conn *t, char *out, size_t size);
/* The OpenSSL object, for what is particular to c2s or s2s (SNI, channel
 * bindings, the peer's certificate); NULL once released. */
SSL *tls_conn_ssl(const struct tls_conn *t);

/* Lets the server connections of ctx be released: OpenSSL then tells
 * them their traffic secrets (a key log callback) and their records (a
 * message callback). Set on every context SNI may switch to. */
void tls_conn_enable_release(SSL_CTX *ctx);
/* Replaces OpenSSL's connection state by a minimal TLS 1.3 record layer
 * of our own (keys, IVs, sequence numbers, AEAD contexts; tls_record.h),
 * freeing the SSL object: an idle connection then holds ~300 bytes
 * instead of ~14 KiB. Only for a server connection of an enabled context,
 * TLS 1.3 with an AEAD suite (AES-128/256-GCM, CHACHA20-POLY1305), once
 * the handshake is done and nothing is pending either way. Returns 0
 * when released, -1 when it cannot (the connection goes on with OpenSSL,
 * unchanged). On a released connection it frees the AEAD contexts, which
 * the next record makes again, and returns 0: call it whenever the
 * connection is quiet. After it, tls_conn_feed, tls_conn_write,
 * tls_conn_shutdown, tls_conn_handshake_done keep working; tls_conn_ssl
 * returns NULL (callers needing the SSL — channel bindings, the peer's
 * certificate — must use it before). */
int tls_conn_release(struct tls_conn *t);
/* Bytes held: all of them once released; before, ours only (OpenSSL's
 * own state is not counted). For stats and tests. */
size_t tls_conn_memory(const struct tls_conn *t);

#endif
