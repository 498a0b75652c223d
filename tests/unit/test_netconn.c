/* netconn: the connection layer of c2s and s2s (lib/netconn.h), with a
 * connection type of the test's own, on loopback: a stream parsed and
 * answered, the output bound, close and abort each heard once, the
 * graceful stop and its timeout, and TLS both ways, direct and after
 * STARTTLS (RFC 6120 §5.4.3.3). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/listener.h"
#include "../../lib/log.h"
#include "../../lib/netconn.h"
#include "../../lib/tls.h"
#include "tls_identity.h"
#include "unit.h"

#define HEADER                                                                 \
	"<stream:stream xmlns='jabber:client' "                                \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"

/* The test's connection type: counts what the layer tells it. */
struct tconn {
	struct netconn nc;
	uv_connect_t req;
	unsigned opens;
};

static uv_loop_t loop;
static struct netconn_set set;
static struct listeners ports;
static struct config_listener port_cfg;
static SSL_CTX *server_ctx, *client_ctx;
static bool mute;     /* the type's stream_error says nothing, closes nothing */
static bool starttls; /* outgoing streams ask for STARTTLS */
static unsigned closings, closeds, frees, overflows, tls_readys, stopped;
static unsigned shutdowns;

static struct tconn *tconn_of(struct netconn *nc)
{
	return netconn_outer(nc, struct tconn, nc);
}

/* ---- the type ---- */

static int t_append_header(struct netconn *nc, struct buf *b)
{
	nc->header_sent = true;
	return buf_append_str(b, HEADER);
}

static void t_send_header(struct netconn *nc)
{
	struct buf b = BUF_INIT;
	ck_assert_int_eq(t_append_header(nc, &b), 0);
	netconn_send_buf(nc, &b);
	buf_free(&b);
}

static void t_on_open(void *ctx, const struct xml_node *root)
{
	struct tconn *t = ctx;
	(void)root;
	t->opens++;
	if (!t->nc.outgoing)
		t_send_header(&t->nc);
	else if (starttls && !t->nc.tls)
		netconn_send_str(&t->nc, "<starttls/>");
}

static int t_on_stanza(void *ctx, struct xml_node *el, struct arena *a)
{
	struct netconn *nc = &((struct tconn *)ctx)->nc;
	(void)a;
	if (strcmp(el->name, "ping") == 0) {
		netconn_send_str(nc, "<pong/>");
	} else if (strcmp(el->name, "starttls") == 0) {
		netconn_send_str(nc, "<proceed/>");
		netconn_start_tls_later(nc);
	} else if (strcmp(el->name, "proceed") == 0) {
		netconn_start_tls_later(nc);
	}
	return nc->closing || nc->want_tls;
}

static void t_on_close(void *ctx)
{
	netconn_stream_closed(&((struct tconn *)ctx)->nc);
}

static void t_on_error(void *ctx, enum xmlstream_error e, const char *text)
{
	netconn_stream_error(&((struct tconn *)ctx)->nc,
			     xmlstream_error_condition(e), text);
}

static const struct xmlstream_callbacks t_stream = {t_on_open, t_on_stanza,
						    t_on_close, t_on_error};

static void t_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct netconn *nc = s->data;
	if (netconn_read_ok(nc, n))
		netconn_feed(nc, b->base, (size_t)n);
}

static struct tls_conn *t_tls_new(struct netconn *nc)
{
	return tls_conn_new(nc->outgoing ? client_ctx : server_ctx,
			    !nc->outgoing, &nc->output.out);
}

static void t_tls_ready(struct netconn *nc)
{
	tls_readys++;
	if (nc->outgoing)
		t_send_header(nc);
}

static void t_stream_error(struct netconn *nc, const char *condition,
			   const char *text)
{
	shutdowns += strcmp(condition, "system-shutdown") == 0;
	if (!mute)
		netconn_stream_error(nc, condition, text);
}

static void t_overflowed(struct netconn *nc)
{
	overflows++;
	netconn_stream_error(nc, "policy-violation", NULL);
}

static void t_closing(struct netconn *nc)
{
	(void)nc;
	closings++;
}

static void t_closed(struct netconn *nc)
{
	(void)nc;
	closeds++;
}

static void t_free(struct netconn *nc)
{
	frees++;
	free(tconn_of(nc));
}

static const struct netconn_type t_type = {
	.name = "test conn",
	.alloc = netconn_alloc,
	.read = t_read,
	.tls_new = t_tls_new,
	.tls_ready = t_tls_ready,
	.connected = t_send_header,
	.append_header = t_append_header,
	.stream_error = t_stream_error,
	.overflowed = t_overflowed,
	.closing = t_closing,
	.closed = t_closed,
	.free = t_free,
};

static void t_accept(struct listener *l)
{
	struct tconn *t = calloc(1, sizeof *t);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(netconn_init(&t->nc, &set, &t_stream, t), 0);
	netconn_accept(&t->nc, l);
}

/* ---- the world ---- */

static void listen_on(bool direct_tls)
{
	port_cfg = (struct config_listener){"127.0.0.1", 0, direct_tls};
	ck_assert_int_eq(listeners_open(&ports, &loop, "test", &port_cfg, 1, 16,
					t_accept, NULL),
			 0);
}

static int port_of_listener(void)
{
	struct sockaddr_in sin;
	int len = sizeof sin;
	ck_assert_int_eq(uv_tcp_getsockname(&ports.l[0].tcp,
					    (struct sockaddr *)&sin, &len),
			 0);
	return ntohs(sin.sin_port);
}

static void setup(void)
{
	struct xmlstream_limits limits = {4096, 16};
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	memset(&set, 0, sizeof set);
	memset(&ports, 0, sizeof ports);
	netconn_set_init(&set, &loop, &t_type, &limits, 1 << 20);
	closings = closeds = frees = overflows = tls_readys = stopped = 0;
	shutdowns = 0;
	mute = starttls = false;
	server_ctx = SSL_CTX_new(TLS_server_method());
	client_ctx = SSL_CTX_new(TLS_client_method());
	ck_assert(server_ctx && client_ctx);
	unit_use_new_identity(server_ctx);
}

static void on_stopped(struct netconn_set *s)
{
	ck_assert_ptr_eq(s, &set);
	stopped++;
}

/* Runs the loop until *n reaches want (or 4 s). */
static void run_until(const unsigned *n, unsigned want)
{
	for (int i = 0; i < 4000 && *n < want; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	ck_assert_uint_eq(*n, want);
}

static void teardown(void)
{
	if (!set.stopping)
		netconn_set_stop(&set, on_stopped);
	run_until(&stopped, 1);
	listeners_close(&ports);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	SSL_CTX_free(server_ctx);
	SSL_CTX_free(client_ctx);
}

/* A plain client on its own socket, as a peer would be. */
static int client_connect(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port_of_listener()),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static void client_send(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Reads what the server sent until it contains want, or until the end
 * of the connection when want is NULL; returns it (static). */
static const char *client_read(int fd, const char *want)
{
	static char got[8192];
	size_t len = 0;
	got[0] = '\0';
	for (int i = 0; i < 4000; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		ssize_t n = read(fd, got + len, sizeof got - 1 - len);
		if (n == 0 && !want)
			return got;
		if (n > 0) {
			len += (size_t)n;
			got[len] = '\0';
			if (want && strstr(got, want))
				return got;
		} else if (n < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			usleep(1000);
		}
	}
	ck_abort_msg("timed out; got: %s", got);
	return NULL;
}

static struct netconn *accepted(void)
{
	for (int i = 0; i < 4000 && !set.all; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	ck_assert_ptr_nonnull(set.all);
	return set.all;
}

/* ---- tests ---- */

START_TEST(a_stream_is_parsed_and_answered)
{
	listen_on(false);
	int fd = client_connect();
	client_send(fd, HEADER "<ping/>");
	const char *got = client_read(fd, "<pong/>");
	ck_assert_ptr_nonnull(strstr(got, HEADER "<pong/>"));
	ck_assert_uint_eq(tconn_of(accepted())->opens, 1);
	client_send(fd, "</stream:stream>");
	got = client_read(fd, NULL);
	ck_assert_str_eq(got, "</stream:stream>");
	run_until(&frees, 1);
	ck_assert_uint_eq(closings, 1);
	ck_assert_uint_eq(closeds, 1);
	close(fd);
}
END_TEST

/* Past output_max, the type hears it once; what is sent after is
 * dropped, but its stream error, the stream's last word, goes out. */
START_TEST(past_the_output_bound_the_type_hears_it_once)
{
	listen_on(false);
	int fd = client_connect();
	struct netconn *nc = accepted();
	set.output_max = 10;
	netconn_send_str(nc, "0123456789ab");
	netconn_send_str(nc, "dropped");
	netconn_send_str(nc, "dropped too");
	ck_assert_uint_eq(overflows, 1);
	const char *got = client_read(fd, NULL);
	ck_assert_str_eq(got, "0123456789ab" HEADER "<stream:error>"
			      "<policy-violation xmlns='urn:ietf:params:xml:ns:"
			      "xmpp-streams'/></stream:error></stream:stream>");
	close(fd);
}
END_TEST

START_TEST(close_writes_what_waits_then_ends)
{
	listen_on(false);
	int fd = client_connect();
	struct netconn *nc = accepted();
	netconn_send_str(nc, "bye");
	netconn_close(nc);
	netconn_close(nc);
	ck_assert_str_eq(client_read(fd, NULL), "bye");
	run_until(&frees, 1);
	ck_assert_uint_eq(closings, 1);
	ck_assert_uint_eq(closeds, 1);
	close(fd);
}
END_TEST

START_TEST(a_peer_that_leaves_is_aborted_once)
{
	listen_on(false);
	int fd = client_connect();
	accepted();
	close(fd);
	run_until(&frees, 1);
	ck_assert_uint_eq(closings, 1);
	ck_assert_uint_eq(closeds, 1);
	ck_assert_ptr_null(set.all);
}
END_TEST

START_TEST(a_graceful_stop_ends_every_stream_then_reports)
{
	listen_on(false);
	int a = client_connect(), b = client_connect();
	while (set.next_id < 2)
		uv_run(&loop, UV_RUN_ONCE);
	netconn_set_stop(&set, on_stopped);
	ck_assert_uint_eq(shutdowns, 2);
	ck_assert_ptr_nonnull(strstr(client_read(a, NULL), "<system-shutdown"));
	ck_assert_ptr_nonnull(strstr(client_read(b, NULL), "<system-shutdown"));
	run_until(&stopped, 1);
	ck_assert_uint_eq(frees, 2);
	close(a);
	close(b);
}
END_TEST

/* A stream that does not end when asked is aborted after
 * NETCONN_STOP_TIMEOUT_MS, and the stop completes. */
START_TEST(a_stop_that_takes_too_long_aborts_the_rest)
{
	listen_on(false);
	int fd = client_connect();
	accepted();
	mute = true;
	netconn_set_stop(&set, on_stopped);
	ck_assert_uint_eq(stopped, 0);
	run_until(&stopped, 1);
	ck_assert_uint_eq(closeds, 1);
	close(fd);
}
END_TEST

static struct tconn *connect_out(bool direct_tls)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port_of_listener()),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct tconn *t = calloc(1, sizeof *t);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(netconn_init(&t->nc, &set, &t_stream, t), 0);
	t->nc.direct_tls = direct_tls;
	ck_assert_int_eq(
		netconn_connect(&t->nc, &t->req, (struct sockaddr *)&sin), 0);
	return t;
}

/* The accepted end of an outgoing connection t. */
static struct tconn *other_end(struct tconn *t)
{
	struct netconn *nc = set.all;
	while (nc && nc == &t->nc)
		nc = nc->next;
	ck_assert_ptr_nonnull(nc);
	return tconn_of(nc);
}

START_TEST(direct_tls_both_ways)
{
	listen_on(true);
	struct tconn *out = connect_out(true);
	run_until(&out->opens, 1);
	ck_assert_uint_eq(tls_readys, 2);
	ck_assert(out->nc.tls_ready && other_end(out)->nc.tls_ready);
	ck_assert_uint_eq(other_end(out)->opens, 1);
}
END_TEST

/* RFC 6120 §5.4.3.3: <proceed/>, then TLS on both sides, and the
 * stream starts over inside it. */
START_TEST(starttls_both_ways)
{
	listen_on(false);
	starttls = true;
	struct tconn *out = connect_out(false);
	run_until(&out->opens, 2);
	ck_assert_uint_eq(tls_readys, 2);
	ck_assert_uint_eq(other_end(out)->opens, 2);
	ck_assert(out->nc.tls && other_end(out)->nc.tls);
}
END_TEST

/* A connection closed while it connects ends once connected, without
 * its ClientHello and long before the close timeout (found in review). */
START_TEST(closed_while_connecting_ends_at_the_connect)
{
	listen_on(true);
	struct tconn *out = connect_out(true);
	netconn_close(&out->nc);
	for (int i = 0; i < 3000 && frees == 0; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	ck_assert_uint_ge(frees, 1);
	ck_assert_uint_eq(tls_readys, 0);
}
END_TEST

int main(void)
{
	log_init("test_netconn", LOG_ERROR);
	Suite *s = suite_create("netconn");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, a_stream_is_parsed_and_answered);
	tcase_add_test(tc, past_the_output_bound_the_type_hears_it_once);
	tcase_add_test(tc, close_writes_what_waits_then_ends);
	tcase_add_test(tc, a_peer_that_leaves_is_aborted_once);
	tcase_add_test(tc, a_graceful_stop_ends_every_stream_then_reports);
	tcase_add_test(tc, a_stop_that_takes_too_long_aborts_the_rest);
	tcase_add_test(tc, direct_tls_both_ways);
	tcase_add_test(tc, starttls_both_ways);
	tcase_add_test(tc, closed_while_connecting_ends_at_the_connect);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
