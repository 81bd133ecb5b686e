/* SPDX-License-Identifier: Apache-2.0 */
/* Finds and parses the CFI sections of an ELF file opened with libelf, for the unwind table and the FDE index. */
#ifndef PF_HOST_CFI_ELF_H
#define PF_HOST_CFI_ELF_H

#include <libelf.h>
#include <stdint.h>

#include "core/error.h"
#include "host/cfi_parse.h"

#include "host/unwind_table.h"

/* What the sections were, besides their FDEs. */
struct pf_cfi_elf_info {
	unsigned sources;      /* PF_UNWIND_FROM_* */
	uint64_t cfi_bytes;    /* size of the sections read */
	uint32_t outside_fdes; /* FDEs left out for lying outside every executable segment */
	struct pf_unwind_segment segs[PF_UNWIND_MAX_SEGMENTS]; /* executable PT_LOADs */
	uint32_t n_segs;
};

/* Checks that `elf` is a little-endian x86-64 file with a whole section
 * table, then parses its .eh_frame and then its .debug_frame into `o`
 * (rows too unless o->ranges_only), keeping only the FDEs that lie inside
 * one executable segment. Each section is bounded by PF_UNWIND_CFI_MAX.
 * Fills `info` as far as it got. Returns 0, or -EINVAL with `err` set
 * (not ELF, another machine, section unreadable or too large, no memory);
 * `o` is the caller's to free either way, `elf` stays the caller's. */
int pf_cfi_elf_parse(Elf *elf, struct pf_cfi_out *o, struct pf_cfi_elf_info *info,
		     struct pf_error *err);

#endif
