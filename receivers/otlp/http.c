// SPDX-License-Identifier: Apache-2.0
/* The otlp receiver over HTTP: POST /v1development/profiles, protobuf or JSON, gzip, statuses as the Collector maps them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "transport/grpc_server.h"
#include "transport/http_server.h"
#include "receiver.h"

#define PROFILES_PATH "/v1development/profiles"
#define CT_PROTOBUF   "application/x-protobuf"
#define CT_JSON	      "application/json"

#define lg(r) pf_component_logger((r)->c)

enum body_kind {
	BODY_UNKNOWN,
	BODY_PROTOBUF,
	BODY_JSON,
};

/* The media type of a Content-Type value, parameters and case ignored. */
static enum body_kind body_kind(const char *ct)
{
	size_t n;

	if (!ct)
		return BODY_UNKNOWN;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if ((n == strlen(CT_PROTOBUF) && strncasecmp(ct, CT_PROTOBUF, n) == 0) ||
	    (n == strlen("application/protobuf") &&
	     strncasecmp(ct, "application/protobuf", n) == 0))
		return BODY_PROTOBUF;
	if (n == strlen(CT_JSON) && strncasecmp(ct, CT_JSON, n) == 0)
		return BODY_JSON;
	return BODY_UNKNOWN;
}

static void text(struct pf_http_response *resp, unsigned status, const char *msg)
{
	resp->status = status;
	resp->content_type = "text/plain; charset=utf-8";
	resp->body = strdup(msg);
	resp->body_len = resp->body ? strlen(resp->body) : 0;
}

/* An error answer with a google.rpc.Status body in the request's encoding. */
static void status(struct pf_http_response *resp, unsigned http, int code, const char *msg,
		   bool json, int64_t retry_ms)
{
	uint8_t *out = NULL;
	size_t len = 0;

	if (pf_otlp_encode_status(code, msg, retry_ms, json, &out, &len) < 0) {
		text(resp, http, msg);
		return;
	}
	resp->status = http;
	resp->content_type = json ? CT_JSON : CT_PROTOBUF;
	resp->body = (char *)out;
	resp->body_len = len;
}

/* One request on its way through the libuv thread pool while its
 * connection waits suspended. The thread reads the request's fields and
 * writes the results only. */
struct export_job {
	uv_work_t work;
	struct pf_otlp_rx *r;
	void *call;	  /* the HTTP request, answered by pf_http_server_reply() */
	const void *body; /* the request's, valid until the reply */
	size_t size, max;
	bool json, gzip;
	/* Results. */
	int gzip_rc; /* pf_gzip_decompress()'s error, or 0 */
	int n;	     /* pf_otlp_rx_decode()'s result */
	struct pf_batch *batch;
	struct pf_error err;
	struct pf_metadata *md; /* include_metadata: taken by the batch */
};

/* The CPU work of a request: decompression, decoding, validation. Touches
 * no component: it runs on the thread pool. */
static void decode(struct export_job *j)
{
	const void *body = j->body;
	size_t size = j->size;
	uint8_t *plain = NULL;

	if (j->gzip) {
		j->gzip_rc = pf_gzip_decompress(body, size, j->max, &plain, &size);
		if (j->gzip_rc < 0)
			return;
		body = plain;
	}
	j->n = pf_otlp_rx_decode(body, size, j->max, j->json, &j->r->budget, &j->batch, &j->err);
	free(plain);
}

/* Fills `resp` from a delivered request's outcome. */
static void fill(struct pf_http_response *resp, const struct pf_otlp_rx_result *res, bool json)
{
	uint8_t *out = NULL;
	size_t out_len = 0;

	switch (res->outcome) {
	case PF_OTLP_RX_OK:
		if (pf_otlp_encode_response(0, NULL, json, &out, &out_len) < 0) {
			text(resp, 500, "out of memory\n");
			return;
		}
		resp->status = 200;
		resp->content_type = json ? CT_JSON : CT_PROTOBUF;
		resp->body = (char *)out;
		resp->body_len = out_len;
		return;
	case PF_OTLP_RX_INVALID:
		status(resp, 400, PF_GRPC_INVALID_ARGUMENT, res->message, json, 0);
		return;
	case PF_OTLP_RX_TOO_BIG:
		status(resp, 413, PF_GRPC_RESOURCE_EXHAUSTED, res->message, json, 0);
		return;
	case PF_OTLP_RX_BUSY:
		status(resp, 503, PF_GRPC_UNAVAILABLE, res->message, json,
		       PF_OTLP_RX_RETRY_AFTER_S * 1000);
		resp->headers[0].name = "Retry-After";
		resp->headers[0].value = PF_OTLP_RX_RETRY_AFTER_TEXT;
		resp->n_headers = 1;
		return;
	case PF_OTLP_RX_UNAUTH:
		status(resp, 401, PF_GRPC_UNAUTHENTICATED, res->message, json, 0);
		return;
	case PF_OTLP_RX_INTERNAL:
		status(resp, 500, PF_GRPC_INTERNAL, res->message, json, 0);
		return;
	}
}

/* The exporters settled a request that waited for them: answer it. The
 * reply may end the server's close and so free the receiver. */
static void on_answer(void *arg, const struct pf_otlp_rx_result *res)
{
	struct export_job *j = arg;
	struct pf_http_response resp = {0};

	fill(&resp, res, j->json);
	pf_http_server_reply(j->call, &resp);
	free(j);
}

/* The answer to a request whose body was decoded: emits the batch on the
 * loop and fills `resp` from the outcome. Returns false when the answer
 * waits for the exporters (on_answer() replies and frees j then). */
static bool answer(struct export_job *j, struct pf_http_response *resp)
{
	struct pf_otlp_rx *r = j->r;
	struct pf_otlp_rx_result res;
	bool json = j->json;

	pf_otlp_rx_attach(j->batch, j->md);
	if (j->gzip_rc == -EFBIG) {
		status(resp, 413, PF_GRPC_RESOURCE_EXHAUSTED,
		       "request larger than max_recv_msg_size_mib after decompression", json, 0);
		pf_component_count(r->c, PF_CTR_INPUT_ERRORS, 1);
		return true;
	}
	if (j->gzip_rc == -ENOMEM) {
		status(resp, 503, PF_GRPC_UNAVAILABLE, "out of memory; retry later", json,
		       PF_OTLP_RX_RETRY_AFTER_S * 1000);
		return true;
	}
	if (j->gzip_rc < 0) {
		status(resp, 400, PF_GRPC_INVALID_ARGUMENT, "corrupt gzip body", json, 0);
		pf_component_count(r->c, PF_CTR_INPUT_ERRORS, 1);
		return true;
	}
	struct pf_batch *b = j->batch;

	j->batch = NULL;
	if (!pf_otlp_rx_deliver(r, b, j->n, &j->err, j->max, &res, on_answer, j))
		return false;
	fill(resp, &res, json);
	return true;
}

static void on_decode(uv_work_t *w)
{
	decode(w->data);
}

/* Back on the loop. The reply may end the server's close and so free the
 * receiver: nothing is touched after it. */
static void on_decoded(uv_work_t *w, int rc)
{
	struct export_job *j = w->data;
	struct pf_http_response resp = {0};

	if (rc == UV_ECANCELED) {
		j->n = -ENOMEM; /* retryable: 503 */
		j->gzip_rc = 0;
	}
	if (!answer(j, &resp))
		return;
	pf_http_server_reply(j->call, &resp);
	free(j);
}

/* pf_auth_header_fn over an HTTP request. */
static const char *request_header(void *req, const char *name)
{
	return pf_http_request_header(req, name);
}

/* The protocol's authenticator, asked on the headers before any body is
 * read: a client without credentials holds no part of the body budget. */
static bool check_auth(void *arg, const struct pf_http_request *req, struct pf_http_response *resp)
{
	struct pf_otlp_rx *r = arg;
	bool json = body_kind(pf_http_request_header(req, "Content-Type")) == BODY_JSON;
	char reason[128];
	int rc = pf_auth_server_check(&r->http_auth, request_header, (void *)req, reason,
				      sizeof(reason));

	if (rc == 0)
		return true;
	if (rc == -ENOMEM) {
		status(resp, 503, PF_GRPC_UNAVAILABLE, "out of memory; retry later", json,
		       PF_OTLP_RX_RETRY_AFTER_S * 1000);
		return false;
	}
	status(resp, 401, PF_GRPC_UNAUTHENTICATED, reason, json, 0);
	resp->headers[0].name = "WWW-Authenticate";
	resp->headers[0].value = "Bearer";
	resp->n_headers = 1;
	return false;
}

/* Checks what can be checked from the headers (the token was, by
 * check_auth), then hands the body to the thread pool; the answer follows
 * from on_decoded(). */
static void on_export(void *arg, const struct pf_http_request *req, struct pf_http_response *resp)
{
	struct pf_otlp_rx *r = arg;
	const struct pf_otlp_rx_proto *p = &r->cfg.protocols.http;
	enum body_kind kind = body_kind(pf_http_request_header(req, "Content-Type"));
	const char *enc = pf_http_request_header(req, "Content-Encoding");
	bool json = kind == BODY_JSON;
	struct export_job *j;

	if (kind == BODY_UNKNOWN) {
		text(resp, 415,
		     "unsupported Content-Type: use application/x-protobuf or "
		     "application/json\n");
		return;
	}
	if (enc && enc[0] && strcasecmp(enc, "identity") != 0 && strcasecmp(enc, "gzip") != 0) {
		text(resp, 415, "unsupported Content-Encoding: use gzip or none\n");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		status(resp, 503, PF_GRPC_UNAVAILABLE, "out of memory; retry later", json,
		       PF_OTLP_RX_RETRY_AFTER_S * 1000);
		return;
	}
	j->work.data = j;
	j->r = r;
	j->call = req->call;
	j->body = req->body;
	j->size = req->body_len;
	j->max = pf_otlp_rx_max_size(p);
	j->json = json;
	j->gzip = enc && strcasecmp(enc, "gzip") == 0;
	j->md = pf_otlp_rx_http_metadata(r, req);
	if (uv_queue_work(pf_component_loop(r->c), &j->work, on_decode, on_decoded) == 0) {
		resp->deferred = true;
		return;
	}
	/* Cannot happen with a work callback; answer here all the same. */
	decode(j);
	if (!answer(j, resp)) {
		resp->deferred = true; /* on_answer() replies */
		return;
	}
	free(j);
}

/* Reads the PEM files and turns the server into HTTPS. */
static int start_tls(struct pf_otlp_rx *r, const struct pf_otlp_rx_proto *p)
{
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];
	char *cert = NULL, *key = NULL, *ca = NULL;
	int rc;

	if ((rc = pf_tls_read_pem(p->tls.cert_file, "tls.cert_file", &cert, &err)) < 0 ||
	    (rc = pf_tls_read_pem(p->tls.key_file, "tls.key_file", &key, &err)) < 0 ||
	    (p->tls.client_ca_file &&
	     (rc = pf_tls_read_pem(p->tls.client_ca_file, "tls.client_ca_file", &ca, &err)) < 0)) {
		pf_log(lg(r), PF_LOG_ERROR, "http: %s", pf_error_str(&err, buf, sizeof(buf)));
		goto out_free;
	}
	rc = pf_http_server_tls(r->http, cert, key, ca);
	if (rc < 0)
		pf_log(lg(r), PF_LOG_ERROR, "http: cannot serve TLS: %s", strerror(-rc));
out_free:
	free(cert);
	free(key);
	free(ca);
	return rc;
}

int pf_otlp_rx_http_start(struct pf_otlp_rx *r)
{
	const struct pf_otlp_rx_proto *p = &r->cfg.protocols.http;
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];
	int rc;

	/* A compressed body is never larger than the limit after decompression
	 * plus gzip's framing for incompressible data. */
	r->http = pf_http_server_create(pf_component_loop(r->c), p->endpoint,
					pf_otlp_rx_max_size(p) + 4096, &err);
	if (!r->http) {
		pf_log(lg(r), PF_LOG_ERROR, "http: %s", pf_error_str(&err, buf, sizeof(buf)));
		return -EINVAL;
	}
	pf_http_server_limits(r->http, &p->http_limits);
	/* Bodies held at once: as many as gRPC takes calls. */
	pf_http_server_body_budget(r->http, (size_t)p->max_concurrent_requests *
						    (pf_otlp_rx_max_size(p) + 4096));
	if (pf_tls_server_enabled(&p->tls)) {
		rc = start_tls(r, p);
		if (rc < 0)
			return rc;
	}
	rc = pf_http_server_route(r->http, "POST", PROFILES_PATH, on_export, r);
	if (rc == 0 && r->http_auth.ops)
		rc = pf_http_server_route_check(r->http, PROFILES_PATH, check_auth);
	if (rc < 0) {
		pf_log(lg(r), PF_LOG_ERROR, "http: %s", strerror(-rc));
		return rc;
	}
	rc = pf_http_server_start(r->http, &err);
	if (rc < 0) {
		pf_log(lg(r), PF_LOG_ERROR, "http: %s", pf_error_str(&err, buf, sizeof(buf)));
		return rc;
	}
	pf_log(lg(r), PF_LOG_INFO, "OTLP/HTTP on %s (port %u)%s", p->endpoint,
	       pf_http_server_port(r->http), pf_tls_server_enabled(&p->tls) ? " with TLS" : "");
	return 0;
}
