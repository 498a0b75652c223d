/* tls: the TLS contexts of c2s and its channel bindings (see tls.h). */
#include "tls.h"

#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "../../lib/tls_hosts.h"

struct tls_server {
	struct tls_hosts hosts;
	unsigned char ticket_keys[80];
};

/* XEP-0368 §3: direct TLS clients offer ALPN "xmpp-client". */
static int tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x0bxmpp-client";
	(void)ssl;
	(void)arg;
	return tls_alpn_select(ours, sizeof ours - 1, out, outlen, in, inlen);
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

static int tls_ctx_setup(SSL_CTX *ctx, const struct config_host *h, void *arg,
			 char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "palabre-c2s";
	struct tls_server *s = arg;
	(void)h;
	(void)err;
	(void)errlen;
	/* Stateless tickets only: a server-side cache would cost memory per
	 * session and would not be shared between c2s processes. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_tlsext_ticket_keys(ctx, s->ticket_keys,
				       sizeof s->ticket_keys);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn, NULL);
	/* Bound sessions leave OpenSSL for a record layer of their own
	 * (tls_conn_release, at bind or from c2s_conn_sweep_idle). */
	tls_conn_enable_release(ctx);
	return 0;
}

struct tls_server *c2s_tls_server_new(const struct config *cfg,
				      const char *secret, char *err,
				      size_t errlen)
{
	struct tls_server *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (tls_ticket_keys(secret ? secret : "", s->ticket_keys) < 0) {
		snprintf(err, errlen, "cannot initialise OpenSSL");
		free(s);
		return NULL;
	}
	int rc = tls_hosts_init(&s->hosts, cfg, true, tls_ctx_setup, s, err,
				errlen);
	/* The contexts hold their own copy of the keys. */
	OPENSSL_cleanse(s->ticket_keys, sizeof s->ticket_keys);
	if (rc < 0) {
		free(s);
		return NULL;
	}
	return s;
}

struct tls_conn *c2s_tls_conn_new(struct tls_server *s, struct buf *out)
{
	return tls_conn_new(s->hosts.ctx[0], true, out);
}

/* RFC 5929 §4.1: the hash of our certificate, with the hash function of
 * its signature algorithm, SHA-256 when that is MD5 or SHA-1. Not defined
 * for signatures without a separate hash (Ed25519): none then. */
static int tls_server_end_point(SSL *ssl, struct auth_channel_binding *cb)
{
	X509 *cert = SSL_get_certificate(ssl);
	int md_nid, pk_nid;
	if (!cert ||
	    !OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid,
				 &pk_nid) ||
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

size_t c2s_tls_conn_bindings(const struct tls_conn *t,
			     struct auth_channel_binding *out)
{
	static const char label[] = "EXPORTER-Channel-Binding";
	SSL *ssl = tls_conn_ssl(t);
	size_t n = 0;
	if (!SSL_is_init_finished(ssl))
		return 0;
	if (SSL_version(ssl) == TLS1_3_VERSION) {
		/* RFC 9266 §2: 32 bytes, no context. */
		if (SSL_export_keying_material(ssl, out[n].data, 32, label,
					       sizeof label - 1, NULL, 0,
					       0) == 1) {
			out[n].type = "tls-exporter";
			out[n].len = 32;
			n++;
		}
	} else if (SSL_get_extms_support(ssl) == 1) {
		/* RFC 5929 §3.1: the first Finished message of the latest
		 * handshake: the client's on a full handshake, ours on a
		 * resumption. Only with the extended master secret (RFC 7627
		 * §5.2: without it tls-unique is open to the triple handshake). */
		size_t len =
			SSL_session_reused(ssl)
				? SSL_get_finished(ssl, out[n].data,
						   sizeof out[n].data)
				: SSL_get_peer_finished(ssl, out[n].data,
							sizeof out[n].data);
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
