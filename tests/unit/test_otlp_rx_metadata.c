// SPDX-License-Identifier: Apache-2.0
/* unit.otlp_rx_metadata: include_metadata turns gRPC metadata and HTTP headers into the batch's client metadata. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "formats/otlp/otlp.h"
#include "model/batch.h"
#include "core/component.h"
#include "pipeline/component_internal.h"
#include "transport/grpc_client.h"
#include "transport/http_client.h"
#include "model/metadata.h"
#include "transport/grpc_server.h"
#include "pipeline/service.h"
#include "receivers/otlp/receiver.h"

/* From transport/http_server.h, whose struct pf_http_request is not the
 * client's of transport/http_client.h. */
unsigned pf_http_server_port(const struct pf_http_server *s);

extern const struct pf_component_def pf_receiver_otlp;

#define EXPORT "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"

/* ---- a capturing exporter ---- */

static const struct pf_option no_options[] = {PF_OPTION_END};

struct capture {
	struct pf_batch *got[16];
	size_t n_got;
};

static void *capture_create(struct pf_component *c, const void *config)
{
	(void)c;
	(void)config;
	return calloc(1, sizeof(struct capture));
}

static int capture_consume(void *inst, struct pf_batch *batch)
{
	struct capture *cap = inst;

	assert_true(cap->n_got < 16);
	cap->got[cap->n_got++] = pf_batch_ref(batch);
	return PF_OK;
}

static const struct pf_component_def capture_def = {
	.kind = PF_EXPORTER,
	.type = "capture",
	.doc = "Test exporter keeping what it gets.",
	.options = no_options,
	.config_size = 1,
	.create = capture_create,
	.consume = capture_consume,
};

static const struct pf_component_def *const registry[] = {&pf_receiver_otlp, &capture_def, NULL};

/* ---- the service and the two clients, all on one loop ---- */

struct env {
	uv_loop_t loop;
	struct pf_config *cfg;
	struct pf_service *svc;
	struct capture *cap;
	struct pf_http_client *http;
	struct pf_grpc_client *grpc;
	unsigned http_port, grpc_port;
	int answered;
	long status;
	int code;
	bool stopped;
};

static void env_start(struct env *env, bool include)
{
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];
	char yaml[1024];
	struct pf_otlp_rx *rx;
	struct pf_grpc_client_config gc = {0};
	char target[64];
	const char *inc = include ? "true" : "false";

	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  otlp:\n    protocols:\n"
		 "      http:\n        endpoint: 127.0.0.1:0\n        include_metadata: %s\n"
		 "      grpc:\n        endpoint: 127.0.0.1:0\n        include_metadata: %s\n"
		 "exporters:\n  capture:\n"
		 "service:\n  pipelines:\n    profiles:\n      receivers: [otlp]\n"
		 "      exporters: [capture]\n",
		 inc, inc);
	memset(env, 0, sizeof(*env));
	assert_int_equal(uv_loop_init(&env->loop), 0);
	env->cfg = pf_config_load_string("test.yaml", yaml, strlen(yaml), registry, &err);
	if (!env->cfg)
		fail_msg("config: %s", pf_error_str(&err, buf, sizeof(buf)));
	free(env->cfg->metrics_address);
	env->cfg->metrics_address = strdup("");
	env->svc = pf_service_create(&env->loop, env->cfg, "testhost");
	assert_non_null(env->svc);
	assert_int_equal(pf_service_start(env->svc), 0);
	env->cap = pf_service_find(env->svc, PF_EXPORTER, "capture")->inst;
	rx = pf_service_find(env->svc, PF_RECEIVER, "otlp")->inst;
	env->http_port = pf_http_server_port(rx->http);
	env->grpc_port = pf_grpc_server_port(rx->grpc);
	env->http = pf_http_client_new(&env->loop);
	assert_non_null(env->http);
	snprintf(target, sizeof(target), "127.0.0.1:%u", env->grpc_port);
	gc.target = target;
	env->grpc = pf_grpc_client_new(&env->loop, &gc, &err);
	assert_non_null(env->grpc);
}

static void on_stopped(struct pf_service *s, bool timed_out, void *arg)
{
	(void)s;
	(void)timed_out;
	*(bool *)arg = true;
}

static void env_stop(struct env *env)
{
	pf_http_client_close(env->http, NULL, NULL);
	pf_grpc_client_close(env->grpc, NULL, NULL);
	pf_service_shutdown(env->svc, on_stopped, &env->stopped);
	for (int i = 0; i < 2000 && !env->stopped; i++)
		uv_run(&env->loop, UV_RUN_ONCE);
	assert_true(env->stopped);
	pf_service_destroy(env->svc);
	pf_config_free(env->cfg);
	for (size_t i = 0; i < env->cap->n_got; i++)
		pf_batch_unref(env->cap->got[i]);
	free(env->cap);
	uv_run(&env->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&env->loop), 0);
}

static void wait_answer(struct env *env)
{
	for (int i = 0; i < 20000 && !env->answered; i++)
		uv_run(&env->loop, UV_RUN_ONCE);
	assert_true(env->answered);
	env->answered = 0;
}

/* An OTLP request with n samples, values 1..n. */
static void make_request(int n, uint8_t **out, size_t *size)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_profile_desc d = {0};
	uint32_t p;

	d.sample_type.type = pf_batch_cstring(b, "samples");
	d.sample_type.unit = pf_batch_cstring(b, "count");
	d.time_unix_nano = 1795760100ULL * 1000000000ULL;
	p = pf_batch_add_profile(b, &d);
	for (int i = 0; i < n; i++) {
		struct pf_location loc = {.address = 0x1000u + (unsigned)i};
		uint32_t l = pf_batch_location(b, &loc, NULL, 0);
		int64_t v = i + 1;

		assert_int_equal(
			pf_batch_add_sample(b, p, pf_batch_stack(b, &l, 1), 0, 0, &v, 1, NULL, 0),
			0);
	}
	assert_int_equal(pf_otlp_encode(b, NULL, 0, out, size), 0);
	pf_batch_unref(b);
}

static void on_http(const struct pf_http_response *resp, void *arg)
{
	struct env *env = arg;

	env->status = resp->error ? -1 : resp->status;
	env->answered = 1;
}

static void http_post(struct env *env, int n)
{
	static const char *const headers[] = {
		"Content-Type: application/x-protobuf",
		"X-Scope-OrgID: tenant-a",
		"X-Multi: one",
		"X-Multi: two",
	};
	struct pf_http_request req = {.method = "POST", .headers = headers, .n_headers = 4};
	char url[128];
	uint8_t *body;
	size_t size;

	make_request(n, &body, &size);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1development/profiles", env->http_port);
	req.url = url;
	req.body = body;
	req.body_size = size;
	assert_int_equal(pf_http_send(env->http, &req, on_http, env, NULL), 0);
	wait_answer(env);
	assert_int_equal(env->status, 200);
	free(body);
}

static void on_grpc(const struct pf_grpc_result *res, void *arg)
{
	struct env *env = arg;

	env->code = res->code;
	env->answered = 1;
}

static void grpc_export(struct env *env, int n)
{
	static const struct pf_grpc_metadata md[] = {
		{"X-Scope-OrgID", "tenant-b"},
		{"x-multi", "one"},
		{"x-multi", "two"},
		{"trace-bin", "\x01\x02"},
	};
	uint8_t *body;
	size_t size;

	make_request(n, &body, &size);
	assert_int_equal(
		pf_grpc_call(env->grpc, EXPORT, body, size, md, 4, 20000, on_grpc, env, NULL), 0);
	wait_answer(env);
	assert_int_equal(env->code, PF_GRPC_OK);
	free(body);
}

static void expect(const struct pf_batch *b, const char *key, const char *v0, const char *v1)
{
	size_t n;
	const char *const *v = pf_metadata_get(pf_batch_metadata(b), key, &n);

	assert_int_equal(n, v1 ? 2 : 1);
	assert_string_equal(v[0], v0);
	if (v1)
		assert_string_equal(v[1], v1);
}

static void test_metadata_captured(void **state)
{
	struct env env;
	size_t n;

	(void)state;
	env_start(&env, true);
	http_post(&env, 3);
	grpc_export(&env, 3);
	grpc_export(&env, 20000); /* >= 64 KiB: decoded on the thread pool */
	assert_int_equal(env.cap->n_got, 3);
	expect(env.cap->got[0], "x-scope-orgid", "tenant-a", NULL);
	expect(env.cap->got[0], "X-Multi", "one", "two");
	assert_non_null(pf_metadata_get(pf_batch_metadata(env.cap->got[0]), "content-type", &n));
	for (int i = 1; i < 3; i++) {
		expect(env.cap->got[i], "x-scope-orgid", "tenant-b", NULL);
		expect(env.cap->got[i], "x-multi", "one", "two");
		assert_null(pf_metadata_get(pf_batch_metadata(env.cap->got[i]), "trace-bin", &n));
	}
	assert_int_equal(pf_batch_sample_count(env.cap->got[2]), 20000);
	env_stop(&env);
}

static void test_metadata_off_by_default(void **state)
{
	struct env env;

	(void)state;
	env_start(&env, false);
	http_post(&env, 2);
	grpc_export(&env, 2);
	assert_int_equal(env.cap->n_got, 2);
	assert_null(pf_batch_metadata(env.cap->got[0]));
	assert_null(pf_batch_metadata(env.cap->got[1]));
	env_stop(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metadata_captured),
		cmocka_unit_test(test_metadata_off_by_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
