// SPDX-License-Identifier: Apache-2.0
/* The names of the pprof exporter's files. */
#include "files.h"

#include "files/files.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#define NS_PER_SEC 1000000000ULL

const char *pf_pprof_files_name(const struct pf_batch *b, uint32_t p, const char *prefix,
				const char *service, uint64_t now_ns, char *buf, size_t size)
{
	const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
	uint32_t set = pf_batch_resource_get(b, d->resource)->attrs;
	char num[32], pre[48], svc[72], pid[24], type[40], unit[40], stamp[32];
	const char *pid_text, *type_text;
	uint64_t t = d->time_unix_nano ? d->time_unix_nano : now_ns;
	time_t secs = (time_t)(t / NS_PER_SEC);
	struct tm tm;

	if (!service)
		service = pf_batch_attr_text(b, set, "service.name", num, sizeof(num));
	if (!service)
		service = pf_batch_attr_text(b, set, "process.executable.name", num, sizeof(num));
	pf_files_sanitize(prefix, 40, pre, sizeof(pre));
	pf_files_sanitize(service ? service : "unknown", 64, svc, sizeof(svc));
	pid_text = pf_batch_attr_text(b, set, "process.pid", num, sizeof(num));
	pf_files_sanitize(pid_text, 20, pid, sizeof(pid));
	type_text = pf_batch_str(b, d->sample_type.type);
	pf_files_sanitize(type_text[0] ? type_text : "profile", 32, type, sizeof(type));
	pf_files_sanitize(pf_batch_str(b, d->sample_type.unit), 32, unit, sizeof(unit));
	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);

	snprintf(buf, size, "%s%s%s%s.%s%s%s.%s.%03uZ", pre, svc, pid[0] ? ".pid" : "", pid, type,
		 unit[0] ? "_" : "", unit, stamp, (unsigned)(t % NS_PER_SEC / 1000000));
	return buf;
}
