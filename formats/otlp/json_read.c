// SPDX-License-Identifier: Apache-2.0
/* Reads OTLP/JSON into protobuf-c messages, driven by their descriptors, then decodes like protobuf. */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/internal.h"
#include "formats/otlp/otlp.h"

/*
 * json-c parses the text (with a depth limit) and the tree is copied into
 * the same protobuf-c structures the protobuf decoder unpacks, in an arena,
 * so validation and interning are shared. Keys may be lowerCamelCase or the
 * proto names; unknown keys are ignored; null is the default value.
 */

struct reader {
	struct pf_pb_arena *arena;
	struct pf_error *err;
};

static int fail(struct reader *r, const char *path, const char *what)
{
	return pf_error_set(r->err, "", "JSON %s: %s", path, what);
}

/* lowerCamelCase -> snake_case (proto field names here are lower case). */
static void to_snake(const char *key, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = key; *p && n + 2 < size; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			out[n++] = '_';
			out[n++] = (char)(*p - 'A' + 'a');
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

/* json-c keeps integers as int64 or, above INT64_MAX, uint64. */
static bool big_uint(struct json_object *j)
{
	return json_object_get_int64(j) >= 0 && json_object_get_uint64(j) > (uint64_t)INT64_MAX;
}

static bool get_i64(struct json_object *j, int64_t *v)
{
	if (json_object_is_type(j, json_type_int)) {
		*v = json_object_get_int64(j);
		return !big_uint(j);
	}
	if (json_object_is_type(j, json_type_string)) {
		const char *s = json_object_get_string(j);
		char *end;
		errno = 0;
		*v = strtoll(s, &end, 10);
		return *s && !*end && errno == 0;
	}
	if (json_object_is_type(j, json_type_double)) {
		double d = json_object_get_double(j);
		if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
			return false;
		*v = (int64_t)d;
		return true;
	}
	return false;
}

static bool get_u64(struct json_object *j, uint64_t *v)
{
	if (json_object_is_type(j, json_type_int)) {
		if (json_object_get_int64(j) < 0)
			return false;
		*v = json_object_get_uint64(j);
		return true;
	}
	if (json_object_is_type(j, json_type_string)) {
		const char *s = json_object_get_string(j);
		char *end;
		errno = 0;
		*v = strtoull(s, &end, 10);
		return *s && *s != '-' && !*end && errno == 0;
	}
	if (json_object_is_type(j, json_type_double)) {
		double d = json_object_get_double(j);
		if (d != floor(d) || d < 0 || d > 1.8e19)
			return false;
		*v = (uint64_t)d;
		return true;
	}
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static bool get_bytes(struct reader *r, struct json_object *j, bool hex, ProtobufCBinaryData *d)
{
	if (!json_object_is_type(j, json_type_string))
		return false;
	const char *s = json_object_get_string(j);
	size_t n = (size_t)json_object_get_string_len(j);
	uint8_t *buf = pf_pb_arena_alloc(r->arena, n / (hex ? 2 : 1) + 3);
	size_t len = 0;

	if (!buf)
		return false;
	if (hex) {
		if (n % 2)
			return false;
		for (size_t i = 0; i < n; i += 2) {
			int a = hexval(s[i]), b = hexval(s[i + 1]);
			if (a < 0 || b < 0)
				return false;
			buf[len++] = (uint8_t)(a << 4 | b);
		}
	} else {
		uint32_t acc = 0;
		unsigned bits = 0;
		for (size_t i = 0; i < n && s[i] != '='; i++) {
			int v = b64val(s[i]);
			if (v < 0)
				return false;
			acc = acc << 6 | (uint32_t)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				buf[len++] = (uint8_t)(acc >> bits);
			}
		}
	}
	d->data = buf;
	d->len = len;
	return true;
}

static int read_message(struct reader *r, const ProtobufCMessageDescriptor *desc,
			struct json_object *j, const char *path, ProtobufCMessage **out);

/* One value of field fd into *dst (an element of the field's C type). */
static int read_value(struct reader *r, const ProtobufCFieldDescriptor *fd, struct json_object *j,
		      const char *path, void *dst)
{
	int64_t i;
	uint64_t u;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		if (!get_i64(j, &i) || i < INT32_MIN || i > INT32_MAX)
			return fail(r, path, "expected a 32-bit integer");
		*(int32_t *)dst = (int32_t)i;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (!get_u64(j, &u) || u > UINT32_MAX)
			return fail(r, path, "expected an unsigned 32-bit integer");
		*(uint32_t *)dst = (uint32_t)u;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (!get_i64(j, &i))
			return fail(r, path, "expected a 64-bit integer (number or string)");
		*(int64_t *)dst = i;
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (!get_u64(j, &u))
			return fail(r, path, "expected an unsigned 64-bit integer");
		*(uint64_t *)dst = u;
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_object_is_type(j, json_type_boolean))
			return fail(r, path, "expected true or false");
		*(protobuf_c_boolean *)dst = json_object_get_boolean(j);
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE: {
		double d;
		if (json_object_is_type(j, json_type_double) ||
		    json_object_is_type(j, json_type_int)) {
			d = json_object_get_double(j);
		} else if (json_object_is_type(j, json_type_string)) {
			const char *s = json_object_get_string(j);
			if (!strcmp(s, "NaN"))
				d = NAN;
			else if (!strcmp(s, "Infinity"))
				d = INFINITY;
			else if (!strcmp(s, "-Infinity"))
				d = -INFINITY;
			else
				return fail(r, path, "expected a number");
		} else {
			return fail(r, path, "expected a number");
		}
		if (fd->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *)dst = (float)d;
		else
			*(double *)dst = d;
		return 0;
	}
	case PROTOBUF_C_TYPE_STRING: {
		if (!json_object_is_type(j, json_type_string))
			return fail(r, path, "expected a string");
		size_t n = (size_t)json_object_get_string_len(j);
		char *s = pf_pb_arena_alloc(r->arena, n + 1);
		if (!s)
			return -ENOMEM;
		memcpy(s, json_object_get_string(j), n + 1);
		*(char **)dst = s;
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		bool hex = !strcmp(fd->name, "trace_id") || !strcmp(fd->name, "span_id") ||
			   !strcmp(fd->name, "profile_id");
		if (!get_bytes(r, j, hex, dst))
			return fail(r, path, hex ? "expected a hex string" : "expected base64");
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE: return read_message(r, fd->descriptor, j, path, dst);
	}
	return fail(r, path, "unsupported field type");
}

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE: return 8;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
	default: return 4;
	}
}

static int read_message(struct reader *r, const ProtobufCMessageDescriptor *desc,
			struct json_object *j, const char *path, ProtobufCMessage **out)
{
	ProtobufCMessage *m;
	char sub[256];

	if (!json_object_is_type(j, json_type_object))
		return fail(r, path, "expected an object");
	m = pf_pb_arena_alloc(r->arena, desc->sizeof_message);
	if (!m)
		return -ENOMEM;
	desc->message_init(m);
	json_object_object_foreach(j, key, val)
	{
		char name[128];
		to_snake(key, name, sizeof(name));
		const ProtobufCFieldDescriptor *fd =
			protobuf_c_message_descriptor_get_field_by_name(desc, name);
		if (!fd || json_object_is_type(val, json_type_null))
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", path, key);
		char *base = (char *)m;
		int rc;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			if (!json_object_is_type(val, json_type_array))
				return fail(r, sub, "expected an array");
			size_t n = json_object_array_length(val);
			char *arr = pf_pb_arena_alloc(r->arena, (n ? n : 1) * elem_size(fd->type));
			if (!arr)
				return -ENOMEM;
			for (size_t k = 0; k < n; k++) {
				rc = read_value(r, fd, json_object_array_get_idx(val, k), sub,
						arr + k * elem_size(fd->type));
				if (rc < 0)
					return rc;
			}
			*(size_t *)(base + fd->quantifier_offset) = n;
			*(char **)(base + fd->offset) = arr;
			continue;
		}
		rc = read_value(r, fd, val, sub, base + fd->offset);
		if (rc < 0)
			return rc;
		if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			*(uint32_t *)(base + fd->quantifier_offset) = fd->id;
	}
	*out = m;
	return 0;
}

/* Parses `data` as one JSON document no deeper than PF_OTLP_MAX_DEPTH. */
static struct json_object *parse(const void *data, size_t size, struct pf_error *err)
{
	struct json_tokener *tok = json_tokener_new_ex(PF_OTLP_MAX_DEPTH);
	struct json_object *j = NULL;

	if (!tok)
		return NULL;
	j = json_tokener_parse_ex(tok, data, (int)size);
	enum json_tokener_error e = json_tokener_get_error(tok);
	if (!j || e != json_tokener_success) {
		pf_error_set(err, "", "JSON parse error at offset %zu: %s",
			     json_tokener_get_parse_end(tok), json_tokener_error_desc(e));
		json_object_put(j);
		j = NULL;
	} else {
		const char *p = (const char *)data + json_tokener_get_parse_end(tok);
		const char *end = (const char *)data + size;
		while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
			p++;
		if (p < end) {
			pf_error_set(err, "", "JSON: trailing data after the request");
			json_object_put(j);
			j = NULL;
		}
	}
	json_tokener_free(tok);
	return j;
}

int pf_otlp_json_read(const ProtobufCMessageDescriptor *desc, const void *data, size_t size,
		      struct pf_pb_arena *arena, ProtobufCMessage **out, struct pf_error *err)
{
	struct reader r = {.arena = arena, .err = err};
	struct json_object *j;
	int rc;

	if (size > INT_MAX)
		return pf_error_set(err, "", "JSON request too large");
	j = parse(data, size, err);
	if (!j)
		return pf_error_isset(err) ? -EINVAL : -ENOMEM;
	rc = read_message(&r, desc, j, "$", out);
	json_object_put(j);
	return rc;
}

int pf_otlp_decode_json(struct pf_batch *b, const void *data, size_t size, size_t max_size,
			struct pf_budget *budget, struct pf_error *err)
{
	struct pf_budget_meter meter;
	struct pf_pb_arena arena;
	struct pf_otlp_dict hot = {.meter = &meter};
	ProtobufCMessage *req = NULL;
	int rc;

	if (!max_size)
		max_size = PF_OTLP_MAX_SIZE_DEFAULT;
	if (size > max_size) {
		pf_error_set(err, "", "request of %zu bytes exceeds the limit of %zu bytes", size,
			     max_size);
		return -EFBIG;
	}
	pf_otlp_meter_init(&meter, budget, max_size);
	pf_pb_arena_init(&arena, 0);
	arena.meter = &meter;
	rc = pf_otlp_json_read(
		&opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__descriptor,
		data, size, &arena, &req, err);
	if (rc == 0)
		rc = pf_otlp_dict_from_pb(&hot, ((const PF_OTLP_REQ *)req)->dictionary);
	if (rc == 0)
		rc = pf_otlp_validate((const PF_OTLP_REQ *)req, &hot, NULL, err);
	if (rc == 0)
		rc = pf_otlp_to_batch(b, (const PF_OTLP_REQ *)req, &hot, NULL, &meter);
	pf_otlp_dict_fini(&hot);
	pf_pb_arena_fini(&arena);
	rc = pf_otlp_meter_error(&meter, rc, err);
	pf_budget_meter_release(&meter);
	return rc;
}
