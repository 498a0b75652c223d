/* tls: OpenSSL over memory (see tls.h). */
#include "tls.h"

#include <openssl/err.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tls_record.h"

/* Record boundaries in the bytes of one direction, as they pass. */
struct tls_scan {
	uint64_t records; /* headers seen */
	size_t body_left;
	unsigned char head[5];
	size_t head_have;
};

/* What tls_conn_release needs of one direction, gathered while OpenSSL
 * runs the connection. */
struct tls_capture_dir {
	unsigned char secret[EVP_MAX_MD_SIZE]; /* the current traffic secret */
	size_t secret_len;                     /* 0 until captured */
	uint64_t records;  /* records OpenSSL handled (its message callback) */
	uint64_t keyed_at; /* how many came before the current secret */
	struct tls_scan scan; /* the same records, counted in the bytes */
};

struct tls_capture {
	struct tls_capture_dir read, write;
};

struct tls_conn {
	SSL *ssl;                    /* NULL once released */
	struct tls_record *record;   /* once released */
	struct tls_capture *capture; /* while release may come */
	struct buf *out;
	const char *in; /* ciphertext of the current tls_conn_feed */
	size_t in_len;
};

/* ------------------------------------------------------------------ */
/* Counting records */

static void tls_scan_feed(struct tls_scan *s, const unsigned char *p, size_t n)
{
	while (n > 0) {
		if (s->body_left > 0) {
			size_t k = n < s->body_left ? n : s->body_left;
			s->body_left -= k;
			p += k;
			n -= k;
			continue;
		}
		s->head[s->head_have++] = *p++;
		n--;
		if (s->head_have == sizeof s->head) {
			s->records++;
			s->body_left = (size_t)s->head[3] << 8 | s->head[4];
			s->head_have = 0;
		}
	}
}

/* ------------------------------------------------------------------ */
/* A BIO over the caller's bytes: reads come from the chunk being fed,
 * writes go to the connection's output buffer. OpenSSL keeps a partial
 * record in its own read buffer, so nothing is copied twice and an idle
 * connection holds no buffer here. */

static BIO_METHOD *tls_bio_method;
static int tls_bio_type;

static int tls_bio_write(BIO *b, const char *data, size_t len, size_t *written)
{
	struct tls_conn *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (buf_append(t->out, data, len) < 0)
		return 0;
	if (t->capture)
		tls_scan_feed(&t->capture->write.scan,
			      (const unsigned char *)data, len);
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
	if (t->capture)
		tls_scan_feed(&t->capture->read.scan,
			      (const unsigned char *)data, n);
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
	int type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK;
	BIO_METHOD *m = BIO_meth_new(type, "palabre");
	if (!m || !BIO_meth_set_write_ex(m, tls_bio_write) ||
	    !BIO_meth_set_read_ex(m, tls_bio_read) ||
	    !BIO_meth_set_ctrl(m, tls_bio_ctrl) ||
	    !BIO_meth_set_create(m, tls_bio_create)) {
		BIO_meth_free(m);
		return;
	}
	tls_bio_method = m;
	tls_bio_type = type;
}

/* ------------------------------------------------------------------ */
/* Capturing what release needs: OpenSSL's callbacks of a server
 * connection. Its BIO is ours, and leads to the tls_conn. */

static struct tls_capture *tls_capture_of(const SSL *ssl)
{
	BIO *b = SSL_get_rbio(ssl);
	struct tls_conn *t = b && BIO_method_type(b) == tls_bio_type
				     ? BIO_get_data(b)
				     : NULL;
	return t ? t->capture : NULL;
}

/* The secret of an NSS key log line, "LABEL <client random> <secret>",
 * into out. Returns its length, 0 when the line is not one. */
static size_t keylog_secret(const char *line, unsigned char *out, size_t size)
{
	const char *hex = strrchr(line, ' ');
	size_t n = hex ? strlen(++hex) : 0;
	if (n == 0 || n % 2 || n / 2 > size)
		return 0;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = OPENSSL_hexchar2int((unsigned char)hex[2 * i]);
		int lo = OPENSSL_hexchar2int((unsigned char)hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			OPENSSL_cleanse(out, size);
			return 0;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return n / 2;
}

/* OpenSSL logs a traffic secret as it starts using it (RFC 8446 §7.1):
 * the server reads with client_application_traffic_secret_0 from the
 * record after the client's Finished, writes with
 * server_application_traffic_secret_0 from the record after its own
 * Finished. Every record OpenSSL handles after this call is under it. */
static void tls_keylog(const SSL *ssl, const char *line)
{
	static const char client[] = "CLIENT_TRAFFIC_SECRET_0 ";
	static const char server[] = "SERVER_TRAFFIC_SECRET_0 ";
	struct tls_capture *cap = tls_capture_of(ssl);
	struct tls_capture_dir *d;
	if (!cap)
		return;
	if (strncmp(line, client, sizeof client - 1) == 0)
		d = &cap->read;
	else if (strncmp(line, server, sizeof server - 1) == 0)
		d = &cap->write;
	else
		return;
	d->secret_len = keylog_secret(line, d->secret, sizeof d->secret);
	d->keyed_at = d->records;
}

/* RFC 8446 §4.6.3: after a KeyUpdate its sender's next record is under
 * the next secret (§7.2). OpenSSL reports the message once the record
 * holding it is written, or read, and before it changes keys. */
static void capture_key_update(const SSL *ssl, struct tls_capture_dir *d)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
	if (d->secret_len == 0)
		return;
	if (!cipher ||
	    tls_record_next_secret(SSL_CIPHER_get_protocol_id(cipher),
				   d->secret, d->secret_len) < 0) {
		OPENSSL_cleanse(d->secret, sizeof d->secret);
		d->secret_len = 0;
		return;
	}
	d->keyed_at = d->records;
}

/* Counts the records OpenSSL reads and writes (one header each), and
 * follows KeyUpdates either way. */
static void tls_msg(int write_p, int version, int content_type, const void *buf,
		    size_t len, SSL *ssl, void *arg)
{
	struct tls_capture *cap = tls_capture_of(ssl);
	(void)version;
	(void)arg;
	if (!cap)
		return;
	struct tls_capture_dir *d = write_p ? &cap->write : &cap->read;
	if (content_type == SSL3_RT_HEADER)
		d->records++;
	else if (content_type == SSL3_RT_HANDSHAKE && len > 0 &&
		 *(const unsigned char *)buf == SSL3_MT_KEY_UPDATE)
		capture_key_update(ssl, d);
}

void tls_conn_enable_release(SSL_CTX *ctx)
{
	SSL_CTX_set_keylog_callback(ctx, tls_keylog);
	SSL_CTX_set_msg_callback(ctx, tls_msg);
}

static void capture_free(struct tls_conn *t)
{
	OPENSSL_clear_free(t->capture, sizeof *t->capture);
	t->capture = NULL;
}

/* ------------------------------------------------------------------ */
/* Connections */

struct tls_conn *tls_conn_new(SSL_CTX *ctx, bool server, struct buf *out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, tls_bio_methods_init);
	if (!tls_bio_method)
		return NULL;
	/* OpenSSL's allocator, so that its memory hooks see all of it. */
	struct tls_conn *t = OPENSSL_zalloc(sizeof *t);
	if (!t)
		return NULL;
	bool capture = server && SSL_CTX_get_keylog_callback(ctx) == tls_keylog;
	t->out = out;
	t->ssl = SSL_new(ctx);
	t->capture = capture ? OPENSSL_zalloc(sizeof *t->capture) : NULL;
	BIO *bio = BIO_new(tls_bio_method);
	if (!t->ssl || !bio || (capture && !t->capture)) {
		BIO_free(bio);
		tls_conn_free(t);
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
	tls_record_free(t->record);
	capture_free(t);
	OPENSSL_free(t);
}

enum tls_status tls_conn_feed(struct tls_conn *t, const char *data, size_t len,
			      tls_plain_fn fn, void *ctx)
{
	/* One record's plaintext at most; shared, as the loop is one thread. */
	static char plain[16384];
	enum tls_status status = TLS_OK;
	if (t->record) {
		status = tls_record_feed(t->record, data, len, fn, ctx);
		goto done;
	}
	t->in = data;
	t->in_len = len;
	if (!SSL_is_init_finished(t->ssl)) {
		int r = SSL_do_handshake(t->ssl);
		if (r != 1) {
			int e = SSL_get_error(t->ssl, r);
			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE) {
				char msg[256] = "";
				ERR_error_string_n(ERR_peek_last_error(), msg,
						   sizeof msg);
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
		status = e == SSL_ERROR_ZERO_RETURN ? TLS_PEER_CLOSED
						    : TLS_ERROR;
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
	if (t->record)
		return tls_record_write(t->record, data, len);
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
	if (t->record) {
		tls_record_close(t->record);
		return;
	}
	if (SSL_is_init_finished(t->ssl) &&
	    !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
		SSL_shutdown(t->ssl);
	ERR_clear_error();
}

bool tls_conn_handshake_done(const struct tls_conn *t)
{
	return t->record || SSL_is_init_finished(t->ssl);
}

const char *tls_conn_describe(const struct tls_conn *t, char *out, size_t size)
{
	if (t->record)
		snprintf(out, size, "TLSv1.3 %s (released)",
			 tls_record_suite_name(t->record));
	else
		snprintf(out, size, "%s %s%s", SSL_get_version(t->ssl),
			 SSL_get_cipher_name(t->ssl),
			 SSL_session_reused(t->ssl) ? " (resumed)" : "");
	return out;
}

SSL *tls_conn_ssl(const struct tls_conn *t)
{
	return t->ssl;
}

/* ------------------------------------------------------------------ */
/* Release */

/* Where a direction stands at release: every record whole, OpenSSL's
 * count and ours agreeing. The sequence number of its next record is how
 * many went under the current secret (RFC 8446 §5.3). */
static bool capture_next_seq(const struct tls_capture_dir *d, uint64_t *seq)
{
	const struct tls_scan *s = &d->scan;
	if (d->secret_len == 0 || s->head_have || s->body_left ||
	    s->records != d->records || d->records < d->keyed_at)
		return false;
	*seq = d->records - d->keyed_at;
	return true;
}

/* A TLS 1.3 server connection, established, open both ways, with nothing
 * read but not yet delivered, nothing waiting to be written, no KeyUpdate
 * of ours pending. */
static bool tls_conn_quiet(SSL *ssl)
{
	return SSL_is_server(ssl) && SSL_version(ssl) == TLS1_3_VERSION &&
	       SSL_is_init_finished(ssl) && SSL_get_shutdown(ssl) == 0 &&
	       SSL_pending(ssl) == 0 && !SSL_has_pending(ssl) &&
	       !SSL_want_write(ssl) &&
	       SSL_get_key_update_type(ssl) == SSL_KEY_UPDATE_NONE;
}

int tls_conn_release(struct tls_conn *t)
{
	if (t->record) {
		tls_record_idle(t->record);
		return 0;
	}
	struct tls_capture *cap = t->capture;
	struct tls_record_keys keys;
	if (!cap || !tls_conn_quiet(t->ssl) ||
	    !capture_next_seq(&cap->read, &keys.read_seq) ||
	    !capture_next_seq(&cap->write, &keys.write_seq) ||
	    cap->read.secret_len != cap->write.secret_len)
		return -1;
	keys.suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(t->ssl));
	keys.read_secret = cap->read.secret;
	keys.write_secret = cap->write.secret;
	keys.secret_len = cap->read.secret_len;
	t->record = tls_record_new(&keys, t->out);
	if (!t->record)
		return -1;
	SSL_free(t->ssl);
	t->ssl = NULL;
	capture_free(t);
	return 0;
}

size_t tls_conn_memory(const struct tls_conn *t)
{
	size_t n = sizeof *t + (t->capture ? sizeof *t->capture : 0);
	return n + (t->record ? tls_record_memory(t->record) : 0);
}
