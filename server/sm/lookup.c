/* lookup: account checks per directory lane (see lookup.h). */
#include "lookup.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "session.h"
#include "sm.h"

#define NLANES (CONFIG_MAX_DIRECTORIES + 1) /* [0]: local accounts */

struct check {
	uv_work_t work;
	struct check *next; /* in its lane's FIFO */
	struct sm *sm;
	struct user *u;
	sm_lookup_done_fn done;
	size_t lane;
	enum auth_user_status status;
	char *domain, *local;
};

struct lane {
	unsigned running;
	struct check *head, **tail;
};

struct sm_lookup {
	struct lane lanes[NLANES];
	unsigned pending; /* running or waiting */
	bool closing;
};

unsigned sm_lookup_pool_size(const struct config *cfg)
{
	return (unsigned)(cfg->ndirectories + 1) * SM_LOOKUP_PER_LANE +
	       SM_LOOKUP_POOL_SPARE;
}

unsigned sm_lookup_pending(const struct sm *sm)
{
	return sm->lookup ? sm->lookup->pending : 0;
}

static struct sm_lookup *lookup_get(struct sm *sm)
{
	if (sm->lookup)
		return sm->lookup;
	struct sm_lookup *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	for (size_t i = 0; i < NLANES; i++)
		l->lanes[i].tail = &l->lanes[i].head;
	return sm->lookup = l;
}

/* The lane of domain: its directory's, or the local accounts'. */
static size_t lane_of(const struct config *cfg, const char *domain)
{
	const struct config_ldap *dir =
	    config_host_directory(cfg, config_find_host(cfg, domain));
	return dir ? (size_t)(dir - cfg->directories) + 1 : 0;
}

static void check_free(struct check *c)
{
	free(c->domain);
	free(c->local);
	free(c);
}

static void check_work(uv_work_t *w)
{
	struct check *c = w->data;
	c->status = c->sm->user_exists(c->sm->cfg, c->domain, c->local);
}

static void lane_start(struct sm *sm, struct lane *lane);

static void check_done(uv_work_t *w, int status)
{
	struct check *c = w->data;
	struct sm *sm = c->sm;
	struct sm_lookup *l = sm->lookup;
	l->lanes[c->lane].running--;
	l->pending--;
	c->done(sm, c->u, status < 0 ? AUTH_USER_ERROR : c->status);
	lane_start(sm, &l->lanes[c->lane]);
	check_free(c);
}

/* Starts the lane's waiting checks while it has room. A check that
 * cannot go on the pool completes as an error (taken as existing). */
static void lane_start(struct sm *sm, struct lane *lane)
{
	struct sm_lookup *l = sm->lookup;
	while (!l->closing && lane->head &&
	       lane->running < SM_LOOKUP_PER_LANE) {
		struct check *c = lane->head;
		if (!(lane->head = c->next))
			lane->tail = &lane->head;
		lane->running++;
		if (uv_queue_work(sm->loop, &c->work, check_work,
				  check_done) == 0)
			continue;
		log_warn("sm: cannot check the account of %s", c->u->jid);
		lane->running--;
		l->pending--;
		c->done(sm, c->u, AUTH_USER_ERROR);
		check_free(c);
	}
}

int sm_lookup_account(struct sm *sm, struct user *u, sm_lookup_done_fn done)
{
	const char *at = strchr(u->jid, '@');
	if (!sm->user_exists || !sm->loop || !at) {
		done(sm, u, AUTH_USER_EXISTS); /* nothing to ask */
		return 0;
	}
	struct sm_lookup *l = lookup_get(sm);
	struct check *c = l ? calloc(1, sizeof *c) : NULL;
	if (!c || !(c->local = strndup(u->jid, (size_t)(at - u->jid))) ||
	    !(c->domain = strdup(at + 1))) {
		if (c)
			check_free(c);
		return -1;
	}
	c->work.data = c;
	c->sm = sm;
	c->u = u;
	c->done = done;
	c->lane = lane_of(sm->cfg, c->domain);
	struct lane *lane = &l->lanes[c->lane];
	*lane->tail = c;
	lane->tail = &c->next;
	l->pending++;
	lane_start(sm, lane);
	return 0;
}

void sm_lookup_close(struct sm *sm)
{
	struct sm_lookup *l = sm->lookup;
	if (!l)
		return;
	l->closing = true;
	for (size_t i = 0; i < NLANES; i++) {
		while (l->lanes[i].head) {
			struct check *c = l->lanes[i].head;
			l->lanes[i].head = c->next;
			l->pending--;
			check_free(c);
		}
		l->lanes[i].tail = &l->lanes[i].head;
	}
}

void sm_lookup_free(struct sm *sm)
{
	free(sm->lookup);
	sm->lookup = NULL;
}
