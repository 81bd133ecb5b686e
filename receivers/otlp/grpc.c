// SPDX-License-Identifier: Apache-2.0
/* The otlp receiver over gRPC: ProfilesService/Export on pipeline/grpc_server, statuses with RetryInfo. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/otlp.h"
#include "pipeline/grpc_server.h"
#include "receiver.h"

#define EXPORT_METHOD "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"

#define lg(r) pf_component_logger((r)->c)

/* Requests from this size on are decoded on the thread pool. */
#define DEFER_MIN_SIZE ((size_t)64 << 10)

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

/* A request decoded on the thread pool; the call waits deferred meanwhile. */
struct decode_job {
	uv_work_t work;
	struct pf_otlp_rx *r;
	void *call;
	const uint8_t *body; /* the call's, alive until the reply */
	size_t size, max;
	struct pf_metadata *md; /* taken by the batch, or freed */
	struct pf_batch *batch;
	int n;
	struct pf_error err;
};

static void decode_work(uv_work_t *w)
{
	struct decode_job *j = w->data;
	j->n = pf_otlp_rx_decode(j->body, j->size, j->max, false, &j->batch, &j->err);
}

static void decode_done(uv_work_t *w, int status)
{
	struct decode_job *j = w->data;
	struct pf_grpc_response resp = {.code = PF_GRPC_OK};
	struct pf_otlp_rx_result res;

	if (status < 0 && j->n >= 0) { /* cancelled before it ran */
		j->n = -ENOMEM;
		j->batch = NULL;
	}
	pf_otlp_rx_attach(j->batch, j->md);
	pf_otlp_rx_deliver(j->r, j->batch, j->n, &j->err, j->max, &res);
	respond(&resp, &res);
	pf_grpc_server_reply(j->call, &resp);
	free(j);
}

static void on_export(void *arg, const struct pf_grpc_request *req, struct pf_grpc_response *resp)
{
	struct pf_otlp_rx *r = arg;
	const struct pf_otlp_rx_proto *p = &r->cfg.protocols.grpc;
	struct pf_otlp_rx_result res;
	char auth[512];

	if (p->auth.bearer_token) {
		if (pf_grpc_request_metadata(req, "authorization", auth, sizeof(auth)) < 0)
			auth[0] = '\0';
		if (!pf_otlp_rx_authorized(p, auth[0] ? auth : NULL)) {
			fail(resp, PF_GRPC_UNAUTHENTICATED, "missing or wrong bearer token", 0);
			return;
		}
	}
	/* Large requests are decoded on the thread pool, in parallel and off
	 * the loop; small ones right here. */
	if (req->body_len >= DEFER_MIN_SIZE && !r->stopping) {
		struct decode_job *j = calloc(1, sizeof(*j));
		if (j) {
			j->work.data = j;
			j->r = r;
			j->call = req->call;
			j->body = req->body;
			j->size = req->body_len;
			j->max = pf_otlp_rx_max_size(p);
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
	pf_otlp_rx_export(r, req->body, req->body_len, pf_otlp_rx_max_size(p), false,
			  pf_otlp_rx_grpc_metadata(r, req), &res);
	respond(resp, &res);
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
