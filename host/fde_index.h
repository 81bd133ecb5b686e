/* SPDX-License-Identifier: Apache-2.0 */
/* The functions an ELF file's CFI describes: each FDE's start and length, sorted, to name code without symbols. */
#ifndef PF_HOST_FDE_INDEX_H
#define PF_HOST_FDE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* The FDEs of one file, in its virtual addresses. Opaque. */
struct pf_fde_index;

/* Reads the FDE ranges of the ELF file open on `fd` (.eh_frame, then
 * .debug_frame), without running their CFA programs: pread through
 * libelf, never mapped, bounded like pf_unwind_table_from_fd. Returns an
 * index the caller frees with pf_fde_index_destroy (fd stays the
 * caller's), or NULL with `err` set. A file without CFI gives an empty
 * index. */
struct pf_fde_index *pf_fde_index_from_fd(int fd, struct pf_error *err);

/* Frees x; NULL is fine. */
void pf_fde_index_destroy(struct pf_fde_index *x);

/* True when an FDE covers virtual address `vaddr` ([start, start + range)),
 * with its start in *start (binary search; where FDEs overlap, the one
 * starting last at or below vaddr). */
bool pf_fde_index_find(const struct pf_fde_index *x, uint64_t vaddr, uint64_t *start);

/* The number of FDEs indexed. */
size_t pf_fde_index_count(const struct pf_fde_index *x);

/* Bytes the index holds in memory. */
size_t pf_fde_index_bytes(const struct pf_fde_index *x);

#endif
