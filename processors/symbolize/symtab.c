// SPDX-License-Identifier: Apache-2.0
/* The sorted address-range table behind every symbol source. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "symtab.h"

/* Default reach of a size-0 entry: past it the address is left unresolved. */
#define DEFAULT_MAX_GAP (1u << 20)

int pf_symtab_init(struct pf_symtab *t)
{
	memset(t, 0, sizeof(*t));
	t->pool_cap = 256;
	t->pool = calloc(1, t->pool_cap);
	if (!t->pool)
		return -ENOMEM;
	t->pool_len = 1;
	t->max_gap = DEFAULT_MAX_GAP;
	return 0;
}

void pf_symtab_free(struct pf_symtab *t)
{
	free(t->syms);
	free(t->pool);
	memset(t, 0, sizeof(*t));
}

uint32_t pf_symtab_name(struct pf_symtab *t, const char *s, size_t len)
{
	size_t need = t->pool_len + len + 1, off = t->pool_len;

	if (need >= UINT32_MAX)
		return UINT32_MAX;
	if (need > t->pool_cap) {
		size_t cap = t->pool_cap ? t->pool_cap : 256;
		char *p;

		while (cap < need)
			cap *= 2;
		p = realloc(t->pool, cap);
		if (!p)
			return UINT32_MAX;
		t->pool = p;
		t->pool_cap = cap;
	}
	memcpy(t->pool + off, s, len);
	t->pool[off + len] = '\0';
	t->pool_len = need;
	return (uint32_t)off;
}

int pf_symtab_add(struct pf_symtab *t, uint64_t addr, uint64_t size, uint32_t name, uint32_t module)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct pf_sym *p = reallocarray(t->syms, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		t->syms = p;
		t->cap = cap;
	}
	t->syms[t->n++] = (struct pf_sym){addr, size, name, module};
	return 0;
}

/* Gives back what growing by doubling left unused: a table is built once and
 * kept (the kernel's holds 100,000 symbols). Failure keeps the larger. */
static void shrink(struct pf_symtab *t)
{
	struct pf_sym *syms = reallocarray(t->syms, t->n, sizeof(*syms));
	char *pool = realloc(t->pool, t->pool_len);

	if (syms) {
		t->syms = syms;
		t->cap = t->n;
	}
	if (pool) {
		t->pool = pool;
		t->pool_cap = t->pool_len;
	}
}

/* By address; among equal addresses the sized entry first, then the
 * earlier name, so the pick is stable. */
static int sym_cmp(const void *a, const void *b)
{
	const struct pf_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	if (x->name != y->name)
		return x->name < y->name ? -1 : 1;
	return 0;
}

void pf_symtab_finish(struct pf_symtab *t)
{
	size_t i, out = 0;

	if (t->n == 0)
		return;
	qsort(t->syms, t->n, sizeof(*t->syms), sym_cmp);
	/* Keep the first entry at each address (aliases share one). */
	for (i = 0; i < t->n; i++) {
		if (out && t->syms[out - 1].addr == t->syms[i].addr)
			continue;
		t->syms[out++] = t->syms[i];
	}
	t->n = out;
	shrink(t);
}

const struct pf_sym *pf_symtab_lookup(const struct pf_symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;
	const struct pf_sym *s;

	/* The last entry starting at or below addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	s = &t->syms[lo - 1];
	if (s->size)
		return addr - s->addr < s->size ? s : NULL;
	if (lo < t->n && addr >= t->syms[lo].addr)
		return NULL;
	return addr - s->addr < t->max_gap ? s : NULL;
}

size_t pf_symtab_memory_size(const struct pf_symtab *t)
{
	return t->cap * sizeof(*t->syms) + t->pool_cap + sizeof(*t);
}
