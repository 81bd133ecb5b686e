// SPDX-License-Identifier: Apache-2.0
/* Finds an ELF file's CFI section with libelf (read, never mapped), parses it and lays the rows out as one sorted table. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/cfi_elf.h"
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

/* Gives back the parse's spare capacity (up to half its rows, from
 * doubling) before the table is laid out beside it: a lower peak. */
static void shrink_out(struct pf_cfi_out *o)
{
	struct pf_unwind_row *rows;
	struct pf_cfi_fde *fdes;

	if (o->n_rows && o->n_rows < o->cap_rows &&
	    (rows = reallocarray(o->rows, o->n_rows, sizeof(*rows))) != NULL) {
		o->rows = rows;
		o->cap_rows = o->n_rows;
	}
	if (o->n_fdes && o->n_fdes < o->cap_fdes &&
	    (fdes = reallocarray(o->fdes, o->n_fdes, sizeof(*fdes))) != NULL) {
		o->fdes = fdes;
		o->cap_fdes = o->n_fdes;
	}
}

/* Compiles what libelf opened, closing it as soon as the rows are out of
 * its section bytes (before the table is laid out, to lower the peak). */
static struct pf_unwind_table *compile_and_end(Elf *elf, struct pf_error *err)
{
	struct pf_unwind_table *t;
	struct pf_cfi_out o = {0};
	struct pf_cfi_elf_info info = {0};
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
	rc = pf_cfi_elf_parse(elf, &o, &info, err);
	elf_end(elf);
	shrink_out(&o);
	t->sources = info.sources;
	t->cfi_bytes = info.cfi_bytes;
	t->outside_fdes = info.outside_fdes;
	memcpy(t->segs, info.segs, sizeof(t->segs));
	t->n_segs = info.n_segs;
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

const struct pf_unwind_segment *pf_unwind_segment_find(const struct pf_unwind_segment *segs,
						       uint32_t n, uint64_t offset)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct pf_unwind_segment *s = &segs[i];

		if ((s->offset & ~4095ull) <= offset && offset < s->offset + s->filesz)
			return s;
	}
	return NULL;
}

size_t pf_unwind_table_bytes(const struct pf_unwind_table *t)
{
	return t ? sizeof(*t) + (size_t)t->n_rows * sizeof(*t->rows) : 0;
}
