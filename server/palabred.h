/* palabred: the processes and their entry points. */
#ifndef PALABRE_PALABRED_H
#define PALABRE_PALABRED_H

#include <stdbool.h>
#include <uv.h>

#include "../lib/config.h"

/* Environment variable through which the supervisor hands the link
 * secret of this run to the components it spawns (read and cleared at
 * once by the child). */
#define PALABRE_SECRET_ENV "PALABRE_LINK_SECRET"

/* The exit status of a component that cannot run with this configuration
 * (a key that does not match its certificate, a port it cannot bind, a
 * database of a newer palabre): a restart would fail the same way, so the
 * supervisor stops palabred instead (sysexits.h's EX_CONFIG). Any other
 * exit is restarted. */
#define PALABRED_EXIT_CONFIG 78

/* The router runs in the supervisor's process, on its loop. */
struct router;
struct router *router_start(uv_loop_t *loop, const struct config *cfg,
			    const char *secret);
void router_stop(struct router *r);
/* Whether a component has bound `name` (a domain, or "*"). */
bool router_has_route(const struct router *r, const char *name);

/* Components: each runs its own loop until SIGTERM or until its link to
 * the router is lost, and returns the process exit status. `name` is the
 * component's unique name on the router (e.g. "c2s.1", "sm"). */
int c2s_main(const struct config *cfg, const char *name, const char *secret);
int sm_main(const struct config *cfg, const char *name, const char *secret);
int s2s_main(const struct config *cfg, const char *name, const char *secret);
int muc_main(const struct config *cfg, const char *name, const char *secret);
/* External components (XEP-0114): server/accept/. */
int accept_main(const struct config *cfg, const char *name, const char *secret);

#endif
