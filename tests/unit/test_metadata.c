// SPDX-License-Identifier: Apache-2.0
/* unit.metadata: client metadata keys and values, and how batches copy, merge and aggregate it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "model/batch.h"
#include "model/metadata.h"

static void add(struct pf_metadata *m, const char *k, const char *v)
{
	assert_int_equal(pf_metadata_add(m, k, strlen(k), v, strlen(v)), 0);
}

static void test_keys_lower_and_multi_valued(void **state)
{
	struct pf_metadata *m = pf_metadata_new();
	const char *const *v;
	size_t n;

	(void)state;
	add(m, "X-Scope-OrgID", "tenant-a");
	add(m, "x-scope-orgid", "tenant-b");
	add(m, "Accept", "*/*");
	assert_int_equal(pf_metadata_add(m, "", 0, "x", 1), -EINVAL);
	assert_int_equal(pf_metadata_n(m), 2);
	assert_string_equal(pf_metadata_key(m, 0), "x-scope-orgid");
	v = pf_metadata_get(m, "X-SCOPE-ORGID", &n);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "tenant-a");
	assert_string_equal(v[1], "tenant-b");
	assert_null(pf_metadata_get(m, "absent", &n));
	assert_int_equal(n, 0);
	assert_null(pf_metadata_get(NULL, "accept", &n));
	pf_metadata_free(m);
}

static void test_same_and_intersect(void **state)
{
	struct pf_metadata *a = pf_metadata_new(), *b = pf_metadata_new(), *c;
	size_t n;

	(void)state;
	add(a, "k", "1");
	add(a, "t", "x");
	add(a, "only-a", "1");
	add(b, "K", "1");
	add(b, "t", "y");
	assert_true(pf_metadata_same(a, b, "k"));
	assert_false(pf_metadata_same(a, b, "t"));
	assert_true(pf_metadata_same(a, b, "absent"));
	assert_false(pf_metadata_same(a, NULL, "k"));
	c = pf_metadata_copy(a);
	assert_non_null(c);
	pf_metadata_intersect(a, b);
	assert_int_equal(pf_metadata_n(a), 1);
	assert_non_null(pf_metadata_get(a, "k", &n));
	assert_int_equal(pf_metadata_n(c), 3);
	pf_metadata_intersect(c, NULL);
	assert_int_equal(pf_metadata_n(c), 0);
	pf_metadata_free(a);
	pf_metadata_free(b);
	pf_metadata_free(c);
}

/* A batch with one profile and one sample of `value`, tagged tenant `t`
 * (NULL: no metadata). */
static struct pf_batch *tenant_batch(const char *t, int64_t value)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_profile_desc d = {0};
	uint32_t loc, stack, p;
	struct pf_location l = {0};

	assert_non_null(b);
	d.sample_type.type = pf_batch_cstring(b, "samples");
	d.sample_type.unit = pf_batch_cstring(b, "count");
	p = pf_batch_add_profile(b, &d);
	l.address = 0x1000;
	loc = pf_batch_location(b, &l, NULL, 0);
	stack = pf_batch_stack(b, &loc, 1);
	assert_int_equal(pf_batch_add_sample(b, p, stack, 0, 0, &value, 1, NULL, 0), 0);
	if (t) {
		struct pf_metadata *m = pf_metadata_new();
		add(m, "x-scope-orgid", t);
		add(m, "user-agent", "agent");
		pf_batch_set_metadata(b, m);
	}
	return b;
}

static const char *tenant(const struct pf_batch *b)
{
	size_t n;
	const char *const *v = pf_metadata_get(pf_batch_metadata(b), "x-scope-orgid", &n);

	return n == 1 ? v[0] : NULL;
}

static void test_batch_copy_merge_aggregate(void **state)
{
	struct pf_batch *a = tenant_batch("tenant-a", 3), *a2 = tenant_batch("tenant-a", 4);
	struct pf_batch *b = tenant_batch("tenant-b", 5), *none = tenant_batch(NULL, 1);
	struct pf_batch *empty = pf_batch_new(), *copy, *agg;

	(void)state;
	copy = pf_batch_copy(a);
	assert_string_equal(tenant(copy), "tenant-a");
	/* into an empty batch: all of src's */
	assert_int_equal(pf_batch_merge(empty, a), 0);
	assert_string_equal(tenant(empty), "tenant-a");
	/* agreeing keys stay */
	assert_int_equal(pf_batch_merge(empty, a2), 0);
	assert_string_equal(tenant(empty), "tenant-a");
	assert_int_equal(pf_metadata_n(pf_batch_metadata(empty)), 2);
	agg = pf_batch_aggregate(empty, false);
	assert_non_null(agg);
	assert_int_equal(pf_batch_sample_count(agg), 1);
	assert_string_equal(tenant(agg), "tenant-a");
	/* disagreeing keys go; the agreeing one stays */
	assert_int_equal(pf_batch_merge(copy, b), 0);
	assert_null(tenant(copy));
	assert_int_equal(pf_metadata_n(pf_batch_metadata(copy)), 1);
	/* a part without metadata leaves none */
	assert_int_equal(pf_batch_merge(copy, none), 0);
	assert_null(pf_batch_metadata(copy));
	pf_batch_set_metadata(agg, NULL);
	assert_null(pf_batch_metadata(agg));
	pf_batch_unref(a);
	pf_batch_unref(a2);
	pf_batch_unref(b);
	pf_batch_unref(none);
	pf_batch_unref(empty);
	pf_batch_unref(copy);
	pf_batch_unref(agg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_lower_and_multi_valued),
		cmocka_unit_test(test_same_and_intersect),
		cmocka_unit_test(test_batch_copy_merge_aggregate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
