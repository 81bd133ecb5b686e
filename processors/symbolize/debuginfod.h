/* SPDX-License-Identifier: Apache-2.0 */
/* Fetches missing debug files from debuginfod servers (libdebuginfod) on a thread of its own. */
#ifndef PF_DEBUGINFOD_H
#define PF_DEBUGINFOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/option.h"
#include "elf_symbols.h"

/* The symbolize processor's `debuginfod:` section. */
struct pf_debuginfod_config {
	bool enabled;
	struct pf_strings urls; /* empty: $DEBUGINFOD_URLS */
	int64_t timeout;	/* ns, per request */
	char *cache_dir;	/* "" or NULL: libdebuginfod's own */
};

/* The rows of that section, for a PF_OPT_SECTION row. */
extern const struct pf_option pf_debuginfod_options[];

/* The cross-field rules: URLs are http:// or https:// without spaces,
 * cache_dir an absolute path. Returns 0 or -EINVAL with err set. */
int pf_debuginfod_validate(const struct pf_debuginfod_config *cfg, struct pf_error *err);

struct pf_debuginfod_opts {
	const struct pf_strings *urls; /* NULL or none: $DEBUGINFOD_URLS */
	const char *cache_dir;	       /* NULL or "": libdebuginfod's default */
	uint64_t timeout_ms;	       /* a request longer than this is abandoned */
	uint64_t retry_ms;	       /* a build ID that failed is not asked again before */
	size_t max_ids;		       /* build IDs remembered: queued, fetched or failed */
};

/* Counts since creation. */
struct pf_debuginfod_stats {
	uint64_t requests; /* asked of libdebuginfod (its disk cache may answer) */
	uint64_t found;	   /* answered with a debug file */
	uint64_t failed;   /* not found, timed out, refused, or not the right file */
	uint64_t bytes;	   /* size of the debug files downloaded (not those from its cache) */
};

/*
 * The client: a table of build IDs (bounded by max_ids) and one thread that
 * asks the servers for one build ID at a time, so nothing that looks a
 * debug file up ever waits on the network. libdebuginfod takes its URLs and
 * cache directory from the environment only: urls and cache_dir, when
 * given, are set in this process's environment (DEBUGINFOD_URLS,
 * DEBUGINFOD_CACHE_PATH) for every client. Returns NULL with *err set:
 * -ENOENT when no URL is configured at all, else a negative errno.
 */
struct pf_debuginfod *pf_debuginfod_new(const struct pf_debuginfod_opts *opts, int *err);

/* Abandons the request in flight (within about a second: libdebuginfod
 * checks for that once a second), stops the thread, frees d. Takes NULL. */
void pf_debuginfod_free(struct pf_debuginfod *d);

/*
 * The debug file of build ID hex (lowercase): 0 with its path in path (when
 * path is not NULL) once fetched; -EAGAIN while it is queued or in flight
 * (queueing it when it was not); -ENOENT when it failed less than retry_ms
 * ago. Any thread.
 */
int pf_debuginfod_lookup(struct pf_debuginfod *d, const char *hex, char *path, size_t size);

/* pf_debuginfod_lookup() for bin's build ID, then opens the file into out
 * when it is bin's debug file. Returns 0 with out open (the caller closes
 * it), -EAGAIN while the fetch runs, -ENOENT when there is none. */
int pf_debuginfod_open(struct pf_debuginfod *d, const struct pf_elf_file *bin,
		       struct pf_elf_file *out);

void pf_debuginfod_stats(struct pf_debuginfod *d, struct pf_debuginfod_stats *s);

#endif
