/* A fresh self-signed identity for the TLS tests. */
#ifndef PALABRE_TESTS_TLS_IDENTITY_H
#define PALABRE_TESTS_TLS_IDENTITY_H

#include <openssl/ssl.h>

/* A P-256 key and a certificate for CN=localhost, valid an hour, as
 * ctx's certificate and key. */
void unit_use_new_identity(SSL_CTX *ctx);

#endif
