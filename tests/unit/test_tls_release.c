/* tls release: a server tls_conn that leaves OpenSSL for its own TLS 1.3
 * record layer (tls_conn_release) goes on talking with a real OpenSSL
 * client over memory, for each AEAD suite: data both ways in records of
 * every size and in pieces of every size, KeyUpdate (RFC 8446 §4.6.3),
 * closure (§6.1), bad records (§5.2); release refused when it cannot be
 * exact; and what a released connection costs. */
#include <check.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/tls.h"
#include "tls_identity.h"
#include "unit.h"

static const char *const suites[] = {
	"TLS_AES_128_GCM_SHA256",
	"TLS_AES_256_GCM_SHA384",
	"TLS_CHACHA20_POLY1305_SHA256",
};
#define SUITES (int)(sizeof suites / sizeof suites[0])

/* ---- OpenSSL's memory, counted (CRYPTO_set_mem_functions) ---- */

#define BLOCK_HEAD alignof(max_align_t)
static size_t live_bytes;

static void *counted_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	unsigned char *p = malloc(BLOCK_HEAD + n);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof n);
	live_bytes += n;
	return p + BLOCK_HEAD;
}

static void counted_free(void *q, const char *file, int line)
{
	(void)file;
	(void)line;
	if (!q)
		return;
	unsigned char *p = (unsigned char *)q - BLOCK_HEAD;
	size_t n;
	memcpy(&n, p, sizeof n);
	live_bytes -= n;
	free(p);
}

static void *counted_realloc(void *q, size_t n, const char *file, int line)
{
	if (!q)
		return counted_malloc(n, file, line);
	unsigned char *p = (unsigned char *)q - BLOCK_HEAD;
	size_t old;
	memcpy(&old, p, sizeof old);
	p = realloc(p, BLOCK_HEAD + n);
	if (!p)
		return NULL;
	memcpy(p, &n, sizeof n);
	live_bytes += n - old;
	return p + BLOCK_HEAD;
}

/* ---- a server tls_conn and an OpenSSL client, over memory ---- */

struct pair {
	SSL_CTX *server_ctx, *client_ctx;
	struct tls_conn *server;
	struct buf out; /* the server's records */
	struct buf got; /* the plaintext the server received */
	SSL *client;
	BIO *to_client, *from_client;
	bool pieces;     /* feed the server in pieces of odd sizes */
	size_t piece;    /* which size next */
	int key_updates; /* KeyUpdates the client received */
	int hellos;      /* ServerHellos (and HelloRetryRequests) */
};

static int on_plain(void *ctx, const char *data, size_t len)
{
	struct pair *p = ctx;
	ck_assert_int_eq(buf_append(&p->got, data, len), 0);
	return 0;
}

static void client_msg(int write_p, int version, int content_type,
		       const void *buf, size_t len, SSL *ssl, void *arg)
{
	struct pair *p = arg;
	(void)version;
	(void)ssl;
	if (write_p || content_type != SSL3_RT_HANDSHAKE || len == 0)
		return;
	if (*(const unsigned char *)buf == SSL3_MT_KEY_UPDATE)
		p->key_updates++;
	if (*(const unsigned char *)buf == SSL3_MT_SERVER_HELLO)
		p->hellos++;
}

/* A server context as c2s makes it (lib/tls_hosts.c, server/c2s/tls.c). */
static SSL_CTX *server_ctx_new(const char *suite)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	ck_assert_ptr_nonnull(ctx);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 1);
	ck_assert_int_eq(SSL_CTX_set_ciphersuites(ctx, suite), 1);
	unit_use_new_identity(ctx);
	tls_conn_enable_release(ctx);
	return ctx;
}

/* A new connection of the pair's contexts. */
static void pair_connect(struct pair *p)
{
	p->server = tls_conn_new(p->server_ctx, true, &p->out);
	p->client = SSL_new(p->client_ctx);
	p->to_client = BIO_new(BIO_s_mem());
	p->from_client = BIO_new(BIO_s_mem());
	ck_assert(p->server && p->client && p->to_client && p->from_client);
	SSL_set_bio(p->client, p->to_client, p->from_client);
	SSL_set_connect_state(p->client);
	SSL_set_msg_callback(p->client, client_msg);
	SSL_set_msg_callback_arg(p->client, p);
}

static void pair_open(struct pair *p, int suite, int client_max_version)
{
	memset(p, 0, sizeof *p);
	p->server_ctx = server_ctx_new(suites[suite]);
	p->client_ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(p->client_ctx);
	ck_assert_int_eq(SSL_CTX_set_ciphersuites(p->client_ctx, suites[suite]),
			 1);
	if (client_max_version)
		SSL_CTX_set_max_proto_version(p->client_ctx,
					      client_max_version);
	pair_connect(p);
}

static void pair_disconnect(struct pair *p)
{
	tls_conn_free(p->server);
	SSL_free(p->client);
	p->server = NULL;
	p->client = NULL;
	buf_clear(&p->out);
	buf_clear(&p->got);
}

static void pair_close(struct pair *p)
{
	pair_disconnect(p);
	SSL_CTX_free(p->server_ctx);
	SSL_CTX_free(p->client_ctx);
	buf_free(&p->out);
	buf_free(&p->got);
}

/* Ciphertext the client wrote, taken out of its BIO. */
static size_t client_records(struct pair *p, char **data)
{
	char *mem;
	long n = BIO_get_mem_data(p->from_client, &mem);
	*data = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(*data);
	memcpy(*data, mem, (size_t)n);
	ck_assert_int_eq(BIO_reset(p->from_client), 1);
	return (size_t)n;
}

/* Sizes that cut headers, bodies and tags anywhere. */
static size_t next_piece(struct pair *p, size_t left)
{
	static const size_t sizes[] = {1, 2, 3, 7, 13, 333, 4096, 16390, 17, 5};
	size_t n =
		p->pieces ? sizes[p->piece++ % (sizeof sizes / sizeof sizes[0])]
			  : left;
	return n < left ? n : left;
}

static enum tls_status feed(struct pair *p, const char *data, size_t len)
{
	enum tls_status st = TLS_OK;
	for (size_t off = 0, n; off < len && st == TLS_OK; off += n) {
		n = next_piece(p, len - off);
		st = tls_conn_feed(p->server, data + off, n, on_plain, p);
	}
	return st;
}

static enum tls_status to_server(struct pair *p)
{
	char *data;
	size_t len = client_records(p, &data);
	enum tls_status st = feed(p, data, len);
	free(data);
	return st;
}

static void to_client(struct pair *p)
{
	if (p->out.len > 0)
		ck_assert_int_eq(
			BIO_write(p->to_client, p->out.data, (int)p->out.len),
			(int)p->out.len);
	buf_clear(&p->out);
}

/* Reads what the client has; asserts that it only wants more. */
static size_t client_read(struct pair *p, char *out, size_t size)
{
	size_t total = 0, n;
	while (SSL_read_ex(p->client, out + total, size - total, &n) == 1)
		total += n;
	ck_assert_int_eq(SSL_get_error(p->client, 0), SSL_ERROR_WANT_READ);
	return total;
}

static void handshake(struct pair *p)
{
	char none[1];
	for (int i = 0; i < 8 && !SSL_is_init_finished(p->client); i++) {
		SSL_do_handshake(p->client);
		ck_assert_int_eq(to_server(p), TLS_OK);
		to_client(p);
	}
	ck_assert(SSL_is_init_finished(p->client));
	ck_assert(tls_conn_handshake_done(p->server));
	ck_assert_uint_eq(client_read(p, none, sizeof none), 0); /* tickets */
}

static char *pattern(size_t len, unsigned seed)
{
	char *data = malloc(len + 1);
	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)((i * 7 + seed) % 251);
	return data;
}

/* len bytes from the client to the server, then len bytes back. */
static void exchange(struct pair *p, size_t len)
{
	char *data = pattern(len, (unsigned)len);
	char *back = malloc(len + 1);
	size_t n;
	ck_assert_ptr_nonnull(back);
	buf_clear(&p->got);
	if (len > 0)
		ck_assert(SSL_write_ex(p->client, data, len, &n) == 1 &&
			  n == len);
	ck_assert_int_eq(to_server(p), TLS_OK);
	ck_assert_uint_eq(p->got.len, len);
	ck_assert(len == 0 || memcmp(p->got.data, data, len) == 0);
	ck_assert_int_eq(tls_conn_write(p->server, data, len), 0);
	to_client(p);
	ck_assert_uint_eq(client_read(p, back, len + 1), len);
	ck_assert(memcmp(back, data, len) == 0);
	free(data);
	free(back);
}

static void open_and_release(struct pair *p, int suite)
{
	pair_open(p, suite, 0);
	handshake(p);
	exchange(p, 5);
	ck_assert_int_eq(tls_conn_release(p->server), 0);
	ck_assert_ptr_null(tls_conn_ssl(p->server));
	ck_assert(tls_conn_handshake_done(p->server));
}

/* ---- data ---- */

START_TEST(data_flows_both_ways_after_release)
{
	static const size_t sizes[] = {0, 1, 16383, 16384, 16385, 100 * 1024};
	struct pair p;
	open_and_release(&p, _i);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		exchange(&p, sizes[i]);
	pair_close(&p);
}
END_TEST

START_TEST(many_records_in_pieces_of_any_size)
{
	struct pair p;
	open_and_release(&p, _i);
	p.pieces = true;
	for (size_t i = 0; i < 300; i++)
		exchange(&p, i * 97 % 20000);
	pair_close(&p);
}
END_TEST

START_TEST(many_records_in_one_read)
{
	struct pair p;
	size_t n;
	open_and_release(&p, _i);
	buf_clear(&p.got);
	for (int i = 0; i < 50; i++)
		ck_assert(SSL_write_ex(p.client, "<presence/>", 11, &n) == 1);
	ck_assert_int_eq(to_server(&p), TLS_OK);
	ck_assert_uint_eq(p.got.len, 50 * 11);
	exchange(&p, 3);
	pair_close(&p);
}
END_TEST

/* ---- handshakes of other shapes ---- */

START_TEST(a_resumed_session_is_released)
{
	struct pair p;
	pair_open(&p, _i, 0);
	handshake(&p);
	SSL_SESSION *session = SSL_get1_session(p.client);
	ck_assert_ptr_nonnull(session);
	ck_assert_int_eq(tls_conn_release(p.server), 0);
	tls_conn_shutdown(p.server);
	to_client(&p);
	/* A session is resumable after a clean shutdown only. */
	ck_assert_int_eq(SSL_shutdown(p.client), 0); /* sends its own */
	ck_assert_int_eq(SSL_shutdown(p.client), 1); /* reads ours */
	pair_disconnect(&p);
	pair_connect(&p);
	ck_assert_int_eq(SSL_set_session(p.client, session), 1);
	SSL_SESSION_free(session);
	handshake(&p);
	ck_assert(SSL_session_reused(p.client));
	ck_assert_int_eq(tls_conn_release(p.server), 0);
	exchange(&p, 20000);
	pair_close(&p);
}
END_TEST

/* RFC 8446 §4.1.4: the client's key share is not for a group we take:
 * a HelloRetryRequest, a second ClientHello, and a change_cipher_spec
 * each way (middlebox compatibility, §D.4) before the keys change. */
START_TEST(a_session_after_a_hello_retry_request_is_released)
{
	struct pair p;
	pair_open(&p, _i, 0);
	ck_assert_int_eq(SSL_set1_groups_list(tls_conn_ssl(p.server), "P-256"),
			 1);
	ck_assert_int_eq(SSL_set1_groups_list(p.client, "X25519:P-256"), 1);
	handshake(&p);
	ck_assert_int_eq(p.hellos, 2);
	ck_assert_int_eq(tls_conn_release(p.server), 0);
	exchange(&p, 20000);
	pair_close(&p);
}
END_TEST

/* Each record cut right after its header, then after `cut` more bytes. */
static void feed_cut(struct pair *p, size_t len, size_t cut)
{
	char *text = pattern(len, 1), *data;
	size_t n;
	buf_clear(&p->got);
	ck_assert(SSL_write_ex(p->client, text, len, &n) == 1);
	size_t records = client_records(p, &data);
	ck_assert_uint_gt(records, 5 + cut);
	ck_assert_int_eq(tls_conn_feed(p->server, data, 5, on_plain, p),
			 TLS_OK);
	ck_assert_int_eq(tls_conn_feed(p->server, data + 5, cut, on_plain, p),
			 TLS_OK);
	ck_assert_int_eq(tls_conn_feed(p->server, data + 5 + cut,
				       records - 5 - cut, on_plain, p),
			 TLS_OK);
	ck_assert_uint_eq(p->got.len, len);
	ck_assert(memcmp(p->got.data, text, len) == 0);
	free(text);
	free(data);
}

START_TEST(records_cut_after_their_header)
{
	struct pair p;
	open_and_release(&p, _i);
	feed_cut(&p, 10, 0);
	feed_cut(&p, 16384, 100);
	feed_cut(&p, 10, 0);
	feed_cut(&p, 16384, 0);
	exchange(&p, 100);
	pair_close(&p);
}
END_TEST

/* ---- KeyUpdate (RFC 8446 §4.6.3) ---- */

START_TEST(a_key_update_not_requested_changes_the_read_keys)
{
	struct pair p;
	open_and_release(&p, _i);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(
			SSL_key_update(p.client, SSL_KEY_UPDATE_NOT_REQUESTED),
			1);
		exchange(&p, 100);
	}
	ck_assert_int_eq(p.key_updates, 0);
	pair_close(&p);
}
END_TEST

START_TEST(a_key_update_requested_is_answered_by_ours)
{
	struct pair p;
	open_and_release(&p, _i);
	for (int i = 1; i <= 3; i++) {
		ck_assert_int_eq(
			SSL_key_update(p.client, SSL_KEY_UPDATE_REQUESTED), 1);
		exchange(&p, 16385);
		ck_assert_int_eq(p.key_updates, i);
	}
	pair_close(&p);
}
END_TEST

START_TEST(key_updates_before_release_are_followed)
{
	struct pair p;
	pair_open(&p, _i, 0);
	handshake(&p);
	ck_assert_int_eq(SSL_key_update(p.client, SSL_KEY_UPDATE_REQUESTED), 1);
	exchange(&p, 10);
	ck_assert_int_eq(SSL_key_update(p.client, SSL_KEY_UPDATE_NOT_REQUESTED),
			 1);
	exchange(&p, 10);
	ck_assert_int_eq(p.key_updates, 1);
	ck_assert_int_eq(tls_conn_release(p.server), 0);
	exchange(&p, 1000);
	ck_assert_int_eq(SSL_key_update(p.client, SSL_KEY_UPDATE_REQUESTED), 1);
	exchange(&p, 1000);
	ck_assert_int_eq(p.key_updates, 2);
	pair_close(&p);
}
END_TEST

/* ---- closure (RFC 8446 §6.1) ---- */

START_TEST(our_shutdown_sends_close_notify)
{
	struct pair p;
	char none[1];
	size_t n;
	open_and_release(&p, _i);
	tls_conn_shutdown(p.server);
	to_client(&p);
	ck_assert_int_eq(SSL_read_ex(p.client, none, sizeof none, &n), 0);
	ck_assert_int_eq(SSL_get_error(p.client, 0), SSL_ERROR_ZERO_RETURN);
	ck_assert_int_eq(tls_conn_write(p.server, "late", 4), -1);
	pair_close(&p);
}
END_TEST

START_TEST(the_clients_close_notify_ends_its_side)
{
	struct pair p;
	open_and_release(&p, _i);
	ck_assert_int_eq(SSL_shutdown(p.client), 0);
	ck_assert_int_eq(to_server(&p), TLS_PEER_CLOSED);
	ck_assert_int_eq(tls_conn_feed(p.server, "more", 4, on_plain, &p),
			 TLS_PEER_CLOSED);
	tls_conn_shutdown(p.server);
	to_client(&p);
	ck_assert_int_eq(SSL_shutdown(p.client), 1);
	pair_close(&p);
}
END_TEST

/* ---- bad records (RFC 8446 §5.2) ---- */

/* A record of the client with one bit flipped at offset `at` (negative:
 * from the end) is refused with bad_record_mac, and nothing of it read. */
static void tampered_at(int suite, long at)
{
	struct pair p;
	char *data, none[1];
	size_t n;
	open_and_release(&p, suite);
	ck_assert(SSL_write_ex(p.client, "<message/>", 10, &n) == 1);
	size_t len = client_records(&p, &data);
	data[at < 0 ? (long)len + at : at] ^= 0x01;
	buf_clear(&p.got);
	ck_assert_int_eq(feed(&p, data, len), TLS_ERROR);
	ck_assert_uint_eq(p.got.len, 0);
	ck_assert_int_eq(tls_conn_feed(p.server, "", 0, on_plain, &p),
			 TLS_ERROR);
	to_client(&p);
	ck_assert_int_eq(SSL_read_ex(p.client, none, sizeof none, &n), 0);
	ck_assert_int_eq(SSL_get_error(p.client, 0), SSL_ERROR_SSL);
	free(data);
	pair_close(&p);
}

START_TEST(a_tampered_record_is_an_error)
{
	tampered_at(_i, -1); /* the tag */
	tampered_at(_i, 8);  /* the ciphertext */
	tampered_at(_i, 2);  /* the header, authenticated too */
}
END_TEST

/* Bytes from the client after release that are not a record of ours. */
static void feeding_is_an_error(int i, const char *bytes, size_t len)
{
	struct pair p;
	open_and_release(&p, i);
	ck_assert_int_eq(tls_conn_feed(p.server, bytes, len, on_plain, &p),
			 TLS_ERROR);
	pair_close(&p);
}

START_TEST(a_record_over_the_limit_is_an_error)
{
	/* RFC 8446 §5.2: at most 2^14 + 256 bytes: 16641 is one too many. */
	feeding_is_an_error(_i, "\x17\x03\x03\x41\x01", 5);
}
END_TEST

START_TEST(an_outer_type_other_than_application_data_is_an_error)
{
	feeding_is_an_error(_i, "\x14\x03\x03\x00\x01\x01", 6);
}
END_TEST

/* ---- release refused ---- */

START_TEST(release_is_refused_on_tls_1_2)
{
	struct pair p;
	pair_open(&p, 0, TLS1_2_VERSION);
	handshake(&p);
	ck_assert_int_eq(tls_conn_release(p.server), -1);
	ck_assert_ptr_nonnull(tls_conn_ssl(p.server));
	exchange(&p, 20000);
	pair_close(&p);
}
END_TEST

START_TEST(release_is_refused_during_the_handshake)
{
	struct pair p;
	pair_open(&p, _i, 0);
	SSL_do_handshake(p.client);
	ck_assert_int_eq(to_server(&p), TLS_OK);
	ck_assert_int_eq(tls_conn_release(p.server), -1);
	to_client(&p);
	handshake(&p);
	ck_assert_int_eq(tls_conn_release(p.server), 0);
	exchange(&p, 100);
	pair_close(&p);
}
END_TEST

START_TEST(release_is_refused_in_the_middle_of_a_record)
{
	struct pair p;
	char *data;
	size_t n;
	pair_open(&p, _i, 0);
	handshake(&p);
	ck_assert(SSL_write_ex(p.client, "<iq type='get'/>", 16, &n) == 1);
	size_t len = client_records(&p, &data);
	/* in the header, then in the body */
	ck_assert_int_eq(tls_conn_feed(p.server, data, 3, on_plain, &p),
			 TLS_OK);
	ck_assert_int_eq(tls_conn_release(p.server), -1);
	ck_assert_int_eq(tls_conn_feed(p.server, data + 3, 6, on_plain, &p),
			 TLS_OK);
	ck_assert_int_eq(tls_conn_release(p.server), -1);
	ck_assert_int_eq(
		tls_conn_feed(p.server, data + 9, len - 9, on_plain, &p),
		TLS_OK);
	ck_assert_uint_eq(p.got.len, 16);
	free(data);
	ck_assert_int_eq(tls_conn_release(p.server), 0);
	exchange(&p, 100);
	pair_close(&p);
}
END_TEST

START_TEST(release_is_refused_without_enabling_it)
{
	struct pair p;
	pair_open(&p, _i, 0);
	SSL_CTX_set_keylog_callback(p.server_ctx, NULL);
	tls_conn_free(p.server);
	p.server = tls_conn_new(p.server_ctx, true, &p.out);
	handshake(&p);
	ck_assert_int_eq(tls_conn_release(p.server), -1);
	exchange(&p, 100);
	pair_close(&p);
}
END_TEST

/* ---- memory ---- */

START_TEST(a_released_connection_holds_under_2_kib)
{
	struct pair p;
	pair_open(&p, _i, 0);
	handshake(&p);
	exchange(&p, 5);
	size_t with_openssl = live_bytes;
	ck_assert_int_eq(tls_conn_release(p.server), 0);
	size_t freed = with_openssl - live_bytes;
	size_t idle = tls_conn_memory(p.server);
	exchange(&p, 5);
	size_t busy = tls_conn_memory(p.server);
	ck_assert_int_eq(tls_conn_release(p.server), 0); /* quiet again */
	ck_assert_uint_eq(tls_conn_memory(p.server), idle);
	size_t held = live_bytes;
	tls_conn_free(p.server);
	held -= live_bytes;
	p.server = NULL;
	printf("%s: release freed %zu bytes of OpenSSL state; a released "
	       "connection holds %zu bytes idle (counted: %zu), %zu with its "
	       "AEAD contexts\n",
	       suites[_i], freed, idle, held, busy);
	ck_assert_uint_lt(idle, 2048);
	ck_assert_uint_lt(held, 2048);
	ck_assert_uint_eq(held, idle);
	ck_assert_uint_gt(freed, 8 * 1024);
	pair_close(&p);
}
END_TEST

int main(void)
{
	/* Before OpenSSL allocates anything. */
	if (!CRYPTO_set_mem_functions(counted_malloc, counted_realloc,
				      counted_free)) {
		fprintf(stderr, "cannot count OpenSSL's memory\n");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("tls_release");
	TCase *tc = tcase_create("release");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, data_flows_both_ways_after_release, 0, SUITES);
	tcase_add_loop_test(tc, many_records_in_pieces_of_any_size, 0, SUITES);
	tcase_add_loop_test(tc, many_records_in_one_read, 0, SUITES);
	tcase_add_loop_test(tc, records_cut_after_their_header, 0, SUITES);
	tcase_add_loop_test(tc, a_resumed_session_is_released, 0, SUITES);
	tcase_add_loop_test(tc,
			    a_session_after_a_hello_retry_request_is_released,
			    0, SUITES);
	tcase_add_loop_test(tc,
			    a_key_update_not_requested_changes_the_read_keys, 0,
			    SUITES);
	tcase_add_loop_test(tc, a_key_update_requested_is_answered_by_ours, 0,
			    SUITES);
	tcase_add_loop_test(tc, key_updates_before_release_are_followed, 0,
			    SUITES);
	tcase_add_loop_test(tc, our_shutdown_sends_close_notify, 0, SUITES);
	tcase_add_loop_test(tc, the_clients_close_notify_ends_its_side, 0,
			    SUITES);
	tcase_add_loop_test(tc, a_tampered_record_is_an_error, 0, SUITES);
	tcase_add_loop_test(tc, a_record_over_the_limit_is_an_error, 0, SUITES);
	tcase_add_loop_test(
		tc, an_outer_type_other_than_application_data_is_an_error, 0,
		SUITES);
	tcase_add_test(tc, release_is_refused_on_tls_1_2);
	tcase_add_loop_test(tc, release_is_refused_during_the_handshake, 0,
			    SUITES);
	tcase_add_loop_test(tc, release_is_refused_in_the_middle_of_a_record, 0,
			    SUITES);
	tcase_add_loop_test(tc, release_is_refused_without_enabling_it, 0,
			    SUITES);
	tcase_add_loop_test(tc, a_released_connection_holds_under_2_kib, 0,
			    SUITES);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
