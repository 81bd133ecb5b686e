/* SPDX-License-Identifier: Apache-2.0 */
/* The one bounded whole-file reader: config, PEM, pprof inputs, procfs and sysfs files. */
#ifndef PF_HOST_READ_FILE_H
#define PF_HOST_READ_FILE_H

#include <stddef.h>

/* Flags of pf_host_read_file(). */
/* Refuse (-EINVAL) anything but a regular file: no FIFO or device a hostile
 * process put there is read, and opening one does not block. */
#define PF_HOST_READ_REGULAR 0x1u
/* Keep the first max bytes of a longer file instead of failing (-EFBIG). */
#define PF_HOST_READ_PREFIX 0x2u

/*
 * Reads the file at path whole into a malloc'd buffer with a NUL after the
 * last byte, refusing more than max bytes (-EFBIG, unless
 * PF_HOST_READ_PREFIX). Reads until end of file, so procfs files (whose
 * sizes read as 0), pipes and files that grow or shrink meanwhile are read as
 * they are then; the memory used is at most max + 1 bytes, whatever the
 * file's size. Returns 0 with *buf (the caller frees it) and *len set, or a
 * negative errno (*buf untouched).
 */
int pf_host_read_file(const char *path, size_t max, unsigned flags, char **buf, size_t *len);

/* The same over a file the caller has open (and still owns): read from its
 * current offset. PF_HOST_READ_REGULAR refuses what is not a regular file,
 * but cannot make opening it non-blocking. */
int pf_host_read_fd(int fd, size_t max, unsigned flags, char **buf, size_t *len);

#endif
