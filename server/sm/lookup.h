/* lookup: work that asks a directory (account checks, vCard searches)
 * on the worker pool, in one lane per directory (lib/lanes.h: a hung
 * directory holds its lane's LANES_PER_DIRECTORY threads, never the
 * pool, and no other domain's work waits behind it). userdata.c bounds
 * how many account checks one sender starts. */
#ifndef PALABRE_SM_LOOKUP_H
#define PALABRE_SM_LOOKUP_H

#include "../../auth/auth.h"

struct sm;
struct user;

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

/* Sizes the worker pool for cfg's lanes: before the pool first runs. */
void sm_lookup_size_pool(const struct config *cfg);

#endif
