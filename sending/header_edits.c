// SPDX-License-Identifier: Apache-2.0
/* The header edits block: written in front of a queued payload, read back and applied to a request's header lines. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "header_edits.h"

#define MAGIC	  "\xffPFH"
#define MAGIC_LEN 4
#define FIXED_LEN 10 /* magic, length, count */

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint8_t *put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static bool bad_edit(const struct pf_header_edit *e)
{
	size_t nl = strlen(e->name), vl = strlen(e->value);

	return (unsigned)e->action > PF_HEADER_DELETE || nl == 0 || nl > PF_HEADER_MAX_NAME ||
	       strpbrk(e->name, ":\r\n") || vl > PF_HEADER_MAX_VALUE || strpbrk(e->value, "\r\n");
}

int pf_header_edits_wrap(const struct pf_header_edit *edits, size_t n, const void *payload,
			 size_t size, uint8_t **out, size_t *out_size)
{
	size_t len = FIXED_LEN;
	uint8_t *buf, *p;

	if (n > PF_HEADER_MAX_EDITS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (bad_edit(&edits[i]))
			return -EINVAL;
		len += 7 + strlen(edits[i].name) + strlen(edits[i].value);
	}
	if (size > SIZE_MAX - len)
		return -ENOMEM;
	buf = malloc(len + size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, MAGIC, MAGIC_LEN);
	p = put_le(buf + MAGIC_LEN, len, 4);
	p = put_le(p, n, 2);
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(edits[i].name), vl = strlen(edits[i].value);

		*p++ = (uint8_t)edits[i].action;
		p = put_le(p, nl, 2);
		memcpy(p, edits[i].name, nl);
		p = put_le(p + nl, vl, 4);
		memcpy(p, edits[i].value, vl);
		p += vl;
	}
	if (size)
		memcpy(p, payload, size);
	*out = buf;
	*out_size = len + size;
	return 0;
}

ssize_t pf_header_edits_len(const void *data, size_t size)
{
	const uint8_t *p = data;
	uint64_t len;

	if (size < MAGIC_LEN || memcmp(p, MAGIC, MAGIC_LEN) != 0)
		return 0;
	if (size < FIXED_LEN)
		return -EINVAL;
	len = get_le(p + MAGIC_LEN, 4);
	if (len < FIXED_LEN || len > size)
		return -EINVAL;
	return (ssize_t)len;
}

struct edit {
	int action;
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* Reads edit number i at *pos; 0 or -EINVAL when it runs past the end. */
static int read_edit(const uint8_t *p, size_t len, size_t *pos, struct edit *e)
{
	size_t at = *pos;

	if (len - at < 3)
		return -EINVAL;
	e->action = p[at];
	e->name_len = (size_t)get_le(p + at + 1, 2);
	at += 3;
	if (e->action > PF_HEADER_DELETE || e->name_len == 0 || len - at < e->name_len + 4)
		return -EINVAL;
	e->name = (const char *)p + at;
	at += e->name_len;
	e->value_len = (size_t)get_le(p + at, 4);
	at += 4;
	/* a NUL would cut the line the edit makes short of what it names */
	if (len - at < e->value_len || e->value_len > PF_HEADER_MAX_VALUE ||
	    memchr(e->name, ':', e->name_len) || memchr(e->name, '\n', e->name_len) ||
	    memchr(e->name, '\r', e->name_len) || memchr(e->name, '\0', e->name_len))
		return -EINVAL;
	e->value = (const char *)p + at;
	if (memchr(e->value, '\n', e->value_len) || memchr(e->value, '\r', e->value_len) ||
	    memchr(e->value, '\0', e->value_len))
		return -EINVAL;
	*pos = at + e->value_len;
	return 0;
}

static bool line_is(const char *line, const struct edit *e)
{
	return strncasecmp(line, e->name, e->name_len) == 0 && line[e->name_len] == ':';
}

void pf_header_lines_free(char **lines, size_t n)
{
	for (size_t i = 0; lines && i < n; i++)
		free(lines[i]);
	free(lines);
}

/* Replaces (at < n) or appends line `at` with "name: value". */
static int set_line(char **lines, size_t *n, size_t at, const struct edit *e)
{
	char *l = NULL;

	if (asprintf(&l, "%.*s: %.*s", (int)e->name_len, e->name, (int)e->value_len, e->value) < 0)
		return -ENOMEM;
	if (at < *n)
		free(lines[at]);
	else
		(*n)++;
	lines[at] = l;
	return 0;
}

int pf_header_edits_apply(const void *block, size_t len, const char *const *lines, size_t n,
			  char ***out, size_t *n_out)
{
	const uint8_t *p = block;
	size_t count, pos = FIXED_LEN, have = 0;
	char **v;
	int rc = -ENOMEM;

	if (len < FIXED_LEN)
		return -EINVAL;
	count = (size_t)get_le(p + MAGIC_LEN + 4, 2);
	if (count > PF_HEADER_MAX_EDITS)
		return -EINVAL;
	v = calloc(n + count + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (; have < n; have++)
		if (!(v[have] = strdup(lines[have])))
			goto out_free;
	for (size_t i = 0; i < count; i++) {
		struct edit e;
		size_t at = have;

		rc = read_edit(p, len, &pos, &e);
		if (rc < 0)
			goto out_free;
		for (size_t j = 0; j < have && at == have; j++)
			if (line_is(v[j], &e))
				at = j;
		rc = 0;
		if (e.action == PF_HEADER_DELETE) {
			for (size_t j = 0; j < have;) {
				if (line_is(v[j], &e)) {
					free(v[j]);
					memmove(&v[j], &v[j + 1], (have - j - 1) * sizeof(*v));
					v[--have] = NULL;
				} else {
					j++;
				}
			}
		} else if ((at < have && e.action != PF_HEADER_INSERT) ||
			   (at == have && e.action != PF_HEADER_UPDATE)) {
			rc = set_line(v, &have, at, &e);
		}
		if (rc < 0)
			goto out_free;
	}
	*out = v;
	*n_out = have;
	return 0;

out_free:
	pf_header_lines_free(v, have);
	return rc;
}
