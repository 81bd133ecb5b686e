// SPDX-License-Identifier: Apache-2.0
/* unit.fde_index: every FDE readelf lists in libc and libpython is found at its start and middle; the index's time and bytes. */
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/cfi_elf.h"
#include "host/fde_index.h"
#include "readelf_frames.h"

#define LIBC	  "/lib/x86_64-linux-gnu/libc.so.6"
#define LIBPYTHON "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"

/* The index of the file at path, or NULL (the fd is closed either way). */
static struct pf_fde_index *index_of(const char *path, struct pf_error *err)
{
	struct pf_fde_index *x;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	x = pf_fde_index_from_fd(fd, err);
	close(fd);
	return x;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* True when another FDE of d than fde i covers pc (nested or overlapping
 * FDEs: the index names one of them). */
static int covered_twice(const struct rf_dump *d, size_t i, uint64_t pc)
{
	size_t j;

	for (j = 0; j < d->n_fdes; j++)
		if (j != i && d->fdes[j].start <= pc && pc < d->fdes[j].end)
			return 1;
	return 0;
}

static void check_against_readelf(const char *path, size_t min_fdes)
{
	struct pf_error err = {0};
	struct rf_dump d = {0};
	struct pf_fde_index *x;
	size_t i, checked = 0, skipped = 0;
	double t0, t1;

	assert_int_equal(rf_load(path, &d), 0);
	t0 = now_ms();
	x = index_of(path, &err);
	t1 = now_ms();
	assert_non_null(x);
	/* Figures for the record: what the index costs on a big library. */
	printf("%s: %zu FDEs, %zu bytes, built in %.2f ms\n", path, pf_fde_index_count(x),
	       pf_fde_index_bytes(x), t1 - t0);
	for (i = 0; i < d.n_fdes; i++) {
		const struct rf_fde *f = &d.fdes[i];
		uint64_t mid = f->start + (f->end - f->start) / 2, start = 0;

		/* The parser leaves out empty FDEs and a discarded function's at 0. */
		if (f->start == f->end || f->start == 0 || covered_twice(&d, i, f->start) ||
		    covered_twice(&d, i, mid)) {
			skipped++;
			continue;
		}
		if (!pf_fde_index_find(x, f->start, &start) || start != f->start)
			fail_msg("%s: FDE pc=%#llx..%#llx not found at its start (got %#llx)", path,
				 (unsigned long long)f->start, (unsigned long long)f->end,
				 (unsigned long long)start);
		start = 0;
		if (!pf_fde_index_find(x, mid, &start) || start != f->start)
			fail_msg("%s: FDE pc=%#llx..%#llx not found at %#llx (got %#llx)", path,
				 (unsigned long long)f->start, (unsigned long long)f->end,
				 (unsigned long long)mid, (unsigned long long)start);
		/* Its end is the next function's, or no function's. */
		if (pf_fde_index_find(x, f->end, &start))
			assert_true(start != f->start);
		checked++;
	}
	assert_true(checked >= min_fdes);
	printf("%zu of %zu FDEs checked (the rest empty, at 0 or overlapping)\n", checked,
	       d.n_fdes);
	assert_true(skipped * 100 <= d.n_fdes); /* the check covers nearly all */
	/* The index holds the ranges only: 8 bytes an FDE and its header. */
	assert_true(pf_fde_index_bytes(x) <= 64 + 8 * pf_fde_index_count(x));
	pf_fde_index_destroy(x);
	rf_free(&d);
}

static void libc_fdes_found_at_start_and_middle(void **state)
{
	(void)state;
	check_against_readelf(LIBC, 2000);
}

static void libpython_fdes_found_at_start_and_middle(void **state)
{
	(void)state;
	check_against_readelf(LIBPYTHON, 5000);
}

/* Addresses outside every FDE, and files that are not ELF, are told apart. */
static void outside_and_bad_files(void **state)
{
	struct pf_error err = {0};
	struct pf_fde_index *x = index_of(LIBC, &err);
	uint64_t start = 0;

	(void)state;
	assert_non_null(x);
	assert_false(pf_fde_index_find(x, 0, &start));
	assert_false(pf_fde_index_find(x, UINT64_MAX, &start));
	pf_fde_index_destroy(x);
	assert_null(index_of("/proc/self/status", &err));
	assert_null(index_of("/etc/os-release", &err));
}

/* The CFI of the file at path parsed into o, rows or ranges only. */
static void parse_file(const char *path, int ranges_only, struct pf_cfi_out *o)
{
	struct pf_cfi_elf_info info = {0};
	struct pf_error err = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf *elf;

	assert_true(fd >= 0);
	assert_true(elf_version(EV_CURRENT) != EV_NONE);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	o->ranges_only = ranges_only;
	assert_int_equal(pf_cfi_elf_parse(elf, o, &info, &err), 0);
	elf_end(elf);
	close(fd);
}

/* Parsing for ranges only finds the very FDEs the full parse compiles,
 * and makes no row. */
static void ranges_only_same_fdes_as_rows(void **state)
{
	struct pf_cfi_out full = {0}, ranges = {0};
	size_t i;

	(void)state;
	parse_file(LIBC, 0, &full);
	parse_file(LIBC, 1, &ranges);
	assert_true(full.n_fdes > 2000);
	assert_int_equal(ranges.n_fdes, full.n_fdes);
	assert_int_equal(ranges.n_rows, 0);
	assert_int_equal(ranges.skipped, full.skipped);
	for (i = 0; i < full.n_fdes; i++) {
		assert_int_equal(ranges.fdes[i].start, full.fdes[i].start);
		assert_int_equal(ranges.fdes[i].end, full.fdes[i].end);
		assert_int_equal(ranges.fdes[i].n, 0);
	}
	pf_cfi_out_free(&full);
	pf_cfi_out_free(&ranges);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(libc_fdes_found_at_start_and_middle),
		cmocka_unit_test(libpython_fdes_found_at_start_and_middle),
		cmocka_unit_test(outside_and_bad_files),
		cmocka_unit_test(ranges_only_same_fdes_as_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
