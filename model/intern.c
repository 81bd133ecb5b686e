/* SPDX-License-Identifier: Apache-2.0 */
/* Growth and copying of the open-addressing intern index. */
#include "model/intern.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Slot positions come from the 32-bit stored hash, so the index never has
 * more than 2^32 slots; at that size it fills past 0.75 but keeps one slot
 * free so probes end. */
_Static_assert(sizeof(size_t) >= 8, "the intern index assumes 64-bit sizes");
#define INTERN_MAX_SLOTS ((size_t)1 << 32)
#define INTERN_MIN_SLOTS 16

static struct pf_intern_slot *slots_alloc(size_t n)
{
	struct pf_intern_slot *s;

	if (n > SIZE_MAX / sizeof(*s))
		return NULL;
	s = malloc(n * sizeof(*s));
	if (!s)
		return NULL;
	/* PF_INTERN_EMPTY is all ones in both fields. */
	memset(s, 0xff, n * sizeof(*s));
	return s;
}

/* The smallest power of two >= INTERN_MIN_SLOTS that holds n at load 0.75,
 * or 0 when that exceeds INTERN_MAX_SLOTS. */
static size_t slots_for(size_t n)
{
	size_t slots = INTERN_MIN_SLOTS;

	while (slots < INTERN_MAX_SLOTS && n > slots / 4 * 3)
		slots *= 2;
	if (n >= slots)
		return 0;
	return slots;
}

int pf_intern_init(struct pf_intern *t, size_t n)
{
	size_t slots = slots_for(n);

	t->slots = NULL;
	t->mask = 0;
	t->count = 0;
	t->limit = 0;
	if (!slots)
		return -ENOMEM;
	t->slots = slots_alloc(slots);
	if (!t->slots)
		return -ENOMEM;
	t->mask = slots - 1;
	t->limit = slots / 4 * 3;
	return 0;
}

void pf_intern_free(struct pf_intern *t)
{
	if (!t)
		return;
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->count = 0;
	t->limit = 0;
}

int pf_intern_grow(struct pf_intern *t, size_t n)
{
	struct pf_intern_slot *ns;
	size_t need, slots, nmask, i;

	if (n > SIZE_MAX - t->count)
		return -ENOMEM;
	need = t->count + n;
	if (need <= (t->mask + 1) / 4 * 3)
		return 0;
	slots = slots_for(need);
	if (!slots)
		return -ENOMEM;
	if (slots <= t->mask + 1)
		return 0; /* already at the largest size and still a free slot */
	ns = slots_alloc(slots);
	if (!ns)
		return -ENOMEM;
	nmask = slots - 1;
	for (i = 0; i <= t->mask; i++) {
		const struct pf_intern_slot *s = &t->slots[i];
		size_t j;

		if (s->idx == PF_INTERN_EMPTY)
			continue;
		j = s->hash & nmask;
		while (ns[j].idx != PF_INTERN_EMPTY)
			j = (j + 1) & nmask;
		ns[j] = *s;
	}
	free(t->slots);
	t->slots = ns;
	t->mask = nmask;
	t->limit = slots / 4 * 3;
	return 0;
}

int pf_intern_copy(struct pf_intern *dst, const struct pf_intern *src)
{
	size_t bytes = (src->mask + 1) * sizeof(*src->slots);

	dst->slots = malloc(bytes);
	if (!dst->slots)
		return -ENOMEM;
	memcpy(dst->slots, src->slots, bytes);
	dst->mask = src->mask;
	dst->count = src->count;
	dst->limit = src->limit;
	return 0;
}

size_t pf_intern_memory_size(const struct pf_intern *t)
{
	return t->slots ? (t->mask + 1) * sizeof(*t->slots) : 0;
}
