/* lookup: directory work per lane (see lookup.h). */
#include "lookup.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/lanes.h"
#include "sessions.h"
#include "sm.h"

struct job {
	struct lanes_job lane;
	struct sm *sm;
	void (*fn)(void *);
	void (*done)(struct sm *, void *, int);
	void *ctx;
};

void sm_lookup_size_pool(const struct config *cfg)
{
	lanes_size_pool(auth_lane_count(cfg), LANES_PER_DIRECTORY);
}

unsigned sm_lookup_pending(const struct sm *sm)
{
	return lanes_pending(sm->lookup);
}

static void job_work(struct lanes_job *lj)
{
	struct job *j = lj->data;
	j->fn(j->ctx);
}

static void job_done(struct lanes_job *lj, int status)
{
	struct job *j = lj->data;
	j->done(j->sm, j->ctx, status);
	free(j);
}

int sm_lookup_queue(struct sm *sm, const char *domain, void (*work)(void *),
		    void (*done)(struct sm *, void *, int), void *ctx)
{
	if (!sm->loop) {
		work(ctx);
		done(sm, ctx, 0);
		return 0;
	}
	const struct config *cfg = sm->cfg;
	if (!sm->lookup)
		sm->lookup = lanes_new(sm->loop, auth_lane_count(cfg),
				       LANES_PER_DIRECTORY);
	struct job *j = sm->lookup ? calloc(1, sizeof *j) : NULL;
	if (!j)
		return -1;
	*j = (struct job){
		.lane.data = j, .sm = sm, .fn = work, .done = done, .ctx = ctx};
	size_t lane = auth_lane(cfg, config_find_host(cfg, domain));
	if (lanes_queue(sm->lookup, &j->lane, lane, job_work, job_done) < 0) {
		free(j);
		return -1;
	}
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
	lanes_close(sm->lookup);
}

void sm_lookup_free(struct sm *sm)
{
	lanes_free(sm->lookup);
	sm->lookup = NULL;
}
