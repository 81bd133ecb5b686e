// SPDX-License-Identifier: Apache-2.0
/* The aggregate processor: merges what arrives in an interval into one batch per interval. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/batch.h"
#include "pipeline/component.h"

#define NS_PER_MS      1000000LL
#define DRAIN_RETRY_MS 50

struct aggregate_config {
	int64_t interval; /* ns */
	bool keep_timestamps;
	int64_t max_samples;
};

/*
 * `pending` collects everything consumed since the last emit. When it reaches
 * max_samples it is compacted (aggregated) and, if still that big, emitted
 * early. When downstream is busy the aggregate stays pending and is retried
 * on the next tick; new data keeps merging into it while it is below
 * max_samples, and is refused (PF_BUSY) above.
 */
struct aggregate {
	struct pf_component *c;
	struct aggregate_config cfg;
	uv_timer_t timer;
	struct pf_batch *pending;
	bool started;
	bool stopping;
	uint64_t give_up; /* uv_now() ms: while stopping, stop retrying then */
	pf_done_fn done;
};

static const struct pf_option aggregate_options[] = {
	{.name = "interval",
	 .type = PF_OPT_DURATION,
	 .def = "10s",
	 .min = 100.0 * NS_PER_MS,
	 .max = 86400.0 * 1000 * NS_PER_MS,
	 .offset = offsetof(struct aggregate_config, interval),
	 .doc = "Everything received within this interval leaves as one batch"},
	{.name = "keep_timestamps",
	 .type = PF_OPT_BOOL,
	 .def = "false",
	 .offset = offsetof(struct aggregate_config, keep_timestamps),
	 .doc = "Keep every part's values and timestamps instead of summing them"},
	{.name = "max_samples",
	 .type = PF_OPT_INT,
	 .def = "1000000",
	 .min = 1,
	 .max = 1e12,
	 .offset = offsetof(struct aggregate_config, max_samples),
	 .doc = "Distinct samples held before flushing early; beyond it input is refused "
		"and, while downstream stays busy, the held samples are dropped"},
	PF_OPTION_END,
};

static const struct pf_logger *lg(const struct aggregate *a)
{
	return pf_component_logger(a->c);
}

static size_t pending_samples(const struct aggregate *a)
{
	return a->pending ? pf_batch_sample_count(a->pending) : 0;
}

static void drop_pending(struct aggregate *a, const char *reason)
{
	size_t n = pending_samples(a);

	if (n)
		pf_component_drop(a->c, reason, n);
	pf_batch_unref(a->pending);
	a->pending = NULL;
}

/* Replaces pending with its aggregate. Returns 0 or -ENOMEM (pending kept). */
static int compact(struct aggregate *a)
{
	struct pf_batch *agg = pf_batch_aggregate(a->pending, a->cfg.keep_timestamps);

	if (!agg)
		return -ENOMEM;
	pf_batch_unref(a->pending);
	a->pending = agg;
	return 0;
}

/* Aggregates and emits pending. On PF_BUSY the aggregate stays pending; on
 * errors it is dropped. Returns what emit returned, or -ENOMEM. */
static int flush(struct aggregate *a)
{
	int ret;

	if (pending_samples(a) == 0) {
		pf_batch_unref(a->pending);
		a->pending = NULL;
		return PF_OK;
	}
	ret = compact(a);
	if (ret < 0) {
		pf_log(lg(a), PF_LOG_ERROR, "out of memory aggregating %zu samples",
		       pending_samples(a));
		drop_pending(a, "out_of_memory");
		return ret;
	}
	ret = pf_component_emit(a->c, a->pending);
	if (ret == PF_OK) {
		pf_batch_unref(a->pending);
		a->pending = NULL;
	} else if (ret != PF_BUSY) {
		pf_log(lg(a), PF_LOG_WARN, "emit failed: %s", strerror(-ret));
		drop_pending(a, "emit_failed");
	}
	return ret;
}

/* Once per interval. An aggregate downstream refused is retried here; one
 * that also reached max_samples (input is refused meanwhile) is dropped. */
static void on_tick(uv_timer_t *t)
{
	struct aggregate *a = t->data;

	if (flush(a) == PF_BUSY && pending_samples(a) >= (size_t)a->cfg.max_samples) {
		pf_log(lg(a), PF_LOG_WARN, "downstream busy: dropping %zu aggregated samples",
		       pending_samples(a));
		drop_pending(a, "downstream_busy");
	}
}

/* Makes pending a batch this processor alone may change. */
static int own_pending(struct aggregate *a)
{
	struct pf_batch *copy;

	if (!a->pending) {
		a->pending = pf_batch_new();
		return a->pending ? 0 : -ENOMEM;
	}
	if (!pf_batch_is_shared(a->pending))
		return 0;
	/* A consumer that took the batch before a sibling refused it holds a
	 * reference: leave its copy alone. */
	copy = pf_batch_copy(a->pending);
	if (!copy)
		return -ENOMEM;
	pf_batch_unref(a->pending);
	a->pending = copy;
	return 0;
}

static int aggregate_consume(void *inst, struct pf_batch *batch)
{
	struct aggregate *a = inst;
	size_t max = (size_t)a->cfg.max_samples;
	int ret;

	if (a->stopping)
		return -ESHUTDOWN;
	if (pending_samples(a) >= max)
		return PF_BUSY;
	ret = own_pending(a);
	if (ret < 0)
		return ret;
	ret = pf_batch_merge(a->pending, batch);
	if (ret < 0) {
		/* pending may hold part of batch: aggregating it again would
		 * count that part twice when the sender retries. */
		drop_pending(a, "out_of_memory");
		return ret;
	}
	if (pending_samples(a) < max)
		return PF_OK;
	if (compact(a) == 0 && pending_samples(a) < max)
		return PF_OK;
	/* Still too many distinct samples: send them now. If downstream is
	 * busy they stay, and input is refused until the next tick. */
	flush(a);
	return PF_OK;
}

static void *aggregate_create(struct pf_component *c, const void *config)
{
	struct aggregate *a = calloc(1, sizeof(*a));

	if (!a) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		return NULL;
	}
	a->c = c;
	memcpy(&a->cfg, config, sizeof(a->cfg));
	return a;
}

static int aggregate_start(void *inst)
{
	struct aggregate *a = inst;
	uint64_t ms = (uint64_t)(a->cfg.interval / NS_PER_MS);
	int err;

	err = uv_timer_init(pf_component_loop(a->c), &a->timer);
	if (err)
		return err;
	a->timer.data = a;
	a->started = true;
	err = uv_timer_start(&a->timer, on_tick, ms, ms);
	if (err)
		return err;
	return 0;
}

static void finish(struct aggregate *a)
{
	struct pf_component *c = a->c;
	pf_done_fn done = a->done;

	pf_batch_unref(a->pending);
	free(a);
	done(c);
}

static void on_timer_closed(uv_handle_t *h)
{
	finish(h->data);
}

static void close_timer(struct aggregate *a)
{
	uv_timer_stop(&a->timer);
	uv_close((uv_handle_t *)&a->timer, on_timer_closed);
}

/* While stopping: retry a refused flush until the deadline, then give up. */
static void on_drain_tick(uv_timer_t *t)
{
	struct aggregate *a = t->data;

	if (flush(a) == PF_BUSY && uv_now(t->loop) < a->give_up)
		return;
	drop_pending(a, "shutdown");
	close_timer(a);
}

static void aggregate_shutdown(void *inst, pf_done_fn done)
{
	struct aggregate *a = inst;
	uint64_t now, deadline;

	if (a->stopping)
		return;
	a->stopping = true;
	a->done = done;
	if (!a->started) {
		if (flush(a) == PF_BUSY)
			drop_pending(a, "shutdown");
		finish(a);
		return;
	}
	uv_timer_stop(&a->timer);
	if (flush(a) != PF_BUSY) {
		close_timer(a);
		return;
	}
	/* Leave half the time left to the components downstream. */
	now = uv_now(pf_component_loop(a->c));
	deadline = pf_component_deadline(a->c);
	a->give_up = deadline > now ? now + (deadline - now) / 2 : now;
	uv_timer_start(&a->timer, on_drain_tick, DRAIN_RETRY_MS, DRAIN_RETRY_MS);
}

const struct pf_component_def pf_processor_aggregate = {
	.kind = PF_PROCESSOR,
	.type = "aggregate",
	.doc = "Merge the samples received in each interval into one batch, summing equal samples.",
	.stability = "development",
	.options = aggregate_options,
	.config_size = sizeof(struct aggregate_config),
	.mutates = false,
	.create = aggregate_create,
	.start = aggregate_start,
	.consume = aggregate_consume,
	.shutdown = aggregate_shutdown,
};
