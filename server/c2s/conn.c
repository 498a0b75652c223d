/* conn: one client connection, over the connection layer (lib/netconn.h)
 * that does the socket, TLS, the stream parser and the output. What is
 * c2s's: its connection type (TLS contexts, our header, what closing
 * tells the sm), the read size and rate limit, backpressure from the
 * link, and the memory a quiet client gives back. */
#include <inttypes.h>
#include <stdlib.h>

#include "../../lib/log.h"
#include "c2s.h"
#include "tls.h"

static void conn_charge_bytes(struct conn *c, size_t n);
static void conn_check_rate(struct conn *c);
static bool conn_reads_slowly(const struct conn *c);

/* ------------------------------------------------------------------ */
/* Reading */

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	netconn_alloc(h, suggested, b);
	if (conn_reads_slowly(conn_of(h->data)))
		b->len = C2S_SLOW_READ_SIZE;
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = conn_of(s->data);
	if (!netconn_read_ok(&c->nc, n))
		return;
	c->active = true;
	c->login_quiet = false;
	conn_charge_bytes(c, (size_t)n);
	netconn_feed(&c->nc, b->base, (size_t)n);
	conn_check_rate(c);
}

/* ------------------------------------------------------------------ */
/* Memory of quiet clients */

/* Once bound, nothing needs OpenSSL's ~14 KiB of connection state any
 * more (the channel bindings were taken during SASL): the records go on
 * with the keys alone. On a conn already released, this frees the AEAD
 * contexts that its last records made. */
void c2s_conn_release_tls(struct conn *c)
{
	struct tls_conn *tls = c->nc.tls;
	if (!tls || c->state != CONN_BOUND)
		return;
	bool held = tls_conn_ssl(tls) != NULL;
	if (tls_conn_release(tls) == 0 && held)
		log_debug("conn %" PRIu64 ": TLS state released", c->nc.id);
}

/* An expat parser in the middle of a stream holds about 10 KiB: a quiet
 * conn gives it back (the memory budget), and its TLS state, and the next
 * read makes a new parser (~50 us here, mapping and page faults included). */
static void conn_let_go(struct conn *c)
{
	xmlstream_shrink(c->nc.xs);
	c2s_conn_release_tls(c);
}

static void conn_on_login_quiet(uv_timer_t *t)
{
	struct conn *c = conn_of(t->data);
	if (c->login_quiet && !c->nc.closing) {
		log_debug("conn %" PRIu64 ": quiet after its login", c->nc.id);
		conn_let_go(c);
	}
	c->login_quiet = false;
}

/* Most clients go quiet once logged in; in a burst of logins, each would
 * otherwise keep its parser (8-13 KiB) for one to two sweep periods. A
 * client that goes on talking within C2S_LOGIN_QUIET_MS keeps it: no new
 * parser for it. Once per session (RFC 6121 §4.2: the initial presence). */
void c2s_conn_logged_in(struct conn *c)
{
	if (c->presence_seen || c->nc.closing)
		return;
	c->presence_seen = true;
	c->login_quiet = true;
	uv_timer_start(&c->nc.timer, conn_on_login_quiet, C2S_LOGIN_QUIET_MS,
		       0);
}

/* A conn quiet for a sweep period lets go (conn_let_go); busy conns keep
 * their parser. Returns the conns not bound yet (logins in progress). */
size_t c2s_conn_sweep_idle(struct c2s *c2s)
{
	size_t logging_in = 0;
	for (struct netconn *nc = c2s->proc.conns.all; nc; nc = nc->next) {
		struct conn *c = conn_of(nc);
		if (!c->active && !nc->closing)
			conn_let_go(c);
		c->active = false;
		logging_in += c->state != CONN_BOUND && !nc->closing;
	}
	return logging_in;
}

/* ------------------------------------------------------------------ */
/* Backpressure */

void c2s_conn_pause(struct conn *c)
{
	if (c->paused)
		return;
	c->paused = true;
	netconn_read_stop(&c->nc);
	c->pause_prev = NULL;
	c->pause_next = c->c2s->paused;
	if (c->pause_next)
		c->pause_next->pause_prev = c;
	c->c2s->paused = c;
}

static void conn_unpause(struct conn *c)
{
	if (!c->paused)
		return;
	c->paused = false;
	if (c->pause_prev)
		c->pause_prev->pause_next = c->pause_next;
	else
		c->c2s->paused = c->pause_next;
	if (c->pause_next)
		c->pause_next->pause_prev = c->pause_prev;
	c->pause_prev = c->pause_next = NULL;
}

/* Reads again unless the link or the rate limit still holds c back. */
static void conn_read_again(struct conn *c)
{
	if (!c->nc.closing && !c->paused && !c->slowed)
		netconn_read_start(&c->nc);
}

void c2s_conn_resume(struct conn *c)
{
	if (!c->paused)
		return;
	conn_unpause(c);
	conn_read_again(c);
}

/* ------------------------------------------------------------------ */
/* Rate limit (ratelimit.h, c2s/rate-limit): a client that sent faster
 * than allowed is not read until its buckets hold a unit again, so TCP
 * slows it down: nothing it sent is refused or lost. Only once its
 * resource is bound; before, auth-timeout, max-stanza-size, the hold
 * limit while binding and auth-throttle bound what a client can do.
 * One timer serves every slowed conn. */

static uint64_t conn_now_ns(const struct c2s *c2s)
{
	return uv_now(c2s->proc.loop) * 1000000ull;
}

void c2s_conn_charge_stanza(struct conn *c)
{
	ratelimit_charge(&c->c2s->rate_stanzas, &c->stanzas_full_at,
			 conn_now_ns(c->c2s), 1);
}

static void conn_charge_bytes(struct conn *c, size_t n)
{
	if (c->state == CONN_BOUND)
		ratelimit_charge(&c->c2s->rate_bytes, &c->bytes_full_at,
				 conn_now_ns(c->c2s), n);
}

static bool conn_reads_slowly(const struct conn *c)
{
	uint64_t now = conn_now_ns(c->c2s);
	return c->state == CONN_BOUND &&
	       (ratelimit_low(&c->c2s->rate_stanzas, c->stanzas_full_at, now) ||
		ratelimit_low(&c->c2s->rate_bytes, c->bytes_full_at, now));
}

/* Nanoseconds before c may send again. */
static uint64_t conn_rate_wait(const struct conn *c, uint64_t now)
{
	const struct c2s *c2s = c->c2s;
	uint64_t s =
		ratelimit_wait(&c2s->rate_stanzas, c->stanzas_full_at, now);
	uint64_t b = ratelimit_wait(&c2s->rate_bytes, c->bytes_full_at, now);
	return s > b ? s : b;
}

static void conn_on_rate_timer(uv_timer_t *t);

static void conn_arm_rate_timer(struct c2s *c2s, uint64_t wait_ns)
{
	uint64_t ms = (wait_ns + 999999) / 1000000;
	if (uv_is_active((uv_handle_t *)&c2s->rate_timer) &&
	    uv_timer_get_due_in(&c2s->rate_timer) <= ms)
		return;
	uv_timer_start(&c2s->rate_timer, conn_on_rate_timer, ms, 0);
}

static void conn_check_rate(struct conn *c)
{
	if (c->nc.closing || c->slowed || c->state != CONN_BOUND)
		return;
	uint64_t wait = conn_rate_wait(c, conn_now_ns(c->c2s));
	if (!wait)
		return;
	c->slowed = true;
	netconn_read_stop(&c->nc);
	c->slow_next = c->c2s->slowed;
	c->c2s->slowed = c;
	conn_arm_rate_timer(c->c2s, wait);
}

static void conn_unslow(struct conn *c)
{
	if (!c->slowed)
		return;
	struct conn **p = &c->c2s->slowed;
	while (*p != c)
		p = &(*p)->slow_next;
	*p = c->slow_next;
	c->slow_next = NULL;
	c->slowed = false;
}

static void conn_on_rate_timer(uv_timer_t *t)
{
	struct c2s *c2s = t->data;
	uint64_t now = conn_now_ns(c2s), next = 0;
	struct conn **p = &c2s->slowed;
	while (*p) {
		struct conn *c = *p;
		uint64_t wait = conn_rate_wait(c, now);
		if (wait) {
			next = next && next < wait ? next : wait;
			p = &c->slow_next;
			continue;
		}
		*p = c->slow_next;
		c->slow_next = NULL;
		c->slowed = false;
		conn_read_again(c);
	}
	if (next)
		conn_arm_rate_timer(c2s, next);
}

/* ------------------------------------------------------------------ */
/* The connection type: what the layer asks of c2s */

/* Authentication and binding took too long. Once closing, the layer
 * has the timer (its close timeout). */
static void conn_timeout(uv_timer_t *t)
{
	struct conn *c = conn_of(t->data);
	if (c->state != CONN_BOUND)
		c2s_stream_error(
			c, "connection-timeout",
			"authentication and resource binding took too long");
}

void c2s_conn_stop_timer(struct conn *c)
{
	uv_timer_stop(&c->nc.timer);
}

static struct tls_conn *conn_tls_new(struct netconn *nc)
{
	return c2s_tls_conn_new(conn_of(nc)->c2s->tls, &nc->output.out);
}

static void conn_tls_ready(struct netconn *nc)
{
	char desc[128];
	log_debug("conn %" PRIu64 ": TLS %s", nc->id,
		  tls_conn_describe(nc->tls, desc, sizeof desc));
}

/* Too much waits for a client that does not read (the set's output_max,
 * c2s_output_max): the stream error itself still goes out. */
static void conn_overflowed(struct netconn *nc)
{
	c2s_stream_error(conn_of(nc), "policy-violation",
			 "too much data waits for you to read it");
}

static void conn_stream_error(struct netconn *nc, const char *condition,
			      const char *text)
{
	c2s_stream_error(conn_of(nc), condition, text);
}

static int conn_append_header(struct netconn *nc, struct buf *b)
{
	return c2s_stream_append_header(conn_of(nc), b);
}

/* No more input: the sm hears that the session ended (after the stanzas
 * the client sent before), and a SASL step stops. */
static void conn_closing(struct netconn *nc)
{
	struct conn *c = conn_of(nc);
	conn_unpause(c);
	conn_unslow(c);
	c2s_route_session_end(c, "closed");
	buf_free(&c->held);
	c2s_sasl_cancel(c);
}

static void conn_closed(struct netconn *nc)
{
	struct conn *c = conn_of(nc);
	conn_unpause(c);
	conn_unslow(c);
	c2s_conn_table_remove(&c->c2s->conns, c);
	log_info("conn %" PRIu64 " from %s closed%s%s", nc->id, nc->peer,
		 c->jid ? ": " : "", c->jid ? c->jid : "");
}

static void conn_free(struct netconn *nc)
{
	struct conn *c = conn_of(nc);
	if (c->auth)
		auth_exchange_free(c->auth);
	buf_free(&c->held);
	arena_reset(&c->hold);
	free(c->jid);
	free(c->bind_id);
	free(c);
}

const struct netconn_type c2s_conn_type = {
	.name = "conn",
	.alloc = conn_alloc,
	.read = conn_read,
	.tls_new = conn_tls_new,
	.tls_ready = conn_tls_ready,
	.append_header = conn_append_header,
	.stream_error = conn_stream_error,
	.overflowed = conn_overflowed,
	.closing = conn_closing,
	.closed = conn_closed,
	.free = conn_free,
};

/* ------------------------------------------------------------------ */
/* Accepting */

/* Past the descriptor limit the kernel's accept fails and libuv drops
 * the connections it cannot take, silently: say so before it happens. */
#define C2S_FD_RESERVE 64
#define C2S_FD_WARN_EVERY_MS 60000

static void conn_check_fd_limit(struct c2s *c2s)
{
	uint64_t now = uv_now(c2s->proc.loop);
	if (c2s->conns.count + C2S_FD_RESERVE < c2s->fd_limit ||
	    (c2s->fd_warned_at &&
	     now - c2s->fd_warned_at < C2S_FD_WARN_EVERY_MS))
		return;
	c2s->fd_warned_at = now;
	log_warn("%s: %zu clients, near this process's limit of %zu open "
		 "files: new connections will be dropped; raise c2s/processes "
		 "(or the limit)",
		 c2s->proc.name, (size_t)c2s->conns.count, c2s->fd_limit);
}

void c2s_conn_accept(struct listener *l)
{
	struct c2s *c2s = l->data;
	struct conn *c = calloc(1, sizeof *c);
	if (!c || netconn_init(&c->nc, &c2s->proc.conns, &c2s_stream_callbacks,
			       c) < 0) {
		free(c);
		listener_drop(l);
		log_error("c2s: out of memory accepting a connection");
		return;
	}
	c->c2s = c2s;
	if (netconn_accept(&c->nc, l) < 0)
		return;
	conn_check_fd_limit(c2s);
	if (c2s_conn_table_insert(&c2s->conns, c) < 0) {
		log_error("conn %" PRIu64 ": out of memory", c->nc.id);
		netconn_abort(&c->nc);
		return;
	}
	unsigned timeout = c2s->cfg->auth_timeout ? c2s->cfg->auth_timeout
						  : C2S_DEFAULT_AUTH_TIMEOUT;
	uv_timer_start(&c->nc.timer, conn_timeout, (uint64_t)timeout * 1000, 0);
}

/* ------------------------------------------------------------------ */

const char *c2s_conn_domain(const struct conn *c)
{
	return c->host ? c->host->domain : NULL;
}
