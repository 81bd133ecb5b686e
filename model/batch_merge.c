/* SPDX-License-Identifier: Apache-2.0 */
/* Merging one batch into another by re-indexing its dictionary. */
#include "model/batch.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/batch_internal.h"
#include "model/metadata.h"

/* src index -> dst index, one array per table, in one allocation. */
struct merge_maps {
	uint32_t *str, *strs, *attr, *set, *fn, *map, *loc, *stack, *link, *res, *scope;
	uint32_t *all;
	struct pf_batch_scratch buf;
};

static int maps_alloc(struct merge_maps *m, const struct pf_batch *src)
{
	const size_t n[] = {src->strings.n,   src->string_lists.n, src->attributes.n,
			    src->attr_sets.n, src->functions.n,	   src->mappings.n,
			    src->locations.n, src->stacks.n,	   src->links.n,
			    src->resources.n, src->scopes.n};
	uint32_t **dst[] = {&m->str, &m->strs,	&m->attr, &m->set, &m->fn,   &m->map,
			    &m->loc, &m->stack, &m->link, &m->res, &m->scope};
	size_t total = 0, i;

	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		total += n[i]; /* each is below 2^32, there are 11 */
	/* Not zeroed: every entry is written before it is read. */
	m->all = malloc(total * sizeof(*m->all));
	if (!m->all)
		return -ENOMEM;
	total = 0;
	for (i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		*dst[i] = m->all + total;
		total += n[i];
	}
	return 0;
}

static void maps_free(struct merge_maps *m)
{
	free(m->all);
	free(m->buf.items);
	free(m->buf.lines);
}

static int merge_strings(struct pf_batch *dst, const struct pf_batch *src, struct merge_maps *m)
{
	int rc = pf_batch_remap_strings(dst, src, m->str);

	if (rc < 0)
		return rc;
	return pf_batch_remap_lists(&dst->string_lists, dst->seed, &src->string_lists, m->str,
				    m->strs, &m->buf);
}

static int merge_attributes(struct pf_batch *dst, const struct pf_batch *src, struct merge_maps *m)
{
	size_t i;

	for (i = 0; i < src->attributes.n; i++) {
		struct pf_attribute a = *pf_batch_attribute_get(src, (uint32_t)i);

		a.key = m->str[a.key];
		a.unit = m->str[a.unit];
		if (a.value.kind == PF_VALUE_STRING)
			a.value.u.str = m->str[a.value.u.str];
		else if (a.value.kind == PF_VALUE_STRINGS)
			a.value.u.strs = m->strs[a.value.u.strs];
		m->attr[i] = pf_batch_attribute(dst, &a);
		if (m->attr[i] == PF_INDEX_ERROR)
			return -ENOMEM;
	}
	return pf_batch_remap_lists(&dst->attr_sets, dst->seed, &src->attr_sets, m->attr, m->set,
				    &m->buf);
}

static int merge_code(struct pf_batch *dst, const struct pf_batch *src, struct merge_maps *m)
{
	const struct pf_batch_location_maps lm = {m->fn, m->map, m->set};
	size_t i;
	int rc;

	rc = pf_batch_remap_functions(dst, src, m->str, m->fn);
	if (rc < 0)
		return rc;
	for (i = 0; i < src->mappings.n; i++) {
		struct pf_mapping mp = *pf_batch_mapping_get(src, (uint32_t)i);

		mp.filename = m->str[mp.filename];
		mp.attrs = m->set[mp.attrs];
		if ((m->map[i] = pf_batch_mapping(dst, &mp)) == PF_INDEX_ERROR)
			return -ENOMEM;
	}
	rc = pf_batch_remap_locations(dst, src, &lm, m->loc, &m->buf);
	if (rc < 0)
		return rc;
	return pf_batch_remap_lists(&dst->stacks, dst->seed, &src->stacks, m->loc, m->stack,
				    &m->buf);
}

static int merge_context(struct pf_batch *dst, const struct pf_batch *src, struct merge_maps *m)
{
	size_t i;

	for (i = 0; i < src->links.n; i++)
		if ((m->link[i] = pf_batch_link(dst, pf_batch_link_get(src, (uint32_t)i))) ==
		    PF_INDEX_ERROR)
			return -ENOMEM;
	for (i = 0; i < src->resources.n; i++) {
		struct pf_resource r = *pf_batch_resource_get(src, (uint32_t)i);

		r.attrs = m->set[r.attrs];
		r.schema_url = m->str[r.schema_url];
		if ((m->res[i] = pf_batch_resource(dst, &r)) == PF_INDEX_ERROR)
			return -ENOMEM;
	}
	for (i = 0; i < src->scopes.n; i++) {
		struct pf_scope s = *pf_batch_scope_get(src, (uint32_t)i);

		s.name = m->str[s.name];
		s.version = m->str[s.version];
		s.attrs = m->set[s.attrs];
		s.schema_url = m->str[s.schema_url];
		if ((m->scope[i] = pf_batch_scope(dst, &s)) == PF_INDEX_ERROR)
			return -ENOMEM;
	}
	return 0;
}

/* A src profile description with its indices re-indexed into dst. */
static struct pf_profile_desc remap_desc(const struct pf_profile_desc *in,
					 const struct merge_maps *m)
{
	struct pf_profile_desc d = *in;

	d.resource = m->res[d.resource];
	d.scope = m->scope[d.scope];
	d.sample_type.type = m->str[d.sample_type.type];
	d.sample_type.unit = m->str[d.sample_type.unit];
	d.period_type.type = m->str[d.period_type.type];
	d.period_type.unit = m->str[d.period_type.unit];
	d.attrs = m->set[d.attrs];
	d.original_payload_format = m->str[d.original_payload_format];
	return d;
}

/* Appends the samples of src profile sp to dst profile dp, re-indexed.
 * They were checked when src took them, and the maps give valid dst
 * indices, so this only copies: room for all of them first, then no
 * per-sample checks (pf_batch_add_sample's were a third of a merge). */
static int copy_samples(struct pf_batch *dst, struct pf_batch_profile *dp,
			const struct pf_batch *src, const struct pf_batch_profile *sp,
			const struct merge_maps *m)
{
	size_t nv = 0, nt = 0, j;

	for (j = 0; j < sp->n_samples; j++) {
		nv += sp->samples[j].values_len;
		nt += sp->samples[j].timestamps_len;
	}
	if (nv > PF_BATCH_MAX_POOL - dst->n_values || nt > PF_BATCH_MAX_POOL - dst->n_timestamps)
		return -ENOMEM;
	if (PF_BATCH_RESERVE(dp->samples, dp->cap_samples, dp->n_samples + sp->n_samples) < 0 ||
	    PF_BATCH_RESERVE(dst->values, dst->cap_values, dst->n_values + nv) < 0 ||
	    PF_BATCH_RESERVE(dst->timestamps, dst->cap_timestamps, dst->n_timestamps + nt) < 0)
		return -ENOMEM;
	for (j = 0; j < sp->n_samples; j++) {
		const struct pf_sample *s = &sp->samples[j];
		struct pf_sample *d = &dp->samples[dp->n_samples++];

		*d = *s;
		d->stack = m->stack[s->stack];
		d->attrs = m->set[s->attrs];
		d->link = m->link[s->link];
		d->values_off = (uint32_t)dst->n_values;
		d->timestamps_off = (uint32_t)dst->n_timestamps;
		if (s->values_len)
			memcpy(dst->values + dst->n_values, src->values + s->values_off,
			       s->values_len * sizeof(*dst->values));
		if (s->timestamps_len)
			memcpy(dst->timestamps + dst->n_timestamps,
			       src->timestamps + s->timestamps_off,
			       s->timestamps_len * sizeof(*dst->timestamps));
		dst->n_values += s->values_len;
		dst->n_timestamps += s->timestamps_len;
	}
	dst->n_samples += sp->n_samples;
	return 0;
}

static int merge_profiles(struct pf_batch *dst, const struct pf_batch *src,
			  const struct merge_maps *m)
{
	size_t i;
	int rc;

	for (i = 0; i < src->n_profiles; i++) {
		const struct pf_batch_profile *sp = &src->profiles[i];
		struct pf_profile_desc d = remap_desc(&sp->desc, m);
		struct pf_batch_profile *dp;
		uint32_t p;

		p = pf_batch_add_profile(dst, &d);
		if (p == PF_INDEX_ERROR)
			return -ENOMEM;
		dp = &dst->profiles[p];
		rc = copy_samples(dst, dp, src, sp, m);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* True when b holds only its zero entries and no profiles. */
static bool is_pristine(const struct pf_batch *b)
{
	return b->strings.n == 1 && b->string_lists.n == 1 && b->attr_sets.n == 1 &&
	       b->stacks.n == 1 && b->attributes.n == 1 && b->functions.n == 1 &&
	       b->mappings.n == 1 && b->locations.n == 1 && b->links.n == 1 &&
	       b->resources.n == 1 && b->scopes.n == 1 && b->n_profiles == 0;
}

/* True when every table of b was built by interning, so b holds no
 * duplicates (see pf_batch_append_string()). */
static bool fully_interned(const struct pf_batch *b)
{
	return b->strings.indexed == b->strings.n && b->functions.indexed == b->functions.n &&
	       b->locations.indexed == b->locations.n && b->stacks.indexed == b->stacks.n;
}

/* Merging into an empty batch is a copy, which needs no hashing: build it
 * aside, then swap contents so dst keeps its identity and references. */
static int merge_into_pristine(struct pf_batch *dst, const struct pf_batch *src)
{
	struct pf_batch *c = pf_batch_copy(src), tmp;
	unsigned refs;

	if (!c)
		return -ENOMEM;
	refs = atomic_load(&dst->refs);
	memcpy(&tmp, dst, sizeof(tmp));
	memcpy(dst, c, sizeof(*dst));
	memcpy(c, &tmp, sizeof(*c));
	atomic_store(&dst->refs, refs);
	atomic_store(&c->refs, 1);
	pf_batch_unref(c);
	return 0;
}

/* Re-indexes src's dictionary into dst's, filling the maps. */
static int merge_dictionary(struct pf_batch *dst, const struct pf_batch *src, struct merge_maps *m)
{
	int rc;

	/* Dependencies first: each table refers only to tables merged before it. */
	rc = merge_strings(dst, src, m);
	if (rc == 0)
		rc = merge_attributes(dst, src, m);
	if (rc == 0)
		rc = merge_code(dst, src, m);
	if (rc == 0)
		rc = merge_context(dst, src, m);
	return rc;
}

/* Keeps in dst only the client metadata src agrees on. */
static void merge_metadata(struct pf_batch *dst, const struct pf_batch *src)
{
	if (dst->metadata) {
		pf_metadata_intersect(dst->metadata, src->metadata);
		if (pf_metadata_n(dst->metadata) == 0)
			pf_batch_set_metadata(dst, NULL);
	}
}

int pf_batch_merge(struct pf_batch *dst, const struct pf_batch *src)
{
	struct merge_maps m;
	int rc;

	assert(dst != src);
	assert(!pf_batch_is_shared(dst));
	/* A copy would keep a decoded batch's duplicates; merging maps them to one. */
	if (is_pristine(dst) && fully_interned(src))
		return merge_into_pristine(dst, src);
	memset(&m, 0, sizeof(m));
	rc = maps_alloc(&m, src);
	if (rc < 0)
		return rc;
	rc = merge_dictionary(dst, src, &m);
	if (rc == 0)
		rc = merge_profiles(dst, src, &m);
	maps_free(&m);
	merge_metadata(dst, src);
	return rc;
}

/* What makes a sample of the summed batch distinct. */
struct sum_key {
	uint32_t prof, stack, attrs, link;
};

/* Every distinct sample of the summed batch has one value, appended when
 * the sample is, so the i-th of them has value dst->values[i] and key
 * keys[i]: a lookup needs neither dst's profiles nor its samples, and the
 * value to add to is known as soon as the index is read. */
struct pf_batch_sums {
	struct pf_intern profiles; /* dst profiles by description */
	struct pf_intern samples;  /* entries of `keys` */
	struct sum_key *keys;
	size_t n_keys, cap_keys;
};

struct pf_batch_sums *pf_batch_sums_new(void)
{
	struct pf_batch_sums *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (pf_intern_init(&s->profiles, 4) < 0 || pf_intern_init(&s->samples, 64) < 0) {
		pf_batch_sums_free(s);
		return NULL;
	}
	return s;
}

void pf_batch_sums_free(struct pf_batch_sums *s)
{
	if (!s)
		return;
	pf_intern_free(&s->profiles);
	pf_intern_free(&s->samples);
	free(s->keys);
	free(s);
}

static bool sum_profile_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_batch *dst = ctx;

	return pf_batch_desc_eq(&dst->profiles[idx].desc, key);
}

static bool sum_sample_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct sum_key *a = (const struct sum_key *)ctx + idx, *k = key;

	return a->prof == k->prof && a->stack == k->stack && a->attrs == k->attrs &&
	       a->link == k->link;
}

/* dst's profile for src profile description d (re-indexed), appended when
 * new, its time range widened otherwise. PF_INDEX_ERROR on ENOMEM. */
static uint32_t sum_profile(struct pf_batch *dst, struct pf_batch_sums *sums,
			    const struct pf_profile_desc *d)
{
	uint32_t h = pf_batch_desc_hash(dst->seed, d), idx;
	size_t pos = 0;

	if (pf_intern_reserve(&sums->profiles, 1) < 0)
		return PF_INDEX_ERROR;
	idx = pf_intern_find(&sums->profiles, h, sum_profile_eq, dst, d, &pos);
	if (idx != PF_INTERN_EMPTY) {
		pf_batch_desc_widen(&dst->profiles[idx].desc, d);
		return idx;
	}
	idx = pf_batch_add_profile(dst, d);
	if (idx != PF_INDEX_ERROR)
		pf_intern_put(&sums->profiles, pos, h, idx);
	return idx;
}

/* A sample's weight as pf_batch_aggregate() sums it: its values added in
 * two's complement, or one per timestamp when it has none. */
static uint64_t sum_weight(const struct pf_batch *src, const struct pf_sample *s)
{
	const int64_t *v = src->values + s->values_off;
	uint64_t sum = 0;

	if (!s->values_len)
		return s->timestamps_len;
	for (uint32_t i = 0; i < s->values_len; i++)
		sum += (uint64_t)v[i];
	return sum;
}

static struct sum_key sum_key_of(uint32_t p, const struct pf_sample *s, const struct merge_maps *m)
{
	struct sum_key k = {p, m->stack[s->stack], m->set[s->attrs], m->link[s->link]};

	return k;
}

static uint32_t sum_hash(uint64_t seed, const struct sum_key *k)
{
	return pf_batch_sample_hash(seed, k->prof, k->stack, k->attrs, k->link);
}

/* Adds the samples of src profile sp into dst profile p, re-indexed. Room
 * for all of them to be new is made first, so each then either adds its
 * weight to an existing sample or appends one without further checks. Keys
 * are hashed ahead of their lookups, as the remaps do. */
static int sum_samples(struct pf_batch *dst, uint32_t p, struct pf_batch_sums *sums,
		       const struct pf_batch *src, const struct pf_batch_profile *sp,
		       const struct merge_maps *m)
{
	struct pf_batch_profile *dp = &dst->profiles[p];
	size_t n = sp->n_samples, pos = 0;
	struct sum_key key[PF_BATCH_AHEAD];
	uint32_t hash[PF_BATCH_AHEAD];

	assert(dst->n_values == sums->n_keys); /* see struct pf_batch_sums */
	if (n > PF_BATCH_MAX_POOL - dst->n_values || n >= PF_INTERN_EMPTY - sums->n_keys)
		return -ENOMEM;
	if (PF_BATCH_RESERVE(dp->samples, dp->cap_samples, dp->n_samples + n) < 0 ||
	    PF_BATCH_RESERVE(dst->values, dst->cap_values, dst->n_values + n) < 0 ||
	    PF_BATCH_RESERVE(sums->keys, sums->cap_keys, sums->n_keys + n) < 0 ||
	    pf_intern_reserve(&sums->samples, n) < 0)
		return -ENOMEM;
	for (size_t i = 0, end; i < n; i = end) {
		end = pf_batch_ahead_end(i, n);
		for (size_t j = i; j < end; j++) {
			key[j - i] = sum_key_of(p, &sp->samples[j], m);
			hash[j - i] = sum_hash(dst->seed, &key[j - i]);
			pf_intern_prefetch(&sums->samples, hash[j - i]);
		}
		for (size_t j = i; j < end; j++) {
			const struct pf_sample *s = &sp->samples[j];
			const struct sum_key *k = &key[j - i];
			uint32_t h = hash[j - i], idx;
			struct pf_sample *d;

			idx = pf_intern_find(&sums->samples, h, sum_sample_eq, sums->keys, k, &pos);
			if (idx != PF_INTERN_EMPTY) {
				dst->values[idx] =
					(int64_t)((uint64_t)dst->values[idx] + sum_weight(src, s));
				continue;
			}
			d = &dp->samples[dp->n_samples++];
			memset(d, 0, sizeof(*d));
			d->stack = k->stack;
			d->attrs = k->attrs;
			d->link = k->link;
			d->values_len = 1;
			d->values_off = (uint32_t)dst->n_values;
			d->timestamps_off = (uint32_t)dst->n_timestamps;
			dst->values[dst->n_values++] = (int64_t)sum_weight(src, s);
			sums->keys[sums->n_keys] = *k;
			pf_intern_put(&sums->samples, pos, h, (uint32_t)sums->n_keys++);
			dst->n_samples++;
		}
	}
	return 0;
}

static int sum_profiles(struct pf_batch *dst, struct pf_batch_sums *sums,
			const struct pf_batch *src, struct merge_maps *m)
{
	for (size_t i = 0; i < src->n_profiles; i++) {
		struct pf_profile_desc d = remap_desc(&src->profiles[i].desc, m);
		uint32_t p;
		int rc;

		p = sum_profile(dst, sums, &d);
		if (p == PF_INDEX_ERROR)
			return -ENOMEM;
		rc = sum_samples(dst, p, sums, src, &src->profiles[i], m);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int pf_batch_merge_sum(struct pf_batch *dst, const struct pf_batch *src, struct pf_batch_sums *sums)
{
	struct merge_maps m;
	int rc;

	assert(dst != src);
	assert(!pf_batch_is_shared(dst));
	if (is_pristine(dst) && !dst->metadata && src->metadata &&
	    !(dst->metadata = pf_metadata_copy(src->metadata)))
		return -ENOMEM;
	memset(&m, 0, sizeof(m));
	rc = maps_alloc(&m, src);
	if (rc < 0)
		return rc;
	rc = merge_dictionary(dst, src, &m);
	if (rc == 0)
		rc = sum_profiles(dst, sums, src, &m);
	maps_free(&m);
	merge_metadata(dst, src);
	return rc;
}
