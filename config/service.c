// SPDX-License-Identifier: Apache-2.0
/* The service section: telemetry, shutdown_timeout, extensions and profiles pipelines. */
#include "loader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct service_settings {
	struct {
		int level;
	} logs;
	struct {
		char *address;
		int level;
	} metrics;
	int64_t shutdown_timeout_ns;
};

/* Indexed like enum pf_log_level. */
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};

static const struct pf_option logs_options[] = {
	{.name = "level",
	 .type = PF_OPT_ENUM,
	 .def = "info",
	 .choices = log_levels,
	 .doc = "Lowest level written to the log."},
	PF_OPTION_END,
};

/* The Collector's metrics levels; proflow only tells "none" (off) from the rest. */
static const char *const metrics_levels[] = {"none", "basic", "normal", "detailed", NULL};

static const struct pf_option metrics_options[] = {
	{.name = "level",
	 .type = PF_OPT_ENUM,
	 .def = "normal",
	 .choices = metrics_levels,
	 .offset = offsetof(struct service_settings, metrics.level) -
		   offsetof(struct service_settings, metrics),
	 .doc = "none disables the metrics endpoint, as in the Collector."},
	{.name = "address",
	 .type = PF_OPT_STRING,
	 .def = "127.0.0.1:8888",
	 .flags = PF_OPT_ENDPOINT | PF_OPT_EMPTY_OFF,
	 .doc = "host:port of the Prometheus metrics endpoint; \"\" disables it."},
	PF_OPTION_END,
};

static const struct pf_option telemetry_options[] = {
	{.name = "logs",
	 .type = PF_OPT_SECTION,
	 .section = logs_options,
	 .offset = offsetof(struct service_settings, logs),
	 .doc = "Self logs."},
	{.name = "metrics",
	 .type = PF_OPT_SECTION,
	 .section = metrics_options,
	 .offset = offsetof(struct service_settings, metrics),
	 .doc = "Self metrics."},
	PF_OPTION_END,
};

static const struct pf_option service_options[] = {
	{.name = "telemetry",
	 .type = PF_OPT_SECTION,
	 .section = telemetry_options,
	 .doc = "proflow's own logs and metrics."},
	{.name = "shutdown_timeout",
	 .type = PF_OPT_DURATION,
	 .def = "10s",
	 .min = 0,
	 .max = 3600e9,
	 .offset = offsetof(struct service_settings, shutdown_timeout_ns),
	 .doc = "How long shutdown may drain queues."},
	PF_OPTION_END,
};

static const char *const pipeline_keys[] = {"receivers", "processors", "exporters", NULL};

/* Resolves a list of ids of one kind into indices, rejecting repeats. */
static int resolve_list(struct pf_cloader *l, const char *pipeline, enum pf_kind kind,
			const struct pf_cnode *list, size_t **out, size_t *n_out)
{
	const char *kname = pf_cloader_kind_name(kind);
	*out = NULL;
	*n_out = 0;
	if (pf_cnode_is_null(list))
		return 0;
	if (list->kind != PF_CNODE_SEQ)
		return pf_cnode_error(l->err, list, "%s: expected a list of %s ids, got %s",
				      pipeline, kname, pf_cnode_kind_name(list));
	if (list->n == 0)
		return 0;
	size_t *idx = calloc(list->n, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	struct pf_strindex seen;
	pf_strindex_init(&seen);
	int rc = 0;
	for (size_t i = 0; i < list->n && rc == 0; i++) {
		const struct pf_cnode *ref = list->items[i];
		if (ref->kind != PF_CNODE_SCALAR || pf_cnode_is_null(ref)) {
			rc = pf_cnode_error(l->err, ref, "%s: expected a %s id, got %s", pipeline,
					    kname, pf_cnode_kind_name(ref));
			break;
		}
		if (!pf_strindex_get(&l->ids[kind], ref->text, &idx[i])) {
			rc = pf_cnode_error(
				l->err, ref,
				"%s references %s \"%.64s\", which is not defined under %ss",
				pipeline, kname, ref->text, kname);
			break;
		}
		rc = pf_strindex_put(&seen, ref->text, i, NULL);
		if (rc == 1)
			rc = pf_cnode_error(l->err, ref, "%s lists %s \"%.64s\" more than once",
					    pipeline, kname, ref->text);
		else if (rc == 0)
			l->cfg->components[idx[i]].used++;
	}
	pf_strindex_fini(&seen);
	if (rc < 0) {
		free(idx);
		return rc;
	}
	*out = idx;
	*n_out = list->n;
	return 0;
}

static int check_pipeline_id(struct pf_cloader *l, const struct pf_cnode *key)
{
	const char *slash = strchr(key->text, '/');
	size_t slen = slash ? (size_t)(slash - key->text) : key->len;
	static const char *const others[] = {"traces", "metrics", "logs", NULL};
	for (size_t i = 0; others[i]; i++)
		if (strlen(others[i]) == slen && memcmp(others[i], key->text, slen) == 0)
			return pf_cnode_error(
				l->err, key,
				"pipeline \"%.64s\": proflow handles profiles only, not %s",
				key->text, others[i]);
	if (slen != 8 || memcmp(key->text, "profiles", 8) != 0)
		return pf_cnode_error(
			l->err, key,
			"invalid pipeline id \"%.64s\": expected profiles or profiles/<name>",
			key->text);
	char msg[256];
	size_t tlen;
	if (pf_cloader_check_id(key->text, &tlen, msg, sizeof(msg)) < 0)
		return pf_cnode_error(l->err, key, "invalid pipeline id \"%.64s\": %s", key->text,
				      msg);
	return 0;
}

static int load_pipeline(struct pf_cloader *l, const struct pf_cnode *key,
			 const struct pf_cnode *value, struct pf_config_pipeline *p)
{
	char what[128];
	int rc = check_pipeline_id(l, key);
	if (rc < 0)
		return rc;
	p->id = strdup(key->text);
	if (!p->id)
		return -ENOMEM;
	pf_cnode_where(key, p->where, sizeof(p->where));
	snprintf(what, sizeof(what), "pipeline \"%.64s\"", key->text);
	if (!pf_cnode_is_null(value) && value->kind != PF_CNODE_MAP)
		return pf_cnode_error(
			l->err, value,
			"%s: expected a mapping with receivers, processors and exporters, got %s",
			what, pf_cnode_kind_name(value));
	for (size_t i = 0; value && value->kind == PF_CNODE_MAP && i < value->n; i++) {
		bool ok = false;
		for (size_t k = 0; pipeline_keys[k]; k++)
			ok = ok || strcmp(value->keys[i]->text, pipeline_keys[k]) == 0;
		if (!ok)
			return pf_cnode_error(l->err, value->keys[i],
					      "%s: unknown key \"%.64s\"; valid keys: receivers, "
					      "processors, exporters",
					      what, value->keys[i]->text);
	}
	rc = resolve_list(l, what, PF_RECEIVER, pf_cnode_map_get(value, "receivers"), &p->receivers,
			  &p->n_receivers);
	if (rc == 0)
		rc = resolve_list(l, what, PF_PROCESSOR, pf_cnode_map_get(value, "processors"),
				  &p->processors, &p->n_processors);
	if (rc == 0)
		rc = resolve_list(l, what, PF_EXPORTER, pf_cnode_map_get(value, "exporters"),
				  &p->exporters, &p->n_exporters);
	if (rc < 0)
		return rc;
	const struct pf_cnode *pos = pf_cnode_is_null(value) ? key : value;
	if (p->n_receivers == 0)
		return pf_cnode_error(l->err, pos, "%s must have at least one receiver", what);
	if (p->n_exporters == 0)
		return pf_cnode_error(l->err, pos, "%s must have at least one exporter", what);
	return 0;
}

static int load_pipelines(struct pf_cloader *l, const struct pf_cnode *pipelines,
			  const struct pf_cnode *pos)
{
	if (pf_cnode_is_null(pipelines))
		return pf_cnode_error(l->err, pipelines ? pipelines : pos,
				      "service.pipelines: at least one pipeline is required");
	if (pipelines->kind != PF_CNODE_MAP)
		return pf_cnode_error(
			l->err, pipelines,
			"service.pipelines: expected a mapping of pipeline ids, got %s",
			pf_cnode_kind_name(pipelines));
	if (pipelines->n == 0)
		return pf_cnode_error(l->err, pipelines,
				      "service.pipelines: at least one pipeline is required");
	l->cfg->pipelines = calloc(pipelines->n, sizeof(*l->cfg->pipelines));
	if (!l->cfg->pipelines)
		return -ENOMEM;
	for (size_t i = 0; i < pipelines->n; i++) {
		/* Counted first so pf_config_free sees a half-built pipeline. */
		l->cfg->n_pipelines++;
		int rc = load_pipeline(l, pipelines->keys[i], pipelines->items[i],
				       &l->cfg->pipelines[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int load_extensions(struct pf_cloader *l, const struct pf_cnode *list)
{
	return resolve_list(l, "service.extensions", PF_EXTENSION, list, &l->cfg->extensions,
			    &l->cfg->n_extensions);
}

/* Applies telemetry and shutdown_timeout (every key but extensions and pipelines). */
static int load_settings(struct pf_cloader *l, const struct pf_cnode *service,
			 const struct pf_cnode *pos)
{
	struct service_settings s = {0};
	struct pf_cnode shell = {.kind = PF_CNODE_MAP};
	int rc = pf_coptions_defaults(service_options, &s, l->err);
	if (rc < 0)
		goto out_free_settings;
	if (service) {
		shell.file = service->file;
		shell.line = service->line;
		shell.col = service->col;
		/* A shallow view that borrows the service's nodes. */
		shell.keys = calloc(service->n + 1, sizeof(*shell.keys));
		shell.items = calloc(service->n + 1, sizeof(*shell.items));
		rc = -ENOMEM;
		if (!shell.keys || !shell.items)
			goto out_free_shell;
		for (size_t i = 0; i < service->n; i++) {
			const char *k = service->keys[i]->text;
			if (strcmp(k, "extensions") == 0 || strcmp(k, "pipelines") == 0)
				continue;
			shell.keys[shell.n] = service->keys[i];
			shell.items[shell.n++] = service->items[i];
		}
		rc = pf_coptions_apply(service_options, &shell, pos, "service", &s, l->err);
		if (rc < 0)
			goto out_free_shell;
	}
	l->cfg->log_level = (enum pf_log_level)s.logs.level;
	l->cfg->shutdown_timeout_ns = s.shutdown_timeout_ns;
	if (s.metrics.level == 0) { /* none */
		free(s.metrics.address);
		s.metrics.address = strdup("");
		if (!s.metrics.address) {
			rc = -ENOMEM;
			goto out_free_shell;
		}
	}
	l->cfg->metrics_address = s.metrics.address;
	s.metrics.address = NULL;
	rc = 0;

out_free_shell:
	free(shell.keys);
	free(shell.items);
out_free_settings:
	pf_coptions_free(service_options, &s);
	return rc;
}

int pf_cloader_service(struct pf_cloader *l, const struct pf_cnode *service,
		       const struct pf_cnode *root)
{
	if (pf_cnode_is_null(service))
		service = NULL;
	if (service && service->kind != PF_CNODE_MAP)
		return pf_cnode_error(l->err, service, "service: expected a mapping, got %s",
				      pf_cnode_kind_name(service));
	for (size_t i = 0; service && i < service->n; i++) {
		const char *k = service->keys[i]->text;
		if (strcmp(k, "extensions") && strcmp(k, "pipelines") && strcmp(k, "telemetry") &&
		    strcmp(k, "shutdown_timeout"))
			return pf_cnode_error(l->err, service->keys[i],
					      "service: unknown key \"%.64s\"; valid keys: "
					      "extensions, pipelines, telemetry, shutdown_timeout",
					      k);
	}
	const struct pf_cnode *pos = service ? service : root;
	int rc = load_settings(l, service, pos);
	if (rc == 0)
		rc = load_extensions(l, pf_cnode_map_get(service, "extensions"));
	if (rc == 0)
		rc = load_pipelines(l, pf_cnode_map_get(service, "pipelines"), pos);
	return rc;
}
