/* SPDX-License-Identifier: Apache-2.0 */
/* Internal contract between the pprof receiver's parts: the instance, decode jobs, files, scrapes. */
#ifndef PF_RECEIVER_PPROF_H
#define PF_RECEIVER_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/component.h"
#include "core/error.h"
#include "core/option.h"

struct pf_batch;

/* Parsed by config/ from the option table in pprof.c; values owned by config/. */
struct pf_pprof_rx_config {
	struct pf_strings paths;
	int64_t poll_interval; /* ns */
	bool watch;
	bool delete_after_read;
	struct pf_strings targets;
	int64_t interval; /* ns */
	int64_t timeout;  /* ns; 0 when unset: see pf_pprof_rx_timeout() */
	struct pf_string_map headers;
	char *job;
	struct pf_string_map resource;
	int64_t max_size; /* bytes */
};

/* Rate-limits the log lines about one source of input (a target, or all files). */
struct pf_pprof_rx_limiter {
	char last_reason[640]; /* "source: reason" */
	uint64_t last_log_ms;
	uint64_t window_start_ms;
	unsigned in_window;
	unsigned suppressed;
	bool failing;
};

struct pf_pprof_rx_files;
struct pf_pprof_rx_scrape;

struct pf_pprof_rx {
	struct pf_component *c;
	struct pf_pprof_rx_config cfg;
	const char *job; /* cfg.job or the component id */
	uv_loop_t *loop;
	uv_timer_t stop_timer; /* shutdown deadline for in-flight scrapes */
	unsigned open_handles; /* this file's handles plus those of files.c and scrape.c */
	unsigned jobs;	       /* decode jobs on the thread pool */
	bool started, stopping, stop_timer_open, finished;
	pf_done_fn done;
	struct pf_pprof_rx_files *files;
	struct pf_pprof_rx_scrape *scrape;
	struct pf_pprof_rx_limiter file_errors; /* shared by every file */
};

/* What a decode job reads and how its result is labelled. */
struct pf_pprof_rx_job;
typedef void (*pf_pprof_rx_job_done_fn)(struct pf_pprof_rx_job *job, int err);

struct pf_pprof_rx_job {
	uv_work_t work;
	struct pf_pprof_rx *r;
	/* Input: a file to read (path != NULL) or bytes already received. */
	char *path;
	uint8_t *data;
	size_t size;
	bool delete_after_read;
	/* Resource attributes particular to this source ("url.full" ...), in
	 * key/value pairs; strings owned by whoever submits the job and alive
	 * until `finished` runs. */
	const char *attrs[8];
	size_t n_attrs;
	int64_t port;	    /* server.port when > 0 */
	const char *source; /* for logs: path or URL */
	struct pf_pprof_rx_limiter *limiter;
	pf_pprof_rx_job_done_fn finished; /* on the loop, before the job is freed */
	void *owner;

	/* Output (worker thread). */
	struct pf_batch *batch;
	int err;
	bool deleted; /* set on the loop, once the batch is acknowledged */
	struct pf_error perr;
	size_t profiles, samples;
	char totals[256]; /* "samples/count=10 cpu/nanoseconds=100000000" */
};

/* ---- pprof.c ---- */

/* The time limit of one scrape in ns: the timeout option, or when it is
 * unset the smaller of 10 s and interval, as Prometheus' scrape_timeout. */
int64_t pf_pprof_rx_timeout(const struct pf_pprof_rx_config *cfg);

/* Queues a job on the thread pool; takes ownership of job (and its path and
 * data). On its end: on success the batch is emitted (a file with
 * delete_after_read is deleted once every exporter holds the batch, and kept
 * when it is refused), on failure the error is counted and logged through
 * job->limiter, then job->finished runs and the job is freed. Returns 0 or a
 * negative error (the job is then freed without calling finished). */
int pf_pprof_rx_submit(struct pf_pprof_rx *r, struct pf_pprof_rx_job *job);

/* Counts one bad input and logs `reason` about `source`, rate-limited per
 * limiter: a reason repeating itself is logged once a minute at most, and at
 * most 10 lines a minute in all. */
void pf_pprof_rx_input_error(struct pf_pprof_rx *r, struct pf_pprof_rx_limiter *limiter,
			     const char *source, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Logs recovery of a source that had failed (once). */
void pf_pprof_rx_input_ok(struct pf_pprof_rx *r, struct pf_pprof_rx_limiter *limiter,
			  const char *source);

/* Called by files.c and scrape.c whenever something they wait on ends while
 * stopping; finishes the shutdown when nothing is left. Must be the last
 * thing its caller does with r. */
void pf_pprof_rx_check_done(struct pf_pprof_rx *r);

/* ---- files.c ---- */

struct pf_pprof_rx_files *pf_pprof_rx_files_new(struct pf_pprof_rx *r);
int pf_pprof_rx_files_start(struct pf_pprof_rx_files *f);
/* Stops polling; reads in flight end on their own. */
void pf_pprof_rx_files_stop(struct pf_pprof_rx_files *f);
void pf_pprof_rx_files_free(struct pf_pprof_rx_files *f);

/* ---- scrape.c ---- */

struct pf_pprof_rx_scrape *pf_pprof_rx_scrape_new(struct pf_pprof_rx *r);
int pf_pprof_rx_scrape_start(struct pf_pprof_rx_scrape *s);
/* Stops the interval timers; scrapes in flight may still finish. */
void pf_pprof_rx_scrape_stop(struct pf_pprof_rx_scrape *s);
/* Requests in flight. */
size_t pf_pprof_rx_scrape_pending(const struct pf_pprof_rx_scrape *s);
/* Cancels what is in flight and closes the HTTP client; true once closed. */
bool pf_pprof_rx_scrape_close(struct pf_pprof_rx_scrape *s);
void pf_pprof_rx_scrape_free(struct pf_pprof_rx_scrape *s);

#endif
