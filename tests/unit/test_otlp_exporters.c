// SPDX-License-Identifier: Apache-2.0
/* unit.otlp_exporters: otlphttp against a libmicrohttpd server and otlp against a grpc core server, in threads on loopback. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <microhttpd.h>
#include <uv.h>

#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "pipeline/grpc_client.h"
#include "sinks_harness.h"

#define T0_NS	  (1795760100ULL * 1000000000ULL)
#define MAX_REQS  16
#define MAX_STEPS 8

extern const struct pf_component_def pf_exporter_otlp;
extern const struct pf_component_def pf_exporter_otlphttp;

/* ---- a receiver the test drives, and the registry ---- */

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

static const struct pf_component_def feeder_def = {
	.kind = PF_RECEIVER,
	.type = "feeder",
	.doc = "Test receiver driven by the test.",
	.options = no_options,
	.config_size = 1,
	.create = feeder_create,
	.shutdown = feeder_shutdown,
};

static const struct pf_component_def *const registry[] = {
	&feeder_def,
	&pf_exporter_otlp,
	&pf_exporter_otlphttp,
	NULL,
};

static void env_start(struct sh_env *env, const char *yaml)
{
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];

	memset(env, 0, sizeof(*env));
	assert_int_equal(uv_loop_init(&env->loop), 0);
	env->cfg = pf_config_load_string("test.yaml", yaml, strlen(yaml), registry, &err);
	if (!env->cfg)
		fail_msg("config: %s", pf_error_str(&err, buf, sizeof(buf)));
	free(env->cfg->metrics_address);
	env->cfg->metrics_address = strdup("");
	assert_non_null(env->cfg->metrics_address);
	env->svc = pf_service_create(&env->loop, env->cfg, "testhost");
	assert_non_null(env->svc);
	assert_int_equal(pf_service_start(env->svc), 0);
}

/* Three samples (values 1, 2, 3) in one profile. */
static struct pf_batch *make_batch(void)
{
	static const char *const f1[] = {"leaf_a", "main", NULL};
	static const char *const f2[] = {"leaf_b", "main", NULL};
	static const char *const f3[] = {"leaf_c", "work", "main", NULL};
	struct pf_batch *b = pf_batch_new();
	uint32_t p;

	assert_non_null(b);
	p = sh_profile(b, "svc", 42, "samples", "count", T0_NS);
	sh_sample(b, p, f1, 1);
	sh_sample(b, p, f2, 2);
	sh_sample(b, p, f3, 3);
	return b;
}

/* A bigger batch: n profiles of `per` samples with distinct stacks. */
static struct pf_batch *make_big_batch(int n, int per)
{
	struct pf_batch *b = pf_batch_new();

	assert_non_null(b);
	for (int i = 0; i < n; i++) {
		uint32_t p = sh_profile(b, "svc", 100 + i, "samples", "count", T0_NS);

		for (int k = 0; k < per; k++) {
			char leaf[32], mid[32];
			const char *frames[] = {leaf, mid, "main", NULL};

			snprintf(leaf, sizeof(leaf), "leaf_%d_%d", i, k);
			snprintf(mid, sizeof(mid), "mid_%d", k % 7);
			sh_sample(b, p, frames, 1);
		}
	}
	return b;
}

struct wait_ctx {
	struct pf_component *exp;
	uint64_t want;
};

static bool all_settled(void *arg)
{
	struct wait_ctx *w = arg;

	return pf_component_counter(w->exp, PF_CTR_EXPORTER_SENT) +
		       pf_component_counter(w->exp, PF_CTR_EXPORTER_SEND_FAILED) >=
	       w->want;
}

/* Emits `b` and runs until its samples are sent or failed. */
static void send_and_wait(struct sh_env *env, struct pf_batch *b, uint64_t timeout_ms)
{
	struct wait_ctx w = {.exp = NULL, .want = pf_batch_sample_count(b)};
	struct pf_component *exp = pf_service_find(env->svc, PF_EXPORTER, "otlp");

	if (!exp)
		exp = pf_service_find(env->svc, PF_EXPORTER, "otlp_grpc");
	if (!exp)
		exp = pf_service_find(env->svc, PF_EXPORTER, "otlphttp");
	assert_non_null(exp);
	w.exp = exp;
	assert_int_equal(pf_component_emit(sh_find(env, PF_RECEIVER, "feeder"), b), PF_OK);
	pf_batch_unref(b);
	assert_true(sh_run_until(env, all_settled, &w, timeout_ms));
}

/* Emits a three-sample batch without waiting. */
static void emit_one(struct sh_env *env)
{
	struct pf_batch *b = make_batch();

	assert_int_equal(pf_component_emit(sh_find(env, PF_RECEIVER, "feeder"), b), PF_OK);
	pf_batch_unref(b);
}

static uint64_t counter(struct sh_env *env, const char *id, enum pf_counter ctr)
{
	return pf_component_counter(sh_find(env, PF_EXPORTER, id), ctr);
}

/* ---- what the servers saw ---- */

struct seen {
	char path[128];
	char content_type[128];
	char content_encoding[64];
	char authorization[128];
	size_t samples;	  /* decoded from the request */
	int64_t total;	  /* sum of sample values */
	int decode_error; /* pf_otlp_decode's result when negative */
	uint64_t at_ms;	  /* uv_hrtime at arrival */
};

/* One scripted answer. */
struct step {
	unsigned status;	 /* HTTP status, or gRPC code */
	const char *type;	 /* HTTP Content-Type of the body */
	const char *retry_after; /* HTTP Retry-After */
	int64_t retry_delay_ms;	 /* RetryInfo, 0 = none */
	int64_t rejected;	 /* partial_success.rejected_profiles */
	const char *message;
	bool text_body; /* HTTP: body is `message` as text/plain */
};

struct server {
	uv_mutex_t lock;
	struct step steps[MAX_STEPS]; /* the last one repeats */
	size_t n_steps;
	struct seen seen[MAX_REQS];
	size_t n_seen;
	int port;
	/* HTTP */
	struct MHD_Daemon *mhd;
	/* gRPC */
	grpc_server *gs;
	grpc_completion_queue *cq;
	uv_thread_t thread;
};

static void decode_into(struct seen *s, const void *data, size_t size)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_error err = {0};
	int ret;

	assert_non_null(b);
	ret = pf_otlp_decode(b, data, size, 0, &err);
	if (ret < 0) {
		s->decode_error = ret;
	} else {
		s->samples = pf_batch_sample_count(b);
		s->total = sh_sum(b, "samples", NULL);
	}
	pf_batch_unref(b);
}

/* Records a request; returns the step that answers it. */
static struct step record(struct server *srv, struct seen *s)
{
	struct step st;

	s->at_ms = uv_hrtime() / 1000000;
	uv_mutex_lock(&srv->lock);
	st = srv->steps[srv->n_seen < srv->n_steps ? srv->n_seen : srv->n_steps - 1];
	if (srv->n_seen < MAX_REQS)
		srv->seen[srv->n_seen] = *s;
	srv->n_seen++;
	uv_mutex_unlock(&srv->lock);
	return st;
}

/* ---- the HTTP server ---- */

struct upload {
	uint8_t *data;
	size_t size;
};

static void copy_header(struct MHD_Connection *conn, const char *name, char *out, size_t size)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);

	snprintf(out, size, "%s", v ? v : "");
}

static enum MHD_Result on_http(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *data_size, void **con_cls)
{
	struct server *srv = cls;
	struct upload *up = *con_cls;
	struct seen s = {0};
	struct step st;
	uint8_t *body = NULL, *plain = NULL;
	size_t body_len = 0, plain_len = 0;
	char retry[32];
	enum MHD_Result ret;

	if (!up) {
		up = calloc(1, sizeof(*up));
		*con_cls = up;
		return up ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		uint8_t *grown = malloc(up->size + *data_size);

		if (!grown)
			return MHD_NO;
		if (up->size)
			memcpy(grown, up->data, up->size);
		memcpy(grown + up->size, data, *data_size);
		free(up->data);
		up->data = grown;
		up->size += *data_size;
		*data_size = 0;
		return MHD_YES;
	}
	snprintf(s.path, sizeof(s.path), "%s", url);
	copy_header(conn, "Content-Type", s.content_type, sizeof(s.content_type));
	copy_header(conn, "Content-Encoding", s.content_encoding, sizeof(s.content_encoding));
	copy_header(conn, "Authorization", s.authorization, sizeof(s.authorization));
	if (strcmp(s.content_encoding, "gzip") == 0) {
		if (pf_gzip_decompress(up->data, up->size, (size_t)64 << 20, &plain, &plain_len) <
		    0)
			s.decode_error = -EINVAL;
		else
			decode_into(&s, plain, plain_len);
		free(plain);
	} else {
		decode_into(&s, up->data, up->size);
	}
	st = record(srv, &s);

	const char *type = "application/x-protobuf";
	if (st.text_body) {
		type = "text/plain; charset=utf-8";
		body_len = strlen(st.message);
		body = malloc(body_len + 1);
		assert_non_null(body);
		memcpy(body, st.message, body_len);
	} else if (st.status >= 200 && st.status < 300) {
		assert_int_equal(
			pf_otlp_encode_response(st.rejected, st.message, false, &body, &body_len),
			0);
	} else {
		assert_int_equal(pf_otlp_encode_status(st.status == 400 ? 3 : 14,
						       st.message ? st.message : "",
						       st.retry_delay_ms, false, &body, &body_len),
				 0);
	}
	struct MHD_Response *r =
		MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", type);
	if (st.retry_after) {
		snprintf(retry, sizeof(retry), "%s", st.retry_after);
		MHD_add_response_header(r, "Retry-After", retry);
	}
	ret = MHD_queue_response(conn, st.status, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_http_done(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	if (up) {
		free(up->data);
		free(up);
		*con_cls = NULL;
	}
}

static void http_start(struct server *srv)
{
	const union MHD_DaemonInfo *info;

	uv_mutex_init(&srv->lock);
	srv->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				    NULL, on_http, srv, MHD_OPTION_NOTIFY_COMPLETED, on_http_done,
				    srv, MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
	assert_non_null(srv->mhd);
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	srv->port = info->port;
}

static void http_stop(struct server *srv)
{
	MHD_stop_daemon(srv->mhd);
	uv_mutex_destroy(&srv->lock);
}

static void http_yaml(char *yaml, size_t size, const struct server *srv, const char *extra)
{
	snprintf(yaml, size,
		 "receivers:\n  feeder:\n"
		 "exporters:\n  otlphttp:\n    endpoint: http://127.0.0.1:%d\n"
		 "    headers:\n      Authorization: Bearer s3cret\n"
		 "    retry_on_failure:\n      initial_interval: 50ms\n      max_interval: 200ms\n"
		 "%s"
		 "service:\n  pipelines:\n    profiles:\n"
		 "      receivers: [feeder]\n      exporters: [otlphttp]\n",
		 srv->port, extra ? extra : "");
}

static void run_http(struct server *srv, const char *extra, struct sh_env *env)
{
	char yaml[2048];

	http_yaml(yaml, sizeof(yaml), srv, extra);
	env_start(env, yaml);
	send_and_wait(env, make_batch(), 20000);
}

static void http_ok(void **state)
{
	struct server srv = {.steps = {{.status = 200}}, .n_steps = 1};
	struct sh_env env;

	http_start(&srv);
	run_http(&srv, NULL, &env);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SEND_FAILED), 0);
	sh_env_stop(&env);
	http_stop(&srv);
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
	struct server srv = {.steps = {{.status = 201}}, .n_steps = 1}; /* F2: 201 is success */
	struct sh_env env;
	char extra[256];

	http_start(&srv);
	snprintf(extra, sizeof(extra),
		 "    compression: none\n"
		 "    profiles_endpoint: http://127.0.0.1:%d/custom/path\n",
		 srv.port);
	run_http(&srv, extra, &env);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
	assert_string_equal(srv.seen[0].path, "/custom/path");
	assert_string_equal(srv.seen[0].content_encoding, "");
	assert_int_equal(srv.seen[0].total, 6);
}

static void http_429_retry_after_seconds(void **state)
{
	struct server srv = {
		.steps = {{.status = 429, .retry_after = "1", .message = "slow down"},
			  {.status = 200}},
		.n_steps = 2,
	};
	struct sh_env env;

	http_start(&srv);
	run_http(&srv, NULL, &env);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	http_stop(&srv);
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
	struct server srv = {.n_steps = 2};
	struct sh_env env;

	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	srv.steps[0] = (struct step){.status = 503, .retry_after = date};
	srv.steps[1] = (struct step){.status = 200};
	http_start(&srv);
	run_http(&srv, NULL, &env);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	http_stop(&srv);
	assert_int_equal(srv.n_seen, 2);
	assert_true(srv.seen[1].at_ms - srv.seen[0].at_ms >= 900);
}

static void http_502_504_retried(void **state)
{
	struct server srv = {
		.steps = {{.status = 502}, {.status = 504}, {.status = 200}},
		.n_steps = 3,
	};
	struct sh_env env;

	http_start(&srv);
	run_http(&srv, NULL, &env);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	http_stop(&srv);
	assert_int_equal(srv.n_seen, 3);
}

static void http_400_status_not_retried(void **state)
{
	struct server srv = {.steps = {{.status = 400, .message = "bad index"}}, .n_steps = 1};
	struct sh_env env;

	http_start(&srv);
	run_http(&srv, NULL, &env);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 0);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300); /* a retry would come within 50-100 ms */
	sh_env_stop(&env);
	http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

static void http_text_plain_error_not_retried(void **state)
{
	/* Pyroscope answers errors in text/plain (E5) */
	struct server srv = {
		.steps = {{.status = 422, .text_body = true, .message = "invalid profile\n"}},
		.n_steps = 1,
	};
	struct sh_env env;

	http_start(&srv);
	run_http(&srv, NULL, &env);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300);
	sh_env_stop(&env);
	http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

static void http_partial_success_counted_not_retried(void **state)
{
	struct server srv = {
		.steps = {{.status = 200, .rejected = 1, .message = "one profile was bad"}},
		.n_steps = 1,
	};
	struct sh_env env;

	http_start(&srv);
	run_http(&srv, NULL, &env);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 0);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300);
	sh_env_stop(&env);
	http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

static void http_split_by_max_request_size(void **state)
{
	struct server srv = {.steps = {{.status = 200}}, .n_steps = 1};
	struct pf_batch *b = make_big_batch(4, 200);
	struct sh_env env;
	char yaml[2048];
	size_t samples = 0;

	http_start(&srv);
	http_yaml(yaml, sizeof(yaml), &srv, "    max_request_size: 8KiB\n    compression: none\n");
	env_start(&env, yaml);
	send_and_wait(&env, b, 20000);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 800);
	sh_env_stop(&env);
	http_stop(&srv);
	assert_true(srv.n_seen > 4);
	for (size_t i = 0; i < srv.n_seen && i < MAX_REQS; i++) {
		assert_int_equal(srv.seen[i].decode_error, 0);
		samples += srv.seen[i].samples;
	}
	if (srv.n_seen <= MAX_REQS)
		assert_int_equal(samples, 800);
}

static void http_connection_refused_then_up(void **state)
{
	struct server srv = {.steps = {{.status = 200}}, .n_steps = 1};
	struct sh_env env;
	char yaml[2048];
	struct wait_ctx w = {.want = 3};
	int port;

	/* learn a free port, then close it so the first attempts are refused */
	http_start(&srv);
	port = srv.port;
	http_stop(&srv);
	http_yaml(yaml, sizeof(yaml), &srv, NULL);
	env_start(&env, yaml);
	emit_one(&env);
	sh_run_for(&env, 300);
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 0);
	srv.n_seen = 0;
	uv_mutex_init(&srv.lock);
	srv.mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL,
				   on_http, &srv, MHD_OPTION_NOTIFY_COMPLETED, on_http_done, &srv,
				   MHD_OPTION_END);
	assert_non_null(srv.mhd);
	w.exp = sh_find(&env, PF_EXPORTER, "otlphttp");
	assert_true(sh_run_until(&env, all_settled, &w, 10000));
	assert_int_equal(counter(&env, "otlphttp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	http_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

/* ---- the gRPC server (grpc core's server API, in a thread) ---- */

#define TAG_NEW	     ((void *)1)
#define TAG_OPS	     ((void *)2)
#define TAG_SHUTDOWN ((void *)3)

static void grpc_answer(struct server *srv, grpc_call *call, grpc_metadata_array *req_md)
{
	grpc_byte_buffer *recv = NULL, *send = NULL;
	grpc_metadata trailer;
	grpc_slice details, resp_slice;
	uint8_t *bytes = NULL;
	size_t size = 0;
	int cancelled = 0;
	struct seen s = {0};
	struct step st;
	grpc_op ops[6];
	size_t n = 0;

	memset(ops, 0, sizeof(ops));
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n++].data.recv_message.recv_message = &recv;
	assert_int_equal(grpc_call_start_batch(call, ops, n, TAG_OPS, NULL), GRPC_CALL_OK);
	grpc_event ev =
		grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	assert_ptr_equal(ev.tag, TAG_OPS);

	for (size_t i = 0; i < req_md->count; i++)
		if (grpc_slice_str_cmp(req_md->metadata[i].key, "authorization") == 0)
			snprintf(s.authorization, sizeof(s.authorization), "%.*s",
				 (int)GRPC_SLICE_LENGTH(req_md->metadata[i].value),
				 (const char *)GRPC_SLICE_START_PTR(req_md->metadata[i].value));
	if (recv) {
		grpc_byte_buffer_reader reader;

		assert_true(grpc_byte_buffer_reader_init(&reader, recv));
		grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
		decode_into(&s, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
		grpc_slice_unref(all);
		grpc_byte_buffer_reader_destroy(&reader);
		grpc_byte_buffer_destroy(recv);
	}
	st = record(srv, &s);

	n = 0;
	memset(ops, 0, sizeof(ops));
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (st.status == 0) {
		assert_int_equal(
			pf_otlp_encode_response(st.rejected, st.message, false, &bytes, &size), 0);
		resp_slice = grpc_slice_from_copied_buffer((const char *)bytes, size);
		send = grpc_raw_byte_buffer_create(&resp_slice, 1);
		grpc_slice_unref(resp_slice);
		free(bytes);
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = send;
	}
	details = grpc_slice_from_copied_string(st.message ? st.message : "");
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = (grpc_status_code)st.status;
	ops[n].data.send_status_from_server.status_details = &details;
	if (st.status != 0 && st.retry_delay_ms > 0) {
		assert_int_equal(pf_otlp_encode_status((int)st.status, st.message ? st.message : "",
						       st.retry_delay_ms, false, &bytes, &size),
				 0);
		trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
		trailer.value = grpc_slice_from_copied_buffer((const char *)bytes, size);
		free(bytes);
		ops[n].data.send_status_from_server.trailing_metadata_count = 1;
		ops[n].data.send_status_from_server.trailing_metadata = &trailer;
	}
	n++;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n++].data.recv_close_on_server.cancelled = &cancelled;
	assert_int_equal(grpc_call_start_batch(call, ops, n, TAG_OPS, NULL), GRPC_CALL_OK);
	ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	assert_ptr_equal(ev.tag, TAG_OPS);
	if (st.status != 0 && st.retry_delay_ms > 0)
		grpc_slice_unref(trailer.value);
	grpc_slice_unref(details);
	if (send)
		grpc_byte_buffer_destroy(send);
	grpc_call_unref(call);
}

static void grpc_thread(void *arg)
{
	struct server *srv = arg;

	for (;;) {
		grpc_call *call = NULL;
		grpc_call_details details;
		grpc_metadata_array md;
		grpc_event ev;

		grpc_call_details_init(&details);
		grpc_metadata_array_init(&md);
		if (grpc_server_request_call(srv->gs, &call, &details, &md, srv->cq, srv->cq,
					     TAG_NEW) != GRPC_CALL_OK) {
			grpc_call_details_destroy(&details);
			grpc_metadata_array_destroy(&md);
			return;
		}
		ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.tag == TAG_NEW && ev.success)
			grpc_answer(srv, call, &md);
		grpc_call_details_destroy(&details);
		grpc_metadata_array_destroy(&md);
		if (ev.tag == TAG_NEW && !ev.success)
			return; /* shutting down */
		if (ev.tag == TAG_SHUTDOWN)
			return;
	}
}

static void grpc_start(struct server *srv, int port)
{
	char addr[64];
	grpc_server_credentials *creds;

	grpc_init();
	uv_mutex_init(&srv->lock);
	srv->cq = grpc_completion_queue_create_for_next(NULL);
	srv->gs = grpc_server_create(NULL, NULL);
	grpc_server_register_completion_queue(srv->gs, srv->cq, NULL);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	creds = grpc_insecure_server_credentials_create();
	srv->port = grpc_server_add_http2_port(srv->gs, addr, creds);
	grpc_server_credentials_release(creds);
	assert_true(srv->port > 0);
	grpc_server_start(srv->gs);
	assert_int_equal(uv_thread_create(&srv->thread, grpc_thread, srv), 0);
}

static void grpc_stop(struct server *srv)
{
	grpc_event ev;

	grpc_server_shutdown_and_notify(srv->gs, srv->cq, TAG_SHUTDOWN);
	grpc_server_cancel_all_calls(srv->gs);
	uv_thread_join(&srv->thread);
	grpc_server_destroy(srv->gs);
	grpc_completion_queue_shutdown(srv->cq);
	do
		ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	while (ev.type != GRPC_QUEUE_SHUTDOWN);
	grpc_completion_queue_destroy(srv->cq);
	uv_mutex_destroy(&srv->lock);
	grpc_shutdown();
}

static void run_grpc(struct server *srv, const char *extra, struct sh_env *env)
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
	env_start(env, yaml);
	send_and_wait(env, make_batch(), 20000);
}

static void grpc_ok(void **state)
{
	struct server srv = {.steps = {{.status = 0}}, .n_steps = 1};
	struct sh_env env;

	grpc_start(&srv, 0);
	run_grpc(&srv, NULL, &env);
	assert_int_equal(counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SENT), 3);
	assert_int_equal(counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SEND_FAILED), 0);
	sh_env_stop(&env);
	grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
	assert_string_equal(srv.seen[0].authorization, "Bearer s3cret");
	assert_int_equal(srv.seen[0].decode_error, 0);
	assert_int_equal(srv.seen[0].samples, 3);
	assert_int_equal(srv.seen[0].total, 6);
}

static void grpc_unavailable_retry_info(void **state)
{
	struct server srv = {
		.steps = {{.status = 14, .retry_delay_ms = 1000, .message = "busy"}, {.status = 0}},
		.n_steps = 2,
	};
	struct sh_env env;

	grpc_start(&srv, 0);
	run_grpc(&srv, "    compression: none\n", &env);
	assert_int_equal(counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 2);
	assert_true(srv.seen[1].at_ms - srv.seen[0].at_ms >= 950);
	assert_int_equal(srv.seen[1].total, 6);
}

static void grpc_invalid_argument_not_retried(void **state)
{
	struct server srv = {.steps = {{.status = 3, .message = "bad index"}}, .n_steps = 1};
	struct sh_env env;

	grpc_start(&srv, 0);
	run_grpc(&srv, NULL, &env);
	assert_int_equal(counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300);
	sh_env_stop(&env);
	grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

static void grpc_resource_exhausted_needs_retry_info(void **state)
{
	struct server srv = {
		.steps = {{.status = 8, .retry_delay_ms = 100}, {.status = 8}, {.status = 0}},
		.n_steps = 3,
	};
	struct sh_env env;

	grpc_start(&srv, 0);
	run_grpc(&srv, NULL, &env);
	/* retried once (RetryInfo), then dropped (none) */
	assert_int_equal(counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300);
	sh_env_stop(&env);
	grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 2);
}

static void grpc_partial_success_counted_not_retried(void **state)
{
	struct server srv = {
		.steps = {{.status = 0, .rejected = 1, .message = "one profile was bad"}},
		.n_steps = 1,
	};
	struct sh_env env;

	grpc_start(&srv, 0);
	run_grpc(&srv, NULL, &env);
	assert_int_equal(counter(&env, "otlp_grpc", PF_CTR_EXPORTER_SEND_FAILED), 3);
	sh_run_for(&env, 300);
	sh_env_stop(&env);
	grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

static void grpc_server_down_then_up(void **state)
{
	struct server srv = {.steps = {{.status = 0}}, .n_steps = 1};
	struct sh_env env;
	struct wait_ctx w = {.want = 3};
	char yaml[2048];
	int port;

	grpc_start(&srv, 0);
	port = srv.port;
	grpc_stop(&srv);
	snprintf(yaml, sizeof(yaml),
		 "receivers:\n  feeder:\n"
		 "exporters:\n  otlp:\n    endpoint: 127.0.0.1:%d\n"
		 "    tls:\n      insecure: true\n"
		 "    retry_on_failure:\n      initial_interval: 50ms\n      max_interval: 200ms\n"
		 "service:\n  pipelines:\n    profiles:\n"
		 "      receivers: [feeder]\n      exporters: [otlp]\n",
		 port);
	env_start(&env, yaml);
	emit_one(&env);
	sh_run_for(&env, 300);
	assert_int_equal(counter(&env, "otlp", PF_CTR_EXPORTER_SENT), 0);
	srv.n_seen = 0;
	grpc_start(&srv, port);
	w.exp = sh_find(&env, PF_EXPORTER, "otlp");
	assert_true(sh_run_until(&env, all_settled, &w, 15000));
	assert_int_equal(counter(&env, "otlp", PF_CTR_EXPORTER_SENT), 3);
	sh_env_stop(&env);
	grpc_stop(&srv);
	assert_int_equal(srv.n_seen, 1);
}

/* ---- configuration ---- */

static void config_errors(void **state)
{
	static const char *const bad[] = {
		"exporters:\n  otlphttp:\n    endpoint: 127.0.0.1:4318\n",
		"exporters:\n  otlp:\n    endpoint: x:1\n    tls:\n      cert_file: /a\n",
		"exporters:\n  otlp:\n    endpoint: x:1\n    compression: zstd\n",
		"exporters:\n  otlp:\n    endpoint: x:1\n    tls:\n      insecure: true\n"
		"      ca_file: /ca.pem\n",
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
		cfg = pf_config_load_string("t.yaml", yaml, strlen(yaml), registry, &err);
		if (cfg)
			fail_msg("accepted config %zu", i);
		assert_true(pf_error_isset(&err));
	}
}

static void retryable_codes(void **state)
{
	static const int yes[] = {1, 4, 10, 11, 14, 15};
	static const int no[] = {2, 3, 5, 6, 7, 9, 12, 13, 16};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(pf_grpc_retryable(yes[i], -1));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(pf_grpc_retryable(no[i], 1000));
	assert_false(pf_grpc_retryable(PF_GRPC_RESOURCE_EXHAUSTED, -1));
	assert_true(pf_grpc_retryable(PF_GRPC_RESOURCE_EXHAUSTED, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_errors),
		cmocka_unit_test(retryable_codes),
		cmocka_unit_test(http_ok),
		cmocka_unit_test(http_no_compression_and_profiles_endpoint),
		cmocka_unit_test(http_429_retry_after_seconds),
		cmocka_unit_test(http_503_retry_after_date),
		cmocka_unit_test(http_502_504_retried),
		cmocka_unit_test(http_400_status_not_retried),
		cmocka_unit_test(http_text_plain_error_not_retried),
		cmocka_unit_test(http_partial_success_counted_not_retried),
		cmocka_unit_test(http_split_by_max_request_size),
		cmocka_unit_test(http_connection_refused_then_up),
		cmocka_unit_test(grpc_ok),
		cmocka_unit_test(grpc_unavailable_retry_info),
		cmocka_unit_test(grpc_invalid_argument_not_retried),
		cmocka_unit_test(grpc_resource_exhausted_needs_retry_info),
		cmocka_unit_test(grpc_partial_success_counted_not_retried),
		cmocka_unit_test(grpc_server_down_then_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
