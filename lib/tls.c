/* tls: OpenSSL over memory (see tls.h). */
#include "tls.h"

#include <openssl/err.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct tls_conn {
	SSL *ssl;
	struct buf *out;
	const char *in; /* ciphertext of the current tls_conn_feed */
	size_t in_len;
};

/* ------------------------------------------------------------------ */
/* A BIO over the caller's bytes: reads come from the chunk being fed,
 * writes go to the connection's output buffer. OpenSSL keeps a partial
 * record in its own read buffer, so nothing is copied twice and an idle
 * connection holds no buffer here. */

static BIO_METHOD *tls_bio_method;

static int tls_bio_write(BIO *b, const char *data, size_t len, size_t *written)
{
	struct tls_conn *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (buf_append(t->out, data, len) < 0)
		return 0;
	*written = len;
	return 1;
}

static int tls_bio_read(BIO *b, char *data, size_t len, size_t *read)
{
	struct tls_conn *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (t->in_len == 0) {
		BIO_set_retry_read(b);
		*read = 0;
		return 0;
	}
	size_t n = len < t->in_len ? len : t->in_len;
	memcpy(data, t->in, n);
	t->in += n;
	t->in_len -= n;
	*read = n;
	return 1;
}

static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tls_conn *t = BIO_get_data(b);
	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_PENDING:
		return t ? (long)t->in_len : 0;
	default:
		return 0;
	}
}

static int tls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void tls_bio_methods_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				     "palabre");
	if (!m || !BIO_meth_set_write_ex(m, tls_bio_write) ||
	    !BIO_meth_set_read_ex(m, tls_bio_read) ||
	    !BIO_meth_set_ctrl(m, tls_bio_ctrl) ||
	    !BIO_meth_set_create(m, tls_bio_create)) {
		BIO_meth_free(m);
		return;
	}
	tls_bio_method = m;
}

/* ------------------------------------------------------------------ */
/* Connections */

struct tls_conn *tls_conn_new(SSL_CTX *ctx, bool server, struct buf *out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, tls_bio_methods_init);
	if (!tls_bio_method)
		return NULL;
	struct tls_conn *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->out = out;
	t->ssl = SSL_new(ctx);
	BIO *bio = BIO_new(tls_bio_method);
	if (!t->ssl || !bio) {
		BIO_free(bio);
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	BIO_set_data(bio, t);
	SSL_set_bio(t->ssl, bio, bio);
	if (server)
		SSL_set_accept_state(t->ssl);
	else
		SSL_set_connect_state(t->ssl);
	return t;
}

void tls_conn_free(struct tls_conn *t)
{
	if (!t)
		return;
	SSL_free(t->ssl);
	free(t);
}

enum tls_status tls_conn_feed(struct tls_conn *t, const char *data,
			      size_t len, tls_plain_fn fn, void *ctx)
{
	/* One record's plaintext at most; shared, as the loop is one thread. */
	static char plain[16384];
	enum tls_status status = TLS_OK;
	t->in = data;
	t->in_len = len;
	if (!SSL_is_init_finished(t->ssl)) {
		int r = SSL_do_handshake(t->ssl);
		if (r != 1) {
			int e = SSL_get_error(t->ssl, r);
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				char msg[256] = "";
				ERR_error_string_n(ERR_peek_last_error(), msg, sizeof msg);
				log_debug("TLS handshake failed: %s", msg);
				status = TLS_ERROR;
			}
			goto done;
		}
	}
	for (;;) {
		size_t n;
		int r = SSL_read_ex(t->ssl, plain, sizeof plain, &n);
		if (r == 1) {
			if (fn(ctx, plain, n)) {
				status = TLS_STOPPED;
				break;
			}
			continue;
		}
		int e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			break;
		status = e == SSL_ERROR_ZERO_RETURN ? TLS_PEER_CLOSED : TLS_ERROR;
		break;
	}
done:
	t->in = NULL;
	t->in_len = 0;
	ERR_clear_error();
	return status;
}

int tls_conn_write(struct tls_conn *t, const char *data, size_t len)
{
	size_t written;
	if (len == 0)
		return 0;
	if (!SSL_is_init_finished(t->ssl))
		return -1;
	if (SSL_write_ex(t->ssl, data, len, &written) != 1 || written != len) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

void tls_conn_shutdown(struct tls_conn *t)
{
	if (SSL_is_init_finished(t->ssl) && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
		SSL_shutdown(t->ssl);
	ERR_clear_error();
}

bool tls_conn_handshake_done(const struct tls_conn *t)
{
	return SSL_is_init_finished(t->ssl);
}

const char *tls_conn_describe(const struct tls_conn *t, char *out, size_t size)
{
	snprintf(out, size, "%s %s%s", SSL_get_version(t->ssl),
		 SSL_get_cipher_name(t->ssl),
		 SSL_session_reused(t->ssl) ? " (resumed)" : "");
	return out;
}

SSL *tls_conn_ssl(const struct tls_conn *t)
{
	return t->ssl;
}
