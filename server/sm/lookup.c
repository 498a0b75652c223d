/* lookup: directory work per lane (see lookup.h). */
#include "lookup.h"

#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "sm.h"

#define NLANES (CONFIG_MAX_DIRECTORIES + 1) /* [0]: local accounts */

struct job {
	uv_work_t work;
	struct job *next; /* in its lane's FIFO */
	struct sm *sm;
	size_t lane;
	void (*fn)(void *);
	void (*done)(struct sm *, void *, int);
	void *ctx;
};

struct lane {
	unsigned running;
	struct job *head, **tail;
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

static void job_work(uv_work_t *w)
{
	struct job *j = w->data;
	j->fn(j->ctx);
}

static void lane_start(struct sm *sm, struct lane *lane);

/* j is over (status 0, or a libuv error): its owner hears, and the
 * lane's next job may start. */
static void job_end(struct job *j, int status)
{
	struct sm *sm = j->sm;
	struct sm_lookup *l = sm->lookup;
	l->pending--;
	j->done(sm, j->ctx, status);
	free(j);
}

static void job_done(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct sm *sm = j->sm;
	struct lane *lane = &sm->lookup->lanes[j->lane];
	lane->running--;
	job_end(j, status);
	lane_start(sm, lane);
}

/* Starts the lane's waiting jobs while it has room. */
static void lane_start(struct sm *sm, struct lane *lane)
{
	struct sm_lookup *l = sm->lookup;
	while (!l->closing && lane->head &&
	       lane->running < SM_LOOKUP_PER_LANE) {
		struct job *j = lane->head;
		if (!(lane->head = j->next))
			lane->tail = &lane->head;
		int rc = uv_queue_work(sm->loop, &j->work, job_work, job_done);
		if (rc == 0)
			lane->running++;
		else
			job_end(j, rc);
	}
}

int sm_lookup_queue(struct sm *sm, const char *domain, void (*work)(void *),
		    void (*done)(struct sm *, void *, int), void *ctx)
{
	if (!sm->loop) {
		work(ctx);
		done(sm, ctx, 0);
		return 0;
	}
	struct sm_lookup *l = lookup_get(sm);
	struct job *j = l && !l->closing ? calloc(1, sizeof *j) : NULL;
	if (!j)
		return -1;
	*j = (struct job){.work.data = j, .sm = sm, .fn = work,
			  .done = done, .ctx = ctx,
			  .lane = lane_of(sm->cfg, domain)};
	struct lane *lane = &l->lanes[j->lane];
	*lane->tail = j;
	lane->tail = &j->next;
	l->pending++;
	lane_start(sm, lane);
	return 0;
}

/* ------------------------------------------------------------ accounts */

struct check {
	struct sm *sm;
	struct user *u;
	sm_lookup_done_fn done;
	enum auth_user_status status;
	char *domain, *local;
};

static void check_free(struct check *c)
{
	free(c->domain);
	free(c->local);
	free(c);
}

static void check_work(void *ctx)
{
	struct check *c = ctx;
	c->status = c->sm->user_exists(c->sm->cfg, c->domain, c->local);
}

static void check_done(struct sm *sm, void *ctx, int status)
{
	struct check *c = ctx;
	c->done(sm, c->u, status < 0 ? AUTH_USER_ERROR : c->status);
	check_free(c);
}

int sm_lookup_account(struct sm *sm, struct user *u, sm_lookup_done_fn done)
{
	const char *at = strchr(u->jid, '@');
	if (!sm->user_exists || !at) {
		done(sm, u, AUTH_USER_EXISTS); /* nothing to ask */
		return 0;
	}
	struct check *c = calloc(1, sizeof *c);
	if (!c || !(c->local = strndup(u->jid, (size_t)(at - u->jid))) ||
	    !(c->domain = strdup(at + 1))) {
		if (c)
			check_free(c);
		return -1;
	}
	c->sm = sm;
	c->u = u;
	c->done = done;
	if (sm_lookup_queue(sm, c->domain, check_work, check_done, c) < 0) {
		check_free(c);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ end */

void sm_lookup_close(struct sm *sm)
{
	struct sm_lookup *l = sm->lookup;
	if (!l)
		return;
	l->closing = true;
	for (size_t i = 0; i < NLANES; i++) {
		struct lane *lane = &l->lanes[i];
		struct job *j;
		while ((j = lane->head)) {
			lane->head = j->next;
			job_end(j, UV_ECANCELED);
		}
		lane->tail = &lane->head;
	}
}

void sm_lookup_free(struct sm *sm)
{
	free(sm->lookup);
	sm->lookup = NULL;
}
