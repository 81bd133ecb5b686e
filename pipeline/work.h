/* SPDX-License-Identifier: Apache-2.0 */
/* Batches handed to the libuv thread pool by an exporter: bounded, drained at shutdown. */
#ifndef PF_WORK_H
#define PF_WORK_H

#include <stdbool.h>
#include <stddef.h>

#include "model/batch.h"
#include "core/component.h"

struct pf_work;

/* On the thread pool: the blocking part for `batch` (shared, read-only).
 * Writes only `job`: job_size bytes, zeroed (or as pf_work_submit_job()
 * set them), private to this run. */
typedef void (*pf_work_run_fn)(void *arg, const struct pf_batch *batch, void *job);

/* On the loop, once per submitted batch that was not cancelled at the
 * shutdown deadline: `status` is 0 after run_fn, or a negative errno when the
 * batch could not be handed to the thread pool (run_fn never saw it). The
 * batch and the job are released after it returns. */
typedef void (*pf_work_done_fn)(void *arg, struct pf_batch *batch, void *job, int status);

/* Instead of pf_work_done_fn, for a pool whose batches a client waits for
 * (pf_component_emit_acked()): the same call, and it returns how the batch
 * ended: PF_OK when its results are queued, else PF_BUSY or a negative
 * error. Unlike done, it is also called for a batch dropped at the shutdown
 * deadline, with status -ECANCELED (run never saw it). pf_work_submit()
 * holds a part of the batch's acknowledgement, settled with the result. */
typedef int (*pf_work_finish_fn)(void *arg, struct pf_batch *batch, void *job, int status);

/* On the loop, once after pf_work_shutdown() when nothing runs any more and
 * the pool has closed its handle and freed itself: frees the instance. The
 * pool then calls the component's done callback. */
typedef void (*pf_work_closed_fn)(void *arg);

/* On the loop, once after pf_work_drain() when every batch submitted has
 * been done with (run and `done`, or dropped at the deadline). */
typedef void (*pf_work_drained_fn)(void *arg);

struct pf_work_ops {
	pf_work_run_fn run;
	pf_work_done_fn done; /* one of done and finish */
	pf_work_finish_fn finish;
	pf_work_closed_fn closed;
	size_t job_size;      /* bytes of per-batch results handed to run and done */
	unsigned max_running; /* batches on the thread pool at once, >= 1 */
	unsigned max_queued;  /* batches waiting for a free slot, in arrival order */
	const char *verb;     /* past participle for the log: "samples not <verb>" */
};

/* A pool for component `c`, calling `ops` (copied) with `arg`. Touches no
 * loop. Returns NULL (logged) when out of memory. */
struct pf_work *pf_work_create(struct pf_component *c, const struct pf_work_ops *ops, void *arg);

/* Frees a pool that was never started. Takes NULL. */
void pf_work_destroy(struct pf_work *w);

/* Registers the shutdown-deadline timer on the component's loop. Returns 0
 * or a negative errno. */
int pf_work_start(struct pf_work *w);

/* Hands `batch` to the thread pool, or queues it when max_running batches
 * run. Takes a reference when it returns PF_OK (and, with ops.finish, a
 * part of its acknowledgement); returns PF_BUSY when max_running run and
 * max_queued wait, -ESHUTDOWN after pf_work_shutdown(), or a negative
 * errno (nothing taken). Call it from the component's consume. */
int pf_work_submit(struct pf_work *w, struct pf_batch *batch);

/* pf_work_submit() with the job's bytes starting as a copy of `job`
 * (ops.job_size bytes) instead of zeroes: what consume decided for the
 * batch (a reservation) reaches run and done. */
int pf_work_submit_job(struct pf_work *w, struct pf_batch *batch, const void *job);

/* An exporter's shutdown: stops intake and drains: queued batches still run
 * until shortly before pf_component_deadline(). Then the queued ones are
 * dropped and those not yet started on the thread pool are cancelled; their
 * samples are counted as PF_CTR_EXPORTER_SEND_FAILED and logged. Running ones
 * are waited for. Then the pool frees itself, calls ops.closed and last
 * `done`. Safe before start; a second call does nothing. */
void pf_work_shutdown(struct pf_work *w, pf_done_fn done);

/* The first half of pf_work_shutdown(), for an exporter with more to do
 * after its batches and before it frees itself (flush a queue, close a
 * client): stops intake and drains the same way, until shortly before
 * pf_component_deadline(), but keeps the pool and calls drained(arg)
 * instead, at once when nothing runs or waits. pf_work_shutdown() then
 * frees the pool (at once if drained, else once drained; drained(arg) is
 * still called first). At most once, before pf_work_shutdown(). */
void pf_work_drain(struct pf_work *w, pf_work_drained_fn drained, void *arg);

/* For a run_fn that does many steps (files): true once the shutdown deadline
 * is near and the pool waits for running jobs. The job should then stop
 * early and count what it leaves undone as failed, so that shutdown keeps
 * its deadline. Any thread. */
bool pf_work_expired(const struct pf_work *w);

/* Logs a failure at error level, at most once per 10 seconds; the next one
 * logged tells how many were left out. Loop thread only. */
void pf_work_log_failure(struct pf_work *w, const char *what);

#endif
