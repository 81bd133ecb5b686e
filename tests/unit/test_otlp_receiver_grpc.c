// SPDX-License-Identifier: Apache-2.0
/* unit.otlp_receiver, gRPC and TLS: the receiver driven by a grpc core client, and HTTPS by libcurl. */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "transport/grpc_server.h"
#include "test_http_peer.h"
#include "test_otlp_receiver.h"

#define EXPORT "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"

/* ---- gRPC client (grpc core, on a thread) ---- */

struct grpc_call_spec {
	const char *target;
	const char *auth;
	bool gzip;
	/* A grpc_compression_algorithm: body is sent as already compressed
	 * that way (core does not compress it again); 0: as gzip says. */
	int precompressed;
	const char *ca_pem, *cert_pem, *key_pem; /* TLS when ca_pem is set */
	const void *body;
	size_t body_len;
	/* Results. */
	int code;
	char message[512];
	int64_t retry_ms; /* from grpc-status-details-bin; -1 if none */
	int details_code;
	uint8_t *resp;
	size_t resp_len;
	atomic_bool done;
};

static void grpc_thread(void *arg)
{
	struct grpc_call_spec *g = arg;
	grpc_arg a[2] = {
		{.type = GRPC_ARG_STRING,
		 .key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
		 .value.string = (char *)"localhost"},
		{.type = GRPC_ARG_INTEGER,
		 .key = (char *)GRPC_COMPRESSION_CHANNEL_DEFAULT_ALGORITHM,
		 .value.integer = g->precompressed ? g->precompressed : GRPC_COMPRESS_GZIP}};
	grpc_channel_args args = {.num_args = g->gzip || g->precompressed ? 2 : 1, .args = a};
	grpc_ssl_pem_key_cert_pair pair = {.private_key = g->key_pem, .cert_chain = g->cert_pem};
	grpc_channel_credentials *creds =
		g->ca_pem ? grpc_ssl_credentials_create(g->ca_pem, g->cert_pem ? &pair : NULL, NULL,
							NULL)
			  : grpc_insecure_credentials_create();
	grpc_channel *ch = grpc_channel_create(g->target, creds, &args);
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	gpr_timespec deadline =
		gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(20, GPR_TIMESPAN));
	grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
						   grpc_slice_from_static_string(EXPORT), NULL,
						   deadline, NULL);
	grpc_metadata md = {.key = grpc_slice_from_static_string("authorization")};
	grpc_metadata_array init_md, trail_md;
	grpc_slice payload = grpc_slice_from_copied_buffer(g->body ? g->body : "", g->body_len);
	grpc_byte_buffer *send =
		g->precompressed
			? grpc_raw_compressed_byte_buffer_create(
				  &payload, 1, (grpc_compression_algorithm)g->precompressed)
			: grpc_raw_byte_buffer_create(&payload, 1);
	grpc_byte_buffer *recv = NULL;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op ops[6];
	size_t n = 0;

	grpc_metadata_array_init(&init_md);
	grpc_metadata_array_init(&trail_md);
	memset(ops, 0, sizeof(ops));
	ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (g->auth) {
		md.value = grpc_slice_from_copied_string(g->auth);
		ops[n].data.send_initial_metadata.count = 1;
		ops[n].data.send_initial_metadata.metadata = &md;
	}
	n++;
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n++].data.send_message.send_message = send;
	ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[n++].data.recv_initial_metadata.recv_initial_metadata = &init_md;
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n++].data.recv_message.recv_message = &recv;
	ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[n].data.recv_status_on_client.trailing_metadata = &trail_md;
	ops[n].data.recv_status_on_client.status = &status;
	ops[n++].data.recv_status_on_client.status_details = &details;
	assert_int_equal(grpc_call_start_batch(call, ops, n, g, NULL), GRPC_CALL_OK);
	grpc_event ev =
		grpc_completion_queue_pluck(cq, g, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	assert_int_equal(ev.type, GRPC_OP_COMPLETE);
	g->code = (int)status;
	snprintf(g->message, sizeof(g->message), "%.*s", (int)GRPC_SLICE_LENGTH(details),
		 (const char *)GRPC_SLICE_START_PTR(details));
	g->retry_ms = -1;
	g->details_code = -1;
	for (size_t i = 0; i < trail_md.count; i++) {
		grpc_slice k = trail_md.metadata[i].key, v = trail_md.metadata[i].value;
		if (GRPC_SLICE_LENGTH(k) == 23 &&
		    memcmp(GRPC_SLICE_START_PTR(k), "grpc-status-details-bin", 23) == 0)
			assert_int_equal(
				pf_otlp_decode_status(GRPC_SLICE_START_PTR(v), GRPC_SLICE_LENGTH(v),
						      &g->details_code, NULL, 0, &g->retry_ms),
				0);
	}
	if (recv) {
		grpc_byte_buffer_reader rd;
		grpc_byte_buffer_reader_init(&rd, recv);
		grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
		g->resp_len = GRPC_SLICE_LENGTH(all);
		g->resp = malloc(g->resp_len + 1);
		memcpy(g->resp, GRPC_SLICE_START_PTR(all), g->resp_len);
		grpc_slice_unref(all);
		grpc_byte_buffer_reader_destroy(&rd);
		grpc_byte_buffer_destroy(recv);
	}
	grpc_slice_unref(details);
	grpc_slice_unref(payload);
	if (g->auth)
		grpc_slice_unref(md.value);
	grpc_byte_buffer_destroy(send);
	grpc_metadata_array_destroy(&init_md);
	grpc_metadata_array_destroy(&trail_md);
	grpc_call_unref(call);
	grpc_channel_destroy(ch);
	grpc_channel_credentials_release(creds);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
		       .type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	atomic_store(&g->done, true);
}

static void grpc_export(struct env *env, struct grpc_call_spec *g)
{
	uv_thread_t t;

	g->target = env->grpc_target;
	assert_int_equal(uv_thread_create(&t, grpc_thread, g), 0);
	while (!atomic_load(&g->done))
		uv_run(&env->rh.sh.loop, UV_RUN_NOWAIT), uv_sleep(1);
	uv_thread_join(&t);
}

/* ---- tests ---- */

/* `data` in zlib format (what gRPC calls deflate), malloc'd. */
static uint8_t *zlib_compress(const void *data, size_t size, size_t *out_len)
{
	uLongf n = compressBound((uLong)size);
	uint8_t *out = malloc(n);
	assert_non_null(out);
	assert_int_equal(compress2(out, &n, data, (uLong)size, 1), Z_OK);
	*out_len = n;
	return out;
}

/* Sends `body` compressed by the test as `alg` and returns the status code;
 * the status message must contain `want` (NULL: anything). */
static int export_precompressed(struct env *env, const void *body, size_t len, int alg,
				const char *want)
{
	struct grpc_call_spec g = {.body = body, .body_len = len, .precompressed = alg};
	grpc_export(env, &g);
	if (want)
		assert_non_null(strstr(g.message, want));
	free(g.resp);
	return g.code;
}

/* Requests compressed gzip or deflate, inflated by the receiver (not by
 * grpc core: the corrupt ones are refused with its messages), small ones
 * on the loop and larger ones on the thread pool. */
static void check_compressed(struct env *env, const uint8_t *req, size_t len)
{
	size_t base = samples_received(env), gz_len, z_len, big_len, big_gz_len;
	uint8_t *gz, *z, *big, *big_gz;

	assert_int_equal(pf_gzip_compress(req, len, 1, &gz, &gz_len), 0);
	assert_int_equal(export_precompressed(env, gz, gz_len, GRPC_COMPRESS_GZIP, NULL),
			 PF_GRPC_OK);
	assert_int_equal(samples_received(env), base + 10);
	z = zlib_compress(req, len, &z_len);
	assert_int_equal(export_precompressed(env, z, z_len, GRPC_COMPRESS_DEFLATE, NULL),
			 PF_GRPC_OK);
	assert_int_equal(samples_received(env), base + 20);

	/* corrupt: a gzip body for deflate, a truncated gzip, a bad CRC */
	assert_int_equal(
		export_precompressed(env, gz, gz_len, GRPC_COMPRESS_DEFLATE, "corrupt deflate"),
		PF_GRPC_INVALID_ARGUMENT);
	assert_int_equal(
		export_precompressed(env, gz, gz_len - 3, GRPC_COMPRESS_GZIP, "corrupt gzip"),
		PF_GRPC_INVALID_ARGUMENT);
	gz[gz_len - 8] ^= 0x55;
	assert_int_equal(export_precompressed(env, gz, gz_len, GRPC_COMPRESS_GZIP, "corrupt gzip"),
			 PF_GRPC_INVALID_ARGUMENT);

	/* on the thread pool: whole, then with a bad CRC */
	make_request(20000, false, &big, &big_len);
	assert_int_equal(pf_gzip_compress(big, big_len, 1, &big_gz, &big_gz_len), 0);
	assert_true(big_gz_len >= (8 << 10));
	assert_int_equal(export_precompressed(env, big_gz, big_gz_len, GRPC_COMPRESS_GZIP, NULL),
			 PF_GRPC_OK);
	assert_int_equal(samples_received(env), base + 20 + 20000);
	big_gz[big_gz_len - 8] ^= 0x55;
	assert_int_equal(
		export_precompressed(env, big_gz, big_gz_len, GRPC_COMPRESS_GZIP, "corrupt gzip"),
		PF_GRPC_INVALID_ARGUMENT);
	assert_int_equal(samples_received(env), base + 20 + 20000);
	free(big_gz);
	free(big);
	free(z);
	free(gz);
}

void test_grpc(void **state)
{
	struct env env;
	uint8_t *req;
	size_t len;

	env_start(&env, BOTH);
	make_request(10, false, &req, &len);

	struct grpc_call_spec ok = {.body = req, .body_len = len};
	grpc_export(&env, &ok);
	assert_int_equal(ok.code, PF_GRPC_OK);
	assert_int_equal(samples_received(&env), 10);

	struct grpc_call_spec gz = {.body = req, .body_len = len, .gzip = true};
	grpc_export(&env, &gz);
	assert_int_equal(gz.code, PF_GRPC_OK);
	assert_int_equal(samples_received(&env), 20);

	struct grpc_call_spec bad = {.body = "\x0a\x05\x01\x02", .body_len = 4};
	grpc_export(&env, &bad);
	assert_int_equal(bad.code, PF_GRPC_INVALID_ARGUMENT);
	assert_true(bad.message[0] != '\0');
	assert_int_equal(bad.details_code, PF_GRPC_INVALID_ARGUMENT);

	uint8_t *old;
	size_t old_len;
	make_v19_request(&old, &old_len);
	struct grpc_call_spec v19 = {.body = old, .body_len = old_len};
	grpc_export(&env, &v19);
	assert_int_equal(v19.code, PF_GRPC_INVALID_ARGUMENT);
	assert_non_null(strstr(v19.message, "v1.9"));
	free(old);
	free(v19.resp);

	struct grpc_call_spec empty = {0};
	grpc_export(&env, &empty);
	assert_int_equal(empty.code, PF_GRPC_OK);

	env.rh.cap->busy = true;
	struct grpc_call_spec busy = {.body = req, .body_len = len};
	grpc_export(&env, &busy);
	assert_int_equal(busy.code, PF_GRPC_UNAVAILABLE);
	assert_int_equal(busy.retry_ms, 1000);
	env.rh.cap->busy = false;

	/* large requests are decoded on the thread pool: accepted, busy, invalid */
	uint8_t *big;
	size_t big_len;
	make_request(20000, false, &big, &big_len);
	assert_true(big_len >= (64 << 10));
	struct grpc_call_spec big_ok = {.body = big, .body_len = big_len, .gzip = true};
	grpc_export(&env, &big_ok);
	assert_int_equal(big_ok.code, PF_GRPC_OK);
	assert_int_equal(samples_received(&env), 20 + 20000);
	env.rh.cap->busy = true;
	struct grpc_call_spec big_busy = {.body = big, .body_len = big_len};
	grpc_export(&env, &big_busy);
	assert_int_equal(big_busy.code, PF_GRPC_UNAVAILABLE);
	assert_int_equal(big_busy.retry_ms, 1000);
	env.rh.cap->busy = false;
	big[big_len / 2] ^= 0xff;
	big[big_len / 2 + 1] ^= 0xff;
	struct grpc_call_spec big_bad = {.body = big, .body_len = big_len};
	grpc_export(&env, &big_bad);
	assert_int_equal(big_bad.code, PF_GRPC_INVALID_ARGUMENT);
	free(big);
	free(big_ok.resp);
	free(big_busy.resp);
	free(big_bad.resp);

	/* still serving */
	struct grpc_call_spec again = {.body = req, .body_len = len};
	grpc_export(&env, &again);
	assert_int_equal(again.code, PF_GRPC_OK);
	assert_int_equal(samples_received(&env), 20 + 20000 + 10);

	check_compressed(&env, req, len);

	free(ok.resp);
	free(gz.resp);
	free(bad.resp);
	free(empty.resp);
	free(busy.resp);
	free(again.resp);
	free(req);
	env_stop(&env);
}

void test_grpc_size_and_auth(void **state)
{
	struct env env;
	size_t big = ((size_t)1 << 20) + 100;
	uint8_t *zeros = calloc(1, big), *req;
	size_t len;

	env_start_token(&env,
			"    protocols:\n      grpc:\n        endpoint: 127.0.0.1:0\n"
			"        max_recv_msg_size_mib: 1\n"
			"        auth:\n          authenticator: bearertokenauth\n",
			"tok");
	struct grpc_call_spec huge = {.body = zeros, .body_len = big, .auth = "Bearer tok"};
	grpc_export(&env, &huge);
	assert_int_equal(huge.code, PF_GRPC_RESOURCE_EXHAUSTED);
	/* compressed small, decompressed over the limit */
	struct grpc_call_spec huge_gz = {
		.body = zeros, .body_len = big, .auth = "Bearer tok", .gzip = true};
	grpc_export(&env, &huge_gz);
	assert_int_equal(huge_gz.code, PF_GRPC_RESOURCE_EXHAUSTED);
	assert_non_null(strstr(huge_gz.message, "after decompression"));
	/* bombs: 1 MiB of zeros inflated on the loop, 64 MiB on the thread pool */
	uint8_t *bomb;
	size_t bomb_len;
	assert_int_equal(pf_gzip_compress(zeros, big, 9, &bomb, &bomb_len), 0);
	struct grpc_call_spec bomb1 = {.body = bomb,
				       .body_len = bomb_len,
				       .auth = "Bearer tok",
				       .precompressed = GRPC_COMPRESS_GZIP};
	grpc_export(&env, &bomb1);
	assert_int_equal(bomb1.code, PF_GRPC_RESOURCE_EXHAUSTED);
	assert_non_null(strstr(bomb1.message, "after decompression"));
	free(bomb);
	size_t huge64 = (size_t)64 << 20;
	uint8_t *zeros64 = calloc(1, huge64);
	assert_non_null(zeros64);
	assert_int_equal(pf_gzip_compress(zeros64, huge64, 9, &bomb, &bomb_len), 0);
	free(zeros64);
	assert_true(bomb_len >= (8 << 10) && bomb_len < ((size_t)1 << 20));
	struct grpc_call_spec bomb64 = {.body = bomb,
					.body_len = bomb_len,
					.auth = "Bearer tok",
					.precompressed = GRPC_COMPRESS_GZIP};
	grpc_export(&env, &bomb64);
	assert_int_equal(bomb64.code, PF_GRPC_RESOURCE_EXHAUSTED);
	assert_non_null(strstr(bomb64.message, "after decompression"));
	free(bomb);
	free(bomb1.resp);
	free(bomb64.resp);

	make_request(5, false, &req, &len);
	struct grpc_call_spec noauth = {.body = req, .body_len = len};
	grpc_export(&env, &noauth);
	assert_int_equal(noauth.code, PF_GRPC_UNAUTHENTICATED);
	struct grpc_call_spec wrong = {.body = req, .body_len = len, .auth = "Bearer nope"};
	grpc_export(&env, &wrong);
	assert_int_equal(wrong.code, PF_GRPC_UNAUTHENTICATED);
	struct grpc_call_spec right = {.body = req, .body_len = len, .auth = "Bearer tok"};
	grpc_export(&env, &right);
	assert_int_equal(right.code, PF_GRPC_OK);
	assert_int_equal(samples_received(&env), 5);

	free(huge.resp);
	free(huge_gz.resp);
	free(noauth.resp);
	free(wrong.resp);
	free(right.resp);
	free(req);
	free(zeros);
	env_stop(&env);
}

/* A JWT-sized token (2,000 characters) authenticates over gRPC as it does
 * over HTTP; one differing in its last character does not. */
void test_grpc_long_bearer_token(void **state)
{
	char token[2001], yaml[8192], bearer[2100], wrong[2100];
	struct env env;
	uint8_t *req;
	size_t len;

	for (size_t i = 0; i < sizeof(token) - 1; i++)
		token[i] = "abcdefghijklmnopqrstuvwxyz0123456789-_."[i % 39];
	token[sizeof(token) - 1] = '\0';
	snprintf(yaml, sizeof(yaml),
		 "    protocols:\n      grpc:\n        endpoint: 127.0.0.1:0\n"
		 "        auth:\n          authenticator: bearertokenauth\n"
		 "      http:\n        endpoint: 127.0.0.1:0\n"
		 "        auth:\n          authenticator: bearertokenauth\n");
	snprintf(bearer, sizeof(bearer), "Bearer %s", token);
	snprintf(wrong, sizeof(wrong), "Bearer %.*sX", (int)strlen(token) - 1, token);
	env_start_token(&env, yaml, token);
	make_request(5, false, &req, &len);

	struct grpc_call_spec right = {.body = req, .body_len = len, .auth = bearer};
	grpc_export(&env, &right);
	assert_int_equal(right.code, PF_GRPC_OK);
	struct grpc_call_spec bad = {.body = req, .body_len = len, .auth = wrong};
	grpc_export(&env, &bad);
	assert_int_equal(bad.code, PF_GRPC_UNAUTHENTICATED);
	struct hp_call http = {.content_type = "application/x-protobuf",
			       .auth = bearer,
			       .body = req,
			       .body_len = len};
	http_post(&env, &http);
	assert_int_equal(http.status, 200);
	assert_int_equal(samples_received(&env), 10);

	free(right.resp);
	free(bad.resp);
	free(http.resp);
	free(req);
	env_stop(&env);
}

/* Reads a whole file into a NUL-terminated string. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 65536);
	assert_non_null(f);
	assert_non_null(buf);
	size_t n = fread(buf, 1, 65535, f);
	assert_true(n > 0);
	fclose(f);
	return buf;
}

/* A CA, a server certificate for localhost and a client certificate, made with openssl. */
static void make_certs(const char *dir)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && "
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
		 "-subj /CN=test-ca >/dev/null 2>&1 && "
		 "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
		 "-subj /CN=localhost >/dev/null 2>&1 && "
		 "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext && "
		 "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		 "-out server.pem -days 2 -extfile san.ext >/dev/null 2>&1 && "
		 "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
		 "-subj /CN=agent >/dev/null 2>&1 && "
		 "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		 "-out client.pem -days 2 >/dev/null 2>&1",
		 dir);
	assert_int_equal(system(cmd), 0);
}

/* A call's answer waits until the exporter has the batch in its queue:
 * OK once it settles OK, UNAVAILABLE with RetryInfo once it refuses; small
 * requests (answered on the loop) and large ones (decoded on the thread
 * pool) alike. */
void test_grpc_answer_waits_for_exporters(void **state)
{
	struct env env;
	uint8_t *small, *big;
	size_t small_len, big_len;

	env_start(&env, BOTH);
	make_request(10, false, &small, &small_len);
	make_request(20000, false, &big, &big_len);
	env.rh.cap->hold = true;
	for (int i = 0; i < 4; i++) {
		struct grpc_call_spec g = {.body = i < 2 ? small : big,
					   .body_len = i < 2 ? small_len : big_len};
		int result = i % 2 ? PF_BUSY : PF_OK;
		uv_thread_t t;

		g.target = env.grpc_target;
		assert_int_equal(uv_thread_create(&t, grpc_thread, &g), 0);
		for (int k = 0; k < 10000 && env.rh.cap->n_held < 1; k++)
			uv_run(&env.rh.sh.loop, UV_RUN_NOWAIT), uv_sleep(1);
		assert_int_equal(env.rh.cap->n_held, 1);
		for (int k = 0; k < 100; k++) /* 100 ms: not answered meanwhile */
			uv_run(&env.rh.sh.loop, UV_RUN_NOWAIT), uv_sleep(1);
		assert_false(atomic_load(&g.done));
		rh_settle(env.rh.cap, result);
		while (!atomic_load(&g.done))
			uv_run(&env.rh.sh.loop, UV_RUN_NOWAIT), uv_sleep(1);
		uv_thread_join(&t);
		if (result == PF_OK) {
			assert_int_equal(g.code, PF_GRPC_OK);
		} else {
			assert_int_equal(g.code, PF_GRPC_UNAVAILABLE);
			assert_int_equal(g.retry_ms, 1000);
		}
		free(g.resp);
	}
	assert_int_equal(pf_component_counter(env.rh.recv, PF_CTR_RECEIVER_REFUSED), 10 + 20000);
	free(small);
	free(big);
	env_stop(&env);
}

void test_tls(void **state)
{
	char dir[] = "/tmp/pf-otlprx-tls.XXXXXX";
	char yaml[1024], path[256], cmd[300];
	struct env env;
	uint8_t *req;
	size_t len;

	assert_non_null(mkdtemp(dir));
	make_certs(dir);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	char *ca = slurp(path);
	snprintf(path, sizeof(path), "%s/client.pem", dir);
	char *cert = slurp(path);
	snprintf(path, sizeof(path), "%s/client.key", dir);
	char *key = slurp(path);
	make_request(7, false, &req, &len);

	/* TLS without client certificates */
	snprintf(yaml, sizeof(yaml),
		 "    protocols:\n      grpc:\n        endpoint: 127.0.0.1:0\n"
		 "        tls:\n          cert_file: %s/server.pem\n"
		 "          key_file: %s/server.key\n"
		 "      http:\n        endpoint: 127.0.0.1:0\n"
		 "        tls:\n          cert_file: %s/server.pem\n"
		 "          key_file: %s/server.key\n",
		 dir, dir, dir, dir);
	env_start(&env, yaml);
	struct grpc_call_spec tls = {.body = req, .body_len = len, .ca_pem = ca};
	grpc_export(&env, &tls);
	assert_int_equal(tls.code, PF_GRPC_OK);
	struct grpc_call_spec plain = {.body = req, .body_len = len};
	grpc_export(&env, &plain);
	assert_int_not_equal(plain.code, PF_GRPC_OK);
	assert_int_equal(samples_received(&env), 7);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	struct hp_call https = {.content_type = "application/x-protobuf",
				.body = req,
				.body_len = len,
				.ca_file = path};
	http_post(&env, &https);
	assert_int_equal(https.status, 200);
	struct hp_call http_plain = {
		.content_type = "application/x-protobuf", .body = req, .body_len = len};
	http_post(&env, &http_plain);
	assert_int_not_equal(http_plain.status, 200);
	assert_int_equal(samples_received(&env), 14);
	free(https.resp);
	free(http_plain.resp);
	env_stop(&env);

	/* mTLS: a client certificate from the CA is required */
	snprintf(yaml, sizeof(yaml),
		 "    protocols:\n      grpc:\n        endpoint: 127.0.0.1:0\n"
		 "        tls:\n          cert_file: %s/server.pem\n"
		 "          key_file: %s/server.key\n          client_ca_file: %s/ca.pem\n"
		 "      http:\n        endpoint: 127.0.0.1:0\n"
		 "        tls:\n          cert_file: %s/server.pem\n"
		 "          key_file: %s/server.key\n          client_ca_file: %s/ca.pem\n",
		 dir, dir, dir, dir, dir, dir);
	env_start(&env, yaml);
	struct grpc_call_spec mtls = {
		.body = req, .body_len = len, .ca_pem = ca, .cert_pem = cert, .key_pem = key};
	grpc_export(&env, &mtls);
	assert_int_equal(mtls.code, PF_GRPC_OK);
	struct grpc_call_spec nocert = {.body = req, .body_len = len, .ca_pem = ca};
	grpc_export(&env, &nocert);
	assert_int_not_equal(nocert.code, PF_GRPC_OK);
	assert_int_equal(samples_received(&env), 7);
	char ca_path[256], cert_path[256], key_path[256];
	snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", dir);
	snprintf(cert_path, sizeof(cert_path), "%s/client.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/client.key", dir);
	struct hp_call mhttps = {.content_type = "application/x-protobuf",
				 .body = req,
				 .body_len = len,
				 .ca_file = ca_path,
				 .cert_file = cert_path,
				 .key_file = key_path};
	http_post(&env, &mhttps);
	assert_int_equal(mhttps.status, 200);
	struct hp_call https_nocert = {.content_type = "application/x-protobuf",
				       .body = req,
				       .body_len = len,
				       .ca_file = ca_path};
	http_post(&env, &https_nocert);
	assert_int_equal(https_nocert.status, 401);
	assert_int_equal(samples_received(&env), 14);
	free(mhttps.resp);
	free(https_nocert.resp);
	env_stop(&env);

	free(tls.resp);
	free(plain.resp);
	free(mtls.resp);
	free(nocert.resp);
	free(req);
	free(ca);
	free(cert);
	free(key);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}
