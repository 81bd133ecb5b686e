// SPDX-License-Identifier: Apache-2.0
/* unit.otlp_exporters, gRPC group: otlp against a grpc core server (codes, RetryInfo, partial success, outage, TLS and mTLS, gzip on the wire). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "otlp_exp_harness.h"
#include "transport/grpc_server.h"

static void run_grpc(struct oe_server *srv, const char *extra, struct sh_env *env)
{
	char yaml[2048];

	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  feeder:\n"
		 "exporters:\n  otlp_grpc:\n    endpoint: 127.0.0.1:%d\n"
		 "    tls:\n      insecure: true\n"
		 "    headers:\n      Authorization: Bearer s3cret\n"
		 "    retry_on_failure:\n      initial_interval: 50ms\n      max_interval: 200ms\n"
		 "%s"
		 "service:\n  pipelines:\n    profiles:\n"
		 "      receivers: [feeder]\n      exporters: [otlp_grpc]\n",
		 srv->port, extra ? extra : "");
	oe_env_start(env, yaml);
	oe_send_and_wait(env, oe_batch(), 20000);
}

static void grpc_ok(void **state)
{
	struct oe_server srv = {.steps = {{.status = 0}}, .n_steps = 1};
	struct sh_env env;

	oe_grpc_start(&srv, 0);
	run_grpc(&srv, NULL, &env);
	assert_int_equal(oe_counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SENT), 3);
	assert_int_equal(oe_counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SEND_FAILED), 0);
	sh_env_stop(&env);
	oe_grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
	assert_string_equal(srv.seen[0].authorization, "Bearer s3cret");
	assert_int_equal(srv.seen[0].decode_error, 0);
	assert_int_equal(srv.seen[0].samples, 3);
	assert_int_equal(srv.seen[0].total, 6);
}

static void grpc_unavailable_retry_info(void **state)
{
	struct oe_server srv = {
		.steps = {{.status = 14, .retry_delay_ms = 1000, .message = "busy"}, {.status = 0}},
		.n_steps = 2,
	};
	struct sh_env env;

	oe_grpc_start(&srv, 0);
	run_grpc(&srv, "    compression: none\n", &env);
	assert_int_equal(oe_counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	oe_grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 2);
	assert_true(srv.seen[1].at_ms - srv.seen[0].at_ms >= 950);
	assert_int_equal(srv.seen[1].total, 6);
}

static void grpc_invalid_argument_not_retried(void **state)
{
	struct oe_server srv = {.steps = {{.status = 3, .message = "bad index"}}, .n_steps = 1};
	struct sh_env env;

	oe_grpc_start(&srv, 0);
	run_grpc(&srv, NULL, &env);
	assert_int_equal(oe_counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300);
	sh_env_stop(&env);
	oe_grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

static void grpc_resource_exhausted_needs_retry_info(void **state)
{
	struct oe_server srv = {
		.steps = {{.status = 8, .retry_delay_ms = 100}, {.status = 8}, {.status = 0}},
		.n_steps = 3,
	};
	struct sh_env env;

	oe_grpc_start(&srv, 0);
	run_grpc(&srv, NULL, &env);
	/* retried once (RetryInfo), then dropped (none) */
	assert_int_equal(oe_counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300);
	sh_env_stop(&env);
	oe_grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 2);
}

static void grpc_partial_success_counted_not_retried(void **state)
{
	struct oe_server srv = {
		.steps = {{.status = 0, .rejected = 1, .message = "one profile was bad"}},
		.n_steps = 1,
	};
	struct sh_env env;

	oe_grpc_start(&srv, 0);
	run_grpc(&srv, NULL, &env);
	assert_int_equal(oe_counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300);
	sh_env_stop(&env);
	oe_grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

static void grpc_server_down_then_up(void **state)
{
	struct oe_server srv = {.steps = {{.status = 0}}, .n_steps = 1};
	struct sh_env env;
	char yaml[2048];
	int port;

	oe_grpc_start(&srv, 0);
	port = srv.port;
	oe_grpc_stop(&srv);
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  feeder:\n"
		 "exporters:\n  otlp:\n    endpoint: 127.0.0.1:%d\n"
		 "    tls:\n      insecure: true\n"
		 "    retry_on_failure:\n      initial_interval: 50ms\n      max_interval: 200ms\n"
		 "service:\n  pipelines:\n    profiles:\n"
		 "      receivers: [feeder]\n      exporters: [otlp]\n",
		 port);
	oe_env_start(&env, yaml);
	oe_emit_one(&env);
	sh_run_for(&env, 300);
	assert_int_equal(oe_counter(&env, "otlp", PF_CTR_EXPORTER_SENT), 0);
	srv.n_seen = 0;
	oe_grpc_start(&srv, port);
	assert_true(oe_wait_settled(&env, "otlp", 3, 15000));
	assert_int_equal(oe_counter(&env, "otlp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	oe_grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

/* ---- shutdown ---- */

static void on_stopped(struct pf_service *svc, bool timed_out, void *arg)
{
	*(bool *)arg = true;
}

static bool is_true(void *arg)
{
	return *(bool *)arg;
}

static void grpc_shutdown_cancels_a_hanging_call(void **state)
{
	struct oe_server srv = {.steps = {{.status = 0, .delay_ms = 4000}}, .n_steps = 1};
	struct sh_env env;
	char yaml[1024];
	bool stopped = false;
	uint64_t t0;

	oe_grpc_start(&srv, 0);
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  feeder:\n"
		 "exporters:\n  otlp:\n    endpoint: 127.0.0.1:%d\n    tls: {insecure: true}\n"
		 "    timeout: 60s\n"
		 "service:\n  shutdown_timeout: 1s\n  pipelines:\n    profiles:\n"
		 "      receivers: [feeder]\n      exporters: [otlp]\n",
		 srv.port);
	oe_env_start(&env, yaml);
	oe_emit_one(&env);
	sh_run_for(&env, 500); /* the call is on the wire, the server sits on it */
	assert_int_equal(oe_counter(&env, "otlp", PF_CTR_EXPORTER_SENT), 0);
	t0 = uv_now(&env.loop);
	pf_service_shutdown(env.svc, on_stopped, &stopped);
	assert_true(sh_run_until(&env, is_true, &stopped, 3000));
	/* cancelled at the 1 s deadline, not after the server's 4 s */
	assert_true(uv_now(&env.loop) - t0 < 2500);
	assert_int_equal(oe_counter(&env, "otlp", PF_CTR_EXPORTER_SENT), 0);
	sh_env_free(&env);
	oe_grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

/* ---- TLS ---- */

struct tls_result {
	uint64_t sent, failed;
	size_t n_seen;
	char authorization[128];
};

static void tls_run(struct oe_certs *certs, bool mtls, const char *tls_yaml, struct tls_result *r)
{
	struct oe_server srv = {.steps = {{.status = 0}}, .n_steps = 1};
	struct sh_env env;
	char yaml[2048];

	srv.key_pem = certs->server_key_pem;
	srv.cert_pem = certs->server_cert_pem;
	srv.client_ca_pem = mtls ? certs->ca_pem : NULL;
	oe_grpc_start(&srv, 0);
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  feeder:\n"
		 "exporters:\n  otlp:\n    endpoint: 127.0.0.1:%d\n"
		 "    headers: {authorization: Bearer tls}\n"
		 "    tls:\n%s"
		 "    retry_on_failure:\n      enabled: false\n"
		 "service:\n  pipelines:\n    profiles:\n"
		 "      receivers: [feeder]\n      exporters: [otlp]\n",
		 srv.port, tls_yaml);
	oe_env_start(&env, yaml);
	oe_send_and_wait(&env, oe_batch(), 20000);
	r->sent = oe_counter(&env, "otlp", PF_CTR_EXPORTER_SENT);
	r->failed = oe_counter(&env, "otlp", PF_CTR_EXPORTER_SEND_FAILED);
	sh_env_stop(&env);
	oe_grpc_stop(&srv);
	r->n_seen = srv.n_seen;
	snprintf(r->authorization, sizeof(r->authorization), "%s",
		 srv.n_seen ? srv.seen[0].authorization : "");
}

static void grpc_tls_and_mtls(void **state)
{
	struct oe_certs certs;
	struct tls_result r;
	char tls[1024];

	oe_certs_make(&certs);
	/* server verified through ca_file; the certificate names localhost, not 127.0.0.1's
	 * name as dialled, so the override is what makes it match */
	snprintf(tls, sizeof(tls), "      ca_file: %s\n      server_name_override: localhost\n",
		 certs.ca);
	tls_run(&certs, false, tls, &r);
	assert_int_equal(r.sent, 3);
	assert_int_equal(r.n_seen, 1);
	assert_string_equal(r.authorization, "Bearer tls");

	/* mTLS: without a client certificate the handshake fails, with one it passes */
	tls_run(&certs, true, tls, &r);
	assert_int_equal(r.sent, 0);
	assert_int_equal(r.failed, 3);
	assert_int_equal(r.n_seen, 0);
	snprintf(tls, sizeof(tls),
		 "      ca_file: %s\n      server_name_override: localhost\n"
		 "      cert_file: %s\n      key_file: %s\n",
		 certs.ca, certs.client_cert, certs.client_key);
	tls_run(&certs, true, tls, &r);
	assert_int_equal(r.sent, 3);
	assert_int_equal(r.n_seen, 1);

	/* a CA that did not sign the server: refused; insecure_skip_verify: accepted */
	snprintf(tls, sizeof(tls), "      ca_file: %s\n      server_name_override: localhost\n",
		 certs.other_ca);
	tls_run(&certs, false, tls, &r);
	assert_int_equal(r.sent, 0);
	assert_int_equal(r.n_seen, 0);
	snprintf(tls, sizeof(tls), "      insecure_skip_verify: true\n");
	tls_run(&certs, false, tls, &r);
	assert_int_equal(r.sent, 3);
	assert_int_equal(r.n_seen, 1);

	/* a plaintext client against a TLS server gets nowhere */
	tls_run(&certs, false, "      insecure: true\n", &r);
	assert_int_equal(r.sent, 0);
	assert_int_equal(r.n_seen, 0);
	oe_certs_free(&certs);
}

/* A raw transport/grpc_server (messages as they came on the wire) on a loop
 * of its own in a thread, recording the last request. */
struct wire_server {
	uv_loop_t loop;
	uv_async_t stop;
	uv_thread_t thread;
	struct pf_grpc_server *gs;
	unsigned port;
	/* the last request, written on the server's loop, read after the join */
	int calls;
	enum pf_grpc_encoding encoding;
	uint8_t *body;
	size_t body_len;
};

static void wire_export(void *arg, const struct pf_grpc_request *req, struct pf_grpc_response *resp)
{
	struct wire_server *w = arg;

	w->calls++;
	w->encoding = req->encoding;
	free(w->body);
	w->body = malloc(req->body_len + 1);
	assert_non_null(w->body);
	memcpy(w->body, req->body ? (const void *)req->body : "", req->body_len);
	w->body_len = req->body_len;
	resp->code = PF_GRPC_OK; /* an empty ExportProfilesServiceResponse */
}

static void wire_stop(uv_async_t *a)
{
	struct wire_server *w = a->data;

	pf_grpc_server_close(w->gs, NULL, NULL);
	uv_close((uv_handle_t *)&w->stop, NULL);
}

static void wire_thread(void *arg)
{
	struct wire_server *w = arg;

	uv_run(&w->loop, UV_RUN_DEFAULT);
}

static void wire_start(struct wire_server *w)
{
	struct pf_error err = {0};

	memset(w, 0, sizeof(*w));
	assert_int_equal(uv_loop_init(&w->loop), 0);
	w->gs = pf_grpc_server_create(&w->loop, "127.0.0.1:0", NULL, (size_t)4 << 20, 2, &err);
	assert_non_null(w->gs);
	pf_grpc_server_raw(w->gs);
	assert_int_equal(pf_grpc_server_method(w->gs,
					       "/opentelemetry.proto.collector.profiles."
					       "v1development.ProfilesService/Export",
					       wire_export, w),
			 0);
	assert_int_equal(pf_grpc_server_start(w->gs, &err), 0);
	w->port = pf_grpc_server_port(w->gs);
	assert_int_equal(uv_async_init(&w->loop, &w->stop, wire_stop), 0);
	w->stop.data = w;
	assert_int_equal(uv_thread_create(&w->thread, wire_thread, w), 0);
}

static void wire_stop_and_join(struct wire_server *w)
{
	uv_async_send(&w->stop);
	uv_thread_join(&w->thread);
	assert_int_equal(uv_loop_close(&w->loop), 0);
}

/* Samples in a request message. */
static size_t wire_samples(const uint8_t *body, size_t len)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_error err = {0};
	size_t n;

	assert_non_null(b);
	assert_true(pf_otlp_decode(b, body, len, 0, NULL, &err) >= 0);
	n = pf_batch_sample_count(b);
	pf_batch_unref(b);
	return n;
}

/* Exports oe_batch() to a raw server with `compression`; returns what the
 * server saw. */
static void wire_export_one(struct wire_server *w, const char *compression)
{
	struct sh_env env;
	char yaml[1024];

	wire_start(w);
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  feeder:\n"
		 "exporters:\n  otlp_grpc:\n    endpoint: 127.0.0.1:%u\n"
		 "    tls:\n      insecure: true\n%s"
		 "service:\n  pipelines:\n    profiles:\n"
		 "      receivers: [feeder]\n      exporters: [otlp_grpc]\n",
		 w->port, compression);
	oe_env_start(&env, yaml);
	oe_send_and_wait(&env, oe_batch(), 20000);
	assert_int_equal(oe_counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	wire_stop_and_join(w);
	assert_int_equal(w->calls, 1);
}

/* The exporter's messages (gzipped by libdeflate, not by core) arrive as
 * gzip-encoded gRPC messages holding one valid gzip member; grpc_ok shows
 * that core's own decompression accepts them. compression: none is plain. */
static void grpc_gzip_on_the_wire(void **state)
{
	struct wire_server w;
	uint8_t *plain;
	size_t plain_len;

	wire_export_one(&w, ""); /* gzip is the default */
	assert_int_equal(w.encoding, PF_GRPC_GZIP);
	assert_true(pf_gzip_detect(w.body, w.body_len));
	assert_int_equal(
		pf_gzip_decompress(w.body, w.body_len, (size_t)64 << 20, &plain, &plain_len), 0);
	assert_int_equal(wire_samples(plain, plain_len), 3);
	free(plain);
	free(w.body);

	wire_export_one(&w, "    compression: none\n");
	assert_int_equal(w.encoding, PF_GRPC_IDENTITY);
	assert_int_equal(wire_samples(w.body, w.body_len), 3);
	free(w.body);
}

int oe_run_grpc_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grpc_ok),
		cmocka_unit_test(grpc_unavailable_retry_info),
		cmocka_unit_test(grpc_invalid_argument_not_retried),
		cmocka_unit_test(grpc_resource_exhausted_needs_retry_info),
		cmocka_unit_test(grpc_partial_success_counted_not_retried),
		cmocka_unit_test(grpc_server_down_then_up),
		cmocka_unit_test(grpc_tls_and_mtls),
		cmocka_unit_test(grpc_shutdown_cancels_a_hanging_call),
		cmocka_unit_test(grpc_gzip_on_the_wire),
	};

	return cmocka_run_group_tests_name("otlp", tests, NULL, NULL);
}
