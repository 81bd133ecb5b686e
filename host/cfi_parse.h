/* SPDX-License-Identifier: Apache-2.0 */
/* Parses a .eh_frame or .debug_frame section into per-FDE unwind rows (the CIE/FDE records and the CFA programs). */
#ifndef PF_HOST_CFI_PARSE_H
#define PF_HOST_CFI_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "host/unwind_row.h"

/* DWARF register numbers of the roles an unwind row describes. */
struct pf_cfi_arch {
	unsigned sp, fp, ra;
	int link_reg; /* the return address may still be in its register (arm64's x30) */
};

/* x86-64: rsp 7, rbp 6, return address in rip's column 16. */
extern const struct pf_cfi_arch pf_cfi_arch_x86_64;

/* One CFI section, as read from the ELF file (the bytes stay the caller's). */
struct pf_cfi_section {
	const uint8_t *data;
	size_t size;
	uint64_t vaddr;	    /* sh_addr: .eh_frame's pc-relative pointers count from it */
	unsigned addr_size; /* 4 or 8, from the ELF class */
	int debug_frame;    /* .debug_frame's record layout rather than .eh_frame's */
	const struct pf_cfi_arch *arch;
};

/* An FDE's range and its rows: rows[first .. first + n), whose pc is an
 * offset from the FDE's start, ascending (an FDE spans less than 4 GiB). */
struct pf_cfi_fde {
	uint64_t start, end;
	size_t first, n;
};

/* What a section parsed into. Owns rows and fdes (pf_cfi_out_free). */
struct pf_cfi_out {
	struct pf_unwind_row *rows;
	size_t n_rows, cap_rows;
	struct pf_cfi_fde *fdes;
	size_t n_fdes, cap_fdes;
	size_t bad_fdes; /* FDEs whose CIE or CFA program is malformed: one PF_UNWIND_UNKNOWN row each */
	size_t skipped; /* FDEs whose range or CIE could not be read: left out, so their pcs are gaps */
	int truncated;	 /* a record's length ran past the section: the walk stopped there */
	int ranges_only; /* set by the caller: FDEs' ranges only, no rows (n 0 each) */
};

/* Parses every CIE and FDE of `sec` into `out` (which must be zeroed or
 * previously filled: rows and FDEs are appended). Malformed records are
 * counted in `out`, never followed: an FDE whose program cannot be read
 * becomes a single PF_UNWIND_UNKNOWN row. Work and memory are linear in
 * the section's size. Returns 0, or -ENOMEM (out keeps what it had). */
int pf_cfi_parse(const struct pf_cfi_section *sec, struct pf_cfi_out *out);

/* Frees what `out` owns and zeroes it. */
void pf_cfi_out_free(struct pf_cfi_out *out);

/* The CIE fields a CFA program needs. */
struct pf_cfi_cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	uint8_t signal;	     /* 'S': a signal trampoline's FDEs */
	uint8_t z;	     /* 'z': FDEs carry augmentation data */
	const uint8_t *init; /* initial instructions */
	size_t init_len;
};

/* Runs an FDE's CFA program (after the CIE's initial instructions) over
 * [start, end) and appends its rows to `out`. Returns 0, -EINVAL if the
 * program is malformed (rows appended so far are removed), -ENOMEM.
 * `ins` lies inside sec->data (DW_CFA_set_loc's pc-relative pointers count
 * from its place there). */
int pf_cfi_exec(const struct pf_cfi_section *sec, const struct pf_cfi_cie *cie, const uint8_t *ins,
		size_t len, uint64_t start, uint64_t end, struct pf_cfi_out *out);

/* Appends a row at `off` bytes into its FDE; returns 0 or -ENOMEM. */
int pf_cfi_out_row(struct pf_cfi_out *out, uint32_t off, struct pf_unwind_row r);

#endif
