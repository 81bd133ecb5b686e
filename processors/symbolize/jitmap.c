// SPDX-License-Identifier: Apache-2.0
/* Per-process perf maps: found through /proc/PID/root, parsed incrementally as the JIT appends. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jitmap.h"
#include "perfmap.h"
#include "host/read_file.h"

#define STATUS_MAX  (1u << 20)
#define PERFMAP_MAX ((off_t)1 << 30)

struct pf_jitmap {
	char path[PATH_MAX];
	off_t done; /* bytes parsed */
	dev_t dev;  /* the file read so far */
	ino_t ino;
	struct pf_symtab syms;
};

/* The pid as the process's own namespace numbers it (last NSpid field). */
static int64_t ns_pid(const char *proc, int64_t pid)
{
	char path[PATH_MAX], *buf, *line;
	size_t len;
	int64_t out = pid;

	snprintf(path, sizeof(path), "%s/%lld/status", proc, (long long)pid);
	if (pf_host_read_file(path, STATUS_MAX, 0, &buf, &len) < 0)
		return pid;
	line = strstr(buf, "\nNSpid:");
	if (line) {
		char *end = strchr(line + 1, '\n'), *sp;

		if (end)
			*end = '\0';
		sp = strrchr(line, '\t');
		if (!sp)
			sp = strrchr(line, ' ');
		if (sp)
			out = strtoll(sp + 1, NULL, 10);
		if (out <= 0)
			out = pid;
	}
	free(buf);
	return out;
}

struct pf_jitmap *pf_jitmap_open(const char *proc, int64_t pid, int *err)
{
	struct pf_jitmap *j = calloc(1, sizeof(*j));
	int ret;

	if (!j) {
		*err = -ENOMEM;
		return NULL;
	}
	snprintf(j->path, sizeof(j->path), "%s/%lld/root/tmp/perf-%lld.map", proc, (long long)pid,
		 (long long)ns_pid(proc, pid));
	ret = pf_symtab_init(&j->syms);
	if (ret == 0 && access(j->path, R_OK) != 0)
		ret = -errno;
	if (ret == 0)
		ret = pf_jitmap_refresh(j);
	if (ret < 0) {
		pf_jitmap_close(j);
		*err = ret;
		return NULL;
	}
	return j;
}

void pf_jitmap_close(struct pf_jitmap *j)
{
	if (!j)
		return;
	pf_symtab_free(&j->syms);
	free(j);
}

int pf_jitmap_refresh(struct pf_jitmap *j)
{
	struct stat st;
	bool again = false;
	char *buf;
	ssize_t r;
	long used;
	size_t len;
	int fd, ret = 0;

	fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PERFMAP_MAX) {
		ret = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto out_close;
	}
	/* Cut (rewritten with O_TRUNC) or replaced since the last read: the
	 * JIT started over, and the entries of before may name other code. */
	if (j->done && (st.st_size < j->done || st.st_ino != j->ino || st.st_dev != j->dev)) {
		pf_symtab_free(&j->syms);
		ret = pf_symtab_init(&j->syms);
		if (ret < 0)
			goto out_close;
		j->done = 0;
		again = true;
	}
	j->dev = st.st_dev;
	j->ino = st.st_ino;
	if (st.st_size <= j->done)
		goto out_close;
	len = (size_t)(st.st_size - j->done);
	buf = malloc(len);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	/* Less than len when the file is cut meanwhile: the next refresh
	 * sees it shorter and starts over. */
	r = pread(fd, buf, len, j->done);
	if (r < 0) {
		ret = -errno;
		goto out_free;
	}
	used = pf_perfmap_parse(buf, (size_t)r, &j->syms, NULL);
	if (used < 0) {
		ret = (int)used;
		goto out_free;
	}
	j->done += used;
	pf_symtab_finish(&j->syms);
out_free:
	free(buf);
out_close:
	close(fd);
	return ret < 0 ? ret : again;
}

const char *pf_jitmap_lookup(const struct pf_jitmap *j, uint64_t addr)
{
	const struct pf_sym *s = pf_symtab_lookup(&j->syms, addr);

	return s ? pf_symtab_str(&j->syms, s->name) : NULL;
}

size_t pf_jitmap_memory_size(const struct pf_jitmap *j)
{
	return sizeof(*j) + pf_symtab_memory_size(&j->syms);
}
