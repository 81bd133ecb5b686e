// SPDX-License-Identifier: Apache-2.0
/* async-profiler's own JFR events: batched wall-clock samples and sampled native allocations. */
#include <stdint.h>

#include "events.h"

/* One profiler.WallClockSample stands for `samples` samples of its thread
 * (async-profiler batches an idle thread's samples into one event); the
 * nanoseconds are set at the end, samples x the wall interval. */
void jfr_on_wall_clock(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v,
		       uint32_t stack)
{
	uint64_t n = t->f[F_SAMPLES] >= 0 ? v[t->f[F_SAMPLES]].u : 1;
	int64_t samples = n > INT32_MAX ? INT32_MAX : (int64_t)n; /* a sane bound on sums */
	uint32_t set;

	stack = stack ? stack : jfr_topped_stack(x, 0, 0, "unknown");
	set = jfr_event_attrs(x, jfr_fv(t, v, F_THREAD), 0, 1);
	if (x->err)
		return;
	jfr_add(x, PF_JFR_WALL, stack, set, samples, 0);
	x->d->wall_clock_events = true;
}

/* profiler.Malloc: one count and `size` bytes on the allocating stack. */
void jfr_on_malloc(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v,
		   uint32_t stack)
{
	uint32_t set;

	stack = stack ? stack : jfr_topped_stack(x, 0, 0, "unknown");
	set = jfr_event_attrs(x, jfr_fv(t, v, F_THREAD), 0, 1);
	if (!x->err)
		jfr_add(x, PF_JFR_MALLOC, stack, set, 1, (int64_t)jfr_fv(t, v, F_SIZE));
}
