// SPDX-License-Identifier: Apache-2.0
/* The otlp receiver over gRPC: ProfilesService/Export on transport/grpc_server, statuses with RetryInfo. */
/* Compressed requests are inflated here with libdeflate (formats/gzip), not
 * by grpc core's zlib: about twice as fast, and on the thread pool. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "model/batch.h"
#include "transport/grpc_server.h"
#include "receiver.h"

#define EXPORT_METHOD "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"

#define lg(r) pf_component_logger((r)->c)

/* Requests from this size on are decoded on the thread pool; compressed
 * ones (which inflate several times) from an eighth of it. */
#define DEFER_MIN_SIZE	     ((size_t)64 << 10)
#define DEFER_MIN_COMPRESSED (DEFER_MIN_SIZE / 8)

/* Fills a failed response: code, message, and google.rpc.Status as details. */
static void fail(struct pf_grpc_response *resp, int code, const char *message, int64_t retry_ms)
{
	resp->code = code;
	snprintf(resp->message, sizeof(resp->message), "%s", message);
	if (pf_otlp_encode_status(code, message, retry_ms, false, &resp->details,
				  &resp->details_len) < 0) {
		resp->details = NULL;
		resp->details_len = 0;
	}
}

/* Fills a response from the export's outcome. */
static void respond(struct pf_grpc_response *resp, const struct pf_otlp_rx_result *res)
{
	switch (res->outcome) {
	case PF_OTLP_RX_OK:
		resp->code = PF_GRPC_OK;
		if (pf_otlp_encode_response(0, NULL, false, &resp->body, &resp->body_len) < 0)
			fail(resp, PF_GRPC_INTERNAL, "out of memory", 0);
		return;
	case PF_OTLP_RX_INVALID: fail(resp, PF_GRPC_INVALID_ARGUMENT, res->message, 0); return;
	case PF_OTLP_RX_TOO_BIG: fail(resp, PF_GRPC_RESOURCE_EXHAUSTED, res->message, 0); return;
	case PF_OTLP_RX_BUSY:
		fail(resp, PF_GRPC_UNAVAILABLE, res->message, PF_OTLP_RX_RETRY_AFTER_S * 1000);
		return;
	case PF_OTLP_RX_UNAUTH: fail(resp, PF_GRPC_UNAUTHENTICATED, res->message, 0); return;
	case PF_OTLP_RX_INTERNAL: fail(resp, PF_GRPC_INTERNAL, res->message, 0); return;
	}
}

/* Inflates a compressed request message into *plain (malloc'd; NULL for an
 * empty message), at most max bytes. Returns 0, -EFBIG, -EINVAL or -ENOMEM. */
static int inflate(enum pf_grpc_encoding enc, const uint8_t *body, size_t size, size_t max,
		   uint8_t **plain, size_t *plain_len)
{
	*plain = NULL;
	*plain_len = 0;
	if (size == 0)
		return 0;
	if (enc == PF_GRPC_DEFLATE)
		return pf_gzip_decompress_zlib(body, size, max, plain, plain_len);
	return pf_gzip_decompress(body, size, max, plain, plain_len);
}

/* Fills a response for a request inflate() refused. */
static void fail_inflate(struct pf_otlp_rx *r, struct pf_grpc_response *resp, int rc,
			 enum pf_grpc_encoding enc)
{
	if (rc == -ENOMEM) {
		fail(resp, PF_GRPC_UNAVAILABLE, "out of memory; retry later",
		     PF_OTLP_RX_RETRY_AFTER_S * 1000);
		return;
	}
	pf_component_count(r->c, PF_CTR_INPUT_ERRORS, 1);
	if (rc == -EFBIG)
		fail(resp, PF_GRPC_RESOURCE_EXHAUSTED,
		     "request larger than max_recv_msg_size_mib after decompression", 0);
	else
		fail(resp, PF_GRPC_INVALID_ARGUMENT,
		     enc == PF_GRPC_DEFLATE ? "corrupt deflate message" : "corrupt gzip message",
		     0);
}

/* A request decoded on the thread pool; the call waits deferred meanwhile. */
struct decode_job {
	uv_work_t work;
	struct pf_otlp_rx *r;
	void *call;
	const uint8_t *body; /* the call's, alive until the reply */
	size_t size, max;
	enum pf_grpc_encoding encoding;
	int inflate_rc;		/* inflate()'s error, or 0 */
	struct pf_metadata *md; /* taken by the batch, or freed */
	struct pf_batch *batch;
	int n;
	struct pf_error err;
};

static void decode_work(uv_work_t *w)
{
	struct decode_job *j = w->data;
	const uint8_t *body = j->body;
	size_t size = j->size;
	uint8_t *plain = NULL;

	if (j->encoding != PF_GRPC_IDENTITY) {
		j->inflate_rc = inflate(j->encoding, j->body, j->size, j->max, &plain, &size);
		if (j->inflate_rc < 0)
			return;
		body = plain;
	}
	j->n = pf_otlp_rx_decode(body, size, j->max, false, &j->r->budget, &j->batch, &j->err);
	free(plain);
}

/* A call whose answer waits for the exporters' queues. */
struct waiting_call {
	void *call;
};

/* The exporters settled: answer the call. */
static void on_answer(void *arg, const struct pf_otlp_rx_result *res)
{
	struct waiting_call *w = arg;
	struct pf_grpc_response resp = {.code = PF_GRPC_OK};

	respond(&resp, res);
	pf_grpc_server_reply(w->call, &resp);
	free(w);
}

static void decode_done(uv_work_t *w, int status)
{
	struct decode_job *j = w->data;
	struct pf_grpc_response resp = {.code = PF_GRPC_OK};
	struct pf_otlp_rx_result res;
	struct waiting_call *wait = NULL;

	if (status < 0 && j->n >= 0) { /* cancelled before it ran */
		j->n = -ENOMEM;
		j->batch = NULL;
	}
	pf_otlp_rx_attach(j->batch, j->md);
	if (j->inflate_rc < 0) {
		fail_inflate(j->r, &resp, j->inflate_rc, j->encoding);
	} else if (j->n > 0 && !(wait = calloc(1, sizeof(*wait)))) {
		pf_batch_unref(j->batch);
		fail(&resp, PF_GRPC_UNAVAILABLE, "out of memory; retry later",
		     PF_OTLP_RX_RETRY_AFTER_S * 1000);
	} else {
		if (wait)
			wait->call = j->call;
		if (!pf_otlp_rx_deliver(j->r, j->batch, j->n, &j->err, j->max, &res, on_answer,
					wait)) {
			free(j);
			return;
		}
		free(wait);
		respond(&resp, &res);
	}
	pf_grpc_server_reply(j->call, &resp);
	free(j);
}

/* A call's metadata as pf_auth_header_fn reads it: each value asked for is
 * copied whole (gRPC's metadata limit bounds it) and kept until the check
 * is over. */
struct call_metadata {
	const struct pf_grpc_request *req;
	char *values[4];
	size_t n;
};

static const char *metadata_value(void *arg, const char *name)
{
	struct call_metadata *m = arg;
	int n = pf_grpc_request_metadata(m->req, name, NULL, 0);
	char *v;

	if (n <= 0 || m->n == sizeof(m->values) / sizeof(m->values[0]))
		return NULL;
	v = malloc((size_t)n + 1);
	if (!v)
		return NULL; /* as absent: the check refuses, never lets through */
	pf_grpc_request_metadata(m->req, name, v, (size_t)n + 1);
	m->values[m->n++] = v;
	return v;
}

/* The call checked by the protocol's authenticator: 0, or -EACCES or -ENOMEM
 * with `reason` filled. */
static int check_auth(const struct pf_otlp_rx *r, const struct pf_grpc_request *req, char *reason,
		      size_t size)
{
	struct call_metadata m = {.req = req};
	int rc = pf_auth_server_check(&r->grpc_auth, metadata_value, &m, reason, size);

	for (size_t i = 0; i < m.n; i++)
		free(m.values[i]);
	return rc;
}

/* pf_otlp_rx_export() for a call answered here or, when the exporters
 * settle later, deferred. */
static void export_now(struct pf_otlp_rx *r, const struct pf_grpc_request *req, const void *body,
		       size_t size, size_t max, struct pf_grpc_response *resp)
{
	struct waiting_call *wait = calloc(1, sizeof(*wait));
	struct pf_otlp_rx_result res;

	if (!wait) {
		fail(resp, PF_GRPC_UNAVAILABLE, "out of memory; retry later",
		     PF_OTLP_RX_RETRY_AFTER_S * 1000);
		return;
	}
	wait->call = req->call;
	if (!pf_otlp_rx_export(r, body, size, max, false, pf_otlp_rx_grpc_metadata(r, req), &res,
			       on_answer, wait)) {
		resp->deferred = true;
		return;
	}
	free(wait);
	respond(resp, &res);
}

static void on_export(void *arg, const struct pf_grpc_request *req, struct pf_grpc_response *resp)
{
	struct pf_otlp_rx *r = arg;
	const struct pf_otlp_rx_proto *p = &r->cfg.protocols.grpc;
	size_t max = pf_otlp_rx_max_size(p);
	size_t defer_min =
		req->encoding == PF_GRPC_IDENTITY ? DEFER_MIN_SIZE : DEFER_MIN_COMPRESSED;
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	char reason[128];
	int rc;

	rc = check_auth(r, req, reason, sizeof(reason));
	if (rc == -ENOMEM) {
		fail(resp, PF_GRPC_UNAVAILABLE, "out of memory; retry later",
		     PF_OTLP_RX_RETRY_AFTER_S * 1000);
		return;
	}
	if (rc < 0) {
		fail(resp, PF_GRPC_UNAUTHENTICATED, reason, 0);
		return;
	}
	/* Large requests are decoded on the thread pool, in parallel and off
	 * the loop; small ones right here. */
	if (req->body_len >= defer_min && !r->stopping) {
		struct decode_job *j = calloc(1, sizeof(*j));
		if (j) {
			j->work.data = j;
			j->r = r;
			j->call = req->call;
			j->body = req->body;
			j->size = req->body_len;
			j->max = max;
			j->encoding = req->encoding;
			j->md = pf_otlp_rx_grpc_metadata(r, req);
			if (uv_queue_work(pf_component_loop(r->c), &j->work, decode_work,
					  decode_done) == 0) {
				resp->deferred = true;
				return;
			}
			pf_otlp_rx_attach(NULL, j->md);
			free(j);
		}
	}
	if (req->encoding == PF_GRPC_IDENTITY) {
		export_now(r, req, req->body, req->body_len, max, resp);
		return;
	}
	rc = inflate(req->encoding, req->body, req->body_len, max, &plain, &plain_len);
	if (rc < 0) {
		fail_inflate(r, resp, rc, req->encoding);
		return;
	}
	export_now(r, req, plain, plain_len, max, resp);
	free(plain);
}

int pf_otlp_rx_grpc_start(struct pf_otlp_rx *r)
{
	const struct pf_otlp_rx_proto *p = &r->cfg.protocols.grpc;
	struct pf_grpc_server_tls tls = {
		.cert_file = p->tls.cert_file,
		.key_file = p->tls.key_file,
		.client_ca_file = p->tls.client_ca_file,
	};
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];
	int rc;

	r->grpc = pf_grpc_server_create(
		pf_component_loop(r->c), p->endpoint, pf_tls_server_enabled(&p->tls) ? &tls : NULL,
		pf_otlp_rx_max_size(p), (unsigned)p->max_concurrent_requests, &err);
	if (!r->grpc) {
		pf_log(lg(r), PF_LOG_ERROR, "grpc: %s", pf_error_str(&err, buf, sizeof(buf)));
		return -EINVAL;
	}
	pf_grpc_server_raw(r->grpc);
	rc = pf_grpc_server_method(r->grpc, EXPORT_METHOD, on_export, r);
	if (rc < 0) {
		pf_log(lg(r), PF_LOG_ERROR, "grpc: %s", strerror(-rc));
		return rc;
	}
	rc = pf_grpc_server_start(r->grpc, &err);
	if (rc < 0) {
		pf_log(lg(r), PF_LOG_ERROR, "grpc: %s", pf_error_str(&err, buf, sizeof(buf)));
		return rc;
	}
	pf_log(lg(r), PF_LOG_INFO, "OTLP/gRPC on %s (port %u)%s", p->endpoint,
	       pf_grpc_server_port(r->grpc), pf_tls_server_enabled(&p->tls) ? " with TLS" : "");
	return 0;
}
