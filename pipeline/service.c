// SPDX-License-Identifier: Apache-2.0
/* The service: builds the component graph from a config, starts it in order, shuts it down in reverse. */
#include "service.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "component_internal.h"
#include "transport/grpc_log.h"
#include "telemetry.h"

#define DEFAULT_SHUTDOWN_TIMEOUT_MS 10000
#define DEFAULT_METRICS_ADDRESS	    "127.0.0.1:8888"

enum svc_state {
	SVC_NEW,
	SVC_STARTING,
	SVC_RUNNING,
	SVC_STOPPING,
	SVC_STOPPED,
};

struct pf_service {
	uv_loop_t *loop;
	const struct pf_config *cfg;
	char *host_name;
	struct pf_logger log;
	enum svc_state state;
	uint64_t start_time_ms;

	/* Start order: extensions, exporters, processors, receivers. */
	struct pf_component **comps;
	size_t n_comps;

	struct pf_telemetry *telemetry;
	unsigned metrics_port;

	/* Shutdown. */
	size_t shut_pos; /* comps[shut_pos - 1] is the next to stop */
	bool stepping;	 /* inside shutdown_step: done() must not recurse */
	bool timed_out;
	bool finished;
	uint64_t deadline;
	uv_timer_t deadline_timer;
	bool timer_open;
	int closing; /* handles and telemetry still closing */
	pf_service_done_fn done;
	void *done_arg;
};

static int add(struct pf_service *s, const struct pf_config_component *cc, const char *pipeline,
	       struct pf_component **out)
{
	struct pf_component *c =
		pf_component_new(s, cc->def, cc->id, cc->config, s->cfg->log_level);
	if (!c)
		return -ENOMEM;
	c->pipeline = pipeline;
	s->comps[s->n_comps++] = c;
	*out = c;
	return 0;
}

/* Consumers of the head of pipeline p: its first processor or its exporters. */
static int link_to_pipeline(struct pf_component *from, const struct pf_config_pipeline *p,
			    struct pf_component *first_proc, struct pf_component **exporters)
{
	if (first_proc)
		return pf_component_link(from, first_proc);
	for (size_t j = 0; j < p->n_exporters; j++) {
		int rc = pf_component_link(from, exporters[p->exporters[j]]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Builds wrappers in start order and links them. by_idx maps a config
 * component index to its shared instance (receivers, exporters). */
static int build(struct pf_service *s, struct pf_component **by_idx,
		 struct pf_component **first_proc)
{
	const struct pf_config *cfg = s->cfg;
	bool *used = calloc(cfg->n_components + 1, sizeof(*used));
	int rc = 0;

	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_extensions; i++) {
		const struct pf_config_component *cc = &cfg->components[cfg->extensions[i]];
		if (!by_idx[cfg->extensions[i]]) {
			rc = add(s, cc, NULL, &by_idx[cfg->extensions[i]]);
			if (rc < 0)
				goto out_free_used;
		}
	}
	for (size_t i = 0; i < cfg->n_pipelines; i++) {
		const struct pf_config_pipeline *p = &cfg->pipelines[i];
		for (size_t j = 0; j < p->n_receivers; j++)
			used[p->receivers[j]] = true;
		for (size_t j = 0; j < p->n_exporters; j++)
			used[p->exporters[j]] = true;
	}
	for (size_t i = 0; i < cfg->n_components && rc == 0; i++)
		if (used[i] && cfg->components[i].def->kind == PF_EXPORTER)
			rc = add(s, &cfg->components[i], NULL, &by_idx[i]);
	/* Processors from the last of each pipeline to the first: start order is
	 * downstream first, so shutdown (the reverse) stops a processor before
	 * the ones it drains into. */
	for (size_t i = 0; i < cfg->n_pipelines && rc == 0; i++) {
		const struct pf_config_pipeline *p = &cfg->pipelines[i];
		struct pf_component *next = NULL;
		for (size_t j = p->n_processors; j > 0 && rc == 0; j--) {
			struct pf_component *c = NULL;
			rc = add(s, &cfg->components[p->processors[j - 1]], p->id, &c);
			if (rc == 0)
				rc = next ? pf_component_link(c, next)
					  : link_to_pipeline(c, p, NULL, by_idx);
			first_proc[i] = c;
			next = c;
		}
	}
	for (size_t i = 0; i < cfg->n_components && rc == 0; i++)
		if (used[i] && cfg->components[i].def->kind == PF_RECEIVER)
			rc = add(s, &cfg->components[i], NULL, &by_idx[i]);
	for (size_t i = 0; i < cfg->n_pipelines && rc == 0; i++) {
		const struct pf_config_pipeline *p = &cfg->pipelines[i];
		for (size_t j = 0; j < p->n_receivers && rc == 0; j++)
			rc = link_to_pipeline(by_idx[p->receivers[j]], p, first_proc[i], by_idx);
	}
out_free_used:
	free(used);
	return rc;
}

struct pf_service *pf_service_create(uv_loop_t *loop, const struct pf_config *cfg,
				     const char *host_name)
{
	struct pf_component **by_idx = NULL, **first_proc = NULL;
	size_t max = cfg->n_components + cfg->n_extensions;
	struct pf_service *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->loop = loop;
	s->cfg = cfg;
	s->log.id = "service";
	s->log.level = cfg->log_level;
	pf_grpc_log_route(cfg->log_level);
	s->host_name = strdup(host_name ? host_name : "");
	for (size_t i = 0; i < cfg->n_pipelines; i++)
		max += cfg->pipelines[i].n_processors;
	s->comps = calloc(max + 1, sizeof(*s->comps));
	by_idx = calloc(cfg->n_components + 1, sizeof(*by_idx));
	first_proc = calloc(cfg->n_pipelines + 1, sizeof(*first_proc));
	if (!s->host_name || !s->comps || !by_idx || !first_proc)
		goto out_destroy;
	if (build(s, by_idx, first_proc) < 0)
		goto out_destroy;
	free(first_proc);
	free(by_idx);
	return s;

out_destroy:
	free(first_proc);
	free(by_idx);
	pf_service_destroy(s);
	return NULL;
}

static uint64_t wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static const char *metrics_address(const struct pf_service *s)
{
	const char *a = s->cfg->metrics_address;
	if (!a)
		return DEFAULT_METRICS_ADDRESS;
	if (a[0] == '\0' || strcmp(a, "none") == 0)
		return NULL;
	return a;
}

int pf_service_start(struct pf_service *s)
{
	struct pf_error err = {0};
	const char *addr = metrics_address(s);
	int rc;

	assert(s->state == SVC_NEW);
	s->state = SVC_STARTING;
	s->start_time_ms = wall_ms();
	if (addr) {
		s->telemetry = pf_telemetry_start(s, addr, &err);
		if (!s->telemetry) {
			pf_log(&s->log, PF_LOG_ERROR, "telemetry: %s", err.msg);
			return -EADDRNOTAVAIL;
		}
		s->metrics_port = pf_telemetry_port(s->telemetry);
	}
	for (size_t i = 0; i < s->n_comps; i++) {
		struct pf_component *c = s->comps[i];
		rc = pf_component_create_instance(c);
		if (rc < 0) {
			pf_log(&s->log, PF_LOG_ERROR, "cannot create %s", c->log_id);
			return rc;
		}
	}
	for (size_t i = 0; i < s->n_comps; i++) {
		struct pf_component *c = s->comps[i];
		rc = pf_component_start_instance(c);
		if (rc < 0) {
			pf_log(&s->log, PF_LOG_ERROR, "cannot start %s: %s", c->log_id,
			       strerror(-rc));
			return rc;
		}
	}
	s->state = SVC_RUNNING;
	pf_log(&s->log, PF_LOG_INFO, "everything is ready: %zu components, %zu pipelines",
	       s->n_comps, s->cfg->n_pipelines);
	return 0;
}

static void on_closed(void *arg)
{
	struct pf_service *s = arg;
	if (--s->closing == 0 && s->done)
		s->done(s, s->timed_out, s->done_arg);
}

static void on_timer_closed(uv_handle_t *h)
{
	on_closed(h->data);
}

/* Shutdown is over (or given up): close our own handles, then report. */
static void finish(struct pf_service *s)
{
	if (s->start_time_ms)
		pf_telemetry_log_summary(s, &s->log);
	s->finished = true;
	s->state = SVC_STOPPED;
	s->closing = 2;
	if (s->timer_open) {
		uv_timer_stop(&s->deadline_timer);
		uv_close((uv_handle_t *)&s->deadline_timer, on_timer_closed);
		s->timer_open = false;
	} else {
		s->closing--;
	}
	struct pf_telemetry *t = s->telemetry;
	s->telemetry = NULL;
	if (t)
		pf_telemetry_close(t, on_closed, s);
	else
		on_closed(s);
}

static void on_component_done(struct pf_component *c);

/* Stops components from the last started to the first, one at a time. */
static void shutdown_step(struct pf_service *s)
{
	while (s->shut_pos > 0) {
		struct pf_component *c = s->comps[s->shut_pos - 1];
		if (c->state == PF_STATE_STOPPING)
			return; /* waiting for its done */
		if (c->state == PF_STATE_STOPPED) {
			s->shut_pos--;
			continue;
		}
		s->stepping = true;
		pf_component_shutdown_instance(c, on_component_done);
		s->stepping = false;
		if (c->state != PF_STATE_STOPPED)
			return;
	}
	finish(s);
}

static void on_component_done(struct pf_component *c)
{
	struct pf_service *s = c->svc;

	assert(c->state != PF_STATE_STOPPED); /* done called twice */
	c->state = PF_STATE_STOPPED;
	c->inst = NULL;
	if (s->finished || s->stepping)
		return;
	shutdown_step(s);
}

static void on_deadline(uv_timer_t *t)
{
	struct pf_service *s = t->data;

	for (size_t i = s->shut_pos; i > 0; i--) {
		struct pf_component *c = s->comps[i - 1];
		if (c->state != PF_STATE_STOPPED)
			pf_log(&s->log, PF_LOG_ERROR,
			       "%s did not finish within the shutdown timeout", c->log_id);
	}
	s->timed_out = true;
	finish(s);
}

void pf_service_shutdown(struct pf_service *s, pf_service_done_fn done, void *arg)
{
	int64_t ns = s->cfg->shutdown_timeout_ns;
	uint64_t ms = ns > 0 ? (uint64_t)((ns + 999999) / 1000000) : DEFAULT_SHUTDOWN_TIMEOUT_MS;

	if (s->state == SVC_STOPPING || s->state == SVC_STOPPED)
		return;
	s->state = SVC_STOPPING;
	s->done = done;
	s->done_arg = arg;
	uv_update_time(s->loop);
	s->deadline = uv_now(s->loop) + ms;
	uv_timer_init(s->loop, &s->deadline_timer);
	s->deadline_timer.data = s;
	s->timer_open = true;
	uv_timer_start(&s->deadline_timer, on_deadline, ms, 0);
	pf_log(&s->log, PF_LOG_INFO, "shutting down (timeout %llu ms)", (unsigned long long)ms);
	s->shut_pos = s->n_comps;
	shutdown_step(s);
}

void pf_service_destroy(struct pf_service *s)
{
	if (!s)
		return;
	assert(s->state == SVC_NEW || s->finished);
	for (size_t i = 0; i < s->n_comps; i++)
		pf_component_free(s->comps[i]);
	free(s->comps);
	free(s->host_name);
	free(s);
}

uv_loop_t *pf_service_loop(const struct pf_service *s)
{
	return s->loop;
}

const char *pf_service_host_name(const struct pf_service *s)
{
	return s->host_name;
}

bool pf_service_ready(const struct pf_service *s)
{
	return s->state == SVC_RUNNING;
}

uint64_t pf_service_deadline(const struct pf_service *s)
{
	return s->deadline;
}

size_t pf_service_n_components(const struct pf_service *s)
{
	return s->n_comps;
}

struct pf_component *pf_service_component(const struct pf_service *s, size_t i)
{
	assert(i < s->n_comps);
	return s->comps[i];
}

struct pf_component *pf_service_find(const struct pf_service *s, enum pf_kind kind, const char *id)
{
	for (size_t i = 0; i < s->n_comps; i++)
		if (s->comps[i]->def->kind == kind && strcmp(s->comps[i]->id, id) == 0)
			return s->comps[i];
	return NULL;
}

unsigned pf_service_metrics_port(const struct pf_service *s)
{
	return s->metrics_port;
}

uint64_t pf_service_start_time_ms(const struct pf_service *s)
{
	return s->start_time_ms;
}
