// SPDX-License-Identifier: Apache-2.0
/* The pprof receiver's files: its globs via files/file_watch, each complete file decoded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "files/file_watch.h"
#include "receiver.h"

#define MAX_READS 2 /* files read at once; the others wait for the next round */

/*
 * While watching, a file is read once two successive scans saw the same size
 * and mtime (so a writer still appending is left alone); without watch, the
 * files found by the first scan are read at once and nothing is scanned
 * again. files/file_watch remembers what was read and forgets files that
 * disappear from the globs.
 */

struct pf_pprof_rx_files {
	struct pf_pprof_rx *r;
	struct pf_file_watch *fw;
};

static void on_read_done(struct pf_pprof_rx_job *job, int err)
{
	struct pf_pprof_rx_files *f = job->owner;

	(void)err;
	pf_file_watch_read_done(f->fw, job->path, job->deleted);
}

static int start_read(void *arg, const char *path, bool checked)
{
	struct pf_pprof_rx_files *f = arg;
	struct pf_pprof_rx *r = f->r;
	struct pf_pprof_rx_job *job = calloc(1, sizeof(*job));

	(void)checked;
	if (!job)
		return -ENOMEM;
	job->path = strdup(path);
	if (!job->path) {
		free(job);
		return -ENOMEM;
	}
	job->source = job->path;
	job->attrs[0] = "file.path";
	job->attrs[1] = job->path;
	job->n_attrs = 2;
	job->delete_after_read = r->cfg.delete_after_read;
	job->limiter = &r->file_errors;
	job->finished = on_read_done;
	job->owner = f;
	return pf_pprof_rx_submit(r, job);
}

static void on_closed(void *arg)
{
	struct pf_pprof_rx_files *f = arg;
	struct pf_pprof_rx *r = f->r;

	r->open_handles--;
	pf_pprof_rx_check_done(r);
}

struct pf_pprof_rx_files *pf_pprof_rx_files_new(struct pf_pprof_rx *r)
{
	const struct pf_strings *paths = &r->cfg.paths;
	struct pf_pprof_rx_files *f = calloc(1, sizeof(*f));
	struct pf_file_watch_pattern *pat = calloc(paths->n ? paths->n : 1, sizeof(*pat));

	if (!f || !pat)
		goto out_free;
	f->r = r;
	for (size_t i = 0; i < paths->n; i++)
		pat[i].glob = paths->items[i];
	struct pf_file_watch_config wc = {
		.patterns = pat,
		.n_patterns = paths->n,
		.poll_interval = r->cfg.poll_interval,
		.once = !r->cfg.watch,
		.max_reads = MAX_READS,
	};
	struct pf_file_watch_ops ops = {.read = start_read, .closed = on_closed};
	f->fw = pf_file_watch_create(r->c, &wc, &ops, f);
	if (!f->fw)
		goto out_free;
	free(pat);
	return f;

out_free:
	free(pat);
	free(f);
	return NULL;
}

int pf_pprof_rx_files_start(struct pf_pprof_rx_files *f)
{
	int err = pf_file_watch_start(f->fw);

	if (err < 0)
		return err;
	f->r->open_handles++;
	return 0;
}

void pf_pprof_rx_files_stop(struct pf_pprof_rx_files *f)
{
	pf_file_watch_stop(f->fw);
}

void pf_pprof_rx_files_free(struct pf_pprof_rx_files *f)
{
	if (!f)
		return;
	pf_file_watch_destroy(f->fw);
	free(f);
}
