// SPDX-License-Identifier: Apache-2.0
/* Splits a batch's profiles into groups that encode as one pprof each. */
#include "formats/pprof/pprof.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

/* Profiles that may share one pprof: everything but the sample type agrees. */
static bool same_group(const struct pf_profile_desc *a, const struct pf_profile_desc *b)
{
	return a->resource == b->resource && a->scope == b->scope &&
	       a->period_type.type == b->period_type.type &&
	       a->period_type.unit == b->period_type.unit && a->period == b->period &&
	       a->time_unix_nano == b->time_unix_nano && a->duration_nano == b->duration_nano &&
	       a->attrs == b->attrs;
}

/* A pprof lists each sample type once: a profile whose sample type the
 * group already has starts, or joins, a later group. */
static bool has_type(const struct pf_batch *b, const uint32_t *group_of, uint32_t g, size_t upto,
		     const struct pf_value_type *t)
{
	for (size_t q = 0; q < upto; q++) {
		if (group_of[q] != g)
			continue;
		const struct pf_profile_desc *d = pf_batch_profile_get(b, (uint32_t)q);
		if (d->sample_type.type == t->type && d->sample_type.unit == t->unit)
			return true;
	}
	return false;
}

int pf_pprof_groups(const struct pf_batch *b, uint32_t *group_of)
{
	size_t n = pf_batch_n_profiles(b);
	/* first[g]: the first profile of group g, whose description the group has. */
	uint32_t *first = calloc(n + 1, sizeof(*first));
	uint32_t n_groups = 0;

	if (!first)
		return -ENOMEM;
	for (size_t p = 0; p < n; p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, (uint32_t)p);
		uint32_t g = 0;
		for (; g < n_groups; g++) {
			const struct pf_profile_desc *f = pf_batch_profile_get(b, first[g]);
			if (same_group(f, d) && !has_type(b, group_of, g, p, &d->sample_type))
				break;
		}
		if (g == n_groups)
			first[n_groups++] = (uint32_t)p;
		group_of[p] = g;
	}
	free(first);
	return (int)n_groups;
}
