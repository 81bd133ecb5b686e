// SPDX-License-Identifier: Apache-2.0
/* Open-addressing string index used for duplicate keys, merges and id lookups. */
#include "strindex.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

void pf_strindex_init(struct pf_strindex *ix)
{
	memset(ix, 0, sizeof(*ix));
}

static size_t find_slot(const char **keys, size_t cap, const char *key)
{
	size_t i = (size_t)hash_str(key) & (cap - 1);
	while (keys[i] && strcmp(keys[i], key) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct pf_strindex *ix)
{
	size_t cap = ix->cap ? ix->cap * 2 : 16;
	const char **keys = calloc(cap, sizeof(*keys));
	size_t *vals = calloc(cap, sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ix->cap; i++) {
		if (!ix->keys[i])
			continue;
		size_t s = find_slot(keys, cap, ix->keys[i]);
		keys[s] = ix->keys[i];
		vals[s] = ix->vals[i];
	}
	free(ix->keys);
	free(ix->vals);
	ix->keys = keys;
	ix->vals = vals;
	ix->cap = cap;
	return 0;
}

int pf_strindex_put(struct pf_strindex *ix, const char *key, size_t val, size_t *old)
{
	if ((ix->n + 1) * 2 > ix->cap) {
		int rc = grow(ix);
		if (rc < 0)
			return rc;
	}
	size_t s = find_slot(ix->keys, ix->cap, key);
	if (ix->keys[s]) {
		if (old)
			*old = ix->vals[s];
		ix->vals[s] = val;
		return 1;
	}
	ix->keys[s] = key;
	ix->vals[s] = val;
	ix->n++;
	return 0;
}

bool pf_strindex_get(const struct pf_strindex *ix, const char *key, size_t *val)
{
	if (ix->cap == 0)
		return false;
	size_t s = find_slot(ix->keys, ix->cap, key);
	if (!ix->keys[s])
		return false;
	if (val)
		*val = ix->vals[s];
	return true;
}

void pf_strindex_fini(struct pf_strindex *ix)
{
	free(ix->keys);
	free(ix->vals);
	memset(ix, 0, sizeof(*ix));
}
