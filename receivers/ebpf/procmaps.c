// SPDX-License-Identifier: Apache-2.0
/* Pure parsers of /proc/PID/maps (executable mappings) and /proc/PID/cgroup (container id). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

#define MAX_PATH_LEN 4096

struct cursor {
	const char *p, *end;
};

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Reads 1-16 hex digits. Returns 0 or -EINVAL. */
static int read_hex(struct cursor *c, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0, d;

	while (c->p < c->end && (d = hexval(*c->p)) >= 0) {
		if (++n > 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
		c->p++;
	}
	*out = v;
	return n ? 0 : -EINVAL;
}

static int read_dec(struct cursor *c, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		if (++n > 20 || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*c->p - '0');
		c->p++;
	}
	*out = v;
	return n ? 0 : -EINVAL;
}

static int expect(struct cursor *c, char ch)
{
	if (c->p >= c->end || *c->p != ch)
		return -EINVAL;
	c->p++;
	return 0;
}

static void skip_spaces(struct cursor *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

/* Parses one line (without its newline) into m; *exec tells whether it is
 * executable. m->path points into the line and is not NUL-terminated: its
 * length goes to *path_len. */
static int parse_line(struct cursor *c, struct pf_ebpf_mapping *m, bool *exec, const char **path,
		      size_t *path_len)
{
	uint64_t dev_major, dev_minor;
	char perms[4];

	if (read_hex(c, &m->start) < 0 || expect(c, '-') < 0 || read_hex(c, &m->end) < 0 ||
	    m->end < m->start || expect(c, ' ') < 0)
		return -EINVAL;
	if (c->end - c->p < 5)
		return -EINVAL;
	memcpy(perms, c->p, 4);
	c->p += 4;
	if ((perms[0] != 'r' && perms[0] != '-') || (perms[1] != 'w' && perms[1] != '-') ||
	    (perms[2] != 'x' && perms[2] != '-') ||
	    (perms[3] != 'p' && perms[3] != 's' && perms[3] != '-'))
		return -EINVAL;
	*exec = perms[2] == 'x';
	if (expect(c, ' ') < 0 || read_hex(c, &m->offset) < 0 || expect(c, ' ') < 0 ||
	    read_hex(c, &dev_major) < 0 || expect(c, ':') < 0 || read_hex(c, &dev_minor) < 0 ||
	    dev_major > UINT32_MAX || dev_minor > UINT32_MAX || expect(c, ' ') < 0 ||
	    read_dec(c, &m->inode) < 0)
		return -EINVAL;
	m->dev_major = (uint32_t)dev_major;
	m->dev_minor = (uint32_t)dev_minor;
	skip_spaces(c);
	*path = c->p;
	*path_len = (size_t)(c->end - c->p);
	if (*path_len > MAX_PATH_LEN)
		return -EINVAL;
	return 0;
}

static int add_map(struct pf_procmaps *out, size_t *cap, const struct pf_ebpf_mapping *m,
		   const char *path, size_t path_len)
{
	struct pf_ebpf_mapping *grown;

	if (out->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		grown = reallocarray(out->maps, ncap, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		out->maps = grown;
		*cap = ncap;
	}
	out->maps[out->n] = *m;
	out->maps[out->n].path = strndup(path, path_len);
	if (!out->maps[out->n].path)
		return -ENOMEM;
	out->n++;
	return 0;
}

int pf_procmaps_parse(const char *buf, size_t len, size_t max_maps, struct pf_procmaps *out,
		      struct pf_error *err)
{
	const char *p = buf, *end = buf + len;
	size_t cap = 0, lineno = 0;
	int ret = 0;

	out->maps = NULL;
	out->n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		struct cursor c = {p, eol};
		struct pf_ebpf_mapping m = {0};
		const char *path;
		size_t path_len;
		bool exec;
		char where[32];

		lineno++;
		p = nl ? nl + 1 : end;
		if (eol == c.p)
			continue; /* an empty line (the last newline) */
		if (parse_line(&c, &m, &exec, &path, &path_len) < 0) {
			snprintf(where, sizeof(where), "line %zu", lineno);
			ret = pf_error_set(err, where, "not a /proc/PID/maps line");
			goto out_free;
		}
		if (memchr(path, '\0', path_len)) {
			snprintf(where, sizeof(where), "line %zu", lineno);
			ret = pf_error_set(err, where, "a NUL byte in the path");
			goto out_free;
		}
		if (!exec)
			continue;
		if (out->n && m.start < out->maps[out->n - 1].end) {
			snprintf(where, sizeof(where), "line %zu", lineno);
			ret = pf_error_set(err, where, "mappings out of order");
			goto out_free;
		}
		if (out->n >= max_maps) {
			pf_error_set(err, "", "more than %zu executable mappings", max_maps);
			ret = -E2BIG;
			goto out_free;
		}
		ret = add_map(out, &cap, &m, path, path_len);
		if (ret < 0) {
			pf_error_set(err, "", "out of memory");
			goto out_free;
		}
	}
	return (int)out->n;

out_free:
	pf_procmaps_free(out);
	return ret;
}

void pf_procmaps_free(struct pf_procmaps *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->maps[i].path);
	free(m->maps);
	m->maps = NULL;
	m->n = 0;
}

const struct pf_ebpf_mapping *pf_procmaps_find(const struct pf_procmaps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pf_ebpf_mapping *x = &m->maps[mid];
		if (addr < x->start)
			hi = mid;
		else if (addr >= x->end)
			lo = mid + 1;
		else
			return x;
	}
	return NULL;
}

/* ---- /proc/PID/cgroup ---- */

#define ID_LEN 64

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

static bool has_suffix(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && memcmp(s + n - k, suf, k) == 0;
}

/* A path element naming a container: "<id>", "<prefix>-<id>" or either
 * with ".scope"; "crio-conmon-<id>" is the monitor, not the container. */
static bool element_id(const char *s, size_t n, char out[PF_EBPF_CONTAINER_MAX])
{
	if (has_suffix(s, n, ".scope"))
		n -= strlen(".scope");
	if (n < ID_LEN || !all_hex(s + n - ID_LEN, ID_LEN))
		return false;
	if (n > ID_LEN) {
		if (s[n - ID_LEN - 1] != '-' || memmem(s, n, "conmon", 6))
			return false;
	}
	for (size_t i = 0; i < ID_LEN; i++) {
		char ch = s[n - ID_LEN + i];
		out[i] = ch >= 'A' && ch <= 'F' ? (char)(ch - 'A' + 'a') : ch;
	}
	out[ID_LEN] = '\0';
	return true;
}

/* Scans one line "hierarchy:controllers:path" from its innermost element. */
static bool line_id(const char *line, size_t n, char out[PF_EBPF_CONTAINER_MAX])
{
	const char *c1 = memchr(line, ':', n), *c2, *path, *end = line + n;

	if (!c1)
		return false;
	c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
	if (!c2)
		return false;
	path = c2 + 1;
	while (end > path) {
		const char *e = end;
		while (e > path && e[-1] != '/')
			e--;
		if (element_id(e, (size_t)(end - e), out))
			return true;
		end = e > path ? e - 1 : path;
	}
	return false;
}

int pf_cgroup_container_id(const char *buf, size_t len, char out[PF_EBPF_CONTAINER_MAX])
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		if (line_id(p, (size_t)(eol - p), out))
			return 1;
		p = nl ? nl + 1 : end;
	}
	out[0] = '\0';
	return 0;
}
