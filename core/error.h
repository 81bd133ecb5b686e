/* SPDX-License-Identifier: Apache-2.0 */
/* Where and why something failed: filled by parsers and validators, printed by callers. */
#ifndef PF_ERROR_H
#define PF_ERROR_H

#include <stdarg.h>

#define PF_ERROR_WHERE_MAX 256
#define PF_ERROR_MSG_MAX   1024

/* A parse or validation failure. `where` is "file:line:col" for config,
 * "offset 1234" for binary input, or empty when no position applies. */
struct pf_error {
	char where[PF_ERROR_WHERE_MAX];
	char msg[PF_ERROR_MSG_MAX];
};

/* Records the first error only: later calls on an already set error are
 * ignored, so the innermost cause is what gets reported. Returns -EINVAL
 * so callers can write `return pf_error_set(...)`. `err` may be NULL. */
int pf_error_set(struct pf_error *err, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same, with the position given as file, line and column (1-based). */
int pf_error_set_at(struct pf_error *err, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Clears `err` so it can record a new error. */
void pf_error_clear(struct pf_error *err);

/* True when an error has been recorded. */
static inline int pf_error_isset(const struct pf_error *err)
{
	return err && err->msg[0] != '\0';
}

/* Formats "where: msg" (or "msg" without a position) into buf; returns buf. */
const char *pf_error_str(const struct pf_error *err, char *buf, unsigned long size);

#endif
