/* SPDX-License-Identifier: Apache-2.0 */
/* The symbolizer's one cache: loaded binaries and perf maps by key, bounded in bytes, LRU. */
#ifndef PF_SYMCACHE_H
#define PF_SYMCACHE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Keys are strings: a build ID ("b:<hex>"), "f:<path>:<size>:<mtime>" for
 * binaries without one, "p:<pid>" for perf maps. Every value has a cost in
 * bytes; when the sum passes the budget, the least recently used entries go
 * (their destroy function runs), never the one just used. The cache owns
 * its values. Not thread-safe: one worker uses it at a time.
 */
struct pf_symcache;

typedef void (*pf_symcache_destroy_fn)(void *value);

/* NULL on ENOMEM. */
struct pf_symcache *pf_symcache_new(size_t budget, pf_symcache_destroy_fn destroy);

/* Destroys every value; takes NULL. */
void pf_symcache_free(struct pf_symcache *c);

/* The value under key (now the most recently used), or NULL. */
void *pf_symcache_get(struct pf_symcache *c, const char *key);

/* Adds value under key (which must be absent) as the most recently used,
 * then evicts others while over budget. On failure (-ENOMEM) the value is
 * destroyed. Returns 0 or -ENOMEM. */
int pf_symcache_put(struct pf_symcache *c, const char *key, void *value, size_t cost);

/* Sets the cost of the entry holding value (it grew), then evicts others
 * while over budget. */
void pf_symcache_set_cost(struct pf_symcache *c, const void *value, size_t cost);

/* Removes and destroys the entry under key, if any. */
void pf_symcache_remove(struct pf_symcache *c, const char *key);

struct pf_symcache_stats {
	size_t entries;
	size_t bytes;
	uint64_t hits, misses, evictions;
};

void pf_symcache_stats(const struct pf_symcache *c, struct pf_symcache_stats *s);

#endif
