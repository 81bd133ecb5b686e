/* SPDX-License-Identifier: Apache-2.0 */
/* Files found by glob on a poll timer, each read once complete: shared by file receivers. */
#ifndef PF_FILE_WATCH_H
#define PF_FILE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/component.h"

struct pf_file_watch;

/*
 * Every poll the globs are expanded on the libuv thread pool (regular files
 * only, each file once even when patterns overlap). A file is known by device
 * and inode and remembered with its size and mtime, so it is read once:
 *   - a file of a plain pattern is ready once two successive polls saw the
 *     same size and mtime (a writer still appending is left alone), or at
 *     once with `once`;
 *   - a file of a `checked` pattern is ready as soon as ops.complete says so.
 * A read file is read again when its size or mtime changes; files that no
 * longer match are forgotten, which bounds memory by what the globs match.
 * At most max_reads files are handed to ops.read at once; the others wait.
 * With `once` only the first poll runs.
 */

struct pf_file_watch_pattern {
	const char *glob; /* copied */
	bool checked;	  /* complete when ops.complete says so, not by settling */
};

struct pf_file_watch_config {
	const struct pf_file_watch_pattern *patterns;
	size_t n_patterns;
	int64_t poll_interval; /* ns; 1 ms at least */
	bool once;	       /* read what the first poll finds, then stop polling */
	unsigned max_reads;    /* reads at once, >= 1 */
};

struct pf_file_watch_ops {
	/* Thread pool, for files of checked patterns: true once the file's
	 * writer finished it. NULL: never. */
	bool (*complete)(void *arg, const char *path, int64_t size);
	/* Loop: starts the read of a ready file (`checked` tells its pattern
	 * kind). Returns 0, then the owner calls pf_file_watch_read_done()
	 * once it ends, or a negative errno (tried again on the next poll). */
	int (*read)(void *arg, const char *path, bool checked);
	/* Loop, once after pf_file_watch_stop(): the timer is closed and no
	 * scan runs any more. Reads may still be in flight. */
	void (*closed)(void *arg);
};

/* A watcher for component `c` (its loop and logger), calling `ops`
 * (copied) with `arg`. Touches no loop. NULL when out of memory. */
struct pf_file_watch *pf_file_watch_create(struct pf_component *c,
					   const struct pf_file_watch_config *cfg,
					   const struct pf_file_watch_ops *ops, void *arg);

/* Starts polling, the first poll at once. 0 or a negative errno (then
 * nothing was started and ops.closed never follows). */
int pf_file_watch_start(struct pf_file_watch *fw);

/* A read started by ops.read ended; `gone` when the file was deleted or
 * moved away (then it is forgotten at once). Starts waiting reads unless
 * stopped. */
void pf_file_watch_read_done(struct pf_file_watch *fw, const char *path, bool gone);

/* Stops polling and closes the timer; when started, ops.closed follows
 * (never from within this call). Reads in flight end on their own. A second
 * call does nothing. */
void pf_file_watch_stop(struct pf_file_watch *fw);

/* Frees the watcher: before start, or after ops.closed and the last
 * pf_file_watch_read_done(). Takes NULL. */
void pf_file_watch_destroy(struct pf_file_watch *fw);

#endif
