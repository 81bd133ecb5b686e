// SPDX-License-Identifier: Apache-2.0
/* unit.aggregate: sums per interval, timestamps kept, busy downstream, shared held aggregate, bounds, flush on shutdown, metadata_keys. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/metadata.h"
#include "sinks_harness.h"

#define T0_NS (1795760100ULL * 1000000000ULL)

static const char *const STACK_X[] = {"x", "main", NULL};
static const char *const STACK_Y[] = {"y", "main", NULL};
static const char *const STACK_Z[] = {"z", "main", NULL};
static const char *const STACK_W[] = {"w", "main", NULL};

static char *yaml_with(const char *options)
{
	char *y = NULL;

	assert_true(asprintf(&y,
			     "receivers:\n  feeder:\n"
			     "processors:\n  aggregate:\n%s"
			     "exporters:\n  sink:\n"
			     "service:\n  shutdown_timeout: 1s\n  pipelines:\n    profiles:\n"
			     "      receivers: [feeder]\n      processors: [aggregate]\n"
			     "      exporters: [sink]\n",
			     options) > 0);
	return y;
}

/* svc-a: x=10, y=5; svc-b: x=1 (cpu/nanoseconds), at t. */
static struct pf_batch *two_services(uint64_t t)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t pa = sh_profile(b, "svc-a", 1, "cpu", "nanoseconds", t);
	uint32_t pb = sh_profile(b, "svc-b", 2, "cpu", "nanoseconds", t);

	sh_sample(b, pa, STACK_X, 10);
	sh_sample(b, pa, STACK_Y, 5);
	sh_sample(b, pb, STACK_X, 1);
	return b;
}

static int emit(struct sh_env *env, struct pf_batch *b)
{
	int rc = pf_component_emit(sh_find(env, PF_RECEIVER, "feeder"), b);

	pf_batch_unref(b);
	return rc;
}

static bool got_one(void *arg)
{
	return ((struct sh_sink *)arg)->n_got >= 1;
}

/* The sum over samples of profiles of resource service `svc` and leaf `leaf`. */
static int64_t sum_for(const struct pf_batch *b, const char *svc, const char *leaf)
{
	struct pf_batch *only = pf_batch_new();
	int64_t sum;

	/* Copy the profiles of svc into a batch of their own, then sum there. */
	for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
		const struct pf_value *v = pf_batch_attr_lookup(
			b, pf_batch_resource_get(b, d->resource)->attrs, "service.name");

		if (v && strcmp(pf_batch_str(b, v->u.str), svc) == 0) {
			size_t n = 0;
			const struct pf_sample *s = pf_batch_samples(b, p, &n);
			uint32_t q = sh_profile(only, svc, -1, "cpu", "nanoseconds", 0);

			for (size_t i = 0; i < n; i++) {
				const int64_t *val = pf_batch_sample_values(b, &s[i]);
				size_t nl = 0, nli = 0;
				const uint32_t *locs = pf_batch_stack_get(b, s[i].stack, &nl);
				const struct pf_line *line =
					pf_batch_location_lines(b, locs[0], &nli);
				const char *fn = pf_batch_str(
					b, pf_batch_function_get(b, line[0].function)->name);
				const char *frames[] = {fn, NULL};

				for (uint32_t k = 0; k < s[i].values_len; k++)
					sh_sample(only, q, frames, val[k]);
			}
		}
	}
	sum = sh_sum(only, "cpu", leaf);
	pf_batch_unref(only);
	return sum;
}

static void test_sums_per_interval(void **state)
{
	char *yaml = yaml_with("    interval: 100ms\n");
	struct sh_env env;
	struct sh_sink *sink;
	const struct pf_batch *got;

	sh_env_start(&env, yaml);
	sink = sh_sink(&env, "sink");
	for (int i = 0; i < 3; i++)
		assert_int_equal(emit(&env, two_services(T0_NS + (uint64_t)i * 1000)), PF_OK);
	assert_int_equal(sink->n_got, 0); /* nothing before the tick */
	assert_true(sh_run_until(&env, got_one, sink, 5000));
	assert_int_equal(sink->n_got, 1);
	got = sink->got[0];

	/* One profile per resource, one sample per distinct stack. */
	assert_int_equal(pf_batch_n_profiles(got), 2);
	assert_int_equal(pf_batch_sample_count(got), 3);
	assert_int_equal(sum_for(got, "svc-a", "x"), 30);
	assert_int_equal(sum_for(got, "svc-a", "y"), 15);
	assert_int_equal(sum_for(got, "svc-b", "x"), 3);
	assert_int_equal(sum_for(got, "svc-b", "y"), 0);
	for (uint32_t p = 0; p < 2; p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(got, p);
		size_t n = 0;
		const struct pf_sample *s = pf_batch_samples(got, p, &n);

		assert_int_equal(d->time_unix_nano, T0_NS);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(s[i].values_len, 1);
			assert_int_equal(s[i].timestamps_len, 0);
		}
	}

	/* The next interval starts empty and nothing is sent for it. */
	sh_run_for(&env, 250);
	assert_int_equal(sink->n_got, 1);
	assert_int_equal(emit(&env, two_services(T0_NS)), PF_OK);
	sh_run_for(&env, 250);
	assert_int_equal(sink->n_got, 2);
	assert_int_equal(sum_for(sink->got[1], "svc-a", "x"), 10);
	assert_int_equal(pf_component_counter(sh_find(&env, PF_PROCESSOR, "aggregate"),
					      PF_CTR_PROCESSOR_OUTGOING),
			 6);
	sh_env_stop(&env);
	free(yaml);
}

static struct pf_batch *stamped(uint64_t ts, int64_t v)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t p = sh_profile(b, "svc", 1, "cpu", "nanoseconds", T0_NS);

	assert_int_equal(pf_batch_add_sample(b, p, sh_stack(b, STACK_X), 0, 0, &v, 1, &ts, 1), 0);
	return b;
}

static void test_keep_timestamps(void **state)
{
	char *yaml = yaml_with("    interval: 100ms\n    keep_timestamps: true\n");
	struct sh_env env;
	struct sh_sink *sink;
	const struct pf_sample *s;
	size_t n = 0;

	sh_env_start(&env, yaml);
	sink = sh_sink(&env, "sink");
	assert_int_equal(emit(&env, stamped(T0_NS + 1, 7)), PF_OK);
	assert_int_equal(emit(&env, stamped(T0_NS + 2, 8)), PF_OK);
	assert_true(sh_run_until(&env, got_one, sink, 5000));
	s = pf_batch_samples(sink->got[0], 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(s[0].values_len, 2);
	assert_int_equal(s[0].timestamps_len, 2);
	assert_int_equal(pf_batch_sample_values(sink->got[0], &s[0])[0] +
				 pf_batch_sample_values(sink->got[0], &s[0])[1],
			 15);
	sh_env_stop(&env);
	free(yaml);
}

static void test_busy_downstream_retried(void **state)
{
	char *yaml = yaml_with("    interval: 100ms\n");
	struct sh_env env;
	struct sh_sink *sink;

	sh_env_start(&env, yaml);
	sink = sh_sink(&env, "sink");
	sink->busy = true;
	assert_int_equal(emit(&env, two_services(T0_NS)), PF_OK);
	sh_run_for(&env, 250);
	assert_true(sink->refused >= 1);
	assert_int_equal(sink->n_got, 0);
	/* More data while refused: it joins the held aggregate. */
	assert_int_equal(emit(&env, two_services(T0_NS)), PF_OK);
	sink->busy = false;
	assert_true(sh_run_until(&env, got_one, sink, 5000));
	assert_int_equal(sum_for(sink->got[0], "svc-a", "x"), 20);
	assert_int_equal(sum_for(sink->got[0], "svc-b", "x"), 2);
	assert_int_equal(
		pf_component_counter(sh_find(&env, PF_PROCESSOR, "aggregate"), PF_CTR_DROPPED), 0);
	sh_env_stop(&env);
	free(yaml);
}

/* A sibling takes the held aggregate while another refuses it: what joins it
 * afterwards goes into a copy, summed as before, and the taken one stays. */
static void test_held_aggregate_shared(void **state)
{
	char *yaml = NULL;
	struct sh_env env;
	struct sh_sink *a, *b;

	assert_true(asprintf(&yaml,
			     "receivers:\n  feeder:\n"
			     "processors:\n  aggregate:\n    interval: 100ms\n"
			     "exporters:\n  sink:\n  sink/b:\n"
			     "service:\n  shutdown_timeout: 1s\n  pipelines:\n    profiles:\n"
			     "      receivers: [feeder]\n      processors: [aggregate]\n"
			     "      exporters: [sink, sink/b]\n") > 0);
	sh_env_start(&env, yaml);
	a = sh_sink(&env, "sink");
	b = sh_sink(&env, "sink/b");
	b->busy = true;
	assert_int_equal(emit(&env, two_services(T0_NS)), PF_OK);
	assert_true(sh_run_until(&env, got_one, a, 5000));
	assert_true(b->refused >= 1);
	/* Summed into a copy of the aggregate `a` holds. */
	assert_int_equal(emit(&env, two_services(T0_NS)), PF_OK);
	assert_int_equal(emit(&env, two_services(T0_NS)), PF_OK);
	assert_int_equal(sum_for(a->got[0], "svc-a", "x"), 10);
	b->busy = false;
	assert_true(sh_run_until(&env, got_one, b, 5000));
	assert_int_equal(pf_batch_sample_count(b->got[0]), 3);
	assert_int_equal(sum_for(b->got[0], "svc-a", "x"), 30);
	assert_int_equal(sum_for(b->got[0], "svc-a", "y"), 15);
	assert_int_equal(sum_for(b->got[0], "svc-b", "x"), 3);
	assert_int_equal(sum_for(a->got[0], "svc-a", "x"), 10);
	sh_env_stop(&env);
	free(yaml);
}

static struct pf_batch *pair(const char *const *s1, const char *const *s2)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t p = sh_profile(b, "svc", 1, "cpu", "nanoseconds", T0_NS);

	sh_sample(b, p, s1, 1);
	sh_sample(b, p, s2, 1);
	return b;
}

static void test_max_samples_bound(void **state)
{
	char *yaml = yaml_with("    interval: 200ms\n    max_samples: 3\n");
	struct sh_env env;
	struct sh_sink *sink;
	struct pf_component *agg, *feeder;

	sh_env_start(&env, yaml);
	sink = sh_sink(&env, "sink");
	agg = sh_find(&env, PF_PROCESSOR, "aggregate");
	feeder = sh_find(&env, PF_RECEIVER, "feeder");

	/* Repeats of the same samples compact instead of growing. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(emit(&env, pair(STACK_X, STACK_Y)), PF_OK);
	assert_int_equal(sink->n_got, 0);

	/* A third distinct sample reaches the bound: sent at once. */
	assert_int_equal(emit(&env, pair(STACK_Z, STACK_X)), PF_OK);
	assert_int_equal(sink->n_got, 1);
	assert_int_equal(pf_batch_sample_count(sink->got[0]), 3);
	assert_int_equal(sh_sum(sink->got[0], "cpu", "x"), 6);

	/* Downstream busy: the early flush is held and input refused ... */
	sink->busy = true;
	assert_int_equal(emit(&env, pair(STACK_X, STACK_Y)), PF_OK);
	assert_int_equal(emit(&env, pair(STACK_Z, STACK_W)), PF_OK);
	assert_int_equal(emit(&env, pair(STACK_X, STACK_Y)), PF_BUSY);
	assert_int_equal(pf_component_counter(feeder, PF_CTR_RECEIVER_REFUSED), 2);
	/* ... until the next tick, which drops it when downstream is still busy. */
	sh_run_for(&env, 300);
	assert_int_equal(pf_component_counter(agg, PF_CTR_DROPPED), 4);
	assert_int_equal(emit(&env, pair(STACK_X, STACK_Y)), PF_OK);
	sink->busy = false;
	sh_run_for(&env, 300);
	assert_int_equal(sink->n_got, 2);
	assert_int_equal(sh_sum(sink->got[1], "cpu", NULL), 2);
	sh_env_stop(&env);
	free(yaml);
}

static void test_flush_on_shutdown(void **state)
{
	char *yaml = yaml_with("    interval: 1h\n");
	struct sh_env env;
	struct sh_sink *sink;

	sh_env_start(&env, yaml);
	sink = sh_sink(&env, "sink");
	sink->keep = true;
	assert_int_equal(emit(&env, two_services(T0_NS)), PF_OK);
	assert_int_equal(emit(&env, two_services(T0_NS)), PF_OK);
	sh_run_for(&env, 50);
	assert_int_equal(sink->n_got, 0);
	sh_env_stop(&env);
	assert_int_equal(sink->n_got, 1);
	assert_int_equal(sum_for(sink->got[0], "svc-a", "y"), 10);
	sh_sink_release(sink);
	free(yaml);
}

static void test_shutdown_gives_up_on_busy(void **state)
{
	char *yaml = yaml_with("    interval: 1h\n");
	struct sh_env env;
	struct sh_sink *sink;
	struct pf_component *agg;

	sh_env_start(&env, yaml);
	sink = sh_sink(&env, "sink");
	sink->keep = true;
	sink->busy = true;
	agg = sh_find(&env, PF_PROCESSOR, "aggregate");
	assert_int_equal(emit(&env, two_services(T0_NS)), PF_OK);
	sh_env_shutdown(&env);
	assert_true(sink->refused >= 2); /* retried while stopping */
	assert_int_equal(sink->n_got, 0);
	assert_int_equal(pf_component_counter(agg, PF_CTR_DROPPED), 3);
	sh_env_free(&env);
	sh_sink_release(sink);
	free(yaml);
}

static void test_interval_bounds(void **state)
{
	struct pf_error err = {0};
	char *yaml = yaml_with("    interval: 10ms\n");

	assert_null(sh_load(yaml, &err));
	assert_non_null(strstr(err.msg, "interval"));
	free(yaml);
}

/* two_services() sent by tenant `t` (NULL: no metadata) with user agent `ua`. */
static struct pf_batch *from_tenant(const char *t, const char *ua)
{
	struct pf_batch *b = two_services(T0_NS);
	struct pf_metadata *m = pf_metadata_new();

	assert_non_null(m);
	if (t)
		assert_int_equal(pf_metadata_add(m, "x-scope-orgid", 13, t, strlen(t)), 0);
	assert_int_equal(pf_metadata_add(m, "user-agent", 10, ua, strlen(ua)), 0);
	pf_batch_set_metadata(b, m);
	return b;
}

static const char *tenant_of(const struct pf_batch *b)
{
	size_t n;
	const char *const *v = pf_metadata_get(pf_batch_metadata(b), "X-Scope-OrgID", &n);

	return n == 1 ? v[0] : NULL;
}

static bool got_two(void *arg)
{
	return ((struct sh_sink *)arg)->n_got >= 2;
}

static void test_metadata_keys_partition(void **state)
{
	char *yaml = yaml_with("    interval: 100ms\n    metadata_keys: [X-Scope-OrgID]\n");
	struct sh_env env;
	struct sh_sink *sink;
	size_t n;

	sh_env_start(&env, yaml);
	sink = sh_sink(&env, "sink");
	assert_int_equal(emit(&env, from_tenant("tenant-a", "agent/1")), PF_OK);
	assert_int_equal(emit(&env, from_tenant("tenant-b", "agent/1")), PF_OK);
	assert_int_equal(emit(&env, from_tenant("tenant-a", "agent/2")), PF_OK);
	assert_int_equal(emit(&env, from_tenant(NULL, "agent/3")), PF_OK);
	assert_true(sh_run_until(&env, got_two, sink, 5000));
	sh_run_for(&env, 50);
	assert_int_equal(sink->n_got, 3);
	/* In order of first arrival: tenant-a twice, tenant-b once, none once. */
	assert_string_equal(tenant_of(sink->got[0]), "tenant-a");
	assert_int_equal(sum_for(sink->got[0], "svc-a", "x"), 20);
	assert_string_equal(tenant_of(sink->got[1]), "tenant-b");
	assert_int_equal(sum_for(sink->got[1], "svc-a", "x"), 10);
	assert_null(pf_batch_metadata(sink->got[2]));
	assert_int_equal(sum_for(sink->got[2], "svc-b", "x"), 1);
	/* Only metadata_keys travel on (the Collector's batch processor). */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pf_metadata_n(pf_batch_metadata(sink->got[i])), 1);
		assert_null(pf_metadata_get(pf_batch_metadata(sink->got[i]), "user-agent", &n));
	}
	sh_env_stop(&env);
	free(yaml);
}

static void test_metadata_dropped_without_keys(void **state)
{
	char *yaml = yaml_with("    interval: 100ms\n");
	struct sh_env env;
	struct sh_sink *sink;

	sh_env_start(&env, yaml);
	sink = sh_sink(&env, "sink");
	assert_int_equal(emit(&env, from_tenant("tenant-a", "agent/1")), PF_OK);
	assert_int_equal(emit(&env, from_tenant("tenant-a", "agent/1")), PF_OK);
	assert_true(sh_run_until(&env, got_one, sink, 5000));
	assert_int_equal(sink->n_got, 1);
	assert_null(pf_batch_metadata(sink->got[0]));
	assert_int_equal(sum_for(sink->got[0], "svc-a", "x"), 20);
	sh_env_stop(&env);
	free(yaml);
}

static void test_metadata_cardinality_limit(void **state)
{
	char *yaml = yaml_with("    interval: 100ms\n    metadata_keys: [x-scope-orgid]\n"
			       "    metadata_cardinality_limit: 1\n");
	struct sh_env env;
	struct sh_sink *sink;

	sh_env_start(&env, yaml);
	sink = sh_sink(&env, "sink");
	assert_int_equal(emit(&env, from_tenant("tenant-a", "x")), PF_OK);
	assert_int_equal(emit(&env, from_tenant("tenant-a", "y")), PF_OK);
	assert_int_equal(emit(&env, from_tenant("tenant-b", "x")), -EMFILE);
	assert_true(sh_run_until(&env, got_one, sink, 5000));
	/* Flushed partitions are forgotten: the next interval takes tenant-b. */
	assert_int_equal(emit(&env, from_tenant("tenant-b", "x")), PF_OK);
	assert_true(sh_run_until(&env, got_two, sink, 5000));
	assert_string_equal(tenant_of(sink->got[0]), "tenant-a");
	assert_string_equal(tenant_of(sink->got[1]), "tenant-b");
	sh_env_stop(&env);
	free(yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums_per_interval),
		cmocka_unit_test(test_keep_timestamps),
		cmocka_unit_test(test_busy_downstream_retried),
		cmocka_unit_test(test_max_samples_bound),
		cmocka_unit_test(test_held_aggregate_shared),
		cmocka_unit_test(test_flush_on_shutdown),
		cmocka_unit_test(test_shutdown_gives_up_on_busy),
		cmocka_unit_test(test_interval_bounds),
		cmocka_unit_test(test_metadata_keys_partition),
		cmocka_unit_test(test_metadata_dropped_without_keys),
		cmocka_unit_test(test_metadata_cardinality_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
