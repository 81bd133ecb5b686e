// SPDX-License-Identifier: Apache-2.0
/* unit.ebpf_decode: drained BPF counts become one resource and two CPU profiles per process, as semconv.h says. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/batch.h"
#include "model/semconv.h"
#include "receivers/ebpf/ebpf.h"

#define PERIOD_99HZ 10101010 /* 1e9 / 99 */

static const uint64_t KIPS[] = {0xffffffff81000100ull, 0xffffffff81000200ull};
static const uint64_t UIPS[] = {0x401010, 0x7f0000001234ull, 0x401500};
static const uint64_t JIT_IPS[] = {0x7e0000000040ull, 0x401020};
static const uint64_t LOST_IPS[] = {0x1234};

static struct pf_ebpf_mapping APP_MAPS[] = {
	{.start = 0x401000,
	 .end = 0x402000,
	 .offset = 0x1000,
	 .path = "/usr/bin/app",
	 .build_id = "00112233445566778899aabbccddeeff00112233"},
	{.start = 0x7e0000000000ull, .end = 0x7e0000100000ull, .path = ""},
	{.start = 0x7f0000000000ull,
	 .end = 0x7f0000100000ull,
	 .offset = 0x28000,
	 .path = "/lib/libc.so.6"},
};

static const struct pf_ebpf_proc APP = {
	.pid = 100,
	.comm = "app",
	.exe = "/usr/bin/app",
	.cmdline = "/usr/bin/app --serve",
	.container_id = "3f4e5d6c7b8a99887766554433221100aabbccddeeff00112233445566778899",
	.maps = {APP_MAPS, 3},
};

static const struct pf_ebpf_proc DELETED = {
	.pid = 300,
	.comm = "old",
	.exe = "/opt/old (deleted)",
};

static const struct pf_ebpf_proc *lookup(void *arg, uint32_t pid)
{
	int *calls = arg;

	(*calls)++;
	if (pid == APP.pid)
		return &APP;
	if (pid == DELETED.pid)
		return &DELETED;
	return NULL;
}

static struct pf_ebpf_record rec(uint32_t pid, uint32_t tid, const char *comm, uint64_t count,
				 const uint64_t *k, uint32_t nk, const uint64_t *u, uint32_t nu)
{
	struct pf_ebpf_record r = {.pid = pid, .tid = tid, .count = count};

	strncpy(r.comm, comm, sizeof(r.comm));
	r.kips = k;
	r.n_kips = nk;
	r.uips = u;
	r.n_uips = nu;
	return r;
}

static const char *attr_str(const struct pf_batch *b, uint32_t set, const char *key)
{
	const struct pf_value *v = pf_batch_attr_lookup(b, set, key);

	if (!v)
		return NULL;
	assert_int_equal(v->kind, PF_VALUE_STRING);
	return pf_batch_str(b, v->u.str);
}

static int64_t attr_int(const struct pf_batch *b, uint32_t set, const char *key)
{
	const struct pf_value *v = pf_batch_attr_lookup(b, set, key);

	assert_non_null(v);
	assert_int_equal(v->kind, PF_VALUE_INT);
	return v->u.i;
}

/* The profile index of pid's profile with the given sample type, or -1. */
static int find_profile(const struct pf_batch *b, int64_t pid, const char *type)
{
	for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
		const struct pf_resource *r = pf_batch_resource_get(b, d->resource);
		if (attr_int(b, r->attrs, PF_ATTR_PROCESS_PID) == pid &&
		    strcmp(pf_batch_str(b, d->sample_type.type), type) == 0)
			return (int)p;
	}
	return -1;
}

/* Files known by build ID (as other processes' maps tell the receiver). */
static const char *id_path(void *arg, const char *id)
{
	if (!strcmp(id, "00112233445566778899aabbccddeeff00112233"))
		return "/usr/bin/app";
	if (!strcmp(id, "aabbccddeeff00112233445566778899")) /* 16 bytes */
		return "/lib/libz.so.1";
	return NULL;
}

static struct pf_batch *decode(const struct pf_ebpf_record *recs, size_t n, int *calls, int *ret)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_ebpf_decode_in in = {
		.host_name = "node-1",
		.frequency = 99,
		.time_unix_nano = 1000,
		.duration_nano = 10,
		.records = recs,
		.n_records = n,
		.lookup = lookup,
		.build_id_path = id_path,
		.arg = calls,
	};

	assert_non_null(b);
	*ret = pf_ebpf_decode(b, &in);
	return b;
}

static void test_profiles_and_resource(void **state)
{
	struct pf_ebpf_record recs[] = {
		rec(100, 101, "worker", 7, KIPS, 2, UIPS, 3),
		rec(100, 100, "app", 3, NULL, 0, UIPS, 3),
	};
	int calls = 0, ret;
	struct pf_batch *b = decode(recs, 2, &calls, &ret);

	assert_int_equal(ret, 4);
	assert_int_equal(calls, 1); /* one lookup per process */
	assert_int_equal(pf_batch_n_profiles(b), 2);
	int pc = find_profile(b, 100, "samples"), pn = find_profile(b, 100, "cpu");
	assert_true(pc >= 0 && pn >= 0);
	const struct pf_profile_desc *dc = pf_batch_profile_get(b, (uint32_t)pc);
	const struct pf_profile_desc *dn = pf_batch_profile_get(b, (uint32_t)pn);
	assert_string_equal(pf_batch_str(b, dc->sample_type.unit), "count");
	assert_string_equal(pf_batch_str(b, dn->sample_type.unit), "nanoseconds");
	assert_string_equal(pf_batch_str(b, dc->period_type.type), "cpu");
	assert_string_equal(pf_batch_str(b, dc->period_type.unit), "nanoseconds");
	assert_int_equal(dc->period, PERIOD_99HZ);
	assert_int_equal(dn->period, PERIOD_99HZ);
	assert_true(dc->time_unix_nano == 1000 && dc->duration_nano == 10);
	assert_int_equal(dc->resource, dn->resource);
	assert_string_equal(pf_batch_str(b, pf_batch_scope_get(b, dc->scope)->name),
			    "proflow/receiver/ebpf");

	uint32_t res = pf_batch_resource_get(b, dc->resource)->attrs;
	assert_string_equal(attr_str(b, res, PF_ATTR_HOST_NAME), "node-1");
	assert_int_equal(attr_int(b, res, PF_ATTR_PROCESS_PID), 100);
	assert_string_equal(attr_str(b, res, PF_ATTR_PROCESS_EXECUTABLE_NAME), "app");
	assert_string_equal(attr_str(b, res, PF_ATTR_PROCESS_EXECUTABLE_PATH), "/usr/bin/app");
	assert_string_equal(attr_str(b, res, PF_ATTR_PROCESS_COMMAND_LINE), "/usr/bin/app --serve");
	assert_string_equal(attr_str(b, res, PF_ATTR_CONTAINER_ID), APP.container_id);

	size_t n;
	const struct pf_sample *s = pf_batch_samples(b, (uint32_t)pc, &n);
	assert_int_equal(n, 2);
	int64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t tid = attr_int(b, s[i].attrs, PF_ATTR_THREAD_ID);
		const char *name = attr_str(b, s[i].attrs, PF_ATTR_THREAD_NAME);
		int64_t v = pf_batch_sample_values(b, &s[i])[0];
		assert_true((tid == 101 && strcmp(name, "worker") == 0 && v == 7) ||
			    (tid == 100 && strcmp(name, "app") == 0 && v == 3));
		total += v;
	}
	assert_int_equal(total, 10);
	s = pf_batch_samples(b, (uint32_t)pn, &n);
	assert_int_equal(n, 2);
	total = 0;
	for (size_t i = 0; i < n; i++)
		total += pf_batch_sample_values(b, &s[i])[0];
	assert_int_equal(total, 10LL * PERIOD_99HZ);
	pf_batch_unref(b);
}

static const char *frame_type(const struct pf_batch *b, const struct pf_location *l)
{
	return attr_str(b, l->attrs, PF_ATTR_FRAME_TYPE);
}

/* Asserts that location `idx` is the marker of a stack cut short for `why`. */
static void assert_marker(const struct pf_batch *b, uint32_t idx, uint32_t why)
{
	const struct pf_location *l = pf_batch_location_get(b, idx);
	const struct pf_line *line;
	size_t n_lines;

	assert_string_equal(frame_type(b, l), PF_FRAME_ABORT);
	assert_int_equal(l->mapping, 0);
	assert_true(l->address == 0);
	line = pf_batch_location_lines(b, idx, &n_lines);
	assert_int_equal(n_lines, 1);
	assert_string_equal(pf_batch_str(b, pf_batch_function_get(b, line->function)->name),
			    pf_ebpf_truncation_name(why));
}

/* A user stack the BPF program could not finish ends with a marker frame
 * that says why, after every frame it found. */
static void test_truncated_stack_marked(void **state)
{
	struct pf_ebpf_record recs[] = {rec(100, 101, "worker", 1, KIPS, 2, UIPS, 2)};
	int calls = 0, ret;
	struct pf_batch *b;
	size_t n, n_locs;

	recs[0].truncated = PF_BPF_TRUNC_NO_MAPPING;
	b = decode(recs, 1, &calls, &ret);
	assert_int_equal(ret, 2);
	const struct pf_sample *s = pf_batch_samples(b, 0, &n);
	const uint32_t *locs = pf_batch_stack_get(b, s[0].stack, &n_locs);
	assert_int_equal(n_locs, 5);
	assert_true(pf_batch_location_get(b, locs[3])->address == UIPS[1]);
	assert_marker(b, locs[4], PF_BPF_TRUNC_NO_MAPPING);
	assert_string_equal(pf_ebpf_truncation_name(PF_BPF_TRUNC_NO_MAPPING),
			    "[truncated: return address in no executable mapping]");
	assert_string_equal(pf_ebpf_truncation_name(0), "[truncated]");
	assert_string_equal(pf_ebpf_truncation_name(PF_BPF_TRUNC__COUNT), "[truncated]");
	pf_batch_unref(b);
}

/* A frame found by frame pointer keeps its address and says how it was found. */
static void test_frame_pointer_frame_marked(void **state)
{
	const uint64_t uips[] = {UIPS[0], UIPS[1] | PF_BPF_FRAME_BY_FP, UIPS[2]};
	struct pf_ebpf_record recs[] = {rec(100, 101, "worker", 1, NULL, 0, uips, 3)};
	int calls = 0, ret;
	struct pf_batch *b = decode(recs, 1, &calls, &ret);
	size_t n, n_locs;
	const struct pf_value *v;

	assert_int_equal(ret, 2);
	const struct pf_sample *s = pf_batch_samples(b, 0, &n);
	const uint32_t *locs = pf_batch_stack_get(b, s[0].stack, &n_locs);
	assert_int_equal(n_locs, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct pf_location *l = pf_batch_location_get(b, locs[i]);

		assert_true(l->address == UIPS[i]);
		assert_string_equal(frame_type(b, l), PF_FRAME_NATIVE);
		v = pf_batch_attr_lookup(b, l->attrs, PF_ATTR_FRAME_UNWIND);
		if (i == 1)
			assert_string_equal(attr_str(b, l->attrs, PF_ATTR_FRAME_UNWIND),
					    PF_UNWIND_FRAME_POINTER);
		else
			assert_null(v);
	}
	pf_batch_unref(b);
}

static void test_stack_layout(void **state)
{
	struct pf_ebpf_record recs[] = {rec(100, 101, "worker", 1, KIPS, 2, UIPS, 3)};
	int calls = 0, ret;
	struct pf_batch *b = decode(recs, 1, &calls, &ret);
	size_t n, n_locs;

	assert_int_equal(ret, 2);
	const struct pf_sample *s = pf_batch_samples(b, 0, &n);
	const uint32_t *locs = pf_batch_stack_get(b, s[0].stack, &n_locs);
	assert_int_equal(n_locs, 5); /* kernel frames, then user frames, leaf first */

	for (int i = 0; i < 2; i++) {
		const struct pf_location *l = pf_batch_location_get(b, locs[i]);
		const struct pf_mapping *m = pf_batch_mapping_get(b, l->mapping);
		assert_true(l->address == KIPS[i]);
		assert_string_equal(frame_type(b, l), PF_FRAME_KERNEL);
		assert_string_equal(pf_batch_str(b, m->filename), PF_KERNEL_MAPPING);
		assert_true(m->memory_start == 0 && m->memory_limit == UINT64_MAX);
		assert_int_equal(l->lines_len, 0);
	}
	const struct pf_location *app = pf_batch_location_get(b, locs[2]);
	const struct pf_mapping *m = pf_batch_mapping_get(b, app->mapping);
	assert_true(app->address == UIPS[0]);
	assert_string_equal(frame_type(b, app), PF_FRAME_NATIVE);
	assert_string_equal(pf_batch_str(b, m->filename), "/usr/bin/app");
	assert_true(m->memory_start == 0x401000 && m->memory_limit == 0x402000);
	assert_true(m->file_offset == 0x1000);
	assert_string_equal(attr_str(b, m->attrs, PF_ATTR_BUILD_ID_GNU), APP_MAPS[0].build_id);
	assert_int_equal(app->lines_len, 0);

	const struct pf_location *libc = pf_batch_location_get(b, locs[3]);
	m = pf_batch_mapping_get(b, libc->mapping);
	assert_string_equal(pf_batch_str(b, m->filename), "/lib/libc.so.6");
	assert_true(m->file_offset == 0x28000);
	assert_int_equal(m->attrs, 0); /* no build id known */
	assert_int_equal(pf_batch_location_get(b, locs[4])->mapping, app->mapping);
	pf_batch_unref(b);
}

static void test_jit_and_unknown_frames(void **state)
{
	struct pf_ebpf_record recs[] = {
		rec(100, 100, "app", 2, NULL, 0, JIT_IPS, 2),
		rec(100, 100, "app", 1, NULL, 0, LOST_IPS, 1),
	};
	int calls = 0, ret;
	struct pf_batch *b = decode(recs, 2, &calls, &ret);
	size_t n, n_locs;

	assert_int_equal(ret, 4);
	const struct pf_sample *s = pf_batch_samples(b, 0, &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		const uint32_t *locs = pf_batch_stack_get(b, s[i].stack, &n_locs);
		const struct pf_location *leaf = pf_batch_location_get(b, locs[0]);
		if (n_locs == 2) {
			const struct pf_mapping *m = pf_batch_mapping_get(b, leaf->mapping);
			assert_string_equal(pf_batch_str(b, m->filename), PF_ANON_MAPPING);
			assert_string_equal(frame_type(b, leaf), PF_FRAME_JIT);
		} else {
			assert_int_equal(n_locs, 1);
			assert_int_equal(leaf->mapping, 0); /* outside every mapping */
			assert_true(leaf->address == 0x1234);
			assert_string_equal(frame_type(b, leaf), PF_FRAME_NATIVE);
		}
	}
	pf_batch_unref(b);
}

static void test_unknown_and_deleted_processes(void **state)
{
	struct pf_ebpf_record recs[] = {
		rec(200, 201, "kworker/0:1", 4, KIPS, 1, NULL, 0),
		rec(300, 300, "old", 1, NULL, 0, UIPS, 1),
		rec(0, 0, "swapper/0", 0, KIPS, 1, NULL, 0), /* zero count: skipped */
	};
	int calls = 0, ret;
	struct pf_batch *b = decode(recs, 3, &calls, &ret);

	assert_int_equal(ret, 4);
	assert_int_equal(pf_batch_n_profiles(b), 4);
	int p = find_profile(b, 200, "samples");
	assert_true(p >= 0);
	uint32_t res =
		pf_batch_resource_get(b, pf_batch_profile_get(b, (uint32_t)p)->resource)->attrs;
	assert_string_equal(attr_str(b, res, PF_ATTR_PROCESS_EXECUTABLE_NAME), "kworker/0:1");
	assert_null(attr_str(b, res, PF_ATTR_PROCESS_EXECUTABLE_PATH));
	assert_null(attr_str(b, res, PF_ATTR_PROCESS_COMMAND_LINE));
	assert_null(attr_str(b, res, PF_ATTR_CONTAINER_ID));
	p = find_profile(b, 300, "cpu");
	res = pf_batch_resource_get(b, pf_batch_profile_get(b, (uint32_t)p)->resource)->attrs;
	assert_string_equal(attr_str(b, res, PF_ATTR_PROCESS_EXECUTABLE_NAME), "old");
	assert_string_equal(attr_str(b, res, PF_ATTR_PROCESS_EXECUTABLE_PATH),
			    "/opt/old (deleted)");
	assert_int_equal(find_profile(b, 0, "samples"), -1);
	pf_batch_unref(b);
}

static void test_empty_and_comm_edges(void **state)
{
	struct pf_ebpf_record recs[] = {rec(200, 200, "", 1, NULL, 0, NULL, 0)};
	int calls = 0, ret;
	struct pf_batch *b = decode(recs, 0, &calls, &ret);

	assert_int_equal(ret, 0);
	assert_int_equal(pf_batch_n_profiles(b), 1 - 1);
	pf_batch_unref(b);
	/* A 16-byte name without a NUL, and a sample with no frames at all. */
	memcpy(recs[0].comm, "0123456789abcdef", 16);
	b = decode(recs, 1, &calls, &ret);
	assert_int_equal(ret, 2);
	size_t n;
	const struct pf_sample *s = pf_batch_samples(b, 0, &n);
	assert_string_equal(attr_str(b, s[0].attrs, PF_ATTR_THREAD_NAME), "0123456789abcdef");
	assert_int_equal(s[0].stack, 0);
	pf_batch_unref(b);
}

/* A shell's child samples as the shell until it execs app: those samples
 * are a process of their own, named by their thread, and app's maps do not
 * name their frames (they were counted as app's, in app's mappings). */
static void test_samples_of_an_earlier_image(void **state)
{
	struct pf_ebpf_record recs[] = {
		rec(100, 100, "app", 5, NULL, 0, UIPS, 1),
		rec(100, 100, "bash", 2, KIPS, 1, UIPS, 1),
	};
	int calls = 0, ret;
	size_t n, n_locs;

	recs[1].other_image = true;
	struct pf_batch *b = decode(recs, 2, &calls, &ret);
	assert_int_equal(ret, 4);
	assert_int_equal(calls, 1); /* the earlier image is not looked up */
	assert_int_equal(pf_batch_n_profiles(b), 4);
	for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
		uint32_t res = pf_batch_resource_get(b, d->resource)->attrs;
		const char *exe = attr_str(b, res, PF_ATTR_PROCESS_EXECUTABLE_NAME);
		const struct pf_sample *s = pf_batch_samples(b, p, &n);

		assert_int_equal(attr_int(b, res, PF_ATTR_PROCESS_PID), 100);
		assert_int_equal(n, 1);
		const uint32_t *locs = pf_batch_stack_get(b, s[0].stack, &n_locs);
		const struct pf_location *user = pf_batch_location_get(b, locs[n_locs - 1]);
		assert_true(user->address == UIPS[0]);
		if (!strcmp(exe, "app")) {
			assert_int_equal(n_locs, 1);
			int64_t v = pf_batch_sample_values(b, &s[0])[0];
			assert_true(v == 5 || v == 5LL * PERIOD_99HZ);
			assert_string_equal(attr_str(b, res, PF_ATTR_PROCESS_EXECUTABLE_PATH),
					    "/usr/bin/app");
			assert_int_not_equal(user->mapping, 0);
		} else {
			assert_string_equal(exe, "bash");
			assert_int_equal(n_locs, 2);
			assert_null(attr_str(b, res, PF_ATTR_PROCESS_EXECUTABLE_PATH));
			assert_null(attr_str(b, res, PF_ATTR_PROCESS_COMMAND_LINE));
			assert_int_equal(user->mapping, 0); /* in none of app's mappings */
		}
	}
	pf_batch_unref(b);
}

static struct pf_bpf_bframe bframe(int status, const char *hex, uint64_t offset)
{
	struct pf_bpf_bframe f = {.status = status, .offset = offset};

	for (size_t i = 0; hex && hex[2 * i]; i++)
		sscanf(hex + 2 * i, "%2hhx", &f.build_id[i]);
	return f;
}

/* The mapping filename and file offset of location i of a stack. */
static const char *frame_file(const struct pf_batch *b, const uint32_t *locs, size_t i,
			      uint64_t *off, const char **id)
{
	const struct pf_location *l = pf_batch_location_get(b, locs[i]);
	const struct pf_mapping *m = pf_batch_mapping_get(b, l->mapping);

	*off = l->address - m->memory_start + m->file_offset;
	*id = attr_str(b, m->attrs, PF_ATTR_BUILD_ID_GNU);
	assert_string_equal(frame_type(b, l), PF_FRAME_NATIVE);
	return pf_batch_str(b, m->filename);
}

static void test_build_id_frames(void **state)
{
	const char *app_id = APP_MAPS[0].build_id;
	struct pf_bpf_bframe frames[] = {
		bframe(PF_BPF_BFRAME_VALID, app_id, 0x1010), /* in the process's mapping */
		bframe(PF_BPF_BFRAME_VALID, "aabbccddeeff00112233445566778899", 0x2345),
		bframe(PF_BPF_BFRAME_VALID, "feedfacefeedfacefeedfacefeedfacefeedface", 0x99),
		bframe(PF_BPF_BFRAME_IP, NULL, 0x401500), /* the kernel kept the address */
		bframe(PF_BPF_BFRAME_VALID, app_id, 0xffffaab86fc2a000ull), /* wrapped: dropped */
	};
	struct pf_ebpf_record recs[] = {rec(100, 100, "app", 2, NULL, 0, NULL, 0),
					rec(400, 400, "gone", 1, NULL, 0, NULL, 0)};
	int calls = 0, ret;
	size_t n, n_locs;
	uint64_t off;
	const char *id;

	recs[0].ubf = frames;
	recs[0].n_ubf = 5;
	recs[1].ubf = frames; /* a process whose maps were never read */
	recs[1].n_ubf = 1;
	struct pf_batch *b = decode(recs, 2, &calls, &ret);
	assert_int_equal(ret, 4);

	const struct pf_sample *s =
		pf_batch_samples(b, (uint32_t)find_profile(b, 100, "samples"), &n);
	const uint32_t *locs = pf_batch_stack_get(b, s[0].stack, &n_locs);
	/* Four frames and the marker: the wrapped frame ended the stack. */
	assert_int_equal(n_locs, 5);
	assert_marker(b, locs[4], PF_BPF_TRUNC_NOT_CODE);
	/* The same location as the address the frame walk would have found. */
	const struct pf_location *l = pf_batch_location_get(b, locs[0]);
	assert_true(l->address == 0x401010);
	assert_string_equal(frame_file(b, locs, 0, &off, &id), "/usr/bin/app");
	assert_true(pf_batch_mapping_get(b, l->mapping)->memory_start == 0x401000);
	/* A 16-byte build ID, padded by the kernel, named by the file it is known by. */
	assert_string_equal(frame_file(b, locs, 1, &off, &id), "/lib/libz.so.1");
	assert_true(off == 0x2345);
	assert_string_equal(id, "aabbccddeeff00112233445566778899");
	/* Unknown anywhere: the build ID names it. */
	assert_string_equal(frame_file(b, locs, 2, &off, &id),
			    "feedfacefeedfacefeedfacefeedfacefeedface");
	assert_true(off == 0x99);
	assert_true(pf_batch_location_get(b, locs[3])->address == 0x401500);
	assert_int_equal(pf_batch_location_get(b, locs[3])->mapping, l->mapping);

	s = pf_batch_samples(b, (uint32_t)find_profile(b, 400, "samples"), &n);
	locs = pf_batch_stack_get(b, s[0].stack, &n_locs);
	/* Walked by the kernel before any table was loaded: not known complete. */
	assert_int_equal(n_locs, 2);
	assert_marker(b, locs[1], PF_BPF_TRUNC_NO_TABLES);
	assert_string_equal(frame_file(b, locs, 0, &off, &id), "/usr/bin/app");
	assert_true(off == 0x1010);
	assert_string_equal(id, app_id);
	pf_batch_unref(b);
}

/* The kernel's frame-pointer walk of a young process went through code
 * without frame pointers and took a data word of app for a return address:
 * no frame, nor is anything past it (they were named as app+offset). */
static void test_build_id_frame_in_data_ends_the_stack(void **state)
{
	const char *app_id = APP_MAPS[0].build_id;
	struct pf_bpf_bframe frames[] = {
		bframe(PF_BPF_BFRAME_VALID, app_id, 0x1010),
		bframe(PF_BPF_BFRAME_VALID, "aabbccddeeff00112233445566778899", 0x2345),
		bframe(PF_BPF_BFRAME_VALID, app_id, 0x5008), /* app's data: not mapped x */
		bframe(PF_BPF_BFRAME_VALID, app_id, 0x1500),
	};
	struct pf_ebpf_record recs[] = {rec(100, 100, "app", 3, NULL, 0, NULL, 0),
					rec(400, 400, "gone", 1, NULL, 0, NULL, 0)};
	uint64_t not_code = 0;
	struct pf_batch *b = pf_batch_new();
	struct pf_ebpf_decode_in in = {
		.frequency = 99,
		.records = recs,
		.n_records = 2,
		.lookup = lookup,
		.build_id_path = id_path,
		.arg = &(int){0},
		.not_code = &not_code,
	};
	size_t n, n_locs;

	recs[0].ubf = frames;
	recs[0].n_ubf = 4;
	recs[1].ubf = frames; /* maps never read: nothing tells data from code */
	recs[1].n_ubf = 4;
	assert_non_null(b);
	assert_int_equal(pf_ebpf_decode(b, &in), 4);
	const struct pf_sample *s =
		pf_batch_samples(b, (uint32_t)find_profile(b, 100, "samples"), &n);
	pf_batch_stack_get(b, s[0].stack, &n_locs);
	assert_int_equal(n_locs, 3); /* two frames and the marker */
	assert_true(not_code == 3);
	s = pf_batch_samples(b, (uint32_t)find_profile(b, 400, "samples"), &n);
	pf_batch_stack_get(b, s[0].stack, &n_locs);
	assert_int_equal(n_locs, 5); /* four frames and the marker */
	pf_batch_unref(b);
}

static void test_event_decode(void **state)
{
	struct pf_bpf_event in = {
		.type = PF_BPF_EV_EXEC, .pid = 42, .old_pid = 43, .exec_id = 7, .time_ns = 9};
	struct pf_bpf_event out;
	unsigned char big[sizeof(in) + 8] = {0};

	memcpy(in.comm, "0123456789abcdef", 16); /* no NUL from a hostile writer */
	memset(in.filename, 'x', sizeof(in.filename));
	assert_int_equal(pf_ebpf_event_decode(&in, sizeof(in), &out), 0);
	assert_int_equal(strlen(out.filename), PF_BPF_PATH_LEN - 1);
	assert_int_equal(out.pid, 42);
	assert_int_equal(out.old_pid, 43);
	assert_int_equal(out.exec_id, 7);
	assert_int_equal(strlen(out.comm), 15);
	assert_int_equal(pf_ebpf_event_decode(&in, sizeof(in) - 1, &out), -EINVAL);
	assert_int_equal(pf_ebpf_event_decode(NULL, 0, &out), -EINVAL);
	in.type = 77;
	assert_int_equal(pf_ebpf_event_decode(&in, sizeof(in), &out), -EINVAL);
	in.type = PF_BPF_EV_EXIT;
	memcpy(big, &in, sizeof(in));
	assert_int_equal(pf_ebpf_event_decode(big, sizeof(big), &out), 0);
	assert_int_equal(out.type, PF_BPF_EV_EXIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles_and_resource),
		cmocka_unit_test(test_stack_layout),
		cmocka_unit_test(test_truncated_stack_marked),
		cmocka_unit_test(test_frame_pointer_frame_marked),
		cmocka_unit_test(test_jit_and_unknown_frames),
		cmocka_unit_test(test_unknown_and_deleted_processes),
		cmocka_unit_test(test_empty_and_comm_edges),
		cmocka_unit_test(test_samples_of_an_earlier_image),
		cmocka_unit_test(test_build_id_frames),
		cmocka_unit_test(test_build_id_frame_in_data_ends_the_stack),
		cmocka_unit_test(test_event_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
