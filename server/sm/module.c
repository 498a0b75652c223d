/* module: hooks, disco features and the list of modules (module.h). */
#include "module.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "sm.h"
#include "stanza.h"

struct sm_hook {
	struct sm_hook *next;
	char *ns; /* NULL: any */
	int priority;
	unsigned seq;
	sm_hook_fn fn;
	void *data;
};

/* Every module the sm knows; cfg->modules picks among them. A new
 * feature adds its file and one line here. */
extern const struct sm_module sm_module_disco;
extern const struct sm_module sm_module_ping;
extern const struct sm_module sm_module_offline;
extern const struct sm_module sm_module_blocking;
extern const struct sm_module sm_module_roster;
extern const struct sm_module sm_module_presence;
extern const struct sm_module sm_module_vcard;

static const struct sm_module *const all_modules[] = {
	&sm_module_disco,
	&sm_module_ping,
	&sm_module_offline,
	&sm_module_blocking,
	&sm_module_roster,
	&sm_module_presence,
	&sm_module_vcard,
};

int sm_module_hook(struct sm *sm, enum sm_event_type type, const char *ns,
		int priority, sm_hook_fn fn, void *data)
{
	struct sm_module_registry *r = &sm->modules;
	struct sm_hook *h = calloc(1, sizeof *h);
	if (!h || (ns && !(h->ns = strdup(ns)))) {
		free(h);
		return -1;
	}
	h->priority = priority;
	h->seq = r->seq++;
	h->fn = fn;
	h->data = data;
	/* Sorted by decreasing priority; equal ones keep hooking order. */
	struct sm_hook **p = &r->hooks[type];
	while (*p && (*p)->priority >= priority)
		p = &(*p)->next;
	h->next = *p;
	*p = h;
	return 0;
}

int sm_module_add_feature(struct sm *sm, const char *var)
{
	struct sm_module_registry *r = &sm->modules;
	for (size_t i = 0; i < r->nfeatures; i++)
		if (strcmp(r->features[i], var) == 0)
			return 0;
	char **f = realloc(r->features, (r->nfeatures + 1) * sizeof *f);
	if (!f)
		return -1;
	r->features = f;
	if (!(f[r->nfeatures] = strdup(var)))
		return -1;
	r->nfeatures++;
	return 0;
}

/* The namespace an iq event is keyed by: its child's. */
static const char *event_ns(const struct sm_event *ev)
{
	if (ev->type != SM_EV_IQ_HOST && ev->type != SM_EV_IQ_BARE)
		return NULL;
	if (!ev->st || !ev->st->payload)
		return "";
	return ev->st->payload->ns;
}

enum sm_verdict sm_module_fire(struct sm *sm, struct sm_event *ev)
{
	const char *ns = event_ns(ev);
	ev->sm = sm;
	for (struct sm_hook *h = sm->modules.hooks[ev->type]; h; h = h->next) {
		if (h->ns && (!ns || strcmp(h->ns, ns) != 0))
			continue;
		if (h->fn(ev, h->data) == SM_DONE)
			return SM_DONE;
	}
	return SM_NEXT;
}

static const struct sm_module *sm_module_find(const char *name)
{
	for (size_t i = 0; i < sizeof all_modules / sizeof *all_modules; i++)
		if (strcmp(all_modules[i]->name, name) == 0)
			return all_modules[i];
	return NULL;
}

static struct sm_module_loaded *
sm_module_loaded_find(const struct sm_module_registry *r,
		      const struct sm_module *m)
{
	for (size_t i = 0; i < r->nloaded; i++)
		if (r->loaded[i].module == m)
			return &r->loaded[i];
	return NULL;
}

void sm_module_set_data(struct sm *sm, const struct sm_module *m, void *data)
{
	struct sm_module_loaded *l = sm_module_loaded_find(&sm->modules, m);
	if (l)
		l->data = data;
}

void *sm_module_data(const struct sm *sm, const struct sm_module *m)
{
	struct sm_module_loaded *l = sm_module_loaded_find(&sm->modules, m);
	return l ? l->data : NULL;
}

int sm_module_load_all(struct sm *sm)
{
	const struct config *cfg = sm->cfg;
	struct sm_module_registry *r = &sm->modules;
	for (size_t i = 0; i < cfg->nmodules; i++) {
		const struct sm_module *m = sm_module_find(cfg->modules[i]);
		if (!m) {
			log_warn("%s: sm/modules: no module '%s'; skipped",
				 cfg->path ? cfg->path : "config",
				 cfg->modules[i]);
			continue;
		}
		if (sm_module_loaded_find(r, m))
			continue; /* named twice */
		struct sm_module_loaded *l =
		    realloc(r->loaded, (r->nloaded + 1) * sizeof *l);
		if (!l) {
			log_error("sm: out of memory loading module '%s'",
				  m->name);
			return -1;
		}
		r->loaded = l;
		/* Recorded before init, so that a module whose init fails
		 * half-way is freed too. */
		r->loaded[r->nloaded++] = (struct sm_module_loaded){m, NULL};
		if (m->init(sm) < 0) {
			log_error("sm: module '%s' failed to start", m->name);
			return -1;
		}
		log_debug("sm: module '%s' on", m->name);
	}
	return 0;
}

void sm_module_free_all(struct sm *sm)
{
	struct sm_module_registry *r = &sm->modules;
	for (size_t i = r->nloaded; i-- > 0;)
		if (r->loaded[i].module->free)
			r->loaded[i].module->free(sm);
	free(r->loaded);
	r->loaded = NULL;
	r->nloaded = 0;
}

void sm_module_registry_free(struct sm_module_registry *r)
{
	for (int t = 0; t < SM_EV_MAX; t++) {
		struct sm_hook *h = r->hooks[t];
		while (h) {
			struct sm_hook *next = h->next;
			free(h->ns);
			free(h);
			h = next;
		}
	}
	for (size_t i = 0; i < r->nfeatures; i++)
		free(r->features[i]);
	free(r->features);
	free(r->loaded);
	memset(r, 0, sizeof *r);
}
