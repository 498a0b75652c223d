#include "supervisor.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "palabred.h"

#define RESTART_DELAY_MIN_MS 200
#define RESTART_DELAY_MAX_MS 30000
/* A child that ran this long is healthy: its next restart is quick again. */
#define HEALTHY_RUN_MS 60000
#define STOP_GRACE_MS 5000

struct child {
	struct supervisor *owner;
	char name[32];
	uv_process_t process;
	uv_timer_t restart_timer;
	bool running;
	bool term_sent;
	uint64_t started_at;
	uint64_t delay_ms; /* next restart delay */
};

struct supervisor {
	uv_loop_t *loop;
	const struct config *cfg;
	char exe[4096];
	struct child *children;
	size_t nchildren, max_children;
	bool stopping;
	bool failed; /* a child cannot run with this configuration */
	uv_timer_t kill_timer;
	void (*on_stopped)(void *data);
	void *data;
};

static void child_spawn(struct child *c);
static void supervisor_kill_stragglers(uv_timer_t *timer);

static size_t running_children(const struct supervisor *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nchildren; i++)
		n += s->children[i].running;
	return n;
}

/* Children stop in two steps: every c2s together, then the sm once no
 * c2s is left, so that clients hear system-shutdown from a c2s whose sm
 * is still there. Each step has its own grace period before SIGKILL. */
static void supervisor_stop_next(struct supervisor *s)
{
	bool signalled = false;
	for (size_t i = s->nchildren; i-- > 0;) {
		struct child *c = &s->children[i];
		if (!c->running || uv_is_closing((uv_handle_t *)&c->process))
			continue;
		if (i == 0 && signalled)
			break; /* the sm waits for the others */
		if (!c->term_sent) {
			uv_process_kill(&c->process, SIGTERM);
			c->term_sent = true;
			signalled = true;
		} else {
			return; /* this step is still running */
		}
	}
	if (signalled)
		uv_timer_start(&s->kill_timer, supervisor_kill_stragglers,
			       STOP_GRACE_MS, 0);
}

static void child_restart(uv_timer_t *timer)
{
	struct child *c = timer->data;
	if (!c->owner->stopping)
		child_spawn(c);
}

static void child_process_closed(uv_handle_t *handle)
{
	struct child *c = handle->data;
	struct supervisor *s = c->owner;
	c->running = false;
	if (s->stopping) {
		if (running_children(s) == 0) {
			uv_timer_stop(&s->kill_timer);
			s->on_stopped(s->data);
		} else {
			supervisor_stop_next(s);
		}
		return;
	}
	uv_timer_start(&c->restart_timer, child_restart, c->delay_ms, 0);
}

static void child_exited(uv_process_t *process, int64_t status, int signal)
{
	struct child *c = process->data;
	struct supervisor *s = c->owner;
	uint64_t ran = uv_now(s->loop) - c->started_at;
	if (ran >= HEALTHY_RUN_MS)
		c->delay_ms = RESTART_DELAY_MIN_MS;
	if (s->stopping) {
		log_info("component %s stopped", c->name);
	} else if (!signal && status == PALABRED_EXIT_CONFIG) {
		log_error("component %s (pid %d) cannot run with this "
			  "configuration (its reason is above); stopping "
			  "palabred",
			  c->name, process->pid);
		s->failed = true;
	} else if (signal) {
		log_error("component %s (pid %d) killed by signal %d; "
			  "restarting in %llu ms",
			  c->name, process->pid, signal,
			  (unsigned long long)c->delay_ms);
	} else {
		log_error("component %s (pid %d) exited with status %lld; "
			  "restarting in %llu ms",
			  c->name, process->pid, (long long)status,
			  (unsigned long long)c->delay_ms);
	}
	uv_close((uv_handle_t *)process, child_process_closed);
	if (s->failed)
		supervisor_stop(s);
}

static void child_spawn(struct child *c)
{
	struct supervisor *s = c->owner;
	char *args[] = {s->exe,        "-c",    (char *)s->cfg->path,
			"--component", c->name, NULL};
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_IGNORE},
		{.flags = UV_INHERIT_FD, .data.fd = 1},
		{.flags = UV_INHERIT_FD, .data.fd = 2}};
	uv_process_options_t options = {.exit_cb = child_exited,
					.file = s->exe,
					.args = args,
					.stdio_count = 3,
					.stdio = stdio};
	c->process.data = c;
	c->started_at = uv_now(s->loop);
	int rc = uv_spawn(s->loop, &c->process, &options);
	if (rc < 0) {
		log_error("cannot start component %s: %s; retrying in %llu ms",
			  c->name, uv_strerror(rc),
			  (unsigned long long)c->delay_ms);
		uv_close((uv_handle_t *)&c->process, child_process_closed);
	} else {
		log_info("component %s started (pid %d)", c->name,
			 c->process.pid);
	}
	c->running = true; /* until its handle is closed */
	if (c->delay_ms < RESTART_DELAY_MAX_MS / 2)
		c->delay_ms *= 2;
	else
		c->delay_ms = RESTART_DELAY_MAX_MS;
}

struct supervisor *supervisor_new(uv_loop_t *loop, const struct config *cfg,
				  size_t max_children,
				  void (*on_stopped)(void *data), void *data)
{
	struct supervisor *s = calloc(1, sizeof *s);
	if (!s || !(s->children = calloc(max_children, sizeof *s->children))) {
		free(s);
		return NULL;
	}
	size_t exe_len = sizeof s->exe;
	if (uv_exepath(s->exe, &exe_len) < 0) {
		free(s->children);
		free(s);
		return NULL;
	}
	s->loop = loop;
	s->cfg = cfg;
	s->max_children = max_children;
	s->on_stopped = on_stopped;
	s->data = data;
	uv_timer_init(loop, &s->kill_timer);
	return s;
}

int supervisor_spawn(struct supervisor *s, const char *name)
{
	if (s->nchildren == s->max_children || s->stopping)
		return -1;
	struct child *c = &s->children[s->nchildren++];
	c->owner = s;
	snprintf(c->name, sizeof c->name, "%s", name);
	c->delay_ms = RESTART_DELAY_MIN_MS;
	uv_timer_init(s->loop, &c->restart_timer);
	c->restart_timer.data = c;
	child_spawn(c);
	return 0;
}

static void supervisor_kill_stragglers(uv_timer_t *timer)
{
	struct supervisor *s = timer->data;
	for (size_t i = 0; i < s->nchildren; i++) {
		struct child *c = &s->children[i];
		if (c->running && c->term_sent &&
		    !uv_is_closing((uv_handle_t *)&c->process)) {
			log_warn(
				"component %s did not stop in time; killing it",
				c->name);
			uv_process_kill(&c->process, SIGKILL);
		}
	}
}

void supervisor_stop(struct supervisor *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	for (size_t i = 0; i < s->nchildren; i++)
		uv_timer_stop(&s->children[i].restart_timer);
	s->kill_timer.data = s;
	if (running_children(s) == 0)
		s->on_stopped(s->data);
	else
		supervisor_stop_next(s);
}

bool supervisor_failed(const struct supervisor *s)
{
	return s->failed;
}

void supervisor_free(struct supervisor *s)
{
	for (size_t i = 0; i < s->nchildren; i++)
		uv_close((uv_handle_t *)&s->children[i].restart_timer, NULL);
	uv_close((uv_handle_t *)&s->kill_timer, NULL);
	/* The handles live in s: let the loop finish closing them first. */
	uv_run(s->loop, UV_RUN_NOWAIT);
	free(s->children);
	free(s);
}
