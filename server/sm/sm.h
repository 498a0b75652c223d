/* sm: the session manager's core state, shared by its files. */
#ifndef PALABRE_SM_SM_H
#define PALABRE_SM_SM_H

#include <stdbool.h>
#include <uv.h>

#include "../../auth/auth.h"
#include "../../lib/arena.h"
#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../lib/frame.h"
#include "module.h"
#include "send.h"
#include "sessions.h"

struct link;
struct storage;
struct sm_userdata;
struct lanes;

struct sm {
	const struct config *cfg;
	const char *name; /* our component name on the router */
	struct sm_session_table sessions;
	struct sm_module_registry modules;
	/* Sends one frame: through the link to the router, or into a
	 * recorder in the unit tests. Returns an enum sm_send_status. */
	int (*send)(struct sm *sm, const struct frame *f);
	void *send_data;
	/* Stops (false) or starts again (true) the reading of frames from
	 * the router while frames wait in the backlog (sm.c: link_pause,
	 * link_resume). NULL: nothing to do (unit tests). */
	void (*set_reading)(struct sm *sm, bool on);
	/* send.c: the frames refused, encoded, in order; while it holds
	 * any, every new frame queues behind them. */
	struct buf backlog;
	size_t backlog_bounced, backlog_dropped; /* since it started */
	struct arena arena; /* per incoming frame, reset after it */
	struct buf out;     /* serialization, reused */
	/* userdata.c: stores, users loading, stanzas waiting for them. */
	struct sm_userdata *userdata;
	/* lookup.c: directory work, in a lane per directory. */
	struct lanes *lookup;
	/* Opened by sm.c (NULL in unit tests that need none: loads then
	 * complete at once, with empty stores). */
	struct storage *storage;
	/* The account check, run on the worker pool of loop (auth.h's
	 * auth_user_exists; NULL: every account exists, checked at once). */
	enum auth_user_status (*user_exists)(const struct config *cfg,
					     const char *domain,
					     const char *localpart);
	/* sm.c only */
	uv_loop_t *loop;
	struct link *link;
	bool stopping;
	int exit_status;
};

/* Sets up the tables, the core's routing rules and the modules named in
 * cfg. Returns 0, or -1 (memory). */
int sm_init(struct sm *sm, const struct config *cfg, const char *name);
void sm_free(struct sm *sm);

/* Whether this sm serves domain (prepared). */
bool sm_serves(const struct sm *sm, const char *domain);
/* The component serving name is gone: the sessions that sent directed
 * presence to that domain are told (directed_gone.c). */
void sm_directed_domain_gone(struct sm *sm, const char *name, size_t len);

/* One frame from the router (core.c): handled now, or held (userdata.c)
 * until the users it concerns are loaded. */
void sm_handle_frame(struct sm *sm, const struct frame *f);
/* Handles f now (core.c); userdata.c calls it for a held frame. */
void sm_dispatch_frame(struct sm *sm, const struct frame *f);
/* FRAME_MULTICAST (multicast.c): one stanza for several local
 * recipients. */
void sm_multicast_frame(struct sm *sm, const struct frame *f);

#endif
