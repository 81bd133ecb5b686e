/* SPDX-License-Identifier: Apache-2.0 */
/* Interning into the batch's big tables (strings, lists, functions, locations), appending, and merging them in bulk. */
#include "model/batch.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/batch_internal.h"
#include "model/indices.h"

/* ---- strings ---- */

struct str_key {
	const char *s;
	size_t len;
};

static bool str_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_batch_strings *t = ctx;
	const struct str_key *k = key;
	uint32_t off = t->off[idx];

	return t->off[idx + 1] - off - 1 == k->len && memcmp(t->chars + off, k->s, k->len) == 0;
}

static inline uint64_t read64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t read32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The hash of a string (most are names of a few dozen bytes): 16 bytes to a
 * multiply, the last 16 (or the string, when shorter) read as two possibly
 * overlapping words that together cover every byte, as wyhash does. With
 * the length mixed in first, equal hashes need equal words or a collision
 * of the seeded multiply. */
static inline uint32_t string_hash(uint64_t seed, const char *s, size_t len)
{
	uint64_t h = pf_batch_hash_step(seed, len), a = 0, b = 0;

	if (len > 16) {
		for (size_t i = 0; len - i > 16; i += 16)
			h = pf_batch_hash_step2(h, read64(s + i), read64(s + i + 8));
		a = read64(s + len - 16);
		b = read64(s + len - 8);
	} else if (len >= 8) {
		a = read64(s);
		b = read64(s + len - 8);
	} else if (len >= 4) {
		a = read32(s);
		b = read32(s + len - 4);
	} else if (len) {
		a = (uint64_t)(uint8_t)s[0] << 16 | (uint64_t)(uint8_t)s[len / 2] << 8 |
		    (uint8_t)s[len - 1];
	}
	return pf_batch_hash_finish(pf_batch_hash_step2(h, a, b));
}

/* Puts entry idx (hash h, content key) in the index unless an equal entry is
 * there already: a duplicate that was appended, which lookups then never
 * return, exactly as if it had been interned. Returns 0 or -ENOMEM. */
static inline int index_entry(struct pf_intern *ix, uint32_t h, pf_intern_eq_fn eq, const void *ctx,
			      const void *key, uint32_t idx)
{
	size_t pos;

	if (pf_intern_reserve(ix, 1) < 0)
		return -ENOMEM;
	if (pf_intern_find(ix, h, eq, ctx, key, &pos) == PF_INTERN_EMPTY)
		pf_intern_put(ix, pos, h, idx);
	return 0;
}

/* Indexes the strings appended since the last intern. */
static int strings_index_rest(struct pf_batch_strings *t, uint64_t seed)
{
	for (; t->indexed < t->n; t->indexed++) {
		uint32_t i = (uint32_t)t->indexed, off = t->off[i];
		struct str_key k = {t->chars + off, t->off[i + 1] - off - 1};

		if (index_entry(&t->index, string_hash(seed, k.s, k.len), str_eq, t, &k, i) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Appends a string without looking for it. */
static uint32_t strings_store(struct pf_batch_strings *t, const char *s, size_t len)
{
	size_t at, inside;

	if (t->n >= PF_BATCH_MAX_ENTRIES || len >= PF_BATCH_MAX_POOL - t->chars_len)
		return PF_INDEX_ERROR;
	inside = pf_batch_offset_in(s, t->chars, t->chars_len);
	if (PF_BATCH_RESERVE(t->chars, t->chars_cap, t->chars_len + len + 1) < 0 ||
	    PF_BATCH_RESERVE(t->off, t->off_cap, t->n + 2) < 0)
		return PF_INDEX_ERROR;
	if (inside != SIZE_MAX)
		s = t->chars + inside;
	at = t->chars_len;
	if (len)
		memcpy(t->chars + at, s, len);
	t->chars[at + len] = '\0';
	t->chars_len = at + len + 1;
	t->off[t->n + 1] = (uint32_t)t->chars_len;
	return (uint32_t)t->n++;
}

/* Interns a string of hash h into t, whose appended strings are indexed
 * already: the one lookup-or-append of strings, for single strings and
 * merges alike. */
static inline uint32_t strings_intern_hashed(struct pf_batch_strings *t, const char *s, size_t len,
					     uint32_t h)
{
	struct str_key k = {s, len};
	size_t pos;
	uint32_t idx;

	if (pf_intern_reserve(&t->index, 1) < 0)
		return PF_INDEX_ERROR;
	idx = pf_intern_find(&t->index, h, str_eq, t, &k, &pos);
	if (idx != PF_INTERN_EMPTY)
		return idx;
	idx = strings_store(t, s, len);
	if (idx != PF_INDEX_ERROR) {
		pf_intern_put(&t->index, pos, h, idx);
		t->indexed = t->n;
	}
	return idx;
}

static uint32_t strings_intern(struct pf_batch_strings *t, uint64_t seed, const char *s, size_t len)
{
	if (t->indexed < t->n && strings_index_rest(t, seed) < 0)
		return PF_INDEX_ERROR;
	return strings_intern_hashed(t, s, len, string_hash(seed, s, len));
}

uint32_t pf_batch_string(struct pf_batch *b, const char *s, size_t len)
{
	assert(!pf_batch_is_shared(b));
	if (len && !s)
		return PF_INDEX_ERROR;
	return strings_intern(&b->strings, b->seed, len ? s : "", len);
}

uint32_t pf_batch_cstring(struct pf_batch *b, const char *s)
{
	if (!s)
		return PF_INDEX_ERROR;
	return pf_batch_string(b, s, strlen(s));
}

uint32_t pf_batch_append_string(struct pf_batch *b, const char *s, size_t len)
{
	assert(!pf_batch_is_shared(b));
	if (len == 0)
		return 0;
	if (!s)
		return PF_INDEX_ERROR;
	return strings_store(&b->strings, s, len);
}

/* ---- lists of uint32: string lists, attribute sets, stacks ---- */

struct list_key {
	const uint32_t *items;
	size_t n;
};

static bool list_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_batch_lists *l = ctx;
	const struct list_key *k = key;
	uint32_t off = l->off[idx];

	return l->off[idx + 1] - off == k->n &&
	       memcmp(l->items + off, k->items, k->n * sizeof(*k->items)) == 0;
}

/* Stores w = a | b << 32 as the items a, b at p: one store where the
 * compiler would otherwise shuffle the two through a vector register. */
static inline void store_pair(uint32_t *p, uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &w, sizeof(w));
#else
	p[0] = (uint32_t)w;
	p[1] = (uint32_t)(w >> 32);
#endif
}

/* items[i], or map[items[i]] when remapping. */
static inline uint64_t list_item(const uint32_t *items, size_t i, const uint32_t *map, bool remap)
{
	return remap ? map[items[i]] : items[i];
}

/* Items i and i + 1 as one word. */
static inline uint64_t list_pair(const uint32_t *items, size_t i, const uint32_t *map, bool remap)
{
	return list_item(items, i, map, remap) | list_item(items, i + 1, map, remap) << 32;
}

/* The hash of a list, four items to a multiply, of items[i] or, when
 * remapping, of map[items[i]], which it then also stores in out[i]: a merge
 * re-indexes a list and hashes it in one pass. Inlined, so that `remap` is a
 * constant. */
static inline uint32_t list_hash_map(uint64_t seed, const uint32_t *items, size_t n,
				     const uint32_t *map, uint32_t *out, bool remap)
{
	uint64_t h = pf_batch_hash_step(seed, n);
	size_t i;

	for (i = 0; i + 4 <= n; i += 4) {
		uint64_t w0 = list_pair(items, i, map, remap),
			 w1 = list_pair(items, i + 2, map, remap);

		if (remap) {
			store_pair(out + i, w0);
			store_pair(out + i + 2, w1);
		}
		h = pf_batch_hash_step2(h, w0, w1);
	}
	if (i < n) { /* 1 to 3 items left; the missing ones count as 0 */
		uint64_t w0 = list_item(items, i, map, remap), w1 = 0;

		if (i + 1 < n)
			w0 |= list_item(items, i + 1, map, remap) << 32;
		if (i + 2 < n)
			w1 = list_item(items, i + 2, map, remap);
		if (remap)
			for (size_t k = i; k < n; k++)
				out[k] = (uint32_t)(k - i < 2 ? w0 >> (k - i) * 32 : w1);
		h = pf_batch_hash_step2(h, w0, w1);
	}
	return pf_batch_hash_finish(h);
}

static uint32_t list_hash(uint64_t seed, const uint32_t *items, size_t n)
{
	return list_hash_map(seed, items, n, NULL, NULL, false);
}

/* Indexes the lists appended since the last intern. */
static int lists_index_rest(struct pf_batch_lists *l, uint64_t seed)
{
	for (; l->indexed < l->n; l->indexed++) {
		uint32_t i = (uint32_t)l->indexed, off = l->off[i];
		struct list_key k = {l->items + off, l->off[i + 1] - off};

		if (index_entry(&l->index, list_hash(seed, k.items, k.n), list_eq, l, &k, i) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Appends a list without looking for it. */
static uint32_t lists_store(struct pf_batch_lists *l, const uint32_t *items, size_t n)
{
	size_t inside;

	if (l->n >= PF_BATCH_MAX_ENTRIES || n > PF_BATCH_MAX_POOL - l->items_len)
		return PF_INDEX_ERROR;
	inside = pf_batch_offset_in(items, l->items, l->items_len * sizeof(*items));
	if (PF_BATCH_RESERVE(l->items, l->items_cap, l->items_len + n) < 0 ||
	    PF_BATCH_RESERVE(l->off, l->off_cap, l->n + 2) < 0)
		return PF_INDEX_ERROR;
	if (inside != SIZE_MAX)
		items = (const uint32_t *)((const char *)l->items + inside);
	if (n)
		memcpy(l->items + l->items_len, items, n * sizeof(*items));
	l->items_len += n;
	l->off[l->n + 1] = (uint32_t)l->items_len;
	return (uint32_t)l->n++;
}

/* As strings_intern_hashed(), for lists. */
static inline uint32_t lists_intern_hashed(struct pf_batch_lists *l, const uint32_t *items,
					   size_t n, uint32_t h)
{
	struct list_key k = {items, n};
	size_t pos;
	uint32_t idx;

	if (pf_intern_reserve(&l->index, 1) < 0)
		return PF_INDEX_ERROR;
	idx = pf_intern_find(&l->index, h, list_eq, l, &k, &pos);
	if (idx != PF_INTERN_EMPTY)
		return idx;
	idx = lists_store(l, items, n);
	if (idx != PF_INDEX_ERROR) {
		pf_intern_put(&l->index, pos, h, idx);
		l->indexed = l->n;
	}
	return idx;
}

static uint32_t lists_intern(struct pf_batch_lists *l, uint64_t seed, const uint32_t *items,
			     size_t n)
{
	if (n > PF_BATCH_MAX_POOL || (l->indexed < l->n && lists_index_rest(l, seed) < 0))
		return PF_INDEX_ERROR;
	return lists_intern_hashed(l, items, n, list_hash(seed, items, n));
}

uint32_t pf_batch_string_list(struct pf_batch *b, const uint32_t *strs, size_t n)
{
	assert(!pf_batch_is_shared(b));
	if (n == 0)
		return 0;
	if (!strs || !pf_indices_below(strs, n, b->strings.n))
		return PF_INDEX_ERROR;
	return lists_intern(&b->string_lists, b->seed, strs, n);
}

uint32_t pf_batch_attr_set(struct pf_batch *b, const uint32_t *attrs, size_t n)
{
	assert(!pf_batch_is_shared(b));
	if (n == 0)
		return 0;
	if (!attrs || !pf_indices_below(attrs, n, b->attributes.n))
		return PF_INDEX_ERROR;
	return lists_intern(&b->attr_sets, b->seed, attrs, n);
}

uint32_t pf_batch_stack(struct pf_batch *b, const uint32_t *locations, size_t n)
{
	assert(!pf_batch_is_shared(b));
	if (n == 0)
		return 0;
	if (!locations || !pf_indices_below(locations, n, b->locations.n))
		return PF_INDEX_ERROR;
	return lists_intern(&b->stacks, b->seed, locations, n);
}

uint32_t pf_batch_append_stack(struct pf_batch *b, const uint32_t *items, size_t n,
			       const uint32_t *map, size_t n_map)
{
	struct pf_batch_lists *l = &b->stacks;
	uint32_t *out;

	assert(!pf_batch_is_shared(b));
	if (n == 0)
		return 0;
	if (!map)
		return items && pf_indices_below(items, n, b->locations.n)
			       ? lists_store(l, items, n)
			       : PF_INDEX_ERROR;
	/* Mapped straight into the pool: no copy of the stack on the way. */
	if (!items || !pf_indices_below(items, n, n_map) || l->n >= PF_BATCH_MAX_ENTRIES ||
	    n > PF_BATCH_MAX_POOL - l->items_len ||
	    PF_BATCH_RESERVE(l->items, l->items_cap, l->items_len + n) < 0 ||
	    PF_BATCH_RESERVE(l->off, l->off_cap, l->n + 2) < 0)
		return PF_INDEX_ERROR;
	out = l->items + l->items_len;
	for (size_t i = 0; i < n; i++)
		out[i] = map[items[i]];
	if (!pf_indices_below(out, n, b->locations.n))
		return PF_INDEX_ERROR; /* nothing committed */
	l->items_len += n;
	l->off[l->n + 1] = (uint32_t)l->items_len;
	return (uint32_t)l->n++;
}

/* ---- fixed-size tables ---- */

static bool function_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_function *f = (const struct pf_function *)ctx + idx;
	const struct pf_function *k = key;

	return f->name == k->name && f->system_name == k->system_name &&
	       f->filename == k->filename && f->start_line == k->start_line;
}

static struct pf_function function_clean(const struct pf_function *in)
{
	struct pf_function f;

	memset(&f, 0, sizeof(f));
	f.name = in->name;
	f.system_name = in->system_name;
	f.filename = in->filename;
	f.start_line = in->start_line;
	return f;
}

static uint32_t function_hash(uint64_t seed, const struct pf_function *f)
{
	uint64_t w[3] = {f->name | (uint64_t)f->system_name << 32, f->filename,
			 (uint64_t)f->start_line};

	return pf_batch_hash_words(seed, w, 3);
}

/* Indexes the functions appended since the last intern. */
static int functions_index_rest(struct pf_batch *b)
{
	struct pf_batch_table *t = &b->functions;

	for (; t->indexed < t->n; t->indexed++) {
		const struct pf_function *f = (const struct pf_function *)t->items + t->indexed;

		if (index_entry(&t->index, function_hash(b->seed, f), function_eq, t->items, f,
				(uint32_t)t->indexed) < 0)
			return -ENOMEM;
	}
	return 0;
}

static uint32_t function_intern(struct pf_batch *b, const struct pf_function *in)
{
	struct pf_function f = function_clean(in);

	if (b->functions.indexed < b->functions.n && functions_index_rest(b) < 0)
		return PF_INDEX_ERROR;
	return pf_batch_table_intern(&b->functions, sizeof(f), &f, function_hash(b->seed, &f),
				     function_eq);
}

static bool function_valid(const struct pf_batch *b, const struct pf_function *f)
{
	size_t ns = b->strings.n;

	return f->name < ns && f->system_name < ns && f->filename < ns;
}

uint32_t pf_batch_function(struct pf_batch *b, const struct pf_function *f)
{
	assert(!pf_batch_is_shared(b));
	if (!function_valid(b, f))
		return PF_INDEX_ERROR;
	return function_intern(b, f);
}

uint32_t pf_batch_append_function(struct pf_batch *b, const struct pf_function *in)
{
	struct pf_function f = function_clean(in);

	assert(!pf_batch_is_shared(b));
	if (!function_valid(b, &f))
		return PF_INDEX_ERROR;
	return pf_batch_table_store(&b->functions, sizeof(f), &f);
}

/* ---- locations: the content is the fixed part plus the whole line list ---- */

struct location_key {
	const struct pf_location *loc;
	const struct pf_line *lines;
	size_t n_lines;
	const struct pf_line *pool;
};

static bool location_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_location *l = (const struct pf_location *)ctx + idx;
	const struct location_key *k = key;
	const struct pf_line *have;
	size_t i;

	if (l->address != k->loc->address || l->mapping != k->loc->mapping ||
	    l->attrs != k->loc->attrs || l->lines_len != k->n_lines)
		return false;
	have = k->pool + l->lines_off;
	for (i = 0; i < k->n_lines; i++)
		if (have[i].function != k->lines[i].function || have[i].line != k->lines[i].line ||
		    have[i].column != k->lines[i].column)
			return false;
	return true;
}

static inline uint32_t location_hash(uint64_t seed, const struct pf_location *loc,
				     const struct pf_line *lines, size_t n)
{
	uint64_t h =
		pf_batch_hash_step2(seed, loc->mapping | (uint64_t)loc->attrs << 32, loc->address);

	/* Each line's function goes with the number of lines (both 32-bit). */
	for (size_t i = 0; i < n; i++) {
		h = pf_batch_hash_step2(h, lines[i].function | (uint64_t)n << 32,
					(uint64_t)lines[i].line);
		h = pf_batch_hash_step(h, (uint64_t)lines[i].column);
	}
	return pf_batch_hash_finish(h);
}

/* Appends a location and its lines without looking for it. */
static uint32_t location_store(struct pf_batch *b, const struct pf_location *in,
			       const struct pf_line *lines, size_t n)
{
	struct pf_batch_table *t = &b->locations;
	struct pf_location *loc;
	size_t i, inside;

	if (t->n >= PF_BATCH_MAX_ENTRIES || n > UINT32_MAX - b->n_lines)
		return PF_INDEX_ERROR;
	inside = pf_batch_offset_in(lines, b->lines, b->n_lines * sizeof(*lines));
	if (PF_BATCH_RESERVE(b->lines, b->cap_lines, b->n_lines + n) < 0)
		return PF_INDEX_ERROR;
	if (inside != SIZE_MAX)
		lines = (const struct pf_line *)((const char *)b->lines + inside);
	if (t->n >= t->cap) {
		void *p = pf_batch_grow(t->items, &t->cap, t->n + 1, sizeof(*loc));

		if (!p)
			return PF_INDEX_ERROR;
		t->items = p;
	}
	loc = (struct pf_location *)t->items + t->n;
	memset(loc, 0, sizeof(*loc));
	loc->mapping = in->mapping;
	loc->attrs = in->attrs;
	loc->address = in->address;
	loc->lines_off = (uint32_t)b->n_lines;
	loc->lines_len = (uint32_t)n;
	for (i = 0; i < n; i++) {
		struct pf_line *l = &b->lines[b->n_lines + i];

		memset(l, 0, sizeof(*l));
		l->function = lines[i].function;
		l->line = lines[i].line;
		l->column = lines[i].column;
	}
	b->n_lines += n;
	return (uint32_t)t->n++;
}

/* Indexes the locations appended since the last intern. */
static int locations_index_rest(struct pf_batch *b)
{
	struct pf_batch_table *t = &b->locations;

	for (; t->indexed < t->n; t->indexed++) {
		const struct pf_location *loc = (const struct pf_location *)t->items + t->indexed;
		struct location_key k = {loc, b->lines + loc->lines_off, loc->lines_len, b->lines};

		if (index_entry(&t->index, location_hash(b->seed, loc, k.lines, k.n_lines),
				location_eq, t->items, &k, (uint32_t)t->indexed) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* As strings_intern_hashed(), for locations. */
static inline uint32_t location_intern_hashed(struct pf_batch *b, const struct pf_location *in,
					      const struct pf_line *lines, size_t n, uint32_t h)
{
	struct pf_batch_table *t = &b->locations;
	struct location_key k = {in, lines, n, b->lines};
	size_t pos;
	uint32_t idx;

	if (pf_intern_reserve(&t->index, 1) < 0)
		return PF_INDEX_ERROR;
	idx = pf_intern_find(&t->index, h, location_eq, t->items, &k, &pos);
	if (idx != PF_INTERN_EMPTY)
		return idx;
	idx = location_store(b, in, lines, n);
	if (idx != PF_INDEX_ERROR) {
		pf_intern_put(&t->index, pos, h, idx);
		t->indexed = t->n;
	}
	return idx;
}

static uint32_t location_intern(struct pf_batch *b, const struct pf_location *in,
				const struct pf_line *lines, size_t n)
{
	if (b->locations.indexed < b->locations.n && locations_index_rest(b) < 0)
		return PF_INDEX_ERROR;
	return location_intern_hashed(b, in, lines, n, location_hash(b->seed, in, lines, n));
}

static bool location_valid(const struct pf_batch *b, const struct pf_location *loc,
			   const struct pf_line *lines, size_t n_lines)
{
	size_t i;

	if (loc->mapping >= b->mappings.n || loc->attrs >= b->attr_sets.n)
		return false;
	if (n_lines && !lines)
		return false;
	for (i = 0; i < n_lines; i++)
		if (lines[i].function >= b->functions.n)
			return false;
	return true;
}

uint32_t pf_batch_location(struct pf_batch *b, const struct pf_location *loc,
			   const struct pf_line *lines, size_t n_lines)
{
	assert(!pf_batch_is_shared(b));
	if (!location_valid(b, loc, lines, n_lines))
		return PF_INDEX_ERROR;
	return location_intern(b, loc, lines, n_lines);
}

uint32_t pf_batch_append_location(struct pf_batch *b, const struct pf_location *loc,
				  const struct pf_line *lines, size_t n_lines)
{
	assert(!pf_batch_is_shared(b));
	if (!location_valid(b, loc, lines, n_lines))
		return PF_INDEX_ERROR;
	return location_store(b, loc, lines, n_lines);
}

/* ---- merging: a whole table of another batch, re-indexed ---- */

int pf_batch_remap_strings(struct pf_batch *dst, const struct pf_batch *src, uint32_t *out)
{
	struct pf_batch_strings *t = &dst->strings;
	const struct pf_batch_strings *from = &src->strings;
	uint32_t h[PF_BATCH_AHEAD];

	out[0] = 0;
	if (t->indexed < t->n && strings_index_rest(t, dst->seed) < 0)
		return -ENOMEM;
	for (size_t i = 1, end; i < from->n; i = end) {
		end = pf_batch_ahead_end(i, from->n);
		for (size_t j = i; j < end; j++) {
			uint32_t off = from->off[j];

			h[j - i] = string_hash(dst->seed, from->chars + off,
					       from->off[j + 1] - off - 1);
			pf_intern_prefetch(&t->index, h[j - i]);
		}
		for (size_t j = i; j < end; j++) {
			uint32_t off = from->off[j];

			out[j] = strings_intern_hashed(t, from->chars + off,
						       from->off[j + 1] - off - 1, h[j - i]);
			if (out[j] == PF_INDEX_ERROR)
				return -ENOMEM;
		}
	}
	return 0;
}

int pf_batch_remap_lists(struct pf_batch_lists *l, uint64_t seed, const struct pf_batch_lists *from,
			 const uint32_t *map, uint32_t *out, struct pf_batch_scratch *buf)
{
	uint32_t h[PF_BATCH_AHEAD];

	out[0] = 0;
	if (l->indexed < l->n && lists_index_rest(l, seed) < 0)
		return -ENOMEM;
	for (size_t i = 1, end; i < from->n; i = end) {
		uint32_t base = from->off[i];

		end = pf_batch_ahead_end(i, from->n);
		if (PF_BATCH_RESERVE(buf->items, buf->items_cap, from->off[end] - base) < 0)
			return -ENOMEM;
		for (size_t j = i; j < end; j++) {
			uint32_t off = from->off[j];

			h[j - i] = list_hash_map(seed, from->items + off, from->off[j + 1] - off,
						 map, buf->items + (off - base), true);
			pf_intern_prefetch(&l->index, h[j - i]);
		}
		for (size_t j = i; j < end; j++) {
			uint32_t off = from->off[j];

			out[j] = lists_intern_hashed(l, buf->items + (off - base),
						     from->off[j + 1] - off, h[j - i]);
			if (out[j] == PF_INDEX_ERROR)
				return -ENOMEM;
		}
	}
	return 0;
}

int pf_batch_remap_functions(struct pf_batch *dst, const struct pf_batch *src, const uint32_t *str,
			     uint32_t *out)
{
	const struct pf_function *from = src->functions.items;
	struct pf_function f[PF_BATCH_AHEAD];
	uint32_t h[PF_BATCH_AHEAD];

	out[0] = 0;
	if (dst->functions.indexed < dst->functions.n && functions_index_rest(dst) < 0)
		return -ENOMEM;
	for (size_t i = 1, end; i < src->functions.n; i = end) {
		end = pf_batch_ahead_end(i, src->functions.n);
		for (size_t j = i; j < end; j++) {
			struct pf_function *g = &f[j - i];

			*g = function_clean(&from[j]);
			g->name = str[g->name];
			g->system_name = str[g->system_name];
			g->filename = str[g->filename];
			h[j - i] = function_hash(dst->seed, g);
			pf_intern_prefetch(&dst->functions.index, h[j - i]);
		}
		for (size_t j = i; j < end; j++) {
			out[j] = pf_batch_table_intern(&dst->functions, sizeof(*f), &f[j - i],
						       h[j - i], function_eq);
			if (out[j] == PF_INDEX_ERROR)
				return -ENOMEM;
		}
	}
	return 0;
}

int pf_batch_remap_locations(struct pf_batch *dst, const struct pf_batch *src,
			     const struct pf_batch_location_maps *m, uint32_t *out,
			     struct pf_batch_scratch *buf)
{
	const struct pf_location *from = src->locations.items;
	struct pf_location loc[PF_BATCH_AHEAD];
	uint32_t h[PF_BATCH_AHEAD];

	out[0] = 0;
	if ((dst->locations.indexed < dst->locations.n && locations_index_rest(dst) < 0) ||
	    PF_BATCH_RESERVE(buf->lines, buf->lines_cap, src->n_lines) < 0)
		return -ENOMEM;
	for (size_t i = 1, end; i < src->locations.n; i = end) {
		size_t n_lines = 0; /* in buf->lines, which holds any chunk's lines */

		end = pf_batch_ahead_end(i, src->locations.n);
		for (size_t j = i; j < end; j++) {
			const struct pf_line *in = src->lines + from[j].lines_off;

			assert(n_lines + from[j].lines_len <= src->n_lines);
			struct pf_location *l = &loc[j - i];
			struct pf_line *lines = buf->lines + n_lines;

			memset(l, 0, sizeof(*l));
			l->mapping = m->mapping[from[j].mapping];
			l->attrs = m->attr_set[from[j].attrs];
			l->address = from[j].address;
			l->lines_off = (uint32_t)n_lines; /* into buf->lines */
			l->lines_len = from[j].lines_len;
			for (uint32_t k = 0; k < l->lines_len; k++) {
				lines[k].function = m->function[in[k].function];
				lines[k].line = in[k].line;
				lines[k].column = in[k].column;
			}
			n_lines += l->lines_len;
			h[j - i] = location_hash(dst->seed, l, lines, l->lines_len);
			pf_intern_prefetch(&dst->locations.index, h[j - i]);
		}
		for (size_t j = i; j < end; j++) {
			const struct pf_location *l = &loc[j - i];

			out[j] = location_intern_hashed(dst, l, buf->lines + l->lines_off,
							l->lines_len, h[j - i]);
			if (out[j] == PF_INDEX_ERROR)
				return -ENOMEM;
		}
	}
	return 0;
}

/* ---- zero entries ---- */

static int lists_init(struct pf_batch_lists *l, uint64_t seed)
{
	static const uint32_t none[1];

	/* Pools are never NULL, so pointer arithmetic on them is always defined. */
	if (pf_intern_init(&l->index, 0) < 0 || PF_BATCH_RESERVE(l->off, l->off_cap, 2) < 0 ||
	    PF_BATCH_RESERVE(l->items, l->items_cap, 1) < 0)
		return -ENOMEM;
	l->off[0] = 0;
	return lists_intern(l, seed, none, 0) == 0 ? 0 : -ENOMEM;
}

int pf_batch_init_tables(struct pf_batch *b)
{
	static const struct pf_attribute za;
	static const struct pf_function zf;
	static const struct pf_mapping zm;
	static const struct pf_location zl;
	static const struct pf_link zk;
	static const struct pf_resource zr;
	static const struct pf_scope zs;

	if (pf_intern_init(&b->strings.index, 0) < 0 ||
	    PF_BATCH_RESERVE(b->strings.off, b->strings.off_cap, 2) < 0)
		return -ENOMEM;
	b->strings.off[0] = 0;
	if (strings_intern(&b->strings, b->seed, "", 0) != 0)
		return -ENOMEM;
	if (lists_init(&b->string_lists, b->seed) < 0 || lists_init(&b->attr_sets, b->seed) < 0 ||
	    lists_init(&b->stacks, b->seed) < 0)
		return -ENOMEM;
	if (PF_BATCH_RESERVE(b->lines, b->cap_lines, 1) < 0 ||
	    PF_BATCH_RESERVE(b->values, b->cap_values, 1) < 0 ||
	    PF_BATCH_RESERVE(b->timestamps, b->cap_timestamps, 1) < 0)
		return -ENOMEM;
	if (pf_intern_init(&b->attributes.index, 0) < 0 ||
	    pf_intern_init(&b->functions.index, 0) < 0 ||
	    pf_intern_init(&b->mappings.index, 0) < 0 ||
	    pf_intern_init(&b->locations.index, 0) < 0 || pf_intern_init(&b->links.index, 0) < 0 ||
	    pf_intern_init(&b->resources.index, 0) < 0 || pf_intern_init(&b->scopes.index, 0) < 0)
		return -ENOMEM;
	if (pf_batch_attribute(b, &za) != 0 || function_intern(b, &zf) != 0 ||
	    pf_batch_mapping(b, &zm) != 0 || location_intern(b, &zl, NULL, 0) != 0 ||
	    pf_batch_link(b, &zk) != 0 || pf_batch_resource(b, &zr) != 0 ||
	    pf_batch_scope(b, &zs) != 0)
		return -ENOMEM;
	return 0;
}
