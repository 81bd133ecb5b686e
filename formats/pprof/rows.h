/* SPDX-License-Identifier: Apache-2.0 */
/* The samples of a group of profiles as pprof rows: one stack, labels and N values each. */
#ifndef PF_PPROF_ROWS_H
#define PF_PPROF_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "model/batch.h"

/*
 * pprof stores one value per sample type in each sample; the batch keeps one
 * profile per sample type. When the profiles' samples line up (same count,
 * and sample i has the same stack, attributes and link in each) row i is
 * sample i. Otherwise samples are aligned by (stack, attributes, link): one
 * row per distinct key in order of first appearance, with a profile's
 * values summed into it and 0 where a profile has no such sample.
 * A batch sample's value is the sum of its values, or its number of
 * timestamps when it has no values.
 */
struct pf_pprof_rows {
	size_t n;	 /* rows */
	size_t n_values; /* values per row: the number of profiles */
	uint32_t *stack;
	uint32_t *attrs;
	uint32_t *link;
	int64_t *values; /* row r holds values[r * n_values .. + n_values) */
};

/* Builds the rows of `profiles` (n > 0 valid indices into b). Returns 0 or
 * -ENOMEM; the rows own their arrays, freed with pf_pprof_rows_fini(). */
int pf_pprof_rows_build(struct pf_pprof_rows *r, const struct pf_batch *b, const uint32_t *profiles,
			size_t n);

/* Frees the arrays; takes zeroed or half-built rows. */
void pf_pprof_rows_fini(struct pf_pprof_rows *r);

static inline const int64_t *pf_pprof_rows_values(const struct pf_pprof_rows *r, size_t row)
{
	return r->values + row * r->n_values;
}

#endif
