/* SPDX-License-Identifier: Apache-2.0 */
/* Internal contract between the jfr receiver's parts: the instance, its read jobs and its file scanner. */
#ifndef PF_RECEIVER_JFR_H
#define PF_RECEIVER_JFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/component.h"
#include "core/error.h"
#include "core/option.h"

struct pf_batch;

/* Parsed by config/ from the option table in jfr.c; values owned by config/. */
struct pf_jfr_rx_config {
	struct pf_strings paths;
	char *repository;
	int64_t poll_interval; /* ns */
	bool delete_after_read;
	char *move_to;
	char *service_name;
	struct pf_string_map resource;
	int64_t max_size; /* bytes */
};

struct pf_jfr_rx_scan;

struct pf_jfr_rx {
	struct pf_component *c;
	struct pf_jfr_rx_config cfg;
	uv_loop_t *loop;
	unsigned jobs;	       /* reads and scans on the thread pool */
	unsigned open_handles; /* the scanner's timer */
	bool started, stopping, finished;
	pf_done_fn done;
	struct pf_jfr_rx_scan *scan;
	uint64_t log_window_ms; /* input errors logged in the current minute */
	unsigned logged, suppressed;
};

/* A file to read: a recording matched by `paths` or a chunk of `repository`. */
struct pf_jfr_rx_read;
typedef void (*pf_jfr_rx_read_done_fn)(struct pf_jfr_rx_read *rd);

struct pf_jfr_rx_read {
	uv_work_t work;
	struct pf_jfr_rx *r;
	char *path;
	bool from_repository;		 /* never deleted or moved: the JVM owns its repository */
	pf_jfr_rx_read_done_fn finished; /* on the loop, before the read is freed */
	void *owner;

	/* Output (worker thread). */
	struct pf_batch *batch;
	int err; /* -EAGAIN: a chunk is still being written */
	struct pf_error perr;
	bool moved; /* set on the loop, once the batch is acknowledged */
	char summary[256];
	size_t samples;
};

/* ---- jfr.c ---- */

/* Queues a read on the thread pool; takes ownership of rd. On its end the
 * batch is emitted (a file deleted or moved after reading goes once every
 * exporter holds the batch, and stays when it is refused) or the error
 * counted and logged, then rd->finished runs and rd is freed. Returns 0 or a negative error (rd then freed, finished not
 * called). */
int pf_jfr_rx_submit(struct pf_jfr_rx *r, struct pf_jfr_rx_read *rd);

/* Finishes a shutdown once nothing is left in flight; last call on r. */
void pf_jfr_rx_check_done(struct pf_jfr_rx *r);

/* ---- scan.c ---- */

struct pf_jfr_rx_scan *pf_jfr_rx_scan_new(struct pf_jfr_rx *r);
int pf_jfr_rx_scan_start(struct pf_jfr_rx_scan *s);
/* Stops polling and closes the timer; reads in flight end on their own. */
void pf_jfr_rx_scan_stop(struct pf_jfr_rx_scan *s);
void pf_jfr_rx_scan_free(struct pf_jfr_rx_scan *s);

#endif
