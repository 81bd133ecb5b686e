// SPDX-License-Identifier: Apache-2.0
/* Checks an unpacked OTLP profiles request against every rule before any of it is accepted. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/internal.h"
#include "model/indices.h"

/*
 * Each check names the element (dictionary.location_table[3].lines[0]...)
 * so that a receiver can hand the message back in its INVALID_ARGUMENT / 400
 * reply. Nothing here allocates but the sort of a long attribute list.
 */

/* Short keys are compared pairwise; longer lists are sorted. */
#define PAIRWISE_MAX 32

struct val {
	const PF_OTLP_PB(ProfilesDictionary) * d;
	const struct pf_otlp_dict *h; /* the hot tables */
	size_t n_strings;	      /* 0 without a dictionary */
	const struct pf_otlp_samples *smp;
	struct pf_error *err;
};

static bool in_range(int32_t i, size_t n)
{
	return i >= 0 && (size_t)i < n;
}

static int bad_index(struct val *v, const char *what, size_t at, const char *field, int32_t i,
		     const char *table, size_t n)
{
	return pf_error_set(v->err, "", "%s[%zu].%s %" PRId32 " out of range (%s has %zu entries)",
			    what, at, field, i, table, n);
}

static int check_str(struct val *v, const char *what, size_t at, const char *field, int32_t i)
{
	if (in_range(i, v->n_strings))
		return 0;
	return bad_index(v, what, at, field, i, "string_table", v->n_strings);
}

static bool str_eq(const struct pf_otlp_str *a, const struct pf_otlp_str *b)
{
	return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

static int cmp_str(const void *pa, const void *pb)
{
	const struct pf_otlp_str *a = *(const struct pf_otlp_str *const *)pa;
	const struct pf_otlp_str *b = *(const struct pf_otlp_str *const *)pb;
	int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* The key of attribute_table entry i. */
static const struct pf_otlp_str *key_of(const struct val *v, int32_t i)
{
	return &v->h->str[v->d->attribute_table[i]->key_strindex];
}

/* Keys of the attribute_table entries listed must be in range and unique. */
static int check_attr_list(struct val *v, const char *what, size_t at, const int32_t *idx, size_t n)
{
	size_t n_attr = v->d ? v->d->n_attribute_table : 0;
	const struct pf_otlp_str **keys;
	int rc = 0;

	if (n == 0)
		return 0;
	for (size_t k = 0; k < n; k++)
		if (!in_range(idx[k], n_attr))
			return bad_index(v, what, at, "attribute_indices", idx[k],
					 "attribute_table", n_attr);
	if (n < 2)
		return 0;
	if (n <= PAIRWISE_MAX) {
		for (size_t a = 0; a < n; a++)
			for (size_t b = a + 1; b < n; b++)
				if (str_eq(key_of(v, idx[a]), key_of(v, idx[b])))
					goto dup;
		return 0;
	}
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++)
		keys[k] = key_of(v, idx[k]);
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (size_t k = 1; k < n && rc == 0; k++)
		if (str_eq(keys[k - 1], keys[k]))
			rc = -EINVAL;
	free(keys);
	if (rc == 0)
		return 0;
dup:
	return pf_error_set(v->err, "", "%s[%zu].attribute_indices lists the same key twice", what,
			    at);
}

static int check_any(struct val *v, const char *what, size_t at, const PF_OTLP_CPB(AnyValue) * a)
{
	if (!a)
		return 0;
	switch (a->value_case) {
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX:
		return check_str(v, what, at, "value.string_value_strindex",
				 a->string_value_strindex);
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
		for (size_t k = 0; a->array_value && k < a->array_value->n_values; k++) {
			int rc = check_any(v, what, at, a->array_value->values[k]);
			if (rc < 0)
				return rc;
		}
		return 0;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
		for (size_t k = 0; a->kvlist_value && k < a->kvlist_value->n_values; k++) {
			const PF_OTLP_CPB(KeyValue) *kv = a->kvlist_value->values[k];
			if (kv->key_strindex != 0) {
				int rc = check_str(v, what, at, "value.key_strindex",
						   kv->key_strindex);
				if (rc < 0)
					return rc;
			}
			int rc = check_any(v, what, at, kv->value);
			if (rc < 0)
				return rc;
		}
		return 0;
	default: return 0;
	}
}

/* Inline KeyValue lists (resource and scope attributes). */
static int check_kvs(struct val *v, const char *what, size_t at, PF_OTLP_CPB(KeyValue) * *kvs,
		     size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (kvs[k]->key_strindex != 0) {
			int rc = check_str(v, what, at, "attributes.key_strindex",
					   kvs[k]->key_strindex);
			if (rc < 0)
				return rc;
		}
		int rc = check_any(v, what, at, kvs[k]->value);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool all_zero(const ProtobufCBinaryData *d)
{
	for (size_t i = 0; i < d->len; i++)
		if (d->data[i])
			return false;
	return true;
}

static int zero_entry(struct val *v, const char *table)
{
	return pf_error_set(v->err, "", "dictionary.%s[0] must be the zero value", table);
}

static int check_zero_entries(struct val *v)
{
	const PF_OTLP_PB(ProfilesDictionary) *d = v->d;
	const struct pf_otlp_dict *h = v->h;
	const char *missing = NULL;

	if (h->n_str == 0)
		missing = "string_table";
	else if (d->n_mapping_table == 0)
		missing = "mapping_table";
	else if (h->n_loc == 0)
		missing = "location_table";
	else if (h->n_fn == 0)
		missing = "function_table";
	else if (d->n_link_table == 0)
		missing = "link_table";
	else if (d->n_attribute_table == 0)
		missing = "attribute_table";
	else if (h->n_stack == 0)
		missing = "stack_table";
	if (missing)
		return pf_error_set(v->err, "",
				    "dictionary.%s is empty: every table must hold its zero "
				    "value at index 0",
				    missing);
	if (h->str[0].len != 0)
		return pf_error_set(v->err, "", "dictionary.string_table[0] must be \"\"");
	const PF_OTLP_PB(Mapping) *m = d->mapping_table[0];
	if (m->memory_start || m->memory_limit || m->file_offset || m->filename_strindex ||
	    m->n_attribute_indices)
		return zero_entry(v, "mapping_table");
	const struct pf_otlp_location *l = &h->loc[0];
	if (l->mapping_index || l->address || l->n_lines || l->n_attrs)
		return zero_entry(v, "location_table");
	const struct pf_otlp_function *f = &h->fn[0];
	if (f->name_strindex || f->system_name_strindex || f->filename_strindex || f->start_line)
		return zero_entry(v, "function_table");
	const PF_OTLP_PB(Link) *k = d->link_table[0];
	if ((k->trace_id.len != 0 && k->trace_id.len != 16) ||
	    (k->span_id.len != 0 && k->span_id.len != 8) || !all_zero(&k->trace_id) ||
	    !all_zero(&k->span_id))
		return zero_entry(v, "link_table");
	const PF_OTLP_PB(KeyValueAndUnit) *a = d->attribute_table[0];
	if (a->key_strindex || a->unit_strindex ||
	    (a->value &&
	     a->value->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET))
		return zero_entry(v, "attribute_table");
	if (h->stack[0].n)
		return zero_entry(v, "stack_table");
	return 0;
}

static int check_dictionary(struct val *v)
{
	const PF_OTLP_PB(ProfilesDictionary) *d = v->d;
	const struct pf_otlp_dict *h = v->h;
	int rc = check_zero_entries(v);

	for (size_t i = 0; rc == 0 && i < d->n_attribute_table; i++) {
		const PF_OTLP_PB(KeyValueAndUnit) *a = d->attribute_table[i];
		rc = check_str(v, "dictionary.attribute_table", i, "key_strindex", a->key_strindex);
		if (rc == 0)
			rc = check_str(v, "dictionary.attribute_table", i, "unit_strindex",
				       a->unit_strindex);
		if (rc == 0)
			rc = check_any(v, "dictionary.attribute_table", i, a->value);
	}
	for (size_t i = 0; rc == 0 && i < h->n_fn; i++) {
		const struct pf_otlp_function *f = &h->fn[i];
		const char *w = "dictionary.function_table";
		rc = check_str(v, w, i, "name_strindex", f->name_strindex);
		if (rc == 0)
			rc = check_str(v, w, i, "system_name_strindex", f->system_name_strindex);
		if (rc == 0)
			rc = check_str(v, w, i, "filename_strindex", f->filename_strindex);
	}
	for (size_t i = 0; rc == 0 && i < d->n_mapping_table; i++) {
		const PF_OTLP_PB(Mapping) *m = d->mapping_table[i];
		rc = check_str(v, "dictionary.mapping_table", i, "filename_strindex",
			       m->filename_strindex);
		if (rc == 0)
			rc = check_attr_list(v, "dictionary.mapping_table", i, m->attribute_indices,
					     m->n_attribute_indices);
	}
	for (size_t i = 0; rc == 0 && i < h->n_loc; i++) {
		const struct pf_otlp_location *l = &h->loc[i];
		const struct pf_otlp_line *lines = h->lines + l->lines_off;
		const char *w = "dictionary.location_table";
		if (!in_range(l->mapping_index, d->n_mapping_table))
			return bad_index(v, w, i, "mapping_index", l->mapping_index,
					 "mapping_table", d->n_mapping_table);
		for (size_t k = 0; k < l->n_lines; k++)
			if (!in_range(lines[k].function_index, h->n_fn))
				return bad_index(v, w, i, "lines.function_index",
						 lines[k].function_index, "function_table",
						 h->n_fn);
		rc = check_attr_list(v, w, i, h->idx + l->attrs_off, l->n_attrs);
	}
	for (size_t i = 0; rc == 0 && i < h->n_stack; i++) {
		const int32_t *locs = h->idx + h->stack[i].off;
		if (pf_indices_below((const uint32_t *)locs, h->stack[i].n, h->n_loc))
			continue;
		for (size_t k = 0; k < h->stack[i].n; k++)
			if (!in_range(locs[k], h->n_loc))
				return bad_index(v, "dictionary.stack_table", i, "location_indices",
						 locs[k], "location_table", h->n_loc);
	}
	for (size_t i = 1; rc == 0 && i < d->n_link_table; i++) {
		const PF_OTLP_PB(Link) *k = d->link_table[i];
		if (k->trace_id.len != 16 || k->span_id.len != 8)
			return pf_error_set(v->err, "",
					    "dictionary.link_table[%zu] needs a 16-byte trace_id "
					    "and an 8-byte span_id",
					    i);
	}
	return rc;
}

static int check_value_type(struct val *v, const char *what, size_t at, const char *field,
			    const PF_OTLP_PB(ValueType) * t)
{
	if (!t)
		return 0;
	int rc = check_str(v, what, at, field, t->type_strindex);
	return rc < 0 ? rc : check_str(v, what, at, field, t->unit_strindex);
}

static int check_sample(struct val *v, size_t p, size_t i, const struct pf_otlp_sample *s)
{
	const PF_OTLP_PB(ProfilesDictionary) *d = v->d;
	size_t n_attr = d->n_attribute_table;

	if (!in_range(s->stack_index, v->h->n_stack))
		return pf_error_set(v->err, "",
				    "profile %zu sample %zu: stack_index %" PRId32
				    " out of range (stack_table has %zu entries)",
				    p, i, s->stack_index, v->h->n_stack);
	if (!in_range(s->link_index, d->n_link_table))
		return pf_error_set(v->err, "",
				    "profile %zu sample %zu: link_index %" PRId32
				    " out of range (link_table has %zu entries)",
				    p, i, s->link_index, d->n_link_table);
	for (size_t k = 0; k < s->n_attribute_indices; k++)
		if (!in_range(s->attribute_indices[k], n_attr))
			return pf_error_set(v->err, "",
					    "profile %zu sample %zu: attribute index %" PRId32
					    " out of range (attribute_table has %zu entries); "
					    "if these are sample values the sender uses the old "
					    "v1.9 Sample layout (values=2), which is not supported",
					    p, i, s->attribute_indices[k], n_attr);
	if (s->n_values == 0 && s->n_timestamps == 0)
		return pf_error_set(
			v->err, "", "profile %zu sample %zu has neither values nor timestamps%s", p,
			i,
			s->n_attribute_indices ? " (its field 2 would hold values in the old v1.9 "
						 "layout, which is not supported)"
					       : "");
	if (s->n_values && s->n_timestamps && s->n_values != s->n_timestamps)
		return pf_error_set(v->err, "",
				    "profile %zu sample %zu has %zu values but %zu timestamps", p,
				    i, s->n_values, s->n_timestamps);
	int rc = check_attr_list(v, "sample", i, s->attribute_indices, s->n_attribute_indices);
	if (rc == -EINVAL) {
		/* Name the profile too; formatted only on error, this runs per sample. */
		char what[48];
		snprintf(what, sizeof(what), "profile %zu sample", p);
		pf_error_clear(v->err);
		rc = check_attr_list(v, what, i, s->attribute_indices, s->n_attribute_indices);
	}
	return rc;
}

static int check_profile(struct val *v, size_t p, const PF_OTLP_PB(Profile) * pr)
{
	const char *w = "profile";
	int rc = check_value_type(v, w, p, "sample_type", pr->sample_type);

	if (rc == 0)
		rc = check_value_type(v, w, p, "period_type", pr->period_type);
	if (rc == 0)
		rc = check_attr_list(v, w, p, pr->attribute_indices, pr->n_attribute_indices);
	if (rc == 0 && pr->profile_id.len != 0 && pr->profile_id.len != 16)
		return pf_error_set(v->err, "", "profile[%zu].profile_id has %zu bytes, not 16", p,
				    pr->profile_id.len);
	size_t n = pf_otlp_n_samples(v->smp, p, pr);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct pf_otlp_sample smp;
		pf_otlp_sample_get(v->smp, p, pr, i, &smp);
		rc = check_sample(v, p, i, &smp);
	}
	return rc;
}

int pf_otlp_validate(const PF_OTLP_REQ *req, const struct pf_otlp_dict *hot,
		     const struct pf_otlp_samples *smp, struct pf_error *err)
{
	struct val v = {.d = req->dictionary, .h = hot, .smp = smp, .err = err};
	size_t p = 0;
	int rc = 0;

	for (size_t r = 0; r < req->n_resource_profiles; r++) {
		const PF_OTLP_PB(ResourceProfiles) *rp = req->resource_profiles[r];
		for (size_t s = 0; s < rp->n_scope_profiles; s++)
			p += rp->scope_profiles[s]->n_profiles;
	}
	if (p == 0)
		return 0; /* an empty request is valid, dictionary or not */
	if (!v.d)
		return pf_error_set(err, "", "request has profiles but no dictionary");
	v.n_strings = hot->n_str;
	rc = check_dictionary(&v);
	p = 0;
	for (size_t r = 0; rc == 0 && r < req->n_resource_profiles; r++) {
		const PF_OTLP_PB(ResourceProfiles) *rp = req->resource_profiles[r];
		if (rp->resource)
			rc = check_kvs(&v, "resource_profiles", r, rp->resource->attributes,
				       rp->resource->n_attributes);
		for (size_t s = 0; rc == 0 && s < rp->n_scope_profiles; s++) {
			const PF_OTLP_PB(ScopeProfiles) *sp = rp->scope_profiles[s];
			if (sp->scope)
				rc = check_kvs(&v, "scope_profiles", s, sp->scope->attributes,
					       sp->scope->n_attributes);
			for (size_t k = 0; rc == 0 && k < sp->n_profiles; k++)
				rc = check_profile(&v, p++, sp->profiles[k]);
		}
	}
	return rc;
}
