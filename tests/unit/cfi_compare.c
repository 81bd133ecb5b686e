// SPDX-License-Identifier: Apache-2.0
/* Checks a compiled unwind table row by row against readelf's frames-interp, with libdw reading the DWARF expressions readelf prints as "exp". */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <dwarf.h>
#include <elfutils/libdw.h>

#include "cfi_compare.h"
#include "host/unwind_table.h"
#include "readelf_frames.h"

static struct pf_unwind_row unknown_row(int ra_undefined)
{
	return (struct pf_unwind_row){
		.rule = PF_UNWIND_RULE(PF_UNWIND_UNKNOWN,
				       ra_undefined ? PF_UNWIND_RA_UNDEFINED : 0)};
}

/* "c-16" -> 2 slots below the CFA; 0 if the text is no such slot within max. */
static long slot_below(const char *s, long max)
{
	char *end;
	long v;

	if (strncmp(s, "c-", 2) != 0)
		return 0;
	v = strtol(s + 2, &end, 10);
	if (*end || v <= 0 || v % 8 || v / 8 > max)
		return 0;
	return v / 8;
}

/* What libdw reads in the DWARF expressions readelf only prints as "exp". */
struct exp_rules {
	int plt;       /* the CFA is binutils' PLT expression */
	int deref_reg; /* or *(reg + cfa) + deref_add, reg 6 (rbp) or 7 (rsp) */
	long deref_add;
	long cfa, threshold;
	int fp_at_fp; /* the caller's rbp is saved at the address rbp holds */
};

/* libdw's CFI of both sections of one file: the second oracle, for "exp". */
struct dw_oracle {
	int fd;
	Elf *elf;
	Dwarf *dw;
	Dwarf_CFI *eh, *dbg;
};

static void oracle_open(struct dw_oracle *o, const char *path)
{
	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(o->fd >= 0);
	elf_version(EV_CURRENT);
	o->elf = elf_begin(o->fd, ELF_C_READ, NULL);
	assert_non_null(o->elf);
	o->eh = dwarf_getcfi_elf(o->elf);
	o->dw = dwarf_begin_elf(o->elf, DWARF_C_READ, NULL);
	o->dbg = o->dw ? dwarf_getcfi(o->dw) : NULL;
}

static void oracle_close(struct dw_oracle *o)
{
	if (o->eh)
		dwarf_cfi_end(o->eh);
	if (o->dw)
		dwarf_end(o->dw);
	elf_end(o->elf);
	close(o->fd);
}

static struct exp_rules oracle_exp(struct dw_oracle *o, int debug_frame, uint64_t pc)
{
	static const uint8_t plt_ops[] = {DW_OP_breg7, DW_OP_breg16, DW_OP_lit15, DW_OP_and, 0,
					  DW_OP_ge,    DW_OP_lit3,   DW_OP_shl,	  DW_OP_plus};
	struct exp_rules x = {0};
	Dwarf_Op mem[3], *ops;
	Dwarf_Frame *f;
	size_t n, i;

	assert_non_null(debug_frame ? o->dbg : o->eh);
	assert_int_equal(dwarf_cfi_addrframe(debug_frame ? o->dbg : o->eh, pc, &f), 0);
	assert_int_equal(dwarf_frame_cfa(f, &ops, &n), 0);
	if (n == 9 && ops[4].atom >= DW_OP_lit0 && ops[4].atom <= DW_OP_lit31 &&
	    ops[1].number == 0) {
		for (i = 0, x.plt = 1; i < 9; i++)
			if (i != 4 && ops[i].atom != plt_ops[i])
				x.plt = 0;
		x.cfa = (long)ops[0].number;
		x.threshold = ops[4].atom - DW_OP_lit0;
	}
	if ((n == 2 || (n == 3 && ops[2].atom == DW_OP_plus_uconst && ops[2].number == 8)) &&
	    (ops[0].atom == DW_OP_breg6 || ops[0].atom == DW_OP_breg7) &&
	    ops[1].atom == DW_OP_deref) {
		x.deref_reg = ops[0].atom - DW_OP_breg0;
		x.deref_add = n == 3 ? 8 : 0;
		x.cfa = (long)ops[0].number;
	}
	/* DW_CFA_expression pushes the CFA before running its expression:
	 * libdw shows it as a leading DW_OP_call_frame_cfa. */
	if (dwarf_frame_register(f, 6, mem, &ops, &n) == 0 && n == 2 &&
	    ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_breg6 && ops[1].number == 0)
		x.fp_at_fp = 1;
	free(f);
	return x;
}

/* What the compiler must make of a readelf row, by the rules of unwind_row.h
 * (x: libdw's reading of the row's expressions, if it has any). */
static struct pf_unwind_row expect(const struct rf_row *r, int signal, const struct exp_rules *x)
{
	struct pf_unwind_row w = {0};
	unsigned kind, ra;
	long fp, off;
	char *end;

	if (signal) {
		w.rule = PF_UNWIND_RULE(PF_UNWIND_SIGNAL, 0);
		return w;
	}
	if (!strcmp(r->ra, "u"))
		ra = PF_UNWIND_RA_UNDEFINED;
	else if ((ra = (unsigned)slot_below(r->ra, PF_UNWIND_RA_MAX_SLOT)) == 0)
		return unknown_row(0);
	/* readelf prints "u" for a register no rule has touched yet, which
	 * for rbp (callee-saved) means unchanged. */
	if (!r->fp[0] || !strcmp(r->fp, "u") || !strcmp(r->fp, "s"))
		fp = PF_UNWIND_FP_SAME;
	else if (!strcmp(r->fp, "exp") && x->fp_at_fp)
		fp = PF_UNWIND_FP_AT_FP;
	else if ((fp = slot_below(r->fp, PF_UNWIND_FP_MAX_SLOT)) == 0)
		fp = PF_UNWIND_FP_LOST;
	if (!strcmp(r->cfa, "exp") && x->plt && fp == PF_UNWIND_FP_SAME && x->cfa >= 0 &&
	    x->cfa % 8 == 0) {
		/* binutils' lazy PLT: rsp + 8 + ((rip & 15) >= 11) * 8 */
		w.rule = PF_UNWIND_RULE(PF_UNWIND_CFA_PLT, ra);
		w.cfa_off = (__u16)(x->cfa / 8);
		w.fp = (__u8)x->threshold;
		return w;
	}
	if (!strcmp(r->cfa, "exp") && x->deref_reg && x->cfa % 8 == 0 && x->cfa / 8 >= INT16_MIN &&
	    x->cfa / 8 <= INT16_MAX) {
		/* a realigned frame: CFA = *(reg + 8 * n) (+ 8) */
		kind = x->deref_reg == 6 ? PF_UNWIND_CFA_FP_DEREF : PF_UNWIND_CFA_SP_DEREF;
		w.rule = PF_UNWIND_RULE(kind + (x->deref_add ? 1 : 0), ra);
		w.cfa_off = (__u16)(int16_t)(x->cfa / 8);
		w.fp = (__u8)fp;
		return w;
	}
	if (!strncmp(r->cfa, "rsp", 3))
		kind = PF_UNWIND_CFA_SP;
	else if (!strncmp(r->cfa, "rbp", 3))
		kind = PF_UNWIND_CFA_FP;
	else
		return unknown_row(ra == PF_UNWIND_RA_UNDEFINED);
	off = strtol(r->cfa + 3, &end, 10);
	if (*end || off < 0 || off % 8 || off / 8 > UINT16_MAX)
		return unknown_row(ra == PF_UNWIND_RA_UNDEFINED);
	w.rule = PF_UNWIND_RULE(kind, ra);
	w.cfa_off = (__u16)(off / 8);
	w.fp = (__u8)fp;
	return w;
}

void cfc_plt_range(const char *path, uint64_t *start, uint64_t *end)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	Elf *elf;

	*start = *end = 0;
	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".plt")) {
			*start = sh.sh_addr;
			*end = sh.sh_addr + sh.sh_size;
		}
	}
	elf_end(elf);
	close(fd);
}

static int same_row(const struct pf_unwind_row *a, const struct pf_unwind_row *b)
{
	return a->rule == b->rule && a->cfa_off == b->cfa_off && a->fp == b->fp;
}

static void check_pc(const struct pf_unwind_table *t, uint64_t pc, const struct pf_unwind_row *want,
		     const struct rf_row *r, struct cfc_tally *n)
{
	const struct pf_unwind_row *got = pf_unwind_table_find(t, pc);

	if (got && same_row(got, want))
		return;
	if (n->mismatches++ < 10)
		fprintf(stderr,
			"pc %#llx (readelf: cfa %s rbp %s ra %s): want rule %#x cfa_off %u fp %u, "
			"got %s rule %#x cfa_off %u fp %u\n",
			(unsigned long long)pc, r ? r->cfa : "-", r ? r->fp : "-", r ? r->ra : "-",
			want->rule, want->cfa_off, want->fp, got ? "" : "no row",
			got ? got->rule : 0, got ? got->cfa_off : 0, got ? got->fp : 0);
}

static int by_start(const void *a, const void *b)
{
	const struct rf_fde *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

struct cfc_tally cfc_compare(const char *path)
{
	struct pf_error err = {0};
	struct pf_unwind_table *t = pf_unwind_table_from_path(path, &err);
	struct cfc_tally n = {0};
	uint64_t plt_lo, plt_hi, cur_end = 0;
	struct dw_oracle dw;
	struct rf_dump d;
	size_t i, j;

	if (!t)
		fprintf(stderr, "%s: %s\n", path, err.msg);
	assert_non_null(t);
	assert_int_equal(rf_load(path, &d), 0);
	cfc_plt_range(path, &plt_lo, &plt_hi);
	oracle_open(&dw, path);
	/* The FDEs in the order the table keeps them: where two overlap,
	 * the one starting first (or read first) holds the overlap. */
	qsort(d.fdes, d.n_fdes, sizeof(*d.fdes), by_start);
	for (i = 0; i < d.n_fdes; i++) {
		const struct rf_fde *f = &d.fdes[i];
		const struct pf_unwind_row gap = {.rule = PF_UNWIND_RULE(PF_UNWIND_GAP, 0)};

		if (f->start == f->end || f->start == 0)
			continue;
		if (n.fdes > 0 && f->start > cur_end) {
			check_pc(t, cur_end, &gap, NULL, &n);
			check_pc(t, f->start - 1, &gap, NULL, &n);
			n.gaps++;
		}
		n.fdes++;
		for (j = 0; j < f->n; j++) {
			const struct rf_row *r = &d.rows[f->first + j];
			uint64_t s = r->loc,
				 e = j + 1 < f->n ? d.rows[f->first + j + 1].loc : f->end;
			struct exp_rules x = {0};
			struct pf_unwind_row want;

			if (n.fdes > 1 && s < cur_end)
				s = cur_end;
			if (e > f->end)
				e = f->end;
			if (s >= e)
				continue;
			if (!f->signal && (!strcmp(r->cfa, "exp") || !strcmp(r->fp, "exp")))
				x = oracle_exp(&dw, f->debug_frame, s);
			want = expect(r, f->signal, &x);
			/* binutils puts the PLT expression on .plt alone */
			if (PF_UNWIND_ROW_KIND(&want) == PF_UNWIND_CFA_PLT)
				assert_true(s >= plt_lo && s < plt_hi);
			check_pc(t, s, &want, r, &n);
			check_pc(t, e - 1, &want, r, &n);
			n.rows++;
			n.plt += PF_UNWIND_ROW_KIND(&want) == PF_UNWIND_CFA_PLT;
			n.signal += PF_UNWIND_ROW_KIND(&want) == PF_UNWIND_SIGNAL;
			n.outermost += PF_UNWIND_ROW_RA(&want) == PF_UNWIND_RA_UNDEFINED;
			n.fp_cfa += PF_UNWIND_ROW_KIND(&want) == PF_UNWIND_CFA_FP;
			n.deref += PF_UNWIND_ROW_KIND(&want) == PF_UNWIND_CFA_FP_DEREF;
			n.sp_deref += PF_UNWIND_ROW_KIND(&want) == PF_UNWIND_CFA_SP_DEREF_8;
			n.fp_deref_8 += PF_UNWIND_ROW_KIND(&want) == PF_UNWIND_CFA_FP_DEREF_8;
			n.fp_at_fp += want.fp == PF_UNWIND_FP_AT_FP;
		}
		if (n.fdes == 1 || f->end > cur_end)
			cur_end = f->end;
	}
	if (n.fdes) {
		const struct pf_unwind_row gap = {.rule = PF_UNWIND_RULE(PF_UNWIND_GAP, 0)};

		check_pc(t, cur_end, &gap, NULL, &n);
	}
	fprintf(stderr,
		"%s: %zu FDEs, %zu readelf rows, %zu table rows, %zu gaps, %zu mismatches\n", path,
		n.fdes, n.rows, (size_t)t->n_rows, n.gaps, n.mismatches);
	assert_int_equal(n.mismatches, 0);
	assert_int_equal(t->bad_fdes, 0);
	assert_int_equal(t->skipped_fdes, 0);
	assert_false(t->truncated);
	oracle_close(&dw);
	rf_free(&d);
	pf_unwind_table_destroy(t);
	return n;
}
