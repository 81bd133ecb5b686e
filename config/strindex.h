/* SPDX-License-Identifier: Apache-2.0 */
/* A string-to-index hash table so key lookups in hostile configs stay linear. */
#ifndef PF_CONFIG_STRINDEX_H
#define PF_CONFIG_STRINDEX_H

#include <stdbool.h>
#include <stddef.h>

/* Open addressing; keys are borrowed and must outlive the table. Zero
 * initialise it (or pf_strindex_init) before use. */
struct pf_strindex {
	const char **keys;
	size_t *vals;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

void pf_strindex_init(struct pf_strindex *ix);

/* Inserts key -> val. When the key is already present its value is replaced,
 * the previous one stored in *old (if old is not NULL) and 1 is returned;
 * otherwise 0. -ENOMEM when growing fails. */
int pf_strindex_put(struct pf_strindex *ix, const char *key, size_t val, size_t *old);

/* True and *val set when key is present. */
bool pf_strindex_get(const struct pf_strindex *ix, const char *key, size_t *val);

/* Frees the table (not the keys). */
void pf_strindex_fini(struct pf_strindex *ix);

#endif
