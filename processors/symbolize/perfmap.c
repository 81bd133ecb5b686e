// SPDX-License-Identifier: Apache-2.0
/* The perf-map parser: a pure function over a buffer, so it can be fuzzed. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "perfmap.h"

/* Reads a hex number at *p (before end), "0x" optional; false when none. */
static bool hex_field(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int digits = 0;

	if (end - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; s < end; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		if (++digits > 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits || s == end || (*s != ' ' && *s != '\t'))
		return false;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*p = s;
	*out = v;
	return true;
}

/* One line without its newline. Returns 1 when added, 0 when malformed, or
 * -ENOMEM. */
static int parse_line(const char *s, const char *end, struct pf_symtab *t)
{
	uint64_t start, size;
	uint32_t name;

	if (!hex_field(&s, end, &start) || !hex_field(&s, end, &size))
		return 0;
	while (end > s && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == s || size == 0 || start + size < start)
		return 0;
	name = pf_symtab_name(t, s, (size_t)(end - s));
	if (name == UINT32_MAX)
		return -ENOMEM;
	return pf_symtab_add(t, start, size, name, 0) < 0 ? -ENOMEM : 1;
}

long pf_perfmap_parse(const char *buf, size_t len, struct pf_symtab *t, size_t *bad)
{
	const char *p = buf, *end = buf + len;
	size_t nbad = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		int r;

		if (!nl)
			break;
		r = parse_line(p, nl, t);
		if (r < 0)
			return r;
		if (r == 0 && nl > p)
			nbad++;
		p = nl + 1;
	}
	if (bad)
		*bad = nbad;
	return (long)(p - buf);
}
