/* sm: the session manager's core state, shared by its files. */
#ifndef PALABRE_SM_SM_H
#define PALABRE_SM_SM_H

#include <stdbool.h>
#include <uv.h>

#include "../../lib/arena.h"
#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../lib/frame.h"
#include "module.h"
#include "session.h"

struct link;

struct sm {
	const struct config *cfg;
	const char *name; /* our component name on the router */
	struct sm_session_table sessions;
	struct sm_module_registry modules;
	/* Sends one frame: through the link to the router, or into a
	 * recorder in the unit tests. Returns 0 or -1. */
	int (*send)(struct sm *sm, const struct frame *f);
	void *send_data;
	struct arena arena; /* per incoming frame, reset after it */
	struct buf out;     /* serialization, reused */
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

/* One frame from the router (core.c). */
void sm_handle_frame(struct sm *sm, const struct frame *f);

/* Sends a frame with to = name, conn and payload, from us. */
int sm_send(struct sm *sm, uint8_t type, const char *to, size_t to_len,
	    uint64_t conn, const char *payload, size_t payload_len);

#endif
