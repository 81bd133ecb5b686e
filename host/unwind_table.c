// SPDX-License-Identifier: Apache-2.0
/* Finds an ELF file's CFI section with libelf (read, never mapped), parses it and lays the rows out as one sorted table. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/cfi_parse.h"
#include "host/unwind_table.h"

static int same_rule(const struct pf_unwind_row *a, const struct pf_unwind_row *b)
{
	return a->cfa_off == b->cfa_off && a->rule == b->rule && a->fp == b->fp;
}

/* Appends a row at absolute pc, merged into the previous one when it says
 * the same. Room for it was reserved by the caller. */
static int push_row(struct pf_unwind_table *t, uint64_t pc, struct pf_unwind_row r)
{
	struct pf_unwind_row *last = t->n_rows ? &t->rows[t->n_rows - 1] : NULL;

	if (pc - t->base > UINT32_MAX)
		return -E2BIG;
	r.pc = (__u32)(pc - t->base);
	if (last && same_rule(last, &r))
		return 0;
	if (last && last->pc == r.pc)
		*last = r;
	else
		t->rows[t->n_rows++] = r;
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct pf_cfi_fde *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first; /* file order on ties */
}

/* Sorts the FDEs and writes their rows as one table: a gap row wherever no
 * FDE covers the pc, the first FDE kept where two overlap. */
static int lay_out(struct pf_cfi_out *o, struct pf_unwind_table *t)
{
	const struct pf_unwind_row gap = {.rule = PF_UNWIND_RULE(PF_UNWIND_GAP, 0)};
	uint64_t cur_end = 0;
	size_t i, j, cap;
	int rc;

	if (o->n_fdes == 0)
		return 0;
	/* Linkers mostly emit FDEs in address order: sort only if needed. */
	for (i = 1; i < o->n_fdes && by_start(&o->fdes[i - 1], &o->fdes[i]) <= 0; i++)
		;
	if (i < o->n_fdes)
		qsort(o->fdes, o->n_fdes, sizeof(*o->fdes), by_start);
	cap = o->n_rows + o->n_fdes + 1; /* each FDE adds at most one gap before it */
	t->rows = calloc(cap, sizeof(*t->rows));
	if (!t->rows)
		return -ENOMEM;
	t->base = o->fdes[0].start;
	for (i = 0; i < o->n_fdes; i++) {
		const struct pf_cfi_fde *f = &o->fdes[i];

		if (i > 0 && f->start > cur_end && (rc = push_row(t, cur_end, gap)) < 0)
			return rc;
		if (i > 0 && f->start < cur_end)
			t->overlaps++;
		for (j = 0; j < f->n; j++) {
			uint64_t s = f->start + o->rows[f->first + j].pc;
			uint64_t e =
				j + 1 < f->n ? f->start + o->rows[f->first + j + 1].pc : f->end;

			if (i > 0 && s < cur_end)
				s = cur_end;
			if (s < e && (rc = push_row(t, s, o->rows[f->first + j])) < 0)
				return rc;
		}
		if (i == 0 || f->end > cur_end)
			cur_end = f->end;
	}
	return push_row(t, cur_end, gap);
}

/* The section's bytes, decompressed if needed, bounded by PF_UNWIND_CFI_MAX. */
static int section_bytes(Elf_Scn *scn, const GElf_Shdr *sh, Elf_Data **out, struct pf_error *err)
{
	Elf_Data *d = NULL;

	if (sh->sh_flags & SHF_COMPRESSED) {
		GElf_Chdr ch;

		if (!gelf_getchdr(scn, &ch) || ch.ch_size > PF_UNWIND_CFI_MAX)
			return pf_error_set(err, "",
					    "compressed CFI section unreadable or too large");
		if (elf_compress(scn, 0, 0) < 0)
			return pf_error_set(err, "", "CFI section: %s", elf_errmsg(-1));
	} else if (sh->sh_size > PF_UNWIND_CFI_MAX) {
		return pf_error_set(err, "", "CFI section of %llu bytes is over the %u byte limit",
				    (unsigned long long)sh->sh_size, PF_UNWIND_CFI_MAX);
	}
	d = elf_getdata(scn, NULL);
	if (!d || (d->d_size && !d->d_buf) || d->d_size > PF_UNWIND_CFI_MAX)
		return pf_error_set(err, "", "CFI section unreadable: %s", elf_errmsg(-1));
	*out = d;
	return 0;
}

/* Checks the ELF header and finds the CFI sections (NULL where absent). */
static int find_cfi(Elf *elf, Elf_Scn **eh, Elf_Scn **dbg, struct pf_error *err)
{
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh_hdr;
	GElf_Shdr sh;
	size_t shstrndx, shnum, seen = 0;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh_hdr))
		return pf_error_set(err, "", "not an ELF file");
	if (eh_hdr.e_ident[EI_DATA] != ELFDATA2LSB)
		return pf_error_set(err, "", "big-endian ELF: no unwind rules for it");
	if (eh_hdr.e_machine != EM_X86_64)
		return pf_error_set(err, "", "ELF machine %u: no unwind rules for it",
				    eh_hdr.e_machine);
	if (elf_getshdrstrndx(elf, &shstrndx) < 0 || elf_getshdrnum(elf, &shnum) < 0)
		return pf_error_set(err, "", "no section names: %s", elf_errmsg(-1));
	*eh = *dbg = NULL;
	/* A section table cut off (a file truncated on disk) is an error, not
	 * a file without CFI, whose every pc would be taken for a gap. */
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		const char *name;

		seen++;
		if (!gelf_getshdr(scn, &sh))
			return pf_error_set(err, "", "section header: %s", elf_errmsg(-1));
		if (sh.sh_type == SHT_NOBITS || sh.sh_size == 0)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".eh_frame") && !*eh)
			*eh = scn;
		else if (name && !strcmp(name, ".debug_frame") && !*dbg)
			*dbg = scn;
	}
	/* libelf drops a section table that lies past the end of the file. */
	if ((eh_hdr.e_shoff != 0 && shnum == 0) || (shnum > 0 && seen != shnum - 1))
		return pf_error_set(err, "", "section table cut off or unreadable");
	return 0;
}

/* Parses one CFI section into o. */
static int parse_section(Elf *elf, Elf_Scn *scn, int debug_frame, struct pf_unwind_table *t,
			 struct pf_cfi_out *o, struct pf_error *err)
{
	struct pf_cfi_section sec = {.arch = &pf_cfi_arch_x86_64, .debug_frame = debug_frame};
	Elf_Data *d = NULL;
	GElf_Shdr sh;
	int rc;

	if (!gelf_getshdr(scn, &sh))
		return pf_error_set(err, "", "CFI section header: %s", elf_errmsg(-1));
	rc = section_bytes(scn, &sh, &d, err);
	if (rc < 0)
		return rc;
	sec.addr_size = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	sec.data = d->d_buf;
	sec.size = d->d_size;
	sec.vaddr = debug_frame ? 0 : sh.sh_addr;
	t->sources |= debug_frame ? PF_UNWIND_FROM_DEBUG_FRAME : PF_UNWIND_FROM_EH_FRAME;
	t->cfi_bytes += sec.size;
	rc = pf_cfi_parse(&sec, o);
	if (rc < 0)
		return pf_error_set(err, "", "out of memory compiling CFI");
	return 0;
}

/* Keeps the FDEs whose range lies inside one executable segment: any
 * other describes no code a process runs (a discarded function's leftover
 * at 0, a damaged pointer) and would only spread the table. Files without
 * program headers keep all. Their rows stay in o, unreferenced. */
static void keep_executable(Elf *elf, struct pf_cfi_out *o, struct pf_unwind_table *t)
{
	uint64_t lo[16], len[16];
	size_t n_ph = 0, n_x = 0, i, j, kept = 0;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n_ph) < 0 || n_ph == 0)
		return;
	for (i = 0; i < n_ph; i++)
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			if (n_x == 16)
				return; /* more than any linker makes: keep all */
			lo[n_x] = ph.p_vaddr;
			len[n_x++] = ph.p_memsz;
		}
	for (i = 0; i < o->n_fdes; i++) {
		const struct pf_cfi_fde *f = &o->fdes[i];
		int inside = 0;

		for (j = 0; j < n_x && !inside; j++)
			inside = f->start >= lo[j] && f->end - lo[j] <= len[j];
		if (inside)
			o->fdes[kept++] = *f;
		else
			t->outside_fdes++;
	}
	o->n_fdes = kept;
}

/* Parses the file's CFI sections into o; .eh_frame first, so on equal
 * starts its FDE is kept. */
static int parse_all(Elf *elf, struct pf_unwind_table *t, struct pf_cfi_out *o,
		     struct pf_error *err)
{
	Elf_Scn *eh = NULL, *dbg = NULL;

	if (find_cfi(elf, &eh, &dbg, err) < 0)
		return -EINVAL;
	if (eh && parse_section(elf, eh, 0, t, o, err) < 0)
		return -EINVAL;
	if (dbg && parse_section(elf, dbg, 1, t, o, err) < 0)
		return -EINVAL;
	keep_executable(elf, o, t);
	return 0;
}

/* Compiles what libelf opened, closing it as soon as the rows are out of
 * its section bytes (before the table is laid out, to lower the peak). */
static struct pf_unwind_table *compile_and_end(Elf *elf, struct pf_error *err)
{
	struct pf_unwind_table *t;
	struct pf_cfi_out o = {0};
	struct pf_unwind_row *fit;
	int rc;

	if (!elf) {
		pf_error_set(err, "", "not an ELF file: %s", elf_errmsg(-1));
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		elf_end(elf);
		pf_error_set(err, "", "out of memory compiling CFI");
		return NULL;
	}
	rc = parse_all(elf, t, &o, err);
	elf_end(elf);
	if (rc < 0)
		goto out_free;
	rc = lay_out(&o, t);
	if (rc < 0) {
		pf_error_set(err, "",
			     rc == -E2BIG ? "CFI spans more than 4 GiB of addresses"
					  : "out of memory compiling CFI");
		goto out_free;
	}
	t->n_fdes = (uint32_t)o.n_fdes;
	t->bad_fdes = (uint32_t)o.bad_fdes;
	t->skipped_fdes = (uint32_t)o.skipped;
	t->truncated = o.truncated;
	pf_cfi_out_free(&o);
	/* Give back what merging saved. */
	if (t->n_rows && (fit = reallocarray(t->rows, t->n_rows, sizeof(*t->rows))) != NULL)
		t->rows = fit;
	return t;
out_free:
	pf_cfi_out_free(&o);
	pf_unwind_table_destroy(t);
	return NULL;
}

static int libelf_ready(struct pf_error *err)
{
	if (elf_version(EV_CURRENT) != EV_NONE)
		return 0;
	return pf_error_set(err, "", "libelf: %s", elf_errmsg(-1));
}

struct pf_unwind_table *pf_unwind_table_from_fd(int fd, struct pf_error *err)
{
	if (libelf_ready(err) < 0)
		return NULL;
	return compile_and_end(elf_begin(fd, ELF_C_READ, NULL), err);
}

struct pf_unwind_table *pf_unwind_table_from_path(const char *path, struct pf_error *err)
{
	struct pf_unwind_table *t;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		pf_error_set(err, path, "%s", strerror(errno));
		return NULL;
	}
	t = pf_unwind_table_from_fd(fd, err);
	close(fd);
	return t;
}

struct pf_unwind_table *pf_unwind_table_from_mem(const void *image, size_t size,
						 struct pf_error *err)
{
	if (libelf_ready(err) < 0)
		return NULL;
	/* elf_memory wants a writable image only to convert a foreign byte
	 * order in place: such files are refused before libelf sees them. */
	if (size < EI_NIDENT || ((const unsigned char *)image)[EI_DATA] != ELFDATA2LSB) {
		pf_error_set(err, "", "not a little-endian ELF file");
		return NULL;
	}
	return compile_and_end(elf_memory((char *)image, size), err);
}

void pf_unwind_table_destroy(struct pf_unwind_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t);
}

const struct pf_unwind_row *pf_unwind_table_find(const struct pf_unwind_table *t, uint64_t vaddr)
{
	uint32_t lo = 0, hi = t->n_rows;
	uint64_t off;

	if (t->n_rows == 0 || vaddr < t->base || vaddr - t->base > UINT32_MAX)
		return NULL;
	off = vaddr - t->base;
	/* The last row whose pc is at or below off. */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].pc <= off)
			lo = mid;
		else
			hi = mid;
	}
	return t->rows[lo].pc <= off ? &t->rows[lo] : NULL;
}

size_t pf_unwind_table_bytes(const struct pf_unwind_table *t)
{
	return t ? sizeof(*t) + (size_t)t->n_rows * sizeof(*t->rows) : 0;
}
