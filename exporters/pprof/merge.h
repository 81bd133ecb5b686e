/* SPDX-License-Identifier: Apache-2.0 */
/* The pprof exporter's group_by none: a batch's profiles merged across processes into one pprof per sample group. */
#ifndef PF_PPROF_MERGE_H
#define PF_PPROF_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "model/batch.h"

/*
 * Returns a new batch (one reference; the caller unrefs it) holding a copy of
 * `b` and, after its `pf_batch_n_profiles(b)` profiles, one merged profile per
 * distinct (sample type, period type, period) of b. A merged profile's samples
 * are those of its parts with their stack, link, values and timestamps, and
 * with their resource's attributes appended to their own: they become pprof
 * labels (process.pid, process.executable.name, service.name ...), so a tool
 * can still tell processes apart. Merged profiles have no resource, scope or
 * attributes, and all cover the time range of b's profiles.
 * Fills groups[i] with the encoding group of merged profile i (profiles of
 * one period type and period share a group; groups numbered from 0) and sets
 * *n_merged; `groups` must hold pf_batch_n_profiles(b) entries.
 * Returns NULL when out of memory.
 */
struct pf_batch *pf_pprof_merge(const struct pf_batch *b, uint32_t *groups, size_t *n_merged);

#endif
