/* tls: the TLS contexts of c2s and its channel bindings (see tls.h). */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../lib/log.h"

struct tls_host {
	const char *domain;
	SSL_CTX *ctx;
};

struct tls_server {
	struct tls_host *hosts; /* hosts[0] answers clients without SNI */
	size_t nhosts;
};

/* ------------------------------------------------------------------ */
/* Contexts */

static void tls_error_string(char *err, size_t errlen, const char *what,
			     const char *domain, const char *file)
{
	char ssl_err[256] = "unknown error";
	unsigned long e = ERR_peek_last_error();
	if (e)
		ERR_error_string_n(e, ssl_err, sizeof ssl_err);
	snprintf(err, errlen, "host %s: %s %s: %s", domain, what,
		 file ? file : "(none)", ssl_err);
	ERR_clear_error();
}

static int tls_servername(SSL *ssl, int *alert, void *arg)
{
	struct tls_server *s = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	(void)alert;
	if (!name)
		return SSL_TLSEXT_ERR_OK;
	for (size_t i = 0; i < s->nhosts; i++) {
		if (strcasecmp(name, s->hosts[i].domain) != 0)
			continue;
		if (SSL_get_SSL_CTX(ssl) != s->hosts[i].ctx)
			SSL_set_SSL_CTX(ssl, s->hosts[i].ctx);
		return SSL_TLSEXT_ERR_OK;
	}
	/* An unknown name keeps the default certificate: the stream
	 * header's 'to' is what decides (host-unknown). */
	return SSL_TLSEXT_ERR_OK;
}

/* XEP-0368 §3: direct TLS clients offer ALPN "xmpp-client". */
static int tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x0bxmpp-client";
	unsigned char *selected;
	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&selected, outlen, ours, sizeof ours - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = selected;
	return SSL_TLSEXT_ERR_OK;
}

/* Every c2s process of a run derives the same ticket keys from the link
 * secret, so a client resumes whichever process SO_REUSEPORT gives it. */
static int tls_ticket_keys(const char *secret, unsigned char keys[80])
{
	unsigned char block[32];
	unsigned int len;
	for (unsigned char i = 0; i < 3; i++) {
		unsigned char msg[40] = "palabre c2s session ticket keys";
		msg[sizeof msg - 1] = i;
		if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), msg,
			  sizeof msg, block, &len))
			return -1;
		size_t n = 80 - i * 32u < 32 ? 80 - i * 32u : 32;
		memcpy(keys + i * 32u, block, n);
	}
	return 0;
}

static SSL_CTX *tls_ctx_new(struct tls_server *s, const struct config_host *h,
			    const unsigned char ticket_keys[80], char *err,
			    size_t errlen)
{
	static const unsigned char sid_ctx[] = "palabre-c2s";
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		tls_error_string(err, errlen, "cannot create a TLS context", h->domain, NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* Stateless tickets only: a server-side cache would cost memory per
	 * session and would not be shared between c2s processes. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_tlsext_ticket_keys(ctx, (void *)ticket_keys, 80);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_servername);
	SSL_CTX_set_tlsext_servername_arg(ctx, s);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, h->certificate) != 1) {
		tls_error_string(err, errlen, "cannot load the certificate", h->domain, h->certificate);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, h->key, SSL_FILETYPE_PEM) != 1) {
		tls_error_string(err, errlen, "cannot load the key", h->domain, h->key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_error_string(err, errlen, "the key does not match the certificate", h->domain, h->key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls_server *c2s_tls_server_new(const struct config *cfg,
				  const char *secret, char *err, size_t errlen)
{
	unsigned char keys[80];
	if (cfg->nhosts == 0) {
		snprintf(err, errlen, "no <host> configured");
		return NULL;
	}
	if (tls_ticket_keys(secret ? secret : "", keys) < 0) {
		snprintf(err, errlen, "cannot initialise OpenSSL");
		return NULL;
	}
	struct tls_server *s = calloc(1, sizeof *s);
	if (!s || !(s->hosts = calloc(cfg->nhosts, sizeof *s->hosts))) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < cfg->nhosts; i++) {
		const struct config_host *h = &cfg->hosts[i];
		s->hosts[i].domain = h->domain;
		s->hosts[i].ctx = tls_ctx_new(s, h, keys, err, errlen);
		if (!s->hosts[i].ctx) {
			c2s_tls_server_free(s);
			OPENSSL_cleanse(keys, sizeof keys);
			return NULL;
		}
		s->nhosts = i + 1;
	}
	OPENSSL_cleanse(keys, sizeof keys);
	return s;
}

void c2s_tls_server_free(struct tls_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nhosts; i++)
		SSL_CTX_free(s->hosts[i].ctx);
	free(s->hosts);
	free(s);
}

struct tls_conn *c2s_tls_conn_new(struct tls_server *s, struct buf *out)
{
	return tls_conn_new(s->hosts[0].ctx, true, out);
}

/* RFC 5929 §4.1: the hash of our certificate, with the hash function of
 * its signature algorithm, SHA-256 when that is MD5 or SHA-1. Not defined
 * for signatures without a separate hash (Ed25519): none then. */
static int tls_server_end_point(SSL *ssl, struct auth_channel_binding *cb)
{
	X509 *cert = SSL_get_certificate(ssl);
	int md_nid, pk_nid;
	if (!cert || !OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, &pk_nid) ||
	    md_nid == NID_undef)
		return -1;
	if (md_nid == NID_md5 || md_nid == NID_sha1)
		md_nid = NID_sha256;
	const EVP_MD *md = EVP_get_digestbynid(md_nid);
	unsigned int len = 0;
	if (!md || EVP_MD_get_size(md) > (int)sizeof cb->data ||
	    X509_digest(cert, md, cb->data, &len) != 1)
		return -1;
	cb->type = "tls-server-end-point";
	cb->len = len;
	return 0;
}

size_t c2s_tls_conn_bindings(const struct tls_conn *t, struct auth_channel_binding *out)
{
	static const char label[] = "EXPORTER-Channel-Binding";
	SSL *ssl = tls_conn_ssl(t);
	size_t n = 0;
	if (!SSL_is_init_finished(ssl))
		return 0;
	if (SSL_version(ssl) == TLS1_3_VERSION) {
		/* RFC 9266 §2: 32 bytes, no context. */
		if (SSL_export_keying_material(ssl, out[n].data, 32, label,
					       sizeof label - 1, NULL, 0, 0) == 1) {
			out[n].type = "tls-exporter";
			out[n].len = 32;
			n++;
		}
	} else if (SSL_get_extms_support(ssl) == 1) {
		/* RFC 5929 §3.1: the first Finished message of the latest
		 * handshake: the client's on a full handshake, ours on a
		 * resumption. Only with the extended master secret (RFC 7627
		 * §5.2: without it tls-unique is open to the triple handshake). */
		size_t len = SSL_session_reused(ssl)
				     ? SSL_get_finished(ssl, out[n].data, sizeof out[n].data)
				     : SSL_get_peer_finished(ssl, out[n].data, sizeof out[n].data);
		if (len > 0 && len <= sizeof out[n].data) {
			out[n].type = "tls-unique";
			out[n].len = len;
			n++;
		}
	}
	if (tls_server_end_point(ssl, &out[n]) == 0)
		n++;
	ERR_clear_error();
	return n;
}
