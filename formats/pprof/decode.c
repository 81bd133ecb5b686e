// SPDX-License-Identifier: Apache-2.0
/* pprof decoding: validates a hostile perftools.profiles.Profile and interns it into a batch. */
#include "formats/pprof/pprof.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gzip.h"
#include "formats/pb_arena.h"
#include "formats/pb_wire.h"
#include "formats/pprof/attrs.h"
#include "formats/utf8.h"
#include "proto/pprof/profile.pb-c.h"

/*
 * The top level of a Profile is walked by hand and each sub-message is
 * unpacked by protobuf-c into an arena that is reset after it, so decoding a
 * million samples never holds more than one unpacked sample. Tables are
 * resolved in dependency order (strings, functions and mappings, locations,
 * samples), which needs a few cheap passes over the top level because
 * writers put samples first.
 */

#define DEFAULT_MAX_SIZE ((size_t)256 << 20)
#define LABEL_MEMO	 256

/* Profile field numbers (profile.proto). */
enum {
	F_SAMPLE_TYPE = 1,
	F_SAMPLE = 2,
	F_MAPPING = 3,
	F_LOCATION = 4,
	F_FUNCTION = 5,
	F_STRING_TABLE = 6,
	F_DROP_FRAMES = 7,
	F_KEEP_FRAMES = 8,
	F_TIME_NANOS = 9,
	F_DURATION_NANOS = 10,
	F_PERIOD_TYPE = 11,
	F_PERIOD = 12,
	F_COMMENT = 13,
	F_DEFAULT_SAMPLE_TYPE = 14,
	F_DOC_URL = 15,
	F_MAX = 16,
};

struct span {
	const uint8_t *p;
	size_t n;
};

/* pprof id -> batch index + 1 (0 = undefined). Ids up to `n` are looked up
 * directly (writers use dense ids); larger ones go to a hash table. */
struct idmap {
	uint32_t *dense;
	size_t n;
	uint64_t *keys;
	uint32_t *vals;
	size_t cap;
};

struct dec {
	struct pf_batch *b;
	struct pf_error *err;
	struct pf_pb_arena arena;
	const uint8_t *base; /* start of the raw profile, for offsets */

	size_t count[F_MAX];	   /* occurrences (values for comments) per field */
	struct span *spans[F_MAX]; /* for the table fields but samples */
	int64_t scalar[F_MAX];	   /* last value of each scalar field */
	struct span period_type;
	int64_t *comments;
	size_t n_comments;

	uint32_t *str; /* pprof string index -> batch string index */
	size_t n_str;
	struct idmap functions, mappings, locations;
	struct pf_pprof_keys keys;

	/* Labels repeat (thread names, span ids): the last attribute made for
	 * each of a few hundred label values, so most skip the interning. */
	struct label_memo {
		int64_t key, str, num, num_unit;
		uint32_t attr; /* + 1; 0 = empty slot */
	} memo[LABEL_MEMO];

	/* Scratch for one sample. */
	uint32_t *scratch;
	size_t scratch_cap;

	/* The converted samples, added to the batch once all are valid. */
	size_t n_types;
	struct pf_value_type *types;
	uint32_t *stacks;
	uint32_t *attrs;
	int64_t *values; /* values[k * n_samples + i] */
};

/* ---- id maps ---- */

static int idmap_init(struct idmap *m, size_t n)
{
	m->n = n;
	m->dense = calloc(n + 1, sizeof(*m->dense));
	return m->dense ? 0 : -ENOMEM;
}

static void idmap_fini(struct idmap *m)
{
	free(m->dense);
	free(m->keys);
	free(m->vals);
}

static size_t id_hash(uint64_t id, size_t mask)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & mask;
}

/* Returns 0, -EEXIST for a duplicate id or -ENOMEM. */
static int idmap_put(struct idmap *m, uint64_t id, uint32_t idx)
{
	if (id <= m->n) {
		if (m->dense[id])
			return -EEXIST;
		m->dense[id] = idx + 1;
		return 0;
	}
	if (!m->keys) {
		/* At most n ids exceed n; keep the load under one half. */
		size_t cap = 16;
		while (cap < 2 * m->n)
			cap *= 2;
		m->keys = calloc(cap, sizeof(*m->keys));
		m->vals = calloc(cap, sizeof(*m->vals));
		if (!m->keys || !m->vals)
			return -ENOMEM;
		m->cap = cap;
	}
	size_t mask = m->cap - 1;
	for (size_t h = id_hash(id, mask);; h = (h + 1) & mask) {
		if (m->vals[h] == 0) {
			m->keys[h] = id;
			m->vals[h] = idx + 1;
			return 0;
		}
		if (m->keys[h] == id)
			return -EEXIST;
	}
}

static bool idmap_get(const struct idmap *m, uint64_t id, uint32_t *idx)
{
	if (id <= m->n) {
		*idx = m->dense[id] - 1;
		return m->dense[id] != 0;
	}
	if (!m->keys)
		return false;
	size_t mask = m->cap - 1;
	for (size_t h = id_hash(id, mask); m->vals[h] != 0; h = (h + 1) & mask) {
		if (m->keys[h] == id) {
			*idx = m->vals[h] - 1;
			return true;
		}
	}
	return false;
}

/* ---- errors ---- */

static int fail_at(struct dec *d, const uint8_t *p, const char *msg)
{
	char where[64];
	snprintf(where, sizeof(where), "offset %zu", (size_t)(p - d->base));
	return pf_error_set(d->err, where, "%s", msg);
}

static int no_memory(struct dec *d)
{
	pf_error_set(d->err, "", "out of memory");
	return -ENOMEM;
}

/* Maps pprof string index `idx` to the batch. `what` names the referrer. */
static int map_str(struct dec *d, int64_t idx, uint32_t *out, const char *item, size_t pos,
		   const char *field)
{
	if (idx < 0 || (uint64_t)idx >= d->n_str) {
		if (pos == SIZE_MAX)
			return pf_error_set(d->err, "",
					    "%s: %s string index %" PRId64
					    " out of range (string_table has %zu entries)",
					    item, field, idx, d->n_str);
		return pf_error_set(d->err, "",
				    "%s %zu: %s string index %" PRId64
				    " out of range (string_table has %zu entries)",
				    item, pos, field, idx, d->n_str);
	}
	*out = d->str[idx];
	return 0;
}

/* ---- the top-level walk ---- */

static const unsigned field_wire[F_MAX] = {
	[F_SAMPLE_TYPE] = PF_PB_LEN,	[F_SAMPLE] = PF_PB_LEN,
	[F_MAPPING] = PF_PB_LEN,	[F_LOCATION] = PF_PB_LEN,
	[F_FUNCTION] = PF_PB_LEN,	[F_STRING_TABLE] = PF_PB_LEN,
	[F_DROP_FRAMES] = PF_PB_VARINT, [F_KEEP_FRAMES] = PF_PB_VARINT,
	[F_TIME_NANOS] = PF_PB_VARINT,	[F_DURATION_NANOS] = PF_PB_VARINT,
	[F_PERIOD_TYPE] = PF_PB_LEN,	[F_PERIOD] = PF_PB_VARINT,
	[F_COMMENT] = PF_PB_VARINT,	[F_DEFAULT_SAMPLE_TYPE] = PF_PB_VARINT,
	[F_DOC_URL] = PF_PB_VARINT,
};

/* Comments are repeated int64: packed (one LEN field) or one varint each.
 * Counts them and, when `out` is set, stores them. */
static int read_comments(struct dec *d, struct pf_pb_cursor *c, unsigned wire, int64_t *out,
			 size_t *n)
{
	const uint8_t *at = c->p;
	uint64_t v;
	if (wire == PF_PB_VARINT) {
		if (!pf_pb_read_varint(c, &v))
			return fail_at(d, at, "comment: truncated varint");
		if (out)
			out[*n] = (int64_t)v;
		(*n)++;
		return 0;
	}
	struct pf_pb_cursor in;
	const uint8_t *data;
	size_t len;
	if (!pf_pb_read_len(c, &data, &len))
		return fail_at(d, at, "comment: truncated length");
	in.p = data;
	in.end = data + len;
	while (in.p < in.end) {
		if (!pf_pb_read_varint(&in, &v))
			return fail_at(d, in.p, "comment: truncated packed varint");
		if (out)
			out[*n] = (int64_t)v;
		(*n)++;
	}
	return 0;
}

/* One pass over the top level. With `fill` false it checks wire types and
 * counts; with it true it records spans and scalars. Samples are only
 * counted. */
static int walk(struct dec *d, const uint8_t *data, size_t size, bool fill)
{
	struct pf_pb_cursor c = {data, data + size};
	size_t n[F_MAX] = {0};
	while (c.p < c.end) {
		const uint8_t *at = c.p;
		uint32_t field;
		unsigned wire;
		if (!pf_pb_read_key(&c, &field, &wire))
			return fail_at(d, at, "malformed field key");
		if (field >= F_MAX) {
			if (!pf_pb_skip(&c, wire))
				return fail_at(d, at, "malformed unknown field");
			continue;
		}
		if (field == F_COMMENT && (wire == PF_PB_LEN || wire == PF_PB_VARINT)) {
			int rc = read_comments(d, &c, wire, fill ? d->comments : NULL, &n[field]);
			if (rc)
				return rc;
			continue;
		}
		if (wire != field_wire[field]) {
			char msg[96];
			snprintf(msg, sizeof(msg), "field %u has wire type %u, want %u", field,
				 wire, field_wire[field]);
			return fail_at(d, at, msg);
		}
		if (wire == PF_PB_VARINT) {
			uint64_t v;
			if (!pf_pb_read_varint(&c, &v))
				return fail_at(d, at, "truncated varint");
			d->scalar[field] = (int64_t)v;
			continue;
		}
		struct span s;
		if (!pf_pb_read_len(&c, &s.p, &s.n))
			return fail_at(d, at, "length runs past the end of the profile");
		if (field == F_PERIOD_TYPE)
			d->period_type = s;
		else if (fill && field != F_SAMPLE)
			d->spans[field][n[field]] = s;
		n[field]++;
	}
	if (!fill)
		memcpy(d->count, n, sizeof(n));
	return 0;
}

static int alloc_spans(struct dec *d)
{
	static const int tables[] = {F_SAMPLE_TYPE, F_MAPPING, F_LOCATION, F_FUNCTION,
				     F_STRING_TABLE};
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		int f = tables[i];
		d->spans[f] = calloc(d->count[f] + 1, sizeof(struct span));
		if (!d->spans[f])
			return no_memory(d);
	}
	d->comments = calloc(d->count[F_COMMENT] + 1, sizeof(*d->comments));
	if (!d->comments)
		return no_memory(d);
	return 0;
}

/* ---- tables ---- */

static int decode_strings(struct dec *d)
{
	size_t n = d->count[F_STRING_TABLE];
	if (n == 0 || d->spans[F_STRING_TABLE][0].n != 0)
		return pf_error_set(d->err, "", "string_table[0] must be \"\"");
	d->str = calloc(n, sizeof(*d->str));
	if (!d->str)
		return no_memory(d);
	d->n_str = n;
	for (size_t i = 1; i < n; i++) {
		const struct span *s = &d->spans[F_STRING_TABLE][i];
		/* Protobuf strings are UTF-8; exporters' peers refuse others. */
		size_t bad = pf_utf8_check(s->p, s->n);
		if (bad < s->n)
			return pf_error_set(d->err, "",
					    "string_table[%zu]: invalid UTF-8 at byte %zu", i, bad);
		uint32_t idx = pf_batch_string(d->b, (const char *)s->p, s->n);
		if (idx == PF_INDEX_ERROR)
			return no_memory(d);
		d->str[i] = idx;
	}
	return 0;
}

static int check_id(struct dec *d, struct idmap *m, uint64_t id, uint32_t idx, const char *item,
		    size_t pos)
{
	if (id == 0)
		return pf_error_set(d->err, "", "%s %zu: id 0 (ids must be nonzero)", item, pos);
	int rc = idmap_put(m, id, idx);
	if (rc == -EEXIST)
		return pf_error_set(d->err, "", "%s %zu: duplicate id %" PRIu64, item, pos, id);
	if (rc)
		return no_memory(d);
	return 0;
}

static int decode_functions(struct dec *d)
{
	size_t n = d->count[F_FUNCTION];
	if (idmap_init(&d->functions, n))
		return no_memory(d);
	for (size_t i = 0; i < n; i++) {
		const struct span *s = &d->spans[F_FUNCTION][i];
		pf_pb_arena_reset(&d->arena);
		Perftools__Profiles__Function *m =
			perftools__profiles__function__unpack(&d->arena.allocator, s->n, s->p);
		if (!m)
			return pf_error_set(d->err, "", "function %zu: malformed message", i);
		struct pf_function f = {.start_line = m->start_line};
		if (map_str(d, m->name, &f.name, "function", i, "name") ||
		    map_str(d, m->system_name, &f.system_name, "function", i, "system_name") ||
		    map_str(d, m->filename, &f.filename, "function", i, "filename"))
			return -EINVAL;
		uint32_t idx = pf_batch_function(d->b, &f);
		if (idx == PF_INDEX_ERROR)
			return no_memory(d);
		int rc = check_id(d, &d->functions, m->id, idx, "function", i);
		if (rc)
			return rc;
	}
	return 0;
}

static int decode_mappings(struct dec *d)
{
	size_t n = d->count[F_MAPPING];
	if (idmap_init(&d->mappings, n))
		return no_memory(d);
	for (size_t i = 0; i < n; i++) {
		const struct span *s = &d->spans[F_MAPPING][i];
		pf_pb_arena_reset(&d->arena);
		Perftools__Profiles__Mapping *m =
			perftools__profiles__mapping__unpack(&d->arena.allocator, s->n, s->p);
		if (!m)
			return pf_error_set(d->err, "", "mapping %zu: malformed message", i);
		struct pf_mapping mp = {
			.memory_start = m->memory_start,
			.memory_limit = m->memory_limit,
			.file_offset = m->file_offset,
		};
		uint32_t build_id = 0;
		if (map_str(d, m->filename, &mp.filename, "mapping", i, "filename") ||
		    map_str(d, m->build_id, &build_id, "mapping", i, "build_id"))
			return -EINVAL;
		uint32_t set[5];
		size_t n_set = 0;
		if (build_id) {
			struct pf_attribute a = {
				.key = d->keys.build_id,
				.value = {.kind = PF_VALUE_STRING, .u.str = build_id}};
			set[n_set] = pf_batch_attribute(d->b, &a);
			if (set[n_set++] == PF_INDEX_ERROR)
				return no_memory(d);
		}
		if (m->has_functions)
			set[n_set++] = d->keys.has_functions_true;
		if (m->has_filenames)
			set[n_set++] = d->keys.has_filenames_true;
		if (m->has_line_numbers)
			set[n_set++] = d->keys.has_line_numbers_true;
		if (m->has_inline_frames)
			set[n_set++] = d->keys.has_inline_frames_true;
		mp.attrs = pf_batch_attr_set(d->b, set, n_set);
		if (mp.attrs == PF_INDEX_ERROR)
			return no_memory(d);
		uint32_t idx = pf_batch_mapping(d->b, &mp);
		if (idx == PF_INDEX_ERROR)
			return no_memory(d);
		int rc = check_id(d, &d->mappings, m->id, idx, "mapping", i);
		if (rc)
			return rc;
	}
	return 0;
}

/* Grows the per-message scratch to hold n uint32 values. */
static uint32_t *scratch(struct dec *d, size_t n)
{
	if (n <= d->scratch_cap)
		return d->scratch;
	size_t cap = d->scratch_cap ? d->scratch_cap : 64;
	while (cap < n)
		cap *= 2;
	uint32_t *p = calloc(cap, sizeof(*p));
	if (!p)
		return NULL;
	free(d->scratch);
	d->scratch = p;
	d->scratch_cap = cap;
	return p;
}

static int decode_locations(struct dec *d)
{
	size_t n = d->count[F_LOCATION];
	struct pf_line *lines = NULL;
	size_t lines_cap = 0;
	int ret = 0;

	if (idmap_init(&d->locations, n))
		return no_memory(d);
	for (size_t i = 0; i < n; i++) {
		const struct span *s = &d->spans[F_LOCATION][i];
		pf_pb_arena_reset(&d->arena);
		Perftools__Profiles__Location *m =
			perftools__profiles__location__unpack(&d->arena.allocator, s->n, s->p);
		if (!m) {
			ret = pf_error_set(d->err, "", "location %zu: malformed message", i);
			goto out_free_lines;
		}
		struct pf_location loc = {.address = m->address};
		if (m->mapping_id && !idmap_get(&d->mappings, m->mapping_id, &loc.mapping)) {
			ret = pf_error_set(d->err, "",
					   "location %zu: mapping id %" PRIu64 " not defined", i,
					   m->mapping_id);
			goto out_free_lines;
		}
		if (m->is_folded) {
			loc.attrs = d->keys.is_folded_set;
		}
		if (m->n_line > lines_cap) {
			free(lines);
			lines_cap = m->n_line * 2;
			lines = calloc(lines_cap, sizeof(*lines));
			if (!lines) {
				ret = no_memory(d);
				goto out_free_lines;
			}
		}
		for (size_t j = 0; j < m->n_line; j++) {
			const Perftools__Profiles__Line *l = m->line[j];
			lines[j].line = l->line;
			lines[j].column = l->column;
			lines[j].function = 0;
			if (l->function_id &&
			    !idmap_get(&d->functions, l->function_id, &lines[j].function)) {
				ret = pf_error_set(d->err, "",
						   "location %zu: line %zu: function id %" PRIu64
						   " not defined",
						   i, j, l->function_id);
				goto out_free_lines;
			}
		}
		uint32_t idx = pf_batch_location(d->b, &loc, lines, m->n_line);
		if (idx == PF_INDEX_ERROR) {
			ret = no_memory(d);
			goto out_free_lines;
		}
		ret = check_id(d, &d->locations, m->id, idx, "location", i);
		if (ret)
			goto out_free_lines;
	}

out_free_lines:
	free(lines);
	return ret;
}

static int decode_label(struct dec *d, const Perftools__Profiles__Label *l, size_t i, uint32_t *out)
{
	uint64_t h = (uint64_t)l->key * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)l->str * 0xc2b2ae3d27d4eb4full ^
		     (uint64_t)l->num * 0x165667b19e3779f9ull ^ (uint64_t)l->num_unit;
	struct label_memo *m = &d->memo[(h ^ h >> 29) % LABEL_MEMO];
	if (m->attr && m->key == l->key && m->str == l->str && m->num == l->num &&
	    m->num_unit == l->num_unit) {
		*out = m->attr - 1;
		return 0;
	}
	struct pf_attribute a = {0};
	if (map_str(d, l->key, &a.key, "sample", i, "label key"))
		return -EINVAL;
	if (l->str) {
		a.value.kind = PF_VALUE_STRING;
		if (map_str(d, l->str, &a.value.u.str, "sample", i, "label value"))
			return -EINVAL;
	} else {
		a.value.kind = PF_VALUE_INT;
		a.value.u.i = l->num;
		if (map_str(d, l->num_unit, &a.unit, "sample", i, "label num_unit"))
			return -EINVAL;
	}
	*out = pf_batch_attribute(d->b, &a);
	if (*out == PF_INDEX_ERROR)
		return no_memory(d);
	*m = (struct label_memo){l->key, l->str, l->num, l->num_unit, *out + 1};
	return 0;
}

/* Converts sample i (already unpacked) into stacks/attrs/values. */
static int decode_sample(struct dec *d, const Perftools__Profiles__Sample *m, size_t i,
			 size_t n_samples)
{
	if (m->n_value != d->n_types)
		return pf_error_set(d->err, "",
				    "sample %zu: %zu values, want %zu (one per sample type)", i,
				    m->n_value, d->n_types);
	size_t need = m->n_location_id > m->n_label ? m->n_location_id : m->n_label;
	uint32_t *tmp = scratch(d, need);
	if (!tmp)
		return no_memory(d);
	for (size_t j = 0; j < m->n_location_id; j++) {
		uint64_t id = m->location_id[j];
		if (!idmap_get(&d->locations, id, &tmp[j]) || id == 0)
			return pf_error_set(d->err, "",
					    "sample %zu: location id %" PRIu64 " not defined", i,
					    id);
	}
	uint32_t stack = pf_batch_stack(d->b, tmp, m->n_location_id);
	if (stack == PF_INDEX_ERROR)
		return no_memory(d);
	for (size_t j = 0; j < m->n_label; j++) {
		int rc = decode_label(d, m->label[j], i, &tmp[j]);
		if (rc)
			return rc;
	}
	uint32_t attrs = pf_batch_attr_set(d->b, tmp, m->n_label);
	if (attrs == PF_INDEX_ERROR)
		return no_memory(d);
	d->stacks[i] = stack;
	d->attrs[i] = attrs;
	for (size_t k = 0; k < d->n_types; k++)
		d->values[k * n_samples + i] = m->value[k];
	return 0;
}

static int decode_samples(struct dec *d, const uint8_t *data, size_t size)
{
	size_t n = d->count[F_SAMPLE];
	if (n > 0 && d->n_types == 0)
		return pf_error_set(d->err, "", "profile has %zu samples but no sample_type", n);
	if (n > 0 && d->n_types > SIZE_MAX / sizeof(int64_t) / n)
		return no_memory(d);
	d->stacks = calloc(n + 1, sizeof(*d->stacks));
	d->attrs = calloc(n + 1, sizeof(*d->attrs));
	d->values = calloc(n * d->n_types + 1, sizeof(*d->values));
	if (!d->stacks || !d->attrs || !d->values)
		return no_memory(d);

	/* The first walk validated the structure; this one only picks samples. */
	struct pf_pb_cursor c = {data, data + size};
	size_t i = 0;
	while (c.p < c.end) {
		uint32_t field = 0;
		unsigned wire = 0;
		const uint8_t *p = NULL;
		size_t len = 0;
		pf_pb_read_key(&c, &field, &wire);
		if (field != F_SAMPLE || wire != PF_PB_LEN) {
			pf_pb_skip(&c, wire);
			continue;
		}
		pf_pb_read_len(&c, &p, &len);
		pf_pb_arena_reset(&d->arena);
		Perftools__Profiles__Sample *m =
			perftools__profiles__sample__unpack(&d->arena.allocator, len, p);
		if (!m)
			return pf_error_set(d->err, "", "sample %zu: malformed message", i);
		int rc = decode_sample(d, m, i, n);
		if (rc)
			return rc;
		i++;
	}
	return 0;
}

static int decode_value_type(struct dec *d, struct span s, struct pf_value_type *vt,
			     const char *item, size_t pos)
{
	pf_pb_arena_reset(&d->arena);
	Perftools__Profiles__ValueType *m =
		perftools__profiles__value_type__unpack(&d->arena.allocator, s.n, s.p);
	if (!m)
		return pf_error_set(d->err, "", "%s: malformed message", item);
	if (map_str(d, m->type, &vt->type, item, pos, "type") ||
	    map_str(d, m->unit, &vt->unit, item, pos, "unit"))
		return -EINVAL;
	return 0;
}

static int add_str_attr(struct dec *d, uint32_t key, int64_t idx, const char *field, uint32_t *set,
			size_t *n)
{
	struct pf_attribute a = {.key = key, .value.kind = PF_VALUE_STRING};
	if (map_str(d, idx, &a.value.u.str, "profile", SIZE_MAX, field))
		return -EINVAL;
	if (a.value.u.str == 0)
		return 0;
	set[*n] = pf_batch_attribute(d->b, &a);
	return set[(*n)++] == PF_INDEX_ERROR ? no_memory(d) : 0;
}

/* The description every profile of this pprof shares (sample type aside). */
static int decode_desc(struct dec *d, const struct pf_pprof_origin *origin,
		       struct pf_profile_desc *desc)
{
	memset(desc, 0, sizeof(*desc));
	if (origin) {
		desc->resource = origin->resource;
		desc->scope = origin->scope;
	}
	d->n_types = d->count[F_SAMPLE_TYPE];
	d->types = calloc(d->n_types + 1, sizeof(*d->types));
	if (!d->types)
		return no_memory(d);
	for (size_t k = 0; k < d->n_types; k++)
		if (decode_value_type(d, d->spans[F_SAMPLE_TYPE][k], &d->types[k], "sample_type",
				      k))
			return -EINVAL;
	if (d->period_type.p &&
	    decode_value_type(d, d->period_type, &desc->period_type, "period_type", SIZE_MAX))
		return -EINVAL;
	desc->period = d->scalar[F_PERIOD];
	desc->time_unix_nano = (uint64_t)d->scalar[F_TIME_NANOS];
	desc->duration_nano = (uint64_t)d->scalar[F_DURATION_NANOS];

	uint32_t set[5];
	size_t n = 0;
	if (d->n_comments) {
		uint32_t *strs = scratch(d, d->n_comments);
		if (!strs)
			return no_memory(d);
		for (size_t i = 0; i < d->n_comments; i++)
			if (map_str(d, d->comments[i], &strs[i], "comment", i, "text"))
				return -EINVAL;
		struct pf_attribute a = {.key = d->keys.comment, .value.kind = PF_VALUE_STRINGS};
		a.value.u.strs = pf_batch_string_list(d->b, strs, d->n_comments);
		if (a.value.u.strs == PF_INDEX_ERROR)
			return no_memory(d);
		set[n] = pf_batch_attribute(d->b, &a);
		if (set[n++] == PF_INDEX_ERROR)
			return no_memory(d);
	}
	int rc;
	if ((rc = add_str_attr(d, d->keys.drop_frames, d->scalar[F_DROP_FRAMES], "drop_frames", set,
			       &n)) ||
	    (rc = add_str_attr(d, d->keys.keep_frames, d->scalar[F_KEEP_FRAMES], "keep_frames", set,
			       &n)) ||
	    (rc = add_str_attr(d, d->keys.doc_url, d->scalar[F_DOC_URL], "doc_url", set, &n)) ||
	    (rc = add_str_attr(d, d->keys.default_sample_type, d->scalar[F_DEFAULT_SAMPLE_TYPE],
			       "default_sample_type", set, &n)))
		return rc;
	desc->attrs = pf_batch_attr_set(d->b, set, n);
	return desc->attrs == PF_INDEX_ERROR ? no_memory(d) : 0;
}

static int add_profiles(struct dec *d, const struct pf_profile_desc *base)
{
	size_t n = d->count[F_SAMPLE];
	for (size_t k = 0; k < d->n_types; k++) {
		struct pf_profile_desc desc = *base;
		desc.sample_type = d->types[k];
		uint32_t p = pf_batch_add_profile(d->b, &desc);
		if (p == PF_INDEX_ERROR)
			return no_memory(d);
		const int64_t *v = d->values + k * n;
		for (size_t i = 0; i < n; i++) {
			int rc = pf_batch_add_sample(d->b, p, d->stacks[i], d->attrs[i], 0, &v[i],
						     1, NULL, 0);
			if (rc)
				return rc == -ENOMEM ? no_memory(d) : rc;
		}
	}
	return (int)d->n_types;
}

static int decode_raw(struct dec *d, const struct pf_pprof_origin *origin, const uint8_t *data,
		      size_t size)
{
	struct pf_profile_desc desc;
	int rc;

	d->base = data;
	if ((rc = walk(d, data, size, false)) || (rc = alloc_spans(d)) ||
	    (rc = walk(d, data, size, true)))
		return rc;
	d->n_comments = d->count[F_COMMENT];
	if ((rc = decode_strings(d)))
		return rc;
	if (pf_pprof_keys_intern(d->b, &d->keys))
		return no_memory(d);
	if ((rc = decode_functions(d)) || (rc = decode_mappings(d)) || (rc = decode_locations(d)) ||
	    (rc = decode_desc(d, origin, &desc)) || (rc = decode_samples(d, data, size)))
		return rc;
	return add_profiles(d, &desc);
}

int pf_pprof_decode(struct pf_batch *b, const struct pf_pprof_origin *origin, const void *data,
		    size_t size, size_t max_size, struct pf_error *err)
{
	struct dec d;
	uint8_t *raw = NULL;
	size_t raw_size = size;
	int ret;

	if (max_size == 0)
		max_size = DEFAULT_MAX_SIZE;
	memset(&d, 0, sizeof(d));
	d.b = b;
	d.err = err;
	pf_pb_arena_init(&d.arena, 0);

	if (pf_gzip_detect(data, size)) {
		ret = pf_gzip_decompress(data, size, max_size, &raw, &raw_size);
		if (ret == -EFBIG) {
			pf_error_set(err, "", "profile larger than %zu bytes once decompressed",
				     max_size);
			goto out_free;
		}
		if (ret) {
			if (ret == -ENOMEM)
				no_memory(&d);
			else
				pf_error_set(err, "", "corrupt or truncated gzip data");
			goto out_free;
		}
		data = raw;
	} else if (size > max_size) {
		ret = pf_error_set(err, "", "profile larger than %zu bytes", max_size);
		ret = -EFBIG;
		goto out_free;
	}
	ret = decode_raw(&d, origin, data, raw_size);

out_free:
	for (int f = 0; f < F_MAX; f++)
		free(d.spans[f]);
	free(d.comments);
	free(d.str);
	idmap_fini(&d.functions);
	idmap_fini(&d.mappings);
	idmap_fini(&d.locations);
	free(d.scratch);
	free(d.types);
	free(d.stacks);
	free(d.attrs);
	free(d.values);
	pf_pb_arena_fini(&d.arena);
	free(raw);
	return ret;
}
