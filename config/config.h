/* SPDX-License-Identifier: Apache-2.0 */
/* Loading the collector config: YAML files, env expansion, --set, option tables, validation. */
#ifndef PF_CONFIG_H
#define PF_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/component.h"
#include "core/error.h"
#include "core/log.h"

/*
 * The config has the OpenTelemetry Collector's shape:
 *
 *   receivers:  { <type>[/<name>]: {options...} }
 *   processors: { ... }
 *   exporters:  { ... }
 *   extensions: { ... }
 *   service:
 *     extensions: [ids]
 *     pipelines:  { profiles[/<name>]: {receivers: [], processors: [], exporters: []} }
 *     telemetry:  { logs: {level: info}, metrics: {address: 127.0.0.1:8888} }
 *     shutdown_timeout: 10s
 *
 * Every error is reported as "file:line:col: message" through struct
 * pf_error; the loader never prints. Warnings (defined but unused
 * components) are collected in `warnings`.
 */

/* One configured component: an id bound to its type's definition and its
 * parsed config struct (config_size bytes, owned by struct pf_config). */
struct pf_config_component {
	char *id;   /* "type" or "type/name" */
	char *name; /* the part after '/', or "" */
	const struct pf_component_def *def;
	void *config;
	char where[PF_ERROR_WHERE_MAX]; /* file:line:col of its key */
	unsigned used;			/* number of pipelines (or service.extensions) naming it */
};

struct pf_config_pipeline {
	char *id; /* "profiles" or "profiles/name" */
	char where[PF_ERROR_WHERE_MAX];
	/* Indices into pf_config.components, in the order written. */
	size_t *receivers, n_receivers;
	size_t *processors, n_processors;
	size_t *exporters, n_exporters;
};

struct pf_config {
	struct pf_config_component *components;
	size_t n_components;
	struct pf_config_pipeline *pipelines;
	size_t n_pipelines;
	size_t *extensions; /* service.extensions, indices into components */
	size_t n_extensions;

	enum pf_log_level log_level; /* service.telemetry.logs.level, default info */
	char *metrics_address; /* service.telemetry.metrics.address, default 127.0.0.1:8888; "" disables */
	int64_t shutdown_timeout_ns; /* service.shutdown_timeout, default 10s */

	char **warnings; /* "file:line:col: message" each */
	size_t n_warnings;
};

/* What to load: files merged in order (maps merged key by key, sequences and
 * scalars replaced), then `--set key.path=value` overrides in order. */
struct pf_config_sources {
	const char *const *files;
	size_t n_files;
	const char *const *sets;
	size_t n_sets;
	/* Looks up an environment variable; NULL means getenv(). Tests inject their own. */
	const char *(*getenv)(const char *name, void *arg);
	void *getenv_arg;
};

/* Loads, expands, parses and validates the whole config against the
 * NULL-terminated registry of component definitions. Returns the config, or
 * NULL with `err` naming the first problem as file:line:col. The caller owns
 * the result and frees it with pf_config_free(). */
struct pf_config *pf_config_load(const struct pf_config_sources *src,
				 const struct pf_component_def *const *registry,
				 struct pf_error *err);

/* Same from an in-memory YAML text; `name` stands for the file name in
 * positions. For tests and fuzzing. */
struct pf_config *pf_config_load_string(const char *name, const char *yaml, size_t len,
					const struct pf_component_def *const *registry,
					struct pf_error *err);

/* Frees the config and every option value it holds. Takes NULL. */
void pf_config_free(struct pf_config *cfg);

/* Parses one option value from text as the config loader would (used for
 * defaults and by tests). Stores into the field at opt->offset of `config`.
 * Returns 0 or -EINVAL with `err` (its `where` left empty). */
int pf_option_parse(const struct pf_option *opt, const char *text, void *config,
		    struct pf_error *err);

/* Parses "1h2m3.5s", "200ms", "10us", "5ns" or a bare number of seconds. */
int pf_parse_duration(const char *text, int64_t *ns);

/* Parses "64MiB", "1.5GB", "512KiB", "100" (bytes). */
int pf_parse_size(const char *text, int64_t *bytes);

/* Checks the syntax of a listen endpoint as PF_OPT_ENDPOINT options take it:
 * "host:port", "[ipv6]:port" or ":port" (every interface), the port 0..65535
 * (0: any free port), the host a DNS name or an IPv4 address (not resolved
 * here). "" passes only when `empty_ok`. Returns 0, or -EINVAL with the
 * reason (quoting `text`) in msg. */
int pf_config_check_endpoint(const char *text, bool empty_ok, char *msg, size_t size);

#endif
