// SPDX-License-Identifier: Apache-2.0
/* Runs an FDE's CFA program (DWARF 5 §6.4.2) and turns each of its rows into a compact unwind row. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "host/cfi_parse.h"
#include "host/cfi_read.h"

const struct pf_cfi_arch pf_cfi_arch_x86_64 = {.sp = 7, .fp = 6, .ra = 16, .link_reg = 0};

/* DW_CFA_* opcodes; the first three carry their operand in the low 6 bits. */
enum {
	CFA_advance_loc = 0x40,
	CFA_offset = 0x80,
	CFA_restore = 0xc0,
	CFA_nop = 0x00,
	CFA_set_loc = 0x01,
	CFA_advance_loc1 = 0x02,
	CFA_advance_loc2 = 0x03,
	CFA_advance_loc4 = 0x04,
	CFA_offset_extended = 0x05,
	CFA_restore_extended = 0x06,
	CFA_undefined = 0x07,
	CFA_same_value = 0x08,
	CFA_register = 0x09,
	CFA_remember_state = 0x0a,
	CFA_restore_state = 0x0b,
	CFA_def_cfa = 0x0c,
	CFA_def_cfa_register = 0x0d,
	CFA_def_cfa_offset = 0x0e,
	CFA_def_cfa_expression = 0x0f,
	CFA_expression = 0x10,
	CFA_offset_extended_sf = 0x11,
	CFA_def_cfa_sf = 0x12,
	CFA_def_cfa_offset_sf = 0x13,
	CFA_val_offset = 0x14,
	CFA_val_offset_sf = 0x15,
	CFA_val_expression = 0x16,
	CFA_GNU_window_save = 0x2d,
	CFA_GNU_args_size = 0x2e,
	CFA_GNU_negative_offset_extended = 0x2f,
};

/* Nested DW_CFA_remember_state beyond this is refused (compilers use 1-2). */
#define STATE_STACK_MAX 32

/* A register's rule, reduced to what a row can say about it. */
enum reg_how { REG_SAME, REG_UNDEF, REG_OFFSET, REG_AT_FP, REG_OTHER };

struct reg_rule {
	enum reg_how how;
	int64_t off; /* REG_OFFSET: saved at CFA + off */
};

struct state {
	int cfa_expr; /* the CFA is a DWARF expression (expr, expr_len) */
	uint64_t cfa_reg;
	int64_t cfa_off;
	const uint8_t *expr;
	size_t expr_len;
	struct reg_rule fp, ra;
};

struct machine {
	const struct pf_cfi_section *sec;
	const struct pf_cfi_cie *cie;
	struct pf_cfi_out *out;
	struct state cur, init;
	uint64_t start, loc, end;
	size_t first; /* the FDE's first row in out */
	int emit;     /* 0 while running the CIE's initial instructions */
	unsigned depth;
	struct state stack[STATE_STACK_MAX]; /* last: not zeroed per FDE */
};

/* CFA = sp + N + (((pc & 15) >= T) << 3), the shape binutils gives every
 * lazy PLT's FDE; sets *n and *t. */
static int plt_shape(const struct pf_cfi_arch *a, const uint8_t *e, size_t len, int64_t *n,
		     unsigned *t)
{
	struct pf_cfi_cursor c = {.base = e, .p = e, .end = e + len};
	int64_t pc_off;

	if (a->sp >= 32 || a->ra >= 32 || pf_cfi_fixed(&c, 1) != 0x70 + a->sp)
		return 0;
	*n = pf_cfi_sleb(&c);
	if (pf_cfi_fixed(&c, 1) != 0x70 + a->ra)
		return 0;
	pc_off = pf_cfi_sleb(&c);
	if (pf_cfi_fixed(&c, 1) != 0x3f /* lit15 */ || pf_cfi_fixed(&c, 1) != 0x1a /* and */)
		return 0;
	*t = (unsigned)pf_cfi_fixed(&c, 1) - 0x30; /* litT */
	if (pf_cfi_fixed(&c, 1) != 0x2a /* ge */ || pf_cfi_fixed(&c, 1) != 0x33 /* lit3 */ ||
	    pf_cfi_fixed(&c, 1) != 0x24 /* shl */ || pf_cfi_fixed(&c, 1) != 0x22 /* plus */)
		return 0;
	return !c.bad && pf_cfi_left(&c) == 0 && pc_off == 0 && *t <= 15;
}

/* `DW_OP_breg<reg> off`, then `DW_OP_deref` if deref, then if deref and
 * more follows `DW_OP_plus_uconst add`, and nothing else; sets *off and
 * *add. LEB128 operands may be padded (assemblers' .cfi_escape often are). */
static int breg_shape(const uint8_t *e, size_t len, unsigned reg, int deref, int64_t *off,
		      uint64_t *add)
{
	struct pf_cfi_cursor c = {.base = e, .p = e, .end = e + len};

	*add = 0;
	if (reg >= 32 || pf_cfi_fixed(&c, 1) != 0x70 + reg)
		return 0;
	*off = pf_cfi_sleb(&c);
	if (deref && pf_cfi_fixed(&c, 1) != 0x06 /* DW_OP_deref */)
		return 0;
	if (deref && !c.bad && pf_cfi_left(&c) > 0) {
		if (pf_cfi_fixed(&c, 1) != 0x23 /* DW_OP_plus_uconst */)
			return 0;
		*add = pf_cfi_uleb(&c);
	}
	return !c.bad && pf_cfi_left(&c) == 0;
}

/* A CFA read from a stack slot: `DW_OP_breg<sp or fp> n; DW_OP_deref`,
 * plus 0 or 8. Returns its kind and sets *n, or returns 0. */
static unsigned deref_kind(const struct pf_cfi_arch *a, const uint8_t *e, size_t len, int64_t *n)
{
	uint64_t add;

	if (breg_shape(e, len, a->fp, 1, n, &add) && (add == 0 || add == 8))
		return add ? PF_UNWIND_CFA_FP_DEREF_8 : PF_UNWIND_CFA_FP_DEREF;
	if (breg_shape(e, len, a->sp, 1, n, &add) && (add == 0 || add == 8))
		return add ? PF_UNWIND_CFA_SP_DEREF_8 : PF_UNWIND_CFA_SP_DEREF;
	return 0;
}

/* A byte offset as a count of 8-byte slots, or -1 if it is not one within max. */
static int64_t slots(int64_t off, int64_t max)
{
	if (off < 0 || off % 8 != 0 || off / 8 > max)
		return -1;
	return off / 8;
}

/* A save slot's (negative) offset from the CFA as a count of 8-byte slots
 * below it, or -1 if it is not one within 1..max. */
static int64_t slots_below(int64_t off, int64_t max)
{
	if (off >= 0 || off < -8 * max || off % 8 != 0)
		return -1;
	return -off / 8;
}

static struct pf_unwind_row compact(const struct pf_cfi_arch *a, int signal, const struct state *s)
{
	struct pf_unwind_row r = {0};
	unsigned ra = PF_UNWIND_RA_IN_REG, t = 0, kind;
	int64_t off = -1, fp = -1, n;

	if (signal) {
		r.rule = PF_UNWIND_RULE(PF_UNWIND_SIGNAL, 0);
		return r;
	}
	kind = PF_UNWIND_UNKNOWN;
	if (s->ra.how == REG_UNDEF)
		ra = PF_UNWIND_RA_UNDEFINED;
	else if (s->ra.how == REG_SAME && a->link_reg)
		ra = PF_UNWIND_RA_IN_REG;
	else if (s->ra.how == REG_OFFSET && (n = slots_below(s->ra.off, PF_UNWIND_RA_MAX_SLOT)) > 0)
		ra = (unsigned)n;
	else
		goto out_unknown;
	if (s->fp.how == REG_SAME)
		fp = PF_UNWIND_FP_SAME;
	else if (s->fp.how == REG_OFFSET && (n = slots_below(s->fp.off, PF_UNWIND_FP_MAX_SLOT)) > 0)
		fp = n;
	else if (s->fp.how == REG_AT_FP)
		fp = PF_UNWIND_FP_AT_FP;
	else
		fp = PF_UNWIND_FP_LOST;
	if (!s->cfa_expr && (s->cfa_reg == a->sp || s->cfa_reg == a->fp)) {
		off = slots(s->cfa_off, UINT16_MAX);
		kind = s->cfa_reg == a->sp ? PF_UNWIND_CFA_SP : PF_UNWIND_CFA_FP;
	} else if (s->cfa_expr && plt_shape(a, s->expr, s->expr_len, &n, &t) &&
		   fp == PF_UNWIND_FP_SAME) {
		off = slots(n, UINT16_MAX);
		kind = PF_UNWIND_CFA_PLT;
		fp = t;
	} else if (s->cfa_expr && (t = deref_kind(a, s->expr, s->expr_len, &n)) != 0) {
		/* a signed slot count, stored as its 16-bit two's complement */
		if (n % 8 != 0 || n / 8 < INT16_MIN || n / 8 > INT16_MAX)
			goto out_unknown;
		off = (uint16_t)(int16_t)(n / 8);
		kind = t;
	}
	if (off < 0)
		goto out_unknown;
	r.cfa_off = (__u16)off;
	r.fp = (__u8)fp;
	r.rule = PF_UNWIND_RULE(kind, ra);
	return r;
out_unknown:
	r.rule = PF_UNWIND_RULE(PF_UNWIND_UNKNOWN,
				ra == PF_UNWIND_RA_UNDEFINED ? PF_UNWIND_RA_UNDEFINED : 0);
	return r;
}

/* Emits the row in force from m->loc up to `to` (the next row's pc);
 * a row equal to the FDE's previous one only extends it. */
static int emit_to(struct machine *m, uint64_t to)
{
	struct pf_cfi_out *o = m->out;
	uint64_t from = m->loc;
	struct pf_unwind_row r;

	if (to <= from)
		return 0;
	m->loc = to;
	r = compact(m->sec->arch, m->cie->signal, &m->cur);
	if (o->n_rows > m->first && o->rows[o->n_rows - 1].rule == r.rule &&
	    o->rows[o->n_rows - 1].cfa_off == r.cfa_off && o->rows[o->n_rows - 1].fp == r.fp)
		return 0;
	return pf_cfi_out_row(o, (uint32_t)(from - m->start), r);
}

static struct reg_rule *rule_of(struct machine *m, struct state *s, uint64_t reg)
{
	if (reg == m->sec->arch->fp)
		return &s->fp;
	if (reg == m->cie->ra_reg)
		return &s->ra;
	return NULL;
}

static void set_rule(struct machine *m, uint64_t reg, enum reg_how how, int64_t off)
{
	struct reg_rule *r = rule_of(m, &m->cur, reg);

	if (r) {
		r->how = how;
		r->off = off;
	}
}

static void restore(struct machine *m, uint64_t reg)
{
	struct reg_rule *r = rule_of(m, &m->cur, reg);

	if (r)
		*r = *rule_of(m, &m->init, reg);
}

/* A factored operand times its alignment factor, wrapping like the
 * unsigned arithmetic of a malformed file would. */
static int64_t factored(uint64_t v, int64_t align)
{
	return (int64_t)(v * (uint64_t)align);
}

/* Moves the location `delta` code units on, emitting the row before it;
 * past the FDE's end the rest of the program describes nothing (returns 1). */
static int advance(struct machine *m, uint64_t delta)
{
	uint64_t room = m->end - m->loc;
	int rc;

	if (!m->emit)
		return -EINVAL; /* a CIE has no location to advance */
	if (delta > room / m->cie->code_align) {
		rc = emit_to(m, m->end);
		return rc < 0 ? rc : 1;
	}
	return emit_to(m, m->loc + delta * m->cie->code_align);
}

/* Runs one instruction sequence. Returns 0, 1 when the FDE's end was
 * reached, -EINVAL on a malformed program, -ENOMEM. */
static int run(struct machine *m, const uint8_t *ins, size_t len)
{
	struct pf_cfi_cursor c = {
		.base = m->sec->data, .p = ins, .end = ins + len, .vaddr = m->sec->vaddr};
	int64_t align = m->cie->data_align;
	uint64_t reg, delta, to;
	int rc;

	while (c.p < c.end) {
		uint8_t op = *c.p++;

		rc = 0;
		switch (op & 0xc0) {
		case CFA_advance_loc: rc = advance(m, op & 0x3f); goto next;
		case CFA_offset:
			set_rule(m, op & 0x3f, REG_OFFSET, factored(pf_cfi_uleb(&c), align));
			goto next;
		case CFA_restore: restore(m, op & 0x3f); goto next;
		}
		switch (op) {
		case CFA_nop:
		case CFA_GNU_window_save: break;
		case CFA_set_loc:
			to = pf_cfi_pointer(&c, m->cie->fde_enc, m->sec->addr_size);
			if (!m->emit || c.bad || to < m->loc)
				return -EINVAL;
			rc = emit_to(m, to < m->end ? to : m->end);
			if (rc == 0 && to >= m->end)
				rc = 1;
			break;
		case CFA_advance_loc1:
		case CFA_advance_loc2:
		case CFA_advance_loc4:
			delta = pf_cfi_fixed(&c, op == CFA_advance_loc1	  ? 1
						 : op == CFA_advance_loc2 ? 2
									  : 4);
			if (c.bad)
				return -EINVAL;
			rc = advance(m, delta);
			break;
		case CFA_offset_extended:
			reg = pf_cfi_uleb(&c);
			set_rule(m, reg, REG_OFFSET, factored(pf_cfi_uleb(&c), align));
			break;
		case CFA_offset_extended_sf:
			reg = pf_cfi_uleb(&c);
			set_rule(m, reg, REG_OFFSET, factored((uint64_t)pf_cfi_sleb(&c), align));
			break;
		case CFA_GNU_negative_offset_extended:
			reg = pf_cfi_uleb(&c);
			set_rule(m, reg, REG_OFFSET,
				 (int64_t)(0 - (uint64_t)factored(pf_cfi_uleb(&c), align)));
			break;
		case CFA_restore_extended: restore(m, pf_cfi_uleb(&c)); break;
		case CFA_undefined: set_rule(m, pf_cfi_uleb(&c), REG_UNDEF, 0); break;
		case CFA_same_value: set_rule(m, pf_cfi_uleb(&c), REG_SAME, 0); break;
		case CFA_register:
		case CFA_val_offset:
			reg = pf_cfi_uleb(&c);
			(void)pf_cfi_uleb(&c);
			set_rule(m, reg, REG_OTHER, 0);
			break;
		case CFA_val_offset_sf:
			reg = pf_cfi_uleb(&c);
			(void)pf_cfi_sleb(&c);
			set_rule(m, reg, REG_OTHER, 0);
			break;
		case CFA_expression:
		case CFA_val_expression: {
			const uint8_t *e;
			uint64_t len;
			int64_t off;
			uint64_t add;

			reg = pf_cfi_uleb(&c);
			len = pf_cfi_uleb(&c);
			e = c.p;
			pf_cfi_skip(&c, len);
			/* "saved at the address fp holds": a realigned frame's fp */
			set_rule(m, reg,
				 op == CFA_expression && !c.bad && reg == m->sec->arch->fp &&
						 breg_shape(e, len, m->sec->arch->fp, 0, &off,
							    &add) &&
						 off == 0
					 ? REG_AT_FP
					 : REG_OTHER,
				 0);
			break;
		}
		case CFA_remember_state:
			if (m->depth == STATE_STACK_MAX)
				return -EINVAL;
			m->stack[m->depth++] = m->cur;
			break;
		case CFA_restore_state:
			if (m->depth == 0)
				return -EINVAL;
			m->cur = m->stack[--m->depth];
			break;
		case CFA_def_cfa:
			m->cur.cfa_reg = pf_cfi_uleb(&c);
			m->cur.cfa_off = (int64_t)pf_cfi_uleb(&c);
			m->cur.cfa_expr = 0;
			break;
		case CFA_def_cfa_sf:
			m->cur.cfa_reg = pf_cfi_uleb(&c);
			m->cur.cfa_off = factored((uint64_t)pf_cfi_sleb(&c), align);
			m->cur.cfa_expr = 0;
			break;
		case CFA_def_cfa_register:
			m->cur.cfa_reg = pf_cfi_uleb(&c);
			m->cur.cfa_expr = 0;
			break;
		case CFA_def_cfa_offset: m->cur.cfa_off = (int64_t)pf_cfi_uleb(&c); break;
		case CFA_def_cfa_offset_sf:
			m->cur.cfa_off = factored((uint64_t)pf_cfi_sleb(&c), align);
			break;
		case CFA_def_cfa_expression:
			m->cur.expr_len = pf_cfi_uleb(&c);
			m->cur.expr = c.p;
			pf_cfi_skip(&c, m->cur.expr_len);
			m->cur.cfa_expr = 1;
			break;
		case CFA_GNU_args_size: (void)pf_cfi_uleb(&c); break;
		default: return -EINVAL;
		}
	next:
		if (c.bad)
			return -EINVAL;
		if (rc != 0)
			return rc;
	}
	return 0;
}

int pf_cfi_exec(const struct pf_cfi_section *sec, const struct pf_cfi_cie *cie, const uint8_t *ins,
		size_t len, uint64_t start, uint64_t end, struct pf_cfi_out *out)
{
	struct machine m;
	int rc;

	if (cie->code_align == 0 || end < start)
		return -EINVAL;
	/* Entries of the state stack are written before they are read. */
	memset(&m, 0, offsetof(struct machine, stack));
	m.sec = sec;
	m.cie = cie;
	m.out = out;
	m.first = out->n_rows;
	m.start = m.loc = start;
	m.end = end;
	m.cur.cfa_reg = UINT64_MAX; /* no CFA until the CIE defines one */
	rc = run(&m, cie->init, cie->init_len);
	if (rc < 0)
		goto out_drop;
	m.init = m.cur;
	m.emit = 1;
	rc = run(&m, ins, len);
	if (rc == 0)
		rc = emit_to(&m, end);
	if (rc < 0)
		goto out_drop;
	return 0;
out_drop:
	out->n_rows = m.first;
	return rc;
}
