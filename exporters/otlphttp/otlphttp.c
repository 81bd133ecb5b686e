/* SPDX-License-Identifier: Apache-2.0 */
/* The otlphttp exporter: OTLP profiles POSTed as protobuf over HTTP (libcurl on the loop). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sending/otlp_export.h"
#include "formats/otlp/otlp.h"
#include "model/batch.h"
#include "pipeline/auth.h"
#include "core/component.h"
#include "transport/http_client.h"
#include "sending/outcome.h"

#define PROFILES_PATH "/v1development/profiles"
#define MAX_RESPONSE  ((size_t)4 << 20)

struct otlphttp_config {
	struct pf_otlpexp_config common;
	char *profiles_endpoint;
	struct pf_auth_config auth;
};

struct otlphttp_exporter;

/* One request on the wire. */
struct otlphttp_send {
	struct otlphttp_exporter *e;
	struct pf_queue_item *item;
	struct pf_http_call *call;
	struct pf_otlpexp_payload hdr;
};

struct otlphttp_exporter {
	struct pf_otlpexp_base base; /* component, queue, encoder, lifecycle */
	const struct otlphttp_config *cfg;
	struct pf_http_client *client;
	char *url;
	char **lines; /* request header lines: user headers, then ours */
	size_t n_lines;
	struct pf_auth_client auth; /* auth.authenticator's, ops NULL for none */
};

static const struct pf_option otlphttp_options[] = {
	PF_OTLPEXP_OPTIONS(struct otlphttp_config,
			   "Base URL; requests go to {endpoint}/v1development/profiles", "30s"),
	{.name = "profiles_endpoint",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct otlphttp_config, profiles_endpoint),
	 .doc = "Full URL for profiles, instead of {endpoint}/v1development/profiles."},
	{.name = "auth",
	 .type = PF_OPT_SECTION,
	 .section = pf_auth_options,
	 .offset = offsetof(struct otlphttp_config, auth),
	 .doc = "Request headers from an authenticator extension: authenticator: "
		"headers_setter[/name]"},
	PF_OPTION_END,
};

static const char *const otlphttp_aliases[] = {"otlp_http", NULL};

static const struct pf_logger *lg(const struct otlphttp_exporter *e)
{
	return pf_component_logger(e->base.c);
}

static bool is_url(const char *s)
{
	return s && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) &&
	       strlen(s) > 8;
}

static int otlphttp_validate(const void *config, struct pf_error *err)
{
	const struct otlphttp_config *cfg = config;
	int ret = pf_otlpexp_validate(&cfg->common, err);

	if (ret < 0)
		return ret;
	char shown[PF_HTTP_REDACTED_MAX];

	if (!is_url(cfg->common.endpoint))
		return pf_error_set(err, "", "endpoint \"%s\" must be an http:// or https:// URL",
				    pf_http_redact_url(cfg->common.endpoint, shown, sizeof(shown)));
	if (cfg->profiles_endpoint && !is_url(cfg->profiles_endpoint))
		return pf_error_set(
			err, "", "profiles_endpoint \"%s\" must be an http:// or https:// URL",
			pf_http_redact_url(cfg->profiles_endpoint, shown, sizeof(shown)));
	if (cfg->common.tls.server_name_override)
		return pf_error_set(err, "", "tls.server_name_override is not supported over HTTP");
	return 0;
}

/* The server's reason: a google.rpc.Status body, or the body as text (E5). */
static void error_text(const struct pf_http_response *resp, char *out, size_t size,
		       int64_t *delay_ms)
{
	int code = 0;

	*delay_ms = -1;
	out[0] = '\0';
	if (resp->body_size == 0)
		return;
	if (pf_otlp_decode_status(resp->body, resp->body_size, &code, out, size, delay_ms) == 0 &&
	    out[0])
		return;
	*delay_ms = -1;
	pf_otlpexp_clean_text(resp->body, resp->body_size, out, size);
}

/* pf_queue_call_cancel_fn for an HTTP call (its completion runs at once). */
static void cancel_call(void *call)
{
	pf_http_cancel(call);
}

static void on_response(const struct pf_http_response *resp, void *arg)
{
	struct otlphttp_send *s = arg;
	struct otlphttp_exporter *e = s->e;
	struct pf_send_result out = {.status = PF_SEND_OK};
	char text[512], reason[600];
	int64_t delay_ms = -1;

	if (resp->error) {
		/* no response: connection refused or lost, timeout, TLS */
		snprintf(reason, sizeof(reason), "%s", resp->error_text);
		out.reason = reason;
		pf_outcome_transport(resp->error, &out);
		pf_log(lg(e), PF_LOG_DEBUG, "no response: %s", reason);
		goto out_done;
	}
	if (resp->status >= 200 && resp->status < 300) {
		const char *ct = pf_http_header_get(resp, "Content-Type");
		bool json = ct && strstr(ct, "json");

		out.rejected =
			pf_otlpexp_partial(e->base.c, &s->hdr, resp->body, resp->body_size, json);
		goto out_done;
	}
	error_text(resp, text, sizeof(text), &delay_ms);
	snprintf(reason, sizeof(reason), "HTTP %ld%s%s", resp->status, text[0] ? ": " : "", text);
	out.reason = reason;
	pf_outcome_http(PF_OUTCOME_OTLP, resp->status, pf_http_header_get(resp, "Retry-After"),
			delay_ms > 0 ? delay_ms * 1000000 : 0, (int64_t)time(NULL), &out);
	if (out.status == PF_SEND_RETRY)
		pf_log(lg(e), PF_LOG_DEBUG, "retryable: %s", reason);
	else
		pf_log(lg(e), PF_LOG_DEBUG, "%" PRIu64 " samples dropped, not retryable: %s",
		       s->hdr.samples, reason);
out_done:
	pf_queue_done(s->item, &out);
	free(s);
}

static void otlphttp_send(void *arg, struct pf_queue_item *item, const void *data, size_t size)
{
	struct otlphttp_exporter *e = arg;
	const struct pf_otlpexp_config *cfg = &e->cfg->common;
	struct pf_send_result fail = {.status = PF_SEND_RETRY};
	struct otlphttp_send *s = calloc(1, sizeof(*s));
	struct pf_http_request req = {
		.method = "POST",
		.url = e->url,
		.timeout_ms = (uint64_t)(cfg->timeout / 1000000),
		.max_body = MAX_RESPONSE,
		.accept_encoding = true,
		.tls = &cfg->tls,
	};
	const uint8_t *wire;
	size_t n_user = e->n_lines - 2, n_set = 0, skip = 0;
	char **set = NULL;
	const char **lines = NULL;
	int ret;

	if (!s) {
		fail.reason = "out of memory";
		pf_queue_done(item, &fail);
		return;
	}
	s->e = e;
	s->item = item;
	pf_otlpexp_payload(data, size, &s->hdr, &wire, &req.body_size);
	/* An authenticator's headers for the batch come before the request. */
	ret = pf_auth_client_headers(&e->auth, wire, req.body_size, (const char *const *)e->lines,
				     n_user, &set, &n_set, &skip);
	if (ret == 0 && set && !(lines = calloc(n_set + 2, sizeof(*lines))))
		ret = -ENOMEM;
	if (ret < 0) {
		fail.status = ret == -EINVAL ? PF_SEND_PERMANENT : PF_SEND_RETRY;
		fail.reason = ret == -EINVAL ? "corrupt stored headers" : "out of memory";
		pf_header_lines_free(set, n_set);
		free(s);
		pf_queue_done(item, &fail);
		return;
	}
	req.body = wire + skip;
	req.body_size -= skip;
	req.headers = (const char *const *)e->lines;
	/* the last line is Content-Encoding, only for compressed bodies */
	req.n_headers = e->n_lines - ((s->hdr.flags & PF_OTLPEXP_GZIPPED) ? 0 : 1);
	if (set) {
		memcpy(lines, set, n_set * sizeof(*lines));
		memcpy(lines + n_set, e->lines + n_user, 2 * sizeof(*lines));
		req.headers = lines;
		req.n_headers = n_set + ((s->hdr.flags & PF_OTLPEXP_GZIPPED) ? 2 : 1);
	}
	ret = pf_http_send(e->client, &req, on_response, s, &s->call);
	free(lines); /* the request copied them */
	pf_header_lines_free(set, n_set);
	if (ret < 0) {
		fail.reason = strerror(-ret);
		free(s);
		pf_queue_done(item, &fail);
		return;
	}
	pf_queue_item_cancel_with(item, cancel_call, s->call);
}

static void otlphttp_destroy(void *exporter)
{
	struct otlphttp_exporter *e = exporter;

	if (!e)
		return;
	pf_otlpexp_encoder_destroy(e->base.enc);
	pf_queue_destroy(e->base.queue);
	for (size_t i = 0; i < e->n_lines; i++)
		free(e->lines[i]);
	free(e->lines);
	free(e->url);
	free(e);
}

static char *make_url(const struct otlphttp_config *cfg)
{
	const char *base = cfg->common.endpoint;
	size_t len = strlen(base);
	char *url;

	if (cfg->profiles_endpoint)
		return strdup(cfg->profiles_endpoint);
	while (len > 0 && base[len - 1] == '/')
		len--;
	url = malloc(len + sizeof(PROFILES_PATH));
	if (url) {
		memcpy(url, base, len);
		memcpy(url + len, PROFILES_PATH, sizeof(PROFILES_PATH));
	}
	return url;
}

static int make_lines(struct otlphttp_exporter *e)
{
	const struct pf_string_map *h = &e->cfg->common.headers;

	e->lines = calloc(h->n + 2, sizeof(*e->lines));
	if (!e->lines)
		return -ENOMEM;
	for (size_t i = 0; i < h->n; i++) {
		if (strcasecmp(h->keys[i], "Content-Type") == 0 ||
		    strcasecmp(h->keys[i], "Content-Encoding") == 0)
			continue; /* ours are exact (E5) */
		if (asprintf(&e->lines[e->n_lines], "%s: %s", h->keys[i],
			     h->values[i] ? h->values[i] : "") < 0) {
			e->lines[e->n_lines] = NULL;
			return -ENOMEM;
		}
		e->n_lines++;
	}
	e->lines[e->n_lines] = strdup("Content-Type: application/x-protobuf");
	if (!e->lines[e->n_lines])
		return -ENOMEM;
	e->n_lines++;
	e->lines[e->n_lines] = strdup("Content-Encoding: gzip");
	if (!e->lines[e->n_lines])
		return -ENOMEM;
	e->n_lines++;
	return 0;
}

/* The base's close_client: closes the HTTP client, if it was made. */
static void otlphttp_close_client(void *exporter, void (*closed)(void *arg), void *arg)
{
	struct otlphttp_exporter *e = exporter;

	if (e->client)
		pf_http_client_close(e->client, closed, arg);
	else
		closed(arg);
}

static void *otlphttp_create(struct pf_component *c, const void *config)
{
	const struct otlphttp_config *cfg = config;
	struct pf_queue_ops ops = {.send = otlphttp_send};
	struct otlphttp_exporter *e = calloc(1, sizeof(*e));

	if (!e) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		return NULL;
	}
	e->base.c = c;
	e->base.exporter = e;
	e->base.close_client = otlphttp_close_client;
	e->base.destroy = otlphttp_destroy;
	e->cfg = cfg;
	e->url = make_url(cfg);
	if (!e->url || make_lines(e) < 0) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		goto out_destroy;
	}
	ops.arg = e;
	e->base.queue = pf_queue_create(c, &cfg->common.queue, &cfg->common.retry, &ops);
	if (!e->base.queue)
		goto out_destroy;
	e->base.enc = pf_otlpexp_encoder_new(c, e->base.queue, &cfg->common,
					     cfg->common.compression == PF_OTLPEXP_GZIP);
	if (!e->base.enc) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		goto out_destroy;
	}
	if (cfg->auth.authenticator)
		pf_otlpexp_encoder_prefix(e->base.enc, pf_auth_client_prefix, &e->auth);
	return e;

out_destroy:
	otlphttp_destroy(e);
	return NULL;
}

static int otlphttp_start(void *inst)
{
	struct otlphttp_exporter *e = inst;
	int ret;

	e->client = pf_http_client_new(pf_component_loop(e->base.c));
	if (!e->client) {
		pf_log(lg(e), PF_LOG_ERROR, "cannot create an HTTP client");
		return -ENOMEM;
	}
	if (pf_auth_client_find(e->base.c, &e->cfg->auth, &e->auth) < 0)
		return -EINVAL;
	ret = pf_queue_start(e->base.queue, pf_component_loop(e->base.c));
	if (ret < 0)
		return ret;
	char shown[PF_HTTP_REDACTED_MAX];

	pf_log(lg(e), PF_LOG_INFO, "sending to %s",
	       pf_http_redact_url(e->url, shown, sizeof(shown)));
	return 0;
}

static int otlphttp_consume(void *inst, struct pf_batch *batch)
{
	struct otlphttp_exporter *e = inst;

	return pf_otlpexp_consume(&e->base, batch);
}

static void otlphttp_shutdown(void *inst, pf_done_fn done)
{
	struct otlphttp_exporter *e = inst;

	pf_otlpexp_shutdown(&e->base, done);
}

const struct pf_component_def pf_exporter_otlphttp = {
	.kind = PF_EXPORTER,
	.type = "otlphttp",
	.aliases = otlphttp_aliases,
	.doc = "POST OTLP profiles as protobuf over HTTP (Content-Type application/x-protobuf).",
	.stability = "alpha",
	.options = otlphttp_options,
	.config_size = sizeof(struct otlphttp_config),
	.validate = otlphttp_validate,
	.create = otlphttp_create,
	.start = otlphttp_start,
	.consume = otlphttp_consume,
	.shutdown = otlphttp_shutdown,
};
