// SPDX-License-Identifier: Apache-2.0
/* The jfr receiver: JDK Flight Recorder files and a running JVM's repository, decoded on the thread pool. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "model/batch.h"
#include "receiver.h"

#define NS_PER_MS	1000000LL
#define LOG_WINDOW_MS	60000u
#define LOGS_PER_WINDOW 10u

/*
 * Each file (a recording matched by `paths`, or one chunk file of the
 * repository) becomes one batch: one resource (the `resource` option's
 * pairs, file.path, and what decode.h adds: process.pid, process.runtime.*,
 * service.name = service_name or the JVM's main class), scope
 * "proflow/receiver/jfr", and the profiles listed in decode.h.
 */

static const struct pf_option jfr_options[] = {
	{.name = "paths",
	 .type = PF_OPT_STRINGS,
	 .offset = offsetof(struct pf_jfr_rx_config, paths),
	 .doc = "Glob patterns of JFR recordings to read; a file is read once its size and "
		"mtime stayed the same across two checks and its last chunk is finished"},
	{.name = "repository",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_jfr_rx_config, repository),
	 .doc = "A running JVM's JFR repository (-XX:FlightRecorderOptions:repository=DIR): "
		"each chunk file, in DIR or a subdirectory, is read once the JVM finished it"},
	{.name = "poll_interval",
	 .type = PF_OPT_DURATION,
	 .def = "1s",
	 .min = 10.0 * NS_PER_MS,
	 .max = 86400.0 * 1000 * NS_PER_MS,
	 .offset = offsetof(struct pf_jfr_rx_config, poll_interval),
	 .doc = "How often paths and repository are checked for new files"},
	{.name = "delete_after_read",
	 .type = PF_OPT_BOOL,
	 .def = "false",
	 .offset = offsetof(struct pf_jfr_rx_config, delete_after_read),
	 .doc = "Delete each file of paths once read as a valid recording and held by every "
		"exporter (invalid or refused ones are kept; never the repository's)"},
	{.name = "move_to",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_jfr_rx_config, move_to),
	 .doc = "A directory (same file system) into which each file of paths is moved once "
		"read as a valid recording and held by every exporter"},
	{.name = "service_name",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_jfr_rx_config, service_name),
	 .doc = "service.name of the profiles (default: the main class or jar of "
		"jdk.JVMInformation)"},
	{.name = "resource",
	 .type = PF_OPT_MAP,
	 .offset = offsetof(struct pf_jfr_rx_config, resource),
	 .doc = "Resource attributes added to every profile"},
	{.name = "max_size",
	 .type = PF_OPT_SIZE,
	 .def = "4GiB",
	 .min = 1024,
	 .max = 1024.0 * 1024 * 1024 * 1024,
	 .offset = offsetof(struct pf_jfr_rx_config, max_size),
	 .doc = "Largest file read; larger ones are counted as input errors. A file is read one "
		"chunk at a time (JDK chunks: ~12MiB), so its largest chunk is the memory used"},
	PF_OPTION_END,
};

static const struct pf_logger *lg(const struct pf_jfr_rx *r)
{
	return pf_component_logger(r->c);
}

/* Counts a bad file and logs it, at most LOGS_PER_WINDOW lines a minute. */
static void input_error(struct pf_jfr_rx *r, const char *path, const char *why)
{
	uint64_t now = uv_now(r->loop);

	pf_component_count(r->c, PF_CTR_INPUT_ERRORS, 1);
	if (!r->log_window_ms || now - r->log_window_ms >= LOG_WINDOW_MS) {
		if (r->suppressed)
			pf_log(lg(r), PF_LOG_WARN, "%u more bad files not logged", r->suppressed);
		r->log_window_ms = now ? now : 1;
		r->logged = r->suppressed = 0;
	}
	if (r->logged >= LOGS_PER_WINDOW) {
		r->suppressed++;
		return;
	}
	r->logged++;
	pf_log(lg(r), PF_LOG_WARN, "skipped %s: %s", path, why);
}

/* ---- reads (thread pool) ---- */

static uint32_t base_attrs(struct pf_batch *b, const struct pf_jfr_rx_read *rd, uint32_t *attrs,
			   size_t cap, size_t *n)
{
	const struct pf_string_map *res = &rd->r->cfg.resource;

	*n = 0;
	for (size_t i = 0; i < res->n && *n + 1 < cap; i++)
		attrs[(*n)++] = pf_batch_attr_str(b, res->keys[i], res->values[i]);
	attrs[(*n)++] = pf_batch_attr_str(b, "file.path", rd->path);
	for (size_t i = 0; i < *n; i++)
		if (attrs[i] == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
	return 0;
}

/* Moves path into dir under its own name, or name.1, name.2 ... when taken. */
static int move_into(const char *path, const char *dir)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char dst[4096];

	for (int i = 0; i < 1000; i++) {
		int n = i ? snprintf(dst, sizeof(dst), "%s/%s.%d", dir, base, i)
			  : snprintf(dst, sizeof(dst), "%s/%s", dir, base);
		if (n < 0 || (size_t)n >= sizeof(dst))
			return -ENAMETOOLONG;
		/* link + unlink: never replaces a file already there. */
		if (link(path, dst) == 0)
			return unlink(path) == 0 ? 0 : -errno;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static void read_work(uv_work_t *w)
{
	struct pf_jfr_rx_read *rd = w->data;
	const struct pf_jfr_rx_config *cfg = &rd->r->cfg;
	struct pf_jfr_decoder *d;
	uint32_t attrs[72];
	size_t n_attrs;
	struct pf_scope scope = {0};

	rd->batch = pf_batch_new();
	d = rd->batch ? pf_jfr_decoder_new(rd->batch) : NULL;
	if (!d) {
		rd->err = -ENOMEM;
		return;
	}
	rd->err = pf_jfr_decode_file(d, rd->path, (uint64_t)cfg->max_size, &rd->perr);
	if (rd->err < 0)
		goto out_free_decoder;
	scope.name = pf_batch_cstring(rd->batch, "proflow/receiver/jfr");
	scope.version = pf_batch_cstring(rd->batch, PF_VERSION);
	uint32_t s = scope.name == PF_INDEX_ERROR || scope.version == PF_INDEX_ERROR
			     ? PF_INDEX_ERROR
			     : pf_batch_scope(rd->batch, &scope);
	if (s == PF_INDEX_ERROR || base_attrs(rd->batch, rd, attrs, 72, &n_attrs) != 0) {
		rd->err = -ENOMEM;
		goto out_free_decoder;
	}
	int ret = pf_jfr_decoder_finish(d, attrs, n_attrs, cfg->service_name, s);
	if (ret < 0) {
		rd->err = ret;
		goto out_free_decoder;
	}
	const struct pf_jfr_stats *st = pf_jfr_decoder_stats(d);
	rd->samples = pf_batch_sample_count(rd->batch);
	snprintf(rd->summary, sizeof(rd->summary),
		 "%llu chunks, %llu events (%llu skipped), cpu=%llu wall=%llu alloc=%llu lock=%llu "
		 "gc=%llu malloc=%llu live=%llu",
		 (unsigned long long)st->chunks, (unsigned long long)st->events,
		 (unsigned long long)st->skipped, (unsigned long long)st->by_kind[PF_JFR_CPU],
		 (unsigned long long)st->by_kind[PF_JFR_WALL],
		 (unsigned long long)st->by_kind[PF_JFR_ALLOC],
		 (unsigned long long)st->by_kind[PF_JFR_LOCK],
		 (unsigned long long)st->by_kind[PF_JFR_GC],
		 (unsigned long long)st->by_kind[PF_JFR_MALLOC],
		 (unsigned long long)st->by_kind[PF_JFR_LIVE]);
out_free_decoder:
	pf_jfr_decoder_free(d);
}

static void read_free(struct pf_jfr_rx_read *rd)
{
	pf_batch_unref(rd->batch);
	free(rd->path);
	free(rd);
}

/* True when the file goes once read: deleted or moved to move_to. */
static bool removing(const struct pf_jfr_rx_read *rd)
{
	const struct pf_jfr_rx_config *cfg = &rd->r->cfg;

	return !rd->from_repository &&
	       ((cfg->move_to && cfg->move_to[0]) || cfg->delete_after_read);
}

/* How the pipeline answered for the read's batch. A file is deleted or
 * moved only once every exporter holds its batch (on disk for file
 * storage); refused, it stays (a restart reads it again). */
static void read_emitted(struct pf_jfr_rx_read *rd, int ret)
{
	struct pf_jfr_rx *r = rd->r;
	const struct pf_jfr_rx_config *cfg = &r->cfg;

	if (ret == PF_OK && removing(rd)) {
		int rc = cfg->move_to && cfg->move_to[0] ? move_into(rd->path, cfg->move_to)
			 : unlink(rd->path) == 0	 ? 0
							 : -errno;
		rd->moved = rc == 0;
		if (rc < 0 && rc != -ENOENT)
			pf_log(lg(r), PF_LOG_WARN, "cannot remove %s: %s", rd->path, strerror(-rc));
	} else if (ret == PF_BUSY && removing(rd)) {
		pf_log(lg(r), PF_LOG_WARN, "%s refused downstream (busy): kept", rd->path);
	} else if (ret == PF_BUSY) {
		pf_component_drop(r->c, "busy", rd->samples);
	} else if (ret < 0) {
		pf_log(lg(r), PF_LOG_WARN, "passing on %s failed: %s", rd->path, strerror(-ret));
	}
}

/* The read is done with: its owner is told, then a shutdown may finish. */
static void read_end(struct pf_jfr_rx_read *rd)
{
	struct pf_jfr_rx *r = rd->r;

	if (rd->finished)
		rd->finished(rd);
	read_free(rd);
	r->jobs--;
	pf_jfr_rx_check_done(r);
}

static void on_acked(void *arg, int result)
{
	read_emitted(arg, result);
	read_end(arg);
}

static void read_after(uv_work_t *w, int status)
{
	struct pf_jfr_rx_read *rd = w->data;
	struct pf_jfr_rx *r = rd->r;
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 64];
	int ret;

	if (status < 0 && rd->err == 0)
		rd->err = status;
	if (rd->err == 0) {
		pf_log(lg(r), PF_LOG_DEBUG, "read %s: %s, %zu samples", rd->path, rd->summary,
		       rd->samples);
		if (removing(rd)) {
			ret = pf_component_emit_acked(r->c, rd->batch, on_acked, rd);
			if (ret == PF_PENDING)
				return; /* on_acked() ends the read; it stays counted */
		} else {
			ret = pf_component_emit(r->c, rd->batch);
		}
		read_emitted(rd, ret);
	} else if (rd->err == -EAGAIN) {
		pf_log(lg(r), PF_LOG_DEBUG, "%s: a chunk is still being written", rd->path);
	} else if (pf_error_isset(&rd->perr)) {
		char why[sizeof(buf)];
		snprintf(why, sizeof(why), "not a valid JFR recording: %s",
			 pf_error_str(&rd->perr, buf, sizeof(buf)));
		input_error(r, rd->path, why);
	} else if (rd->err == -EFBIG) {
		snprintf(buf, sizeof(buf), "larger than max_size (%lld bytes)",
			 (long long)r->cfg.max_size);
		input_error(r, rd->path, buf);
	} else if (rd->err != -ENOENT && rd->err != -ECANCELED) {
		input_error(r, rd->path, strerror(-rd->err));
	}
	read_end(rd);
}

int pf_jfr_rx_submit(struct pf_jfr_rx *r, struct pf_jfr_rx_read *rd)
{
	int err;

	rd->r = r;
	rd->work.data = rd;
	err = uv_queue_work(r->loop, &rd->work, read_work, read_after);
	if (err < 0) {
		read_free(rd);
		return err;
	}
	r->jobs++;
	return 0;
}

/* ---- lifecycle ---- */

static int jfr_validate(const void *config, struct pf_error *err)
{
	const struct pf_jfr_rx_config *cfg = config;

	if (cfg->paths.n == 0 && !(cfg->repository && cfg->repository[0]))
		return pf_error_set(err, "",
				    "set paths (recordings to read) or repository (a "
				    "running JVM's JFR repository directory)");
	for (size_t i = 0; i < cfg->paths.n; i++)
		if (!cfg->paths.items[i][0])
			return pf_error_set(err, "", "paths: an empty pattern");
	if (cfg->delete_after_read && cfg->move_to && cfg->move_to[0])
		return pf_error_set(err, "", "set delete_after_read or move_to, not both");
	return 0;
}

static void *jfr_create(struct pf_component *c, const void *config)
{
	struct pf_jfr_rx *r = calloc(1, sizeof(*r));

	if (!r)
		goto out_oom;
	r->c = c;
	memcpy(&r->cfg, config, sizeof(r->cfg));
	r->loop = pf_component_loop(c);
	r->scan = pf_jfr_rx_scan_new(r);
	if (!r->scan)
		goto out_free;
	pf_component_set_transport(c, "file");
	return r;

out_free:
	free(r);
out_oom:
	pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
	return NULL;
}

static int jfr_start(void *inst)
{
	struct pf_jfr_rx *r = inst;
	int err = pf_jfr_rx_scan_start(r->scan);

	if (err < 0)
		return err;
	r->started = true;
	pf_log(lg(r), PF_LOG_INFO, "watching %zu path patterns%s%s every %lld ms", r->cfg.paths.n,
	       r->cfg.repository ? " and the repository " : "",
	       r->cfg.repository ? r->cfg.repository : "",
	       (long long)(r->cfg.poll_interval / NS_PER_MS));
	return 0;
}

void pf_jfr_rx_check_done(struct pf_jfr_rx *r)
{
	if (!r->stopping || r->finished || r->jobs > 0 || r->open_handles > 0)
		return;
	r->finished = true;
	struct pf_component *c = r->c;
	pf_done_fn done = r->done;
	pf_jfr_rx_scan_free(r->scan);
	free(r);
	done(c);
}

static void jfr_shutdown(void *inst, pf_done_fn done)
{
	struct pf_jfr_rx *r = inst;

	if (r->stopping)
		return;
	r->stopping = true;
	r->done = done;
	pf_jfr_rx_scan_stop(r->scan);
	pf_jfr_rx_check_done(r);
}

const struct pf_component_def pf_receiver_jfr = {
	.kind = PF_RECEIVER,
	.type = "jfr",
	.doc = "Read JDK Flight Recorder recordings and a running JVM's JFR repository: CPU, "
	       "native, allocation, lock and GC profiles.",
	.stability = "development",
	.options = jfr_options,
	.config_size = sizeof(struct pf_jfr_rx_config),
	.validate = jfr_validate,
	.create = jfr_create,
	.start = jfr_start,
	.shutdown = jfr_shutdown,
};
