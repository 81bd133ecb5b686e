// SPDX-License-Identifier: Apache-2.0
/* The pyroscope exporter: Push API (Connect) or /ingest, through the shared sending queue and HTTP client. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "pipeline/auth.h"
#include "core/component.h"
#include "transport/http_client.h"
#include "sending/outcome.h"
#include "pyroscope.h"

#define PUSH_PATH   "/push.v1.PusherService/Push"
#define INGEST_PATH "/ingest"
#define REASON_MAX  300
#define MAX_HEADERS 64

static const char *const api_choices[] = {"push", "ingest", NULL};

static const struct pf_option auth_options[] = {
	{.name = "username",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_pyroscope_auth, username),
	 .doc = "Basic auth user"},
	{.name = "password",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_pyroscope_auth, password),
	 .doc = "Basic auth password"},
	PF_OPTION_END,
};

static const struct pf_option pyroscope_options[] = {
	{.name = "endpoint",
	 .type = PF_OPT_STRING,
	 .def = "http://localhost:4040",
	 .offset = offsetof(struct pf_pyroscope_config, endpoint),
	 .doc = "Pyroscope's base URL (http:// or https://)"},
	{.name = "api",
	 .type = PF_OPT_ENUM,
	 .def = "push",
	 .choices = api_choices,
	 .offset = offsetof(struct pf_pyroscope_config, api),
	 .doc = "push: /push.v1.PusherService/Push (Connect); ingest: the /ingest endpoint"},
	{.name = "basic_auth",
	 .type = PF_OPT_SECTION,
	 .section = auth_options,
	 .offset = offsetof(struct pf_pyroscope_config, basic_auth),
	 .doc = "HTTP basic authentication"},
	{.name = "bearer_token",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_pyroscope_config, bearer_token),
	 .doc = "Sent as Authorization: Bearer <token>"},
	{.name = "tenant_id",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_pyroscope_config, tenant_id),
	 .doc = "Sent as X-Scope-OrgID (multi-tenant Pyroscope)"},
	{.name = "headers",
	 .type = PF_OPT_MAP,
	 .offset = offsetof(struct pf_pyroscope_config, headers),
	 .doc = "Extra request headers"},
	{.name = "labels",
	 .type = PF_OPT_MAP,
	 .offset = offsetof(struct pf_pyroscope_config, labels),
	 .doc = "Extra series labels"},
	{.name = "resource_labels",
	 .type = PF_OPT_STRINGS,
	 .offset = offsetof(struct pf_pyroscope_config, resource_labels),
	 .doc = "Resource attributes to send as series labels (names made valid)"},
	{.name = "timeout",
	 .type = PF_OPT_DURATION,
	 .def = "10s",
	 .min = 1e6,
	 .max = 3600e9,
	 .offset = offsetof(struct pf_pyroscope_config, timeout),
	 .doc = "Time allowed for one request"},
	{.name = "tls",
	 .type = PF_OPT_SECTION,
	 .section = pf_tls_options,
	 .offset = offsetof(struct pf_pyroscope_config, tls),
	 .doc = "TLS settings for https:// endpoints"},
	{.name = "sending_queue",
	 .type = PF_OPT_SECTION,
	 .section = pf_queue_options,
	 .offset = offsetof(struct pf_pyroscope_config, sending_queue),
	 .doc = "The sending queue"},
	{.name = "retry_on_failure",
	 .type = PF_OPT_SECTION,
	 .section = pf_retry_options,
	 .offset = offsetof(struct pf_pyroscope_config, retry_on_failure),
	 .doc = "Retries of 429, 5xx (but 501, 505) and connection failures"},
	{.name = "auth",
	 .type = PF_OPT_SECTION,
	 .section = pf_auth_options,
	 .offset = offsetof(struct pf_pyroscope_config, auth),
	 .doc = "Request headers from an authenticator extension: authenticator: "
		"headers_setter[/name]"},
	PF_OPTION_END,
};

struct pyroscope;

/* One request on the wire. */
struct send {
	struct pyroscope *e;
	struct pf_queue_item *item;
	struct pf_http_call *call;
	uint8_t *body; /* ingest: the multipart body, owned */
};

struct pyroscope {
	struct pf_component *c;
	const struct pf_pyroscope_config *cfg; /* owned by config/, outlives us */
	struct pf_queue *queue;
	struct pf_http_client *http;
	char *url;
	char *headers[MAX_HEADERS]; /* "Name: value", owned */
	size_t n_headers;
	struct pf_auth_client auth; /* auth.authenticator's, ops NULL for none */
	bool started;
	bool stopping;
	pf_done_fn done;
};

static const struct pf_logger *lg(const struct pyroscope *e)
{
	return pf_component_logger(e->c);
}

static int pyroscope_validate(const void *config, struct pf_error *err)
{
	const struct pf_pyroscope_config *cfg = config;
	const char *ep = cfg->endpoint;
	int rc;

	char shown[PF_HTTP_REDACTED_MAX];

	if (!ep || (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0))
		return pf_error_set(err, "", "endpoint \"%s\" must start with http:// or https://",
				    pf_http_redact_url(ep, shown, sizeof(shown)));
	if (strchr(ep, '?') || strchr(ep, '#'))
		return pf_error_set(err, "", "endpoint \"%s\" must not hold a query or fragment",
				    pf_http_redact_url(ep, shown, sizeof(shown)));
	if (!cfg->basic_auth.username != !cfg->basic_auth.password)
		return pf_error_set(err, "", "basic_auth needs both username and password");
	if (cfg->basic_auth.username && cfg->bearer_token)
		return pf_error_set(err, "", "basic_auth and bearer_token exclude each other");
	if (cfg->headers.n > MAX_HEADERS - 8)
		return pf_error_set(err, "", "at most %d headers", MAX_HEADERS - 8);
	for (size_t i = 0; i < cfg->headers.n; i++)
		if (!cfg->headers.keys[i][0] || strpbrk(cfg->headers.keys[i], ": \r\n") ||
		    strpbrk(cfg->headers.values[i], "\r\n"))
			return pf_error_set(err, "", "headers: \"%s\" is not a valid header",
					    cfg->headers.keys[i]);
	if (cfg->tenant_id && strpbrk(cfg->tenant_id, "\r\n"))
		return pf_error_set(err, "", "tenant_id must be one line");
	if (cfg->bearer_token && strpbrk(cfg->bearer_token, "\r\n"))
		return pf_error_set(err, "", "bearer_token must be one line");
	if (cfg->tls.server_name_override)
		return pf_error_set(err, "", "tls.server_name_override is not supported over HTTP");
	rc = pf_tls_validate_client(&cfg->tls, err);
	if (rc)
		return rc;
	return pf_queue_validate(&cfg->sending_queue, err);
}

static char *base64(const char *in)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(in), o = 0;
	char *out = calloc(4 * ((n + 2) / 3) + 1, 1);
	const unsigned char *s = (const unsigned char *)in;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	return out;
}

static int add_header(struct pyroscope *e, const char *name, const char *value)
{
	char *h;

	if (e->n_headers >= MAX_HEADERS || asprintf(&h, "%s: %s", name, value) < 0)
		return -ENOMEM;
	e->headers[e->n_headers++] = h;
	return 0;
}

/* The headers every request carries, built once. */
static int build_headers(struct pyroscope *e)
{
	const struct pf_pyroscope_config *cfg = e->cfg;
	int err = add_header(e, "User-Agent", "proflow/" PF_VERSION);

	if (!err && cfg->api == PF_PYROSCOPE_PUSH) {
		err = add_header(e, "Content-Type", "application/proto");
		if (!err)
			err = add_header(e, "Connect-Protocol-Version", "1");
	}
	if (!err && cfg->basic_auth.username) {
		char *pair = NULL, *enc = NULL;

		if (asprintf(&pair, "%s:%s", cfg->basic_auth.username, cfg->basic_auth.password) <
		    0)
			return -ENOMEM;
		enc = base64(pair);
		free(pair);
		if (!enc)
			return -ENOMEM;
		if (asprintf(&pair, "Basic %s", enc) < 0) {
			free(enc);
			return -ENOMEM;
		}
		free(enc);
		err = add_header(e, "Authorization", pair);
		free(pair);
	}
	if (!err && cfg->bearer_token) {
		char *v;

		if (asprintf(&v, "Bearer %s", cfg->bearer_token) < 0)
			return -ENOMEM;
		err = add_header(e, "Authorization", v);
		free(v);
	}
	if (!err && cfg->tenant_id)
		err = add_header(e, "X-Scope-OrgID", cfg->tenant_id);
	for (size_t i = 0; !err && i < cfg->headers.n; i++)
		err = add_header(e, cfg->headers.keys[i], cfg->headers.values[i]);
	return err;
}

/* The server's message for the log: Connect's JSON "message" when there is
 * one, else the body's text, on one line and bounded. */
static void error_message(const struct pf_http_response *resp, char *out, size_t size)
{
	const char *body = (const char *)resp->body;
	const char *m = body ? strstr(body, "\"message\"") : NULL;
	size_t len = body ? resp->body_size : 0, o = 0;

	if (m) {
		m = strchr(m + 9, '"');
		if (m) {
			const char *end = m + 1;

			while (*end && *end != '"')
				end += end[0] == '\\' && end[1] ? 2 : 1;
			body = m + 1;
			len = (size_t)(end - body);
		}
	}
	for (size_t i = 0; i < len && o + 1 < size; i++) {
		unsigned char ch = (unsigned char)body[i];

		out[o++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static void classify(const struct pf_http_response *resp, struct pf_send_result *res, char *reason,
		     size_t size)
{
	char msg[REASON_MAX];

	memset(res, 0, sizeof(*res));
	res->reason = reason;
	if (resp->error) {
		pf_outcome_transport(resp->error, res);
		snprintf(reason, size, "%s", resp->error_text);
		return;
	}
	pf_outcome_http(PF_OUTCOME_PYROSCOPE, resp->status, pf_http_header_get(resp, "Retry-After"),
			0, (int64_t)time(NULL), res);
	if (res->status == PF_SEND_OK) {
		res->reason = NULL;
		return;
	}
	error_message(resp, msg, sizeof(msg));
	snprintf(reason, size, "HTTP %ld%s%s", resp->status, msg[0] ? ": " : "", msg);
}

/* pf_queue_call_cancel_fn for an HTTP call (its completion runs at once). */
static void cancel_call(void *call)
{
	pf_http_cancel(call);
}

static void on_response(const struct pf_http_response *resp, void *arg)
{
	struct send *s = arg;
	struct pf_send_result res;
	char reason[REASON_MAX + 32];

	/* The queue logs drops with `reason` (rate-limited) and counts them. */
	classify(resp, &res, reason, sizeof(reason));
	free(s->body);
	pf_queue_done(s->item, &res);
	free(s);
}

static void fail_now(struct pf_queue_item *item, enum pf_send_status status, const char *why)
{
	struct pf_send_result res = {.status = status, .reason = why};

	pf_queue_done(item, &res);
}

/* The queue's send: builds the HTTP request for one payload. */
static void pyroscope_send(void *arg, struct pf_queue_item *item, const void *data, size_t size)
{
	struct pyroscope *e = arg;
	const char *headers[MAX_HEADERS + PF_HEADER_MAX_EDITS + 1];
	struct pf_http_request req = {
		.method = "POST",
		.headers = headers,
		.timeout_ms = (uint64_t)(e->cfg->timeout / 1000000),
		.tls = &e->cfg->tls,
	};
	struct pf_pyroscope_ingest v;
	char ctype[96], boundary[40], *url = NULL;
	char **lines = NULL;
	size_t n_lines = 0, skip = 0;
	struct send *s;
	int err;

	/* Headers an authenticator resolved for this request's batch come
	 * first in the payload. */
	err = pf_auth_client_headers(&e->auth, data, size, (const char *const *)e->headers,
				     e->n_headers, &lines, &n_lines, &skip);
	if (err < 0) {
		fail_now(item, err == -EINVAL ? PF_SEND_PERMANENT : PF_SEND_RETRY,
			 "cannot read the request's headers");
		return;
	}
	data = (const uint8_t *)data + skip;
	size -= skip;
	for (size_t i = 0; i < (lines ? n_lines : e->n_headers); i++)
		headers[i] = lines ? lines[i] : e->headers[i];
	req.n_headers = lines ? n_lines : e->n_headers;
	s = calloc(1, sizeof(*s));
	if (!s) {
		pf_header_lines_free(lines, n_lines);
		fail_now(item, PF_SEND_RETRY, "out of memory");
		return;
	}
	s->e = e;
	s->item = item;
	if (e->cfg->api == PF_PYROSCOPE_INGEST) {
		if (pf_pyroscope_ingest_parse(data, size, &v) != 0) {
			pf_header_lines_free(lines, n_lines);
			free(s);
			fail_now(item, PF_SEND_PERMANENT,
				 "stored request is not an ingest request");
			return;
		}
		pf_pyroscope_uuid(boundary);
		snprintf(ctype, sizeof(ctype), "Content-Type: multipart/form-data; boundary=%s",
			 boundary);
		headers[req.n_headers++] = ctype;
		err = pf_pyroscope_multipart(&v, boundary, &s->body, &req.body_size);
		if (err == 0 &&
		    asprintf(&url, "%s%s?%.*s", e->url, INGEST_PATH, (int)v.query_len, v.query) < 0)
			err = -ENOMEM;
		req.body = s->body;
	} else {
		err = asprintf(&url, "%s%s", e->url, PUSH_PATH) < 0 ? -ENOMEM : 0;
		req.body = data;
		req.body_size = size;
	}
	req.url = url;
	if (err == 0)
		err = pf_http_send(e->http, &req, on_response, s, &s->call);
	free(url);
	pf_header_lines_free(lines, n_lines); /* the request copied them */
	if (err) {
		free(s->body);
		free(s);
		fail_now(item, PF_SEND_RETRY, strerror(-err));
		return;
	}
	pf_queue_item_cancel_with(item, cancel_call, s->call);
}

static void instance_free(struct pyroscope *e)
{
	pf_queue_destroy(e->queue);
	for (size_t i = 0; i < e->n_headers; i++)
		free(e->headers[i]);
	free(e->url);
	free(e);
}

static void *pyroscope_create(struct pf_component *c, const void *config)
{
	const struct pf_pyroscope_config *cfg = config;
	struct pf_queue_ops ops = {.send = pyroscope_send};
	struct pyroscope *e = calloc(1, sizeof(*e));
	size_t len;

	if (!e)
		goto out_oom;
	e->c = c;
	e->cfg = cfg;
	e->url = strdup(cfg->endpoint);
	if (!e->url || build_headers(e) != 0)
		goto out_free;
	len = strlen(e->url);
	while (len > 0 && e->url[len - 1] == '/')
		e->url[--len] = '\0';
	ops.arg = e;
	e->queue = pf_queue_create(c, &cfg->sending_queue, &cfg->retry_on_failure, &ops);
	if (!e->queue)
		goto out_free_logged;
	return e;

out_free:
	pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
out_free_logged:
	instance_free(e);
	return NULL;
out_oom:
	pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
	return NULL;
}

static int pyroscope_start(void *inst)
{
	struct pyroscope *e = inst;
	uv_loop_t *loop = pf_component_loop(e->c);
	char shown[PF_HTTP_REDACTED_MAX];
	int err;

	e->http = pf_http_client_new(loop);
	if (!e->http) {
		pf_log(lg(e), PF_LOG_ERROR, "cannot create the HTTP client");
		return -ENOMEM;
	}
	if (pf_auth_client_find(e->c, &e->cfg->auth, &e->auth) < 0)
		return -EINVAL;
	err = pf_queue_start(e->queue, loop);
	if (err) {
		pf_log(lg(e), PF_LOG_ERROR, "cannot start the sending queue: %s", strerror(-err));
		return err;
	}
	e->started = true;
	pf_log(lg(e), PF_LOG_INFO, "sending to %s%s",
	       pf_http_redact_url(e->url, shown, sizeof(shown)),
	       e->cfg->api == PF_PYROSCOPE_PUSH ? PUSH_PATH : INGEST_PATH);
	return 0;
}

/* One batch's requests, collected to be queued as one (all or none). */
struct batch_reqs {
	struct pyroscope *e;
	const struct pf_batch *batch;
	struct pf_queue_request *reqs;
	size_t n, cap;
};

static void reqs_free(struct batch_reqs *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->reqs[i].data);
	free(x->reqs);
}

/* Puts the authenticator's headers for the batch in front of payload and
 * keeps the request. Returns 0 (payload taken) or -ENOMEM (payload stays
 * the caller's). */
static int keep(struct batch_reqs *x, uint8_t *payload, size_t size, uint64_t items)
{
	uint8_t *wrapped = NULL;
	size_t wrapped_size = 0;

	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 4;
		struct pf_queue_request *grown = calloc(cap, sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		if (x->n)
			memcpy(grown, x->reqs, x->n * sizeof(*grown));
		free(x->reqs);
		x->reqs = grown;
		x->cap = cap;
	}
	if (x->e->auth.ops) {
		if (pf_auth_client_wrap(&x->e->auth, x->batch, payload, size, &wrapped,
					&wrapped_size) < 0)
			return -ENOMEM;
		free(payload);
		payload = wrapped;
		size = wrapped_size;
	}
	x->reqs[x->n++] = (struct pf_queue_request){payload, size, items};
	return 0;
}

/* pf_pyroscope_ingest_fn: the encoder frees the payload on an error. */
static int keep_ingest(void *arg, uint8_t *payload, size_t size, uint64_t items)
{
	return keep(arg, payload, size, items);
}

/*
 * Encodes the batch into its requests (one per pprof group for /ingest, one
 * for the Push API) and queues them as one, within consume: PF_OK promises
 * the batch is in the queue (on disk with storage file). Anything that
 * keeps it out (no room, a full disk, out of memory) is PF_BUSY, so the
 * client is told to retry and nothing is half-queued.
 */
static int pyroscope_consume(void *inst, struct pf_batch *batch)
{
	struct pyroscope *e = inst;
	struct batch_reqs x = {.e = e, .batch = batch};
	uint8_t *payload = NULL;
	uint64_t items = 0;
	size_t size = 0;
	struct timespec ts;
	int rc;

	if (e->stopping)
		return -ESHUTDOWN;
	if (!pf_queue_has_room(e->queue, 1, pf_batch_sample_count(batch)))
		return PF_BUSY; /* not worth encoding; pf_queue_enqueue_all() decides */
	if (e->cfg->api == PF_PYROSCOPE_INGEST) {
		clock_gettime(CLOCK_REALTIME, &ts);
		rc = pf_pyroscope_encode_ingest(
			batch, e->cfg, (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec,
			keep_ingest, &x);
	} else {
		rc = pf_pyroscope_encode_push(batch, e->cfg, &payload, &size, &items);
		if (rc == 0 && payload && (rc = keep(&x, payload, size, items)) < 0)
			free(payload);
	}
	if (rc == 0)
		rc = pf_queue_enqueue_all(e->queue, x.reqs, x.n, NULL);
	if (rc == PF_OK) {
		free(x.reqs);
		return PF_OK;
	}
	reqs_free(&x);
	if (rc == PF_BUSY || rc == -ESHUTDOWN || rc == -EMSGSIZE)
		return rc;
	pf_log(lg(e), PF_LOG_ERROR, "cannot queue a batch: %s", strerror(-rc));
	return PF_BUSY;
}

static void on_http_closed(void *arg)
{
	struct pyroscope *e = arg;
	struct pf_component *c = e->c;
	pf_done_fn done = e->done;

	instance_free(e);
	done(c);
}

static void on_queue_closed(void *arg)
{
	struct pyroscope *e = arg;

	pf_http_client_close(e->http, on_http_closed, e);
}

static void pyroscope_shutdown(void *inst, pf_done_fn done)
{
	struct pyroscope *e = inst;

	if (e->stopping)
		return;
	e->stopping = true;
	e->done = done;
	if (!e->http) {
		/* Never started (or the client failed): nothing on the loop. */
		struct pf_component *c = e->c;

		instance_free(e);
		done(c);
		return;
	}
	pf_queue_shutdown(e->queue, pf_queue_shutdown_deadline(e->c), on_queue_closed, e);
}

const struct pf_component_def pf_exporter_pyroscope = {
	.kind = PF_EXPORTER,
	.type = "pyroscope",
	.doc = "Send profiles to Grafana Pyroscope (Push API or /ingest) as gzipped pprof.",
	.stability = "development",
	.options = pyroscope_options,
	.config_size = sizeof(struct pf_pyroscope_config),
	.validate = pyroscope_validate,
	.create = pyroscope_create,
	.start = pyroscope_start,
	.consume = pyroscope_consume,
	.shutdown = pyroscope_shutdown,
};
