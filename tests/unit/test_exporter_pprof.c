// SPDX-License-Identifier: Apache-2.0
/* unit.exporter_pprof: file names, atomic writes, rotation, and the exporter on a real loop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "exporters/pprof/files.h"
#include "formats/pprof/pprof.h"
#include "files/files.h"
#include "sinks_harness.h"

#define T0_NS  (1795760100ULL * 1000000000ULL + 123000000ULL) /* 2026-11-27T06:15:00.123Z */
#define SEC_NS 1000000000ULL

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* A new directory under `parent` as the test's state. */
static int make_dir(void **state, const char *parent)
{
	char *dir = NULL;

	if (asprintf(&dir, "%s/pf_pprof_test.XXXXXX", parent) < 0)
		return -1;
	if (!mkdtemp(dir)) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

static int setup_dir(void **state)
{
	return make_dir(state, "/tmp");
}

/* In memory where there is /dev/shm: thousands of files without an fsync
 * each to the disk, for the tests about names and counts. */
static int setup_mem_dir(void **state)
{
	return make_dir(state, access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
}

static int teardown_dir(void **state)
{
	nftw(*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(*state);
	return 0;
}

/* Names in dir (sorted), hidden ones included; returns how many. */
static size_t list_dir(const char *dir, char names[][256], size_t max)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	size_t k = 0;

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, "..") && k < max)
			snprintf(names[k++], 256, "%s", ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	return k;
}

static void touch(const char *dir, const char *name, uint64_t mtime_s)
{
	char path[512];
	struct timespec ts[2] = {{.tv_sec = (time_t)mtime_s}, {.tv_sec = (time_t)mtime_s}};
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void test_sanitize(void **state)
{
	char out[16];

	assert_int_equal(pf_files_sanitize("my svc/../x", 64, out, sizeof(out)), 11);
	assert_string_equal(out, "my_svc_.._x");
	pf_files_sanitize(".hidden", 64, out, sizeof(out));
	assert_string_equal(out, "_hidden");
	pf_files_sanitize("abcdefghijklmnopqrstuvwxyz", 64, out, sizeof(out));
	assert_string_equal(out, "abcdefghijklmno");
	pf_files_sanitize("abcdef", 3, out, sizeof(out));
	assert_string_equal(out, "abc");
	pf_files_sanitize("caf\xc3\xa9", 64, out, sizeof(out));
	assert_string_equal(out, "caf__");
	pf_files_sanitize(NULL, 64, out, sizeof(out));
	assert_string_equal(out, "");
}

static void test_name(void **state)
{
	struct pf_batch *b = pf_batch_new();
	char name[PF_PPROF_FILES_NAME_MAX];
	uint32_t p0 = sh_profile(b, "checkout", 1234, "cpu", "nanoseconds", T0_NS);
	uint32_t p1 = sh_profile(b, "web/api v2", -1, "samples", "count", T0_NS);
	uint32_t p2 = sh_profile(b, NULL, -1, "alloc_space", "bytes", 0);
	struct pf_resource r = {0};
	struct pf_profile_desc d = *pf_batch_profile_get(b, p0);
	uint32_t a = pf_batch_attr_str(b, "process.executable.name", "my app");
	uint32_t p3;

	r.attrs = pf_batch_attr_set(b, &a, 1);
	d.resource = pf_batch_resource(b, &r);
	p3 = pf_batch_add_profile(b, &d);

	assert_string_equal(pf_pprof_files_name(b, p0, NULL, NULL, 0, name, sizeof(name)),
			    "checkout.pid1234.cpu_nanoseconds.20261127T061500.123Z");
	assert_string_equal(pf_pprof_files_name(b, p0, "node1-", NULL, 0, name, sizeof(name)),
			    "node1-checkout.pid1234.cpu_nanoseconds.20261127T061500.123Z");
	assert_string_equal(pf_pprof_files_name(b, p1, NULL, NULL, 0, name, sizeof(name)),
			    "web_api_v2.samples_count.20261127T061500.123Z");
	/* No time in the profile: the time given. */
	assert_string_equal(
		pf_pprof_files_name(b, p2, NULL, NULL, T0_NS + 2 * SEC_NS, name, sizeof(name)),
		"unknown.alloc_space_bytes.20261127T061502.123Z");
	assert_string_equal(pf_pprof_files_name(b, p3, NULL, NULL, 0, name, sizeof(name)),
			    "my_app.cpu_nanoseconds.20261127T061500.123Z");
	pf_batch_unref(b);
}

static void read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void test_write_collisions(void **state)
{
	const char *dir = *state;
	struct pf_files_seq seq = {0};
	char path[512], names[8][256], buf[64];

	assert_int_equal(pf_files_write(dir, "a.cpu", ".pb.gz", "one", 3, &seq, path, sizeof(path)),
			 0);
	assert_true(strstr(path, "/a.cpu.pb.gz") != NULL);
	assert_int_equal(pf_files_write(dir, "a.cpu", ".pb.gz", "two", 3, &seq, path, sizeof(path)),
			 0);
	assert_true(strstr(path, "/a.cpu.1.pb.gz") != NULL);
	assert_int_equal(
		pf_files_write(dir, "a.cpu", ".pb.gz", "three", 5, &seq, path, sizeof(path)), 0);
	assert_true(strstr(path, "/a.cpu.2.pb.gz") != NULL);

	/* Nothing else is left behind: no temp files. */
	assert_int_equal(list_dir(dir, names, 8), 3);
	assert_string_equal(names[0], "a.cpu.1.pb.gz");
	assert_string_equal(names[1], "a.cpu.2.pb.gz");
	assert_string_equal(names[2], "a.cpu.pb.gz");
	snprintf(path, sizeof(path), "%s/a.cpu.pb.gz", dir);
	read_file(path, buf, sizeof(buf));
	assert_string_equal(buf, "one");
	snprintf(path, sizeof(path), "%s/a.cpu.2.pb.gz", dir);
	read_file(path, buf, sizeof(buf));
	assert_string_equal(buf, "three");
}

/* A name taken by another writer (a previous run) costs one more rename
 * and is never tried again by this writer; each writer's numbers are its
 * own and never reused. */
static void test_write_collisions_skip_others_files(void **state)
{
	const char *dir = *state;
	struct pf_files_seq seq = {0}, other = {0};
	char path[512];

	touch(dir, "a.cpu.pb.gz", 1000);
	touch(dir, "a.cpu.1.pb.gz", 1000);
	touch(dir, "a.cpu.2.pb.gz", 1000);
	assert_int_equal(pf_files_write(dir, "a.cpu", ".pb.gz", "x", 1, &seq, path, sizeof(path)),
			 0);
	assert_non_null(strstr(path, "/a.cpu.3.pb.gz"));
	assert_int_equal(atomic_load(&seq.next), 3);
	assert_int_equal(pf_files_write(dir, "a.cpu", ".pb.gz", "x", 1, &seq, path, sizeof(path)),
			 0);
	assert_non_null(strstr(path, "/a.cpu.4.pb.gz"));
	assert_int_equal(atomic_load(&seq.next), 4);
	/* Another base name draws from the same numbers: still unique. */
	touch(dir, "b.cpu.pb.gz", 1000);
	assert_int_equal(pf_files_write(dir, "b.cpu", ".pb.gz", "x", 1, &seq, path, sizeof(path)),
			 0);
	assert_non_null(strstr(path, "/b.cpu.5.pb.gz"));
	/* A second writer skips the first one's files once each. */
	assert_int_equal(pf_files_write(dir, "a.cpu", ".pb.gz", "x", 1, &other, path, sizeof(path)),
			 0);
	assert_non_null(strstr(path, "/a.cpu.5.pb.gz"));
	assert_int_equal(atomic_load(&other.next), 5);
}

static void test_write_failure_leaves_nothing(void **state)
{
	const char *dir = *state;
	struct pf_files_seq seq = {0};
	char missing[512], path[512], names[4][256];

	snprintf(missing, sizeof(missing), "%s/missing", dir);
	assert_int_equal(pf_files_write(missing, "a", ".pb.gz", "x", 1, &seq, path, sizeof(path)),
			 -ENOENT);
	assert_string_equal(path, "");
	/* A name too long for the file system: the temp file is removed again. */
	char base[300];

	memset(base, 'n', sizeof(base) - 1);
	base[sizeof(base) - 1] = '\0';
	assert_true(pf_files_write(dir, base, ".pb.gz", "x", 1, &seq, path, sizeof(path)) < 0);
	assert_int_equal(list_dir(dir, names, 4), 0);
}

static void test_rotate_max_files(void **state)
{
	const char *dir = *state;
	uint64_t now = 2000000000;

	touch(dir, "s.1.pb.gz", now - 50);
	touch(dir, "s.2.pb.gz", now - 40);
	touch(dir, "s.3.pb.gz", now - 30);
	touch(dir, "s.4.pb.gz", now - 20);
	touch(dir, "s.5.pb.gz", now - 10);
	touch(dir, "notes.txt", now - 1000);
	touch(dir, ".s.6.pb.gz.abcdef.tmp", now - 1000);
	touch(dir, "other.7.pb.gz", now - 1000);

	/* Only files with the prefix count. */
	assert_int_equal(pf_files_rotate(dir, "s.", ".pb.gz", 2, 0, now * SEC_NS), 3);
	assert_false(exists(dir, "s.1.pb.gz"));
	assert_false(exists(dir, "s.2.pb.gz"));
	assert_false(exists(dir, "s.3.pb.gz"));
	assert_true(exists(dir, "s.4.pb.gz"));
	assert_true(exists(dir, "s.5.pb.gz"));
	assert_true(exists(dir, "other.7.pb.gz"));
	assert_true(exists(dir, "notes.txt"));
	assert_true(exists(dir, ".s.6.pb.gz.abcdef.tmp"));

	/* Without a prefix every visible .pb.gz file is ours. */
	assert_int_equal(pf_files_rotate(dir, "", ".pb.gz", 1, 0, now * SEC_NS), 2);
	assert_true(exists(dir, "s.5.pb.gz"));
	assert_true(exists(dir, "notes.txt"));
	assert_int_equal(pf_files_rotate(dir, "", ".pb.gz", 0, 0, now * SEC_NS), 0);
}

static void test_rotate_max_age(void **state)
{
	const char *dir = *state;
	uint64_t now = 2000000000;

	touch(dir, "a.pb.gz", now - 10);
	touch(dir, "b.pb.gz", now - 100);
	touch(dir, "c.pb.gz", now - 1000);
	assert_int_equal(pf_files_rotate(dir, NULL, ".pb.gz", 0, 60 * SEC_NS, now * SEC_NS), 2);
	assert_true(exists(dir, "a.pb.gz"));
	assert_false(exists(dir, "b.pb.gz"));
	assert_false(exists(dir, "c.pb.gz"));
}

static void test_clean_temp(void **state)
{
	const char *dir = *state;
	uint64_t now = 2000000000;

	touch(dir, ".x.pb.gz.aaaaaa.tmp", now - 7200);
	touch(dir, ".y.pb.gz.bbbbbb.tmp", now - 10);
	touch(dir, "z.pb.gz", now - 7200);
	assert_int_equal(pf_files_clean_temp(dir, "", 3600 * SEC_NS, now * SEC_NS), 1);
	assert_false(exists(dir, ".x.pb.gz.aaaaaa.tmp"));
	assert_true(exists(dir, ".y.pb.gz.bbbbbb.tmp"));
	assert_true(exists(dir, "z.pb.gz"));
}

static void test_mkdir(void **state)
{
	const char *dir = *state;
	char deep[512];

	snprintf(deep, sizeof(deep), "%s/a/b/c", dir);
	assert_int_equal(pf_files_mkdir(deep), 0);
	assert_int_equal(pf_files_mkdir(deep), 0);
	assert_true(exists(dir, "a/b/c"));
	touch(dir, "file", 1);
	snprintf(deep, sizeof(deep), "%s/file", dir);
	assert_int_equal(pf_files_mkdir(deep), -ENOTDIR);
}

/* ---- the exporter ---- */

/* A Go-like CPU profile: samples/count and cpu/nanoseconds sharing stacks. */
static struct pf_batch *cpu_batch(const char *service, int64_t pid, uint64_t t, int64_t scale)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t pc = sh_profile(b, service, pid, "samples", "count", t);
	uint32_t pn = sh_profile(b, service, pid, "cpu", "nanoseconds", t);

	sh_sample(b, pc, (const char *const[]){"main.work", "main.main", NULL}, 3 * scale);
	sh_sample(b, pn, (const char *const[]){"main.work", "main.main", NULL}, 30000000 * scale);
	sh_sample(b, pc, (const char *const[]){"runtime.gc", NULL}, 1 * scale);
	sh_sample(b, pn, (const char *const[]){"runtime.gc", NULL}, 10000000 * scale);
	return b;
}

/* feeder -> pprof into dir; `extra` adds exporter options, `service` lines
 * of the service section. */
static char *pipeline_yaml(const char *dir, const char *extra, const char *service)
{
	char *y = NULL;

	assert_true(asprintf(&y,
			     "receivers:\n  feeder:\n"
			     "exporters:\n  pprof:\n    directory: %s\n%s"
			     "service:\n%s  pipelines:\n    profiles:\n"
			     "      receivers: [feeder]\n      exporters: [pprof]\n",
			     dir, extra, service) > 0);
	return y;
}

static char *yaml_for(const char *dir, const char *extra)
{
	return pipeline_yaml(dir, extra, "");
}

/* The pipeline of yaml_for() with a shutdown_timeout. */
static char *yaml_with_timeout(const char *dir, const char *timeout)
{
	char line[64];

	snprintf(line, sizeof(line), "  shutdown_timeout: %s\n", timeout);
	return pipeline_yaml(dir, "", line);
}

struct sent_cond {
	struct pf_component *c;
	uint64_t want;
};

static bool sent_reached(void *arg)
{
	struct sent_cond *s = arg;

	return pf_component_counter(s->c, PF_CTR_EXPORTER_SENT) +
		       pf_component_counter(s->c, PF_CTR_EXPORTER_SEND_FAILED) >=
	       s->want;
}

static struct pf_batch *load_file(const char *dir, const char *name)
{
	char path[512];
	struct pf_batch *b = pf_batch_new();
	struct pf_pprof_origin origin = {0};
	struct pf_error err = {0};
	FILE *f;
	long size;
	char *data;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)size);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	/* gzip magic: the file is compressed as pprof files must be. */
	assert_true(size > 2 && (uint8_t)data[0] == 0x1f && (uint8_t)data[1] == 0x8b);
	assert_true(pf_pprof_decode(b, &origin, data, (size_t)size, 0, &err) > 0);
	free(data);
	return b;
}

static bool have_go_pprof(void)
{
	return system("go version >/dev/null 2>&1") == 0;
}

static void test_exporter_writes_files(void **state)
{
	const char *dir = *state;
	char *yaml = yaml_for(dir, "");
	struct sh_env env;
	struct pf_batch *b = cpu_batch("checkout", 1234, T0_NS, 1);
	struct pf_batch *other = cpu_batch("cart", -1, T0_NS, 2);
	struct sent_cond cond;
	char names[8][256];

	assert_int_equal(pf_batch_merge(b, other), 0);
	pf_batch_unref(other);
	sh_env_start(&env, yaml);
	cond.c = sh_find(&env, PF_EXPORTER, "pprof");
	cond.want = 8;
	assert_int_equal(pf_component_emit(sh_find(&env, PF_RECEIVER, "feeder"), b), PF_OK);
	assert_true(sh_run_until(&env, sent_reached, &cond, 10000));
	assert_int_equal(pf_component_counter(cond.c, PF_CTR_EXPORTER_SENT), 8);
	assert_int_equal(pf_component_counter(cond.c, PF_CTR_EXPORTER_SEND_FAILED), 0);
	sh_env_stop(&env);
	pf_batch_unref(b);
	free(yaml);

	/* One file per resource, named for its last (default) sample type. */
	assert_int_equal(list_dir(dir, names, 8), 2);
	assert_string_equal(names[0], "cart.cpu_nanoseconds.20261127T061500.123Z.pb.gz");
	assert_string_equal(names[1],
			    "checkout.pid1234.cpu_nanoseconds.20261127T061500.123Z.pb.gz");

	struct pf_batch *got = load_file(dir, names[1]);

	assert_int_equal(pf_batch_n_profiles(got), 2);
	assert_int_equal(sh_sum(got, "samples", NULL), 4);
	assert_int_equal(sh_sum(got, "cpu", NULL), 40000000);
	assert_int_equal(sh_sum(got, "cpu", "main.work"), 30000000);
	pf_batch_unref(got);
	got = load_file(dir, names[0]);
	assert_int_equal(sh_sum(got, "cpu", "runtime.gc"), 20000000);
	pf_batch_unref(got);

	if (have_go_pprof()) {
		char *cmd = NULL;

		assert_true(asprintf(&cmd, "go tool pprof -top '%s/%s' 2>&1 | grep -q 'main.work'",
				     dir, names[1]) > 0);
		assert_int_equal(system(cmd), 0);
		free(cmd);
	} else {
		print_message("go not found: not checking with go tool pprof\n");
	}
}

/* The sum of the samples of type `type` whose label `key` is `value`. */
static int64_t sum_labelled(const struct pf_batch *b, const char *type, const char *key,
			    const char *value)
{
	int64_t sum = 0;
	char num[32];

	for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
		size_t n = 0;
		const struct pf_sample *s = pf_batch_samples(b, p, &n);

		if (strcmp(pf_batch_str(b, d->sample_type.type), type) != 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			const char *v = pf_batch_attr_text(b, s[i].attrs, key, num, sizeof(num));

			if (v && strcmp(v, value) == 0)
				sum += pf_batch_sample_total(b, &s[i]);
		}
	}
	return sum;
}

/* group_by none: one file for the batch, its processes merged, each sample
 * labelled with its process's resource attributes. */
static void test_exporter_group_by_none_merges_processes(void **state)
{
	const char *dir = *state;
	char *yaml = yaml_for(dir, "    group_by: none\n");
	struct pf_batch *b = cpu_batch("checkout", 1234, T0_NS, 1);
	struct pf_batch *other = cpu_batch("cart", 99, T0_NS + SEC_NS, 2), *got;
	struct sh_env env;
	char names[4][256];

	assert_int_equal(pf_batch_merge(b, other), 0);
	pf_batch_unref(other);
	sh_env_start(&env, yaml);
	assert_int_equal(pf_component_emit(sh_find(&env, PF_RECEIVER, "feeder"), b), PF_OK);
	assert_true(sh_wait_settled(&env, "pprof", 8, 10000));
	assert_int_equal(
		pf_component_counter(sh_find(&env, PF_EXPORTER, "pprof"), PF_CTR_EXPORTER_SENT), 8);
	sh_env_stop(&env);
	pf_batch_unref(b);
	free(yaml);

	assert_int_equal(list_dir(dir, names, 4), 1);
	assert_string_equal(names[0], "merged.cpu_nanoseconds.20261127T061500.123Z.pb.gz");
	got = load_file(dir, names[0]);
	assert_int_equal(pf_batch_n_profiles(got), 2);
	assert_int_equal(sh_sum(got, "samples", NULL), 12);
	assert_int_equal(sh_sum(got, "cpu", NULL), 120000000);
	assert_int_equal(sh_sum(got, "cpu", "main.work"), 90000000);
	assert_int_equal(sum_labelled(got, "cpu", "service.name", "checkout"), 40000000);
	assert_int_equal(sum_labelled(got, "cpu", "service.name", "cart"), 80000000);
	assert_int_equal(sum_labelled(got, "samples", "process.pid", "99"), 8);
	/* The profile covers both processes' time ranges. */
	assert_int_equal(pf_batch_profile_get(got, 0)->time_unix_nano, T0_NS);
	assert_int_equal(pf_batch_profile_get(got, 0)->duration_nano, 2 * SEC_NS);
	pf_batch_unref(got);
}

static bool mapping_flag(const struct pf_batch *b, const char *file, const char *flag)
{
	for (uint32_t i = 1; i < pf_batch_n_mappings(b); i++) {
		const struct pf_mapping *m = pf_batch_mapping_get(b, i);
		const struct pf_value *v;

		if (strcmp(pf_batch_str(b, m->filename), file) != 0)
			continue;
		v = pf_batch_attr_lookup(b, m->attrs, flag);
		return v && v->kind == PF_VALUE_BOOL && v->u.b;
	}
	fail_msg("no mapping %s", file);
	return false;
}

/* A mapping whose locations all carry named functions, files and lines is
 * marked has_functions, has_filenames and has_line_numbers: without them
 * go tool pprof symbolized it again from the local binary and showed s=0
 * for the start lines the file holds. An address-only mapping is not. */
static void test_exporter_marks_symbolized_mappings(void **state)
{
	const char *dir = *state;
	char *yaml = yaml_for(dir, "");
	struct pf_batch *b = pf_batch_new(), *got;
	struct sh_env env;
	char names[4][256];
	int64_t value = 5;

	uint32_t p = sh_profile(b, "sym", 7, "samples", "count", T0_NS);
	struct pf_mapping exe = {.memory_start = 0x400000,
				 .memory_limit = 0x500000,
				 .filename = pf_batch_cstring(b, "/bin/sym")};
	struct pf_mapping lib = {.memory_start = 0x7f0000000000,
				 .memory_limit = 0x7f0000100000,
				 .filename = pf_batch_cstring(b, "/lib/libx.so")};
	struct pf_function fn = {.name = pf_batch_cstring(b, "hot"),
				 .system_name = pf_batch_cstring(b, "hot"),
				 .filename = pf_batch_cstring(b, "hot.c"),
				 .start_line = 40};
	struct pf_line line = {.function = pf_batch_function(b, &fn), .line = 42};
	struct pf_location at_exe = {.mapping = pf_batch_mapping(b, &exe), .address = 0x401000};
	struct pf_location at_lib = {.mapping = pf_batch_mapping(b, &lib),
				     .address = 0x7f0000001000};
	uint32_t locs[2] = {pf_batch_location(b, &at_exe, &line, 1),
			    pf_batch_location(b, &at_lib, NULL, 0)};

	assert_int_equal(
		pf_batch_add_sample(b, p, pf_batch_stack(b, locs, 2), 0, 0, &value, 1, NULL, 0), 0);
	sh_env_start(&env, yaml);
	assert_int_equal(pf_component_emit(sh_find(&env, PF_RECEIVER, "feeder"), b), PF_OK);
	assert_true(sh_wait_settled(&env, "pprof", 1, 10000));
	sh_env_stop(&env);
	pf_batch_unref(b);
	free(yaml);

	assert_int_equal(list_dir(dir, names, 4), 1);
	got = load_file(dir, names[0]);
	assert_true(mapping_flag(got, "/bin/sym", "pprof.mapping.has_functions"));
	assert_true(mapping_flag(got, "/bin/sym", "pprof.mapping.has_filenames"));
	assert_true(mapping_flag(got, "/bin/sym", "pprof.mapping.has_line_numbers"));
	assert_false(mapping_flag(got, "/lib/libx.so", "pprof.mapping.has_functions"));
	assert_false(mapping_flag(got, "/lib/libx.so", "pprof.mapping.has_filenames"));
	assert_false(mapping_flag(got, "/lib/libx.so", "pprof.mapping.has_line_numbers"));
	pf_batch_unref(got);

	if (have_go_pprof()) {
		char *cmd = NULL;

		/* /bin/sym does not exist here: pprof keeps the file's lines either
		 * way, so this checks the start line is read as written. */
		assert_true(
			asprintf(&cmd,
				 "go tool pprof -raw '%s/%s' 2>&1 | grep -q 'hot hot.c:42 s=40'",
				 dir, names[0]) > 0);
		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
}

static void test_exporter_busy_and_drain_on_shutdown(void **state)
{
	const char *dir = *state;
	char *yaml = yaml_for(dir, "");
	struct sh_env env;
	struct pf_component *feeder;
	char names[16][256];
	int accepted = 0, busy = 0;

	sh_env_start(&env, yaml);
	feeder = sh_find(&env, PF_RECEIVER, "feeder");
	/* The loop does not run between emits: writes pile up in flight. */
	for (int i = 0; i < 6; i++) {
		struct pf_batch *b = cpu_batch("svc", i, T0_NS + (uint64_t)i * SEC_NS, 1);
		int rc = pf_component_emit(feeder, b);

		pf_batch_unref(b);
		if (rc == PF_OK)
			accepted++;
		else if (rc == PF_BUSY)
			busy++;
	}
	assert_int_equal(accepted, 4);
	assert_int_equal(busy, 2);
	assert_int_equal(pf_component_counter(feeder, PF_CTR_RECEIVER_REFUSED), 8);
	/* Shutdown right away waits for every accepted batch. */
	sh_env_stop(&env);
	free(yaml);
	assert_int_equal(list_dir(dir, names, 16), 4);
	for (int i = 0; i < 4; i++)
		assert_non_null(strstr(names[i], ".cpu_nanoseconds.2026112"));
}

static void test_exporter_rotates(void **state)
{
	const char *dir = *state;
	char *yaml = yaml_for(dir, "    max_files: 2\n    file_prefix: test-\n");
	struct sh_env env;
	struct sent_cond cond;
	char names[16][256];

	touch(dir, "unrelated.pb.gz", 1000);
	sh_env_start(&env, yaml);
	cond.c = sh_find(&env, PF_EXPORTER, "pprof");
	for (int i = 0; i < 5; i++) {
		struct pf_batch *b = cpu_batch("svc", 7, T0_NS + (uint64_t)i * SEC_NS, 1);

		assert_int_equal(pf_component_emit(sh_find(&env, PF_RECEIVER, "feeder"), b), PF_OK);
		pf_batch_unref(b);
		cond.want = 4 * (uint64_t)(i + 1);
		assert_true(sh_run_until(&env, sent_reached, &cond, 10000));
		usleep(20000); /* distinct mtimes */
	}
	sh_env_stop(&env);
	free(yaml);
	assert_int_equal(list_dir(dir, names, 16), 3);
	assert_string_equal(names[0], "test-svc.pid7.cpu_nanoseconds.20261127T061503.123Z.pb.gz");
	assert_string_equal(names[1], "test-svc.pid7.cpu_nanoseconds.20261127T061504.123Z.pb.gz");
	assert_string_equal(names[2], "unrelated.pb.gz");
}

static void blocker_run(uv_work_t *req)
{
	usleep(1000000);
}

static void blocker_done(uv_work_t *req, int status)
{
}

/* Writes still queued at the deadline are cancelled and counted as failed;
 * shutdown ends in time. */
static void test_exporter_cancels_at_deadline(void **state)
{
	const char *dir = *state;
	char *yaml;
	struct sh_env env;
	uv_work_t blockers[4];
	struct pf_component *exp;
	struct pf_batch *b = cpu_batch("svc", 1, T0_NS, 1);
	char names[4][256];

	yaml = yaml_with_timeout(dir, "300ms");
	sh_env_start(&env, yaml);
	exp = sh_find(&env, PF_EXPORTER, "pprof");
	/* Occupy every thread of the pool (UV_THREADPOOL_SIZE=4, set in main). */
	for (int i = 0; i < 4; i++)
		assert_int_equal(uv_queue_work(&env.loop, &blockers[i], blocker_run, blocker_done),
				 0);
	assert_int_equal(pf_component_emit(sh_find(&env, PF_RECEIVER, "feeder"), b), PF_OK);
	pf_batch_unref(b);
	sh_env_shutdown(&env);
	assert_int_equal(pf_component_counter(exp, PF_CTR_EXPORTER_SENT), 0);
	assert_int_equal(pf_component_counter(exp, PF_CTR_EXPORTER_SEND_FAILED), 4);
	sh_env_free(&env); /* waits for the blockers */
	free(yaml);
	assert_int_equal(list_dir(dir, names, 4), 0);
}

/* A directory gone after start: every sample is counted as failed. */
static void test_exporter_counts_failures(void **state)
{
	const char *dir = *state;
	char sub[512];
	char *yaml;
	struct sh_env env;
	struct sent_cond cond;

	snprintf(sub, sizeof(sub), "%s/out", dir);
	yaml = yaml_for(sub, "");
	sh_env_start(&env, yaml);
	assert_int_equal(rmdir(sub), 0);
	cond.c = sh_find(&env, PF_EXPORTER, "pprof");
	cond.want = 8;
	for (int i = 0; i < 2; i++) {
		struct pf_batch *b = cpu_batch("svc", 1, T0_NS + (uint64_t)i, 1);

		assert_int_equal(pf_component_emit(sh_find(&env, PF_RECEIVER, "feeder"), b), PF_OK);
		pf_batch_unref(b);
	}
	assert_true(sh_run_until(&env, sent_reached, &cond, 10000));
	assert_int_equal(pf_component_counter(cond.c, PF_CTR_EXPORTER_SEND_FAILED), 8);
	assert_int_equal(pf_component_counter(cond.c, PF_CTR_EXPORTER_SENT), 0);
	sh_env_stop(&env);
	free(yaml);
}

/* A profile without samples makes no file. */
static void test_exporter_skips_empty(void **state)
{
	const char *dir = *state;
	char *yaml = yaml_for(dir, "");
	struct sh_env env;
	struct pf_batch *b = cpu_batch("full", 1, T0_NS, 1);
	struct sent_cond cond;
	char names[4][256];

	sh_profile(b, "empty", 2, "cpu", "nanoseconds", T0_NS);
	sh_env_start(&env, yaml);
	cond.c = sh_find(&env, PF_EXPORTER, "pprof");
	cond.want = 4;
	assert_int_equal(pf_component_emit(sh_find(&env, PF_RECEIVER, "feeder"), b), PF_OK);
	assert_true(sh_run_until(&env, sent_reached, &cond, 10000));
	sh_env_stop(&env);
	pf_batch_unref(b);
	free(yaml);
	assert_int_equal(list_dir(dir, names, 4), 1);
	assert_non_null(strstr(names[0], "full.pid1."));
}

#define SAME_NAMED 5000

/* SAME_NAMED profiles of one service, pid, type and millisecond, of as many
 * containers: one file each, all of the same base name. Sample i has value
 * i + 1, so the files' total tells whether every one was written. */
static struct pf_batch *same_named_batch(void)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_profile_desc d = {
		.sample_type = {pf_batch_cstring(b, "cpu"), pf_batch_cstring(b, "nanoseconds")},
		.period_type = {pf_batch_cstring(b, "cpu"), pf_batch_cstring(b, "nanoseconds")},
		.period = 10000000,
		.time_unix_nano = T0_NS,
	};

	for (int i = 0; i < SAME_NAMED; i++) {
		char id[32];
		uint32_t attrs[3], p;
		struct pf_resource r = {0};

		snprintf(id, sizeof(id), "c%d", i);
		attrs[0] = pf_batch_attr_str(b, "service.name", "svc");
		attrs[1] = pf_batch_attr_int(b, "process.pid", 42);
		attrs[2] = pf_batch_attr_str(b, "container.id", id);
		r.attrs = pf_batch_attr_set(b, attrs, 3);
		d.resource = pf_batch_resource(b, &r);
		p = pf_batch_add_profile(b, &d);
		assert_int_not_equal(p, PF_INDEX_ERROR);
		sh_sample(b, p, (const char *const[]){"main.work", "main.main", NULL}, i + 1);
	}
	return b;
}

/* Names collided in the same millisecond: with at most 1000 ".N" suffixes,
 * each probed by a rename, a batch of 5,000 same-named profiles wrote 1,000
 * files, failed the rest uncounted and held a pool thread for 45 s. */
static void test_exporter_same_named_profiles_all_written(void **state)
{
	const char *dir = *state;
	char *yaml = yaml_for(dir, "");
	struct pf_batch *b = same_named_batch();
	struct sh_env env;
	struct pf_component *exp;
	uint64_t want = 0, t0;
	size_t files = 0;
	int64_t total = 0;
	struct dirent *de;
	DIR *d;

	for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
		size_t n = 0;

		pf_batch_samples(b, p, &n);
		want += n;
	}
	sh_env_start(&env, yaml);
	exp = sh_find(&env, PF_EXPORTER, "pprof");
	t0 = uv_hrtime();
	assert_int_equal(pf_component_emit(sh_find(&env, PF_RECEIVER, "feeder"), b), PF_OK);
	assert_true(sh_wait_settled(&env, "pprof", want, 120000));
	print_message("%d same-named profiles settled in %.0f ms\n", SAME_NAMED,
		      (double)(uv_hrtime() - t0) / 1e6);
	assert_int_equal(pf_component_counter(exp, PF_CTR_EXPORTER_SEND_FAILED), 0);
	assert_int_equal(pf_component_counter(exp, PF_CTR_EXPORTER_SENT), want);
	sh_env_stop(&env);
	pf_batch_unref(b);
	free(yaml);

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		struct pf_batch *got;

		if (de->d_name[0] == '.')
			continue;
		assert_non_null(
			strstr(de->d_name, "svc.pid42.cpu_nanoseconds.20261127T061500.123Z"));
		got = load_file(dir, de->d_name);
		total += sh_sum(got, "cpu", NULL);
		pf_batch_unref(got);
		files++;
	}
	closedir(d);
	assert_int_equal(files, SAME_NAMED);
	assert_int_equal(total, (int64_t)SAME_NAMED * (SAME_NAMED + 1) / 2);
}

/* Shutdown while those files are being written: the job stops at the
 * deadline instead of holding shutdown past it, and every sample is either
 * in a file or counted as failed. */
static void test_exporter_same_named_profiles_keep_shutdown_deadline(void **state)
{
	const char *dir = *state;
	char *yaml;
	struct pf_batch *b = same_named_batch();
	struct sh_env env;
	struct pf_component *exp;
	uint64_t sent, failed, t0, ms;
	size_t files = 0;
	struct dirent *de;
	DIR *d;

	yaml = yaml_with_timeout(dir, "500ms");
	sh_env_start(&env, yaml);
	exp = sh_find(&env, PF_EXPORTER, "pprof");
	assert_int_equal(pf_component_emit(sh_find(&env, PF_RECEIVER, "feeder"), b), PF_OK);
	sh_run_for(&env, 100);
	t0 = uv_hrtime();
	sh_env_shutdown(&env); /* fails when shutdown passes its deadline */
	ms = (uv_hrtime() - t0) / 1000000;
	sent = pf_component_counter(exp, PF_CTR_EXPORTER_SENT);
	failed = pf_component_counter(exp, PF_CTR_EXPORTER_SEND_FAILED);
	print_message("shutdown in %" PRIu64 " ms: %" PRIu64 " samples written, %" PRIu64
		      " counted as failed\n",
		      ms, sent, failed);
	assert_true(ms < 1000);
	assert_int_equal(sent + failed, SAME_NAMED);
	sh_env_free(&env);
	pf_batch_unref(b);
	free(yaml);

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		files += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, sent); /* one sample a file */
}

static void test_config_checks(void **state)
{
	struct pf_error err = {0};
	char *yaml = yaml_for("/tmp", "    file_prefix: ../evil\n");
	struct pf_config *cfg = sh_load(yaml, &err);

	assert_null(cfg);
	assert_non_null(strstr(err.msg, "file_prefix"));
	free(yaml);

	pf_error_clear(&err);
	cfg = sh_load("receivers:\n  feeder:\nexporters:\n  pprof:\n    max_files: 3\n"
		      "service:\n  pipelines:\n    profiles:\n"
		      "      receivers: [feeder]\n      exporters: [pprof]\n",
		      &err);
	assert_null(cfg);
	assert_non_null(strstr(err.msg, "directory"));
}

int main(void)
{
	/* Before the pool first starts: test_exporter_cancels_at_deadline fills it. */
	setenv("UV_THREADPOOL_SIZE", "4", 1);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_name),
		cmocka_unit_test_setup_teardown(test_write_collisions, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_collisions_skip_others_files, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_failure_leaves_nothing, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_rotate_max_files, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_rotate_max_age, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_clean_temp, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_mkdir, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_exporter_writes_files, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_exporter_group_by_none_merges_processes,
						setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_exporter_marks_symbolized_mappings, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_exporter_busy_and_drain_on_shutdown, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_exporter_rotates, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_exporter_cancels_at_deadline, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_exporter_skips_empty, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_exporter_counts_failures, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_exporter_same_named_profiles_all_written,
						setup_mem_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
			test_exporter_same_named_profiles_keep_shutdown_deadline, setup_dir,
			teardown_dir),
		cmocka_unit_test(test_config_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
