/* c2s: the process. Connects to the router, opens the client ports once
 * the link is up, and runs until SIGTERM (exit 0) or until the link is
 * lost (exit 1: the supervisor starts a new c2s). What no restart can fix
 * (TLS keys, SASL setup, accounts, ports) exits PALABRED_EXIT_CONFIG. */
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "../../lib/log.h"
#include "../palabred.h"
#include "c2s.h"
#include "tls.h"

static void c2s_stop_loop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void c2s_finish(struct c2s *c2s)
{
	if (c2s->finished)
		return;
	c2s->finished = true;
	if (!c2s->link) {
		uv_stop(c2s->loop);
		return;
	}
	/* The SESSION_END frames of the closed clients go out first, then
	 * the link's on_close stops the loop; the timer if the router hangs. */
	link_close(c2s->link);
	uv_timer_start(&c2s->shutdown_timer, c2s_stop_loop, 1000, 0);
}

static void c2s_shutdown_timeout(uv_timer_t *t)
{
	struct c2s *c2s = t->data;
	struct conn *c, *next;
	log_warn("c2s: clients still open after %d ms; closing them",
		 C2S_SHUTDOWN_TIMEOUT_MS);
	for (c = c2s->all; c; c = next) {
		next = c->next;
		c2s_conn_abort(c);
	}
	c2s_finish(c2s);
}

void c2s_conn_gone(struct c2s *c2s)
{
	if (c2s->stopping && !c2s->all)
		c2s_finish(c2s);
}

void c2s_stop(struct c2s *c2s, int status)
{
	struct conn *c, *next;
	if (c2s->stopping)
		return;
	c2s->stopping = true;
	c2s->exit_status = status;
	c2s_listener_close_all(c2s);
	for (c = c2s->all; c; c = next) {
		next = c->next;
		c2s_stream_error(c, "system-shutdown", NULL);
	}
	uv_timer_start(&c2s->shutdown_timer, c2s_shutdown_timeout,
		       C2S_SHUTDOWN_TIMEOUT_MS, 0);
	c2s_conn_gone(c2s);
}

static void c2s_on_signal(uv_signal_t *s, int signum)
{
	struct c2s *c2s = s->data;
	log_info("c2s: %s, stopping", strsignal(signum));
	c2s_stop(c2s, 0);
}

/* glibc gives back only the top of its heap: what a burst of logins
 * freed (TLS handshakes, SASL, the OpenSSL state of the sessions since
 * released) stays resident in holes between the sessions that remain.
 * Once at least C2S_TRIM_AFTER connections have arrived since the last
 * trim, and a sweep finds fewer than C2S_TRIM_QUIET arrived in its period
 * and as few logins in progress, malloc_trim returns those pages if there
 * are C2S_TRIM_MIN_BYTES of holes at least. It walks the whole heap and
 * stalls the loop meanwhile (57-78 ms with 10,000 sessions here): once
 * per burst, when logins are over. */
static void c2s_trim_after_burst(struct c2s *c2s, size_t logging_in)
{
	uint64_t arrived = c2s->next_id - c2s->swept_id;
	c2s->swept_id = c2s->next_id;
	if (c2s->next_id - c2s->trimmed_id < C2S_TRIM_AFTER ||
	    arrived >= C2S_TRIM_QUIET || logging_in >= C2S_TRIM_QUIET)
		return;
	struct mallinfo2 mi = mallinfo2(); /* free: the holes and the top */
	size_t holes = mi.fordblks - mi.keepcost;
	if (holes < C2S_TRIM_MIN_BYTES)
		return; /* the next quiet sweep looks again */
	c2s->trimmed_id = c2s->next_id;
	uint64_t t0 = uv_hrtime();
	malloc_trim(0);
	log_debug("c2s: %zu KiB of free heap trimmed in %.1f ms", holes >> 10,
		  (double)(uv_hrtime() - t0) / 1e6);
}

static void c2s_on_idle_sweep(uv_timer_t *t)
{
	c2s_trim_after_burst(t->data, c2s_conn_sweep_idle(t->data));
}

static void c2s_on_check(uv_check_t *h)
{
	c2s_conn_flush_all(h->data);
}

/* ------------------------------------------------------------------ */
/* The link to the router */

static void c2s_on_ready(struct link *l)
{
	struct c2s *c2s = link_data(l);
	c2s->link = l;
	log_info("c2s: %s connected to the router", c2s->name);
	if (c2s_listener_start_all(c2s) < 0)
		c2s_stop(c2s, PALABRED_EXIT_CONFIG);
}

static void c2s_on_frame(struct link *l, const struct frame *f)
{
	c2s_route_on_frame(link_data(l), f);
}

static void c2s_on_drain(struct link *l)
{
	c2s_route_on_drain(link_data(l));
}

static void c2s_on_link_close(struct link *l)
{
	struct c2s *c2s = link_data(l);
	bool was_ready = c2s->link != NULL;
	c2s->link = NULL;
	if (c2s->finished) {
		uv_stop(c2s->loop);
		return;
	}
	if (was_ready)
		log_error("c2s: lost the link to the router; closing every client");
	else
		log_error("c2s: cannot connect to the router at %s", c2s->cfg->router_socket);
	c2s_stop(c2s, 1);
	c2s->exit_status = 1;
}

static const struct link_client_callbacks c2s_link_callbacks = {
	.on_ready = c2s_on_ready,
	.on_frame = c2s_on_frame,
	.on_close = c2s_on_link_close,
	.on_drain = c2s_on_drain,
};

/* ------------------------------------------------------------------ */

/* Every client is a descriptor: the soft limit goes up to the hard one
 * (what an admin set for the service), and is what accept can reach. */
static size_t c2s_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? (size_t)1 << 30
					    : (size_t)rl.rlim_cur;
}

/* SASL steps run in a lane per directory (lib/lanes.h): logins to a
 * hung directory hold that lane's threads, never the whole pool, and
 * the other domains' logins go on. A step is CPU work as often as a
 * wait (PBKDF2, SCRAM's iterations): each lane may use every core, and
 * four steps per core run at once, so that a worker done with one finds
 * the next on the pool's queue instead of idling while the busy loop
 * hands it over (login bench, one step per core: 4% more of the
 * machine idle, the router woken 4 times as often per login). */
static struct lanes *c2s_lanes_new(uv_loop_t *loop, const struct config *cfg)
{
	unsigned per_lane = 4 * uv_available_parallelism();
	if (per_lane < LANES_PER_DIRECTORY)
		per_lane = LANES_PER_DIRECTORY;
	size_t n = auth_lane_count(cfg);
	/* Before anything runs on the pool: libuv sizes it then. */
	lanes_size_pool(n, per_lane);
	return lanes_new(loop, n, per_lane);
}

int c2s_main(const struct config *cfg, const char *name, const char *secret)
{
	static struct c2s state; /* 64 KiB of read buffer: not on the stack */
	static const char *const no_binds[] = {NULL};
	struct c2s *c2s = &state;
	char err[512];

	signal(SIGPIPE, SIG_IGN);
	c2s->fd_limit = c2s_raise_fd_limit();
	c2s->loop = uv_default_loop();
	c2s->lanes = c2s_lanes_new(c2s->loop, cfg);
	c2s->cfg = cfg;
	c2s->name = name;
	c2s_conntab_init(&c2s->conns);
	auth_set_secret(secret);
	if (!c2s->lanes) {
		log_error("c2s: out of memory");
		return 1;
	}
	if (auth_sasl_init(cfg, err, sizeof err) < 0 ||
	    auth_check_accounts(cfg, err, sizeof err) < 0 ||
	    !(c2s->tls = c2s_tls_server_new(cfg, secret, err, sizeof err))) {
		log_error("c2s: %s", err);
		return PALABRED_EXIT_CONFIG;
	}
	uv_check_init(c2s->loop, &c2s->flusher);
	c2s->flusher.data = c2s;
	uv_check_start(&c2s->flusher, c2s_on_check);
	uv_unref((uv_handle_t *)&c2s->flusher);
	uv_timer_init(c2s->loop, &c2s->shutdown_timer);
	uv_timer_init(c2s->loop, &c2s->rate_timer);
	c2s->rate_timer.data = c2s;
	uv_unref((uv_handle_t *)&c2s->rate_timer);
	c2s->rate_stanzas = (struct ratelimit){cfg->rate_stanzas,
					       cfg->rate_stanza_burst};
	c2s->rate_bytes = (struct ratelimit){cfg->rate_bytes,
					     cfg->rate_byte_burst};
	uv_timer_init(c2s->loop, &c2s->idle_timer);
	c2s->idle_timer.data = c2s;
	uv_timer_start(&c2s->idle_timer, c2s_on_idle_sweep, C2S_IDLE_SWEEP_MS, C2S_IDLE_SWEEP_MS);
	uv_unref((uv_handle_t *)&c2s->idle_timer);
	c2s->shutdown_timer.data = c2s;
	uv_signal_init(c2s->loop, &c2s->sigterm);
	uv_signal_init(c2s->loop, &c2s->sigint);
	c2s->sigterm.data = c2s->sigint.data = c2s;
	uv_signal_start(&c2s->sigterm, c2s_on_signal, SIGTERM);
	uv_signal_start(&c2s->sigint, c2s_on_signal, SIGINT);
	if (link_client_connect(c2s->loop, cfg->router_socket, name, secret,
				no_binds, &c2s_link_callbacks, c2s) < 0) {
		log_error("c2s: cannot connect to the router at %s", cfg->router_socket);
		return 1;
	}
	uv_run(c2s->loop, UV_RUN_DEFAULT);
	log_info("c2s: %s stopped", name);
	return c2s->exit_status;
}
