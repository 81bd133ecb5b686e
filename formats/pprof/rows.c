// SPDX-License-Identifier: Apache-2.0
/* Lines up the samples of several one-sample-type profiles into pprof rows. */
#include "formats/pprof/rows.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int64_t sample_value(const struct pf_batch *b, const struct pf_sample *s)
{
	if (s->values_len == 0)
		return (int64_t)s->timestamps_len;
	const int64_t *v = pf_batch_sample_values(b, s);
	int64_t sum = 0;
	for (uint32_t i = 0; i < s->values_len; i++)
		sum = (int64_t)((uint64_t)sum + (uint64_t)v[i]); /* wraps, as Go does */
	return sum;
}

static bool lined_up(const struct pf_batch *b, const uint32_t *profiles, size_t n)
{
	size_t n0;
	const struct pf_sample *s0 = pf_batch_samples(b, profiles[0], &n0);
	for (size_t k = 1; k < n; k++) {
		size_t nk;
		const struct pf_sample *sk = pf_batch_samples(b, profiles[k], &nk);
		if (nk != n0)
			return false;
		for (size_t i = 0; i < n0; i++)
			if (sk[i].stack != s0[i].stack || sk[i].attrs != s0[i].attrs ||
			    sk[i].link != s0[i].link)
				return false;
	}
	return true;
}

static int rows_alloc(struct pf_pprof_rows *r, size_t rows, size_t n_values)
{
	r->n_values = n_values;
	r->stack = calloc(rows + 1, sizeof(*r->stack));
	r->attrs = calloc(rows + 1, sizeof(*r->attrs));
	r->link = calloc(rows + 1, sizeof(*r->link));
	if (n_values && rows > SIZE_MAX / sizeof(int64_t) / n_values)
		return -ENOMEM;
	r->values = calloc(rows * n_values + 1, sizeof(*r->values));
	if (!r->stack || !r->attrs || !r->link || !r->values)
		return -ENOMEM;
	return 0;
}

static uint32_t key_hash(uint32_t stack, uint32_t attrs, uint32_t link)
{
	uint64_t h = stack * 0x9e3779b97f4a7c15ull;
	h ^= (attrs + 0x632be59bd9b4e019ull) * 0xc2b2ae3d27d4eb4full;
	h ^= (link + 0x165667b19e3779f9ull) * 0x85ebca77c2b2ae63ull;
	return (uint32_t)(h >> 32);
}

static int build_aligned(struct pf_pprof_rows *r, const struct pf_batch *b,
			 const uint32_t *profiles, size_t n)
{
	size_t total = 0;
	for (size_t k = 0; k < n; k++) {
		size_t nk;
		pf_batch_samples(b, profiles[k], &nk);
		total += nk;
	}
	int rc = rows_alloc(r, total, n);
	if (rc)
		return rc;
	size_t cap = 16;
	while (cap < 2 * total)
		cap *= 2;
	uint32_t *slots = calloc(cap, sizeof(*slots)); /* row + 1 */
	if (!slots)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		size_t nk;
		const struct pf_sample *s = pf_batch_samples(b, profiles[k], &nk);
		for (size_t i = 0; i < nk; i++) {
			size_t h = key_hash(s[i].stack, s[i].attrs, s[i].link) & (cap - 1);
			for (; slots[h]; h = (h + 1) & (cap - 1)) {
				size_t row = slots[h] - 1;
				if (r->stack[row] == s[i].stack && r->attrs[row] == s[i].attrs &&
				    r->link[row] == s[i].link)
					break;
			}
			if (!slots[h]) {
				r->stack[r->n] = s[i].stack;
				r->attrs[r->n] = s[i].attrs;
				r->link[r->n] = s[i].link;
				slots[h] = (uint32_t)++r->n;
			}
			int64_t *v = &r->values[(slots[h] - 1) * n + k];
			*v = (int64_t)((uint64_t)*v + (uint64_t)sample_value(b, &s[i]));
		}
	}
	free(slots);
	return 0;
}

int pf_pprof_rows_build(struct pf_pprof_rows *r, const struct pf_batch *b, const uint32_t *profiles,
			size_t n)
{
	memset(r, 0, sizeof(*r));
	if (n == 0)
		return rows_alloc(r, 0, 0);
	if (!lined_up(b, profiles, n))
		return build_aligned(r, b, profiles, n);
	size_t n0;
	const struct pf_sample *s0 = pf_batch_samples(b, profiles[0], &n0);
	int rc = rows_alloc(r, n0, n);
	if (rc)
		return rc;
	r->n = n0;
	for (size_t i = 0; i < n0; i++) {
		r->stack[i] = s0[i].stack;
		r->attrs[i] = s0[i].attrs;
		r->link[i] = s0[i].link;
	}
	for (size_t k = 0; k < n; k++) {
		size_t nk;
		const struct pf_sample *s = pf_batch_samples(b, profiles[k], &nk);
		for (size_t i = 0; i < nk; i++)
			r->values[i * n + k] = sample_value(b, &s[i]);
	}
	return 0;
}

void pf_pprof_rows_fini(struct pf_pprof_rows *r)
{
	free(r->stack);
	free(r->attrs);
	free(r->link);
	free(r->values);
	memset(r, 0, sizeof(*r));
}
