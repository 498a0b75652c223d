/* supervisor: spawns the components of palabred, restarts a component
 * that dies (with back-off) and stops them all on request. */
#ifndef PALABRE_SUPERVISOR_H
#define PALABRE_SUPERVISOR_H

#include <stdbool.h>
#include <uv.h>

#include "../lib/config.h"

struct supervisor;

/* A supervisor for up to max_children components. on_stopped is called
 * once every child has exited after supervisor_stop. */
struct supervisor *supervisor_new(uv_loop_t *loop, const struct config *cfg,
				  size_t max_children,
				  void (*on_stopped)(void *data), void *data);
/* Spawns `palabred -c CONFIG --component NAME` and keeps it running.
 * Returns 0, or -1 when max_children are already supervised. */
int supervisor_spawn(struct supervisor *s, const char *name);
/* SIGTERM to every child; SIGKILL to those still alive after a grace. */
void supervisor_stop(struct supervisor *s);
/* Whether it stopped because a child cannot run with this configuration
 * (it exited with PALABRED_EXIT_CONFIG): restarting it would not help. */
bool supervisor_failed(const struct supervisor *s);
void supervisor_free(struct supervisor *s);

#endif
