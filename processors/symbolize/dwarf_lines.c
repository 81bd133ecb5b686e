// SPDX-License-Identifier: Apache-2.0
/* Per-CU indexes of function scopes; an address's line, then each inlined call site outwards. */
#include <dwarf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_lines.h"

#define NO_PARENT UINT32_MAX
#define MAX_DEPTH 256

struct scope_range {
	uint64_t lo, hi;
	uint32_t scope;
};

/* A subprogram or inlined subroutine with code. */
struct scope {
	Dwarf_Off off;
	uint32_t parent; /* nearest enclosing scope, NO_PARENT at the top */
	uint32_t depth;
	uint32_t first_range, n_ranges; /* into the unsorted copy, for containment */
	/* Read from the DIE on first use (strings point into the Dwarf). */
	bool known, inlined;
	int decl_line, call_line;
	const char *name, *call_file;
};

struct cu_index {
	Dwarf_Off off; /* the CU DIE's offset */
	Dwarf_Die cu;
	struct scope *scopes;
	size_t n_scopes, cap_scopes;
	struct scope_range *ranges;   /* sorted by lo, then outer first */
	struct scope_range *by_scope; /* the same, grouped by scope */
	size_t n_ranges, cap_ranges;
};

struct pf_dwarf_lines {
	Dwarf *dw;
	struct cu_index **cus; /* sorted by off */
	size_t n_cus, cap_cus;
	size_t bytes;
};

struct pf_dwarf_lines *pf_dwarf_lines_new(Dwarf *dw)
{
	struct pf_dwarf_lines *dl = calloc(1, sizeof(*dl));

	if (dl)
		dl->dw = dw;
	return dl;
}

static void cu_free(struct cu_index *c)
{
	if (!c)
		return;
	free(c->scopes);
	free(c->ranges);
	free(c->by_scope);
	free(c);
}

void pf_dwarf_lines_free(struct pf_dwarf_lines *dl)
{
	size_t i;

	if (!dl)
		return;
	for (i = 0; i < dl->n_cus; i++)
		cu_free(dl->cus[i]);
	free(dl->cus);
	free(dl);
}

size_t pf_dwarf_lines_memory_size(const struct pf_dwarf_lines *dl)
{
	return sizeof(*dl) + dl->cap_cus * sizeof(*dl->cus) + dl->bytes;
}

/* ---- building a CU's index ---- */

static int add_scope(struct cu_index *c, Dwarf_Die *die, uint32_t parent, uint32_t depth,
		     uint32_t *out)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t it = 0;
	struct scope *s;
	uint32_t first = (uint32_t)c->n_ranges;

	while ((it = dwarf_ranges(die, it, &base, &lo, &hi)) > 0) {
		if (hi <= lo)
			continue;
		if (c->n_ranges == c->cap_ranges) {
			size_t cap = c->cap_ranges ? c->cap_ranges * 2 : 64;
			struct scope_range *p = reallocarray(c->ranges, cap, sizeof(*p));

			if (!p)
				return -ENOMEM;
			c->ranges = p;
			c->cap_ranges = cap;
		}
		c->ranges[c->n_ranges++] = (struct scope_range){lo, hi, (uint32_t)c->n_scopes};
	}
	if (c->n_ranges == first)
		return 0; /* no code (declaration, or optimized away) */
	if (c->n_scopes == c->cap_scopes) {
		size_t cap = c->cap_scopes ? c->cap_scopes * 2 : 32;
		struct scope *p = reallocarray(c->scopes, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		c->scopes = p;
		c->cap_scopes = cap;
	}
	s = &c->scopes[c->n_scopes];
	memset(s, 0, sizeof(*s));
	s->off = dwarf_dieoffset(die);
	s->parent = parent;
	s->depth = depth;
	s->first_range = first;
	s->n_ranges = (uint32_t)(c->n_ranges - first);
	*out = (uint32_t)c->n_scopes++;
	return 1;
}

/* Tags whose children may hold code scopes. */
static bool may_hold_code(int tag)
{
	switch (tag) {
	case DW_TAG_compile_unit:
	case DW_TAG_partial_unit:
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_lexical_block:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_module:
	case DW_TAG_try_block:
	case DW_TAG_catch_block: return true;
	default: return false;
	}
}

/* Depth-first over the CU with an explicit stack (no recursion on input). */
static int walk(struct cu_index *c)
{
	struct frame {
		Dwarf_Die die;
		uint32_t scope; /* the nearest code scope at this level */
	} *stack = calloc(MAX_DEPTH, sizeof(*stack));
	size_t sp = 0;
	int ret = 0;

	if (!stack)
		return -ENOMEM;
	if (dwarf_child(&c->cu, &stack[0].die) != 0)
		goto out;
	stack[0].scope = NO_PARENT;
	sp = 1;
	while (sp) {
		struct frame *f = &stack[sp - 1];
		Dwarf_Die *die = &f->die;
		int tag = dwarf_tag(die);
		uint32_t scope = f->scope, added;
		Dwarf_Die child;

		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			ret = add_scope(c, die, f->scope, (uint32_t)sp, &added);
			if (ret < 0)
				goto out;
			if (ret > 0)
				scope = added;
			ret = 0;
		}
		if (may_hold_code(tag) && sp < MAX_DEPTH && dwarf_child(die, &child) == 0) {
			/* Visit the children, then come back for the sibling. */
			stack[sp].die = child;
			stack[sp].scope = scope;
			sp++;
			continue;
		}
		/* Next sibling here, or climb until one has a sibling. */
		while (sp && dwarf_siblingof(&stack[sp - 1].die, &stack[sp - 1].die) != 0)
			sp--;
	}
out:
	free(stack);
	return ret;
}

static int range_cmp(const void *a, const void *b)
{
	const struct scope_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	/* Outer (wider, then shallower by order of discovery) first. */
	if (x->hi != y->hi)
		return x->hi > y->hi ? -1 : 1;
	return x->scope < y->scope ? -1 : x->scope > y->scope;
}

static struct cu_index *build(struct pf_dwarf_lines *dl, Dwarf_Die *cudie)
{
	struct cu_index *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cu = *cudie;
	c->off = dwarf_dieoffset(cudie);
	if (walk(c) < 0)
		goto out_free;
	if (c->n_ranges) {
		c->by_scope = calloc(c->n_ranges, sizeof(*c->by_scope));
		if (!c->by_scope)
			goto out_free;
		memcpy(c->by_scope, c->ranges, c->n_ranges * sizeof(*c->ranges));
		qsort(c->ranges, c->n_ranges, sizeof(*c->ranges), range_cmp);
	}
	dl->bytes += sizeof(*c) + c->cap_scopes * sizeof(*c->scopes) +
		     (c->cap_ranges + c->n_ranges) * sizeof(*c->ranges);
	return c;

out_free:
	cu_free(c);
	return NULL;
}

/* The index of the CU at cudie, built on first use. */
static struct cu_index *cu_get(struct pf_dwarf_lines *dl, Dwarf_Die *cudie)
{
	Dwarf_Off off = dwarf_dieoffset(cudie);
	size_t lo = 0, hi = dl->n_cus;
	struct cu_index *c;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (dl->cus[mid]->off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < dl->n_cus && dl->cus[lo]->off == off)
		return dl->cus[lo];
	if (dl->n_cus == dl->cap_cus) {
		size_t cap = dl->cap_cus ? dl->cap_cus * 2 : 16;
		struct cu_index **p = reallocarray(dl->cus, cap, sizeof(*p));

		if (!p)
			return NULL;
		dl->cus = p;
		dl->cap_cus = cap;
	}
	c = build(dl, cudie);
	if (!c)
		return NULL;
	memmove(&dl->cus[lo + 1], &dl->cus[lo], (dl->n_cus - lo) * sizeof(*dl->cus));
	dl->cus[lo] = c;
	dl->n_cus++;
	return c;
}

/* ---- asking ---- */

static bool scope_has(const struct cu_index *c, uint32_t s, uint64_t addr)
{
	const struct scope *sc = &c->scopes[s];
	uint32_t i;

	for (i = 0; i < sc->n_ranges; i++) {
		const struct scope_range *r = &c->by_scope[sc->first_range + i];

		if (addr >= r->lo && addr < r->hi)
			return true;
	}
	return false;
}

/* The innermost scope holding addr, or NO_PARENT. Scopes nest, so the
 * last range starting at or below addr belongs to it or to one of its
 * descendants: climb from there. */
static uint32_t innermost(const struct cu_index *c, uint64_t addr)
{
	size_t lo = 0, hi = c->n_ranges;
	uint32_t s;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->ranges[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NO_PARENT;
	s = c->ranges[lo - 1].scope;
	while (s != NO_PARENT && !scope_has(c, s, addr))
		s = c->scopes[s].parent;
	return s;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *s;

	if ((dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
	     dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a)) &&
	    (s = dwarf_formstring(&a)) != NULL)
		return s;
	if (dwarf_attr_integrate(die, DW_AT_name, &a))
		return dwarf_formstring(&a);
	return NULL;
}

/* The CU holding vaddr: through .debug_aranges, else by asking every CU
 * (compilers that emit no aranges). */
static bool find_cu(Dwarf *dw, uint64_t vaddr, Dwarf_Die *cu)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (dwarf_addrdie(dw, vaddr, cu))
		return true;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(dw, off + hsize, cu) && dwarf_haspc(cu, vaddr) > 0)
			return true;
		off = next;
	}
	return false;
}

/* Reads what frames need of a scope's DIE, once: each scope recurs in many
 * addresses, and following abstract origins for names is the costly part. */
static int learn(struct pf_dwarf_lines *dl, struct scope *sc, Dwarf_Files *files, size_t nfiles)
{
	Dwarf_Attribute a;
	Dwarf_Word w;
	Dwarf_Die die;

	if (!dwarf_offdie(dl->dw, sc->off, &die))
		return -1;
	if (dwarf_decl_line(&die, &sc->decl_line) != 0)
		sc->decl_line = 0;
	sc->name = die_name(&die);
	sc->inlined = dwarf_tag(&die) == DW_TAG_inlined_subroutine;
	if (sc->inlined) {
		if (files && dwarf_formudata(dwarf_attr(&die, DW_AT_call_file, &a), &w) == 0 &&
		    w < nfiles)
			sc->call_file = dwarf_filesrc(files, w, NULL, NULL);
		if (dwarf_formudata(dwarf_attr(&die, DW_AT_call_line, &a), &w) == 0 &&
		    w <= INT32_MAX)
			sc->call_line = (int)w;
	}
	sc->known = true;
	return 0;
}

size_t pf_dwarf_frames(struct pf_dwarf_lines *dl, uint64_t vaddr, struct pf_dwarf_frame *out,
		       size_t max)
{
	Dwarf_Files *files = NULL;
	struct cu_index *c;
	Dwarf_Die cudie;
	Dwarf_Line *ln;
	const char *file = NULL;
	size_t k = 0, nfiles = 0;
	uint32_t s;
	int line = 0;

	if (!dl || max == 0 || !find_cu(dl->dw, vaddr, &cudie))
		return 0;
	c = cu_get(dl, &cudie);
	if (!c)
		return 0;
	s = innermost(c, vaddr);
	if (s == NO_PARENT)
		return 0;
	ln = dwarf_getsrc_die(&c->cu, vaddr);
	if (ln) {
		file = dwarf_linesrc(ln, NULL, NULL);
		dwarf_lineno(ln, &line);
	}
	if (dwarf_getsrcfiles(&c->cu, &files, &nfiles) != 0)
		files = NULL;
	for (; s != NO_PARENT; s = c->scopes[s].parent) {
		struct scope *sc = &c->scopes[s];

		if (!sc->known && learn(dl, sc, files, nfiles) < 0)
			break;
		if (k == max) {
			/* Too deep: drop the innermost, keep the function. */
			memmove(out, out + 1, (max - 1) * sizeof(*out));
			k--;
		}
		out[k++] = (struct pf_dwarf_frame){sc->name, file, line, sc->decl_line};
		if (!sc->inlined)
			break;
		/* The caller's position is the inlined call site. */
		file = sc->call_file;
		line = sc->call_line;
	}
	return k;
}
