/* sm: the session manager's process: a libuv loop, the link to the
 * router, and signals. Everything else is in core.c and the modules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "../../lib/heap_trim.h"
#include "../../lib/link.h"
#include "../../lib/log.h"
#include "../../storage/storage.h"
#include "../palabred.h"
#include "lookup.h"
#include "sm.h"
#include "userdata.h"

/* On SIGTERM the sm waits this long at most for the c2s processes,
 * stopped at the same time, to close their sessions: until then their
 * clients still get service (and the system-shutdown stream error from
 * c2s, not a "session manager gone" one). Under the supervisor's
 * grace period before SIGKILL. */
#define SM_STOP_GRACE_MS 3000

/* The longest the sm stops reading from the router while its own
 * frames wait (send.c): past it, it reads again, so that a cycle
 * through the router (a frame bounced back to the sm while the
 * router->sm queue is full because the sm is not reading) cannot hold
 * both sides for ever. The backlog's cap then sheds the load. */
#define SM_PAUSE_MAX_MS 2000

static uv_timer_t stop_timer, pause_timer;
static bool closing; /* the last frames go out, past the link's cap */

static int link_sender(struct sm *sm, const struct frame *f)
{
	if (!sm->link)
		return SM_SEND_FAILED;
	/* At the end, what waits goes whatever the queue holds: the link
	 * flushes it before closing. */
	if (closing)
		return link_send_control(sm->link, f) == 0 ? SM_SEND_OK
							   : SM_SEND_FAILED;
	if (link_send(sm->link, f) == 0)
		return SM_SEND_OK;
	return link_full(sm->link) ? SM_SEND_FULL : SM_SEND_FAILED;
}

static void on_pause_timer(uv_timer_t *t)
{
	struct sm *sm = t->data;
	log_warn("sm: the router link has been full for %d ms; reading from "
		 "the router again (%zu bytes wait)",
		 SM_PAUSE_MAX_MS, sm_send_backlog(sm));
	if (sm->link)
		link_resume(sm->link);
}

/* Backpressure (ARCHITECTURE.md §2): no new work from the router while
 * the sm's own frames wait for the link. */
static void set_reading(struct sm *sm, bool on)
{
	if (!sm->link)
		return;
	if (on) {
		uv_timer_stop(&pause_timer);
		link_resume(sm->link);
	} else {
		link_pause(sm->link);
		pause_timer.data = sm;
		uv_timer_start(&pause_timer, on_pause_timer, SM_PAUSE_MAX_MS,
			       0);
	}
}

static void on_ready(struct link *l)
{
	struct sm *sm = link_data(l);
	sm->link = l;
	log_info("sm: linked to the router as '%s'", sm->name);
}

static void stop_now(struct sm *sm)
{
	uv_timer_stop(&stop_timer);
	uv_timer_stop(&pause_timer);
	if (sm->link) {
		closing = true;
		sm_send_drained(sm);  /* the backlog, into the link's queue */
		link_close(sm->link); /* flushes; on_close stops the loop */
	} else {
		uv_stop(sm->loop);
	}
}

static void on_frame(struct link *l, const struct frame *f)
{
	struct sm *sm = link_data(l);
	sm->link = l;
	sm_handle_frame(sm, f);
	if (sm->stopping && sm->sessions.conns.count == 0)
		stop_now(sm);
}

static void on_close(struct link *l)
{
	struct sm *sm = link_data(l);
	sm->link = NULL;
	if (!sm->stopping) {
		/* The supervisor restarts us; sessions are c2s's to end. */
		log_error("sm: lost the link to the router");
		sm->exit_status = 1;
	}
	uv_stop(sm->loop);
}

static void on_drain(struct link *l)
{
	sm_send_drained(link_data(l)); /* then reads again, if emptied */
}

static void on_stop_timer(uv_timer_t *t)
{
	struct sm *sm = t->data;
	log_info("sm: %zu sessions still open; stopping anyway",
		 (size_t)sm->sessions.conns.count);
	stop_now(sm);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct sm *sm = h->data;
	if (sm->stopping)
		return;
	log_info("sm: signal %d, stopping", signum);
	sm->stopping = true;
	if (!sm->link || sm->sessions.conns.count == 0) {
		stop_now(sm);
		return;
	}
	stop_timer.data = sm;
	uv_timer_start(&stop_timer, on_stop_timer, SM_STOP_GRACE_MS, 0);
}

static void close_handle(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* What went through the router link, for heap_trim. */
static uint64_t sm_traffic(void *ctx)
{
	static uint64_t seen;
	struct sm *sm = ctx;
	struct link_stats st;
	if (sm->link) {
		link_get_stats(sm->link, &st);
		seen = st.bytes_in + st.bytes_out;
	}
	return seen;
}

int sm_main(const struct config *cfg, const char *name, const char *secret)
{
	static struct heap_trim trim;
	static struct sm sm; /* large: keep it off the stack */
	uv_loop_t loop;
	uv_signal_t sigterm, sigint;

	/* Before anything runs on the pool: libuv sizes it then. */
	sm_lookup_size_pool(cfg);
	if (uv_loop_init(&loop) < 0 || sm_init(&sm, cfg, name) < 0) {
		log_error("sm: cannot start (out of memory or a module "
			  "failed)");
		return 1;
	}
	sm.loop = &loop;
	sm.send = link_sender;
	sm.set_reading = set_reading;
	sm.user_exists = auth_user_exists;
	char *db = config_data_path(cfg, "sm.sqlite");
	char err[256] = "sm.sqlite: out of memory";
	if (!db || !(sm.storage = storage_open(&loop, db, err, sizeof err))) {
		/* storage_open's message names the file. A database that
		 * cannot be opened or is newer than this palabre stays so
		 * across restarts. */
		log_error("sm: cannot open the storage: %s", err);
		free(db);
		sm_free(&sm);
		uv_loop_close(&loop);
		return PALABRED_EXIT_CONFIG;
	}
	free(db);

	uv_timer_init(&loop, &stop_timer);
	uv_timer_init(&loop, &pause_timer);
	uv_signal_init(&loop, &sigterm);
	uv_signal_init(&loop, &sigint);
	sigterm.data = sigint.data = &sm;
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);

	const char *binds[CONFIG_MAX_HOSTS + 1];
	for (size_t i = 0; i < cfg->nhosts; i++)
		binds[i] = cfg->hosts[i].domain;
	binds[cfg->nhosts] = NULL;
	static const struct link_client_callbacks cb = {
		.on_ready = on_ready,
		.on_frame = on_frame,
		.on_close = on_close,
		.on_drain = on_drain,
	};
	sm.exit_status = 0;
	if (link_client_connect(&loop, cfg->router_socket, name, secret, binds,
				&cb, &sm) < 0) {
		log_error("sm: cannot connect to the router at %s",
			  cfg->router_socket);
		sm.exit_status = 1;
	} else {
		heap_trim_start(&trim, &loop, sm_traffic, &sm);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	int status = sm.exit_status;

	sm_userdata_shutdown(&sm); /* the storage's last completions */
	sm_free(&sm);
	uv_walk(&loop, close_handle, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return status;
}
