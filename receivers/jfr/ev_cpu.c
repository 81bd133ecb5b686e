// SPDX-License-Identifier: Apache-2.0
/* JFR execution and native method samples: one count per sample, on the sampled thread's stack. */
#include "events.h"

void jfr_on_sample(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v,
		   uint32_t stack)
{
	uint32_t set;

	stack = stack ? stack : jfr_topped_stack(x, 0, 0, "unknown");
	set = jfr_event_attrs(x, jfr_fv(t, v, F_THREAD), 0, 1);
	if (!x->err)
		jfr_add(x, t->h == H_EXECUTION ? PF_JFR_CPU : PF_JFR_WALL, stack, set, 1, 0);
}
