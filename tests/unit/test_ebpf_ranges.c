// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the ebpf receiver's allocator of BPF array ranges (receivers/ebpf/ranges.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "receivers/ebpf/unwind.h"

static void test_first_fit_and_full(void **state)
{
	struct pf_ranges r;
	uint32_t a, b, c;

	assert_int_equal(pf_ranges_init(&r, 100), 0);
	assert_int_equal(pf_ranges_take(&r, 40, &a), 0);
	assert_int_equal(pf_ranges_take(&r, 40, &b), 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 40);
	assert_int_equal(pf_ranges_take(&r, 21, &c), -ENOSPC);
	assert_int_equal(pf_ranges_take(&r, 20, &c), 0);
	assert_int_equal(c, 80);
	assert_int_equal(r.used, 100);
	assert_int_equal(pf_ranges_take(&r, 1, &c), -ENOSPC);
	pf_ranges_destroy(&r);
}

/* Freed neighbours merge, so a long range fits again where short ones were. */
static void test_give_coalesces(void **state)
{
	struct pf_ranges r;
	uint32_t s[5], big;

	assert_int_equal(pf_ranges_init(&r, 50), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(pf_ranges_take(&r, 10, &s[i]), 0);
	assert_int_equal(pf_ranges_give(&r, s[1], 10), 0);
	assert_int_equal(pf_ranges_give(&r, s[3], 10), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(pf_ranges_take(&r, 20, &big), -ENOSPC); /* fragmented */
	assert_int_equal(pf_ranges_give(&r, s[2], 10), 0);	 /* joins both */
	assert_int_equal(r.n, 1);
	assert_int_equal(pf_ranges_take(&r, 30, &big), 0);
	assert_int_equal(big, 10);
	assert_int_equal(pf_ranges_give(&r, s[0], 10), 0);
	assert_int_equal(pf_ranges_give(&r, s[4], 10), 0);
	assert_int_equal(pf_ranges_give(&r, big, 30), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.free[0].start, 0);
	assert_int_equal(r.free[0].len, 50);
	assert_int_equal(r.used, 0);
	pf_ranges_destroy(&r);
}

/* Many scattered frees grow the free list; every entry comes back. */
static void test_many_extents(void **state)
{
	struct pf_ranges r;
	uint32_t s[1000], one;

	assert_int_equal(pf_ranges_init(&r, 1000), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(pf_ranges_take(&r, 1, &s[i]), 0);
	for (int i = 0; i < 1000; i += 2)
		assert_int_equal(pf_ranges_give(&r, s[i], 1), 0);
	assert_int_equal(r.n, 500);
	assert_int_equal(pf_ranges_take(&r, 2, &one), -ENOSPC);
	for (int i = 1; i < 1000; i += 2)
		assert_int_equal(pf_ranges_give(&r, s[i], 1), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(pf_ranges_take(&r, 1000, &one), 0);
	pf_ranges_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_fit_and_full),
		cmocka_unit_test(test_give_coalesces),
		cmocka_unit_test(test_many_extents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
