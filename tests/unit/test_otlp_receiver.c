// SPDX-License-Identifier: Apache-2.0
/* unit.otlp_receiver: the otlp receiver in a real service, driven by libcurl and a grpc core client. */
#include <curl/curl.h>
#include <errno.h>
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
#include <strings.h>

#include <cmocka.h>

#include "config/config.h"
#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "pipeline/batch.h"
#include "pipeline/component.h"
#include "pipeline/component_internal.h"
#include "pipeline/grpc_server.h"
#include "pipeline/http_server.h"
#include "pipeline/service.h"
#include "formats/pb_wire.h"
#include "receivers/otlp/receiver.h"

extern const struct pf_component_def pf_receiver_otlp;

#define EXPORT "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"

/* ---- a capturing exporter that refuses while busy ---- */

static const struct pf_option no_options[] = {PF_OPTION_END};

struct capture {
	struct pf_batch *got[256];
	size_t n_got;
	bool busy;
};

static void *capture_create(struct pf_component *c, const void *config)
{
	return calloc(1, sizeof(struct capture));
}

static int capture_consume(void *inst, struct pf_batch *batch)
{
	struct capture *cap = inst;

	if (cap->busy)
		return PF_BUSY;
	assert_true(cap->n_got < 256);
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

/* ---- service ---- */

struct env {
	uv_loop_t loop;
	struct pf_config *cfg;
	struct pf_service *svc;
	struct capture *cap;
	struct pf_otlp_rx *rx;
	struct pf_component *recv;
	bool stopped;
	char http_url[128];
	char grpc_target[64];
};

static struct pf_config *load(const char *yaml, struct pf_error *err)
{
	return pf_config_load_string("test.yaml", yaml, strlen(yaml), registry, err);
}

static void env_start(struct env *env, const char *receiver_yaml)
{
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];
	char yaml[2048];

	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  otlp:\n%s"
		 "exporters:\n  capture:\n"
		 "service:\n  pipelines:\n    profiles:\n      receivers: [otlp]\n"
		 "      exporters: [capture]\n",
		 receiver_yaml);
	memset(env, 0, sizeof(*env));
	assert_int_equal(uv_loop_init(&env->loop), 0);
	env->cfg = load(yaml, &err);
	if (!env->cfg)
		fail_msg("config: %s", pf_error_str(&err, buf, sizeof(buf)));
	free(env->cfg->metrics_address);
	env->cfg->metrics_address = strdup("");
	env->svc = pf_service_create(&env->loop, env->cfg, "testhost");
	assert_non_null(env->svc);
	assert_int_equal(pf_service_start(env->svc), 0);
	env->cap = pf_service_find(env->svc, PF_EXPORTER, "capture")->inst;
	env->recv = pf_service_find(env->svc, PF_RECEIVER, "otlp");
	env->rx = env->recv->inst;
	if (env->rx->http)
		snprintf(env->http_url, sizeof(env->http_url),
			 "http://127.0.0.1:%u/v1development/profiles",
			 pf_http_server_port(env->rx->http));
	if (env->rx->grpc)
		snprintf(env->grpc_target, sizeof(env->grpc_target), "127.0.0.1:%u",
			 pf_grpc_server_port(env->rx->grpc));
}

static void on_stopped(struct pf_service *s, bool timed_out, void *arg)
{
	*(bool *)arg = true;
}

static void env_stop(struct env *env)
{
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

/* Runs a client on a thread while the loop serves it. */
static void run_client(struct env *env, void (*fn)(void *), void *arg, atomic_bool *done)
{
	uv_thread_t t;

	assert_int_equal(uv_thread_create(&t, fn, arg), 0);
	while (!atomic_load(done))
		uv_run(&env->loop, UV_RUN_NOWAIT), uv_sleep(1);
	uv_thread_join(&t);
}

/* ---- payloads ---- */

/* A batch with one CPU profile: n samples on two stacks, values 1..n. */
static struct pf_batch *make_batch(int n)
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
	for (int i = 0; i < n; i++) {
		int64_t v = i + 1;
		assert_int_equal(pf_batch_add_sample(b, p, pf_batch_stack(b, &locs[i % 2], 1), 0, 0,
						     &v, 1, NULL, 0),
				 0);
	}
	return b;
}

static void make_request(int n, bool json, uint8_t **out, size_t *size)
{
	struct pf_batch *b = make_batch(n);

	if (json)
		assert_int_equal(pf_otlp_encode_json(b, NULL, 0, (char **)out, size), 0);
	else
		assert_int_equal(pf_otlp_encode(b, NULL, 0, out, size), 0);
	pf_batch_unref(b);
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

static void make_v19_request(uint8_t **out, size_t *size)
{
	uint8_t *req;
	size_t len;

	make_request(4, false, &req, &len);
	*out = malloc(sub_len_max(len));
	assert_non_null(*out);
	*size = to_v19(req, len, *out, 0);
	free(req);
}

static size_t samples_received(struct env *env)
{
	size_t n = 0;
	for (size_t i = 0; i < env->cap->n_got; i++)
		n += pf_batch_sample_count(env->cap->got[i]);
	return n;
}

/* ---- HTTP client (libcurl, on a thread) ---- */

struct http_call {
	const char *url;
	const char *method;
	const char *content_type;
	const char *encoding;
	const char *auth;
	const void *body;
	size_t body_len;
	const char *ca_file, *cert_file, *key_file; /* https when ca_file is set */
	size_t pause_at; /* > 0: stall after this many bytes until `release` */
	atomic_size_t sent;
	atomic_bool release;
	/* Results. */
	long status;
	char ctype[128];
	char retry_after[32];
	uint8_t *resp;
	size_t resp_len;
	atomic_bool done;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct http_call *h = arg;
	uint8_t *grown = realloc(h->resp, h->resp_len + size * n + 1);
	assert_non_null(grown);
	h->resp = grown;
	memcpy(h->resp + h->resp_len, p, size * n);
	h->resp_len += size * n;
	h->resp[h->resp_len] = 0;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_call *h = arg;
	size_t len = size * n;
	char line[256];

	snprintf(line, sizeof(line), "%.*s", (int)len, p);
	line[strcspn(line, "\r\n")] = 0;
	if (strncasecmp(line, "Retry-After: ", 13) == 0)
		snprintf(h->retry_after, sizeof(h->retry_after), "%.31s", line + 13);
	if (strncasecmp(line, "Content-Type: ", 14) == 0)
		snprintf(h->ctype, sizeof(h->ctype), "%.127s", line + 14);
	return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct http_call *h = arg;
	size_t want = size * n, left = h->body_len - h->sent;

	for (int i = 0; h->pause_at && h->sent == h->pause_at && i < 20000; i++) {
		if (atomic_load(&h->release))
			break;
		uv_sleep(1);
	}
	if (h->pause_at && h->sent < h->pause_at && h->sent + want > h->pause_at)
		want = h->pause_at - h->sent;
	if (want > left)
		want = left;
	memcpy(buf, (const char *)h->body + h->sent, want);
	h->sent += want;
	return want;
}

static void http_thread(void *arg)
{
	struct http_call *h = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char line[600];

	if (h->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", h->content_type);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (h->encoding) {
		snprintf(line, sizeof(line), "Content-Encoding: %s", h->encoding);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (h->auth) {
		snprintf(line, sizeof(line), "Authorization: %s", h->auth);
		hdrs = curl_slist_append(hdrs, line);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, h->url);
	if (h->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	if (h->cert_file) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert_file);
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->key_file);
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, h->method ? h->method : "POST");
	if (h->pause_at) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body_len);
	} else if (!h->method || strcmp(h->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, h->body ? h->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	atomic_store(&h->done, true);
}

static void http_post(struct env *env, struct http_call *h)
{
	char url[160];

	snprintf(url, sizeof(url), "%s%s", h->ca_file ? "https" : "http",
		 strchr(env->http_url, ':'));
	h->url = url;
	run_client(env, http_thread, h, &h->done);
}

/* Two requests at once: the second finds the body budget spent. */
static void test_http_body_budget(void **state)
{
	struct env env;
	size_t size = 900 << 10;
	uint8_t *zeros = calloc(1, size);
	uv_thread_t ta, tb;

	env_start(&env, "    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"
			"        max_recv_msg_size_mib: 1\n        max_concurrent_requests: 1\n");
	char url[160];
	snprintf(url, sizeof(url), "%s", env.http_url);
	struct http_call a = {.url = url,
			      .content_type = "application/x-protobuf",
			      .body = zeros,
			      .body_len = size,
			      .pause_at = 600 << 10};
	struct http_call b = {.url = url,
			      .content_type = "application/x-protobuf",
			      .body = zeros,
			      .body_len = 600 << 10};
	assert_int_equal(uv_thread_create(&ta, http_thread, &a), 0);
	/* b starts once the server holds a's first 600 KiB; a finishes after b */
	while (atomic_load(&a.sent) < a.pause_at)
		uv_run(&env.loop, UV_RUN_NOWAIT), uv_sleep(1);
	for (int i = 0; i < 300; i++)
		uv_run(&env.loop, UV_RUN_NOWAIT), uv_sleep(1);
	assert_int_equal(uv_thread_create(&tb, http_thread, &b), 0);
	while (!atomic_load(&b.done))
		uv_run(&env.loop, UV_RUN_NOWAIT), uv_sleep(1);
	atomic_store(&a.release, true);
	while (!atomic_load(&a.done))
		uv_run(&env.loop, UV_RUN_NOWAIT), uv_sleep(1);
	uv_thread_join(&ta);
	uv_thread_join(&tb);
	assert_int_equal(b.status, 503);
	assert_string_equal(b.retry_after, "1");
	assert_int_equal(a.status, 400); /* read whole, then refused as bad data */
	free(a.resp);
	free(b.resp);
	free(zeros);
	env_stop(&env);
}

/* ---- gRPC client (grpc core, on a thread) ---- */

struct grpc_call_spec {
	const char *target;
	const char *auth;
	bool gzip;
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
	grpc_arg a[2] = {{.type = GRPC_ARG_STRING,
			  .key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
			  .value.string = (char *)"localhost"},
			 {.type = GRPC_ARG_INTEGER,
			  .key = (char *)GRPC_COMPRESSION_CHANNEL_DEFAULT_ALGORITHM,
			  .value.integer = GRPC_COMPRESS_GZIP}};
	grpc_channel_args args = {.num_args = g->gzip ? 2 : 1, .args = a};
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
	grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&payload, 1);
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
	g->target = env->grpc_target;
	run_client(env, grpc_thread, g, &g->done);
}

/* ---- tests ---- */

#define HTTP_ONLY "    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"
#define BOTH                                                                                       \
	"    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"                             \
	"      grpc:\n        endpoint: 127.0.0.1:0\n"

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
	struct http_call ok = {.content_type = "application/x-protobuf; charset=binary",
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
	struct http_call z = {.content_type = "application/x-protobuf",
			      .encoding = "gzip",
			      .body = gz,
			      .body_len = gz_len};
	http_post(&env, &z);
	assert_int_equal(z.status, 200);
	assert_int_equal(samples_received(&env), 20);

	/* GET: 405; unknown type: 415; garbage: 400 with a Status */
	struct http_call get = {.method = "GET"};
	http_post(&env, &get);
	assert_int_equal(get.status, 405);
	struct http_call xml = {.content_type = "text/xml", .body = "<a/>", .body_len = 4};
	http_post(&env, &xml);
	assert_int_equal(xml.status, 415);
	struct http_call bad = {.content_type = "application/x-protobuf",
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
	assert_int_equal(pf_component_counter(env.recv, PF_CTR_INPUT_ERRORS), 1);

	/* a v1.9 peer: 400 naming the old layout */
	uint8_t *old;
	size_t old_len;
	make_v19_request(&old, &old_len);
	struct http_call v19 = {
		.content_type = "application/x-protobuf", .body = old, .body_len = old_len};
	http_post(&env, &v19);
	assert_int_equal(v19.status, 400);
	assert_int_equal(
		pf_otlp_decode_status(v19.resp, v19.resp_len, &code, msg, sizeof(msg), &retry), 0);
	assert_non_null(strstr(msg, "v1.9"));
	free(v19.resp);
	free(old);

	/* corrupt gzip: 400 */
	struct http_call badz = {.content_type = "application/x-protobuf",
				 .encoding = "gzip",
				 .body = "\x1f\x8b\x08\x00zzzz",
				 .body_len = 8};
	http_post(&env, &badz);
	assert_int_equal(badz.status, 400);

	/* empty request: 200 with an empty response */
	struct http_call empty = {.content_type = "application/x-protobuf"};
	http_post(&env, &empty);
	assert_int_equal(empty.status, 200);
	assert_int_equal(empty.resp_len, 0);

	/* and the good client is still served */
	struct http_call again = {
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
	struct http_call ok = {.content_type = "application/json", .body = req, .body_len = len};
	http_post(&env, &ok);
	assert_int_equal(ok.status, 200);
	assert_string_equal(ok.ctype, "application/json");
	assert_int_equal(samples_received(&env), 4);
	/* a JSON error comes back as a JSON Status */
	struct http_call bad = {.content_type = "application/json",
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
	struct http_call z = {.content_type = "application/x-protobuf",
			      .encoding = "gzip",
			      .body = gz,
			      .body_len = gz_len};
	http_post(&env, &z);
	assert_int_equal(z.status, 413);
	/* uncompressed over the limit too */
	struct http_call raw = {
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

	env_start(&env, "    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"
			"        auth:\n          bearer_token: s3cret\n");
	make_request(3, false, &req, &len);
	struct http_call none = {
		.content_type = "application/x-protobuf", .body = req, .body_len = len};
	http_post(&env, &none);
	assert_int_equal(none.status, 401);
	struct http_call wrong = {.content_type = "application/x-protobuf",
				  .auth = "Bearer s3cre",
				  .body = req,
				  .body_len = len};
	http_post(&env, &wrong);
	assert_int_equal(wrong.status, 401);
	struct http_call right = {.content_type = "application/x-protobuf",
				  .auth = "Bearer s3cret",
				  .body = req,
				  .body_len = len};
	http_post(&env, &right);
	assert_int_equal(right.status, 200);
	assert_int_equal(samples_received(&env), 3);

	env.cap->busy = true;
	struct http_call busy = {.content_type = "application/x-protobuf",
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
	assert_int_equal(pf_component_counter(env.recv, PF_CTR_RECEIVER_REFUSED), 3);
	env.cap->busy = false;

	free(none.resp);
	free(wrong.resp);
	free(right.resp);
	free(busy.resp);
	free(req);
	env_stop(&env);
}

static void test_grpc(void **state)
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

	env.cap->busy = true;
	struct grpc_call_spec busy = {.body = req, .body_len = len};
	grpc_export(&env, &busy);
	assert_int_equal(busy.code, PF_GRPC_UNAVAILABLE);
	assert_int_equal(busy.retry_ms, 1000);
	env.cap->busy = false;

	/* large requests are decoded on the thread pool: accepted, busy, invalid */
	uint8_t *big;
	size_t big_len;
	make_request(20000, false, &big, &big_len);
	assert_true(big_len >= (64 << 10));
	struct grpc_call_spec big_ok = {.body = big, .body_len = big_len, .gzip = true};
	grpc_export(&env, &big_ok);
	assert_int_equal(big_ok.code, PF_GRPC_OK);
	assert_int_equal(samples_received(&env), 20 + 20000);
	env.cap->busy = true;
	struct grpc_call_spec big_busy = {.body = big, .body_len = big_len};
	grpc_export(&env, &big_busy);
	assert_int_equal(big_busy.code, PF_GRPC_UNAVAILABLE);
	assert_int_equal(big_busy.retry_ms, 1000);
	env.cap->busy = false;
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

	free(ok.resp);
	free(gz.resp);
	free(bad.resp);
	free(empty.resp);
	free(busy.resp);
	free(again.resp);
	free(req);
	env_stop(&env);
}

static void test_grpc_size_and_auth(void **state)
{
	struct env env;
	size_t big = ((size_t)1 << 20) + 100;
	uint8_t *zeros = calloc(1, big), *req;
	size_t len;

	env_start(&env, "    protocols:\n      grpc:\n        endpoint: 127.0.0.1:0\n"
			"        max_recv_msg_size_mib: 1\n"
			"        auth:\n          bearer_token: tok\n");
	struct grpc_call_spec huge = {.body = zeros, .body_len = big, .auth = "Bearer tok"};
	grpc_export(&env, &huge);
	assert_int_equal(huge.code, PF_GRPC_RESOURCE_EXHAUSTED);
	/* compressed small, decompressed over the limit */
	struct grpc_call_spec huge_gz = {
		.body = zeros, .body_len = big, .auth = "Bearer tok", .gzip = true};
	grpc_export(&env, &huge_gz);
	assert_int_equal(huge_gz.code, PF_GRPC_RESOURCE_EXHAUSTED);

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

static void test_tls(void **state)
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
	struct http_call https = {.content_type = "application/x-protobuf",
				  .body = req,
				  .body_len = len,
				  .ca_file = path};
	http_post(&env, &https);
	assert_int_equal(https.status, 200);
	struct http_call http_plain = {
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
	struct http_call mhttps = {.content_type = "application/x-protobuf",
				   .body = req,
				   .body_len = len,
				   .ca_file = ca_path,
				   .cert_file = cert_path,
				   .key_file = key_path};
	http_post(&env, &mhttps);
	assert_int_equal(mhttps.status, 200);
	struct http_call https_nocert = {.content_type = "application/x-protobuf",
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_http_statuses),
		cmocka_unit_test(test_http_json),
		cmocka_unit_test(test_http_size_after_decompression),
		cmocka_unit_test(test_http_auth_and_busy),
		cmocka_unit_test(test_http_body_budget),
		cmocka_unit_test(test_grpc),
		cmocka_unit_test(test_grpc_size_and_auth),
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
