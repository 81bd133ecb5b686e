// SPDX-License-Identifier: Apache-2.0
/* Re-interns a batch's reachable entries into a new batch, locations through a callback. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/semconv.h"
#include "rebuild.h"

#define LINES_MAX 256

/* A memo of dst indices: val + 1 (0 = not yet), valid for gen 0 (any
 * process) or the current generation (this process). */
struct memo {
	uint32_t val;
	uint32_t gen;
};

struct pf_rebuild {
	const struct pf_batch *src;
	struct pf_batch *dst;
	pf_rebuild_locate_fn locate;
	void *ctx;
	uint32_t gen;
	int64_t pid;
	uint32_t *strs, *attrs, *sets, *funcs, *maps, *links, *res, *scopes;
	struct memo *locs, *caller_locs, *stacks; /* locations as leaves and as callers */
};

const struct pf_batch *pf_rebuild_src(const struct pf_rebuild *rb)
{
	return rb->src;
}

struct pf_batch *pf_rebuild_dst(struct pf_rebuild *rb)
{
	return rb->dst;
}

/* Memoizes `expr` (evaluating to a dst index) in table[i]. */
#define MEMO(table, i, expr)                                                                       \
	__extension__({                                                                            \
		uint32_t v_ = (table)[i];                                                          \
		if (v_ == 0) {                                                                     \
			uint32_t r_ = (expr);                                                      \
			if (r_ == PF_INDEX_ERROR)                                                  \
				return PF_INDEX_ERROR;                                             \
			(table)[i] = v_ = r_ + 1;                                                  \
		}                                                                                  \
		v_ - 1;                                                                            \
	})

uint32_t pf_rebuild_string(struct pf_rebuild *rb, uint32_t s)
{
	if (s == 0)
		return 0;
	return MEMO(
		rb->strs, s,
		pf_batch_string(rb->dst, pf_batch_str(rb->src, s), pf_batch_str_len(rb->src, s)));
}

static uint32_t copy_list(struct pf_rebuild *rb, uint32_t l)
{
	size_t n, i;
	const uint32_t *items = pf_batch_string_list_get(rb->src, l, &n);
	uint32_t *out = calloc(n ? n : 1, sizeof(*out)), r = PF_INDEX_ERROR;

	if (!out)
		return PF_INDEX_ERROR;
	for (i = 0; i < n; i++)
		if ((out[i] = pf_rebuild_string(rb, items[i])) == PF_INDEX_ERROR)
			goto out_free;
	r = pf_batch_string_list(rb->dst, out, n);
out_free:
	free(out);
	return r;
}

/* Not memoized: the batch tells no count of string lists, and they are rare. */
static uint32_t string_list(struct pf_rebuild *rb, uint32_t l)
{
	return copy_list(rb, l);
}

static uint32_t copy_attr(struct pf_rebuild *rb, uint32_t i)
{
	struct pf_attribute a = *pf_batch_attribute_get(rb->src, i);

	a.key = pf_rebuild_string(rb, a.key);
	a.unit = pf_rebuild_string(rb, a.unit);
	if (a.key == PF_INDEX_ERROR || a.unit == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	if (a.value.kind == PF_VALUE_STRING)
		a.value.u.str = pf_rebuild_string(rb, a.value.u.str);
	else if (a.value.kind == PF_VALUE_STRINGS)
		a.value.u.strs = string_list(rb, a.value.u.strs);
	if (a.value.u.str == PF_INDEX_ERROR &&
	    (a.value.kind == PF_VALUE_STRING || a.value.kind == PF_VALUE_STRINGS))
		return PF_INDEX_ERROR;
	return pf_batch_attribute(rb->dst, &a);
}

uint32_t pf_rebuild_attribute(struct pf_rebuild *rb, uint32_t attr)
{
	if (attr == 0)
		return 0;
	return MEMO(rb->attrs, attr, copy_attr(rb, attr));
}

static uint32_t copy_set(struct pf_rebuild *rb, uint32_t set)
{
	size_t n, i;
	const uint32_t *items = pf_batch_attr_set_get(rb->src, set, &n);
	uint32_t *out = calloc(n ? n : 1, sizeof(*out)), r = PF_INDEX_ERROR;

	if (!out)
		return PF_INDEX_ERROR;
	for (i = 0; i < n; i++) {
		out[i] = pf_rebuild_attribute(rb, items[i]);
		if (out[i] == PF_INDEX_ERROR)
			goto out_free;
	}
	r = pf_batch_attr_set(rb->dst, out, n);
out_free:
	free(out);
	return r;
}

uint32_t pf_rebuild_attr_set(struct pf_rebuild *rb, uint32_t set)
{
	if (set == 0)
		return 0;
	return MEMO(rb->sets, set, copy_set(rb, set));
}

static uint32_t copy_mapping(struct pf_rebuild *rb, uint32_t i)
{
	struct pf_mapping m = *pf_batch_mapping_get(rb->src, i);

	m.filename = pf_rebuild_string(rb, m.filename);
	m.attrs = pf_rebuild_attr_set(rb, m.attrs);
	if (m.filename == PF_INDEX_ERROR || m.attrs == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_mapping(rb->dst, &m);
}

uint32_t pf_rebuild_mapping(struct pf_rebuild *rb, uint32_t m)
{
	if (m == 0)
		return 0;
	return MEMO(rb->maps, m, copy_mapping(rb, m));
}

static uint32_t copy_function(struct pf_rebuild *rb, uint32_t i)
{
	struct pf_function f = *pf_batch_function_get(rb->src, i);

	f.name = pf_rebuild_string(rb, f.name);
	f.system_name = pf_rebuild_string(rb, f.system_name);
	f.filename = pf_rebuild_string(rb, f.filename);
	if (f.name == PF_INDEX_ERROR || f.system_name == PF_INDEX_ERROR ||
	    f.filename == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_function(rb->dst, &f);
}

uint32_t pf_rebuild_location_copy(struct pf_rebuild *rb, uint32_t i)
{
	struct pf_location loc = *pf_batch_location_get(rb->src, i);
	const struct pf_line *in;
	struct pf_line out[LINES_MAX];
	size_t n, k;

	in = pf_batch_location_lines(rb->src, i, &n);
	if (n > LINES_MAX)
		n = LINES_MAX; /* keeps the innermost: deeper inlining is noise */
	for (k = 0; k < n; k++) {
		out[k] = in[k];
		if (in[k].function)
			out[k].function =
				MEMO(rb->funcs, in[k].function, copy_function(rb, in[k].function));
	}
	loc.mapping = pf_rebuild_mapping(rb, loc.mapping);
	loc.attrs = pf_rebuild_attr_set(rb, loc.attrs);
	if (loc.mapping == PF_INDEX_ERROR || loc.attrs == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_location(rb->dst, &loc, out, n);
}

static uint32_t location(struct pf_rebuild *rb, uint32_t i, bool caller, bool *per_process)
{
	struct memo *m = caller ? &rb->caller_locs[i] : &rb->locs[i];
	bool pp = false;
	uint32_t r;

	if (m->val && (m->gen == 0 || m->gen == rb->gen)) {
		*per_process = m->gen != 0;
		return m->val - 1;
	}
	r = i ? rb->locate(rb->ctx, rb, i, caller, rb->pid, &pp) : 0;
	if (r == PF_INDEX_ERROR)
		return r;
	m->val = r + 1;
	m->gen = pp ? rb->gen : 0;
	*per_process = pp;
	return r;
}

static uint32_t stack(struct pf_rebuild *rb, uint32_t s)
{
	struct memo *m = &rb->stacks[s];
	const uint32_t *in;
	uint32_t *out, r = PF_INDEX_ERROR;
	bool pp = false;
	size_t n, i;

	if (m->val && (m->gen == 0 || m->gen == rb->gen))
		return m->val - 1;
	in = pf_batch_stack_get(rb->src, s, &n);
	out = calloc(n ? n : 1, sizeof(*out));
	if (!out)
		return PF_INDEX_ERROR;
	for (i = 0; i < n; i++) {
		bool one = false;

		out[i] = location(rb, in[i], i > 0, &one); /* leaf first */
		if (out[i] == PF_INDEX_ERROR)
			goto out_free;
		pp |= one;
	}
	r = pf_batch_stack(rb->dst, out, n);
	if (r != PF_INDEX_ERROR) {
		m->val = r + 1;
		m->gen = pp ? rb->gen : 0;
	}
out_free:
	free(out);
	return r;
}

static uint32_t copy_link(struct pf_rebuild *rb, uint32_t i)
{
	return pf_batch_link(rb->dst, pf_batch_link_get(rb->src, i));
}

static uint32_t link(struct pf_rebuild *rb, uint32_t l)
{
	if (l == 0)
		return 0;
	return MEMO(rb->links, l, copy_link(rb, l));
}

static uint32_t copy_resource(struct pf_rebuild *rb, uint32_t i)
{
	struct pf_resource r = *pf_batch_resource_get(rb->src, i);

	r.attrs = pf_rebuild_attr_set(rb, r.attrs);
	r.schema_url = pf_rebuild_string(rb, r.schema_url);
	if (r.attrs == PF_INDEX_ERROR || r.schema_url == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_resource(rb->dst, &r);
}

static uint32_t copy_scope(struct pf_rebuild *rb, uint32_t i)
{
	struct pf_scope s = *pf_batch_scope_get(rb->src, i);

	s.name = pf_rebuild_string(rb, s.name);
	s.version = pf_rebuild_string(rb, s.version);
	s.attrs = pf_rebuild_attr_set(rb, s.attrs);
	s.schema_url = pf_rebuild_string(rb, s.schema_url);
	if (s.name == PF_INDEX_ERROR || s.version == PF_INDEX_ERROR || s.attrs == PF_INDEX_ERROR ||
	    s.schema_url == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_scope(rb->dst, &s);
}

static int64_t resource_pid(const struct pf_batch *b, uint32_t res)
{
	const struct pf_value *v;

	if (res == 0)
		return -1;
	v = pf_batch_attr_lookup(b, pf_batch_resource_get(b, res)->attrs, PF_ATTR_PROCESS_PID);
	if (!v)
		return -1;
	if (v->kind == PF_VALUE_INT)
		return v->u.i > 0 ? v->u.i : -1;
	if (v->kind == PF_VALUE_STRING)
		return strtoll(pf_batch_str(b, v->u.str), NULL, 10) ?: -1;
	return -1;
}

static int copy_samples(struct pf_rebuild *rb, uint32_t p, uint32_t dp)
{
	size_t n, i;
	const struct pf_sample *s = pf_batch_samples(rb->src, p, &n);

	for (i = 0; i < n; i++) {
		uint32_t st = stack(rb, s[i].stack);
		uint32_t at = pf_rebuild_attr_set(rb, s[i].attrs);
		uint32_t ln = link(rb, s[i].link);
		int ret;

		if (st == PF_INDEX_ERROR || at == PF_INDEX_ERROR || ln == PF_INDEX_ERROR)
			return -ENOMEM;
		ret = pf_batch_add_sample(rb->dst, dp, st, at, ln,
					  pf_batch_sample_values(rb->src, &s[i]), s[i].values_len,
					  pf_batch_sample_timestamps(rb->src, &s[i]),
					  s[i].timestamps_len);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static uint32_t copy_profile(struct pf_rebuild *rb, uint32_t p)
{
	struct pf_profile_desc d = *pf_batch_profile_get(rb->src, p);
	int64_t pid = resource_pid(rb->src, d.resource);
	uint32_t dp;

	if (pid != rb->pid) {
		rb->pid = pid;
		rb->gen++;
	}
	d.resource = d.resource ? MEMO(rb->res, d.resource, copy_resource(rb, d.resource)) : 0;
	d.scope = d.scope ? MEMO(rb->scopes, d.scope, copy_scope(rb, d.scope)) : 0;
	d.sample_type.type = pf_rebuild_string(rb, d.sample_type.type);
	d.sample_type.unit = pf_rebuild_string(rb, d.sample_type.unit);
	d.period_type.type = pf_rebuild_string(rb, d.period_type.type);
	d.period_type.unit = pf_rebuild_string(rb, d.period_type.unit);
	d.attrs = pf_rebuild_attr_set(rb, d.attrs);
	d.original_payload_format = pf_rebuild_string(rb, d.original_payload_format);
	if (d.sample_type.type == PF_INDEX_ERROR || d.sample_type.unit == PF_INDEX_ERROR ||
	    d.period_type.type == PF_INDEX_ERROR || d.period_type.unit == PF_INDEX_ERROR ||
	    d.attrs == PF_INDEX_ERROR || d.original_payload_format == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	dp = pf_batch_add_profile(rb->dst, &d);
	if (dp == PF_INDEX_ERROR || copy_samples(rb, p, dp) < 0)
		return PF_INDEX_ERROR;
	return dp;
}

static void free_tables(struct pf_rebuild *rb)
{
	free(rb->strs);
	free(rb->attrs);
	free(rb->sets);
	free(rb->funcs);
	free(rb->maps);
	free(rb->links);
	free(rb->res);
	free(rb->scopes);
	free(rb->locs);
	free(rb->caller_locs);
	free(rb->stacks);
}

struct pf_batch *pf_rebuild(const struct pf_batch *src, pf_rebuild_locate_fn locate, void *ctx)
{
	struct pf_rebuild rb = {.src = src, .locate = locate, .ctx = ctx, .pid = -1, .gen = 1};
	size_t p;

	rb.strs = calloc(pf_batch_n_strings(src), sizeof(uint32_t));
	rb.attrs = calloc(pf_batch_n_attributes(src), sizeof(uint32_t));
	rb.sets = calloc(pf_batch_n_attr_sets(src), sizeof(uint32_t));
	rb.funcs = calloc(pf_batch_n_functions(src), sizeof(uint32_t));
	rb.maps = calloc(pf_batch_n_mappings(src), sizeof(uint32_t));
	rb.links = calloc(pf_batch_n_links(src), sizeof(uint32_t));
	rb.res = calloc(pf_batch_n_resources(src), sizeof(uint32_t));
	rb.scopes = calloc(pf_batch_n_scopes(src), sizeof(uint32_t));
	rb.locs = calloc(pf_batch_n_locations(src), sizeof(struct memo));
	rb.caller_locs = calloc(pf_batch_n_locations(src), sizeof(struct memo));
	rb.stacks = calloc(pf_batch_n_stacks(src), sizeof(struct memo));
	rb.dst = pf_batch_new();
	if (!rb.strs || !rb.attrs || !rb.sets || !rb.funcs || !rb.maps || !rb.links || !rb.res ||
	    !rb.scopes || !rb.locs || !rb.caller_locs || !rb.stacks || !rb.dst)
		goto out_fail;
	for (p = 0; p < pf_batch_n_profiles(src); p++)
		if (copy_profile(&rb, (uint32_t)p) == PF_INDEX_ERROR)
			goto out_fail;
	free_tables(&rb);
	return rb.dst;

out_fail:
	pf_batch_unref(rb.dst);
	free_tables(&rb);
	return NULL;
}
