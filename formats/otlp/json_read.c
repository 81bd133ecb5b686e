// SPDX-License-Identifier: Apache-2.0
/* Reads OTLP/JSON into protobuf-c messages in one streaming pass, driven by their descriptors, then decodes like protobuf. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/internal.h"
#include "formats/otlp/otlp.h"
#include "formats/utf8.h"

/*
 * The text is read once, straight into the protobuf-c structures the
 * protobuf decoder unpacks (in an arena charged to the decode's meter), so
 * validation and interning are shared. No document tree is built: a tree
 * node per number made 60 MB of `1,` take 2.4 GB. A repeated field's
 * elements gather in a growing scratch array, copied to the arena at its
 * `]`. Keys may be lowerCamelCase or the proto names; unknown keys are
 * skipped; null is the default value. Strings must be UTF-8, and \u
 * escapes may not leave a surrogate unpaired. The path of the value being
 * read is kept as a stack of fields and indices and formatted only when
 * an error names it ("$.dictionary.string_table[3]").
 */

struct frame {
	const char *name; /* field name (NULL: the request itself) */
	long index;	  /* element of a repeated field, or -1 */
};

struct reader {
	const char *start, *p, *end;
	struct pf_pb_arena *arena;
	struct pf_error *err;
	char *str; /* the last string read, unescaped and NUL-terminated */
	size_t str_len, str_cap;
	struct frame path[PF_OTLP_MAX_DEPTH + 2];
	int depth; /* frames in path; nesting of objects and arrays is bounded by it */
};

static void ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

static void format_path(const struct reader *r, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "$");

	for (int i = 0; i < r->depth && n < size; i++) {
		const struct frame *f = &r->path[i];
		if (f->name)
			n += (size_t)snprintf(out + n, size - n, ".%s", f->name);
		if (f->index >= 0 && n < size)
			n += (size_t)snprintf(out + n, size - n, "[%ld]", f->index);
	}
}

/* A value of the wrong type or content, named by its path. */
static int syntax(struct reader *r, const char *what);

static int fail(struct reader *r, const char *what)
{
	char path[PF_ERROR_MSG_MAX / 2];

	ws(r);
	if (r->p >= r->end)
		return syntax(r, "unexpected end of input");
	format_path(r, path, sizeof(path));
	return pf_error_set(r->err, "", "JSON %s: %s", path, what);
}

/* Text that is not JSON, named by its offset. */
static int syntax(struct reader *r, const char *what)
{
	return pf_error_set(r->err, "", "JSON parse error at offset %zu: %s",
			    (size_t)(r->p - r->start), what);
}

static int push(struct reader *r, const char *name, long index)
{
	if (r->depth >= PF_OTLP_MAX_DEPTH)
		return syntax(r, "nesting too deep");
	r->path[r->depth++] = (struct frame){name, index};
	return 0;
}

/* Skips whitespace and takes `c` if it is next. */
static bool take(struct reader *r, char c)
{
	ws(r);
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return true;
	}
	return false;
}

static bool literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);

	ws(r);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return false;
	r->p += n;
	return true;
}

static int str_room(struct reader *r, size_t more)
{
	return pf_otlp_grow(r->arena->meter, (void **)&r->str, &r->str_cap, r->str_len, more + 1,
			    1);
}

static int hex4(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

/* A \u escape (after the backslash and 'u'), with its low surrogate when it
 * is a high one. */
static int unicode_escape(struct reader *r)
{
	uint32_t cp, lo;
	size_t at = r->str_len;

	if (r->end - r->p < 4 || hex4(r->p, &cp) < 0)
		return syntax(r, "bad \\u escape");
	r->p += 4;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
		    hex4(r->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			goto lone;
		r->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		goto lone;
	}
	if (str_room(r, 4) < 0)
		return -ENOMEM;
	r->str_len += pf_utf8_put((uint8_t *)r->str + r->str_len, cp);
	return 0;
lone : {
	char msg[80];
	snprintf(msg, sizeof(msg), "invalid UTF-8 at byte %zu (an unpaired surrogate \\u%04x)", at,
		 cp);
	return fail(r, msg);
}
}

/* Reads a string into r->str. Raw bytes must be UTF-8; control characters
 * must be escaped. */
static int read_string(struct reader *r)
{
	r->str_len = 0;
	if (!take(r, '"'))
		return syntax(r, "expected a string");
	for (;;) {
		const char *run = r->p;
		while (r->p < r->end && *r->p != '"' && *r->p != '\\' && (uint8_t)*r->p >= 0x20)
			r->p++;
		size_t n = (size_t)(r->p - run), bad = pf_utf8_check(run, n);
		if (bad < n) {
			char msg[48];
			snprintf(msg, sizeof(msg), "invalid UTF-8 at byte %zu", r->str_len + bad);
			return fail(r, msg);
		}
		if (str_room(r, n) < 0)
			return -ENOMEM;
		memcpy(r->str + r->str_len, run, n);
		r->str_len += n;
		if (r->p >= r->end)
			return syntax(r, "unterminated string");
		char c = *r->p++;
		if (c == '"')
			break;
		if (c != '\\')
			return syntax(r, "control character in a string");
		if (r->p >= r->end)
			return syntax(r, "unterminated string");
		c = *r->p++;
		if (c == 'u') {
			int rc = unicode_escape(r);
			if (rc < 0)
				return rc;
			continue;
		}
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		const char *e = memchr(from, c, sizeof(from) - 1);
		if (!e)
			return syntax(r, "bad escape in a string");
		if (str_room(r, 1) < 0)
			return -ENOMEM;
		r->str[r->str_len++] = to[e - from];
	}
	if (str_room(r, 0) < 0)
		return -ENOMEM;
	r->str[r->str_len] = '\0';
	return 0;
}

/* A number's text (JSON grammar) into buf; *integral when it has no
 * fraction or exponent. */
static int read_number(struct reader *r, char *buf, size_t size, bool *integral)
{
	const char *s = r->p, *p = s;

	if (p < r->end && *p == '-')
		p++;
	if (p >= r->end || *p < '0' || *p > '9')
		return syntax(r, "expected a value");
	if (*p == '0')
		p++;
	else
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	*integral = true;
	if (p < r->end && *p == '.') {
		*integral = false;
		if (++p >= r->end || *p < '0' || *p > '9')
			return syntax(r, "bad number");
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < r->end && (*p == 'e' || *p == 'E')) {
		*integral = false;
		p++;
		if (p < r->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= r->end || *p < '0' || *p > '9')
			return syntax(r, "bad number");
		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
	}
	if ((size_t)(p - s) >= size)
		return fail(r, "number too long");
	memcpy(buf, s, (size_t)(p - s));
	buf[p - s] = '\0';
	r->p = p;
	return 0;
}

static int skip_value(struct reader *r);

/* Skips the members of an object or the elements of an array (after the
 * opening bracket). */
static int skip_items(struct reader *r, bool object)
{
	char close = object ? '}' : ']';
	int rc;

	if ((rc = push(r, NULL, -1)) < 0)
		return rc;
	if (!take(r, close)) {
		do {
			if (object && ((rc = read_string(r)) < 0 ||
				       (!take(r, ':') && (rc = syntax(r, "expected ':'")))))
				return rc;
			if ((rc = skip_value(r)) < 0)
				return rc;
		} while (take(r, ','));
		if (!take(r, close))
			return syntax(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
	r->depth--;
	return 0;
}

static int skip_value(struct reader *r)
{
	char num[64];
	bool integral;

	ws(r);
	if (r->p >= r->end)
		return syntax(r, "unexpected end of input");
	switch (*r->p) {
	case '{': r->p++; return skip_items(r, true);
	case '[': r->p++; return skip_items(r, false);
	case '"': return read_string(r);
	case 't': return literal(r, "true") ? 0 : syntax(r, "expected a value");
	case 'f': return literal(r, "false") ? 0 : syntax(r, "expected a value");
	case 'n': return literal(r, "null") ? 0 : syntax(r, "expected a value");
	default: return read_number(r, num, sizeof(num), &integral);
	}
}

/* A scalar given as a number or a string: its text into buf. */
static int read_scalar_text(struct reader *r, char *buf, size_t size, bool *integral, bool *quoted)
{
	ws(r);
	*quoted = r->p < r->end && *r->p == '"';
	if (!*quoted)
		return read_number(r, buf, size, integral);
	int rc = read_string(r);
	if (rc < 0)
		return rc;
	if (r->str_len >= size)
		return fail(r, "number too long");
	memcpy(buf, r->str, r->str_len + 1);
	*integral = true;
	return 0;
}

static bool parse_i64(const char *s, bool integral, int64_t *v)
{
	char *end;

	errno = 0;
	if (!integral) {
		double d = strtod(s, &end);
		if (*end || d != floor(d) || d < -9.2e18 || d > 9.2e18)
			return false;
		*v = (int64_t)d;
		return true;
	}
	*v = strtoll(s, &end, 10);
	return *s && !*end && errno == 0;
}

static bool parse_u64(const char *s, bool integral, uint64_t *v)
{
	char *end;

	errno = 0;
	if (*s == '-')
		return false;
	if (!integral) {
		double d = strtod(s, &end);
		if (*end || d != floor(d) || d < 0 || d > 1.8e19)
			return false;
		*v = (uint64_t)d;
		return true;
	}
	*v = strtoull(s, &end, 10);
	return *s && !*end && errno == 0;
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

/* r->str as hex (ids) or base64 into the arena. Returns 0, -EINVAL or -ENOMEM. */
static int decode_bytes(struct reader *r, bool hex, ProtobufCBinaryData *d)
{
	const char *s = r->str;
	size_t n = r->str_len, len = 0;
	uint8_t *buf = pf_pb_arena_alloc(r->arena, n / (hex ? 2 : 1) + 3);

	if (!buf)
		return -ENOMEM;
	if (hex) {
		if (n % 2)
			return -EINVAL;
		for (size_t i = 0; i < n; i += 2) {
			int a = hexval(s[i]), b = hexval(s[i + 1]);
			if (a < 0 || b < 0)
				return -EINVAL;
			buf[len++] = (uint8_t)(a << 4 | b);
		}
	} else {
		uint32_t acc = 0;
		unsigned bits = 0;
		for (size_t i = 0; i < n && s[i] != '='; i++) {
			int v = b64val(s[i]);
			if (v < 0)
				return -EINVAL;
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
	return 0;
}

static int read_message(struct reader *r, const ProtobufCMessageDescriptor *desc,
			ProtobufCMessage **out);

static int read_double(struct reader *r, double *d)
{
	char buf[64];
	bool integral, quoted;
	int rc = read_scalar_text(r, buf, sizeof(buf), &integral, &quoted);

	if (rc < 0)
		return rc == -EINVAL && !quoted ? fail(r, "expected a number") : rc;
	if (quoted) {
		if (!strcmp(buf, "NaN"))
			*d = NAN;
		else if (!strcmp(buf, "Infinity"))
			*d = INFINITY;
		else if (!strcmp(buf, "-Infinity"))
			*d = -INFINITY;
		else
			return fail(r, "expected a number");
		return 0;
	}
	*d = strtod(buf, NULL);
	return 0;
}

/* One value of field fd into *dst (an element of the field's C type). */
static int read_value(struct reader *r, const ProtobufCFieldDescriptor *fd, void *dst)
{
	char buf[64];
	bool integral, quoted;
	int64_t i;
	uint64_t u;
	double d = 0;
	int rc;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		rc = read_scalar_text(r, buf, sizeof(buf), &integral, &quoted);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0 || !parse_i64(buf, integral, &i) || i < INT32_MIN || i > INT32_MAX)
			return fail(r, "expected a 32-bit integer");
		*(int32_t *)dst = (int32_t)i;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		rc = read_scalar_text(r, buf, sizeof(buf), &integral, &quoted);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0 || !parse_u64(buf, integral, &u) || u > UINT32_MAX)
			return fail(r, "expected an unsigned 32-bit integer");
		*(uint32_t *)dst = (uint32_t)u;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		rc = read_scalar_text(r, buf, sizeof(buf), &integral, &quoted);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0 || !parse_i64(buf, integral, &i))
			return fail(r, "expected a 64-bit integer (number or string)");
		*(int64_t *)dst = i;
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		rc = read_scalar_text(r, buf, sizeof(buf), &integral, &quoted);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0 || !parse_u64(buf, integral, &u))
			return fail(r, "expected an unsigned 64-bit integer");
		*(uint64_t *)dst = u;
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (literal(r, "true"))
			*(protobuf_c_boolean *)dst = 1;
		else if (literal(r, "false"))
			*(protobuf_c_boolean *)dst = 0;
		else
			return fail(r, "expected true or false");
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		if ((rc = read_double(r, &d)) < 0)
			return rc;
		if (fd->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *)dst = (float)d;
		else
			*(double *)dst = d;
		return 0;
	case PROTOBUF_C_TYPE_STRING: {
		ws(r);
		if (r->p < r->end && *r->p != '"')
			return fail(r, "expected a string");
		if ((rc = read_string(r)) < 0)
			return rc;
		char *s = pf_pb_arena_alloc(r->arena, r->str_len + 1);
		if (!s)
			return -ENOMEM;
		memcpy(s, r->str, r->str_len + 1);
		*(char **)dst = s;
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		bool hex = !strcmp(fd->name, "trace_id") || !strcmp(fd->name, "span_id") ||
			   !strcmp(fd->name, "profile_id");
		ws(r);
		if (r->p < r->end && *r->p != '"')
			rc = -EINVAL;
		else if ((rc = read_string(r)) == 0)
			rc = decode_bytes(r, hex, dst);
		if (rc == -EINVAL && !pf_error_isset(r->err))
			return fail(r, hex ? "expected a hex string" : "expected base64");
		return rc;
	}
	case PROTOBUF_C_TYPE_MESSAGE: return read_message(r, fd->descriptor, dst);
	}
	return fail(r, "unsupported field type");
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

/* A repeated field's array (after '['): elements gather in a scratch
 * array, then move to the arena at their exact size. */
static int read_repeated(struct reader *r, const ProtobufCFieldDescriptor *fd, char *base)
{
	size_t size = elem_size(fd->type), n = 0, cap = 0;
	struct frame *f = &r->path[r->depth - 1];
	char *tmp = NULL, *arr;
	int rc = 0;

	if (!take(r, ']')) {
		do {
			if (pf_otlp_grow(r->arena->meter, (void **)&tmp, &cap, n, 1, size) < 0) {
				rc = -ENOMEM;
				goto out_free;
			}
			f->index = (long)n;
			rc = read_value(r, fd, tmp + n * size);
			if (rc < 0)
				goto out_free;
			n++;
		} while (take(r, ','));
		if (!take(r, ']')) {
			rc = syntax(r, "expected ',' or ']'");
			goto out_free;
		}
	}
	f->index = -1;
	arr = pf_pb_arena_alloc(r->arena, (n ? n : 1) * size);
	if (!arr) {
		rc = -ENOMEM;
		goto out_free;
	}
	if (n)
		memcpy(arr, tmp, n * size);
	*(size_t *)(base + fd->quantifier_offset) = n;
	*(char **)(base + fd->offset) = arr;
out_free:
	free(tmp);
	pf_budget_refund(r->arena->meter, cap * size);
	return rc;
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

/* One member of an object of type desc into m (after its key was read into r->str). */
static int read_member(struct reader *r, const ProtobufCMessageDescriptor *desc,
		       ProtobufCMessage *m)
{
	char name[128];
	char *base = (char *)m;
	int rc;

	to_snake(r->str, name, sizeof(name));
	const ProtobufCFieldDescriptor *fd =
		protobuf_c_message_descriptor_get_field_by_name(desc, name);
	if (!take(r, ':'))
		return syntax(r, "expected ':'");
	if (!fd || literal(r, "null"))
		return fd ? 0 : skip_value(r);
	if ((rc = push(r, fd->name, -1)) < 0)
		return rc;
	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		ws(r);
		if (!take(r, '['))
			return fail(r, "expected an array");
		rc = read_repeated(r, fd, base);
	} else {
		rc = read_value(r, fd, base + fd->offset);
		if (rc == 0 && (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			*(uint32_t *)(base + fd->quantifier_offset) = fd->id;
	}
	r->depth--;
	return rc;
}

static int read_message(struct reader *r, const ProtobufCMessageDescriptor *desc,
			ProtobufCMessage **out)
{
	ProtobufCMessage *m;
	int rc;

	if (!take(r, '{'))
		return fail(r, "expected an object");
	m = pf_pb_arena_alloc(r->arena, desc->sizeof_message);
	if (!m)
		return -ENOMEM;
	desc->message_init(m);
	if (!take(r, '}')) {
		do {
			ws(r);
			if (r->p < r->end && *r->p != '"')
				return syntax(r, "expected a key");
			if ((rc = read_string(r)) < 0 || (rc = read_member(r, desc, m)) < 0)
				return rc;
		} while (take(r, ','));
		if (!take(r, '}'))
			return syntax(r, "expected ',' or '}'");
	}
	*out = m;
	return 0;
}

int pf_otlp_json_read(const ProtobufCMessageDescriptor *desc, const void *data, size_t size,
		      struct pf_pb_arena *arena, ProtobufCMessage **out, struct pf_error *err)
{
	struct reader r = {.start = data,
			   .p = data,
			   .end = (const char *)data + size,
			   .arena = arena,
			   .err = err};
	int rc;

	rc = read_message(&r, desc, out);
	if (rc == 0) {
		ws(&r);
		if (r.p < r.end)
			rc = pf_error_set(err, "", "JSON: trailing data after the request");
	}
	free(r.str);
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
	rc = pf_otlp_meter_input(&meter, size, err);
	if (rc < 0)
		return rc;
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
