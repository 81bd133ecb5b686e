/* SPDX-License-Identifier: Apache-2.0 */
/* Symbolizes a batch: kernel frames by kallsyms, JIT frames by perf maps, native ones by ELF/DWARF. */
#ifndef PF_RESOLVE_H
#define PF_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/batch.h"

struct pf_resolver_opts {
	bool lines;
	bool demangle;
	bool kernel;
	bool perf_maps;
	size_t cache_size;		  /* bytes */
	const char *debug_root;		  /* NULL: /usr/lib/debug */
	const char *kallsyms_path;	  /* NULL: /proc/kallsyms */
	struct pf_debuginfod *debuginfod; /* borrowed; NULL: no debuginfod */
};

struct pf_resolver_stats {
	uint64_t native, kernel, jit; /* frames named, by source */
	uint64_t unresolved;	      /* frames left as module+offset */
	uint64_t open_failed;	      /* binaries that could not be opened or did not match */
	uint64_t maps_restarted;      /* perf maps cut or replaced while in use, read again */
	uint64_t dwarf_failed;	      /* binaries whose DWARF could not be read (cut, corrupt) */
};

/* Owns the cache and the kernel table. Used by one thread at a time (the
 * libuv worker running the job). */
struct pf_resolver;

/* NULL on ENOMEM. The strings in opts are copied. */
struct pf_resolver *pf_resolver_new(const struct pf_resolver_opts *opts);

/* Takes NULL. */
void pf_resolver_free(struct pf_resolver *r);

/*
 * A new batch equal to src but with its unsymbolized locations (those
 * without lines) named where possible: lines and functions added, frame
 * types set (kernel, jit). Unresolved native frames get a function named
 * "<file basename>+0x<file offset>": the offset of the function's start by
 * the file's FDEs where one holds the code address, else of the address
 * itself. now_ms paces kallsyms reloads and
 * retries of files that failed to open. Returns NULL on ENOMEM.
 */
struct pf_batch *pf_resolver_run(struct pf_resolver *r, const struct pf_batch *src,
				 uint64_t now_ms);

void pf_resolver_stats(const struct pf_resolver *r, struct pf_resolver_stats *s);

#endif
