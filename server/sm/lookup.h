/* lookup: work that asks a directory (account checks, vCard searches)
 * on the worker pool, in one lane per directory.
 *
 * ARCHITECTURE.md §9, lookups that wait alone: such work blocks a
 * worker thread for as long as its directory takes to answer (an LDAP
 * server that accepts connections and never answers: `timeout` seconds
 * per URI, and one retry). If every thread of the pool held such work,
 * the account checks of every other domain would wait behind it. So
 * each directory (all the domains of one <ldap>) and the local accounts
 * have a lane: at most SM_LOOKUP_PER_LANE of its jobs run at once, the
 * rest wait in the lane's FIFO, and the pool has a thread for every
 * lane's share (sm_lookup_pool_size). A local domain's check never
 * waits behind an LDAP one, nor one directory's behind another's. What
 * waits in a lane waits at most (its place in the lane /
 * SM_LOOKUP_PER_LANE) times the directory's time to answer or fail,
 * and userdata.c bounds how many account checks one sender starts. */
#ifndef PALABRE_SM_LOOKUP_H
#define PALABRE_SM_LOOKUP_H

#include "../../auth/auth.h"

struct sm;
struct user;

/* Jobs per directory (and for local accounts) on the pool at once. */
#define SM_LOOKUP_PER_LANE 2
/* Threads beyond the lanes' shares, for the rest of the pool's work. */
#define SM_LOOKUP_POOL_SPARE 2

/* Runs work(ctx) on the worker pool in the lane of domain's accounts,
 * then done(sm, ctx, status) on the loop (status 0, or a libuv error:
 * UV_ECANCELED when the sm stopped before the job ran). Without a loop
 * (unit tests) both run at once. Returns 0, or -1 (memory, or the sm
 * is stopping): neither runs then. */
int sm_lookup_queue(struct sm *sm, const char *domain, void (*work)(void *),
		    void (*done)(struct sm *, void *, int), void *ctx);

/* Called on the loop with the account's status: AUTH_USER_ERROR when
 * the directory did not answer or the check could not run. */
typedef void (*sm_lookup_done_fn)(struct sm *sm, struct user *u,
				  enum auth_user_status status);
/* Checks u's account (sm->user_exists for u->jid, a bare JID) in its
 * domain's lane; done runs once (at once when there is nothing to
 * ask). Returns 0, or -1 (memory): done does not run then. */
int sm_lookup_account(struct sm *sm, struct user *u, sm_lookup_done_fn done);

/* Jobs running or waiting in a lane. */
unsigned sm_lookup_pending(const struct sm *sm);

/* Starts no more jobs: those waiting are done with UV_ECANCELED, and
 * running ones complete. */
void sm_lookup_close(struct sm *sm);
/* After sm_lookup_close and the last running job: frees the lanes. */
void sm_lookup_free(struct sm *sm);

/* The UV_THREADPOOL_SIZE the sm needs for cfg's lanes and the spare. */
unsigned sm_lookup_pool_size(const struct config *cfg);

#endif
