// SPDX-License-Identifier: Apache-2.0
/* unit.flamegraph: the flamegraph exporter on a real loop: files, cumulative graph, rotation, busy. */
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "model/batch.h"
#include "core/component.h"
#include "pipeline/component_internal.h"
#include "pipeline/service.h"
#include "sinks_harness.h"
#include "test_flamegraph.h"

extern const struct pf_component_def pf_exporter_flamegraph;

static const struct pf_component_def *const registry[] = {&sh_feeder_def, &pf_exporter_flamegraph,
							  NULL};

struct env {
	uv_loop_t loop;
	struct pf_config *cfg;
	struct pf_service *svc;
	struct pf_component *feeder, *exporter;
	bool stopped, timed_out, expired;
	char dir[64];
};

static struct pf_config *load(const char *yaml, struct pf_error *err)
{
	return pf_config_load_string("test.yaml", yaml, strlen(yaml), registry, err);
}

/* Starts feeder -> flamegraph with the exporter options `opts` (YAML flow
 * mapping entries) and directory env->dir. */
static void env_start(struct env *env, const char *opts)
{
	struct pf_error err = {0};
	char yaml[1024], buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];

	memset(env, 0, sizeof(*env));
	snprintf(env->dir, sizeof(env->dir), "/tmp/pf_flame_exp.XXXXXX");
	assert_non_null(mkdtemp(env->dir));
	snprintf(yaml, sizeof(yaml),
		 "receivers: {feeder: {}}\n"
		 "exporters: {flamegraph: {directory: %s/out, %s}}\n"
		 "service:\n"
		 "  telemetry: {logs: {level: error}}\n"
		 "  pipelines: {profiles: {receivers: [feeder], exporters: [flamegraph]}}\n",
		 env->dir, opts);
	assert_int_equal(uv_loop_init(&env->loop), 0);
	env->cfg = load(yaml, &err);
	if (!env->cfg)
		fail_msg("config: %s", pf_error_str(&err, buf, sizeof(buf)));
	free(env->cfg->metrics_address);
	env->cfg->metrics_address = strdup("");
	env->svc = pf_service_create(&env->loop, env->cfg, "testhost");
	assert_non_null(env->svc);
	assert_int_equal(pf_service_start(env->svc), 0);
	env->feeder = pf_service_find(env->svc, PF_RECEIVER, "feeder");
	env->exporter = pf_service_find(env->svc, PF_EXPORTER, "flamegraph");
	assert_non_null(env->feeder);
	assert_non_null(env->exporter);
}

static void on_expired(uv_timer_t *t)
{
	((struct env *)t->data)->expired = true;
}

static void on_closed(uv_handle_t *h)
{
}

/* Runs the loop until the exporter has counted `sent` samples as sent and
 * `failed` as failed, or 10 s pass. */
static void run_until_counted(struct env *env, uint64_t sent, uint64_t failed)
{
	uv_timer_t timer;

	env->expired = false;
	uv_timer_init(&env->loop, &timer);
	timer.data = env;
	uv_timer_start(&timer, on_expired, 10000, 0);
	while (!env->expired &&
	       (pf_component_counter(env->exporter, PF_CTR_EXPORTER_SENT) < sent ||
		pf_component_counter(env->exporter, PF_CTR_EXPORTER_SEND_FAILED) < failed))
		uv_run(&env->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&timer, on_closed);
	uv_run(&env->loop, UV_RUN_NOWAIT);
	assert_int_equal(pf_component_counter(env->exporter, PF_CTR_EXPORTER_SENT), sent);
	assert_int_equal(pf_component_counter(env->exporter, PF_CTR_EXPORTER_SEND_FAILED), failed);
}

static void on_service_done(struct pf_service *s, bool timed_out, void *arg)
{
	struct env *env = arg;

	env->stopped = true;
	env->timed_out = timed_out;
}

static void env_stop(struct env *env)
{
	pf_service_shutdown(env->svc, on_service_done, env);
	while (!env->stopped)
		uv_run(&env->loop, UV_RUN_ONCE);
	assert_false(env->timed_out);
	pf_service_destroy(env->svc);
	pf_config_free(env->cfg);
	uv_run(&env->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&env->loop), 0);
	nftw(env->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Number of files matching pattern (relative to env->dir/out). */
static size_t files(const struct env *env, const char *pattern)
{
	char path[256];
	glob_t g;
	size_t n;

	snprintf(path, sizeof(path), "%s/out/%s", env->dir, pattern);
	if (glob(path, 0, NULL, &g) != 0)
		return 0;
	n = g.gl_pathc;
	globfree(&g);
	return n;
}

static char *slurp(const struct env *env, const char *name)
{
	char path[256], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/out/%s", env->dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void test_exporter_folded_cumulative(void **state)
{
	struct pf_batch *b = test_batch();
	uint64_t n = pf_batch_sample_count(b);
	struct env env;
	char *text;

	env_start(&env, "format: folded, file_prefix: h-, max_files: 2");
	for (int i = 0; i < 3; i++)
		assert_int_equal(pf_component_emit(env.feeder, b), PF_OK);
	run_until_counted(&env, 3 * n, 0);
	/* Three batches with the same time: collisions get .1, .2; rotation keeps two. */
	assert_int_equal(files(&env, "h-flamegraph.*.folded"), 2);
	assert_int_equal(files(&env, "h-cumulative.folded"), 1);
	assert_int_equal(files(&env, "*.svg"), 0);
	text = slurp(&env, "h-cumulative.folded");
	assert_string_equal(text, "app (42);main;libc.so.6+0x1234 30\n"
				  "app (42);main;outer;inner 60\n"
				  "app (42);main;work 99\n"
				  "app (42);main;work;[kernel.kallsyms]+0xffffffff81000010 15\n"
				  "db (7);main;a:b c 6\n"
				  "db (7);main;query 30\n");
	free(text);
	text = slurp(&env, "h-flamegraph.20261127T061500.000Z.2.folded");
	assert_non_null(strstr(text, "app (42);main;work 33\n"));
	free(text);
	env_stop(&env);
	pf_batch_unref(b);
}

static void test_exporter_max_frames(void **state)
{
	struct pf_batch *b = test_batch();
	struct env env;
	char *text;

	/* 12 frames, bound 8: pruned by ever larger frames down to 6. */
	env_start(&env, "format: folded, max_frames: 8");
	assert_int_equal(pf_component_emit(env.feeder, b), PF_OK);
	run_until_counted(&env, pf_batch_sample_count(b), 0);
	text = slurp(&env, "cumulative.folded");
	assert_string_equal(text, "app (42);main 10\n"
				  "app (42);main;outer;inner 20\n"
				  "app (42);main;work 38\n");
	free(text);
	/* The per-batch file is whole. */
	text = slurp(&env, "flamegraph.20261127T061500.000Z.folded");
	assert_non_null(strstr(text, "db (7);main;query 10\n"));
	free(text);
	env_stop(&env);
	pf_batch_unref(b);
}

static void test_exporter_svg_and_types(void **state)
{
	struct pf_batch *b = test_batch(), *empty = pf_batch_new();
	uint64_t n = pf_batch_sample_count(b);
	struct env env;
	char *svg;

	env_start(&env, "sample_type: samples, group_by: none, cumulative: false, title: T&T");
	assert_int_equal(pf_component_emit(env.feeder, b), PF_OK);
	/* A batch without the sample type draws nothing and writes nothing. */
	assert_int_equal(pf_component_emit(env.feeder, empty), PF_OK);
	run_until_counted(&env, n, 0);
	assert_int_equal(files(&env, "flamegraph.*.svg"), 1);
	assert_int_equal(files(&env, "cumulative.*"), 0);
	svg = slurp(&env, "flamegraph.20261127T061500.000Z.svg");
	assert_int_equal(xmllint(svg), 0);
	assert_non_null(strstr(svg, ">T&amp;T</text>"));
	assert_non_null(strstr(svg, "<title>all (3 samples, 100.00%)</title>"));
	assert_null(strstr(svg, "app (42)"));
	free(svg);
	env_stop(&env);
	pf_batch_unref(empty);
	pf_batch_unref(b);
}

static void test_exporter_busy(void **state)
{
	struct pf_batch *b = test_batch();
	uint64_t n = pf_batch_sample_count(b);
	struct env env;
	int accepted = 0, rc = PF_OK;

	/* One drawing at a time and a short queue: the rest is refused, not lost. */
	env_start(&env, "cumulative: true");
	while (accepted < 50 && (rc = pf_component_emit(env.feeder, b)) == PF_OK)
		accepted++;
	assert_int_equal(rc, PF_BUSY);
	assert_true(accepted >= 2 && accepted <= 10);
	run_until_counted(&env, (uint64_t)accepted * n, 0);
	assert_int_equal(files(&env, "flamegraph.*.svg"), accepted);
	assert_int_equal(files(&env, "cumulative.svg"), 1);
	env_stop(&env);
	pf_batch_unref(b);
}

static void test_exporter_config_checks(void **state)
{
	struct pf_error err = {0};
	struct pf_config *cfg;
	const char *bad[] = {
		"exporters: {flamegraph: {}}",
		"exporters: {flamegraph: {directory: /tmp/x, format: png}}",
		"exporters: {flamegraph: {directory: /tmp/x, group_by: thread}}",
		"exporters: {flamegraph: {directory: /tmp/x, file_prefix: ../x}}",
		"exporters: {flamegraph: {directory: /tmp/x, width: 10}}",
		"exporters: {flamegraph: {directory: /tmp/x, sample_type: /bytes}}",
	};
	char yaml[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "receivers: {feeder: {}}\n%s\n"
			 "service: {pipelines: {profiles: {receivers: [feeder], exporters: "
			 "[flamegraph]}}}\n",
			 bad[i]);
		pf_error_clear(&err);
		cfg = load(yaml, &err);
		if (cfg)
			fail_msg("accepted: %s", bad[i]);
		assert_true(pf_error_isset(&err));
	}
}

int flamegraph_exporter_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exporter_folded_cumulative),
		cmocka_unit_test(test_exporter_max_frames),
		cmocka_unit_test(test_exporter_svg_and_types),
		cmocka_unit_test(test_exporter_busy),
		cmocka_unit_test(test_exporter_config_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
