/* tls: OpenSSL 3 for c2s, over memory instead of sockets.
 *
 * One SSL_CTX per <host>, chosen by SNI; TLS 1.2 at least; buffers
 * released while idle (SSL_MODE_RELEASE_BUFFERS); stateless session
 * tickets whose keys derive from the link secret, so that every c2s
 * process of a run can resume the others' sessions.
 *
 * A tls_conn reads the ciphertext that the caller passes to
 * c2s_tls_conn_feed and appends the ciphertext it produces to the caller's
 * buffer: it owns no socket and keeps no buffer of its own. */
#ifndef PALABRE_C2S_TLS_H
#define PALABRE_C2S_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "../../auth/auth.h"
#include "../../lib/buf.h"
#include "../../lib/config.h"

struct tls_server;
struct tls_conn;

/* Loads every host's certificate and key. NULL with a message in err. */
struct tls_server *c2s_tls_server_new(const struct config *cfg,
				  const char *secret, char *err, size_t errlen);
void c2s_tls_server_free(struct tls_server *s);

/* A server-side TLS connection writing its records to out. */
struct tls_conn *c2s_tls_conn_new(struct tls_server *s, struct buf *out);
void c2s_tls_conn_free(struct tls_conn *t);

/* Receives plaintext; returns non-zero to stop reading (the rest of the
 * ciphertext is dropped). */
typedef int (*tls_plain_fn)(void *ctx, const char *data, size_t len);

enum tls_status {
	TLS_OK = 0,      /* all the input was used */
	TLS_STOPPED,     /* the plaintext callback asked to stop */
	TLS_PEER_CLOSED, /* close_notify received */
	TLS_ERROR = -1,  /* handshake failed or a bad record */
};

enum tls_status c2s_tls_conn_feed(struct tls_conn *t, const char *data,
			      size_t len, tls_plain_fn fn, void *ctx);
/* Encrypts into out. Returns 0 or -1. Only once the handshake is done. */
int c2s_tls_conn_write(struct tls_conn *t, const char *data, size_t len);
/* Queues close_notify. */
void c2s_tls_conn_shutdown(struct tls_conn *t);
bool c2s_tls_conn_handshake_done(const struct tls_conn *t);
/* Version and cipher, for logs. */
const char *c2s_tls_conn_describe(const struct tls_conn *t, char *out,
			      size_t size);
/* The channel bindings of this connection (RFC 5929, RFC 9266) into out
 * (AUTH_MAX_BINDINGS entries). Returns how many. */
size_t c2s_tls_conn_bindings(const struct tls_conn *t,
			 struct auth_channel_binding *out);

#endif
