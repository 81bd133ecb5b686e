/* SPDX-License-Identifier: Apache-2.0 */
/* The batch's private layout, shared by the files that build, merge and aggregate it. */
#ifndef PF_BATCH_INTERNAL_H
#define PF_BATCH_INTERNAL_H

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/batch.h"
#include "model/intern.h"

/* Every table holds at most this many entries, so every index is below
 * PF_INDEX_ERROR. */
#define PF_BATCH_MAX_ENTRIES ((size_t)UINT32_MAX - 1)

/* Every pool (chars, list items, values, timestamps) holds at most this many
 * entries, so 32-bit offsets into it always fit. */
#define PF_BATCH_MAX_POOL ((size_t)UINT32_MAX)

/* Strings live back to back in one char pool, each followed by a NUL.
 * String i spans chars[off[i]] .. chars[off[i + 1] - 2]; off has n + 1
 * entries, so a string costs its bytes, a NUL and one 4-byte offset. */
struct pf_batch_strings {
	char *chars;
	size_t chars_len, chars_cap;
	uint32_t *off;
	size_t n, off_cap; /* off_cap counts offsets, n counts strings */
	struct pf_intern index;
	size_t indexed; /* entries [0, indexed) are in the index; see pf_batch_append_string() */
};

/* Interned lists of uint32 (string lists, attribute sets, stacks), laid out
 * like the strings: list i is items[off[i]] .. items[off[i + 1] - 1]. */
struct pf_batch_lists {
	uint32_t *items;
	size_t items_len, items_cap;
	uint32_t *off;
	size_t n, off_cap;
	struct pf_intern index;
	size_t indexed; /* as in pf_batch_strings */
};

/* A table of fixed-size entries (the public structs, stored as given). */
struct pf_batch_table {
	void *items;
	size_t n, cap;
	struct pf_intern index;
	size_t indexed; /* as in pf_batch_strings */
};

struct pf_batch_profile {
	struct pf_profile_desc desc;
	struct pf_sample *samples;
	size_t n_samples, cap_samples;
};

struct pf_batch {
	atomic_uint refs;
	uint64_t seed; /* per batch, so hostile input cannot aim hash collisions */
	struct pf_batch_strings strings;
	struct pf_batch_lists string_lists;
	struct pf_batch_lists attr_sets;
	struct pf_batch_lists stacks;
	struct pf_batch_table attributes; /* struct pf_attribute */
	struct pf_batch_table functions;  /* struct pf_function */
	struct pf_batch_table mappings;	  /* struct pf_mapping */
	struct pf_batch_table locations;  /* struct pf_location */
	struct pf_batch_table links;	  /* struct pf_link */
	struct pf_batch_table resources;  /* struct pf_resource */
	struct pf_batch_table scopes;	  /* struct pf_scope */
	struct pf_line *lines;		  /* the lines of every location */
	size_t n_lines, cap_lines;
	struct pf_batch_profile *profiles;
	size_t n_profiles, cap_profiles;
	int64_t *values; /* every sample's values */
	size_t n_values, cap_values;
	uint64_t *timestamps; /* every sample's timestamps */
	size_t n_timestamps, cap_timestamps;
	size_t n_samples;	      /* over all profiles */
	struct pf_metadata *metadata; /* client metadata, owned; NULL when none */
};

/* Returns p reallocated to hold at least `need` elements of `elem` bytes
 * (doubling, so appends are amortized O(1)) and updates *cap; NULL on
 * overflow or ENOMEM, p then left as it was. */
void *pf_batch_grow(void *p, size_t *cap, size_t need, size_t elem);

/* Makes room for `need` elements in the array `arr` of capacity `cap`
 * (a size_t lvalue). Evaluates to 0 or -ENOMEM. */
#define PF_BATCH_RESERVE(arr, cap, need)                                                           \
	__extension__({                                                                            \
		int rc_ = 0;                                                                       \
		if ((need) > (cap)) {                                                              \
			void *p_ = pf_batch_grow((arr), &(cap), (need), sizeof(*(arr)));           \
			if (p_)                                                                    \
				(arr) = p_;                                                        \
			else                                                                       \
				rc_ = -ENOMEM;                                                     \
		}                                                                                  \
		rc_;                                                                               \
	})

/* When `p` points into the pool [base, base + bytes), its offset there, so
 * content can be re-read after the pool moves; otherwise SIZE_MAX. Callers
 * may pass pieces of the batch's own entries (a stack's suffix, a substring,
 * a sample's values). */
static inline size_t pf_batch_offset_in(const void *p, const void *base, size_t bytes)
{
	uintptr_t u = (uintptr_t)p, b = (uintptr_t)base;

	return base && u >= b && u < b + bytes ? (size_t)(u - b) : SIZE_MAX;
}

/* The hash of the batch's indexes (every table's content, and the keys of
 * pf_batch_merge_sum()): a multiply-fold per one or two 64-bit words (as in
 * wyhash), started from the batch's seed. Inline, it costs a fraction of a
 * call into XXH3 for the few words of most entries, and the seed reaches
 * every bit, so input cannot aim collisions without knowing it. */
#define PF_BATCH_HASH_K0 0xa0761d6478bd642fULL
#define PF_BATCH_HASH_K1 0xe7037ed1a0b428dbULL

static inline uint64_t pf_batch_fold_mul(uint64_t a, uint64_t b)
{
	uint64_t lo, hi;

#if defined(__x86_64__)
	/* One mulq: gcc 12 keeps a 128-bit product in memory inside large
	 * loops, adding a store and a load to every step. */
	__asm__("mulq %3" : "=a"(lo), "=d"(hi) : "a"(a), "rm"(b));
#else
	__uint128_t r = (__uint128_t)a * b;

	lo = (uint64_t)r;
	hi = (uint64_t)(r >> 64);
#endif
	return lo ^ hi;
}

/* Mixes word w into the running hash h. */
static inline uint64_t pf_batch_hash_step(uint64_t h, uint64_t w)
{
	return pf_batch_fold_mul(h ^ w ^ PF_BATCH_HASH_K0, PF_BATCH_HASH_K1);
}

/* Mixes two words into h with one multiply (as wyhash does), each operand
 * keyed by h so that input cannot zero either. */
static inline uint64_t pf_batch_hash_step2(uint64_t h, uint64_t a, uint64_t b)
{
	return pf_batch_fold_mul(h ^ a ^ PF_BATCH_HASH_K0, h ^ b ^ PF_BATCH_HASH_K1);
}

/* What the index stores of a running hash. */
static inline uint32_t pf_batch_hash_finish(uint64_t h)
{
	return pf_intern_hash32(pf_batch_fold_mul(h ^ PF_BATCH_HASH_K1, PF_BATCH_HASH_K0));
}

/* Appends an entry of a fixed-size table without looking for it. Entries
 * are stored exactly as their interning functions build them (zeroed, then
 * filled), so the equality functions compare fields, never padding. */
static inline uint32_t pf_batch_table_store(struct pf_batch_table *t, size_t elem,
					    const void *entry)
{
	if (t->n >= PF_BATCH_MAX_ENTRIES)
		return PF_INDEX_ERROR;
	if (t->n >= t->cap) {
		void *p = pf_batch_grow(t->items, &t->cap, t->n + 1, elem);

		if (!p)
			return PF_INDEX_ERROR;
		t->items = p;
	}
	memcpy((char *)t->items + t->n * elem, entry, elem);
	return (uint32_t)t->n++;
}

/* Interns an entry of hash h into a fixed-size table. Tables that take
 * appends index them first (see function_intern()). */
static inline uint32_t pf_batch_table_intern(struct pf_batch_table *t, size_t elem,
					     const void *entry, uint32_t h, pf_intern_eq_fn eq)
{
	size_t pos;
	uint32_t idx;

	assert(t->indexed == t->n);
	if (pf_intern_reserve(&t->index, 1) < 0)
		return PF_INDEX_ERROR;
	idx = pf_intern_find(&t->index, h, eq, t->items, entry, &pos);
	if (idx != PF_INTERN_EMPTY)
		return idx;
	idx = pf_batch_table_store(t, elem, entry);
	if (idx != PF_INDEX_ERROR) {
		pf_intern_put(&t->index, pos, h, idx);
		t->indexed = t->n;
	}
	return idx;
}

/* The hash of n words. */
static inline uint32_t pf_batch_hash_words(uint64_t seed, const uint64_t *w, size_t n)
{
	uint64_t h = seed;
	size_t i;

	for (i = 0; i + 2 <= n; i += 2)
		h = pf_batch_hash_step2(h, w[i], w[i + 1]);
	if (i < n)
		h = pf_batch_hash_step(h, w[i]);
	return pf_batch_hash_finish(h);
}

/* The hash of a sample's identity when samples are summed: its profile,
 * stack, attribute set and link (pf_batch_aggregate(), pf_batch_merge_sum()). */
static inline uint32_t pf_batch_sample_hash(uint64_t seed, uint32_t prof, uint32_t stack,
					    uint32_t attrs, uint32_t link)
{
	const uint64_t w[2] = {prof | (uint64_t)stack << 32, attrs | (uint64_t)link << 32};

	return pf_batch_hash_words(seed, w, 2);
}

/* ---- merging (pf_batch_merge(), pf_batch_merge_sum()) ----
 *
 * Each pf_batch_remap_*() interns every entry of one table of src into dst,
 * the indices inside each entry first re-indexed through maps from src's
 * tables to dst's (which hold valid dst indices by construction, so nothing
 * is range-checked), and writes dst's index of src entry i to out[i]
 * (out[0] = 0: zero entries are equal). Entries are hashed a few dozen
 * ahead of being looked up, so that the index is read from cache. They
 * return 0 or -ENOMEM, after which dst holds part of src and stays valid. */

/* Merges hash this many entries, fetching their index slots, before they
 * look them up: the indexes of a large batch are read at random, and
 * waiting for them was most of a merge's time. */
#define PF_BATCH_AHEAD 64

/* The end of the next group of entries to hash ahead, from i of n. */
static inline size_t pf_batch_ahead_end(size_t i, size_t n)
{
	return n - i > PF_BATCH_AHEAD ? i + PF_BATCH_AHEAD : n;
}

/* Buffers the remaps reuse: re-indexed list items and location lines. The
 * caller frees both members. */
struct pf_batch_scratch {
	uint32_t *items;
	size_t items_cap;
	struct pf_line *lines;
	size_t lines_cap;
};

/* What the fields of a location refer to, src index -> dst index. */
struct pf_batch_location_maps {
	const uint32_t *function, *mapping, *attr_set;
};

int pf_batch_remap_strings(struct pf_batch *dst, const struct pf_batch *src, uint32_t *out);

/* A list table of src (`from`) into the matching one of dst (`l`, hashed
 * with dst's seed), each item through `map`. */
int pf_batch_remap_lists(struct pf_batch_lists *l, uint64_t seed, const struct pf_batch_lists *from,
			 const uint32_t *map, uint32_t *out, struct pf_batch_scratch *buf);

/* `str` maps src's strings. */
int pf_batch_remap_functions(struct pf_batch *dst, const struct pf_batch *src, const uint32_t *str,
			     uint32_t *out);

int pf_batch_remap_locations(struct pf_batch *dst, const struct pf_batch *src,
			     const struct pf_batch_location_maps *m, uint32_t *out,
			     struct pf_batch_scratch *buf);

/* A zeroed batch with one reference and no tables at all (not even the zero
 * entries): the start of a copy. pf_batch_unref() frees it. NULL on ENOMEM. */
struct pf_batch *pf_batch_alloc_bare(void);

/* Gives every table of a bare batch its zero entry and an empty index.
 * Returns 0 or -ENOMEM. */
int pf_batch_init_tables(struct pf_batch *b);

/* Copies the dictionary (every table, not the profiles or samples) of src
 * into the bare batch dst, indices unchanged. Returns 0 or -ENOMEM. */
int pf_batch_copy_dictionary(struct pf_batch *dst, const struct pf_batch *src);

/* Whether pf_batch_aggregate() makes profiles with these descriptions one:
 * all of it but time and duration. */
bool pf_batch_desc_eq(const struct pf_profile_desc *a, const struct pf_profile_desc *b);

/* A hash of what pf_batch_desc_eq() compares. */
uint32_t pf_batch_desc_hash(uint64_t seed, const struct pf_profile_desc *d);

/* Widens od's time range to cover d's (saturating). */
void pf_batch_desc_widen(struct pf_profile_desc *od, const struct pf_profile_desc *d);

#endif
