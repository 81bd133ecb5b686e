// SPDX-License-Identifier: Apache-2.0
/* Splits a batch's profiles into groups that encode as one pprof each. */
#include "formats/pprof/pprof.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * Profiles agreeing on everything but the sample type share a "key". A
 * pprof lists each sample type once, so the i-th profile of a key with a
 * given sample type goes to the i-th group of that key. Three hash tables
 * make this linear even for hostile input with many sample types:
 *   keys:   description -> key id (compared against a representative profile)
 *   counts: (key, type, unit) -> profiles seen so far
 *   groups: (key, rank, -) -> group number
 */

struct entry {
	uint32_t a, b, c; /* the tuple; for `keys`, a is the representative */
	uint32_t val;
	bool used;
};

struct table {
	struct entry *e;
	size_t mask;
};

static int table_init(struct table *t, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	t->e = calloc(cap, sizeof(*t->e));
	t->mask = cap - 1;
	return t->e ? 0 : -ENOMEM;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

/* Profiles that may share one pprof: everything but the sample type agrees. */
static bool same_key(const struct pf_profile_desc *a, const struct pf_profile_desc *b)
{
	return a->resource == b->resource && a->scope == b->scope &&
	       a->period_type.type == b->period_type.type &&
	       a->period_type.unit == b->period_type.unit && a->period == b->period &&
	       a->time_unix_nano == b->time_unix_nano && a->duration_nano == b->duration_nano &&
	       a->attrs == b->attrs;
}

static uint64_t key_hash(const struct pf_profile_desc *d)
{
	uint64_t h = mix(d->resource, d->scope);
	h = mix(h, (uint64_t)d->period_type.type << 32 | d->period_type.unit);
	h = mix(h, (uint64_t)d->period);
	h = mix(h, d->time_unix_nano);
	h = mix(h, d->duration_nano);
	return mix(h, d->attrs);
}

/* The slot of tuple (a, b, c) in t: its entry, or the free slot for it. */
static struct entry *find(struct table *t, uint32_t a, uint32_t b, uint32_t c)
{
	size_t i = (size_t)mix(mix(a, b), c) & t->mask;
	while (t->e[i].used && (t->e[i].a != a || t->e[i].b != b || t->e[i].c != c))
		i = (i + 1) & t->mask;
	return &t->e[i];
}

int pf_pprof_groups(const struct pf_batch *b, uint32_t *group_of)
{
	size_t n = pf_batch_n_profiles(b);
	struct table keys, counts, groups;
	uint32_t n_keys = 0, n_groups = 0;
	int ret = -ENOMEM;

	if (table_init(&keys, n))
		return -ENOMEM;
	if (table_init(&counts, n))
		goto out_free_keys;
	if (table_init(&groups, n))
		goto out_free_counts;
	for (size_t p = 0; p < n; p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, (uint32_t)p);
		size_t i = (size_t)key_hash(d) & keys.mask;
		while (keys.e[i].used && !same_key(pf_batch_profile_get(b, keys.e[i].a), d))
			i = (i + 1) & keys.mask;
		if (!keys.e[i].used)
			keys.e[i] = (struct entry){.a = (uint32_t)p, .val = n_keys++, .used = true};
		uint32_t key = keys.e[i].val;

		struct entry *c = find(&counts, key, d->sample_type.type, d->sample_type.unit);
		if (!c->used)
			*c = (struct entry){.a = key,
					    .b = d->sample_type.type,
					    .c = d->sample_type.unit,
					    .used = true};
		uint32_t rank = c->val++;

		struct entry *g = find(&groups, key, rank, 0);
		if (!g->used)
			*g = (struct entry){.a = key, .b = rank, .val = n_groups++, .used = true};
		group_of[p] = g->val;
	}
	ret = (int)n_groups;

	free(groups.e);
out_free_counts:
	free(counts.e);
out_free_keys:
	free(keys.e);
	return ret;
}

int pf_pprof_each_group_of(const uint32_t *group_of, size_t n, size_t first, uint32_t n_groups,
			   pf_pprof_group_fn fn, void *arg)
{
	uint32_t *start = calloc((size_t)n_groups + 1, sizeof(*start));
	uint32_t *order = calloc(n ? n : 1, sizeof(*order));
	int rc = -ENOMEM;

	if (!start || !order)
		goto out_free;
	/* a counting sort: group g's profiles are order[start[g] .. start[g + 1]) */
	for (size_t i = 0; i < n; i++)
		start[group_of[i] + 1]++;
	for (uint32_t g = 0; g < n_groups; g++)
		start[g + 1] += start[g];
	for (size_t i = 0; i < n; i++)
		order[start[group_of[i]]++] = (uint32_t)(first + i);
	memmove(start + 1, start, (size_t)n_groups * sizeof(*start));
	start[0] = 0;
	rc = 0;
	for (uint32_t g = 0; g < n_groups && rc == 0; g++)
		if (start[g + 1] > start[g])
			rc = fn(arg, order + start[g], start[g + 1] - start[g]);

out_free:
	free(order);
	free(start);
	return rc;
}

int pf_pprof_each_group(const struct pf_batch *b, pf_pprof_group_fn fn, void *arg)
{
	size_t n = pf_batch_n_profiles(b);
	uint32_t *group_of;
	int n_groups, rc;

	if (n == 0)
		return 0;
	group_of = calloc(n, sizeof(*group_of));
	if (!group_of)
		return -ENOMEM;
	n_groups = pf_pprof_groups(b, group_of);
	rc = n_groups < 0 ? n_groups
			  : pf_pprof_each_group_of(group_of, n, 0, (uint32_t)n_groups, fn, arg);
	free(group_of);
	return rc;
}
