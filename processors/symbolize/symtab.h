/* SPDX-License-Identifier: Apache-2.0 */
/* A sorted table of address ranges and names: ELF functions, kallsyms and perf-map entries. */
#ifndef PF_SYMTAB_H
#define PF_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

/*
 * Built by appending entries in any order, then sorted once by
 * pf_symtab_finish(); lookups are binary searches. Names (and an optional
 * module name per entry) live in one pool the table owns. An entry of size 0
 * covers the addresses up to the next entry (kallsyms gives no sizes).
 */
struct pf_sym {
	uint64_t addr;
	uint64_t size;
	uint32_t name;	 /* offset into the pool */
	uint32_t module; /* offset into the pool; 0 (the empty string) when none */
};

struct pf_symtab {
	struct pf_sym *syms;
	size_t n, cap;
	char *pool; /* starts with "" so offset 0 is the empty string */
	size_t pool_len, pool_cap;
	uint64_t max_gap; /* how far past its start a size-0 entry may cover */
};

/* Makes t empty. Returns 0 or -ENOMEM. */
int pf_symtab_init(struct pf_symtab *t);

/* Frees what t holds; t may be zeroed. */
void pf_symtab_free(struct pf_symtab *t);

/* Interns len bytes of s into the pool. Returns the offset, or UINT32_MAX on
 * ENOMEM or when the pool would pass 4 GiB. */
uint32_t pf_symtab_name(struct pf_symtab *t, const char *s, size_t len);

/* Appends an entry. Returns 0 or -ENOMEM. */
int pf_symtab_add(struct pf_symtab *t, uint64_t addr, uint64_t size, uint32_t name,
		  uint32_t module);

/* Sorts by address and drops exact duplicates; call once after the adds. */
void pf_symtab_finish(struct pf_symtab *t);

/* The entry covering addr, or NULL. */
const struct pf_sym *pf_symtab_lookup(const struct pf_symtab *t, uint64_t addr);

/* The NUL-terminated string at pool offset off. */
static inline const char *pf_symtab_str(const struct pf_symtab *t, uint32_t off)
{
	return t->pool + off;
}

/* Bytes held (for cache accounting). */
size_t pf_symtab_memory_size(const struct pf_symtab *t);

#endif
