/* SPDX-License-Identifier: Apache-2.0 */
/* The JFR decoder: a JDK 17 recording against the JDK's own counts, synthetic chunks, broken input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/batch.h"
#include "model/semconv.h"
#include "receivers/jfr/decode.h"

/* ---- helpers ---- */

static uint8_t *read_fixture(const char *name, size_t *size)
{
	const char *dir = getenv("PF_TEST_DATA");
	char path[4096];
	snprintf(path, sizeof(path), "%s/jfr/%s", dir ? dir : "tests/data", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc((size_t)n * 2 + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return buf;
}

static uint32_t find_profile(const struct pf_batch *b, const char *type)
{
	for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
		if (strcmp(pf_batch_str(b, d->sample_type.type), type) == 0)
			return p;
	}
	fail_msg("no %s profile", type);
	return 0;
}

static int64_t profile_total(const struct pf_batch *b, uint32_t p)
{
	size_t n;
	const struct pf_sample *s = pf_batch_samples(b, p, &n);
	int64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += pf_batch_sample_total(b, &s[i]);
	return sum;
}

/* The sum of profile p's samples whose leaf function is `name`. */
static int64_t leaf_total(const struct pf_batch *b, uint32_t p, const char *name)
{
	size_t n, n_locs, n_lines;
	const struct pf_sample *s = pf_batch_samples(b, p, &n);
	int64_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		const uint32_t *locs = pf_batch_stack_get(b, s[i].stack, &n_locs);
		if (!n_locs)
			continue;
		const struct pf_line *l = pf_batch_location_lines(b, locs[0], &n_lines);
		assert_int_equal(n_lines, 1);
		const struct pf_function *f = pf_batch_function_get(b, l->function);
		if (strcmp(pf_batch_str(b, f->name), name) == 0)
			sum += pf_batch_sample_total(b, &s[i]);
	}
	return sum;
}

static const char *resource_str(const struct pf_batch *b, const char *key)
{
	const struct pf_profile_desc *d = pf_batch_profile_get(b, 0);
	const struct pf_resource *r = pf_batch_resource_get(b, d->resource);
	const struct pf_value *v = pf_batch_attr_lookup(b, r->attrs, key);
	return v && v->kind == PF_VALUE_STRING ? pf_batch_str(b, v->u.str) : NULL;
}

/* ---- a real recording ---- */

/*
 * tests/data/jfr/workload.jfr: tests/it/jvm/Workload.java run for 1 s by
 * OpenJDK 17.0.15 with tests/it/jvm/proflow.jfc. The expected numbers are the
 * JDK's: `python3 tests/it/jfr_compare.py truth workload.jfr` (jfr print
 * --json) and `jfr summary` for wall (jdk.NativeMethodSample).
 */
static void test_recording_matches_jdk(void **state)
{
	size_t size;
	uint8_t *data = read_fixture("workload.jfr", &size);
	struct pf_batch *b = pf_batch_new();
	struct pf_jfr_stats st;
	struct pf_error err = {0};
	(void)state;

	assert_int_equal(pf_jfr_decode(b, data, size, NULL, 0, &st, &err), 10);
	assert_int_equal(st.chunks, 1);
	assert_int_equal(st.by_kind[PF_JFR_CPU], 23);
	assert_int_equal(st.by_kind[PF_JFR_WALL], 45);
	assert_int_equal(st.by_kind[PF_JFR_ALLOC], 984);
	assert_int_equal(st.totals[PF_JFR_ALLOC][1], 490680200);
	assert_int_equal(st.by_kind[PF_JFR_LOCK], 130);
	assert_int_equal(st.totals[PF_JFR_LOCK][1], 1829568059);
	assert_int_equal(st.by_kind[PF_JFR_GC], 4);
	assert_int_equal(st.totals[PF_JFR_GC][1], 32049811);

	uint32_t samples = find_profile(b, "samples"), cpu = find_profile(b, "cpu");
	assert_int_equal(profile_total(b, samples), 23);
	assert_int_equal(profile_total(b, cpu),
			 23 * 10000000LL); /* period 10 ms, from ActiveSetting */
	assert_int_equal(pf_batch_profile_get(b, cpu)->period, 10000000);
	assert_int_equal(leaf_total(b, samples, "Workload.spinPrimes"), 21);
	assert_int_equal(leaf_total(b, samples, "Workload.allocate"), 1);
	assert_int_equal(leaf_total(b, samples, "java.util.ArrayList.grow"), 1);
	assert_int_equal(profile_total(b, find_profile(b, "alloc_space")), 490680200);
	assert_int_equal(profile_total(b, find_profile(b, "lock")), 1829568059);
	assert_int_equal(profile_total(b, find_profile(b, "gc_pause")), 32049811);

	assert_string_equal(resource_str(b, PF_ATTR_SERVICE_NAME), "Workload");
	assert_string_equal(resource_str(b, "process.runtime.version"),
			    "17.0.15+6-Debian-1deb12u1");
	assert_string_equal(resource_str(b, "process.runtime.name"), "OpenJDK 64-Bit Server VM");

	/* Every location: profile.frame.type = jvm, and the JFR frame type. */
	for (uint32_t i = 1; i < pf_batch_n_locations(b); i++) {
		const struct pf_location *l = pf_batch_location_get(b, i);
		const struct pf_value *v = pf_batch_attr_lookup(b, l->attrs, PF_ATTR_FRAME_TYPE);
		assert_non_null(v);
		assert_string_equal(pf_batch_str(b, v->u.str), PF_FRAME_JVM);
	}
	/* Allocations name their class. */
	size_t n;
	const struct pf_sample *s = pf_batch_samples(b, find_profile(b, "alloc_space"), &n);
	bool byte_array = false;
	for (size_t i = 0; i < n; i++) {
		const struct pf_value *v = pf_batch_attr_lookup(b, s[i].attrs, "jvm.alloc.class");
		assert_non_null(v);
		byte_array |= strcmp(pf_batch_str(b, v->u.str), "byte[]") == 0;
	}
	assert_true(byte_array);
	pf_batch_unref(b);

	/* With a service name given, it wins over the main class. */
	b = pf_batch_new();
	assert_int_equal(pf_jfr_decode(b, data, size, "shop", 0, NULL, &err), 10);
	assert_string_equal(resource_str(b, PF_ATTR_SERVICE_NAME), "shop");
	pf_batch_unref(b);
	free(data);
}

/* Two chunks in one file (what a JVM writes when it rotates): both count. */
static void test_two_chunks(void **state)
{
	size_t size;
	uint8_t *data = read_fixture("workload.jfr", &size);
	struct pf_batch *b = pf_batch_new();
	struct pf_jfr_stats st;
	struct pf_error err = {0};
	(void)state;

	memcpy(data + size, data, size);
	assert_int_equal(pf_jfr_decode(b, data, size * 2, NULL, 0, &st, &err), 10);
	assert_int_equal(st.chunks, 2);
	assert_int_equal(st.by_kind[PF_JFR_CPU], 46);
	assert_int_equal(profile_total(b, find_profile(b, "samples")), 46);
	assert_int_equal(st.totals[PF_JFR_ALLOC][1], 2 * 490680200LL);
	pf_batch_unref(b);
	free(data);
}

/* ---- broken input: an error with an offset, never a crash ---- */

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void expect_offset_error(const uint8_t *data, size_t size, size_t max_offset)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_error err = {0};
	int rc = pf_jfr_decode(b, data, size, NULL, 0, NULL, &err);
	if (rc != -EINVAL)
		fail_msg("size %zu: got %d, want -EINVAL", size, rc);
	assert_true(pf_error_isset(&err));
	unsigned long long off;
	assert_int_equal(sscanf(err.where, "offset %llu", &off), 1);
	assert_true(off <= max_offset);
	pf_batch_unref(b);
}

static void test_truncated(void **state)
{
	size_t size;
	uint8_t *data = read_fixture("workload.jfr", &size);
	uint8_t *copy = malloc(size);
	(void)state;

	assert_non_null(copy);
	/* Cut anywhere: the header's size no longer fits. */
	for (size_t cut = 0; cut < size; cut += (cut < 256 ? 1 : 211))
		expect_offset_error(data, cut, size);
	/* Cut, and the header made to agree: the walk runs into the cut. */
	for (size_t cut = 100; cut < size; cut += 997) {
		memcpy(copy, data, cut);
		put_be64(copy + 8, cut);
		struct pf_batch *b = pf_batch_new();
		struct pf_error err = {0};
		int rc = pf_jfr_decode(b, copy, cut, NULL, 0, NULL, &err);
		assert_true(rc == -EINVAL || rc >= 0); /* the cut may fall between events */
		if (rc == -EINVAL)
			assert_memory_equal(err.where, "offset ", 7);
		pf_batch_unref(b);
	}
	/* Not JFR at all, an unsupported version, a chunk still being written. */
	expect_offset_error(
		(const uint8_t *)"this is not a recording at all, but it is long enough "
				 "to hold a header of sixty-eight bytes",
		90, 0);
	memcpy(copy, data, size);
	copy[5] = 1; /* major 1 (JDK 8) */
	copy[4] = 0;
	expect_offset_error(copy, size, 8);
	memcpy(copy, data, size);
	copy[64] = 1; /* file state: in progress */
	expect_offset_error(copy, size, 0);
	free(copy);
	free(data);
}

/* Flipped bytes everywhere past the header: any outcome but a crash (ASan). */
static void test_corrupt_bytes(void **state)
{
	size_t size;
	uint8_t *data = read_fixture("workload.jfr", &size);
	uint8_t *copy = malloc(size);
	unsigned seed = 12345;
	int errors = 0;
	(void)state;

	assert_non_null(copy);
	for (int round = 0; round < 300; round++) {
		memcpy(copy, data, size);
		for (int k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = PF_JFR_HEADER_SIZE + (seed >> 8) % (size - PF_JFR_HEADER_SIZE);
			copy[at] ^= (uint8_t)(1u << (seed % 8));
		}
		struct pf_batch *b = pf_batch_new();
		struct pf_error err = {0};
		int rc = pf_jfr_decode(b, copy, size, NULL, 0, NULL, &err);
		if (rc < 0) {
			assert_int_equal(rc, -EINVAL);
			assert_memory_equal(err.where, "offset ", 7);
			errors++;
		}
		pf_batch_unref(b);
	}
	assert_true(errors > 0);
	free(copy);
	free(data);
}

/* ---- a synthetic chunk: layouts come from the metadata, strings in every encoding ---- */

struct out {
	uint8_t buf[8192];
	size_t n;
};

static void o_u8(struct out *o, uint8_t v)
{
	assert_true(o->n < sizeof(o->buf));
	o->buf[o->n++] = v;
}

static void o_var(struct out *o, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		if (v < 0x80) {
			o_u8(o, (uint8_t)v);
			return;
		}
		o_u8(o, (uint8_t)(v | 0x80));
		v >>= 7;
	}
	o_u8(o, (uint8_t)v);
}

static void o_bytes(struct out *o, const void *p, size_t n)
{
	assert_true(o->n + n <= sizeof(o->buf));
	memcpy(o->buf + o->n, p, n);
	o->n += n;
}

static void o_utf8(struct out *o, const char *s)
{
	o_u8(o, 3);
	o_var(o, strlen(s));
	o_bytes(o, s, strlen(s));
}

/* Appends body as an event: its size (itself included) first. */
static void o_event(struct out *o, const struct out *body)
{
	size_t n = 1;
	while ((body->n + n) >> (7 * n))
		n++;
	o_var(o, body->n + n);
	o_bytes(o, body->buf, body->n);
}

/* Metadata strings, by index. */
static const char *const meta_strings[] = {
	"root",
	"metadata",
	"region",
	"class",
	"field",
	"name",
	"id",
	"class",
	"constantPool",
	"true",
	"dimension",
	"1",
	/* 12.. type names and ids */
	"long",
	"20",
	"int",
	"21",
	"java.lang.String",
	"22",
	"boolean",
	"23",
	"jdk.types.Symbol",
	"30",
	"java.lang.Class",
	"31",
	"jdk.types.Method",
	"32",
	"jdk.types.FrameType",
	"33",
	"jdk.types.StackFrame",
	"34",
	"jdk.types.StackTrace",
	"35",
	"java.lang.Thread",
	"36",
	"jdk.ExecutionSample",
	"40",
	"my.Unknown",
	"41",
	/* 40.. field names */
	"string",
	"extra",
	"type",
	"descriptor",
	"description",
	"method",
	"lineNumber",
	"frames",
	"truncated",
	"javaName",
	"javaThreadId",
	"startTime",
	"sampledThread",
	"stackTrace",
	"payload",
	/* async-profiler's event types and jdk.ActiveSetting */
	"profiler.WallClockSample",
	"42",
	"jdk.ActiveSetting",
	"43",
	"profiler.Malloc",
	"44",
	"state",
	"samples",
	"value",
	"eventThread",
	"address",
	"size",
	"profiler.LiveObject",
	"45",
	"objectClass",
	"allocationSize",
	"allocationTime",
	"jdk.ActiveRecording",
	"46",
};

static int sidx(const char *s, int from)
{
	for (int i = from; i < (int)(sizeof(meta_strings) / sizeof(meta_strings[0])); i++)
		if (strcmp(meta_strings[i], s) == 0)
			return i;
	fail_msg("no string %s", s);
	return -1;
}

/* A field element: name, class id (as its string index) and flags. */
static void o_field(struct out *o, const char *name, const char *type_id, bool cpool, bool array)
{
	o_var(o, sidx("field", 0));
	o_var(o, 2 + cpool + array);
	o_var(o, sidx("name", 0));
	o_var(o, sidx(name, 0));
	o_var(o, 7); /* "class" as an attribute key */
	o_var(o, sidx(type_id, 0));
	if (cpool) {
		o_var(o, sidx("constantPool", 0));
		o_var(o, sidx("true", 0));
	}
	if (array) {
		o_var(o, sidx("dimension", 0));
		o_var(o, sidx("1", 0));
	}
	o_var(o, 0); /* no children */
}

static void o_class(struct out *o, const char *name, const char *id, int n_fields)
{
	o_var(o, 3); /* "class" */
	o_var(o, 2);
	o_var(o, sidx("name", 0));
	o_var(o, sidx(name, 0));
	o_var(o, sidx("id", 0));
	o_var(o, sidx(id, 0));
	o_var(o, (uint64_t)n_fields);
}

#define STACK_KEY 0x8000000000000001ULL /* a nine-byte compressed integer */

/* async-profiler's settings and events, as it writes them (ap > 0): "interval"
 * 0 (its default) for jdk.ExecutionSample's id, with ap >= 2 "wall" 30 ms, with
 * ap == 3 "event" cpu for jdk.ActiveRecording's id (so "interval" is cpu's);
 * WallClockSamples of 5 and 3 samples, Mallocs of 100 and 28 bytes, a
 * LiveObject of 4096 bytes. */
static void o_async_profiler(struct out *o, int ap)
{
	struct out ev;
	static const struct {
		uint64_t id;
		const char *name, *value;
	} settings[] = {{40, "interval", "0"}, {40, "wall", "30000000"}, {46, "event", "cpu"}};

	if (!ap)
		return;
	for (int i = 0; i < ap; i++) {
		memset(&ev, 0, sizeof(ev));
		o_var(&ev, 43); /* startTime, id, name, value */
		o_var(&ev, 900);
		o_var(&ev, settings[i].id);
		o_utf8(&ev, settings[i].name);
		o_utf8(&ev, settings[i].value);
		o_event(o, &ev);
	}
	for (int i = 0; i < 2; i++) {
		memset(&ev, 0, sizeof(ev));
		o_var(&ev, 42); /* startTime, sampledThread, stackTrace, state, samples */
		o_var(&ev, 2000 + (uint64_t)i);
		o_var(&ev, 7);
		o_var(&ev, STACK_KEY);
		o_utf8(&ev, "STATE_SLEEPING");
		o_var(&ev, i ? 3 : 5);
		o_event(o, &ev);
		memset(&ev, 0, sizeof(ev));
		o_var(&ev, 44); /* startTime, eventThread, stackTrace, address, size */
		o_var(&ev, 3000 + (uint64_t)i);
		o_var(&ev, 7);
		o_var(&ev, STACK_KEY);
		o_var(&ev, 0x7f0000001000ULL + (uint64_t)i * 64);
		o_var(&ev, i ? 28 : 100);
		o_event(o, &ev);
	}
	memset(&ev, 0, sizeof(ev));
	o_var(&ev,
	      45); /* startTime, eventThread, stackTrace, objectClass, allocationSize, allocationTime */
	o_var(&ev, 4000);
	o_var(&ev, 7);
	o_var(&ev, STACK_KEY);
	o_var(&ev, 5);
	o_var(&ev, 4096);
	o_var(&ev, 3999);
	o_event(o, &ev);
}

static size_t build_chunk(uint8_t *chunk, int n_samples, int ap)
{
	struct out o = {0}, ev, body;
	size_t meta_at, cp_at;

	memcpy(o.buf, "FLR\0\0\2\0\1", 8);
	o.n = PF_JFR_HEADER_SIZE;

	/* Events first, as the JVM writes them: an unknown type, then samples. */
	for (int i = 0; i < n_samples; i++) {
		memset(&ev, 0, sizeof(ev));
		if (i == 1) {
			o_var(&ev, 41);
			o_var(&ev, 5);
			o_utf8(&ev, "skip me");
			o_event(&o, &ev);
			memset(&ev, 0, sizeof(ev));
		}
		/* ExecutionSample fields as declared below: stackTrace, startTime, sampledThread. */
		o_var(&ev, 40);
		o_var(&ev, STACK_KEY);
		o_var(&ev, 1000 + (uint64_t)i);
		o_var(&ev, 7);
		o_event(&o, &ev);
	}
	o_async_profiler(&o, ap);

	/* The constant pools. */
	cp_at = o.n;
	memset(&body, 0, sizeof(body));
	o_var(&body, 1);
	o_var(&body, 0);
	o_var(&body, 0);
	o_var(&body, 0); /* delta: the only checkpoint */
	o_u8(&body, 0);
	o_var(&body, 7);  /* pools */
	o_var(&body, 22); /* java.lang.String: one pooled string */
	o_var(&body, 1);
	o_var(&body, 99);
	o_utf8(&body, "(I)V");
	o_var(&body, 30); /* Symbols: UTF-16 chars, Latin-1, a pool reference */
	o_var(&body, 3);
	o_var(&body, 1);
	o_u8(&body, 4);
	o_var(&body, 4);
	o_var(&body, 'r');
	o_var(&body, 0xfc); /* ü */
	o_var(&body, 'n');
	o_var(&body, 0x263a); /* ☺ */
	o_var(&body, 2);
	o_u8(&body, 5);
	o_var(&body, 8);
	o_bytes(&body, "caf\xe9/Bar", 8); /* é in Latin-1 */
	o_var(&body, 3);
	o_u8(&body, 2);
	o_var(&body, 99);
	o_var(&body, 31); /* Class: extra (int) before name */
	o_var(&body, 1);
	o_var(&body, 5);
	o_var(&body, 77);
	o_var(&body, 2);
	o_var(&body, 32); /* Method: name, descriptor, type */
	o_var(&body, 1);
	o_var(&body, 9);
	o_var(&body, 1);
	o_var(&body, 3);
	o_var(&body, 5);
	o_var(&body, 33); /* FrameType */
	o_var(&body, 1);
	o_var(&body, 1);
	o_utf8(&body, "JIT compiled");
	o_var(&body, 35); /* StackTrace: frames[] then truncated */
	o_var(&body, 1);
	o_var(&body, STACK_KEY);
	o_var(&body, 2); /* frames: type, method, lineNumber each */
	o_var(&body, 1);
	o_var(&body, 9);
	o_var(&body, 42);
	o_var(&body, 1);
	o_var(&body, 9);
	o_var(&body, 43);
	o_u8(&body, 0);
	o_var(&body, 36); /* Thread */
	o_var(&body, 1);
	o_var(&body, 7);
	o_utf8(&body, "worker-1");
	o_var(&body, 12);
	o_event(&o, &body);

	/* The metadata. */
	meta_at = o.n;
	memset(&body, 0, sizeof(body));
	o_var(&body, 0);
	o_var(&body, 0);
	o_var(&body, 0);
	o_var(&body, 1);
	o_var(&body, sizeof(meta_strings) / sizeof(meta_strings[0]));
	for (size_t i = 0; i < sizeof(meta_strings) / sizeof(meta_strings[0]); i++)
		o_utf8(&body, meta_strings[i]);
	o_var(&body, 0); /* root */
	o_var(&body, 0);
	o_var(&body, 2);
	o_var(&body, 1); /* metadata */
	o_var(&body, 0);
	o_var(&body, 18);
	o_class(&body, "long", "20", 0);
	o_class(&body, "int", "21", 0);
	o_class(&body, "java.lang.String", "22", 0);
	o_class(&body, "boolean", "23", 0);
	o_class(&body, "jdk.types.Symbol", "30", 1);
	o_field(&body, "string", "22", false, false);
	o_class(&body, "java.lang.Class", "31", 2);
	o_field(&body, "extra", "21", false, false);
	o_field(&body, "name", "30", true, false);
	o_class(&body, "jdk.types.Method", "32", 3);
	o_field(&body, "name", "30", true, false);
	o_field(&body, "descriptor", "30", true, false);
	o_field(&body, "type", "31", true, false);
	o_class(&body, "jdk.types.FrameType", "33", 1);
	o_field(&body, "description", "22", false, false);
	o_class(&body, "jdk.types.StackFrame", "34", 3);
	o_field(&body, "type", "33", true, false);
	o_field(&body, "method", "32", true, false);
	o_field(&body, "lineNumber", "21", false, false);
	o_class(&body, "jdk.types.StackTrace", "35", 2);
	o_field(&body, "frames", "34", false, true);
	o_field(&body, "truncated", "23", false, false);
	o_class(&body, "java.lang.Thread", "36", 2);
	o_field(&body, "javaName", "22", false, false);
	o_field(&body, "javaThreadId", "20", false, false);
	o_class(&body, "jdk.ExecutionSample", "40", 3);
	o_field(&body, "stackTrace", "35", true, false);
	o_field(&body, "startTime", "20", false, false);
	o_field(&body, "sampledThread", "36", true, false);
	o_class(&body, "my.Unknown", "41", 2);
	o_field(&body, "startTime", "20", false, false);
	o_field(&body, "payload", "22", false, false);
	o_class(&body, "profiler.WallClockSample", "42", 5);
	o_field(&body, "startTime", "20", false, false);
	o_field(&body, "sampledThread", "36", true, false);
	o_field(&body, "stackTrace", "35", true, false);
	o_field(&body, "state", "22", false, false);
	o_field(&body, "samples", "20", false, false);
	o_class(&body, "jdk.ActiveSetting", "43", 4);
	o_field(&body, "startTime", "20", false, false);
	o_field(&body, "id", "20", false, false);
	o_field(&body, "name", "22", false, false);
	o_field(&body, "value", "22", false, false);
	o_class(&body, "profiler.Malloc", "44", 5);
	o_field(&body, "startTime", "20", false, false);
	o_field(&body, "eventThread", "36", true, false);
	o_field(&body, "stackTrace", "35", true, false);
	o_field(&body, "address", "20", false, false);
	o_field(&body, "size", "20", false, false);
	o_class(&body, "profiler.LiveObject", "45", 6);
	o_field(&body, "startTime", "20", false, false);
	o_field(&body, "eventThread", "36", true, false);
	o_field(&body, "stackTrace", "35", true, false);
	o_field(&body, "objectClass", "31", true, false);
	o_field(&body, "allocationSize", "20", false, false);
	o_field(&body, "allocationTime", "20", false, false);
	o_class(&body, "jdk.ActiveRecording", "46", 0);
	o_var(&body, 2); /* region */
	o_var(&body, 0);
	o_var(&body, 0);
	o_event(&o, &body);

	put_be64(o.buf + 8, o.n);
	put_be64(o.buf + 16, cp_at);
	put_be64(o.buf + 24, meta_at);
	put_be64(o.buf + 32, 1700000000000000000ULL);
	put_be64(o.buf + 40, 1000000000);
	put_be64(o.buf + 48, 0);
	put_be64(o.buf + 56, 1000000000);
	memcpy(chunk, o.buf, o.n);
	return o.n;
}

static void test_synthetic_chunk(void **state)
{
	uint8_t chunk[8192];
	size_t size = build_chunk(chunk, 3, 0);
	struct pf_batch *b = pf_batch_new();
	struct pf_jfr_stats st;
	struct pf_error err = {0};
	char buf[2048];
	(void)state;

	int rc = pf_jfr_decode(b, chunk, size, NULL, 0, &st, &err);
	if (rc < 0)
		fail_msg("%s", pf_error_str(&err, buf, sizeof(buf)));
	assert_int_equal(rc, 2);
	assert_int_equal(st.events, 4);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(st.by_kind[PF_JFR_CPU], 3);
	uint32_t p = find_profile(b, "samples");
	assert_int_equal(pf_batch_profile_get(b, p)->period, 20000000); /* no ActiveSetting */
	assert_int_equal(profile_total(b, p), 3);
	assert_int_equal(leaf_total(b, p, "caf\xc3\xa9.Bar.r\xc3\xbcn\xe2\x98\xba"), 3);

	size_t n;
	const struct pf_sample *s = pf_batch_samples(b, p, &n);
	assert_int_equal(n, 1);
	const uint32_t *locs = pf_batch_stack_get(b, s[0].stack, &n);
	assert_int_equal(n, 2);
	const struct pf_line *l = pf_batch_location_lines(b, locs[1], &n);
	assert_int_equal(l->line, 43);
	const struct pf_function *f = pf_batch_function_get(b, l->function);
	assert_string_equal(pf_batch_str(b, f->system_name),
			    "caf\xc3\xa9.Bar.r\xc3\xbcn\xe2\x98\xba(I)V");
	const struct pf_value *v =
		pf_batch_attr_lookup(b, pf_batch_location_get(b, locs[0])->attrs, "jvm.frame.type");
	assert_string_equal(pf_batch_str(b, v->u.str), "jit");
	v = pf_batch_attr_lookup(b, s[0].attrs, PF_ATTR_THREAD_NAME);
	assert_string_equal(pf_batch_str(b, v->u.str), "worker-1");
	v = pf_batch_attr_lookup(b, s[0].attrs, PF_ATTR_THREAD_ID);
	assert_int_equal(v->u.i, 12);
	assert_string_equal(resource_str(b, PF_ATTR_SERVICE_NAME), "unknown_service:java");
	pf_batch_unref(b);

	/* Every cut of the synthetic chunk, header patched: an error or fewer samples. */
	for (size_t cut = PF_JFR_HEADER_SIZE; cut < size; cut++) {
		uint8_t copy[8192];
		memcpy(copy, chunk, size);
		put_be64(copy + 8, cut);
		b = pf_batch_new();
		pf_error_clear(&err);
		rc = pf_jfr_decode(b, copy, cut, NULL, 0, NULL, &err);
		assert_true(rc == -EINVAL);
		pf_batch_unref(b);
	}
}

/* async-profiler's profiler.WallClockSample (samples x its wall interval),
 * profiler.Malloc and profiler.LiveObject, in a chunk like the synthetic one above. */
static void test_async_profiler_events(void **state)
{
	static const int64_t wall_ns[] = {50000000 /* "interval" 0: its default */,
					  30000000 /* "wall" */, 30000000};
	/* The JDK's default; with "event" cpu, async-profiler's "interval" 0: its default. */
	static const int64_t cpu_ns[] = {20000000, 20000000, 10000000};
	uint8_t chunk[8192];
	struct pf_jfr_stats st;
	struct pf_error err = {0};
	char buf[2048];
	(void)state;

	for (int ap = 1; ap <= 3; ap++) {
		size_t size = build_chunk(chunk, 1, ap);
		struct pf_batch *b = pf_batch_new();
		int rc = pf_jfr_decode(b, chunk, size, NULL, 0, &st, &err);
		if (rc < 0)
			fail_msg("%s", pf_error_str(&err, buf, sizeof(buf)));
		assert_int_equal(rc, 8); /* cpu, wall, malloc and live, two values each */
		assert_int_equal(st.events, 1 + ap + 5);
		assert_int_equal(st.skipped, 0);
		assert_int_equal(st.by_kind[PF_JFR_WALL], 2);
		assert_int_equal(st.totals[PF_JFR_WALL][0], 8);
		assert_int_equal(st.totals[PF_JFR_WALL][1], 8 * wall_ns[ap - 1]);
		assert_int_equal(st.by_kind[PF_JFR_MALLOC], 2);
		assert_int_equal(st.totals[PF_JFR_MALLOC][1], 128);

		uint32_t cpu = find_profile(b, "cpu"), wall = find_profile(b, "wall");
		assert_int_equal(profile_total(b, cpu), cpu_ns[ap - 1]);
		assert_int_equal(pf_batch_profile_get(b, wall)->period, wall_ns[ap - 1]);
		assert_int_equal(profile_total(b, wall), 8 * wall_ns[ap - 1]);
		assert_int_equal(leaf_total(b, wall, "caf\xc3\xa9.Bar.r\xc3\xbcn\xe2\x98\xba"),
				 8 * wall_ns[ap - 1]);
		uint32_t mb = find_profile(b, "malloc_bytes");
		assert_int_equal(profile_total(b, find_profile(b, "malloc_objects")), 2);
		assert_int_equal(profile_total(b, mb), 128);
		size_t n;
		const struct pf_sample *s = pf_batch_samples(b, mb, &n);
		assert_int_equal(n, 1);
		const struct pf_value *v = pf_batch_attr_lookup(b, s[0].attrs, PF_ATTR_THREAD_NAME);
		assert_string_equal(pf_batch_str(b, v->u.str), "worker-1");

		/* The live object: its class as the leaf frame and attribute, as allocations have. */
		assert_int_equal(st.by_kind[PF_JFR_LIVE], 1);
		uint32_t live = find_profile(b, "inuse_space");
		assert_int_equal(profile_total(b, find_profile(b, "inuse_objects")), 1);
		assert_int_equal(leaf_total(b, live, "caf\xc3\xa9.Bar"), 4096);
		s = pf_batch_samples(b, live, &n);
		assert_int_equal(n, 1);
		v = pf_batch_attr_lookup(b, s[0].attrs, "jvm.alloc.class");
		assert_string_equal(pf_batch_str(b, v->u.str), "caf\xc3\xa9.Bar");
		pf_batch_unref(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recording_matches_jdk),
		cmocka_unit_test(test_two_chunks),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt_bytes),
		cmocka_unit_test(test_synthetic_chunk),
		cmocka_unit_test(test_async_profiler_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
