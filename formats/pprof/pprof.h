/* SPDX-License-Identifier: Apache-2.0 */
/* pprof profile.proto <-> batch conversion. */
#ifndef PF_PPROF_H
#define PF_PPROF_H

#include <stddef.h>
#include <stdint.h>

#include "model/batch.h"
#include "core/error.h"

/*
 * Mapping between pprof (perftools.profiles.Profile) and the batch model:
 *
 *  - A pprof with N sample types becomes N profiles in the batch, one per
 *    sample type, in sample-type order, sharing resource, scope, period,
 *    time, duration and attributes. Sample i of each holds value[k] of pprof
 *    sample i.
 *  - pprof ids (1-based) become table indices (0 = none); labels become
 *    sample attributes (str -> string value, num -> int value with num_unit
 *    as the attribute's unit), in order; repeated keys are kept.
 *  - What OTLP has no field for is kept as attributes named after the
 *    semantic conventions' pprof namespace:
 *      mapping: pprof.mapping.has_functions / has_filenames /
 *               has_line_numbers / has_inline_frames (bool),
 *               process.executable.build_id.gnu (string, pprof build_id);
 *      location: pprof.location.is_folded (bool);
 *      profile: pprof.profile.comment (strings), pprof.profile.drop_frames,
 *               pprof.profile.keep_frames, pprof.profile.doc_url (string),
 *               pprof.profile.default_sample_type (string: the type name).
 *    A false flag or an empty string is not stored.
 *  - Encoding groups profiles that agree on resource, scope, period type,
 *    period, time, duration and attributes into one pprof, in the order the
 *    profiles appear; samples are aligned by (stack, attributes, link) when
 *    the profiles' samples do not already line up one to one.
 *
 * The decoder treats its input as hostile: every index and length is checked
 * and a bad profile is an error naming what is wrong, never a crash.
 */

/* Resource and scope to attach decoded profiles to (0 = the empty one). */
struct pf_pprof_origin {
	uint32_t resource;
	uint32_t scope;
};

/* Decodes one pprof profile (gzip-compressed or raw, detected by the gzip
 * magic) and appends it to `b` as profiles of `origin`. Returns the number of
 * profiles appended (>= 0), or a negative error with `err` set; on error `b`
 * may hold some new dictionary entries but no new profiles. Inputs larger than
 * `max_size` bytes after decompression are refused (0 = 256 MiB). */
int pf_pprof_decode(struct pf_batch *b, const struct pf_pprof_origin *origin, const void *data,
		    size_t size, size_t max_size, struct pf_error *err);

/* Encodes the profiles listed in `profiles` (indices into b; they must form
 * one group as described above, typically from pf_pprof_groups()) as one
 * pprof Profile. With `gzip` the output is gzip-compressed as pprof files
 * require. On success returns 0 and a malloc'd buffer the caller frees. */
int pf_pprof_encode(const struct pf_batch *b, const uint32_t *profiles, size_t n_profiles,
		    bool gzip, uint8_t **out, size_t *out_size);

/* Splits the batch's profiles into encoding groups. Fills `group_of[p]` with
 * the group number of profile p (groups numbered from 0 in order of first
 * appearance) and returns the number of groups, or -ENOMEM. `group_of` must
 * hold pf_batch_n_profiles(b) entries. A pprof lists each sample type once,
 * so the k-th profile of a sample type goes to the k-th matching group. */
int pf_pprof_groups(const struct pf_batch *b, uint32_t *group_of);

/* Called for one encoding group: `profiles` lists its n profile indices
 * (n > 0) in batch order. Returns 0 to go on, anything else to stop. */
typedef int (*pf_pprof_group_fn)(void *arg, const uint32_t *profiles, size_t n);

/* Calls fn once per group of b's profiles as pf_pprof_groups() splits them,
 * in group order. Returns 0, fn's first nonzero result, or -ENOMEM. */
int pf_pprof_each_group(const struct pf_batch *b, pf_pprof_group_fn fn, void *arg);

/* The same over groups the caller numbered: profile first + i is in group
 * group_of[i] (< n_groups) for i < n. Linear in n + n_groups. */
int pf_pprof_each_group_of(const uint32_t *group_of, size_t n, size_t first, uint32_t n_groups,
			   pf_pprof_group_fn fn, void *arg);

#endif
