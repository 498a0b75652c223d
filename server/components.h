/* components: the table of palabred's components. The supervisor spawns
 * each row's count of processes (the sm first, the rest once it serves
 * every domain); `palabred --component NAME` runs the row named NAME (or
 * NAME.N for a numbered one). See docs/architecture.md, "How to add a
 * component". */
#ifndef PALABRE_COMPONENTS_H
#define PALABRE_COMPONENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "palabred.h"

struct component {
	const char *name;
	int (*main)(const struct config *cfg, const char *name,
		    const char *secret);
	unsigned (*count)(const struct config *cfg); /* 0: not configured */
	bool numbered; /* processes named NAME.1 … NAME.count */
	bool after_sm; /* started once the sm serves every domain */
};

extern const struct component palabred_components[]; /* NULL-terminated */

const struct component *component_find(const char *name);
/* Processes of every component with cfg. */
unsigned component_total(const struct config *cfg);
/* The process name of c's i-th process (from 0) into out. */
void component_process_name(const struct component *c, unsigned i, char *out,
			    size_t size);

#endif
