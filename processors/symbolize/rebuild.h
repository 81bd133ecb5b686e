/* SPDX-License-Identifier: Apache-2.0 */
/* Copies a batch into a new one, letting a callback replace each location. */
#ifndef PF_REBUILD_H
#define PF_REBUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "model/batch.h"

/*
 * Batches are read-only once shared and their locations are interned by
 * content, so symbolize writes a new batch: every table entry the profiles
 * reach is re-interned into dst, and each location goes through `locate`.
 * Entries the profiles do not reach are left behind.
 *
 * `locate` returns the dst index of the location standing for src location
 * `loc` in the process `pid` (-1 when the resource names none), or
 * PF_INDEX_ERROR. `caller` is true where the location is not a stack's leaf:
 * its address is then a return address, and the call it returns from is at
 * address - 1 (the same location may be a leaf in one stack and a caller in
 * another, and is asked about once for each). It sets *per_process when the
 * answer depends on pid (perf maps); otherwise it is asked once per location
 * and position. It may call the pf_rebuild_* mappers below.
 */
struct pf_rebuild;

typedef uint32_t (*pf_rebuild_locate_fn)(void *ctx, struct pf_rebuild *rb, uint32_t loc,
					 bool caller, int64_t pid, bool *per_process);

/* Returns the new batch (one reference), or NULL on ENOMEM. */
struct pf_batch *pf_rebuild(const struct pf_batch *src, pf_rebuild_locate_fn locate, void *ctx);

/* The batches being read and written. */
const struct pf_batch *pf_rebuild_src(const struct pf_rebuild *rb);
struct pf_batch *pf_rebuild_dst(struct pf_rebuild *rb);

/* dst indices of src entries (PF_INDEX_ERROR on ENOMEM). */
uint32_t pf_rebuild_string(struct pf_rebuild *rb, uint32_t s);
uint32_t pf_rebuild_attribute(struct pf_rebuild *rb, uint32_t attr);
uint32_t pf_rebuild_attr_set(struct pf_rebuild *rb, uint32_t set);
uint32_t pf_rebuild_mapping(struct pf_rebuild *rb, uint32_t m);
/* The src location copied as it is. */
uint32_t pf_rebuild_location_copy(struct pf_rebuild *rb, uint32_t loc);

#endif
