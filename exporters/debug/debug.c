// SPDX-License-Identifier: Apache-2.0
/* The debug exporter: logs a summary of every batch, from one line to the top functions. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/batch.h"
#include "core/component.h"
#include "top.h"

enum debug_verbosity {
	DEBUG_BASIC,
	DEBUG_NORMAL,
	DEBUG_DETAILED,
};

struct debug_config {
	int verbosity;
	int64_t top;
};

struct debug_exporter {
	struct pf_component *c;
	struct debug_config cfg;
	bool stopped;
};

static const char *const verbosity_choices[] = {"basic", "normal", "detailed", NULL};

static const struct pf_option debug_options[] = {
	{.name = "verbosity",
	 .type = PF_OPT_ENUM,
	 .def = "basic",
	 .choices = verbosity_choices,
	 .offset = offsetof(struct debug_config, verbosity),
	 .doc = "basic: one line per batch; normal: also resources and totals; detailed: "
		"also the top functions"},
	{.name = "top",
	 .type = PF_OPT_INT,
	 .def = "10",
	 .min = 1,
	 .max = 1000,
	 .offset = offsetof(struct debug_config, top),
	 .doc = "How many functions `detailed` lists by self and by cumulative value"},
	PF_OPTION_END,
};

#define LINE_MAX_LEN 1024

static const struct pf_logger *lg(const struct debug_exporter *d)
{
	return pf_component_logger(d->c);
}

/* Appends printf output to buf at *len, truncating quietly at `size`. */
__attribute__((format(printf, 4, 5))) static void append(char *buf, size_t size, size_t *len,
							 const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < size ? *len + (size_t)n : size;
}

static void append_value(const struct pf_batch *b, const struct pf_value *v, char *buf, size_t size,
			 size_t *len)
{
	switch (v->kind) {
	case PF_VALUE_EMPTY: break;
	case PF_VALUE_STRING: append(buf, size, len, "%s", pf_batch_str(b, v->u.str)); break;
	case PF_VALUE_INT: append(buf, size, len, "%" PRId64, v->u.i); break;
	case PF_VALUE_DOUBLE: append(buf, size, len, "%g", v->u.d); break;
	case PF_VALUE_BOOL: append(buf, size, len, "%s", v->u.b ? "true" : "false"); break;
	case PF_VALUE_STRINGS: {
		size_t n = 0;
		const uint32_t *s = pf_batch_string_list_get(b, v->u.strs, &n);

		append(buf, size, len, "[");
		for (size_t i = 0; i < n; i++)
			append(buf, size, len, "%s%s", i ? "," : "", pf_batch_str(b, s[i]));
		append(buf, size, len, "]");
		break;
	}
	}
}

static void append_attrs(const struct pf_batch *b, uint32_t set, char *buf, size_t size,
			 size_t *len)
{
	size_t n = 0;
	const uint32_t *attrs = pf_batch_attr_set_get(b, set, &n);

	if (n == 0)
		append(buf, size, len, " (no attributes)");
	for (size_t i = 0; i < n; i++) {
		const struct pf_attribute *a = pf_batch_attribute_get(b, attrs[i]);

		append(buf, size, len, "%s%s=", i ? ", " : " ", pf_batch_str(b, a->key));
		append_value(b, &a->value, buf, size, len);
	}
}

static bool same_type(const struct pf_profile_desc *a, const struct pf_profile_desc *b)
{
	return a->sample_type.type == b->sample_type.type &&
	       a->sample_type.unit == b->sample_type.unit;
}

/* True when an earlier profile than p has the same resource (and, with
 * by_type, the same sample type): p's group was already reported. */
static bool seen_before(const struct pf_batch *b, uint32_t p, bool by_resource, bool by_type)
{
	const struct pf_profile_desc *d = pf_batch_profile_get(b, p);

	for (uint32_t q = 0; q < p; q++) {
		const struct pf_profile_desc *e = pf_batch_profile_get(b, q);

		if (by_resource && e->resource != d->resource)
			continue;
		if (by_type && !same_type(d, e))
			continue;
		return true;
	}
	return false;
}

static size_t count_resources(const struct pf_batch *b)
{
	size_t n = 0, np = pf_batch_n_profiles(b);

	for (uint32_t p = 0; p < np; p++)
		if (!seen_before(b, p, true, false))
			n++;
	return n;
}

/* Logs the resource of profile `first` and, per sample type, its totals;
 * `sel` has room for every profile. */
static void log_resource(struct debug_exporter *d, const struct pf_batch *b, uint32_t first,
			 uint32_t *sel)
{
	const struct pf_profile_desc *rd = pf_batch_profile_get(b, first);
	size_t np = pf_batch_n_profiles(b);
	char line[LINE_MAX_LEN];
	size_t len = 0;

	append(line, sizeof(line), &len, "resource #%" PRIu32 ":", rd->resource);
	append_attrs(b, pf_batch_resource_get(b, rd->resource)->attrs, line, sizeof(line), &len);
	pf_log(lg(d), PF_LOG_INFO, "%s", line);

	for (uint32_t p = first; p < np; p++) {
		const struct pf_profile_desc *pd = pf_batch_profile_get(b, p);
		size_t n = 0, samples = 0;
		int64_t total;

		if (pd->resource != rd->resource || seen_before(b, p, true, true))
			continue;
		for (uint32_t q = p; q < np; q++) {
			const struct pf_profile_desc *qd = pf_batch_profile_get(b, q);

			if (qd->resource == rd->resource && same_type(pd, qd))
				sel[n++] = q;
		}
		total = pf_debug_top_total(b, sel, n, &samples);
		pf_log(lg(d), PF_LOG_INFO, "  %s/%s: samples=%zu total=%" PRId64,
		       pf_batch_str(b, pd->sample_type.type), pf_batch_str(b, pd->sample_type.unit),
		       samples, total);
	}
}

static void log_top_list(struct debug_exporter *d, const struct pf_batch *b, const char *what,
			 const struct pf_debug_top_entry *e, size_t n, int64_t total)
{
	char name[256];

	pf_log(lg(d), PF_LOG_INFO, "    top %zu by %s:", n, what);
	for (size_t i = 0; i < n; i++) {
		double pct = total ? 100.0 * (double)e[i].value / (double)total : 0.0;

		pf_log(lg(d), PF_LOG_INFO, "    %3zu. %6.2f%% %14" PRId64 "  %s", i + 1, pct,
		       e[i].value, pf_debug_top_name(b, &e[i], name, sizeof(name)));
	}
}

/* Logs per sample type the top functions; `sel` has room for every profile. */
static int log_top(struct debug_exporter *d, const struct pf_batch *b, uint32_t *sel)
{
	size_t np = pf_batch_n_profiles(b);

	for (uint32_t p = 0; p < np; p++) {
		const struct pf_profile_desc *pd = pf_batch_profile_get(b, p);
		struct pf_debug_top top;
		size_t n = 0;

		if (seen_before(b, p, false, true))
			continue;
		for (uint32_t q = p; q < np; q++)
			if (same_type(pd, pf_batch_profile_get(b, q)))
				sel[n++] = q;
		if (pf_debug_top_compute(b, sel, n, (size_t)d->cfg.top, &top) < 0)
			return -ENOMEM;
		pf_log(lg(d), PF_LOG_INFO, "all resources, %s/%s: samples=%zu total=%" PRId64,
		       pf_batch_str(b, pd->sample_type.type), pf_batch_str(b, pd->sample_type.unit),
		       top.n_samples, top.total);
		log_top_list(d, b, "self", top.self, top.n_self, top.total);
		log_top_list(d, b, "cumulative", top.cum, top.n_cum, top.total);
		pf_debug_top_free(&top);
	}
	return 0;
}

static void *debug_create(struct pf_component *c, const void *config)
{
	struct debug_exporter *d = calloc(1, sizeof(*d));

	if (!d) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		return NULL;
	}
	d->c = c;
	memcpy(&d->cfg, config, sizeof(d->cfg));
	return d;
}

static int debug_start(void *inst)
{
	return 0;
}

static int debug_consume(void *inst, struct pf_batch *batch)
{
	struct debug_exporter *d = inst;
	size_t np = pf_batch_n_profiles(batch);
	size_t samples = pf_batch_sample_count(batch);
	uint32_t *sel;
	int err = 0;

	if (d->stopped)
		return -ESHUTDOWN;
	pf_log(lg(d), PF_LOG_INFO, "batch: resources=%zu profiles=%zu samples=%zu",
	       count_resources(batch), np, samples);
	if (d->cfg.verbosity == DEBUG_BASIC)
		goto out_count;

	sel = calloc(np ? np : 1, sizeof(*sel));
	if (!sel) {
		err = -ENOMEM;
		goto out_count;
	}
	for (uint32_t p = 0; p < np; p++)
		if (!seen_before(batch, p, true, false))
			log_resource(d, batch, p, sel);
	if (d->cfg.verbosity >= DEBUG_DETAILED)
		err = log_top(d, batch, sel);
	free(sel);

out_count:
	pf_component_count(d->c, err ? PF_CTR_EXPORTER_SEND_FAILED : PF_CTR_EXPORTER_SENT, samples);
	return err;
}

static void debug_shutdown(void *inst, pf_done_fn done)
{
	struct debug_exporter *d = inst;
	struct pf_component *c = d->c;

	if (d->stopped)
		return;
	d->stopped = true;
	free(d);
	done(c);
}

const struct pf_component_def pf_exporter_debug = {
	.kind = PF_EXPORTER,
	.type = "debug",
	.doc = "Log a summary of every batch: counts, resources, totals, top functions.",
	.stability = "development",
	.options = debug_options,
	.config_size = sizeof(struct debug_config),
	.create = debug_create,
	.start = debug_start,
	.consume = debug_consume,
	.shutdown = debug_shutdown,
};
