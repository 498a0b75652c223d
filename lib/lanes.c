/* lanes: worker-pool jobs in lanes (see lanes.h). */
#include "lanes.h"

#include <stdio.h>
#include <stdlib.h>

struct lane {
	unsigned running;
	struct lanes_job *head, **tail;
};

struct lanes {
	uv_loop_t *loop;
	unsigned per_lane;
	unsigned pending; /* running or waiting */
	bool closing;
	size_t nlanes;
	struct lane lanes[];
};

struct lanes *lanes_new(uv_loop_t *loop, size_t nlanes, unsigned per_lane)
{
	struct lanes *l = calloc(1, sizeof *l + nlanes * sizeof l->lanes[0]);
	if (!l)
		return NULL;
	l->loop = loop;
	l->per_lane = per_lane;
	l->nlanes = nlanes;
	for (size_t i = 0; i < nlanes; i++)
		l->lanes[i].tail = &l->lanes[i].head;
	return l;
}

unsigned lanes_pending(const struct lanes *l)
{
	return l ? l->pending : 0;
}

/* job is over: its owner hears (and may free it). */
static void job_end(struct lanes_job *job, int status)
{
	job->lanes->pending--;
	job->done(job, status);
}

static void lane_start(struct lanes *l, struct lane *lane);

static void job_work(uv_work_t *req)
{
	struct lanes_job *job = req->data;
	job->work(job);
}

static void job_done(uv_work_t *req, int status)
{
	struct lanes_job *job = req->data;
	struct lanes *l = job->lanes;
	struct lane *lane = &l->lanes[job->lane];
	lane->running--;
	job_end(job, status);
	lane_start(l, lane);
}

static void lane_unlink(struct lane *lane, struct lanes_job *job)
{
	struct lanes_job **p = &lane->head;
	while (*p != job)
		p = &(*p)->next;
	if (!(*p = job->next))
		lane->tail = p;
}

static int job_start(struct lanes *l, struct lane *lane, struct lanes_job *job)
{
	int rc = uv_queue_work(l->loop, &job->req, job_work, job_done);
	if (rc == 0) {
		job->started = true;
		lane->running++;
	}
	return rc;
}

/* Starts the lane's waiting jobs while it has room. */
static void lane_start(struct lanes *l, struct lane *lane)
{
	while (!l->closing && lane->head && lane->running < l->per_lane) {
		struct lanes_job *job = lane->head;
		lane_unlink(lane, job);
		int rc = job_start(l, lane, job);
		if (rc != 0)
			job_end(job, rc);
	}
}

int lanes_queue(struct lanes *l, struct lanes_job *job, size_t lane,
		lanes_work_fn work, lanes_done_fn done)
{
	if (l->closing || lane >= l->nlanes)
		return -1;
	*job = (struct lanes_job){.data = job->data,
				  .req.data = job,
				  .lanes = l,
				  .lane = lane,
				  .work = work,
				  .done = done};
	struct lane *ln = &l->lanes[lane];
	if (!ln->head && ln->running < l->per_lane) {
		/* Started here, so that done never runs before we return. */
		if (job_start(l, ln, job) != 0)
			return -1;
	} else {
		*ln->tail = job;
		ln->tail = &job->next;
	}
	l->pending++;
	return 0;
}

void lanes_cancel(struct lanes_job *job)
{
	if (job->started) {
		uv_cancel((uv_req_t *)&job->req);
		return;
	}
	lane_unlink(&job->lanes->lanes[job->lane], job);
	job_end(job, UV_ECANCELED);
}

void lanes_close(struct lanes *l)
{
	if (!l)
		return;
	l->closing = true;
	for (size_t i = 0; i < l->nlanes; i++) {
		struct lane *lane = &l->lanes[i];
		struct lanes_job *job;
		while ((job = lane->head)) {
			lane_unlink(lane, job);
			job_end(job, UV_ECANCELED);
		}
	}
}

void lanes_free(struct lanes *l)
{
	free(l);
}

/* ------------------------------------------------------------ the pool */

unsigned lanes_size_pool(size_t nlanes, unsigned per_lane)
{
	unsigned want = (unsigned)nlanes * per_lane + LANES_POOL_SPARE;
	const char *set = getenv("UV_THREADPOOL_SIZE");
	unsigned long have = set ? strtoul(set, NULL, 10) : 0;
	if (have >= want)
		return (unsigned)have;
	char v[16];
	snprintf(v, sizeof v, "%u", want);
	setenv("UV_THREADPOOL_SIZE", v, 1);
	return want;
}
