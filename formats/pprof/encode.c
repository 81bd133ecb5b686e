// SPDX-License-Identifier: Apache-2.0
/* pprof encoding: one group of batch profiles to a (gzip-compressed) perftools.profiles.Profile. */
#include "formats/pprof/pprof.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gzip.h"
#include "formats/pb_arena.h"
#include "formats/pb_wire.h"
#include "formats/pprof/attrs.h"
#include "formats/pprof/rows.h"
#include "proto/pprof/profile.pb-c.h"

/*
 * Each sub-message is built as protobuf-c structs in an arena, packed behind
 * its tag and length, and the arena reset; the top level is written field by
 * field in field-number order, as a single protobuf-c pack would. With gzip
 * the finished bytes are compressed in one shot (libdeflate), which is much
 * faster than streaming through zlib for the price of holding them once.
 *
 * Ids are dense and 1-based in the batch's table order of the entries the
 * grouped profiles use; strings likewise, after string_table[0] = "".
 */

/* Strings a label needs that the batch does not hold (bool and double values). */
struct extras {
	char **items;
	size_t n, cap;
	uint32_t *slots; /* open addressing: extra index + 1 */
	size_t slots_cap;
};

struct enc {
	const struct pf_batch *b;
	const uint32_t *profiles;
	size_t n_profiles;
	struct pf_pprof_rows rows;

	/* batch index -> output id (0 = unused); strings map to table indices */
	uint32_t *str_id;
	uint32_t *loc_id;
	uint32_t *map_id;
	uint32_t *fn_id;
	uint8_t *map_gaps; /* per mapping: MAP_NO_* of its used locations */
	size_t n_str_out;  /* batch strings in the output, "" included */
	struct extras extras;

	struct pf_pb_arena arena;
	uint8_t *buf;
	size_t len, cap;
};

/* What some location of a mapping lacks (map_gaps bits). */
enum {
	MAP_NO_FUNCTION = 1, /* a location without lines, or a line's function unnamed */
	MAP_NO_FILENAME = 2,
	MAP_NO_LINE = 4,
};

/* ---- output ---- */

/* Room for n more bytes at e->buf + e->len. */
static uint8_t *out_reserve(struct enc *e, size_t n)
{
	if (e->cap - e->len < n) {
		size_t cap = e->cap ? e->cap : 65536;
		while (cap - e->len < n) {
			if (cap > SIZE_MAX / 2)
				return NULL;
			cap *= 2;
		}
		uint8_t *p = realloc(e->buf, cap);
		if (!p)
			return NULL;
		e->buf = p;
		e->cap = cap;
	}
	return e->buf + e->len;
}

static int out_message(struct enc *e, uint32_t field, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = out_reserve(e, n + 20);
	if (!p)
		return -ENOMEM;
	size_t k = pf_pb_put_varint(p, (uint64_t)field << 3 | PF_PB_LEN);
	k += pf_pb_put_varint(p + k, n);
	k += protobuf_c_message_pack(m, p + k);
	e->len += k;
	return 0;
}

/* Like out_message for a message whose packed size is at most `bound`:
 * packs once, in place, instead of sizing it first. */
static int out_message_bounded(struct enc *e, uint32_t field, const ProtobufCMessage *m,
			       size_t bound)
{
	uint8_t *p = out_reserve(e, bound + 16);
	if (!p)
		return -ENOMEM;
	size_t tag = pf_pb_put_varint(p, (uint64_t)field << 3 | PF_PB_LEN);
	size_t room = tag + 10; /* the largest length prefix */
	size_t n = protobuf_c_message_pack(m, p + room);
	assert(n <= bound);
	size_t k = tag + pf_pb_put_varint(p + tag, n);
	memmove(p + k, p + room, n);
	e->len += k + n;
	return 0;
}

static int out_string(struct enc *e, const char *s, size_t n)
{
	uint8_t *p = out_reserve(e, n + 20);
	if (!p)
		return -ENOMEM;
	size_t k = pf_pb_put_varint(p, 6u << 3 | PF_PB_LEN);
	k += pf_pb_put_varint(p + k, n);
	memcpy(p + k, s, n);
	e->len += k + n;
	return 0;
}

/* ---- extra strings ---- */

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* Index of `s` among the extras, added when new; UINT32_MAX on ENOMEM. */
static uint32_t extra_add(struct extras *x, const char *s)
{
	if (2 * (x->n + 1) > x->slots_cap) {
		size_t cap = x->slots_cap ? x->slots_cap * 2 : 16;
		uint32_t *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return UINT32_MAX;
		for (size_t i = 0; i < x->n; i++) {
			size_t h = str_hash(x->items[i]) & (cap - 1);
			while (slots[h])
				h = (h + 1) & (cap - 1);
			slots[h] = (uint32_t)i + 1;
		}
		free(x->slots);
		x->slots = slots;
		x->slots_cap = cap;
	}
	size_t mask = x->slots_cap - 1;
	size_t h = str_hash(s) & mask;
	for (; x->slots[h]; h = (h + 1) & mask)
		if (strcmp(x->items[x->slots[h] - 1], s) == 0)
			return x->slots[h] - 1;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 8;
		char **items = calloc(cap, sizeof(*items));
		if (!items)
			return UINT32_MAX;
		if (x->n)
			memcpy(items, x->items, x->n * sizeof(*items));
		free(x->items);
		x->items = items;
		x->cap = cap;
	}
	char *copy = strdup(s);
	if (!copy)
		return UINT32_MAX;
	x->items[x->n] = copy;
	x->slots[h] = (uint32_t)x->n + 1;
	return (uint32_t)x->n++;
}

static void extras_fini(struct extras *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->items[i]);
	free(x->items);
	free(x->slots);
}

/* The text of a bool or double label value. */
static void value_text(const struct pf_value *v, char *buf, size_t size)
{
	if (v->kind == PF_VALUE_BOOL)
		snprintf(buf, size, "%s", v->u.b ? "true" : "false");
	else
		snprintf(buf, size, "%.17g", v->u.d);
}

/* ---- marking what the group uses ---- */

static void mark_str(struct enc *e, uint32_t s)
{
	e->str_id[s] = 1;
}

static int mark_attr_set(struct enc *e, uint32_t set)
{
	size_t n;
	const uint32_t *attrs = pf_batch_attr_set_get(e->b, set, &n);
	for (size_t i = 0; i < n; i++) {
		const struct pf_attribute *a = pf_batch_attribute_get(e->b, attrs[i]);
		char text[40];
		size_t n_strs;
		const uint32_t *strs;
		mark_str(e, a->key);
		switch (a->value.kind) {
		case PF_VALUE_STRING: mark_str(e, a->value.u.str); break;
		case PF_VALUE_INT: mark_str(e, a->unit); break;
		case PF_VALUE_BOOL:
		case PF_VALUE_DOUBLE:
			value_text(&a->value, text, sizeof(text));
			if (extra_add(&e->extras, text) == UINT32_MAX)
				return -ENOMEM;
			break;
		case PF_VALUE_STRINGS:
			strs = pf_batch_string_list_get(e->b, a->value.u.strs, &n_strs);
			for (size_t j = 0; j < n_strs; j++)
				mark_str(e, strs[j]);
			break;
		case PF_VALUE_EMPTY: break;
		}
	}
	return 0;
}

static const struct pf_value *profile_attr(const struct enc *e, const char *key)
{
	const struct pf_profile_desc *d = pf_batch_profile_get(e->b, e->profiles[0]);
	return pf_batch_attr_lookup(e->b, d->attrs, key);
}

static uint32_t mapping_build_id(const struct enc *e, const struct pf_mapping *m)
{
	const struct pf_value *v = pf_batch_attr_lookup(e->b, m->attrs, PF_PPROF_BUILD_ID);
	if (!v || v->kind != PF_VALUE_STRING)
		v = pf_batch_attr_lookup(e->b, m->attrs, PF_PPROF_BUILD_ID_GO);
	return v && v->kind == PF_VALUE_STRING ? v->u.str : 0;
}

static void mark_profile(struct enc *e)
{
	static const char *const str_keys[] = {PF_PPROF_DROP_FRAMES, PF_PPROF_KEEP_FRAMES,
					       PF_PPROF_DOC_URL, PF_PPROF_DEFAULT_SAMPLE_TYPE};
	for (size_t k = 0; k < e->n_profiles; k++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(e->b, e->profiles[k]);
		mark_str(e, d->sample_type.type);
		mark_str(e, d->sample_type.unit);
		mark_str(e, d->period_type.type);
		mark_str(e, d->period_type.unit);
	}
	for (size_t i = 0; i < sizeof(str_keys) / sizeof(str_keys[0]); i++) {
		const struct pf_value *v = profile_attr(e, str_keys[i]);
		if (v && v->kind == PF_VALUE_STRING)
			mark_str(e, v->u.str);
	}
	const struct pf_value *c = profile_attr(e, PF_PPROF_COMMENT);
	if (c && c->kind == PF_VALUE_STRINGS) {
		size_t n;
		const uint32_t *strs = pf_batch_string_list_get(e->b, c->u.strs, &n);
		for (size_t i = 0; i < n; i++)
			mark_str(e, strs[i]);
	} else if (c && c->kind == PF_VALUE_STRING) {
		mark_str(e, c->u.str);
	}
}

/* Marks everything reachable from the rows, then numbers it in table order. */
static int mark_and_number(struct enc *e)
{
	const struct pf_batch *b = e->b;
	size_t n_loc = pf_batch_n_locations(b), n_map = pf_batch_n_mappings(b);
	size_t n_fn = pf_batch_n_functions(b), n_str = pf_batch_n_strings(b);
	e->str_id = calloc(n_str, sizeof(*e->str_id));
	e->loc_id = calloc(n_loc, sizeof(*e->loc_id));
	e->map_id = calloc(n_map, sizeof(*e->map_id));
	e->fn_id = calloc(n_fn, sizeof(*e->fn_id));
	e->map_gaps = calloc(n_map, 1);
	if (!e->str_id || !e->loc_id || !e->map_id || !e->fn_id || !e->map_gaps)
		return -ENOMEM;

	/* Rows name stacks and attribute sets in random order; marking each
	 * distinct one once, in table order, reads the batch sequentially. */
	size_t n_stacks = pf_batch_n_stacks(b), n_sets = pf_batch_n_attr_sets(b);
	uint8_t *used = calloc(n_stacks > n_sets ? n_stacks : n_sets, 1);
	if (!used)
		return -ENOMEM;
	for (size_t r = 0; r < e->rows.n; r++)
		used[e->rows.stack[r]] = 1;
	for (size_t i = 1; i < n_stacks; i++) {
		if (!used[i])
			continue;
		size_t n;
		const uint32_t *locs = pf_batch_stack_get(b, (uint32_t)i, &n);
		for (size_t j = 0; j < n; j++)
			e->loc_id[locs[j]] = 1;
	}
	memset(used, 0, n_sets);
	for (size_t r = 0; r < e->rows.n; r++)
		used[e->rows.attrs[r]] = 1;
	for (size_t i = 1; i < n_sets; i++) {
		int rc = used[i] ? mark_attr_set(e, (uint32_t)i) : 0;
		if (rc) {
			free(used);
			return rc;
		}
	}
	free(used);
	/* Location 0 is a real location too: an empty pprof location (no
	 * mapping, address or lines) interns to the zero entry. */
	uint32_t id = 0;
	for (size_t i = 0; i < n_loc; i++) {
		if (!e->loc_id[i])
			continue;
		e->loc_id[i] = ++id;
		const struct pf_location *l = pf_batch_location_get(b, (uint32_t)i);
		e->map_id[l->mapping] = 1;
		size_t n;
		const struct pf_line *lines = pf_batch_location_lines(b, (uint32_t)i, &n);
		if (!n)
			e->map_gaps[l->mapping] |= MAP_NO_FUNCTION | MAP_NO_FILENAME | MAP_NO_LINE;
		for (size_t j = 0; j < n; j++) {
			const struct pf_function *f = pf_batch_function_get(b, lines[j].function);
			e->fn_id[lines[j].function] = 1;
			e->map_gaps[l->mapping] |= (f->name ? 0 : MAP_NO_FUNCTION) |
						   (f->filename ? 0 : MAP_NO_FILENAME) |
						   (lines[j].line > 0 ? 0 : MAP_NO_LINE);
		}
	}
	id = 0;
	for (size_t i = 1; i < n_map; i++) {
		if (!e->map_id[i])
			continue;
		e->map_id[i] = ++id;
		const struct pf_mapping *m = pf_batch_mapping_get(b, (uint32_t)i);
		mark_str(e, m->filename);
		mark_str(e, mapping_build_id(e, m));
	}
	id = 0;
	for (size_t i = 1; i < n_fn; i++) {
		if (!e->fn_id[i])
			continue;
		e->fn_id[i] = ++id;
		const struct pf_function *f = pf_batch_function_get(b, (uint32_t)i);
		mark_str(e, f->name);
		mark_str(e, f->system_name);
		mark_str(e, f->filename);
	}
	e->map_id[0] = e->fn_id[0] = 0;
	mark_profile(e);
	id = 0;
	for (size_t i = 1; i < n_str; i++)
		if (e->str_id[i])
			e->str_id[i] = ++id;
	e->str_id[0] = 0;
	e->n_str_out = id + 1;
	return 0;
}

/* ---- emitting ---- */

static int64_t extra_id(struct enc *e, const struct pf_value *v)
{
	char text[40];
	value_text(v, text, sizeof(text));
	/* Every text was added while marking; this only looks it up. */
	return (int64_t)(e->n_str_out + extra_add(&e->extras, text));
}

/* Labels of one attribute into `out` (room for all); returns how many. */
static size_t attr_labels(struct enc *e, uint32_t attr, Perftools__Profiles__Label *out)
{
	const struct pf_attribute *a = pf_batch_attribute_get(e->b, attr);
	Perftools__Profiles__Label init = PERFTOOLS__PROFILES__LABEL__INIT;
	out[0] = init;
	out[0].key = e->str_id[a->key];
	switch (a->value.kind) {
	case PF_VALUE_STRING: out[0].str = e->str_id[a->value.u.str]; return 1;
	case PF_VALUE_INT:
		out[0].num = a->value.u.i;
		out[0].num_unit = e->str_id[a->unit];
		return 1;
	case PF_VALUE_BOOL:
	case PF_VALUE_DOUBLE: out[0].str = extra_id(e, &a->value); return 1;
	case PF_VALUE_STRINGS: {
		size_t n;
		const uint32_t *strs = pf_batch_string_list_get(e->b, a->value.u.strs, &n);
		for (size_t j = 0; j < n; j++) {
			out[j] = init;
			out[j].key = e->str_id[a->key];
			out[j].str = e->str_id[strs[j]];
		}
		return n;
	}
	case PF_VALUE_EMPTY: break;
	}
	return 0;
}

static size_t attr_label_count(const struct enc *e, uint32_t attr)
{
	const struct pf_attribute *a = pf_batch_attribute_get(e->b, attr);
	if (a->value.kind == PF_VALUE_EMPTY)
		return 0;
	if (a->value.kind != PF_VALUE_STRINGS)
		return 1;
	size_t n;
	pf_batch_string_list_get(e->b, a->value.u.strs, &n);
	return n;
}

static int emit_samples(struct enc *e)
{
	for (size_t r = 0; r < e->rows.n; r++) {
		Perftools__Profiles__Sample s = PERFTOOLS__PROFILES__SAMPLE__INIT;
		size_t n_locs, n_attrs, n_labels = 0;
		const uint32_t *locs = pf_batch_stack_get(e->b, e->rows.stack[r], &n_locs);
		const uint32_t *attrs = pf_batch_attr_set_get(e->b, e->rows.attrs[r], &n_attrs);
		for (size_t j = 0; j < n_attrs; j++)
			n_labels += attr_label_count(e, attrs[j]);

		pf_pb_arena_reset(&e->arena);
		s.location_id = pf_pb_arena_alloc(&e->arena, n_locs * sizeof(uint64_t));
		s.value = pf_pb_arena_alloc(&e->arena, e->n_profiles * sizeof(int64_t));
		Perftools__Profiles__Label *labels =
			pf_pb_arena_alloc(&e->arena, n_labels * sizeof(*labels));
		s.label = pf_pb_arena_alloc(&e->arena, n_labels * sizeof(*s.label));
		if (!s.location_id || !s.value || !labels || !s.label)
			return -ENOMEM;
		s.n_location_id = n_locs;
		for (size_t j = 0; j < n_locs; j++)
			s.location_id[j] = e->loc_id[locs[j]];
		s.n_value = e->n_profiles;
		memcpy(s.value, pf_pprof_rows_values(&e->rows, r), e->n_profiles * sizeof(int64_t));
		size_t k = 0;
		for (size_t j = 0; j < n_attrs; j++)
			k += attr_labels(e, attrs[j], labels + k);
		for (size_t j = 0; j < k; j++)
			s.label[j] = &labels[j];
		s.n_label = k;
		/* Varints take at most 10 bytes; a label at most 4 of them plus
		 * a tag each and its own key and length. */
		size_t bound = 32 + 10 * (n_locs + e->n_profiles) + 48 * k;
		int rc = out_message_bounded(e, 2, &s.base, bound);
		if (rc)
			return rc;
	}
	return 0;
}

static int emit_mappings(struct enc *e)
{
	size_t n_map = pf_batch_n_mappings(e->b);
	for (size_t i = 1; i < n_map; i++) {
		if (!e->map_id[i])
			continue;
		const struct pf_mapping *m = pf_batch_mapping_get(e->b, (uint32_t)i);
		Perftools__Profiles__Mapping pm = PERFTOOLS__PROFILES__MAPPING__INIT;
		pm.id = e->map_id[i];
		pm.memory_start = m->memory_start;
		pm.memory_limit = m->memory_limit;
		pm.file_offset = m->file_offset;
		pm.filename = e->str_id[m->filename];
		pm.build_id = e->str_id[mapping_build_id(e, m)];
		const struct pf_value *v;
		/* A flag is set when the mapping's attributes say so, or when every
		 * location of the mapping in this profile shows it: tools such as
		 * pprof otherwise symbolize such a mapping again from the local
		 * binary, replacing these lines (and their start lines and inline
		 * frames) with their own. */
		uint8_t gaps = e->map_gaps[i];
#define FLAG(field, key, derived)                                                                  \
	v = pf_batch_attr_lookup(e->b, m->attrs, key);                                             \
	pm.field = (v && v->kind == PF_VALUE_BOOL && v->u.b) || (derived);
		FLAG(has_functions, PF_PPROF_HAS_FUNCTIONS, !(gaps & MAP_NO_FUNCTION));
		FLAG(has_filenames, PF_PPROF_HAS_FILENAMES,
		     !(gaps & (MAP_NO_FUNCTION | MAP_NO_FILENAME)));
		FLAG(has_line_numbers, PF_PPROF_HAS_LINE_NUMBERS,
		     !(gaps & (MAP_NO_FUNCTION | MAP_NO_LINE)));
		FLAG(has_inline_frames, PF_PPROF_HAS_INLINE_FRAMES, false);
#undef FLAG
		int rc = out_message(e, 3, &pm.base);
		if (rc)
			return rc;
	}
	return 0;
}

static int emit_locations(struct enc *e)
{
	size_t n_loc = pf_batch_n_locations(e->b);
	for (size_t i = 0; i < n_loc; i++) {
		if (!e->loc_id[i])
			continue;
		const struct pf_location *l = pf_batch_location_get(e->b, (uint32_t)i);
		size_t n;
		const struct pf_line *lines = pf_batch_location_lines(e->b, (uint32_t)i, &n);
		Perftools__Profiles__Location pl = PERFTOOLS__PROFILES__LOCATION__INIT;
		pf_pb_arena_reset(&e->arena);
		Perftools__Profiles__Line *pls = pf_pb_arena_alloc(&e->arena, n * sizeof(*pls));
		pl.line = pf_pb_arena_alloc(&e->arena, n * sizeof(*pl.line));
		if (!pls || !pl.line)
			return -ENOMEM;
		pl.id = e->loc_id[i];
		pl.mapping_id = e->map_id[l->mapping];
		pl.address = l->address;
		const struct pf_value *v = pf_batch_attr_lookup(e->b, l->attrs, PF_PPROF_IS_FOLDED);
		pl.is_folded = v && v->kind == PF_VALUE_BOOL && v->u.b;
		for (size_t j = 0; j < n; j++) {
			Perftools__Profiles__Line init = PERFTOOLS__PROFILES__LINE__INIT;
			pls[j] = init;
			pls[j].function_id = e->fn_id[lines[j].function];
			pls[j].line = lines[j].line;
			pls[j].column = lines[j].column;
			pl.line[j] = &pls[j];
		}
		pl.n_line = n;
		int rc = out_message(e, 4, &pl.base);
		if (rc)
			return rc;
	}
	return 0;
}

static int emit_functions(struct enc *e)
{
	size_t n_fn = pf_batch_n_functions(e->b);
	for (size_t i = 1; i < n_fn; i++) {
		if (!e->fn_id[i])
			continue;
		const struct pf_function *f = pf_batch_function_get(e->b, (uint32_t)i);
		Perftools__Profiles__Function pf = PERFTOOLS__PROFILES__FUNCTION__INIT;
		pf.id = e->fn_id[i];
		pf.name = e->str_id[f->name];
		pf.system_name = e->str_id[f->system_name];
		pf.filename = e->str_id[f->filename];
		pf.start_line = f->start_line;
		int rc = out_message(e, 5, &pf.base);
		if (rc)
			return rc;
	}
	return 0;
}

static int emit_strings(struct enc *e)
{
	int rc = out_string(e, "", 0);
	size_t n_str = pf_batch_n_strings(e->b);
	for (size_t i = 1; i < n_str && rc == 0; i++)
		if (e->str_id[i])
			rc = out_string(e, pf_batch_str(e->b, (uint32_t)i),
					pf_batch_str_len(e->b, (uint32_t)i));
	for (size_t i = 0; i < e->extras.n && rc == 0; i++)
		rc = out_string(e, e->extras.items[i], strlen(e->extras.items[i]));
	return rc;
}

static int64_t profile_str(struct enc *e, const char *key)
{
	const struct pf_value *v = profile_attr(e, key);
	return v && v->kind == PF_VALUE_STRING ? e->str_id[v->u.str] : 0;
}

/* sample_type first, the scalar tail last, both through protobuf-c. */
static int emit_head(struct enc *e)
{
	for (size_t k = 0; k < e->n_profiles; k++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(e->b, e->profiles[k]);
		Perftools__Profiles__ValueType vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
		vt.type = e->str_id[d->sample_type.type];
		vt.unit = e->str_id[d->sample_type.unit];
		int rc = out_message(e, 1, &vt.base);
		if (rc)
			return rc;
	}
	return 0;
}

static int emit_tail(struct enc *e)
{
	Perftools__Profiles__Profile p = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType pt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	if (e->n_profiles == 0)
		return 0;
	const struct pf_profile_desc *d = pf_batch_profile_get(e->b, e->profiles[0]);
	p.drop_frames = profile_str(e, PF_PPROF_DROP_FRAMES);
	p.keep_frames = profile_str(e, PF_PPROF_KEEP_FRAMES);
	p.time_nanos = (int64_t)d->time_unix_nano;
	p.duration_nanos = (int64_t)d->duration_nano;
	if (d->period_type.type || d->period_type.unit) {
		pt.type = e->str_id[d->period_type.type];
		pt.unit = e->str_id[d->period_type.unit];
		p.period_type = &pt;
	}
	p.period = d->period;
	p.default_sample_type = profile_str(e, PF_PPROF_DEFAULT_SAMPLE_TYPE);
	p.doc_url = profile_str(e, PF_PPROF_DOC_URL);

	const struct pf_value *c = profile_attr(e, PF_PPROF_COMMENT);
	pf_pb_arena_reset(&e->arena);
	if (c && (c->kind == PF_VALUE_STRINGS || c->kind == PF_VALUE_STRING)) {
		size_t n = 1;
		const uint32_t *strs = &c->u.str;
		if (c->kind == PF_VALUE_STRINGS)
			strs = pf_batch_string_list_get(e->b, c->u.strs, &n);
		p.comment = pf_pb_arena_alloc(&e->arena, n * sizeof(int64_t));
		if (!p.comment)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			p.comment[i] = e->str_id[strs[i]];
		p.n_comment = n;
	}
	size_t n = protobuf_c_message_get_packed_size(&p.base);
	uint8_t *out = out_reserve(e, n);
	if (!out)
		return -ENOMEM;
	e->len += protobuf_c_message_pack(&p.base, out);
	return 0;
}

int pf_pprof_encode(const struct pf_batch *b, const uint32_t *profiles, size_t n_profiles,
		    bool gzip, uint8_t **out, size_t *out_size)
{
	struct enc e;
	int ret;

	memset(&e, 0, sizeof(e));
	e.b = b;
	e.profiles = profiles;
	e.n_profiles = n_profiles;
	pf_pb_arena_init(&e.arena, 0);
	for (size_t k = 0; k < n_profiles; k++)
		if (profiles[k] >= pf_batch_n_profiles(b))
			return -EINVAL;
	ret = pf_pprof_rows_build(&e.rows, b, profiles, n_profiles);
	if (ret)
		goto out_free;
	if ((ret = mark_and_number(&e)) || (ret = emit_head(&e)) || (ret = emit_samples(&e)) ||
	    (ret = emit_mappings(&e)) || (ret = emit_locations(&e)) || (ret = emit_functions(&e)) ||
	    (ret = emit_strings(&e)) || (ret = emit_tail(&e)))
		goto out_free;
	if (gzip) {
		ret = pf_gzip_compress(e.buf, e.len, PF_GZIP_FASTEST, out, out_size);
	} else {
		*out = e.buf;
		*out_size = e.len;
		e.buf = NULL;
	}

out_free:
	free(e.buf);
	pf_pb_arena_fini(&e.arena);
	extras_fini(&e.extras);
	free(e.str_id);
	free(e.loc_id);
	free(e.map_id);
	free(e.map_gaps);
	free(e.fn_id);
	pf_pprof_rows_fini(&e.rows);
	return ret;
}
