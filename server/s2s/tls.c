/* tls: the TLS contexts of s2s and what a peer's certificate proves.
 *
 * Both sides present the certificate of the local domain of the stream
 * (the accepting side by SNI), and both ask for the peer's: the
 * initiating server's certificate is what SASL EXTERNAL rests on
 * (XEP-0178). A chain that does not verify does not fail the handshake:
 * the stream can still authenticate by dialback, unless the
 * configuration requires valid certificates. */
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>

#include "../../lib/log.h"
#include "identity.h"
#include "s2s.h"

/* XEP-0368 §2: direct TLS between servers uses ALPN "xmpp-server". */
static const unsigned char s2s_alpn[] = "\x0bxmpp-server";

static int accept_any_chain(int preverify_ok, X509_STORE_CTX *ctx)
{
	(void)preverify_ok;
	(void)ctx;
	return 1; /* judged after the handshake: s2s_tls_peer_verified */
}

static int alpn_select(SSL *ssl, const unsigned char **out,
		       unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	return tls_alpn_select(s2s_alpn, sizeof s2s_alpn - 1, out, outlen, in,
			       inlen);
}

static int load_trust(SSL_CTX *ctx, const struct config_s2s *sc, char *err,
		      size_t errlen)
{
	int ok = sc->ca_file || sc->ca_path
			 ? SSL_CTX_load_verify_locations(ctx, sc->ca_file,
							 sc->ca_path)
			 : SSL_CTX_set_default_verify_paths(ctx);
	if (ok == 1)
		return 0;
	char ssl_err[256] = "unknown error";
	ERR_error_string_n(ERR_peek_last_error(), ssl_err, sizeof ssl_err);
	snprintf(err, errlen, "s2s/ca-file: cannot load the trust anchors: %s",
		 ssl_err);
	ERR_clear_error();
	return -1;
}

static int setup_accept(SSL_CTX *ctx, const struct config_host *h, void *arg,
			char *err, size_t errlen)
{
	const struct config_s2s *sc = arg;
	(void)h;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_chain);
	/* The peer's certificate is a server's, whatever side it speaks
	 * from: do not ask for the clientAuth usage. */
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return load_trust(ctx, sc, err, errlen);
}

static int setup_connect(SSL_CTX *ctx, const struct config_host *h, void *arg,
			 char *err, size_t errlen)
{
	const struct config_s2s *sc = arg;
	(void)h;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_chain);
	SSL_CTX_set_alpn_protos(ctx, s2s_alpn, sizeof s2s_alpn - 1);
	return load_trust(ctx, sc, err, errlen);
}

int s2s_tls_init(struct s2s *s2s, char *err, size_t errlen)
{
	void *sc = (void *)s2s->sc;
	if (tls_hosts_init(&s2s->tls_accept, s2s->cfg, true, setup_accept, sc,
			   err, errlen) < 0)
		return -1;
	if (tls_hosts_init(&s2s->tls_connect, s2s->cfg, false, setup_connect,
			   sc, err, errlen) < 0) {
		tls_hosts_free(&s2s->tls_accept);
		return -1;
	}
	return 0;
}

void s2s_tls_free(struct s2s *s2s)
{
	tls_hosts_free(&s2s->tls_accept);
	tls_hosts_free(&s2s->tls_connect);
}

struct tls_conn *s2s_tls_new(struct s2s_conn *c)
{
	struct s2s *s2s = c->s2s;
	/* After STARTTLS the header's 'to' already chose our domain; SNI,
	 * when the peer sends it, may still choose another. A name under
	 * no host (an external component named gateway.example.net) has
	 * no certificate of its own: it gets the first host's, so that
	 * the stream is encrypted all the same, and its peer then
	 * authenticates it by dialback (XEP-0220) unless that certificate
	 * names it too (docs/federation.md). */
	const struct tls_hosts *hosts =
		c->nc.outgoing ? &s2s->tls_connect : &s2s->tls_accept;
	SSL_CTX *ctx = c->local[0] ? tls_hosts_find(hosts, c->local) : NULL;
	struct tls_conn *t = tls_conn_new(ctx ? ctx : hosts->ctx[0],
					  !c->nc.outgoing, &c->nc.output.out);
	char sni[S2S_DOMAIN_MAX + 1];
	if (!t || !c->nc.outgoing)
		return t;
	/* RFC 6120 §13.7.2.1 and RFC 6125: the name we expect is the
	 * remote domain, sent as SNI. */
	if (s2s_domain_ascii(c->remote, sni, sizeof sni) == 0)
		SSL_set_tlsext_host_name(tls_conn_ssl(t), sni);
	return t;
}

bool s2s_tls_peer_verified(const struct s2s_conn *c)
{
	SSL *ssl = tls_conn_ssl(c->nc.tls);
	X509 *cert = SSL_get0_peer_certificate(ssl);
	return cert && SSL_get_verify_result(ssl) == X509_V_OK;
}

bool s2s_tls_peer_proves(const struct s2s_conn *c, const char *domain)
{
	if (!c->nc.tls || !c->nc.tls_ready || !c->cert_valid)
		return false;
	X509 *cert = SSL_get0_peer_certificate(tls_conn_ssl(c->nc.tls));
	char ascii[S2S_DOMAIN_MAX + 1];
	return cert && s2s_domain_ascii(domain, ascii, sizeof ascii) == 0 &&
	       s2s_identity_matches(cert, ascii);
}
