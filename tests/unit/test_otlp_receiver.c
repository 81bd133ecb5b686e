// SPDX-License-Identifier: Apache-2.0
/* unit.otlp_receiver: the otlp receiver in a real service; over HTTP driven by libcurl (gRPC: test_otlp_receiver_grpc.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <grpc/grpc.h>

#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "formats/pb_wire.h"
#include "transport/grpc_server.h"
#include "transport/http_server.h"
#include "test_http_peer.h"
#include "test_otlp_receiver.h"

extern const struct pf_component_def pf_receiver_otlp;
extern const struct pf_component_def pf_extension_bearertokenauth;

static const struct pf_component_def *const registry[] = {
	&pf_receiver_otlp, &pf_extension_bearertokenauth, &rh_capture_def, NULL};

/* ---- service ---- */

struct pf_config *load(const char *yaml, struct pf_error *err)
{
	return pf_config_load_string("test.yaml", yaml, strlen(yaml), registry, err);
}

void env_start_token(struct env *env, const char *receiver_yaml, const char *token)
{
	char yaml[8192];

	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  otlp:\n%s"
		 "exporters:\n  capture:\n"
		 "%s%s%s"
		 "service:\n  %spipelines:\n    profiles:\n      receivers: [otlp]\n"
		 "      exporters: [capture]\n",
		 receiver_yaml, token ? "extensions:\n  bearertokenauth:\n    token: \"" : "",
		 token ? token : "", token ? "\"\n" : "",
		 token ? "extensions: [bearertokenauth]\n  " : "");
	memset(env, 0, sizeof(*env));
	rh_env_start(&env->rh, registry, yaml, "otlp");
	env->rx = env->rh.recv->inst;
	if (env->rx->http)
		snprintf(env->http_url, sizeof(env->http_url),
			 "http://127.0.0.1:%u/v1development/profiles",
			 pf_http_server_port(env->rx->http));
	if (env->rx->grpc)
		snprintf(env->grpc_target, sizeof(env->grpc_target), "127.0.0.1:%u",
			 pf_grpc_server_port(env->rx->grpc));
}

void env_start(struct env *env, const char *receiver_yaml)
{
	env_start_token(env, receiver_yaml, NULL);
}

void env_stop(struct env *env)
{
	rh_env_stop(&env->rh);
}

size_t samples_received(struct env *env)
{
	return rh_samples(&env->rh);
}

/* ---- payloads ---- */

void make_request(int n, bool json, uint8_t **out, size_t *size)
{
	int64_t *values = calloc((size_t)n + 1, sizeof(*values));
	struct pf_batch *b;

	assert_non_null(values);
	for (int i = 0; i < n; i++)
		values[i] = i + 1;
	b = rh_batch(values, (size_t)n);
	if (json)
		assert_int_equal(pf_otlp_encode_json(b, NULL, 0, (char **)out, size), 0);
	else
		assert_int_equal(pf_otlp_encode(b, NULL, 0, out, size), 0);
	pf_batch_unref(b);
	free(values);
}

/* Room for a rewritten message: each sample grows by a few bytes. */
static size_t sub_len_max(size_t len)
{
	return len * 2 + 1024;
}

/* Rewrites a v1.10 request the way a v1.9 peer would have sent its
 * samples: Sample.values moved to field 2 (v1.9's values, v1.10's
 * attribute_indices), as {10000000, 7}. Path: request.resource_profiles (1)
 * .scope_profiles (2) .profiles (2) .samples (2). */
static size_t to_v19(const uint8_t *in, size_t len, uint8_t *out, int depth)
{
	static const uint32_t path[4] = {1, 2, 2, 2};
	struct pf_pb_cursor c = {.p = in, .end = in + len};
	size_t n = 0;

	if (depth == 4) {
		uint8_t packed[16];
		size_t plen = pf_pb_put_varint(packed, 10000000);
		plen += pf_pb_put_varint(packed + plen, 7);
		n += pf_pb_put_varint(out + n, 2 << 3 | PF_PB_LEN);
		n += pf_pb_put_varint(out + n, plen);
		memcpy(out + n, packed, plen);
		n += plen;
	}
	while (c.p < c.end) {
		const uint8_t *start = c.p;
		uint32_t field = 0;
		unsigned wire = 0;
		assert_true(pf_pb_read_key(&c, &field, &wire));
		if (wire == PF_PB_LEN && depth < 4 && field == path[depth]) {
			const uint8_t *sub = NULL;
			size_t sub_len = 0;
			uint8_t *tmp = malloc(sub_len_max(len));
			assert_true(pf_pb_read_len(&c, &sub, &sub_len));
			size_t m = to_v19(sub, sub_len, tmp, depth + 1);
			n += pf_pb_put_varint(out + n, (uint64_t)field << 3 | PF_PB_LEN);
			n += pf_pb_put_varint(out + n, m);
			memcpy(out + n, tmp, m);
			n += m;
			free(tmp);
			continue;
		}
		assert_true(pf_pb_skip(&c, wire));
		if (depth == 4 && field == 4)
			continue; /* values: dropped */
		memcpy(out + n, start, (size_t)(c.p - start));
		n += (size_t)(c.p - start);
	}
	return n;
}

void make_v19_request(uint8_t **out, size_t *size)
{
	uint8_t *req;
	size_t len;

	make_request(4, false, &req, &len);
	*out = malloc(sub_len_max(len));
	assert_non_null(*out);
	*size = to_v19(req, len, *out, 0);
	free(req);
}

/* ---- HTTP ---- */

void http_post(struct env *env, struct hp_call *h)
{
	char url[160];

	snprintf(url, sizeof(url), "%s%s", h->ca_file ? "https" : "http",
		 strchr(env->http_url, ':'));
	h->url = url;
	hp_call(&env->rh.sh.loop, h);
	h->url = NULL;
}

/* Starts a, which stalls after a.pause_at body bytes (or ends, refused
 * sooner); once the server had time to hold them, posts b; then lets a
 * finish. */
static void stall_then_post(struct env *env, struct hp_call *a, struct hp_call *b)
{
	hp_call_start(a);
	for (int i = 0; i < 5000 && atomic_load(&a->sent) < a->pause_at && !atomic_load(&a->done);
	     i++)
		uv_run(&env->rh.sh.loop, UV_RUN_NOWAIT), uv_sleep(1);
	for (int i = 0; i < 300; i++)
		uv_run(&env->rh.sh.loop, UV_RUN_NOWAIT), uv_sleep(1);
	hp_call(&env->rh.sh.loop, b);
	atomic_store(&a->release, true);
	hp_call_wait(&env->rh.sh.loop, a);
}

/* Two requests at once: the second finds the body budget spent. */
static void test_http_body_budget(void **state)
{
	struct env env;
	size_t size = 900 << 10;
	uint8_t *zeros = calloc(1, size);

	env_start(&env, "    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"
			"        max_recv_msg_size_mib: 1\n        max_concurrent_requests: 1\n");
	struct hp_call a = {.url = env.http_url,
			    .content_type = "application/x-protobuf",
			    .body = zeros,
			    .body_len = size,
			    .pause_at = 600 << 10};
	struct hp_call b = {.url = env.http_url,
			    .content_type = "application/x-protobuf",
			    .body = zeros,
			    .body_len = 600 << 10};
	stall_then_post(&env, &a, &b);
	assert_int_equal(b.status, 503);
	assert_string_equal(b.retry_after, "1");
	assert_int_equal(a.status, 400); /* read whole, then refused as bad data */
	free(a.resp);
	free(b.resp);
	free(zeros);
	env_stop(&env);
}

/* Clients without the token, stalled in the middle of large bodies, must
 * not hold the body budget: they are refused on their headers. */
static void test_http_unauthenticated_bodies_do_not_take_the_budget(void **state)
{
	struct env env;
	size_t size = 900 << 10;
	uint8_t *zeros = calloc(1, size), *req;
	size_t len;

	env_start_token(&env,
			"    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"
			"        max_recv_msg_size_mib: 1\n        max_concurrent_requests: 1\n"
			"        auth:\n          authenticator: bearertokenauth\n",
			"s3cret");
	make_request(2000, false, &req, &len);
	assert_true(len > 8192); /* more than the budget left beside a held body */
	struct hp_call a = {.url = env.http_url,
			    .content_type = "application/x-protobuf",
			    .body = zeros,
			    .body_len = size,
			    .pause_at = 600 << 10};
	struct hp_call b = {.url = env.http_url,
			    .content_type = "application/x-protobuf",
			    .auth = "Bearer s3cret",
			    .body = req,
			    .body_len = len};
	stall_then_post(&env, &a, &b);
	assert_int_equal(b.status, 200);
	assert_int_equal(samples_received(&env), 2000);
	/* a was answered 401 from its headers and its connection closed while
	 * it was still sending: curl may see the 401 or only the reset. */
	assert_true(a.status == 401 || a.status == 0);
	free(a.resp);
	free(b.resp);
	free(req);
	free(zeros);
	env_stop(&env);
}

/* ---- decoding off the loop ---- */

/* Watches the loop: the longest time between two turns of a 1 ms timer. */
struct ticker {
	uv_timer_t timer;
	uint64_t last_ns, max_gap_ns;
};

static void on_tick(uv_timer_t *t)
{
	struct ticker *tk = t->data;
	uint64_t now = uv_hrtime();

	if (tk->last_ns && now - tk->last_ns > tk->max_gap_ns)
		tk->max_gap_ns = now - tk->last_ns;
	tk->last_ns = now;
}

static void ticker_start(struct env *env, struct ticker *tk)
{
	memset(tk, 0, sizeof(*tk));
	uv_timer_init(&env->rh.sh.loop, &tk->timer);
	tk->timer.data = tk;
	uv_timer_start(&tk->timer, on_tick, 1, 1);
}

static void ticker_stop(struct ticker *tk)
{
	uv_close((uv_handle_t *)&tk->timer, NULL);
}

#define BIG_SAMPLES 150000
#define BIG_LIMIT                                                                                  \
	"    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"                             \
	"        max_recv_msg_size_mib: 512\n"

/* A large gzip'ed JSON request, and how long decompressing and decoding it
 * takes on this thread (ns). */
static uint64_t make_big_request(uint8_t **gz, size_t *gz_len)
{
	uint8_t *json, *plain;
	size_t len, plain_len;
	struct pf_batch *b = NULL;
	struct pf_error err = {0};
	uint64_t t0;

	make_request(BIG_SAMPLES, true, &json, &len);
	assert_int_equal(pf_gzip_compress(json, len, 1, gz, gz_len), 0);
	free(json);
	t0 = uv_hrtime();
	assert_int_equal(pf_gzip_decompress(*gz, *gz_len, (size_t)512 << 20, &plain, &plain_len),
			 0);
	assert_int_equal(
		pf_otlp_rx_decode(plain, plain_len, (size_t)512 << 20, true, NULL, &b, &err), 1);
	t0 = uv_hrtime() - t0;
	pf_batch_unref(b);
	free(plain);
	return t0;
}

/* Runs the loop until the HTTP server holds `n` deferred requests (or h
 * is done, or 10 s passed). */
static void wait_pending(struct env *env, size_t n, struct hp_call *h)
{
	for (int i = 0; i < 10000 && pf_http_server_pending(env->rx->http) != n &&
			!(h && atomic_load(&h->done));
	     i++)
		uv_run(&env->rh.sh.loop, UV_RUN_NOWAIT), uv_sleep(1);
}

/* While a large body is decompressed and decoded, the loop keeps turning
 * and a small request is answered before it. */
static void test_http_decode_off_the_loop(void **state)
{
	struct env env;
	struct ticker tk;
	uint8_t *gz, *small;
	size_t gz_len, small_len;
	uint64_t decode_ns = make_big_request(&gz, &gz_len);

	make_request(3, false, &small, &small_len);
	print_message("decoding takes %.1f ms here\n", decode_ns / 1e6);
	env_start(&env, BIG_LIMIT);
	ticker_start(&env, &tk);
	struct hp_call big = {.url = env.http_url,
			      .content_type = "application/json",
			      .encoding = "gzip",
			      .body = gz,
			      .body_len = gz_len};
	struct hp_call b = {.url = env.http_url,
			    .content_type = "application/x-protobuf",
			    .body = small,
			    .body_len = small_len};
	hp_call_start(&big);
	wait_pending(&env, 1, &big);
	assert_false(atomic_load(&big.done)); /* deferred: not answered on the loop */
	hp_call(&env.rh.sh.loop, &b);
	hp_call_wait(&env.rh.sh.loop, &big);
	ticker_stop(&tk);
	print_message("the loop stood still %.1f ms at most\n", tk.max_gap_ns / 1e6);
	assert_int_equal(b.status, 200);
	assert_int_equal(big.status, 200);
	assert_true(b.done_ns < big.done_ns);
	assert_int_equal(samples_received(&env), BIG_SAMPLES + 3);
	/* A loop blocked by the decoding would have stood still this long. */
	if (tk.max_gap_ns * 2 >= decode_ns)
		fail_msg("the loop stood still %.1f ms; decoding takes %.1f ms",
			 tk.max_gap_ns / 1e6, decode_ns / 1e6);
	wait_pending(&env, 0, NULL); /* completed once the answer was sent */
	assert_int_equal(pf_http_server_pending(env.rx->http), 0);
	hp_call_free(&big);
	hp_call_free(&b);
	free(gz);
	free(small);
	env_stop(&env);
}

/* Runs the loop until the capture holds n parts, or `ms` pass. */
static void wait_held(struct env *env, size_t n, int ms)
{
	for (int i = 0; i < ms && env->rh.cap->n_held < n; i++)
		uv_run(&env->rh.sh.loop, UV_RUN_NOWAIT), uv_sleep(1);
}

/* The answer waits until the exporter has the batch in its queue: 200 once
 * it settles OK, 503 with Retry-After (the refusal counted) once it
 * refuses; the receiver used to answer 200 as soon as the batch was taken. */
static void test_http_answer_waits_for_exporters(void **state)
{
	struct env env;
	uint8_t *req;
	size_t len;
	const int results[] = {PF_OK, PF_BUSY};

	env_start(&env, HTTP_ONLY);
	make_request(3, false, &req, &len);
	env.rh.cap->hold = true;
	for (size_t i = 0; i < 2; i++) {
		struct hp_call h = {.url = env.http_url,
				    .content_type = "application/x-protobuf",
				    .body = req,
				    .body_len = len};

		hp_call_start(&h);
		wait_held(&env, 1, 10000);
		assert_int_equal(env.rh.cap->n_held, 1);
		for (int t = 0; t < 100; t++) /* 100 ms: not answered meanwhile */
			uv_run(&env.rh.sh.loop, UV_RUN_NOWAIT), uv_sleep(1);
		assert_false(atomic_load(&h.done));
		/* counted once the answer is known */
		assert_int_equal(pf_component_counter(env.rh.recv, PF_CTR_RECEIVER_ACCEPTED),
				 i ? 3 : 0);
		rh_settle(env.rh.cap, results[i]);
		hp_call_wait(&env.rh.sh.loop, &h);
		if (results[i] == PF_OK) {
			assert_int_equal(h.status, 200);
		} else {
			assert_int_equal(h.status, 503);
			assert_string_equal(h.retry_after, "1");
			assert_int_equal(pf_component_counter(env.rh.recv, PF_CTR_RECEIVER_REFUSED),
					 3);
		}
		hp_call_free(&h);
	}
	free(req);
	env_stop(&env);
}

static void on_stopped(struct pf_service *s, bool timed_out, void *arg)
{
	*(bool *)arg = true;
}

/* Shutdown while a request is on the thread pool: the service waits for it,
 * the client is told to retry (503), nothing is passed on, nothing leaks. */
static void test_http_shutdown_while_decoding(void **state)
{
	struct env env;
	uint8_t *gz;
	size_t gz_len;
	bool stopped = false;

	make_big_request(&gz, &gz_len);
	env_start(&env, BIG_LIMIT);
	struct hp_call big = {.url = env.http_url,
			      .content_type = "application/json",
			      .encoding = "gzip",
			      .body = gz,
			      .body_len = gz_len};
	hp_call_start(&big);
	wait_pending(&env, 1, &big);
	assert_false(atomic_load(&big.done));
	pf_service_shutdown(env.rh.sh.svc, on_stopped, &stopped);
	while (!stopped)
		uv_run(&env.rh.sh.loop, UV_RUN_ONCE);
	hp_call_wait(&env.rh.sh.loop, &big);
	assert_int_equal(big.status, 503);
	assert_string_equal(big.retry_after, "1");
	assert_string_equal(big.ctype, "application/json");
	assert_int_equal(samples_received(&env), 0);
	hp_call_free(&big);
	free(gz);
	rh_env_free(&env.rh);
}

/* Shutdown while an answer waits for the exporter: the receiver waits for
 * it too (its server does not close on the client), and the client gets
 * the exporter's answer. */
static void test_http_shutdown_waits_for_the_answer(void **state)
{
	struct env env;
	uint8_t *req;
	size_t len;
	bool stopped = false;

	env_start(&env, HTTP_ONLY);
	make_request(3, false, &req, &len);
	env.rh.cap->hold = true;
	struct hp_call h = {.url = env.http_url,
			    .content_type = "application/x-protobuf",
			    .body = req,
			    .body_len = len};
	hp_call_start(&h);
	wait_held(&env, 1, 10000);
	assert_int_equal(env.rh.cap->n_held, 1);
	pf_service_shutdown(env.rh.sh.svc, on_stopped, &stopped);
	for (int t = 0; t < 100; t++)
		uv_run(&env.rh.sh.loop, UV_RUN_NOWAIT), uv_sleep(1);
	assert_false(atomic_load(&h.done));
	rh_settle(env.rh.cap, PF_OK);
	while (!stopped)
		uv_run(&env.rh.sh.loop, UV_RUN_ONCE);
	hp_call_wait(&env.rh.sh.loop, &h);
	assert_int_equal(h.status, 200);
	assert_int_equal(pf_component_counter(env.rh.recv, PF_CTR_RECEIVER_ACCEPTED), 3);
	hp_call_free(&h);
	free(req);
	rh_env_free(&env.rh);
}

/* ---- tests ---- */

static void test_validate(void **state)
{
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];
	const char *none = "receivers:\n  otlp:\n    protocols: {}\nexporters:\n  capture:\n"
			   "service:\n  pipelines:\n    profiles:\n      receivers: [otlp]\n"
			   "      exporters: [capture]\n";
	const char *null_grpc = "receivers:\n  otlp:\n    protocols:\n      grpc:\n"
				"exporters:\n  capture:\n"
				"service:\n  pipelines:\n    profiles:\n      receivers: [otlp]\n"
				"      exporters: [capture]\n";
	struct pf_config *cfg = load(none, &err);

	assert_null(cfg);
	assert_non_null(strstr(pf_error_str(&err, buf, sizeof(buf)), "at least one"));
	cfg = load(null_grpc, &err);
	if (!cfg)
		fail_msg("%s", pf_error_str(&err, buf, sizeof(buf)));
	pf_config_free(cfg);
}

static void test_http_statuses(void **state)
{
	struct env env;
	uint8_t *req, *gz;
	size_t len, gz_len;

	env_start(&env, HTTP_ONLY);
	make_request(10, false, &req, &len);

	/* protobuf with a Content-Type parameter: 200, protobuf, no partial success */
	struct hp_call ok = {.content_type = "application/x-protobuf; charset=binary",
			     .body = req,
			     .body_len = len};
	http_post(&env, &ok);
	assert_int_equal(ok.status, 200);
	assert_string_equal(ok.ctype, "application/x-protobuf");
	int64_t rejected = -1;
	assert_int_equal(
		pf_otlp_decode_response(ok.resp, ok.resp_len, false, &rejected, NULL, 0, NULL), 0);
	assert_int_equal(samples_received(&env), 10);

	/* gzip */
	assert_int_equal(pf_gzip_compress(req, len, 6, &gz, &gz_len), 0);
	struct hp_call z = {.content_type = "application/x-protobuf",
			    .encoding = "gzip",
			    .body = gz,
			    .body_len = gz_len};
	http_post(&env, &z);
	assert_int_equal(z.status, 200);
	assert_int_equal(samples_received(&env), 20);

	/* GET: 405; unknown type: 415; garbage: 400 with a Status */
	struct hp_call get = {.method = "GET"};
	http_post(&env, &get);
	assert_int_equal(get.status, 405);
	struct hp_call xml = {.content_type = "text/xml", .body = "<a/>", .body_len = 4};
	http_post(&env, &xml);
	assert_int_equal(xml.status, 415);
	struct hp_call bad = {.content_type = "application/x-protobuf",
			      .body = "\x0a\x05\x01\x02",
			      .body_len = 4};
	http_post(&env, &bad);
	assert_int_equal(bad.status, 400);
	int code = 0;
	char msg[256];
	int64_t retry;
	assert_int_equal(
		pf_otlp_decode_status(bad.resp, bad.resp_len, &code, msg, sizeof(msg), &retry), 0);
	assert_int_equal(code, PF_GRPC_INVALID_ARGUMENT);
	assert_true(msg[0] != '\0');
	assert_int_equal(pf_component_counter(env.rh.recv, PF_CTR_INPUT_ERRORS), 1);

	/* a v1.9 peer: 400 naming the old layout */
	uint8_t *old;
	size_t old_len;
	make_v19_request(&old, &old_len);
	struct hp_call v19 = {
		.content_type = "application/x-protobuf", .body = old, .body_len = old_len};
	http_post(&env, &v19);
	assert_int_equal(v19.status, 400);
	assert_int_equal(
		pf_otlp_decode_status(v19.resp, v19.resp_len, &code, msg, sizeof(msg), &retry), 0);
	assert_non_null(strstr(msg, "v1.9"));
	free(v19.resp);
	free(old);

	/* corrupt gzip: 400 */
	struct hp_call badz = {.content_type = "application/x-protobuf",
			       .encoding = "gzip",
			       .body = "\x1f\x8b\x08\x00zzzz",
			       .body_len = 8};
	http_post(&env, &badz);
	assert_int_equal(badz.status, 400);

	/* empty request: 200 with an empty response */
	struct hp_call empty = {.content_type = "application/x-protobuf"};
	http_post(&env, &empty);
	assert_int_equal(empty.status, 200);
	assert_int_equal(empty.resp_len, 0);

	/* and the good client is still served */
	struct hp_call again = {
		.content_type = "application/x-protobuf", .body = req, .body_len = len};
	http_post(&env, &again);
	assert_int_equal(again.status, 200);
	assert_int_equal(samples_received(&env), 30);

	free(ok.resp);
	free(z.resp);
	free(get.resp);
	free(xml.resp);
	free(bad.resp);
	free(badz.resp);
	free(empty.resp);
	free(again.resp);
	free(gz);
	free(req);
	env_stop(&env);
}

static void test_http_json(void **state)
{
	struct env env;
	uint8_t *req;
	size_t len;

	env_start(&env, HTTP_ONLY);
	make_request(4, true, &req, &len);
	struct hp_call ok = {.content_type = "application/json", .body = req, .body_len = len};
	http_post(&env, &ok);
	assert_int_equal(ok.status, 200);
	assert_string_equal(ok.ctype, "application/json");
	assert_int_equal(samples_received(&env), 4);
	/* a JSON error comes back as a JSON Status */
	struct hp_call bad = {.content_type = "application/json",
			      .body = "{\"resourceProfiles\": 7}",
			      .body_len = 23};
	http_post(&env, &bad);
	assert_int_equal(bad.status, 400);
	assert_string_equal(bad.ctype, "application/json");
	assert_non_null(strstr((char *)bad.resp, "\"code\""));
	free(ok.resp);
	free(bad.resp);
	free(req);
	env_stop(&env);
}

static void test_http_size_after_decompression(void **state)
{
	struct env env;
	size_t big = (size_t)2 << 20;
	uint8_t *zeros = calloc(1, big), *gz;
	size_t gz_len;

	env_start(&env, "    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"
			"        max_recv_msg_size_mib: 1\n");
	assert_int_equal(pf_gzip_compress(zeros, big, 6, &gz, &gz_len), 0);
	assert_true(gz_len < ((size_t)1 << 20));
	struct hp_call z = {.content_type = "application/x-protobuf",
			    .encoding = "gzip",
			    .body = gz,
			    .body_len = gz_len};
	http_post(&env, &z);
	assert_int_equal(z.status, 413);
	/* uncompressed over the limit too */
	struct hp_call raw = {
		.content_type = "application/x-protobuf", .body = zeros, .body_len = big};
	http_post(&env, &raw);
	assert_int_equal(raw.status, 413);
	free(z.resp);
	free(raw.resp);
	free(gz);
	free(zeros);
	env_stop(&env);
}

static void test_http_auth_and_busy(void **state)
{
	struct env env;
	uint8_t *req;
	size_t len;

	env_start_token(&env,
			"    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"
			"        auth:\n          authenticator: bearertokenauth\n",
			"s3cret");
	make_request(3, false, &req, &len);
	struct hp_call none = {
		.content_type = "application/x-protobuf", .body = req, .body_len = len};
	http_post(&env, &none);
	assert_int_equal(none.status, 401);
	struct hp_call wrong = {.content_type = "application/x-protobuf",
				.auth = "Bearer s3cre",
				.body = req,
				.body_len = len};
	http_post(&env, &wrong);
	assert_int_equal(wrong.status, 401);
	struct hp_call right = {.content_type = "application/x-protobuf",
				.auth = "Bearer s3cret",
				.body = req,
				.body_len = len};
	http_post(&env, &right);
	assert_int_equal(right.status, 200);
	assert_int_equal(samples_received(&env), 3);

	env.rh.cap->busy = true;
	struct hp_call busy = {.content_type = "application/x-protobuf",
			       .auth = "bearer s3cret",
			       .body = req,
			       .body_len = len};
	http_post(&env, &busy);
	assert_int_equal(busy.status, 503);
	assert_string_equal(busy.retry_after, "1");
	int code = 0;
	int64_t retry = 0;
	assert_int_equal(pf_otlp_decode_status(busy.resp, busy.resp_len, &code, NULL, 0, &retry),
			 0);
	assert_int_equal(code, PF_GRPC_UNAVAILABLE);
	assert_int_equal(retry, 1000);
	assert_int_equal(pf_component_counter(env.rh.recv, PF_CTR_RECEIVER_REFUSED), 3);
	env.rh.cap->busy = false;

	free(none.resp);
	free(wrong.resp);
	free(right.resp);
	free(busy.resp);
	free(req);
	env_stop(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_http_statuses),
		cmocka_unit_test(test_http_json),
		cmocka_unit_test(test_http_size_after_decompression),
		cmocka_unit_test(test_http_auth_and_busy),
		cmocka_unit_test(test_http_body_budget),
		cmocka_unit_test(test_http_unauthenticated_bodies_do_not_take_the_budget),
		cmocka_unit_test(test_http_decode_off_the_loop),
		cmocka_unit_test(test_http_answer_waits_for_exporters),
		cmocka_unit_test(test_http_shutdown_waits_for_the_answer),
		cmocka_unit_test(test_http_shutdown_while_decoding),
		cmocka_unit_test(test_grpc),
		cmocka_unit_test(test_grpc_size_and_auth),
		cmocka_unit_test(test_grpc_long_bearer_token),
		cmocka_unit_test(test_grpc_answer_waits_for_exporters),
		cmocka_unit_test(test_tls),
	};
	int rc;

	grpc_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	grpc_shutdown();
	return rc;
}
