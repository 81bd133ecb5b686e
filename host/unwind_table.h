/* SPDX-License-Identifier: Apache-2.0 */
/* Compiles an ELF file's call frame information once into a sorted table of compact unwind rows. */
#ifndef PF_HOST_UNWIND_TABLE_H
#define PF_HOST_UNWIND_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "host/unwind_row.h"
#include "core/error.h"

/* Which CFI sections a table's rows came from (flags; none: every pc is a gap). */
#define PF_UNWIND_FROM_EH_FRAME 1u /* .eh_frame */
#define PF_UNWIND_FROM_DEBUG_FRAME                                                                 \
	2u /* .debug_frame: a separate debug file, or code built without unwind tables */

/* An executable PT_LOAD segment: where a mapping of the file at file
 * offset o (page-aligned, inside the segment) puts virtual address
 * o + vaddr - offset. */
struct pf_unwind_segment {
	uint64_t offset, vaddr, filesz;
};

#define PF_UNWIND_MAX_SEGMENTS 8

/* The unwind rows of one ELF file, in the file's own virtual addresses:
 * a process that maps the file with load bias b looks pc up at pc - b, so
 * one table serves every process mapping the file. */
struct pf_unwind_table {
	uint64_t base;		    /* the virtual address row pc 0 stands for */
	struct pf_unwind_row *rows; /* sorted by pc; the last one is a gap up to the end */
	uint32_t n_rows;
	unsigned sources;      /* PF_UNWIND_FROM_* */
	uint64_t cfi_bytes;    /* size of the sections read */
	uint32_t n_fdes;       /* FDEs compiled */
	uint32_t bad_fdes;     /* FDEs whose program is malformed, compiled to PF_UNWIND_UNKNOWN */
	uint32_t skipped_fdes; /* FDEs left out (unreadable range or CIE): their pcs are gaps */
	uint32_t overlaps;     /* FDEs starting inside an earlier one: the earlier one wins there */
	uint32_t outside_fdes; /* FDEs left out for lying outside every executable segment */
	int truncated;	       /* the section ended inside a record: what followed is gaps */
	struct pf_unwind_segment segs[PF_UNWIND_MAX_SEGMENTS]; /* executable segments */
	uint32_t n_segs;
};

/* The segment of segs[0..n) that a mapping at page-aligned file offset
 * `offset` maps, or NULL. */
const struct pf_unwind_segment *pf_unwind_segment_find(const struct pf_unwind_segment *segs,
						       uint32_t n, uint64_t offset);

/* Compiles the CFI of the ELF file open on `fd`: .eh_frame and .debug_frame
 * (where both describe a pc, .eh_frame's FDE is kept). The file is read
 * with pread (libelf's ELF_C_READ), never mapped, so a file truncated
 * meanwhile gives an error, not SIGBUS. Every length is bounded by the file
 * and by PF_UNWIND_CFI_MAX. Returns a table the caller frees with
 * pf_unwind_table_destroy (fd stays the caller's), or NULL with `err` set:
 * not an ELF file, a machine without unwind rules, CFI too large, no
 * memory. A file without CFI gives a table of no rows. */
struct pf_unwind_table *pf_unwind_table_from_fd(int fd, struct pf_error *err);

/* Same, opening `path` read-only. */
struct pf_unwind_table *pf_unwind_table_from_path(const char *path, struct pf_error *err);

/* Same, from an ELF image in memory (the vDSO, a fuzzer's input); a
 * little-endian image is only read, and stays the caller's. */
struct pf_unwind_table *pf_unwind_table_from_mem(const void *image, size_t size,
						 struct pf_error *err);

/* The largest CFI section compiled (bytes, after decompression). */
#define PF_UNWIND_CFI_MAX (256u << 20)

/* Frees t; NULL is fine. */
void pf_unwind_table_destroy(struct pf_unwind_table *t);

/* The row in force at virtual address `vaddr` (binary search, as the BPF
 * unwinder does), or NULL where no row reaches (below the first row, or
 * 4 GiB past it): a gap. The returned row belongs to t. */
const struct pf_unwind_row *pf_unwind_table_find(const struct pf_unwind_table *t, uint64_t vaddr);

/* Bytes the table holds in memory (its rows and header). */
size_t pf_unwind_table_bytes(const struct pf_unwind_table *t);

#endif
