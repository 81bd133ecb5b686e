/* SPDX-License-Identifier: Apache-2.0 */
/* Perf maps (/tmp/perf-PID.map): the names JIT compilers give their code. */
#ifndef PF_PERFMAP_H
#define PF_PERFMAP_H

#include <stddef.h>

#include "core/error.h"
#include "symtab.h"

/*
 * Parses perf-map text, one "START SIZE name" line per entry (START and SIZE
 * in hex, "0x" optional; the name is the rest of the line and may hold
 * spaces), appending the entries to t (then call pf_symtab_finish). Lines
 * that do not parse are skipped and counted in *bad (may be NULL); a last
 * line without a newline is ignored as still being written. Returns the
 * number of bytes consumed (up to and including the last newline), so a
 * caller can parse a growing file incrementally, or -ENOMEM.
 */
long pf_perfmap_parse(const char *buf, size_t len, struct pf_symtab *t, size_t *bad);

#endif
