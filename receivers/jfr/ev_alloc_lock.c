// SPDX-License-Identifier: Apache-2.0
/* JFR allocation and lock events: the stack topped by a frame for the allocated or locked class. */
#include "events.h"

void jfr_on_alloc_lock(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v,
		       uint32_t stack)
{
	bool alloc = t->h == H_ALLOC_SAMPLE || t->h == H_ALLOC_TLAB || t->h == H_LIVE;
	uint64_t cls_key = jfr_fv(t, v, F_CLASS);
	uint32_t cls = cls_key ? jfr_class_name(x, cls_key) : 0;
	uint32_t set = jfr_event_attrs(x, jfr_fv(t, v, F_THREAD), cls_key, alloc ? 2 : 3);

	stack = x->err ? 0 : jfr_topped_stack(x, stack, cls, alloc ? "allocation" : "lock");
	if (x->err)
		return;
	if (alloc)
		jfr_add(x, t->h == H_LIVE ? PF_JFR_LIVE : PF_JFR_ALLOC, stack, set, 1,
			(int64_t)jfr_fv(t, v, F_WEIGHT));
	else
		jfr_add(x, PF_JFR_LOCK, stack, set, 1,
			jfr_ticks_to_ns(x, jfr_fv(t, v, F_DURATION)));
}
