// SPDX-License-Identifier: Apache-2.0
/* The pprof exporter: writes each batch as gzip'd profile.proto files, off the loop. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "files.h"
#include "formats/pprof/pprof.h"
#include "merge.h"
#include "model/batch.h"
#include "core/component.h"
#include "files/files.h"
#include "pipeline/work.h"

#define MAX_IN_FLIGHT 4

struct pprof_config {
	char *directory;
	int64_t max_files;
	int64_t max_age; /* ns */
	char *file_prefix;
	int group_by; /* enum group_by */
};

enum group_by {
	GROUP_PROCESS, /* a file per resource (process) and profile group */
	GROUP_NONE,    /* a file per profile group, processes merged */
};

/* The <service> part of merged files' names. */
#define MERGED_NAME "merged"

static const char *const group_choices[] = {"process", "none", NULL};

struct pprof_exporter;

/* One batch being written on the thread pool (a pf_work job). The work
 * thread reads `batch` (shared, read-only) and the config, and writes only
 * the result fields and the exporter's (atomic) name sequence. */
struct pprof_work {
	struct pprof_exporter *e;
	const struct pf_batch *batch;
	/* results */
	uint64_t sent;
	uint64_t failed;
	size_t files;
	int err;
	char what[PATH_MAX + 64]; /* the first failure, or the last file written */
	/* while the groups are written */
	const struct pf_batch *b; /* the batch, or its merged copy */
	const char *service;	  /* names the files instead of the resource when set */
	uint64_t now;
	uint64_t skipped; /* samples of groups left at the shutdown deadline */
};

struct pprof_exporter {
	struct pf_component *c;
	struct pprof_config cfg; /* strings borrowed from config/ */
	char prefix[48];	 /* file_prefix, sanitized */
	struct pf_work *work;	 /* at most MAX_IN_FLIGHT batches on the thread pool */
	struct pf_files_seq seq; /* numbers for names taken (same service, pid, type, ms) */
};

static const struct pf_option pprof_options[] = {
	{.name = "directory",
	 .type = PF_OPT_STRING,
	 .flags = PF_OPT_REQUIRED,
	 .offset = offsetof(struct pprof_config, directory),
	 .doc = "Where to write the files (created if missing)"},
	{.name = "max_files",
	 .type = PF_OPT_INT,
	 .def = "0",
	 .min = 0,
	 .max = 1e9,
	 .offset = offsetof(struct pprof_config, max_files),
	 .doc = "Keep at most this many of this exporter's files, removing the oldest (0 = all)"},
	{.name = "max_age",
	 .type = PF_OPT_DURATION,
	 .def = "0s",
	 .min = 0,
	 .max = 3650.0 * 86400 * 1e9,
	 .offset = offsetof(struct pprof_config, max_age),
	 .doc = "Remove this exporter's files older than this (0 = keep)"},
	{.name = "file_prefix",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pprof_config, file_prefix),
	 .doc = "Prepended to every file name; rotation only touches files with this prefix"},
	{.name = "group_by",
	 .type = PF_OPT_ENUM,
	 .def = "process",
	 .choices = group_choices,
	 .offset = offsetof(struct pprof_config, group_by),
	 .doc = "process: a file per process (resource) per batch, as Parca and Pyroscope keep "
		"profiles; none: one file per batch, the processes merged, each sample "
		"labelled with its process's attributes (process.pid, ...)"},
	PF_OPTION_END,
};

static const struct pf_logger *lg(const struct pprof_exporter *e)
{
	return pf_component_logger(e->c);
}

static int pprof_validate(const void *config, struct pf_error *err)
{
	const struct pprof_config *cfg = config;

	if (!cfg->directory || !cfg->directory[0])
		return pf_error_set(err, "", "directory must not be empty");
	if (strlen(cfg->directory) > PATH_MAX - PF_PPROF_FILES_NAME_MAX - 32)
		return pf_error_set(err, "", "directory is too long");
	if (pf_files_check_prefix(cfg->file_prefix, 40, err))
		return -EINVAL;
	return 0;
}

/* The profile of a group that names its file: the one of the default sample
 * type when the profile says which, else the last one (pprof's default). */
static uint32_t naming_profile(const struct pf_batch *b, const uint32_t *sel, size_t n)
{
	const struct pf_profile_desc *d = pf_batch_profile_get(b, sel[0]);
	const struct pf_value *def =
		pf_batch_attr_lookup(b, d->attrs, "pprof.profile.default_sample_type");

	if (def && def->kind == PF_VALUE_STRING) {
		const char *want = pf_batch_str(b, def->u.str);

		for (size_t i = 0; i < n; i++) {
			const struct pf_profile_desc *pd = pf_batch_profile_get(b, sel[i]);

			if (strcmp(pf_batch_str(b, pd->sample_type.type), want) == 0)
				return sel[i];
		}
	}
	return sel[n - 1];
}

static void work_fail(struct pprof_work *w, int err, const char *fmt, const char *arg)
{
	if (w->err)
		return;
	w->err = err;
	snprintf(w->what, sizeof(w->what), fmt, arg, strerror(-err));
}

/* Encodes and writes one group of profiles of b (the work's batch, or its
 * merged copy); `service` names the file instead of the resource when set. */
static void write_group(struct pprof_work *w, const struct pf_batch *b, const uint32_t *sel,
			size_t n, const char *service, uint64_t now)
{
	struct pprof_exporter *e = w->e;
	char base[PF_PPROF_FILES_NAME_MAX], path[PATH_MAX];
	uint64_t samples = pf_batch_sample_count_of(b, sel, n);
	uint8_t *data = NULL;
	size_t size = 0;
	int err;

	if (samples == 0)
		return; /* nothing to look at: no file */
	pf_pprof_files_name(b, naming_profile(b, sel, n), e->prefix, service, now, base,
			    sizeof(base));
	err = pf_pprof_encode(b, sel, n, true, &data, &size);
	if (err < 0) {
		work_fail(w, err, "encoding %s: %s", base);
		w->failed += samples;
		return;
	}
	err = pf_files_write(e->cfg.directory, base, PF_PPROF_FILES_SUFFIX, data, size, &e->seq,
			     path, sizeof(path));
	free(data);
	if (err < 0) {
		work_fail(w, err, "writing %s: %s", base);
		w->failed += samples;
		return;
	}
	w->sent += samples;
	w->files++;
	if (!w->err)
		snprintf(w->what, sizeof(w->what), "%s", path);
}

/* pf_pprof_group_fn: writes one group; past the shutdown deadline, the
 * groups left are counted as failed instead, so that shutdown keeps its
 * deadline. */
static int write_next_group(void *arg, const uint32_t *sel, size_t n)
{
	struct pprof_work *w = arg;

	if (w->skipped || pf_work_expired(w->e->work))
		w->skipped += pf_batch_sample_count_of(w->b, sel, n);
	else
		write_group(w, w->b, sel, n, w->service, w->now);
	return 0;
}

/* On the thread pool: every encoding group of the batch (or, with group_by
 * none, of its processes merged) becomes one file. */
static void work_run(void *arg, const struct pf_batch *batch, void *job)
{
	struct pprof_work *w = job;
	const struct pprof_config *cfg;
	size_t np = pf_batch_n_profiles(batch);
	struct pf_batch *merged = NULL;
	uint32_t *group_of = NULL;
	int err;

	w->e = arg;
	w->batch = batch;
	w->b = batch;
	w->now = pf_files_now_ns();
	cfg = &w->e->cfg;
	if (np == 0)
		return;
	if (cfg->group_by == GROUP_NONE) {
		size_t n_from = np;
		uint32_t n_groups = 0;

		group_of = calloc(np, sizeof(*group_of));
		merged = group_of ? pf_pprof_merge(batch, group_of, &n_from) : NULL;
		if (!merged) {
			w->err = -ENOMEM;
			goto out_fail;
		}
		w->b = merged;
		w->service = MERGED_NAME;
		for (size_t i = 0; i < n_from; i++)
			if (group_of[i] >= n_groups)
				n_groups = group_of[i] + 1;
		/* the merged profiles follow the copied ones */
		err = pf_pprof_each_group_of(group_of, n_from, np, n_groups, write_next_group, w);
	} else {
		err = pf_pprof_each_group(batch, write_next_group, w);
	}
	if (err < 0) { /* before any group was written: out of memory */
		w->err = err;
		goto out_fail;
	}
	if (w->skipped) {
		w->failed += w->skipped;
		if (!w->err) {
			w->err = -ETIMEDOUT;
			snprintf(w->what, sizeof(w->what),
				 "shutdown deadline: %" PRIu64 " samples not written", w->skipped);
		}
	}
	if (w->files) {
		/* the new names, durable once per batch rather than per file */
		err = pf_files_sync_dir(cfg->directory);
		if (err < 0)
			work_fail(w, err, "syncing %s: %s", cfg->directory);
	}
	err = pf_files_rotate(cfg->directory, w->e->prefix, PF_PPROF_FILES_SUFFIX, cfg->max_files,
			      cfg->max_age, pf_files_now_ns());
	if (err < 0)
		work_fail(w, err, "rotating files in %s: %s", cfg->directory);
	goto out_free;

out_fail:
	snprintf(w->what, sizeof(w->what), "grouping profiles: %s", strerror(-w->err));
	w->failed = pf_batch_sample_count(w->batch);
out_free:
	pf_batch_unref(merged);
	free(group_of);
}

/* Back on the loop: count and log. The batch's answer (a receiver's, through
 * its acknowledgement) is OK only when every sample is in a file, so a
 * pipeline of pprof files answers 2xx for what is on disk. */
static int work_finish(void *arg, struct pf_batch *batch, void *job, int status)
{
	struct pprof_exporter *e = arg;
	struct pprof_work *w = job;

	if (status == -ECANCELED)
		return PF_BUSY; /* dropped at the shutdown deadline: pf_work counted it */
	if (status < 0) {
		w->failed = pf_batch_sample_count(batch);
		pf_work_log_failure(e->work, "cannot queue a write on the thread pool");
	} else if (w->err) {
		pf_work_log_failure(e->work, w->what);
	} else if (w->files) {
		pf_log(lg(e), PF_LOG_DEBUG, "wrote %zu file(s), last %s", w->files, w->what);
	}
	if (w->sent)
		pf_component_count(e->c, PF_CTR_EXPORTER_SENT, w->sent);
	if (w->failed)
		pf_component_count(e->c, PF_CTR_EXPORTER_SEND_FAILED, w->failed);
	return w->failed ? PF_BUSY : PF_OK;
}

static int pprof_consume(void *inst, struct pf_batch *batch)
{
	struct pprof_exporter *e = inst;

	return pf_work_submit(e->work, batch);
}

static const struct pf_work_ops work_ops = {
	.run = work_run,
	.finish = work_finish,
	.closed = free, /* the instance */
	.job_size = sizeof(struct pprof_work),
	.max_running = MAX_IN_FLIGHT,
	.verb = "written",
};

static void *pprof_create(struct pf_component *c, const void *config)
{
	struct pprof_exporter *e = calloc(1, sizeof(*e));

	if (!e) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		return NULL;
	}
	e->c = c;
	memcpy(&e->cfg, config, sizeof(e->cfg));
	pf_files_sanitize(e->cfg.file_prefix, 40, e->prefix, sizeof(e->prefix));
	e->work = pf_work_create(c, &work_ops, e);
	if (!e->work) {
		free(e);
		return NULL;
	}
	return e;
}

static int pprof_start(void *inst)
{
	struct pprof_exporter *e = inst;
	int err;

	err = pf_files_prepare(lg(e), e->cfg.directory, e->prefix);
	if (err)
		return err;
	return pf_work_start(e->work);
}

static void pprof_shutdown(void *inst, pf_done_fn done)
{
	struct pprof_exporter *e = inst;

	pf_work_shutdown(e->work, done);
}

const struct pf_component_def pf_exporter_pprof = {
	.kind = PF_EXPORTER,
	.type = "pprof",
	.doc = "Write gzip'd pprof files (profile.proto): per batch, one per process (resource) "
	       "and "
	       "profile group, or with group_by none one per profile group.",
	.stability = "development",
	.options = pprof_options,
	.config_size = sizeof(struct pprof_config),
	.validate = pprof_validate,
	.create = pprof_create,
	.start = pprof_start,
	.consume = pprof_consume,
	.shutdown = pprof_shutdown,
};
