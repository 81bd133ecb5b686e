// SPDX-License-Identifier: Apache-2.0
/* Writes protobuf-c messages as OTLP/JSON, driven by their descriptors. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/internal.h"

/*
 * OTLP/JSON is the proto3 JSON mapping with OTLP's exceptions: keys in
 * lowerCamelCase, 64-bit integers as decimal strings, enums as integers,
 * bytes as base64 except trace, span and profile ids, which are hex. Fields
 * at their default value are left out, except a oneof's chosen member.
 */

struct out {
	char *buf;
	size_t len, cap;
	int err;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *nb = realloc(o->buf, cap);
		if (!nb) {
			o->err = -ENOMEM;
			return;
		}
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(o, tmp, n < 0 ? 0 : (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void put_string(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	put(o, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char e[2] = {'\\', (char)*p};
			put(o, e, 2);
		} else if (*p < 0x20) {
			char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
			put(o, e, 6);
		} else {
			put(o, (const char *)p, 1);
		}
	}
	put(o, "\"", 1);
}

static void put_bytes(struct out *o, const ProtobufCBinaryData *d, bool as_hex)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char hex[] = "0123456789abcdef";

	put(o, "\"", 1);
	if (as_hex) {
		for (size_t i = 0; i < d->len; i++) {
			char h[2] = {hex[d->data[i] >> 4], hex[d->data[i] & 15]};
			put(o, h, 2);
		}
	} else {
		for (size_t i = 0; i < d->len; i += 3) {
			uint32_t v = (uint32_t)d->data[i] << 16;
			size_t n = d->len - i < 3 ? d->len - i : 3;
			if (n > 1)
				v |= (uint32_t)d->data[i + 1] << 8;
			if (n > 2)
				v |= d->data[i + 2];
			char q[4] = {b64[v >> 18], b64[(v >> 12) & 63],
				     n > 1 ? b64[(v >> 6) & 63] : '=', n > 2 ? b64[v & 63] : '='};
			put(o, q, 4);
		}
	}
	put(o, "\"", 1);
}

static void put_key(struct out *o, const char *snake, bool *first)
{
	if (!*first)
		put(o, ",", 1);
	*first = false;
	put(o, "\"", 1);
	for (const char *p = snake; *p; p++) {
		if (*p == '_' && p[1]) {
			char c = p[1] >= 'a' && p[1] <= 'z' ? (char)(p[1] - 'a' + 'A') : p[1];
			put(o, &c, 1);
			p++;
		} else {
			put(o, p, 1);
		}
	}
	put(o, "\":", 2);
}

static bool is_id(const char *name)
{
	return !strcmp(name, "trace_id") || !strcmp(name, "span_id") || !strcmp(name, "profile_id");
}

static void write_message(struct out *o, const ProtobufCMessage *m);

static void write_value(struct out *o, const ProtobufCFieldDescriptor *fd, const void *v)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM: putf(o, "%" PRId32, *(const int32_t *)v); break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32: putf(o, "%" PRIu32, *(const uint32_t *)v); break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: putf(o, "\"%" PRId64 "\"", *(const int64_t *)v); break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: putf(o, "\"%" PRIu64 "\"", *(const uint64_t *)v); break;
	case PROTOBUF_C_TYPE_BOOL:
		puts_(o, *(const protobuf_c_boolean *)v ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE: {
		double d =
			fd->type == PROTOBUF_C_TYPE_FLOAT ? *(const float *)v : *(const double *)v;
		if (isnan(d))
			puts_(o, "\"NaN\"");
		else if (isinf(d))
			puts_(o, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		else
			putf(o, "%.17g", d);
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		put_string(o, *(char *const *)v ? *(char *const *)v : "");
		break;
	case PROTOBUF_C_TYPE_BYTES:
		put_bytes(o, (const ProtobufCBinaryData *)v, is_id(fd->name));
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		if (*(ProtobufCMessage *const *)v)
			write_message(o, *(ProtobufCMessage *const *)v);
		else
			puts_(o, "{}");
		break;
	}
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

static bool is_default(const ProtobufCFieldDescriptor *fd, const void *v)
{
	static const uint8_t zero[16];

	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING: return !*(char *const *)v || !**(char *const *)v;
	case PROTOBUF_C_TYPE_MESSAGE: return !*(void *const *)v;
	case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)v)->len == 0;
	default: return memcmp(v, zero, elem_size(fd->type)) == 0;
	}
}

static void write_message(struct out *o, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	const char *base = (const char *)m;
	bool first = true;

	put(o, "{", 1);
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[i];
		const void *v = base + fd->offset;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			const char *arr = *(const char *const *)v;
			if (n == 0)
				continue;
			put_key(o, fd->name, &first);
			put(o, "[", 1);
			for (size_t k = 0; k < n; k++) {
				if (k)
					put(o, ",", 1);
				write_value(o, fd, arr + k * elem_size(fd->type));
			}
			put(o, "]", 1);
			continue;
		}
		if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
				continue;
		} else if (is_default(fd, v)) {
			continue;
		}
		put_key(o, fd->name, &first);
		write_value(o, fd, v);
	}
	put(o, "}", 1);
}

int pf_otlp_json_write(const ProtobufCMessage *msg, char **out, size_t *out_size)
{
	struct out o = {0};

	write_message(&o, msg);
	if (o.err) {
		free(o.buf);
		return o.err;
	}
	*out = o.buf;
	*out_size = o.len;
	return 0;
}
