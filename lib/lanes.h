/* lanes: work on libuv's worker pool in lanes, so that work that may
 * hang cannot take every thread of the pool.
 *
 * ARCHITECTURE.md §9, lookups that wait alone: work that asks a
 * directory blocks a worker thread for as long as the directory takes to
 * answer (an LDAP server that accepts connections and never answers:
 * `timeout` seconds per URI, and one retry). If every thread of the
 * pool held such work, the work of every other domain would wait behind
 * it. So each directory (all the domains of one <ldap>) and the local
 * accounts have a lane (auth_lane, auth/auth.h, numbers them): at most
 * `per_lane` of a lane's jobs run at once, the rest wait in the lane's
 * FIFO, and the pool has a thread for every lane's share and some spare
 * (lanes_size_pool). One lane's jobs never wait behind another's. What
 * waits in a lane waits at most (its place in the lane / per_lane)
 * times its directory's time to answer or fail.
 *
 * The sm runs its account checks and vCard searches in lanes
 * (server/sm/lookup.c), the c2s its SASL steps (server/c2s/sasl.c). */
#ifndef PALABRE_LANES_H
#define PALABRE_LANES_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* Jobs per directory (and for the local accounts) at once, where a
 * process has no reason to run more. */
#define LANES_PER_DIRECTORY 2
/* Threads beyond the lanes' shares, for the rest of the pool's work. */
#define LANES_POOL_SPARE 2

struct lanes;
struct lanes_job;

typedef void (*lanes_work_fn)(struct lanes_job *job); /* on a worker */
/* On the loop: status 0, or a libuv error (UV_ECANCELED: it never ran). */
typedef void (*lanes_done_fn)(struct lanes_job *job, int status);

/* Embedded in its owner's structure, which it must outlive until done. */
struct lanes_job {
	void *data; /* the owner's */
	/* lanes.c's */
	uv_work_t req;
	struct lanes_job *next; /* in its lane's FIFO */
	struct lanes *lanes;
	size_t lane;
	bool started; /* handed to the pool */
	lanes_work_fn work;
	lanes_done_fn done;
};

/* nlanes lanes of per_lane jobs at once each; NULL: out of memory. */
struct lanes *lanes_new(uv_loop_t *loop, size_t nlanes, unsigned per_lane);

/* Runs work(job) on the pool in lane (< nlanes) once the lane has room,
 * then done(job, status) on the loop, never before this returns.
 * Returns 0, or -1 (after lanes_close, or libuv refused the job):
 * neither runs then. */
int lanes_queue(struct lanes *l, struct lanes_job *job, size_t lane,
		lanes_work_fn work, lanes_done_fn done);

/* A job still waiting in its lane is done with UV_ECANCELED before this
 * returns; one on the pool is cancelled if no thread has taken it yet
 * (done later with UV_ECANCELED), else it completes. */
void lanes_cancel(struct lanes_job *job);

/* Jobs running or waiting. */
unsigned lanes_pending(const struct lanes *l);

/* Starts no more jobs: those waiting are done with UV_ECANCELED before
 * this returns, running ones complete. */
void lanes_close(struct lanes *l);
/* After lanes_close and the last running job's done. */
void lanes_free(struct lanes *l);

/* Sets UV_THREADPOOL_SIZE for nlanes of per_lane jobs and the spare,
 * unless the administrator set more. libuv reads it when the pool first
 * runs work: call it before anything uses the pool. Returns the size. */
unsigned lanes_size_pool(size_t nlanes, unsigned per_lane);

#endif
