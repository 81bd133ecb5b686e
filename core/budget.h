/* SPDX-License-Identifier: Apache-2.0 */
/* A memory budget shared by concurrent decoders, and the meter each decode charges it through. */
#ifndef PF_BUDGET_H
#define PF_BUDGET_H

#include <stdatomic.h>
#include <stddef.h>

/*
 * A receiver decodes requests on the thread pool, several at once, and a
 * small request can decode into many times its size. Each decode charges
 * what it allocates to a meter with its own limit (derived from the size
 * limit of the request) that draws on the receiver's budget, in the spirit
 * of the Collector's memory_limiter: past its own limit the request can
 * never fit (413 / RESOURCE_EXHAUSTED), past the shared budget it may fit
 * later (503 / UNAVAILABLE with a retry delay). The decoder returns what it
 * charged when it is done.
 */

struct pf_budget {
	atomic_size_t used; /* bytes charged by meters now */
	size_t limit;	    /* 0: unlimited */
};

struct pf_budget_meter {
	struct pf_budget *budget; /* NULL: only `limit` applies */
	size_t limit;		  /* this decode's own limit; 0: none */
	size_t charged;		  /* bytes taken from the budget */
	int refused;		  /* 0, or why the last charge failed: -EFBIG, -EBUSY */
};

/* Sets up a budget of `limit` bytes (0: unlimited) with nothing charged. */
void pf_budget_init(struct pf_budget *b, size_t limit);

/* Bytes charged now (for tests and telemetry). */
size_t pf_budget_used(const struct pf_budget *b);

/* Starts a meter on `b` (may be NULL) whose decode may take at most `limit`
 * bytes (0: no limit of its own). A limit above the budget's is cut to it:
 * such a decode could never fit. */
void pf_budget_meter_init(struct pf_budget_meter *m, struct pf_budget *b, size_t limit);

/* Charges n more bytes. Returns 0, or -EFBIG when the meter's own limit
 * would be passed, -EBUSY when the shared budget would (nothing is charged
 * then, and m->refused says which). Thread-safe across meters; a meter
 * belongs to one thread. `m` may be NULL (nothing is counted). */
int pf_budget_charge(struct pf_budget_meter *m, size_t n);

/* Gives back n bytes of what `m` charged, freed before the decode ends
 * (scratch space). `m` may be NULL. */
void pf_budget_refund(struct pf_budget_meter *m, size_t n);

/* Gives back everything `m` charged; the meter may be charged again. */
void pf_budget_meter_release(struct pf_budget_meter *m);

#endif
