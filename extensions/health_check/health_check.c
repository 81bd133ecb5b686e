// SPDX-License-Identifier: Apache-2.0
/* health_check: answers 200 while every pipeline runs and 503 otherwise, like the Collector's v1. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/component.h"
#include "transport/http_server.h"

struct health_bodies {
	char *healthy;	 /* NULL: the JSON status */
	char *unhealthy; /* NULL: the JSON status */
};

struct health_config {
	char *endpoint;
	char *path;
	struct health_bodies response_body;
	struct pf_http_server_limits limits;
};

struct health {
	struct pf_component *c;
	const struct health_config *cfg;
	struct pf_http_server *http;
	char start_time[40]; /* RFC 3339, when start ran */
	bool shutting_down;
	pf_done_fn done;
};

static const struct pf_option body_options[] = {
	{.name = "healthy",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct health_bodies, healthy),
	 .doc = "Body of the 200 answer"},
	{.name = "unhealthy",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct health_bodies, unhealthy),
	 .doc = "Body of the 503 answer"},
	PF_OPTION_END,
};

static const struct pf_option health_options[] = {
	{.name = "endpoint",
	 .type = PF_OPT_STRING,
	 .def = "127.0.0.1:13133",
	 .flags = PF_OPT_ENDPOINT,
	 .offset = offsetof(struct health_config, endpoint),
	 .doc = "host:port the health endpoint listens on"},
	{.name = "path",
	 .type = PF_OPT_STRING,
	 .def = "/",
	 .offset = offsetof(struct health_config, path),
	 .doc = "URL path that answers the health check"},
	{.name = "response_body",
	 .type = PF_OPT_SECTION,
	 .section = body_options,
	 .offset = offsetof(struct health_config, response_body),
	 .doc = "Fixed bodies to answer with instead of the JSON status"},
	PF_HTTP_SERVER_LIMIT_ROWS(struct health_config, limits),
	PF_OPTION_END,
};

static int health_validate(const void *config, struct pf_error *err)
{
	const struct health_config *cfg = config;
	struct sockaddr_storage addr;
	socklen_t len;

	if (!cfg->path || cfg->path[0] != '/')
		return pf_error_set(err, "", "path must start with '/'");
	if (pf_http_parse_address(cfg->endpoint, &addr, &len, err) < 0)
		return -EINVAL;
	return 0;
}

static void *health_create(struct pf_component *c, const void *config)
{
	struct health *h = calloc(1, sizeof(*h));
	if (!h) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
		return NULL;
	}
	h->c = c;
	h->cfg = config;
	return h;
}

static void on_health(void *arg, const struct pf_http_request *req, struct pf_http_response *resp)
{
	struct health *h = arg;
	bool ready = pf_component_pipelines_ready(h->c);
	const char *fixed = ready ? h->cfg->response_body.healthy : h->cfg->response_body.unhealthy;
	char *body = NULL;
	int n;

	resp->status = ready ? 200 : 503;
	if (fixed) {
		resp->content_type = "text/plain; charset=utf-8";
		resp->body = strdup(fixed);
		resp->body_len = resp->body ? strlen(resp->body) : 0;
		return;
	}
	if (ready)
		n = asprintf(&body, "{\"status\":\"Server available\",\"upSince\":\"%s\"}\n",
			     h->start_time);
	else
		n = asprintf(&body, "{\"status\":\"Server not available\",\"upSince\":\"%s\"}\n",
			     h->start_time);
	resp->content_type = "application/json";
	if (n >= 0) {
		resp->body = body;
		resp->body_len = (size_t)n;
	}
}

static int health_start(void *inst)
{
	struct health *h = inst;
	const struct pf_logger *lg = pf_component_logger(h->c);
	struct pf_error err = {0};
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	gmtime_r(&now, &tm);
	strftime(h->start_time, sizeof(h->start_time), "%Y-%m-%dT%H:%M:%SZ", &tm);
	h->http = pf_http_server_create(pf_component_loop(h->c), h->cfg->endpoint, 0, &err);
	if (!h->http) {
		pf_log(lg, PF_LOG_ERROR, "%s", err.msg);
		return -EINVAL;
	}
	pf_http_server_limits(h->http, &h->cfg->limits);
	rc = pf_http_server_route(h->http, NULL, h->cfg->path, on_health, h);
	if (rc == 0)
		rc = pf_http_server_start(h->http, &err);
	if (rc < 0) {
		pf_log(lg, PF_LOG_ERROR, "%s", err.msg[0] ? err.msg : strerror(-rc));
		return rc;
	}
	pf_log(lg, PF_LOG_INFO, "health check at http://%s%s", h->cfg->endpoint, h->cfg->path);
	return 0;
}

static void on_http_closed(void *arg)
{
	struct health *h = arg;
	struct pf_component *c = h->c;
	pf_done_fn done = h->done;

	free(h);
	done(c);
}

static void health_shutdown(void *inst, pf_done_fn done)
{
	struct health *h = inst;
	struct pf_http_server *http = h->http;

	if (h->shutting_down)
		return;
	h->shutting_down = true;
	h->done = done;
	h->http = NULL;
	if (http)
		pf_http_server_close(http, on_http_closed, h);
	else
		on_http_closed(h);
}

const struct pf_component_def pf_extension_health_check = {
	.kind = PF_EXTENSION,
	.type = "health_check",
	.doc = "Answers HTTP 200 while every pipeline is running and 503 otherwise.",
	.stability = "alpha",
	.options = health_options,
	.config_size = sizeof(struct health_config),
	.validate = health_validate,
	.create = health_create,
	.start = health_start,
	.shutdown = health_shutdown,
};
