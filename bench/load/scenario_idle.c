/* idle: open every session (at --rate), hold them --hold seconds once
 * every worker has them open, then close them cleanly. The parent writes
 * "HOLDING n" when every worker is holding; memory is measured then. */
#include "worker.h"

static void idle_setup(struct worker *w)
{
	w->counting_logins = true;
}

static void idle_check(struct worker *w)
{
	if (w->ready_sent || !worker_setup_done(w))
		return;
	worker_setup_opened(w);
	worker_ready(w, true);
}

static void idle_on_login(struct session *s, struct span roster)
{
	idle_check(s->w);
}

static void idle_on_end(struct session *s, bool clean)
{
	idle_check(s->w);
}

static void idle_hold_over(uv_timer_t *t)
{
	worker_finish(t->data);
}

static void idle_run(struct worker *w)
{
	uv_timer_start(&w->timer, idle_hold_over,
		       (uint64_t)(w->opt->hold * 1000.0), 0);
}

const struct scenario scenario_idle = {
	.name = "idle",
	.setup = idle_setup,
	.run = idle_run,
	.next_login = worker_setup_next,
	.on_login = idle_on_login,
	.on_end = idle_on_end,
	.tick = idle_check,
};
