// SPDX-License-Identifier: Apache-2.0
/* The pprof receiver's scrapes: every target fetched each interval through the shared HTTP client. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/http_client.h"
#include "receiver.h"

struct target {
	struct pf_pprof_rx_scrape *s;
	const char *url; /* owned by config/ */
	char *address;	 /* server.address */
	int64_t port;	 /* server.port, 0 when unknown */
	uv_timer_t timer;
	bool timer_open;
	struct pf_http_call *call; /* in flight */
	bool decoding;		   /* its last response is on the thread pool */
	uint64_t skipped;	   /* ticks skipped while the last scrape ran */
	struct pf_pprof_rx_limiter limiter;
};

struct pf_pprof_rx_scrape {
	struct pf_pprof_rx *r;
	struct pf_http_client *http;
	bool http_closing, http_closed;
	bool stopping;
	struct target *targets;
	size_t n_targets;
	char **header_lines; /* "Name: value" */
	size_t n_headers;
	size_t pending;
};

/* Host and port of a URL ("http://user@[::1]:6060/x" -> "::1", 6060). */
static int split_authority(const char *url, char **host, int64_t *port)
{
	const char *p = strstr(url, "://"), *end, *at, *colon = NULL;

	*port = 0;
	p = p ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));
		if (!close)
			return -EINVAL;
		*host = strndup(p + 1, (size_t)(close - p - 1));
		if (close + 1 < end && close[1] == ':')
			colon = close + 1;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		*host = strndup(p, (size_t)((colon ? colon : end) - p));
	}
	if (!*host)
		return -ENOMEM;
	if (colon)
		*port = strtoll(colon + 1, NULL, 10);
	else
		*port = strncmp(url, "https", 5) == 0 ? 443 : 80;
	return 0;
}

struct pf_pprof_rx_scrape *pf_pprof_rx_scrape_new(struct pf_pprof_rx *r)
{
	const struct pf_pprof_rx_config *cfg = &r->cfg;
	struct pf_pprof_rx_scrape *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->r = r;
	s->http_closed = true; /* until start creates the client */
	s->targets = calloc(cfg->targets.n, sizeof(*s->targets));
	s->header_lines = calloc(cfg->headers.n + 1, sizeof(*s->header_lines));
	if (!s->targets || !s->header_lines)
		goto out_free;
	for (size_t i = 0; i < cfg->targets.n; i++) {
		struct target *t = &s->targets[i];
		t->s = s;
		t->url = cfg->targets.items[i];
		s->n_targets++;
		if (split_authority(t->url, &t->address, &t->port) < 0)
			goto out_free;
	}
	for (size_t i = 0; i < cfg->headers.n; i++) {
		if (asprintf(&s->header_lines[i], "%s: %s", cfg->headers.keys[i],
			     cfg->headers.values[i]) < 0) {
			s->header_lines[i] = NULL;
			goto out_free;
		}
		s->n_headers++;
	}
	return s;

out_free:
	pf_pprof_rx_scrape_free(s);
	return NULL;
}

void pf_pprof_rx_scrape_free(struct pf_pprof_rx_scrape *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_targets; i++)
		free(s->targets[i].address);
	for (size_t i = 0; i < s->n_headers; i++)
		free(s->header_lines[i]);
	free(s->header_lines);
	free(s->targets);
	free(s);
}

static void on_decoded(struct pf_pprof_rx_job *job, int err)
{
	struct target *t = job->owner;

	t->decoding = false;
}

static void on_response(const struct pf_http_response *resp, void *arg)
{
	struct target *t = arg;
	struct pf_pprof_rx_scrape *s = t->s;
	struct pf_pprof_rx *r = s->r;
	struct pf_pprof_rx_job *job;

	t->call = NULL;
	s->pending--;
	if (resp->error == -ECANCELED)
		goto out_check;
	if (resp->error < 0) {
		pf_pprof_rx_input_error(r, &t->limiter, t->url, "%s", resp->error_text);
		goto out_check;
	}
	if (resp->status != 200) {
		pf_pprof_rx_input_error(r, &t->limiter, t->url, "HTTP status %ld", resp->status);
		goto out_check;
	}
	job = calloc(1, sizeof(*job));
	if (!job)
		goto out_oom;
	job->data = malloc(resp->body_size ? resp->body_size : 1);
	if (!job->data) {
		free(job);
		goto out_oom;
	}
	memcpy(job->data, resp->body, resp->body_size);
	job->size = resp->body_size;
	job->source = t->url;
	job->attrs[0] = "url.full";
	job->attrs[1] = t->url;
	job->attrs[2] = "server.address";
	job->attrs[3] = t->address;
	job->n_attrs = 4;
	job->port = t->port;
	job->limiter = &t->limiter;
	job->finished = on_decoded;
	job->owner = t;
	if (pf_pprof_rx_submit(r, job) < 0)
		goto out_oom_logged;
	t->decoding = true;
	goto out_check;

out_oom:
	pf_log(pf_component_logger(r->c), PF_LOG_ERROR, "out of memory taking %zu bytes from %s",
	       resp->body_size, t->url);
	goto out_check;
out_oom_logged:
	pf_log(pf_component_logger(r->c), PF_LOG_ERROR, "cannot queue the decoding of %s", t->url);
out_check:
	/* Last: this may finish the shutdown and free everything. */
	if (s->stopping)
		pf_pprof_rx_check_done(r);
}

static void on_tick(uv_timer_t *timer)
{
	struct target *t = timer->data;
	struct pf_pprof_rx_scrape *s = t->s;
	struct pf_pprof_rx *r = s->r;
	struct pf_http_request req = {
		.url = t->url,
		.headers = (const char *const *)s->header_lines,
		.n_headers = s->n_headers,
		.timeout_ms = (uint64_t)(pf_pprof_rx_timeout(&r->cfg) / 1000000),
		.max_body = (size_t)r->cfg.max_size,
		.accept_encoding = true,
	};
	int err;

	if (s->stopping)
		return;
	if (t->call || t->decoding) {
		/* Profiles of overlapping windows would count samples twice. */
		if (t->skipped++ == 0)
			pf_log(pf_component_logger(r->c), PF_LOG_WARN,
			       "scrape of %s still running at the next interval: skipping", t->url);
		return;
	}
	err = pf_http_send(s->http, &req, on_response, t, &t->call);
	if (err < 0) {
		pf_pprof_rx_input_error(r, &t->limiter, t->url, "cannot send: %s", strerror(-err));
		return;
	}
	s->pending++;
}

int pf_pprof_rx_scrape_start(struct pf_pprof_rx_scrape *s)
{
	struct pf_pprof_rx *r = s->r;
	uint64_t ms = (uint64_t)(r->cfg.interval / 1000000);
	int err;

	s->http = pf_http_client_new(r->loop);
	if (!s->http)
		return -ENOMEM;
	s->http_closed = false;
	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = &s->targets[i];
		err = uv_timer_init(r->loop, &t->timer);
		if (err < 0)
			return err;
		t->timer_open = true;
		r->open_handles++;
		t->timer.data = t;
		/* The first scrapes spread over the first interval (the first
		 * target right away), then each target every interval. */
		err = uv_timer_start(&t->timer, on_tick, ms * i / s->n_targets, ms);
		if (err < 0)
			return err;
	}
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct target *t = h->data;
	struct pf_pprof_rx *r = t->s->r;

	r->open_handles--;
	pf_pprof_rx_check_done(r);
}

void pf_pprof_rx_scrape_stop(struct pf_pprof_rx_scrape *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = &s->targets[i];
		if (!t->timer_open)
			continue;
		t->timer_open = false;
		uv_timer_stop(&t->timer);
		uv_close((uv_handle_t *)&t->timer, on_timer_closed);
	}
}

size_t pf_pprof_rx_scrape_pending(const struct pf_pprof_rx_scrape *s)
{
	return s->pending;
}

static void on_http_closed(void *arg)
{
	struct pf_pprof_rx_scrape *s = arg;

	s->http_closed = true;
	s->http = NULL;
	pf_pprof_rx_check_done(s->r);
}

bool pf_pprof_rx_scrape_close(struct pf_pprof_rx_scrape *s)
{
	if (s->http_closed)
		return true;
	if (!s->http_closing) {
		s->http_closing = true;
		s->stopping = true;
		/* Cancels what is in flight: on_response runs for each. */
		pf_http_client_close(s->http, on_http_closed, s);
	}
	return s->http_closed;
}
