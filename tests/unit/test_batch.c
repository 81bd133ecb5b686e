/* SPDX-License-Identifier: Apache-2.0 */
/* The batch data model: zero entries, interning, bounds, samples, merge, copy, aggregate, merge_sum. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "model/batch.h"
#include "model/indices.h"

/* ---- helpers ---- */

static uint32_t fn(struct pf_batch *b, const char *name)
{
	struct pf_function f = {.name = pf_batch_cstring(b, name)};

	return pf_batch_function(b, &f);
}

/* A one-line location calling `name` at `address`. */
static uint32_t loc(struct pf_batch *b, const char *name, uint64_t address)
{
	struct pf_line l = {.function = fn(b, name), .line = 10};
	struct pf_location lo = {.address = address};

	return pf_batch_location(b, &lo, &l, 1);
}

/* A stack from a ';'-separated list of function names, leaf first. */
static uint32_t stack_of(struct pf_batch *b, const char *names)
{
	uint32_t locs[32];
	char buf[256], *save = NULL, *tok;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", names);
	for (tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
		locs[n++] = loc(b, tok, 0x1000 + strlen(tok));
	return pf_batch_stack(b, locs, n);
}

/* Writes the function names of a stack as "a;b;c" into buf. */
static const char *stack_names(const struct pf_batch *b, uint32_t stack, char *buf, size_t size)
{
	size_t n, i, used = 0, nl;
	const uint32_t *locs = pf_batch_stack_get(b, stack, &n);

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		const struct pf_line *l = pf_batch_location_lines(b, locs[i], &nl);
		const struct pf_function *f = pf_batch_function_get(b, l[0].function);

		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ";" : "",
					 pf_batch_str(b, f->name));
	}
	return buf;
}

static uint32_t cpu_profile(struct pf_batch *b, uint64_t time, uint64_t duration)
{
	struct pf_profile_desc d = {
		.sample_type = {pf_batch_cstring(b, "cpu"), pf_batch_cstring(b, "nanoseconds")},
		.period_type = {pf_batch_cstring(b, "cpu"), pf_batch_cstring(b, "nanoseconds")},
		.period = 10000000,
		.time_unix_nano = time,
		.duration_nano = duration,
	};

	return pf_batch_add_profile(b, &d);
}

/* Interning every entry of every table again must give back its own index:
 * a duplicate would map to its first copy instead. */
static void assert_no_duplicates(struct pf_batch *b)
{
	size_t i, n;

	for (i = 0; i < pf_batch_n_strings(b); i++)
		assert_int_equal(pf_batch_string(b, pf_batch_str(b, (uint32_t)i),
						 pf_batch_str_len(b, (uint32_t)i)),
				 i);
	for (i = 1; i < pf_batch_n_attr_sets(b); i++) {
		const uint32_t *a = pf_batch_attr_set_get(b, (uint32_t)i, &n);

		assert_int_equal(pf_batch_attr_set(b, a, n), i);
	}
	for (i = 0; i < pf_batch_n_attributes(b); i++)
		assert_int_equal(pf_batch_attribute(b, pf_batch_attribute_get(b, (uint32_t)i)), i);
	for (i = 0; i < pf_batch_n_functions(b); i++)
		assert_int_equal(pf_batch_function(b, pf_batch_function_get(b, (uint32_t)i)), i);
	for (i = 0; i < pf_batch_n_mappings(b); i++)
		assert_int_equal(pf_batch_mapping(b, pf_batch_mapping_get(b, (uint32_t)i)), i);
	for (i = 0; i < pf_batch_n_locations(b); i++) {
		const struct pf_line *l = pf_batch_location_lines(b, (uint32_t)i, &n);
		struct pf_line copy[16];

		assert_true(n <= 16);
		memcpy(copy, l, n * sizeof(*l));
		assert_int_equal(
			pf_batch_location(b, pf_batch_location_get(b, (uint32_t)i), copy, n), i);
	}
	for (i = 1; i < pf_batch_n_stacks(b); i++) {
		const uint32_t *s = pf_batch_stack_get(b, (uint32_t)i, &n);

		assert_int_equal(pf_batch_stack(b, s, n), i);
	}
	for (i = 0; i < pf_batch_n_links(b); i++)
		assert_int_equal(pf_batch_link(b, pf_batch_link_get(b, (uint32_t)i)), i);
	for (i = 0; i < pf_batch_n_resources(b); i++)
		assert_int_equal(pf_batch_resource(b, pf_batch_resource_get(b, (uint32_t)i)), i);
	for (i = 0; i < pf_batch_n_scopes(b); i++)
		assert_int_equal(pf_batch_scope(b, pf_batch_scope_get(b, (uint32_t)i)), i);
}

/* ---- tests ---- */

static void test_zero_entries(void **state)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_function zf = {0};
	struct pf_mapping zm = {0};
	struct pf_location zl = {0};
	struct pf_link zk;
	struct pf_resource zr = {0};
	struct pf_scope zs = {0};
	struct pf_attribute za = {0};
	size_t n;

	memset(&zk, 0, sizeof(zk));
	assert_non_null(b);
	assert_int_equal(pf_batch_n_strings(b), 1);
	assert_int_equal(pf_batch_n_attributes(b), 1);
	assert_int_equal(pf_batch_n_attr_sets(b), 1);
	assert_int_equal(pf_batch_n_functions(b), 1);
	assert_int_equal(pf_batch_n_mappings(b), 1);
	assert_int_equal(pf_batch_n_locations(b), 1);
	assert_int_equal(pf_batch_n_stacks(b), 1);
	assert_int_equal(pf_batch_n_links(b), 1);
	assert_int_equal(pf_batch_n_resources(b), 1);
	assert_int_equal(pf_batch_n_scopes(b), 1);
	assert_int_equal(pf_batch_n_profiles(b), 0);
	assert_string_equal(pf_batch_str(b, 0), "");
	assert_int_equal(pf_batch_str_len(b, 0), 0);
	assert_int_equal(pf_batch_attribute_get(b, 0)->value.kind, PF_VALUE_EMPTY);
	pf_batch_attr_set_get(b, 0, &n);
	assert_int_equal(n, 0);
	pf_batch_stack_get(b, 0, &n);
	assert_int_equal(n, 0);
	pf_batch_string_list_get(b, 0, &n);
	assert_int_equal(n, 0);
	pf_batch_location_lines(b, 0, &n);
	assert_int_equal(n, 0);

	/* Interning the zero content gives the zero entry. */
	assert_int_equal(pf_batch_string(b, "", 0), 0);
	assert_int_equal(pf_batch_string(b, NULL, 0), 0);
	assert_int_equal(pf_batch_cstring(b, ""), 0);
	assert_int_equal(pf_batch_string_list(b, NULL, 0), 0);
	assert_int_equal(pf_batch_attribute(b, &za), 0);
	assert_int_equal(pf_batch_attr_set(b, NULL, 0), 0);
	assert_int_equal(pf_batch_function(b, &zf), 0);
	assert_int_equal(pf_batch_mapping(b, &zm), 0);
	assert_int_equal(pf_batch_location(b, &zl, NULL, 0), 0);
	assert_int_equal(pf_batch_stack(b, NULL, 0), 0);
	assert_int_equal(pf_batch_link(b, &zk), 0);
	assert_int_equal(pf_batch_resource(b, &zr), 0);
	assert_int_equal(pf_batch_scope(b, &zs), 0);
	assert_int_equal(pf_batch_n_strings(b), 1);
	assert_int_equal(pf_batch_n_functions(b), 1);
	assert_int_equal(pf_batch_n_locations(b), 1);
	assert_int_equal(pf_batch_sample_count(b), 0);
	pf_batch_unref(b);
}

static void test_intern_strings(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t a = pf_batch_cstring(b, "main"), c = pf_batch_string(b, "main.c", 4);
	uint32_t d = pf_batch_cstring(b, "main.c");
	char nul[3] = {'a', '\0', 'b'};
	uint32_t e = pf_batch_string(b, nul, 3), f = pf_batch_string(b, nul, 1);
	uint32_t l1, l2, l3, l4;

	assert_int_not_equal(a, 0);
	assert_int_equal(c, a);
	assert_int_not_equal(d, a);
	assert_int_not_equal(e, f);
	assert_int_equal(pf_batch_str_len(b, e), 3);
	assert_memory_equal(pf_batch_str(b, e), nul, 3);
	assert_string_equal(pf_batch_str(b, d), "main.c");
	assert_int_equal(pf_batch_n_strings(b), 5);

	uint32_t s1[] = {a, d}, s2[] = {d, a}, s3[] = {a};
	l1 = pf_batch_string_list(b, s1, 2);
	l2 = pf_batch_string_list(b, s2, 2);
	l3 = pf_batch_string_list(b, s3, 1);
	l4 = pf_batch_string_list(b, s1, 2);
	assert_int_not_equal(l1, 0);
	assert_int_not_equal(l1, l2);
	assert_int_not_equal(l1, l3);
	assert_int_equal(l1, l4);
	pf_batch_unref(b);
}

static void test_intern_attributes(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t k = pf_batch_cstring(b, "k"), v = pf_batch_cstring(b, "v");
	struct pf_attribute as = {.key = k, .value = {.kind = PF_VALUE_STRING, .u.str = v}};
	struct pf_attribute ai = {.key = k, .value = {.kind = PF_VALUE_INT, .u.i = (int64_t)v}};
	struct pf_attribute ad = {.key = k, .value = {.kind = PF_VALUE_DOUBLE, .u.d = 1.5}};
	struct pf_attribute ad2 = {.key = k, .value = {.kind = PF_VALUE_DOUBLE, .u.d = 2.5}};
	struct pf_attribute ab = {.key = k, .value = {.kind = PF_VALUE_BOOL, .u.b = true}};
	struct pf_attribute au = as;
	uint32_t x[6], s1, s2, s3;
	size_t i, j, n;

	au.unit = v;
	x[0] = pf_batch_attribute(b, &as);
	x[1] = pf_batch_attribute(b, &ai);
	x[2] = pf_batch_attribute(b, &ad);
	x[3] = pf_batch_attribute(b, &ad2);
	x[4] = pf_batch_attribute(b, &ab);
	x[5] = pf_batch_attribute(b, &au);
	for (i = 0; i < 6; i++) {
		assert_int_not_equal(x[i], 0);
		assert_int_not_equal(x[i], PF_INDEX_ERROR);
		for (j = 0; j < i; j++)
			assert_int_not_equal(x[i], x[j]);
	}
	assert_int_equal(pf_batch_attribute(b, &ad), x[2]);
	assert_int_equal(pf_batch_attr_str(b, "k", "v"), x[0]);
	assert_int_equal(pf_batch_attr_int(b, "k", (int64_t)v), x[1]);
	assert_int_not_equal(pf_batch_attr_int(b, "k", 77), x[1]);

	s1 = pf_batch_attr_set(b, x, 2);
	s2 = pf_batch_attr_set(b, (uint32_t[]){x[1], x[0]}, 2);
	s3 = pf_batch_attr_set(b, x, 2);
	assert_int_not_equal(s1, 0);
	assert_int_not_equal(s1, s2);
	assert_int_equal(s1, s3);
	assert_int_equal(pf_batch_attr_set_get(b, s2, &n)[0], x[1]);
	assert_int_equal(n, 2);

	/* Lookup by key scans the set. */
	uint32_t pid = pf_batch_attr_int(b, "process.pid", 42);
	uint32_t set = pf_batch_attr_set(b, (uint32_t[]){x[0], pid}, 2);
	const struct pf_value *pv = pf_batch_attr_lookup(b, set, "process.pid");
	assert_non_null(pv);
	assert_int_equal(pv->kind, PF_VALUE_INT);
	assert_int_equal(pv->u.i, 42);
	pv = pf_batch_attr_lookup(b, set, "k");
	assert_non_null(pv);
	assert_string_equal(pf_batch_str(b, pv->u.str), "v");
	assert_null(pf_batch_attr_lookup(b, set, "thread.id"));
	assert_null(pf_batch_attr_lookup(b, 0, "k"));

	/* A string-list value. */
	uint32_t list = pf_batch_string_list(b, (uint32_t[]){k, v}, 2);
	struct pf_attribute al = {.key = k, .value = {.kind = PF_VALUE_STRINGS, .u.strs = list}};
	uint32_t xl = pf_batch_attribute(b, &al);
	assert_int_not_equal(xl, PF_INDEX_ERROR);
	assert_int_equal(pf_batch_attribute(b, &al), xl);
	assert_int_equal(pf_batch_attribute_get(b, xl)->value.u.strs, list);
	pf_batch_unref(b);
}

static void test_intern_code(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t name = pf_batch_cstring(b, "f"), file = pf_batch_cstring(b, "f.c");
	struct pf_function f1 = {.name = name, .filename = file, .start_line = 3};
	struct pf_function f2 = f1;
	uint32_t i1, i2;

	f2.start_line = 4;
	i1 = pf_batch_function(b, &f1);
	i2 = pf_batch_function(b, &f2);
	assert_int_not_equal(i1, 0);
	assert_int_not_equal(i1, i2);
	assert_int_equal(pf_batch_function(b, &f1), i1);
	assert_int_equal(pf_batch_function_get(b, i2)->start_line, 4);

	struct pf_mapping m1 = {.memory_start = 0x1000, .memory_limit = 0x2000, .filename = file};
	struct pf_mapping m2 = m1;
	m2.file_offset = 0x10;
	uint32_t mi1 = pf_batch_mapping(b, &m1), mi2 = pf_batch_mapping(b, &m2);
	assert_int_not_equal(mi1, 0);
	assert_int_not_equal(mi1, mi2);
	assert_int_equal(pf_batch_mapping(b, &m2), mi2);

	/* Locations differing only in one line's column, or in the line count. */
	struct pf_line lines[2] = {{.function = i1, .line = 5, .column = 1},
				   {.function = i2, .line = 9, .column = 2}};
	struct pf_line other[2];
	struct pf_location lo = {.mapping = mi1, .address = 0x1234};
	uint32_t l1 = pf_batch_location(b, &lo, lines, 2), l2, l3, l4, l5;
	memcpy(other, lines, sizeof(lines));
	other[1].column = 3;
	l2 = pf_batch_location(b, &lo, other, 2);
	l3 = pf_batch_location(b, &lo, lines, 1);
	l4 = pf_batch_location(b, &lo, lines, 2);
	lo.address++;
	l5 = pf_batch_location(b, &lo, lines, 2);
	assert_int_not_equal(l1, 0);
	assert_int_not_equal(l1, l2);
	assert_int_not_equal(l1, l3);
	assert_int_not_equal(l2, l3);
	assert_int_not_equal(l5, l1);
	assert_int_equal(l4, l1);
	size_t n;
	const struct pf_line *got = pf_batch_location_lines(b, l2, &n);
	assert_int_equal(n, 2);
	assert_int_equal(got[1].column, 3);
	assert_int_equal(got[0].function, i1);
	assert_int_equal(pf_batch_location_get(b, l2)->mapping, mi1);
	assert_int_equal(pf_batch_location_get(b, l5)->address, 0x1235);

	/* Stacks differing in order. */
	uint32_t s1 = pf_batch_stack(b, (uint32_t[]){l1, l2, l3}, 3);
	uint32_t s2 = pf_batch_stack(b, (uint32_t[]){l3, l2, l1}, 3);
	uint32_t s3 = pf_batch_stack(b, (uint32_t[]){l1, l2}, 2);
	assert_int_not_equal(s1, 0);
	assert_int_not_equal(s1, s2);
	assert_int_not_equal(s1, s3);
	assert_int_equal(pf_batch_stack(b, (uint32_t[]){l1, l2, l3}, 3), s1);
	assert_int_equal(pf_batch_stack_get(b, s2, &n)[0], l3);
	assert_int_equal(n, 3);
	pf_batch_unref(b);
}

static void test_intern_context(void **state)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_link k1 = {.trace_id = {1}, .span_id = {2}}, k2 = k1;
	uint32_t set =
		pf_batch_attr_set(b, (uint32_t[]){pf_batch_attr_str(b, "host.name", "h")}, 1);
	struct pf_resource r1 = {.attrs = set}, r2 = {.attrs = set, .schema_url = 1};
	struct pf_scope c1 = {.name = pf_batch_cstring(b, "proflow")}, c2 = c1;

	k2.span_id[7] = 9;
	assert_int_not_equal(pf_batch_link(b, &k1), 0);
	assert_int_not_equal(pf_batch_link(b, &k1), pf_batch_link(b, &k2));
	assert_int_equal(pf_batch_link(b, &k2), pf_batch_link(b, &k2));
	assert_int_equal(pf_batch_link_get(b, pf_batch_link(b, &k2))->span_id[7], 9);

	r2.schema_url = pf_batch_cstring(b, "https://opentelemetry.io/schemas/1.26.0");
	assert_int_not_equal(pf_batch_resource(b, &r1), 0);
	assert_int_not_equal(pf_batch_resource(b, &r1), pf_batch_resource(b, &r2));
	assert_int_equal(pf_batch_resource(b, &r1), pf_batch_resource(b, &r1));

	c2.version = pf_batch_cstring(b, "0.1.0");
	assert_int_not_equal(pf_batch_scope(b, &c1), 0);
	assert_int_not_equal(pf_batch_scope(b, &c1), pf_batch_scope(b, &c2));
	assert_int_equal(pf_batch_scope(b, &c2), pf_batch_scope(b, &c2));
	assert_int_equal(pf_batch_n_links(b), 3);
	assert_int_equal(pf_batch_n_resources(b), 3);
	assert_int_equal(pf_batch_n_scopes(b), 3);
	pf_batch_unref(b);
}

static void test_out_of_range_refused(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t big = 1000, s = pf_batch_cstring(b, "x");
	struct pf_attribute a = {.key = big};
	struct pf_function f = {.filename = big};
	struct pf_mapping m = {.attrs = big};
	struct pf_location lo = {.mapping = big};
	struct pf_line l = {.function = big};
	struct pf_resource r = {.schema_url = big};
	struct pf_scope sc = {.attrs = big};
	struct pf_profile_desc d = {.sample_type.unit = big};

	assert_int_equal(pf_batch_string_list(b, &big, 1), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_attribute(b, &a), PF_INDEX_ERROR);
	a.key = s;
	a.value.kind = PF_VALUE_STRING;
	a.value.u.str = big;
	assert_int_equal(pf_batch_attribute(b, &a), PF_INDEX_ERROR);
	a.value.kind = PF_VALUE_STRINGS;
	a.value.u.strs = 1; /* only the empty list exists */
	assert_int_equal(pf_batch_attribute(b, &a), PF_INDEX_ERROR);
	a.value.kind = (enum pf_value_kind)99;
	assert_int_equal(pf_batch_attribute(b, &a), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_attr_set(b, &big, 1), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_function(b, &f), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_mapping(b, &m), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_location(b, &lo, NULL, 0), PF_INDEX_ERROR);
	lo.mapping = 0;
	assert_int_equal(pf_batch_location(b, &lo, &l, 1), PF_INDEX_ERROR);
	lo.attrs = 1;
	assert_int_equal(pf_batch_location(b, &lo, NULL, 0), PF_INDEX_ERROR);
	/* The first location index past the table is refused. */
	uint32_t past = (uint32_t)pf_batch_n_locations(b);
	assert_int_equal(pf_batch_stack(b, &past, 1), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_resource(b, &r), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_scope(b, &sc), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_add_profile(b, &d), PF_INDEX_ERROR);
	d.sample_type.unit = 0;
	d.resource = 1;
	assert_int_equal(pf_batch_add_profile(b, &d), PF_INDEX_ERROR);
	d.resource = 0;
	assert_int_equal(pf_batch_add_profile(b, &d), 0);

	int64_t v = 1;
	assert_int_equal(pf_batch_add_sample(b, 1, 0, 0, 0, &v, 1, NULL, 0), -EINVAL);
	assert_int_equal(pf_batch_add_sample(b, 0, 1, 0, 0, &v, 1, NULL, 0), -EINVAL);
	assert_int_equal(pf_batch_add_sample(b, 0, 0, 1, 0, &v, 1, NULL, 0), -EINVAL);
	assert_int_equal(pf_batch_add_sample(b, 0, 0, 0, 1, &v, 1, NULL, 0), -EINVAL);
	assert_int_equal(pf_batch_sample_count(b), 0);
	/* Nothing refused was added. */
	assert_int_equal(pf_batch_n_strings(b), 2);
	assert_int_equal(pf_batch_n_attributes(b), 1);
	assert_int_equal(pf_batch_n_locations(b), 1);
	assert_int_equal(pf_batch_n_stacks(b), 1);
	pf_batch_unref(b);
}

/* Inputs may point into the batch's own pools, which move as they grow. */
static void test_input_from_own_pools(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t s = pf_batch_cstring(b, "runtime.mallocgc"), sub, locs[3], st, suffix, l2, p;
	struct pf_line lines[2] = {{.function = fn(b, "inlined"), .line = 1},
				   {.function = fn(b, "outer"), .line = 2}};
	struct pf_location lo = {.address = 0x10};
	const struct pf_sample *smp;
	const uint32_t *got;
	size_t n, i;
	int64_t v[2] = {1, 2};

	/* Enough entries that every pool grows while the input is read. */
	for (i = 0; i < 64; i++) {
		char name[32];

		snprintf(name, sizeof(name), "pad_%zu", i);
		pf_batch_cstring(b, name);
	}
	sub = pf_batch_string(b, pf_batch_str(b, s) + 8, 8);
	assert_string_equal(pf_batch_str(b, sub), "mallocgc");

	locs[0] = pf_batch_location(b, &lo, lines, 2);
	l2 = pf_batch_location(b, &lo, pf_batch_location_lines(b, locs[0], &n) + 1, 1);
	assert_int_not_equal(l2, locs[0]);
	assert_int_equal(pf_batch_location_lines(b, l2, &n)[0].function, lines[1].function);
	locs[1] = l2;
	locs[2] = loc(b, "main", 1);
	st = pf_batch_stack(b, locs, 3);
	suffix = pf_batch_stack(b, pf_batch_stack_get(b, st, &n) + 1, 2);
	got = pf_batch_stack_get(b, suffix, &n);
	assert_int_equal(n, 2);
	assert_int_equal(got[0], l2);
	assert_int_equal(got[1], locs[2]);

	p = cpu_profile(b, 0, 0);
	assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, v, 2, NULL, 0), 0);
	for (i = 0; i < 40; i++) {
		smp = pf_batch_samples(b, p, &n);
		assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0,
						     pf_batch_sample_values(b, &smp[n - 1]), 2,
						     NULL, 0),
				 0);
	}
	smp = pf_batch_samples(b, p, &n);
	assert_int_equal(n, 41);
	assert_int_equal(pf_batch_sample_values(b, &smp[40])[1], 2);
	assert_int_equal(pf_batch_add_profile(b, pf_batch_profile_get(b, p)), 1);
	pf_batch_unref(b);
}

static void test_add_sample_lengths(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t p = cpu_profile(b, 100, 10), st = stack_of(b, "leaf;main");
	int64_t v[2] = {5, 6};
	uint64_t ts[2] = {101, 102};
	const struct pf_sample *s;
	size_t n;

	assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, NULL, 0, NULL, 0), -EINVAL);
	assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, v, 2, ts, 1), -EINVAL);
	assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, NULL, 1, NULL, 0), -EINVAL);
	assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, v, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, NULL, 0, ts, 2), 0);
	assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, v, 2, ts, 2), 0);
	s = pf_batch_samples(b, p, &n);
	assert_int_equal(n, 3);
	assert_int_equal(pf_batch_sample_count(b), 3);
	assert_int_equal(s[0].values_len, 1);
	assert_int_equal(s[0].timestamps_len, 0);
	assert_int_equal(pf_batch_sample_values(b, &s[0])[0], 5);
	assert_null(pf_batch_sample_timestamps(b, &s[0]));
	assert_null(pf_batch_sample_values(b, &s[1]));
	assert_int_equal(pf_batch_sample_timestamps(b, &s[1])[1], 102);
	assert_int_equal(pf_batch_sample_values(b, &s[2])[1], 6);
	assert_int_equal(pf_batch_sample_timestamps(b, &s[2])[0], 101);
	assert_int_equal(s[2].stack, st);
	pf_batch_unref(b);
}

/* Builds a batch with two profiles from "stack=value" specs. */
static struct pf_batch *build(const char *const *specs, size_t n, const char *host)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t set =
		pf_batch_attr_set(b, (uint32_t[]){pf_batch_attr_str(b, "host.name", host)}, 1);
	struct pf_resource r = {.attrs = set};
	struct pf_scope sc = {.name = pf_batch_cstring(b, "proflow")};
	struct pf_profile_desc d = {
		.resource = pf_batch_resource(b, &r),
		.scope = pf_batch_scope(b, &sc),
		.sample_type = {pf_batch_cstring(b, "samples"), pf_batch_cstring(b, "count")}};
	uint32_t p = pf_batch_add_profile(b, &d);
	uint32_t thread =
		pf_batch_attr_set(b, (uint32_t[]){pf_batch_attr_int(b, "thread.id", 7)}, 1);
	size_t i;

	for (i = 0; i < n; i++) {
		char buf[128], *eq;
		int64_t v;

		snprintf(buf, sizeof(buf), "%s", specs[i]);
		eq = strchr(buf, '=');
		*eq = '\0';
		v = atoi(eq + 1);
		assert_int_equal(
			pf_batch_add_sample(b, p, stack_of(b, buf), thread, 0, &v, 1, NULL, 0), 0);
	}
	return b;
}

static void assert_samples_match(const struct pf_batch *a, uint32_t pa, const struct pf_batch *b,
				 uint32_t pb)
{
	size_t na, nb, i;
	const struct pf_sample *sa = pf_batch_samples(a, pa, &na);
	const struct pf_sample *sb = pf_batch_samples(b, pb, &nb);
	const struct pf_value *v;
	char x[256], y[256];

	assert_int_equal(na, nb);
	for (i = 0; i < na; i++) {
		assert_string_equal(stack_names(a, sa[i].stack, x, sizeof(x)),
				    stack_names(b, sb[i].stack, y, sizeof(y)));
		assert_int_equal(sa[i].values_len, sb[i].values_len);
		assert_memory_equal(pf_batch_sample_values(a, &sa[i]),
				    pf_batch_sample_values(b, &sb[i]),
				    sa[i].values_len * sizeof(int64_t));
		v = pf_batch_attr_lookup(a, sa[i].attrs, "thread.id");
		assert_non_null(v);
		assert_int_equal(v->u.i, 7);
		assert_int_equal(pf_batch_attr_lookup(b, sb[i].attrs, "thread.id")->u.i, 7);
	}
}

static void test_merge_overlapping(void **state)
{
	static const char *const sa[] = {"a;b;main=1", "c;b;main=2", "a;b;main=3"};
	static const char *const sb[] = {"c;b;main=4", "d;e;main=5", "b;a;main=6"};
	struct pf_batch *a = build(sa, 3, "h1"), *b = build(sb, 3, "h1");
	struct pf_batch *a0 = pf_batch_copy(a);
	size_t n;

	assert_int_equal(pf_batch_merge(a, b), 0);
	assert_int_equal(pf_batch_n_profiles(a), 2);
	assert_int_equal(pf_batch_sample_count(a), 6);
	assert_samples_match(a, 0, a0, 0);
	assert_samples_match(a, 1, b, 0);
	/* Shared content is reused: functions a b c d e main, plus the zero entry. */
	assert_int_equal(pf_batch_n_functions(a), 7);
	assert_int_equal(pf_batch_n_resources(a), 2);
	assert_int_equal(pf_batch_n_scopes(a), 2);
	assert_int_equal(pf_batch_profile_get(a, 1)->resource,
			 pf_batch_profile_get(a, 0)->resource);
	pf_batch_attr_set_get(a, pf_batch_resource_get(a, 1)->attrs, &n);
	assert_int_equal(n, 1);
	assert_no_duplicates(a);

	/* A different host gives a second resource, still no duplicates. */
	struct pf_batch *c = build(sb, 3, "h2");
	assert_int_equal(pf_batch_merge(a, c), 0);
	assert_int_equal(pf_batch_n_resources(a), 3);
	assert_int_not_equal(pf_batch_profile_get(a, 2)->resource,
			     pf_batch_profile_get(a, 0)->resource);
	assert_samples_match(a, 2, c, 0);
	assert_no_duplicates(a);
	pf_batch_unref(c);
	pf_batch_unref(a0);
	pf_batch_unref(b);
	pf_batch_unref(a);
}

/* A batch touching every table, so a merge must re-index each of them. */
static struct pf_batch *build_rich(const char *prefix)
{
	struct pf_batch *b = pf_batch_new();
	char name[64];
	uint32_t strs[2], list, attrs[3], set, fset, mi, li, st, p;
	struct pf_attribute al = {.key = pf_batch_cstring(b, "tags")};
	struct pf_attribute ad = {.key = pf_batch_cstring(b, "ratio"),
				  .unit = pf_batch_cstring(b, "1"),
				  .value = {.kind = PF_VALUE_DOUBLE, .u.d = 0.25}};
	struct pf_mapping m = {.memory_start = 0x1000, .memory_limit = 0x9000};
	struct pf_function f = {.start_line = 12};
	struct pf_line l = {.line = 40, .column = 3};
	struct pf_location lo = {.address = 0x1234};
	struct pf_link k = {.trace_id = {0xaa, 1}, .span_id = {0xbb}};
	struct pf_resource r;
	struct pf_scope sc;
	struct pf_profile_desc d;
	int64_t v = 9;
	uint64_t ts = 77;

	/* Unrelated entries first in every table, so equal content gets different
	 * indices in batches built with different prefixes. */
	for (size_t i = 0; i < strlen(prefix); i++) {
		struct pf_mapping pm = {.memory_start = i + 1};
		struct pf_location pl = {.address = i + 1};
		struct pf_link pk = {.trace_id = {(uint8_t)(i + 1)}};
		struct pf_resource pr = {.dropped_attributes_count = (uint32_t)i + 100};
		struct pf_scope ps;
		uint32_t pa, pst;

		snprintf(name, sizeof(name), "%s-only-%zu", prefix, i);
		pa = pf_batch_attr_str(b, name, name);
		ps = (struct pf_scope){.name = pf_batch_cstring(b, name)};
		pf_batch_string_list(b, &ps.name, 1);
		pm.attrs = pf_batch_attr_set(b, &pa, 1);
		pf_batch_mapping(b, &pm);
		pl.mapping = 1;
		pst = pf_batch_location(b, &pl, NULL, 0);
		pf_batch_stack(b, &pst, 1);
		fn(b, name);
		pf_batch_link(b, &pk);
		pf_batch_resource(b, &pr);
		pf_batch_scope(b, &ps);
	}
	strs[0] = pf_batch_cstring(b, "x");
	strs[1] = pf_batch_cstring(b, "y");
	list = pf_batch_string_list(b, strs, 2);
	al.value.kind = PF_VALUE_STRINGS;
	al.value.u.strs = list;
	attrs[0] = pf_batch_attribute(b, &al);
	attrs[1] = pf_batch_attribute(b, &ad);
	attrs[2] = pf_batch_attr_str(b, "service.name", "svc");
	set = pf_batch_attr_set(b, attrs, 3);
	fset = pf_batch_attr_set(
		b, (uint32_t[]){pf_batch_attr_str(b, "profile.frame.type", "native")}, 1);
	m.filename = pf_batch_cstring(b, "/usr/lib/libc.so.6");
	m.attrs = pf_batch_attr_set(b, (uint32_t[]){pf_batch_attr_str(b, "build_id", "abcd")}, 1);
	mi = pf_batch_mapping(b, &m);
	f.name = pf_batch_cstring(b, "memcpy");
	f.system_name = pf_batch_cstring(b, "__memcpy_avx");
	f.filename = pf_batch_cstring(b, "memcpy.S");
	l.function = pf_batch_function(b, &f);
	lo.mapping = mi;
	lo.attrs = fset;
	li = pf_batch_location(b, &lo, &l, 1);
	st = pf_batch_stack(b, &li, 1);
	r = (struct pf_resource){.attrs = set, .dropped_attributes_count = 2};
	sc = (struct pf_scope){.name = pf_batch_cstring(b, "proflow"),
			       .version = pf_batch_cstring(b, "0.1.0")};
	d = (struct pf_profile_desc){
		.resource = pf_batch_resource(b, &r),
		.scope = pf_batch_scope(b, &sc),
		.sample_type = {pf_batch_cstring(b, "cpu"), pf_batch_cstring(b, "nanoseconds")},
		.original_payload_format = pf_batch_cstring(b, "pprof"),
		.attrs = set,
		.period = 5};
	p = pf_batch_add_profile(b, &d);
	assert_int_equal(pf_batch_add_sample(b, p, st, set, pf_batch_link(b, &k), &v, 1, &ts, 1),
			 0);
	return b;
}

/* Checks that profile p of b is the one build_rich() made, by content. */
static void assert_rich(const struct pf_batch *b, uint32_t p)
{
	const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
	const struct pf_resource *r = pf_batch_resource_get(b, d->resource);
	const struct pf_scope *sc = pf_batch_scope_get(b, d->scope);
	const struct pf_value *v;
	const struct pf_sample *s;
	const struct pf_location *lo;
	const struct pf_line *l;
	const struct pf_function *f;
	const struct pf_mapping *m;
	const uint32_t *strs, *locs;
	size_t n;

	assert_string_equal(pf_batch_str(b, d->sample_type.type), "cpu");
	assert_string_equal(pf_batch_str(b, d->original_payload_format), "pprof");
	assert_int_equal(d->period, 5);
	assert_string_equal(pf_batch_str(b, sc->version), "0.1.0");
	assert_int_equal(r->dropped_attributes_count, 2);
	v = pf_batch_attr_lookup(b, r->attrs, "tags");
	assert_non_null(v);
	assert_int_equal(v->kind, PF_VALUE_STRINGS);
	strs = pf_batch_string_list_get(b, v->u.strs, &n);
	assert_int_equal(n, 2);
	assert_string_equal(pf_batch_str(b, strs[1]), "y");
	v = pf_batch_attr_lookup(b, d->attrs, "ratio");
	assert_non_null(v);
	assert_true(v->u.d == 0.25);
	s = pf_batch_samples(b, p, &n);
	assert_int_equal(n, 1);
	assert_int_equal(pf_batch_sample_values(b, s)[0], 9);
	assert_int_equal(pf_batch_sample_timestamps(b, s)[0], 77);
	assert_int_equal(pf_batch_link_get(b, s->link)->trace_id[0], 0xaa);
	assert_int_equal(pf_batch_link_get(b, s->link)->span_id[0], 0xbb);
	assert_non_null(pf_batch_attr_lookup(b, s->attrs, "service.name"));
	locs = pf_batch_stack_get(b, s->stack, &n);
	assert_int_equal(n, 1);
	lo = pf_batch_location_get(b, locs[0]);
	assert_int_equal(lo->address, 0x1234);
	v = pf_batch_attr_lookup(b, lo->attrs, "profile.frame.type");
	assert_non_null(v);
	assert_string_equal(pf_batch_str(b, v->u.str), "native");
	m = pf_batch_mapping_get(b, lo->mapping);
	assert_string_equal(pf_batch_str(b, m->filename), "/usr/lib/libc.so.6");
	assert_int_equal(m->memory_limit, 0x9000);
	v = pf_batch_attr_lookup(b, m->attrs, "build_id");
	assert_non_null(v);
	assert_string_equal(pf_batch_str(b, v->u.str), "abcd");
	l = pf_batch_location_lines(b, locs[0], &n);
	assert_int_equal(n, 1);
	assert_int_equal(l[0].column, 3);
	f = pf_batch_function_get(b, l[0].function);
	assert_string_equal(pf_batch_str(b, f->system_name), "__memcpy_avx");
	assert_int_equal(f->start_line, 12);
}

static void test_merge_every_table(void **state)
{
	struct pf_batch *a = build_rich("a"), *b = build_rich("bbb"), *empty = pf_batch_new();
	size_t n_str = pf_batch_n_strings(a);

	assert_rich(a, 0);
	assert_int_equal(pf_batch_merge(a, b), 0);
	assert_int_equal(pf_batch_n_profiles(a), 2);
	assert_rich(a, 0);
	assert_rich(a, 1);
	/* Only the three "bbb-only-N" strings are new; the other tables gain b's
	 * extra entries but nothing that a already held. */
	assert_int_equal(pf_batch_n_strings(a), n_str + 3);
	assert_int_equal(pf_batch_n_links(a), 5);     /* trace ids 1 and 2, 3 */
	assert_int_equal(pf_batch_n_locations(a), 6); /* b's pads map differently */
	assert_int_equal(pf_batch_n_functions(a), 6); /* a-only-0, bbb-only-0..2, memcpy */
	assert_no_duplicates(a);

	/* Merging into an empty batch, and merging an empty one, change nothing else. */
	assert_int_equal(pf_batch_merge(empty, b), 0);
	assert_rich(empty, 0);
	assert_int_equal(pf_batch_n_strings(empty), pf_batch_n_strings(b));
	assert_no_duplicates(empty);
	/* Its index came with the copy: merging b again adds no entries. */
	assert_int_equal(pf_batch_merge(empty, b), 0);
	assert_int_equal(pf_batch_n_strings(empty), pf_batch_n_strings(b));
	assert_int_equal(pf_batch_n_stacks(empty), pf_batch_n_stacks(b));
	assert_int_equal(pf_batch_n_profiles(empty), 2);
	assert_rich(empty, 1);
	pf_batch_unref(b);
	b = pf_batch_new();
	assert_int_equal(pf_batch_merge(a, b), 0);
	assert_int_equal(pf_batch_n_profiles(a), 2);
	assert_int_equal(pf_batch_n_strings(a), n_str + 3);
	pf_batch_unref(empty);
	pf_batch_unref(b);
	pf_batch_unref(a);
}

static void test_copy_and_aggregate_rich(void **state)
{
	struct pf_batch *a = build_rich("a"), *c, *g, *e = pf_batch_new(), *ge;
	size_t before = pf_batch_memory_size(a);

	c = pf_batch_copy(a);
	assert_non_null(c);
	assert_rich(c, 0);
	/* The copy is independent of the original. */
	assert_int_equal(pf_batch_add_profile(c, pf_batch_profile_get(c, 0)), 1);
	assert_int_equal(pf_batch_n_profiles(a), 1);
	g = pf_batch_aggregate(a, true);
	assert_non_null(g);
	assert_rich(g, 0);
	ge = pf_batch_aggregate(e, false);
	assert_non_null(ge);
	assert_int_equal(pf_batch_n_profiles(ge), 0);
	assert_int_equal(pf_batch_n_strings(ge), 1);
	assert_true(pf_batch_memory_size(a) == before);
	pf_batch_cstring(a, "grow");
	assert_true(pf_batch_memory_size(a) >= before);
	pf_batch_unref(ge);
	pf_batch_unref(e);
	pf_batch_unref(g);
	pf_batch_unref(c);
	pf_batch_unref(a);
}

static void test_copy_equals_original(void **state)
{
	static const char *const specs[] = {"a;b;main=1", "c;b;main=2", "a;b;main=3"};
	struct pf_batch *a = build(specs, 3, "h1"), *c;
	size_t i;

	c = pf_batch_copy(a);
	assert_non_null(c);
	assert_int_equal(pf_batch_n_strings(c), pf_batch_n_strings(a));
	for (i = 0; i < pf_batch_n_strings(a); i++)
		assert_string_equal(pf_batch_str(c, (uint32_t)i), pf_batch_str(a, (uint32_t)i));
	assert_int_equal(pf_batch_n_functions(c), pf_batch_n_functions(a));
	assert_int_equal(pf_batch_n_locations(c), pf_batch_n_locations(a));
	assert_int_equal(pf_batch_n_stacks(c), pf_batch_n_stacks(a));
	assert_int_equal(pf_batch_n_attributes(c), pf_batch_n_attributes(a));
	assert_int_equal(pf_batch_n_attr_sets(c), pf_batch_n_attr_sets(a));
	assert_int_equal(pf_batch_n_resources(c), pf_batch_n_resources(a));
	assert_int_equal(pf_batch_n_profiles(c), pf_batch_n_profiles(a));
	assert_memory_equal(pf_batch_profile_get(c, 0), pf_batch_profile_get(a, 0),
			    sizeof(struct pf_profile_desc));
	assert_samples_match(c, 0, a, 0);
	assert_int_equal(pf_batch_memory_size(c) > 0, 1);
	/* The copy's index works and is its own. */
	assert_no_duplicates(c);
	assert_int_equal(pf_batch_cstring(c, "main"), pf_batch_cstring(a, "main"));
	assert_int_not_equal(pf_batch_cstring(c, "only-in-copy"), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_n_strings(c), pf_batch_n_strings(a) + 1);
	pf_batch_unref(c);
	pf_batch_unref(a);
}

static void test_aggregate(void **state)
{
	struct pf_batch *b = pf_batch_new(), *sum, *kept;
	uint32_t p0 = cpu_profile(b, 1000, 100), p1 = cpu_profile(b, 900, 50);
	uint32_t p2 = cpu_profile(b, 1050, 200);
	uint32_t s1 = stack_of(b, "a;main"), s2 = stack_of(b, "b;main");
	int64_t v1[] = {3, 4}, v2[] = {10};
	uint64_t t1[] = {1001, 1002}, t2[] = {950};
	const struct pf_profile_desc *d;
	const struct pf_sample *s;
	size_t n;

	assert_int_equal(pf_batch_add_sample(b, p0, s1, 0, 0, v1, 2, t1, 2), 0);
	assert_int_equal(pf_batch_add_sample(b, p0, s2, 0, 0, v2, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(b, p1, s1, 0, 0, NULL, 0, t2, 1), 0);
	assert_int_equal(pf_batch_add_sample(b, p2, s2, 0, 0, v2, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(b, p2, s1, 0, 0, v2, 1, t2, 1), 0);

	sum = pf_batch_aggregate(b, false);
	assert_non_null(sum);
	assert_int_equal(pf_batch_n_profiles(sum), 1);
	d = pf_batch_profile_get(sum, 0);
	assert_int_equal(d->time_unix_nano, 900);
	assert_int_equal(d->duration_nano, 1250 - 900);
	assert_int_equal(d->period, 10000000);
	s = pf_batch_samples(sum, 0, &n);
	assert_int_equal(n, 2);
	assert_int_equal(pf_batch_sample_count(sum), 2);
	assert_int_equal(s[0].stack, s1);
	assert_int_equal(s[0].values_len, 1);
	assert_int_equal(s[0].timestamps_len, 0);
	assert_int_equal(pf_batch_sample_values(sum, &s[0])[0], 3 + 4 + 1 + 10);
	assert_int_equal(s[1].stack, s2);
	assert_int_equal(pf_batch_sample_values(sum, &s[1])[0], 20);

	kept = pf_batch_aggregate(b, true);
	assert_non_null(kept);
	s = pf_batch_samples(kept, 0, &n);
	assert_int_equal(n, 2);
	/* Every part of s1 has timestamps: values and timestamps are concatenated,
	 * the timestamps-only part counting one per timestamp. */
	assert_int_equal(s[0].timestamps_len, 4);
	assert_int_equal(s[0].values_len, 4);
	const int64_t *kv = pf_batch_sample_values(kept, &s[0]);
	const uint64_t *kt = pf_batch_sample_timestamps(kept, &s[0]);
	assert_int_equal(kv[0], 3);
	assert_int_equal(kv[1], 4);
	assert_int_equal(kv[2], 1);
	assert_int_equal(kv[3], 10);
	assert_int_equal(kt[0], 1001);
	assert_int_equal(kt[1], 1002);
	assert_int_equal(kt[2], 950);
	assert_int_equal(kt[3], 950);
	/* s2 has no timestamps: it is summed. */
	assert_int_equal(s[1].timestamps_len, 0);
	assert_int_equal(s[1].values_len, 1);
	assert_int_equal(pf_batch_sample_values(kept, &s[1])[0], 20);

	/* The aggregate is a working batch of its own. */
	assert_int_equal(pf_batch_add_sample(kept, 0, s2, 0, 0, v2, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_sample_count(kept), 3);
	pf_batch_unref(kept);
	pf_batch_unref(sum);
	pf_batch_unref(b);
}

static void test_aggregate_keeps_different_profiles(void **state)
{
	struct pf_batch *b = pf_batch_new(), *out;
	uint32_t p0 = cpu_profile(b, 1, 1), p1, st = stack_of(b, "x");
	struct pf_profile_desc d = *pf_batch_profile_get(b, p0);
	uint32_t attrs =
		pf_batch_attr_set(b, (uint32_t[]){pf_batch_attr_int(b, "thread.id", 1)}, 1);
	int64_t v = 2;

	d.sample_type.type = pf_batch_cstring(b, "samples");
	p1 = pf_batch_add_profile(b, &d);
	assert_int_equal(pf_batch_add_sample(b, p0, st, 0, 0, &v, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(b, p1, st, 0, 0, &v, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(b, p1, st, attrs, 0, &v, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(b, p1, st, attrs, 0, &v, 1, NULL, 0), 0);
	out = pf_batch_aggregate(b, false);
	assert_non_null(out);
	assert_int_equal(pf_batch_n_profiles(out), 2);
	assert_int_equal(pf_batch_sample_count(out), 3);
	size_t n;
	const struct pf_sample *s = pf_batch_samples(out, 1, &n);
	assert_int_equal(n, 2);
	assert_int_equal(s[1].attrs, attrs);
	assert_int_equal(pf_batch_sample_values(out, &s[1])[0], 4);
	pf_batch_unref(out);
	pf_batch_unref(b);
}

/* Same profiles (description, time range) and samples (indices, values,
 * timestamps) in the same order. */
static void assert_same_batch(const struct pf_batch *a, const struct pf_batch *b)
{
	assert_int_equal(pf_batch_n_profiles(a), pf_batch_n_profiles(b));
	assert_int_equal(pf_batch_sample_count(a), pf_batch_sample_count(b));
	assert_int_equal(pf_batch_n_strings(a), pf_batch_n_strings(b));
	assert_int_equal(pf_batch_n_stacks(a), pf_batch_n_stacks(b));
	assert_int_equal(pf_batch_n_attr_sets(a), pf_batch_n_attr_sets(b));
	for (uint32_t p = 0; p < pf_batch_n_profiles(a); p++) {
		size_t na, nb;
		const struct pf_sample *sa = pf_batch_samples(a, p, &na);
		const struct pf_sample *sb = pf_batch_samples(b, p, &nb);

		assert_memory_equal(pf_batch_profile_get(a, p), pf_batch_profile_get(b, p),
				    sizeof(struct pf_profile_desc));
		assert_int_equal(na, nb);
		for (size_t i = 0; i < na; i++) {
			assert_int_equal(sa[i].stack, sb[i].stack);
			assert_int_equal(sa[i].attrs, sb[i].attrs);
			assert_int_equal(sa[i].link, sb[i].link);
			assert_int_equal(sa[i].values_len, sb[i].values_len);
			assert_int_equal(sa[i].timestamps_len, sb[i].timestamps_len);
			assert_memory_equal(pf_batch_sample_values(a, &sa[i]),
					    pf_batch_sample_values(b, &sb[i]),
					    sa[i].values_len * sizeof(int64_t));
		}
	}
}

/* Parts with values, timestamps only, both, repeated stacks, a link, attrs
 * and a second profile type, at time t. */
static struct pf_batch *sum_part(uint64_t t, int64_t v)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t p0 = cpu_profile(b, t, 100), p1 = cpu_profile(b, t + 50, 10), p2;
	struct pf_profile_desc d = *pf_batch_profile_get(b, p0);
	uint32_t s1 = stack_of(b, "a;main"), s2 = stack_of(b, "b;main");
	uint32_t attrs =
		pf_batch_attr_set(b, (uint32_t[]){pf_batch_attr_int(b, "thread.id", 1)}, 1);
	struct pf_link l = {.trace_id = {1}, .span_id = {2}};
	uint32_t link = pf_batch_link(b, &l);
	int64_t v2[] = {v, 2 * v}, big = INT64_MAX;
	uint64_t ts[] = {t + 1, t + 2};

	d.sample_type.type = pf_batch_cstring(b, "samples");
	p2 = pf_batch_add_profile(b, &d);
	assert_int_equal(pf_batch_add_sample(b, p0, s1, 0, 0, v2, 2, ts, 2), 0);
	assert_int_equal(pf_batch_add_sample(b, p0, s2, attrs, 0, &v, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(b, p1, s1, 0, 0, NULL, 0, ts, 2), 0);
	assert_int_equal(pf_batch_add_sample(b, p1, s2, attrs, link, &big, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(b, p2, s1, 0, 0, &v, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(b, p2, s1, attrs, 0, &v, 1, NULL, 0), 0);
	return b;
}

/* Summing as batches arrive gives what aggregating them all at once gives,
 * also across a copy of the summed batch and with new stacks arriving late. */
static void test_merge_sum(void **state)
{
	static const char *const late[] = {"c;b;main=4", "a;b;main=5", "c;b;main=6"};
	struct pf_batch *parts[] = {sum_part(1000, 3),	sum_part(900, 7),     build(late, 3, "h1"),
				    sum_part(1200, -4), build(late, 3, "h2"), pf_batch_new()};
	size_t n = sizeof(parts) / sizeof(parts[0]);
	struct pf_batch *all = pf_batch_new(), *summed = pf_batch_new(), *agg, *copy;
	struct pf_batch_sums *sums = pf_batch_sums_new();

	assert_non_null(sums);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(pf_batch_merge(all, parts[i]), 0);
		assert_int_equal(pf_batch_merge_sum(summed, parts[i], sums), 0);
		if (i == 2) {
			/* Someone holds it: the copy takes its place. */
			pf_batch_ref(summed);
			copy = pf_batch_copy(summed);
			assert_non_null(copy);
			pf_batch_unref(summed);
			pf_batch_unref(summed);
			summed = copy;
		}
		agg = pf_batch_aggregate(all, false);
		assert_non_null(agg);
		assert_same_batch(summed, agg);
		pf_batch_unref(agg);
	}
	/* cpu (both times one profile) and samples, and `late` per host. */
	assert_int_equal(pf_batch_n_profiles(summed), 4);
	assert_int_equal(pf_batch_sample_count(summed), 3 + 2 + 2 + 2);
	assert_no_duplicates(summed);
	/* Still a working batch. */
	assert_int_equal(pf_batch_add_sample(summed, 0, 0, 0, 0, (int64_t[]){1}, 1, NULL, 0), 0);
	pf_batch_sums_free(sums);
	pf_batch_unref(summed);
	pf_batch_unref(all);
	for (size_t i = 0; i < n; i++)
		pf_batch_unref(parts[i]);
}

static void test_refcount_shared(void **state)
{
	struct pf_batch *b = pf_batch_new();

	assert_false(pf_batch_is_shared(b));
	assert_ptr_equal(pf_batch_ref(b), b);
	assert_true(pf_batch_is_shared(b));
	pf_batch_unref(b);
	assert_false(pf_batch_is_shared(b));
	assert_int_not_equal(pf_batch_cstring(b, "still usable"), PF_INDEX_ERROR);
	pf_batch_unref(b);
	pf_batch_unref(NULL);
}

/* 100k locations, 1M samples over random stacks: checks scale, and memory. */
static void test_million_samples(void **state)
{
	enum { N_FUNCS = 20000, N_LOCS = 100000, N_SAMPLES = 1000000, DEPTH = 24 };
	struct pf_batch *b = pf_batch_new();
	uint32_t *locs = calloc(N_LOCS, sizeof(*locs)), stack[DEPTH], p;
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	struct timespec t0, t1;
	const uint32_t *got;
	char name[32];
	size_t i, j, n;

	assert_non_null(locs);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < N_LOCS; i++) {
		struct pf_line l = {.line = (int64_t)i};
		struct pf_location lo = {.address = 0x400000 + i * 16};

		snprintf(name, sizeof(name), "func_%zu", i % N_FUNCS);
		l.function = fn(b, name);
		locs[i] = pf_batch_location(b, &lo, &l, 1);
		assert_int_equal(locs[i], i + 1);
	}
	p = cpu_profile(b, 0, 10);
	for (i = 0; i < N_SAMPLES; i++) {
		int64_t v = 1;
		uint32_t st;

		for (j = 0; j < DEPTH; j++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			/* Shallow frames repeat a lot, deep ones vary: realistic sharing. */
			stack[j] = locs[rng % (j < 4 ? 64 : N_LOCS)];
		}
		st = pf_batch_stack(b, stack, DEPTH - (i % 8));
		assert_true(st != PF_INDEX_ERROR);
		/* ~100 pairs of these stacks share a 32-bit hash: content decides. */
		got = pf_batch_stack_get(b, st, &n);
		if (n != DEPTH - (i % 8) || memcmp(got, stack, n * sizeof(*got)) != 0)
			fail_msg("stack %zu resolved to different content", i);
		if (pf_batch_add_sample(b, p, st, 0, 0, &v, 1, NULL, 0) != 0)
			fail();
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(pf_batch_sample_count(b), N_SAMPLES);
	assert_int_equal(pf_batch_n_locations(b), N_LOCS + 1);
	assert_int_equal(pf_batch_n_functions(b), N_FUNCS + 1);
	print_message("1M samples: %.3f s, %zu stacks, %.1f MB\n",
		      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		      pf_batch_n_stacks(b), (double)pf_batch_memory_size(b) / 1e6);
	free(locs);
	pf_batch_unref(b);
}

/* The vectorized range check: every length (tails), the bound itself,
 * indices of 2^31 and more, and limits past INT32_MAX. */
static void test_indices_below(void **state)
{
	uint32_t idx[67];

	for (size_t n = 0; n <= 67; n++) {
		for (size_t i = 0; i < n; i++)
			idx[i] = (uint32_t)(i * 7 % 50);
		assert_true(pf_indices_below(idx, n, 50));
		if (n == 0)
			continue;
		idx[n - 1] = 50;
		assert_false(pf_indices_below(idx, n, 50));
		idx[n - 1] = 0x80000000u;
		assert_false(pf_indices_below(idx, n, 50));
		idx[n / 2] = UINT32_MAX;
		assert_false(pf_indices_below(idx, n, (size_t)1 << 31));
		assert_false(pf_indices_below(idx, n, UINT32_MAX));
		assert_true(pf_indices_below(idx, n, (size_t)UINT32_MAX + 1));
	}
}

/* A decoded dictionary as given, duplicates included: "main" twice, the
 * function of the first twice, a location of it twice, and stacks of the
 * first location twice and of the second once (ids[0..2]). */
static struct pf_batch *appended(uint32_t ids[3])
{
	struct pf_batch *b = pf_batch_new();
	struct pf_function f = {.name = 1};
	struct pf_line l = {.function = 1, .line = 7};
	struct pf_location lo = {.address = 0x40};
	uint32_t i;

	assert_non_null(b);
	for (i = 1; i <= 2; i++) {
		assert_int_equal(pf_batch_append_string(b, "main", 4), i);
		assert_int_equal(pf_batch_append_function(b, &f), i);
		assert_int_equal(pf_batch_append_location(b, &lo, &l, 1), i);
	}
	ids[0] = pf_batch_append_stack(b, (uint32_t[]){1}, 1, NULL, 0);
	ids[1] = pf_batch_append_stack(b, (uint32_t[]){1}, 1, NULL, 0);
	ids[2] = pf_batch_append_stack(b, (uint32_t[]){2}, 1, NULL, 0);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 3);
	return b;
}

/* Appending adds equal entries again, with the interning calls' checks; the
 * next intern into each table finds the first of them, and new entries
 * still get the next index. */
static void test_append_then_intern(void **state)
{
	uint32_t ids[3];
	struct pf_batch *b = appended(ids), *c;
	struct pf_function f = {.name = 1}, bad = {.name = 99};
	struct pf_line l = {.function = 1, .line = 7}, bad_line = {.function = 99};
	struct pf_location lo = {.address = 0x40}, bad_loc = {.mapping = 5};

	assert_int_equal(pf_batch_append_string(b, "", 0), 0);
	assert_int_equal(pf_batch_append_stack(b, NULL, 0, NULL, 0), 0);
	assert_int_equal(pf_batch_append_function(b, &bad), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_append_location(b, &lo, &bad_line, 1), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_append_location(b, &bad_loc, &l, 1), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_append_stack(b, (uint32_t[]){9}, 1, NULL, 0), PF_INDEX_ERROR);
	/* Through a decoder's map: its index 0 is location 2, 1 is 1. */
	const uint32_t map[] = {2, 1, 7};
	assert_int_equal(pf_batch_append_stack(b, (uint32_t[]){0, 1, 0}, 3, map, 2), 4);
	size_t n;
	const uint32_t *got = pf_batch_stack_get(b, 4, &n);
	assert_int_equal(n, 3);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 1);
	assert_int_equal(got[2], 2);
	assert_int_equal(pf_batch_append_stack(b, (uint32_t[]){0, 2}, 2, map, 2), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_append_stack(b, (uint32_t[]){2}, 1, map, 3), PF_INDEX_ERROR);
	assert_int_equal(pf_batch_n_stacks(b), 5);
	assert_int_equal(pf_batch_n_strings(b), 3);

	/* A copy keeps what is indexed and what is not. */
	c = pf_batch_copy(b);
	assert_non_null(c);
	assert_int_equal(pf_batch_cstring(b, "main"), 1);
	assert_int_equal(pf_batch_cstring(b, "other"), 3);
	assert_int_equal(pf_batch_function(b, &f), 1);
	assert_int_equal(pf_batch_location(b, &lo, &l, 1), 1);
	assert_int_equal(pf_batch_stack(b, (uint32_t[]){1}, 1), 1);
	assert_int_equal(pf_batch_stack(b, (uint32_t[]){2}, 1), 3);
	assert_int_equal(pf_batch_stack(b, (uint32_t[]){1, 2}, 2), 5);
	assert_int_equal(pf_batch_n_functions(b), 3);
	assert_int_equal(pf_batch_cstring(c, "main"), 1);
	assert_int_equal(pf_batch_function(c, &f), 1);
	assert_int_equal(pf_batch_n_functions(c), 3);
	pf_batch_unref(c);
	pf_batch_unref(b);
}

/* Summing maps a decoded batch's duplicates to one entry: the samples of
 * its three equal stacks become one sample of their total; a plain merge
 * into an empty batch maps them to one as well. */
static void test_merge_sum_maps_duplicates_to_one(void **state)
{
	uint32_t ids[3], p;
	struct pf_batch *src = appended(ids), *dst = pf_batch_new();
	struct pf_batch_sums *sums = pf_batch_sums_new();
	const struct pf_sample *s;
	size_t n;

	p = cpu_profile(src, 1000, 10);
	assert_int_equal(pf_batch_add_sample(src, p, ids[0], 0, 0, (int64_t[]){3}, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(src, p, ids[1], 0, 0, (int64_t[]){4}, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(src, p, ids[2], 0, 0, (int64_t[]){5}, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_merge_sum(dst, src, sums), 0);
	s = pf_batch_samples(dst, 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(pf_batch_sample_total(dst, &s[0]), 12);
	assert_int_equal(pf_batch_n_stacks(dst), 2);
	assert_int_equal(pf_batch_n_locations(dst), 2);
	assert_int_equal(pf_batch_n_functions(dst), 2);
	assert_no_duplicates(dst);
	/* Merging into an empty batch maps them to one too (no plain copy). */
	struct pf_batch *merged = pf_batch_new();
	assert_int_equal(pf_batch_merge(merged, src), 0);
	assert_int_equal(pf_batch_n_stacks(merged), 2);
	assert_int_equal(pf_batch_n_locations(merged), 2);
	assert_int_equal(pf_batch_sample_count(merged), 3);
	assert_no_duplicates(merged);
	pf_batch_unref(merged);
	pf_batch_sums_free(sums);
	pf_batch_unref(dst);
	pf_batch_unref(src);
}

/* What test_merge_finds_what_interning_added() fills a batch with: 100 of
 * each kind of entry, more than one group of those a merge hashes ahead;
 * strings of every length below 100 (each way a string is read for its
 * hash), locations of 0 to 3 lines and stacks of 1 to 9 locations (each way
 * a list's hash ends). `reverse` adds them in the other order, so that they
 * get other indices; `append` appends instead of interning, as a decoder
 * does. */
#define FILL_N 100

static void fill(struct pf_batch *b, bool reverse, bool append)
{
	char text[FILL_N];
	uint32_t str[FILL_N], fns[FILL_N], locs[FILL_N], items[9];
	size_t k, i, j;

	for (i = 0; i < FILL_N; i++)
		text[i] = (char)('a' + i % 26);
	for (k = 0; k < FILL_N; k++) {
		i = reverse ? FILL_N - 1 - k : k;
		str[i] = append ? pf_batch_append_string(b, text, i) : pf_batch_string(b, text, i);
		assert_int_not_equal(str[i], PF_INDEX_ERROR);
	}
	for (k = 0; k < FILL_N; k++) {
		struct pf_function f;

		i = reverse ? FILL_N - 1 - k : k;
		f = (struct pf_function){
			.name = str[i], .filename = str[i % 7], .start_line = (int64_t)i + 1};
		fns[i] = append ? pf_batch_append_function(b, &f) : pf_batch_function(b, &f);
		assert_int_not_equal(fns[i], PF_INDEX_ERROR);
	}
	for (k = 0; k < FILL_N; k++) {
		struct pf_location lo;
		struct pf_line lines[3];

		i = reverse ? FILL_N - 1 - k : k;
		lo = (struct pf_location){.address = 0x1000 + i};
		for (j = 0; j < i % 4; j++)
			lines[j] = (struct pf_line){.function = fns[(i + j) % FILL_N],
						    .line = (int64_t)j + 1};
		locs[i] = append ? pf_batch_append_location(b, &lo, lines, i % 4)
				 : pf_batch_location(b, &lo, lines, i % 4);
		assert_int_not_equal(locs[i], PF_INDEX_ERROR);
	}
	for (k = 0; k < FILL_N; k++) {
		uint32_t id;

		i = reverse ? FILL_N - 1 - k : k;
		for (j = 0; j < 1 + i % 9; j++)
			items[j] = locs[(i + 13 * j) % FILL_N];
		id = append ? pf_batch_append_stack(b, items, 1 + i % 9, NULL, 0)
			    : pf_batch_stack(b, items, 1 + i % 9);
		assert_int_not_equal(id, PF_INDEX_ERROR);
	}
}

/* A merge hashes src's entries in bulk, re-indexed, where interning hashes
 * them one at a time: both must agree, so that merging what dst already
 * holds, in another order, adds nothing. The same when dst's tables were
 * appended (the merge indexes them first) and for pf_batch_merge_sum(). */
static void test_merge_finds_what_interning_added(void **state)
{
	for (int append = 0; append <= 1; append++) {
		struct pf_batch *dst = pf_batch_new(), *src = pf_batch_new();
		struct pf_batch *sum = pf_batch_new();
		struct pf_batch_sums *sums = pf_batch_sums_new();
		size_t n[4];

		assert_non_null(sums);
		fill(dst, false, append);
		fill(src, true, false);
		n[0] = pf_batch_n_strings(dst);
		n[1] = pf_batch_n_functions(dst);
		n[2] = pf_batch_n_locations(dst);
		n[3] = pf_batch_n_stacks(dst);
		assert_int_equal(n[0], FILL_N);
		assert_int_equal(n[3], FILL_N + 1);
		assert_int_equal(pf_batch_merge(dst, src), 0);
		assert_int_equal(pf_batch_n_strings(dst), n[0]);
		assert_int_equal(pf_batch_n_functions(dst), n[1]);
		assert_int_equal(pf_batch_n_locations(dst), n[2]);
		assert_int_equal(pf_batch_n_stacks(dst), n[3]);
		assert_no_duplicates(dst);
		assert_int_equal(pf_batch_merge_sum(sum, dst, sums), 0);
		assert_int_equal(pf_batch_merge_sum(sum, src, sums), 0);
		assert_int_equal(pf_batch_n_strings(sum), n[0]);
		assert_int_equal(pf_batch_n_functions(sum), n[1]);
		assert_int_equal(pf_batch_n_locations(sum), n[2]);
		assert_int_equal(pf_batch_n_stacks(sum), n[3]);
		assert_no_duplicates(sum);
		pf_batch_sums_free(sums);
		pf_batch_unref(sum);
		pf_batch_unref(src);
		pf_batch_unref(dst);
	}
}

/* pf_batch_reserve() is a hint: interning after it finds what exists, adds
 * what does not, and a size that cannot be held is refused with the batch
 * untouched. */
static void test_reserve(void **state)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_batch_sizes more = {.strings = 100,
				      .string_bytes = 1000,
				      .functions = 50,
				      .locations = 50,
				      .lines = 50,
				      .stacks = 10,
				      .stack_items = 100,
				      .values = 10};
	uint32_t s1 = pf_batch_cstring(b, "before");

	assert_int_equal(pf_batch_reserve(b, &more), 0);
	assert_int_equal(pf_batch_cstring(b, "before"), s1);
	for (int i = 0; i < 300; i++) { /* past the hint */
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		struct pf_function f = {.name = pf_batch_cstring(b, name)};
		uint32_t fi = pf_batch_function(b, &f);
		struct pf_line l = {.function = fi, .line = i};
		struct pf_location loc = {.address = (uint64_t)i};
		uint32_t li = pf_batch_location(b, &loc, &l, 1);
		assert_int_equal(pf_batch_location(b, &loc, &l, 1), li);
		assert_int_equal(pf_batch_function(b, &f), fi);
	}
	assert_int_equal(pf_batch_n_functions(b), 301);
	assert_int_equal(pf_batch_n_locations(b), 301);
	struct pf_batch_sizes huge = {.strings = SIZE_MAX / 2};
	assert_int_equal(pf_batch_reserve(b, &huge), -ENOMEM);
	assert_string_equal(pf_batch_str(b, s1), "before");
	assert_int_equal(pf_batch_n_strings(b), 302);
	pf_batch_unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_entries),
		cmocka_unit_test(test_intern_strings),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_intern_attributes),
		cmocka_unit_test(test_intern_code),
		cmocka_unit_test(test_intern_context),
		cmocka_unit_test(test_out_of_range_refused),
		cmocka_unit_test(test_input_from_own_pools),
		cmocka_unit_test(test_add_sample_lengths),
		cmocka_unit_test(test_merge_overlapping),
		cmocka_unit_test(test_merge_every_table),
		cmocka_unit_test(test_copy_equals_original),
		cmocka_unit_test(test_copy_and_aggregate_rich),
		cmocka_unit_test(test_aggregate),
		cmocka_unit_test(test_aggregate_keeps_different_profiles),
		cmocka_unit_test(test_merge_sum),
		cmocka_unit_test(test_indices_below),
		cmocka_unit_test(test_append_then_intern),
		cmocka_unit_test(test_merge_sum_maps_duplicates_to_one),
		cmocka_unit_test(test_merge_finds_what_interning_added),
		cmocka_unit_test(test_refcount_shared),
		cmocka_unit_test(test_million_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
