/* supervisor: spawns the components of palabred, restarts a component
 * that dies (with back-off) and stops them all on request. */
#ifndef PALABRE_SUPERVISOR_H
#define PALABRE_SUPERVISOR_H

#include <uv.h>

#include "../lib/config.h"

struct supervisor;

/* Spawns each named component as `palabred -c CONFIG --component NAME`.
 * on_stopped is called once every child has exited after
 * supervisor_stop. */
struct supervisor *supervisor_start(uv_loop_t *loop, const struct config *cfg,
				    const char *const *names,
				    void (*on_stopped)(void *data), void *data);
/* SIGTERM to every child; SIGKILL to those still alive after a grace. */
void supervisor_stop(struct supervisor *s);
void supervisor_free(struct supervisor *s);

#endif
