/* presence: every user (whose roster roster-setup made: i's contacts are
 * i-K .. i+K) logs in; then for --duration seconds users log out and in
 * again in turn, --concurrency of them at once per worker (and no faster
 * than --rate logins per second), and every presence stanza any session
 * receives in that window is counted: the unavailable and available
 * broadcasts to the contacts online, the answers to the probes of the
 * users coming back, and each one's own presence echoed to it (RFC 6121
 * §4.2.2). logins_per_s and login_ms are those of the logins again. */
#include <stdlib.h>

#include "worker.h"

enum cycle { CYCLE_NONE, CYCLE_OUT, CYCLE_IN };

struct presence_state {
	bool running, window;
	uint32_t cursor; /* the next user to log out */
	uint32_t active; /* cycles under way */
	uint32_t qhead, qlen;
	uint32_t *queue;      /* slots logged out, to log in again */
	unsigned char *cycle; /* enum cycle, per slot */
};

static int presence_init(struct worker *w)
{
	/* one block: the state, the queue, the cycles */
	struct presence_state *st =
		calloc(1, sizeof *st + w->slots * (sizeof(uint32_t) + 1));
	w->scenario_state = st;
	if (!st)
		return -1;
	st->queue = (uint32_t *)(st + 1);
	st->cycle = (unsigned char *)(st->queue + w->slots);
	return 0;
}

static void presence_check_setup(struct worker *w)
{
	if (w->ready_sent || !worker_setup_done(w))
		return;
	worker_setup_opened(w);
	worker_ready(w, false);
}

/* Logs the next online user out; false when nobody is online. */
static bool presence_cycle_start(struct worker *w)
{
	struct presence_state *st = w->scenario_state;
	for (uint32_t n = 0; n < w->slots; n++) {
		uint32_t i = st->cursor++ % w->slots;
		struct session *s = &w->sessions[i];
		if (session_online(s) && st->cycle[i] == CYCLE_NONE) {
			st->cycle[i] = CYCLE_OUT;
			st->active++;
			session_logout(s);
			return true;
		}
	}
	return false;
}

static void presence_window_over(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct presence_state *st = w->scenario_state;
	st->window = false;
	w->counting_logins = false;
	w->report.login_period_s = w->opt->duration;
	worker_measure_memory(w);
	if (st->active == 0)
		worker_finish(w);
}

static void presence_run(struct worker *w)
{
	struct presence_state *st = w->scenario_state;
	st->running = st->window = true;
	w->counting_logins = true;
	w->report.window_s = w->opt->duration;
	worker_pace_reset(w);
	for (int c = 0; c < w->opt->concurrency && presence_cycle_start(w); c++)
		;
	uv_timer_start(&w->timer, presence_window_over,
		       (uint64_t)(w->opt->duration * 1000.0), 0);
}

static bool presence_next(struct worker *w, uint32_t *slot, uint64_t *account)
{
	struct presence_state *st = w->scenario_state;
	if (!st->running)
		return worker_setup_next(w, slot, account);
	if (st->qlen == 0)
		return false;
	*slot = st->queue[st->qhead];
	st->qhead = (st->qhead + 1) % w->slots;
	st->qlen--;
	*account = w->base + *slot;
	st->cycle[*slot] = CYCLE_IN;
	return true;
}

/* A cycle ended (logged in again, or failed): the next one starts. */
static void presence_cycle_over(struct worker *w, uint32_t slot)
{
	struct presence_state *st = w->scenario_state;
	st->cycle[slot] = CYCLE_NONE;
	st->active--;
	if (st->window)
		presence_cycle_start(w);
	else if (st->active == 0)
		worker_finish(w);
}

static void presence_on_login(struct session *s, struct span roster)
{
	struct worker *w = s->w;
	struct presence_state *st = w->scenario_state;
	if (!st->running)
		presence_check_setup(w);
	else if (st->cycle[s->slot] == CYCLE_IN)
		presence_cycle_over(w, s->slot);
}

static void presence_on_end(struct session *s, bool clean)
{
	struct worker *w = s->w;
	struct presence_state *st = w->scenario_state;
	if (!st->running) {
		presence_check_setup(w);
	} else if (st->cycle[s->slot] == CYCLE_OUT && clean && st->window &&
		   !w->finishing) {
		st->queue[(st->qhead + st->qlen++) % w->slots] = s->slot;
	} else if (st->cycle[s->slot] != CYCLE_NONE) {
		presence_cycle_over(w, s->slot); /* failed, or too late */
	}
}

static void presence_on_stanza(struct session *s, struct span e)
{
	struct presence_state *st = s->w->scenario_state;
	if (st->window && scan_is(e, "presence"))
		s->w->report.presences++;
}

const struct scenario scenario_presence = {
	.name = "presence",
	.init = presence_init,
	.run = presence_run,
	.next_login = presence_next,
	.on_login = presence_on_login,
	.on_stanza = presence_on_stanza,
	.on_end = presence_on_end,
	.tick = presence_check_setup,
};
