/* SPDX-License-Identifier: Apache-2.0 */
/* unit.unwind_table's reference check: a compiled table against readelf's frames-interp rows, with libdw reading the "exp" ones. */
#ifndef PF_TEST_CFI_COMPARE_H
#define PF_TEST_CFI_COMPARE_H

#include <stddef.h>
#include <stdint.h>

/* What a comparison saw: FDEs and rows checked, by kind, and mismatches. */
struct cfc_tally {
	size_t rows, fdes, mismatches, plt, signal, outermost, fp_cfa, gaps, deref, fp_at_fp,
		sp_deref, fp_deref_8;
};

/* Compiles `path` and checks every readelf row at its first and last pc,
 * and every pc range between FDEs, failing the running cmocka test on any
 * mismatch (the first 10 are printed); returns the tally for more checks. */
struct cfc_tally cfc_compare(const char *path);

/* The [start, end) of the file's .plt section (0, 0 without one). */
void cfc_plt_range(const char *path, uint64_t *start, uint64_t *end);

#endif
