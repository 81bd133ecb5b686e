// SPDX-License-Identifier: Apache-2.0
/* Shared decoding budget: atomic charges with a per-decode limit. */
#include "core/budget.h"

#include <errno.h>

void pf_budget_init(struct pf_budget *b, size_t limit)
{
	atomic_init(&b->used, 0);
	b->limit = limit;
}

size_t pf_budget_used(const struct pf_budget *b)
{
	return atomic_load_explicit(&b->used, memory_order_relaxed);
}

void pf_budget_meter_init(struct pf_budget_meter *m, struct pf_budget *b, size_t limit)
{
	if (b && b->limit && (limit == 0 || limit > b->limit))
		limit = b->limit;
	*m = (struct pf_budget_meter){.budget = b, .limit = limit};
}

int pf_budget_charge(struct pf_budget_meter *m, size_t n)
{
	struct pf_budget *b;
	size_t used;

	if (!m)
		return 0;
	if (m->limit && (n > m->limit || m->charged > m->limit - n)) {
		m->refused = -EFBIG;
		return -EFBIG;
	}
	b = m->budget;
	if (b && b->limit) {
		used = atomic_load_explicit(&b->used, memory_order_relaxed);
		do {
			if (n > b->limit || used > b->limit - n) {
				m->refused = -EBUSY;
				return -EBUSY;
			}
		} while (!atomic_compare_exchange_weak_explicit(
			&b->used, &used, used + n, memory_order_relaxed, memory_order_relaxed));
	} else if (b) {
		atomic_fetch_add_explicit(&b->used, n, memory_order_relaxed);
	}
	m->charged += n;
	return 0;
}

void pf_budget_refund(struct pf_budget_meter *m, size_t n)
{
	if (!m)
		return;
	if (n > m->charged)
		n = m->charged;
	if (m->budget && n)
		atomic_fetch_sub_explicit(&m->budget->used, n, memory_order_relaxed);
	m->charged -= n;
}

void pf_budget_meter_release(struct pf_budget_meter *m)
{
	if (m->budget && m->charged)
		atomic_fetch_sub_explicit(&m->budget->used, m->charged, memory_order_relaxed);
	m->charged = 0;
}
