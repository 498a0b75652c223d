/* c2s router_link: frames from the sm for a connection c2s no longer has, and
 * what a closing connection still owes the sm. c2s's link is one end of
 * a socketpair; the test reads the other end as the router would. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../server/c2s/c2s.h"
#include "unit.h"

#define MESSAGE                                                                \
	"<message from='alice@localhost/pc' to='bob@localhost/gone' "          \
	"type='chat'><body>hi</body></message>"

struct seen {
	uint8_t type;
	uint64_t conn;
	char to[64];
	char payload[256];
};

static uv_loop_t loop;
static struct c2s c2s;
static struct link *router_end;
static struct seen seen[16];
static size_t nseen;

static void router_on_frame(struct link *l, const struct frame *f)
{
	(void)l;
	ck_assert_uint_lt(nseen, 16);
	struct seen *s = &seen[nseen++];
	s->type = f->type;
	s->conn = f->conn;
	ck_assert_uint_lt(f->to_len, sizeof s->to);
	memcpy(s->to, f->to, f->to_len);
	s->to[f->to_len] = '\0';
	ck_assert_uint_lt(f->payload_len, sizeof s->payload);
	memcpy(s->payload, f->payload, f->payload_len);
	s->payload[f->payload_len] = '\0';
}

static void on_close(struct link *l)
{
	(void)l;
}

static const struct link_callbacks router_callbacks = {
	.on_frame = router_on_frame, .on_close = on_close};
static const struct link_callbacks c2s_callbacks = {.on_close = on_close};

static struct link *link_on(int fd, const struct link_callbacks *cb)
{
	uv_pipe_t *p = malloc(sizeof *p);
	ck_assert_int_eq(uv_pipe_init(&loop, p, 0), 0);
	ck_assert_int_eq(uv_pipe_open(p, fd), 0);
	struct link *l = link_new((uv_stream_t *)p, cb, NULL);
	ck_assert_ptr_nonnull(l);
	return l;
}

/* Runs the loop until the router end has seen n frames (or 2 s). */
static void run_until_seen(size_t n)
{
	for (int i = 0; i < 200 && nseen < n; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(10000);
	}
	ck_assert_uint_eq(nseen, n);
}

static void setup(void)
{
	int fds[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	uv_loop_init(&loop);
	memset(&c2s, 0, sizeof c2s);
	c2s.proc.loop = &loop;
	c2s.proc.name = "c2s.1";
	c2s.proc.link = link_on(fds[0], &c2s_callbacks);
	router_end = link_on(fds[1], &router_callbacks);
	nseen = 0;
}

static void teardown(void)
{
	link_close(c2s.proc.link);
	link_close(router_end);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	buf_free(&c2s.held);
}

static void from_sm(uint8_t type, uint64_t conn, const char *payload)
{
	struct frame f = {.type = type,
			  .conn = conn,
			  .payload = payload,
			  .payload_len = strlen(payload)};
	frame_set_to(&f, "c2s.1");
	frame_set_from(&f, "sm");
	c2s_route_on_frame(&c2s, &f);
}

static void assert_seen(size_t i, uint8_t type, uint64_t conn,
			const char *payload)
{
	ck_assert_uint_eq(seen[i].type, type);
	ck_assert_uint_eq(seen[i].conn, conn);
	ck_assert_str_eq(seen[i].to, "sm");
	ck_assert_str_eq(seen[i].payload, payload);
}

/* The sm sends to conn 77, which c2s does not have: the session ends in
 * the sm, and the stanza goes back to it (conn 0) to be routed as to a
 * full JID without a session (RFC 6121 §8.5.3.2). */
START_TEST(a_stanza_for_a_conn_gone_ends_its_session_and_goes_back)
{
	from_sm(FRAME_STANZA, 77, MESSAGE);
	run_until_seen(2);
	assert_seen(0, FRAME_SESSION_END, 77, "gone");
	assert_seen(1, FRAME_STANZA, 0, MESSAGE);
	/* The next ones that crossed the SESSION_END go back too; one
	 * SESSION_END is enough. */
	from_sm(FRAME_STANZA, 77, MESSAGE);
	run_until_seen(3);
	assert_seen(2, FRAME_STANZA, 0, MESSAGE);
}
END_TEST

/* Presence to a full JID without a session is ignored (RFC 6121
 * §8.5.3.2.3): it is not sent back; the SESSION_END is. */
START_TEST(presence_for_a_conn_gone_is_not_sent_back)
{
	from_sm(FRAME_STANZA, 76,
		"<presence from='alice@localhost/a' "
		"to='bob@localhost/gone'/>");
	from_sm(FRAME_STANZA, 76, MESSAGE);
	run_until_seen(2);
	assert_seen(0, FRAME_SESSION_END, 76, "gone");
	assert_seen(1, FRAME_STANZA, 0, MESSAGE);
}
END_TEST

START_TEST(a_session_ok_for_a_conn_gone_ends_the_session)
{
	from_sm(FRAME_SESSION_OK, 78, "bob@localhost/gone");
	run_until_seen(1);
	assert_seen(0, FRAME_SESSION_END, 78, "gone");
}
END_TEST

/* An sm that goes on sending long after the SESSION_END is not
 * listening: its stanzas are dropped rather than sent round again. */
START_TEST(a_conn_gone_long_ago_gets_nothing_back)
{
	from_sm(FRAME_STANZA, 79, MESSAGE);
	run_until_seen(2);
	c2s.gone_at -= 6000;
	from_sm(FRAME_STANZA, 79, MESSAGE);
	from_sm(FRAME_SESSION_END, 80, "closed");
	from_sm(FRAME_SESSION_OK, 81, "bob@localhost/other");
	run_until_seen(3);
	assert_seen(2, FRAME_SESSION_END, 81, "gone");
}
END_TEST

/* A client that leaves while the link was full: the stanzas it sent
 * before go to the sm, then its SESSION_END. */
START_TEST(a_closing_conn_sends_what_it_kept_then_its_end)
{
	static struct config_host host = {.domain = "localhost"};
	struct conn c = {.nc.id = 5,
			 .c2s = &c2s,
			 .host = &host,
			 .session_started = true};
	struct frame f = {.type = FRAME_STANZA,
			  .conn = 5,
			  .payload = MESSAGE,
			  .payload_len = strlen(MESSAGE)};
	frame_set_to(&f, "sm");
	frame_set_from(&f, "c2s.1");
	ck_assert_int_eq(frame_encode(&c.held, &f), 0);
	c2s_route_session_end(&c, "closed");
	ck_assert_uint_eq(c.held.len, 0);
	run_until_seen(2);
	assert_seen(0, FRAME_STANZA, 5, MESSAGE);
	ck_assert_uint_eq(seen[1].type, FRAME_SESSION_END);
	ck_assert_uint_eq(seen[1].conn, 5);
	ck_assert_str_eq(seen[1].payload, "closed");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("c2s_router_link");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
		       a_stanza_for_a_conn_gone_ends_its_session_and_goes_back);
	tcase_add_test(tc, presence_for_a_conn_gone_is_not_sent_back);
	tcase_add_test(tc, a_session_ok_for_a_conn_gone_ends_the_session);
	tcase_add_test(tc, a_conn_gone_long_ago_gets_nothing_back);
	tcase_add_test(tc, a_closing_conn_sends_what_it_kept_then_its_end);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
