// SPDX-License-Identifier: Apache-2.0
/* The process table: what /proc says of each sampled process, kept until its last samples left. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ebpf.h"
#include "host/elf.h"
#include "host/read_file.h"
#include "host/vdso.h"

#define N_BUCKETS      4096 /* a power of two */
#define MAX_MAPS       8192
#define MAX_MAPS_BYTES (8u << 20)
#define MAX_SMALL_FILE (64u << 10)
/* After exec, the maps are read again after each of these delays until
 * they hold the libraries ld.so maps: soon, since until then the BPF program
 * takes costly build-ID stacks of the process. */
static const uint64_t read_delays_ms[] = {1, 3, 25};
#define READ_STAGES (sizeof(read_delays_ms) / sizeof(read_delays_ms[0]))

/* A small cache of build ids by file identity: every process maps libc. */
#define BUILD_ID_SLOTS 1024
/* Paths by build id, for the build-ID stacks of processes gone unread:
 * every file seen, up to a bound past which the table starts over. */
#define PATH_BUCKETS 4096 /* a power of two */
#define PATHS_MAX    32768

struct build_id_slot {
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	bool used;
	char id[PF_EBPF_BUILD_ID_HEX];
};

struct path_entry {
	char id[PF_EBPF_BUILD_ID_HEX];
	char *path; /* owned */
	struct path_entry *next;
};

struct pf_ebpf_proctab {
	struct pf_ebpf_proc *buckets[N_BUCKETS];
	size_t n;
	struct build_id_slot ids[BUILD_ID_SLOTS];
	struct path_entry *paths[PATH_BUCKETS]; /* owned */
	size_t n_paths;
	struct pf_ebpf_maps_listener listener;
	char vdso_build_id[PF_EBPF_BUILD_ID_HEX]; /* "" when unknown */
};

struct pf_ebpf_proctab *pf_ebpf_proctab_new(const struct pf_ebpf_maps_listener *listener)
{
	struct pf_ebpf_proctab *t = calloc(1, sizeof(struct pf_ebpf_proctab));

	char id[PF_HOST_BUILD_ID_HEX];

	if (!t)
		return NULL;
	if (listener)
		t->listener = *listener;
	if (pf_host_vdso_build_id(id, sizeof(id)) == 0 && strlen(id) < sizeof(t->vdso_build_id))
		memcpy(t->vdso_build_id, id, strlen(id) + 1);
	return t;
}

static void maps_read(struct pf_ebpf_proctab *t, const struct pf_ebpf_proc *p)
{
	if (t->listener.read)
		t->listener.read(t->listener.arg, p);
}

static void maps_gone(struct pf_ebpf_proctab *t, uint32_t pid)
{
	if (t->listener.gone)
		t->listener.gone(t->listener.arg, pid);
}

static void forget_paths(struct pf_ebpf_proctab *t)
{
	for (size_t i = 0; i < PATH_BUCKETS; i++) {
		while (t->paths[i]) {
			struct path_entry *e = t->paths[i];
			t->paths[i] = e->next;
			free(e->path);
			free(e);
		}
	}
	t->n_paths = 0;
}

static void proc_free(struct pf_ebpf_proc *p)
{
	pf_procmaps_free(&p->maps);
	free(p->exe);
	free(p->cmdline);
	free(p);
}

void pf_ebpf_proctab_free(struct pf_ebpf_proctab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < N_BUCKETS; i++) {
		struct pf_ebpf_proc *p = t->buckets[i];
		while (p) {
			struct pf_ebpf_proc *next = p->next;
			proc_free(p);
			p = next;
		}
	}
	forget_paths(t);
	free(t);
}

static size_t bucket(uint32_t pid)
{
	return (pid * 2654435761u) & (N_BUCKETS - 1);
}

struct pf_ebpf_proc *pf_ebpf_proctab_get(struct pf_ebpf_proctab *t, uint32_t pid)
{
	for (struct pf_ebpf_proc *p = t->buckets[bucket(pid)]; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

size_t pf_ebpf_proctab_size(const struct pf_ebpf_proctab *t)
{
	return t->n;
}

/* Reads /proc/PID/name into a NUL-terminated buffer the caller frees,
 * keeping its first max bytes. Returns the length or a negative errno. */
static ssize_t read_proc(uint32_t pid, const char *name, size_t max, char **out)
{
	char path[64];
	size_t len;
	int err;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, name);
	err = pf_host_read_file(path, max, PF_HOST_READ_PREFIX, out, &len);
	return err < 0 ? err : (ssize_t)len;
}

static char *read_cmdline(uint32_t pid)
{
	char *buf = NULL;
	ssize_t n = read_proc(pid, "cmdline", MAX_SMALL_FILE, &buf);

	if (n <= 0) {
		free(buf);
		return NULL;
	}
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return buf;
}

static char *read_exe(uint32_t pid)
{
	char path[64], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return NULL;
	target[n] = '\0';
	return strdup(target);
}

static void read_comm(uint32_t pid, char *comm, size_t size)
{
	char *buf = NULL;
	ssize_t n = read_proc(pid, "comm", 256, &buf);

	if (n > 0) {
		if (buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		snprintf(comm, size, "%s", buf);
	}
	free(buf);
}

static void read_container(uint32_t pid, char out[PF_EBPF_CONTAINER_MAX])
{
	char *buf = NULL;
	ssize_t n = read_proc(pid, "cgroup", MAX_SMALL_FILE, &buf);

	out[0] = '\0';
	if (n > 0)
		pf_cgroup_container_id(buf, (size_t)n, out);
	free(buf);
}

static struct build_id_slot *id_slot(struct pf_ebpf_proctab *t, const struct pf_ebpf_mapping *m)
{
	uint64_t h =
		m->inode * 0x9e3779b97f4a7c15ull ^ ((uint64_t)m->dev_major << 32 | m->dev_minor);
	return &t->ids[(h >> 20) % BUILD_ID_SLOTS];
}

static struct path_entry **path_bucket(const struct pf_ebpf_proctab *t, const char *id)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const char *c = id; *c; c++)
		h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
	return (struct path_entry **)&t->paths[h & (PATH_BUCKETS - 1)];
}

/* Remembers path as the file of build id `id` (the latest path seen wins). */
static void remember_path(struct pf_ebpf_proctab *t, const char *id, const char *path)
{
	struct path_entry **b = path_bucket(t, id), *e;
	size_t len = strlen(path);
	char *dup;

	if (!id[0] || path[0] != '/' || (len > 10 && !strcmp(path + len - 10, " (deleted)")))
		return;
	for (e = *b; e && strcmp(e->id, id); e = e->next)
		;
	if (e && !strcmp(e->path, path))
		return;
	/* A cache: out of memory costs a frame its path, not correctness. */
	if (!(dup = strdup(path)))
		return;
	if (e) {
		free(e->path);
		e->path = dup;
		return;
	}
	if (t->n_paths >= PATHS_MAX) {
		forget_paths(t);
		b = path_bucket(t, id);
	}
	if (!(e = calloc(1, sizeof(*e)))) {
		free(dup);
		return;
	}
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->path = dup;
	e->next = *b;
	*b = e;
	t->n_paths++;
}

const char *pf_ebpf_proctab_build_id_path(const struct pf_ebpf_proctab *t, const char *build_id)
{
	for (const struct path_entry *e = *path_bucket(t, build_id); e; e = e->next)
		if (!strcmp(e->id, build_id))
			return e->path;
	return NULL;
}

/* Build ids of file-backed mappings, cached by (device, inode). An inode can
 * be reused for a new file; the cost is a stale id until the slot turns over,
 * which the symbolize processor's check of the id against the file reports. */
static void fill_build_ids(struct pf_ebpf_proctab *t, uint32_t pid, struct pf_procmaps *maps)
{
	for (size_t i = 0; i < maps->n; i++) {
		struct pf_ebpf_mapping *m = &maps->maps[i];
		struct build_id_slot *s;

		if (!strcmp(m->path,
			    PF_HOST_VDSO_MAPPING)) /* the kernel's, the same in every process */
			memcpy(m->build_id, t->vdso_build_id, sizeof(m->build_id));
		if (m->inode == 0 || m->path[0] != '/')
			continue;
		s = id_slot(t, m);
		if (s->used && s->inode == m->inode && s->dev_major == m->dev_major &&
		    s->dev_minor == m->dev_minor) {
			memcpy(m->build_id, s->id, sizeof(s->id));
			remember_path(t, m->build_id, m->path);
			continue;
		}
		if (pf_buildid_read(pid, m, m->build_id) < 0)
			continue; /* not cached: a later process may be able to read it */
		s->used = true;
		s->inode = m->inode;
		s->dev_major = m->dev_major;
		s->dev_minor = m->dev_minor;
		memcpy(s->id, m->build_id, sizeof(s->id));
		remember_path(t, m->build_id, m->path);
	}
}

/* Replaces p's maps with a fresh read. Returns 0 or a negative errno. */
static int read_maps(struct pf_ebpf_proctab *t, struct pf_ebpf_proc *p)
{
	struct pf_procmaps maps;
	char *buf = NULL;
	ssize_t n = read_proc(p->pid, "maps", MAX_MAPS_BYTES, &buf);
	int ret;

	if (n < 0)
		return (int)n;
	ret = pf_procmaps_parse(buf, (size_t)n, MAX_MAPS, &maps, NULL);
	free(buf);
	if (ret < 0)
		return ret;
	fill_build_ids(t, p->pid, &maps);
	pf_procmaps_free(&p->maps);
	p->maps = maps;
	maps_read(t, p);
	return 0;
}

static void insert(struct pf_ebpf_proctab *t, struct pf_ebpf_proc *p)
{
	size_t b = bucket(p->pid);

	p->next = t->buckets[b];
	t->buckets[b] = p;
	t->n++;
}

struct pf_ebpf_proc *pf_ebpf_proctab_read(struct pf_ebpf_proctab *t, uint32_t pid, bool *gone)
{
	struct pf_ebpf_proc *p = pf_ebpf_proctab_get(t, pid);
	bool fresh = !p;
	int ret;

	*gone = false;
	if (fresh) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->pid = pid;
	}
	ret = read_maps(t, p);
	if (ret == -ENOENT || ret == -ESRCH) {
		*gone = true;
		if (!fresh)
			return p;
		/* Kept as a stub until the next sweep, so the process is
		 * looked for (and counted as gone) once. */
		p->exited = true;
		insert(t, p);
		return NULL;
	}
	/* The rest may fail on its own (kernel threads have no exe or maps). */
	free(p->exe);
	p->exe = read_exe(pid);
	free(p->cmdline);
	p->cmdline = read_cmdline(pid);
	read_comm(pid, p->comm, sizeof(p->comm));
	read_container(pid, p->container_id);
	p->read_ok = true;
	p->exited = false;
	if (fresh)
		insert(t, p);
	return p;
}

size_t pf_ebpf_proctab_read_running(struct pf_ebpf_proctab *t, uint32_t self)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	size_t n = 0;
	bool gone;

	if (!proc)
		return 0;
	while ((e = readdir(proc))) {
		char *end;
		unsigned long pid = strtoul(e->d_name, &end, 10);

		if (*end || pid == 0 || pid > UINT32_MAX || pid == self)
			continue; /* not a process */
		if (pf_ebpf_proctab_read(t, (uint32_t)pid, &gone))
			n++;
	}
	closedir(proc);
	return n;
}

void pf_ebpf_proctab_rescan(struct pf_ebpf_proctab *t, struct pf_ebpf_proc *p)
{
	if (!p->exited)
		read_maps(t, p);
}

void pf_ebpf_proctab_exit(struct pf_ebpf_proctab *t, uint32_t pid, uint64_t gen)
{
	struct pf_ebpf_proc *p = pf_ebpf_proctab_get(t, pid);

	if (p && !p->exited) {
		p->exited = true;
		p->exit_gen = gen;
		p->read_ms = 0;
	}
}

size_t pf_ebpf_proctab_sweep(struct pf_ebpf_proctab *t, uint64_t gen)
{
	size_t dropped = 0;

	for (size_t i = 0; i < N_BUCKETS; i++) {
		struct pf_ebpf_proc **pp = &t->buckets[i];
		while (*pp) {
			struct pf_ebpf_proc *p = *pp;
			if (p->exited && p->exit_gen < gen) {
				*pp = p->next;
				maps_gone(t, p->pid);
				proc_free(p);
				t->n--;
				dropped++;
			} else {
				pp = &p->next;
			}
		}
	}
	return dropped;
}

/* The process is gone: what an earlier image left is not this one's, and
 * an absolute filename of its exec stands for its executable (as the host
 * sees it: the best there is). */
static void exec_file(struct pf_ebpf_proctab *t, struct pf_ebpf_proc *p, const char *filename)
{
	char id[PF_EBPF_BUILD_ID_HEX];

	maps_gone(t, p->pid);
	pf_procmaps_free(&p->maps);
	free(p->cmdline);
	p->cmdline = NULL;
	free(p->exe);
	p->exe = NULL;
	if (filename[0] != '/' || !(p->exe = strdup(filename)))
		return;
	if (pf_buildid_read_path(filename, id) > 0)
		remember_path(t, id, filename);
}

/* True once the maps hold the libraries: one file (a static binary), or
 * more than the executable and the dynamic loader. */
static bool libs_mapped(const struct pf_procmaps *m)
{
	uint64_t seen[2] = {0};
	size_t files = 0;

	for (size_t i = 0; i < m->n && files < 3; i++) {
		const struct pf_ebpf_mapping *x = &m->maps[i];
		if (!x->inode || (files > 0 && x->inode == seen[0]) ||
		    (files > 1 && x->inode == seen[1]))
			continue;
		if (files < 2)
			seen[files] = x->inode;
		files++;
	}
	return files == 1 || files >= 3;
}

/* Reads p (its maps only when read before); counts it in *gone when it is. */
static void read_again(struct pf_ebpf_proctab *t, struct pf_ebpf_proc *p, uint64_t *gone)
{
	int ret;
	bool g;

	if (p->read_ok) {
		ret = read_maps(t, p);
		g = ret == -ENOENT || ret == -ESRCH;
	} else {
		/* The entry exists: this never inserts or frees. */
		pf_ebpf_proctab_read(t, p->pid, &g);
	}
	if (g)
		(*gone)++;
}

struct pf_ebpf_proc *pf_ebpf_proctab_exec(struct pf_ebpf_proctab *t, uint32_t pid, uint32_t exec_id,
					  const char *comm, const char *filename, uint64_t now_ms,
					  uint64_t *gone)
{
	struct pf_ebpf_proc *p = pf_ebpf_proctab_get(t, pid);
	bool g;

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->pid = pid;
		insert(t, p);
	}
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	p->exec_id = exec_id;
	p->exec_known = true;
	p->exited = false;
	p->read_ok = false; /* what an earlier image left stays until the read */
	p->read_ms = 0;
	p->settled = false;
	/* The entry exists: this never inserts or frees. */
	pf_ebpf_proctab_read(t, pid, &g);
	if (g) {
		(*gone)++;
		exec_file(t, p, filename);
		p->settled = true;
	} else if (libs_mapped(&p->maps)) {
		p->settled = true;
	} else {
		p->read_ms = now_ms + read_delays_ms[0];
		p->read_stage = 0;
	}
	return p;
}

uint64_t pf_ebpf_proctab_read_due(struct pf_ebpf_proctab *t, uint64_t now, uint64_t *gone,
				  pf_ebpf_settled_fn settled, void *arg)
{
	uint64_t next = 0;

	for (size_t i = 0; i < N_BUCKETS; i++) {
		for (struct pf_ebpf_proc *p = t->buckets[i]; p; p = p->next) {
			if (!p->read_ms)
				continue;
			if (p->read_ms > now) {
				if (!next || p->read_ms < next)
					next = p->read_ms;
				continue;
			}
			p->read_ms = 0;
			if (p->exited)
				continue;
			read_again(t, p, gone);
			if (++p->read_stage < (int)READ_STAGES && !libs_mapped(&p->maps)) {
				p->read_ms = now + read_delays_ms[p->read_stage];
				if (!next || p->read_ms < next)
					next = p->read_ms;
				continue;
			}
			p->settled = true;
			if (settled)
				settled(arg, p->pid);
		}
	}
	return next;
}
