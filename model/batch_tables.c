/* SPDX-License-Identifier: Apache-2.0 */
/* Interning into the batch's small fixed-size tables: attributes, mappings, links, resources, scopes. */
#include "model/batch.h"

#include <assert.h>
#include <string.h>

#include "model/batch_internal.h"

static uint64_t value_bits(const struct pf_value *v)
{
	uint64_t bits = 0;

	switch (v->kind) {
	case PF_VALUE_STRING: bits = v->u.str; break;
	case PF_VALUE_INT: bits = (uint64_t)v->u.i; break;
	case PF_VALUE_DOUBLE: memcpy(&bits, &v->u.d, sizeof(bits)); break;
	case PF_VALUE_BOOL: bits = v->u.b; break;
	case PF_VALUE_STRINGS: bits = v->u.strs; break;
	case PF_VALUE_EMPTY: break;
	}
	return bits;
}

static bool attribute_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_attribute *a = (const struct pf_attribute *)ctx + idx;
	const struct pf_attribute *k = key;

	return a->key == k->key && a->unit == k->unit && a->value.kind == k->value.kind &&
	       value_bits(&a->value) == value_bits(&k->value);
}

static uint32_t attribute_intern(struct pf_batch *b, const struct pf_attribute *in)
{
	struct pf_attribute a;
	uint64_t w[3];

	memset(&a, 0, sizeof(a));
	a.key = in->key;
	a.unit = in->unit;
	a.value.kind = in->value.kind;
	switch (in->value.kind) {
	case PF_VALUE_STRING: a.value.u.str = in->value.u.str; break;
	case PF_VALUE_INT: a.value.u.i = in->value.u.i; break;
	case PF_VALUE_DOUBLE: a.value.u.d = in->value.u.d; break;
	case PF_VALUE_BOOL: a.value.u.b = in->value.u.b; break;
	case PF_VALUE_STRINGS: a.value.u.strs = in->value.u.strs; break;
	case PF_VALUE_EMPTY: break;
	}
	w[0] = a.key | (uint64_t)a.unit << 32;
	w[1] = a.value.kind;
	w[2] = value_bits(&a.value);
	return pf_batch_table_intern(&b->attributes, sizeof(a), &a,
				     pf_batch_hash_words(b->seed, w, 3), attribute_eq);
}

uint32_t pf_batch_attribute(struct pf_batch *b, const struct pf_attribute *a)
{
	size_t ns = b->strings.n;

	assert(!pf_batch_is_shared(b));
	if (a->key >= ns || a->unit >= ns)
		return PF_INDEX_ERROR;
	switch (a->value.kind) {
	case PF_VALUE_EMPTY:
	case PF_VALUE_INT:
	case PF_VALUE_DOUBLE:
	case PF_VALUE_BOOL: break;
	case PF_VALUE_STRING:
		if (a->value.u.str >= ns)
			return PF_INDEX_ERROR;
		break;
	case PF_VALUE_STRINGS:
		if (a->value.u.strs >= b->string_lists.n)
			return PF_INDEX_ERROR;
		break;
	default: return PF_INDEX_ERROR;
	}
	return attribute_intern(b, a);
}

uint32_t pf_batch_attr_str(struct pf_batch *b, const char *key, const char *value)
{
	struct pf_attribute a = {.value.kind = PF_VALUE_STRING};

	a.key = pf_batch_cstring(b, key);
	a.value.u.str = pf_batch_cstring(b, value);
	if (a.key == PF_INDEX_ERROR || a.value.u.str == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return attribute_intern(b, &a);
}

uint32_t pf_batch_attr_int(struct pf_batch *b, const char *key, int64_t value)
{
	struct pf_attribute a = {.value.kind = PF_VALUE_INT, .value.u.i = value};

	a.key = pf_batch_cstring(b, key);
	if (a.key == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return attribute_intern(b, &a);
}

static bool mapping_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_mapping *m = (const struct pf_mapping *)ctx + idx;
	const struct pf_mapping *k = key;

	return m->memory_start == k->memory_start && m->memory_limit == k->memory_limit &&
	       m->file_offset == k->file_offset && m->filename == k->filename &&
	       m->attrs == k->attrs;
}

static uint32_t mapping_intern(struct pf_batch *b, const struct pf_mapping *in)
{
	struct pf_mapping m;
	uint64_t w[4];

	memset(&m, 0, sizeof(m));
	m.memory_start = in->memory_start;
	m.memory_limit = in->memory_limit;
	m.file_offset = in->file_offset;
	m.filename = in->filename;
	m.attrs = in->attrs;
	w[0] = m.memory_start;
	w[1] = m.memory_limit;
	w[2] = m.file_offset;
	w[3] = m.filename | (uint64_t)m.attrs << 32;
	return pf_batch_table_intern(&b->mappings, sizeof(m), &m,
				     pf_batch_hash_words(b->seed, w, 4), mapping_eq);
}

uint32_t pf_batch_mapping(struct pf_batch *b, const struct pf_mapping *m)
{
	assert(!pf_batch_is_shared(b));
	if (m->filename >= b->strings.n || m->attrs >= b->attr_sets.n)
		return PF_INDEX_ERROR;
	return mapping_intern(b, m);
}

static bool link_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_link *l = (const struct pf_link *)ctx + idx;

	return memcmp(l, key, sizeof(*l)) == 0; /* byte arrays: no padding */
}

static uint32_t link_intern(struct pf_batch *b, const struct pf_link *l)
{
	uint64_t w[3];

	_Static_assert(sizeof(w) == sizeof(*l), "a link is three words");
	memcpy(w, l, sizeof(w));
	return pf_batch_table_intern(&b->links, sizeof(*l), l, pf_batch_hash_words(b->seed, w, 3),
				     link_eq);
}

uint32_t pf_batch_link(struct pf_batch *b, const struct pf_link *l)
{
	assert(!pf_batch_is_shared(b));
	return link_intern(b, l);
}

static bool resource_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_resource *r = (const struct pf_resource *)ctx + idx;
	const struct pf_resource *k = key;

	return r->attrs == k->attrs && r->schema_url == k->schema_url &&
	       r->dropped_attributes_count == k->dropped_attributes_count;
}

static uint32_t resource_intern(struct pf_batch *b, const struct pf_resource *in)
{
	struct pf_resource r = {in->attrs, in->schema_url, in->dropped_attributes_count};
	uint64_t w[2] = {r.attrs | (uint64_t)r.schema_url << 32, r.dropped_attributes_count};

	return pf_batch_table_intern(&b->resources, sizeof(r), &r,
				     pf_batch_hash_words(b->seed, w, 2), resource_eq);
}

uint32_t pf_batch_resource(struct pf_batch *b, const struct pf_resource *r)
{
	assert(!pf_batch_is_shared(b));
	if (r->attrs >= b->attr_sets.n || r->schema_url >= b->strings.n)
		return PF_INDEX_ERROR;
	return resource_intern(b, r);
}

static bool scope_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_scope *s = (const struct pf_scope *)ctx + idx;
	const struct pf_scope *k = key;

	return s->name == k->name && s->version == k->version && s->attrs == k->attrs &&
	       s->schema_url == k->schema_url;
}

static uint32_t scope_intern(struct pf_batch *b, const struct pf_scope *in)
{
	struct pf_scope s = {in->name, in->version, in->attrs, in->schema_url};
	uint64_t w[2] = {s.name | (uint64_t)s.version << 32,
			 s.attrs | (uint64_t)s.schema_url << 32};

	return pf_batch_table_intern(&b->scopes, sizeof(s), &s, pf_batch_hash_words(b->seed, w, 2),
				     scope_eq);
}

uint32_t pf_batch_scope(struct pf_batch *b, const struct pf_scope *s)
{
	size_t ns = b->strings.n;

	assert(!pf_batch_is_shared(b));
	if (s->name >= ns || s->version >= ns || s->schema_url >= ns || s->attrs >= b->attr_sets.n)
		return PF_INDEX_ERROR;
	return scope_intern(b, s);
}
