// SPDX-License-Identifier: Apache-2.0
/* Self-telemetry: component counters and process metrics in Prometheus text, served at /metrics. */
#include "telemetry.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "component_internal.h"
#include "service.h"

/*
 * Names and labels are the OpenTelemetry Collector's as its default
 * Prometheus reader exposes them (without_type_suffix and without_units both
 * true): counters carry no `_total` suffix and no unit suffix, so
 * `otelcol_receiver_accepted_profile_samples` is written exactly so, and a
 * dashboard built for the Collector works unchanged. OTel attribute names
 * become Prometheus labels with dots turned into underscores (`otel.signal`
 * -> `otel_signal`). The endpoint always answers in text format 0.0.4; it
 * does not negotiate OpenMetrics, which would add `_total`.
 */

#define MAX_BODY 1024 /* /metrics takes no body */

struct pf_telemetry {
	struct pf_service *svc;
	struct pf_http_server *http;
};

enum label_kind {
	BY_RECEIVER,  /* receiver="id",transport="..." */
	BY_EXPORTER,  /* exporter="id" */
	BY_PROCESSOR, /* processor="id",otel_signal="profiles"; summed over pipelines */
	BY_COMPONENT, /* component="kind/id"; summed over pipelines */
	BY_COUNTING,  /* the same, only for components that counted it */
};

struct family {
	const char *name;
	const char *help;
	enum pf_kind kind; /* components it applies to (ignored for BY_COMPONENT) */
	enum pf_counter ctr;
	enum label_kind labels;
};

static const struct family families[] = {
	{"otelcol_receiver_accepted_profile_samples",
	 "Number of profile samples successfully pushed into the pipeline.", PF_RECEIVER,
	 PF_CTR_RECEIVER_ACCEPTED, BY_RECEIVER},
	{"otelcol_receiver_refused_profile_samples",
	 "Number of profile samples that could not be pushed into the pipeline.", PF_RECEIVER,
	 PF_CTR_RECEIVER_REFUSED, BY_RECEIVER},
	{"otelcol_receiver_failed_profile_samples",
	 "The number of profile samples that failed to be processed by the receiver due to "
	 "internal errors.",
	 PF_RECEIVER, PF_CTR_RECEIVER_FAILED, BY_RECEIVER},
	{"otelcol_processor_incoming_items", "Number of items passed to the processor.",
	 PF_PROCESSOR, PF_CTR_PROCESSOR_INCOMING, BY_PROCESSOR},
	{"otelcol_processor_outgoing_items", "Number of items emitted from the processor.",
	 PF_PROCESSOR, PF_CTR_PROCESSOR_OUTGOING, BY_PROCESSOR},
	{"otelcol_exporter_sent_profile_samples",
	 "Number of profile samples successfully sent to destination.", PF_EXPORTER,
	 PF_CTR_EXPORTER_SENT, BY_EXPORTER},
	{"otelcol_exporter_send_failed_profile_samples",
	 "Number of profile samples in failed attempts to send to destination.", PF_EXPORTER,
	 PF_CTR_EXPORTER_SEND_FAILED, BY_EXPORTER},
	{"otelcol_exporter_enqueue_failed_profile_samples",
	 "Number of profile samples failed to be added to the sending queue.", PF_EXPORTER,
	 PF_CTR_EXPORTER_ENQUEUE_FAILED, BY_EXPORTER},
	{"proflow_component_input_errors",
	 "Number of bad inputs (files, requests, responses) a component rejected.", PF_RECEIVER,
	 PF_CTR_INPUT_ERRORS, BY_COMPONENT},
	{"proflow_debuginfod_requests",
	 "Number of debug files asked of debuginfod servers (or of libdebuginfod's cache).",
	 PF_PROCESSOR, PF_CTR_DEBUGINFOD_REQUESTS, BY_COUNTING},
	{"proflow_debuginfod_found", "Number of debuginfod requests answered with a debug file.",
	 PF_PROCESSOR, PF_CTR_DEBUGINFOD_FOUND, BY_COUNTING},
	{"proflow_debuginfod_failed",
	 "Number of debuginfod requests that failed: not found, timed out, refused, wrong file.",
	 PF_PROCESSOR, PF_CTR_DEBUGINFOD_FAILED, BY_COUNTING},
	{"proflow_debuginfod_received_bytes",
	 "Bytes of debug files downloaded from debuginfod servers.", PF_PROCESSOR,
	 PF_CTR_DEBUGINFOD_BYTES, BY_COUNTING},
	{"proflow_ebpf_user_stacks_complete",
	 "Number of user stacks the eBPF program unwound to their outermost frame.", PF_RECEIVER,
	 PF_CTR_EBPF_STACKS_COMPLETE, BY_COUNTING},
	{"proflow_ebpf_user_stacks_truncated",
	 "Number of user stacks cut short (marked with a [truncated: ...] frame).", PF_RECEIVER,
	 PF_CTR_EBPF_STACKS_TRUNCATED, BY_COUNTING},
	{"proflow_ebpf_unwind_tables_evicted",
	 "Number of unwind tables evicted from the BPF maps for room.", PF_RECEIVER,
	 PF_CTR_EBPF_TABLES_EVICTED, BY_COUNTING},
};

/* Writes a label value with Prometheus escaping. */
static void put_label(FILE *f, const char *name, const char *value)
{
	fprintf(f, "%s=\"", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* True when an earlier component already stood for the same series. */
static bool seen_before(const struct pf_service *s, size_t i, enum label_kind labels)
{
	const struct pf_component *c = pf_service_component(s, i);
	for (size_t j = 0; j < i; j++) {
		const struct pf_component *o = pf_service_component(s, j);
		if (o->def->kind == c->def->kind && strcmp(o->id, c->id) == 0 &&
		    labels >= BY_PROCESSOR)
			return true;
	}
	return false;
}

/* The sum of ctr over every instance with c's kind and id (processors
 * exist once per pipeline). */
static uint64_t sum_same(const struct pf_service *s, const struct pf_component *c,
			 enum pf_counter ctr)
{
	uint64_t sum = 0;
	for (size_t j = 0; j < pf_service_n_components(s); j++) {
		const struct pf_component *o = pf_service_component(s, j);
		if (o->def->kind == c->def->kind && strcmp(o->id, c->id) == 0)
			sum += pf_component_counter(o, ctr);
	}
	return sum;
}

static void put_family(FILE *f, const struct pf_service *s, const struct family *fam)
{
	bool header = false;

	for (size_t i = 0; i < pf_service_n_components(s); i++) {
		const struct pf_component *c = pf_service_component(s, i);
		if (fam->labels < BY_COMPONENT && c->def->kind != fam->kind)
			continue;
		if (fam->labels == BY_COUNTING && !(c->counters_set & (1u << fam->ctr)))
			continue;
		if (seen_before(s, i, fam->labels))
			continue;
		if (!header) {
			fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", fam->name, fam->help,
				fam->name);
			header = true;
		}
		fprintf(f, "%s{", fam->name);
		switch (fam->labels) {
		case BY_RECEIVER:
			put_label(f, "receiver", c->id);
			fputc(',', f);
			put_label(f, "transport", c->transport);
			break;
		case BY_EXPORTER: put_label(f, "exporter", c->id); break;
		case BY_PROCESSOR:
			put_label(f, "otel_signal", "profiles");
			fputc(',', f);
			put_label(f, "processor", c->id);
			break;
		case BY_COMPONENT:
		case BY_COUNTING: put_label(f, "component", c->log_id); break;
		}
		fprintf(f, "} %llu\n", (unsigned long long)sum_same(s, c, fam->ctr));
	}
}

static void put_drops(FILE *f, const struct pf_service *s)
{
	bool header = false;

	for (size_t i = 0; i < pf_service_n_components(s); i++) {
		const struct pf_component *c = pf_service_component(s, i);
		for (size_t k = 0; k <= PF_DROP_REASONS; k++) {
			const struct pf_drop_count *d = &c->drops[k];
			if (d->n == 0)
				continue;
			if (!header) {
				fputs("# HELP proflow_component_dropped_profile_samples Number of "
				      "profile samples a component dropped, by reason.\n"
				      "# TYPE proflow_component_dropped_profile_samples counter\n",
				      f);
				header = true;
			}
			/* Processors in several pipelines give several series with equal
			 * labels only if they drop for the same reason; rare, and
			 * Prometheus keeps the last, so sum them here instead. */
			uint64_t n = d->n;
			bool dup = false;
			for (size_t j = 0; j < pf_service_n_components(s); j++) {
				const struct pf_component *o = pf_service_component(s, j);
				if (o == c || strcmp(o->log_id, c->log_id) != 0)
					continue;
				for (size_t m = 0; m <= PF_DROP_REASONS; m++) {
					if (strcmp(o->drops[m].reason, d->reason) != 0)
						continue;
					if (j < i)
						dup = true;
					n += o->drops[m].n;
				}
			}
			if (dup)
				continue;
			fputs("proflow_component_dropped_profile_samples{", f);
			put_label(f, "component", c->log_id);
			fputc(',', f);
			put_label(f, "reason", d->reason);
			fprintf(f, "} %llu\n", (unsigned long long)n);
		}
	}
}

static void put_gauge(FILE *f, const struct pf_service *s, const char *name, const char *help,
		      enum pf_gauge g)
{
	bool header = false;

	for (size_t i = 0; i < pf_service_n_components(s); i++) {
		const struct pf_component *c = pf_service_component(s, i);
		if (!(c->gauges_set & (1u << g)))
			continue;
		if (!header) {
			fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
			header = true;
		}
		fprintf(f, "%s{", name);
		if (c->def->kind == PF_EXPORTER)
			put_label(f, "exporter", c->id);
		else
			put_label(f, "component", c->log_id);
		fprintf(f, "} %lld\n", (long long)c->gauges[g]);
	}
}

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * sysconf(_SC_PAGESIZE);
}

static void put_process(FILE *f, const struct pf_service *s)
{
	struct rusage ru;
	struct timeval now;
	double cpu = 0;

	gettimeofday(&now, NULL);
	double uptime = (double)((uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_usec / 1000 -
				 pf_service_start_time_ms(s)) /
			1000.0;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	fprintf(f,
		"# HELP otelcol_process_uptime Uptime of the process in seconds.\n"
		"# TYPE otelcol_process_uptime counter\n"
		"otelcol_process_uptime %.3f\n"
		"# HELP otelcol_process_cpu_seconds Total CPU user and system time in seconds.\n"
		"# TYPE otelcol_process_cpu_seconds counter\n"
		"otelcol_process_cpu_seconds %.3f\n"
		"# HELP otelcol_process_memory_rss Total physical memory (resident set size) in "
		"bytes.\n"
		"# TYPE otelcol_process_memory_rss gauge\n"
		"otelcol_process_memory_rss %ld\n",
		uptime, cpu, rss_bytes());
}

char *pf_telemetry_render(const struct pf_service *s, size_t *len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	if (!f)
		return NULL;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		put_family(f, s, &families[i]);
	put_gauge(f, s, "otelcol_exporter_queue_size",
		  "Current size of the retry queue (in batches).", PF_GAUGE_QUEUE_SIZE);
	put_gauge(f, s, "otelcol_exporter_queue_capacity",
		  "Fixed capacity of the retry queue (in batches).", PF_GAUGE_QUEUE_CAPACITY);
	put_gauge(f, s, "proflow_ebpf_unwind_tables",
		  "Files whose unwind tables are in the BPF maps.", PF_GAUGE_UNWIND_TABLES);
	put_gauge(f, s, "proflow_ebpf_unwind_row_bytes", "Bytes of unwind rows the BPF maps hold.",
		  PF_GAUGE_UNWIND_ROW_BYTES);
	put_gauge(f, s, "proflow_ebpf_unwind_map_bytes",
		  "Bytes of the unwind maps (allocated whole when loaded).",
		  PF_GAUGE_UNWIND_MAP_BYTES);
	put_gauge(f, s, "proflow_ebpf_unwind_user_bytes",
		  "Bytes the unwind table cache holds in user space.", PF_GAUGE_UNWIND_USER_BYTES);
	put_drops(f, s);
	put_process(f, s);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	*len = n;
	return text;
}

void pf_telemetry_log_summary(const struct pf_service *s, const struct pf_logger *lg)
{
	for (size_t i = 0; i < pf_service_n_components(s); i++) {
		const struct pf_component *c = pf_service_component(s, i);
		const uint64_t *n = c->counters;
		switch (c->def->kind) {
		case PF_RECEIVER:
			pf_log(lg, PF_LOG_INFO,
			       "%s: accepted %llu, refused %llu, failed %llu samples; dropped "
			       "%llu; "
			       "%llu input errors",
			       c->log_id, (unsigned long long)n[PF_CTR_RECEIVER_ACCEPTED],
			       (unsigned long long)n[PF_CTR_RECEIVER_REFUSED],
			       (unsigned long long)n[PF_CTR_RECEIVER_FAILED],
			       (unsigned long long)n[PF_CTR_DROPPED],
			       (unsigned long long)n[PF_CTR_INPUT_ERRORS]);
			break;
		case PF_PROCESSOR:
			pf_log(lg, PF_LOG_INFO, "%s in %s: %llu samples in, %llu out; dropped %llu",
			       c->log_id, c->pipeline ? c->pipeline : "?",
			       (unsigned long long)n[PF_CTR_PROCESSOR_INCOMING],
			       (unsigned long long)n[PF_CTR_PROCESSOR_OUTGOING],
			       (unsigned long long)n[PF_CTR_DROPPED]);
			break;
		case PF_EXPORTER:
			pf_log(lg, PF_LOG_INFO,
			       "%s: sent %llu, send failed %llu, enqueue failed %llu samples; "
			       "dropped %llu",
			       c->log_id, (unsigned long long)n[PF_CTR_EXPORTER_SENT],
			       (unsigned long long)n[PF_CTR_EXPORTER_SEND_FAILED],
			       (unsigned long long)n[PF_CTR_EXPORTER_ENQUEUE_FAILED],
			       (unsigned long long)n[PF_CTR_DROPPED]);
			break;
		case PF_EXTENSION: break;
		}
	}
}

static void on_metrics(void *arg, const struct pf_http_request *req, struct pf_http_response *resp)
{
	struct pf_telemetry *t = arg;
	size_t len = 0;

	resp->body = pf_telemetry_render(t->svc, &len);
	if (!resp->body) {
		resp->status = 500;
		return;
	}
	resp->status = 200;
	resp->body_len = len;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

struct pf_telemetry *pf_telemetry_start(struct pf_service *s, const char *address,
					struct pf_error *err)
{
	struct pf_telemetry *t = calloc(1, sizeof(*t));

	if (!t) {
		pf_error_set(err, "", "out of memory");
		return NULL;
	}
	t->svc = s;
	t->http = pf_http_server_create(pf_service_loop(s), address, MAX_BODY, err);
	if (!t->http)
		goto out_free;
	if (pf_http_server_route(t->http, "GET", "/metrics", on_metrics, t) < 0) {
		pf_error_set(err, "", "out of memory");
		goto out_close;
	}
	if (pf_http_server_start(t->http, err) < 0)
		goto out_close;
	return t;

out_close:
	pf_http_server_close(t->http, NULL, NULL);
out_free:
	free(t);
	return NULL;
}

unsigned pf_telemetry_port(const struct pf_telemetry *t)
{
	return pf_http_server_port(t->http);
}

void pf_telemetry_close(struct pf_telemetry *t, pf_http_closed_fn done, void *arg)
{
	if (!t) {
		if (done)
			done(arg);
		return;
	}
	struct pf_http_server *http = t->http;
	free(t);
	pf_http_server_close(http, done, arg);
}
