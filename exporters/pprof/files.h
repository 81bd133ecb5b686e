/* SPDX-License-Identifier: Apache-2.0 */
/* pprof exporter file names (writing and rotation: files/files.h). */
#ifndef PF_PPROF_FILES_H
#define PF_PPROF_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "model/batch.h"

#define PF_PPROF_FILES_SUFFIX	".pb.gz"
#define PF_PPROF_FILES_NAME_MAX 200

/*
 * The base name (no collision suffix, no ".pb.gz") for profile `p` of `b`:
 *   <prefix><service>[.pid<pid>].<type>_<unit>.<YYYYmmddTHHMMSS.mmm>Z
 * <service> is `service` when not NULL, else the resource's service.name,
 * else process.executable.name, else "unknown"; the time is the profile's,
 * or `now_ns` when it has none. Every part is sanitized. `prefix` may be
 * NULL. Returns buf.
 */
const char *pf_pprof_files_name(const struct pf_batch *b, uint32_t p, const char *prefix,
				const char *service, uint64_t now_ns, char *buf, size_t size);

#endif
