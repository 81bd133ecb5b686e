/* SPDX-License-Identifier: Apache-2.0 */
/* The OTLP profiles codec: round trips, protoc as a second implementation, validation, v1.9, JSON, parts. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "formats/otlp/otlp.h"
#include "formats/pb_wire.h"
#include "formats/pprof/pprof.h"
#include "formats/utf8.h"
#include "model/batch.h"
#include "core/budget.h"

#define REQ_TYPE  "opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest"
#define REQ_PROTO "opentelemetry/proto/collector/profiles/v1development/profiles_service.proto"

/* ---- text helpers ---- */

struct text {
	char *buf;
	size_t len, cap;
};

static void tprintf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *nb = realloc(t->buf, cap);
		assert_non_null(nb);
		t->buf = nb;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* ---- a canonical text form of a batch, independent of table order ---- */

static void dump_value(struct text *t, const struct pf_batch *b, const struct pf_value *v)
{
	switch (v->kind) {
	case PF_VALUE_EMPTY: tprintf(t, "<empty>"); break;
	case PF_VALUE_STRING: tprintf(t, "'%s'", pf_batch_str(b, v->u.str)); break;
	case PF_VALUE_INT: tprintf(t, "%" PRId64, v->u.i); break;
	case PF_VALUE_DOUBLE: tprintf(t, "%g", v->u.d); break;
	case PF_VALUE_BOOL: tprintf(t, "%s", v->u.b ? "true" : "false"); break;
	case PF_VALUE_STRINGS: {
		size_t n;
		const uint32_t *s = pf_batch_string_list_get(b, v->u.strs, &n);
		tprintf(t, "[");
		for (size_t i = 0; i < n; i++)
			tprintf(t, "%s'%s'", i ? "," : "", pf_batch_str(b, s[i]));
		tprintf(t, "]");
		break;
	}
	}
}

static void dump_attrs(struct text *t, const struct pf_batch *b, uint32_t set)
{
	size_t n;
	const uint32_t *a = pf_batch_attr_set_get(b, set, &n);
	tprintf(t, "{");
	for (size_t i = 0; i < n; i++) {
		const struct pf_attribute *at = pf_batch_attribute_get(b, a[i]);
		tprintf(t, "%s%s=", i ? " " : "", pf_batch_str(b, at->key));
		dump_value(t, b, &at->value);
		if (at->unit)
			tprintf(t, "(%s)", pf_batch_str(b, at->unit));
	}
	tprintf(t, "}");
}

static void dump_stack(struct text *t, const struct pf_batch *b, uint32_t stack)
{
	size_t n;
	const uint32_t *locs = pf_batch_stack_get(b, stack, &n);
	for (size_t i = 0; i < n; i++) {
		const struct pf_location *l = pf_batch_location_get(b, locs[i]);
		const struct pf_mapping *m = pf_batch_mapping_get(b, l->mapping);
		size_t nl;
		const struct pf_line *lines = pf_batch_location_lines(b, locs[i], &nl);
		tprintf(t, "\n    loc %#" PRIx64 " map[%s %#" PRIx64 "-%#" PRIx64 " +%#" PRIx64 " ",
			l->address, pf_batch_str(b, m->filename), m->memory_start, m->memory_limit,
			m->file_offset);
		dump_attrs(t, b, m->attrs);
		tprintf(t, "] ");
		dump_attrs(t, b, l->attrs);
		for (size_t k = 0; k < nl; k++) {
			const struct pf_function *f = pf_batch_function_get(b, lines[k].function);
			tprintf(t, " %s/%s@%s:%" PRId64 " %" PRId64 ":%" PRId64,
				pf_batch_str(b, f->name), pf_batch_str(b, f->system_name),
				pf_batch_str(b, f->filename), f->start_line, lines[k].line,
				lines[k].column);
		}
	}
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every profile with everything it refers to, resolved to text; profiles
 * sorted so that only content matters. The caller frees. */
static char *dump(const struct pf_batch *b)
{
	size_t np = pf_batch_n_profiles(b);
	char **parts = calloc(np + 1, sizeof(*parts));
	struct text all = {0};

	assert_non_null(parts);
	for (uint32_t p = 0; p < np; p++) {
		struct text t = {0};
		const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
		const struct pf_resource *r = pf_batch_resource_get(b, d->resource);
		const struct pf_scope *sc = pf_batch_scope_get(b, d->scope);
		tprintf(&t, "resource ");
		dump_attrs(&t, b, r->attrs);
		tprintf(&t, " url='%s' dropped=%u\n", pf_batch_str(b, r->schema_url),
			r->dropped_attributes_count);
		tprintf(&t, "scope %s %s ", pf_batch_str(b, sc->name),
			pf_batch_str(b, sc->version));
		dump_attrs(&t, b, sc->attrs);
		tprintf(&t, " url='%s'\n", pf_batch_str(b, sc->schema_url));
		tprintf(&t,
			"profile %s/%s period %s/%s %" PRId64 " t=%" PRIu64 " d=%" PRIu64 " id=",
			pf_batch_str(b, d->sample_type.type), pf_batch_str(b, d->sample_type.unit),
			pf_batch_str(b, d->period_type.type), pf_batch_str(b, d->period_type.unit),
			d->period, d->time_unix_nano, d->duration_nano);
		for (int i = 0; i < 16; i++)
			tprintf(&t, "%02x", d->profile_id[i]);
		tprintf(&t, " dropped=%u fmt='%s' ", d->dropped_attributes_count,
			pf_batch_str(b, d->original_payload_format));
		dump_attrs(&t, b, d->attrs);
		size_t ns;
		const struct pf_sample *s = pf_batch_samples(b, p, &ns);
		for (size_t i = 0; i < ns; i++) {
			const struct pf_link *l = pf_batch_link_get(b, s[i].link);
			tprintf(&t, "\n  sample ");
			dump_attrs(&t, b, s[i].attrs);
			tprintf(&t, " link=");
			for (int k = 0; k < 16; k++)
				tprintf(&t, "%02x", l->trace_id[k]);
			tprintf(&t, "/");
			for (int k = 0; k < 8; k++)
				tprintf(&t, "%02x", l->span_id[k]);
			tprintf(&t, " values");
			const int64_t *v = pf_batch_sample_values(b, &s[i]);
			for (uint32_t k = 0; k < s[i].values_len; k++)
				tprintf(&t, " %" PRId64, v[k]);
			tprintf(&t, " ts");
			const uint64_t *ts = pf_batch_sample_timestamps(b, &s[i]);
			for (uint32_t k = 0; k < s[i].timestamps_len; k++)
				tprintf(&t, " %" PRIu64, ts[k]);
			dump_stack(&t, b, s[i].stack);
		}
		tprintf(&t, "\n");
		parts[p] = t.buf;
	}
	qsort(parts, np, sizeof(*parts), cmp_strp);
	tprintf(&all, "%zu profiles\n", np);
	for (size_t p = 0; p < np; p++) {
		tprintf(&all, "%s", parts[p]);
		free(parts[p]);
	}
	free(parts);
	return all.buf;
}

/* ---- protoc, the second implementation ---- */

static char *proto_dir(void)
{
	const char *data = getenv("PF_TEST_DATA");
	char *dir = calloc(1, 4096);
	assert_non_null(dir);
	snprintf(dir, 4096, "%s/../../proto", data ? data : "tests/data");
	return dir;
}

static uint8_t *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = calloc((size_t)n + 1, 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return buf;
}

static void write_all(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, size, f), size);
	fclose(f);
}

/* Runs protoc --encode or --decode (mode) on `in`; returns its output. */
static uint8_t *protoc(const char *mode, const char *type, const void *in, size_t in_size,
		       size_t *out_size)
{
	char in_path[] = "/tmp/pf_otlp_in_XXXXXX", out_path[] = "/tmp/pf_otlp_out_XXXXXX";
	char cmd[8192], err_path[64];
	char *dir = proto_dir();
	int fd_in = mkstemp(in_path), fd_out = mkstemp(out_path);
	assert_true(fd_in >= 0 && fd_out >= 0);
	close(fd_in);
	close(fd_out);
	snprintf(err_path, sizeof(err_path), "%s.err", out_path);
	write_all(in_path, in, in_size);
	snprintf(cmd, sizeof(cmd), "protoc --%s=%s -I '%s' '%s/%s' < %s > %s 2> %s", mode, type,
		 dir, dir, REQ_PROTO, in_path, out_path, err_path);
	int rc = system(cmd);
	if (rc != 0) {
		size_t n;
		uint8_t *e = read_all(err_path, &n);
		fail_msg("protoc --%s failed: %s", mode, (char *)e);
	}
	uint8_t *out = read_all(out_path, out_size);
	unlink(in_path);
	unlink(out_path);
	unlink(err_path);
	free(dir);
	return out;
}

static uint8_t *text_to_pb(const char *text, size_t *size)
{
	return protoc("encode", REQ_TYPE, text, strlen(text), size);
}

static char *pb_to_text(const uint8_t *pb, size_t size)
{
	size_t n;
	return (char *)protoc("decode", REQ_TYPE, pb, size, &n);
}

/* ---- a rich batch built with the batch API ---- */

static uint32_t attr(struct pf_batch *b, const char *key, struct pf_value v, const char *unit)
{
	struct pf_attribute a = {.key = pf_batch_cstring(b, key),
				 .unit = unit ? pf_batch_cstring(b, unit) : 0,
				 .value = v};
	uint32_t i = pf_batch_attribute(b, &a);
	assert_int_not_equal(i, PF_INDEX_ERROR);
	return i;
}

static struct pf_value vstr(struct pf_batch *b, const char *s)
{
	return (struct pf_value){.kind = PF_VALUE_STRING, .u.str = pf_batch_cstring(b, s)};
}

static uint32_t func(struct pf_batch *b, const char *name, const char *file, int64_t start)
{
	struct pf_function f = {.name = pf_batch_cstring(b, name),
				.system_name = pf_batch_cstring(b, name),
				.filename = pf_batch_cstring(b, file),
				.start_line = start};
	return pf_batch_function(b, &f);
}

static struct pf_batch *rich_batch(void)
{
	struct pf_batch *b = pf_batch_new();
	assert_non_null(b);

	uint32_t strs[2] = {pf_batch_cstring(b, "a"), pf_batch_cstring(b, "b")};
	uint32_t ra[2] = {pf_batch_attr_str(b, "service.name", "app"),
			  pf_batch_attr_int(b, "process.pid", 42)};
	struct pf_resource r1 = {
		.attrs = pf_batch_attr_set(b, ra, 2),
		.schema_url = pf_batch_cstring(b, "https://opentelemetry.io/schemas/1.30.0"),
		.dropped_attributes_count = 2};
	uint32_t rb[1] = {pf_batch_attr_str(b, "service.name", "other")};
	struct pf_resource r2 = {.attrs = pf_batch_attr_set(b, rb, 1)};
	uint32_t res1 = pf_batch_resource(b, &r1), res2 = pf_batch_resource(b, &r2);
	uint32_t sa[1] = {
		attr(b, "scope.flag", (struct pf_value){.kind = PF_VALUE_BOOL, .u.b = true}, NULL)};
	struct pf_scope s1 = {.name = pf_batch_cstring(b, "proflow"),
			      .version = pf_batch_cstring(b, "0.1.0"),
			      .attrs = pf_batch_attr_set(b, sa, 1)};
	struct pf_scope s2 = {.name = pf_batch_cstring(b, "other-scope")};
	uint32_t sc1 = pf_batch_scope(b, &s1), sc2 = pf_batch_scope(b, &s2);

	uint32_t build[1] = {attr(b, "process.executable.build_id.gnu", vstr(b, "abc123"), NULL)};
	struct pf_mapping m = {.memory_start = 0x400000,
			       .memory_limit = 0x500000,
			       .file_offset = 0x1000,
			       .filename = pf_batch_cstring(b, "/bin/app"),
			       .attrs = pf_batch_attr_set(b, build, 1)};
	uint32_t map = pf_batch_mapping(b, &m);
	uint32_t kind[1] = {attr(b, "profile.frame.type", vstr(b, "native"), NULL)};
	struct pf_location l1 = {
		.mapping = map, .address = 0x401000, .attrs = pf_batch_attr_set(b, kind, 1)};
	struct pf_line lines1[1] = {{func(b, "main", "main.c", 3), 10, 0}};
	struct pf_location l2 = {.mapping = map, .address = 0x402000};
	struct pf_line lines2[2] = {{func(b, "inl", "inl.h", 1), 5, 7},
				    {func(b, "work", "main.c", 20), 25, 2}};
	struct pf_location l3 = {.address = 0xffffffff81000000ull};
	uint32_t loc[3] = {pf_batch_location(b, &l1, lines1, 1),
			   pf_batch_location(b, &l2, lines2, 2),
			   pf_batch_location(b, &l3, NULL, 0)};
	uint32_t st_a[2] = {loc[1], loc[0]}, st_b[3] = {loc[2], loc[1], loc[0]};
	uint32_t stack_a = pf_batch_stack(b, st_a, 2), stack_b = pf_batch_stack(b, st_b, 3);

	struct pf_link lk = {.trace_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
			     .span_id = {0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, 0x11}};
	uint32_t link = pf_batch_link(b, &lk);
	uint32_t smp[3] = {
		pf_batch_attr_str(b, "thread.name", "worker"),
		attr(b, "alloc", (struct pf_value){.kind = PF_VALUE_INT, .u.i = -7}, "bytes"),
		attr(b, "ratio", (struct pf_value){.kind = PF_VALUE_DOUBLE, .u.d = 0.25}, NULL),
	};
	uint32_t tags[1] = {attr(b, "tags",
				 (struct pf_value){.kind = PF_VALUE_STRINGS,
						   .u.strs = pf_batch_string_list(b, strs, 2)},
				 NULL)};

	struct pf_profile_desc d = {
		.resource = res1,
		.scope = sc1,
		.sample_type = {pf_batch_cstring(b, "cpu"), pf_batch_cstring(b, "nanoseconds")},
		.period_type = {pf_batch_cstring(b, "cpu"), pf_batch_cstring(b, "nanoseconds")},
		.period = 10101010,
		.time_unix_nano = 1700000000123456789ull,
		.duration_nano = 10000000000ull,
		.attrs = pf_batch_attr_set(b, tags, 1),
		.profile_id = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		.dropped_attributes_count = 1,
		.original_payload_format = pf_batch_cstring(b, "pprof"),
	};
	uint32_t p1 = pf_batch_add_profile(b, &d);
	d.sample_type.type = pf_batch_cstring(b, "samples");
	d.sample_type.unit = pf_batch_cstring(b, "count");
	uint32_t p2 = pf_batch_add_profile(b, &d);
	struct pf_profile_desc d3 = {
		.resource = res2,
		.scope = sc2,
		.sample_type = {pf_batch_cstring(b, "alloc_space"), pf_batch_cstring(b, "bytes")}};
	uint32_t p3 = pf_batch_add_profile(b, &d3);
	d3.scope = sc1;
	uint32_t p4 = pf_batch_add_profile(b, &d3);
	d.resource = res2;
	uint32_t p5 = pf_batch_add_profile(b, &d); /* resource 2 again, after others */

	int64_t v[2] = {INT64_MAX, -3};
	uint64_t ts[2] = {1700000000200000000ull, UINT64_MAX};
	assert_int_equal(pf_batch_add_sample(b, p1, stack_a, pf_batch_attr_set(b, smp, 3), link, v,
					     2, ts, 2),
			 0);
	assert_int_equal(pf_batch_add_sample(b, p1, stack_b, 0, 0, v, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(b, p1, 0, 0, 0, NULL, 0, ts, 1), 0);
	assert_int_equal(pf_batch_add_sample(b, p2, stack_b, pf_batch_attr_set(b, smp, 1), 0, v + 1,
					     1, NULL, 0),
			 0);
	assert_int_equal(pf_batch_add_sample(b, p3, stack_a, 0, link, v, 1, NULL, 0), 0);
	assert_int_equal(pf_batch_add_sample(b, p5, stack_a, 0, 0, v, 1, NULL, 0), 0);
	(void)p4; /* a profile without samples */
	return b;
}

static uint8_t *encode_all(const struct pf_batch *b, size_t *size)
{
	uint8_t *out = NULL;
	assert_int_equal(pf_otlp_encode(b, NULL, 0, &out, size), 0);
	assert_non_null(out);
	return out;
}

static struct pf_batch *decode_ok(const uint8_t *data, size_t size, int want_profiles)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_error err;
	pf_error_clear(&err);
	int rc = pf_otlp_decode(b, data, size, 0, NULL, &err);
	if (rc != want_profiles)
		fail_msg("decode returned %d (want %d): %s", rc, want_profiles, err.msg);
	return b;
}

/* ---- round trips ---- */

static void test_round_trip(void **state)
{
	struct pf_batch *b = rich_batch();
	size_t n1, n2;
	uint8_t *out1 = encode_all(b, &n1);
	struct pf_batch *b2 = decode_ok(out1, n1, 5);
	char *d1 = dump(b), *d2 = dump(b2);
	assert_string_equal(d1, d2);
	/* Re-encoding what was decoded gives the same bytes. */
	uint8_t *out2 = encode_all(b2, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(out1, out2, n1);
	free(d1);
	free(d2);
	free(out1);
	free(out2);
	pf_batch_unref(b2);
	pf_batch_unref(b);
}

static void test_round_trip_json(void **state)
{
	struct pf_batch *b = rich_batch();
	char *json = NULL;
	size_t n;
	struct pf_error err;
	assert_int_equal(pf_otlp_encode_json(b, NULL, 0, &json, &n), 0);
	assert_int_equal(strlen(json), n);
	/* OTLP/JSON conventions: camelCase keys, hex ids, 64-bit ints as strings. */
	assert_non_null(strstr(json, "\"resourceProfiles\":"));
	assert_non_null(strstr(json, "\"profileId\":\"deadbeef0102030405060708090a0b0c\""));
	assert_non_null(strstr(json, "\"traceId\":\"0102030405060708090a0b0c0d0e0f10\""));
	assert_non_null(strstr(json, "\"spanId\":\"0a0b0c0d0e0f1011\""));
	assert_non_null(strstr(json, "\"values\":[\"9223372036854775807\",\"-3\"]"));
	assert_non_null(strstr(json, "\"timeUnixNano\":\"1700000000123456789\""));
	struct pf_batch *b2 = pf_batch_new();
	pf_error_clear(&err);
	int rc = pf_otlp_decode_json(b2, json, n, 0, NULL, &err);
	if (rc != 5)
		fail_msg("decode_json: %d %s", rc, err.msg);
	char *d1 = dump(b), *d2 = dump(b2);
	assert_string_equal(d1, d2);
	free(d1);
	free(d2);
	free(json);
	pf_batch_unref(b2);
	pf_batch_unref(b);
}

/* protoc decodes what we encode with the field numbers of the specification. */
static void test_golden_protoc_decode(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t fn = func(b, "main", "main.c", 0);
	struct pf_line line = {fn, 12, 0};
	struct pf_location loc = {.address = 0x10};
	uint32_t l = pf_batch_location(b, &loc, &line, 1);
	uint32_t stack = pf_batch_stack(b, &l, 1);
	uint32_t a = pf_batch_attr_str(b, "thread.name", "t1");
	struct pf_profile_desc d = {
		.sample_type = {pf_batch_cstring(b, "cpu"), pf_batch_cstring(b, "nanoseconds")},
		.period = 1000,
	};
	uint32_t p = pf_batch_add_profile(b, &d);
	int64_t v[1] = {7};
	uint64_t ts[1] = {99};
	pf_batch_cstring(b, "unused string");
	func(b, "unused", "x.c", 0);
	assert_int_equal(
		pf_batch_add_sample(b, p, stack, pf_batch_attr_set(b, &a, 1), 0, v, 1, ts, 1), 0);
	size_t n;
	uint8_t *pb = encode_all(b, &n);
	char *text = pb_to_text(pb, n);
	const char *want = "resource_profiles {\n"
			   "  resource {\n"
			   "  }\n"
			   "  scope_profiles {\n"
			   "    scope {\n"
			   "    }\n"
			   "    profiles {\n"
			   "      sample_type {\n"
			   "        type_strindex: 1\n"
			   "        unit_strindex: 2\n"
			   "      }\n"
			   "      samples {\n"
			   "        stack_index: 1\n"
			   "        attribute_indices: 1\n"
			   "        values: 7\n"
			   "        timestamps_unix_nano: 99\n"
			   "      }\n"
			   "      period: 1000\n"
			   "    }\n"
			   "  }\n"
			   "}\n"
			   "dictionary {\n"
			   "  mapping_table {\n"
			   "  }\n"
			   "  location_table {\n"
			   "  }\n"
			   "  location_table {\n"
			   "    address: 16\n"
			   "    lines {\n"
			   "      function_index: 1\n"
			   "      line: 12\n"
			   "    }\n"
			   "  }\n"
			   "  function_table {\n"
			   "  }\n"
			   "  function_table {\n"
			   "    name_strindex: 3\n"
			   "    system_name_strindex: 3\n"
			   "    filename_strindex: 4\n"
			   "  }\n"
			   "  link_table {\n"
			   "    trace_id: "
			   "\"\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\00"
			   "0\\000\\000\"\n"
			   "    span_id: \"\\000\\000\\000\\000\\000\\000\\000\\000\"\n"
			   "  }\n"
			   "  string_table: \"\"\n"
			   "  string_table: \"cpu\"\n"
			   "  string_table: \"nanoseconds\"\n"
			   "  string_table: \"main\"\n"
			   "  string_table: \"main.c\"\n"
			   "  string_table: \"thread.name\"\n"
			   "  attribute_table {\n"
			   "  }\n"
			   "  attribute_table {\n"
			   "    key_strindex: 5\n"
			   "    value {\n"
			   "      string_value: \"t1\"\n"
			   "    }\n"
			   "  }\n"
			   "  stack_table {\n"
			   "  }\n"
			   "  stack_table {\n"
			   "    location_indices: 1\n"
			   "  }\n"
			   "}\n";
	assert_string_equal(text, want);
	free(text);
	free(pb);
	pf_batch_unref(b);
}

/* ---- requests written by protoc from text (a second encoder) ---- */

#define ZERO16 "\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000"
#define ZERO8  "\\000\\000\\000\\000\\000\\000\\000\\000"

static const char base_request[] =
	"resource_profiles {\n"
	"  resource { attributes { key: \"service.name\" value { string_value: \"app\" } }\n"
	"             attributes { key_strindex: 9 value { string_value_strindex: 10 } } }\n"
	"  scope_profiles {\n"
	"    scope { name: \"proflow\" version: \"1\" }\n"
	"    profiles {\n"
	"      sample_type { type_strindex: 1 unit_strindex: 2 }\n"
	"      period_type { type_strindex: 3 unit_strindex: 2 }\n"
	"      period: 10000000 time_unix_nano: 1700000000000000000 duration_nano: 1000000000\n"
	"      profile_id: "
	"\"\\001\\002\\003\\004\\005\\006\\007\\010\\011\\012\\013\\014\\015\\016\\017\\020\"\n"
	"      attribute_indices: 3\n"
	"      samples { stack_index: 1 attribute_indices: 1 attribute_indices: 2 link_index: 1\n"
	"                values: 5 values: 6 timestamps_unix_nano: 1700000000000000001\n"
	"                timestamps_unix_nano: 1700000000000000002 }\n"
	"      samples { stack_index: 2 values: 3 }\n"
	"      samples { stack_index: 1 timestamps_unix_nano: 1700000000000000003 }\n"
	"    }\n"
	"  }\n"
	"}\n"
	"dictionary {\n"
	"  string_table: \"\" string_table: \"cpu\" string_table: \"nanoseconds\"\n"
	"  string_table: \"wall\" string_table: \"main\" string_table: \"main.c\"\n"
	"  string_table: \"work\" string_table: \"/bin/app\" string_table: \"thread.name\"\n"
	"  string_table: \"host.name\" string_table: \"node1\" string_table: \"worker\"\n"
	"  string_table: \"profile.frame.type\" string_table: \"native\" string_table: \"bytes\"\n"
	"  string_table: \"tags\"\n"
	"  mapping_table {}\n"
	"  mapping_table { memory_start: 4096 memory_limit: 8192 filename_strindex: 7 }\n"
	"  location_table {}\n"
	"  location_table { mapping_index: 1 address: 4200 lines { function_index: 1 line: 10 }\n"
	"                   attribute_indices: 4 }\n"
	"  location_table { mapping_index: 1 address: 4300 lines { function_index: 2 line: 20 "
	"column: 3 }\n"
	"                   lines { function_index: 1 line: 11 } }\n"
	"  function_table {}\n"
	"  function_table { name_strindex: 4 filename_strindex: 5 start_line: 1 }\n"
	"  function_table { name_strindex: 6 system_name_strindex: 6 filename_strindex: 5 }\n"
	"  link_table { trace_id: \"" ZERO16 "\" span_id: \"" ZERO8 "\" }\n"
	"  link_table { trace_id: \"ABCDEFGHIJKLMNOP\" span_id: \"abcdefgh\" }\n"
	"  attribute_table {}\n"
	"  attribute_table { key_strindex: 8 value { string_value_strindex: 11 } }\n"
	"  attribute_table { key_strindex: 14 value { int_value: 42 } unit_strindex: 14 }\n"
	"  attribute_table { key_strindex: 15 value { array_value { values { string_value: \"a\" "
	"}\n"
	"                    values { string_value: \"b\" } } } }\n"
	"  attribute_table { key_strindex: 12 value { string_value: \"native\" } }\n"
	"  attribute_table { key_strindex: 8 value { bytes_value: \"x\" } }\n"
	"  stack_table {}\n"
	"  stack_table { location_indices: 1 }\n"
	"  stack_table { location_indices: 2 location_indices: 1 }\n"
	"}\n";

static const char base_dump[] =
	"1 profiles\n"
	"resource {service.name='app' host.name='node1'} url='' dropped=0\n"
	"scope proflow 1 {} url=''\n"
	"profile cpu/nanoseconds period wall/nanoseconds 10000000 t=1700000000000000000 "
	"d=1000000000 id=0102030405060708090a0b0c0d0e0f10 dropped=0 fmt='' {tags=['a','b']}\n"
	"  sample {thread.name='worker' bytes=42(bytes)} "
	"link=4142434445464748494a4b4c4d4e4f50/6162636465666768 values 5 6 ts "
	"1700000000000000001 1700000000000000002\n"
	"    loc 0x1068 map[/bin/app 0x1000-0x2000 +0 {}] {profile.frame.type='native'} "
	"main/@main.c:1 10:0\n"
	"  sample {} link=00000000000000000000000000000000/0000000000000000 values 3 ts\n"
	"    loc 0x10cc map[/bin/app 0x1000-0x2000 +0 {}] {} work/work@main.c:0 20:3 "
	"main/@main.c:1 11:0\n"
	"    loc 0x1068 map[/bin/app 0x1000-0x2000 +0 {}] {profile.frame.type='native'} "
	"main/@main.c:1 10:0\n"
	"  sample {} link=00000000000000000000000000000000/0000000000000000 values ts "
	"1700000000000000003\n"
	"    loc 0x1068 map[/bin/app 0x1000-0x2000 +0 {}] {profile.frame.type='native'} "
	"main/@main.c:1 10:0\n";

/* Decodes a request that protoc encoded from text, resolving key_strindex
 * and string_value_strindex (R3). */
static void test_decode_protoc_request(void **state)
{
	size_t n;
	uint8_t *pb = text_to_pb(base_request, &n);
	struct pf_batch *b = decode_ok(pb, n, 1);
	char *d = dump(b);
	assert_string_equal(d, base_dump);
	free(d);
	/* Appending to a batch that already has content works the same way. */
	assert_int_equal(pf_otlp_decode(b, pb, n, 0, NULL, NULL), 1);
	assert_int_equal(pf_batch_n_profiles(b), 2);
	pf_batch_unref(b);
	free(pb);
}

/* Replaces the first `from` in base_request by `to`. */
static char *edit(const char *from, const char *to)
{
	const char *at = strstr(base_request, from);
	if (!at)
		fail_msg("edit: '%s' not in the base request", from);
	size_t n = strlen(base_request) - strlen(from) + strlen(to) + 1;
	char *s = calloc(n, 1);
	assert_non_null(s);
	memcpy(s, base_request, (size_t)(at - base_request));
	strcat(s, to);
	strcat(s, at + strlen(from));
	return s;
}

struct bad_case {
	const char *from, *to, *msg;
};

static const struct bad_case bad_cases[] = {
	{"dictionary {", "unused_top: 1 dictionary {", NULL}, /* placeholder replaced below */
	{"string_table: \"\" string_table: \"cpu\"", "string_table: \"x\" string_table: \"cpu\"",
	 "string_table[0] must be \"\""},
	{"  mapping_table {}\n", "", "dictionary.mapping_table[0] must be the zero value"},
	{"  stack_table {}\n  stack_table { location_indices: 1 }\n  stack_table { "
	 "location_indices: 2 location_indices: 1 }\n",
	 "", "dictionary.stack_table is empty"},
	{"  link_table { trace_id: \"" ZERO16 "\" span_id: \"" ZERO8 "\" }\n", "",
	 "dictionary.link_table[0] must be the zero value"},
	{"  mapping_table {}\n", "  mapping_table { memory_start: 1 }\n",
	 "dictionary.mapping_table[0] must be the zero value"},
	{"  location_table {}\n", "  location_table { address: 1 }\n",
	 "dictionary.location_table[0] must be the zero value"},
	{"  function_table {}\n", "  function_table { name_strindex: 1 }\n",
	 "dictionary.function_table[0] must be the zero value"},
	{"  attribute_table {}\n", "  attribute_table { key_strindex: 1 }\n",
	 "dictionary.attribute_table[0] must be the zero value"},
	{"  stack_table {}\n", "  stack_table { location_indices: 1 }\n",
	 "dictionary.stack_table[0] must be the zero value"},
	{"samples { stack_index: 2", "samples { stack_index: 3",
	 "profile 0 sample 1: stack_index 3 out of range (stack_table has 3 entries)"},
	{"samples { stack_index: 2", "samples { stack_index: -1",
	 "profile 0 sample 1: stack_index -1 out of range"},
	{"link_index: 1", "link_index: 2", "link_index 2 out of range (link_table has 2 entries)"},
	{"attribute_indices: 1 attribute_indices: 2", "attribute_indices: 1 attribute_indices: 9",
	 "attribute index 9 out of range (attribute_table has 6 entries)"},
	{"attribute_indices: 1 attribute_indices: 2", "attribute_indices: 1 attribute_indices: 5",
	 "profile 0 sample[0].attribute_indices lists the same key twice"},
	{"values: 5 values: 6", "values: 5", "profile 0 sample 0 has 1 values but 2 timestamps"},
	{"samples { stack_index: 2 values: 3 }", "samples { stack_index: 2 }",
	 "profile 0 sample 1 has neither values nor timestamps"},
	{"profile_id: \"\\001\\002\\003", "profile_id: \"\\003", "profile_id has 14 bytes, not 16"},
	{"span_id: \"abcdefgh\"", "span_id: \"abc\"", "link_table[1] needs a 16-byte trace_id"},
	{"mapping_index: 1 address: 4200", "mapping_index: 2 address: 4200",
	 "dictionary.location_table[1].mapping_index 2 out of range (mapping_table has 2 entries)"},
	{"lines { function_index: 1 line: 10 }", "lines { function_index: 7 line: 10 }",
	 "location_table[1].lines.function_index 7 out of range"},
	{"location_indices: 2 location_indices: 1", "location_indices: 2 location_indices: 4",
	 "dictionary.stack_table[2].location_indices 4 out of range"},
	{"location_indices: 2 location_indices: 1", "location_indices: 2 location_indices: -1",
	 "dictionary.stack_table[2].location_indices -1 out of range"},
	{"name_strindex: 4 filename_strindex: 5", "name_strindex: 40 filename_strindex: 5",
	 "dictionary.function_table[1].name_strindex 40 out of range (string_table has 16 "
	 "entries)"},
	{"key_strindex: 8 value { string_value_strindex: 11 }",
	 "key_strindex: 8 value { string_value_strindex: 16 }",
	 "dictionary.attribute_table[1].value.string_value_strindex 16 out of range"},
	{"attributes { key_strindex: 9", "attributes { key_strindex: 99",
	 "resource_profiles[0].attributes.key_strindex 99 out of range"},
	{"attribute_indices: 4 }", "attribute_indices: 4 attribute_indices: 4 }",
	 "dictionary.location_table[1].attribute_indices lists the same key twice"},
	{"sample_type { type_strindex: 1", "sample_type { type_strindex: 16",
	 "profile[0].sample_type 16 out of range"},
	{"      attribute_indices: 3\n", "      attribute_indices: 6\n",
	 "profile[0].attribute_indices 6 out of range"},
};

static void expect_error(const uint8_t *data, size_t size, size_t max_size, int want_rc,
			 const char *want_msg)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_error err;
	pf_error_clear(&err);
	int rc = pf_otlp_decode(b, data, size, max_size, NULL, &err);
	if (rc != want_rc)
		fail_msg("rc %d, want %d (%s) for '%s'", rc, want_rc, err.msg, want_msg);
	if (!strstr(err.msg, want_msg))
		fail_msg("message '%s' lacks '%s'", err.msg, want_msg);
	/* Nothing was accepted. */
	assert_int_equal(pf_batch_n_profiles(b), 0);
	pf_batch_unref(b);
}

static void test_validation_errors(void **state)
{
	for (size_t i = 1; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char *text = edit(bad_cases[i].from, bad_cases[i].to);
		size_t n;
		uint8_t *pb = text_to_pb(text, &n);
		expect_error(pb, n, 0, -EINVAL, bad_cases[i].msg);
		free(pb);
		free(text);
	}
	/* Profiles but no dictionary at all. */
	const char *nodict =
		"resource_profiles { scope_profiles { profiles { samples { values: 1 } } } }";
	size_t n;
	uint8_t *pb = text_to_pb(nodict, &n);
	expect_error(pb, n, 0, -EINVAL, "request has profiles but no dictionary");
	/* Too large before anything is parsed. */
	expect_error(pb, n, n - 1, -EFBIG, "exceeds the limit");
	free(pb);
}

/* pf_utf8_check at every offset around its 16- and 8-byte fast paths: the
 * first ill-formed sequence is found where it starts, well-formed text of
 * every sequence length passes. */
static void test_utf8_check(void **state)
{
	static const struct {
		const char *seq;
		bool ok;
	} seqs[] = {
		{"\xc3\xa9", true},
		{"\xe2\x82\xac", true},
		{"\xf0\x9f\x98\x80", true},
		{"\xf4\x8f\xbf\xbf", true},
		{"\xed\x9f\xbf", true},
		{"\xee\x80\x80", true},
		{"\xff", false},
		{"\x80", false},
		{"\xc0\xaf", false},
		{"\xc1\xbf", false},
		{"\xe0\x9f\xbf", false},
		{"\xed\xa0\x80", false},
		{"\xf0\x8f\xbf\xbf", false},
		{"\xf4\x90\x80\x80", false},
		{"\xf5\x80\x80\x80", false},
		{"\xc3", false},
		{"\xe2\x82", false},
		{"\xe2\x28\xa1", false},
		{"\xf0\x9f\x98", false},
	};
	char buf[64];

	for (size_t k = 0; k < sizeof(seqs) / sizeof(seqs[0]); k++) {
		size_t len = strlen(seqs[k].seq);
		for (size_t at = 0; at + len <= 40; at++) {
			for (size_t tail = 0; tail < 3; tail++) {
				size_t n = at + len + tail;
				memset(buf, 'a', sizeof(buf));
				memcpy(buf + at, seqs[k].seq, len);
				/* Cut short, a sequence stays bad with 'a' after it. */
				size_t got = pf_utf8_check(buf, n);
				if (got != (seqs[k].ok ? n : at))
					fail_msg("seq %zu at %zu (+%zu): %zu, want %zu", k, at,
						 tail, got, seqs[k].ok ? n : at);
			}
		}
	}
	/* Several sequences: the first bad one counts, after good ones. */
	const char *mixed = "caf\xc3\xa9 \xe2\x82\xac abcdefghijklmnop \xf0\x9f\x98\x80 \xc0 x";
	assert_int_equal(pf_utf8_check(mixed, strlen(mixed)), strlen(mixed) - 3);
	assert_int_equal(pf_utf8_check("", 0), 0);
}

/* Invalid UTF-8 in string fields was accepted and then broke the merged
 * batch at a protobuf-go peer; each bad string is refused, naming its field,
 * and a well-formed multi-byte string still passes. */
static void test_invalid_utf8_refused(void **state)
{
	static const struct {
		const char *from, *to, *msg;
	} cases[] = {
		{"nanoseconds",
		 "nano\xff"
		 "econds",
		 "dictionary.string_table[2]: invalid UTF-8 at byte 4"},
		{"proflow",
		 "pro\xc0\xaf"
		 "ow",
		 "resource_profiles[0].scope_profiles[0].scope.name: invalid UTF-8 at byte 3"},
		{"service.name",
		 "service\xed\xa0\x80"
		 "me",
		 "resource_profiles[0].resource.attributes[0].key: invalid UTF-8 at byte 7"},
		{"node1", "n\xf4\x90\x80\x80",
		 "dictionary.string_table[10]: invalid UTF-8 at byte 1"},
		{"worker", "w\xc3\xb6rkr", NULL},
	};
	size_t n;
	uint8_t *base = text_to_pb(base_request, &n);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *pb = malloc(n);
		assert_non_null(pb);
		memcpy(pb, base, n);
		uint8_t *at = memmem(pb, n, cases[i].from, strlen(cases[i].from));
		assert_non_null(at);
		assert_int_equal(strlen(cases[i].from), strlen(cases[i].to));
		memcpy(at, cases[i].to, strlen(cases[i].to));
		if (cases[i].msg) {
			expect_error(pb, n, 0, -EINVAL, cases[i].msg);
		} else {
			struct pf_batch *b = decode_ok(pb, n, 1);
			char *d = dump(b);
			assert_non_null(strstr(d, cases[i].to));
			free(d);
			pf_batch_unref(b);
		}
		free(pb);
	}
	free(base);
}

/* An attribute_table entry equal to the zero entry, listed by a profile, said
 * nothing but came back out as attribute index 0 (found by fuzz.otlp). */
static void test_zero_attribute_entry_dropped(void **state)
{
	char *text = edit("      attribute_indices: 3\n", "      attribute_indices: 6\n");
	char *text2 = NULL;
	size_t n, n1, n2;
	{
		const char *at = strstr(text, "  stack_table {}");
		assert_non_null(at);
		text2 = calloc(strlen(text) + 32, 1);
		assert_non_null(text2);
		memcpy(text2, text, (size_t)(at - text));
		strcat(text2, "  attribute_table {}\n");
		strcat(text2, at);
	}
	uint8_t *pb = text_to_pb(text2, &n);
	struct pf_batch *b = decode_ok(pb, n, 1);
	assert_int_equal(pf_batch_profile_get(b, 0)->attrs, 0);
	uint8_t *out1 = encode_all(b, &n1);
	struct pf_batch *b2 = decode_ok(out1, n1, 1);
	uint8_t *out2 = encode_all(b2, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(out1, out2, n1);
	free(out1);
	free(out2);
	free(pb);
	free(text);
	free(text2);
	pf_batch_unref(b);
	pf_batch_unref(b2);
}

/* ---- hand-built wire bytes ---- */

struct wbuf {
	uint8_t d[16384];
	size_t n;
};

static void w_varint(struct wbuf *w, uint32_t field, uint64_t v)
{
	w->n += pf_pb_put_varint(w->d + w->n, (uint64_t)field << 3 | PF_PB_VARINT);
	w->n += pf_pb_put_varint(w->d + w->n, v);
}

static void w_bytes(struct wbuf *w, uint32_t field, const void *data, size_t len)
{
	assert_true(w->n + len + 20 < sizeof(w->d));
	w->n += pf_pb_put_varint(w->d + w->n, (uint64_t)field << 3 | PF_PB_LEN);
	w->n += pf_pb_put_varint(w->d + w->n, len);
	memcpy(w->d + w->n, data, len);
	w->n += len;
}

static void w_msg(struct wbuf *w, uint32_t field, const struct wbuf *sub)
{
	w_bytes(w, field, sub->d, sub->n);
}

static void w_packed(struct wbuf *w, uint32_t field, const uint64_t *v, size_t n)
{
	struct wbuf p = {0};
	for (size_t i = 0; i < n; i++)
		p.n += pf_pb_put_varint(p.d + p.n, v[i]);
	w_msg(w, field, &p);
}

/* A request with one profile holding `sample` and a minimal valid
 * dictionary whose attribute_table has 2 entries; `attr_value`, when given,
 * replaces the value of attribute 1. */
static void w_request(struct wbuf *req, const struct wbuf *sample, const struct wbuf *attr_value)
{
	struct wbuf prof = {0}, sp = {0}, rp = {0}, dict = {0}, empty = {0}, attr = {0}, st = {0},
		    val = {0};
	w_msg(&prof, 2, sample);
	w_msg(&sp, 2, &prof);
	w_msg(&rp, 2, &sp);
	w_msg(req, 1, &rp);
	w_msg(&dict, 1, &empty); /* mapping_table[0] */
	w_msg(&dict, 2, &empty); /* location_table[0] */
	w_msg(&dict, 3, &empty); /* function_table[0] */
	w_msg(&dict, 4, &empty); /* link_table[0] */
	w_bytes(&dict, 5, "", 0);
	w_bytes(&dict, 5, "k", 1);
	w_msg(&dict, 6, &empty);
	w_varint(&attr, 1, 1);
	if (attr_value) {
		w_msg(&attr, 2, attr_value);
	} else {
		w_varint(&val, 3, 9); /* int_value */
		w_msg(&attr, 2, &val);
	}
	w_msg(&dict, 6, &attr);
	w_msg(&dict, 7, &empty); /* stack_table[0] */
	w_msg(&dict, 7, &st);	 /* stack_table[1]: empty stack */
	w_msg(req, 2, &dict);
}

/* The v1.9 Sample layout is refused with a message that names it (R2). */
static void test_old_layout_rejected(void **state)
{
	/* v1.9: values = 2, attribute_indices = 3, link_index = 4. */
	struct wbuf s1 = {0}, s2 = {0}, s3 = {0}, r1 = {0}, r2 = {0}, r3 = {0};
	uint64_t values[2] = {10000000, 7}, attrs[1] = {1};
	w_varint(&s1, 1, 1);
	w_packed(&s1, 2, values, 2); /* read as attribute indices now */
	w_request(&r1, &s1, NULL);
	expect_error(r1.d, r1.n, 0, -EINVAL, "attribute index 10000000 out of range");
	expect_error(r1.d, r1.n, 0, -EINVAL, "old v1.9 Sample layout");

	w_varint(&s2, 1, 1);
	w_packed(&s2, 2, values, 2);
	w_packed(&s2, 3, attrs, 1); /* a packed list where link_index (varint) is now */
	w_request(&r2, &s2, NULL);
	expect_error(r2.d, r2.n, 0, -EINVAL, "sample 0: field 3 has wire type 2");
	expect_error(r2.d, r2.n, 0, -EINVAL, "old v1.9 Sample layout");

	/* Small values that happen to be valid attribute indices: the sample
	 * then has no values at all, which is flagged too. */
	uint64_t small[1] = {1};
	w_varint(&s3, 1, 1);
	w_packed(&s3, 2, small, 1);
	w_request(&r3, &s3, NULL);
	expect_error(r3.d, r3.n, 0, -EINVAL, "neither values nor timestamps");
	expect_error(r3.d, r3.n, 0, -EINVAL, "v1.9");
}

static void test_wire_errors(void **state)
{
	struct wbuf s = {0}, r = {0};
	uint64_t v[1] = {4};
	w_varint(&s, 1, 1);
	w_packed(&s, 4, v, 1);
	w_request(&r, &s, NULL);
	struct pf_batch *b = decode_ok(r.d, r.n, 1);
	pf_batch_unref(b);
	/* Truncated anywhere: an error, never a crash. */
	for (size_t cut = 1; cut < r.n; cut++) {
		struct pf_batch *t = pf_batch_new();
		struct pf_error err;
		pf_error_clear(&err);
		int rc = pf_otlp_decode(t, r.d, cut, 0, NULL, &err);
		assert_true(rc == -EINVAL || rc == 0);
		if (rc < 0)
			assert_true(err.msg[0] != '\0');
		assert_int_equal(pf_batch_n_profiles(t), 0);
		pf_batch_unref(t);
	}
	/* A wire type that does not match the schema. */
	struct wbuf bad = {0};
	w_varint(&bad, 1, 5); /* resource_profiles as a varint */
	expect_error(bad.d, bad.n, 0, -EINVAL,
		     "ExportProfilesServiceRequest field 1 has wire type 0");
	/* Behind the samples and hot tables, which the schema walk does not
	 * see: the offset is still the one in what was sent. */
	char want[32];
	snprintf(want, sizeof(want), "offset %zu", r.n);
	w_varint(&r, 2, 7); /* a second dictionary, as a varint */
	struct pf_error err;
	pf_error_clear(&err);
	b = pf_batch_new();
	assert_int_equal(pf_otlp_decode(b, r.d, r.n, 0, NULL, &err), -EINVAL);
	assert_string_equal(err.where, want);
	assert_non_null(strstr(err.msg, "ExportProfilesServiceRequest field 2 has wire type 0"));
	pf_batch_unref(b);
	/* An empty request is a success with nothing in it. */
	b = decode_ok(NULL, 0, 0);
	pf_batch_unref(b);
}

/* Samples are read by hand: unpacked and packed forms, repeated fields that
 * append, fixed64 timestamps one at a time, unknown fields skipped. */
/* A small request of 1-byte packed values decoded into 16 bytes per value
 * (the pools and the batch) with nothing to stop it: 60 MB took 1 GB. What
 * decoding allocates is now charged to a meter of PF_OTLP_DECODE_FACTOR x
 * the size limit, drawing on a shared budget. */
static void test_decoding_memory_bounded(void **state)
{
	static uint64_t ones[12000];
	struct wbuf sample = {0}, *req = calloc(1, sizeof(*req));
	struct pf_budget budget;
	struct pf_budget_meter other;
	struct pf_error err;
	struct pf_batch *b;

	assert_non_null(req);
	for (size_t i = 0; i < 12000; i++)
		ones[i] = 1;
	w_varint(&sample, 1, 0);
	w_packed(&sample, 4, ones, 12000);
	w_request(req, &sample, NULL);

	/* At its own size limit it would need 16 times its size: refused. */
	b = pf_batch_new();
	pf_error_clear(&err);
	assert_int_equal(pf_otlp_decode(b, req->d, req->n, req->n, NULL, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "decoding the request needs more than"));
	assert_int_equal(pf_batch_n_profiles(b), 0);
	pf_batch_unref(b);

	/* Under the default limit it fits, and gives its charge back. */
	pf_budget_init(&budget, (size_t)1 << 20);
	b = pf_batch_new();
	assert_int_equal(pf_otlp_decode(b, req->d, req->n, 0, &budget, &err), 1);
	assert_int_equal(pf_budget_used(&budget), 0);
	pf_batch_unref(b);

	/* A budget smaller than what it needs can never take it: 413. */
	pf_budget_init(&budget, (size_t)64 << 10);
	b = pf_batch_new();
	pf_error_clear(&err);
	assert_int_equal(pf_otlp_decode(b, req->d, req->n, 0, &budget, &err), -EFBIG);
	assert_int_equal(pf_budget_used(&budget), 0);
	pf_batch_unref(b);

	/* A budget held by another decode: retry later (503). */
	pf_budget_init(&budget, (size_t)1 << 20);
	pf_budget_meter_init(&other, &budget, 0);
	assert_int_equal(pf_budget_charge(&other, ((size_t)1 << 20) - (32 << 10)), 0);
	b = pf_batch_new();
	pf_error_clear(&err);
	assert_int_equal(pf_otlp_decode(b, req->d, req->n, 0, &budget, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "retry"));
	assert_int_equal(pf_batch_n_profiles(b), 0);
	pf_budget_meter_release(&other);
	assert_int_equal(pf_budget_used(&budget), 0);
	assert_int_equal(pf_otlp_decode(b, req->d, req->n, 0, &budget, &err), 1);
	pf_batch_unref(b);
	free(req);
}

static void test_sample_wire_forms(void **state)
{
	struct wbuf s = {0}, r = {0};
	uint64_t vals[2] = {5, (uint64_t)-2};
	uint64_t ts1 = 1000, ts2 = 2000, ts3[1];
	w_varint(&s, 1, 1);
	w_varint(&s, 4, 3);	    /* an unpacked value */
	w_packed(&s, 4, vals, 2);   /* then packed ones: they append */
	w_varint(&s, 2, 1);	    /* an unpacked attribute index */
	w_varint(&s, 9, 77);	    /* an unknown field */
	w_bytes(&s, 10, "junk", 4); /* another */
	s.n += pf_pb_put_varint(s.d + s.n, 5 << 3 | PF_PB_FIXED64);
	memcpy(s.d + s.n, &ts1, 8); /* little-endian host */
	s.n += 8;
	uint8_t packed_ts[16];
	memcpy(packed_ts, &ts2, 8);
	ts3[0] = 3000;
	memcpy(packed_ts + 8, ts3, 8);
	w_bytes(&s, 5, packed_ts, 16);
	w_request(&r, &s, NULL);
	struct pf_batch *b = decode_ok(r.d, r.n, 1);
	size_t n;
	const struct pf_sample *smp = pf_batch_samples(b, 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(smp->values_len, 3);
	assert_int_equal(pf_batch_sample_values(b, smp)[0], 3);
	assert_int_equal(pf_batch_sample_values(b, smp)[2], -2);
	assert_int_equal(smp->timestamps_len, 3);
	assert_int_equal(pf_batch_sample_timestamps(b, smp)[0], 1000);
	assert_int_equal(pf_batch_sample_timestamps(b, smp)[2], 3000);
	size_t na;
	pf_batch_attr_set_get(b, smp->attrs, &na);
	assert_int_equal(na, 1);
	pf_batch_unref(b);

	/* A packed timestamp list whose length is not a multiple of 8. */
	struct wbuf bad = {0}, rb = {0};
	w_varint(&bad, 1, 1);
	w_bytes(&bad, 5, packed_ts, 12);
	w_request(&rb, &bad, NULL);
	expect_error(rb.d, rb.n, 0, -EINVAL, "profile 0 sample 0: malformed protobuf");
}

/* A request whose dictionary comes in two `dictionary` fields (which
 * concatenate): `more` is appended to the second; its one sample uses
 * stack 1. */
static void w_dict_request(struct wbuf *req, const struct wbuf *more)
{
	struct wbuf smp = {0}, prof = {0}, sp = {0}, rp = {0}, d1 = {0}, d2 = {0}, empty = {0};
	uint64_t one[1] = {1};

	w_varint(&smp, 1, 1);
	w_packed(&smp, 4, one, 1);
	w_msg(&prof, 2, &smp);
	w_msg(&sp, 2, &prof);
	w_msg(&rp, 2, &sp);
	w_msg(req, 1, &rp);
	w_msg(&d1, 1, &empty); /* mapping_table[0] */
	w_msg(&d1, 2, &empty); /* location_table[0] */
	w_msg(&d1, 3, &empty); /* function_table[0] */
	w_bytes(&d1, 5, "", 0);
	w_msg(&d1, 7, &empty); /* stack_table[0] */
	w_msg(req, 2, &d1);
	w_msg(&d2, 4, &empty); /* link_table[0] */
	w_msg(&d2, 6, &empty); /* attribute_table[0] */
	memcpy(d2.d + d2.n, more->d, more->n);
	d2.n += more->n;
	w_msg(req, 2, &d2);
}

/* The hot dictionary tables are read by hand: split dictionaries
 * concatenate, repeated scalars append packed or not, the last scalar wins,
 * unknown fields are skipped, strings end at a NUL; wire-type mismatches
 * and truncation are named as the schema walk names them. */
static void test_dictionary_wire_forms(void **state)
{
	struct wbuf more = {0}, fn = {0}, line1 = {0}, line2 = {0}, loc = {0}, st = {0}, r = {0};
	uint64_t locs[2] = {1, 1};

	w_bytes(&more, 5, "main\0junk", 9); /* string 1: "main" */
	w_bytes(&more, 5, "a.c", 3);	    /* string 2 */
	w_varint(&fn, 1, 2);		    /* name: overridden below */
	w_varint(&fn, 9, 5);		    /* unknown */
	w_varint(&fn, 1, 1);		    /* name: "main" */
	w_varint(&fn, 3, 2);		    /* filename */
	w_varint(&fn, 4, (uint64_t)-7);	    /* start_line */
	w_msg(&more, 3, &fn);
	w_varint(&line1, 1, 1);
	w_varint(&line1, 2, 42);
	w_varint(&line2, 1, 1);
	w_varint(&line2, 3, 3);
	w_varint(&loc, 2, 0x1234);
	w_msg(&loc, 3, &line1);
	w_bytes(&loc, 8, "x", 1); /* unknown */
	w_msg(&loc, 3, &line2);
	w_msg(&more, 2, &loc);
	w_varint(&st, 1, 1);	   /* unpacked */
	w_packed(&st, 1, locs, 2); /* then packed: they append */
	w_msg(&more, 7, &st);
	w_dict_request(&r, &more);
	struct pf_batch *b = decode_ok(r.d, r.n, 1);
	size_t n, nl;
	const struct pf_sample *smp = pf_batch_samples(b, 0, &n);
	const uint32_t *stack = pf_batch_stack_get(b, smp->stack, &n);
	assert_int_equal(n, 3);
	const struct pf_location *l = pf_batch_location_get(b, stack[2]);
	assert_int_equal(l->address, 0x1234);
	const struct pf_line *lines = pf_batch_location_lines(b, stack[0], &nl);
	assert_int_equal(nl, 2);
	assert_int_equal(lines[0].line, 42);
	assert_int_equal(lines[1].column, 3);
	const struct pf_function *f = pf_batch_function_get(b, lines[0].function);
	assert_string_equal(pf_batch_str(b, f->name), "main");
	assert_string_equal(pf_batch_str(b, f->filename), "a.c");
	assert_int_equal(f->start_line, -7);
	pf_batch_unref(b);

	/* The hand-read entries are checked like the rest: an index out of range. */
	struct wbuf bad_st = {0}, m1 = {0}, r1 = {0};
	w_varint(&bad_st, 1, 2);
	w_msg(&m1, 7, &bad_st);
	w_dict_request(&r1, &m1);
	expect_error(r1.d, r1.n, 0, -EINVAL, "stack_table[1].location_indices 2 out of range");

	/* Wire types that do not match the schema, and truncation. */
	struct wbuf bl = {0}, m2 = {0}, r2 = {0};
	w_bytes(&bl, 1, "", 0); /* mapping_index as bytes */
	w_msg(&m2, 2, &bl);
	w_dict_request(&r2, &m2);
	expect_error(r2.d, r2.n, 0, -EINVAL, "Location field 1 has wire type 2, expected 0");
	struct wbuf bline = {0}, bl3 = {0}, m3 = {0}, r3 = {0};
	bline.n += pf_pb_put_varint(bline.d, 2 << 3 | PF_PB_FIXED64);
	memset(bline.d + bline.n, 0, 8);
	bline.n += 8;
	w_msg(&bl3, 3, &bline);
	w_msg(&m3, 2, &bl3);
	w_dict_request(&r3, &m3);
	expect_error(r3.d, r3.n, 0, -EINVAL, "Line field 2 has wire type 1, expected 0");
	struct wbuf bf = {0}, m4 = {0}, r4 = {0};
	bf.n += pf_pb_put_varint(bf.d, 1 << 3 | PF_PB_VARINT);
	bf.d[bf.n++] = 0x80; /* a varint that never ends */
	w_msg(&m4, 3, &bf);
	w_dict_request(&r4, &m4);
	expect_error(r4.d, r4.n, 0, -EINVAL, "truncated or malformed protobuf in Function");
}

/* AnyValue arrays nested 100 deep are refused before protobuf-c recurses. */
static void test_depth_limit(void **state)
{
	struct wbuf *cur = calloc(1, sizeof(*cur)), *next = calloc(1, sizeof(*next));
	struct wbuf s = {0}, r = {0};
	uint64_t v[1] = {1};
	assert_non_null(cur);
	assert_non_null(next);
	w_varint(cur, 3, 1); /* innermost AnyValue{int_value} */
	for (int i = 0; i < 100; i++) {
		struct wbuf arr = {0};
		w_msg(&arr, 1, cur); /* ArrayValue{values} */
		memset(next, 0, sizeof(*next));
		w_msg(next, 5, &arr); /* AnyValue{array_value} */
		struct wbuf *t = cur;
		cur = next;
		next = t;
	}
	w_varint(&s, 1, 1);
	w_packed(&s, 4, v, 1);
	w_request(&r, &s, cur);
	expect_error(r.d, r.n, 0, -EINVAL, "nested deeper than 64");
	free(cur);
	free(next);
}

/* Attribute values the batch cannot hold are dropped, not fatal. */
static void test_unsupported_values_dropped(void **state)
{
	struct wbuf s = {0}, r = {0}, val = {0};
	uint64_t v[1] = {1}, a[1] = {1};
	w_bytes(&val, 7, "\x01\x02", 2); /* bytes_value */
	w_varint(&s, 1, 1);
	w_packed(&s, 2, a, 1);
	w_packed(&s, 4, v, 1);
	w_request(&r, &s, &val);
	struct pf_batch *b = decode_ok(r.d, r.n, 1);
	size_t n;
	const struct pf_sample *smp = pf_batch_samples(b, 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(smp[0].attrs, 0);
	pf_batch_unref(b);
}

/* ---- JSON ---- */

static const char json_request[] =
	"{\"resourceProfiles\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
	"\"value\":{\"stringValue\":\"app\"}}]},\"someFutureField\":{\"x\":[1,2,{\"y\":null}]},"
	"\"scopeProfiles\":[{\"scope\":{\"name\":\"agent\"},\"profiles\":[{"
	"\"sampleType\":{\"typeStrindex\":1,\"unitStrindex\":2},"
	"\"timeUnixNano\":\"1700000000000000000\",\"durationNano\":1000,\"period\":\"10\","
	"\"profileId\":\"0102030405060708090A0B0C0D0E0F10\","
	"\"samples\":[{\"stackIndex\":1,\"values\":[\"9007199254740993\",2],"
	"\"timestampsUnixNano\":[\"1700000000000000001\",1700000000000000002],"
	"\"linkIndex\":1,\"attributeIndices\":[1]}]}]}]}],"
	"\"dictionary\":{\"stringTable\":[\"\",\"cpu\",\"nanoseconds\",\"main\",\"k\"],"
	"\"mappingTable\":[{}],\"locationTable\":[{},{\"address\":\"4096\","
	"\"lines\":[{\"functionIndex\":1,\"line\":\"12\"}]}],"
	"\"functionTable\":[{},{\"nameStrindex\":3}],"
	"\"linkTable\":[{\"traceId\":\"\",\"spanId\":\"\"},"
	"{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"1112131415161718\"}],"
	"\"attributeTable\":[{},{\"keyStrindex\":4,\"value\":{\"bytesValue\":\"AQI=\"}}],"
	"\"stackTable\":[{},{\"locationIndices\":[1]}]}}";

static void test_json_request(void **state)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_error err;
	pf_error_clear(&err);
	int rc = pf_otlp_decode_json(b, json_request, strlen(json_request), 0, NULL, &err);
	if (rc != 1)
		fail_msg("decode_json %d: %s", rc, err.msg);
	const struct pf_profile_desc *d = pf_batch_profile_get(b, 0);
	assert_int_equal(d->time_unix_nano, 1700000000000000000ull);
	assert_int_equal(d->duration_nano, 1000);
	assert_int_equal(d->period, 10);
	assert_int_equal(d->profile_id[0], 1);
	assert_int_equal(d->profile_id[10], 0x0b);
	assert_string_equal(pf_batch_str(b, d->sample_type.type), "cpu");
	assert_string_equal(pf_batch_str(b, pf_batch_scope_get(b, d->scope)->name), "agent");
	size_t n;
	const struct pf_sample *s = pf_batch_samples(b, 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(pf_batch_sample_values(b, s)[0], 9007199254740993ll);
	assert_int_equal(pf_batch_sample_values(b, s)[1], 2);
	assert_int_equal(pf_batch_sample_timestamps(b, s)[1], 1700000000000000002ull);
	assert_int_equal(pf_batch_link_get(b, s->link)->span_id[7], 0x18);
	size_t nl;
	const uint32_t *locs = pf_batch_stack_get(b, s->stack, &nl);
	assert_int_equal(nl, 1);
	assert_int_equal(pf_batch_location_get(b, locs[0])->address, 4096);
	const struct pf_line *line = pf_batch_location_lines(b, locs[0], &nl);
	assert_int_equal(line->line, 12);
	assert_string_equal(pf_batch_str(b, pf_batch_function_get(b, line->function)->name),
			    "main");
	/* The bytes-valued attribute cannot be held and was dropped. */
	assert_int_equal(s->attrs, 0);
	pf_batch_unref(b);
}

static void test_json_errors(void **state)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{"{\"resourceProfiles\":[", "JSON parse error"},
		{"[]", "expected an object"},
		{"{} x", "trailing data"},
		{"{\"dictionary\":{\"linkTable\":[{\"traceId\":\"zz\"}]}}",
		 "expected a hex string"},
		{"{\"dictionary\":{\"linkTable\":[{\"traceId\":\"abc\"}]}}",
		 "expected a hex string"},
		{"{\"dictionary\":{\"stackTable\":[{\"locationIndices\":[\"1x\"]}]}}",
		 "expected a 32-bit integer"},
		{"{\"dictionary\":{\"stackTable\":[{\"locationIndices\":[4294967296]}]}}",
		 "expected a 32-bit integer"},
		{"{\"dictionary\":{\"stringTable\":\"x\"}}", "expected an array"},
		{"{\"resourceProfiles\":[{\"scopeProfiles\":[{\"profiles\":[{\"timeUnixNano\":\"-"
		 "1\"}]}]}]}",
		 "expected an unsigned 64-bit integer"},
		{"{\"resourceProfiles\":[{\"scopeProfiles\":[{\"profiles\":[{\"samples\":[{"
		 "\"values\":[1]}]}]}]}]}",
		 "no dictionary"},
		/* Invalid UTF-8 and unpaired surrogates were accepted (issue 10, defect 4). */
		{"{\"dictionary\":{\"stringTable\":[\"\",\"ab\xff\"]}}",
		 "JSON $.dictionary.string_table[1]: invalid UTF-8 at byte 2"},
		{"{\"dictionary\":{\"stringTable\":[\"\",\"x\\ud800\"]}}",
		 "JSON $.dictionary.string_table[1]: invalid UTF-8 at byte 1 (an unpaired "
		 "surrogate \\ud800)"},
		{"{\"dictionary\":{\"stringTable\":[\"\\udc00\"]}}", "unpaired surrogate"},
		{"{\"dictionary\":{\"stringTable\":[\"\\ud83d\\u0041\"]}}", "unpaired surrogate"},
		{"{\"resourceProfiles\":[{\"resource\":{\"attributes\":[{\"key\":\"k\",\"value\":{"
		 "\"stringValue\":\"\xc0\xaf\"}}]}}]}",
		 "JSON $.resource_profiles[0].resource.attributes[0].value.string_value: invalid "
		 "UTF-8 "
		 "at byte 0"},
		{"{\"resourceProfiles\":[{\"scopeProfiles\":[{\"scope\":{\"name\":\"\xed\xa0\x80\"}"
		 "}]}]}",
		 "scope_profiles[0].scope.name: invalid UTF-8"},
		{"{\"x\":\"\xf8\"}", "invalid UTF-8"}, /* also in skipped members */
		{"{\"dictionary\":{\"stringTable\":[\"a\nb\"]}}", "control character"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_batch *b = pf_batch_new();
		struct pf_error err;
		pf_error_clear(&err);
		int rc =
			pf_otlp_decode_json(b, cases[i].json, strlen(cases[i].json), 0, NULL, &err);
		if (rc != -EINVAL || !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: rc %d '%s', want '%s'", i, rc, err.msg, cases[i].msg);
		pf_batch_unref(b);
	}
	/* Nesting beyond the limit. */
	char deep[400] = "{\"x\":";
	for (int i = 0; i < 100; i++)
		strcat(deep, "[");
	struct pf_batch *b = pf_batch_new();
	struct pf_error err;
	pf_error_clear(&err);
	assert_int_equal(pf_otlp_decode_json(b, deep, strlen(deep), 0, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "JSON parse error"));
	assert_int_equal(pf_otlp_decode_json(b, "{}", 2, 1, NULL, &err), -EFBIG);
	assert_int_equal(pf_otlp_decode_json(b, "{}", 2, 0, NULL, NULL), 0);
	pf_batch_unref(b);
}

/* Escapes decode to UTF-8 (a surrogate pair to one 4-byte character); a
 * JSON request of one long values array is read without a node per number
 * and its decoding memory is bounded like protobuf's (60 MB of `1,` took
 * 2.4 GB in a document tree). */
static void test_json_strings_and_memory(void **state)
{
	const char *head = "{\"resourceProfiles\":[{\"scopeProfiles\":[{\"profiles\":[{"
			   "\"samples\":[{\"values\":[";
	const char *tail = "1]}]}]}]}],\"dictionary\":{\"stringTable\":[\"\",\"\\ud83d\\ude00"
			   "\\u00e9\\n\"],\"mappingTable\":[{}],\"locationTable\":[{}],"
			   "\"functionTable\":[{}],\"linkTable\":[{}],\"attributeTable\":[{}],"
			   "\"stackTable\":[{}]}}";
	size_t ones = 100000, n = strlen(head) + 2 * ones + strlen(tail);
	char *json = malloc(n + 1), *p = json;
	struct pf_budget budget;
	struct pf_error err;
	struct pf_batch *b;

	assert_non_null(json);
	p += sprintf(p, "%s", head);
	for (size_t i = 0; i < ones; i++)
		p += sprintf(p, "1,");
	strcpy(p, tail);
	n = strlen(json);

	b = pf_batch_new();
	pf_error_clear(&err);
	assert_int_equal(pf_otlp_decode_json(b, json, n, 0, NULL, &err), 1);
	assert_int_equal(pf_batch_n_strings(b), 2);
	assert_string_equal(pf_batch_str(b, 1), "\xf0\x9f\x98\x80\xc3\xa9\n");
	size_t ns;
	const struct pf_sample *s = pf_batch_samples(b, 0, &ns);
	assert_int_equal(s[0].values_len, ones + 1);
	pf_batch_unref(b);

	/* 2 bytes of text per value, 16 bytes decoded: beyond 8x its limit. */
	b = pf_batch_new();
	pf_error_clear(&err);
	assert_int_equal(pf_otlp_decode_json(b, json, n, n, NULL, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "decoding the request needs more than"));
	pf_batch_unref(b);

	/* Scratch space is given back: nothing stays charged. */
	pf_budget_init(&budget, (size_t)64 << 20);
	b = pf_batch_new();
	assert_int_equal(pf_otlp_decode_json(b, json, n, 0, &budget, &err), 1);
	assert_int_equal(pf_budget_used(&budget), 0);
	pf_batch_unref(b);
	free(json);
}

/* ---- pprof -> batch -> OTLP -> batch -> pprof keeps every stack's totals ---- */

static uint8_t *read_data(const char *name, size_t *size)
{
	const char *dir = getenv("PF_TEST_DATA");
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", name);
	return read_all(path, size);
}

/* "type/unit frame;frame;... total" lines, sorted, summed per stack. */
static char *stack_totals(const struct pf_batch *b)
{
	struct text lines = {0};
	size_t cap = pf_batch_sample_count(b) + 1, n = 0;
	char **rows = calloc(cap, sizeof(*rows));
	assert_non_null(rows);
	for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
		size_t ns;
		const struct pf_sample *s = pf_batch_samples(b, p, &ns);
		for (size_t i = 0; i < ns; i++) {
			struct text t = {0};
			size_t nl;
			const uint32_t *locs = pf_batch_stack_get(b, s[i].stack, &nl);
			tprintf(&t, "%s/%s ", pf_batch_str(b, d->sample_type.type),
				pf_batch_str(b, d->sample_type.unit));
			for (size_t k = 0; k < nl; k++) {
				size_t nn;
				const struct pf_line *ln = pf_batch_location_lines(b, locs[k], &nn);
				tprintf(&t, "%#" PRIx64,
					pf_batch_location_get(b, locs[k])->address);
				for (size_t j = 0; j < nn; j++)
					tprintf(&t, ":%s",
						pf_batch_str(
							b, pf_batch_function_get(b, ln[j].function)
								   ->name));
				tprintf(&t, ";");
			}
			tprintf(&t, " %" PRId64, pf_batch_sample_total(b, &s[i]));
			rows[n++] = t.buf;
		}
	}
	qsort(rows, n, sizeof(*rows), cmp_strp);
	/* Sum equal stacks. */
	for (size_t i = 0; i < n;) {
		char *sp = strrchr(rows[i], ' ');
		*sp = '\0';
		/* Unsigned: totals may wrap (INT64_MAX values), equally on both sides. */
		unsigned long long total = (unsigned long long)atoll(sp + 1);
		size_t j = i + 1;
		for (; j < n; j++) {
			char *sq = strrchr(rows[j], ' ');
			if ((size_t)(sq - rows[j]) != strlen(rows[i]) ||
			    strncmp(rows[i], rows[j], (size_t)(sq - rows[j])))
				break;
			total += (unsigned long long)atoll(sq + 1);
		}
		tprintf(&lines, "%s %llu\n", rows[i], total);
		for (size_t k = i; k < j; k++)
			free(rows[k]);
		i = j;
	}
	free(rows);
	return lines.buf ? lines.buf : strdup("");
}

static void test_pprof_totals(void **state)
{
	size_t n, n_otlp, n_pprof;
	struct pf_error err;
	uint8_t *in = read_data("pprof/go_cpu.pb.gz", &n);
	struct pf_batch *b1 = pf_batch_new();
	pf_error_clear(&err);
	assert_int_equal(pf_pprof_decode(b1, NULL, in, n, 0, &err), 2);
	uint8_t *otlp = encode_all(b1, &n_otlp);
	struct pf_batch *b2 = decode_ok(otlp, n_otlp, 2);
	uint32_t *group_of = calloc(3, sizeof(*group_of)), list[2] = {0, 1};
	assert_int_equal(pf_pprof_groups(b2, group_of), 1);
	uint8_t *pprof = NULL;
	assert_int_equal(pf_pprof_encode(b2, list, 2, true, &pprof, &n_pprof), 0);
	struct pf_batch *b3 = pf_batch_new();
	assert_int_equal(pf_pprof_decode(b3, NULL, pprof, n_pprof, 0, &err), 2);
	char *t1 = stack_totals(b1), *t3 = stack_totals(b3);
	assert_true(strlen(t1) > 100);
	assert_string_equal(t1, t3);
	free(t1);
	free(t3);
	free(group_of);
	free(pprof);
	free(otlp);
	free(in);
	pf_batch_unref(b1);
	pf_batch_unref(b2);
	pf_batch_unref(b3);
}

/* ---- E6: merged batches encode without duplicates; only used entries ---- */

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_merge_no_duplicates(void **state)
{
	struct pf_batch *a = rich_batch(), *b = rich_batch();
	size_t n_before = pf_batch_sample_count(a);
	assert_int_equal(pf_batch_merge(a, b), 0);
	size_t n;
	uint8_t *pb = encode_all(a, &n);
	char *text = pb_to_text(pb, n);
	assert_int_equal(count(text, "string_table: \"main\"\n"), 1);
	assert_int_equal(count(text, "string_table: \"\"\n"), 1);
	assert_int_equal(count(text, "    name_strindex:"), 3); /* main, inl, work */
	struct pf_batch *c = decode_ok(pb, n, 10);
	assert_int_equal(pf_batch_sample_count(c), 2 * n_before);
	char *t1 = stack_totals(a), *t2 = stack_totals(c);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	free(text);
	free(pb);
	pf_batch_unref(a);
	pf_batch_unref(b);
	pf_batch_unref(c);
}

static void test_subset_uses_only_its_entries(void **state)
{
	struct pf_batch *b = rich_batch();
	uint32_t third = 2; /* alloc_space, resource 2, no sample attributes */
	uint8_t *pb = NULL;
	size_t n;
	assert_int_equal(pf_otlp_encode(b, &third, 1, &pb, &n), 0);
	char *text = pb_to_text(pb, n);
	assert_null(strstr(text, "thread.name"));
	assert_null(strstr(text, "\"tags\""));
	assert_non_null(strstr(text, "string_table: \"alloc_space\""));
	assert_int_equal(
		count(text, "  resource_profiles {") + count(text, "resource_profiles {\n"), 1);
	struct pf_batch *c = decode_ok(pb, n, 1);
	assert_int_equal(pf_batch_sample_count(c), 1);
	uint32_t bad = 99;
	uint8_t *out = NULL;
	assert_int_equal(pf_otlp_encode(b, &bad, 1, &out, &n), -EINVAL);
	free(text);
	free(pb);
	pf_batch_unref(c);
	pf_batch_unref(b);
}

/* Profiles are grouped by resource, then scope, whatever their order. */
static void test_grouping(void **state)
{
	struct pf_batch *b = rich_batch();
	size_t n;
	uint8_t *pb = encode_all(b, &n);
	char *text = pb_to_text(pb, n);
	/* Two resources; resource 2 has two scopes. */
	assert_int_equal(count(text, "\n  scope_profiles {"), 3);
	assert_int_equal(count(text, "resource_profiles {"), 2);
	free(text);
	free(pb);
	pf_batch_unref(b);
}

/* ---- E7: size-bounded parts ---- */

struct collected {
	struct pf_batch *into;
	size_t max, parts, samples, oversize;
};

static int collect(void *ctx, uint8_t *bytes, size_t size, size_t samples)
{
	struct collected *c = ctx;
	if (size > c->max)
		c->oversize++;
	c->parts++;
	c->samples += samples;
	struct pf_error err;
	pf_error_clear(&err);
	if (pf_otlp_decode(c->into, bytes, size, 0, NULL, &err) < 0)
		fail_msg("part does not decode: %s", err.msg);
	free(bytes);
	return 0;
}

static void test_parts(void **state)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_profile_desc d = {
		.sample_type = {pf_batch_cstring(b, "cpu"), pf_batch_cstring(b, "nanoseconds")}};
	uint32_t p[2] = {pf_batch_add_profile(b, &d), pf_batch_add_profile(b, &d)};
	for (int i = 0; i < 1000; i++) {
		char name[32];
		snprintf(name, sizeof(name), "fn_%d", i);
		struct pf_line line = {func(b, name, "file.c", i), i, 0};
		struct pf_location loc = {.address = (uint64_t)i};
		uint32_t l = pf_batch_location(b, &loc, &line, 1);
		int64_t v = i + 1;
		assert_int_equal(pf_batch_add_sample(b, p[i % 2], pf_batch_stack(b, &l, 1), 0, 0,
						     &v, 1, NULL, 0),
				 0);
	}
	size_t whole;
	uint8_t *all = encode_all(b, &whole);
	assert_true(pf_otlp_estimate_size(b) >= whole);
	free(all);

	struct collected c = {.into = pf_batch_new(), .max = 4096};
	int rc = pf_otlp_encode_parts(b, c.max, collect, &c);
	assert_true(rc > 2);
	assert_int_equal((size_t)rc, c.parts);
	assert_int_equal(c.oversize, 0);
	assert_int_equal(c.samples, 1000);
	assert_int_equal(pf_batch_sample_count(c.into), 1000);
	char *t1 = stack_totals(b), *t2 = stack_totals(c.into);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	pf_batch_unref(c.into);

	/* Everything fits: one part. */
	struct collected one = {.into = pf_batch_new(), .max = 1 << 20};
	assert_int_equal(pf_otlp_encode_parts(b, one.max, collect, &one), 1);
	pf_batch_unref(one.into);

	/* A sample larger than the limit is sent alone, not dropped. */
	struct collected tiny = {.into = pf_batch_new(), .max = 10};
	assert_int_equal(pf_otlp_encode_parts(b, tiny.max, collect, &tiny), 1000);
	assert_int_equal(tiny.samples, 1000);
	pf_batch_unref(tiny.into);

	struct pf_batch *empty = pf_batch_new();
	struct collected none = {.into = pf_batch_new(), .max = 10};
	assert_int_equal(pf_otlp_encode_parts(empty, 0, collect, &none), 0);
	pf_batch_unref(none.into);
	pf_batch_unref(empty);
	pf_batch_unref(b);
}

/* ---- responses and statuses ---- */

static void test_response(void **state)
{
	uint8_t *out = NULL;
	size_t n;
	int64_t rejected;
	char msg[64];
	struct pf_error err;

	assert_int_equal(pf_otlp_encode_response(0, NULL, false, &out, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(pf_otlp_decode_response(out, n, false, &rejected, msg, sizeof(msg), &err),
			 0);
	free(out);
	assert_int_equal(pf_otlp_encode_response(3, "3 profiles had no samples", false, &out, &n),
			 0);
	assert_int_equal(pf_otlp_decode_response(out, n, false, &rejected, msg, sizeof(msg), &err),
			 1);
	assert_int_equal(rejected, 3);
	assert_string_equal(msg, "3 profiles had no samples");
	free(out);
	/* A warning: nothing rejected, a message. */
	assert_int_equal(pf_otlp_encode_response(0, "slow down", true, &out, &n), 0);
	assert_string_equal((char *)out, "{\"partialSuccess\":{\"errorMessage\":\"slow down\"}}");
	assert_int_equal(pf_otlp_decode_response(out, n, true, &rejected, msg, 4, &err), 1);
	assert_int_equal(rejected, 0);
	assert_string_equal(msg, "slo");
	free(out);
	assert_int_equal(pf_otlp_encode_response(7, "x", true, &out, &n), 0);
	assert_string_equal(
		(char *)out,
		"{\"partialSuccess\":{\"rejectedProfiles\":\"7\",\"errorMessage\":\"x\"}}");
	free(out);
	assert_int_equal(pf_otlp_encode_response(0, NULL, true, &out, &n), 0);
	assert_string_equal((char *)out, "{}");
	free(out);
	pf_error_clear(&err);
	assert_int_equal(pf_otlp_decode_response("\x0a\x05\x08", 3, false, &rejected, msg,
						 sizeof(msg), &err),
			 -EINVAL);
}

static void test_status(void **state)
{
	uint8_t *out = NULL;
	size_t n;
	int code;
	int64_t delay;
	char msg[64];

	assert_int_equal(pf_otlp_encode_status(14, "pipeline busy", 1500, false, &out, &n), 0);
	assert_int_equal(pf_otlp_decode_status(out, n, &code, msg, sizeof(msg), &delay), 0);
	assert_int_equal(code, 14);
	assert_string_equal(msg, "pipeline busy");
	assert_int_equal(delay, 1500);
	free(out);
	assert_int_equal(pf_otlp_encode_status(3, "bad index", 0, false, &out, &n), 0);
	assert_int_equal(pf_otlp_decode_status(out, n, &code, msg, sizeof(msg), &delay), 0);
	assert_int_equal(code, 3);
	assert_int_equal(delay, -1);
	free(out);
	assert_int_equal(pf_otlp_encode_status(8, "full", 2000, true, &out, &n), 0);
	assert_string_equal(
		(char *)out,
		"{\"code\":8,\"message\":\"full\",\"details\":[{\"@type\":"
		"\"type.googleapis.com\\/google.rpc.RetryInfo\",\"retryDelay\":\"2.000s\"}]}");
	free(out);
	/* A plain-text body is not a Status. */
	assert_int_equal(pf_otlp_decode_status("<html>", 6, &code, msg, sizeof(msg), &delay),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_json),
		cmocka_unit_test(test_golden_protoc_decode),
		cmocka_unit_test(test_decode_protoc_request),
		cmocka_unit_test(test_validation_errors),
		cmocka_unit_test(test_zero_attribute_entry_dropped),
		cmocka_unit_test(test_utf8_check),
		cmocka_unit_test(test_invalid_utf8_refused),
		cmocka_unit_test(test_old_layout_rejected),
		cmocka_unit_test(test_wire_errors),
		cmocka_unit_test(test_sample_wire_forms),
		cmocka_unit_test(test_decoding_memory_bounded),
		cmocka_unit_test(test_dictionary_wire_forms),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_unsupported_values_dropped),
		cmocka_unit_test(test_json_request),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_json_strings_and_memory),
		cmocka_unit_test(test_pprof_totals),
		cmocka_unit_test(test_merge_no_duplicates),
		cmocka_unit_test(test_subset_uses_only_its_entries),
		cmocka_unit_test(test_grouping),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
