/* SPDX-License-Identifier: Apache-2.0 */
/* The otlp exporter: OTLP profiles over gRPC (grpc core), through the shared sending queue. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sending/otlp_export.h"
#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "model/batch.h"
#include "pipeline/auth.h"
#include "core/component.h"
#include "transport/grpc_client.h"
#include "sending/outcome.h"

#define EXPORT_METHOD "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"

struct otlp_config {
	struct pf_otlpexp_config common;
	struct pf_auth_config auth;
};

struct otlp_exporter;

/* One request on the wire. */
struct otlp_send {
	struct otlp_exporter *e;
	struct pf_queue_item *item;
	struct pf_grpc_call *call;
	struct pf_otlpexp_payload hdr;
};

struct otlp_exporter {
	struct pf_otlpexp_base base; /* component, queue, encoder, lifecycle */
	const struct otlp_config *cfg;
	struct pf_grpc_client *client;
	struct pf_grpc_metadata *md;
	char **md_lines;	    /* the same as "key: value", for an authenticator */
	struct pf_auth_client auth; /* auth.authenticator's, ops NULL for none */
	const char *target;
	bool started;
};

static const struct pf_option otlp_options[] = {
	PF_OTLPEXP_OPTIONS(struct otlp_config, "gRPC server, host:port (e.g. gateway:4317)", "5s"),
	{.name = "auth",
	 .type = PF_OPT_SECTION,
	 .section = pf_auth_options,
	 .offset = offsetof(struct otlp_config, auth),
	 .doc = "Request metadata from an authenticator extension: authenticator: "
		"headers_setter[/name]"},
	PF_OPTION_END,
};

static const char *const otlp_aliases[] = {"otlp_grpc", NULL};

static const struct pf_logger *lg(const struct otlp_exporter *e)
{
	return pf_component_logger(e->base.c);
}

/* grpc takes "host:port"; a URL's scheme is accepted and dropped. */
static const char *grpc_target(const char *endpoint)
{
	if (strncmp(endpoint, "http://", 7) == 0)
		return endpoint + 7;
	if (strncmp(endpoint, "https://", 8) == 0)
		return endpoint + 8;
	return endpoint;
}

static int otlp_validate(const void *config, struct pf_error *err)
{
	const struct otlp_config *cfg = config;
	int ret = pf_otlpexp_validate(&cfg->common, err);

	if (ret < 0)
		return ret;
	if (!grpc_target(cfg->common.endpoint)[0])
		return pf_error_set(err, "", "endpoint has no host:port");
	if (strncmp(cfg->common.endpoint, "http://", 7) == 0 && !cfg->common.tls.insecure)
		return pf_error_set(err, "", "endpoint is http:// but tls.insecure is false");
	return 0;
}

/* pf_queue_call_cancel_fn for a gRPC call. */
static void cancel_call(void *call)
{
	pf_grpc_cancel(call);
}

static void on_reply(const struct pf_grpc_result *res, void *arg)
{
	struct otlp_send *s = arg;
	struct otlp_exporter *e = s->e;
	struct pf_send_result out = {.status = PF_SEND_OK};
	char message[512], reason[600];
	int64_t delay_ms = -1;
	int code = res->code;

	if (code == PF_GRPC_OK) {
		out.rejected =
			pf_otlpexp_partial(e->base.c, &s->hdr, res->body, res->body_size, false);
		pf_queue_done(s->item, &out);
		free(s);
		return;
	}
	snprintf(message, sizeof(message), "%s", res->message);
	if (res->details_size) {
		int dcode = 0;
		char dmsg[512] = "";

		if (pf_otlp_decode_status(res->details, res->details_size, &dcode, dmsg,
					  sizeof(dmsg), &delay_ms) < 0)
			delay_ms = -1;
		if (!message[0] && dmsg[0])
			snprintf(message, sizeof(message), "%s", dmsg);
	}
	snprintf(reason, sizeof(reason), "%s%s%s", pf_grpc_code_name(code), message[0] ? ": " : "",
		 message);
	out.reason = reason;
	pf_outcome_grpc(code, delay_ms >= 0 ? delay_ms * 1000000 : -1, &out);
	if (out.status == PF_SEND_RETRY) {
		pf_log(lg(e), PF_LOG_DEBUG, "retryable: %s", reason);
	} else {
		pf_log(lg(e), PF_LOG_DEBUG, "%" PRIu64 " samples dropped, not retryable: %s",
		       s->hdr.samples, reason);
	}
	pf_queue_done(s->item, &out);
	free(s);
}

static void otlp_send(void *arg, struct pf_queue_item *item, const void *data, size_t size)
{
	struct otlp_exporter *e = arg;
	struct pf_send_result fail = {.status = PF_SEND_RETRY};
	const struct pf_otlpexp_config *cfg = &e->cfg->common;
	struct otlp_send *s = calloc(1, sizeof(*s));
	const uint8_t *wire;
	size_t wire_size, n_md = cfg->headers.n, n_set = 0, skip = 0;
	struct pf_grpc_metadata *md = e->md;
	char **set = NULL;
	int ret;

	if (!s) {
		fail.reason = "out of memory";
		pf_queue_done(item, &fail);
		return;
	}
	s->e = e;
	s->item = item;
	pf_otlpexp_payload(data, size, &s->hdr, &wire, &wire_size);
	if (s->hdr.flags & PF_OTLPEXP_GZIPPED) {
		/* written by another exporter type into this directory */
		fail.status = PF_SEND_PERMANENT;
		fail.reason = "stored request was compressed for HTTP";
		free(s);
		pf_queue_done(item, &fail);
		return;
	}
	/* An authenticator's metadata for the batch come before the request. */
	ret = pf_auth_client_headers(&e->auth, wire, wire_size, (const char *const *)e->md_lines,
				     n_md, &set, &n_set, &skip);
	if (ret == 0 && set && !(md = calloc(n_set + 1, sizeof(*md))))
		ret = -ENOMEM;
	if (ret < 0) {
		fail.status = ret == -EINVAL ? PF_SEND_PERMANENT : PF_SEND_RETRY;
		fail.reason = ret == -EINVAL ? "corrupt stored headers" : "out of memory";
		pf_header_lines_free(set, n_set);
		free(s);
		pf_queue_done(item, &fail);
		return;
	}
	for (size_t i = 0; set && i < n_set; i++) {
		char *colon = strchr(set[i], ':'); /* lines are "key: value" */

		*colon = '\0';
		md[i].key = set[i];
		md[i].value = colon + 2;
	}
	if (set)
		n_md = n_set;
	ret = pf_grpc_call(e->client, EXPORT_METHOD, wire + skip, wire_size - skip, md, n_md,
			   (uint64_t)(cfg->timeout / 1000000), on_reply, s, &s->call);
	if (set) {
		free(md); /* the call copied them */
		pf_header_lines_free(set, n_set);
	}
	if (ret < 0) {
		fail.reason = strerror(-ret);
		free(s);
		pf_queue_done(item, &fail);
		return;
	}
	pf_queue_item_cancel_with(item, cancel_call, s->call);
}

static void otlp_destroy(void *exporter)
{
	struct otlp_exporter *e = exporter;

	if (!e)
		return;
	pf_otlpexp_encoder_destroy(e->base.enc);
	pf_queue_destroy(e->base.queue);
	pf_header_lines_free(e->md_lines, e->cfg->common.headers.n);
	free(e->md);
	free(e);
}

/* The base's close_client: closes the gRPC client, if it was made. */
static void otlp_close_client(void *exporter, void (*closed)(void *arg), void *arg)
{
	struct otlp_exporter *e = exporter;

	if (e->client)
		pf_grpc_client_close(e->client, closed, arg);
	else
		closed(arg);
}

static void *otlp_create(struct pf_component *c, const void *config)
{
	const struct otlp_config *cfg = config;
	struct pf_queue_ops ops = {.send = otlp_send};
	struct otlp_exporter *e = calloc(1, sizeof(*e));

	if (!e) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		return NULL;
	}
	e->base.c = c;
	e->base.exporter = e;
	e->base.close_client = otlp_close_client;
	e->base.destroy = otlp_destroy;
	e->cfg = cfg;
	e->target = grpc_target(cfg->common.endpoint);
	e->md = calloc(cfg->common.headers.n + 1, sizeof(*e->md));
	e->md_lines = calloc(cfg->common.headers.n + 1, sizeof(*e->md_lines));
	if (!e->md || !e->md_lines)
		goto out_destroy;
	for (size_t i = 0; i < cfg->common.headers.n; i++) {
		e->md[i].key = cfg->common.headers.keys[i];
		e->md[i].value = cfg->common.headers.values[i];
		if (asprintf(&e->md_lines[i], "%s: %s", e->md[i].key,
			     e->md[i].value ? e->md[i].value : "") < 0) {
			e->md_lines[i] = NULL;
			goto out_destroy;
		}
	}
	ops.arg = e;
	e->base.queue = pf_queue_create(c, &cfg->common.queue, &cfg->common.retry, &ops);
	if (!e->base.queue)
		goto out_destroy;
	e->base.enc = pf_otlpexp_encoder_new(c, e->base.queue, &cfg->common, false);
	if (!e->base.enc) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		goto out_destroy;
	}
	if (cfg->auth.authenticator)
		pf_otlpexp_encoder_prefix(e->base.enc, pf_auth_client_prefix, &e->auth);
	return e;

out_destroy:
	otlp_destroy(e);
	return NULL;
}

/* Request messages are gzipped by libdeflate, 2-3x faster than core's zlib. */
static int gzip_message(const void *data, size_t size, uint8_t **out, size_t *out_size)
{
	return pf_gzip_compress(data, size, PF_GZIP_DEFAULT, out, out_size);
}

static int otlp_start(void *inst)
{
	struct otlp_exporter *e = inst;
	const struct pf_otlpexp_config *cfg = &e->cfg->common;
	struct pf_grpc_client_config gc = {
		.target = e->target,
		.tls = &cfg->tls,
		.gzip = cfg->compression == PF_OTLPEXP_GZIP,
		.gzip_fn = gzip_message,
	};
	struct pf_error err = {0};
	int ret;

	e->client = pf_grpc_client_new(pf_component_loop(e->base.c), &gc, &err);
	if (!e->client) {
		pf_log(lg(e), PF_LOG_ERROR, "%s", err.msg);
		return -EINVAL;
	}
	if (pf_auth_client_find(e->base.c, &e->cfg->auth, &e->auth) < 0)
		return -EINVAL;
	ret = pf_queue_start(e->base.queue, pf_component_loop(e->base.c));
	if (ret < 0)
		return ret;
	e->started = true;
	if (cfg->tls.min_version == PF_TLS_1_3 && !cfg->tls.insecure)
		pf_log(lg(e), PF_LOG_WARN, "tls.min_version 1.3 is not enforced over gRPC");
	pf_log(lg(e), PF_LOG_INFO, "sending to %s over gRPC%s", e->target,
	       cfg->tls.insecure ? " (plaintext)" : " with TLS");
	return 0;
}

static int otlp_consume(void *inst, struct pf_batch *batch)
{
	struct otlp_exporter *e = inst;

	return pf_otlpexp_consume(&e->base, batch);
}

static void otlp_shutdown(void *inst, pf_done_fn done)
{
	struct otlp_exporter *e = inst;

	pf_otlpexp_shutdown(&e->base, done);
}

const struct pf_component_def pf_exporter_otlp = {
	.kind = PF_EXPORTER,
	.type = "otlp",
	.aliases = otlp_aliases,
	.doc = "Send OTLP profiles over gRPC (to a collector, Pyroscope or a proflow gateway).",
	.stability = "alpha",
	.options = otlp_options,
	.config_size = sizeof(struct otlp_config),
	.validate = otlp_validate,
	.create = otlp_create,
	.start = otlp_start,
	.consume = otlp_consume,
	.shutdown = otlp_shutdown,
};
