/* tls_hosts: one OpenSSL context per configured <host>, holding that
 * host's certificate chain and key. On the accepting side the client's
 * SNI picks the context; the first host answers peers without SNI or
 * with an unknown name (the stream header's 'to' decides then). Both
 * c2s and s2s build theirs with this, adding what their role needs in a
 * setup callback. */
#ifndef PALABRE_TLS_HOSTS_H
#define PALABRE_TLS_HOSTS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct tls_hosts {
	const struct config *cfg;
	SSL_CTX **ctx; /* by index in cfg->hosts */
	size_t n;
};

/* Role-specific settings of one context; returns 0, or -1 with a
 * message in err. */
typedef int (*tls_hosts_setup_fn)(SSL_CTX *ctx, const struct config_host *h,
				  void *arg, char *err, size_t errlen);

/* TLS 1.2 at least, no renegotiation, no compression, buffers released
 * while idle. Returns 0, or -1 with "host D: …" in err. */
int tls_hosts_init(struct tls_hosts *th, const struct config *cfg, bool server,
		   tls_hosts_setup_fn setup, void *arg, char *err,
		   size_t errlen);
void tls_hosts_free(struct tls_hosts *th);
/* The context of domain; for a name that is no host, that of the
 * host it is the nearest sub-domain of (a service of that host, such as
 * conference.example.org: its certificate may name it, or the peer
 * falls back on dialback); NULL for any other name. */
SSL_CTX *tls_hosts_find(const struct tls_hosts *th, const char *domain);

/* For an ALPN select callback: picks `ours` (wire format, e.g.
 * "\x0bxmpp-client") among the client's offers. */
int tls_alpn_select(const unsigned char *ours, size_t ours_len,
		    const unsigned char **out, unsigned char *outlen,
		    const unsigned char *in, unsigned int inlen);

#endif
