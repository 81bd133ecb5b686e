// SPDX-License-Identifier: Apache-2.0
/* struct pf_error: the first failure's position and reason. */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void set_message(struct pf_error *err, const char *fmt, va_list ap)
{
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (err->msg[0] == '\0')
		snprintf(err->msg, sizeof(err->msg), "unknown error");
}

int pf_error_set(struct pf_error *err, const char *where, const char *fmt, ...)
{
	if (!err || pf_error_isset(err))
		return -EINVAL;
	snprintf(err->where, sizeof(err->where), "%s", where ? where : "");
	va_list ap;
	va_start(ap, fmt);
	set_message(err, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int pf_error_set_at(struct pf_error *err, const char *file, int line, int col, const char *fmt, ...)
{
	if (!err || pf_error_isset(err))
		return -EINVAL;
	snprintf(err->where, sizeof(err->where), "%s:%d:%d", file ? file : "<input>", line, col);
	va_list ap;
	va_start(ap, fmt);
	set_message(err, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void pf_error_clear(struct pf_error *err)
{
	if (err) {
		err->where[0] = '\0';
		err->msg[0] = '\0';
	}
}

const char *pf_error_str(const struct pf_error *err, char *buf, unsigned long size)
{
	if (!err || !pf_error_isset(err))
		snprintf(buf, size, "no error");
	else if (err->where[0])
		snprintf(buf, size, "%s: %s", err->where, err->msg);
	else
		snprintf(buf, size, "%s", err->msg);
	return buf;
}
