/* SPDX-License-Identifier: Apache-2.0 */
/* Aggregation: equal profiles become one, equal samples within them become one. */
#include "model/batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/batch_internal.h"
#include "model/metadata.h"

/* One output sample while its parts are counted. */
struct agg_sample {
	uint32_t prof; /* output profile */
	uint32_t stack, attrs, link;
	uint32_t slot;			 /* position in its output profile */
	bool all_timestamps;		 /* every part carries timestamps */
	bool any_values;		 /* some part carries values */
	uint64_t n_values;		 /* values over all parts */
	uint64_t n_timestamps;		 /* timestamps over all parts */
	uint64_t sum;			 /* two's complement sum of every part's values */
	size_t values_at, timestamps_at; /* write cursors in the output pools */
};

struct agg {
	const struct pf_batch *src;
	struct pf_batch *out;
	bool keep_timestamps;
	uint32_t *prof_of;	    /* src profile -> output profile */
	uint32_t *out_of;	    /* src sample (global order) -> output sample */
	struct agg_sample *samples; /* output samples in first-seen order */
	size_t n_samples, cap_samples;
	struct pf_intern profiles; /* output profiles by description */
	struct pf_intern index;	   /* output samples by (prof, stack, attrs, link) */
};

bool pf_batch_desc_eq(const struct pf_profile_desc *a, const struct pf_profile_desc *b)
{
	return a->resource == b->resource && a->scope == b->scope &&
	       a->sample_type.type == b->sample_type.type &&
	       a->sample_type.unit == b->sample_type.unit &&
	       a->period_type.type == b->period_type.type &&
	       a->period_type.unit == b->period_type.unit && a->period == b->period &&
	       a->attrs == b->attrs && memcmp(a->profile_id, b->profile_id, 16) == 0 &&
	       a->dropped_attributes_count == b->dropped_attributes_count &&
	       a->original_payload_format == b->original_payload_format;
}

uint32_t pf_batch_desc_hash(uint64_t seed, const struct pf_profile_desc *d)
{
	uint64_t w[8];

	w[0] = d->resource | (uint64_t)d->scope << 32;
	w[1] = d->sample_type.type | (uint64_t)d->sample_type.unit << 32;
	w[2] = d->period_type.type | (uint64_t)d->period_type.unit << 32;
	w[3] = (uint64_t)d->period;
	w[4] = d->attrs | (uint64_t)d->dropped_attributes_count << 32;
	w[5] = d->original_payload_format;
	memcpy(&w[6], d->profile_id, 16);
	return pf_batch_hash_words(seed, w, 8);
}

static bool out_profile_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_batch *out = ctx;

	return pf_batch_desc_eq(&out->profiles[idx].desc, key);
}

/* Finds or appends the output profile for src profile p; widens its time range. */
static int group_profile(struct agg *a, size_t p)
{
	const struct pf_profile_desc *d = &a->src->profiles[p].desc;
	uint32_t h = pf_batch_desc_hash(a->src->seed, d), idx;
	size_t pos;

	if (pf_intern_reserve(&a->profiles, 1) < 0)
		return -ENOMEM;
	idx = pf_intern_find(&a->profiles, h, out_profile_eq, a->out, d, &pos);
	if (idx == PF_INTERN_EMPTY) {
		idx = pf_batch_add_profile(a->out, d);
		if (idx == PF_INDEX_ERROR)
			return -ENOMEM;
		pf_intern_put(&a->profiles, pos, h, idx);
		a->prof_of[p] = idx;
		return 0;
	}
	a->prof_of[p] = idx;
	pf_batch_desc_widen(&a->out->profiles[idx].desc, d);
	return 0;
}

void pf_batch_desc_widen(struct pf_profile_desc *od, const struct pf_profile_desc *d)
{
	uint64_t end = d->time_unix_nano + d->duration_nano;
	uint64_t oend = od->time_unix_nano + od->duration_nano;

	if (end < d->time_unix_nano)
		end = UINT64_MAX;
	if (oend < od->time_unix_nano)
		oend = UINT64_MAX;
	if (d->time_unix_nano < od->time_unix_nano)
		od->time_unix_nano = d->time_unix_nano;
	od->duration_nano = (end > oend ? end : oend) - od->time_unix_nano;
}

struct sample_key {
	uint32_t prof, stack, attrs, link;
};

static bool out_sample_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct agg_sample *s = (const struct agg_sample *)ctx + idx;
	const struct sample_key *k = key;

	return s->prof == k->prof && s->stack == k->stack && s->attrs == k->attrs &&
	       s->link == k->link;
}

/* Finds or appends the output sample for part s of src profile p and counts
 * the part into it. Returns the output sample or PF_INDEX_ERROR. */
static uint32_t group_sample(struct agg *a, size_t p, const struct pf_sample *s,
			     size_t *per_profile)
{
	struct sample_key k = {a->prof_of[p], s->stack, s->attrs, s->link};
	uint32_t h = pf_batch_sample_hash(a->src->seed, k.prof, k.stack, k.attrs, k.link), idx;
	const int64_t *v = pf_batch_sample_values(a->src, s);
	struct agg_sample *o;
	size_t pos, i;

	if (pf_intern_reserve(&a->index, 1) < 0)
		return PF_INDEX_ERROR;
	idx = pf_intern_find(&a->index, h, out_sample_eq, a->samples, &k, &pos);
	if (idx == PF_INTERN_EMPTY) {
		if (PF_BATCH_RESERVE(a->samples, a->cap_samples, a->n_samples + 1) < 0)
			return PF_INDEX_ERROR;
		idx = (uint32_t)a->n_samples++;
		o = &a->samples[idx];
		memset(o, 0, sizeof(*o));
		o->prof = k.prof;
		o->stack = k.stack;
		o->attrs = k.attrs;
		o->link = k.link;
		o->slot = (uint32_t)per_profile[k.prof]++;
		o->all_timestamps = true;
		pf_intern_put(&a->index, pos, h, idx);
	}
	o = &a->samples[idx];
	o->all_timestamps = o->all_timestamps && s->timestamps_len > 0;
	o->any_values = o->any_values || s->values_len > 0;
	o->n_values += s->values_len;
	o->n_timestamps += s->timestamps_len;
	if (s->values_len)
		for (i = 0; i < s->values_len; i++)
			o->sum += (uint64_t)v[i];
	else
		o->sum += s->timestamps_len;
	return idx;
}

/* True when the output sample keeps its parts' values and timestamps rather
 * than collapsing to one summed value: only when asked and when every part
 * has timestamps, since values without timestamps cannot be kept apart. */
static bool keeps_parts(const struct agg *a, const struct agg_sample *o)
{
	return a->keep_timestamps && o->all_timestamps && o->n_timestamps <= UINT32_MAX;
}

/* Pass 1: group profiles and samples, count what each output sample holds. */
static int group_all(struct agg *a, size_t *per_profile)
{
	const struct pf_batch *src = a->src;
	size_t p, j, k = 0;

	for (p = 0; p < src->n_profiles; p++)
		if (group_profile(a, p) < 0)
			return -ENOMEM;
	for (p = 0; p < src->n_profiles; p++) {
		const struct pf_batch_profile *sp = &src->profiles[p];

		for (j = 0; j < sp->n_samples; j++) {
			a->out_of[k] = group_sample(a, p, &sp->samples[j], per_profile);
			if (a->out_of[k++] == PF_INDEX_ERROR)
				return -ENOMEM;
		}
	}
	return 0;
}

/* Sizes the output pools and sample arrays and lays every output sample out. */
static int lay_out(struct agg *a, const size_t *per_profile)
{
	struct pf_batch *out = a->out;
	size_t nv = 0, nt = 0, i;

	for (i = 0; i < out->n_profiles; i++) {
		struct pf_batch_profile *op = &out->profiles[i];

		if (PF_BATCH_RESERVE(op->samples, op->cap_samples, per_profile[i]) < 0)
			return -ENOMEM;
		op->n_samples = per_profile[i];
	}
	for (i = 0; i < a->n_samples; i++) {
		struct agg_sample *o = &a->samples[i];
		struct pf_sample *s = &out->profiles[o->prof].samples[o->slot];

		memset(s, 0, sizeof(*s));
		s->stack = o->stack;
		s->attrs = o->attrs;
		s->link = o->link;
		s->values_off = (uint32_t)nv;
		s->timestamps_off = (uint32_t)nt;
		o->values_at = nv;
		o->timestamps_at = nt;
		if (keeps_parts(a, o)) {
			s->timestamps_len = (uint32_t)o->n_timestamps;
			s->values_len = o->any_values ? s->timestamps_len : 0;
		} else {
			s->values_len = 1;
		}
		nv += s->values_len;
		nt += s->timestamps_len;
		if (nv > PF_BATCH_MAX_POOL || nt > PF_BATCH_MAX_POOL)
			return -ENOMEM;
	}
	if (PF_BATCH_RESERVE(out->values, out->cap_values, nv) < 0 ||
	    PF_BATCH_RESERVE(out->timestamps, out->cap_timestamps, nt) < 0)
		return -ENOMEM;
	out->n_values = nv;
	out->n_timestamps = nt;
	out->n_samples = a->n_samples;
	return 0;
}

/* Pass 2: copies each part's values and timestamps into its output sample. */
static void fill(struct agg *a)
{
	const struct pf_batch *src = a->src;
	struct pf_batch *out = a->out;
	size_t p, j, i, k = 0;

	for (p = 0; p < src->n_profiles; p++) {
		const struct pf_batch_profile *sp = &src->profiles[p];

		for (j = 0; j < sp->n_samples; j++) {
			const struct pf_sample *s = &sp->samples[j];
			struct agg_sample *o = &a->samples[a->out_of[k++]];

			if (!keeps_parts(a, o)) {
				out->values[o->values_at] = (int64_t)o->sum;
				continue;
			}
			memcpy(out->timestamps + o->timestamps_at,
			       pf_batch_sample_timestamps(src, s),
			       s->timestamps_len * sizeof(uint64_t));
			o->timestamps_at += s->timestamps_len;
			if (!o->any_values)
				continue;
			if (s->values_len) {
				memcpy(out->values + o->values_at, pf_batch_sample_values(src, s),
				       s->values_len * sizeof(int64_t));
			} else {
				/* A timestamps-only part counts one per timestamp. */
				for (i = 0; i < s->timestamps_len; i++)
					out->values[o->values_at + i] = 1;
			}
			o->values_at += s->timestamps_len;
		}
	}
}

struct pf_batch *pf_batch_aggregate(const struct pf_batch *src, bool keep_timestamps)
{
	struct pf_batch *ret = NULL;
	size_t *per_profile;
	struct agg a;

	memset(&a, 0, sizeof(a));
	a.src = src;
	a.keep_timestamps = keep_timestamps;
	a.out = pf_batch_alloc_bare();
	if (!a.out)
		return NULL;
	if (pf_batch_copy_dictionary(a.out, src) < 0)
		goto out_unref;
	a.prof_of = calloc(src->n_profiles + 1, sizeof(*a.prof_of));
	if (!a.prof_of)
		goto out_unref;
	per_profile = calloc(src->n_profiles + 1, sizeof(*per_profile));
	if (!per_profile)
		goto out_free_prof_of;
	a.out_of = calloc(src->n_samples + 1, sizeof(*a.out_of));
	if (!a.out_of)
		goto out_free_per_profile;
	if (pf_intern_init(&a.profiles, src->n_profiles) < 0)
		goto out_free_out_of;
	if (pf_intern_init(&a.index, src->n_samples) < 0)
		goto out_free_profiles;
	if (group_all(&a, per_profile) < 0 || lay_out(&a, per_profile) < 0)
		goto out_free_index;
	fill(&a);
	if (src->metadata && !(a.out->metadata = pf_metadata_copy(src->metadata)))
		goto out_free_index;
	ret = a.out;
	a.out = NULL; /* handed to the caller; the ladder frees only the scratch */

out_free_index:
	pf_intern_free(&a.index);
	free(a.samples);
out_free_profiles:
	pf_intern_free(&a.profiles);
out_free_out_of:
	free(a.out_of);
out_free_per_profile:
	free(per_profile);
out_free_prof_of:
	free(a.prof_of);
out_unref:
	pf_batch_unref(a.out);
	return ret;
}
