/* link and router: a real router on a temporary Unix socket, real
 * components (link_client) on the same loop, frames going between them. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../lib/link.h"
#include "../../lib/log.h"
#include "../../server/palabred.h"
#include "../../server/router/router_internal.h"
#include "unit.h"
/* The router goes into palabred only: build it into the test. */

#define SECRET "s3cret-of-this-run"
#define MAX_SEEN 2048

/* ---- a component as the tests see it ---- */

struct seen {
	uint8_t type, flags;
	uint64_t conn;
	char to[FRAME_NAME_MAX + 1], from[FRAME_NAME_MAX + 1];
	char *payload;
	size_t payload_len;
};

struct client {
	const char *name;
	struct link *link;
	bool ready, closed;
	struct seen seen[MAX_SEEN];
	size_t nseen;
	size_t npayload_bytes; /* for the big frames of the backpressure test */
	/* sender of the backpressure test */
	int to_send, sent;
	size_t big;
};

static uv_loop_t loop;
static uv_timer_t tick;
static char dir[64], path[128];
static struct router *router;
static struct config cfg;

static void client_on_ready(struct link *l)
{
	struct client *c = link_data(l);
	c->link = l;
	c->ready = true;
}

static void client_on_frame(struct link *l, const struct frame *f)
{
	struct client *c = link_data(l);
	c->link = l;
	c->npayload_bytes += f->payload_len;
	if (c->nseen == MAX_SEEN)
		return;
	struct seen *s = &c->seen[c->nseen++];
	s->type = f->type;
	s->flags = f->flags;
	s->conn = f->conn;
	memcpy(s->to, f->to, f->to_len);
	s->to[f->to_len] = '\0';
	memcpy(s->from, f->from, f->from_len);
	s->from[f->from_len] = '\0';
	s->payload_len = f->payload_len;
	size_t keep = f->payload_len < 256 ? f->payload_len : 0;
	s->payload = malloc(keep + 1);
	memcpy(s->payload, f->payload, keep);
	s->payload[keep] = '\0';
}

static void client_on_close(struct link *l)
{
	struct client *c = link_data(l);
	c->closed = true;
	c->ready = false;
	c->link = NULL;
}

static void client_on_drain(struct link *l);

static const struct link_client_callbacks client_callbacks = {
	.on_ready = client_on_ready,
	.on_frame = client_on_frame,
	.on_close = client_on_close,
	.on_drain = client_on_drain,
};

static struct client *client_new(const char *name)
{
	struct client *c = calloc(1, sizeof *c);
	c->name = name;
	return c;
}

static void client_free(struct client *c)
{
	for (size_t i = 0; i < c->nseen; i++)
		free(c->seen[i].payload);
	free(c);
}

static void tick_cb(uv_timer_t *t)
{
}

/* Runs the loop until *flag or 3 seconds. */
static bool run_until(const bool *flag)
{
	uint64_t deadline = uv_now(&loop) + 3000;
	while (!*flag && uv_now(&loop) < deadline)
		uv_run(&loop, UV_RUN_ONCE);
	return *flag;
}

static bool run_until_seen(struct client *c, size_t n)
{
	uint64_t deadline = uv_now(&loop) + 5000;
	while (c->nseen < n && uv_now(&loop) < deadline)
		uv_run(&loop, UV_RUN_ONCE);
	return c->nseen >= n;
}

/* Lets the loop go round for ms milliseconds: for "nothing arrives". */
static void run_for(unsigned ms)
{
	uint64_t deadline = uv_now(&loop) + ms;
	while (uv_now(&loop) < deadline)
		uv_run(&loop, UV_RUN_ONCE);
}

static struct client *connect_as(const char *name, const char *secret,
				 const char *const *binds)
{
	struct client *c = client_new(name);
	ck_assert_int_eq(link_client_connect(&loop, path, name, secret, binds,
					     &client_callbacks, c),
			 0);
	return c;
}

static struct client *ready_client(const char *name, const char *const *binds)
{
	struct client *c = connect_as(name, SECRET, binds);
	ck_assert_msg(run_until(&c->ready), "%s not ready", name);
	return c;
}

static void send_frame(struct client *c, enum frame_type type, const char *to,
		       const char *from, uint64_t conn, const char *payload)
{
	struct frame f = {.type = type, .conn = conn};
	frame_set_to(&f, to);
	frame_set_from(&f, from);
	f.payload = payload;
	f.payload_len = strlen(payload);
	ck_assert_int_eq(link_send(c->link, &f), 0);
}

static void close_client(struct client *c)
{
	if (c->link)
		link_close(c->link);
	run_until(&c->closed);
}

/* ---- fixture ---- */

static void setup(void)
{
	log_init("test_link", LOG_ERROR);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, tick_cb, 10, 10);
	strcpy(dir, "/tmp/palabre-link-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/router.sock", dir);
	memset(&cfg, 0, sizeof cfg);
	cfg.router_socket = path;
	router = router_start(&loop, &cfg, SECRET);
	ck_assert_ptr_nonnull(router);
}

static void teardown(void)
{
	router_stop(router);
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	ck_assert_int_ne(access(path, F_OK), 0); /* the socket is gone */
	rmdir(dir);
}

/* ---- the handshake ---- */

START_TEST(auth_ok)
{
	const char *binds[] = {"example.org", NULL};
	struct client *sm = ready_client("sm", binds);
	ck_assert(!sm->closed);
	close_client(sm);
	client_free(sm);
}
END_TEST

START_TEST(socket_is_private)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(wrong_secret_refused)
{
	struct client *c = connect_as("sm", "not the secret", NULL);
	ck_assert(run_until(&c->closed));
	ck_assert(!c->ready);
	/* the router still serves the right secret afterwards */
	struct client *ok = ready_client("sm", NULL);
	close_client(ok);
	client_free(ok);
	client_free(c);
}
END_TEST

START_TEST(duplicate_name_refused)
{
	struct client *a = ready_client("c2s.1", NULL);
	struct client *b = connect_as("c2s.1", SECRET, NULL);
	ck_assert(run_until(&b->closed));
	ck_assert(!b->ready);
	ck_assert(!a->closed);
	close_client(a);
	client_free(a);
	client_free(b);
}
END_TEST

START_TEST(no_router)
{
	struct client *c = client_new("c2s.1");
	char missing[160];
	snprintf(missing, sizeof missing, "%s/none.sock", dir);
	ck_assert_int_eq(link_client_connect(&loop, missing, "c2s.1", SECRET,
					     NULL, &client_callbacks, c),
			 0);
	ck_assert(run_until(&c->closed));
	ck_assert(!c->ready);
	client_free(c);
}
END_TEST

START_TEST(tcp_refused)
{
	struct client *c = client_new("c2s.1");
	ck_assert_int_eq(link_client_connect(&loop, "127.0.0.1:1", "c2s.1",
					     SECRET, NULL, &client_callbacks,
					     c),
			 0);
	ck_assert(run_until(&c->closed));
	ck_assert(!c->ready);
	client_free(c);
}
END_TEST

START_TEST(bad_arguments)
{
	struct client *c = client_new("x");
	ck_assert_int_eq(link_client_connect(&loop, "no-port", "x", SECRET,
					     NULL, &client_callbacks, c),
			 -1);
	ck_assert_int_eq(link_client_connect(&loop, path, "", SECRET, NULL,
					     &client_callbacks, c),
			 -1);
	client_free(c);
}
END_TEST

/* A raw link that skips the handshake. */
static struct client *raw;
static void raw_on_frame(struct link *l, const struct frame *f)
{
	client_on_frame(l, f);
}
static const struct link_callbacks raw_callbacks = {
	.on_frame = raw_on_frame,
	.on_close = client_on_close,
};
static void raw_on_connect(uv_connect_t *req, int status)
{
	ck_assert_int_eq(status, 0);
	raw->link = link_new(req->handle, &raw_callbacks, raw);
	ck_assert_ptr_nonnull(raw->link);
	raw->ready = true;
	free(req);
}

static void raw_connect(void)
{
	raw = client_new("raw");
	uv_pipe_t *p = malloc(sizeof *p);
	uv_connect_t *req = malloc(sizeof *req);
	uv_pipe_init(&loop, p, 0);
	uv_pipe_connect(req, p, path, raw_on_connect);
	ck_assert(run_until(&raw->ready));
}

START_TEST(frames_before_auth_close)
{
	raw_connect();
	ck_assert(run_until_seen(raw, 1));
	ck_assert_uint_eq(raw->seen[0].type, FRAME_HELLO);
	ck_assert_uint_eq(raw->seen[0].payload_len, FRAME_NONCE_SIZE);
	send_frame(raw, FRAME_STANZA, "example.org", "raw", 0, "<message/>");
	ck_assert(run_until(&raw->closed));
	client_free(raw);
}
END_TEST

/* ---- routing ---- */

START_TEST(routing_between_two)
{
	const char *binds[] = {"example.org", "example.net", NULL};
	struct client *sm = ready_client("sm", binds);
	struct client *c2s = ready_client("c2s.1", NULL);
	send_frame(c2s, FRAME_SESSION_START, "example.net", "c2s.1", 42,
		   "juliet@example.net/balcony");
	ck_assert(run_until_seen(sm, 1));
	struct seen *s = &sm->seen[0];
	ck_assert_uint_eq(s->type, FRAME_SESSION_START);
	ck_assert_str_eq(s->to, "example.net");
	ck_assert_str_eq(s->from, "c2s.1");
	ck_assert(s->conn == 42);
	ck_assert_str_eq(s->payload, "juliet@example.net/balcony");

	/* a c2s is addressed by its component name */
	send_frame(sm, FRAME_SESSION_OK, "c2s.1", "sm", 42,
		   "juliet@example.net/balcony");
	ck_assert(run_until_seen(c2s, 1));
	ck_assert_uint_eq(c2s->seen[0].type, FRAME_SESSION_OK);
	ck_assert_str_eq(c2s->seen[0].from, "sm");
	ck_assert(c2s->seen[0].conn == 42);

	/* and the sm by its name as well as by its domains */
	send_frame(c2s, FRAME_SESSION_END, "sm", "c2s.1", 42, "closed");
	ck_assert(run_until_seen(sm, 2));
	ck_assert_uint_eq(sm->seen[1].type, FRAME_SESSION_END);
	ck_assert_str_eq(sm->seen[1].payload, "closed");
	close_client(sm);
	close_client(c2s);
	client_free(sm);
	client_free(c2s);
}
END_TEST

START_TEST(default_route)
{
	const char *sm_binds[] = {"example.org", NULL};
	const char *s2s_binds[] = {"*", NULL};
	struct client *sm = ready_client("sm", sm_binds);
	struct client *s2s = ready_client("s2s", s2s_binds);
	send_frame(sm, FRAME_STANZA, "jabber.org", "sm", 0, "<message/>");
	send_frame(sm, FRAME_STANZA, "example.org", "sm", 0, "<iq/>");
	ck_assert(run_until_seen(s2s, 1));
	ck_assert(run_until_seen(sm, 1));
	ck_assert_str_eq(s2s->seen[0].to, "jabber.org");
	ck_assert_str_eq(s2s->seen[0].payload, "<message/>");
	/* an exact bind wins over the default route */
	ck_assert_str_eq(sm->seen[0].to, "example.org");
	run_for(50);
	ck_assert_uint_eq(s2s->nseen, 1);
	close_client(sm);
	close_client(s2s);
	client_free(sm);
	client_free(s2s);
}
END_TEST

START_TEST(no_route_back_to_sender)
{
	struct client *c2s = ready_client("c2s.1", NULL);
	send_frame(c2s, FRAME_STANZA, "nowhere.example", "c2s.1", 7,
		   "<message to='romeo@nowhere.example'/>");
	ck_assert(run_until_seen(c2s, 1));
	struct seen *s = &c2s->seen[0];
	ck_assert_uint_eq(s->type, FRAME_NO_ROUTE);
	ck_assert_uint_eq(s->flags, FRAME_STANZA);
	ck_assert_str_eq(s->to, "nowhere.example");
	ck_assert_str_eq(s->from, "c2s.1");
	ck_assert(s->conn == 7);
	ck_assert_str_eq(s->payload, "<message to='romeo@nowhere.example'/>");
	close_client(c2s);
	client_free(c2s);
}
END_TEST

START_TEST(unbound_when_a_component_goes)
{
	const char *binds[] = {"example.org", NULL};
	struct client *sm = ready_client("sm", binds);
	struct client *c2s = ready_client("c2s.1", NULL);
	close_client(sm);
	ck_assert(run_until_seen(c2s, 2));
	bool domain = false, name = false;
	for (size_t i = 0; i < c2s->nseen; i++) {
		ck_assert_uint_eq(c2s->seen[i].type, FRAME_UNBOUND);
		domain |= strcmp(c2s->seen[i].to, "example.org") == 0;
		name |= strcmp(c2s->seen[i].to, "sm") == 0;
	}
	ck_assert(domain && name);
	ck_assert_uint_eq(c2s->nseen, 2);

	/* the route is gone, and the name is free again */
	send_frame(c2s, FRAME_STANZA, "example.org", "c2s.1", 0, "<x/>");
	ck_assert(run_until_seen(c2s, 3));
	ck_assert_uint_eq(c2s->seen[2].type, FRAME_NO_ROUTE);
	struct client *sm2 = ready_client("sm", binds);
	close_client(sm2);
	close_client(c2s);
	client_free(sm);
	client_free(sm2);
	client_free(c2s);
}
END_TEST

START_TEST(spoofed_from_dropped)
{
	const char *binds[] = {"example.org", NULL};
	struct client *sm = ready_client("sm", binds);
	struct client *c2s = ready_client("c2s.1", NULL);
	send_frame(c2s, FRAME_STANZA, "example.org", "sm", 0, "<spoofed/>");
	send_frame(c2s, FRAME_STANZA, "example.org", "", 0, "<anonymous/>");
	send_frame(c2s, FRAME_STANZA, "example.org", "c2s.1", 0, "<honest/>");
	ck_assert(run_until_seen(sm, 1));
	run_for(50);
	ck_assert_uint_eq(sm->nseen, 1);
	ck_assert_str_eq(sm->seen[0].payload, "<honest/>");
	ck_assert_uint_eq(c2s->nseen, 0); /* dropped, not bounced */
	ck_assert(!c2s->closed);
	close_client(sm);
	close_client(c2s);
	client_free(sm);
	client_free(c2s);
}
END_TEST

START_TEST(duplicate_bind_refused)
{
	const char *binds[] = {"example.org", NULL};
	struct client *sm = ready_client("sm", binds);
	struct client *sm2 = connect_as("sm.2", SECRET, binds);
	ck_assert(run_until(&sm2->closed));
	ck_assert(!sm2->ready);
	/* nor may a component bind another one's name */
	const char *steal[] = {"sm", NULL};
	struct client *thief = connect_as("thief", SECRET, steal);
	ck_assert(run_until(&thief->closed));
	ck_assert(!thief->ready);
	/* the first one still has its domain */
	struct client *c2s = ready_client("c2s.1", NULL);
	send_frame(c2s, FRAME_STANZA, "example.org", "c2s.1", 0, "<m/>");
	ck_assert(run_until_seen(sm, 1));
	close_client(sm);
	close_client(c2s);
	client_free(sm);
	client_free(sm2);
	client_free(thief);
	client_free(c2s);
}
END_TEST

START_TEST(batching)
{
	const char *binds[] = {"example.org", NULL};
	struct client *sm = ready_client("sm", binds);
	struct client *c2s = ready_client("c2s.1", NULL);
	struct link_stats before, after;
	link_get_stats(c2s->link, &before);
	/* 1000 frames in one loop iteration */
	for (int i = 0; i < 1000; i++) {
		char payload[32];
		snprintf(payload, sizeof payload, "<message id='%d'/>", i);
		send_frame(c2s, FRAME_STANZA, "example.org", "c2s.1",
			   (uint64_t)i, payload);
	}
	ck_assert(run_until_seen(sm, 1000));
	link_get_stats(c2s->link, &after);
	ck_assert(after.frames_out - before.frames_out == 1000);
	ck_assert_msg(after.writes - before.writes == 1,
		      "1000 frames took %llu writes",
		      (unsigned long long)(after.writes - before.writes));
	for (int i = 0; i < 1000; i++) {
		char payload[32];
		snprintf(payload, sizeof payload, "<message id='%d'/>", i);
		ck_assert(sm->seen[i].conn == (uint64_t)i);
		ck_assert_str_eq(sm->seen[i].payload, payload);
		ck_assert_str_eq(sm->seen[i].from, "c2s.1");
	}
	close_client(sm);
	close_client(c2s);
	client_free(sm);
	client_free(c2s);
}
END_TEST

/* ---- backpressure: a receiver that does not read ---- */

static void client_pump(struct client *c)
{
	char *payload = calloc(1, c->big);
	memset(payload, 'x', c->big);
	while (c->sent < c->to_send) {
		struct frame f = {.type = FRAME_STANZA,
				  .conn = (uint64_t)c->sent};
		frame_set_to(&f, "example.org");
		frame_set_from(&f, c->name);
		f.payload = payload;
		f.payload_len = c->big;
		if (link_send(c->link, &f) < 0) {
			ck_assert(link_full(c->link));
			break; /* on_drain goes on */
		}
		c->sent++;
	}
	free(payload);
}

static void client_on_drain(struct link *l)
{
	struct client *c = link_data(l);
	if (c->to_send)
		client_pump(c);
}

START_TEST(backpressure_keeps_every_frame)
{
	const char *binds[] = {"example.org", NULL};
	struct client *sm = ready_client("sm", binds);
	struct client *c2s = ready_client("c2s.1", NULL);
	link_pause(sm->link); /* the sm stops reading: the router fills up */
	c2s->to_send = 96;
	c2s->big = 256 << 10; /* 24 MiB in all, three times LINK_QUEUE_MAX */
	client_pump(c2s);
	/* inside the router: the c2s's frame comes to wait for the sm's
	 * drain (however long a loaded machine takes to fill the sockets) */
	struct component *rc = router_table_get(&router->names, "c2s.1", 5);
	struct component *rsm = router_table_get(&router->names, "sm", 2);
	ck_assert_ptr_nonnull(rc);
	uint64_t deadline = uv_now(&loop) + 5000;
	while (rc->blocked_on != rsm && uv_now(&loop) < deadline)
		uv_run(&loop, UV_RUN_ONCE);
	ck_assert_ptr_eq(rc->blocked_on, rsm);
	run_for(100);
	ck_assert_int_lt(c2s->sent, c2s->to_send); /* the sender is held */
	ck_assert_uint_lt(sm->nseen, 1);
	ck_assert_uint_gt(rc->held.len, 256 << 10);
	ck_assert(link_full(rsm->link));
	link_resume(sm->link);
	ck_assert(run_until_seen(sm, 96));
	ck_assert_int_eq(c2s->sent, 96);
	for (int i = 0; i < 96; i++) {
		ck_assert(sm->seen[i].conn == (uint64_t)i);
		ck_assert_uint_eq(sm->seen[i].payload_len, 256 << 10);
	}
	ck_assert_uint_eq(c2s->nseen, 0); /* nothing bounced */
	close_client(sm);
	close_client(c2s);
	client_free(sm);
	client_free(c2s);
}
END_TEST

/* ---- the link alone, over a socketpair ---- */

static struct link *pair_link(int fd, struct client *c)
{
	uv_pipe_t *p = malloc(sizeof *p);
	uv_pipe_init(&loop, p, 0);
	ck_assert_int_eq(uv_pipe_open(p, fd), 0);
	static const struct link_callbacks cb = {
		.on_frame = client_on_frame,
		.on_close = client_on_close,
	};
	struct link *l = link_new((uv_stream_t *)p, &cb, c);
	ck_assert_ptr_nonnull(l);
	c->link = l;
	return l;
}

START_TEST(garbage_closes_the_link)
{
	int fds[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	struct client *c = client_new("c");
	pair_link(fds[0], c);
	ck_assert_int_eq(write(fds[1], "GET / HTTP/1.1\r\n\r\n", 18), 18);
	ck_assert(run_until(&c->closed));
	ck_assert_uint_eq(c->nseen, 0);
	close(fds[1]);
	client_free(c);
}
END_TEST

START_TEST(too_big_frame_closes_the_link)
{
	int fds[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	struct client *c = client_new("c");
	pair_link(fds[0], c);
	uint32_t len = FRAME_MAX_SIZE + 1;
	unsigned char h[FRAME_HEADER_SIZE] = {(unsigned char)(len >> 24),
					      (unsigned char)(len >> 16),
					      (unsigned char)(len >> 8),
					      (unsigned char)len,
					      FRAME_VERSION,
					      FRAME_STANZA};
	ck_assert_int_eq(write(fds[1], h, sizeof h), sizeof h);
	ck_assert(run_until(&c->closed));
	close(fds[1]);
	client_free(c);
}
END_TEST

START_TEST(eof_closes_the_link)
{
	int fds[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	struct client *c = client_new("c");
	pair_link(fds[0], c);
	close(fds[1]);
	ck_assert(run_until(&c->closed));
	client_free(c);
}
END_TEST

/* on_frame closing its own link: no frame after that, on_close once. */
static int closes;
static void close_on_frame(struct link *l, const struct frame *f)
{
	client_on_frame(l, f);
	link_close(l);
	link_close(l);
}
static void count_close(struct link *l)
{
	closes++;
	client_on_close(l);
}

START_TEST(close_from_on_frame)
{
	int fds[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	struct client *c = client_new("c");
	uv_pipe_t *p = malloc(sizeof *p);
	uv_pipe_init(&loop, p, 0);
	ck_assert_int_eq(uv_pipe_open(p, fds[0]), 0);
	static const struct link_callbacks cb = {
		.on_frame = close_on_frame,
		.on_close = count_close,
	};
	c->link = link_new((uv_stream_t *)p, &cb, c);
	struct buf b = BUF_INIT;
	struct frame f = {.type = FRAME_STANZA};
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(frame_encode(&b, &f), 0);
	ck_assert_int_eq(write(fds[1], b.data, b.len), (ssize_t)b.len);
	ck_assert(run_until(&c->closed));
	run_for(20);
	ck_assert_uint_eq(c->nseen, 1);
	ck_assert_int_eq(closes, 1);
	buf_free(&b);
	close(fds[1]);
	client_free(c);
}
END_TEST

/* Paused from on_frame: the frames already read wait, then come in
 * order after link_resume. */
static void pause_on_frame(struct link *l, const struct frame *f)
{
	client_on_frame(l, f);
	link_pause(l);
}

START_TEST(pause_and_resume)
{
	int fds[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	struct client *c = client_new("c");
	uv_pipe_t *p = malloc(sizeof *p);
	uv_pipe_init(&loop, p, 0);
	ck_assert_int_eq(uv_pipe_open(p, fds[0]), 0);
	static const struct link_callbacks cb = {
		.on_frame = pause_on_frame,
		.on_close = client_on_close,
	};
	c->link = link_new((uv_stream_t *)p, &cb, c);
	struct buf b = BUF_INIT;
	for (int i = 0; i < 3; i++) {
		struct frame f = {.type = FRAME_STANZA, .conn = (uint64_t)i};
		ck_assert_int_eq(frame_encode(&b, &f), 0);
	}
	ck_assert_int_eq(write(fds[1], b.data, b.len), (ssize_t)b.len);
	ck_assert(run_until_seen(c, 1));
	run_for(30);
	ck_assert_uint_eq(c->nseen, 1);
	for (size_t i = 1; i < 3; i++) {
		link_resume(c->link);
		ck_assert(run_until_seen(c, i + 1));
		run_for(10);
		ck_assert_uint_eq(c->nseen, i + 1);
		ck_assert(c->seen[i].conn == i);
	}
	link_close(c->link);
	ck_assert(run_until(&c->closed));
	buf_free(&b);
	close(fds[1]);
	client_free(c);
}
END_TEST

/* Frames queued just before link_close still go out. */
START_TEST(close_flushes)
{
	int fds[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	struct client *a = client_new("a"), *b = client_new("b");
	pair_link(fds[0], a);
	pair_link(fds[1], b);
	for (int i = 0; i < 10; i++)
		send_frame(a, FRAME_STANZA, "b", "a", (uint64_t)i, "<x/>");
	link_close(a->link);
	ck_assert(run_until_seen(b, 10));
	ck_assert(run_until(&a->closed));
	ck_assert(run_until(&b->closed));
	ck_assert(b->seen[9].conn == 9);
	client_free(a);
	client_free(b);
}
END_TEST

int main(void)
{
	/* as in palabred: a peer gone shows as EPIPE, not as a signal */
	signal(SIGPIPE, SIG_IGN);
	Suite *s = suite_create("link");
	TCase *tc = tcase_create("router");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, auth_ok);
	tcase_add_test(tc, socket_is_private);
	tcase_add_test(tc, wrong_secret_refused);
	tcase_add_test(tc, duplicate_name_refused);
	tcase_add_test(tc, no_router);
	tcase_add_test(tc, tcp_refused);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, frames_before_auth_close);
	tcase_add_test(tc, routing_between_two);
	tcase_add_test(tc, default_route);
	tcase_add_test(tc, no_route_back_to_sender);
	tcase_add_test(tc, unbound_when_a_component_goes);
	tcase_add_test(tc, spoofed_from_dropped);
	tcase_add_test(tc, duplicate_bind_refused);
	tcase_add_test(tc, batching);
	tcase_add_test(tc, backpressure_keeps_every_frame);
	suite_add_tcase(s, tc);

	TCase *tl = tcase_create("link");
	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_test(tl, garbage_closes_the_link);
	tcase_add_test(tl, too_big_frame_closes_the_link);
	tcase_add_test(tl, eof_closes_the_link);
	tcase_add_test(tl, close_from_on_frame);
	tcase_add_test(tl, close_flushes);
	tcase_add_test(tl, pause_and_resume);
	suite_add_tcase(s, tl);

	return unit_run(s);
}
