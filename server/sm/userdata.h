/* userdata: a local user's persistent state (roster, block list …),
 * loaded from storage before any stanza that concerns the user is
 * handled, so that module handlers stay synchronous.
 *
 * A module registers the stores it needs, each with a slot of struct
 * user (sessions.h) and a parse function that fills the slot from the
 * loaded items. Before the core fires the events of a stanza it makes
 * sure that the local users it concerns (the sending user, the local
 * recipient's bare JID) are loaded: the stanza waits until then, in
 * its source's queue (in arrival order per source). A user stays in memory while it has sessions or waiting
 * stanzas; then it is evicted and its slots freed.
 *
 * Modules write through: they change the slot at once and submit a
 * storage batch; what must wait for durability (a roster push, an iq
 * result) is sent from the batch's completion. */
#ifndef PALABRE_SM_USERDATA_H
#define PALABRE_SM_USERDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../storage/storage.h"

struct sm;
struct user;

/* Fills the module's slot of u from the items of its store (u's bare
 * JID, store). Called once per load, on the loop. Returns 0 or -1. */
typedef int (*sm_userdata_parse_fn)(struct sm *sm, struct user *u,
				    const struct storage_items *items,
				    void *data);

/* Declares that `store` is loaded for every user into `slot` (from
 * sm_session_slot_register) through parse. Call from a module's init. */
int sm_userdata_register(struct sm *sm, const char *store, int slot,
			 sm_userdata_parse_fn parse, void *data);

/* Whether the account of a loaded user exists (auth_user_exists, run on
 * the worker pool during the load). A stanza for a local user with no
 * account gets the answers of RFC 6121 §8.5.1 from the core. */
bool sm_userdata_account_exists(const struct user *u);

/* The storage the sm opened at start (<storage/path>/sm.sqlite). NULL
 * in unit tests without one: modules then skip their writes (a batch
 * "commits" at once). */
struct storage *sm_storage(struct sm *sm);

/* ------------------------------------------------ the core's side */

struct frame;
struct stanza;

int sm_userdata_init(struct sm *sm);
/* Before the sm is freed: no more dispatching; waits (running the loop)
 * for the loads in flight, then closes the storage. */
void sm_userdata_shutdown(struct sm *sm);
void sm_userdata_free(struct sm *sm);

/* What sm_userdata_hold did with a frame. */
enum sm_hold {
	SM_HOLD_NOW,     /* nothing to wait for: handle it now */
	SM_HOLD_HELD,    /* copied into its source's queue */
	SM_HOLD_REFUSED, /* past the bounds: answer its sender */
};

/* Whether frame f must wait, and where. Frames wait per source (the
 * sending user, or remote JID: `source`, else the user of bare JID
 * source_key, created if f must wait), each only behind the earlier
 * frames of its source; f waits if its source has frames waiting or
 * the local user `need` (a bare JID, prepared; NULL: none) is not
 * loaded. A held frame is handled (sm_dispatch_frame) once its turn
 * comes. A stanza or SESSION_START past the bounds below is refused;
 * a SESSION_END never is. */
enum sm_hold sm_userdata_hold(struct sm *sm, const struct frame *f,
			      struct user *source, const char *source_key,
			      const char *need);
/* While a held frame is handled: the user whose queue it came from;
 * else NULL. */
struct user *sm_userdata_dispatching(const struct sm *sm);
/* The source of a held SESSION_START from (c2s, conn), or NULL. */
struct user *sm_userdata_start_source(struct sm *sm, const char *c2s,
				      size_t c2s_len, uint64_t conn);
/* Component c2s went away: a SESSION_END follows every SESSION_START
 * of it still held, in the same queue. */
void sm_userdata_end_starts(struct sm *sm, const char *c2s, size_t c2s_len);
/* A stanza of the server's own making (origin NULL) for local user
 * `bare`, not loaded: it is queued as from that user; past the bounds
 * it is dropped (logged). */
void sm_userdata_defer(struct sm *sm, const struct stanza *st,
		       const char *bare);
/* The loaded user of bare, or NULL when it is not (loaded) in memory. */
struct user *sm_userdata_user(struct sm *sm, const char *bare);
/* u is losing its last session: keep it a while in the cache of recent
 * offline users, so that a quick return or a contact's stanza does not
 * load it again. */
void sm_userdata_keep(struct sm *sm, struct user *u);

/* Offline users kept loaded after their last use. */
#define USERDATA_CACHE 256

/* ARCHITECTURE.md §9, bounds that answer the offending sender: frames
 * and bytes waiting per source; bytes waiting in all (the last resort,
 * when many sources flood at once). */
#define USERDATA_SOURCE_FRAMES 1000
#define USERDATA_SOURCE_BYTES (1u << 20)
#define USERDATA_HELD_BYTES (64u << 20)
/* The first frames of a queue whose users load at once; the rest wait
 * for their turn, so that a flooding source has few loads in flight. */
#define USERDATA_LOADS_AHEAD 4

/* What the userdata layer holds, for statistics and tests: frames
 * waiting for their users and their bytes, account checks running or
 * waiting for the worker pool, users without sessions kept in the
 * cache, stanzas refused since the start. */
struct sm_userdata_stats {
	size_t held, held_bytes;
	unsigned works;
	size_t cached;
	size_t refused;
};
void sm_userdata_get_stats(const struct sm *sm, struct sm_userdata_stats *st);

#endif
