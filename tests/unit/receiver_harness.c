// SPDX-License-Identifier: Apache-2.0
/* Test harness for receivers: a real service from YAML whose `capture` exporter keeps every batch, and a two-stack test batch. */
#include "receiver_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const struct pf_option no_options[] = {PF_OPTION_END};

static void *capture_create(struct pf_component *c, const void *config)
{
	struct rh_capture *cap = calloc(1, sizeof(*cap));

	if (cap)
		cap->c = c;
	return cap;
}

void rh_settle(struct rh_capture *cap, int result)
{
	for (size_t i = 0; i < cap->n_held; i++)
		pf_ack_settle(cap->held[i], result);
	cap->n_held = 0;
}

static int capture_consume(void *inst, struct pf_batch *batch)
{
	struct rh_capture *cap = inst;

	if (cap->busy)
		return PF_BUSY;
	assert_true(cap->n_got < RH_MAX_BATCHES);
	cap->got[cap->n_got++] = pf_batch_ref(batch);
	if (cap->hold)
		cap->held[cap->n_held++] = pf_component_ack_hold(cap->c);
	return PF_OK;
}

const struct pf_component_def rh_capture_def = {
	.kind = PF_EXPORTER,
	.type = "capture",
	.doc = "Test exporter keeping what it gets.",
	.options = no_options,
	.config_size = 1,
	.create = capture_create,
	.consume = capture_consume,
	.shutdown = NULL, /* the instance outlives shutdown: rh_env_free() frees it */
};

void rh_env_start(struct rh_env *env, const struct pf_component_def *const *registry,
		  const char *yaml, const char *receiver_id)
{
	memset(env, 0, sizeof(*env));
	sh_env_start_with(&env->sh, yaml, registry);
	env->cap = sh_find(&env->sh, PF_EXPORTER, "capture")->inst;
	env->recv = sh_find(&env->sh, PF_RECEIVER, receiver_id);
	assert_non_null(env->cap);
}

struct until {
	struct rh_env *env;
	bool (*cond)(struct rh_env *env);
};

static bool holds(void *arg)
{
	struct until *u = arg;

	return u->cond(u->env);
}

bool rh_run_until(struct rh_env *env, bool (*cond)(struct rh_env *env), uint64_t timeout_ms)
{
	struct until u = {.env = env, .cond = cond};

	return sh_run_until(&env->sh, cond ? holds : NULL, &u, timeout_ms);
}

uint64_t rh_env_shutdown(struct rh_env *env)
{
	uint64_t t0 = uv_now(&env->sh.loop);

	sh_env_shutdown(&env->sh);
	uv_update_time(&env->sh.loop);
	return uv_now(&env->sh.loop) - t0;
}

void rh_env_free(struct rh_env *env)
{
	sh_env_free(&env->sh);
	for (size_t i = 0; i < env->cap->n_got; i++)
		pf_batch_unref(env->cap->got[i]);
	free(env->cap);
}

void rh_env_stop(struct rh_env *env)
{
	rh_env_shutdown(env);
	rh_env_free(env);
}

size_t rh_samples(const struct rh_env *env)
{
	size_t n = 0;

	for (size_t i = 0; i < env->cap->n_got; i++)
		n += pf_batch_sample_count(env->cap->got[i]);
	return n;
}

int64_t rh_sum(const struct rh_env *env)
{
	int64_t sum = 0;

	for (size_t i = 0; i < env->cap->n_got; i++) {
		const struct pf_batch *b = env->cap->got[i];
		for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
			size_t n;
			const struct pf_sample *s = pf_batch_samples(b, p, &n);
			for (size_t k = 0; k < n; k++)
				sum += pf_batch_sample_values(b, &s[k])[0];
		}
	}
	return sum;
}

struct pf_batch *rh_batch(const int64_t *values, size_t n)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_profile_desc d = {0};
	uint32_t locs[2];
	uint32_t p;

	assert_non_null(b);
	d.sample_type.type = pf_batch_cstring(b, "samples");
	d.sample_type.unit = pf_batch_cstring(b, "count");
	d.period_type = d.sample_type;
	d.period = 1;
	d.time_unix_nano = 1795760100ULL * 1000000000ULL;
	p = pf_batch_add_profile(b, &d);
	for (int i = 0; i < 2; i++) {
		struct pf_function fn = {.name = pf_batch_cstring(b, i ? "main.cold" : "main.hot")};
		struct pf_line line = {.function = pf_batch_function(b, &fn), .line = 10 + i};
		struct pf_location loc = {.address = 0x1000u + (unsigned)i};
		locs[i] = pf_batch_location(b, &loc, &line, 1);
	}
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pf_batch_add_sample(b, p, pf_batch_stack(b, &locs[i % 2], 1), 0, 0,
						     &values[i], 1, NULL, 0),
				 0);
	return b;
}
