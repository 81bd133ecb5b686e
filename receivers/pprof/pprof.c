// SPDX-License-Identifier: Apache-2.0
/* The pprof receiver: pprof files matched by globs and pprof HTTP endpoints scraped on an interval. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/pprof/pprof.h"
#include "host/read_file.h"
#include "model/batch.h"
#include "transport/http_client.h"
#include "receiver.h"

#define NS_PER_MS	1000000LL
#define LOG_EVERY_MS	60000u /* a repeating reason is logged once a minute */
#define LOGS_PER_WINDOW 10u    /* and a source logs at most this many lines a minute */

/*
 * Resource attributes of every batch (OpenTelemetry semantic conventions):
 *   the `resource` option's pairs, then
 *   service.name     = `job` (default: the component id), unless `resource` sets it;
 *   scrapes:  url.full (the target URL), server.address, server.port;
 *   files:    file.path (the path the glob matched).
 * The scope is "proflow/receiver/pprof" with proflow's version.
 */

static const struct pf_option pprof_options[] = {
	{.name = "paths",
	 .type = PF_OPT_STRINGS,
	 .offset = offsetof(struct pf_pprof_rx_config, paths),
	 .doc = "Glob patterns of pprof files to read (gzip-compressed or not)"},
	{.name = "poll_interval",
	 .type = PF_OPT_DURATION,
	 .def = "1s",
	 .min = 10.0 * NS_PER_MS,
	 .max = 86400.0 * 1000 * NS_PER_MS,
	 .offset = offsetof(struct pf_pprof_rx_config, poll_interval),
	 .doc = "How often the globs are checked for new files; a file is read once its size "
		"stayed the same across two checks"},
	{.name = "watch",
	 .type = PF_OPT_BOOL,
	 .def = "false",
	 .offset = offsetof(struct pf_pprof_rx_config, watch),
	 .doc = "Keep picking up new files; false reads the files matching at start once"},
	{.name = "delete_after_read",
	 .type = PF_OPT_BOOL,
	 .def = "false",
	 .offset = offsetof(struct pf_pprof_rx_config, delete_after_read),
	 .doc = "Delete each file once read as a valid profile and held by every exporter "
		"(invalid or refused ones are kept)"},
	{.name = "targets",
	 .type = PF_OPT_STRINGS,
	 .offset = offsetof(struct pf_pprof_rx_config, targets),
	 .doc = "URLs to scrape, e.g. http://host:6060/debug/pprof/profile?seconds=10"},
	{.name = "interval",
	 .type = PF_OPT_DURATION,
	 .def = "15s",
	 .min = 100.0 * NS_PER_MS,
	 .max = 86400.0 * 1000 * NS_PER_MS,
	 .offset = offsetof(struct pf_pprof_rx_config, interval),
	 .doc = "How often each target is scraped"},
	{.name = "timeout",
	 .type = PF_OPT_DURATION,
	 .min = 1.0 * NS_PER_MS,
	 .max = 86400.0 * 1000 * NS_PER_MS,
	 .offset = offsetof(struct pf_pprof_rx_config, timeout),
	 .doc = "Time limit of one scrape; when set, must be below interval (default: 10s, or "
		"interval when that is shorter, as Prometheus does)"},
	{.name = "headers",
	 .type = PF_OPT_MAP,
	 .offset = offsetof(struct pf_pprof_rx_config, headers),
	 .doc = "HTTP headers sent with every scrape"},
	{.name = "job",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_pprof_rx_config, job),
	 .doc = "service.name of what is received, unless resource sets it (default: the "
		"component id)"},
	{.name = "resource",
	 .type = PF_OPT_MAP,
	 .offset = offsetof(struct pf_pprof_rx_config, resource),
	 .doc = "Resource attributes added to every profile, besides service.name and "
		"url.full, server.address, server.port (scrapes) or file.path (files)"},
	{.name = "max_size",
	 .type = PF_OPT_SIZE,
	 .def = "64MiB",
	 .min = 1024,
	 .max = 4.0 * 1024 * 1024 * 1024,
	 .offset = offsetof(struct pf_pprof_rx_config, max_size),
	 .doc = "Largest file or response accepted, and largest profile after decompression"},
	PF_OPTION_END,
};

/* ---- logging and counting of bad input ---- */

static const struct pf_logger *lg(const struct pf_pprof_rx *r)
{
	return pf_component_logger(r->c);
}

void pf_pprof_rx_input_error(struct pf_pprof_rx *r, struct pf_pprof_rx_limiter *lim,
			     const char *source, const char *fmt, ...)
{
	char reason[sizeof(lim->last_reason)], shown[PF_HTTP_REDACTED_MAX];
	uint64_t now = uv_now(r->loop);
	va_list ap;
	int n;

	pf_component_count(r->c, PF_CTR_INPUT_ERRORS, 1);
	/* "source: reason", so a limiter shared by many files logs each one. */
	n = snprintf(reason, sizeof(reason), "%s: ",
		     pf_http_redact_url(source, shown, sizeof(shown))); /* a URL's password */
	if (n < 0 || (size_t)n >= sizeof(reason))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(reason + n, sizeof(reason) - (size_t)n, fmt, ap);
	va_end(ap);
	lim->failing = true;
	if (now - lim->window_start_ms >= LOG_EVERY_MS || lim->window_start_ms == 0) {
		lim->window_start_ms = now ? now : 1;
		lim->in_window = 0;
	}
	if ((strcmp(reason, lim->last_reason) == 0 && lim->last_log_ms &&
	     now - lim->last_log_ms < LOG_EVERY_MS) ||
	    lim->in_window >= LOGS_PER_WINDOW) {
		lim->suppressed++;
		return;
	}
	lim->in_window++;
	lim->last_log_ms = now ? now : 1;
	snprintf(lim->last_reason, sizeof(lim->last_reason), "%s", reason);
	if (lim->suppressed)
		pf_log(lg(r), PF_LOG_WARN, "skipped %s (%u similar messages suppressed)", reason,
		       lim->suppressed);
	else
		pf_log(lg(r), PF_LOG_WARN, "skipped %s", reason);
	lim->suppressed = 0;
}

void pf_pprof_rx_input_ok(struct pf_pprof_rx *r, struct pf_pprof_rx_limiter *lim,
			  const char *source)
{
	if (!lim->failing)
		return;
	lim->failing = false;
	lim->last_reason[0] = '\0';
	lim->last_log_ms = 0;
	pf_log(lg(r), PF_LOG_INFO, "%s is valid again", source);
}

/* ---- decode jobs (thread pool) ---- */

static uint32_t resource_for(struct pf_batch *b, const struct pf_pprof_rx_job *job)
{
	const struct pf_pprof_rx *r = job->r;
	const struct pf_string_map *res = &r->cfg.resource;
	uint32_t attrs[64];
	size_t n = 0;

	for (size_t i = 0; i < res->n && n < 56; i++)
		attrs[n++] = pf_batch_attr_str(b, res->keys[i], res->values[i]);
	if (!pf_string_map_get(res, "service.name"))
		attrs[n++] = pf_batch_attr_str(b, "service.name", r->job);
	for (size_t i = 0; i + 1 < job->n_attrs && n < 63; i += 2)
		attrs[n++] = pf_batch_attr_str(b, job->attrs[i], job->attrs[i + 1]);
	if (job->port > 0)
		attrs[n++] = pf_batch_attr_int(b, "server.port", job->port);
	for (size_t i = 0; i < n; i++)
		if (attrs[i] == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
	struct pf_resource resource = {.attrs = pf_batch_attr_set(b, attrs, n)};
	if (resource.attrs == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_resource(b, &resource);
}

/* Sums each profile's values for the log line the integration tests read. */
static void summarize(struct pf_pprof_rx_job *job)
{
	const struct pf_batch *b = job->batch;
	size_t n_profiles = pf_batch_n_profiles(b), off = 0;

	job->profiles = n_profiles;
	job->samples = pf_batch_sample_count(b);
	job->totals[0] = '\0';
	for (uint32_t p = 0; p < n_profiles; p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
		size_t n;
		const struct pf_sample *s = pf_batch_samples(b, p, &n);
		int64_t sum = 0;

		for (size_t i = 0; i < n; i++) {
			const int64_t *v = pf_batch_sample_values(b, &s[i]);
			for (uint32_t k = 0; k < s[i].values_len; k++)
				sum += v[k];
		}
		int w = snprintf(job->totals + off, sizeof(job->totals) - off, "%s%s/%s=%lld",
				 p ? " " : "", pf_batch_str(b, d->sample_type.type),
				 pf_batch_str(b, d->sample_type.unit), (long long)sum);
		if (w < 0 || (size_t)w >= sizeof(job->totals) - off)
			break;
		off += (size_t)w;
	}
}

static void job_work(uv_work_t *w)
{
	struct pf_pprof_rx_job *job = w->data;
	const struct pf_pprof_rx *r = job->r;
	struct pf_pprof_origin origin = {0};
	struct pf_scope scope = {0};
	int ret;

	if (job->path) {
		char *data;

		/* A file that shrinks meanwhile is read as it is then; its
		 * decoding fails and counts as an input error. */
		job->err = pf_host_read_file(job->path, (size_t)r->cfg.max_size,
					     PF_HOST_READ_REGULAR, &data, &job->size);
		if (job->err < 0)
			return;
		job->data = (uint8_t *)data;
	}
	job->batch = pf_batch_new();
	if (!job->batch) {
		job->err = -ENOMEM;
		return;
	}
	origin.resource = resource_for(job->batch, job);
	scope.name = pf_batch_cstring(job->batch, "proflow/receiver/pprof");
	scope.version = pf_batch_cstring(job->batch, PF_VERSION);
	if (origin.resource == PF_INDEX_ERROR || scope.name == PF_INDEX_ERROR ||
	    scope.version == PF_INDEX_ERROR) {
		job->err = -ENOMEM;
		return;
	}
	origin.scope = pf_batch_scope(job->batch, &scope);
	if (origin.scope == PF_INDEX_ERROR) {
		job->err = -ENOMEM;
		return;
	}
	ret = pf_pprof_decode(job->batch, &origin, job->data, job->size, (size_t)r->cfg.max_size,
			      &job->perr);
	if (ret < 0) {
		job->err = ret;
		return;
	}
	summarize(job);
}

static void job_free(struct pf_pprof_rx_job *job)
{
	pf_batch_unref(job->batch);
	free(job->data);
	free(job->path);
	free(job);
}

static void job_report(struct pf_pprof_rx *r, struct pf_pprof_rx_job *job)
{
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];

	if (pf_error_isset(&job->perr))
		pf_pprof_rx_input_error(r, job->limiter, job->source, "not a valid profile: %s",
					pf_error_str(&job->perr, buf, sizeof(buf)));
	else if (job->err == -EFBIG)
		pf_pprof_rx_input_error(r, job->limiter, job->source,
					"larger than max_size (%lld bytes)",
					(long long)r->cfg.max_size);
	else
		pf_pprof_rx_input_error(r, job->limiter, job->source, "%s", strerror(-job->err));
}

/* How the pipeline answered for the job's batch. A file to delete after
 * reading goes only once every exporter holds its batch (on disk for file
 * storage); refused, it stays (a restart reads it again). */
static void job_emitted(struct pf_pprof_rx_job *job, int ret)
{
	struct pf_pprof_rx *r = job->r;
	bool deleting = job->path && job->delete_after_read;

	if (ret == PF_OK && deleting) {
		if (unlink(job->path) == 0)
			job->deleted = true;
		else if (errno != ENOENT)
			pf_log(lg(r), PF_LOG_WARN, "cannot delete %s: %s", job->source,
			       strerror(errno));
	} else if (ret == PF_BUSY && deleting) {
		pf_log(lg(r), PF_LOG_WARN, "%s refused downstream (busy): kept", job->source);
	} else if (ret == PF_BUSY) {
		pf_component_drop(r->c, "busy", job->samples);
	} else if (ret < 0) {
		pf_log(lg(r), PF_LOG_WARN, "passing on %s failed: %s", job->source, strerror(-ret));
	}
}

/* The job is done with: its owner is told, then a shutdown may finish. */
static void job_end(struct pf_pprof_rx_job *job)
{
	struct pf_pprof_rx *r = job->r;

	if (job->finished)
		job->finished(job, job->err);
	job_free(job);
	r->jobs--;
	pf_pprof_rx_check_done(r);
}

static void on_acked(void *arg, int result)
{
	job_emitted(arg, result);
	job_end(arg);
}

static void job_after(uv_work_t *w, int status)
{
	struct pf_pprof_rx_job *job = w->data;
	struct pf_pprof_rx *r = job->r;
	int ret;

	if (status < 0 && job->err == 0)
		job->err = status; /* cancelled before it ran */
	if (job->err == 0) {
		if (!job->path) /* files share one limiter: no recovery to tell */
			pf_pprof_rx_input_ok(r, job->limiter, job->source);
		pf_log(lg(r), PF_LOG_DEBUG, "read %s: %zu profiles, %zu samples, %s", job->source,
		       job->profiles, job->samples, job->totals);
		if (job->path && job->delete_after_read) {
			ret = pf_component_emit_acked(r->c, job->batch, on_acked, job);
			if (ret == PF_PENDING)
				return; /* on_acked() ends the job; it stays counted */
		} else {
			ret = pf_component_emit(r->c, job->batch);
		}
		job_emitted(job, ret);
	} else if (job->err != -ENOENT && job->err != -ECANCELED) {
		/* A file that vanished between the glob and the read is not an error. */
		job_report(r, job);
	}
	job_end(job);
}

int pf_pprof_rx_submit(struct pf_pprof_rx *r, struct pf_pprof_rx_job *job)
{
	int err;

	job->r = r;
	job->work.data = job;
	err = uv_queue_work(r->loop, &job->work, job_work, job_after);
	if (err < 0) {
		job_free(job);
		return err;
	}
	r->jobs++;
	return 0;
}

/* ---- lifecycle ---- */

int64_t pf_pprof_rx_timeout(const struct pf_pprof_rx_config *cfg)
{
	const int64_t def = 10000 * NS_PER_MS;

	if (cfg->timeout)
		return cfg->timeout;
	return cfg->interval < def ? cfg->interval : def;
}

static int pprof_validate(const void *config, struct pf_error *err)
{
	const struct pf_pprof_rx_config *cfg = config;

	if (cfg->paths.n == 0 && cfg->targets.n == 0)
		return pf_error_set(err, "",
				    "set paths (files to read) or targets (URLs to scrape)");
	for (size_t i = 0; i < cfg->targets.n; i++) {
		const char *t = cfg->targets.items[i];
		if (strncmp(t, "http://", 7) != 0 && strncmp(t, "https://", 8) != 0)
			return pf_error_set(err, "",
					    "targets: '%s' is not an http:// or https:// URL", t);
	}
	/* An unset timeout (0) follows interval: pf_pprof_rx_timeout(). */
	if (cfg->targets.n && cfg->timeout && cfg->timeout >= cfg->interval)
		return pf_error_set(err, "", "timeout must be below interval");
	for (size_t i = 0; i < cfg->headers.n; i++) {
		const char *k = cfg->headers.keys[i], *v = cfg->headers.values[i];
		if (!k[0] || strpbrk(k, ": \t\r\n") || strpbrk(v, "\r\n"))
			return pf_error_set(err, "", "headers: '%s' is not a valid header", k);
	}
	for (size_t i = 0; i < cfg->paths.n; i++)
		if (!cfg->paths.items[i][0])
			return pf_error_set(err, "", "paths: an empty pattern");
	return 0;
}

static void recv_free(struct pf_pprof_rx *r)
{
	pf_pprof_rx_files_free(r->files);
	pf_pprof_rx_scrape_free(r->scrape);
	free(r);
}

static void *pprof_create(struct pf_component *c, const void *config)
{
	struct pf_pprof_rx *r = calloc(1, sizeof(*r));

	if (!r)
		goto out_oom;
	r->c = c;
	memcpy(&r->cfg, config, sizeof(r->cfg));
	r->job = r->cfg.job && r->cfg.job[0] ? r->cfg.job : pf_component_id(c);
	r->loop = pf_component_loop(c);
	if (r->cfg.paths.n) {
		r->files = pf_pprof_rx_files_new(r);
		if (!r->files)
			goto out_free;
	}
	if (r->cfg.targets.n) {
		r->scrape = pf_pprof_rx_scrape_new(r);
		if (!r->scrape)
			goto out_free;
	}
	pf_component_set_transport(c, r->cfg.targets.n ? "http" : "file");
	return r;

out_free:
	recv_free(r);
out_oom:
	pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
	return NULL;
}

static int pprof_start(void *inst)
{
	struct pf_pprof_rx *r = inst;
	int err;

	err = uv_timer_init(r->loop, &r->stop_timer);
	if (err < 0)
		return err;
	r->stop_timer.data = r;
	r->stop_timer_open = true;
	r->open_handles++;
	r->started = true;
	if (r->files) {
		err = pf_pprof_rx_files_start(r->files);
		if (err < 0)
			return err;
	}
	if (r->scrape) {
		err = pf_pprof_rx_scrape_start(r->scrape);
		if (err < 0)
			return err;
	}
	if (r->files && r->cfg.watch)
		pf_log(lg(r), PF_LOG_INFO, "watching %zu path patterns every %lld ms",
		       r->cfg.paths.n, (long long)(r->cfg.poll_interval / NS_PER_MS));
	else if (r->files)
		pf_log(lg(r), PF_LOG_INFO, "reading the files of %zu path patterns once",
		       r->cfg.paths.n);
	if (r->scrape)
		pf_log(lg(r), PF_LOG_INFO, "scraping %zu targets every %lld ms", r->cfg.targets.n,
		       (long long)(r->cfg.interval / NS_PER_MS));
	return 0;
}

static void on_stop_timer_closed(uv_handle_t *h)
{
	struct pf_pprof_rx *r = h->data;

	r->open_handles--;
	pf_pprof_rx_check_done(r);
}

void pf_pprof_rx_check_done(struct pf_pprof_rx *r)
{
	if (!r->stopping || r->finished)
		return;
	if (r->scrape && pf_pprof_rx_scrape_pending(r->scrape) > 0)
		return; /* the deadline timer cancels them if they take too long */
	if (r->scrape && !pf_pprof_rx_scrape_close(r->scrape))
		return; /* called again once the client is closed */
	if (r->jobs > 0)
		return;
	if (r->stop_timer_open) {
		r->stop_timer_open = false;
		uv_timer_stop(&r->stop_timer);
		uv_close((uv_handle_t *)&r->stop_timer, on_stop_timer_closed);
		return;
	}
	if (r->open_handles > 0)
		return;
	r->finished = true;
	struct pf_component *c = r->c;
	pf_done_fn done = r->done;
	recv_free(r);
	done(c);
}

static void on_deadline(uv_timer_t *t)
{
	struct pf_pprof_rx *r = t->data;

	if (r->scrape && pf_pprof_rx_scrape_pending(r->scrape) > 0) {
		pf_log(lg(r), PF_LOG_WARN, "shutdown deadline: cancelling %zu scrapes in flight",
		       pf_pprof_rx_scrape_pending(r->scrape));
		pf_pprof_rx_scrape_close(r->scrape);
	}
	pf_pprof_rx_check_done(r);
}

static void pprof_shutdown(void *inst, pf_done_fn done)
{
	struct pf_pprof_rx *r = inst;
	uint64_t now, deadline;

	if (r->stopping)
		return;
	r->stopping = true;
	r->done = done;
	if (r->started) {
		if (r->files)
			pf_pprof_rx_files_stop(r->files);
		if (r->scrape)
			pf_pprof_rx_scrape_stop(r->scrape);
		if (r->scrape && pf_pprof_rx_scrape_pending(r->scrape) > 0)
			pf_log(lg(r), PF_LOG_INFO, "stopping: waiting for %zu scrapes in flight",
			       pf_pprof_rx_scrape_pending(r->scrape));
		/* Scrapes get half of the time left: the rest is for the
		 * processors and exporters downstream to pass their last
		 * profiles on. */
		now = uv_now(r->loop);
		deadline = pf_component_deadline(r->c);
		uv_timer_start(&r->stop_timer, on_deadline,
			       deadline > now ? (deadline - now) / 2 : 0, 0);
	}
	pf_pprof_rx_check_done(r);
}

const struct pf_component_def pf_receiver_pprof = {
	.kind = PF_RECEIVER,
	.type = "pprof",
	.doc = "Read pprof files matched by globs and scrape pprof HTTP endpoints (Go "
	       "net/http/pprof) on an interval.",
	.stability = "development",
	.options = pprof_options,
	.config_size = sizeof(struct pf_pprof_rx_config),
	.validate = pprof_validate,
	.create = pprof_create,
	.start = pprof_start,
	.shutdown = pprof_shutdown,
};
