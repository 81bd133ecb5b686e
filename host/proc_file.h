/* SPDX-License-Identifier: Apache-2.0 */
/* Opening the file a process maps, as that process sees it. */
#ifndef PF_HOST_PROC_FILE_H
#define PF_HOST_PROC_FILE_H

#include <stdint.h>

/*
 * Opens, read-only, the file that process pid maps at [start, end) from
 * path (as /proc/PID/maps shows it, " (deleted)" included). Tries
 *
 *   1. /proc/PID/map_files/START-END: the very inode mapped, so a binary
 *      deleted or replaced since it was mapped (an upgrade) is still the
 *      right file; opening it needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE)
 *      in the initial user namespace, and fails with EPERM without;
 *   2. /proc/PID/root/PATH: the path in the process's mount namespace, which
 *      needs only ptrace read access; it misses deleted files, and a file
 *      replaced at that path is another file (callers that know the build
 *      ID compare it).
 *
 * The first one that opens is used; map_files first because it is exact.
 * Only a regular file is accepted (-EINVAL for a FIFO or device a container
 * put at the path); opening never blocks. Returns the fd (the caller closes
 * it) or the negative errno of the last attempt.
 */
int pf_host_open_mapped(int64_t pid, const char *path, uint64_t start, uint64_t end);

/* Opens path read-only if it is a regular file, without blocking on a FIFO.
 * Returns the fd or a negative errno (-EINVAL: not a regular file). */
int pf_host_open_regular(const char *path);

#endif
