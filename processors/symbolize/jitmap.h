/* SPDX-License-Identifier: Apache-2.0 */
/* A process's perf map, read through its root and re-read as it grows. */
#ifndef PF_JITMAP_H
#define PF_JITMAP_H

#include <stdint.h>

#include "symtab.h"

struct pf_jitmap;

/* Opens the perf map of pid: /proc/PID/root/tmp/perf-NSPID.map, NSPID being
 * the pid in the process's own namespace. proc is "/proc" (tests may point
 * elsewhere). Returns NULL with *err (-ENOENT: the process writes none). */
struct pf_jitmap *pf_jitmap_open(const char *proc, int64_t pid, int *err);

/* Takes NULL. */
void pf_jitmap_close(struct pf_jitmap *j);

/* Parses what was appended since the last read. A file cut (shorter than
 * what was read) or replaced since is read again from its start, its
 * entries of before dropped. Returns 0, 1 when it started over, or a
 * negative errno (-EFBIG over 1 GiB; the entries read so far stay). */
int pf_jitmap_refresh(struct pf_jitmap *j);

/* The name of the code at addr, or NULL. */
const char *pf_jitmap_lookup(const struct pf_jitmap *j, uint64_t addr);

size_t pf_jitmap_memory_size(const struct pf_jitmap *j);

#endif
