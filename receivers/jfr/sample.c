// SPDX-License-Identifier: Apache-2.0
/* Assembles a JFR sample: its attribute set, synthetic leaf frames, and summing into the decoder's aggregates. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "events.h"
#include "model/batch.h"
#include "model/semconv.h"

static struct set_slot *set_find(struct set_memo *m, uint64_t thread, uint64_t cls, uint32_t which)
{
	size_t h = jfr_mix(jfr_mix(thread) ^ (cls * 4 + which)) & (m->cap - 1);

	while (m->slots[h].which && (m->slots[h].thread != thread || m->slots[h].cls != cls ||
				     m->slots[h].which != which))
		h = (h + 1) & (m->cap - 1);
	return &m->slots[h];
}

static int set_grow(struct set_memo *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 256;
	struct set_slot *old = m->slots, *slots = calloc(ncap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	m->slots = slots;
	size_t ocap = m->cap;
	m->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].which)
			*set_find(m, old[i].thread, old[i].cls, old[i].which) = old[i];
	free(old);
	return 0;
}

/* The attribute set of an event: its thread's, and the allocated or locked
 * class (which: 1 none, 2 allocation, 3 lock). */
uint32_t jfr_event_attrs(struct chunk_ctx *x, uint64_t thread, uint64_t cls, uint32_t which)
{
	struct pf_batch *b = x->d->b;
	uint32_t attrs[3];
	size_t n;

	if ((x->sets.n + 1) * 2 > x->sets.cap && set_grow(&x->sets) < 0)
		return x->err = -ENOMEM, 0;
	struct set_slot *slot = set_find(&x->sets, thread, cls, which);
	if (slot->which)
		return slot->set;
	n = jfr_thread_attrs(x, thread, attrs);
	uint32_t name = which > 1 && cls ? jfr_class_name(x, cls) : 0;
	if (name) {
		uint32_t *key = which == 2 ? &x->key_alloc_class : &x->key_lock_class;
		if (!*key)
			*key = pf_batch_cstring(b,
						which == 2 ? "jvm.alloc.class" : "jvm.lock.class");
		struct pf_attribute a = {.key = *key,
					 .value = {.kind = PF_VALUE_STRING, .u.str = name}};
		attrs[n++] = *key == PF_INDEX_ERROR ? PF_INDEX_ERROR : pf_batch_attribute(b, &a);
	}
	uint32_t set = pf_batch_attr_set(b, attrs, n);
	for (size_t i = 0; i < n; i++)
		if (attrs[i] == PF_INDEX_ERROR)
			set = PF_INDEX_ERROR;
	if (set == PF_INDEX_ERROR || x->err)
		return x->err = x->err ? x->err : -ENOMEM, 0;
	*slot = (struct set_slot){.thread = thread, .cls = cls, .which = which, .set = set};
	x->sets.n++;
	return set;
}

/* A location of one frame named `name` (a string index), of JFR frame type `type`. */
static uint32_t named_location(struct chunk_ctx *x, uint32_t name, const char *type)
{
	struct pf_batch *b = x->d->b;
	struct pf_function fn = {.name = name, .system_name = name};
	uint32_t attrs[2] = {pf_batch_attr_str(b, PF_ATTR_FRAME_TYPE, PF_FRAME_JVM),
			     pf_batch_attr_str(b, "jvm.frame.type", type)};
	struct pf_line line = {.function = pf_batch_function(b, &fn)};
	struct pf_location loc = {0};

	if (attrs[0] == PF_INDEX_ERROR || attrs[1] == PF_INDEX_ERROR ||
	    line.function == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	loc.attrs = pf_batch_attr_set(b, attrs, 2);
	return loc.attrs == PF_INDEX_ERROR ? PF_INDEX_ERROR : pf_batch_location(b, &loc, &line, 1);
}

/* The stack with a leaf frame for the allocated or locked class on top
 * (frame type "allocation" or "lock"), or, for a sample without a stack, a
 * single "[unknown stack]" frame: pprof tools drop samples without frames. */
uint32_t jfr_topped_stack(struct chunk_ctx *x, uint32_t stack, uint32_t cls, const char *type)
{
	struct pf_jfr_decoder *d = x->d;
	uint64_t key = (uint64_t)stack << 32 | cls;
	uint32_t idx, loc;
	size_t n = 0, n_locs = 0;

	if (!cls && stack)
		return stack;
	key = key * 4 + (type[0] == 'a');
	if (jfr_memo_get(&x->topped, key, &idx))
		return idx;
	if (!cls)
		cls = pf_batch_cstring(d->b, "[unknown stack]");
	loc = cls == PF_INDEX_ERROR ? PF_INDEX_ERROR : named_location(x, cls, type);
	if (loc == PF_INDEX_ERROR)
		return x->err = -ENOMEM, 0;
	d->locs[n++] = loc;
	const uint32_t *locs = stack ? pf_batch_stack_get(d->b, stack, &n_locs) : NULL;
	for (size_t i = 0; i < n_locs && n < MAX_FRAMES + 1; i++)
		d->locs[n++] = locs[i];
	idx = pf_batch_stack(d->b, d->locs, n);
	if (idx == PF_INDEX_ERROR || jfr_memo_put(&x->topped, key, idx) < 0)
		return x->err = -ENOMEM, 0;
	return idx;
}

/* a + b, saturated: the values come from the file. */
static inline int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

void jfr_add(struct chunk_ctx *x, enum pf_jfr_kind kind, uint32_t stack, uint32_t set, int64_t v0,
	     int64_t v1)
{
	struct pf_jfr_decoder *d = x->d;
	uint32_t i;

	uint64_t key = jfr_mix(((uint64_t)stack << 32 | set) ^ jfr_mix((uint64_t)kind + 1));
	/* The memo is keyed by a hash: confirm the entry, probing on by
	 * re-keying when two triples collide. */
	for (;;) {
		if (!jfr_memo_get(&d->agg_index, key, &i))
			break;
		struct jfr_agg *a = &d->aggs[i];
		if (a->kind == kind && a->stack == stack && a->attrs == set) {
			a->v[0] = sat_add(a->v[0], v0);
			a->v[1] = sat_add(a->v[1], v1);
			goto out_count;
		}
		key = jfr_mix(key + 1);
	}
	if (d->n_aggs == d->cap_aggs) {
		size_t ncap = d->cap_aggs ? d->cap_aggs * 2 : 1024;
		struct jfr_agg *grown = realloc(d->aggs, ncap * sizeof(*grown));
		if (!grown) {
			x->err = -ENOMEM;
			return;
		}
		d->aggs = grown;
		d->cap_aggs = ncap;
	}
	d->aggs[d->n_aggs] =
		(struct jfr_agg){.kind = kind, .stack = stack, .attrs = set, .v = {v0, v1}};
	if (jfr_memo_put(&d->agg_index, key, (uint32_t)d->n_aggs) < 0) {
		x->err = -ENOMEM;
		return;
	}
	d->n_aggs++;
out_count:
	d->stats.by_kind[kind]++;
	d->stats.totals[kind][0] = sat_add(d->stats.totals[kind][0], v0);
	d->stats.totals[kind][1] = sat_add(d->stats.totals[kind][1], v1);
}
