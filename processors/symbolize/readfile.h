/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file reads of small text files, procfs included. */
#ifndef PF_READFILE_H
#define PF_READFILE_H

#include <stddef.h>

/* Reads the file at path (procfs files, whose sizes read as 0, included)
 * into a malloc'ed, NUL-terminated buffer the caller frees, refusing more
 * than max bytes. Returns 0 or a negative errno. */
int pf_readfile(const char *path, size_t max, char **buf, size_t *len);

#endif
