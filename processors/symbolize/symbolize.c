// SPDX-License-Identifier: Apache-2.0
/* The symbolize processor: names kernel, native and JIT frames on the libuv thread pool. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/batch.h"
#include "core/component.h"
#include "debuginfod.h"
#include "resolve.h"

#define QUEUE_MAX	    8  /* batches held while one is being symbolized; beyond: PF_BUSY */
#define RETRY_MS	    50 /* re-emit period while downstream is busy */
#define DEBUGINFOD_RETRY_MS (5 * 60 * 1000) /* a build ID not found is not asked again before */
#define DEBUGINFOD_IDS	    4096	    /* build IDs the debuginfod client remembers */

enum symbolize_mode { MODE_SYMBOLIZE, MODE_NONE };

struct symbolize_config {
	int mode;
	bool lines;
	int64_t cache_size;
	bool demangle;
	bool kernel;
	bool perf_maps;
	struct pf_debuginfod_config debuginfod;
};

/*
 * Batches queue in arrival order. One job at a time runs on the thread
 * pool: it reads the (read-only) input batch and writes a new one, so the
 * loop never waits on ELF or DWARF, the cache needs no lock, and batches
 * leave in the order they came. A finished batch downstream refused is
 * retried on a timer before the next job starts.
 */
struct symbolize {
	struct pf_component *c;
	struct symbolize_config cfg;
	struct pf_resolver *resolver;
	struct pf_debuginfod *debuginfod; /* NULL when off */
	struct pf_debuginfod_stats counted;
	struct pf_batch *queue[QUEUE_MAX];
	size_t head, len;
	uv_work_t work;
	bool working;
	struct pf_batch *job_in, *job_out;
	uint64_t job_now;
	struct pf_batch *ready; /* done, not yet taken downstream */
	uv_timer_t timer;
	bool started, stopping, closing;
	pf_done_fn done;
};

static const char *const mode_choices[] = {"symbolize", "none", NULL};

static const struct pf_option symbolize_options[] = {
	{.name = "mode",
	 .type = PF_OPT_ENUM,
	 .def = "symbolize",
	 .choices = mode_choices,
	 .offset = offsetof(struct symbolize_config, mode),
	 .doc = "symbolize: name frames on the host; none: leave native frames as mapping + "
		"address with build IDs, for backends that symbolize"},
	{.name = "lines",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct symbolize_config, lines),
	 .doc = "Add file:line and inlined frames from DWARF when debug info exists"},
	{.name = "cache_size",
	 .type = PF_OPT_SIZE,
	 .def = "256MiB",
	 .min = 64 * 1024,
	 .max = 64.0 * 1024 * 1024 * 1024,
	 .offset = offsetof(struct symbolize_config, cache_size),
	 .doc = "Memory for loaded symbols, debug info and perf maps, least recently used "
		"evicted first"},
	{.name = "demangle",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct symbolize_config, demangle),
	 .doc = "Demangle C++ and Rust names (the mangled one stays as system_name)"},
	{.name = "kernel",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct symbolize_config, kernel),
	 .doc = "Name kernel frames from /proc/kallsyms"},
	{.name = "perf_maps",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct symbolize_config, perf_maps),
	 .doc = "Name JIT frames from /tmp/perf-PID.map, read through the process's root"},
	{.name = "debuginfod",
	 .type = PF_OPT_SECTION,
	 .section = pf_debuginfod_options,
	 .offset = offsetof(struct symbolize_config, debuginfod),
	 .doc = "Fetch the debug files of binaries that have none on the host from debuginfod "
		"servers (libdebuginfod)"},
	PF_OPTION_END,
};

static int symbolize_validate(const void *config, struct pf_error *err)
{
	const struct symbolize_config *cfg = config;

	return pf_debuginfod_validate(&cfg->debuginfod, err);
}

static const struct pf_logger *lg(const struct symbolize *s)
{
	return pf_component_logger(s->c);
}

static void start_job(struct symbolize *s);

/* Adds what the debuginfod client did since last time to the counters. */
static void count_debuginfod(struct symbolize *s)
{
	struct pf_debuginfod_stats now;

	if (!s->debuginfod)
		return;
	pf_debuginfod_stats(s->debuginfod, &now);
	pf_component_count(s->c, PF_CTR_DEBUGINFOD_REQUESTS, now.requests - s->counted.requests);
	pf_component_count(s->c, PF_CTR_DEBUGINFOD_FOUND, now.found - s->counted.found);
	pf_component_count(s->c, PF_CTR_DEBUGINFOD_FAILED, now.failed - s->counted.failed);
	pf_component_count(s->c, PF_CTR_DEBUGINFOD_BYTES, now.bytes - s->counted.bytes);
	s->counted = now;
}

static void drop_all(struct symbolize *s, const char *reason)
{
	if (s->ready) {
		pf_component_drop(s->c, reason, pf_batch_sample_count(s->ready));
		pf_batch_unref(s->ready);
		s->ready = NULL;
	}
	while (s->len) {
		struct pf_batch *b = s->queue[s->head];

		pf_component_drop(s->c, reason, pf_batch_sample_count(b));
		pf_batch_unref(b);
		s->head = (s->head + 1) % QUEUE_MAX;
		s->len--;
	}
}

static void finish(struct symbolize *s)
{
	struct pf_component *c = s->c;
	pf_done_fn done = s->done;
	struct pf_resolver_stats st;

	drop_all(s, "shutdown");
	count_debuginfod(s);
	if (s->resolver) {
		pf_resolver_stats(s->resolver, &st);
		pf_log(lg(s), PF_LOG_DEBUG,
		       "named %llu native, %llu kernel, %llu jit frames; %llu unresolved; "
		       "%llu perf maps cut or replaced while read, %llu binaries with unreadable "
		       "DWARF",
		       (unsigned long long)st.native, (unsigned long long)st.kernel,
		       (unsigned long long)st.jit, (unsigned long long)st.unresolved,
		       (unsigned long long)st.maps_restarted, (unsigned long long)st.dwarf_failed);
	}
	pf_resolver_free(s->resolver);
	pf_debuginfod_free(s->debuginfod);
	free(s);
	done(c);
}

static void on_timer_closed(uv_handle_t *h)
{
	finish(h->data);
}

/* Ends shutdown once no job runs and nothing is left to send (or the
 * deadline passed). */
static void maybe_close(struct symbolize *s)
{
	uv_loop_t *loop = pf_component_loop(s->c);

	if (!s->stopping || s->working || s->closing)
		return;
	if ((s->ready || s->len) && uv_now(loop) < pf_component_deadline(s->c))
		return;
	s->closing = true;
	uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}

/* Sends the ready batch. Returns true when it left (or was dropped). */
static bool send_ready(struct symbolize *s)
{
	int ret;

	if (!s->ready)
		return true;
	ret = pf_component_emit(s->c, s->ready);
	if (ret == PF_BUSY)
		return false;
	if (ret < 0)
		pf_log(lg(s), PF_LOG_WARN, "emit failed: %s", strerror(-ret));
	pf_batch_unref(s->ready);
	s->ready = NULL;
	return true;
}

static void on_retry(uv_timer_t *t)
{
	struct symbolize *s = t->data;

	if (send_ready(s)) {
		uv_timer_stop(&s->timer);
		start_job(s);
	}
	maybe_close(s);
}

static void run_job(uv_work_t *w)
{
	struct symbolize *s = w->data;

	s->job_out = pf_resolver_run(s->resolver, s->job_in, s->job_now);
}

static void after_job(uv_work_t *w, int status)
{
	struct symbolize *s = w->data;

	s->working = false;
	count_debuginfod(s);
	if (status == 0 && s->job_out) {
		pf_batch_unref(s->job_in);
		s->ready = s->job_out;
	} else {
		/* Out of memory: better unnamed frames than no samples. */
		pf_log(lg(s), PF_LOG_WARN, "symbolizing failed; passing the batch on unnamed");
		s->ready = s->job_in;
	}
	s->job_in = s->job_out = NULL;
	if (!send_ready(s)) {
		if (!s->closing)
			uv_timer_start(&s->timer, on_retry, RETRY_MS, RETRY_MS);
		maybe_close(s);
		return;
	}
	start_job(s);
	maybe_close(s);
}

static void start_job(struct symbolize *s)
{
	int err;

	if (s->working || s->ready || !s->len || s->closing)
		return;
	s->job_in = s->queue[s->head];
	s->head = (s->head + 1) % QUEUE_MAX;
	s->len--;
	s->job_now = uv_now(pf_component_loop(s->c));
	s->work.data = s;
	err = uv_queue_work(pf_component_loop(s->c), &s->work, run_job, after_job);
	if (err) {
		pf_log(lg(s), PF_LOG_WARN, "cannot queue work: %s", uv_strerror(err));
		s->ready = s->job_in;
		s->job_in = NULL;
		if (!send_ready(s))
			uv_timer_start(&s->timer, on_retry, RETRY_MS, RETRY_MS);
		return;
	}
	s->working = true;
}

static int symbolize_consume(void *inst, struct pf_batch *batch)
{
	struct symbolize *s = inst;

	if (s->stopping)
		return -ESHUTDOWN;
	if (s->cfg.mode == MODE_NONE)
		return pf_component_emit(s->c, batch);
	if (s->len == QUEUE_MAX)
		return PF_BUSY;
	s->queue[(s->head + s->len) % QUEUE_MAX] = pf_batch_ref(batch);
	s->len++;
	if (s->started)
		start_job(s);
	return PF_OK;
}

/* The debuginfod client when enabled; NULL when off, or enabled with no
 * URL (said in the log). Returns 0 or a negative errno. */
static int start_debuginfod(struct symbolize *s)
{
	const struct pf_debuginfod_config *cfg = &s->cfg.debuginfod;
	struct pf_debuginfod_opts o = {
		.urls = &cfg->urls,
		.cache_dir = cfg->cache_dir,
		.timeout_ms = (uint64_t)cfg->timeout / 1000000,
		.retry_ms = DEBUGINFOD_RETRY_MS,
		.max_ids = DEBUGINFOD_IDS,
	};
	int err;

	if (!cfg->enabled)
		return 0;
	s->debuginfod = pf_debuginfod_new(&o, &err);
	if (err == -ENOENT) {
		pf_log(lg(s), PF_LOG_WARN,
		       "debuginfod.enabled but no server: set debuginfod.urls or DEBUGINFOD_URLS");
		return 0;
	}
	if (!s->debuginfod)
		return err;
	/* The series show from the start, at 0. */
	pf_component_count(s->c, PF_CTR_DEBUGINFOD_REQUESTS, 0);
	pf_component_count(s->c, PF_CTR_DEBUGINFOD_FOUND, 0);
	pf_component_count(s->c, PF_CTR_DEBUGINFOD_FAILED, 0);
	pf_component_count(s->c, PF_CTR_DEBUGINFOD_BYTES, 0);
	return 0;
}

static void *symbolize_create(struct pf_component *c, const void *config)
{
	struct symbolize *s = calloc(1, sizeof(*s));
	struct pf_resolver_opts o = {0};
	int err;

	if (!s)
		goto out_oom;
	s->c = c;
	memcpy(&s->cfg, config, sizeof(s->cfg));
	if (s->cfg.mode == MODE_NONE)
		return s;
	o.lines = s->cfg.lines;
	o.demangle = s->cfg.demangle;
	o.kernel = s->cfg.kernel;
	o.perf_maps = s->cfg.perf_maps;
	o.cache_size = (size_t)s->cfg.cache_size;
	err = start_debuginfod(s);
	if (err < 0) {
		pf_log(lg(s), PF_LOG_ERROR, "cannot start the debuginfod client: %s",
		       strerror(-err));
		goto out_free;
	}
	o.debuginfod = s->debuginfod;
	s->resolver = pf_resolver_new(&o);
	if (!s->resolver)
		goto out_free_debuginfod;
	return s;

out_free_debuginfod:
	pf_debuginfod_free(s->debuginfod);
out_free:
	free(s);
out_oom:
	pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
	return NULL;
}

static int symbolize_start(void *inst)
{
	struct symbolize *s = inst;
	int err = uv_timer_init(pf_component_loop(s->c), &s->timer);

	if (err)
		return err;
	s->timer.data = s;
	s->started = true;
	start_job(s);
	return 0;
}

static void symbolize_shutdown(void *inst, pf_done_fn done)
{
	struct symbolize *s = inst;

	if (s->stopping)
		return;
	s->stopping = true;
	s->done = done;
	if (!s->started) {
		finish(s);
		return;
	}
	/* Keep working through the queue; maybe_close ends it at the
	 * deadline. A timer tick makes sure the deadline is noticed. */
	if (!s->working && !s->ready)
		start_job(s);
	if (s->working || s->ready || s->len)
		uv_timer_start(&s->timer, on_retry, RETRY_MS, RETRY_MS);
	maybe_close(s);
}

const struct pf_component_def pf_processor_symbolize = {
	.kind = PF_PROCESSOR,
	.type = "symbolize",
	.doc = "Name kernel, native and JIT frames on the host: kallsyms, ELF symbols, DWARF "
	       "lines and inlined frames, perf maps, debuginfod.",
	.stability = "development",
	.options = symbolize_options,
	.config_size = sizeof(struct symbolize_config),
	.mutates = false,
	.validate = symbolize_validate,
	.create = symbolize_create,
	.start = symbolize_start,
	.consume = symbolize_consume,
	.shutdown = symbolize_shutdown,
};
