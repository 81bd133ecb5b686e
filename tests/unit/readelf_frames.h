/* SPDX-License-Identifier: Apache-2.0 */
/* The reference for unit.unwind_table: `readelf --debug-dump=frames-interp` run and its tables parsed. */
#ifndef PF_TEST_READELF_FRAMES_H
#define PF_TEST_READELF_FRAMES_H

#include <stddef.h>
#include <stdint.h>

/* One row of readelf's table: the LOC and the CFA, rbp and ra columns as
 * printed ("rsp+16", "exp", "c-8", "u", ...; "" where rbp has no column). */
struct rf_row {
	uint64_t loc;
	char cfa[32], fp[32], ra[32];
};

/* One FDE: its range, its CIE's 'S' augmentation, its rows (the CIE's
 * initial row where the FDE has no table of its own). */
struct rf_fde {
	uint64_t start, end;
	int signal;
	int debug_frame; /* from .debug_frame rather than .eh_frame */
	size_t first, n; /* rows[first .. first + n) */
};

struct rf_dump {
	struct rf_fde *fdes;
	size_t n_fdes;
	struct rf_row *rows;
	size_t n_rows;
};

/* Runs readelf on `path` (without following debug links, whose absence
 * would fail it) and parses what it prints, in its order
 * (.eh_frame, then .debug_frame). Returns 0, or -1 if readelf could not be
 * run, printed no FDE and failed, or printed something this parser does
 * not know. */
int rf_load(const char *path, struct rf_dump *d);

void rf_free(struct rf_dump *d);

#endif
