/* SPDX-License-Identifier: Apache-2.0 */
/* Output files of file exporters: safe names, atomic writes, rotation. Blocking: thread pool only. */
#ifndef PF_FILES_H
#define PF_FILES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/log.h"

/* Copies `in` to `out` (at most size-1 bytes and `max` characters), keeping
 * [A-Za-z0-9._-] and replacing anything else by '_'; a leading '.' becomes
 * '_' so no name is hidden. `in` may be NULL. Returns the length written. */
size_t pf_files_sanitize(const char *in, size_t max, char *out, size_t size);

/* Checks a file-name prefix option: NULL, or up to `max` characters of
 * [A-Za-z0-9._-], not starting with '.' (what pf_files_sanitize() keeps as
 * it is). Returns 0, or fills `err` and returns a negative errno. */
int pf_files_check_prefix(const char *prefix, size_t max, struct pf_error *err);

/* The collision numbers of one writer (an exporter): a write whose name is
 * taken draws the next one, so no two writes of this writer, on any thread,
 * ever try the same name. Zeroed before the first write; never reset. */
struct pf_files_seq {
	atomic_uint_fast64_t next;
};

/* Writes data atomically as <dir>/<base><suffix>: into a hidden temp file in
 * `dir`, fsync'd, then renamed without replacing anything. When that name is
 * taken, as <base>.<n><suffix> with n drawn from `seq`: a number is only
 * tried again when another writer (a previous run) holds it, and then the
 * next is drawn, so the renames tried over a run are at most the files
 * written plus the files found. Fills `path` with the name written. The
 * directory entry becomes durable with pf_files_sync_dir(). Returns 0 or a
 * negative errno; no partial file is left behind. */
int pf_files_write(const char *dir, const char *base, const char *suffix, const void *data,
		   size_t size, struct pf_files_seq *seq, char *path, size_t path_size);

/* Makes the files written into `dir` so far durable (fsync of the
 * directory): once after a run of pf_files_write() calls. Returns 0 or a
 * negative errno. */
int pf_files_sync_dir(const char *dir);

/* Writes data atomically as <dir>/<name>, replacing the file of that name if
 * any: readers see the old content or the new, never a mix. Returns 0 or a
 * negative errno; no partial file is left behind. */
int pf_files_replace(const char *dir, const char *name, const void *data, size_t size);

/* Removes the files of `dir` whose names start with `prefix` (NULL: "") and
 * end with `suffix`, hidden ones excepted, beyond the newest `max_files`
 * (0 = no limit) and those whose mtime is older than `max_age_ns` (0 = keep),
 * oldest first. Returns the number removed or a negative errno. */
int pf_files_rotate(const char *dir, const char *prefix, const char *suffix, int64_t max_files,
		    int64_t max_age_ns, uint64_t now_ns);

/* Removes the hidden temp files of pf_files_write() and pf_files_replace()
 * whose names start with "." `prefix` and that are older than `min_age_ns`:
 * left by a crash. Returns the number removed or a negative errno. */
int pf_files_clean_temp(const char *dir, const char *prefix, int64_t min_age_ns, uint64_t now_ns);

/* Creates `dir` and its missing parents (mode 0755). Returns 0 or -errno
 * (-ENOTDIR when something else has that name). */
int pf_files_mkdir(const char *dir);

/* Readies an exporter's output directory at start: creates `dir` and its
 * parents, and removes the hidden temp files with `prefix` that a crash left
 * there over an hour ago. Returns 0, or logs the failure to `lg` and returns
 * a negative errno. */
int pf_files_prepare(const struct pf_logger *lg, const char *dir, const char *prefix);

/* The wall-clock time in ns since the epoch: what file names and ages use. */
uint64_t pf_files_now_ns(void);

#endif
