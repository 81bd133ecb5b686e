/* SPDX-License-Identifier: Apache-2.0 */
/* The batch's private layout, shared by the files that build, merge and aggregate it. */
#ifndef PF_BATCH_INTERNAL_H
#define PF_BATCH_INTERNAL_H

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/batch.h"
#include "pipeline/intern.h"

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
