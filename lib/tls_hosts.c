/* tls_hosts: a TLS context per host (see tls_hosts.h). */
#include "tls_hosts.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int host_error(char *err, size_t errlen, const char *what,
		      const char *domain, const char *file)
{
	char ssl_err[256] = "unknown error";
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, ssl_err, sizeof ssl_err);
	snprintf(err, errlen, "host %s: %s %s: %s", domain, what,
		 file ? file : "(none)", ssl_err);
	ERR_clear_error();
	return -1;
}

static int servername(SSL *ssl, int *alert, void *arg)
{
	const struct tls_hosts *th = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	SSL_CTX *ctx = name ? tls_hosts_find(th, name) : NULL;
	(void)alert;
	if (ctx && SSL_get_SSL_CTX(ssl) != ctx)
		SSL_set_SSL_CTX(ssl, ctx);
	return SSL_TLSEXT_ERR_OK;
}

static int load_identity(SSL_CTX *ctx, const struct config_host *h, char *err,
			 size_t errlen)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, h->certificate) != 1)
		return host_error(err, errlen, "cannot load the certificate",
				  h->domain, h->certificate);
	if (SSL_CTX_use_PrivateKey_file(ctx, h->key, SSL_FILETYPE_PEM) != 1)
		return host_error(err, errlen, "cannot load the key", h->domain,
				  h->key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return host_error(err, errlen,
				  "the key does not match the certificate",
				  h->domain, h->key);
	return 0;
}

static SSL_CTX *host_ctx_new(struct tls_hosts *th, const struct config_host *h,
			     bool server, tls_hosts_setup_fn setup, void *arg,
			     char *err, size_t errlen)
{
	SSL_CTX *ctx =
		SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx) {
		host_error(err, errlen, "cannot create a TLS context",
			   h->domain, NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (server) {
		SSL_CTX_set_tlsext_servername_callback(ctx, servername);
		SSL_CTX_set_tlsext_servername_arg(ctx, th);
	}
	if (load_identity(ctx, h, err, errlen) < 0 ||
	    (setup && setup(ctx, h, arg, err, errlen) < 0)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int tls_hosts_init(struct tls_hosts *th, const struct config *cfg, bool server,
		   tls_hosts_setup_fn setup, void *arg, char *err,
		   size_t errlen)
{
	th->cfg = cfg;
	th->n = 0;
	if (cfg->nhosts == 0) {
		snprintf(err, errlen, "no <host> configured");
		return -1;
	}
	th->ctx = calloc(cfg->nhosts, sizeof *th->ctx);
	if (!th->ctx) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nhosts; i++) {
		th->ctx[i] = host_ctx_new(th, &cfg->hosts[i], server, setup,
					  arg, err, errlen);
		if (!th->ctx[i]) {
			tls_hosts_free(th);
			return -1;
		}
		th->n = i + 1;
	}
	return 0;
}

void tls_hosts_free(struct tls_hosts *th)
{
	for (size_t i = 0; i < th->n; i++)
		SSL_CTX_free(th->ctx[i]);
	free(th->ctx);
	th->ctx = NULL;
	th->n = 0;
}

/* Whether domain is a sub-domain of host (conference.example.org of
 * example.org), without regard to case. */
static bool is_subdomain(const char *domain, const char *host)
{
	size_t d = strlen(domain), h = strlen(host);
	return d > h + 1 && domain[d - h - 1] == '.' &&
	       strcasecmp(domain + d - h, host) == 0;
}

SSL_CTX *tls_hosts_find(const struct tls_hosts *th, const char *domain)
{
	size_t best = th->n, best_len = 0;
	for (size_t i = 0; i < th->n; i++) {
		const char *host = th->cfg->hosts[i].domain;
		if (strcasecmp(host, domain) == 0)
			return th->ctx[i];
		if (is_subdomain(domain, host) && strlen(host) > best_len) {
			best = i;
			best_len = strlen(host);
		}
	}
	return best < th->n ? th->ctx[best] : NULL;
}

int tls_alpn_select(const unsigned char *ours, size_t ours_len,
		    const unsigned char **out, unsigned char *outlen,
		    const unsigned char *in, unsigned int inlen)
{
	unsigned char *selected;
	if (SSL_select_next_proto(&selected, outlen, ours,
				  (unsigned int)ours_len, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = selected;
	return SSL_TLSEXT_ERR_OK;
}
