/* SPDX-License-Identifier: Apache-2.0 */
/* The pprof codec: round trips, validation errors, alignment, groups, Go-written files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "formats/gzip.h"
#include "formats/pprof/pprof.h"
#include "model/batch.h"
#include "proto/pprof/profile.pb-c.h"

/* ---- a rich profile built with protobuf-c (not with our encoder) ---- */

enum {
	S_EMPTY,
	S_SAMPLES,
	S_COUNT,
	S_CPU,
	S_NS,
	S_APP,
	S_BUILD,
	S_MAIN,
	S_MAIN_C,
	S_INL,
	S_INL_H,
	S_LIBC,
	S_THREAD,
	S_WORKER,
	S_BYTES,
	S_COMMENT1,
	S_DROP,
	S_KEEP,
	S_DOC,
	S_MEMCPY,
	S_COMMENT2,
	S_N
};

static const char *const strings[S_N] = {
	"",	 "samples",	"count",  "cpu",    "nanoseconds",  "/bin/app",	   "abc123",
	"main",	 "main.c",	"inl",	  "inl.h",  "/lib/libc.so", "thread.name", "worker",
	"bytes", "comment one", "drop.*", "keep.*", "https://doc",  "memcpy",	   "comment two",
};

struct fixture {
	Perftools__Profiles__Profile p;
	Perftools__Profiles__ValueType st[2], pt;
	Perftools__Profiles__ValueType *st_p[2];
	Perftools__Profiles__Function fn[3];
	Perftools__Profiles__Function *fn_p[3];
	Perftools__Profiles__Mapping map[2];
	Perftools__Profiles__Mapping *map_p[2];
	Perftools__Profiles__Line line[4];
	Perftools__Profiles__Line *line_p[4];
	Perftools__Profiles__Location loc[3];
	Perftools__Profiles__Location *loc_p[3];
	Perftools__Profiles__Label label[3];
	Perftools__Profiles__Label *label_p[3];
	Perftools__Profiles__Sample sample[3];
	Perftools__Profiles__Sample *sample_p[3];
	uint64_t locs0[3], locs1[2], locs2[1];
	int64_t vals[3][2];
	int64_t comments[2];
	char *str[S_N];
};

static void fixture_init(struct fixture *f)
{
	static const Perftools__Profiles__Profile p0 = PERFTOOLS__PROFILES__PROFILE__INIT;
	static const Perftools__Profiles__ValueType vt0 = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	static const Perftools__Profiles__Function fn0 = PERFTOOLS__PROFILES__FUNCTION__INIT;
	static const Perftools__Profiles__Mapping m0 = PERFTOOLS__PROFILES__MAPPING__INIT;
	static const Perftools__Profiles__Line l0 = PERFTOOLS__PROFILES__LINE__INIT;
	static const Perftools__Profiles__Location lo0 = PERFTOOLS__PROFILES__LOCATION__INIT;
	static const Perftools__Profiles__Label la0 = PERFTOOLS__PROFILES__LABEL__INIT;
	static const Perftools__Profiles__Sample s0 = PERFTOOLS__PROFILES__SAMPLE__INIT;

	memset(f, 0, sizeof(*f));
	f->p = p0;
	for (int i = 0; i < S_N; i++)
		f->str[i] = (char *)strings[i];
	f->p.string_table = f->str;
	f->p.n_string_table = S_N;

	f->st[0] = f->st[1] = f->pt = vt0;
	f->st[0].type = S_SAMPLES, f->st[0].unit = S_COUNT;
	f->st[1].type = S_CPU, f->st[1].unit = S_NS;
	f->pt.type = S_CPU, f->pt.unit = S_NS;
	f->st_p[0] = &f->st[0], f->st_p[1] = &f->st[1];
	f->p.sample_type = f->st_p;
	f->p.n_sample_type = 2;
	f->p.period_type = &f->pt;
	f->p.period = 10000000;
	f->p.time_nanos = 1700000000000000000;
	f->p.duration_nanos = 5000000000;
	f->p.default_sample_type = S_CPU;
	f->p.drop_frames = S_DROP;
	f->p.keep_frames = S_KEEP;
	f->p.doc_url = S_DOC;
	f->comments[0] = S_COMMENT1, f->comments[1] = S_COMMENT2;
	f->p.comment = f->comments;
	f->p.n_comment = 2;

	for (int i = 0; i < 3; i++) {
		f->fn[i] = fn0;
		f->fn[i].id = (uint64_t)i + 1;
		f->fn_p[i] = &f->fn[i];
	}
	f->fn[0].name = f->fn[0].system_name = S_MAIN, f->fn[0].filename = S_MAIN_C;
	f->fn[0].start_line = 10;
	f->fn[1].name = f->fn[1].system_name = S_INL, f->fn[1].filename = S_INL_H;
	f->fn[1].start_line = 5;
	f->fn[2].name = f->fn[2].system_name = S_MEMCPY;
	f->p.function = f->fn_p;
	f->p.n_function = 3;

	f->map[0] = f->map[1] = m0;
	f->map[0].id = 1, f->map[0].memory_start = 0x400000, f->map[0].memory_limit = 0x500000;
	f->map[0].filename = S_APP, f->map[0].build_id = S_BUILD;
	f->map[0].has_functions = f->map[0].has_filenames = true;
	f->map[0].has_line_numbers = f->map[0].has_inline_frames = true;
	f->map[1].id = 2, f->map[1].memory_start = 0x7f00000000;
	f->map[1].memory_limit = 0x7f00100000, f->map[1].file_offset = 0x1000;
	f->map[1].filename = S_LIBC, f->map[1].has_functions = true;
	f->map_p[0] = &f->map[0], f->map_p[1] = &f->map[1];
	f->p.mapping = f->map_p;
	f->p.n_mapping = 2;

	for (int i = 0; i < 4; i++) {
		f->line[i] = l0;
		f->line_p[i] = &f->line[i];
	}
	/* Location 1: inl (inlined, leaf) called from main. */
	f->line[0].function_id = 2, f->line[0].line = 3, f->line[0].column = 7;
	f->line[1].function_id = 1, f->line[1].line = 42;
	f->line[2].function_id = 1, f->line[2].line = 50;
	f->line[3].function_id = 3;
	for (int i = 0; i < 3; i++) {
		f->loc[i] = lo0;
		f->loc[i].id = (uint64_t)i + 1;
		f->loc_p[i] = &f->loc[i];
	}
	f->loc[0].mapping_id = 1, f->loc[0].address = 0x401000;
	f->loc[0].line = &f->line_p[0], f->loc[0].n_line = 2;
	f->loc[1].mapping_id = 1, f->loc[1].address = 0x402000;
	f->loc[1].line = &f->line_p[2], f->loc[1].n_line = 1;
	f->loc[2].mapping_id = 2, f->loc[2].address = 0x7f00001234, f->loc[2].is_folded = true;
	f->loc[2].line = &f->line_p[3], f->loc[2].n_line = 1;
	f->p.location = f->loc_p;
	f->p.n_location = 3;

	for (int i = 0; i < 3; i++) {
		f->label[i] = la0;
		f->label_p[i] = &f->label[i];
		f->sample[i] = s0;
		f->sample_p[i] = &f->sample[i];
		f->vals[i][0] = i + 1;
		f->vals[i][1] = (i + 1) * 10000000;
		f->sample[i].value = f->vals[i];
		f->sample[i].n_value = 2;
	}
	f->label[0].key = S_THREAD, f->label[0].str = S_WORKER;
	f->label[1].key = S_BYTES, f->label[1].num = 4096, f->label[1].num_unit = S_BYTES;
	f->label[2].key = S_THREAD, f->label[2].str = S_WORKER;
	f->locs0[0] = 3, f->locs0[1] = 1, f->locs0[2] = 2;
	f->sample[0].location_id = f->locs0, f->sample[0].n_location_id = 3;
	f->sample[0].label = &f->label_p[0], f->sample[0].n_label = 1;
	f->locs1[0] = 1, f->locs1[1] = 2;
	f->sample[1].location_id = f->locs1, f->sample[1].n_location_id = 2;
	f->sample[1].label = &f->label_p[1], f->sample[1].n_label = 2;
	f->locs2[0] = 2;
	f->sample[2].location_id = f->locs2, f->sample[2].n_location_id = 1;
	f->p.sample = f->sample_p;
	f->p.n_sample = 3;
}

static uint8_t *pack(const Perftools__Profiles__Profile *p, size_t *size)
{
	*size = perftools__profiles__profile__get_packed_size(p);
	uint8_t *buf = malloc(*size + 1);
	assert_non_null(buf);
	assert_int_equal(perftools__profiles__profile__pack(p, buf), *size);
	return buf;
}

/* ---- a canonical text of a profile: ids and string indices resolved ---- */

static const char *S(const Perftools__Profiles__Profile *p, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < p->n_string_table);
	return p->string_table[i];
}

static const Perftools__Profiles__Function *find_fn(const Perftools__Profiles__Profile *p,
						    uint64_t id)
{
	for (size_t i = 0; i < p->n_function; i++)
		if (p->function[i]->id == id)
			return p->function[i];
	return NULL;
}

static const Perftools__Profiles__Mapping *find_map(const Perftools__Profiles__Profile *p,
						    uint64_t id)
{
	for (size_t i = 0; i < p->n_mapping; i++)
		if (p->mapping[i]->id == id)
			return p->mapping[i];
	return NULL;
}

static const Perftools__Profiles__Location *find_loc(const Perftools__Profiles__Profile *p,
						     uint64_t id)
{
	for (size_t i = 0; i < p->n_location; i++)
		if (p->location[i]->id == id)
			return p->location[i];
	fail_msg("location id %llu missing", (unsigned long long)id);
	return NULL;
}

static void dump_location(FILE *o, const Perftools__Profiles__Profile *p, uint64_t id)
{
	const Perftools__Profiles__Location *l = find_loc(p, id);
	const Perftools__Profiles__Mapping *m = find_map(p, l->mapping_id);
	fprintf(o, "  loc %#llx folded=%d", (unsigned long long)l->address, l->is_folded);
	if (m)
		fprintf(o, " map[%s build=%s %#llx-%#llx off=%#llx flags=%d%d%d%d]",
			S(p, m->filename), S(p, m->build_id), (unsigned long long)m->memory_start,
			(unsigned long long)m->memory_limit, (unsigned long long)m->file_offset,
			m->has_functions, m->has_filenames, m->has_line_numbers,
			m->has_inline_frames);
	for (size_t j = 0; j < l->n_line; j++) {
		const Perftools__Profiles__Function *f = find_fn(p, l->line[j]->function_id);
		if (f)
			fprintf(o, " %s/%s@%s:%lld", S(p, f->name), S(p, f->system_name),
				S(p, f->filename), (long long)f->start_line);
		fprintf(o, " line=%lld:%lld", (long long)l->line[j]->line,
			(long long)l->line[j]->column);
	}
	fputc('\n', o);
}

/* Everything pprof says, independent of ids and string table order. */
static char *dump(const Perftools__Profiles__Profile *p)
{
	char *text = NULL;
	size_t size = 0;
	FILE *o = open_memstream(&text, &size);
	assert_non_null(o);
	fprintf(o, "types");
	for (size_t i = 0; i < p->n_sample_type; i++)
		fprintf(o, " %s/%s", S(p, p->sample_type[i]->type), S(p, p->sample_type[i]->unit));
	fprintf(o, "\ndefault %s\n", S(p, p->default_sample_type));
	if (p->period_type)
		fprintf(o, "period_type %s/%s\n", S(p, p->period_type->type),
			S(p, p->period_type->unit));
	fprintf(o, "period %lld time %lld duration %lld\n", (long long)p->period,
		(long long)p->time_nanos, (long long)p->duration_nanos);
	for (size_t i = 0; i < p->n_comment; i++)
		fprintf(o, "comment %s\n", S(p, p->comment[i]));
	fprintf(o, "drop %s keep %s doc %s\n", S(p, p->drop_frames), S(p, p->keep_frames),
		S(p, p->doc_url));
	for (size_t i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];
		fprintf(o, "sample");
		for (size_t k = 0; k < s->n_value; k++)
			fprintf(o, " %lld", (long long)s->value[k]);
		for (size_t k = 0; k < s->n_label; k++) {
			const Perftools__Profiles__Label *l = s->label[k];
			if (l->str)
				fprintf(o, " %s=%s", S(p, l->key), S(p, l->str));
			else
				fprintf(o, " %s=%lld%s", S(p, l->key), (long long)l->num,
					S(p, l->num_unit));
		}
		fputc('\n', o);
		for (size_t k = 0; k < s->n_location_id; k++)
			dump_location(o, p, s->location_id[k]);
	}
	fclose(o);
	return text;
}

static char *dump_bytes(const uint8_t *data, size_t size)
{
	uint8_t *raw = NULL;
	if (pf_gzip_detect(data, size)) {
		assert_int_equal(pf_gzip_decompress(data, size, 1 << 30, &raw, &size), 0);
		data = raw;
	}
	Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, size, data);
	assert_non_null(p);
	char *text = dump(p);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(raw);
	return text;
}

/* ---- helpers over the codec ---- */

static int decode(struct pf_batch *b, const void *data, size_t size, struct pf_error *err)
{
	pf_error_clear(err);
	return pf_pprof_decode(b, NULL, data, size, 0, err);
}

/* Encodes every profile of b as one pprof (b must hold exactly one group). */
static uint8_t *encode_all(const struct pf_batch *b, bool gzip, size_t *size)
{
	size_t n = pf_batch_n_profiles(b);
	uint32_t *group_of = calloc(n + 1, sizeof(*group_of));
	uint32_t *list = calloc(n + 1, sizeof(*list));
	assert_non_null(group_of);
	assert_non_null(list);
	assert_int_equal(pf_pprof_groups(b, group_of), n ? 1 : 0);
	for (size_t i = 0; i < n; i++)
		list[i] = (uint32_t)i;
	uint8_t *out = NULL;
	assert_int_equal(pf_pprof_encode(b, list, n, gzip, &out, size), 0);
	free(group_of);
	free(list);
	return out;
}

static uint8_t *read_file(const char *name, size_t *size)
{
	const char *dir = getenv("PF_TEST_DATA");
	char path[4096];
	snprintf(path, sizeof(path), "%s/pprof/%s", dir ? dir : "tests/data", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return buf;
}

/* decode -> encode -> decode -> encode: the two encodings are byte-identical and
 * mean what the input meant. */
static void check_round_trip(const uint8_t *in, size_t in_size, int n_types)
{
	struct pf_error err;
	struct pf_batch *b1 = pf_batch_new(), *b2 = pf_batch_new();
	assert_non_null(b1);
	assert_non_null(b2);
	int rc = decode(b1, in, in_size, &err);
	if (rc < 0)
		fail_msg("decode: %s", err.msg);
	assert_int_equal(rc, n_types);
	size_t n1, n2;
	uint8_t *out1 = encode_all(b1, false, &n1);
	assert_int_equal(decode(b2, out1, n1, &err), n_types);
	uint8_t *out2 = encode_all(b2, false, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(out1, out2, n1);

	char *want = dump_bytes(in, in_size);
	char *got = dump_bytes(out1, n1);
	if (strcmp(want, got) != 0)
		fail_msg("semantic mismatch:\n--- input\n%s--- encoded\n%s", want, got);
	free(want);
	free(got);
	free(out1);
	free(out2);
	pf_batch_unref(b1);
	pf_batch_unref(b2);
}

/* ---- round trips ---- */

static void test_round_trip_raw(void **state)
{
	struct fixture f;
	size_t n;
	fixture_init(&f);
	uint8_t *in = pack(&f.p, &n);
	check_round_trip(in, n, 2);
	free(in);
}

/* Found by fuzzing: an empty location (no mapping, address or lines) is the
 * batch's zero location and was written as location id 0. */
static void test_empty_location_round_trip(void **state)
{
	struct fixture f;
	size_t n;
	fixture_init(&f);
	f.loc[1].mapping_id = 0;
	f.loc[1].address = 0;
	f.loc[1].n_line = 0;
	uint8_t *in = pack(&f.p, &n);
	check_round_trip(in, n, 2);
	free(in);
}

static void test_round_trip_gzip(void **state)
{
	struct fixture f;
	size_t n, gz_n, out_n, raw_n;
	uint8_t *gz, *raw;
	struct pf_error err;
	fixture_init(&f);
	uint8_t *in = pack(&f.p, &n);
	assert_int_equal(pf_gzip_compress(in, n, PF_GZIP_DEFAULT, &gz, &gz_n), 0);
	check_round_trip(gz, gz_n, 2);

	/* gzip output is the raw output compressed. */
	struct pf_batch *b = pf_batch_new();
	assert_int_equal(decode(b, gz, gz_n, &err), 2);
	uint8_t *out = encode_all(b, true, &out_n);
	uint8_t *plain = encode_all(b, false, &raw_n);
	assert_true(pf_gzip_detect(out, out_n));
	assert_int_equal(pf_gzip_decompress(out, out_n, 1 << 20, &raw, &n), 0);
	assert_int_equal(n, raw_n);
	assert_memory_equal(raw, plain, n);
	free(raw);
	free(plain);
	free(out);
	free(gz);
	free(in);
	pf_batch_unref(b);
}

static const char *str_of(const struct pf_batch *b, uint32_t i)
{
	return pf_batch_str(b, i);
}

/* What the batch holds after decoding: the mapping the header documents. */
static void test_decode_into_batch(void **state)
{
	struct fixture f;
	struct pf_error err;
	size_t n;
	fixture_init(&f);
	uint8_t *in = pack(&f.p, &n);
	struct pf_batch *b = pf_batch_new();
	struct pf_pprof_origin origin = {.resource = 0, .scope = 0};
	assert_int_equal(pf_pprof_decode(b, &origin, in, n, 0, &err), 2);
	assert_int_equal(pf_batch_n_profiles(b), 2);

	const struct pf_profile_desc *d0 = pf_batch_profile_get(b, 0);
	const struct pf_profile_desc *d1 = pf_batch_profile_get(b, 1);
	assert_string_equal(str_of(b, d0->sample_type.type), "samples");
	assert_string_equal(str_of(b, d1->sample_type.unit), "nanoseconds");
	assert_string_equal(str_of(b, d0->period_type.type), "cpu");
	assert_int_equal(d0->period, 10000000);
	assert_int_equal(d1->time_unix_nano, 1700000000000000000ull);
	assert_int_equal(d1->duration_nano, 5000000000ull);
	assert_int_equal(d0->attrs, d1->attrs);
	const struct pf_value *v = pf_batch_attr_lookup(b, d0->attrs, "pprof.profile.doc_url");
	assert_non_null(v);
	assert_string_equal(str_of(b, v->u.str), "https://doc");
	v = pf_batch_attr_lookup(b, d0->attrs, "pprof.profile.default_sample_type");
	assert_non_null(v);
	assert_string_equal(str_of(b, v->u.str), "cpu");
	v = pf_batch_attr_lookup(b, d0->attrs, "pprof.profile.comment");
	assert_non_null(v);
	assert_int_equal(v->kind, PF_VALUE_STRINGS);
	size_t nc;
	const uint32_t *c = pf_batch_string_list_get(b, v->u.strs, &nc);
	assert_int_equal(nc, 2);
	assert_string_equal(str_of(b, c[1]), "comment two");

	size_t ns;
	const struct pf_sample *s = pf_batch_samples(b, 1, &ns);
	assert_int_equal(ns, 3);
	assert_int_equal(pf_batch_sample_values(b, &s[2])[0], 30000000);
	size_t nl;
	const uint32_t *locs = pf_batch_stack_get(b, s[0].stack, &nl);
	assert_int_equal(nl, 3);
	/* Leaf first: libc's folded memcpy. */
	const struct pf_location *leaf = pf_batch_location_get(b, locs[0]);
	v = pf_batch_attr_lookup(b, leaf->attrs, "pprof.location.is_folded");
	assert_non_null(v);
	assert_true(v->u.b);
	const struct pf_mapping *m = pf_batch_mapping_get(b, leaf->mapping);
	assert_string_equal(str_of(b, m->filename), "/lib/libc.so");
	assert_null(pf_batch_attr_lookup(b, m->attrs, "pprof.mapping.has_filenames"));
	assert_non_null(pf_batch_attr_lookup(b, m->attrs, "pprof.mapping.has_functions"));
	const struct pf_line *lines = pf_batch_location_lines(b, locs[1], &nl);
	assert_int_equal(nl, 2);
	assert_string_equal(str_of(b, pf_batch_function_get(b, lines[0].function)->name), "inl");
	assert_int_equal(lines[0].column, 7);
	m = pf_batch_mapping_get(b, pf_batch_location_get(b, locs[1])->mapping);
	v = pf_batch_attr_lookup(b, m->attrs, "process.executable.build_id.gnu");
	assert_non_null(v);
	assert_string_equal(str_of(b, v->u.str), "abc123");

	/* Labels in order, repeated keys kept, num_unit as the unit. */
	size_t na;
	const uint32_t *attrs = pf_batch_attr_set_get(b, s[1].attrs, &na);
	assert_int_equal(na, 2);
	const struct pf_attribute *a = pf_batch_attribute_get(b, attrs[0]);
	assert_string_equal(str_of(b, a->key), "bytes");
	assert_int_equal(a->value.kind, PF_VALUE_INT);
	assert_int_equal(a->value.u.i, 4096);
	assert_string_equal(str_of(b, a->unit), "bytes");
	free(in);
	pf_batch_unref(b);
}

static void test_go_written_profile(void **state)
{
	size_t n;
	uint8_t *in = read_file("go_cpu.pb.gz", &n);
	assert_true(pf_gzip_detect(in, n));
	check_round_trip(in, n, 2);
	free(in);
}

/* Go-written file -> our encoding -> the same text from Go's own view is
 * checked by the it test; here: sample totals survive. */
static void test_go_totals(void **state)
{
	size_t n, out_n;
	struct pf_error err;
	uint8_t *in = read_file("go_cpu.pb.gz", &n);
	struct pf_batch *b = pf_batch_new();
	assert_int_equal(decode(b, in, n, &err), 2);
	size_t ns;
	const struct pf_sample *s = pf_batch_samples(b, 1, &ns);
	assert_int_equal(ns, 20);
	int64_t total = 0;
	for (size_t i = 0; i < ns; i++)
		total += pf_batch_sample_values(b, &s[i])[0];
	/* Values (1 + i % 4) * 1e7 for i < 20. */
	assert_int_equal(total, 50 * 10000000ll);
	uint8_t *out = encode_all(b, true, &out_n);
	struct pf_batch *b2 = pf_batch_new();
	assert_int_equal(decode(b2, out, out_n, &err), 2);
	assert_int_equal(pf_batch_sample_count(b2), 40);
	pf_batch_unref(b2);
	pf_batch_unref(b);
	free(out);
	free(in);
}

/* ---- validation: every class of error, with its message ---- */

static void bad_string0(struct fixture *f)
{
	f->str[0] = "x";
}
static void bad_no_strings(struct fixture *f)
{
	f->p.n_string_table = 0;
}
static void bad_sample_loc(struct fixture *f)
{
	f->locs1[1] = 99;
}
static void bad_sample_loc0(struct fixture *f)
{
	f->locs2[0] = 0;
}
static void bad_value_count(struct fixture *f)
{
	f->sample[2].n_value = 1;
}
static void bad_no_types(struct fixture *f)
{
	f->p.n_sample_type = 0;
}
static void bad_fn_id0(struct fixture *f)
{
	f->fn[1].id = 0;
}
static void bad_dup_loc(struct fixture *f)
{
	f->loc[1].id = 1;
}
static void bad_dup_big_id(struct fixture *f)
{
	f->map[0].id = 1000;
	f->map[1].id = 1000;
}
static void bad_fn_name(struct fixture *f)
{
	f->fn[0].name = 99;
}
static void bad_fn_neg(struct fixture *f)
{
	f->fn[2].filename = -1;
}
static void bad_map_ref(struct fixture *f)
{
	f->loc[2].mapping_id = 42;
}
static void bad_line_fn(struct fixture *f)
{
	f->line[2].function_id = 77;
}
static void bad_label_key(struct fixture *f)
{
	f->label[0].key = 500;
}
static void bad_label_str(struct fixture *f)
{
	f->label[2].str = S_N;
}
static void bad_label_unit(struct fixture *f)
{
	f->label[1].num_unit = 1000;
}
static void bad_type_unit(struct fixture *f)
{
	f->st[1].unit = 77;
}
static void bad_period_type(struct fixture *f)
{
	f->pt.type = 77;
}
static void bad_comment(struct fixture *f)
{
	f->comments[1] = 4242;
}
static void bad_doc_url(struct fixture *f)
{
	f->p.doc_url = -5;
}
/* Invalid UTF-8 in a pprof string went on to OTLP exporters, whose
 * protobuf-go peers refuse the whole merged request. */
static void bad_utf8(struct fixture *f)
{
	f->str[S_NS] = "nano\xe2\x82seconds"; /* a 3-byte sequence cut short */
}
static void bad_build_id(struct fixture *f)
{
	f->map[1].build_id = 300;
}

struct bad_case {
	const char *name;
	void (*mutate)(struct fixture *f);
	const char *want;
};

static const struct bad_case bad_cases[] = {
	{"string0", bad_string0, "string_table[0] must be \"\""},
	{"no strings", bad_no_strings, "string_table[0] must be \"\""},
	{"undefined location", bad_sample_loc, "sample 1: location id 99 not defined"},
	{"location 0", bad_sample_loc0, "sample 2: location id 0 not defined"},
	{"value count", bad_value_count, "sample 2: 1 values, want 2 (one per sample type)"},
	{"no sample types", bad_no_types, "profile has 3 samples but no sample_type"},
	{"function id 0", bad_fn_id0, "function 1: id 0 (ids must be nonzero)"},
	{"duplicate location", bad_dup_loc, "location 1: duplicate id 1"},
	{"duplicate sparse id", bad_dup_big_id, "mapping 1: duplicate id 1000"},
	{"function name", bad_fn_name,
	 "function 0: name string index 99 out of range (string_table has 21 entries)"},
	{"negative index", bad_fn_neg, "function 2: filename string index -1 out of range"},
	{"undefined mapping", bad_map_ref, "location 2: mapping id 42 not defined"},
	{"undefined function", bad_line_fn, "location 1: line 0: function id 77 not defined"},
	{"label key", bad_label_key, "sample 0: label key string index 500 out of range"},
	{"label value", bad_label_str, "sample 1: label value string index 21 out of range"},
	{"label unit", bad_label_unit, "sample 1: label num_unit string index 1000 out of range"},
	{"sample type", bad_type_unit, "sample_type 1: unit string index 77 out of range"},
	{"period type", bad_period_type, "period_type: type string index 77 out of range"},
	{"comment", bad_comment, "comment 1: text string index 4242 out of range"},
	{"doc_url", bad_doc_url, "profile: doc_url string index -5 out of range"},
	{"invalid UTF-8", bad_utf8, "string_table[4]: invalid UTF-8 at byte 4"},
	{"build id", bad_build_id, "mapping 1: build_id string index 300 out of range"},
};

static void expect_error(const uint8_t *data, size_t size, size_t max_size, int want_rc,
			 const char *want, const char *name)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_error err;
	pf_error_clear(&err);
	char text[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];
	int rc = pf_pprof_decode(b, NULL, data, size, max_size, &err);
	pf_error_str(&err, text, sizeof(text));
	if (rc != want_rc || !strstr(text, want))
		fail_msg("%s: rc %d (want %d), error \"%s\" (want \"%s\")", name, rc, want_rc, text,
			 want);
	/* Nothing half-decoded is visible as a profile. */
	assert_int_equal(pf_batch_n_profiles(b), 0);
	pf_batch_unref(b);
}

static void test_validation_errors(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct fixture f;
		size_t n;
		fixture_init(&f);
		bad_cases[i].mutate(&f);
		uint8_t *in = pack(&f.p, &n);
		expect_error(in, n, 0, -EINVAL, bad_cases[i].want, bad_cases[i].name);
		free(in);
	}
}

static void test_wire_errors(void **state)
{
	struct fixture f;
	size_t n, gz_n;
	uint8_t *gz;
	fixture_init(&f);
	uint8_t *in = pack(&f.p, &n);

	/* Truncated in the middle of a field. */
	expect_error(in, n - 3, 0, -EINVAL, "offset", "truncated");
	/* A sample field carrying a varint. */
	static const uint8_t wrong_wire[] = {0x10, 0x01};
	expect_error(wrong_wire, sizeof(wrong_wire), 0, -EINVAL, "field 2 has wire type 0, want 2",
		     "wire type");
	/* A group (wire type 3) is not skippable. */
	static const uint8_t group[] = {0x32, 0x00, 0xbb, 0x01};
	expect_error(group, sizeof(group), 0, -EINVAL, "malformed unknown field", "group");
	/* A length running past the end. */
	static const uint8_t long_len[] = {0x32, 0x00, 0x12, 0x7f, 0x08};
	expect_error(long_len, sizeof(long_len), 0, -EINVAL, "offset 2: length runs past",
		     "length");
	/* A malformed sample message (bad inner varint). */
	static const uint8_t bad_sample[] = {0x0a, 0x00, 0x32, 0x00, 0x12, 0x02, 0x08, 0xff};
	expect_error(bad_sample, sizeof(bad_sample), 0, -EINVAL, "sample 0: malformed message",
		     "sample message");
	/* Size limits, raw and after decompression. */
	expect_error(in, n, 16, -EFBIG, "profile larger than 16 bytes", "raw limit");
	assert_int_equal(pf_gzip_compress(in, n, PF_GZIP_FASTEST, &gz, &gz_n), 0);
	expect_error(gz, gz_n, 64, -EFBIG, "larger than 64 bytes once decompressed", "gz limit");
	/* Corrupt and truncated gzip. */
	expect_error(gz, gz_n - 5, 0, -EINVAL, "corrupt or truncated gzip data", "gz truncated");
	gz[gz_n / 2] ^= 0x55;
	gz[gz_n / 2 + 1] ^= 0x55;
	expect_error(gz, gz_n, 0, -EINVAL, "gzip", "gz corrupt");
	free(gz);
	free(in);
}

/* A profile with no samples and no sample types is valid and empty. */
static void test_empty_profile(void **state)
{
	static const uint8_t only_strings[] = {0x32, 0x00};
	struct pf_batch *b = pf_batch_new();
	struct pf_error err;
	assert_int_equal(decode(b, only_strings, sizeof(only_strings), &err), 0);
	assert_int_equal(pf_batch_n_profiles(b), 0);
	pf_batch_unref(b);
}

/* ---- encoding profiles whose samples do not line up ---- */

static uint32_t one_loc_stack(struct pf_batch *b, const char *name)
{
	struct pf_function fn = {.name = pf_batch_cstring(b, name)};
	struct pf_line line = {.function = pf_batch_function(b, &fn), .line = 1};
	struct pf_location loc = {.address = 0x1000};
	uint32_t l = pf_batch_location(b, &loc, &line, 1);
	return pf_batch_stack(b, &l, 1);
}

static uint32_t add_profile(struct pf_batch *b, const char *type, const char *unit, uint64_t time)
{
	struct pf_profile_desc d = {.time_unix_nano = time, .period = 1};
	d.sample_type.type = pf_batch_cstring(b, type);
	d.sample_type.unit = pf_batch_cstring(b, unit);
	return pf_batch_add_profile(b, &d);
}

static void add(struct pf_batch *b, uint32_t p, uint32_t stack, int64_t v)
{
	assert_int_equal(pf_batch_add_sample(b, p, stack, 0, 0, &v, 1, NULL, 0), 0);
}

static void test_align_by_key(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t s1 = one_loc_stack(b, "one"), s2 = one_loc_stack(b, "two");
	uint32_t s3 = one_loc_stack(b, "three");
	uint32_t pa = add_profile(b, "samples", "count", 7);
	uint32_t pb = add_profile(b, "cpu", "nanoseconds", 7);
	add(b, pa, s1, 1);
	add(b, pa, s2, 2);
	add(b, pb, s2, 20);
	add(b, pb, s1, 10);
	add(b, pb, s1, 5);  /* same key twice: summed */
	add(b, pb, s3, 30); /* only in pb: 0 samples */
	/* A timestamps-only sample counts its timestamps. */
	uint64_t ts[3] = {1, 2, 3};
	assert_int_equal(pf_batch_add_sample(b, pa, s3, 0, 0, NULL, 0, ts, 3), 0);

	size_t n;
	uint8_t *out = encode_all(b, false, &n);
	Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, n, out);
	assert_non_null(p);
	assert_int_equal(p->n_sample, 3);
	static const int64_t want[3][2] = {{1, 15}, {2, 20}, {3, 30}};
	static const char *const names[3] = {"one", "two", "three"};
	for (size_t i = 0; i < 3; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];
		assert_int_equal(s->n_value, 2);
		assert_int_equal(s->value[0], want[i][0]);
		assert_int_equal(s->value[1], want[i][1]);
		const Perftools__Profiles__Location *l = find_loc(p, s->location_id[0]);
		assert_string_equal(S(p, find_fn(p, l->line[0]->function_id)->name), names[i]);
	}
	/* Ids are dense, 1-based and in table order. */
	assert_int_equal(p->n_location, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(p->location[i]->id, i + 1);
	assert_string_equal(p->string_table[0], "");
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(out);
	pf_batch_unref(b);
}

/* Only what the encoded profiles use is written. */
static void test_encode_only_used(void **state)
{
	struct pf_batch *b = pf_batch_new();
	one_loc_stack(b, "unused");
	uint32_t s = one_loc_stack(b, "used");
	pf_batch_cstring(b, "stray string");
	uint32_t p = add_profile(b, "samples", "count", 0);
	add(b, p, s, 4);
	size_t n;
	uint8_t *out = encode_all(b, false, &n);
	Perftools__Profiles__Profile *pp = perftools__profiles__profile__unpack(NULL, n, out);
	assert_non_null(pp);
	assert_int_equal(pp->n_location, 1);
	assert_int_equal(pp->n_function, 1);
	for (size_t i = 0; i < pp->n_string_table; i++) {
		assert_string_not_equal(pp->string_table[i], "unused");
		assert_string_not_equal(pp->string_table[i], "stray string");
	}
	perftools__profiles__profile__free_unpacked(pp, NULL);
	free(out);
	pf_batch_unref(b);
}

/* Labels of every attribute kind become pprof labels. */
static void test_encode_label_kinds(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t s = one_loc_stack(b, "f");
	uint32_t strs[2] = {pf_batch_cstring(b, "a"), pf_batch_cstring(b, "b")};
	struct pf_attribute at[3] = {
		{.key = pf_batch_cstring(b, "flag"), .value = {.kind = PF_VALUE_BOOL, .u.b = true}},
		{.key = pf_batch_cstring(b, "ratio"),
		 .value = {.kind = PF_VALUE_DOUBLE, .u.d = 0.5}},
		{.key = pf_batch_cstring(b, "list"),
		 .value = {.kind = PF_VALUE_STRINGS, .u.strs = pf_batch_string_list(b, strs, 2)}},
	};
	uint32_t ai[3];
	for (int i = 0; i < 3; i++)
		ai[i] = pf_batch_attribute(b, &at[i]);
	uint32_t set = pf_batch_attr_set(b, ai, 3);
	uint32_t p = add_profile(b, "samples", "count", 0);
	int64_t v = 1;
	assert_int_equal(pf_batch_add_sample(b, p, s, set, 0, &v, 1, NULL, 0), 0);
	size_t n;
	uint8_t *out = encode_all(b, false, &n);
	Perftools__Profiles__Profile *pp = perftools__profiles__profile__unpack(NULL, n, out);
	assert_non_null(pp);
	char *text = dump(pp);
	assert_non_null(strstr(text, "sample 1 flag=true ratio=0.5 list=a list=b\n"));
	free(text);
	perftools__profiles__profile__free_unpacked(pp, NULL);
	free(out);
	pf_batch_unref(b);
}

static void test_groups(void **state)
{
	struct pf_batch *b = pf_batch_new();
	add_profile(b, "samples", "count", 1);
	add_profile(b, "cpu", "nanoseconds", 1);
	add_profile(b, "samples", "count", 2);
	add_profile(b, "samples", "count", 1); /* type already in group 0 */
	add_profile(b, "cpu", "nanoseconds", 2);
	uint32_t g[5];
	assert_int_equal(pf_pprof_groups(b, g), 3);
	assert_int_equal(g[0], 0);
	assert_int_equal(g[1], 0);
	assert_int_equal(g[2], 1);
	assert_int_equal(g[3], 2);
	assert_int_equal(g[4], 1);
	pf_batch_unref(b);
}

/* Found by fuzzing: a pprof with thousands of equal sample types made
 * grouping cubic. Each becomes its own group, in linear time. */
static void test_groups_many_equal_sample_types(void **state)
{
	struct pf_batch *b = pf_batch_new();
	size_t n = 50000;
	for (size_t i = 0; i < n; i++)
		add_profile(b, "samples", "count", 1);
	uint32_t *g = calloc(n, sizeof(*g));
	assert_non_null(g);
	assert_int_equal(pf_pprof_groups(b, g), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(g[i], i);
	free(g);
	pf_batch_unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_raw),
		cmocka_unit_test(test_empty_location_round_trip),
		cmocka_unit_test(test_round_trip_gzip),
		cmocka_unit_test(test_decode_into_batch),
		cmocka_unit_test(test_go_written_profile),
		cmocka_unit_test(test_go_totals),
		cmocka_unit_test(test_validation_errors),
		cmocka_unit_test(test_wire_errors),
		cmocka_unit_test(test_empty_profile),
		cmocka_unit_test(test_align_by_key),
		cmocka_unit_test(test_encode_only_used),
		cmocka_unit_test(test_encode_label_kinds),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_groups_many_equal_sample_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
