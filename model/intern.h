/* SPDX-License-Identifier: Apache-2.0 */
/* An open-addressing hash index of uint32 entry indices over a table the caller owns. */
#ifndef PF_INTERN_H
#define PF_INTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The index stores, per slot, the entry's 32-bit hash and its index in the
 * caller's table; the content lives only in that table, so equality is a
 * caller-supplied function. Storing the hash lets lookups skip most content
 * comparisons and lets the index grow without touching the table. */
struct pf_intern_slot {
	uint32_t hash;
	uint32_t idx; /* PF_INTERN_EMPTY when the slot is free */
};

#define PF_INTERN_EMPTY UINT32_MAX

struct pf_intern {
	struct pf_intern_slot *slots; /* mask + 1 slots, a power of two */
	size_t mask;
	size_t count;
	size_t limit; /* (mask + 1) / 4 * 3: the count it holds before it grows */
};

/* True when entry `idx` of the caller's table equals `key`. */
typedef bool (*pf_intern_eq_fn)(const void *ctx, uint32_t idx, const void *key);

/* Makes `t` empty with room for `n` entries. Returns 0 or -ENOMEM. */
int pf_intern_init(struct pf_intern *t, size_t n);

/* Frees the slots; `t` may be zeroed or half-built. */
void pf_intern_free(struct pf_intern *t);

/* The growing half of pf_intern_reserve(). */
int pf_intern_grow(struct pf_intern *t, size_t n);

/* Makes room for `n` more entries (load <= 0.75 while the index can still
 * double). Slot positions found before a reserve are stale after it.
 * Returns 0 or -ENOMEM (also when the index cannot hold that many). Inline:
 * every intern calls it, and it nearly always has room already. */
static inline int pf_intern_reserve(struct pf_intern *t, size_t n)
{
	if (n <= t->limit && t->count <= t->limit - n)
		return 0;
	return pf_intern_grow(t, n);
}

/* Deep-copies src into dst (which must not hold slots). Returns 0 or -ENOMEM. */
int pf_intern_copy(struct pf_intern *dst, const struct pf_intern *src);

/* Bytes held by the slots. */
size_t pf_intern_memory_size(const struct pf_intern *t);

/* Folds a 64-bit content hash to what the index stores. */
static inline uint32_t pf_intern_hash32(uint64_t h)
{
	return (uint32_t)(h ^ (h >> 32));
}

/* Looks for an entry equal to `key` with hash `hash`. Returns its index, or
 * PF_INTERN_EMPTY with *pos set to the free slot where it would go. Inline
 * so the equality function is inlined at each call site. */
static inline uint32_t pf_intern_find(const struct pf_intern *t, uint32_t hash, pf_intern_eq_fn eq,
				      const void *ctx, const void *key, size_t *pos)
{
	size_t i = hash & t->mask;

	for (;;) {
		const struct pf_intern_slot *s = &t->slots[i];

		if (s->idx == PF_INTERN_EMPTY) {
			*pos = i;
			return PF_INTERN_EMPTY;
		}
		if (s->hash == hash && eq(ctx, s->idx, key))
			return s->idx;
		i = (i + 1) & t->mask;
	}
}

/* Starts fetching the slot where a lookup of `hash` begins, for callers that
 * know their hashes a while before they look them up. */
static inline void pf_intern_prefetch(const struct pf_intern *t, uint32_t hash)
{
	__builtin_prefetch(&t->slots[hash & t->mask]);
}

/* Fills the free slot `pos` returned by pf_intern_find(); room must have been
 * reserved before the find. */
static inline void pf_intern_put(struct pf_intern *t, size_t pos, uint32_t hash, uint32_t idx)
{
	t->slots[pos].hash = hash;
	t->slots[pos].idx = idx;
	t->count++;
}

#endif
