/* components: every component palabred runs, in one table (components.h):
 * adding one is a row here and its directory under server/. */
#include "components.h"

#include <stdio.h>
#include <string.h>

static unsigned one(const struct config *cfg)
{
	(void)cfg;
	return 1;
}

static unsigned c2s_count(const struct config *cfg)
{
	return cfg->c2s_processes;
}

static unsigned s2s_count(const struct config *cfg)
{
	return cfg->s2s.enabled ? 1 : 0;
}

static unsigned muc_count(const struct config *cfg)
{
	return cfg->muc.enabled ? 1 : 0;
}

static unsigned accept_count(const struct config *cfg)
{
	return cfg->components.enabled ? 1 : 0;
}

/* The sm first: the others start once it serves every domain. */
const struct component palabred_components[] = {
	{"sm", sm_main, one, false, false},
	{"c2s", c2s_main, c2s_count, true, true},
	{"s2s", s2s_main, s2s_count, false, true},
	{"muc", muc_main, muc_count, false, true},
	{"accept", accept_main, accept_count, false, true},
	{NULL, NULL, NULL, false, false},
};

const struct component *component_find(const char *name)
{
	for (const struct component *c = palabred_components; c->name; c++) {
		size_t n = strlen(c->name);
		if (strncmp(name, c->name, n) != 0)
			continue;
		/* "c2s" alone, or "c2s.N" when numbered */
		if (name[n] == '\0' || (c->numbered && name[n] == '.'))
			return c;
	}
	return NULL;
}

unsigned component_total(const struct config *cfg)
{
	unsigned total = 0;
	for (const struct component *c = palabred_components; c->name; c++)
		total += c->count(cfg);
	return total;
}

void component_process_name(const struct component *c, unsigned i, char *out,
			    size_t size)
{
	if (c->numbered)
		snprintf(out, size, "%s.%u", c->name, i + 1);
	else
		snprintf(out, size, "%s", c->name);
}
