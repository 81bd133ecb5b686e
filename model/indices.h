/* SPDX-License-Identifier: Apache-2.0 */
/* Range checks over lists of table indices, written so that they vectorize. */
#ifndef PF_INDICES_H
#define PF_INDICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when every idx[0..n) is below limit. Stacks' location indices are
 * most of the indices a decoder checks, so the common all-valid case is one
 * pass of signed compares OR-ed together, which the baseline x86-64 (SSE2)
 * vectorizes where an unsigned compare or max would not: an index of 2^31
 * or more is negative here, and refused. */
static inline bool pf_indices_below(const uint32_t *idx, size_t n, size_t limit)
{
	int32_t lim = limit > INT32_MAX ? INT32_MAX : (int32_t)limit;
	int bad = 0;

	if (limit > INT32_MAX) {
		for (size_t i = 0; i < n; i++)
			if (idx[i] >= limit)
				return false;
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		int32_t v = (int32_t)idx[i];

		bad |= (v < 0) | (v >= lim);
	}
	return bad == 0;
}

#endif
