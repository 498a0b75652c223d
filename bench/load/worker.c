/* worker: one process of the generator (see worker.h). */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SWEEP_MS 250

uint64_t worker_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

uint64_t worker_now_ms(const struct worker *w)
{
	return uv_now(w->loop);
}

void worker_account_name(const struct worker *w, uint64_t index, char *out,
			 size_t size)
{
	options_account(w->opt, index, out, size);
}

uint32_t worker_next_source(struct worker *w)
{
	const struct options *o = w->opt;
	if (!o->source_first)
		return 0;
	uint32_t n = o->source_last - o->source_first + 1;
	return o->source_first + (w->next_source++ % n);
}

void worker_mark_dirty(struct worker *w, struct session *s)
{
	if (s->dirty)
		return;
	if (w->ndirty == w->dirty_cap) {
		uint32_t cap = w->dirty_cap ? w->dirty_cap * 2 : 1024;
		uint32_t *d = realloc(w->dirty, cap * sizeof *d);
		if (!d) {
			session_flush(s); /* at once, then */
			return;
		}
		w->dirty = d;
		w->dirty_cap = cap;
	}
	s->dirty = true;
	w->dirty[w->ndirty++] = s->slot;
}

/* ---- starting logins ---------------------------------------------------- */

void worker_pace_reset(struct worker *w)
{
	uv_update_time(w->loop);
	w->pace_t0_ms = uv_now(w->loop);
	w->pace_started = 0;
}

void worker_kick(struct worker *w)
{
	w->kick_pending = true;
}

static void on_pace(uv_timer_t *t)
{
	worker_kick(t->data);
}

/* Starts logins while fewer than --concurrency are in progress and
 * --rate allows: login k of a phase starts k / rate seconds into it. */
static void worker_start_logins(struct worker *w)
{
	w->kick_pending = false;
	if (w->finishing)
		return;
	uint64_t now = uv_now(w->loop);
	while (w->in_progress < (uint32_t)w->opt->concurrency) {
		if (w->pace_rate > 0) {
			double due_ms =
				(double)w->pace_started * 1000.0 / w->pace_rate;
			double late = due_ms - (double)(now - w->pace_t0_ms);
			if (late > 0) {
				uv_timer_start(&w->pace_timer, on_pace,
					       (uint64_t)late + 1, 0);
				return;
			}
		}
		uint32_t slot;
		uint64_t account;
		if (!w->sc->next_login ||
		    !w->sc->next_login(w, &slot, &account))
			return;
		w->pace_started++;
		session_login(&w->sessions[slot], account);
	}
}

/* Before the loop waits: new logins, then every queued output. */
static void on_prepare(uv_prepare_t *h)
{
	struct worker *w = h->data;
	if (w->kick_pending)
		worker_start_logins(w);
	for (uint32_t i = 0; i < w->ndirty; i++) {
		struct session *s = &w->sessions[w->dirty[i]];
		s->dirty = false;
		session_flush(s);
	}
	w->ndirty = 0;
}

void worker_login_done(struct worker *w, struct session *s)
{
	w->in_progress--;
	worker_kick(w);
}

bool worker_setup_next(struct worker *w, uint32_t *slot, uint64_t *account)
{
	if (w->setup_next >= w->count)
		return false;
	*slot = w->setup_next;
	*account = w->base + w->setup_next++;
	return true;
}

bool worker_setup_done(const struct worker *w)
{
	return w->setup_next >= w->count && w->in_progress == 0;
}

void worker_setup_opened(struct worker *w)
{
	uv_update_time(w->loop);
	w->report.open_s =
		(double)(uv_now(w->loop) - w->phase_start_ms) / 1000.0;
	if (w->counting_logins)
		w->report.login_period_s = w->report.open_s;
	w->counting_logins = false;
}

/* ---- the end ---------------------------------------------------------------- */

static void worker_end(struct worker *w)
{
	if (w->ended)
		return;
	w->ended = true;
	uv_close((uv_handle_t *)&w->prepare, NULL);
	uv_close((uv_handle_t *)&w->pace_timer, NULL);
	uv_close((uv_handle_t *)&w->sweep_timer, NULL);
	uv_close((uv_handle_t *)&w->timer, NULL);
	uv_close((uv_handle_t *)&w->ticker, NULL);
	uv_close((uv_handle_t *)&w->parent, NULL);
}

/* Logs the sessions out --concurrency at a time, as they logged in: a
 * whole population saying goodbye in the same instant would measure the
 * generator's own queue (each waits --timeout at most for the server's
 * </stream:stream>), and users do not all leave in the same second. */
static void worker_logout_more(struct worker *w)
{
	while (w->logging_out < (uint32_t)w->opt->concurrency &&
	       w->logout_next < w->slots) {
		struct session *s = &w->sessions[w->logout_next++];
		if (s->state == SESSION_FREE || s->state == SESSION_CLOSED)
			continue;
		s->logging_out = true;
		w->logging_out++;
		session_logout(s);
	}
	if (w->open == 0)
		worker_end(w);
}

void worker_slot_free(struct worker *w, struct session *s)
{
	w->open--;
	if (s->logging_out) {
		s->logging_out = false;
		w->logging_out--;
	}
	if (w->sc->on_end)
		w->sc->on_end(s, s->clean);
	worker_kick(w);
	if (w->finishing)
		worker_logout_more(w);
}

void worker_finish(struct worker *w)
{
	if (w->finishing)
		return;
	w->finishing = true;
	worker_logout_more(w);
}

/* ---- the parent ------------------------------------------------------------- */

void worker_measure_memory(struct worker *w)
{
	uint64_t online = 0;
	for (uint32_t i = 0; i < w->slots; i++)
		online += session_online(&w->sessions[i]);
	w->report.rss_kib = report_rss_kib();
	w->report.sessions_measured = online;
}

void worker_ready_count(struct worker *w, uint64_t count)
{
	if (w->ready_sent)
		return;
	w->ready_sent = true;
	char msg[1 + sizeof(uint64_t)];
	msg[0] = MSG_READY;
	memcpy(msg + 1, &count, sizeof count);
	uv_buf_t b = uv_buf_init(msg, sizeof msg);
	if (uv_try_write((uv_stream_t *)&w->parent, &b, 1) != (int)sizeof msg)
		fprintf(stderr, "xmppload: worker %d cannot reach its parent\n",
			w->index);
}

void worker_ready(struct worker *w, bool measure_memory)
{
	if (w->ready_sent)
		return;
	if (measure_memory)
		worker_measure_memory(w);
	worker_ready_count(w, w->open);
}

static void on_parent_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
	static char byte[16];
	*b = uv_buf_init(byte, sizeof byte);
}

static void on_parent(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct worker *w = st->data;
	if (n < 0) { /* the parent is gone: stop */
		uv_read_stop(st);
		worker_finish(w);
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (b->base[i] == MSG_GO) {
			uv_update_time(w->loop);
			w->phase_start_ms = uv_now(w->loop);
			if (w->sc->run)
				w->sc->run(w);
		}
}

/* ---- timeouts ---------------------------------------------------------------- */

static void on_sweep(uv_timer_t *t)
{
	struct worker *w = t->data;
	uint64_t now = uv_now(w->loop);
	for (uint32_t i = 0; i < w->slots; i++) {
		struct session *s = &w->sessions[i];
		if (s->deadline_ms && now >= s->deadline_ms)
			session_abort(s, FAIL_TIMEOUT);
	}
	if (w->sc->tick)
		w->sc->tick(w);
}

/* ---- TLS ---------------------------------------------------------------------- */

/* --resume: each ticket serves one handshake, as RFC 8446 §C.4 advises
 * clients (OpenSSL resumes a session offered by handshakes at once only
 * now and then), and each resumed handshake brings a new one. The
 * newest are kept, up to a bound; the first logins, before any ticket,
 * make full handshakes. */
#define TICKETS_MAX 4096

static int on_new_ticket(SSL *ssl, SSL_SESSION *session)
{
	struct worker *w = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (!w->tickets &&
	    !(w->tickets = calloc(TICKETS_MAX, sizeof *w->tickets)))
		return 0;
	if (w->ntickets == TICKETS_MAX) { /* drop the oldest */
		SSL_SESSION_free(w->tickets[0]);
		memmove(w->tickets, w->tickets + 1,
			(TICKETS_MAX - 1) * sizeof *w->tickets);
		w->ntickets--;
	}
	w->tickets[w->ntickets++] = session;
	return 1; /* we keep the reference */
}

SSL_SESSION *worker_take_ticket(struct worker *w)
{
	return w->ntickets ? w->tickets[--w->ntickets] : NULL;
}

/* No certificate verification: bench servers use self-signed ones. */
static SSL_CTX *worker_ssl_ctx(struct worker *w)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* idle connections give their record buffers back */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_app_data(ctx, w);
	if (w->opt->resume) {
		SSL_CTX_set_session_cache_mode(
			ctx, SSL_SESS_CACHE_CLIENT |
				     SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, on_new_ticket);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	/* XEP-0368 §3 */
	if (w->opt->tls == TLS_MODE_DIRECT &&
	    SSL_CTX_set_alpn_protos(
		    ctx, (const unsigned char *)"\x0bxmpp-client", 12) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* ---- the process ---------------------------------------------------------------- */

static const struct scenario *scenario_for(enum scenario_kind k)
{
	switch (k) {
	case SCENARIO_IDLE:
		return &scenario_idle;
	case SCENARIO_LOGIN:
		return &scenario_login;
	case SCENARIO_CHAT:
		return &scenario_chat;
	case SCENARIO_PRESENCE:
		return &scenario_presence;
	case SCENARIO_ROSTER_SETUP:
		return &scenario_roster_setup;
	case SCENARIO_MUC:
		return &scenario_muc;
	}
	return &scenario_idle;
}

static int worker_init(struct worker *w, int parent_fd)
{
	const struct options *o = w->opt;
	w->report.processes = 1;
	options_share(o, w->index, &w->base, &w->count);
	w->slots = options_slots(o, w->count);
	w->sc = scenario_for(o->scenario);
	w->pace_rate = o->rate / o->processes;
	w->sessions = calloc(w->slots, sizeof *w->sessions);
	/* SCRAM keys are kept only where accounts log in again */
	if (o->mech != SASL_PLAIN &&
	    (o->scenario == SCENARIO_LOGIN || o->scenario == SCENARIO_PRESENCE))
		w->keys = calloc(w->count, sizeof *w->keys);
	w->ssl_ctx = worker_ssl_ctx(w);
	if (!w->sessions || !w->ssl_ctx ||
	    (o->mech != SASL_PLAIN && !w->keys &&
	     (o->scenario == SCENARIO_LOGIN ||
	      o->scenario == SCENARIO_PRESENCE)))
		return -1;
	for (uint32_t i = 0; i < w->slots; i++) {
		w->sessions[i].w = w;
		w->sessions[i].slot = i;
	}
	uv_prepare_init(w->loop, &w->prepare);
	uv_timer_init(w->loop, &w->pace_timer);
	uv_timer_init(w->loop, &w->sweep_timer);
	uv_timer_init(w->loop, &w->timer);
	uv_timer_init(w->loop, &w->ticker);
	w->prepare.data = w->pace_timer.data = w->sweep_timer.data = w;
	w->timer.data = w->ticker.data = w;
	/* a copy: closing the pipe closes it, the report leaves after */
	int fd = dup(parent_fd);
	if (fd < 0 || uv_pipe_init(w->loop, &w->parent, 0) < 0 ||
	    uv_pipe_open(&w->parent, fd) < 0)
		return -1;
	w->parent.data = w;
	uv_prepare_start(&w->prepare, on_prepare);
	uv_timer_start(&w->sweep_timer, on_sweep, SWEEP_MS, SWEEP_MS);
	uv_read_start((uv_stream_t *)&w->parent, on_parent_alloc, on_parent);
	/* each worker starts at another source address */
	w->next_source = (uint32_t)w->index;
	if (w->sc->init && w->sc->init(w) < 0)
		return -1;
	/* what is there before the first session (the slots' pages are
	 * untouched yet): the rest counts per session */
	w->report.rss_base_kib = report_rss_kib();
	return 0;
}

static void worker_send_report(struct worker *w, int fd)
{
	char type = MSG_REPORT;
	const char *p = (const char *)&w->report;
	size_t left = sizeof w->report;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (write(fd, &type, 1) != 1)
		return;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		left -= (size_t)n;
	}
}

int worker_main(const struct options *o, int index, int parent_fd)
{
	static struct worker w; /* big (the read buffer), one per process */
	uv_loop_t loop;
	if (uv_loop_init(&loop) < 0)
		return 1;
	w.opt = o;
	w.index = index;
	w.loop = &loop;
	if (worker_init(&w, parent_fd) < 0) {
		fprintf(stderr,
			"xmppload: worker %d: cannot start (out of memory "
			"or OpenSSL failed)\n",
			index);
		return 1;
	}
	worker_pace_reset(&w);
	w.phase_start_ms = uv_now(&loop);
	if (w.sc->setup)
		w.sc->setup(&w);
	worker_kick(&w);
	uv_run(&loop, UV_RUN_DEFAULT);
	worker_send_report(&w, parent_fd);
	uv_loop_close(&loop);
	while (w.ntickets)
		SSL_SESSION_free(w.tickets[--w.ntickets]);
	free(w.tickets);
	free(w.scenario_state);
	free(w.sessions);
	free(w.keys);
	free(w.dirty);
	SSL_CTX_free(w.ssl_ctx);
	return 0;
}
