/* SPDX-License-Identifier: Apache-2.0 */
/* File:line and inlined frames of an address, from DWARF through libdw, indexed per CU. */
#ifndef PF_DWARF_LINES_H
#define PF_DWARF_LINES_H

#include <elfutils/libdw.h>
#include <stddef.h>
#include <stdint.h>

/* One frame; the strings point into the Dwarf's data and live as long as
 * it. name is the linkage (mangled) name when DWARF has one, else the plain
 * name; file and name may be NULL. */
struct pf_dwarf_frame {
	const char *name;
	const char *file;
	int64_t line;
	int64_t start_line; /* the function's declaration line, 0 if unknown */
};

/*
 * The function scopes of a Dwarf, indexed per compile unit on first use:
 * every subprogram and inlined-subroutine range, sorted, with parent links.
 * Asking for an address is then a binary search and a walk up the parents,
 * where libdw's dwarf_getscopes would walk the CU's DIE tree every time.
 * Does not own dw.
 */
struct pf_dwarf_lines;

/* NULL on ENOMEM. */
struct pf_dwarf_lines *pf_dwarf_lines_new(Dwarf *dw);

/* Takes NULL. */
void pf_dwarf_lines_free(struct pf_dwarf_lines *dl);

/*
 * The frames at virtual address vaddr, innermost inlined function first and
 * the function that holds the code last, at most max of them (the innermost
 * are dropped when there are more). Returns the number of frames, 0 when
 * DWARF does not cover vaddr.
 */
size_t pf_dwarf_frames(struct pf_dwarf_lines *dl, uint64_t vaddr, struct pf_dwarf_frame *out,
		       size_t max);

/* Bytes held by the indexes. */
size_t pf_dwarf_lines_memory_size(const struct pf_dwarf_lines *dl);

#endif
