// SPDX-License-Identifier: Apache-2.0
/* The flamegraph exporter: an SVG (or folded text) per batch and a cumulative one, off the loop. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fold.h"
#include "model/batch.h"
#include "core/component.h"
#include "files/files.h"
#include "pipeline/work.h"
#include "svg.h"

#define MAX_QUEUED	8
#define NS_PER_SEC	1000000000ULL
#define PREFIX_MAX	40
#define INTERVAL_TAG	"flamegraph."
#define CUMULATIVE_NAME "cumulative"

enum flame_format { FORMAT_SVG, FORMAT_FOLDED };

struct flame_config {
	char *directory;
	int format; /* enum flame_format */
	char *sample_type;
	bool cumulative;
	char *title;
	int64_t width;
	double min_width;
	int group_by; /* enum pf_flame_group */
	int64_t max_frames;
	int64_t max_files;
	int64_t max_age; /* ns */
	char *file_prefix;
};

static const char *const format_choices[] = {"svg", "folded", NULL};
static const char *const group_choices[] = {"process", "service", "none", NULL};

static const struct pf_option flame_options[] = {
	{.name = "directory",
	 .type = PF_OPT_STRING,
	 .flags = PF_OPT_REQUIRED,
	 .offset = offsetof(struct flame_config, directory),
	 .doc = "Where to write the files (created if missing)"},
	{.name = "format",
	 .type = PF_OPT_ENUM,
	 .def = "svg",
	 .choices = format_choices,
	 .offset = offsetof(struct flame_config, format),
	 .doc = "svg: interactive flame graph; folded: \"a;b;c value\" lines (flamegraph.pl, "
		"inferno, speedscope)"},
	{.name = "sample_type",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct flame_config, sample_type),
	 .doc = "Sample type to draw, \"type\" or \"type/unit\" (default: cpu if present, else "
		"the first)"},
	{.name = "cumulative",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct flame_config, cumulative),
	 .doc = "Also keep <prefix>cumulative.svg, everything since start, rewritten each batch"},
	{.name = "title",
	 .type = PF_OPT_STRING,
	 .def = "Flame Graph",
	 .offset = offsetof(struct flame_config, title),
	 .doc = "Title at the top of the SVG"},
	{.name = "width",
	 .type = PF_OPT_INT,
	 .def = "1200",
	 .min = 200,
	 .max = 100000,
	 .offset = offsetof(struct flame_config, width),
	 .doc = "Width of the SVG in pixels"},
	{.name = "min_width",
	 .type = PF_OPT_DOUBLE,
	 .def = "0.1",
	 .min = 0,
	 .max = 1000,
	 .offset = offsetof(struct flame_config, min_width),
	 .doc = "Leave out frames narrower than this many pixels (keeps big graphs small)"},
	{.name = "group_by",
	 .type = PF_OPT_ENUM,
	 .def = "process",
	 .choices = group_choices,
	 .offset = offsetof(struct flame_config, group_by),
	 .doc = "Root frame per process \"name (pid)\", per service.name, or none"},
	{.name = "max_frames",
	 .type = PF_OPT_INT,
	 .def = "100000",
	 .min = 0,
	 .max = 1e8,
	 .offset = offsetof(struct flame_config, max_frames),
	 .doc = "Bound the cumulative graph: beyond this many frames the smallest are folded "
		"into their callers (0 = no bound)"},
	{.name = "max_files",
	 .type = PF_OPT_INT,
	 .def = "0",
	 .min = 0,
	 .max = 1e9,
	 .offset = offsetof(struct flame_config, max_files),
	 .doc = "Keep at most this many per-batch files, removing the oldest (0 = all)"},
	{.name = "max_age",
	 .type = PF_OPT_DURATION,
	 .def = "0s",
	 .min = 0,
	 .max = 3650.0 * 86400 * 1e9,
	 .offset = offsetof(struct flame_config, max_age),
	 .doc = "Remove per-batch files older than this (0 = keep)"},
	{.name = "file_prefix",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct flame_config, file_prefix),
	 .doc = "Prepended to every file name; rotation only touches files with this prefix"},
	PF_OPTION_END,
};

struct flame_exporter;

/* One batch being drawn on the thread pool (a pf_work job). The work thread
 * reads `batch` (shared, read-only) and the config, and writes the result
 * fields and the exporter's cumulative graph (only one job runs at a time). */
struct flame_work {
	struct flame_exporter *e;
	const struct pf_batch *batch;
	/* results */
	bool wrote;
	int err;
	char what[PATH_MAX + 64]; /* the first failure, or the last file written */
	char cumulative[PATH_MAX + PREFIX_MAX + 48];
};

struct flame_exporter {
	struct pf_component *c;
	struct flame_config cfg; /* strings borrowed from config/ */
	char prefix[PREFIX_MAX + 8];
	char dir[PATH_MAX];    /* the directory, absolute once started */
	struct pf_flame total; /* the cumulative graph; touched by the running work only */
	bool total_ready;
	struct pf_work *work;	 /* one batch drawn at a time, MAX_QUEUED waiting */
	struct pf_files_seq seq; /* numbers for names taken (same millisecond) */
	bool told;		 /* the first file has been logged at info */
};

static const struct pf_logger *lg(const struct flame_exporter *e)
{
	return pf_component_logger(e->c);
}

static int flame_validate(const void *config, struct pf_error *err)
{
	const struct flame_config *cfg = config;

	if (!cfg->directory || !cfg->directory[0])
		return pf_error_set(err, "", "directory must not be empty");
	if (strlen(cfg->directory) > PATH_MAX - 128)
		return pf_error_set(err, "", "directory is too long");
	if (pf_files_check_prefix(cfg->file_prefix, PREFIX_MAX, err))
		return -EINVAL;
	if (cfg->sample_type && cfg->sample_type[0] == '/')
		return pf_error_set(err, "", "sample_type \"%s\" has no type before the '/'",
				    cfg->sample_type);
	return 0;
}

static const char *suffix_of(const struct flame_config *cfg)
{
	return cfg->format == FORMAT_FOLDED ? ".folded" : ".svg";
}

/* The text of a graph in the configured format. */
static int render(const struct flame_exporter *e, struct pf_flame *f, char **out, size_t *len)
{
	struct pf_flame_svg_options opt = {
		.title = e->cfg.title,
		.width = e->cfg.width,
		.min_width = e->cfg.min_width,
	};
	int err = pf_flame_sort(f);

	if (err)
		return err;
	if (e->cfg.format == FORMAT_FOLDED)
		return pf_flame_folded(f, out, len);
	return pf_flame_svg(f, &opt, out, len);
}

static void work_fail(struct flame_work *w, int err, const char *fmt, const char *arg)
{
	if (w->err)
		return;
	w->err = err;
	snprintf(w->what, sizeof(w->what), fmt, arg, strerror(-err));
}

/* The earliest profile time of the batch, else now. */
static uint64_t batch_time(const struct pf_batch *b)
{
	uint64_t t = 0;

	for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
		uint64_t pt = pf_batch_profile_get(b, p)->time_unix_nano;

		if (pt && (!t || pt < t))
			t = pt;
	}
	return t ? t : pf_files_now_ns();
}

/* Folds, renders and writes the per-batch file. */
static void write_interval(struct flame_work *w, struct pf_flame *f)
{
	const struct flame_config *cfg = &w->e->cfg;
	char base[PREFIX_MAX + 64], stamp[32], path[PATH_MAX];
	uint64_t t = batch_time(w->batch);
	time_t secs = (time_t)(t / NS_PER_SEC);
	char *text = NULL;
	size_t len = 0;
	struct tm tm;
	int err;

	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(base, sizeof(base), "%s" INTERVAL_TAG "%s.%03uZ", w->e->prefix, stamp,
		 (unsigned)(t % NS_PER_SEC / 1000000));
	err = render(w->e, f, &text, &len);
	if (err) {
		work_fail(w, err, "drawing %s: %s", base);
		return;
	}
	err = pf_files_write(w->e->dir, base, suffix_of(cfg), text, len, &w->e->seq, path,
			     sizeof(path));
	free(text);
	if (err) {
		work_fail(w, err, "writing %s: %s", base);
		return;
	}
	err = pf_files_sync_dir(w->e->dir);
	if (err)
		work_fail(w, err, "syncing %s: %s", w->e->dir);
	w->wrote = true;
	if (!w->err)
		snprintf(w->what, sizeof(w->what), "%s", path);
}

/* Keeps a graph under max_frames nodes (0: no bound) by pruning ever larger
 * frames, down to three quarters of the bound so that it is not pruned
 * again at once. */
static int bound(struct pf_flame *f, int64_t max_frames)
{
	int64_t min = f->nodes[0].total / 1000000;

	if (max_frames <= 0 || f->n_nodes <= (uint64_t)max_frames)
		return 0;
	for (min = min > 0 ? min : 1; f->n_nodes > (uint64_t)max_frames / 4 * 3; min *= 4) {
		int err = pf_flame_prune(f, min);

		if (err)
			return err;
		if (min > f->nodes[0].total / 4)
			break; /* only the root and its biggest frames are left */
	}
	return 0;
}

static void write_cumulative(struct flame_work *w, const struct pf_flame *f)
{
	struct flame_exporter *e = w->e;
	const struct flame_config *cfg = &e->cfg;
	char name[PREFIX_MAX + 32];
	char *text = NULL;
	size_t len = 0;
	int err;

	if (!e->total_ready) {
		err = pf_flame_init(&e->total);
		if (err) {
			work_fail(w, err, "%s: %s", "cumulative graph");
			return;
		}
		e->total_ready = true;
	}
	/* Keep the first sample type for good; merge only the same. */
	if (!e->total.has_type) {
		snprintf(e->total.type, sizeof(e->total.type), "%s", f->type);
		snprintf(e->total.unit, sizeof(e->total.unit), "%s", f->unit);
		e->total.has_type = true;
	}
	if (strcmp(e->total.type, f->type) || strcmp(e->total.unit, f->unit))
		return;
	err = pf_flame_merge(&e->total, f);
	if (err) {
		work_fail(w, err, "%s: %s", "cumulative graph");
		return;
	}
	err = bound(&e->total, cfg->max_frames);
	if (err) {
		work_fail(w, err, "%s: %s", "cumulative graph");
		return;
	}
	snprintf(name, sizeof(name), "%s" CUMULATIVE_NAME "%s", e->prefix, suffix_of(cfg));
	err = render(e, &e->total, &text, &len);
	if (!err)
		err = pf_files_replace(e->dir, name, text, len);
	free(text);
	if (err) {
		work_fail(w, err, "writing %s: %s", name);
		return;
	}
	snprintf(w->cumulative, sizeof(w->cumulative), "%s/%s", e->dir, name);
}

/* On the thread pool. */
static void work_run(void *arg, const struct pf_batch *batch, void *job)
{
	struct flame_work *w = job;
	struct flame_exporter *e = arg;
	const struct flame_config *cfg = &e->cfg;
	char rot[PREFIX_MAX + 32];
	struct pf_flame f;
	int err;

	w->e = e;
	w->batch = batch;
	err = pf_flame_init(&f);
	if (err) {
		work_fail(w, err, "%s: %s", "folding");
		return;
	}
	/* A cumulative graph draws one sample type for good: ask for it. */
	if (e->total_ready && e->total.has_type) {
		snprintf(f.type, sizeof(f.type), "%s", e->total.type);
		snprintf(f.unit, sizeof(f.unit), "%s", e->total.unit);
		f.has_type = true;
	}
	if (pf_flame_pick_type(&f, w->batch, cfg->sample_type) < 0)
		goto out_free; /* nothing of that type: nothing to draw */
	err = pf_flame_fold(&f, w->batch, (enum pf_flame_group)cfg->group_by);
	if (err < 0) {
		work_fail(w, err, "%s: %s", "folding");
		goto out_free;
	}
	if (f.nodes[0].total <= 0)
		goto out_free;
	write_interval(w, &f);
	if (cfg->cumulative)
		write_cumulative(w, &f);
	/* Rotation sees per-batch files only, never the cumulative one. */
	snprintf(rot, sizeof(rot), "%s" INTERVAL_TAG, e->prefix);
	err = pf_files_rotate(e->dir, rot, suffix_of(cfg), cfg->max_files, cfg->max_age,
			      pf_files_now_ns());
	if (err < 0)
		work_fail(w, err, "rotating files in %s: %s", e->dir);
out_free:
	pf_flame_free(&f);
}

/* The pool is closed and freed: so is the instance. */
static void finish(void *arg)
{
	struct flame_exporter *e = arg;

	if (e->total_ready)
		pf_flame_free(&e->total);
	free(e);
}

/* Back on the loop: count, log. */
static void work_done(void *arg, struct pf_batch *batch, void *job, int status)
{
	struct flame_exporter *e = arg;
	struct flame_work *w = job;
	uint64_t samples = pf_batch_sample_count(batch);

	if (status < 0) {
		pf_component_count(e->c, PF_CTR_EXPORTER_SEND_FAILED, samples);
		pf_work_log_failure(e->work, "cannot queue a flame graph on the thread pool");
	} else if (w->err) {
		pf_component_count(e->c, PF_CTR_EXPORTER_SEND_FAILED, samples);
		pf_work_log_failure(e->work, w->what);
	} else {
		pf_component_count(e->c, PF_CTR_EXPORTER_SENT, samples);
		if (w->wrote && !e->told) {
			pf_log(lg(e), PF_LOG_INFO, "flame graph written to %s%s%s", w->what,
			       w->cumulative[0] ? "; everything so far in " : "", w->cumulative);
			e->told = true;
		} else if (w->wrote) {
			pf_log(lg(e), PF_LOG_DEBUG, "wrote %s", w->what);
		}
	}
}

static int flame_consume(void *inst, struct pf_batch *batch)
{
	struct flame_exporter *e = inst;

	return pf_work_submit(e->work, batch);
}

static const struct pf_work_ops work_ops = {
	.run = work_run,
	.done = work_done,
	.closed = finish,
	.job_size = sizeof(struct flame_work),
	.max_running = 1, /* the cumulative graph is not shared */
	.max_queued = MAX_QUEUED,
	.verb = "drawn",
};

static void *flame_create(struct pf_component *c, const void *config)
{
	struct flame_exporter *e = calloc(1, sizeof(*e));

	if (!e) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		return NULL;
	}
	e->c = c;
	memcpy(&e->cfg, config, sizeof(e->cfg));
	pf_files_sanitize(e->cfg.file_prefix, PREFIX_MAX, e->prefix, sizeof(e->prefix));
	e->work = pf_work_create(c, &work_ops, e);
	if (!e->work) {
		free(e);
		return NULL;
	}
	return e;
}

static int flame_start(void *inst)
{
	struct flame_exporter *e = inst;
	int err;

	err = pf_files_prepare(lg(e), e->cfg.directory, e->prefix);
	if (err)
		return err;
	/* Absolute, so that the log tells users where to look wherever they are. */
	if (!realpath(e->cfg.directory, e->dir))
		snprintf(e->dir, sizeof(e->dir), "%s", e->cfg.directory);
	return pf_work_start(e->work);
}

static void flame_shutdown(void *inst, pf_done_fn done)
{
	struct flame_exporter *e = inst;

	pf_work_shutdown(e->work, done);
}

const struct pf_component_def pf_exporter_flamegraph = {
	.kind = PF_EXPORTER,
	.type = "flamegraph",
	.doc = "Write interactive flame graph SVGs (or folded stacks) per batch and cumulative.",
	.stability = "development",
	.options = flame_options,
	.config_size = sizeof(struct flame_config),
	.validate = flame_validate,
	.create = flame_create,
	.start = flame_start,
	.consume = flame_consume,
	.shutdown = flame_shutdown,
};
