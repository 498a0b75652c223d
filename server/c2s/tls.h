/* tls: OpenSSL 3 for c2s (connections themselves: lib/tls.h).
 *
 * One SSL_CTX per <host>, chosen by SNI; TLS 1.2 at least; buffers
 * released while idle (SSL_MODE_RELEASE_BUFFERS); stateless session
 * tickets whose keys derive from the link secret, so that every c2s
 * process of a run can resume the others' sessions. */
#ifndef PALABRE_C2S_TLS_H
#define PALABRE_C2S_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "../../auth/auth.h"
#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../lib/tls.h"

struct tls_server;

/* Loads every host's certificate and key. NULL with a message in err. */
struct tls_server *c2s_tls_server_new(const struct config *cfg,
				      const char *secret, char *err,
				      size_t errlen);

/* A server-side TLS connection writing its records to out. */
struct tls_conn *c2s_tls_conn_new(struct tls_server *s, struct buf *out);

/* The channel bindings of this connection (RFC 5929, RFC 9266) into out
 * (AUTH_MAX_BINDINGS entries). Returns how many. */
size_t c2s_tls_conn_bindings(const struct tls_conn *t,
			     struct auth_channel_binding *out);

#endif
