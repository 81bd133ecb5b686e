// SPDX-License-Identifier: Apache-2.0
/* Tests for pipeline/work: bounded thread-pool jobs, PF_BUSY, drain and cancel at shutdown. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pipeline/work.h"
#include "sinks_harness.h"

#define POOL_THREADS 4

/* The pools below hang off the sink. Shutting the service down first sets
 * the deadline they drain to: 5 s, or 50 ms (within the pool's margin: now). */
#define YAML(timeout)                                                                              \
	"receivers:\n  feeder:\n"                                                                  \
	"exporters:\n  sink:\n"                                                                    \
	"service:\n  shutdown_timeout: " timeout "\n  pipelines:\n    profiles:\n"                 \
	"      receivers: [feeder]\n      exporters: [sink]\n"

/* What the callbacks saw; one per test. */
struct seen {
	int ran;     /* updated by the threads */
	int running; /* likewise */
	int max_running;
	int done_ok;
	int done_err;
	int closed;
	int finished;
	int drained;
	int closed_at_drain; /* s->closed when drained() ran */
	struct pf_work *w;   /* for a drained() that shuts down */
	bool shutdown_in_drained;
	uv_mutex_t lock;
};

/* The job: what run_fn wrote. */
struct job {
	size_t samples;
};

static void run_job(void *arg, const struct pf_batch *batch, void *job)
{
	struct seen *s = arg;
	struct job *j = job;

	uv_mutex_lock(&s->lock);
	s->ran++;
	if (++s->running > s->max_running)
		s->max_running = s->running;
	uv_mutex_unlock(&s->lock);
	usleep(20000);
	j->samples = pf_batch_sample_count(batch);
	uv_mutex_lock(&s->lock);
	s->running--;
	uv_mutex_unlock(&s->lock);
}

static void done_job(void *arg, struct pf_batch *batch, void *job, int status)
{
	struct seen *s = arg;
	struct job *j = job;

	if (status == 0) {
		assert_int_equal(j->samples, pf_batch_sample_count(batch));
		s->done_ok++;
	} else {
		s->done_err++;
	}
}

static void closed(void *arg)
{
	struct seen *s = arg;

	s->closed++;
}

static struct seen *the_seen; /* for finished(): pf_done_fn has no argument */

static void finished(struct pf_component *c);

static void drained(void *arg)
{
	struct seen *s = arg;

	s->drained++;
	s->closed_at_drain = s->closed;
	if (s->shutdown_in_drained)
		pf_work_shutdown(s->w, finished); /* may free the pool at once */
}

static void finished(struct pf_component *c)
{
	assert_int_equal(the_seen->closed, 1); /* closed first, then done */
	the_seen->finished++;
}

static struct pf_work *make(struct sh_env *env, struct seen *s, unsigned running, unsigned queued)
{
	struct pf_work_ops ops = {
		.run = run_job,
		.done = done_job,
		.closed = closed,
		.job_size = sizeof(struct job),
		.max_running = running,
		.max_queued = queued,
		.verb = "tested",
	};

	memset(s, 0, sizeof(*s));
	assert_int_equal(uv_mutex_init(&s->lock), 0);
	the_seen = s;
	return pf_work_create(sh_find(env, PF_EXPORTER, "sink"), &ops, s);
}

static struct pf_batch *one_sample_batch(void)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t p = sh_profile(b, "svc", 1, "cpu", "nanoseconds", 1);

	sh_sample(b, p, (const char *const[]){"main", NULL}, 5);
	return b;
}

static bool all_finished(void *arg)
{
	return ((struct seen *)arg)->finished > 0;
}

/* Every submitted batch runs once, never more than max_running at a time;
 * PF_BUSY when running and queued are full; shutdown drains the queue. */
static void test_runs_bounded_and_drains(void **state)
{
	struct sh_env env;
	struct seen s;
	struct pf_batch *b = one_sample_batch();
	struct pf_work *w;
	int accepted = 0;

	sh_env_start(&env, YAML("5s"));
	w = make(&env, &s, 2, 3);
	assert_non_null(w);
	assert_int_equal(pf_work_start(w), 0);
	for (int i = 0; i < 8; i++) {
		int rc = pf_work_submit(w, b);

		assert_true(rc == PF_OK || rc == PF_BUSY);
		accepted += rc == PF_OK;
	}
	assert_int_equal(accepted, 5); /* 2 running + 3 queued */
	sh_env_shutdown(&env);
	pf_work_shutdown(w, finished);
	assert_int_equal(pf_work_submit(w, b), -ESHUTDOWN);
	pf_work_shutdown(w, finished); /* a second call does nothing */
	/* The deadline is far: all drain. */
	assert_true(sh_run_until(&env, all_finished, &s, 10000));
	assert_int_equal(s.finished, 1);
	assert_int_equal(s.ran, 5);
	assert_int_equal(s.done_ok, 5);
	assert_int_equal(s.done_err, 0);
	assert_true(s.max_running <= 2);
	pf_batch_unref(b);
	sh_env_free(&env);
	uv_mutex_destroy(&s.lock);
}

static void blocker_run(uv_work_t *req)
{
	usleep(500000);
}

static void blocker_done(uv_work_t *req, int status)
{
}

/* At the deadline, queued batches are dropped and jobs the thread pool has
 * not started are cancelled: done_fn never sees them, their samples count as
 * send_failed, and the pool closes without waiting for the blockers. */
static void test_deadline_drops_and_cancels(void **state)
{
	struct sh_env env;
	struct seen s;
	struct pf_batch *b = one_sample_batch();
	uv_work_t blockers[POOL_THREADS];
	struct pf_component *c;
	struct pf_work *w;
	uint64_t failed0;

	sh_env_start(&env, YAML("50ms"));
	c = sh_find(&env, PF_EXPORTER, "sink");
	failed0 = pf_component_counter(c, PF_CTR_EXPORTER_SEND_FAILED);
	w = make(&env, &s, 1, 2);
	assert_non_null(w);
	assert_int_equal(pf_work_start(w), 0);
	for (int i = 0; i < POOL_THREADS; i++)
		assert_int_equal(uv_queue_work(&env.loop, &blockers[i], blocker_run, blocker_done),
				 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pf_work_submit(w, b), PF_OK);
	assert_int_equal(pf_work_submit(w, b), PF_BUSY);
	sh_env_shutdown(&env);
	/* The deadline has passed: all is given up. */
	pf_work_shutdown(w, finished);
	assert_true(sh_run_until(&env, all_finished, &s, 400));
	assert_int_equal(s.ran, 0);
	assert_int_equal(s.done_ok + s.done_err, 0);
	assert_int_equal(pf_component_counter(c, PF_CTR_EXPORTER_SEND_FAILED) - failed0, 3);
	pf_batch_unref(b);
	sh_env_free(&env); /* waits for the blockers */
	uv_mutex_destroy(&s.lock);
}

static bool all_drained(void *arg)
{
	return ((struct seen *)arg)->drained > 0;
}

/* pf_work_drain() stops intake, lets every batch run, says so once and
 * keeps the pool; pf_work_shutdown() then frees it at once. */
static void test_drain_keeps_pool_until_shutdown(void **state)
{
	struct sh_env env;
	struct seen s;
	struct pf_batch *b = one_sample_batch();
	struct pf_work *w;

	sh_env_start(&env, YAML("5s"));
	w = make(&env, &s, 2, 2);
	assert_non_null(w);
	assert_int_equal(pf_work_start(w), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pf_work_submit(w, b), PF_OK);
	sh_env_shutdown(&env); /* the deadline: 5 s away */
	pf_work_drain(w, drained, &s);
	assert_int_equal(pf_work_submit(w, b), -ESHUTDOWN);
	assert_int_equal(s.drained, 0); /* four still to run */
	assert_true(sh_run_until(&env, all_drained, &s, 10000));
	assert_int_equal(s.done_ok, 4);
	/* drained once, and the pool stays: no closed, no done */
	sh_run_until(&env, all_finished, &s, 100);
	assert_int_equal(s.drained, 1);
	assert_int_equal(s.closed + s.finished, 0);
	pf_work_shutdown(w, finished);
	assert_true(sh_run_until(&env, all_finished, &s, 2000));
	assert_int_equal(s.closed, 1);
	assert_int_equal(s.finished, 1);
	assert_int_equal(s.drained, 1);
	pf_batch_unref(b);
	sh_env_free(&env);
	uv_mutex_destroy(&s.lock);
}

/* Shutdown while draining: drained() still comes first, then closed and
 * done. A drained() that shuts down from inside, on a started pool and on
 * one never started (which then frees itself within the call). */
static void test_drain_then_shutdown_orders(void **state)
{
	struct sh_env env;
	struct seen s;
	struct pf_batch *b = one_sample_batch();
	struct pf_work *w;

	sh_env_start(&env, YAML("5s"));
	sh_env_shutdown(&env); /* the deadline: 5 s away */
	w = make(&env, &s, 1, 1);
	assert_int_equal(pf_work_start(w), 0);
	assert_int_equal(pf_work_submit(w, b), PF_OK);
	assert_int_equal(pf_work_submit(w, b), PF_OK);
	pf_work_drain(w, drained, &s);
	pf_work_shutdown(w, finished);
	assert_true(sh_run_until(&env, all_finished, &s, 10000));
	assert_int_equal(s.done_ok, 2);
	assert_int_equal(s.drained, 1);
	assert_int_equal(s.closed_at_drain, 0); /* drained before closed */
	assert_int_equal(s.finished, 1);

	/* started, busy: the last job's end drains, drained() shuts down */
	w = make(&env, &s, 1, 0);
	s.w = w;
	s.shutdown_in_drained = true;
	assert_int_equal(pf_work_start(w), 0);
	assert_int_equal(pf_work_submit(w, b), PF_OK);
	pf_work_drain(w, drained, &s);
	assert_true(sh_run_until(&env, all_finished, &s, 10000));
	assert_int_equal(s.drained + s.closed + s.finished, 3);

	/* never started and idle: drained, closed and done within the call */
	w = make(&env, &s, 1, 0);
	s.w = w;
	s.shutdown_in_drained = true;
	pf_work_drain(w, drained, &s);
	assert_int_equal(s.drained + s.closed + s.finished, 3);
	pf_batch_unref(b);
	sh_env_free(&env);
	uv_mutex_destroy(&s.lock);
}

/* A drain reaches the deadline like a shutdown: what has not started is
 * dropped and counted, then drained() comes without waiting for it. */
static void test_drain_deadline_cancels(void **state)
{
	struct sh_env env;
	struct seen s;
	struct pf_batch *b = one_sample_batch();
	uv_work_t blockers[POOL_THREADS];
	struct pf_component *c;
	struct pf_work *w;
	uint64_t failed0;

	sh_env_start(&env, YAML("50ms"));
	c = sh_find(&env, PF_EXPORTER, "sink");
	failed0 = pf_component_counter(c, PF_CTR_EXPORTER_SEND_FAILED);
	w = make(&env, &s, 1, 2);
	assert_int_equal(pf_work_start(w), 0);
	for (int i = 0; i < POOL_THREADS; i++)
		assert_int_equal(uv_queue_work(&env.loop, &blockers[i], blocker_run, blocker_done),
				 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pf_work_submit(w, b), PF_OK);
	sh_env_shutdown(&env);
	pf_work_drain(w, drained, &s);
	assert_true(sh_run_until(&env, all_drained, &s, 400));
	assert_int_equal(s.ran, 0);
	assert_int_equal(s.done_ok + s.done_err, 0);
	assert_int_equal(pf_component_counter(c, PF_CTR_EXPORTER_SEND_FAILED) - failed0, 3);
	assert_int_equal(s.closed, 0);
	pf_work_shutdown(w, finished);
	assert_true(sh_run_until(&env, all_finished, &s, 400));
	pf_batch_unref(b);
	sh_env_free(&env); /* waits for the blockers */
	uv_mutex_destroy(&s.lock);
}

/* Shutdown before start, with nothing submitted, finishes at once. */
static void test_shutdown_before_start(void **state)
{
	struct sh_env env;
	struct seen s;
	struct pf_work *w;

	sh_env_start(&env, YAML("5s"));
	w = make(&env, &s, 1, 0);
	assert_non_null(w);
	pf_work_shutdown(w, finished);
	assert_int_equal(s.closed, 1);
	assert_int_equal(s.finished, 1);
	pf_work_destroy(NULL);
	sh_env_stop(&env);
	uv_mutex_destroy(&s.lock);
}

int main(void)
{
	/* Before the pool first starts: the deadline test fills it. */
	setenv("UV_THREADPOOL_SIZE", "4", 1);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_bounded_and_drains),
		cmocka_unit_test(test_deadline_drops_and_cancels),
		cmocka_unit_test(test_shutdown_before_start),
		cmocka_unit_test(test_drain_keeps_pool_until_shutdown),
		cmocka_unit_test(test_drain_then_shutdown_orders),
		cmocka_unit_test(test_drain_deadline_cancels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
