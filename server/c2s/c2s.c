/* c2s: the process, on lib/process.h. Connects to the router, opens the
 * client ports once the link is up, and runs until SIGTERM (exit 0) or
 * until the link is lost (exit 1: the supervisor starts a new c2s). What
 * no restart can fix (TLS keys, SASL setup, accounts, ports) exits
 * PALABRED_EXIT_CONFIG. */
#include <malloc.h>
#include <stddef.h>
#include <sys/resource.h>

#include "../../lib/log.h"
#include "../palabred.h"
#include "c2s.h"
#include "tls.h"

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
	uint64_t next_id = c2s->proc.conns.next_id;
	uint64_t arrived = next_id - c2s->swept_id;
	c2s->swept_id = next_id;
	if (next_id - c2s->trimmed_id < C2S_TRIM_AFTER ||
	    arrived >= C2S_TRIM_QUIET || logging_in >= C2S_TRIM_QUIET)
		return;
	struct mallinfo2 mi = mallinfo2(); /* free: the holes and the top */
	size_t holes = mi.fordblks - mi.keepcost;
	if (holes < C2S_TRIM_MIN_BYTES)
		return; /* the next quiet sweep looks again */
	c2s->trimmed_id = next_id;
	uint64_t t0 = uv_hrtime();
	malloc_trim(0);
	log_debug("c2s: %zu KiB of free heap trimmed in %.1f ms", holes >> 10,
		  (double)(uv_hrtime() - t0) / 1e6);
}

static void c2s_on_idle_sweep(uv_timer_t *t)
{
	c2s_trim_after_burst(t->data, c2s_conn_sweep_idle(t->data));
}

/* ------------------------------------------------------------------ */
/* The process (lib/process.h) */

static struct c2s *c2s_of(struct process *p)
{
	return (struct c2s *)((char *)p - offsetof(struct c2s, proc));
}

static void c2s_on_ready(struct process *p)
{
	const struct config *cfg = c2s_of(p)->cfg;
	log_info("c2s: %s connected to the router", p->name);
	if (listeners_open(&p->listeners, p->loop, "c2s", cfg->listeners,
			   cfg->nlisteners, 1024, c2s_conn_accept,
			   c2s_of(p)) < 0)
		process_stop(p, PALABRED_EXIT_CONFIG);
}

static void c2s_on_frame(struct process *p, const struct frame *f)
{
	c2s_route_on_frame(c2s_of(p), f);
}

static void c2s_on_drain(struct process *p)
{
	c2s_route_on_drain(c2s_of(p));
}

static const struct process_ops c2s_process_ops = {
	.ready = c2s_on_ready,
	.frame = c2s_on_frame,
	.drain = c2s_on_drain,
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

/* Bytes that may wait for a client that does not read: max(1 MiB,
 * 4 x max-stanza-size). */
static size_t c2s_output_max(const struct config *cfg)
{
	size_t four_stanzas = 4 * cfg->max_stanza_size;
	return four_stanzas > (1u << 20) ? four_stanzas : (1u << 20);
}

static void c2s_init_handles(struct c2s *c2s)
{
	const struct config *cfg = c2s->cfg;
	uv_loop_t *loop = c2s->proc.loop;
	struct xmlstream_limits limits = {cfg->max_stanza_size, cfg->max_depth};
	netconn_set_init(&c2s->proc.conns, loop, &c2s_conn_type, &limits,
			 c2s_output_max(cfg));
	uv_timer_init(loop, &c2s->rate_timer);
	c2s->rate_timer.data = c2s;
	uv_unref((uv_handle_t *)&c2s->rate_timer);
	c2s->rate_stanzas =
		(struct ratelimit){cfg->rate_stanzas, cfg->rate_stanza_burst};
	c2s->rate_bytes =
		(struct ratelimit){cfg->rate_bytes, cfg->rate_byte_burst};
	uv_timer_init(loop, &c2s->idle_timer);
	c2s->idle_timer.data = c2s;
	uv_timer_start(&c2s->idle_timer, c2s_on_idle_sweep, C2S_IDLE_SWEEP_MS,
		       C2S_IDLE_SWEEP_MS);
	uv_unref((uv_handle_t *)&c2s->idle_timer);
}

int c2s_main(const struct config *cfg, const char *name, const char *secret)
{
	/* its listeners and tables: not on the stack */
	static struct c2s state;
	static const char *const no_binds[] = {NULL};
	struct c2s *c2s = &state;
	char err[512];

	process_init(&c2s->proc, "c2s", name, &c2s_process_ops);
	c2s->fd_limit = c2s_raise_fd_limit();
	c2s->lanes = c2s_lanes_new(c2s->proc.loop, cfg);
	c2s->cfg = cfg;
	c2s_conn_table_init(&c2s->conns);
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
	c2s_init_handles(c2s);
	c2s_bind_caps_init(c2s);
	return process_run(&c2s->proc, cfg->router_socket, secret, no_binds);
}
