// SPDX-License-Identifier: Apache-2.0
/* The symbolizer's worker side: decides each location's source and writes the named location. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"
#include "debuginfod.h"
#include "jitmap.h"
#include "kallsyms.h"
#include "host/proc_file.h"
#include "host/vdso.h"
#include "model/semconv.h"
#include "rebuild.h"
#include "resolve.h"
#include "symfile.h"

#define KALLSYMS_CHECK_MS 10000
#define RETRY_MS	  60000 /* how long a file that failed to open stays failed */
#define FAILED_COST	  256
#define MAX_LINES	  64

enum entry_kind { ENTRY_FILE, ENTRY_JIT, ENTRY_FAILED };

/* What the cache holds under one key. */
struct entry {
	enum entry_kind kind;
	union {
		struct pf_symfile *file;
		struct pf_jitmap *jit;
	} u;
	uint64_t retry_ms; /* ENTRY_FAILED: when to try again */
	uint64_t run;	   /* ENTRY_JIT: the run that last re-read it; ENTRY_FILE: that
			      last asked whether its debug file came */
	bool counted;	   /* ENTRY_FILE: its unreadable DWARF was counted */
};

struct pf_resolver {
	struct pf_resolver_opts opts;
	struct pf_symfile_opts file_opts;
	char *debug_root;
	char *kallsyms_path;
	struct pf_symcache *cache;
	struct pf_kallsyms *kallsyms;
	uint64_t kallsyms_retry_ms;
	uint64_t now_ms;
	uint64_t run;
	struct pf_resolver_stats stats;
};

static void entry_destroy(void *value)
{
	struct entry *e = value;

	if (e->kind == ENTRY_FILE)
		pf_symfile_close(e->u.file);
	else if (e->kind == ENTRY_JIT)
		pf_jitmap_close(e->u.jit);
	free(e);
}

struct pf_resolver *pf_resolver_new(const struct pf_resolver_opts *opts)
{
	struct pf_resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->opts = *opts;
	r->debug_root = strdup(opts->debug_root ? opts->debug_root : "/usr/lib/debug");
	r->kallsyms_path = opts->kallsyms_path ? strdup(opts->kallsyms_path) : NULL;
	r->cache = pf_symcache_new(opts->cache_size, entry_destroy);
	if (!r->debug_root || (opts->kallsyms_path && !r->kallsyms_path) || !r->cache) {
		pf_resolver_free(r);
		return NULL;
	}
	r->file_opts = (struct pf_symfile_opts){opts->lines, opts->demangle, r->debug_root,
						opts->debuginfod};
	return r;
}

void pf_resolver_free(struct pf_resolver *r)
{
	if (!r)
		return;
	pf_symcache_free(r->cache);
	pf_kallsyms_close(r->kallsyms);
	free(r->debug_root);
	free(r->kallsyms_path);
	free(r);
}

void pf_resolver_stats(const struct pf_resolver *r, struct pf_resolver_stats *s)
{
	*s = r->stats;
}

/* ---- writing a named location ---- */

/* The location's attribute set with profile.frame.type = type (added when
 * absent, replaced when present). */
static uint32_t typed_attrs(struct pf_rebuild *rb, uint32_t src_set, const char *type)
{
	const struct pf_batch *src = pf_rebuild_src(rb);
	struct pf_batch *dst = pf_rebuild_dst(rb);
	uint32_t out[64], ft = pf_batch_attr_str(dst, PF_ATTR_FRAME_TYPE, type);
	const uint32_t *items;
	size_t n, i, k = 0;
	bool placed = false;

	if (ft == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	items = pf_batch_attr_set_get(src, src_set, &n);
	for (i = 0; i < n && k < 63; i++) {
		const struct pf_attribute *a = pf_batch_attribute_get(src, items[i]);

		if (!strcmp(pf_batch_str(src, a->key), PF_ATTR_FRAME_TYPE)) {
			out[k++] = ft;
			placed = true;
			continue;
		}
		out[k] = pf_rebuild_attribute(rb, items[i]);
		if (out[k++] == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
	}
	if (!placed)
		out[k++] = ft;
	return pf_batch_attr_set(dst, out, k);
}

struct named_frame {
	const char *name, *system_name, *file;
	int64_t line, start_line;
};

/* Interns the src location `loc` with the given frames as its lines. */
static uint32_t named_location(struct pf_rebuild *rb, uint32_t loc, const struct named_frame *fr,
			       size_t n, const char *type)
{
	const struct pf_location *in = pf_batch_location_get(pf_rebuild_src(rb), loc);
	struct pf_batch *dst = pf_rebuild_dst(rb);
	struct pf_line lines[MAX_LINES];
	struct pf_location out = {0};
	size_t i;

	for (i = 0; i < n && i < MAX_LINES; i++) {
		struct pf_function f = {
			.name = pf_batch_cstring(dst, fr[i].name ? fr[i].name : ""),
			.system_name =
				pf_batch_cstring(dst, fr[i].system_name ? fr[i].system_name : ""),
			.filename = pf_batch_cstring(dst, fr[i].file ? fr[i].file : ""),
			.start_line = fr[i].start_line,
		};

		if (f.name == PF_INDEX_ERROR || f.system_name == PF_INDEX_ERROR ||
		    f.filename == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
		lines[i] = (struct pf_line){.function = pf_batch_function(dst, &f),
					    .line = fr[i].line};
		if (lines[i].function == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
	}
	out.address = in->address;
	out.mapping = pf_rebuild_mapping(rb, in->mapping);
	out.attrs = type ? typed_attrs(rb, in->attrs, type) : pf_rebuild_attr_set(rb, in->attrs);
	if (out.mapping == PF_INDEX_ERROR || out.attrs == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_location(dst, &out, lines, i);
}

/* ---- the sources ---- */

/* Where a location's code is looked up: a caller's return address follows
 * its call instruction, which may end a function or a line, so the call is
 * looked up at address - 1 (perf and pprof do the same). The location keeps
 * its address. */
static uint64_t code_address(const struct pf_location *in, bool caller)
{
	return caller && in->address ? in->address - 1 : in->address;
}

static uint32_t kernel_frame(struct pf_resolver *r, struct pf_rebuild *rb, uint32_t loc,
			     bool caller)
{
	const struct pf_location *in = pf_batch_location_get(pf_rebuild_src(rb), loc);
	struct named_frame fr = {0};
	const char *module;
	int err = 0;

	if (!r->kallsyms && r->now_ms >= r->kallsyms_retry_ms) {
		r->kallsyms = pf_kallsyms_open(r->kallsyms_path, NULL, &err);
		if (!r->kallsyms)
			r->kallsyms_retry_ms = r->now_ms + RETRY_MS;
	}
	if (!r->kallsyms ||
	    !pf_kallsyms_lookup(r->kallsyms, code_address(in, caller), &fr.name, &module)) {
		r->stats.unresolved++;
		return pf_rebuild_location_copy(rb, loc);
	}
	fr.system_name = fr.name;
	fr.file = *module ? module : PF_KERNEL_MAPPING;
	r->stats.kernel++;
	return named_location(rb, loc, &fr, 1, PF_FRAME_KERNEL);
}

static struct entry *jit_entry(struct pf_resolver *r, int64_t pid)
{
	char key[32];
	struct entry *e;
	int err = 0;

	snprintf(key, sizeof(key), "p:%lld", (long long)pid);
	e = pf_symcache_get(r->cache, key);
	if (e && e->kind == ENTRY_FAILED && r->now_ms >= e->retry_ms) {
		pf_symcache_remove(r->cache, key);
		e = NULL;
	}
	if (e) {
		if (e->kind == ENTRY_JIT && e->run != r->run) {
			/* Once per batch: the JIT may have appended since. */
			e->run = r->run;
			if (pf_jitmap_refresh(e->u.jit) > 0)
				r->stats.maps_restarted++;
			pf_symcache_set_cost(r->cache, e, pf_jitmap_memory_size(e->u.jit));
		}
		return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->u.jit = pf_jitmap_open("/proc", pid, &err);
	e->kind = e->u.jit ? ENTRY_JIT : ENTRY_FAILED;
	e->run = r->run;
	if (!e->u.jit)
		e->retry_ms = r->now_ms + RETRY_MS / 6;
	if (pf_symcache_put(r->cache, key, e,
			    e->u.jit ? pf_jitmap_memory_size(e->u.jit) : FAILED_COST) < 0)
		return NULL;
	return e;
}

static uint32_t jit_frame(struct pf_resolver *r, struct pf_rebuild *rb, uint32_t loc, bool caller,
			  int64_t pid)
{
	const struct pf_location *in = pf_batch_location_get(pf_rebuild_src(rb), loc);
	struct entry *e = pid > 0 ? jit_entry(r, pid) : NULL;
	struct named_frame fr = {0};

	if (!e || e->kind != ENTRY_JIT ||
	    (fr.name = pf_jitmap_lookup(e->u.jit, code_address(in, caller))) == NULL) {
		r->stats.unresolved++;
		return pf_rebuild_location_copy(rb, loc);
	}
	fr.system_name = fr.name;
	r->stats.jit++;
	return named_location(rb, loc, &fr, 1, PF_FRAME_JIT);
}

static const char *build_id_of(const struct pf_batch *b, const struct pf_mapping *m)
{
	const struct pf_value *v = pf_batch_attr_lookup(b, m->attrs, PF_ATTR_BUILD_ID_GNU);

	return v && v->kind == PF_VALUE_STRING ? pf_batch_str(b, v->u.str) : "";
}

/* The cache key of a binary: its build ID, else its identity on disk. */
static int file_key(const char *root, const char *filename, const char *build_id, char *key,
		    size_t size)
{
	char path[PATH_MAX];
	struct stat st;

	if (*build_id) {
		snprintf(key, size, "b:%s", build_id);
		return 0;
	}
	snprintf(path, sizeof(path), "%s%s", root, filename);
	if (stat(path, &st) < 0 && (!*root || stat(filename, &st) < 0))
		return -errno;
	snprintf(key, size, "f:%llu:%llu:%lld:%lld", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec);
	return 0;
}

/* Opens the file the process maps (pf_host_open_mapped(): map_files, which
 * also reaches deleted and replaced files, else the process's root); falls
 * back to the plain path when the build ID proves it is the same file, or
 * when the process is gone and no build ID is known (the best there is). */
static struct pf_symfile *open_binary(struct pf_resolver *r, int64_t pid,
				      const struct pf_mapping *m, const char *filename,
				      const char *build_id)
{
	struct pf_symfile *f = NULL;
	char root[64];
	struct stat st;
	int fd;

	if (!strcmp(filename, PF_HOST_VDSO_MAPPING)) {
		/* The kernel's own: named from proflow's copy when it is the
		 * same image (the build ID says so), never guessed. */
		fd = *build_id ? pf_host_vdso_fd() : -ENOENT;
		if (fd >= 0 &&
		    pf_symfile_open_fd(fd, "", filename, build_id, &r->file_opts, &f) == 0)
			return f;
		return NULL;
	}
	if (pid > 0) {
		snprintf(root, sizeof(root), "/proc/%lld/root", (long long)pid);
		fd = pf_host_open_mapped(pid, filename, m->memory_start, m->memory_limit);
		if (fd >= 0 &&
		    pf_symfile_open_fd(fd, root, filename, build_id, &r->file_opts, &f) == 0)
			return f;
		if (!*build_id && stat(root, &st) == 0)
			return NULL;
	}
	if (pf_symfile_open("", filename, build_id, &r->file_opts, &f) == 0)
		return f;
	return NULL;
}

/* Once per batch, for a binary whose debug file debuginfod was asked for:
 * true when it came (the binary is then opened again, with it). */
static bool debuginfo_came(struct pf_resolver *r, struct entry *e)
{
	if (e->kind != ENTRY_FILE || !pf_symfile_wants_debuginfod(e->u.file) || e->run == r->run)
		return false;
	e->run = r->run;
	return pf_debuginfod_lookup(r->opts.debuginfod, pf_symfile_build_id(e->u.file), NULL, 0) ==
	       0;
}

static struct entry *file_entry(struct pf_resolver *r, int64_t pid, const struct pf_mapping *m,
				const char *filename, const char *build_id)
{
	char key[PATH_MAX], root[64] = "";
	struct entry *e;

	if (pid > 0)
		snprintf(root, sizeof(root), "/proc/%lld/root", (long long)pid);
	/* A file that cannot even be found is remembered as failed by name. */
	if (file_key(root, filename, build_id, key, sizeof(key)) < 0)
		snprintf(key, sizeof(key), "x:%s%s", root, filename);
	e = pf_symcache_get(r->cache, key);
	if ((e && e->kind == ENTRY_FAILED && r->now_ms >= e->retry_ms) ||
	    (e && debuginfo_came(r, e))) {
		pf_symcache_remove(r->cache, key);
		e = NULL;
	}
	if (e)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->run = r->run;
	e->u.file = open_binary(r, pid, m, filename, build_id);
	e->kind = e->u.file ? ENTRY_FILE : ENTRY_FAILED;
	if (!e->u.file) {
		r->stats.open_failed++;
		e->retry_ms = r->now_ms + RETRY_MS;
	}
	if (pf_symcache_put(r->cache, key, e,
			    e->u.file ? pf_symfile_memory_size(e->u.file) : FAILED_COST) < 0)
		return NULL;
	return e;
}

static uint32_t unresolved_frame(struct pf_resolver *r, struct pf_rebuild *rb, uint32_t loc,
				 const char *filename, uint64_t offset)
{
	const char *base = strrchr(filename, '/');
	struct named_frame fr = {0};
	char name[PATH_MAX];

	snprintf(name, sizeof(name), "%s+0x%" PRIx64, base ? base + 1 : filename, offset);
	fr.name = name;
	r->stats.unresolved++;
	return named_location(rb, loc, &fr, 1, NULL);
}

/* The name's offset for code no symbol names: the start of the FDE that
 * holds the code address, so every address of a stripped function shares
 * one name; the address's own offset where no FDE holds it. */
static uint64_t function_offset(struct pf_resolver *r, struct entry *e, uint64_t code_offset,
				uint64_t offset)
{
	uint64_t start;
	size_t before;
	bool found;

	if (!e || e->kind != ENTRY_FILE)
		return offset;
	before = pf_symfile_memory_size(e->u.file);
	found = pf_symfile_function_start(e->u.file, code_offset, &start);
	if (pf_symfile_memory_size(e->u.file) != before)
		pf_symcache_set_cost(r->cache, e, pf_symfile_memory_size(e->u.file));
	return found ? start : offset;
}

static uint32_t native_frame(struct pf_resolver *r, struct pf_rebuild *rb, uint32_t loc,
			     bool caller, int64_t pid)
{
	const struct pf_batch *src = pf_rebuild_src(rb);
	const struct pf_location *in = pf_batch_location_get(src, loc);
	const struct pf_mapping *m = pf_batch_mapping_get(src, in->mapping);
	const char *filename = pf_batch_str(src, m->filename);
	uint64_t offset = in->address - m->memory_start + m->file_offset;
	uint64_t code_offset = code_address(in, caller) - m->memory_start + m->file_offset;
	struct named_frame fr[MAX_LINES];
	const struct pf_sym_result *res = NULL;
	struct entry *e;
	size_t before;
	uint32_t i, out;

	if (filename[0] != '/' && strcmp(filename, PF_HOST_VDSO_MAPPING) != 0)
		return unresolved_frame(r, rb, loc, filename, offset);
	e = file_entry(r, pid, m, filename, build_id_of(src, m));
	if (e && e->kind == ENTRY_FILE) {
		before = pf_symfile_memory_size(e->u.file);
		res = pf_symfile_resolve(e->u.file, code_offset);
		if (pf_symfile_memory_size(e->u.file) != before)
			pf_symcache_set_cost(r->cache, e, pf_symfile_memory_size(e->u.file));
		if (!e->counted && pf_symfile_dwarf_failed(e->u.file)) {
			e->counted = true;
			r->stats.dwarf_failed++;
		}
	}
	if (!res || res->n == 0)
		return unresolved_frame(r, rb, loc, filename,
					function_offset(r, e, code_offset, offset));
	for (i = 0; i < res->n && i < MAX_LINES; i++) {
		const struct pf_sym_frame *s = &res->frames[i];

		fr[i] = (struct named_frame){s->name, s->system_name, s->file, s->line,
					     s->start_line};
	}
	r->stats.native++;
	out = named_location(rb, loc, fr, i, NULL);
	/* One binary's answers may not take the whole cache: past half of it
	 * they are forgotten (after being copied above). */
	if (pf_symfile_memory_size(e->u.file) > r->opts.cache_size / 2) {
		pf_symfile_forget(e->u.file);
		pf_symcache_set_cost(r->cache, e, pf_symfile_memory_size(e->u.file));
	}
	return out;
}

static bool is_anon(const char *filename)
{
	return !*filename || !strcmp(filename, PF_ANON_MAPPING) ||
	       !strncmp(filename, "//anon", 6) || !strncmp(filename, "[anon", 5) ||
	       !strncmp(filename, "/memfd:", 7);
}

static uint32_t locate(void *ctx, struct pf_rebuild *rb, uint32_t loc, bool caller, int64_t pid,
		       bool *per_process)
{
	struct pf_resolver *r = ctx;
	const struct pf_batch *src = pf_rebuild_src(rb);
	const struct pf_location *in = pf_batch_location_get(src, loc);
	const char *filename;

	if (in->lines_len || !in->mapping)
		return pf_rebuild_location_copy(rb, loc);
	filename = pf_batch_str(src, pf_batch_mapping_get(src, in->mapping)->filename);
	if (!strcmp(filename, PF_KERNEL_MAPPING))
		return r->opts.kernel ? kernel_frame(r, rb, loc, caller)
				      : pf_rebuild_location_copy(rb, loc);
	if (is_anon(filename)) {
		if (!r->opts.perf_maps)
			return pf_rebuild_location_copy(rb, loc);
		*per_process = true;
		return jit_frame(r, rb, loc, caller, pid);
	}
	return native_frame(r, rb, loc, caller, pid);
}

struct pf_batch *pf_resolver_run(struct pf_resolver *r, const struct pf_batch *src, uint64_t now_ms)
{
	r->now_ms = now_ms;
	r->run++;
	if (r->kallsyms)
		pf_kallsyms_refresh(r->kallsyms, now_ms, KALLSYMS_CHECK_MS);
	return pf_rebuild(src, locate, r);
}
