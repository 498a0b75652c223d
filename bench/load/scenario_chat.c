/* chat: sessions in pairs (2i, 2i+1, in one worker) send each other
 * <message type='chat'><body>T</body></message>, T the CLOCK_MONOTONIC
 * time of sending in ns; the receiver, on the same host, takes the
 * one-way latency from it.
 *
 * At --msg-rate R, the workers send R messages per second in total,
 * spread evenly in time (a 1 ms ticker sends those due), round-robin
 * over their sessions: an open loop, where latency shows queueing.
 *
 * At saturation (--msg-rate 0), a closed loop: each session starts by
 * sending --window messages to its partner, and sends a new one each
 * time a message from its partner arrives. Every delivery triggers
 * exactly one send, so each pair keeps 2 x window messages in flight
 * whatever the server's speed, and the rate measured is what the server
 * sustains at that depth. A lost message lowers the depth for good: the
 * report shows it in "lost".
 *
 * After --duration seconds nothing more is sent; what arrives in the next
 * 2 s still counts as received (and in the latencies), then the sessions
 * close. lost = sent - received; per_s counts the deliveries within the
 * window only. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "worker.h"

#define DRAIN_MS 2000

struct chat_state {
	bool window;
	uint64_t t0_ns;
	uint64_t due_sent; /* messages the --msg-rate ticker sent */
	uint32_t rr;       /* its next session */
};

static int chat_init(struct worker *w)
{
	return (w->scenario_state = calloc(1, sizeof(struct chat_state))) ? 0
									  : -1;
}

static void chat_send(struct session *s)
{
	struct worker *w = s->w;
	char partner[300], msg[512];
	worker_account_name(w, s->account ^ 1, partner, sizeof partner);
	int n = snprintf(msg, sizeof msg,
			 "<message type='chat' to='%s@%s'><body>%" PRIu64
			 "</body></message>",
			 partner, w->opt->domain, worker_now_ns());
	session_send(s, msg, (size_t)n);
	w->report.messages_sent++;
}

static void chat_setup(struct worker *w)
{
	w->counting_logins = true;
}

static void chat_check(struct worker *w)
{
	if (w->ready_sent || !worker_setup_done(w))
		return;
	worker_setup_opened(w);
	worker_ready(w, false);
}

static void chat_drained(uv_timer_t *t)
{
	worker_finish(t->data);
}

static void chat_window_over(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct chat_state *st = w->scenario_state;
	st->window = false;
	uv_timer_stop(&w->ticker);
	worker_measure_memory(w);
	uv_timer_start(&w->timer, chat_drained, DRAIN_MS, 0);
}

/* --msg-rate: sends the messages due by now, round-robin. */
static void chat_tick_rate(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct chat_state *st = w->scenario_state;
	double rate = w->opt->msg_rate / w->opt->processes;
	uint64_t due =
		(uint64_t)(rate * (double)(worker_now_ns() - st->t0_ns) / 1e9);
	for (uint64_t n = 0; st->due_sent < due && n < w->slots;) {
		struct session *s = &w->sessions[st->rr++ % w->slots];
		if (session_online(s)) {
			chat_send(s);
			st->due_sent++;
			n = 0;
		} else {
			n++; /* a whole round without a session online: give up */
		}
	}
}

static void chat_run(struct worker *w)
{
	struct chat_state *st = w->scenario_state;
	st->window = true;
	st->t0_ns = worker_now_ns();
	w->report.window_s = w->opt->duration;
	if (w->opt->msg_rate > 0) {
		uv_timer_start(&w->ticker, chat_tick_rate, 1, 1);
	} else {
		for (uint32_t i = 0; i < w->slots; i++)
			if (session_online(&w->sessions[i]))
				for (int k = 0; k < w->opt->window; k++)
					chat_send(&w->sessions[i]);
	}
	uv_timer_start(&w->timer, chat_window_over,
		       (uint64_t)(w->opt->duration * 1000.0), 0);
}

static void chat_on_stanza(struct session *s, struct span e)
{
	struct worker *w = s->w;
	struct chat_state *st = w->scenario_state;
	struct span body, delay;
	/* not ours: bounces, and messages stored offline by earlier runs
	 * (XEP-0203 <delay/>) */
	if (!st->t0_ns || !scan_is(e, "message") ||
	    scan_attr_is(e, "type", "error") || !scan_find(e, "body", &body) ||
	    scan_find(e, "delay", &delay))
		return;
	char text[32];
	span_copy(scan_text(body), text, sizeof text);
	uint64_t sent = strtoull(text, NULL, 10), now = worker_now_ns();
	if (sent && sent <= now)
		histogram_add(&w->report.latency_us, (now - sent) / 1000);
	w->report.messages_received++;
	if (st->window) {
		w->report.messages_in_window++;
		if (w->opt->msg_rate == 0)
			chat_send(s);
	}
}

static void chat_on_login(struct session *s, struct span roster)
{
	chat_check(s->w);
}

static void chat_on_end(struct session *s, bool clean)
{
	chat_check(s->w);
}

const struct scenario scenario_chat = {
	.name = "chat",
	.init = chat_init,
	.setup = chat_setup,
	.run = chat_run,
	.next_login = worker_setup_next,
	.on_login = chat_on_login,
	.on_stanza = chat_on_stanza,
	.on_end = chat_on_end,
	.tick = chat_check,
};
