/* SPDX-License-Identifier: Apache-2.0 */
/* The unwind tables the BPF program reads: compiled per file, shared by every process mapping it, within a budget. */
#ifndef PF_EBPF_UNWIND_H
#define PF_EBPF_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "proc.h"

/* ---- ranges of a BPF array (ranges.c) ---- */

/* The free extents of an array of `cap` entries: first fit, coalesced on
 * free. */
struct pf_ranges {
	struct pf_range {
		uint32_t start, len;
	} * free; /* sorted by start, never adjacent */
	size_t n, alloc;
	uint32_t cap, used;
};

/* Starts with [0, cap) free. Returns 0 or -ENOMEM. */
int pf_ranges_init(struct pf_ranges *r, uint32_t cap);
void pf_ranges_destroy(struct pf_ranges *r);

/* Takes n (> 0) consecutive entries: 0 and *start set, or -ENOSPC when no
 * free extent is that long. */
int pf_ranges_take(struct pf_ranges *r, uint32_t n, uint32_t *start);

/* Gives back [start, start + n), which pf_ranges_take handed out. Returns 0
 * or -ENOMEM (the extent stays lost: the array only gets smaller). */
int pf_ranges_give(struct pf_ranges *r, uint32_t start, uint32_t n);

/* ---- the tables of the processes (unwind.c) ---- */

/* The three maps of bpf/unwind.bpf.h and their sizes. */
struct pf_ebpf_unwind_maps {
	int procs_fd, mappings_fd, rows_fd;
	uint32_t procs_cap, mappings_cap, rows_cap;
};

struct pf_ebpf_unwind_stats {
	uint64_t tables;      /* tables in the rows map now */
	uint64_t rows;	      /* rows they hold */
	uint64_t compiled;    /* tables compiled so far */
	uint64_t compile_ns;  /* their total compile time */
	uint64_t failed;      /* files whose CFI could not be compiled */
	uint64_t evicted;     /* tables evicted for room, least recently used first */
	uint64_t over_budget; /* mappings left to frame pointers: no room even after eviction */
	uint64_t procs;	      /* processes whose mappings the BPF program has */
	uint64_t user_bytes;  /* memory the cache holds in user space */
	uint64_t map_bytes;   /* memory of the three maps (their whole size, allocated at load) */
};

struct pf_ebpf_unwind;

/* A cache of tables over the maps; the fds stay the caller's. NULL on ENOMEM. */
struct pf_ebpf_unwind *pf_ebpf_unwind_new(const struct pf_ebpf_unwind_maps *maps,
					  const struct pf_logger *lg);
void pf_ebpf_unwind_free(struct pf_ebpf_unwind *u);

/*
 * Gives the BPF program the mappings of process pid: for each executable
 * mapping, the table of its file (by build ID, compiled on first sight,
 * read through pf_host_open_mapped) or none (anonymous or JIT code, no
 * CFI, budget spent: the BPF program uses frame pointers there). exec_id
 * is the image the maps describe (pf_bpf_key.exec_id), or -1 when not
 * known. What the process had before is let go at the next collect.
 * Returns 0 or a negative errno (the process then has no tables).
 */
int pf_ebpf_unwind_load(struct pf_ebpf_unwind *u, uint32_t pid, int64_t exec_id,
			const struct pf_procmaps *maps);

/* Takes pid's mappings away from the BPF program (exit, exec). */
void pf_ebpf_unwind_forget(struct pf_ebpf_unwind *u, uint32_t pid);

/* Called once per drain: frees what was let go before the previous call
 * (the BPF program may have been reading it until then). */
void pf_ebpf_unwind_collect(struct pf_ebpf_unwind *u);

void pf_ebpf_unwind_stats(const struct pf_ebpf_unwind *u, struct pf_ebpf_unwind_stats *out);

#endif
