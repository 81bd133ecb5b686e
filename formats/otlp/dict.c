// SPDX-License-Identifier: Apache-2.0
/* The hot dictionary tables (strings, functions, locations, stacks) read by hand into flat arrays. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/internal.h"
#include "formats/pb_wire.h"
#include "formats/utf8.h"

/*
 * Besides the samples, the string, function, location and stack tables are
 * nearly all of a request; as protobuf-c messages each entry cost an
 * allocation, an init and a descriptor walk. pf_otlp_strip() leaves them out
 * of what protobuf-c sees and hands each entry here; they are read with the
 * same rules as protobuf-c (last scalar wins, repeated scalars packed or
 * not, unknown fields skipped, int32 from the low 32 bits) and the
 * wire-type checks of wire_check.c, whose messages they repeat.
 */

struct rd {
	struct pf_otlp_dict *d;
	const uint8_t *base; /* the input, for offsets in messages */
	struct pf_error *err;
};

static int mismatch(struct rd *r, const char *msg, const uint8_t *at, uint32_t field, unsigned wire,
		    int want)
{
	char where[32];

	snprintf(where, sizeof(where), "offset %zu", (size_t)(at - r->base));
	return pf_error_set(r->err, where, "%s field %u has wire type %u, expected %d", msg, field,
			    wire, want);
}

static int malformed(struct rd *r, const char *msg, const uint8_t *at)
{
	char where[32];

	snprintf(where, sizeof(where), "offset %zu", (size_t)(at - r->base));
	return pf_error_set(r->err, where, "truncated or malformed protobuf in %s", msg);
}

/* Reads a scalar varint field of wire type `wire`. Returns 0, or -EINVAL. */
static int scalar(struct rd *r, const char *msg, struct pf_pb_cursor *c, const uint8_t *at,
		  uint32_t field, unsigned wire, uint64_t *v)
{
	if (wire != PF_PB_VARINT)
		return mismatch(r, msg, at, field, wire, PF_PB_VARINT);
	if (!pf_pb_read_varint(c, v))
		return malformed(r, msg, c->p);
	return 0;
}

/* Appends a repeated int32 field (one varint, or packed) to the index pool. */
static int int32s(struct rd *r, const char *msg, struct pf_pb_cursor *c, const uint8_t *at,
		  uint32_t field, unsigned wire)
{
	struct pf_otlp_dict *d = r->d;
	struct pf_pb_cursor vc;
	const uint8_t *sub;
	size_t len;
	uint64_t v;

	if (wire == PF_PB_VARINT) {
		vc = *c;
		if (!pf_pb_read_varint(c, &v))
			return malformed(r, msg, c->p);
		vc.end = c->p;
	} else if (wire == PF_PB_LEN) {
		if (!pf_pb_read_len(c, &sub, &len))
			return malformed(r, msg, c->p);
		vc = (struct pf_pb_cursor){sub, sub + len};
	} else {
		return mismatch(r, msg, at, field, wire, PF_PB_VARINT);
	}
	/* A varint takes at least one byte: room for the most there can be. */
	if (pf_otlp_grow(d->meter, (void **)&d->idx, &d->cap_idx, d->n_idx, (size_t)(vc.end - vc.p),
			 sizeof(*d->idx)))
		return -ENOMEM;
	ptrdiff_t n = pf_pb_read_packed_int32(vc.p, vc.end, d->idx + d->n_idx);
	if (n < 0)
		return malformed(r, msg, at);
	d->n_idx += (size_t)n;
	return 0;
}

/* Skips a field this reader does not know. */
static int skip(struct rd *r, const char *msg, struct pf_pb_cursor *c, unsigned wire)
{
	return pf_pb_skip(c, wire) ? 0 : malformed(r, msg, c->p);
}

/* A message of scalar fields 1..n_fields only (Function, Line): their
 * values into v[0..n_fields-1] (the last occurrence wins), others skipped. */
static int read_scalars(struct rd *r, const char *msg, const uint8_t *p, size_t n, uint64_t *v,
			uint32_t n_fields)
{
	struct pf_pb_cursor c = {p, p + n};

	while (c.p < c.end) {
		const uint8_t *at = c.p;
		uint32_t field;
		unsigned wire;
		int rc;

		if (!pf_pb_read_key(&c, &field, &wire))
			return malformed(r, msg, at);
		if (field < 1 || field > n_fields)
			rc = skip(r, msg, &c, wire);
		else
			rc = scalar(r, msg, &c, at, field, wire, &v[field - 1]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int read_function(struct rd *r, const uint8_t *p, size_t n)
{
	struct pf_otlp_dict *d = r->d;
	uint64_t v[4] = {0};
	int rc = read_scalars(r, "Function", p, n, v, 4);

	if (rc < 0)
		return rc;
	if (pf_otlp_grow(d->meter, (void **)&d->fn, &d->cap_fn, d->n_fn, 1, sizeof(*d->fn)))
		return -ENOMEM;
	d->fn[d->n_fn++] = (struct pf_otlp_function){
		.name_strindex = (int32_t)v[0],
		.system_name_strindex = (int32_t)v[1],
		.filename_strindex = (int32_t)v[2],
		.start_line = (int64_t)v[3],
	};
	return 0;
}

static int read_line(struct rd *r, const uint8_t *p, size_t n)
{
	struct pf_otlp_dict *d = r->d;
	uint64_t v[3] = {0};
	int rc = read_scalars(r, "Line", p, n, v, 3);

	if (rc < 0)
		return rc;
	if (pf_otlp_grow(d->meter, (void **)&d->lines, &d->cap_lines, d->n_lines, 1,
			 sizeof(*d->lines)))
		return -ENOMEM;
	d->lines[d->n_lines++] = (struct pf_otlp_line){
		.function_index = (int32_t)v[0],
		.line = (int64_t)v[1],
		.column = (int64_t)v[2],
	};
	return 0;
}

static int read_location(struct rd *r, const uint8_t *p, size_t n)
{
	struct pf_otlp_dict *d = r->d;
	struct pf_pb_cursor c = {p, p + n};
	struct pf_otlp_location l = {.lines_off = d->n_lines, .attrs_off = d->n_idx};

	while (c.p < c.end) {
		const uint8_t *at = c.p, *sub;
		uint32_t field;
		unsigned wire;
		uint64_t v = 0;
		size_t len;
		int rc;

		if (!pf_pb_read_key(&c, &field, &wire))
			return malformed(r, "Location", at);
		switch (field) {
		case 1:
		case 2:
			rc = scalar(r, "Location", &c, at, field, wire, &v);
			if (field == 1)
				l.mapping_index = (int32_t)v;
			else
				l.address = v;
			break;
		case 3:
			if (wire != PF_PB_LEN)
				return mismatch(r, "Location", at, field, wire, PF_PB_LEN);
			if (!pf_pb_read_len(&c, &sub, &len))
				return malformed(r, "Location", c.p);
			rc = read_line(r, sub, len);
			break;
		case 4: rc = int32s(r, "Location", &c, at, field, wire); break;
		default: rc = skip(r, "Location", &c, wire); break;
		}
		if (rc < 0)
			return rc;
	}
	l.n_lines = d->n_lines - l.lines_off;
	l.n_attrs = d->n_idx - l.attrs_off;
	if (pf_otlp_grow(d->meter, (void **)&d->loc, &d->cap_loc, d->n_loc, 1, sizeof(*d->loc)))
		return -ENOMEM;
	d->loc[d->n_loc++] = l;
	return 0;
}

static int read_stack(struct rd *r, const uint8_t *p, size_t n)
{
	struct pf_otlp_dict *d = r->d;
	struct pf_pb_cursor c = {p, p + n};
	struct pf_otlp_list s = {.off = d->n_idx};

	while (c.p < c.end) {
		const uint8_t *at = c.p;
		uint32_t field;
		unsigned wire;
		int rc;

		if (!pf_pb_read_key(&c, &field, &wire))
			return malformed(r, "Stack", at);
		rc = field == 1 ? int32s(r, "Stack", &c, at, field, wire)
				: skip(r, "Stack", &c, wire);
		if (rc < 0)
			return rc;
	}
	s.n = d->n_idx - s.off;
	if (pf_otlp_grow(d->meter, (void **)&d->stack, &d->cap_stack, d->n_stack, 1,
			 sizeof(*d->stack)))
		return -ENOMEM;
	d->stack[d->n_stack++] = s;
	return 0;
}

static int add_string(struct pf_otlp_dict *d, const char *s, size_t len)
{
	if (pf_otlp_grow(d->meter, (void **)&d->str, &d->cap_str, d->n_str, 1, sizeof(*d->str)))
		return -ENOMEM;
	d->str[d->n_str++] = (struct pf_otlp_str){s, len};
	return 0;
}

int pf_otlp_dict_add(struct pf_otlp_dict *d, uint32_t field, const uint8_t *p, size_t len,
		     const uint8_t *base, struct pf_error *err)
{
	struct rd r = {.d = d, .base = base, .err = err};

	switch (field) {
	case PF_OTLP_DICT_STRINGS: {
		/* Kept as protobuf-c's C strings were read: up to the first
		 * NUL; that is what exporters send on, so what is checked. */
		size_t kept = strnlen((const char *)p, len), bad = pf_utf8_check(p, kept);
		if (bad < kept)
			return pf_error_set(
				err, "", "dictionary.string_table[%zu]: invalid UTF-8 at byte %zu",
				d->n_str, bad);
		return add_string(d, (const char *)p, kept);
	}
	case PF_OTLP_DICT_FUNCTIONS: return read_function(&r, p, len);
	case PF_OTLP_DICT_LOCATIONS: return read_location(&r, p, len);
	case PF_OTLP_DICT_STACKS: return read_stack(&r, p, len);
	}
	return 0;
}

int pf_otlp_dict_from_pb(struct pf_otlp_dict *d, const PF_OTLP_PB(ProfilesDictionary) * pd)
{
	if (!pd)
		return 0;
	for (size_t i = 0; i < pd->n_string_table; i++)
		if (add_string(d, pd->string_table[i], strlen(pd->string_table[i])) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < pd->n_function_table; i++) {
		const PF_OTLP_PB(Function) *f = pd->function_table[i];
		if (pf_otlp_grow(d->meter, (void **)&d->fn, &d->cap_fn, d->n_fn, 1, sizeof(*d->fn)))
			return -ENOMEM;
		d->fn[d->n_fn++] = (struct pf_otlp_function){
			.name_strindex = f->name_strindex,
			.system_name_strindex = f->system_name_strindex,
			.filename_strindex = f->filename_strindex,
			.start_line = f->start_line,
		};
	}
	for (size_t i = 0; i < pd->n_location_table; i++) {
		const PF_OTLP_PB(Location) *l = pd->location_table[i];
		struct pf_otlp_location e = {.mapping_index = l->mapping_index,
					     .address = l->address,
					     .lines_off = d->n_lines,
					     .n_lines = l->n_lines,
					     .attrs_off = d->n_idx,
					     .n_attrs = l->n_attribute_indices};
		if (pf_otlp_grow(d->meter, (void **)&d->lines, &d->cap_lines, d->n_lines,
				 l->n_lines, sizeof(*d->lines)) ||
		    pf_otlp_grow(d->meter, (void **)&d->idx, &d->cap_idx, d->n_idx,
				 l->n_attribute_indices, sizeof(*d->idx)) ||
		    pf_otlp_grow(d->meter, (void **)&d->loc, &d->cap_loc, d->n_loc, 1,
				 sizeof(*d->loc)))
			return -ENOMEM;
		for (size_t k = 0; k < l->n_lines; k++)
			d->lines[d->n_lines++] = (struct pf_otlp_line){
				.function_index = l->lines[k]->function_index,
				.line = l->lines[k]->line,
				.column = l->lines[k]->column,
			};
		for (size_t k = 0; k < l->n_attribute_indices; k++)
			d->idx[d->n_idx++] = l->attribute_indices[k];
		d->loc[d->n_loc++] = e;
	}
	for (size_t i = 0; i < pd->n_stack_table; i++) {
		const PF_OTLP_PB(Stack) *s = pd->stack_table[i];
		if (pf_otlp_grow(d->meter, (void **)&d->idx, &d->cap_idx, d->n_idx,
				 s->n_location_indices, sizeof(*d->idx)) ||
		    pf_otlp_grow(d->meter, (void **)&d->stack, &d->cap_stack, d->n_stack, 1,
				 sizeof(*d->stack)))
			return -ENOMEM;
		d->stack[d->n_stack++] = (struct pf_otlp_list){d->n_idx, s->n_location_indices};
		for (size_t k = 0; k < s->n_location_indices; k++)
			d->idx[d->n_idx++] = s->location_indices[k];
	}
	return 0;
}

void pf_otlp_dict_fini(struct pf_otlp_dict *d)
{
	free(d->str);
	free(d->fn);
	free(d->loc);
	free(d->lines);
	free(d->stack);
	free(d->idx);
	memset(d, 0, sizeof(*d));
}
