// SPDX-License-Identifier: Apache-2.0
/* Interns a validated OTLP profiles request (protobuf or JSON alike) into a batch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/internal.h"

/*
 * Every OTLP table is added in dependency order, filling per-table maps from
 * OTLP index to batch index. The big tables (strings, functions, locations,
 * stacks) are appended as given: OTLP producers de-duplicate them, and a
 * lookup per entry was a third of a decode (see model/batch.h); the small
 * ones are interned. Attribute values the batch cannot hold (bytes,
 * key-value lists, arrays of anything but strings) map to DROPPED and are
 * left out of every list that refers to them.
 */

#define DROPPED PF_INDEX_ERROR

struct conv {
	struct pf_batch *b;
	const PF_OTLP_PB(ProfilesDictionary) * d;
	const struct pf_otlp_dict *h; /* the hot tables */
	uint32_t *str, *attr, *fn, *map, *loc, *stack, *link;
	uint32_t *tmp; /* scratch for index lists */
	size_t tmp_cap;
	const struct pf_otlp_samples *smp;
	size_t profile; /* profiles seen, in request order */
	struct pf_budget_meter *meter;
};

/* Room for n entries in the scratch list. */
static uint32_t *scratch(struct conv *c, size_t n)
{
	if (c->tmp && n <= c->tmp_cap)
		return c->tmp;
	size_t cap = n < 64 ? 64 : n;
	uint32_t *t = calloc(cap, sizeof(*t));
	if (!t)
		return NULL;
	free(c->tmp);
	c->tmp = t;
	c->tmp_cap = cap;
	return t;
}

/* A string given inline or by index (index wins when non-zero). Inline ones
 * are appended too: a lookup would index the whole appended string table. */
static uint32_t str_of(struct conv *c, const char *inline_s, int32_t strindex)
{
	if (strindex > 0)
		return c->str[strindex];
	if (!inline_s)
		return 0;
	return pf_batch_append_string(c->b, inline_s, strlen(inline_s));
}

/* 1 when converted, 0 when the value cannot be held, -ENOMEM. */
static int value_of(struct conv *c, const PF_OTLP_CPB(AnyValue) * a, struct pf_value *v)
{
	memset(v, 0, sizeof(*v));
	if (!a)
		return 1;
	switch (a->value_case) {
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET: return 1;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX:
		v->kind = PF_VALUE_STRING;
		v->u.str =
			a->value_case ==
					OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
				? str_of(c, a->string_value, 0)
				: c->str[a->string_value_strindex];
		return v->u.str == PF_INDEX_ERROR ? -ENOMEM : 1;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
		v->kind = PF_VALUE_BOOL;
		v->u.b = a->bool_value;
		return 1;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
		v->kind = PF_VALUE_INT;
		v->u.i = a->int_value;
		return 1;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
		v->kind = PF_VALUE_DOUBLE;
		v->u.d = a->double_value;
		return 1;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE: break;
	default: return 0;
	}
	size_t n = a->array_value ? a->array_value->n_values : 0;
	for (size_t k = 0; k < n; k++) {
		int vc = a->array_value->values[k]->value_case;
		if (vc != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
		    vc != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX)
			return 0;
	}
	uint32_t *strs = calloc(n ? n : 1, sizeof(*strs));
	if (!strs)
		return -ENOMEM;
	int rc = 1;
	for (size_t k = 0; k < n && rc == 1; k++) {
		const PF_OTLP_CPB(AnyValue) *e = a->array_value->values[k];
		strs[k] =
			e->value_case ==
					OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
				? str_of(c, e->string_value, 0)
				: c->str[e->string_value_strindex];
		if (strs[k] == PF_INDEX_ERROR)
			rc = -ENOMEM;
	}
	if (rc == 1) {
		v->kind = PF_VALUE_STRINGS;
		v->u.strs = pf_batch_string_list(c->b, strs, n);
		if (v->u.strs == PF_INDEX_ERROR)
			rc = -ENOMEM;
	}
	free(strs);
	return rc;
}

/* An OTLP attribute_indices list as a batch attribute set. */
static uint32_t attr_set(struct conv *c, const int32_t *idx, size_t n)
{
	uint32_t *t;
	size_t k = 0;

	if (n == 0)
		return 0; /* most samples and locations: no scratch, no lookup */
	t = scratch(c, n);
	if (!t)
		return PF_INDEX_ERROR;
	/* An entry equal to the zero attribute (empty key, no value) says nothing. */
	for (size_t i = 0; i < n; i++)
		if (c->attr[idx[i]] != 0 && c->attr[idx[i]] != DROPPED)
			t[k++] = c->attr[idx[i]];
	return pf_batch_attr_set(c->b, t, k);
}

/* Inline KeyValues (resource, scope) as an attribute set; counts drops. */
static uint32_t kv_set(struct conv *c, PF_OTLP_CPB(KeyValue) * *kvs, size_t n, uint32_t *dropped)
{
	uint32_t *t = calloc(n ? n : 1, sizeof(*t));
	size_t k = 0;
	uint32_t set = PF_INDEX_ERROR;

	if (!t)
		return PF_INDEX_ERROR;
	for (size_t i = 0; i < n; i++) {
		struct pf_attribute a = {0};
		int rc = value_of(c, kvs[i]->value, &a.value);
		if (rc < 0)
			goto out_free;
		if (rc == 0) {
			(*dropped)++;
			continue;
		}
		a.key = str_of(c, kvs[i]->key, kvs[i]->key_strindex);
		if (a.key == PF_INDEX_ERROR)
			goto out_free;
		t[k] = pf_batch_attribute(c->b, &a);
		if (t[k++] == PF_INDEX_ERROR)
			goto out_free;
	}
	set = pf_batch_attr_set(c->b, t, k);
out_free:
	free(t);
	return set;
}

static int alloc_maps(struct conv *c)
{
	const PF_OTLP_PB(ProfilesDictionary) *d = c->d;
	const struct pf_otlp_dict *h = c->h;

	c->str = calloc(h->n_str, sizeof(*c->str));
	c->attr = calloc(d->n_attribute_table, sizeof(*c->attr));
	c->fn = calloc(h->n_fn, sizeof(*c->fn));
	c->map = calloc(d->n_mapping_table, sizeof(*c->map));
	c->loc = calloc(h->n_loc, sizeof(*c->loc));
	c->stack = calloc(h->n_stack, sizeof(*c->stack));
	c->link = calloc(d->n_link_table, sizeof(*c->link));
	if (!c->str || !c->attr || !c->fn || !c->map || !c->loc || !c->stack || !c->link)
		return -ENOMEM;
	return 0;
}

static void free_maps(struct conv *c)
{
	free(c->str);
	free(c->attr);
	free(c->fn);
	free(c->map);
	free(c->loc);
	free(c->stack);
	free(c->link);
	free(c->tmp);
}

/* Grows the batch once for the whole dictionary (new entries at most). */
static int reserve_tables(struct conv *c)
{
	const struct pf_otlp_dict *h = c->h;
	struct pf_batch_sizes more = {
		.strings = h->n_str,
		.functions = h->n_fn,
		.locations = h->n_loc,
		.lines = h->n_lines,
		.stacks = h->n_stack,
		.stack_items = h->n_idx, /* location attributes too: a bound */
		.values = c->smp ? c->smp->n_values : 0,
		.timestamps = c->smp ? c->smp->n_ts : 0,
	};

	for (size_t i = 0; i < h->n_str; i++)
		more.string_bytes += h->str[i].len + 1;
	return pf_batch_reserve(c->b, &more);
}

/* Grows the batch once for the whole dictionary (new entries at most) and
 * charges the meter for that, the maps and the samples' rows, before any of
 * it is written (untouched memory is not yet resident). */
static int reserve(struct conv *c, const PF_OTLP_REQ *req)
{
	size_t before = pf_batch_memory_size(c->b), rows = c->smp ? c->smp->n : 0, items = 0;
	size_t maps = (c->h->n_str + c->h->n_fn + c->h->n_loc + c->h->n_stack +
		       c->d->n_attribute_table + c->d->n_mapping_table + c->d->n_link_table) *
		      sizeof(uint32_t);
	int rc = reserve_tables(c);

	if (rc < 0)
		return rc;
	/* Unpacked samples (JSON): their lists are not reserved, so count them. */
	for (size_t r = 0; !c->smp && r < req->n_resource_profiles; r++)
		for (size_t s = 0; s < req->resource_profiles[r]->n_scope_profiles; s++) {
			const PF_OTLP_PB(ScopeProfiles) *sp =
				req->resource_profiles[r]->scope_profiles[s];
			for (size_t p = 0; p < sp->n_profiles; p++)
				for (size_t i = 0; i < sp->profiles[p]->n_samples; i++) {
					const PF_OTLP_PB(Sample) *x = sp->profiles[p]->samples[i];
					rows++;
					items += x->n_values + x->n_timestamps_unix_nano;
				}
		}
	return pf_budget_charge(c->meter, maps + rows * sizeof(struct pf_sample) + items * 8 +
						  (pf_batch_memory_size(c->b) - before)) < 0
		       ? -ENOMEM
		       : 0;
}

static int intern_dictionary(struct conv *c)
{
	const PF_OTLP_PB(ProfilesDictionary) *d = c->d;
	const struct pf_otlp_dict *h = c->h;
	struct pf_batch *b = c->b;

	for (size_t i = 0; i < h->n_str; i++)
		if ((c->str[i] = pf_batch_append_string(b, h->str[i].s, h->str[i].len)) ==
		    PF_INDEX_ERROR)
			return -ENOMEM;
	for (size_t i = 1; i < d->n_attribute_table; i++) {
		const PF_OTLP_PB(KeyValueAndUnit) *e = d->attribute_table[i];
		struct pf_attribute a = {.key = c->str[e->key_strindex],
					 .unit = c->str[e->unit_strindex]};
		int rc = value_of(c, e->value, &a.value);
		if (rc < 0)
			return rc;
		c->attr[i] = rc ? pf_batch_attribute(b, &a) : DROPPED;
		if (rc && c->attr[i] == PF_INDEX_ERROR)
			return -ENOMEM;
	}
	for (size_t i = 1; i < h->n_fn; i++) {
		const struct pf_otlp_function *e = &h->fn[i];
		struct pf_function f = {.name = c->str[e->name_strindex],
					.system_name = c->str[e->system_name_strindex],
					.filename = c->str[e->filename_strindex],
					.start_line = e->start_line};
		if ((c->fn[i] = pf_batch_append_function(b, &f)) == PF_INDEX_ERROR)
			return -ENOMEM;
	}
	for (size_t i = 1; i < d->n_mapping_table; i++) {
		const PF_OTLP_PB(Mapping) *e = d->mapping_table[i];
		struct pf_mapping m = {.memory_start = e->memory_start,
				       .memory_limit = e->memory_limit,
				       .file_offset = e->file_offset,
				       .filename = c->str[e->filename_strindex]};
		m.attrs = attr_set(c, e->attribute_indices, e->n_attribute_indices);
		if (m.attrs == PF_INDEX_ERROR ||
		    (c->map[i] = pf_batch_mapping(b, &m)) == PF_INDEX_ERROR)
			return -ENOMEM;
	}
	struct pf_line one, *lines = NULL;
	size_t cap_lines = 0;
	int rc = 0;
	for (size_t i = 1; rc == 0 && i < h->n_loc; i++) {
		const struct pf_otlp_location *e = &h->loc[i];
		const struct pf_otlp_line *in = h->lines + e->lines_off;
		struct pf_location l = {.mapping = c->map[e->mapping_index], .address = e->address};
		/* Nearly every location has one line: no allocation for that. */
		struct pf_line *out = &one;
		if (e->n_lines > 1) {
			if (pf_otlp_grow(NULL, (void **)&lines, &cap_lines, 0, e->n_lines,
					 sizeof(*lines))) {
				rc = -ENOMEM;
				break;
			}
			out = lines;
		}
		for (size_t k = 0; k < e->n_lines; k++)
			out[k] = (struct pf_line){.function = c->fn[in[k].function_index],
						  .line = in[k].line,
						  .column = in[k].column};
		l.attrs = attr_set(c, h->idx + e->attrs_off, e->n_attrs);
		c->loc[i] = l.attrs == PF_INDEX_ERROR
				    ? PF_INDEX_ERROR
				    : pf_batch_append_location(b, &l, out, e->n_lines);
		if (c->loc[i] == PF_INDEX_ERROR)
			rc = -ENOMEM;
	}
	free(lines);
	if (rc < 0)
		return rc;
	for (size_t i = 1; i < h->n_stack; i++) {
		/* Validated: every index is in [0, n_loc). */
		const uint32_t *in = (const uint32_t *)(h->idx + h->stack[i].off);
		c->stack[i] = pf_batch_append_stack(b, in, h->stack[i].n, c->loc, h->n_loc);
		if (c->stack[i] == PF_INDEX_ERROR)
			return -ENOMEM;
	}
	for (size_t i = 1; i < d->n_link_table; i++) {
		struct pf_link l;
		memcpy(l.trace_id, d->link_table[i]->trace_id.data, 16);
		memcpy(l.span_id, d->link_table[i]->span_id.data, 8);
		if ((c->link[i] = pf_batch_link(b, &l)) == PF_INDEX_ERROR)
			return -ENOMEM;
	}
	return 0;
}

static struct pf_value_type value_type(struct conv *c, const PF_OTLP_PB(ValueType) * t)
{
	struct pf_value_type v = {0};
	if (t) {
		v.type = c->str[t->type_strindex];
		v.unit = c->str[t->unit_strindex];
	}
	return v;
}

static int add_profile(struct conv *c, uint32_t res, uint32_t scope, const PF_OTLP_PB(Profile) * p)
{
	struct pf_profile_desc d = {
		.resource = res,
		.scope = scope,
		.sample_type = value_type(c, p->sample_type),
		.period_type = value_type(c, p->period_type),
		.period = p->period,
		.time_unix_nano = p->time_unix_nano,
		.duration_nano = p->duration_nano,
		.dropped_attributes_count = p->dropped_attributes_count,
	};

	d.attrs = attr_set(c, p->attribute_indices, p->n_attribute_indices);
	d.original_payload_format = str_of(c, p->original_payload_format, 0);
	if (d.attrs == PF_INDEX_ERROR || d.original_payload_format == PF_INDEX_ERROR)
		return -ENOMEM;
	if (p->profile_id.len == 16)
		memcpy(d.profile_id, p->profile_id.data, 16);
	uint32_t pi = pf_batch_add_profile(c->b, &d);
	if (pi == PF_INDEX_ERROR)
		return -ENOMEM;
	size_t n = pf_otlp_n_samples(c->smp, c->profile, p);
	for (size_t i = 0; i < n; i++) {
		struct pf_otlp_sample s;
		pf_otlp_sample_get(c->smp, c->profile, p, i, &s);
		uint32_t attrs = attr_set(c, s.attribute_indices, s.n_attribute_indices);
		if (attrs == PF_INDEX_ERROR)
			return -ENOMEM;
		int rc = pf_batch_add_sample(c->b, pi, c->stack[s.stack_index], attrs,
					     c->link[s.link_index], s.values, s.n_values,
					     s.timestamps, s.n_timestamps);
		if (rc < 0)
			return rc;
	}
	c->profile++;
	return 0;
}

static int add_resource(struct conv *c, const PF_OTLP_PB(ResourceProfiles) * rp)
{
	struct pf_resource r = {0};
	int n = 0;

	if (rp->resource) {
		r.dropped_attributes_count = rp->resource->dropped_attributes_count;
		r.attrs = kv_set(c, rp->resource->attributes, rp->resource->n_attributes,
				 &r.dropped_attributes_count);
	}
	r.schema_url = str_of(c, rp->schema_url, 0);
	if (r.attrs == PF_INDEX_ERROR || r.schema_url == PF_INDEX_ERROR)
		return -ENOMEM;
	uint32_t ri = pf_batch_resource(c->b, &r);
	if (ri == PF_INDEX_ERROR)
		return -ENOMEM;
	for (size_t s = 0; s < rp->n_scope_profiles; s++) {
		const PF_OTLP_PB(ScopeProfiles) *sp = rp->scope_profiles[s];
		struct pf_scope sc = {0};
		uint32_t dropped = 0;
		if (sp->scope) {
			sc.name = str_of(c, sp->scope->name, 0);
			sc.version = str_of(c, sp->scope->version, 0);
			sc.attrs =
				kv_set(c, sp->scope->attributes, sp->scope->n_attributes, &dropped);
		}
		sc.schema_url = str_of(c, sp->schema_url, 0);
		if (sc.name == PF_INDEX_ERROR || sc.version == PF_INDEX_ERROR ||
		    sc.attrs == PF_INDEX_ERROR || sc.schema_url == PF_INDEX_ERROR)
			return -ENOMEM;
		uint32_t si = pf_batch_scope(c->b, &sc);
		if (si == PF_INDEX_ERROR)
			return -ENOMEM;
		for (size_t k = 0; k < sp->n_profiles; k++) {
			int rc = add_profile(c, ri, si, sp->profiles[k]);
			if (rc < 0)
				return rc;
			n++;
		}
	}
	return n;
}

int pf_otlp_to_batch(struct pf_batch *b, const PF_OTLP_REQ *req, const struct pf_otlp_dict *hot,
		     const struct pf_otlp_samples *smp, struct pf_budget_meter *m)
{
	struct conv c = {.b = b, .d = req->dictionary, .h = hot, .smp = smp, .meter = m};
	int n = 0, rc = 0;

	for (size_t r = 0; r < req->n_resource_profiles; r++)
		for (size_t s = 0; s < req->resource_profiles[r]->n_scope_profiles; s++)
			n += (int)req->resource_profiles[r]->scope_profiles[s]->n_profiles;
	if (n == 0)
		return 0;
	n = 0;
	rc = alloc_maps(&c);
	if (rc == 0)
		rc = reserve(&c, req);
	if (rc == 0)
		rc = intern_dictionary(&c);
	for (size_t r = 0; rc >= 0 && r < req->n_resource_profiles; r++) {
		rc = add_resource(&c, req->resource_profiles[r]);
		n += rc > 0 ? rc : 0;
	}
	free_maps(&c);
	return rc < 0 ? rc : n;
}
