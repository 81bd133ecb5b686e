// SPDX-License-Identifier: Apache-2.0
/* Runs an exporter's blocking jobs on the libuv thread pool, a bounded number at a time. */
#include "pipeline/work.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/log.h"

/* Before the deadline, what a running job gets to end its current step
 * once pf_work_expired() says so: one file encoded, written and fsync'd
 * (tens of ms on a busy disk), or shutdown passes its deadline. */
#define CANCEL_MARGIN_MS      200
#define ERROR_LOG_INTERVAL_MS 10000

/* One batch, waiting or on the thread pool. The thread reads `batch` and
 * writes `data` only. */
struct job {
	uv_work_t req;
	struct pf_work *w;
	struct pf_batch *batch;
	struct pf_ack *ack; /* ops.finish: the batch's acknowledgement part, or NULL */
	max_align_t data[];
};

struct pf_work {
	struct pf_component *c;
	struct pf_work_ops ops;
	void *arg;
	uv_timer_t deadline;
	struct job **running; /* max_running slots, unordered */
	size_t n_running;
	struct job **queue; /* max_queued slots, oldest first */
	size_t n_queued;
	pf_done_fn done;	    /* the component's, from pf_work_shutdown() */
	pf_work_drained_fn drained; /* from pf_work_drain(), until called */
	void *drained_arg;
	bool started;
	bool stopping;	     /* intake stopped: drain or shutdown */
	bool shutting;	     /* pf_work_shutdown() was called */
	atomic_bool expired; /* the deadline is near: running jobs should stop (read by them) */
	bool logged_errors;
	uint64_t last_error_ms; /* uv_now() of the last failure logged */
	uint64_t suppressed_errors;
};

static const struct pf_logger *lg(const struct pf_work *w)
{
	return pf_component_logger(w->c);
}

struct pf_work *pf_work_create(struct pf_component *c, const struct pf_work_ops *ops, void *arg)
{
	struct pf_work *w;

	assert(ops->run && !ops->done != !ops->finish && ops->closed && ops->max_running >= 1);
	w = calloc(1, sizeof(*w));
	if (!w)
		goto out_oom;
	w->running = calloc(ops->max_running, sizeof(*w->running));
	if (!w->running)
		goto out_free_work;
	w->queue = calloc(ops->max_queued ? ops->max_queued : 1, sizeof(*w->queue));
	if (!w->queue)
		goto out_free_running;
	w->c = c;
	w->ops = *ops;
	w->arg = arg;
	return w;

out_free_running:
	free(w->running);
out_free_work:
	free(w);
out_oom:
	pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
	return NULL;
}

void pf_work_destroy(struct pf_work *w)
{
	if (!w)
		return;
	assert(!w->started && w->n_running == 0 && w->n_queued == 0);
	free(w->queue);
	free(w->running);
	free(w);
}

int pf_work_start(struct pf_work *w)
{
	int err = uv_timer_init(pf_component_loop(w->c), &w->deadline);

	if (err)
		return err;
	w->deadline.data = w;
	w->started = true;
	return 0;
}

/* Frees a job whose batch ended with `result` (for its acknowledgement). */
static void release(struct job *j, int result)
{
	pf_ack_settle(j->ack, result);
	pf_batch_unref(j->batch);
	free(j);
}

/* Tells the component a job ended; returns how, for its acknowledgement. */
static int job_done(struct pf_work *w, struct job *j, int status)
{
	if (w->ops.finish)
		return w->ops.finish(w->arg, j->batch, j->data, status);
	w->ops.done(w->arg, j->batch, j->data, status);
	return status < 0 ? status : PF_OK;
}

/* A job dropped at the deadline: only ops.finish hears of it. */
static void drop_job(struct pf_work *w, struct job *j)
{
	release(j, w->ops.finish ? w->ops.finish(w->arg, j->batch, j->data, -ECANCELED) : PF_BUSY);
}

static void finish(struct pf_work *w)
{
	pf_work_closed_fn closed = w->ops.closed;
	struct pf_component *c = w->c;
	pf_done_fn done = w->done;
	void *arg = w->arg;

	w->started = false;
	pf_work_destroy(w);
	closed(arg);
	done(c);
}

static void on_deadline_closed(uv_handle_t *h)
{
	finish(h->data);
}

static void close_and_finish(struct pf_work *w)
{
	if (!w->started) {
		finish(w);
		return;
	}
	uv_timer_stop(&w->deadline);
	uv_close((uv_handle_t *)&w->deadline, on_deadline_closed);
}

static bool idle(const struct pf_work *w)
{
	return w->n_running == 0 && w->n_queued == 0;
}

/* Intake stopped and the last batch is done with: tell the drain, then
 * finish a shutdown. */
static void on_idle(struct pf_work *w)
{
	if (w->started)
		uv_timer_stop(&w->deadline);
	if (w->drained) {
		pf_work_drained_fn drained = w->drained;
		bool shutting = w->shutting;

		w->drained = NULL;
		/* may call pf_work_shutdown(), which then finishes (and frees w) */
		drained(w->drained_arg);
		if (!shutting)
			return;
	}
	if (w->shutting)
		close_and_finish(w);
}

static void on_run(uv_work_t *req)
{
	struct job *j = req->data;

	j->w->ops.run(j->w->arg, j->batch, j->data);
}

static void on_after_run(uv_work_t *req, int status);

static int start_job(struct pf_work *w, struct job *j)
{
	int err;

	assert(w->n_running < w->ops.max_running);
	err = uv_queue_work(pf_component_loop(w->c), &j->req, on_run, on_after_run);
	if (err)
		return err;
	w->running[w->n_running++] = j;
	return 0;
}

/* Starts queued batches while slots are free. */
static void run_queued(struct pf_work *w)
{
	while (w->n_running < w->ops.max_running && w->n_queued > 0) {
		struct job *j = w->queue[0];
		int err;

		memmove(w->queue, w->queue + 1, --w->n_queued * sizeof(w->queue[0]));
		err = start_job(w, j);
		if (err)
			release(j, job_done(w, j, err));
	}
}

static void forget(struct pf_work *w, struct job *j)
{
	for (size_t i = 0; i < w->n_running; i++) {
		if (w->running[i] == j) {
			w->running[i] = w->running[--w->n_running];
			return;
		}
	}
	assert(!"job not running");
}

/* Back on the loop. A cancelled job was counted by on_deadline. */
static void on_after_run(uv_work_t *req, int status)
{
	struct job *j = req->data;
	struct pf_work *w = j->w;

	forget(w, j);
	if (status == UV_ECANCELED)
		drop_job(w, j);
	else
		release(j, job_done(w, j, 0));
	run_queued(w);
	if (w->stopping && idle(w))
		on_idle(w);
}

int pf_work_submit(struct pf_work *w, struct pf_batch *batch)
{
	return pf_work_submit_job(w, batch, NULL);
}

int pf_work_submit_job(struct pf_work *w, struct pf_batch *batch, const void *job)
{
	struct job *j;
	int err;

	if (w->stopping)
		return -ESHUTDOWN;
	if (w->n_running >= w->ops.max_running && w->n_queued >= w->ops.max_queued)
		return PF_BUSY;
	j = calloc(1, sizeof(*j) + w->ops.job_size);
	if (!j)
		return -ENOMEM;
	if (job)
		memcpy(j->data, job, w->ops.job_size);
	j->req.data = j;
	j->w = w;
	j->batch = pf_batch_ref(batch);
	if (w->n_running >= w->ops.max_running) {
		w->queue[w->n_queued++] = j;
		goto out_hold;
	}
	err = start_job(w, j);
	if (err) {
		release(j, err);
		return err;
	}
out_hold:
	if (w->ops.finish)
		j->ack = pf_component_ack_hold(w->c);
	return PF_OK;
}

/* The deadline is near: queued batches are dropped, jobs not started on the
 * thread pool are cancelled, running ones cannot be and are waited for. */
static void on_deadline(uv_timer_t *t)
{
	struct pf_work *w = t->data;
	uint64_t lost = 0;
	size_t waiting = 0;

	atomic_store(&w->expired, true);
	for (size_t i = 0; i < w->n_queued; i++) {
		lost += pf_batch_sample_count(w->queue[i]->batch);
		drop_job(w, w->queue[i]);
	}
	w->n_queued = 0;
	/* on_after_run runs later, from the loop, also for cancelled jobs. */
	for (size_t i = 0; i < w->n_running; i++) {
		if (uv_cancel((uv_req_t *)&w->running[i]->req) == 0)
			lost += pf_batch_sample_count(w->running[i]->batch);
		else
			waiting++;
	}
	if (lost) {
		pf_component_count(w->c, PF_CTR_EXPORTER_SEND_FAILED, lost);
		pf_log(lg(w), PF_LOG_WARN, "shutdown deadline: %" PRIu64 " samples not %s", lost,
		       w->ops.verb);
	}
	if (waiting)
		pf_log(lg(w), PF_LOG_WARN, "shutdown deadline: waiting for %zu running job(s)",
		       waiting);
}

/* Drains until a little before the deadline so that we are done by then. */
static void arm_deadline(struct pf_work *w)
{
	uint64_t now, deadline;

	if (!w->started || uv_is_active((uv_handle_t *)&w->deadline))
		return; /* not started: the last on_after_run finishes */
	now = uv_now(pf_component_loop(w->c));
	deadline = pf_component_deadline(w->c);
	uv_timer_start(&w->deadline, on_deadline,
		       deadline > now + CANCEL_MARGIN_MS ? deadline - now - CANCEL_MARGIN_MS : 0,
		       0);
}

void pf_work_drain(struct pf_work *w, pf_work_drained_fn drained, void *arg)
{
	assert(!w->stopping && drained);
	w->stopping = true;
	w->drained = drained;
	w->drained_arg = arg;
	if (idle(w)) {
		on_idle(w);
		return;
	}
	arm_deadline(w);
}

void pf_work_shutdown(struct pf_work *w, pf_done_fn done)
{
	if (w->shutting)
		return;
	w->shutting = true;
	w->stopping = true;
	w->done = done;
	if (idle(w)) {
		close_and_finish(w);
		return;
	}
	arm_deadline(w);
}

bool pf_work_expired(const struct pf_work *w)
{
	return atomic_load(&w->expired);
}

void pf_work_log_failure(struct pf_work *w, const char *what)
{
	uint64_t now = uv_now(pf_component_loop(w->c));

	if (w->logged_errors && now - w->last_error_ms < ERROR_LOG_INTERVAL_MS) {
		w->suppressed_errors++;
		return;
	}
	if (w->suppressed_errors)
		pf_log(lg(w), PF_LOG_ERROR,
		       "%s (and %" PRIu64 " more failures since the last report)", what,
		       w->suppressed_errors);
	else
		pf_log(lg(w), PF_LOG_ERROR, "%s", what);
	w->logged_errors = true;
	w->last_error_ms = now;
	w->suppressed_errors = 0;
}
