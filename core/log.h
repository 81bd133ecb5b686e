/* SPDX-License-Identifier: Apache-2.0 */
/* Leveled one-line logs prefixed with the id of whoever writes them. */
#ifndef PF_LOG_H
#define PF_LOG_H

enum pf_log_level {
	PF_LOG_ERROR = 0,
	PF_LOG_WARN = 1,
	PF_LOG_INFO = 2,
	PF_LOG_DEBUG = 3,
};

/* A log source: the component id ("exporter/pprof", "service") and its
 * level threshold. Owned by whoever embeds it; `id` must outlive it. */
struct pf_logger {
	const char *id;
	enum pf_log_level level;
};

/* Writes one line to stderr: "2026-11-27T06:00:00.000Z info id: message".
 * Use pf_log(), which skips formatting below the threshold. */
void pf_log_write(const struct pf_logger *lg, enum pf_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define pf_log(lg, lvl, ...)                                                                       \
	do {                                                                                       \
		if ((int)(lvl) <= (int)(lg)->level)                                                \
			pf_log_write((lg), (lvl), __VA_ARGS__);                                    \
	} while (0)

/* Parses "error", "warn", "info", "debug" (case-insensitive). Returns 0 and
 * sets *level, or -EINVAL. */
int pf_log_level_parse(const char *text, enum pf_log_level *level);

/* The name of a level ("info"). */
const char *pf_log_level_name(enum pf_log_level level);

#endif
