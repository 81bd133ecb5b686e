// SPDX-License-Identifier: Apache-2.0
/* OTLP profiles protobuf encoding: a compact, spec-valid dictionary for a selection of samples. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/internal.h"
#include "formats/pb_wire.h"

/*
 * Two passes over the selected samples. The first gives every batch entry
 * they use (transitively: stack -> locations -> mappings, functions,
 * attributes -> strings) an output index in order of first use, index 0
 * staying the zero entry; the second builds protobuf-c messages that point
 * into the batch (nothing is copied) in an arena and packs them once.
 */

struct remap {
	uint32_t *to;	/* batch index -> output index (0 = unused) */
	uint32_t *from; /* output index -> batch index */
	size_t n;	/* output entries, zero entry included */
};

struct enc {
	const struct pf_batch *b;
	bool raw; /* samples pre-encoded as unknown fields (protobuf only) */
	struct pf_pb_arena arena;
	struct remap str, attr, fn, map, loc, stack, link;
};

static int remap_init(struct remap *r, size_t n)
{
	r->to = calloc(n, sizeof(*r->to));
	r->from = calloc(n, sizeof(*r->from));
	r->n = 1;
	return r->to && r->from ? 0 : -ENOMEM;
}

static void remap_fini(struct remap *r)
{
	free(r->to);
	free(r->from);
}

/* Gives batch entry i an output index if it has none; true when it is new. */
static bool use(struct remap *r, uint32_t i)
{
	if (i == 0 || r->to[i])
		return false;
	r->to[i] = (uint32_t)r->n;
	r->from[r->n++] = i;
	return true;
}

static void use_attr_set(struct enc *e, uint32_t set)
{
	size_t n;
	const uint32_t *a = pf_batch_attr_set_get(e->b, set, &n);

	for (size_t k = 0; k < n; k++) {
		if (!use(&e->attr, a[k]))
			continue;
		const struct pf_attribute *at = pf_batch_attribute_get(e->b, a[k]);
		use(&e->str, at->key);
		use(&e->str, at->unit); /* values are written inline */
	}
}

static void use_stack(struct enc *e, uint32_t stack)
{
	size_t n;
	const uint32_t *locs;

	if (!use(&e->stack, stack))
		return;
	locs = pf_batch_stack_get(e->b, stack, &n);
	for (size_t k = 0; k < n; k++) {
		if (!use(&e->loc, locs[k]))
			continue;
		const struct pf_location *l = pf_batch_location_get(e->b, locs[k]);
		size_t n_lines;
		const struct pf_line *lines = pf_batch_location_lines(e->b, locs[k], &n_lines);
		if (use(&e->map, l->mapping)) {
			const struct pf_mapping *m = pf_batch_mapping_get(e->b, l->mapping);
			use(&e->str, m->filename);
			use_attr_set(e, m->attrs);
		}
		use_attr_set(e, l->attrs);
		for (size_t j = 0; j < n_lines; j++) {
			if (!use(&e->fn, lines[j].function))
				continue;
			const struct pf_function *f =
				pf_batch_function_get(e->b, lines[j].function);
			use(&e->str, f->name);
			use(&e->str, f->system_name);
			use(&e->str, f->filename);
		}
	}
}

static void mark(struct enc *e, const struct pf_otlp_sel *sel, size_t n_sel)
{
	for (size_t i = 0; i < n_sel; i++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(e->b, sel[i].profile);
		size_t n;
		const struct pf_sample *s = pf_batch_samples(e->b, sel[i].profile, &n);
		use(&e->str, d->sample_type.type);
		use(&e->str, d->sample_type.unit);
		use(&e->str, d->period_type.type);
		use(&e->str, d->period_type.unit);
		use_attr_set(e, d->attrs);
		for (uint32_t k = sel[i].first; k < sel[i].end; k++) {
			use_stack(e, s[k].stack);
			use_attr_set(e, s[k].attrs);
			use(&e->link, s[k].link);
		}
	}
}

static void *zalloc(struct enc *e, size_t size)
{
	void *p = pf_pb_arena_alloc(&e->arena, size ? size : 1);
	if (p)
		memset(p, 0, size ? size : 1);
	return p;
}

/* An attribute set as output attribute_indices. */
static int32_t *attr_indices(struct enc *e, uint32_t set, size_t *n)
{
	const uint32_t *a = pf_batch_attr_set_get(e->b, set, n);
	int32_t *out = zalloc(e, *n * sizeof(*out));

	for (size_t k = 0; out && k < *n; k++)
		out[k] = (int32_t)e->attr.to[a[k]];
	return out;
}

/* An AnyValue for v; strings inline (`by_index` uses string_value_strindex). */
static PF_OTLP_CPB(AnyValue) * any_value(struct enc *e, const struct pf_value *v)
{
	PF_OTLP_CPB(AnyValue) * a;

	if (v->kind == PF_VALUE_EMPTY)
		return NULL;
	a = zalloc(e, sizeof(*a));
	if (!a)
		return NULL;
	opentelemetry__proto__common__v1__any_value__init(a);
	switch (v->kind) {
	case PF_VALUE_STRING:
		a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		a->string_value = (char *)pf_batch_str(e->b, v->u.str);
		break;
	case PF_VALUE_INT:
		a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		a->int_value = v->u.i;
		break;
	case PF_VALUE_DOUBLE:
		a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
		a->double_value = v->u.d;
		break;
	case PF_VALUE_BOOL:
		a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		a->bool_value = v->u.b;
		break;
	case PF_VALUE_STRINGS: {
		size_t n;
		const uint32_t *s = pf_batch_string_list_get(e->b, v->u.strs, &n);
		PF_OTLP_CPB(ArrayValue) *arr = zalloc(e, sizeof(*arr));
		PF_OTLP_CPB(AnyValue) *items = zalloc(e, n * sizeof(*items));
		PF_OTLP_CPB(AnyValue) **ptrs = zalloc(e, n * sizeof(*ptrs));
		if (!arr || !items || !ptrs)
			return NULL;
		opentelemetry__proto__common__v1__array_value__init(arr);
		for (size_t k = 0; k < n; k++) {
			opentelemetry__proto__common__v1__any_value__init(&items[k]);
			items[k].value_case =
				OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			items[k].string_value = (char *)pf_batch_str(e->b, s[k]);
			ptrs[k] = &items[k];
		}
		arr->n_values = n;
		arr->values = ptrs;
		a->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
		a->array_value = arr;
		break;
	}
	default: break;
	}
	return a;
}

/* Inline KeyValues for resource and scope attributes. */
static PF_OTLP_CPB(KeyValue) * *key_values(struct enc *e, uint32_t set, size_t *n)
{
	const uint32_t *a = pf_batch_attr_set_get(e->b, set, n);
	PF_OTLP_CPB(KeyValue) **kvs = zalloc(e, *n * sizeof(*kvs));
	PF_OTLP_CPB(KeyValue) *items = zalloc(e, *n * sizeof(*items));

	if (!kvs || !items)
		return NULL;
	for (size_t k = 0; k < *n; k++) {
		const struct pf_attribute *at = pf_batch_attribute_get(e->b, a[k]);
		opentelemetry__proto__common__v1__key_value__init(&items[k]);
		items[k].key = (char *)pf_batch_str(e->b, at->key);
		items[k].value = any_value(e, &at->value);
		if (at->value.kind != PF_VALUE_EMPTY && !items[k].value)
			return NULL;
		kvs[k] = &items[k];
	}
	return kvs;
}

#define NEW_ARRAY(e, ptr, n) ((ptr) = zalloc((e), (n) * sizeof(*(ptr))))

static int build_dictionary(struct enc *e, PF_OTLP_PB(ProfilesDictionary) * d)
{
	const struct pf_batch *b = e->b;

	opentelemetry__proto__profiles__v1development__profiles_dictionary__init(d);
	d->n_string_table = e->str.n;
	if (!NEW_ARRAY(e, d->string_table, e->str.n))
		return -ENOMEM;
	for (size_t i = 0; i < e->str.n; i++)
		d->string_table[i] = (char *)pf_batch_str(b, e->str.from[i]);

	d->n_attribute_table = e->attr.n;
	PF_OTLP_PB(KeyValueAndUnit) *attrs = NEW_ARRAY(e, attrs, e->attr.n);
	if (!attrs || !NEW_ARRAY(e, d->attribute_table, e->attr.n))
		return -ENOMEM;
	for (size_t i = 0; i < e->attr.n; i++) {
		opentelemetry__proto__profiles__v1development__key_value_and_unit__init(&attrs[i]);
		d->attribute_table[i] = &attrs[i];
		if (i == 0)
			continue;
		const struct pf_attribute *a = pf_batch_attribute_get(b, e->attr.from[i]);
		attrs[i].key_strindex = (int32_t)e->str.to[a->key];
		attrs[i].unit_strindex = (int32_t)e->str.to[a->unit];
		attrs[i].value = any_value(e, &a->value);
		if (a->value.kind != PF_VALUE_EMPTY && !attrs[i].value)
			return -ENOMEM;
	}

	d->n_function_table = e->fn.n;
	PF_OTLP_PB(Function) *fns = NEW_ARRAY(e, fns, e->fn.n);
	if (!fns || !NEW_ARRAY(e, d->function_table, e->fn.n))
		return -ENOMEM;
	for (size_t i = 0; i < e->fn.n; i++) {
		opentelemetry__proto__profiles__v1development__function__init(&fns[i]);
		d->function_table[i] = &fns[i];
		if (i == 0)
			continue;
		const struct pf_function *f = pf_batch_function_get(b, e->fn.from[i]);
		fns[i].name_strindex = (int32_t)e->str.to[f->name];
		fns[i].system_name_strindex = (int32_t)e->str.to[f->system_name];
		fns[i].filename_strindex = (int32_t)e->str.to[f->filename];
		fns[i].start_line = f->start_line;
	}

	d->n_mapping_table = e->map.n;
	PF_OTLP_PB(Mapping) *maps = NEW_ARRAY(e, maps, e->map.n);
	if (!maps || !NEW_ARRAY(e, d->mapping_table, e->map.n))
		return -ENOMEM;
	for (size_t i = 0; i < e->map.n; i++) {
		opentelemetry__proto__profiles__v1development__mapping__init(&maps[i]);
		d->mapping_table[i] = &maps[i];
		if (i == 0)
			continue;
		const struct pf_mapping *m = pf_batch_mapping_get(b, e->map.from[i]);
		maps[i].memory_start = m->memory_start;
		maps[i].memory_limit = m->memory_limit;
		maps[i].file_offset = m->file_offset;
		maps[i].filename_strindex = (int32_t)e->str.to[m->filename];
		maps[i].attribute_indices = attr_indices(e, m->attrs, &maps[i].n_attribute_indices);
		if (!maps[i].attribute_indices)
			return -ENOMEM;
	}

	d->n_location_table = e->loc.n;
	PF_OTLP_PB(Location) *locs = NEW_ARRAY(e, locs, e->loc.n);
	if (!locs || !NEW_ARRAY(e, d->location_table, e->loc.n))
		return -ENOMEM;
	for (size_t i = 0; i < e->loc.n; i++) {
		opentelemetry__proto__profiles__v1development__location__init(&locs[i]);
		d->location_table[i] = &locs[i];
		if (i == 0)
			continue;
		const struct pf_location *l = pf_batch_location_get(b, e->loc.from[i]);
		size_t n;
		const struct pf_line *lines = pf_batch_location_lines(b, e->loc.from[i], &n);
		PF_OTLP_PB(Line) *ls = NEW_ARRAY(e, ls, n);
		if (!ls || !NEW_ARRAY(e, locs[i].lines, n))
			return -ENOMEM;
		locs[i].mapping_index = (int32_t)e->map.to[l->mapping];
		locs[i].address = l->address;
		locs[i].n_lines = n;
		for (size_t k = 0; k < n; k++) {
			opentelemetry__proto__profiles__v1development__line__init(&ls[k]);
			ls[k].function_index = (int32_t)e->fn.to[lines[k].function];
			ls[k].line = lines[k].line;
			ls[k].column = lines[k].column;
			locs[i].lines[k] = &ls[k];
		}
		locs[i].attribute_indices = attr_indices(e, l->attrs, &locs[i].n_attribute_indices);
		if (!locs[i].attribute_indices)
			return -ENOMEM;
	}

	d->n_stack_table = e->stack.n;
	PF_OTLP_PB(Stack) *stacks = NEW_ARRAY(e, stacks, e->stack.n);
	if (!stacks || !NEW_ARRAY(e, d->stack_table, e->stack.n))
		return -ENOMEM;
	for (size_t i = 0; i < e->stack.n; i++) {
		opentelemetry__proto__profiles__v1development__stack__init(&stacks[i]);
		d->stack_table[i] = &stacks[i];
		if (i == 0)
			continue;
		size_t n;
		const uint32_t *l = pf_batch_stack_get(b, e->stack.from[i], &n);
		if (!NEW_ARRAY(e, stacks[i].location_indices, n))
			return -ENOMEM;
		stacks[i].n_location_indices = n;
		for (size_t k = 0; k < n; k++)
			stacks[i].location_indices[k] = (int32_t)e->loc.to[l[k]];
	}

	/* link_table[0] holds 16 and 8 zero bytes, as the specification asks. */
	static const uint8_t zeros[16];
	d->n_link_table = e->link.n;
	PF_OTLP_PB(Link) *links = NEW_ARRAY(e, links, e->link.n);
	if (!links || !NEW_ARRAY(e, d->link_table, e->link.n))
		return -ENOMEM;
	for (size_t i = 0; i < e->link.n; i++) {
		opentelemetry__proto__profiles__v1development__link__init(&links[i]);
		d->link_table[i] = &links[i];
		const struct pf_link *l = i ? pf_batch_link_get(b, e->link.from[i]) : NULL;
		links[i].trace_id.data = (uint8_t *)(l ? l->trace_id : zeros);
		links[i].trace_id.len = 16;
		links[i].span_id.data = (uint8_t *)(l ? l->span_id : zeros);
		links[i].span_id.len = 8;
	}
	return 0;
}

static PF_OTLP_PB(ValueType) * value_type(struct enc *e, const struct pf_value_type *t)
{
	PF_OTLP_PB(ValueType) *v = zalloc(e, sizeof(*v));
	if (v) {
		opentelemetry__proto__profiles__v1development__value_type__init(v);
		v->type_strindex = (int32_t)e->str.to[t->type];
		v->unit_strindex = (int32_t)e->str.to[t->unit];
	}
	return v;
}

/* Writes a sample's fields (v1.10+ numbering) at w; returns the end. */
static uint8_t *write_sample(struct enc *e, const struct pf_sample *x, uint8_t *w)
{
	size_t n_attrs;
	const uint32_t *a = pf_batch_attr_set_get(e->b, x->attrs, &n_attrs);
	const int64_t *v = pf_batch_sample_values(e->b, x);
	const uint64_t *t = pf_batch_sample_timestamps(e->b, x);
	size_t len = 0;

	if (e->stack.to[x->stack]) {
		*w++ = 1 << 3 | PF_PB_VARINT;
		w += pf_pb_put_varint(w, e->stack.to[x->stack]);
	}
	if (n_attrs) {
		for (size_t k = 0; k < n_attrs; k++)
			len += pf_pb_varint_size(e->attr.to[a[k]]);
		*w++ = 2 << 3 | PF_PB_LEN;
		w += pf_pb_put_varint(w, len);
		for (size_t k = 0; k < n_attrs; k++)
			w += pf_pb_put_varint(w, e->attr.to[a[k]]);
	}
	if (e->link.to[x->link]) {
		*w++ = 3 << 3 | PF_PB_VARINT;
		w += pf_pb_put_varint(w, e->link.to[x->link]);
	}
	if (x->values_len) {
		len = 0;
		for (uint32_t k = 0; k < x->values_len; k++)
			len += pf_pb_varint_size((uint64_t)v[k]);
		*w++ = 4 << 3 | PF_PB_LEN;
		w += pf_pb_put_varint(w, len);
		for (uint32_t k = 0; k < x->values_len; k++)
			w += pf_pb_put_varint(w, (uint64_t)v[k]);
	}
	if (x->timestamps_len) {
		*w++ = 5 << 3 | PF_PB_LEN;
		w += pf_pb_put_varint(w, (uint64_t)x->timestamps_len * 8);
		for (uint32_t k = 0; k < x->timestamps_len; k++)
			for (int b = 0; b < 8; b++)
				*w++ = (uint8_t)(t[k] >> (8 * b));
	}
	return w;
}

/* Samples as pre-encoded `samples` (field 2) entries among the profile's
 * unknown fields, which protobuf-c copies out as they are: much cheaper than
 * one Sample message each. */
static int raw_samples(struct enc *e, PF_OTLP_PB(Profile) * p, const struct pf_sample *s, size_t n)
{
	ProtobufCMessageUnknownField *u = zalloc(e, n * sizeof(*u));
	size_t room = 0;

	if (!u)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		size_t n_attrs;
		pf_batch_attr_set_get(e->b, s[k].attrs, &n_attrs);
		room += 5 + 6 + 6 + 6 + 2 * 11 + n_attrs * 5 + (size_t)s[k].values_len * 10 +
			(size_t)s[k].timestamps_len * 8;
	}
	uint8_t *w = pf_pb_arena_alloc(&e->arena, room ? room : 1);
	if (!w)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		/* protobuf-c writes the key; the length prefix is part of the data. */
		uint8_t *body = w + 5, *end = write_sample(e, &s[k], body);
		size_t len = (size_t)(end - body), pre = pf_pb_put_varint(w, len);
		memmove(w + pre, body, len);
		end = w + pre + len;
		u[k].tag = 2;
		u[k].wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
		u[k].len = (size_t)(end - w);
		u[k].data = w;
		w = end;
	}
	p->base.n_unknown_fields = (unsigned)n;
	p->base.unknown_fields = u;
	return 0;
}

static PF_OTLP_PB(Profile) * build_profile(struct enc *e, const struct pf_otlp_sel *sel)
{
	const struct pf_profile_desc *d = pf_batch_profile_get(e->b, sel->profile);
	size_t n_all;
	const struct pf_sample *s = pf_batch_samples(e->b, sel->profile, &n_all);
	size_t n = sel->end - sel->first;
	PF_OTLP_PB(Profile) *p = zalloc(e, sizeof(*p));
	PF_OTLP_PB(Sample) *ss = e->raw ? NULL : zalloc(e, n * sizeof(*ss));

	if (!p || (!e->raw && !ss))
		return NULL;
	opentelemetry__proto__profiles__v1development__profile__init(p);
	p->sample_type = value_type(e, &d->sample_type);
	if (d->period_type.type || d->period_type.unit) {
		p->period_type = value_type(e, &d->period_type);
		if (!p->period_type)
			return NULL;
	}
	p->attribute_indices = attr_indices(e, d->attrs, &p->n_attribute_indices);
	if (!p->sample_type || !p->attribute_indices || (!e->raw && !NEW_ARRAY(e, p->samples, n)))
		return NULL;
	p->time_unix_nano = d->time_unix_nano;
	p->duration_nano = d->duration_nano;
	p->period = d->period;
	p->dropped_attributes_count = d->dropped_attributes_count;
	p->original_payload_format = (char *)pf_batch_str(e->b, d->original_payload_format);
	for (size_t k = 0; k < 16; k++)
		if (d->profile_id[k]) {
			p->profile_id.data = (uint8_t *)d->profile_id;
			p->profile_id.len = 16;
			break;
		}
	if (e->raw)
		return raw_samples(e, p, s + sel->first, n) < 0 ? NULL : p;
	p->n_samples = n;
	for (size_t k = 0; k < n; k++) {
		const struct pf_sample *x = &s[sel->first + k];
		PF_OTLP_PB(Sample) *y = &ss[k];
		opentelemetry__proto__profiles__v1development__sample__init(y);
		y->stack_index = (int32_t)e->stack.to[x->stack];
		y->link_index = (int32_t)e->link.to[x->link];
		y->attribute_indices = attr_indices(e, x->attrs, &y->n_attribute_indices);
		if (!y->attribute_indices)
			return NULL;
		y->n_values = x->values_len;
		y->values = (int64_t *)pf_batch_sample_values(e->b, x);
		y->n_timestamps_unix_nano = x->timestamps_len;
		y->timestamps_unix_nano = (uint64_t *)pf_batch_sample_timestamps(e->b, x);
		p->samples[k] = y;
	}
	return p;
}

static int cmp_origin(const void *a, const void *b, void *ctx)
{
	const struct pf_batch *batch = ctx;
	const struct pf_otlp_sel *x = a, *y = b;
	const struct pf_profile_desc *dx = pf_batch_profile_get(batch, x->profile);
	const struct pf_profile_desc *dy = pf_batch_profile_get(batch, y->profile);

	if (dx->resource != dy->resource)
		return dx->resource < dy->resource ? -1 : 1;
	if (dx->scope != dy->scope)
		return dx->scope < dy->scope ? -1 : 1;
	if (x->profile != y->profile)
		return x->profile < y->profile ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* Groups the selection by resource, then scope, into the request envelopes. */
static int build_envelopes(struct enc *e, struct pf_otlp_sel *sel, size_t n_sel, PF_OTLP_REQ *req)
{
	size_t n_res = 0;

	qsort_r(sel, n_sel, sizeof(*sel), cmp_origin, (void *)e->b);
	for (size_t i = 0; i < n_sel; i++)
		if (i == 0 || pf_batch_profile_get(e->b, sel[i].profile)->resource !=
				      pf_batch_profile_get(e->b, sel[i - 1].profile)->resource)
			n_res++;
	if (!NEW_ARRAY(e, req->resource_profiles, n_res))
		return -ENOMEM;
	for (size_t i = 0; i < n_sel;) {
		uint32_t r = pf_batch_profile_get(e->b, sel[i].profile)->resource;
		const struct pf_resource *res = pf_batch_resource_get(e->b, r);
		PF_OTLP_PB(ResourceProfiles) *rp = zalloc(e, sizeof(*rp));
		PF_OTLP_RES *resource = zalloc(e, sizeof(*resource));
		size_t end = i, n_scopes = 0;
		if (!rp || !resource)
			return -ENOMEM;
		opentelemetry__proto__profiles__v1development__resource_profiles__init(rp);
		opentelemetry__proto__resource__v1__resource__init(resource);
		resource->attributes = key_values(e, res->attrs, &resource->n_attributes);
		if (!resource->attributes)
			return -ENOMEM;
		resource->dropped_attributes_count = res->dropped_attributes_count;
		rp->resource = resource;
		rp->schema_url = (char *)pf_batch_str(e->b, res->schema_url);
		while (end < n_sel && pf_batch_profile_get(e->b, sel[end].profile)->resource == r) {
			if (end == i ||
			    pf_batch_profile_get(e->b, sel[end].profile)->scope !=
				    pf_batch_profile_get(e->b, sel[end - 1].profile)->scope)
				n_scopes++;
			end++;
		}
		if (!NEW_ARRAY(e, rp->scope_profiles, n_scopes))
			return -ENOMEM;
		for (size_t j = i; j < end;) {
			uint32_t s = pf_batch_profile_get(e->b, sel[j].profile)->scope;
			const struct pf_scope *sc = pf_batch_scope_get(e->b, s);
			PF_OTLP_PB(ScopeProfiles) *sp = zalloc(e, sizeof(*sp));
			PF_OTLP_CPB(InstrumentationScope) *scope = zalloc(e, sizeof(*scope));
			size_t k = j;
			if (!sp || !scope)
				return -ENOMEM;
			opentelemetry__proto__profiles__v1development__scope_profiles__init(sp);
			opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
			scope->name = (char *)pf_batch_str(e->b, sc->name);
			scope->version = (char *)pf_batch_str(e->b, sc->version);
			scope->attributes = key_values(e, sc->attrs, &scope->n_attributes);
			if (!scope->attributes)
				return -ENOMEM;
			sp->scope = scope;
			sp->schema_url = (char *)pf_batch_str(e->b, sc->schema_url);
			while (k < end && pf_batch_profile_get(e->b, sel[k].profile)->scope == s)
				k++;
			if (!NEW_ARRAY(e, sp->profiles, k - j))
				return -ENOMEM;
			for (; j < k; j++) {
				sp->profiles[sp->n_profiles] = build_profile(e, &sel[j]);
				if (!sp->profiles[sp->n_profiles++])
					return -ENOMEM;
			}
			rp->scope_profiles[rp->n_scope_profiles++] = sp;
		}
		req->resource_profiles[req->n_resource_profiles++] = rp;
		i = end;
	}
	return 0;
}

int pf_otlp_encode_sel(const struct pf_batch *b, const struct pf_otlp_sel *sel_in, size_t n_sel,
		       bool raw_samples, pf_otlp_pack_fn pack, void *ctx)
{
	struct enc e = {.b = b, .raw = raw_samples};
	PF_OTLP_REQ req;
	PF_OTLP_PB(ProfilesDictionary) dict;
	struct pf_otlp_sel *sel;
	int rc = -ENOMEM;

	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__init(
		&req);
	pf_pb_arena_init(&e.arena, 0);
	sel = calloc(n_sel ? n_sel : 1, sizeof(*sel));
	if (!sel)
		goto out_free_arena;
	memcpy(sel, sel_in, n_sel * sizeof(*sel));
	if (remap_init(&e.str, pf_batch_n_strings(b)) ||
	    remap_init(&e.attr, pf_batch_n_attributes(b)) ||
	    remap_init(&e.fn, pf_batch_n_functions(b)) ||
	    remap_init(&e.map, pf_batch_n_mappings(b)) ||
	    remap_init(&e.loc, pf_batch_n_locations(b)) ||
	    remap_init(&e.stack, pf_batch_n_stacks(b)) || remap_init(&e.link, pf_batch_n_links(b)))
		goto out_free_maps;
	mark(&e, sel, n_sel);
	if (n_sel) {
		rc = build_dictionary(&e, &dict);
		if (rc < 0)
			goto out_free_maps;
		req.dictionary = &dict;
		rc = build_envelopes(&e, sel, n_sel, &req);
		if (rc < 0)
			goto out_free_maps;
	}
	rc = pack(ctx, &req.base);
out_free_maps:
	remap_fini(&e.str);
	remap_fini(&e.attr);
	remap_fini(&e.fn);
	remap_fini(&e.map);
	remap_fini(&e.loc);
	remap_fini(&e.stack);
	remap_fini(&e.link);
	free(sel);
out_free_arena:
	pf_pb_arena_fini(&e.arena);
	return rc;
}
