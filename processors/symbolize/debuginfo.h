/* SPDX-License-Identifier: Apache-2.0 */
/* Finds the separate debug file of a binary: by build ID, then by .gnu_debuglink. */
#ifndef PF_DEBUGINFO_H
#define PF_DEBUGINFO_H

#include "elf_symbols.h"

/*
 * Looks, in order, for
 *   <debug_root>/.build-id/xx/rest.debug          (build ID "xxrest...")
 *   <root><dir>/<debuglink>, <root><dir>/.debug/<debuglink>,
 *   <debug_root><dir>/<debuglink>
 * where dir is the directory of filename, the binary's path as its process
 * sees it, and root the prefix that reaches that namespace ("" or
 * "/proc/PID/root");
 * opens the first candidate that matches bin: the same build ID when bin
 * has one, else the CRC-32 the debug link records. A candidate must carry
 * .debug_info. debug_root is usually "/usr/lib/debug".
 * Returns 0 with *out open (the caller closes it), -ENOENT when none
 * matches, or another negative errno.
 */
int pf_debuginfo_find(const struct pf_elf_file *bin, const char *root, const char *filename,
		      const char *debug_root, struct pf_elf_file *out);

/* Opens path into out when it is bin's debug file (the same build ID, else
 * the CRC-32 of bin's debug link) and carries .debug_info. */
bool pf_debuginfo_open_matching(const struct pf_elf_file *bin, const char *path,
				struct pf_elf_file *out);

#endif
