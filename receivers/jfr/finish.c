// SPDX-License-Identifier: Apache-2.0
/* The JFR decoder's lifetime and its end: resource, profiles and summed samples added to the batch. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "decoder.h"
#include "model/batch.h"
#include "model/semconv.h"

struct pf_jfr_decoder *pf_jfr_decoder_new(struct pf_batch *b)
{
	struct pf_jfr_decoder *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->b = b;
	d->period[PF_JFR_CPU] = DEFAULT_PERIOD;
	d->period[PF_JFR_WALL] = DEFAULT_PERIOD;
	d->ap_wall = d->ap_interval = -1;
	return d;
}

const struct pf_jfr_stats *pf_jfr_decoder_stats(const struct pf_jfr_decoder *d)
{
	return &d->stats;
}

static uint32_t resource_of(struct pf_jfr_decoder *d, const uint32_t *attrs, size_t n_attrs,
			    const char *service_name)
{
	struct pf_batch *b = d->b;
	uint32_t all[80];
	size_t n = 0;
	bool has_service = false, has_pid = false;

	for (size_t i = 0; i < n_attrs && n < 72; i++) {
		const struct pf_attribute *a = pf_batch_attribute_get(b, attrs[i]);
		const char *k = pf_batch_str(b, a->key);
		has_service |= strcmp(k, PF_ATTR_SERVICE_NAME) == 0;
		has_pid |= strcmp(k, PF_ATTR_PROCESS_PID) == 0;
		all[n++] = attrs[i];
	}
	if (!has_service) {
		char svc[300];
		if (service_name && *service_name)
			snprintf(svc, sizeof(svc), "%s", service_name);
		else if (d->main_class[0])
			snprintf(svc, sizeof(svc), "%s", d->main_class);
		else
			snprintf(svc, sizeof(svc), "unknown_service:java");
		all[n++] = pf_batch_attr_str(b, PF_ATTR_SERVICE_NAME, svc);
	}
	if (!has_pid && d->pid > 0)
		all[n++] = pf_batch_attr_int(b, PF_ATTR_PROCESS_PID, d->pid);
	if (d->jvm_name[0])
		all[n++] = pf_batch_attr_str(b, "process.runtime.name", d->jvm_name);
	if (d->jvm_version[0]) {
		/* "OpenJDK 64-Bit Server VM (17.0.15+6-Debian-1deb12u1) for linux-amd64 ..." */
		char ver[256];
		const char *open = strchr(d->jvm_version, '('), *close;
		close = open ? strchr(open, ')') : NULL;
		if (open && close)
			snprintf(ver, sizeof(ver), "%.*s", (int)(close - open - 1), open + 1);
		else
			snprintf(ver, sizeof(ver), "%s", d->jvm_version);
		all[n++] = pf_batch_attr_str(b, "process.runtime.version", ver);
		all[n++] = pf_batch_attr_str(b, "process.runtime.description", d->jvm_version);
	}
	for (size_t i = 0; i < n; i++)
		if (all[i] == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
	struct pf_resource r = {.attrs = pf_batch_attr_set(b, all, n)};
	return r.attrs == PF_INDEX_ERROR ? PF_INDEX_ERROR : pf_batch_resource(b, &r);
}

static const char *const kind_types[PF_JFR_N_KINDS][5] = {
	/* value 0 type/unit, value 1 type/unit, period type */
	[PF_JFR_CPU] = {"samples", "count", "cpu", "nanoseconds", "cpu"},
	[PF_JFR_WALL] = {"samples", "count", "wall", "nanoseconds", "wall"},
	[PF_JFR_ALLOC] = {"alloc_objects", "count", "alloc_space", "bytes", "space"},
	[PF_JFR_LOCK] = {"contentions", "count", "lock", "nanoseconds", "contentions"},
	[PF_JFR_GC] = {"gc", "count", "gc_pause", "nanoseconds", "gc"},
	/* Pyroscope's names for async-profiler's malloc events; Go's in-use heap
	 * for its live objects. Period types differ per kind: pprof files group
	 * profiles by period type. */
	[PF_JFR_MALLOC] = {"malloc_objects", "count", "malloc_bytes", "bytes", "malloc"},
	[PF_JFR_LIVE] = {"inuse_objects", "count", "inuse_space", "bytes", "live"},
};

/* count x period, saturated: both come from the file. */
static int64_t times_period(int64_t count, int64_t period)
{
	int64_t ns;

	return __builtin_mul_overflow(count, period, &ns) ? INT64_MAX : ns;
}

int pf_jfr_decoder_finish(struct pf_jfr_decoder *d, const uint32_t *attrs, size_t n_attrs,
			  const char *service_name, uint32_t scope)
{
	struct pf_batch *b = d->b;
	uint32_t prof[PF_JFR_N_KINDS][2];
	int n_profiles = 0;
	uint32_t resource = resource_of(d, attrs, n_attrs, service_name);

	if (resource == PF_INDEX_ERROR)
		return -ENOMEM;
	if (d->wall_clock_events) {
		/* async-profiler samples wall clock every "wall" ns, or every
		 * "interval" ns when wall is its main event; 0 is its default. */
		int64_t ns = d->ap_wall >= 0 ? d->ap_wall : d->ap_interval;
		d->period[PF_JFR_WALL] = ns > 0 ? ns : AP_DEFAULT_WALL_PERIOD;
	}
	if (d->ap_cpu_event && d->ap_interval >= 0)
		d->period[PF_JFR_CPU] = d->ap_interval > 0 ? d->ap_interval : AP_DEFAULT_CPU_PERIOD;
	for (int k = 0; k < PF_JFR_N_KINDS; k++) {
		prof[k][0] = prof[k][1] = PF_INDEX_ERROR;
		if (!d->stats.by_kind[k])
			continue;
		const char *const *t = kind_types[k];
		bool timed = k == PF_JFR_CPU || k == PF_JFR_WALL;
		struct pf_profile_desc desc = {
			.resource = resource,
			.scope = scope,
			.period_type = {pf_batch_cstring(b, t[4]),
					pf_batch_cstring(b, timed ? "nanoseconds" : t[1])},
			.period = timed ? d->period[k] : 1,
			.time_unix_nano = d->t_start,
			.duration_nano = d->t_end > d->t_start ? d->t_end - d->t_start : 0,
			.original_payload_format = pf_batch_cstring(b, "jfr"),
		};
		for (int v = 0; v < 2; v++) {
			desc.sample_type.type = pf_batch_cstring(b, t[2 * v]);
			desc.sample_type.unit = pf_batch_cstring(b, t[2 * v + 1]);
			if (desc.sample_type.type == PF_INDEX_ERROR ||
			    desc.sample_type.unit == PF_INDEX_ERROR ||
			    desc.period_type.type == PF_INDEX_ERROR ||
			    desc.period_type.unit == PF_INDEX_ERROR ||
			    desc.original_payload_format == PF_INDEX_ERROR)
				return -ENOMEM;
			prof[k][v] = pf_batch_add_profile(b, &desc);
			if (prof[k][v] == PF_INDEX_ERROR)
				return -ENOMEM;
			n_profiles++;
		}
	}
	for (size_t i = 0; i < d->n_aggs; i++) {
		const struct jfr_agg *a = &d->aggs[i];
		int64_t v1 = a->v[1];
		if (a->kind == PF_JFR_CPU || a->kind == PF_JFR_WALL)
			v1 = times_period(a->v[0], d->period[a->kind]);
		for (int v = 0; v < 2; v++) {
			int64_t val = v ? v1 : a->v[0];
			int ret = pf_batch_add_sample(b, prof[a->kind][v], a->stack, a->attrs, 0,
						      &val, 1, NULL, 0);
			if (ret < 0)
				return ret;
		}
	}
	for (int k = 0; k < PF_JFR_N_KINDS; k++)
		if (k == PF_JFR_CPU || k == PF_JFR_WALL)
			d->stats.totals[k][1] = times_period(d->stats.totals[k][0], d->period[k]);
	return n_profiles;
}

void pf_jfr_decoder_free(struct pf_jfr_decoder *d)
{
	if (!d)
		return;
	jfr_memo_free(&d->agg_index);
	free(d->aggs);
	free(d);
}

int pf_jfr_decode(struct pf_batch *b, const uint8_t *data, size_t size, const char *service_name,
		  uint32_t scope, struct pf_jfr_stats *stats, struct pf_error *err)
{
	struct pf_jfr_decoder *d = pf_jfr_decoder_new(b);
	size_t pos = 0, used = 0;
	int ret = 0;

	if (!d)
		return -ENOMEM;
	if (size == 0)
		ret = jfr_bad_at(err, 0, "empty file");
	while (ret == 0 && pos < size) {
		ret = pf_jfr_decoder_chunk(d, data + pos, size - pos, pos, &used, err);
		if (ret == -EAGAIN)
			ret = jfr_bad_at(err, pos, "chunk still being written");
		pos += used;
	}
	if (ret == 0)
		ret = pf_jfr_decoder_finish(d, NULL, 0, service_name, scope);
	if (stats)
		*stats = d->stats;
	pf_jfr_decoder_free(d);
	return ret;
}
