// SPDX-License-Identifier: Apache-2.0
/* unit.symbolize_proc: the processor on a real loop: names frames, keeps order, refuses beyond its queue, drains at shutdown, mode none. */
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

#include "config/config.h"
#include "model/batch.h"
#include "core/component.h"
#include "pipeline/component_internal.h"
#include "model/semconv.h"
#include "pipeline/service.h"
#include "sinks_harness.h"

extern const struct pf_component_def pf_processor_symbolize;

static const struct pf_component_def *const registry[] = {&sh_feeder_def, &pf_processor_symbolize,
							  &sh_sink_def, NULL};

/* The harness's service, with the feeder and sink it runs. */
struct env {
	struct sh_env sh;
	struct pf_component *feeder;
	struct sh_sink *sink;
};

static void start(struct env *e, const char *options)
{
	char *yaml;

	assert_true(asprintf(&yaml,
			     "receivers:\n  feeder:\n"
			     "processors:\n  symbolize:\n%s"
			     "exporters:\n  sink:\n"
			     "service:\n  shutdown_timeout: 5s\n  pipelines:\n    profiles:\n"
			     "      receivers: [feeder]\n      processors: [symbolize]\n"
			     "      exporters: [sink]\n",
			     options) > 0);
	memset(e, 0, sizeof(*e));
	sh_env_start_with(&e->sh, yaml, registry);
	free(yaml);
	e->feeder = sh_find(&e->sh, PF_RECEIVER, "feeder");
	e->sink = sh_sink(&e->sh, "sink");
}

struct got_n {
	const struct sh_sink *sink;
	size_t n;
};

static bool got_n(void *arg)
{
	const struct got_n *g = arg;

	return g->sink->n_got >= g->n;
}

/* Runs the loop until n batches reached the sink, for at most ms. */
static bool run_until(struct env *e, size_t n, uint64_t ms)
{
	struct got_n g = {e->sink, n};

	return sh_run_until(&e->sh, got_n, &g, ms);
}

/* ---- batches: one sample at a native address of this very test ---- */

__attribute__((noinline)) int pf_test_marker_function(int x)
{
	return x * 7 + 1;
}

/* A batch with one sample of value v whose only frame is the address of
 * pf_test_marker_function in this process, as the ebpf receiver writes it. */
static struct pf_batch *native_batch(int64_t v)
{
	uint64_t a = (uint64_t)(uintptr_t)pf_test_marker_function, lo, hi, off;
	char line[4096], path[4096] = "";
	FILE *f = fopen("/proc/self/maps", "r");
	struct pf_batch *b = pf_batch_new();
	struct pf_mapping m = {0};
	struct pf_location l = {0};
	struct pf_resource r = {0};
	struct pf_profile_desc d = {0};
	uint32_t attr, p, loc, st;
	bool found = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %" SCNx64 " %*s %*s %4095s", &lo, &hi,
			   &off, path) == 4 &&
		    a >= lo && a < hi) {
			found = true;
			break;
		}
	fclose(f);
	assert_true(found);
	m = (struct pf_mapping){lo, hi, off, pf_batch_cstring(b, path), 0};
	attr = pf_batch_attr_str(b, PF_ATTR_FRAME_TYPE, PF_FRAME_NATIVE);
	l.mapping = pf_batch_mapping(b, &m);
	l.attrs = pf_batch_attr_set(b, &attr, 1);
	l.address = a;
	loc = pf_batch_location(b, &l, NULL, 0);
	st = pf_batch_stack(b, &loc, 1);
	attr = pf_batch_attr_int(b, PF_ATTR_PROCESS_PID, getpid());
	r.attrs = pf_batch_attr_set(b, &attr, 1);
	d.resource = pf_batch_resource(b, &r);
	d.sample_type.type = pf_batch_cstring(b, "samples");
	d.sample_type.unit = pf_batch_cstring(b, "count");
	p = pf_batch_add_profile(b, &d);
	assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, &v, 1, NULL, 0), 0);
	return b;
}

static int64_t value_of(const struct pf_batch *b)
{
	size_t n;
	const struct pf_sample *s = pf_batch_samples(b, 0, &n);

	assert_int_equal(n, 1);
	return pf_batch_sample_values(b, s)[0];
}

/* The function name of the leaf frame, NULL when it has no lines. */
static const char *leaf_name(const struct pf_batch *b)
{
	size_t n;
	const struct pf_sample *s = pf_batch_samples(b, 0, &n);
	const uint32_t *locs = pf_batch_stack_get(b, s[0].stack, &n);
	const struct pf_line *l = pf_batch_location_lines(b, locs[0], &n);

	return n ? pf_batch_str(b, pf_batch_function_get(b, l[n - 1].function)->name) : NULL;
}

static int emit(struct env *e, int64_t v)
{
	struct pf_batch *b = native_batch(v);
	int ret = pf_component_emit(e->feeder, b);

	pf_batch_unref(b);
	return ret;
}

static void names_frames_in_order(void **state)
{
	struct env e;
	int64_t v;

	(void)state;
	start(&e, "    kernel: false\n");
	for (v = 1; v <= 5; v++)
		assert_int_equal(emit(&e, v), PF_OK);
	assert_true(run_until(&e, 5, 10000));
	for (v = 1; v <= 5; v++) {
		assert_int_equal(value_of(e.sink->got[v - 1]), v);
		assert_string_equal(leaf_name(e.sink->got[v - 1]), "pf_test_marker_function");
	}
	sh_env_stop(&e.sh);
}

static void refuses_beyond_its_queue_then_drains(void **state)
{
	struct env e;
	int64_t v;
	int busy_at = 0;

	(void)state;
	start(&e, "    kernel: false\n");
	e.sink->busy = true;
	for (v = 1; v <= 20 && !busy_at; v++)
		if (emit(&e, v) == PF_BUSY)
			busy_at = (int)v;
	/* One batch in the worker (or done and held) plus a queue of 8. */
	assert_true(busy_at >= 9 && busy_at <= 11);
	run_until(&e, 1, 300);
	assert_int_equal(e.sink->n_got, 0);
	e.sink->busy = false;
	assert_true(run_until(&e, (size_t)busy_at - 1, 10000));
	for (v = 1; v < busy_at; v++)
		assert_int_equal(value_of(e.sink->got[v - 1]), v);
	sh_env_stop(&e.sh);
}

static void shutdown_drains_the_queue(void **state)
{
	struct env e;
	int64_t v;

	(void)state;
	start(&e, "    kernel: false\n");
	for (v = 1; v <= 6; v++)
		assert_int_equal(emit(&e, v), PF_OK);
	/* Everything queued still leaves, in order, before shutdown ends. */
	sh_env_shutdown(&e.sh);
	assert_int_equal(pf_component_counter(sh_find(&e.sh, PF_PROCESSOR, "symbolize"),
					      PF_CTR_PROCESSOR_OUTGOING),
			 6);
	sh_env_free(&e.sh);
}

static void mode_none_passes_batches_through(void **state)
{
	struct env e;
	struct pf_batch *b = native_batch(9);

	(void)state;
	start(&e, "    mode: none\n");
	assert_int_equal(pf_component_emit(e.feeder, b), PF_OK);
	assert_int_equal(e.sink->n_got, 1);
	assert_ptr_equal(e.sink->got[0], b); /* untouched: mapping + address */
	assert_null(leaf_name(e.sink->got[0]));
	pf_batch_unref(b);
	sh_env_stop(&e.sh);
}

static void rejects_bad_options(void **state)
{
	struct pf_error err = {0};
	const char *yaml = "receivers:\n  feeder:\nprocessors:\n  symbolize:\n    mode: guess\n"
			   "exporters:\n  sink:\nservice:\n  pipelines:\n    profiles:\n"
			   "      receivers: [feeder]\n      processors: [symbolize]\n"
			   "      exporters: [sink]\n";
	struct pf_config *cfg = pf_config_load_string("t.yaml", yaml, strlen(yaml), registry, &err);

	(void)state;
	assert_null(cfg);
	assert_non_null(strstr(err.msg, "mode"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_frames_in_order),
		cmocka_unit_test(refuses_beyond_its_queue_then_drains),
		cmocka_unit_test(shutdown_drains_the_queue),
		cmocka_unit_test(mode_none_passes_batches_through),
		cmocka_unit_test(rejects_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
