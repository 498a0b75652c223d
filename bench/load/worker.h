/* worker: one process of the generator — its libuv loop, its share of the
 * sessions, the pace of new logins, timeouts, and the link to the parent.
 *
 * A worker runs its scenario in two phases. Setup (logging everyone in,
 * or setting up rosters) ends with worker_ready(): the worker tells the
 * parent, which waits until every worker is ready and answers "go"; the
 * scenario's run() then does the measured part and ends with
 * worker_finish() once its sessions are closed. */
#ifndef XMPPLOAD_WORKER_H
#define XMPPLOAD_WORKER_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "sasl.h"
#include "session.h"
#include "xmppload.h"

struct worker;

/* One scenario: how it picks the logins to start and what it does with
 * the sessions. Each hook may be NULL. */
struct scenario {
	const char *name;
	/* Allocates w->scenario_state; -1 when out of memory. */
	int (*init)(struct worker *w);
	void (*setup)(struct worker *w);
	void (*run)(struct worker *w);
	/* The next slot to log in and its account, or false for none now.
	 * Asked while fewer than --concurrency logins are in progress and
	 * --rate allows another. */
	bool (*next_login)(struct worker *w, uint32_t *slot, uint64_t *account);
	/* The login is done; roster is the roster result (an <iq>). */
	void (*on_login)(struct session *s, struct span roster);
	/* A stanza after the login (iq get/set already answered). */
	void (*on_stanza)(struct session *s, struct span stanza);
	/* The slot is free again; clean tells a logout from a failure. */
	void (*on_end)(struct session *s, bool clean);
	/* Every 250 ms. */
	void (*tick)(struct worker *w);
};

extern const struct scenario scenario_idle, scenario_login, scenario_chat,
	scenario_presence, scenario_roster_setup, scenario_muc;

struct worker {
	const struct options *opt;
	const struct scenario *sc;
	void *scenario_state;
	uv_loop_t *loop;
	int index;      /* process number */
	uint64_t base;  /* global index of this worker's first session */
	uint32_t count; /* its sessions (accounts base .. base + count - 1) */
	struct session *sessions;
	uint32_t slots;
	struct scram_keys *keys; /* per account, when accounts log in again */
	struct report report;

	SSL_CTX *ssl_ctx;
	SSL_SESSION **tickets; /* --resume: unused tickets, newest last */
	uint32_t ntickets;
	uint32_t next_source;

	uint32_t in_progress; /* logins started, not yet done or failed */
	uint32_t open;        /* slots not free */
	bool counting_logins; /* logins count in report.logins now */
	double pace_rate;     /* logins per second for this worker; 0: any */
	uint64_t pace_t0_ms;
	uint64_t pace_started;
	bool kick_pending;
	bool finishing;       /* closing every session, then finish */
	uint32_t logout_next; /* the next slot to log out when finishing */
	uint32_t logging_out; /* logouts in progress */
	bool ended;           /* the worker's handles are closing */
	bool ready_sent;

	uint32_t *dirty; /* slots with output to flush */
	uint32_t ndirty, dirty_cap;

	uint32_t setup_next; /* the next slot the setup logs in */

	uv_prepare_t prepare;
	uv_timer_t pace_timer, sweep_timer;
	uv_timer_t timer, ticker; /* the scenario's own (data = w) */
	uv_pipe_t parent;
	uint64_t phase_start_ms;
	char inbuf[65536]; /* every read lands here, handled at once */
};

/* The clock of latencies and of chat bodies: CLOCK_MONOTONIC, ns. */
uint64_t worker_now_ns(void);
uint64_t worker_now_ms(const struct worker *w);

/* Starts more logins (before the loop next waits). */
void worker_kick(struct worker *w);
/* Restarts --rate counting from now (each phase paces its own logins). */
void worker_pace_reset(struct worker *w);
/* The next source address (host order), or 0 without --sources. */
uint32_t worker_next_source(struct worker *w);
/* With --resume, a ticket for the next handshake (the caller owns it),
 * or NULL. */
SSL_SESSION *worker_take_ticket(struct worker *w);
/* Queues slot s for a flush before the loop waits. */
void worker_mark_dirty(struct worker *w, struct session *s);

/* The setup's logins: every slot once, in order (account = base + slot). */
bool worker_setup_next(struct worker *w, uint32_t *slot, uint64_t *account);
/* Every setup login has started and none is in progress. */
bool worker_setup_done(const struct worker *w);
/* Notes the time taken to open the sessions (report.open_s) and stops
 * counting logins; they counted over open_s. */
void worker_setup_opened(struct worker *w);

/* Setup is over: measures memory when measure_memory, tells the parent
 * (with the sessions open). */
void worker_ready(struct worker *w, bool measure_memory);
/* Ready again, at a later barrier, with count for the parent's line. */
void worker_ready_count(struct worker *w, uint64_t count);
/* Measures VmRSS now, with the sessions open. */
void worker_measure_memory(struct worker *w);
/* Logs every session out, then ends the worker. */
void worker_finish(struct worker *w);

/* From session.c: a login finished (done or failed) or a slot got free. */
void worker_login_done(struct worker *w, struct session *s);
void worker_slot_free(struct worker *w, struct session *s);
/* Account number index's local part into out. */
void worker_account_name(const struct worker *w, uint64_t index, char *out,
			 size_t size);

#endif
