// SPDX-License-Identifier: Apache-2.0
/* The sinks helpers' test harness: a real service on a real loop, with a feeder and a sink. */
#include "sinks_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

extern const struct pf_component_def pf_processor_aggregate;
extern const struct pf_component_def pf_exporter_debug;
extern const struct pf_component_def pf_exporter_pprof;

static const struct pf_option no_options[] = {PF_OPTION_END};

struct feeder {
	struct pf_component *c;
};

static void *feeder_create(struct pf_component *c, const void *config)
{
	struct feeder *f = calloc(1, sizeof(*f));

	if (f)
		f->c = c;
	return f;
}

static void feeder_shutdown(void *inst, pf_done_fn done)
{
	struct feeder *f = inst;
	struct pf_component *c = f->c;

	free(f);
	done(c);
}

const struct pf_component_def sh_feeder_def = {
	.kind = PF_RECEIVER,
	.type = "feeder",
	.doc = "Test receiver driven by the test.",
	.options = no_options,
	.config_size = 1,
	.create = feeder_create,
	.shutdown = feeder_shutdown,
};

struct sink_inst {
	struct sh_sink pub; /* first: the test sees a struct sh_sink */
	struct pf_component *c;
};

static void *sink_create(struct pf_component *c, const void *config)
{
	struct sink_inst *s = calloc(1, sizeof(*s));

	if (s)
		s->c = c;
	return s;
}

static int sink_consume(void *inst, struct pf_batch *batch)
{
	struct sink_inst *s = inst;

	if (s->pub.busy) {
		s->pub.refused++;
		return PF_BUSY;
	}
	assert_true(s->pub.n_got < sizeof(s->pub.got) / sizeof(s->pub.got[0]));
	s->pub.got[s->pub.n_got++] = pf_batch_ref(batch);
	return PF_OK;
}

void sh_sink_release(struct sh_sink *sink)
{
	for (size_t i = 0; i < sink->n_got; i++)
		pf_batch_unref(sink->got[i]);
	free(sink);
}

static void sink_shutdown(void *inst, pf_done_fn done)
{
	struct sink_inst *s = inst;
	struct pf_component *c = s->c;

	if (!s->pub.keep)
		sh_sink_release(&s->pub);
	done(c);
}

const struct pf_component_def sh_sink_def = {
	.kind = PF_EXPORTER,
	.type = "sink",
	.doc = "Test exporter that keeps what it gets.",
	.options = no_options,
	.config_size = 1,
	.create = sink_create,
	.consume = sink_consume,
	.shutdown = sink_shutdown,
};

static const struct pf_component_def *const registry[] = {
	&sh_feeder_def,	    &pf_processor_aggregate,
	&pf_exporter_debug, &pf_exporter_pprof,
	&sh_sink_def,	    NULL,
};

struct pf_config *sh_load(const char *yaml, struct pf_error *err)
{
	return pf_config_load_string("test.yaml", yaml, strlen(yaml), registry, err);
}

void sh_env_start_with(struct sh_env *env, const char *yaml,
		       const struct pf_component_def *const *reg)
{
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];

	memset(env, 0, sizeof(*env));
	assert_int_equal(uv_loop_init(&env->loop), 0);
	env->cfg = pf_config_load_string("test.yaml", yaml, strlen(yaml), reg, &err);
	if (!env->cfg)
		fail_msg("config: %s", pf_error_str(&err, buf, sizeof(buf)));
	free(env->cfg->metrics_address);
	env->cfg->metrics_address = strdup("");
	assert_non_null(env->cfg->metrics_address);
	env->svc = pf_service_create(&env->loop, env->cfg, "testhost");
	assert_non_null(env->svc);
	assert_int_equal(pf_service_start(env->svc), 0);
}

void sh_env_start(struct sh_env *env, const char *yaml)
{
	sh_env_start_with(env, yaml, registry);
}

static void on_service_done(struct pf_service *s, bool timed_out, void *arg)
{
	struct sh_env *env = arg;

	env->stopped = true;
	env->timed_out = timed_out;
}

static bool is_stopped(void *arg)
{
	return ((struct sh_env *)arg)->stopped;
}

void sh_env_shutdown(struct sh_env *env)
{
	pf_service_shutdown(env->svc, on_service_done, env);
	assert_true(sh_run_until(env, is_stopped, env, 30000));
	assert_false(env->timed_out);
}

void sh_env_stop(struct sh_env *env)
{
	sh_env_shutdown(env);
	sh_env_free(env);
}

void sh_env_free(struct sh_env *env)
{
	pf_service_destroy(env->svc);
	pf_config_free(env->cfg);
	uv_run(&env->loop, UV_RUN_DEFAULT);
	/* EBUSY here means a component left a handle open. */
	assert_int_equal(uv_loop_close(&env->loop), 0);
}

struct pf_component *sh_find(struct sh_env *env, enum pf_kind kind, const char *id)
{
	struct pf_component *c = pf_service_find(env->svc, kind, id);

	assert_non_null(c);
	return c;
}

struct sh_sink *sh_sink(struct sh_env *env, const char *id)
{
	return &((struct sink_inst *)sh_find(env, PF_EXPORTER, id)->inst)->pub;
}

static void on_stop_timer(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

static void on_closed(uv_handle_t *h)
{
}

bool sh_run_until(struct sh_env *env, bool (*cond)(void *arg), void *arg, uint64_t timeout_ms)
{
	uv_timer_t timer;
	bool expired = false;

	uv_timer_init(&env->loop, &timer);
	timer.data = &expired;
	uv_timer_start(&timer, on_stop_timer, timeout_ms, 0);
	while (!(cond && cond(arg)) && !expired)
		uv_run(&env->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&timer, on_closed);
	uv_run(&env->loop, UV_RUN_NOWAIT);
	return cond ? cond(arg) : true;
}

void sh_run_for(struct sh_env *env, uint64_t ms)
{
	sh_run_until(env, NULL, NULL, ms);
}

struct settle_ctx {
	struct pf_component *exp;
	uint64_t want;
};

static bool settled(void *arg)
{
	struct settle_ctx *w = arg;

	return pf_component_counter(w->exp, PF_CTR_EXPORTER_SENT) +
		       pf_component_counter(w->exp, PF_CTR_EXPORTER_SEND_FAILED) >=
	       w->want;
}

bool sh_wait_settled(struct sh_env *env, const char *id, uint64_t want, uint64_t timeout_ms)
{
	struct settle_ctx w = {.exp = sh_find(env, PF_EXPORTER, id), .want = want};

	return sh_run_until(env, settled, &w, timeout_ms);
}

/* ---- batch builders ---- */

uint32_t sh_profile(struct pf_batch *b, const char *service, int64_t pid, const char *type,
		    const char *unit, uint64_t time_ns)
{
	uint32_t attrs[2];
	size_t n = 0;
	struct pf_resource r = {0};
	struct pf_profile_desc d = {0};
	uint32_t p;

	if (service)
		attrs[n++] = pf_batch_attr_str(b, "service.name", service);
	if (pid >= 0)
		attrs[n++] = pf_batch_attr_int(b, "process.pid", pid);
	r.attrs = pf_batch_attr_set(b, attrs, n);
	d.resource = pf_batch_resource(b, &r);
	d.sample_type.type = pf_batch_cstring(b, type);
	d.sample_type.unit = pf_batch_cstring(b, unit);
	d.period_type.type = pf_batch_cstring(b, "cpu");
	d.period_type.unit = pf_batch_cstring(b, "nanoseconds");
	d.period = 10000000;
	d.time_unix_nano = time_ns;
	d.duration_nano = 1000000000;
	p = pf_batch_add_profile(b, &d);
	assert_int_not_equal(p, PF_INDEX_ERROR);
	return p;
}

/* The same name gets the same address in every batch, so stacks merge. */
static uint64_t name_address(const char *name)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 1099511628211ULL;
	return 0x400000 + (h & 0xffff0);
}

uint32_t sh_stack(struct pf_batch *b, const char *const *frames)
{
	uint32_t locs[64];
	size_t n = 0;

	for (; frames[n]; n++) {
		struct pf_function f = {.name = pf_batch_cstring(b, frames[n])};
		struct pf_line line = {.function = pf_batch_function(b, &f), .line = 1};
		struct pf_location loc = {.address = name_address(frames[n])};

		assert_true(n < 64);
		locs[n] = pf_batch_location(b, &loc, &line, 1);
		assert_int_not_equal(locs[n], PF_INDEX_ERROR);
	}
	return pf_batch_stack(b, locs, n);
}

void sh_sample(struct pf_batch *b, uint32_t p, const char *const *frames, int64_t value)
{
	assert_int_equal(pf_batch_add_sample(b, p, sh_stack(b, frames), 0, 0, &value, 1, NULL, 0),
			 0);
}

static const char *leaf_name(const struct pf_batch *b, uint32_t stack)
{
	size_t n = 0, n_lines = 0;
	const uint32_t *locs = stack ? pf_batch_stack_get(b, stack, &n) : NULL;
	const struct pf_line *lines;

	if (n == 0)
		return "";
	lines = pf_batch_location_lines(b, locs[0], &n_lines);
	if (n_lines == 0)
		return "";
	return pf_batch_str(b, pf_batch_function_get(b, lines[0].function)->name);
}

int64_t sh_sum(const struct pf_batch *b, const char *type, const char *leaf)
{
	int64_t sum = 0;

	for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
		const struct pf_sample *s;
		size_t n = 0;

		if (strcmp(pf_batch_str(b, d->sample_type.type), type) != 0)
			continue;
		s = pf_batch_samples(b, p, &n);
		for (size_t i = 0; i < n; i++) {
			const int64_t *v = pf_batch_sample_values(b, &s[i]);

			if (leaf && strcmp(leaf_name(b, s[i].stack), leaf) != 0)
				continue;
			if (s[i].values_len == 0)
				sum += s[i].timestamps_len;
			for (uint32_t k = 0; k < s[i].values_len; k++)
				sum += v[k];
		}
	}
	return sum;
}
