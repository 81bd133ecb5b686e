// SPDX-License-Identifier: Apache-2.0
/* unit.exporter_debug: the top-N ranking by self and cumulative value, and the exporter itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "exporters/debug/top.h"
#include "sinks_harness.h"

static const char *name_of(const struct pf_batch *b, const struct pf_debug_top_entry *e, char *buf)
{
	return pf_debug_top_name(b, e, buf, 64);
}

static void add_inline_sample(struct pf_batch *b, uint32_t p, int64_t value)
{
	struct pf_function inl = {.name = pf_batch_cstring(b, "inl")};
	struct pf_function outer = {.name = pf_batch_cstring(b, "outer")};
	struct pf_function mainf = {.name = pf_batch_cstring(b, "main")};
	struct pf_line lines[2] = {{.function = pf_batch_function(b, &inl)},
				   {.function = pf_batch_function(b, &outer)}};
	struct pf_line main_line = {.function = pf_batch_function(b, &mainf)};
	struct pf_location l1 = {.address = 0x500}, l2 = {.address = 0x600};
	uint32_t locs[2];

	locs[0] = pf_batch_location(b, &l1, lines, 2);
	locs[1] = pf_batch_location(b, &l2, &main_line, 1);
	assert_int_equal(
		pf_batch_add_sample(b, p, pf_batch_stack(b, locs, 2), 0, 0, &value, 1, NULL, 0), 0);
}

static void add_unsymbolized_sample(struct pf_batch *b, uint32_t p, int64_t value)
{
	struct pf_mapping m = {.filename = pf_batch_cstring(b, "/usr/bin/app")};
	struct pf_location raw = {.address = 0xdead, .mapping = pf_batch_mapping(b, &m)};
	struct pf_function mainf = {.name = pf_batch_cstring(b, "main")};
	struct pf_line main_line = {.function = pf_batch_function(b, &mainf)};
	struct pf_location l2 = {.address = 0x600};
	uint32_t locs[2];

	locs[0] = pf_batch_location(b, &raw, NULL, 0);
	locs[1] = pf_batch_location(b, &l2, &main_line, 1);
	assert_int_equal(
		pf_batch_add_sample(b, p, pf_batch_stack(b, locs, 2), 0, 0, &value, 1, NULL, 0), 0);
}

/* The batch of the ranking tests: profile 0 is cpu, profile 1 another type. */
static struct pf_batch *ranking_batch(void)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t p, q;

	assert_non_null(b);
	p = sh_profile(b, "svc", 1, "cpu", "nanoseconds", 0);
	sh_sample(b, p, (const char *const[]){"c", "b", "a", "main", NULL}, 10);
	sh_sample(b, p, (const char *const[]){"b", "a", "main", NULL}, 5);
	/* Recursion: a counts once cumulatively. */
	sh_sample(b, p, (const char *const[]){"a", "a", "main", NULL}, 3);
	add_inline_sample(b, p, 7);
	add_unsymbolized_sample(b, p, 2);
	q = sh_profile(b, "svc", 1, "alloc_space", "bytes", 0);
	sh_sample(b, q, (const char *const[]){"zzz", "main", NULL}, 1000);
	return b;
}

static void test_self_and_cumulative(void **state)
{
	struct pf_batch *b = ranking_batch();
	uint32_t sel[] = {0};
	struct pf_debug_top t;
	char n[64];
	static const char *const want_self[] = {"c", "inl", "b", "a", "0xdead /usr/bin/app"};
	static const int64_t self_v[] = {10, 7, 5, 3, 2};
	static const char *const want_cum[] = {
		"main", "a", "b", "c", "inl", "outer", "0xdead /usr/bin/app"};
	static const int64_t cum_v[] = {27, 18, 15, 10, 7, 7, 2};

	assert_int_equal(pf_debug_top_compute(b, sel, 1, 100, &t), 0);
	assert_int_equal(t.total, 27);
	assert_int_equal(t.n_samples, 5);
	assert_int_equal(t.n_self, 5);
	for (size_t i = 0; i < t.n_self; i++) {
		assert_string_equal(name_of(b, &t.self[i], n), want_self[i]);
		assert_int_equal(t.self[i].value, self_v[i]);
	}
	assert_int_equal(t.n_cum, 7);
	for (size_t i = 0; i < t.n_cum; i++) {
		assert_string_equal(name_of(b, &t.cum[i], n), want_cum[i]);
		assert_int_equal(t.cum[i].value, cum_v[i]);
	}
	pf_debug_top_free(&t);
	pf_batch_unref(b);
}

static void test_limit_and_ties(void **state)
{
	struct pf_batch *b = ranking_batch();
	uint32_t sel[] = {0};
	struct pf_debug_top t;
	char n[64];

	assert_int_equal(pf_debug_top_compute(b, sel, 1, 3, &t), 0);
	assert_int_equal(t.n_self, 3);
	assert_int_equal(t.n_cum, 3);
	assert_string_equal(name_of(b, &t.cum[2], n), "b");
	pf_debug_top_free(&t);

	/* inl and outer tie at 7: by name, inl first; limit 5 cuts between. */
	assert_int_equal(pf_debug_top_compute(b, sel, 1, 5, &t), 0);
	assert_string_equal(name_of(b, &t.cum[4], n), "inl");
	pf_debug_top_free(&t);
	pf_batch_unref(b);
}

static void test_only_selected_profiles(void **state)
{
	struct pf_batch *b = ranking_batch();
	uint32_t sel[] = {1};
	struct pf_debug_top t;
	char n[64];

	assert_int_equal(pf_debug_top_compute(b, sel, 1, 10, &t), 0);
	assert_int_equal(t.total, 1000);
	assert_int_equal(t.n_self, 1);
	assert_string_equal(name_of(b, &t.self[0], n), "zzz");
	assert_int_equal(t.n_cum, 2);
	pf_debug_top_free(&t);
	pf_batch_unref(b);
}

static void test_timestamps_count_one_each(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t p = sh_profile(b, NULL, -1, "samples", "count", 0);
	uint64_t ts[3] = {1, 2, 3};
	uint32_t stack = sh_stack(b, (const char *const[]){"leaf", "root", NULL});
	uint32_t sel[] = {0};
	struct pf_debug_top t;
	size_t n_samples = 0;

	assert_int_equal(pf_batch_add_sample(b, p, stack, 0, 0, NULL, 0, ts, 3), 0);
	assert_int_equal(pf_debug_top_compute(b, sel, 1, 10, &t), 0);
	assert_int_equal(t.total, 3);
	assert_int_equal(t.self[0].value, 3);
	pf_debug_top_free(&t);
	assert_int_equal(pf_debug_top_total(b, sel, 1, &n_samples), 3);
	assert_int_equal(n_samples, 1);
	pf_batch_unref(b);
}

static void test_empty_selection(void **state)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_debug_top t;

	assert_int_equal(pf_debug_top_compute(b, NULL, 0, 10, &t), 0);
	assert_int_equal(t.n_self, 0);
	assert_int_equal(t.n_cum, 0);
	assert_int_equal(t.total, 0);
	pf_debug_top_free(&t);
	pf_batch_unref(b);
}

static char *slurp(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	char *text = calloc(1, (size_t)size + 1);

	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)size, 0), size);
	return text;
}

/* The exporter at every verbosity takes batches and counts them as sent. */
static void test_exporter_counts(void **state)
{
	static const char yaml[] = "receivers:\n  feeder:\n"
				   "exporters:\n"
				   "  debug/basic:\n"
				   "  debug/normal:\n    verbosity: normal\n"
				   "  debug/detailed:\n    verbosity: detailed\n    top: 2\n"
				   "service:\n  pipelines:\n    profiles:\n"
				   "      receivers: [feeder]\n"
				   "      exporters: [debug/basic, debug/normal, debug/detailed]\n";
	static const char *const ids[] = {"debug/basic", "debug/normal", "debug/detailed"};
	struct sh_env env;
	struct pf_batch *b = ranking_batch();

	char log_path[] = "/tmp/pf_debug_log.XXXXXX";
	int log_fd = mkstemp(log_path), saved = dup(2);
	char *text;

	sh_env_start(&env, yaml);
	/* Capture what the exporters log (stderr) while they take the batch. */
	assert_true(log_fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_true(dup2(log_fd, 2) >= 0);
	assert_int_equal(pf_component_emit(sh_find(&env, PF_RECEIVER, "feeder"), b), PF_OK);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	text = slurp(log_fd);
	close(log_fd);
	unlink(log_path);

	assert_non_null(
		strstr(text, "exporter/debug/basic: batch: resources=1 profiles=2 samples=6"));
	assert_null(strstr(text, "exporter/debug/basic: resource"));
	assert_non_null(strstr(text, "exporter/debug/normal: resource #1: service.name=svc, "
				     "process.pid=1"));
	assert_non_null(
		strstr(text, "exporter/debug/normal:   cpu/nanoseconds: samples=5 total=27"));
	assert_null(strstr(text, "exporter/debug/normal:     top"));
	assert_non_null(strstr(text, "exporter/debug/detailed:     top 2 by self:"));
	assert_non_null(
		strstr(text, "exporter/debug/detailed:       1.  37.04%             10  c"));
	assert_non_null(
		strstr(text, "exporter/debug/detailed:       2.  66.67%             18  a"));
	assert_null(strstr(text, "  b\n"));
	free(text);
	for (size_t i = 0; i < 3; i++) {
		struct pf_component *c = sh_find(&env, PF_EXPORTER, ids[i]);

		assert_int_equal(pf_component_counter(c, PF_CTR_EXPORTER_SENT), 6);
	}
	sh_env_stop(&env);
	pf_batch_unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self_and_cumulative),
		cmocka_unit_test(test_limit_and_ties),
		cmocka_unit_test(test_only_selected_profiles),
		cmocka_unit_test(test_timestamps_count_one_each),
		cmocka_unit_test(test_empty_selection),
		cmocka_unit_test(test_exporter_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
