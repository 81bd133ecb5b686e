// SPDX-License-Identifier: Apache-2.0
/* unit.otlp_exporters: otlphttp against a libmicrohttpd server (statuses, Retry-After, bodies, TLS), options; runs the gRPC group too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "otlp_exp_harness.h"
#include "transport/grpc_client.h"

static void http_yaml(char *yaml, size_t size, const struct oe_server *srv, const char *extra)
{
	snprintf(yaml, size,
		 "receivers:\n  feeder:\n"
		 "exporters:\n  otlphttp:\n    endpoint: http://127.0.0.1:%d\n"
		 "    headers:\n      Authorization: Bearer s3cret\n"
		 "    retry_on_failure:\n      initial_interval: 50ms\n      max_interval: 200ms\n"
		 "%s"
		 "service:\n"
		 "%s"
		 "  pipelines:\n    profiles:\n"
		 "      receivers: [feeder]\n      exporters: [otlphttp]\n",
		 srv->port, extra ? extra : "",
		 /* the shutdown test's hanging request has a second to go */
		 extra && strstr(extra, "#shutdown") ? "  shutdown_timeout: 1s\n" : "");
}

static void run_http(struct oe_server *srv, const char *extra, struct sh_env *env)
{
	char yaml[2048];

	http_yaml(yaml, sizeof(yaml), srv, extra);
	oe_env_start(env, yaml);
	oe_send_and_wait(env, oe_batch(), 20000);
}

static void http_ok(void **state)
{
	struct oe_server srv = {.steps = {{.status = 200}}, .n_steps = 1};
	struct sh_env env;

	oe_http_start(&srv, 0);
	run_http(&srv, NULL, &env);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SEND_FAILED), 0);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
	assert_string_equal(srv.seen[0].path, "/v1development/profiles");
	assert_string_equal(srv.seen[0].content_type, "application/x-protobuf");
	assert_string_equal(srv.seen[0].content_encoding, "gzip");
	assert_string_equal(srv.seen[0].authorization, "Bearer s3cret");
	assert_int_equal(srv.seen[0].decode_error, 0);
	assert_int_equal(srv.seen[0].samples, 3);
	assert_int_equal(srv.seen[0].total, 6);
}

static void http_no_compression_and_profiles_endpoint(void **state)
{
	struct oe_server srv = {.steps = {{.status = 201}}, .n_steps = 1}; /* F2: 201 is success */
	struct sh_env env;
	char extra[256];

	oe_http_start(&srv, 0);
	snprintf(extra, sizeof(extra),
		 "    compression: none\n"
		 "    profiles_endpoint: http://127.0.0.1:%d/custom/path\n",
		 srv.port);
	run_http(&srv, extra, &env);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
	assert_string_equal(srv.seen[0].path, "/custom/path");
	assert_string_equal(srv.seen[0].content_encoding, "");
	assert_int_equal(srv.seen[0].total, 6);
}

static void http_429_retry_after_seconds(void **state)
{
	struct oe_server srv = {
		.steps = {{.status = 429, .retry_after = "1", .message = "slow down"},
			  {.status = 200}},
		.n_steps = 2,
	};
	struct sh_env env;

	oe_http_start(&srv, 0);
	run_http(&srv, NULL, &env);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	assert_int_equal(srv.n_seen, 2);
	/* the server's 1 s wins over the 50 ms backoff */
	assert_true(srv.seen[1].at_ms - srv.seen[0].at_ms >= 950);
	assert_int_equal(srv.seen[1].total, 6);
}

static void http_503_retry_after_date(void **state)
{
	char date[64];
	time_t when = time(NULL) + 2;
	struct tm tm;
	struct oe_server srv = {.n_steps = 2};
	struct sh_env env;

	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	srv.steps[0] = (struct oe_step){.status = 503, .retry_after = date};
	srv.steps[1] = (struct oe_step){.status = 200};
	oe_http_start(&srv, 0);
	run_http(&srv, NULL, &env);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	assert_int_equal(srv.n_seen, 2);
	assert_true(srv.seen[1].at_ms - srv.seen[0].at_ms >= 900);
}

static void http_502_504_retried(void **state)
{
	struct oe_server srv = {
		.steps = {{.status = 502}, {.status = 504}, {.status = 200}},
		.n_steps = 3,
	};
	struct sh_env env;

	oe_http_start(&srv, 0);
	run_http(&srv, NULL, &env);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	assert_int_equal(srv.n_seen, 3);
}

static void http_400_status_not_retried(void **state)
{
	struct oe_server srv = {.steps = {{.status = 400, .message = "bad index"}}, .n_steps = 1};
	struct sh_env env;

	oe_http_start(&srv, 0);
	run_http(&srv, NULL, &env);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 0);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300); /* a retry would come within 50-100 ms */
	sh_env_stop(&env);
	oe_http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

static void http_text_plain_error_not_retried(void **state)
{
	/* Pyroscope answers errors in text/plain (E5) */
	struct oe_server srv = {
		.steps = {{.status = 422, .text_body = true, .message = "invalid profile\n"}},
		.n_steps = 1,
	};
	struct sh_env env;

	oe_http_start(&srv, 0);
	run_http(&srv, NULL, &env);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

static void http_partial_success_counted_not_retried(void **state)
{
	struct oe_server srv = {
		.steps = {{.status = 200, .rejected = 1, .message = "one profile was bad"}},
		.n_steps = 1,
	};
	struct sh_env env;

	oe_http_start(&srv, 0);
	run_http(&srv, NULL, &env);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 0);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

static void http_split_by_max_request_size(void **state)
{
	struct oe_server srv = {.steps = {{.status = 200}}, .n_steps = 1};
	struct pf_batch *b = oe_big_batch(4, 200);
	struct sh_env env;
	char yaml[2048];
	size_t samples = 0;

	oe_http_start(&srv, 0);
	http_yaml(yaml, sizeof(yaml), &srv, "    max_request_size: 8KiB\n    compression: none\n");
	oe_env_start(&env, yaml);
	oe_send_and_wait(&env, b, 20000);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 800);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	assert_true(srv.n_seen > 4);
	for (size_t i = 0; i < srv.n_seen && i < OE_MAX_REQS; i++) {
		assert_int_equal(srv.seen[i].decode_error, 0);
		samples += srv.seen[i].samples;
	}
	if (srv.n_seen <= OE_MAX_REQS)
		assert_int_equal(samples, 800);
}

static void http_connection_refused_then_up(void **state)
{
	struct oe_server srv = {.steps = {{.status = 200}}, .n_steps = 1};
	struct sh_env env;
	char yaml[2048];
	int port;

	/* learn a free port, then close it so the first attempts are refused */
	oe_http_start(&srv, 0);
	port = srv.port;
	oe_http_stop(&srv);
	http_yaml(yaml, sizeof(yaml), &srv, NULL);
	oe_env_start(&env, yaml);
	oe_emit_one(&env);
	sh_run_for(&env, 300);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 0);
	srv.n_seen = 0;
	oe_http_start(&srv, port);
	assert_true(oe_wait_settled(&env, "otlphttp", 3, 10000));
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

/* With storage file, the OK a receiver passes upstream means the batch is on
 * disk: its request file exists as soon as the emit returns, before the loop
 * runs again (a gateway killed right after answering loses nothing). */
static void http_file_queue_on_disk_when_consume_returns(void **state)
{
	struct oe_server srv = {.steps = {{.status = 200}}, .n_steps = 1};
	char dir[] = "/tmp/pf-oe-queue.XXXXXX", extra[256], yaml[2048], cmd[512];
	struct sh_env env;
	int files;
	FILE *ls;

	assert_non_null(mkdtemp(dir));
	oe_http_start(&srv, 0);
	snprintf(extra, sizeof(extra),
		 "    sending_queue:\n      storage: file\n      directory: %s\n", dir);
	http_yaml(yaml, sizeof(yaml), &srv, extra);
	oe_env_start(&env, yaml);
	oe_emit_one(&env);
	snprintf(cmd, sizeof(cmd), "find %s -name 'q-*.req' | wc -l", dir);
	ls = popen(cmd, "r");
	assert_non_null(ls);
	assert_int_equal(fscanf(ls, "%d", &files), 1);
	pclose(ls);
	assert_int_equal(files, 1);
	assert_true(oe_wait_settled(&env, "otlphttp", 3, 10000));
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- a PF_OK is a promise: the batch is in the queue ---- */

static void emit_n(struct sh_env *env, int n, int *ok, int *busy)
{
	struct pf_component *rx = sh_find(env, PF_RECEIVER, "feeder");

	for (int i = 0; i < n; i++) {
		struct pf_batch *b = oe_batch();
		int rc = pf_component_emit(rx, b);

		assert_true(rc == PF_OK || rc == PF_BUSY);
		*(rc == PF_OK ? ok : busy) += 1;
		pf_batch_unref(b);
	}
}

/* Two batches taken while one queue slot is free: the second used to pass
 * the same room check, be taken (PF_OK) and be dropped when its encoding
 * ended. Now room is reserved when a batch is taken, so it is refused. */
static void http_memory_queue_two_batches_one_room(void **state)
{
	struct oe_server srv = {.steps = {{.status = 200, .delay_ms = 1500}}, .n_steps = 1};
	struct sh_env env;
	char yaml[2048];
	int ok = 0, busy = 0;

	oe_http_start(&srv, 0);
	http_yaml(yaml, sizeof(yaml), &srv,
		  "    sending_queue:\n      queue_size: 1\n      num_consumers: 1\n");
	oe_env_start(&env, yaml);
	oe_emit_one(&env);
	sh_run_for(&env, 300); /* encoded and taken by the consumer: the slot is free */
	emit_n(&env, 2, &ok, &busy);
	assert_int_equal(ok, 1);
	assert_int_equal(busy, 1);
	assert_true(oe_wait_settled(&env, "otlphttp", 6, 10000));
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 6);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_DROPPED), 0);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_ENQUEUE_FAILED), 3);
	sh_env_stop(&env);
	oe_http_stop(&srv);
}

/* With storage file, requests being sent hold their space under max_size
 * until acknowledged: a batch that does not fit used to be taken (PF_OK)
 * and then refused by the queue; now consume refuses it. Every batch taken
 * is sent. */
static void http_file_queue_max_size_held_by_in_flight(void **state)
{
	struct oe_server srv = {.steps = {{.status = 200, .delay_ms = 1000}}, .n_steps = 1};
	char dir[] = "/tmp/pf-oe-queue.XXXXXX", extra[256], yaml[2048], cmd[512];
	struct sh_env env;
	int ok = 0, busy = 0;

	assert_non_null(mkdtemp(dir));
	oe_http_start(&srv, 0);
	snprintf(extra, sizeof(extra),
		 "    sending_queue:\n      storage: file\n      directory: %s\n"
		 "      max_size: 1KiB\n",
		 dir);
	http_yaml(yaml, sizeof(yaml), &srv, extra);
	oe_env_start(&env, yaml);
	emit_n(&env, 2, &ok, &busy);
	sh_run_for(&env, 300); /* both in flight */
	emit_n(&env, 8, &ok, &busy);
	assert_true(ok >= 2);
	assert_true(busy >= 1);
	assert_true(oe_wait_settled(&env, "otlphttp", 3 * (uint64_t)ok, 20000));
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3 * ok);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_ENQUEUE_FAILED), 3 * busy);
	assert_int_equal(
		pf_component_counter(sh_find(&env, PF_RECEIVER, "feeder"), PF_CTR_RECEIVER_REFUSED),
		3 * busy);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void on_acked(void *arg, int result)
{
	int *got = arg;

	*got = result;
}

static bool acked(void *arg)
{
	return *(int *)arg != -1;
}

/* A receiver's answer waits until the batch, encoded on the thread pool,
 * is in the memory queue; it counts the samples accepted then. */
static void http_memory_queue_ack_waits_for_queueing(void **state)
{
	struct oe_server srv = {.steps = {{.status = 200}}, .n_steps = 1};
	struct sh_env env;
	char yaml[2048];
	struct pf_component *rx;
	struct pf_batch *b;
	int got = -1;

	oe_http_start(&srv, 0);
	http_yaml(yaml, sizeof(yaml), &srv, NULL);
	oe_env_start(&env, yaml);
	rx = sh_find(&env, PF_RECEIVER, "feeder");
	b = oe_batch();
	assert_int_equal(pf_component_emit_acked(rx, b, on_acked, &got), PF_PENDING);
	pf_batch_unref(b);
	assert_int_equal(got, -1);
	assert_int_equal(pf_component_counter(rx, PF_CTR_RECEIVER_ACCEPTED), 0);
	assert_true(sh_run_until(&env, acked, &got, 5000));
	assert_int_equal(got, PF_OK);
	assert_int_equal(pf_component_counter(rx, PF_CTR_RECEIVER_ACCEPTED), 3);
	assert_true(oe_wait_settled(&env, "otlphttp", 3, 10000));
	sh_env_stop(&env);
	oe_http_stop(&srv);
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

static void http_shutdown_cancels_a_hanging_request(void **state)
{
	struct oe_server srv = {.steps = {{.status = 200, .delay_ms = 3000}}, .n_steps = 1};
	struct sh_env env;
	char yaml[2048];
	bool stopped = false;
	uint64_t t0;

	oe_http_start(&srv, 0);
	http_yaml(yaml, sizeof(yaml), &srv, "    #shutdown\n");
	oe_env_start(&env, yaml);
	oe_emit_one(&env);
	sh_run_for(&env, 500);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 0);
	t0 = uv_now(&env.loop);
	pf_service_shutdown(env.svc, on_stopped, &stopped);
	assert_true(sh_run_until(&env, is_true, &stopped, 3000));
	assert_true(uv_now(&env.loop) - t0 < 2000);
	assert_int_equal(oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 0);
	sh_env_free(&env);
	oe_http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

/* ---- HTTPS ---- */

static void https_run(struct oe_certs *certs, const char *tls_yaml, uint64_t *sent,
		      uint64_t *failed, size_t *n_seen)
{
	struct oe_server srv = {.steps = {{.status = 200}}, .n_steps = 1};
	struct sh_env env;
	char yaml[2048];

	srv.key_pem = certs->server_key_pem;
	srv.cert_pem = certs->server_cert_pem;
	oe_http_start(&srv, 0);
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  feeder:\n"
		 "exporters:\n  otlphttp:\n    endpoint: https://localhost:%d\n"
		 "    tls:\n%s"
		 "    retry_on_failure:\n      enabled: false\n"
		 "service:\n  pipelines:\n    profiles:\n"
		 "      receivers: [feeder]\n      exporters: [otlphttp]\n",
		 srv.port, tls_yaml);
	oe_env_start(&env, yaml);
	oe_send_and_wait(&env, oe_batch(), 20000);
	*sent = oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT);
	*failed = oe_counter(&env, "otlphttp", PF_CTR_EXPORTER_SEND_FAILED);
	sh_env_stop(&env);
	oe_http_stop(&srv);
	*n_seen = srv.n_seen;
}

static void https_with_ca_file(void **state)
{
	struct oe_certs certs;
	uint64_t sent, failed;
	size_t n;
	char tls[512];

	oe_certs_make(&certs);
	snprintf(tls, sizeof(tls), "      ca_file: %s\n", certs.ca);
	https_run(&certs, tls, &sent, &failed, &n);
	assert_int_equal(sent, 3);
	assert_int_equal(n, 1);

	/* a CA that did not sign the server's certificate: refused before any request */
	snprintf(tls, sizeof(tls), "      ca_file: %s\n", certs.other_ca);
	https_run(&certs, tls, &sent, &failed, &n);
	assert_int_equal(sent, 0);
	assert_int_equal(failed, 3);
	assert_int_equal(n, 0);

	/* unless verification is off */
	snprintf(tls, sizeof(tls), "      ca_file: %s\n      insecure_skip_verify: true\n",
		 certs.other_ca);
	https_run(&certs, tls, &sent, &failed, &n);
	assert_int_equal(sent, 3);
	assert_int_equal(n, 1);
	oe_certs_free(&certs);
}

/* ---- configuration ---- */

static void config_errors(void **state)
{
	static const char *const bad[] = {
		"exporters:\n  otlphttp:\n    endpoint: 127.0.0.1:4318\n",
		"exporters:\n  otlp:\n    endpoint: x:1\n    tls:\n      cert_file: /a\n",
		"exporters:\n  otlp:\n    endpoint: x:1\n    compression: zstd\n",
		"exporters:\n  otlp:\n    endpoint: x:1\n    tls: {insecure: true, ca_file: "
		"/ca.pem}\n",
		"exporters:\n  otlphttp:\n    endpoint: http://x:1\n    tls: "
		"{server_name_override: a}\n",
		"exporters:\n  otlp:\n    endpoint: x:1\n    headers: {\"bad key\": v}\n",
		"exporters:\n  otlp:\n    endpoint: http://x:1\n",
	};
	static const char tail[] = "receivers:\n  feeder:\n"
				   "service:\n  pipelines:\n    profiles:\n"
				   "      receivers: [feeder]\n      exporters: [%s]\n";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char yaml[1024];
		struct pf_error err = {0};
		struct pf_config *cfg;

		snprintf(yaml, sizeof(yaml), "%s", bad[i]);
		snprintf(yaml + strlen(yaml), sizeof(yaml) - strlen(yaml), tail,
			 strstr(bad[i], "otlphttp") ? "otlphttp" : "otlp");
		cfg = pf_config_load_string("t.yaml", yaml, strlen(yaml), oe_registry, &err);
		if (cfg)
			fail_msg("accepted config %zu", i);
		assert_true(pf_error_isset(&err));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_errors),
		cmocka_unit_test(http_ok),
		cmocka_unit_test(http_no_compression_and_profiles_endpoint),
		cmocka_unit_test(http_429_retry_after_seconds),
		cmocka_unit_test(http_503_retry_after_date),
		cmocka_unit_test(http_502_504_retried),
		cmocka_unit_test(http_400_status_not_retried),
		cmocka_unit_test(http_text_plain_error_not_retried),
		cmocka_unit_test(http_partial_success_counted_not_retried),
		cmocka_unit_test(http_file_queue_on_disk_when_consume_returns),
		cmocka_unit_test(http_memory_queue_two_batches_one_room),
		cmocka_unit_test(http_file_queue_max_size_held_by_in_flight),
		cmocka_unit_test(http_memory_queue_ack_waits_for_queueing),
		cmocka_unit_test(http_split_by_max_request_size),
		cmocka_unit_test(http_connection_refused_then_up),
		cmocka_unit_test(https_with_ca_file),
		cmocka_unit_test(http_shutdown_cancels_a_hanging_request),
	};

	int failed = cmocka_run_group_tests_name("otlphttp", tests, NULL, NULL);

	return failed + oe_run_grpc_tests();
}
