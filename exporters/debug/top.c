// SPDX-License-Identifier: Apache-2.0
/* Ranks the functions of profiles by self and cumulative value for the debug exporter. */
#include "top.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per frame: its sums, and the last sample that counted it cumulatively. */
struct frame_acc {
	int64_t self;
	int64_t cum;
	uint64_t seen;
};

struct top_ctx {
	const struct pf_batch *b;
	struct frame_acc *acc;
	size_t n_functions;
	size_t n_slots;
	uint64_t serial;
};

static int64_t add_sat(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* Function f lives in slot f; an unsymbolized location l in n_functions + l. */
static size_t slot_of(const struct top_ctx *t, uint32_t function, uint32_t location)
{
	if (function != 0 && function < t->n_functions)
		return function;
	return t->n_functions + location;
}

static void count_cum(struct top_ctx *t, size_t slot, int64_t value)
{
	struct frame_acc *a = &t->acc[slot];

	if (a->seen == t->serial)
		return;
	a->seen = t->serial;
	a->cum = add_sat(a->cum, value);
}

static void count_sample(struct top_ctx *t, const struct pf_sample *s, int64_t value)
{
	size_t n_locs = 0;
	const uint32_t *locs = s->stack ? pf_batch_stack_get(t->b, s->stack, &n_locs) : NULL;
	size_t n_locations = pf_batch_n_locations(t->b);

	t->serial++;
	for (size_t k = 0; k < n_locs; k++) {
		uint32_t li = locs[k];
		size_t n_lines = 0;
		const struct pf_line *lines;

		if (li == 0 || li >= n_locations)
			continue;
		lines = pf_batch_location_lines(t->b, li, &n_lines);
		if (n_lines == 0) {
			size_t slot = slot_of(t, 0, li);

			if (k == 0)
				t->acc[slot].self = add_sat(t->acc[slot].self, value);
			count_cum(t, slot, value);
			continue;
		}
		for (size_t j = 0; j < n_lines; j++) {
			size_t slot = slot_of(t, lines[j].function, li);

			if (k == 0 && j == 0)
				t->acc[slot].self = add_sat(t->acc[slot].self, value);
			count_cum(t, slot, value);
		}
	}
}

static int entry_cmp(const void *pa, const void *pb, void *arg)
{
	const struct pf_debug_top_entry *a = pa, *b = pb;
	const struct pf_batch *batch = arg;
	char na[256], nb[256];
	int r;

	if (a->value != b->value)
		return a->value > b->value ? -1 : 1;
	r = strcmp(pf_debug_top_name(batch, a, na, sizeof(na)),
		   pf_debug_top_name(batch, b, nb, sizeof(nb)));
	if (r != 0)
		return r;
	if (a->function != b->function)
		return a->function < b->function ? -1 : 1;
	if (a->location != b->location)
		return a->location < b->location ? -1 : 1;
	return 0;
}

/* Collects the nonzero self (or cumulative) sums, ranks them and keeps `limit`. */
static int rank(const struct top_ctx *t, bool self, size_t limit, struct pf_debug_top_entry **out,
		size_t *n_out)
{
	struct pf_debug_top_entry *e;
	size_t n = 0;

	e = calloc(t->n_slots ? t->n_slots : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (size_t i = 1; i < t->n_slots; i++) {
		int64_t v = self ? t->acc[i].self : t->acc[i].cum;

		if (v == 0 || i == t->n_functions)
			continue;
		if (i < t->n_functions) {
			e[n].function = (uint32_t)i;
		} else {
			e[n].location = (uint32_t)(i - t->n_functions);
		}
		e[n].value = v;
		n++;
	}
	qsort_r(e, n, sizeof(*e), entry_cmp, (void *)t->b);
	*out = e;
	*n_out = n < limit ? n : limit;
	return 0;
}

int pf_debug_top_compute(const struct pf_batch *b, const uint32_t *profiles, size_t n, size_t limit,
			 struct pf_debug_top *out)
{
	struct top_ctx t = {.b = b};
	int err;

	memset(out, 0, sizeof(*out));
	t.n_functions = pf_batch_n_functions(b);
	t.n_slots = t.n_functions + pf_batch_n_locations(b);
	t.acc = calloc(t.n_slots, sizeof(*t.acc));
	if (!t.acc)
		return -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		size_t n_samples = 0;
		const struct pf_sample *s = pf_batch_samples(b, profiles[i], &n_samples);

		for (size_t k = 0; k < n_samples; k++) {
			int64_t v = pf_batch_sample_total(b, &s[k]);

			out->total = add_sat(out->total, v);
			count_sample(&t, &s[k], v);
		}
		out->n_samples += n_samples;
	}

	err = rank(&t, true, limit, &out->self, &out->n_self);
	if (err)
		goto out_free_acc;
	err = rank(&t, false, limit, &out->cum, &out->n_cum);
	if (err)
		goto out_free_top;
	free(t.acc);
	return 0;

out_free_top:
	pf_debug_top_free(out);
out_free_acc:
	free(t.acc);
	return err;
}

int64_t pf_debug_top_total(const struct pf_batch *b, const uint32_t *profiles, size_t n,
			   size_t *n_samples)
{
	int64_t total = 0;

	*n_samples = 0;
	for (size_t i = 0; i < n; i++) {
		size_t ns = 0;
		const struct pf_sample *s = pf_batch_samples(b, profiles[i], &ns);

		for (size_t k = 0; k < ns; k++)
			total = add_sat(total, pf_batch_sample_total(b, &s[k]));
		*n_samples += ns;
	}
	return total;
}

void pf_debug_top_free(struct pf_debug_top *t)
{
	free(t->self);
	free(t->cum);
	memset(t, 0, sizeof(*t));
}

const char *pf_debug_top_name(const struct pf_batch *b, const struct pf_debug_top_entry *e,
			      char *buf, size_t size)
{
	if (e->function != 0) {
		const struct pf_function *f = pf_batch_function_get(b, e->function);
		const char *name = pf_batch_str(b, f->name);

		if (name[0] == '\0')
			name = pf_batch_str(b, f->system_name);
		snprintf(buf, size, "%s", name[0] ? name : "[unknown]");
	} else if (e->location != 0) {
		const struct pf_location *loc = pf_batch_location_get(b, e->location);
		const char *file = "";

		if (loc->mapping != 0)
			file = pf_batch_str(b, pf_batch_mapping_get(b, loc->mapping)->filename);
		snprintf(buf, size, "0x%" PRIx64 "%s%s", loc->address, file[0] ? " " : "", file);
	} else {
		snprintf(buf, size, "[unknown]");
	}
	return buf;
}
