/* login: for --duration seconds, log in and straight out again, with
 * --concurrency slots per worker going round the worker's accounts.
 * logins_per_s and login_ms count the logins done within the window. */
#include <stdlib.h>

#include "worker.h"

struct login_state {
	bool window;
	uint32_t cursor;       /* where to look for a free slot */
	uint64_t next_account; /* offset in the worker's accounts */
};

static int login_init(struct worker *w)
{
	return (w->scenario_state = calloc(1, sizeof(struct login_state))) ? 0
									   : -1;
}

static void login_setup(struct worker *w)
{
	worker_ready(w, false);
}

static void login_window_over(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct login_state *st = w->scenario_state;
	st->window = false;
	w->counting_logins = false;
	w->report.login_period_s = w->opt->duration;
	worker_measure_memory(w);
	w->report.sessions_measured =
		0; /* sessions come and go: no per-session figure */
	if (w->open == 0)
		worker_finish(w);
}

static void login_run(struct worker *w)
{
	struct login_state *st = w->scenario_state;
	st->window = true;
	w->counting_logins = true;
	worker_pace_reset(w);
	worker_kick(w);
	uv_timer_start(&w->timer, login_window_over,
		       (uint64_t)(w->opt->duration * 1000.0), 0);
}

static bool login_next(struct worker *w, uint32_t *slot, uint64_t *account)
{
	struct login_state *st = w->scenario_state;
	if (!st->window)
		return false;
	for (uint32_t n = 0; n < w->slots; n++) {
		uint32_t i = (st->cursor + n) % w->slots;
		if (w->sessions[i].state == SESSION_FREE) {
			st->cursor = i + 1;
			*slot = i;
			*account = w->base + st->next_account++ % w->count;
			return true;
		}
	}
	return false;
}

static void login_on_login(struct session *s, struct span roster)
{
	session_logout(s);
}

static void login_on_end(struct session *s, bool clean)
{
	struct worker *w = s->w;
	struct login_state *st = w->scenario_state;
	if (!st->window && w->open == 0 && w->ready_sent)
		worker_finish(w);
}

const struct scenario scenario_login = {
	.name = "login",
	.init = login_init,
	.setup = login_setup,
	.run = login_run,
	.next_login = login_next,
	.on_login = login_on_login,
	.on_end = login_on_end,
};
