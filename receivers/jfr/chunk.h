/* SPDX-License-Identifier: Apache-2.0 */
/* Internal contract of the JFR decoder: byte reader, metadata (types and fields) and constant pools. */
#ifndef PF_JFR_CHUNK_H
#define PF_JFR_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* A bounded reader; the first overrun sets `bad` and later reads return 0. */
struct jfr_rd {
	const uint8_t *base;  /* the chunk's first byte */
	const uint8_t *limit; /* the chunk's end, for constant pool lookups */
	const uint8_t *p, *end;
	bool bad;
};

enum jfr_type_kind {
	JFR_STRUCT,
	JFR_BOOLEAN,
	JFR_BYTE,
	JFR_CHAR,
	JFR_SHORT,
	JFR_INT,
	JFR_LONG,
	JFR_FLOAT,
	JFR_DOUBLE,
	JFR_STRING,
};

struct jfr_class;

struct jfr_field {
	const char *name;
	uint64_t type_id;
	struct jfr_class *cls; /* resolved after the metadata is read */
	bool cpool;	       /* written as a constant pool key */
	bool array;
};

/* A constant pool: key -> offset of the value in the chunk (open addressing). */
struct jfr_pool {
	uint64_t *keys;
	uint32_t *offsets; /* 0 = empty slot (no value starts at offset 0) */
	size_t cap, n;
};

struct jfr_class {
	uint64_t id;
	const char *name;
	enum jfr_type_kind kind;
	struct jfr_field *fields;
	size_t n_fields, cap_fields;
	struct jfr_pool pool;
};

/* The metadata of one chunk; owns its classes, fields, pools and strings. */
struct jfr_meta {
	struct jfr_class *classes; /* sorted by id once read */
	size_t n_classes, cap_classes;
	char **strings;
	size_t n_strings;
	const struct jfr_class *string_cls; /* java.lang.String, for pooled strings */
};

/* One field's value as read by jfr_read_struct: integers, booleans and
 * constant pool keys in `u`; `off` is where the value starts in the chunk
 * (strings, inline structs and arrays are read from there). */
struct jfr_val {
	uint64_t u;
	uint32_t off;
};

#define JFR_MAX_FIELDS 48 /* fields kept per struct; later ones are skipped */

/* Records "offset N: why" in err; returns -EINVAL. */
int jfr_bad_at(struct pf_error *err, uint64_t at, const char *why);

uint64_t jfr_varint(struct jfr_rd *r);
uint8_t jfr_u8(struct jfr_rd *r);

/* Skips a value of the field's type (array or not). */
void jfr_skip_field(struct jfr_rd *r, const struct jfr_field *f, int depth);

/* Reads the fields of a struct of class c into vals[0..min(n_fields, JFR_MAX_FIELDS)). */
void jfr_read_struct(struct jfr_rd *r, const struct jfr_class *c, struct jfr_val *vals);

/* Reads a string value into out (NUL-terminated, UTF-8, truncated to size-1
 * bytes). Constant pool references are followed through meta. Returns the
 * length, or -1 for a null string. */
long jfr_read_string(struct jfr_rd *r, const struct jfr_meta *m, char *out, size_t size);

/* Reads the metadata event at offset `off` of the chunk. Returns 0 or
 * -EINVAL (err set) / -ENOMEM. */
int jfr_meta_read(struct jfr_meta *m, const uint8_t *chunk, size_t size, uint64_t off,
		  uint64_t base_offset, struct pf_error *err);

/* Indexes the constant pools of the checkpoint event at offset `off`. */
int jfr_pools_read(struct jfr_meta *m, const uint8_t *chunk, size_t size, uint64_t off,
		   uint64_t base_offset, struct pf_error *err);

void jfr_meta_free(struct jfr_meta *m);

struct jfr_class *jfr_class_by_id(const struct jfr_meta *m, uint64_t id);
struct jfr_class *jfr_class_by_name(const struct jfr_meta *m, const char *name);
/* Index of the field called name, or -1. Only indices below JFR_MAX_FIELDS. */
int jfr_field_index(const struct jfr_class *c, const char *name);
/* Offset in the chunk of the pool entry `key` of class c, or 0 when absent. */
uint32_t jfr_pool_get(const struct jfr_class *c, uint64_t key);

#endif
