/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel symbols from /proc/kallsyms, with module names, refreshed when modules change. */
#ifndef PF_KALLSYMS_H
#define PF_KALLSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symtab.h"

/*
 * Parses kallsyms text ("ffffffff81000000 T name" or "... t name\t[module]")
 * into t: text symbols only (t, T, w, W), without sizes. Returns the number
 * of symbols added, -EACCES when every address reads as zero (kptr_restrict
 * hides them), or -ENOMEM. Call pf_symtab_finish() after.
 */
long pf_kallsyms_parse(const char *buf, size_t len, struct pf_symtab *t);

/* The kernel's symbols, loaded once and reloaded when /proc/modules changes. */
struct pf_kallsyms;

/* Reads `path` (NULL: /proc/kallsyms), watching `modules_path` (NULL:
 * /proc/modules) for changes. Returns NULL on failure with *err set to a
 * negative errno. */
struct pf_kallsyms *pf_kallsyms_open(const char *path, const char *modules_path, int *err);

/* Takes NULL. */
void pf_kallsyms_close(struct pf_kallsyms *k);

/* Reloads when the module list changed, at most once per `min_interval_ms`
 * of `now_ms`. Returns 0, 1 when reloaded, or a negative errno (the old
 * table stays). */
int pf_kallsyms_refresh(struct pf_kallsyms *k, uint64_t now_ms, uint64_t min_interval_ms);

/* The function containing addr: its name and module ("" for the core
 * kernel). Returns false when none does. */
bool pf_kallsyms_lookup(const struct pf_kallsyms *k, uint64_t addr, const char **name,
			const char **module);

#endif
