// SPDX-License-Identifier: Apache-2.0
/* A binary's symbolizer: symbol table, separate debug file, DWARF and a memo of answers. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debuginfo.h"
#include "debuginfod.h"
#include "demangle.h"
#include "dwarf_lines.h"
#include "elf_symbols.h"
#include "host/fde_index.h"
#include "host/proc_file.h"
#include "symfile.h"

#define MAX_FRAMES 64
#define NO_ANSWER  ((struct pf_sym_result *)&no_answer)

struct memo_slot {
	uint64_t vaddr; /* UINT64_MAX: free */
	struct pf_sym_result *r;
};

struct pf_symfile {
	struct pf_symfile_opts opts;
	struct pf_elf_file bin;
	struct pf_elf_file dbg; /* fd -1 and no elf when none */
	struct pf_symtab syms;
	Dwarf *dw;
	struct pf_elf_file alt; /* dwz's shared file; fd -1 and no elf when none */
	Dwarf *alt_dw;
	struct pf_dwarf_lines *dl;
	bool dw_tried, dw_failed;
	size_t dwarf_estimate;
	struct memo_slot *memo;
	size_t memo_mask, memo_n;
	size_t results_bytes;
	struct pf_fde_index *fdes; /* read on first use; NULL when none */
	bool fdes_tried;
	bool wants_debuginfod;
};

static const struct pf_sym_result no_answer;

const char *pf_symfile_build_id(const struct pf_symfile *f)
{
	return f->bin.build_id_hex;
}

bool pf_symfile_dwarf_failed(const struct pf_symfile *f)
{
	return f->dw_failed;
}

bool pf_symfile_wants_debuginfod(const struct pf_symfile *f)
{
	return f->wants_debuginfod;
}

static int memo_init(struct pf_symfile *f, size_t n)
{
	size_t i;

	f->memo = calloc(n, sizeof(*f->memo));
	if (!f->memo)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		f->memo[i].vaddr = UINT64_MAX;
	f->memo_mask = n - 1;
	return 0;
}

static size_t slot_of(uint64_t vaddr, size_t mask)
{
	return (size_t)((vaddr * 0x9e3779b97f4a7c15ull) >> 17) & mask;
}

static struct memo_slot *memo_find(const struct pf_symfile *f, uint64_t vaddr)
{
	size_t i = slot_of(vaddr, f->memo_mask);

	while (f->memo[i].vaddr != UINT64_MAX && f->memo[i].vaddr != vaddr)
		i = (i + 1) & f->memo_mask;
	return &f->memo[i];
}

/* Doubles the memo at 3/4 load. Returns 0 or -ENOMEM. */
static int memo_grow(struct pf_symfile *f)
{
	struct memo_slot *old = f->memo;
	size_t n = f->memo_mask + 1, i;

	if (f->memo_n + 1 <= n / 4 * 3)
		return 0;
	if (memo_init(f, n * 2) < 0) {
		f->memo = old;
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (old[i].vaddr != UINT64_MAX)
			*memo_find(f, old[i].vaddr) = old[i];
	free(old);
	return 0;
}

/* ---- building an answer: one block holding the frames and their strings ---- */

struct draft {
	const char *name, *system_name, *file;
	char *demangled; /* owned until copied */
	int64_t line, start_line;
};

static size_t slen(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char *put_str(char **p, const char *s)
{
	char *at = *p;
	size_t n = slen(s);

	if (!s)
		return NULL;
	memcpy(at, s, n);
	*p += n;
	return at;
}

static struct pf_sym_result *pack(const struct draft *d, size_t n)
{
	size_t bytes = sizeof(struct pf_sym_result) + n * sizeof(struct pf_sym_frame), i;
	struct pf_sym_result *r;
	char *p;

	for (i = 0; i < n; i++)
		bytes += slen(d[i].name) + slen(d[i].system_name) + slen(d[i].file);
	r = calloc(1, bytes);
	if (!r)
		return NULL;
	r->n = (uint32_t)n;
	p = (char *)&r->frames[n];
	for (i = 0; i < n; i++) {
		struct pf_sym_frame *fr = &r->frames[i];

		fr->system_name = put_str(&p, d[i].system_name);
		fr->name = d[i].name == d[i].system_name ? fr->system_name : put_str(&p, d[i].name);
		fr->file = put_str(&p, d[i].file);
		fr->line = d[i].line;
		fr->start_line = d[i].start_line;
	}
	return r;
}

static void set_names(struct pf_symfile *f, struct draft *d, const char *mangled)
{
	d->system_name = mangled;
	d->name = mangled;
	if (f->opts.demangle && (d->demangled = pf_demangle(mangled)) != NULL)
		d->name = d->demangled;
}

/* Opens path into f->alt when it is the shared file src links to. */
static bool try_alt(struct pf_symfile *f, const struct pf_elf_file *src, const char *path)
{
	if (pf_elf_open(path, &f->alt) < 0)
		return false;
	if (f->alt.build_id_len == src->alt_build_id_len &&
	    !memcmp(f->alt.build_id, src->alt_build_id, src->alt_build_id_len))
		return true;
	pf_elf_close(&f->alt);
	return false;
}

/*
 * A dwz'd file's DWARF refers to a shared file (.gnu_debugaltlink). libdw
 * would open that one itself with dwarf_begin(), which maps it: truncated
 * meanwhile, it would raise SIGBUS. So it is opened here like every other
 * file and handed to libdw: found by build ID in the debug root, else by
 * the link's path (relative to the file holding it). Not found, libdw looks
 * in the same places and finds nothing either.
 */
static void open_alt(struct pf_symfile *f, const struct pf_elf_file *src)
{
	char path[PATH_MAX], hex[2 * PF_BUILD_ID_MAX + 1];
	const char *slash = strrchr(src->path, '/');
	int n;

	if (!src->altlink[0] || src->alt_build_id_len < 2)
		return;
	pf_host_hex(src->alt_build_id, src->alt_build_id_len, hex);
	n = snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", f->opts.debug_root, hex,
		     hex + 2);
	if (!(n > 0 && (size_t)n < sizeof(path) && try_alt(f, src, path))) {
		if (src->altlink[0] == '/')
			n = snprintf(path, sizeof(path), "%s", src->altlink);
		else if (slash)
			n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - src->path),
				     src->path, src->altlink);
		else
			return;
		if (n < 0 || (size_t)n >= sizeof(path) || !try_alt(f, src, path))
			return;
	}
	f->alt_dw = dwarf_begin_elf(f->alt.elf, DWARF_C_READ, NULL);
	if (f->alt_dw)
		dwarf_setalt(f->dw, f->alt_dw);
}

static void open_dwarf(struct pf_symfile *f)
{
	struct pf_elf_file *src = f->dbg.elf ? &f->dbg : &f->bin;
	struct stat st;

	f->dw_tried = true;
	if (!src->has_debug_info)
		return;
	f->dw = dwarf_begin_elf(src->elf, DWARF_C_READ, NULL);
	f->dw_failed = !f->dw;
	if (f->dw)
		open_alt(f, src);
	if (f->dw && !(f->dl = pf_dwarf_lines_new(f->dw))) {
		dwarf_end(f->dw);
		f->dw = NULL;
	}
	/* libelf read the DWARF sections into memory (counted in data_bytes);
	 * libdw's own tables grow with what is looked up: a fraction of the
	 * file stands for them. */
	if (f->dw && src->fd >= 0 && fstat(src->fd, &st) == 0)
		f->dwarf_estimate = (size_t)st.st_size / 8;
}

/* Builds the answer for vaddr; NO_ANSWER when nothing covers it, NULL on
 * ENOMEM. */
static struct pf_sym_result *answer(struct pf_symfile *f, uint64_t vaddr)
{
	struct pf_dwarf_frame df[MAX_FRAMES];
	struct draft d[MAX_FRAMES];
	const struct pf_sym *sym = pf_symtab_lookup(&f->syms, vaddr);
	const char *symname = sym ? pf_symtab_str(&f->syms, sym->name) : NULL;
	struct pf_sym_result *r;
	size_t n = 0, i;

	if (f->opts.lines && !f->dw_tried)
		open_dwarf(f);
	if (f->dw)
		n = pf_dwarf_frames(f->dl, vaddr, df, MAX_FRAMES);
	if (n == 0 && !symname)
		return NO_ANSWER;
	memset(d, 0, sizeof(d));
	for (i = 0; i < n; i++) {
		/* The symbol table names the outermost frame when DWARF does not. */
		const char *mangled = df[i].name ? df[i].name : i == n - 1 ? symname : NULL;

		if (mangled)
			set_names(f, &d[i], mangled);
		else
			d[i].name = d[i].system_name = "??";
		d[i].file = df[i].file;
		d[i].line = df[i].line;
		d[i].start_line = df[i].start_line;
	}
	if (n == 0) {
		set_names(f, &d[0], symname);
		n = 1;
	} else if (symname && d[n - 1].system_name != symname) {
		/* The linker's name (clones like "f.constprop.0" included) is the
		 * system name; DWARF's stays the display name. */
		d[n - 1].system_name = symname;
	}
	r = pack(d, n);
	for (i = 0; i < n; i++)
		free(d[i].demangled);
	return r;
}

const struct pf_sym_result *pf_symfile_resolve_vaddr(struct pf_symfile *f, uint64_t vaddr)
{
	struct memo_slot *s;
	struct pf_sym_result *r;

	if (vaddr == UINT64_MAX || (!f->memo && memo_init(f, 256) < 0))
		return NULL;
	s = memo_find(f, vaddr);
	if (s->vaddr == vaddr)
		return s->r == NO_ANSWER ? NULL : s->r;
	r = answer(f, vaddr);
	if (!r)
		return NULL; /* ENOMEM: unresolved this time, asked again later */
	if (memo_grow(f) < 0) {
		if (r != NO_ANSWER)
			free(r);
		return NULL;
	}
	s = memo_find(f, vaddr);
	s->vaddr = vaddr;
	s->r = r;
	f->memo_n++;
	if (r == NO_ANSWER)
		return NULL;
	f->results_bytes += sizeof(*r) + r->n * (sizeof(r->frames[0]) + 48);
	return r;
}

const struct pf_sym_result *pf_symfile_resolve(struct pf_symfile *f, uint64_t offset)
{
	uint64_t vaddr;

	if (!pf_elf_offset_to_vaddr(&f->bin, offset, &vaddr))
		return NULL;
	return pf_symfile_resolve_vaddr(f, vaddr);
}

bool pf_symfile_function_start(struct pf_symfile *f, uint64_t offset, uint64_t *start)
{
	struct pf_error err;
	uint64_t vaddr, fde_start;

	if (!f->fdes_tried && f->bin.fd >= 0) {
		f->fdes_tried = true;
		f->fdes = pf_fde_index_from_fd(f->bin.fd, &err);
	}
	return f->fdes && pf_elf_offset_to_vaddr(&f->bin, offset, &vaddr) &&
	       pf_fde_index_find(f->fdes, vaddr, &fde_start) &&
	       pf_elf_vaddr_to_offset(&f->bin, fde_start, start);
}

int pf_symfile_open_fd(int fd, const char *root, const char *filename, const char *build_id_hex,
		       const struct pf_symfile_opts *opts, struct pf_symfile **out)
{
	struct pf_symfile *f = calloc(1, sizeof(*f));
	long n;
	int ret = -ENOMEM;

	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	f->opts = *opts;
	f->dbg.fd = f->alt.fd = -1;
	ret = pf_elf_open_fd(fd, &f->bin);
	if (ret < 0)
		goto out_close;
	snprintf(f->bin.path, sizeof(f->bin.path), "%s%s", root, filename);
	ret = -ENOMEM;
	if (pf_symtab_init(&f->syms) < 0 || memo_init(f, 256) < 0)
		goto out_close;
	ret = -ESTALE;
	if (build_id_hex && *build_id_hex && strcmp(build_id_hex, f->bin.build_id_hex) != 0)
		goto out_close;
	if ((!f->bin.has_debug_info || !f->bin.has_symtab) &&
	    pf_debuginfo_find(&f->bin, root, filename, opts->debug_root, &f->dbg) < 0 &&
	    !f->bin.has_debug_info && opts->debuginfod && f->bin.build_id_len)
		f->wants_debuginfod = pf_debuginfod_open(opts->debuginfod, &f->bin, &f->dbg) < 0;
	n = pf_elf_read_symbols(&f->bin, &f->syms);
	/* A stripped binary's .symtab went to its debug file. */
	if (n >= 0 && !f->bin.has_symtab && f->dbg.elf && f->dbg.has_symtab)
		n = pf_elf_read_symbols(&f->dbg, &f->syms);
	ret = n < 0 ? (int)n : 0;
	if (ret < 0)
		goto out_close;
	pf_symtab_finish(&f->syms);
	*out = f;
	return 0;

out_close:
	pf_symfile_close(f);
	return ret;
}

int pf_symfile_open(const char *root, const char *filename, const char *build_id_hex,
		    const struct pf_symfile_opts *opts, struct pf_symfile **out)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s%s", root, filename) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = pf_host_open_regular(path);
	if (fd < 0)
		return fd;
	return pf_symfile_open_fd(fd, root, filename, build_id_hex, opts, out);
}

static void memo_free(struct pf_symfile *f)
{
	size_t i;

	if (f->memo)
		for (i = 0; i <= f->memo_mask; i++)
			if (f->memo[i].vaddr != UINT64_MAX && f->memo[i].r != NO_ANSWER)
				free(f->memo[i].r);
	free(f->memo);
	f->memo = NULL;
	f->memo_mask = f->memo_n = 0;
	f->results_bytes = 0;
}

void pf_symfile_forget(struct pf_symfile *f)
{
	memo_free(f);
	if (memo_init(f, 256) < 0)
		f->memo = NULL; /* retried on the next resolve */
}

void pf_symfile_close(struct pf_symfile *f)
{
	if (!f)
		return;
	memo_free(f);
	pf_fde_index_destroy(f->fdes);
	pf_dwarf_lines_free(f->dl);
	if (f->dw)
		dwarf_end(f->dw);
	/* After the main one: dwarf_end() leaves an alt set by dwarf_setalt(). */
	if (f->alt_dw)
		dwarf_end(f->alt_dw);
	pf_elf_close(&f->alt);
	pf_symtab_free(&f->syms);
	pf_elf_close(&f->dbg);
	pf_elf_close(&f->bin);
	free(f);
}

size_t pf_symfile_memory_size(const struct pf_symfile *f)
{
	return sizeof(*f) + (size_t)(f->bin.data_bytes + f->dbg.data_bytes + f->alt.data_bytes) +
	       pf_symtab_memory_size(&f->syms) +
	       (f->memo ? (f->memo_mask + 1) * sizeof(*f->memo) : 0) + f->results_bytes +
	       f->dwarf_estimate + (f->dl ? pf_dwarf_lines_memory_size(f->dl) : 0) +
	       pf_fde_index_bytes(f->fdes);
}
