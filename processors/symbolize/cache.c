// SPDX-License-Identifier: Apache-2.0
/* A string-keyed LRU with byte costs: chained hash buckets plus one recency list. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cache.h"

struct entry {
	char *key;
	void *value;
	size_t cost;
	uint64_t hash;
	struct entry *chain;	     /* next in the bucket */
	struct entry *newer, *older; /* the recency list */
};

struct pf_symcache {
	size_t budget, used;
	pf_symcache_destroy_fn destroy;
	struct entry **buckets;
	size_t n_buckets, n; /* n_buckets: a power of two */
	struct entry *newest, *oldest;
	uint64_t hits, misses, evictions;
};

struct pf_symcache *pf_symcache_new(size_t budget, pf_symcache_destroy_fn destroy)
{
	struct pf_symcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->n_buckets = 64;
	c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->budget = budget;
	c->destroy = destroy;
	return c;
}

static void unlink_lru(struct pf_symcache *c, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void push_newest(struct pf_symcache *c, struct entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	c->newest = e;
	if (!c->oldest)
		c->oldest = e;
}

static void destroy_entry(struct pf_symcache *c, struct entry *e)
{
	c->destroy(e->value);
	free(e->key);
	free(e);
}

/* Takes e out of its bucket and the list; the caller destroys it. */
static void detach(struct pf_symcache *c, struct entry *e)
{
	struct entry **p = &c->buckets[e->hash & (c->n_buckets - 1)];

	while (*p != e)
		p = &(*p)->chain;
	*p = e->chain;
	unlink_lru(c, e);
	c->used -= e->cost;
	c->n--;
}

void pf_symcache_free(struct pf_symcache *c)
{
	if (!c)
		return;
	while (c->oldest) {
		struct entry *e = c->oldest;

		detach(c, e);
		destroy_entry(c, e);
	}
	free(c->buckets);
	free(c);
}

static struct entry *find(const struct pf_symcache *c, const char *key, uint64_t h)
{
	struct entry *e = c->buckets[h & (c->n_buckets - 1)];

	for (; e; e = e->chain)
		if (e->hash == h && !strcmp(e->key, key))
			return e;
	return NULL;
}

void *pf_symcache_get(struct pf_symcache *c, const char *key)
{
	struct entry *e = find(c, key, XXH3_64bits(key, strlen(key)));

	if (!e) {
		c->misses++;
		return NULL;
	}
	c->hits++;
	unlink_lru(c, e);
	push_newest(c, e);
	return e->value;
}

/* Evicts from the old end while over budget, sparing the newest. */
static void trim(struct pf_symcache *c)
{
	while (c->used > c->budget && c->oldest && c->oldest != c->newest) {
		struct entry *e = c->oldest;

		detach(c, e);
		destroy_entry(c, e);
		c->evictions++;
	}
}

/* Doubles the buckets when the chains grow long; failure only slows. */
static void maybe_grow(struct pf_symcache *c)
{
	size_t n = c->n_buckets * 2, i;
	struct entry **b;

	if (c->n < c->n_buckets)
		return;
	b = calloc(n, sizeof(*b));
	if (!b)
		return;
	for (i = 0; i < c->n_buckets; i++) {
		struct entry *e = c->buckets[i], *next;

		for (; e; e = next) {
			next = e->chain;
			e->chain = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->n_buckets = n;
}

int pf_symcache_put(struct pf_symcache *c, const char *key, void *value, size_t cost)
{
	struct entry *e = calloc(1, sizeof(*e));
	size_t slot;

	if (!e)
		goto out_destroy;
	e->key = strdup(key);
	if (!e->key)
		goto out_free_entry;
	e->value = value;
	e->cost = cost;
	e->hash = XXH3_64bits(key, strlen(key));
	maybe_grow(c);
	slot = e->hash & (c->n_buckets - 1);
	e->chain = c->buckets[slot];
	c->buckets[slot] = e;
	push_newest(c, e);
	c->used += cost;
	c->n++;
	trim(c);
	return 0;

out_free_entry:
	free(e);
out_destroy:
	c->destroy(value);
	return -ENOMEM;
}

void pf_symcache_set_cost(struct pf_symcache *c, const void *value, size_t cost)
{
	struct entry *e;

	/* The entry in use is nearly always the newest. */
	for (e = c->newest; e && e->value != value; e = e->older)
		;
	if (!e)
		return;
	unlink_lru(c, e);
	push_newest(c, e); /* so trimming spares it */
	c->used = c->used - e->cost + cost;
	e->cost = cost;
	trim(c);
}

void pf_symcache_remove(struct pf_symcache *c, const char *key)
{
	struct entry *e = find(c, key, XXH3_64bits(key, strlen(key)));

	if (!e)
		return;
	detach(c, e);
	destroy_entry(c, e);
}

void pf_symcache_stats(const struct pf_symcache *c, struct pf_symcache_stats *s)
{
	s->entries = c->n;
	s->bytes = c->used;
	s->hits = c->hits;
	s->misses = c->misses;
	s->evictions = c->evictions;
}
