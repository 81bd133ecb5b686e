// SPDX-License-Identifier: Apache-2.0
/* Merges a batch's profiles across processes, resource attributes moved onto the samples (group_by: none). */
#include "merge.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A merged profile: the key its parts share and its index in the new batch. */
struct target {
	struct pf_value_type sample_type, period_type;
	int64_t period;
	uint32_t profile;
	uint32_t group;
};

static bool same_period(const struct target *t, const struct pf_profile_desc *d)
{
	return t->period_type.type == d->period_type.type &&
	       t->period_type.unit == d->period_type.unit && t->period == d->period;
}

/* The target of d, added to t[0..*n) when new. Linear: a batch holds a few
 * sample types, whatever its number of processes. */
static struct target *target_of(struct target *t, size_t *n, const struct pf_profile_desc *d)
{
	uint32_t group = 0, n_groups = 0;
	bool found = false;

	for (size_t i = 0; i < *n; i++) {
		if (same_period(&t[i], d) && t[i].sample_type.type == d->sample_type.type &&
		    t[i].sample_type.unit == d->sample_type.unit)
			return &t[i];
		if (!found && same_period(&t[i], d)) {
			group = t[i].group;
			found = true;
		}
		if (t[i].group + 1 > n_groups)
			n_groups = t[i].group + 1;
	}
	t[*n] = (struct target){.sample_type = d->sample_type,
				.period_type = d->period_type,
				.period = d->period,
				.group = found ? group : n_groups};
	return &t[(*n)++];
}

/* Appends the samples of src's profile p to merged profile `to` of b. */
static int add_samples(struct pf_batch *b, const struct pf_batch *src, uint32_t p, uint32_t to,
		       uint32_t **buf, size_t *cap)
{
	const struct pf_profile_desc *d = pf_batch_profile_get(src, p);
	size_t n_res = 0, n = 0;
	const uint32_t *res =
		pf_batch_attr_set_get(src, pf_batch_resource_get(src, d->resource)->attrs, &n_res);
	const struct pf_sample *s = pf_batch_samples(src, p, &n);

	for (size_t i = 0; i < n; i++) {
		size_t n_own = 0;
		const uint32_t *own = pf_batch_attr_set_get(src, s[i].attrs, &n_own);

		if (n_own + n_res > *cap) {
			uint32_t *grown = reallocarray(*buf, n_own + n_res, sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			*buf = grown;
			*cap = n_own + n_res;
		}
		if (n_own)
			memcpy(*buf, own, n_own * sizeof(**buf));
		if (n_res)
			memcpy(*buf + n_own, res, n_res * sizeof(**buf));
		uint32_t set = pf_batch_attr_set(b, *buf, n_own + n_res);
		if (set == PF_INDEX_ERROR)
			return -ENOMEM;
		int err = pf_batch_add_sample(b, to, s[i].stack, set, s[i].link,
					      pf_batch_sample_values(src, &s[i]), s[i].values_len,
					      pf_batch_sample_timestamps(src, &s[i]),
					      s[i].timestamps_len);
		if (err < 0)
			return err;
	}
	return 0;
}

struct pf_batch *pf_pprof_merge(const struct pf_batch *src, uint32_t *groups, size_t *n_merged)
{
	size_t np = pf_batch_n_profiles(src), nt = 0, cap = 0;
	uint64_t start = UINT64_MAX, end = 0;
	struct target *t, **of;
	uint32_t *buf = NULL;
	struct pf_batch *b;

	*n_merged = 0;
	b = pf_batch_copy(src);
	t = calloc(np ? np : 1, sizeof(*t));
	of = calloc(np ? np : 1, sizeof(*of));
	if (!b || !t || !of)
		goto out_fail;
	for (uint32_t p = 0; p < np; p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(src, p);

		of[p] = target_of(t, &nt, d);
		if (d->time_unix_nano && d->time_unix_nano < start)
			start = d->time_unix_nano;
		if (d->time_unix_nano + d->duration_nano > end)
			end = d->time_unix_nano + d->duration_nano;
	}
	if (start == UINT64_MAX)
		start = end = 0;
	for (size_t i = 0; i < nt; i++) {
		struct pf_profile_desc d = {.sample_type = t[i].sample_type,
					    .period_type = t[i].period_type,
					    .period = t[i].period,
					    .time_unix_nano = start,
					    .duration_nano = end > start ? end - start : 0};

		t[i].profile = pf_batch_add_profile(b, &d);
		if (t[i].profile == PF_INDEX_ERROR)
			goto out_fail;
		groups[i] = t[i].group;
	}
	for (uint32_t p = 0; p < np; p++)
		if (add_samples(b, src, p, of[p]->profile, &buf, &cap) < 0)
			goto out_fail;
	*n_merged = nt;
	goto out_free;

out_fail:
	pf_batch_unref(b);
	b = NULL;
out_free:
	free(buf);
	free(of);
	free(t);
	return b;
}
