// SPDX-License-Identifier: Apache-2.0
/* The aggregate processor: merges what arrives in an interval into one batch per interval (per metadata_keys values). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/batch.h"
#include "core/component.h"
#include "model/metadata.h"

#define NS_PER_MS      1000000LL
#define DRAIN_RETRY_MS 50

struct aggregate_config {
	int64_t interval; /* ns */
	bool keep_timestamps;
	int64_t max_samples;
	struct pf_strings metadata_keys;
	int64_t metadata_cardinality_limit;
};

/*
 * One partition per distinct combination of values of metadata_keys (one
 * partition in all without metadata_keys). `pending` collects everything
 * the partition consumed since its last emit. Without keep_timestamps each
 * batch is summed into it as it arrives (pf_batch_merge_sum(), with `sums`),
 * so it holds only distinct samples; with keep_timestamps batches are
 * appended and aggregated at emit. When all partitions together reach
 * max_samples the receiving one is compacted (aggregated) and, if still that
 * big, emitted early. When downstream is busy an aggregate stays
 * pending and is retried on the next tick; new data keeps merging while the
 * total is below max_samples, and is refused (PF_BUSY) above.
 */
struct part {
	struct pf_metadata *key; /* the values of metadata_keys; NULL without keys */
	struct pf_batch *pending;
	struct pf_batch_sums *sums; /* pending's index, without keep_timestamps */
};

struct aggregate {
	struct pf_component *c;
	struct aggregate_config cfg;
	uv_timer_t timer;
	struct part *parts;
	size_t n_parts, cap_parts;
	bool started;
	bool stopping;
	bool warned;	  /* the cardinality limit was logged this interval */
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
	{.name = "metadata_keys",
	 .type = PF_OPT_STRINGS,
	 .offset = offsetof(struct aggregate_config, metadata_keys),
	 .doc = "Client metadata keys (receiver include_metadata) whose values keep batches "
		"apart and travel on; without, client metadata is dropped"},
	{.name = "metadata_cardinality_limit",
	 .type = PF_OPT_INT,
	 .def = "1000",
	 .min = 1,
	 .max = 1e6,
	 .offset = offsetof(struct aggregate_config, metadata_cardinality_limit),
	 .doc = "Distinct metadata_keys value combinations held at once; batches of more are "
		"refused"},
	PF_OPTION_END,
};

static const struct pf_logger *lg(const struct aggregate *a)
{
	return pf_component_logger(a->c);
}

static size_t part_samples(const struct part *p)
{
	return p->pending ? pf_batch_sample_count(p->pending) : 0;
}

static size_t pending_samples(const struct aggregate *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n_parts; i++)
		n += part_samples(&a->parts[i]);
	return n;
}

/* Forgets a partition's pending batch. */
static void clear_part(struct part *p)
{
	pf_batch_unref(p->pending);
	p->pending = NULL;
	pf_batch_sums_free(p->sums);
	p->sums = NULL;
}

static void drop_part(struct aggregate *a, struct part *p, const char *reason)
{
	size_t n = part_samples(p);

	if (n)
		pf_component_drop(a->c, reason, n);
	clear_part(p);
}

static void drop_all(struct aggregate *a, const char *reason)
{
	for (size_t i = 0; i < a->n_parts; i++)
		drop_part(a, &a->parts[i], reason);
}

/* Forgets the partitions with nothing pending. */
static void prune(struct aggregate *a)
{
	size_t kept = 0;

	for (size_t i = 0; i < a->n_parts; i++) {
		if (a->parts[i].pending)
			a->parts[kept++] = a->parts[i];
		else
			pf_metadata_free(a->parts[i].key); /* sums went with pending */
	}
	a->n_parts = kept;
}

static int own_pending(struct aggregate *a, struct part *p);

/* Replaces a partition's pending batch with its aggregate, which carries
 * the partition's metadata values and no other client metadata. A summed
 * pending batch is its own aggregate. Returns 0 or -ENOMEM (pending kept). */
static int compact(struct aggregate *a, struct part *p)
{
	struct pf_batch *agg = NULL;
	struct pf_metadata *md = NULL;

	if (pf_metadata_n(p->key) > 0 && !(md = pf_metadata_copy(p->key)))
		return -ENOMEM;
	if (p->sums) {
		if (own_pending(a, p) < 0)
			goto out_free_md;
		pf_batch_set_metadata(p->pending, md);
		return 0;
	}
	agg = pf_batch_aggregate(p->pending, a->cfg.keep_timestamps);
	if (!agg)
		goto out_free_md;
	pf_batch_set_metadata(agg, md);
	pf_batch_unref(p->pending);
	p->pending = agg;
	return 0;

out_free_md:
	pf_metadata_free(md);
	return -ENOMEM;
}

/* Aggregates and emits a partition. On PF_BUSY the aggregate stays
 * pending; on errors it is dropped. Returns what emit returned, or -ENOMEM. */
static int flush_part(struct aggregate *a, struct part *p)
{
	int ret;

	if (part_samples(p) == 0) {
		clear_part(p);
		return PF_OK;
	}
	ret = compact(a, p);
	if (ret < 0) {
		pf_log(lg(a), PF_LOG_ERROR, "out of memory aggregating %zu samples",
		       part_samples(p));
		drop_part(a, p, "out_of_memory");
		return ret;
	}
	ret = pf_component_emit(a->c, p->pending);
	if (ret == PF_OK)
		clear_part(p);
	else if (ret != PF_BUSY) {
		pf_log(lg(a), PF_LOG_WARN, "emit failed: %s", strerror(-ret));
		drop_part(a, p, "emit_failed");
	}
	return ret;
}

/* Flushes every partition; PF_BUSY when any stays pending. */
static int flush(struct aggregate *a)
{
	int busy = PF_OK;

	for (size_t i = 0; i < a->n_parts; i++)
		if (flush_part(a, &a->parts[i]) == PF_BUSY)
			busy = PF_BUSY;
	prune(a);
	return busy;
}

/* Once per interval. Aggregates downstream refused are retried here; when
 * they also reached max_samples (input is refused meanwhile) they are
 * dropped. */
static void on_tick(uv_timer_t *t)
{
	struct aggregate *a = t->data;

	a->warned = false;
	if (flush(a) == PF_BUSY && pending_samples(a) >= (size_t)a->cfg.max_samples) {
		pf_log(lg(a), PF_LOG_WARN, "downstream busy: dropping %zu aggregated samples",
		       pending_samples(a));
		drop_all(a, "downstream_busy");
		prune(a);
	}
}

/* Makes a partition's pending batch one this processor alone may change. */
static int own_pending(struct aggregate *a, struct part *p)
{
	struct pf_batch *copy;

	if (!p->pending) {
		p->pending = pf_batch_new();
		if (p->pending && !a->cfg.keep_timestamps && !(p->sums = pf_batch_sums_new()))
			clear_part(p);
		return p->pending ? 0 : -ENOMEM;
	}
	if (!pf_batch_is_shared(p->pending))
		return 0;
	/* A consumer that took the batch before a sibling refused it holds a
	 * reference: leave its copy alone. The copy keeps every index, so
	 * `sums` stays right for it. */
	copy = pf_batch_copy(p->pending);
	if (!copy)
		return -ENOMEM;
	pf_batch_unref(p->pending);
	p->pending = copy;
	return 0;
}

static bool key_matches(const struct aggregate *a, const struct pf_metadata *key,
			const struct pf_metadata *md)
{
	for (size_t i = 0; i < a->cfg.metadata_keys.n; i++)
		if (!pf_metadata_same(key, md, a->cfg.metadata_keys.items[i]))
			return false;
	return true;
}

/* The values of metadata_keys in md (absent keys stay absent), or NULL
 * when out of memory. */
static struct pf_metadata *key_of(const struct aggregate *a, const struct pf_metadata *md)
{
	struct pf_metadata *key = pf_metadata_new();

	for (size_t i = 0; key && i < a->cfg.metadata_keys.n; i++) {
		const char *k = a->cfg.metadata_keys.items[i];
		size_t n;
		const char *const *v = pf_metadata_get(md, k, &n);

		for (size_t j = 0; j < n; j++) {
			if (pf_metadata_add(key, k, strlen(k), v[j], strlen(v[j])) < 0) {
				pf_metadata_free(key);
				return NULL;
			}
		}
	}
	return key;
}

/* The partition of batch b, made when new. Returns it, or NULL with *err
 * -ENOMEM or -EMFILE (metadata_cardinality_limit reached). */
static struct part *part_for(struct aggregate *a, const struct pf_batch *b, int *err)
{
	const struct pf_metadata *md = pf_batch_metadata(b);
	bool keyed = a->cfg.metadata_keys.n > 0;
	struct part fresh = {0};

	for (size_t i = 0; i < a->n_parts; i++)
		if (!keyed || key_matches(a, a->parts[i].key, md))
			return &a->parts[i];
	if (keyed && a->n_parts >= (size_t)a->cfg.metadata_cardinality_limit) {
		*err = -EMFILE;
		return NULL;
	}
	*err = -ENOMEM;
	if (a->n_parts == a->cap_parts) {
		size_t cap = a->cap_parts ? 2 * a->cap_parts : 4;
		struct part *grown = calloc(cap, sizeof(*grown));

		if (!grown)
			return NULL;
		if (a->n_parts)
			memcpy(grown, a->parts, a->n_parts * sizeof(*grown));
		free(a->parts);
		a->parts = grown;
		a->cap_parts = cap;
	}
	if (keyed && !(fresh.key = key_of(a, md)))
		return NULL;
	a->parts[a->n_parts] = fresh;
	return &a->parts[a->n_parts++];
}

static int aggregate_consume(void *inst, struct pf_batch *batch)
{
	struct aggregate *a = inst;
	size_t max = (size_t)a->cfg.max_samples;
	struct part *p;
	int ret;

	if (a->stopping)
		return -ESHUTDOWN;
	if (pending_samples(a) >= max)
		return PF_BUSY;
	p = part_for(a, batch, &ret);
	if (!p) {
		if (ret == -EMFILE && !a->warned) {
			pf_log(lg(a), PF_LOG_WARN,
			       "metadata_cardinality_limit (%lld) reached: refusing batches with "
			       "new metadata_keys values until the next interval",
			       (long long)a->cfg.metadata_cardinality_limit);
			a->warned = true;
		}
		return ret;
	}
	ret = own_pending(a, p);
	if (ret < 0)
		return ret;
	if (p->sums)
		ret = pf_batch_merge_sum(p->pending, batch, p->sums);
	else
		ret = pf_batch_merge(p->pending, batch);
	if (ret < 0) {
		/* pending may hold part of batch: aggregating it again would
		 * count that part twice when the sender retries. */
		drop_part(a, p, "out_of_memory");
		return ret;
	}
	if (pending_samples(a) < max)
		return PF_OK;
	if (compact(a, p) == 0 && pending_samples(a) < max)
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

	drop_all(a, "shutdown");
	prune(a);
	free(a->parts);
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
	drop_all(a, "shutdown");
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
		flush(a); /* finish drops what stays */
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
