/* SPDX-License-Identifier: Apache-2.0 */
/* pprof exporter files: names, atomic writes, rotation. Blocking: thread pool only. */
#ifndef PF_PPROF_FILES_H
#define PF_PPROF_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/batch.h"

#define PF_PPROF_FILES_SUFFIX	".pb.gz"
#define PF_PPROF_FILES_NAME_MAX 200

/* Copies `in` to `out` (at most size-1 bytes and `max` characters), keeping
 * [A-Za-z0-9._-] and replacing anything else by '_'; a leading '.' becomes
 * '_' so no name is hidden. Returns the length written. */
size_t pf_pprof_files_sanitize(const char *in, size_t max, char *out, size_t size);

/*
 * The base name (no collision suffix, no ".pb.gz") for profile `p` of `b`:
 *   <prefix><service>[.pid<pid>].<type>_<unit>.<YYYYmmddTHHMMSS.mmm>Z
 * <service> is the resource's service.name, else process.executable.name,
 * else "unknown"; the time is the profile's, or `now_ns` when it has none.
 * Every part is sanitized. `prefix` may be NULL. Returns buf.
 */
const char *pf_pprof_files_name(const struct pf_batch *b, uint32_t p, const char *prefix,
				uint64_t now_ns, char *buf, size_t size);

/* Writes data atomically as <dir>/<base>.pb.gz: into a hidden temp file in
 * `dir`, fsync'd, then renamed without replacing anything. When the name is
 * taken, tries <base>.1.pb.gz, <base>.2.pb.gz, ... Fills `path` with the name
 * written. Returns 0 or a negative errno; no partial file is left behind. */
int pf_pprof_files_write(const char *dir, const char *base, const void *data, size_t size,
			 char *path, size_t path_size);

/* Removes this exporter's files (names starting with `prefix`, ending in
 * ".pb.gz", not hidden) beyond the newest `max_files` (0 = no limit) and
 * those whose mtime is older than `max_age_ns` (0 = keep), oldest first.
 * Returns the number removed or a negative errno. */
int pf_pprof_files_rotate(const char *dir, const char *prefix, int64_t max_files,
			  int64_t max_age_ns, uint64_t now_ns);

/* Removes hidden temp files of this exporter older than `min_age_ns`, left
 * by a crash. Returns the number removed or a negative errno. */
int pf_pprof_files_clean_temp(const char *dir, const char *prefix, int64_t min_age_ns,
			      uint64_t now_ns);

/* Creates `dir` and its missing parents (mode 0755). Returns 0 or -errno. */
int pf_pprof_files_mkdir(const char *dir);

#endif
