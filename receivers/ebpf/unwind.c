// SPDX-License-Identifier: Apache-2.0
/* Compiles each mapped file's CFI once, keeps the rows in the BPF maps within their size, and tells the BPF program which process maps what. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpf/profile.h"
#include "host/proc_file.h"
#include "host/unwind_table.h"
#include "host/vdso.h"
#include "unwind.h"

#define TABLE_BUCKETS 1024 /* powers of two */
#define PROC_BUCKETS  1024
/* The BPF program's binary search covers 2^PF_BPF_UNWIND_ROW_STEPS rows. */
#define MAX_TABLE_ROWS (1u << PF_BPF_UNWIND_ROW_STEPS)
#define MAX_PROC_MAPS  (1u << PF_BPF_UNWIND_MAPPING_STEPS)

/* The table of one file. */
struct table {
	char key[PF_EBPF_BUILD_ID_HEX + 48]; /* build ID, or device and inode */
	bool ok;			     /* compiled; its rows are in the map */
	uint32_t first, n;		     /* rows [first, first + n) of the map */
	uint64_t base;
	struct pf_unwind_segment segs[PF_UNWIND_MAX_SEGMENTS];
	uint32_t n_segs;
	uint32_t refs;	   /* mappings of processes the BPF program may still read */
	uint64_t room_gen; /* not ok for want of room: the collect generation it was tried in */
	bool want_room;
	uint64_t last_used; /* u->clock when a process last took it */
	struct table *next;
};

/* What one process holds: its mapping entries and the tables they name. */
struct holding {
	uint32_t pid;
	uint32_t first, n; /* entries of the mappings map */
	struct table **tables;
	size_t n_tables;
	uint64_t gen; /* when let go: the collect generation */
	struct holding *next;
};

struct pf_ebpf_unwind {
	struct pf_ebpf_unwind_maps maps;
	const struct pf_logger *lg;
	struct pf_ranges rows, mappings;
	struct table *tables[TABLE_BUCKETS];
	struct holding *procs[PROC_BUCKETS];
	struct holding *released; /* let go, freed at a later collect */
	uint64_t clock, gen;
	uint32_t loads; /* pf_bpf_unwind_proc.gen of the last load */
	struct pf_ebpf_unwind_stats stats;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29));
}

struct pf_ebpf_unwind *pf_ebpf_unwind_new(const struct pf_ebpf_unwind_maps *maps,
					  const struct pf_logger *lg)
{
	struct pf_ebpf_unwind *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->maps = *maps;
	u->lg = lg;
	if (pf_ranges_init(&u->rows, maps->rows_cap) < 0 ||
	    pf_ranges_init(&u->mappings, maps->mappings_cap) < 0) {
		pf_ebpf_unwind_free(u);
		return NULL;
	}
	u->stats.map_bytes = (uint64_t)maps->rows_cap * sizeof(struct pf_unwind_row) +
			     (uint64_t)maps->mappings_cap * sizeof(struct pf_bpf_unwind_mapping) +
			     (uint64_t)maps->procs_cap * (sizeof(struct pf_bpf_unwind_proc) + 4);
	u->stats.user_bytes = sizeof(*u);
	return u;
}

static size_t holding_bytes(const struct holding *h)
{
	return sizeof(*h) + h->n * sizeof(*h->tables);
}

static void holding_free(struct holding *h)
{
	free(h->tables);
	free(h);
}

void pf_ebpf_unwind_free(struct pf_ebpf_unwind *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < TABLE_BUCKETS; i++)
		while (u->tables[i]) {
			struct table *t = u->tables[i];
			u->tables[i] = t->next;
			free(t);
		}
	for (size_t i = 0; i < PROC_BUCKETS; i++)
		while (u->procs[i]) {
			struct holding *h = u->procs[i];
			u->procs[i] = h->next;
			holding_free(h);
		}
	while (u->released) {
		struct holding *h = u->released;
		u->released = h->next;
		holding_free(h);
	}
	pf_ranges_destroy(&u->rows);
	pf_ranges_destroy(&u->mappings);
	free(u);
}

/* Writes n values of `size` bytes to entries [first, first + n) of an array map. */
static int write_array(int fd, uint32_t first, const void *values, uint32_t n, size_t size)
{
	uint32_t *keys, count = n;
	int rc = 0;

	if (n == 0)
		return 0;
	keys = malloc((size_t)n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		keys[i] = first + i;
	if (bpf_map_update_batch(fd, keys, values, &count, NULL) < 0) {
		/* Kernels without batch updates of arrays: one at a time. */
		for (uint32_t i = 0; i < n && rc == 0; i++)
			if (bpf_map_update_elem(fd, &keys[i], (const char *)values + i * size,
						BPF_ANY) < 0)
				rc = -errno;
	}
	free(keys);
	return rc;
}

static void table_drop(struct pf_ebpf_unwind *u, struct table *t)
{
	struct table **pp = &u->tables[hash_str(t->key) & (TABLE_BUCKETS - 1)];

	while (*pp != t)
		pp = &(*pp)->next;
	*pp = t->next;
	if (t->ok && t->n) {
		pf_ranges_give(&u->rows, t->first, t->n);
		u->stats.tables--;
		u->stats.rows -= t->n;
	}
	u->stats.user_bytes -= sizeof(*t);
	free(t);
}

static int by_last_used(const void *a, const void *b)
{
	const struct table *x = *(const struct table *const *)a,
			   *y = *(const struct table *const *)b;

	return x->last_used < y->last_used ? -1 : x->last_used > y->last_used;
}

/* Room for n rows, evicting tables no process holds, least recently used
 * first. Returns 0 and *first, or -ENOSPC. */
static int make_room(struct pf_ebpf_unwind *u, uint32_t n, uint32_t *first)
{
	struct table **idle = NULL;
	size_t n_idle = 0, cap = 0;
	int rc = pf_ranges_take(&u->rows, n, first);

	if (rc == 0 || n > u->maps.rows_cap)
		return rc;
	for (size_t i = 0; i < TABLE_BUCKETS; i++)
		for (struct table *t = u->tables[i]; t; t = t->next) {
			if (t->refs || !t->ok || !t->n)
				continue;
			if (n_idle == cap) {
				size_t c = cap ? cap * 2 : 64;
				struct table **grown = reallocarray(idle, c, sizeof(*grown));

				if (!grown) {
					free(idle);
					return -ENOSPC;
				}
				idle = grown;
				cap = c;
			}
			idle[n_idle++] = t;
		}
	if (n_idle)
		qsort(idle, n_idle, sizeof(*idle), by_last_used);
	for (size_t i = 0; i < n_idle && rc < 0; i++) {
		table_drop(u, idle[i]);
		u->stats.evicted++;
		rc = pf_ranges_take(&u->rows, n, first);
	}
	free(idle);
	return rc;
}

/* Compiles the file of mapping m of pid (or this process's vDSO, which is
 * every process's) into t and writes its rows. */
static void compile(struct pf_ebpf_unwind *u, struct table *t, uint32_t pid,
		    const struct pf_ebpf_mapping *m)
{
	struct pf_error err = {0};
	struct pf_unwind_table *ut;
	uint64_t start = now_ns();
	int fd;

	if (!strcmp(m->path, PF_HOST_VDSO_MAPPING)) {
		const void *vdso;
		size_t size;

		/* proflow's own: the kernel maps the same image into every process. */
		ut = pf_host_vdso(&vdso, &size) == 0 ? pf_unwind_table_from_mem(vdso, size, &err)
						     : NULL;
		if (!ut && !err.msg[0])
			snprintf(err.msg, sizeof(err.msg), "no vDSO in proflow's own process");
	} else {
		fd = pf_host_open_mapped(pid, m->path, m->start, m->end);
		if (fd < 0) {
			pf_log(u->lg, PF_LOG_DEBUG, "no unwind table for %s: %s", m->path,
			       strerror(-fd));
			u->stats.failed++;
			return;
		}
		ut = pf_unwind_table_from_fd(fd, &err);
		close(fd);
	}
	u->stats.compiled++;
	u->stats.compile_ns += now_ns() - start;
	if (!ut || ut->n_rows > MAX_TABLE_ROWS) {
		pf_log(u->lg, PF_LOG_DEBUG, "no unwind table for %s: %s", m->path,
		       ut ? "more rows than the BPF program searches" : err.msg);
		pf_unwind_table_destroy(ut);
		u->stats.failed++;
		return;
	}
	t->base = ut->base;
	memcpy(t->segs, ut->segs, sizeof(t->segs));
	t->n_segs = ut->n_segs;
	t->want_room = false;
	if (ut->n_rows && make_room(u, ut->n_rows, &t->first) < 0) {
		u->stats.over_budget++;
		t->want_room = true;
		t->room_gen = u->gen;
		pf_unwind_table_destroy(ut);
		return;
	}
	if (ut->n_rows &&
	    write_array(u->maps.rows_fd, t->first, ut->rows, ut->n_rows, sizeof(*ut->rows)) < 0) {
		pf_ranges_give(&u->rows, t->first, ut->n_rows);
		u->stats.failed++;
		pf_unwind_table_destroy(ut);
		return;
	}
	t->n = ut->n_rows;
	t->ok = true;
	if (t->n) {
		u->stats.tables++;
		u->stats.rows += t->n;
	}
	pf_unwind_table_destroy(ut);
}

static void table_key(const struct pf_ebpf_mapping *m, char *key, size_t size)
{
	if (!strcmp(m->path, PF_HOST_VDSO_MAPPING))
		snprintf(key, size, "%s", PF_HOST_VDSO_MAPPING);
	else if (m->build_id[0])
		snprintf(key, size, "%s", m->build_id);
	else
		snprintf(key, size, "i:%u:%u:%llu", m->dev_major, m->dev_minor,
			 (unsigned long long)m->inode);
}

/* The table of m's file, compiled now if it is new; NULL for anonymous
 * memory and on ENOMEM. A file that failed to compile keeps an entry
 * (not ok) so that it is not tried again for every process. */
static struct table *table_for(struct pf_ebpf_unwind *u, uint32_t pid,
			       const struct pf_ebpf_mapping *m)
{
	char key[sizeof(((struct table *)0)->key)];
	struct table **b, *t;
	bool retry;

	if (!m->path[0] || (m->path[0] != '/' && strcmp(m->path, PF_HOST_VDSO_MAPPING)))
		return NULL; /* JIT code, [vsyscall] */
	table_key(m, key, sizeof(key));
	b = &u->tables[hash_str(key) & (TABLE_BUCKETS - 1)];
	for (t = *b; t && strcmp(t->key, key); t = t->next)
		;
	/* Room may have come since: tried again once per drain. */
	retry = t && t->want_room && t->room_gen != u->gen;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		snprintf(t->key, sizeof(t->key), "%s", key);
		t->next = *b;
		*b = t;
		u->stats.user_bytes += sizeof(*t);
		retry = true;
	}
	if (retry)
		compile(u, t, pid, m);
	t->last_used = ++u->clock;
	return t;
}

/* The BPF entry of mapping m with table t (NULL: frame pointers). */
static struct pf_bpf_unwind_mapping entry_for(const struct pf_ebpf_mapping *m,
					      const struct table *t)
{
	struct pf_bpf_unwind_mapping e = {.start = m->start, .end = m->end};
	const struct pf_unwind_segment *s = NULL;

	if (t && t->ok && t->n)
		s = pf_unwind_segment_find(t->segs, t->n_segs, m->offset);
	if (!s)
		return e;
	/* Row key = address - start + offset + (vaddr - file offset) - base. */
	e.adj = m->start - m->offset - (s->vaddr - s->offset) + t->base;
	e.first_row = t->first;
	e.n_rows = t->n;
	return e;
}

static struct holding **proc_bucket(struct pf_ebpf_unwind *u, uint32_t pid)
{
	return &u->procs[(pid * 2654435761u) & (PROC_BUCKETS - 1)];
}

static struct holding **proc_slot(struct pf_ebpf_unwind *u, uint32_t pid)
{
	struct holding **pp = proc_bucket(u, pid);

	while (*pp && (*pp)->pid != pid)
		pp = &(*pp)->next;
	return pp;
}

/* Moves pid's holding to the released list (the BPF program may read it
 * until the next drain). */
static void let_go(struct pf_ebpf_unwind *u, uint32_t pid)
{
	struct holding **pp = proc_slot(u, pid), *h = *pp;

	if (!h)
		return;
	*pp = h->next;
	h->gen = u->gen;
	h->next = u->released;
	u->released = h;
	u->stats.procs--;
}

int pf_ebpf_unwind_load(struct pf_ebpf_unwind *u, uint32_t pid, int64_t exec_id,
			const struct pf_procmaps *maps)
{
	struct pf_bpf_unwind_mapping *entries = NULL;
	struct pf_bpf_unwind_proc value = {.exec_id = (__u32)exec_id};
	struct holding *h = NULL;
	int rc = -ENOMEM;

	if (maps->n == 0 || maps->n > MAX_PROC_MAPS) {
		pf_ebpf_unwind_forget(u, pid);
		return maps->n ? -E2BIG : 0;
	}
	h = calloc(1, sizeof(*h));
	entries = calloc(maps->n, sizeof(*entries));
	if (!h || !entries || !(h->tables = calloc(maps->n, sizeof(*h->tables))))
		goto out;
	h->pid = pid;
	for (size_t i = 0; i < maps->n; i++) {
		struct table *t = table_for(u, pid, &maps->maps[i]);

		entries[i] = entry_for(&maps->maps[i], t);
		if (t) {
			t->refs++;
			h->tables[h->n_tables++] = t;
		}
	}
	rc = pf_ranges_take(&u->mappings, (uint32_t)maps->n, &h->first);
	if (rc < 0) {
		u->stats.over_budget++;
		goto out;
	}
	h->n = (uint32_t)maps->n;
	rc = write_array(u->maps.mappings_fd, h->first, entries, h->n, sizeof(*entries));
	value.first = h->first;
	value.n = h->n;
	/* exec_id unknown (a process running before proflow started): the
	 * exec tracepoint deletes the entry when the image changes. */
	value.exec_known = exec_id >= 0;
	value.gen = ++u->loads ? u->loads : ++u->loads; /* never 0: an empty cache slot */
	if (rc == 0 && bpf_map_update_elem(u->maps.procs_fd, &pid, &value, BPF_ANY) < 0)
		rc = -errno;
	if (rc < 0)
		goto out;
	let_go(u, pid);
	h->next = *proc_bucket(u, pid);
	*proc_bucket(u, pid) = h;
	u->stats.procs++;
	u->stats.user_bytes += holding_bytes(h);
	free(entries);
	return 0;
out:
	free(entries);
	if (h) { /* released now: the BPF program never saw it */
		for (size_t i = 0; i < h->n_tables; i++)
			h->tables[i]->refs--;
		if (h->n)
			pf_ranges_give(&u->mappings, h->first, h->n);
		holding_free(h);
	}
	pf_ebpf_unwind_forget(u, pid);
	return rc;
}

void pf_ebpf_unwind_forget(struct pf_ebpf_unwind *u, uint32_t pid)
{
	if (!*proc_slot(u, pid))
		return;
	bpf_map_delete_elem(u->maps.procs_fd, &pid);
	let_go(u, pid);
}

void pf_ebpf_unwind_collect(struct pf_ebpf_unwind *u)
{
	struct holding **pp = &u->released;

	while (*pp) {
		struct holding *h = *pp;

		if (h->gen >= u->gen) {
			pp = &h->next;
			continue;
		}
		*pp = h->next;
		for (size_t i = 0; i < h->n_tables; i++)
			h->tables[i]->refs--;
		pf_ranges_give(&u->mappings, h->first, h->n);
		u->stats.user_bytes -= holding_bytes(h);
		holding_free(h);
	}
	u->gen++;
}

void pf_ebpf_unwind_stats(const struct pf_ebpf_unwind *u, struct pf_ebpf_unwind_stats *out)
{
	*out = u->stats;
}
