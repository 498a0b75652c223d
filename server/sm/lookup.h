/* lookup: the account checks of userdata.c (auth_user_exists) on the
 * worker pool, in one lane per directory.
 *
 * ARCHITECTURE.md §9, lookups that wait alone: a check blocks a worker
 * thread for as long as its directory takes to answer (an LDAP server
 * that accepts connections and never answers: `timeout` seconds per
 * URI, and one retry). If every thread of the pool held such a check,
 * the checks of every other domain would wait behind them. So each
 * directory (all the domains of one <ldap>), and the local accounts,
 * have a lane: at most SM_LOOKUP_PER_LANE of its checks run at once,
 * the rest wait in the lane's FIFO; the pool has room for every lane's
 * share (sm_lookup_pool_size). A check of a local domain never waits
 * behind an LDAP one, nor one directory's behind another's. */
#ifndef PALABRE_SM_LOOKUP_H
#define PALABRE_SM_LOOKUP_H

#include <stdbool.h>

#include "../../auth/auth.h"

struct sm;
struct user;

/* Checks per directory (and for local accounts) on the pool at once. */
#define SM_LOOKUP_PER_LANE 2
/* Threads beyond the lanes' shares, for other work on the pool (the
 * vCard module's LDAP searches). */
#define SM_LOOKUP_POOL_SPARE 4

/* Called on the loop with the account's status: AUTH_USER_ERROR when
 * the directory did not answer or the check could not run. */
typedef void (*sm_lookup_done_fn)(struct sm *sm, struct user *u,
				  enum auth_user_status status);

/* Checks u's account (u->jid, a bare JID) in its domain's lane; done
 * runs once, on the loop (at once when sm has no loop or no check).
 * Returns 0, or -1 when it cannot even be queued (memory): done does
 * not run then. */
int sm_lookup_account(struct sm *sm, struct user *u, sm_lookup_done_fn done);

/* Checks running or waiting in a lane. */
unsigned sm_lookup_pending(const struct sm *sm);

/* Stops starting checks: those waiting in a lane are dropped (their
 * done never runs); running ones complete. */
void sm_lookup_close(struct sm *sm);
/* After sm_lookup_close and the last running check: frees the lanes. */
void sm_lookup_free(struct sm *sm);

/* What UV_THREADPOOL_SIZE the sm needs for its lanes and the spare
 * threads of cfg's directories. */
unsigned sm_lookup_pool_size(const struct config *cfg);

#endif
