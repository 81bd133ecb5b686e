// SPDX-License-Identifier: Apache-2.0
/* Harness of unit.otlp_exporters: the service, batches, and scripted HTTP (libmicrohttpd) and gRPC (grpc core) servers. */
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
#include <uv.h>

#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "otlp_exp_harness.h"
#include "transport/tls.h"

#define T0_NS (1795760100ULL * 1000000000ULL)

extern const struct pf_component_def pf_exporter_otlp;
extern const struct pf_component_def pf_exporter_otlphttp;

/* ---- the service ---- */

const struct pf_component_def *const oe_registry[] = {
	&sh_feeder_def,
	&pf_exporter_otlp,
	&pf_exporter_otlphttp,
	NULL,
};

void oe_env_start(struct sh_env *env, const char *yaml)
{
	sh_env_start_with(env, yaml, oe_registry);
}

/* Three samples (values 1, 2, 3) in one profile. */
struct pf_batch *oe_batch(void)
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
struct pf_batch *oe_big_batch(int n, int per)
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

/* Emits `b` and runs until its samples are sent or failed. */
void oe_send_and_wait(struct sh_env *env, struct pf_batch *b, uint64_t timeout_ms)
{
	static const char *const ids[] = {"otlp", "otlp_grpc", "otlphttp"};
	uint64_t want = pf_batch_sample_count(b);
	const char *id = NULL;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]) && !id; i++)
		if (pf_service_find(env->svc, PF_EXPORTER, ids[i]))
			id = ids[i];
	assert_non_null(id);
	assert_int_equal(pf_component_emit(sh_find(env, PF_RECEIVER, "feeder"), b), PF_OK);
	pf_batch_unref(b);
	assert_true(sh_wait_settled(env, id, want, timeout_ms));
}

/* Emits a three-sample batch without waiting. */
void oe_emit_one(struct sh_env *env)
{
	struct pf_batch *b = oe_batch();

	assert_int_equal(pf_component_emit(sh_find(env, PF_RECEIVER, "feeder"), b), PF_OK);
	pf_batch_unref(b);
}

bool oe_wait_settled(struct sh_env *env, const char *id, uint64_t want, uint64_t timeout_ms)
{
	return sh_wait_settled(env, id, want, timeout_ms);
}

uint64_t oe_counter(struct sh_env *env, const char *id, enum pf_counter ctr)
{
	return pf_component_counter(sh_find(env, PF_EXPORTER, id), ctr);
}

/* ---- what the servers saw ---- */

static void decode_into(struct oe_seen *s, const void *data, size_t size)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_error err = {0};
	int ret;

	hf_check(b != NULL, "batch");
	ret = pf_otlp_decode(b, data, size, 0, NULL, &err);
	if (ret < 0) {
		s->decode_error = ret;
	} else {
		s->samples = pf_batch_sample_count(b);
		s->total = sh_sum(b, "samples", NULL);
	}
	pf_batch_unref(b);
}

/* Records a request; returns the step that answers it. */
static struct oe_step record(struct oe_server *srv, struct oe_seen *s)
{
	struct oe_step st;

	s->at_ms = uv_hrtime() / 1000000;
	uv_mutex_lock(&srv->lock);
	st = srv->steps[srv->n_seen < srv->n_steps ? srv->n_seen : srv->n_steps - 1];
	if (srv->n_seen < OE_MAX_REQS)
		srv->seen[srv->n_seen] = *s;
	srv->n_seen++;
	uv_mutex_unlock(&srv->lock);
	return st;
}

/* ---- the HTTP server ---- */

static void on_http(void *arg, const struct hf_request *req, struct hf_answer *ans)
{
	struct oe_server *srv = arg;
	struct oe_seen s = {0};
	struct oe_step st;
	uint8_t *plain = NULL, *body = NULL;
	size_t plain_len = 0, size = 0;

	snprintf(s.path, sizeof(s.path), "%s", req->url);
	hf_value(req, MHD_HEADER_KIND, "Content-Type", s.content_type, sizeof(s.content_type));
	hf_value(req, MHD_HEADER_KIND, "Content-Encoding", s.content_encoding,
		 sizeof(s.content_encoding));
	hf_value(req, MHD_HEADER_KIND, "Authorization", s.authorization, sizeof(s.authorization));
	if (strcmp(s.content_encoding, "gzip") == 0) {
		if (pf_gzip_decompress(req->body, req->body_size, (size_t)64 << 20, &plain,
				       &plain_len) < 0)
			s.decode_error = -EINVAL;
		else
			decode_into(&s, plain, plain_len);
		free(plain);
	} else {
		decode_into(&s, req->body, req->body_size);
	}
	st = record(srv, &s);
	ans->status = st.status;
	ans->delay_ms = st.delay_ms;
	ans->retry_after = st.retry_after;
	ans->content_type = "application/x-protobuf";
	if (st.text_body) {
		ans->content_type = "text/plain; charset=utf-8";
		hf_text(ans, st.message);
	} else if (st.status >= 200 && st.status < 300) {
		hf_check(pf_otlp_encode_response(st.rejected, st.message, false, &body, &size) == 0,
			 "encode");
	} else {
		hf_check(pf_otlp_encode_status(st.status == 400 ? 3 : 14,
					       st.message ? st.message : "", st.retry_delay_ms,
					       false, &body, &size) == 0,
			 "encode");
	}
	if (body) {
		ans->body = body;
		ans->body_size = size;
	}
}

void oe_http_start(struct oe_server *srv, int port)
{
	uv_mutex_init(&srv->lock);
	srv->http = (struct hf_peer){
		.handler = on_http, .arg = srv, .key_pem = srv->key_pem, .cert_pem = srv->cert_pem};
	hf_start(&srv->http, port);
	srv->port = srv->http.port;
}

void oe_http_stop(struct oe_server *srv)
{
	hf_stop(&srv->http);
	uv_mutex_destroy(&srv->lock);
}

/* ---- the gRPC server (grpc core's server API, in a thread) ---- */

#define TAG_NEW	     ((void *)1)
#define TAG_OPS	     ((void *)2)
#define TAG_SHUTDOWN ((void *)3)

/* Waits for the call's batch; the shutdown notice may come first (cancel_all_calls). */
static void wait_ops(struct oe_server *srv)
{
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

		hf_check(ev.type == GRPC_OP_COMPLETE, "queue shut down");
		if (ev.tag == TAG_OPS)
			return;
		if (ev.tag == TAG_SHUTDOWN)
			srv->shutdown_seen = true;
	}
}

static void grpc_answer(struct oe_server *srv, grpc_call *call, grpc_metadata_array *req_md)
{
	grpc_byte_buffer *recv = NULL, *send = NULL;
	grpc_metadata trailer;
	grpc_slice details, resp_slice;
	uint8_t *bytes = NULL;
	size_t size = 0;
	int cancelled = 0;
	struct oe_seen s = {0};
	struct oe_step st;
	grpc_op ops[6];
	size_t n = 0;

	memset(ops, 0, sizeof(ops));
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n++].data.recv_message.recv_message = &recv;
	hf_check(grpc_call_start_batch(call, ops, n, TAG_OPS, NULL) == GRPC_CALL_OK, "start_batch");
	grpc_event ev =
		grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	hf_check(ev.tag == TAG_OPS, "unexpected event");

	for (size_t i = 0; i < req_md->count; i++)
		if (grpc_slice_str_cmp(req_md->metadata[i].key, "authorization") == 0)
			snprintf(s.authorization, sizeof(s.authorization), "%.*s",
				 (int)GRPC_SLICE_LENGTH(req_md->metadata[i].value),
				 (const char *)GRPC_SLICE_START_PTR(req_md->metadata[i].value));
	if (recv) {
		grpc_byte_buffer_reader reader;

		hf_check(grpc_byte_buffer_reader_init(&reader, recv), "reader");
		grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
		decode_into(&s, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
		grpc_slice_unref(all);
		grpc_byte_buffer_reader_destroy(&reader);
		grpc_byte_buffer_destroy(recv);
	}
	st = record(srv, &s);
	if (st.delay_ms)
		uv_sleep(st.delay_ms);

	n = 0;
	memset(ops, 0, sizeof(ops));
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (st.status == 0) {
		hf_check(pf_otlp_encode_response(st.rejected, st.message, false, &bytes, &size) ==
				 0,
			 "encode");
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
		hf_check(pf_otlp_encode_status((int)st.status, st.message ? st.message : "",
					       st.retry_delay_ms, false, &bytes, &size) == 0,
			 "encode");
		trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
		trailer.value = grpc_slice_from_copied_buffer((const char *)bytes, size);
		free(bytes);
		ops[n].data.send_status_from_server.trailing_metadata_count = 1;
		ops[n].data.send_status_from_server.trailing_metadata = &trailer;
	}
	n++;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n++].data.recv_close_on_server.cancelled = &cancelled;
	hf_check(grpc_call_start_batch(call, ops, n, TAG_OPS, NULL) == GRPC_CALL_OK, "start_batch");
	wait_ops(srv);
	if (st.status != 0 && st.retry_delay_ms > 0)
		grpc_slice_unref(trailer.value);
	grpc_slice_unref(details);
	if (send)
		grpc_byte_buffer_destroy(send);
	grpc_call_unref(call);
}

static void grpc_thread(void *arg)
{
	struct oe_server *srv = arg;

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
		if (ev.tag == TAG_SHUTDOWN || srv->shutdown_seen)
			return;
	}
}

void oe_grpc_start(struct oe_server *srv, int port)
{
	char addr[64];
	grpc_server_credentials *creds;

	grpc_init();
	uv_mutex_init(&srv->lock);
	srv->cq = grpc_completion_queue_create_for_next(NULL);
	srv->gs = grpc_server_create(NULL, NULL);
	grpc_server_register_completion_queue(srv->gs, srv->cq, NULL);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	if (srv->key_pem) {
		grpc_ssl_pem_key_cert_pair pair = {.private_key = srv->key_pem,
						   .cert_chain = srv->cert_pem};

		creds = grpc_ssl_server_credentials_create_ex(
			srv->client_ca_pem, &pair, 1,
			srv->client_ca_pem
				? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
				: GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
			NULL);
	} else {
		creds = grpc_insecure_server_credentials_create();
	}
	srv->port = grpc_server_add_http2_port(srv->gs, addr, creds);
	grpc_server_credentials_release(creds);
	assert_true(srv->port > 0);
	grpc_server_start(srv->gs);
	assert_int_equal(uv_thread_create(&srv->thread, grpc_thread, srv), 0);
}

void oe_grpc_stop(struct oe_server *srv)
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

/* ---- certificates ---- */

static void run(const char *dir, const char *cmd)
{
	char line[1024];

	snprintf(line, sizeof(line), "cd %s && %s >/dev/null 2>&1", dir, cmd);
	if (system(line) != 0)
		fail_msg("failed: %s", cmd);
}

static char *read_pem(const char *path)
{
	struct pf_error err = {0};
	char *pem = NULL;

	if (pf_tls_read_pem(path, "test", &pem, &err) < 0)
		fail_msg("%s", err.msg);
	return pem;
}

void oe_certs_make(struct oe_certs *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/pf_otlp_certs.XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	run(c->dir, "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
		    "-subj /CN=test-ca");
	run(c->dir, "openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem "
		    "-days 2 -subj /CN=other-ca");
	run(c->dir, "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
		    "-subj /CN=localhost");
	run(c->dir, "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext");
	run(c->dir, "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		    "-out server.pem -days 2 -extfile server.ext");
	run(c->dir, "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
		    "-subj /CN=client");
	run(c->dir, "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		    "-out client.pem -days 2");
	snprintf(c->ca, sizeof(c->ca), "%s/ca.pem", c->dir);
	snprintf(c->other_ca, sizeof(c->other_ca), "%s/other.pem", c->dir);
	snprintf(c->server_cert, sizeof(c->server_cert), "%s/server.pem", c->dir);
	snprintf(c->server_key, sizeof(c->server_key), "%s/server.key", c->dir);
	snprintf(c->client_cert, sizeof(c->client_cert), "%s/client.pem", c->dir);
	snprintf(c->client_key, sizeof(c->client_key), "%s/client.key", c->dir);
	c->ca_pem = read_pem(c->ca);
	c->server_cert_pem = read_pem(c->server_cert);
	c->server_key_pem = read_pem(c->server_key);
}

void oe_certs_free(struct oe_certs *c)
{
	char line[256];

	free(c->ca_pem);
	free(c->server_cert_pem);
	free(c->server_key_pem);
	snprintf(line, sizeof(line), "rm -rf %s", c->dir);
	if (system(line) != 0)
		fail_msg("cannot remove %s", c->dir);
}
