/* SPDX-License-Identifier: Apache-2.0 */
/* What the ebpf receiver knows about a process, and the pure parsers of the /proc files it comes from. */
#ifndef PF_EBPF_PROC_H
#define PF_EBPF_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define PF_EBPF_BUILD_ID_HEX  41 /* up to 20 bytes as lowercase hex, NUL-terminated */
#define PF_EBPF_CONTAINER_MAX 65 /* a 64-hex container id, NUL-terminated */

/* One executable mapping of a process, as in /proc/PID/maps. */
struct pf_ebpf_mapping {
	uint64_t start, end, offset; /* [start, end) and the file offset of start */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	char *path;			     /* owned; "[vdso]", "" for anonymous memory */
	char build_id[PF_EBPF_BUILD_ID_HEX]; /* "" when none or unknown */
};

/* Executable mappings sorted by start (the kernel lists them in order). */
struct pf_procmaps {
	struct pf_ebpf_mapping *maps; /* owned */
	size_t n;
};

/* Parses the text of /proc/PID/maps and keeps its executable mappings.
 * Lines that do not parse are an error (err says which line); at most
 * max_maps mappings are kept (-E2BIG beyond). On success returns the
 * number of mappings and out owns them (free with pf_procmaps_free). On
 * failure out is left empty. */
int pf_procmaps_parse(const char *buf, size_t len, size_t max_maps, struct pf_procmaps *out,
		      struct pf_error *err);

/* Frees what m holds and empties it; m may be zeroed. */
void pf_procmaps_free(struct pf_procmaps *m);

/* The mapping holding addr, or NULL (binary search). */
const struct pf_ebpf_mapping *pf_procmaps_find(const struct pf_procmaps *m, uint64_t addr);

/* Finds a container id in the text of /proc/PID/cgroup (cgroup v1 or v2):
 * the innermost path element that is, or ends in, 64 hex digits, with the
 * runtime's decoration removed ("docker-<id>.scope", "cri-containerd-<id>",
 * "crio-<id>", "libpod-<id>", "/docker/<id>", "/kubepods/.../<id>"). Writes
 * it to out (PF_EBPF_CONTAINER_MAX bytes) and returns 1, or returns 0 when
 * there is none. */
int pf_cgroup_container_id(const char *buf, size_t len, char out[PF_EBPF_CONTAINER_MAX]);

#endif
