// SPDX-License-Identifier: Apache-2.0
/* One-line leveled logs on stderr with a UTC timestamp and the writer's id. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

static const char *const level_names[] = {
	[PF_LOG_ERROR] = "error",
	[PF_LOG_WARN] = "warn",
	[PF_LOG_INFO] = "info",
	[PF_LOG_DEBUG] = "debug",
};

const char *pf_log_level_name(enum pf_log_level level)
{
	if ((unsigned)level > PF_LOG_DEBUG)
		return "?";
	return level_names[level];
}

int pf_log_level_parse(const char *text, enum pf_log_level *level)
{
	for (unsigned i = 0; i <= PF_LOG_DEBUG; i++) {
		if (strcasecmp(text, level_names[i]) == 0) {
			*level = (enum pf_log_level)i;
			return 0;
		}
	}
	if (strcasecmp(text, "warning") == 0) {
		*level = PF_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

void pf_log_write(const struct pf_logger *lg, enum pf_log_level level, const char *fmt, ...)
{
	struct timespec now;
	struct tm tm;
	char stamp[32];
	char msg[2048];

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One fprintf per line so concurrent writers never interleave within it. */
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", stamp, now.tv_nsec / 1000000,
		pf_log_level_name(level), lg->id ? lg->id : "proflow", msg);
}
