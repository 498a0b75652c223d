/* lanes: worker-pool jobs in lanes, on a real loop and libuv's pool.
 * Each job's work waits at its own gate until the test opens it, so
 * what runs at once is known without timing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/lanes.h"
#include "unit.h"

#define NPROBES 6

struct probe {
	struct lanes_job job;
	uv_sem_t gate;
	bool done;
	int status;
};

static struct probe probes[NPROBES];
static uv_mutex_t mutex;
static int started[NPROBES]; /* probe indexes, in the order they ran */
static int nstarted;
static uv_loop_t loop;

static void probe_work(struct lanes_job *job)
{
	struct probe *p = job->data;
	uv_mutex_lock(&mutex);
	started[nstarted++] = (int)(p - probes);
	uv_mutex_unlock(&mutex);
	uv_sem_wait(&p->gate);
}

static void probe_done(struct lanes_job *job, int status)
{
	struct probe *p = job->data;
	p->done = true;
	p->status = status;
}

static void setup(void)
{
	uv_loop_init(&loop);
	uv_mutex_init(&mutex);
	nstarted = 0;
	for (int i = 0; i < NPROBES; i++) {
		probes[i] = (struct probe){.job.data = &probes[i]};
		uv_sem_init(&probes[i].gate, 0);
	}
}

static void teardown(void)
{
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	for (int i = 0; i < NPROBES; i++)
		uv_sem_destroy(&probes[i].gate);
	uv_mutex_destroy(&mutex);
}

static int count_started(void)
{
	uv_mutex_lock(&mutex);
	int n = nstarted;
	uv_mutex_unlock(&mutex);
	return n;
}

/* Waits (bounded) until n jobs have started their work. */
static void wait_started(int n)
{
	for (int i = 0; i < 500 && count_started() < n; i++)
		uv_sleep(10);
	ck_assert_int_eq(count_started(), n);
}

/* Opens p's gate and runs the loop until p is done. */
static void finish(struct probe *p)
{
	uv_sem_post(&p->gate);
	while (!p->done)
		uv_run(&loop, UV_RUN_ONCE);
	ck_assert_int_eq(p->status, 0);
}

static void queue(struct lanes *l, int i, size_t lane)
{
	ck_assert_int_eq(
		lanes_queue(l, &probes[i].job, lane, probe_work, probe_done),
		0);
}

/* A lane of one: probe 0 runs, 1 and 2 wait. */
static struct lanes *one_running_two_waiting(void)
{
	struct lanes *l = lanes_new(&loop, 1, 1);
	for (int i = 0; i < 3; i++)
		queue(l, i, 0);
	wait_started(1);
	return l;
}

START_TEST(a_lane_runs_its_jobs_in_order_one_share_at_a_time)
{
	struct lanes *l = lanes_new(&loop, 2, 2);
	for (int i = 0; i < 4; i++)
		queue(l, i, 1);
	wait_started(2);
	uv_sleep(50);
	ck_assert_int_eq(count_started(), 2); /* the other two wait */
	ck_assert_uint_eq(lanes_pending(l), 4);
	/* One ends: the next in the FIFO takes its place. */
	finish(&probes[0]);
	wait_started(3);
	ck_assert_int_eq(started[2], 2);
	finish(&probes[1]);
	wait_started(4);
	ck_assert_int_eq(started[3], 3);
	finish(&probes[2]);
	finish(&probes[3]);
	ck_assert_uint_eq(lanes_pending(l), 0);
	lanes_close(l);
	lanes_free(l);
}
END_TEST

START_TEST(a_full_lane_does_not_hold_up_another)
{
	struct lanes *l = lanes_new(&loop, 2, 2);
	for (int i = 0; i < 3; i++)
		queue(l, i, 1); /* a hung directory: 2 run, 1 waits */
	wait_started(2);
	queue(l, 3, 0);
	wait_started(3);
	ck_assert_int_eq(started[2], 3);
	finish(&probes[3]);
	ck_assert(!probes[2].done);
	for (int i = 0; i < 3; i++)
		finish(&probes[i]);
	lanes_close(l);
	lanes_free(l);
}
END_TEST

START_TEST(close_cancels_the_waiting_jobs_at_once_and_lets_running_ones_end)
{
	struct lanes *l = one_running_two_waiting();
	lanes_close(l);
	ck_assert(probes[1].done && probes[1].status == UV_ECANCELED);
	ck_assert(probes[2].done && probes[2].status == UV_ECANCELED);
	ck_assert_int_eq(
		lanes_queue(l, &probes[3].job, 0, probe_work, probe_done), -1);
	ck_assert_uint_eq(lanes_pending(l), 1);
	finish(&probes[0]);
	ck_assert_int_eq(count_started(), 1);
	ck_assert_uint_eq(lanes_pending(l), 0);
	lanes_free(l);
}
END_TEST

START_TEST(a_cancelled_waiting_job_ends_at_once_and_leaves_its_place)
{
	struct lanes *l = one_running_two_waiting();
	lanes_cancel(&probes[1].job);
	ck_assert(probes[1].done && probes[1].status == UV_ECANCELED);
	finish(&probes[0]);
	wait_started(2);
	ck_assert_int_eq(started[1], 2);
	finish(&probes[2]);
	lanes_close(l);
	lanes_free(l);
}
END_TEST

START_TEST(the_pool_covers_every_share_unless_set_larger)
{
	unsetenv("UV_THREADPOOL_SIZE");
	ck_assert_uint_eq(lanes_size_pool(3, 2), 3 * 2 + LANES_POOL_SPARE);
	ck_assert_str_eq(getenv("UV_THREADPOOL_SIZE"), "8");
	setenv("UV_THREADPOOL_SIZE", "64", 1);
	ck_assert_uint_eq(lanes_size_pool(3, 2), 64);
	ck_assert_str_eq(getenv("UV_THREADPOOL_SIZE"), "64");
	setenv("UV_THREADPOOL_SIZE", "3", 1);
	ck_assert_uint_eq(lanes_size_pool(3, 2), 8);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lanes");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_lane_runs_its_jobs_in_order_one_share_at_a_time);
	tcase_add_test(tc, a_full_lane_does_not_hold_up_another);
	tcase_add_test(
		tc,
		close_cancels_the_waiting_jobs_at_once_and_lets_running_ones_end);
	tcase_add_test(
		tc, a_cancelled_waiting_job_ends_at_once_and_leaves_its_place);
	tcase_add_test(tc, the_pool_covers_every_share_unless_set_larger);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
