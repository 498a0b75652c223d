/* module: hooks, module state, starting and freeing the modules
 * (module.h). Which modules exist and are on, and their options:
 * module_config.c. */
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

/* Records m, then runs its init. */
static int sm_module_load(struct sm *sm, const struct sm_module *m)
{
	struct sm_module_registry *r = &sm->modules;
	struct sm_module_loaded *l =
		realloc(r->loaded, (r->nloaded + 1) * sizeof *l);
	if (!l) {
		log_error("sm: out of memory loading module '%s'", m->name);
		return -1;
	}
	r->loaded = l;
	/* Recorded before init, so that a module whose init fails
	 * half-way is freed too. */
	r->loaded[r->nloaded++] = (struct sm_module_loaded){m, NULL};
	if (m->init && m->init(sm) < 0) {
		log_error("sm: module '%s' failed to start", m->name);
		return -1;
	}
	log_debug("sm: module '%s' on", m->name);
	return 0;
}

int sm_module_load_all(struct sm *sm)
{
	const struct sm_module *on[SM_MODULES_MAX];
	char err[512];
	if (sm_module_check_config(sm->cfg, err, sizeof err) < 0) {
		log_error("%s", err);
		return -1;
	}
	size_t n = sm_module_list_on(sm->cfg, on);
	for (size_t i = 0; i < n; i++)
		if (sm_module_load(sm, on[i]) < 0)
			return -1;
	for (size_t i = 0; i < n; i++)
		if (on[i]->started && on[i]->started(sm) < 0) {
			log_error("sm: module '%s' failed to start",
				  on[i]->name);
			return -1;
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
	free(r->loaded);
	memset(r, 0, sizeof *r);
}
