// SPDX-License-Identifier: Apache-2.0
/* Reading a headers_setter edits block and applying it to a request's header lines. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "block.h"
#include "headers_setter.h"

static uint64_t get_le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

ssize_t pf_headers_block_len(const void *data, size_t size)
{
	const uint8_t *p = data;
	uint64_t len;

	if (size < PF_HS_MAGIC_LEN || memcmp(p, PF_HS_MAGIC, PF_HS_MAGIC_LEN) != 0)
		return 0;
	if (size < PF_HS_FIXED_LEN)
		return -EINVAL;
	len = get_le(p + PF_HS_MAGIC_LEN, 4);
	if (len < PF_HS_FIXED_LEN || len > size)
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
	if (e->action > PF_HS_DELETE || e->name_len == 0 || len - at < e->name_len + 4)
		return -EINVAL;
	e->name = (const char *)p + at;
	at += e->name_len;
	e->value_len = (size_t)get_le(p + at, 4);
	at += 4;
	/* a NUL would cut the line the edit makes short of what it names */
	if (len - at < e->value_len || e->value_len > PF_HS_MAX_VALUE ||
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

int pf_headers_for_payload(const struct pf_headers_setter *hs, const void *data, size_t size,
			   const char *const *lines, size_t n, char ***out, size_t *n_out,
			   size_t *skip)
{
	ssize_t block = pf_headers_block_len(data, size);
	uint8_t *fixed;
	size_t fixed_size;
	int rc;

	*out = NULL;
	*n_out = 0;
	*skip = block > 0 ? (size_t)block : 0;
	if (block < 0)
		return -EINVAL;
	if (block > 0)
		return pf_headers_apply(data, (size_t)block, lines, n, out, n_out);
	if (!hs)
		return 0;
	rc = pf_headers_setter_wrap(hs, NULL, NULL, 0, &fixed, &fixed_size);
	if (rc < 0)
		return rc;
	rc = pf_headers_apply(fixed, fixed_size, lines, n, out, n_out);
	free(fixed);
	return rc;
}

void pf_headers_lines_free(char **lines, size_t n)
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

int pf_headers_apply(const void *block, size_t len, const char *const *lines, size_t n, char ***out,
		     size_t *n_out)
{
	const uint8_t *p = block;
	size_t count, pos = PF_HS_FIXED_LEN, have = 0;
	char **v;
	int rc = -ENOMEM;

	if (len < PF_HS_FIXED_LEN)
		return -EINVAL;
	count = (size_t)get_le(p + PF_HS_MAGIC_LEN + 4, 2);
	if (count > PF_HS_MAX_EDITS)
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
		if (e.action == PF_HS_DELETE) {
			for (size_t j = 0; j < have;) {
				if (line_is(v[j], &e)) {
					free(v[j]);
					memmove(&v[j], &v[j + 1], (have - j - 1) * sizeof(*v));
					v[--have] = NULL;
				} else {
					j++;
				}
			}
		} else if ((at < have && e.action != PF_HS_INSERT) ||
			   (at == have && e.action != PF_HS_UPDATE)) {
			rc = set_line(v, &have, at, &e);
		}
		if (rc < 0)
			goto out_free;
	}
	*out = v;
	*n_out = have;
	return 0;

out_free:
	pf_headers_lines_free(v, have);
	return rc;
}
