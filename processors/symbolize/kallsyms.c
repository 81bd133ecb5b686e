// SPDX-License-Identifier: Apache-2.0
/* The kernel's symbol table: parsed from /proc/kallsyms, reloaded when modules change. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "kallsyms.h"
#include "host/read_file.h"

#define KALLSYMS_MAX (256u << 20)
#define MODULES_MAX  (16u << 20)
#define CHUNK	     (64u << 10) /* read at a time; longer lines are skipped */

struct pf_kallsyms {
	char *path;
	char *modules_path;
	struct pf_symtab syms;
	uint64_t modules_hash;
	uint64_t checked_ms;
};

static bool is_text(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

/* Returns 1 when added, 0 when skipped, -1 for a hidden (zero) address, or
 * -ENOMEM. */
static int parse_line(const char *s, const char *end, struct pf_symtab *t)
{
	uint64_t addr = 0;
	const char *name, *mod = NULL, *mod_end = NULL;
	uint32_t name_off, mod_off = 0;
	char type;
	int digits = 0;

	for (; s < end && *s != ' '; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return 0;
		if (++digits > 16)
			return 0;
		addr = addr << 4 | (uint64_t)d;
	}
	if (!digits || end - s < 4 || s[2] != ' ')
		return 0;
	type = s[1];
	name = s + 3;
	if (!is_text(type))
		return 0;
	s = name;
	while (s < end && *s != '\t' && *s != ' ')
		s++;
	if (s == name)
		return 0;
	if (addr == 0)
		return -1;
	name_off = pf_symtab_name(t, name, (size_t)(s - name));
	if (name_off == UINT32_MAX)
		return -ENOMEM;
	while (s < end && (*s == '\t' || *s == ' '))
		s++;
	if (s < end && *s == '[') {
		mod = s;
		mod_end = memchr(s, ']', (size_t)(end - s));
	}
	if (mod && mod_end) {
		mod_off = pf_symtab_name(t, mod, (size_t)(mod_end - mod + 1));
		if (mod_off == UINT32_MAX)
			return -ENOMEM;
	}
	return pf_symtab_add(t, addr, 0, name_off, mod_off) < 0 ? -ENOMEM : 1;
}

long pf_kallsyms_parse(const char *buf, size_t len, struct pf_symtab *t)
{
	const char *p = buf, *end = buf + len;
	long added = 0, hidden = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		int r;

		if (!nl)
			nl = end;
		r = parse_line(p, nl, t);
		if (r == -ENOMEM)
			return r;
		if (r == -1)
			hidden++;
		else
			added += r;
		p = nl + (nl < end);
	}
	if (!added && hidden)
		return -EACCES;
	return added;
}

/* Returns 0 and the hash of the module list, or a negative errno. */
static int modules_hash(const char *path, uint64_t *h)
{
	char *buf;
	const char *p, *nl;
	size_t len;
	int ret = pf_host_read_file(path, MODULES_MAX, 0, &buf, &len);

	if (ret == -ENOENT) { /* a kernel without modules */
		*h = 0;
		return 0;
	}
	if (ret < 0)
		return ret;
	/* Names only: the use counts on each line change all the time. */
	*h = 0;
	for (p = buf; p < buf + len; p = nl + 1) {
		const char *sp;

		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (!nl)
			nl = buf + len;
		sp = memchr(p, ' ', (size_t)(nl - p));
		*h = XXH3_64bits_withSeed(p, (size_t)((sp ? sp : nl) - p), *h + 1);
	}
	free(buf);
	return 0;
}

/* Parses the file into t a chunk of whole lines at a time: the file (megabytes)
 * is never in memory at once. Returns what pf_kallsyms_parse() returns for the
 * whole file, or a negative errno. */
static long parse_file(const char *path, struct pf_symtab *t)
{
	size_t kept = 0, total = 0;
	long added = 0, n;
	bool hidden = false, skipping = false;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = malloc(CHUNK);
	if (!buf) {
		n = -ENOMEM;
		goto out_close;
	}
	for (;;) {
		ssize_t r = read(fd, buf + kept, CHUNK - kept);
		const char *nl;
		size_t len, whole;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			n = -errno;
			goto out_free;
		}
		total += (size_t)r;
		if (total > KALLSYMS_MAX) {
			n = -EFBIG;
			goto out_free;
		}
		len = kept + (size_t)r;
		if (skipping) { /* the rest of a line longer than a chunk */
			nl = memchr(buf, '\n', len);
			kept = nl ? len - (size_t)(nl + 1 - buf) : 0;
			memmove(buf, nl ? nl + 1 : buf, kept);
			skipping = !nl;
			if (r == 0)
				break;
			continue;
		}
		nl = r ? memrchr(buf, '\n', len) : NULL;
		if (r && !nl && len == CHUNK) {
			kept = 0;
			skipping = true;
			continue;
		}
		/* Whole lines; at the end, the rest. */
		whole = r == 0 ? len : nl ? (size_t)(nl - buf) + 1 : 0;
		n = pf_kallsyms_parse(buf, whole, t);
		if (n == -EACCES)
			hidden = true;
		else if (n < 0)
			goto out_free;
		else
			added += n;
		kept = len - whole;
		memmove(buf, buf + whole, kept);
		if (r == 0)
			break;
	}
	n = !added && hidden ? -EACCES : added;
out_free:
	free(buf);
out_close:
	close(fd);
	return n;
}

/* Parses the file into a fresh table; swaps it in on success. */
static int load(struct pf_kallsyms *k)
{
	struct pf_symtab t;
	long n;
	int ret;

	ret = pf_symtab_init(&t);
	if (ret < 0)
		return ret;
	n = parse_file(k->path, &t);
	if (n < 0) {
		pf_symtab_free(&t);
		return (int)n;
	}
	pf_symtab_finish(&t);
	pf_symtab_free(&k->syms);
	k->syms = t;
	return 0;
}

struct pf_kallsyms *pf_kallsyms_open(const char *path, const char *modules_path, int *err)
{
	struct pf_kallsyms *k = calloc(1, sizeof(*k));
	int ret = -ENOMEM;

	if (!k)
		goto out;
	k->path = strdup(path ? path : "/proc/kallsyms");
	k->modules_path = strdup(modules_path ? modules_path : "/proc/modules");
	if (!k->path || !k->modules_path)
		goto out_destroy;
	ret = modules_hash(k->modules_path, &k->modules_hash);
	if (ret < 0)
		goto out_destroy;
	ret = load(k);
	if (ret < 0)
		goto out_destroy;
	return k;

out_destroy:
	pf_kallsyms_close(k);
out:
	*err = ret;
	return NULL;
}

void pf_kallsyms_close(struct pf_kallsyms *k)
{
	if (!k)
		return;
	pf_symtab_free(&k->syms);
	free(k->path);
	free(k->modules_path);
	free(k);
}

int pf_kallsyms_refresh(struct pf_kallsyms *k, uint64_t now_ms, uint64_t min_interval_ms)
{
	uint64_t h;
	int ret;

	if (now_ms - k->checked_ms < min_interval_ms)
		return 0;
	k->checked_ms = now_ms;
	ret = modules_hash(k->modules_path, &h);
	if (ret < 0)
		return ret;
	if (h == k->modules_hash)
		return 0;
	ret = load(k);
	if (ret < 0)
		return ret;
	k->modules_hash = h;
	return 1;
}

bool pf_kallsyms_lookup(const struct pf_kallsyms *k, uint64_t addr, const char **name,
			const char **module)
{
	const struct pf_sym *s = pf_symtab_lookup(&k->syms, addr);

	if (!s)
		return false;
	*name = pf_symtab_str(&k->syms, s->name);
	*module = pf_symtab_str(&k->syms, s->module);
	return true;
}
