/* SPDX-License-Identifier: Apache-2.0 */
/* Top functions of a set of profiles by self and by cumulative value. */
#ifndef PF_DEBUG_TOP_H
#define PF_DEBUG_TOP_H

#include <stddef.h>
#include <stdint.h>

#include "model/batch.h"

/*
 * A frame is a function when the location is symbolized (`function` != 0),
 * otherwise the location itself (`function` == 0, `location` != 0), shown by
 * address. A sample's value is the sum of its values, or its number of
 * timestamps when it carries no values.
 *
 *  - self: the value of every sample whose leaf frame (the leaf-most inlined
 *    function of the first location) is this frame;
 *  - cumulative: the value of every sample with this frame anywhere on its
 *    stack, inlined functions included, counted once per sample however
 *    often the frame recurs.
 */
struct pf_debug_top_entry {
	uint32_t function; /* function index, 0 for an unsymbolized location */
	uint32_t location; /* location index when function == 0 */
	int64_t value;
};

struct pf_debug_top {
	struct pf_debug_top_entry *self; /* value descending, at most `limit` */
	size_t n_self;
	struct pf_debug_top_entry *cum; /* value descending, at most `limit` */
	size_t n_cum;
	int64_t total;	  /* sum of every sample's value */
	size_t n_samples; /* samples looked at */
};

/* Computes the top `limit` frames of profiles `profiles[0..n)` of `b` (which
 * should share a sample type). Ties are broken by frame name, then index, so
 * the result is deterministic. Returns 0 and fills `out`, which the caller
 * releases with pf_debug_top_free(), or -ENOMEM (then `out` holds nothing). */
int pf_debug_top_compute(const struct pf_batch *b, const uint32_t *profiles, size_t n, size_t limit,
			 struct pf_debug_top *out);

/* The sum of the values of every sample of profiles[0..n), saturating, and
 * in *n_samples their number. */
int64_t pf_debug_top_total(const struct pf_batch *b, const uint32_t *profiles, size_t n,
			   size_t *n_samples);

/* Frees the arrays of `t` and zeroes it. Takes a zeroed struct. */
void pf_debug_top_free(struct pf_debug_top *t);

/* Writes the display name of a frame into buf: the function name, or
 * "0x<address>" (with " <mapping file>") for an unsymbolized location, or
 * "[unknown]". Returns buf. */
const char *pf_debug_top_name(const struct pf_batch *b, const struct pf_debug_top_entry *e,
			      char *buf, size_t size);

#endif
