// SPDX-License-Identifier: Apache-2.0
/* First-fit allocation of consecutive entries of a BPF array, with free extents coalesced. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unwind.h"

int pf_ranges_init(struct pf_ranges *r, uint32_t cap)
{
	memset(r, 0, sizeof(*r));
	r->cap = cap;
	if (cap == 0)
		return 0;
	r->free = malloc(sizeof(*r->free));
	if (!r->free)
		return -ENOMEM;
	r->free[0] = (struct pf_range){.start = 0, .len = cap};
	r->n = r->alloc = 1;
	return 0;
}

void pf_ranges_destroy(struct pf_ranges *r)
{
	free(r->free);
	memset(r, 0, sizeof(*r));
}

int pf_ranges_take(struct pf_ranges *r, uint32_t n, uint32_t *start)
{
	for (size_t i = 0; i < r->n; i++) {
		struct pf_range *f = &r->free[i];

		if (f->len < n)
			continue;
		*start = f->start;
		f->start += n;
		f->len -= n;
		if (f->len == 0) {
			memmove(f, f + 1, (r->n - i - 1) * sizeof(*f));
			r->n--;
		}
		r->used += n;
		return 0;
	}
	return -ENOSPC;
}

/* The index of the first free extent starting after `start`. */
static size_t after(const struct pf_ranges *r, uint32_t start)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->free[mid].start <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int pf_ranges_give(struct pf_ranges *r, uint32_t start, uint32_t n)
{
	size_t i = after(r, start);
	bool joins_prev = i > 0 && r->free[i - 1].start + r->free[i - 1].len == start;
	bool joins_next = i < r->n && start + n == r->free[i].start;

	if (n == 0)
		return 0;
	r->used -= n;
	if (joins_prev && joins_next) {
		r->free[i - 1].len += n + r->free[i].len;
		memmove(&r->free[i], &r->free[i + 1], (r->n - i - 1) * sizeof(*r->free));
		r->n--;
	} else if (joins_prev) {
		r->free[i - 1].len += n;
	} else if (joins_next) {
		r->free[i].start = start;
		r->free[i].len += n;
	} else {
		if (r->n == r->alloc) {
			size_t cap = r->alloc ? r->alloc * 2 : 16;
			struct pf_range *grown = reallocarray(r->free, cap, sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			r->free = grown;
			r->alloc = cap;
		}
		memmove(&r->free[i + 1], &r->free[i], (r->n - i) * sizeof(*r->free));
		r->free[i] = (struct pf_range){.start = start, .len = n};
		r->n++;
	}
	return 0;
}
