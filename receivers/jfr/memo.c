// SPDX-License-Identifier: Apache-2.0
/* A u64 -> u32 hash map for the JFR decoder's caches (constant pool key -> batch index). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decoder.h"

uint64_t jfr_mix(uint64_t k)
{
	k ^= k >> 31;
	k *= 0x9e3779b97f4a7c15ULL;
	k ^= k >> 29;
	return k;
}

bool jfr_memo_get(const struct jfr_memo *m, uint64_t key, uint32_t *val)
{
	if (!m->cap)
		return false;
	for (size_t h = jfr_mix(key) & (m->cap - 1); m->vals[h]; h = (h + 1) & (m->cap - 1))
		if (m->keys[h] == key) {
			*val = m->vals[h] - 1;
			return true;
		}
	return false;
}

int jfr_memo_put(struct jfr_memo *m, uint64_t key, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 256;
		uint64_t *keys = calloc(ncap, sizeof(*keys));
		uint32_t *vals = calloc(ncap, sizeof(*vals));
		if (!keys || !vals) {
			free(keys);
			free(vals);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->vals[i])
				continue;
			size_t h = jfr_mix(m->keys[i]) & (ncap - 1);
			while (vals[h])
				h = (h + 1) & (ncap - 1);
			keys[h] = m->keys[i];
			vals[h] = m->vals[i];
		}
		free(m->keys);
		free(m->vals);
		m->keys = keys;
		m->vals = vals;
		m->cap = ncap;
	}
	size_t h = jfr_mix(key) & (m->cap - 1);
	while (m->vals[h] && m->keys[h] != key)
		h = (h + 1) & (m->cap - 1);
	if (!m->vals[h])
		m->n++;
	m->keys[h] = key;
	m->vals[h] = val + 1;
	return 0;
}

void jfr_memo_free(struct jfr_memo *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
