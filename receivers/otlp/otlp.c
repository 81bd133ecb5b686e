// SPDX-License-Identifier: Apache-2.0
/* The otlp receiver: OTLP profiles over gRPC and HTTP for gateway mode; options, lifecycle, the export step. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "formats/otlp/otlp.h"
#include "model/batch.h"
#include "transport/grpc_server.h"
#include "transport/http_server.h"
#include "receiver.h"

#define lg(r) pf_component_logger((r)->c)

/* The rows every protocol has; only the endpoint default differs. */
#define PROTO_ROWS(default_endpoint)                                                               \
	{.name = "endpoint",                                                                       \
	 .type = PF_OPT_STRING,                                                                    \
	 .def = default_endpoint,                                                                  \
	 .flags = PF_OPT_ENDPOINT,                                                                 \
	 .offset = offsetof(struct pf_otlp_rx_proto, endpoint),                                    \
	 .doc = "host:port to listen on (\":port\" for every interface)"},                         \
		{.name = "tls",                                                                    \
		 .type = PF_OPT_SECTION,                                                           \
		 .section = pf_tls_options,                                                        \
		 .offset = offsetof(struct pf_otlp_rx_proto, tls),                                 \
		 .doc = "Serve TLS with cert_file and key_file; client_ca_file requires client "   \
			"certificates (mTLS)"},                                                    \
		{.name = "max_recv_msg_size_mib",                                                  \
		 .type = PF_OPT_INT,                                                               \
		 .def = "64",                                                                      \
		 .min = 1,                                                                         \
		 .max = 2047,                                                                      \
		 .offset = offsetof(struct pf_otlp_rx_proto, max_recv_msg_size_mib),               \
		 .doc = "Largest request in MiB, after decompression (larger: 413 / "              \
			"RESOURCE_EXHAUSTED)"},                                                    \
		{.name = "max_concurrent_requests",                                                \
		 .type = PF_OPT_INT,                                                               \
		 .def = "16",                                                                      \
		 .min = 1,                                                                         \
		 .max = 1024,                                                                      \
		 .offset = offsetof(struct pf_otlp_rx_proto, max_concurrent_requests),             \
		 .doc = "Requests handled at once (gRPC calls; HTTP bodies held, beyond: 503); "   \
			"bounds memory"},                                                          \
		{.name = "include_metadata",                                                       \
		 .type = PF_OPT_BOOL,                                                              \
		 .def = "false",                                                                   \
		 .offset = offsetof(struct pf_otlp_rx_proto, include_metadata),                    \
		 .doc = "Pass the request's metadata/headers downstream as client metadata "       \
			"(for aggregate metadata_keys, headers_setter from_context)"},             \
	{                                                                                          \
		.name = "auth", .type = PF_OPT_SECTION, .section = pf_auth_options,                \
		.offset = offsetof(struct pf_otlp_rx_proto, auth),                                 \
		.doc = "Client authentication: authenticator: bearertokenauth[/name]"              \
	}

static const struct pf_option grpc_options[] = {PROTO_ROWS("localhost:4317"), PF_OPTION_END};
static const struct pf_option http_options[] = {
	PROTO_ROWS("localhost:4318"),
	PF_HTTP_SERVER_LIMIT_ROWS(struct pf_otlp_rx_proto, http_limits),
	PF_OPTION_END,
};

static const struct pf_option protocol_options[] = {
	{.name = "grpc",
	 .type = PF_OPT_SECTION,
	 .section = grpc_options,
	 .flags = PF_OPT_PRESENCE,
	 .offset = offsetof(struct pf_otlp_rx_config, protocols.grpc) -
		   offsetof(struct pf_otlp_rx_config, protocols),
	 .doc = "OTLP/gRPC: ProfilesService/Export (omit to turn it off)"},
	{.name = "http",
	 .type = PF_OPT_SECTION,
	 .section = http_options,
	 .flags = PF_OPT_PRESENCE,
	 .offset = offsetof(struct pf_otlp_rx_config, protocols.http) -
		   offsetof(struct pf_otlp_rx_config, protocols),
	 .doc = "OTLP/HTTP: POST /v1development/profiles, protobuf or JSON (omit to turn it off)"},
	PF_OPTION_END,
};

static const struct pf_option otlp_options[] = {
	{.name = "protocols",
	 .type = PF_OPT_SECTION,
	 .section = protocol_options,
	 .offset = offsetof(struct pf_otlp_rx_config, protocols),
	 .doc = "The protocols served; at least one"},
	{.name = "decode_memory_limit_mib",
	 .type = PF_OPT_INT,
	 .def = "256",
	 .min = 1,
	 .max = 1 << 20,
	 .offset = offsetof(struct pf_otlp_rx_config, decode_memory_limit_mib),
	 .doc = "Memory in MiB that requests being decoded may hold at once over both protocols: "
		"their (decompressed) bodies and what decoding allocates (beyond: 503 / "
		"UNAVAILABLE, retry; a request that alone needs more: 413 / RESOURCE_EXHAUSTED)"},
	PF_OPTION_END,
};

static int validate_proto(const struct pf_otlp_rx_proto *p, const char *name, struct pf_error *err)
{
	struct pf_error e = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];

	if (!p->present)
		return 0;
	if (!p->endpoint || !p->endpoint[0])
		return pf_error_set(err, "", "protocols.%s.endpoint must not be empty", name);
	if (pf_tls_validate_server(&p->tls, &e) < 0)
		return pf_error_set(err, "", "protocols.%s.%s", name,
				    pf_error_str(&e, buf, sizeof(buf)));
	return 0;
}

static int otlp_validate(const void *config, struct pf_error *err)
{
	const struct pf_otlp_rx_config *cfg = config;

	if (!cfg->protocols.grpc.present && !cfg->protocols.http.present)
		return pf_error_set(err, "",
				    "at least one of protocols.grpc and protocols.http is "
				    "required");
	if (validate_proto(&cfg->protocols.grpc, "grpc", err) < 0 ||
	    validate_proto(&cfg->protocols.http, "http", err) < 0)
		return -EINVAL;
	return 0;
}

size_t pf_otlp_rx_max_size(const struct pf_otlp_rx_proto *p)
{
	return (size_t)p->max_recv_msg_size_mib << 20;
}

int pf_otlp_rx_decode(const void *body, size_t size, size_t max_size, bool json,
		      struct pf_budget *budget, struct pf_batch **out, struct pf_error *err)
{
	struct pf_batch *b = pf_batch_new();
	int n;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	n = json ? pf_otlp_decode_json(b, body, size, max_size, budget, err)
		 : pf_otlp_decode(b, body, size, max_size, budget, err);
	if (n <= 0) {
		pf_batch_unref(b);
		return n;
	}
	*out = b;
	return n;
}

/* A request whose answer waits for the exporters' queues. */
struct pending {
	pf_otlp_rx_answer_fn answer;
	void *arg;
};

/* Maps the pipeline's answer to a request's outcome. */
static void emitted(int rc, struct pf_otlp_rx_result *res)
{
	res->outcome = PF_OTLP_RX_OK;
	res->message[0] = '\0';
	if (rc == PF_BUSY) {
		res->outcome = PF_OTLP_RX_BUSY;
		snprintf(res->message, sizeof(res->message), "pipeline is busy; retry in %d s",
			 PF_OTLP_RX_RETRY_AFTER_S);
	} else if (rc == -ENOMEM || rc == -ESHUTDOWN) {
		res->outcome = PF_OTLP_RX_BUSY;
		snprintf(res->message, sizeof(res->message), "pipeline: %s; retry in %d s",
			 strerror(-rc), PF_OTLP_RX_RETRY_AFTER_S);
	} else if (rc < 0) {
		res->outcome = PF_OTLP_RX_INTERNAL;
		snprintf(res->message, sizeof(res->message), "pipeline error: %s", strerror(-rc));
	}
}

static void on_acked(void *arg, int rc)
{
	struct pending *p = arg;
	struct pf_otlp_rx_result res;

	emitted(rc, &res);
	p->answer(p->arg, &res);
	free(p);
}

bool pf_otlp_rx_deliver(struct pf_otlp_rx *r, struct pf_batch *b, int n, const struct pf_error *err,
			size_t max_size, struct pf_otlp_rx_result *res, pf_otlp_rx_answer_fn answer,
			void *arg)
{
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];
	struct pending *p;
	bool now = true;
	int rc;

	res->outcome = PF_OTLP_RX_OK;
	res->message[0] = '\0';
	if (n == -EFBIG) {
		res->outcome = PF_OTLP_RX_TOO_BIG;
		if (pf_error_isset(err))
			snprintf(res->message, sizeof(res->message), "%s",
				 pf_error_str(err, buf, sizeof(buf)));
		else
			snprintf(res->message, sizeof(res->message),
				 "request larger than max_recv_msg_size_mib (%zu bytes)", max_size);
		pf_component_count(r->c, PF_CTR_INPUT_ERRORS, 1);
	} else if (n == -EBUSY) {
		res->outcome = PF_OTLP_RX_BUSY;
		snprintf(res->message, sizeof(res->message), "%s",
			 pf_error_str(err, buf, sizeof(buf)));
	} else if (n == -ENOMEM) {
		/* Memory pressure is retryable for the client. */
		res->outcome = PF_OTLP_RX_BUSY;
		snprintf(res->message, sizeof(res->message), "out of memory; retry later");
	} else if (n < 0) {
		res->outcome = PF_OTLP_RX_INVALID;
		snprintf(res->message, sizeof(res->message), "%s",
			 pf_error_str(err, buf, sizeof(buf)));
		pf_component_count(r->c, PF_CTR_INPUT_ERRORS, 1);
		pf_log(lg(r), PF_LOG_DEBUG, "refused a request: %s", res->message);
	} else if (n > 0 && r->stopping) {
		res->outcome = PF_OTLP_RX_BUSY;
		snprintf(res->message, sizeof(res->message), "receiver is shutting down");
	} else if (n > 0) {
		/* n == 0: an empty request is a success with nothing to pass on. */
		p = calloc(1, sizeof(*p));
		rc = p ? pf_component_emit_acked(r->c, b, on_acked, p) : -ENOMEM;
		if (rc == PF_PENDING) {
			p->answer = answer;
			p->arg = arg;
			now = false;
		} else {
			free(p);
			emitted(rc, res);
		}
	}
	if (b)
		pf_batch_unref(b);
	return now;
}

bool pf_otlp_rx_export(struct pf_otlp_rx *r, const void *body, size_t size, size_t max_size,
		       bool json, struct pf_metadata *md, struct pf_otlp_rx_result *res,
		       pf_otlp_rx_answer_fn answer, void *arg)
{
	struct pf_error err = {0};
	struct pf_batch *b = NULL;
	int n;

	if (r->stopping) {
		pf_otlp_rx_attach(NULL, md);
		res->outcome = PF_OTLP_RX_BUSY;
		snprintf(res->message, sizeof(res->message), "receiver is shutting down");
		return true;
	}
	n = pf_otlp_rx_decode(body, size, max_size, json, &r->budget, &b, &err);
	pf_otlp_rx_attach(b, md);
	return pf_otlp_rx_deliver(r, b, n, &err, max_size, res, answer, arg);
}

static void *otlp_create(struct pf_component *c, const void *config)
{
	struct pf_otlp_rx *r = calloc(1, sizeof(*r));

	if (!r) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		return NULL;
	}
	r->c = c;
	r->cfg = *(const struct pf_otlp_rx_config *)config;
	pf_budget_init(&r->budget, (size_t)r->cfg.decode_memory_limit_mib << 20);
	if (r->cfg.protocols.grpc.present && r->cfg.protocols.http.present)
		pf_component_set_transport(c, "grpc+http");
	else
		pf_component_set_transport(c, r->cfg.protocols.grpc.present ? "grpc" : "http");
	return r;
}

static int otlp_start(void *inst)
{
	struct pf_otlp_rx *r = inst;
	int rc;

	if (pf_auth_server_find(r->c, &r->cfg.protocols.grpc.auth, &r->grpc_auth) < 0 ||
	    pf_auth_server_find(r->c, &r->cfg.protocols.http.auth, &r->http_auth) < 0)
		return -EINVAL;
	if (r->cfg.protocols.grpc.present && (rc = pf_otlp_rx_grpc_start(r)) < 0)
		return rc;
	if (r->cfg.protocols.http.present && (rc = pf_otlp_rx_http_start(r)) < 0)
		return rc; /* shutdown closes the gRPC server */
	return 0;
}

static void finish(struct pf_otlp_rx *r)
{
	pf_done_fn done = r->done;
	struct pf_component *c = r->c;

	free(r);
	if (done)
		done(c);
}

static void on_server_closed(void *arg)
{
	struct pf_otlp_rx *r = arg;

	if (--r->open == 0)
		finish(r);
}

static void otlp_shutdown(void *inst, pf_done_fn done)
{
	struct pf_otlp_rx *r = inst;
	struct pf_grpc_server *g = r->grpc;
	struct pf_http_server *h = r->http;

	if (r->stopping)
		return;
	r->stopping = true;
	r->done = done;
	r->open = 1 + (g != NULL) + (h != NULL);
	r->grpc = NULL;
	r->http = NULL;
	if (g)
		pf_grpc_server_close(g, on_server_closed, r);
	if (h)
		pf_http_server_close(h, on_server_closed, r);
	on_server_closed(r);
}

const struct pf_component_def pf_receiver_otlp = {
	.kind = PF_RECEIVER,
	.type = "otlp",
	.doc = "Receive OTLP profiles (v1development, proto v1.10+) over gRPC and HTTP, "
	       "protobuf or JSON: gateway mode.",
	.stability = "alpha",
	.options = otlp_options,
	.config_size = sizeof(struct pf_otlp_rx_config),
	.validate = otlp_validate,
	.create = otlp_create,
	.start = otlp_start,
	.shutdown = otlp_shutdown,
};
