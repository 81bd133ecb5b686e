/* SPDX-License-Identifier: Apache-2.0 */
/* The batch's lifetime, copies, profiles, samples and read accessors. */
#include "model/batch.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "model/batch_internal.h"
#include "model/metadata.h"

/* A pprof sample with N value types costs N of these: keep them small. */
_Static_assert(sizeof(struct pf_sample) == 32, "struct pf_sample grew");

void *pf_batch_grow(void *p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return NULL;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elem)
		return NULL;
	np = realloc(p, ncap * elem);
	if (!np)
		return NULL;
	*cap = ncap;
	return np;
}

struct pf_batch *pf_batch_alloc_bare(void)
{
	struct pf_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	return b;
}

/* A hash seed nobody outside can predict; getrandom() rarely fails, and the
 * fallback still differs per batch and per nanosecond. */
static uint64_t new_seed(const struct pf_batch *b)
{
	struct timespec ts;
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ (uintptr_t)b;
}

struct pf_batch *pf_batch_new(void)
{
	struct pf_batch *b = pf_batch_alloc_bare();

	if (!b)
		return NULL;
	b->seed = new_seed(b);
	if (pf_batch_init_tables(b) < 0) {
		pf_batch_unref(b);
		return NULL;
	}
	return b;
}

static int table_reserve(struct pf_batch_table *t, size_t more, size_t elem)
{
	if (more > PF_BATCH_MAX_ENTRIES - t->n)
		return -ENOMEM;
	if (t->n + more > t->cap) {
		void *p = pf_batch_grow(t->items, &t->cap, t->n + more, elem);

		if (!p)
			return -ENOMEM;
		t->items = p;
	}
	return 0;
}

static int lists_reserve(struct pf_batch_lists *l, size_t more, size_t items)
{
	if (more > PF_BATCH_MAX_ENTRIES - l->n || items > PF_BATCH_MAX_POOL - l->items_len)
		return -ENOMEM;
	if (PF_BATCH_RESERVE(l->off, l->off_cap, l->n + 1 + more) < 0 ||
	    PF_BATCH_RESERVE(l->items, l->items_cap, l->items_len + items) < 0)
		return -ENOMEM;
	return 0;
}

int pf_batch_reserve(struct pf_batch *b, const struct pf_batch_sizes *more)
{
	struct pf_batch_strings *t = &b->strings;

	assert(!pf_batch_is_shared(b));
	if (more->strings > PF_BATCH_MAX_ENTRIES - t->n ||
	    more->string_bytes > PF_BATCH_MAX_POOL - t->chars_len ||
	    more->lines > PF_BATCH_MAX_POOL - b->n_lines ||
	    more->values > PF_BATCH_MAX_POOL - b->n_values ||
	    more->timestamps > PF_BATCH_MAX_POOL - b->n_timestamps)
		return -ENOMEM;
	if (PF_BATCH_RESERVE(t->chars, t->chars_cap, t->chars_len + more->string_bytes) < 0 ||
	    PF_BATCH_RESERVE(t->off, t->off_cap, t->n + 1 + more->strings) < 0 ||
	    table_reserve(&b->functions, more->functions, sizeof(struct pf_function)) < 0 ||
	    table_reserve(&b->locations, more->locations, sizeof(struct pf_location)) < 0 ||
	    PF_BATCH_RESERVE(b->lines, b->cap_lines, b->n_lines + more->lines) < 0 ||
	    lists_reserve(&b->stacks, more->stacks, more->stack_items) < 0 ||
	    PF_BATCH_RESERVE(b->values, b->cap_values, b->n_values + more->values) < 0 ||
	    PF_BATCH_RESERVE(b->timestamps, b->cap_timestamps, b->n_timestamps + more->timestamps) <
		    0)
		return -ENOMEM;
	return 0;
}

struct pf_batch *pf_batch_ref(struct pf_batch *b)
{
	atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
	return b;
}

static void table_free(struct pf_batch_table *t)
{
	free(t->items);
	pf_intern_free(&t->index);
}

static void lists_free(struct pf_batch_lists *l)
{
	free(l->items);
	free(l->off);
	pf_intern_free(&l->index);
}

static void batch_free(struct pf_batch *b)
{
	size_t i;

	free(b->strings.chars);
	free(b->strings.off);
	pf_intern_free(&b->strings.index);
	lists_free(&b->string_lists);
	lists_free(&b->attr_sets);
	lists_free(&b->stacks);
	table_free(&b->attributes);
	table_free(&b->functions);
	table_free(&b->mappings);
	table_free(&b->locations);
	table_free(&b->links);
	table_free(&b->resources);
	table_free(&b->scopes);
	free(b->lines);
	for (i = 0; i < b->n_profiles; i++)
		free(b->profiles[i].samples);
	free(b->profiles);
	free(b->values);
	free(b->timestamps);
	pf_metadata_free(b->metadata);
	free(b);
}

void pf_batch_unref(struct pf_batch *b)
{
	if (!b)
		return;
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
		batch_free(b);
}

bool pf_batch_is_shared(const struct pf_batch *b)
{
	return atomic_load_explicit(&((struct pf_batch *)b)->refs, memory_order_acquire) > 1;
}

/* Copies n elements of `elem` bytes into a new array of exactly that size
 * (at least one element so NULL means failure); 0 or -ENOMEM. */
static int dup_array(void **dst, size_t *dst_cap, const void *src, size_t n, size_t elem)
{
	size_t cap = n ? n : 1;

	*dst = malloc(cap * elem); /* n * elem is held by src, so it cannot overflow */
	if (!*dst)
		return -ENOMEM;
	if (n)
		memcpy(*dst, src, n * elem);
	if (dst_cap)
		*dst_cap = cap;
	return 0;
}

static int table_copy(struct pf_batch_table *dst, const struct pf_batch_table *src, size_t elem)
{
	if (dup_array(&dst->items, &dst->cap, src->items, src->n, elem) < 0)
		return -ENOMEM;
	dst->n = src->n;
	dst->indexed = src->indexed;
	return pf_intern_copy(&dst->index, &src->index);
}

static int lists_copy(struct pf_batch_lists *dst, const struct pf_batch_lists *src)
{
	void *p;

	if (dup_array(&p, &dst->items_cap, src->items, src->items_len, sizeof(*src->items)) < 0)
		return -ENOMEM;
	dst->items = p;
	dst->items_len = src->items_len;
	if (dup_array(&p, &dst->off_cap, src->off, src->n + 1, sizeof(*src->off)) < 0)
		return -ENOMEM;
	dst->off = p;
	dst->n = src->n;
	dst->indexed = src->indexed;
	return pf_intern_copy(&dst->index, &src->index);
}

int pf_batch_copy_dictionary(struct pf_batch *dst, const struct pf_batch *src)
{
	const struct pf_batch_strings *ss = &src->strings;
	struct pf_batch_strings *ds = &dst->strings;
	void *p;

	dst->seed = src->seed; /* the copied indexes were hashed with it */

	if (dup_array(&p, &ds->chars_cap, ss->chars, ss->chars_len, 1) < 0)
		return -ENOMEM;
	ds->chars = p;
	ds->chars_len = ss->chars_len;
	if (dup_array(&p, &ds->off_cap, ss->off, ss->n + 1, sizeof(*ss->off)) < 0)
		return -ENOMEM;
	ds->off = p;
	ds->n = ss->n;
	ds->indexed = ss->indexed;
	if (pf_intern_copy(&ds->index, &ss->index) < 0)
		return -ENOMEM;
	if (lists_copy(&dst->string_lists, &src->string_lists) < 0 ||
	    lists_copy(&dst->attr_sets, &src->attr_sets) < 0 ||
	    lists_copy(&dst->stacks, &src->stacks) < 0)
		return -ENOMEM;
	if (table_copy(&dst->attributes, &src->attributes, sizeof(struct pf_attribute)) < 0 ||
	    table_copy(&dst->functions, &src->functions, sizeof(struct pf_function)) < 0 ||
	    table_copy(&dst->mappings, &src->mappings, sizeof(struct pf_mapping)) < 0 ||
	    table_copy(&dst->locations, &src->locations, sizeof(struct pf_location)) < 0 ||
	    table_copy(&dst->links, &src->links, sizeof(struct pf_link)) < 0 ||
	    table_copy(&dst->resources, &src->resources, sizeof(struct pf_resource)) < 0 ||
	    table_copy(&dst->scopes, &src->scopes, sizeof(struct pf_scope)) < 0)
		return -ENOMEM;
	if (dup_array(&p, &dst->cap_lines, src->lines, src->n_lines, sizeof(*src->lines)) < 0)
		return -ENOMEM;
	dst->lines = p;
	dst->n_lines = src->n_lines;
	return 0;
}

static int copy_samples(struct pf_batch *dst, const struct pf_batch *src)
{
	void *p;
	size_t i;

	if (dup_array(&p, &dst->cap_values, src->values, src->n_values, sizeof(*src->values)) < 0)
		return -ENOMEM;
	dst->values = p;
	dst->n_values = src->n_values;
	if (dup_array(&p, &dst->cap_timestamps, src->timestamps, src->n_timestamps,
		      sizeof(*src->timestamps)) < 0)
		return -ENOMEM;
	dst->timestamps = p;
	dst->n_timestamps = src->n_timestamps;
	dst->profiles = calloc(src->n_profiles ? src->n_profiles : 1, sizeof(*dst->profiles));
	if (!dst->profiles)
		return -ENOMEM;
	dst->cap_profiles = src->n_profiles ? src->n_profiles : 1;
	for (i = 0; i < src->n_profiles; i++) {
		const struct pf_batch_profile *sp = &src->profiles[i];
		struct pf_batch_profile *dp = &dst->profiles[i];

		dp->desc = sp->desc;
		dst->n_profiles = i + 1; /* so a failure below frees what was copied */
		if (dup_array(&p, &dp->cap_samples, sp->samples, sp->n_samples,
			      sizeof(*sp->samples)) < 0)
			return -ENOMEM;
		dp->samples = p;
		dp->n_samples = sp->n_samples;
	}
	dst->n_samples = src->n_samples;
	return 0;
}

struct pf_batch *pf_batch_copy(const struct pf_batch *b)
{
	struct pf_batch *c = pf_batch_alloc_bare();

	if (!c)
		return NULL;
	if (pf_batch_copy_dictionary(c, b) < 0)
		goto out_unref;
	if (copy_samples(c, b) < 0)
		goto out_unref;
	if (b->metadata && !(c->metadata = pf_metadata_copy(b->metadata)))
		goto out_unref;
	return c;

out_unref:
	pf_batch_unref(c);
	return NULL;
}

static size_t table_size(const struct pf_batch_table *t, size_t elem)
{
	return t->cap * elem + pf_intern_memory_size(&t->index);
}

static size_t lists_size(const struct pf_batch_lists *l)
{
	return l->items_cap * sizeof(*l->items) + l->off_cap * sizeof(*l->off) +
	       pf_intern_memory_size(&l->index);
}

size_t pf_batch_memory_size(const struct pf_batch *b)
{
	size_t sz = sizeof(*b), i;

	sz += b->strings.chars_cap + b->strings.off_cap * sizeof(*b->strings.off) +
	      pf_intern_memory_size(&b->strings.index);
	sz += lists_size(&b->string_lists) + lists_size(&b->attr_sets) + lists_size(&b->stacks);
	sz += table_size(&b->attributes, sizeof(struct pf_attribute));
	sz += table_size(&b->functions, sizeof(struct pf_function));
	sz += table_size(&b->mappings, sizeof(struct pf_mapping));
	sz += table_size(&b->locations, sizeof(struct pf_location));
	sz += table_size(&b->links, sizeof(struct pf_link));
	sz += table_size(&b->resources, sizeof(struct pf_resource));
	sz += table_size(&b->scopes, sizeof(struct pf_scope));
	sz += b->cap_lines * sizeof(*b->lines);
	sz += b->cap_profiles * sizeof(*b->profiles);
	for (i = 0; i < b->n_profiles; i++)
		sz += b->profiles[i].cap_samples * sizeof(struct pf_sample);
	sz += b->cap_values * sizeof(*b->values) + b->cap_timestamps * sizeof(*b->timestamps);
	return sz;
}

/* ---- client metadata ---- */

void pf_batch_set_metadata(struct pf_batch *b, struct pf_metadata *m)
{
	assert(!pf_batch_is_shared(b));
	pf_metadata_free(b->metadata);
	b->metadata = m;
}

const struct pf_metadata *pf_batch_metadata(const struct pf_batch *b)
{
	return b->metadata;
}

/* ---- profiles and samples ---- */

uint32_t pf_batch_add_profile(struct pf_batch *b, const struct pf_profile_desc *in)
{
	const struct pf_profile_desc copy = *in; /* `in` may point into b->profiles */
	const struct pf_profile_desc *d = &copy;
	size_t ns = b->strings.n;
	struct pf_batch_profile *p;

	assert(!pf_batch_is_shared(b));
	if (d->resource >= b->resources.n || d->scope >= b->scopes.n || d->sample_type.type >= ns ||
	    d->sample_type.unit >= ns || d->period_type.type >= ns || d->period_type.unit >= ns ||
	    d->original_payload_format >= ns || d->attrs >= b->attr_sets.n)
		return PF_INDEX_ERROR;
	if (b->n_profiles >= PF_BATCH_MAX_ENTRIES)
		return PF_INDEX_ERROR;
	if (PF_BATCH_RESERVE(b->profiles, b->cap_profiles, b->n_profiles + 1) < 0)
		return PF_INDEX_ERROR;
	p = &b->profiles[b->n_profiles];
	memset(p, 0, sizeof(*p));
	p->desc = *d;
	return (uint32_t)b->n_profiles++;
}

int pf_batch_add_sample(struct pf_batch *b, uint32_t p, uint32_t stack, uint32_t attrs,
			uint32_t link, const int64_t *values, size_t n_values,
			const uint64_t *timestamps, size_t n_timestamps)
{
	struct pf_batch_profile *prof;
	struct pf_sample *s;
	size_t v_in, t_in;

	assert(!pf_batch_is_shared(b));
	if (p >= b->n_profiles || stack >= b->stacks.n || attrs >= b->attr_sets.n ||
	    link >= b->links.n)
		return -EINVAL;
	if ((n_values == 0 && n_timestamps == 0) ||
	    (n_values && n_timestamps && n_values != n_timestamps))
		return -EINVAL;
	if ((n_values && !values) || (n_timestamps && !timestamps))
		return -EINVAL;
	if (n_values > UINT32_MAX || n_timestamps > UINT32_MAX)
		return -EINVAL;
	prof = &b->profiles[p];
	/* Offsets into the pools are 32-bit to keep a sample at 32 bytes. */
	if (n_values > PF_BATCH_MAX_POOL - b->n_values ||
	    n_timestamps > PF_BATCH_MAX_POOL - b->n_timestamps)
		return -ENOMEM;
	v_in = pf_batch_offset_in(values, b->values, b->n_values * sizeof(*values));
	t_in = pf_batch_offset_in(timestamps, b->timestamps, b->n_timestamps * sizeof(*timestamps));
	if (PF_BATCH_RESERVE(prof->samples, prof->cap_samples, prof->n_samples + 1) < 0 ||
	    PF_BATCH_RESERVE(b->values, b->cap_values, b->n_values + n_values) < 0 ||
	    PF_BATCH_RESERVE(b->timestamps, b->cap_timestamps, b->n_timestamps + n_timestamps) < 0)
		return -ENOMEM;
	if (v_in != SIZE_MAX)
		values = (const int64_t *)((const char *)b->values + v_in);
	if (t_in != SIZE_MAX)
		timestamps = (const uint64_t *)((const char *)b->timestamps + t_in);
	s = &prof->samples[prof->n_samples++];
	s->stack = stack;
	s->attrs = attrs;
	s->link = link;
	s->values_len = (uint32_t)n_values;
	s->timestamps_len = (uint32_t)n_timestamps;
	s->reserved = 0;
	s->values_off = (uint32_t)b->n_values;
	s->timestamps_off = (uint32_t)b->n_timestamps;
	/* Most samples carry one value and no timestamps: no call for those. */
	if (n_values == 1)
		b->values[b->n_values] = values[0];
	else if (n_values)
		memcpy(b->values + b->n_values, values, n_values * sizeof(*values));
	if (n_timestamps)
		memcpy(b->timestamps + b->n_timestamps, timestamps,
		       n_timestamps * sizeof(*timestamps));
	b->n_values += n_values;
	b->n_timestamps += n_timestamps;
	b->n_samples++;
	return 0;
}

/* ---- reading ---- */

size_t pf_batch_n_strings(const struct pf_batch *b)
{
	return b->strings.n;
}

size_t pf_batch_n_attributes(const struct pf_batch *b)
{
	return b->attributes.n;
}

size_t pf_batch_n_attr_sets(const struct pf_batch *b)
{
	return b->attr_sets.n;
}

size_t pf_batch_n_functions(const struct pf_batch *b)
{
	return b->functions.n;
}

size_t pf_batch_n_mappings(const struct pf_batch *b)
{
	return b->mappings.n;
}

size_t pf_batch_n_locations(const struct pf_batch *b)
{
	return b->locations.n;
}

size_t pf_batch_n_stacks(const struct pf_batch *b)
{
	return b->stacks.n;
}

size_t pf_batch_n_links(const struct pf_batch *b)
{
	return b->links.n;
}

size_t pf_batch_n_resources(const struct pf_batch *b)
{
	return b->resources.n;
}

size_t pf_batch_n_scopes(const struct pf_batch *b)
{
	return b->scopes.n;
}

size_t pf_batch_n_profiles(const struct pf_batch *b)
{
	return b->n_profiles;
}

const char *pf_batch_str(const struct pf_batch *b, uint32_t i)
{
	assert(i < b->strings.n);
	return b->strings.chars + b->strings.off[i];
}

size_t pf_batch_str_len(const struct pf_batch *b, uint32_t i)
{
	assert(i < b->strings.n);
	return b->strings.off[i + 1] - b->strings.off[i] - 1;
}

static const uint32_t *list_get(const struct pf_batch_lists *l, uint32_t i, size_t *n)
{
	assert(i < l->n);
	*n = l->off[i + 1] - l->off[i];
	return l->items + l->off[i];
}

const uint32_t *pf_batch_string_list_get(const struct pf_batch *b, uint32_t i, size_t *n)
{
	return list_get(&b->string_lists, i, n);
}

const uint32_t *pf_batch_attr_set_get(const struct pf_batch *b, uint32_t i, size_t *n)
{
	return list_get(&b->attr_sets, i, n);
}

const uint32_t *pf_batch_stack_get(const struct pf_batch *b, uint32_t i, size_t *n)
{
	return list_get(&b->stacks, i, n);
}

const struct pf_attribute *pf_batch_attribute_get(const struct pf_batch *b, uint32_t i)
{
	assert(i < b->attributes.n);
	return (const struct pf_attribute *)b->attributes.items + i;
}

const struct pf_function *pf_batch_function_get(const struct pf_batch *b, uint32_t i)
{
	assert(i < b->functions.n);
	return (const struct pf_function *)b->functions.items + i;
}

const struct pf_mapping *pf_batch_mapping_get(const struct pf_batch *b, uint32_t i)
{
	assert(i < b->mappings.n);
	return (const struct pf_mapping *)b->mappings.items + i;
}

const struct pf_location *pf_batch_location_get(const struct pf_batch *b, uint32_t i)
{
	assert(i < b->locations.n);
	return (const struct pf_location *)b->locations.items + i;
}

const struct pf_line *pf_batch_location_lines(const struct pf_batch *b, uint32_t i, size_t *n)
{
	const struct pf_location *loc = pf_batch_location_get(b, i);

	*n = loc->lines_len;
	return b->lines + loc->lines_off;
}

const struct pf_link *pf_batch_link_get(const struct pf_batch *b, uint32_t i)
{
	assert(i < b->links.n);
	return (const struct pf_link *)b->links.items + i;
}

const struct pf_resource *pf_batch_resource_get(const struct pf_batch *b, uint32_t i)
{
	assert(i < b->resources.n);
	return (const struct pf_resource *)b->resources.items + i;
}

const struct pf_scope *pf_batch_scope_get(const struct pf_batch *b, uint32_t i)
{
	assert(i < b->scopes.n);
	return (const struct pf_scope *)b->scopes.items + i;
}

const struct pf_profile_desc *pf_batch_profile_get(const struct pf_batch *b, uint32_t p)
{
	assert(p < b->n_profiles);
	return &b->profiles[p].desc;
}

const struct pf_sample *pf_batch_samples(const struct pf_batch *b, uint32_t p, size_t *n)
{
	assert(p < b->n_profiles);
	*n = b->profiles[p].n_samples;
	return b->profiles[p].samples;
}

const int64_t *pf_batch_sample_values(const struct pf_batch *b, const struct pf_sample *s)
{
	return s->values_len ? b->values + s->values_off : NULL;
}

const uint64_t *pf_batch_sample_timestamps(const struct pf_batch *b, const struct pf_sample *s)
{
	return s->timestamps_len ? b->timestamps + s->timestamps_off : NULL;
}

int64_t pf_batch_sample_total(const struct pf_batch *b, const struct pf_sample *s)
{
	const int64_t *v = pf_batch_sample_values(b, s);
	int64_t sum = 0;

	if (s->values_len == 0)
		return (int64_t)s->timestamps_len;
	for (uint32_t i = 0; i < s->values_len; i++) {
		if (__builtin_add_overflow(sum, v[i], &sum))
			sum = v[i] > 0 ? INT64_MAX : INT64_MIN;
	}
	return sum;
}

size_t pf_batch_sample_count(const struct pf_batch *b)
{
	return b->n_samples;
}

size_t pf_batch_sample_count_of(const struct pf_batch *b, const uint32_t *profiles, size_t n)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++) {
		size_t ns = 0;

		pf_batch_samples(b, profiles[i], &ns);
		total += ns;
	}
	return total;
}

const struct pf_value *pf_batch_attr_lookup(const struct pf_batch *b, uint32_t set, const char *key)
{
	size_t n, i, klen = strlen(key);
	const uint32_t *attrs = pf_batch_attr_set_get(b, set, &n);

	for (i = 0; i < n; i++) {
		const struct pf_attribute *a = pf_batch_attribute_get(b, attrs[i]);

		if (pf_batch_str_len(b, a->key) == klen &&
		    memcmp(pf_batch_str(b, a->key), key, klen) == 0)
			return &a->value;
	}
	return NULL;
}

const char *pf_batch_attr_text(const struct pf_batch *b, uint32_t set, const char *key, char *buf,
			       size_t size)
{
	const struct pf_value *v = pf_batch_attr_lookup(b, set, key);

	if (!v)
		return NULL;
	if (v->kind == PF_VALUE_STRING && pf_batch_str_len(b, v->u.str) > 0)
		return pf_batch_str(b, v->u.str);
	if (v->kind == PF_VALUE_INT) {
		snprintf(buf, size, "%" PRId64, v->u.i);
		return buf;
	}
	return NULL;
}
