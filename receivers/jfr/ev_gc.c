// SPDX-License-Identifier: Apache-2.0
/* JFR garbage collections: a one-frame stack named for the collector, valued by the sum of its pauses. */
#include <errno.h>

#include "events.h"
#include "model/batch.h"

void jfr_on_gc(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v)
{
	struct pf_batch *b = x->d->b;
	struct jfr_val g[JFR_MAX_FIELDS];
	uint32_t fn_idx, loc_idx, attr, stack, set;
	const char *name = "unknown";

	if (t->f[F_NAME] >= 0 && x->gc_name >= 0 &&
	    jfr_pooled(x, x->gcname_cls, jfr_fv(t, v, F_NAME), g) &&
	    jfr_string_at(x, g[x->gc_name].off, x->d->str) >= 0)
		name = x->d->str;
	struct pf_function fn = {.name = pf_batch_cstring(b, name)};
	fn.system_name = fn.name;
	fn_idx = fn.name == PF_INDEX_ERROR ? PF_INDEX_ERROR : pf_batch_function(b, &fn);
	struct pf_line line = {.function = fn_idx};
	struct pf_location loc = {.attrs = x->attr_jvm};
	loc_idx = fn_idx == PF_INDEX_ERROR ? PF_INDEX_ERROR : pf_batch_location(b, &loc, &line, 1);
	stack = loc_idx == PF_INDEX_ERROR ? PF_INDEX_ERROR : pf_batch_stack(b, &loc_idx, 1);
	attr = pf_batch_attr_str(b, "jvm.gc.name", name);
	set = attr == PF_INDEX_ERROR ? PF_INDEX_ERROR : pf_batch_attr_set(b, &attr, 1);
	if (stack == PF_INDEX_ERROR || set == PF_INDEX_ERROR) {
		x->err = -ENOMEM;
		return;
	}
	jfr_add(x, PF_JFR_GC, stack, set, 1, jfr_ticks_to_ns(x, jfr_fv(t, v, F_PAUSES)));
}
