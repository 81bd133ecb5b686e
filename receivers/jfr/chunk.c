// SPDX-License-Identifier: Apache-2.0
/* JFR chunk basics: compressed integers, strings, the metadata event's types and the constant pools. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"

#define MAX_DEPTH	 16 /* nesting of inline structs and metadata elements */
#define MAX_META_STRINGS (1u << 20)

/* ---- reading ---- */

uint8_t jfr_u8(struct jfr_rd *r)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

/* JFR's compressed integers: 7 bits a byte, least significant first, with
 * a continuation bit; the ninth byte carries 8 bits. Not zigzagged. Not
 * protobuf's varint (formats/pb_wire.h) either: that one takes up to ten
 * bytes of 7 bits, so the two differ from 2^56 on. */
uint64_t jfr_varint(struct jfr_rd *r)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			return v;
	}
	return v | (uint64_t)jfr_u8(r) << 56;
}

static void skip_bytes(struct jfr_rd *r, uint64_t n)
{
	if (n > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		r->p = r->end;
		return;
	}
	r->p += n;
}

enum {
	STR_NULL = 0,
	STR_EMPTY = 1,
	STR_POOL = 2,
	STR_UTF8 = 3,
	STR_UTF16 = 4,
	STR_LATIN1 = 5,
};

static size_t put_utf8(char *out, size_t size, size_t len, uint32_t ch)
{
	char tmp[3];
	size_t n;

	if (ch < 0x80) {
		tmp[0] = (char)ch;
		n = 1;
	} else if (ch < 0x800) {
		tmp[0] = (char)(0xc0 | ch >> 6);
		tmp[1] = (char)(0x80 | (ch & 0x3f));
		n = 2;
	} else {
		tmp[0] = (char)(0xe0 | ch >> 12);
		tmp[1] = (char)(0x80 | ((ch >> 6) & 0x3f));
		tmp[2] = (char)(0x80 | (ch & 0x3f));
		n = 3;
	}
	if (len + n >= size)
		return len; /* truncated at a whole character */
	memcpy(out + len, tmp, n);
	return len + n;
}

static long read_string_depth(struct jfr_rd *r, const struct jfr_meta *m, char *out, size_t size,
			      int depth)
{
	uint8_t enc = jfr_u8(r);
	uint64_t n;
	size_t len = 0;

	if (size)
		out[0] = '\0';
	switch (enc) {
	case STR_NULL: return -1;
	case STR_EMPTY: return 0;
	case STR_POOL: {
		uint64_t key = jfr_varint(r);
		const struct jfr_class *s = m ? m->string_cls : NULL;
		uint32_t off = s ? jfr_pool_get(s, key) : 0;
		if (!off || depth > 1) {
			r->bad = !off || r->bad;
			return -1;
		}
		struct jfr_rd sub = {
			.base = r->base, .limit = r->limit, .p = r->base + off, .end = r->limit};
		long got = read_string_depth(&sub, m, out, size, depth + 1);
		if (sub.bad)
			r->bad = true;
		return got;
	}
	case STR_UTF8:
	case STR_LATIN1:
		n = jfr_varint(r);
		if (n > (uint64_t)(r->end - r->p)) {
			r->bad = true;
			r->p = r->end;
			return -1;
		}
		for (uint64_t i = 0; i < n; i++) {
			uint8_t c = r->p[i];
			if (enc == STR_UTF8 || c < 0x80) {
				if (len + 1 < size)
					out[len++] = (char)c;
			} else {
				len = put_utf8(out, size, len, c);
			}
		}
		r->p += n;
		break;
	case STR_UTF16:
		n = jfr_varint(r);
		if (n > (uint64_t)(r->end - r->p)) { /* at least a byte per char */
			r->bad = true;
			r->p = r->end;
			return -1;
		}
		for (uint64_t i = 0; i < n && !r->bad; i++)
			len = put_utf8(out, size, len, (uint32_t)(jfr_varint(r) & 0xffff));
		break;
	default: r->bad = true; return -1;
	}
	if (size)
		out[len] = '\0';
	return (long)len;
}

long jfr_read_string(struct jfr_rd *r, const struct jfr_meta *m, char *out, size_t size)
{
	return read_string_depth(r, m, out, size, 0);
}

static void skip_string(struct jfr_rd *r)
{
	uint8_t enc = jfr_u8(r);
	uint64_t n;

	switch (enc) {
	case STR_NULL:
	case STR_EMPTY: return;
	case STR_POOL: jfr_varint(r); return;
	case STR_UTF8:
	case STR_LATIN1: skip_bytes(r, jfr_varint(r)); return;
	case STR_UTF16:
		n = jfr_varint(r);
		if (n > (uint64_t)(r->end - r->p)) {
			r->bad = true;
			r->p = r->end;
			return;
		}
		for (uint64_t i = 0; i < n && !r->bad; i++)
			jfr_varint(r);
		return;
	default: r->bad = true; return;
	}
}

static void skip_struct(struct jfr_rd *r, const struct jfr_class *c, int depth);

static void skip_one(struct jfr_rd *r, const struct jfr_field *f, int depth)
{
	if (f->cpool) {
		jfr_varint(r);
		return;
	}
	switch (f->cls->kind) {
	case JFR_BOOLEAN:
	case JFR_BYTE: skip_bytes(r, 1); return;
	case JFR_CHAR:
	case JFR_SHORT:
	case JFR_INT:
	case JFR_LONG: jfr_varint(r); return;
	case JFR_FLOAT: skip_bytes(r, 4); return;
	case JFR_DOUBLE: skip_bytes(r, 8); return;
	case JFR_STRING: skip_string(r); return;
	case JFR_STRUCT: skip_struct(r, f->cls, depth + 1); return;
	}
}

void jfr_skip_field(struct jfr_rd *r, const struct jfr_field *f, int depth)
{
	if (!f->array) {
		skip_one(r, f, depth);
		return;
	}
	uint64_t n = jfr_varint(r);
	for (uint64_t i = 0; i < n && !r->bad; i++)
		skip_one(r, f, depth);
}

static void skip_struct(struct jfr_rd *r, const struct jfr_class *c, int depth)
{
	if (depth > MAX_DEPTH) {
		r->bad = true;
		return;
	}
	for (size_t i = 0; i < c->n_fields && !r->bad; i++)
		jfr_skip_field(r, &c->fields[i], depth);
}

void jfr_read_struct(struct jfr_rd *r, const struct jfr_class *c, struct jfr_val *vals)
{
	for (size_t i = 0; i < c->n_fields && !r->bad; i++) {
		const struct jfr_field *f = &c->fields[i];
		struct jfr_val v = {.off = (uint32_t)(r->p - r->base)};

		if (!f->array && f->cpool) {
			v.u = jfr_varint(r);
		} else if (!f->array && (f->cls->kind == JFR_BOOLEAN || f->cls->kind == JFR_BYTE)) {
			v.u = jfr_u8(r);
		} else if (!f->array && f->cls->kind >= JFR_CHAR && f->cls->kind <= JFR_LONG) {
			v.u = jfr_varint(r);
		} else {
			jfr_skip_field(r, f, 0);
		}
		if (i < JFR_MAX_FIELDS)
			vals[i] = v;
	}
}

/* ---- classes ---- */

static int cmp_class(const void *a, const void *b)
{
	const struct jfr_class *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

struct jfr_class *jfr_class_by_id(const struct jfr_meta *m, uint64_t id)
{
	struct jfr_class key = {.id = id};

	if (!m->n_classes)
		return NULL;
	return bsearch(&key, m->classes, m->n_classes, sizeof(key), cmp_class);
}

struct jfr_class *jfr_class_by_name(const struct jfr_meta *m, const char *name)
{
	for (size_t i = 0; i < m->n_classes; i++)
		if (strcmp(m->classes[i].name, name) == 0)
			return &m->classes[i];
	return NULL;
}

int jfr_field_index(const struct jfr_class *c, const char *name)
{
	if (!c)
		return -1;
	for (size_t i = 0; i < c->n_fields && i < JFR_MAX_FIELDS; i++)
		if (strcmp(c->fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

static enum jfr_type_kind kind_of(const char *name)
{
	static const struct {
		const char *name;
		enum jfr_type_kind kind;
	} prims[] = {
		{"boolean", JFR_BOOLEAN}, {"byte", JFR_BYTE},	  {"char", JFR_CHAR},
		{"short", JFR_SHORT},	  {"int", JFR_INT},	  {"long", JFR_LONG},
		{"float", JFR_FLOAT},	  {"double", JFR_DOUBLE}, {"java.lang.String", JFR_STRING},
	};

	for (size_t i = 0; i < sizeof(prims) / sizeof(prims[0]); i++)
		if (strcmp(prims[i].name, name) == 0)
			return prims[i].kind;
	return JFR_STRUCT;
}

/* ---- the metadata event ---- */

struct meta_ctx {
	struct jfr_rd *r;
	struct jfr_meta *m;
	struct pf_error *err;
	uint64_t base_offset;
	int oom;
};

static const char *meta_str(struct meta_ctx *x, uint64_t i)
{
	if (i >= x->m->n_strings) {
		x->r->bad = true;
		return "";
	}
	return x->m->strings[i] ? x->m->strings[i] : "";
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s)
		return -1;
	*out = strtoull(s, &end, 10);
	return *end ? -1 : 0;
}

static struct jfr_class *add_class(struct meta_ctx *x)
{
	struct jfr_meta *m = x->m;

	if (m->n_classes == m->cap_classes) {
		size_t ncap = m->cap_classes ? m->cap_classes * 2 : 256;
		struct jfr_class *grown = realloc(m->classes, ncap * sizeof(*grown));
		if (!grown) {
			x->oom = 1;
			return NULL;
		}
		m->classes = grown;
		m->cap_classes = ncap;
	}
	struct jfr_class *c = &m->classes[m->n_classes++];
	memset(c, 0, sizeof(*c));
	c->name = "";
	return c;
}

static struct jfr_field *add_field(struct meta_ctx *x, struct jfr_class *c)
{
	if (c->n_fields == c->cap_fields) {
		size_t ncap = c->cap_fields ? c->cap_fields * 2 : 8;
		struct jfr_field *grown = realloc(c->fields, ncap * sizeof(*grown));
		if (!grown) {
			x->oom = 1;
			return NULL;
		}
		c->fields = grown;
		c->cap_fields = ncap;
	}
	struct jfr_field *f = &c->fields[c->n_fields++];
	memset(f, 0, sizeof(*f));
	f->name = "";
	return f;
}

/* One element: name, attributes, children. `cls` is the class being
 * described when the parent element is a "class" (as an index, since the
 * class array may move). */
static void read_element(struct meta_ctx *x, int depth, long cls)
{
	struct jfr_rd *r = x->r;
	const char *name = meta_str(x, jfr_varint(r));
	uint64_t n_attrs = jfr_varint(r);
	long self = -1;
	struct jfr_field *field = NULL;

	if (depth > MAX_DEPTH) {
		r->bad = true;
		return;
	}
	if (strcmp(name, "class") == 0) {
		if (!add_class(x))
			return;
		self = (long)x->m->n_classes - 1;
	} else if (strcmp(name, "field") == 0 && cls >= 0) {
		field = add_field(x, &x->m->classes[cls]);
		if (!field)
			return;
	}
	for (uint64_t i = 0; i < n_attrs && !r->bad; i++) {
		const char *k = meta_str(x, jfr_varint(r));
		const char *v = meta_str(x, jfr_varint(r));
		uint64_t num;

		if (self >= 0) {
			struct jfr_class *c = &x->m->classes[self];
			if (strcmp(k, "name") == 0)
				c->name = v;
			else if (strcmp(k, "id") == 0 && parse_u64(v, &num) == 0)
				c->id = num;
		} else if (field) {
			if (strcmp(k, "name") == 0)
				field->name = v;
			else if (strcmp(k, "class") == 0 && parse_u64(v, &num) == 0)
				field->type_id = num;
			else if (strcmp(k, "constantPool") == 0)
				field->cpool = strcmp(v, "true") == 0;
			else if (strcmp(k, "dimension") == 0)
				field->array = strcmp(v, "0") != 0;
		}
	}
	uint64_t n_children = jfr_varint(r);
	for (uint64_t i = 0; i < n_children && !r->bad && !x->oom; i++)
		read_element(x, depth + 1, self);
}

int jfr_bad_at(struct pf_error *err, uint64_t at, const char *why)
{
	char where[48];

	snprintf(where, sizeof(where), "offset %llu", (unsigned long long)at);
	return pf_error_set(err, where, "%s", why);
}

/* An event's frame: the reader covers exactly the event after its size. */
static int open_event(struct jfr_rd *r, const uint8_t *chunk, size_t size, uint64_t off,
		      uint64_t expect_type, uint64_t base_offset, struct pf_error *err)
{
	if (off < PF_JFR_HEADER_SIZE || off >= size)
		return jfr_bad_at(err, base_offset + off, "event offset outside the chunk");
	r->base = chunk;
	r->limit = chunk + size;
	r->p = chunk + off;
	r->end = chunk + size;
	r->bad = false;
	uint64_t ev_size = jfr_varint(r);
	if (r->bad || ev_size == 0 || ev_size > size - off)
		return jfr_bad_at(err, base_offset + off, "event size beyond the chunk");
	r->end = chunk + off + ev_size;
	if (jfr_varint(r) != expect_type || r->bad)
		return jfr_bad_at(err, base_offset + off, "not the expected event type");
	return 0;
}

int jfr_meta_read(struct jfr_meta *m, const uint8_t *chunk, size_t size, uint64_t off,
		  uint64_t base_offset, struct pf_error *err)
{
	struct jfr_rd r;
	struct meta_ctx x = {.r = &r, .m = m, .err = err, .base_offset = base_offset};
	char *buf;
	int ret;

	ret = open_event(&r, chunk, size, off, 0, base_offset, err);
	if (ret < 0)
		return ret;
	jfr_varint(&r); /* start */
	jfr_varint(&r); /* duration */
	jfr_varint(&r); /* metadata id */
	uint64_t n = jfr_varint(&r);
	if (r.bad || n > MAX_META_STRINGS || n > (uint64_t)(r.end - r.p))
		return jfr_bad_at(err, base_offset + off, "metadata: bad string count");
	m->strings = calloc(n ? n : 1, sizeof(*m->strings));
	buf = malloc(65536);
	if (!m->strings || !buf) {
		free(buf);
		return -ENOMEM;
	}
	m->n_strings = n;
	for (uint64_t i = 0; i < n && !r.bad; i++) {
		long len = jfr_read_string(&r, NULL, buf, 65536);
		if (len < 0)
			continue;
		m->strings[i] = strdup(buf);
		if (!m->strings[i]) {
			free(buf);
			return -ENOMEM;
		}
	}
	free(buf);
	if (!r.bad)
		read_element(&x, 0, -1);
	if (x.oom)
		return -ENOMEM;
	if (r.bad)
		return jfr_bad_at(err, base_offset + (uint64_t)(r.p - chunk),
				  "metadata: truncated");
	if (m->n_classes)
		qsort(m->classes, m->n_classes, sizeof(*m->classes), cmp_class);
	m->string_cls = jfr_class_by_name(m, "java.lang.String");
	for (size_t i = 0; i < m->n_classes; i++) {
		struct jfr_class *c = &m->classes[i];
		c->kind = kind_of(c->name);
		if (i && c->id == m->classes[i - 1].id)
			return jfr_bad_at(err, base_offset + off, "metadata: a class id twice");
		for (size_t k = 0; k < c->n_fields; k++) {
			c->fields[k].cls = jfr_class_by_id(m, c->fields[k].type_id);
			if (!c->fields[k].cls)
				return jfr_bad_at(err, base_offset + off,
						  "metadata: a field of an undeclared type");
		}
	}
	return 0;
}

/* ---- constant pools ---- */

static uint64_t hash_key(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static int pool_grow(struct jfr_pool *p)
{
	size_t ncap = p->cap ? p->cap * 2 : 64;
	uint64_t *keys = calloc(ncap, sizeof(*keys));
	uint32_t *offs = calloc(ncap, sizeof(*offs));

	if (!keys || !offs) {
		free(keys);
		free(offs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->cap; i++) {
		if (!p->offsets[i])
			continue;
		size_t h = hash_key(p->keys[i]) & (ncap - 1);
		while (offs[h])
			h = (h + 1) & (ncap - 1);
		keys[h] = p->keys[i];
		offs[h] = p->offsets[i];
	}
	free(p->keys);
	free(p->offsets);
	p->keys = keys;
	p->offsets = offs;
	p->cap = ncap;
	return 0;
}

static int pool_put(struct jfr_pool *p, uint64_t key, uint32_t off)
{
	if ((p->n + 1) * 2 > p->cap && pool_grow(p) < 0)
		return -ENOMEM;
	size_t h = hash_key(key) & (p->cap - 1);
	while (p->offsets[h]) {
		if (p->keys[h] == key)
			return 0; /* the first definition stands */
		h = (h + 1) & (p->cap - 1);
	}
	p->keys[h] = key;
	p->offsets[h] = off;
	p->n++;
	return 0;
}

uint32_t jfr_pool_get(const struct jfr_class *c, uint64_t key)
{
	const struct jfr_pool *p = &c->pool;

	if (!p->cap)
		return 0;
	size_t h = hash_key(key) & (p->cap - 1);
	while (p->offsets[h]) {
		if (p->keys[h] == key)
			return p->offsets[h];
		h = (h + 1) & (p->cap - 1);
	}
	return 0;
}

int jfr_pools_read(struct jfr_meta *m, const uint8_t *chunk, size_t size, uint64_t off,
		   uint64_t base_offset, struct pf_error *err)
{
	struct jfr_rd r;
	int ret = open_event(&r, chunk, size, off, 1, base_offset, err);

	if (ret < 0)
		return ret;
	jfr_varint(&r); /* start */
	jfr_varint(&r); /* duration */
	jfr_varint(&r); /* delta to the previous checkpoint: every one is scanned anyway */
	jfr_u8(&r);	/* checkpoint type (flush, chunk header, statics, thread) */
	uint64_t n_pools = jfr_varint(&r);
	for (uint64_t i = 0; i < n_pools && !r.bad; i++) {
		struct jfr_class *c = jfr_class_by_id(m, jfr_varint(&r));
		uint64_t count = jfr_varint(&r);
		if (!c) {
			r.bad = true;
			break;
		}
		struct jfr_field as_value = {.cls = c};
		for (uint64_t k = 0; k < count && !r.bad; k++) {
			uint64_t key = jfr_varint(&r);
			uint32_t at = (uint32_t)(r.p - chunk);
			jfr_skip_field(&r, &as_value, 0);
			if (!r.bad && pool_put(&c->pool, key, at) < 0)
				return -ENOMEM;
		}
	}
	if (r.bad)
		return jfr_bad_at(err, base_offset + (uint64_t)(r.p - chunk),
				  "constant pool: truncated or of an undeclared type");
	return 0;
}

void jfr_meta_free(struct jfr_meta *m)
{
	for (size_t i = 0; i < m->n_classes; i++) {
		free(m->classes[i].fields);
		free(m->classes[i].pool.keys);
		free(m->classes[i].pool.offsets);
	}
	free(m->classes);
	for (size_t i = 0; i < m->n_strings; i++)
		free(m->strings[i]);
	free(m->strings);
	memset(m, 0, sizeof(*m));
}
