/* SPDX-License-Identifier: Apache-2.0 */
/* Test harness for components and exporters: a real service from YAML on a loop, a feeder, a recording sink, batch builders. */
#ifndef PF_TEST_SINKS_HARNESS_H
#define PF_TEST_SINKS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "model/batch.h"
#include "core/component.h"
#include "pipeline/component_internal.h"
#include "pipeline/service.h"

/*
 * The registry the harness loads configs against: aggregate, debug and pprof,
 * plus two test types. `feeder` is a receiver the test drives with
 * pf_component_emit(); `sink` is an exporter that keeps a reference to every
 * batch it accepts (its instance is a struct sh_sink) and refuses while
 * `busy` is set.
 */
struct sh_sink {
	struct pf_batch *got[64];
	size_t n_got;
	bool busy;
	size_t refused;
	bool keep; /* set by the test: survive the sink's shutdown */
};

/* Frees a kept sink and its batches. */
void sh_sink_release(struct sh_sink *sink);

struct sh_env {
	uv_loop_t loop;
	struct pf_config *cfg;
	struct pf_service *svc;
	bool stopped;
	bool timed_out;
};

/* Loads `yaml` (telemetry is disabled by the harness unless the YAML sets
 * it), builds and starts the service. Fails the test on any error. */
void sh_env_start(struct sh_env *env, const char *yaml);

/* The same against another registry, which may list sh_feeder_def and
 * sh_sink_def. */
void sh_env_start_with(struct sh_env *env, const char *yaml,
		       const struct pf_component_def *const *registry);

/* The `feeder` receiver and `sink` exporter types, for other registries. */
extern const struct pf_component_def sh_feeder_def;
extern const struct pf_component_def sh_sink_def;

/* Loads `yaml` against the harness registry; NULL with err on failure. */
struct pf_config *sh_load(const char *yaml, struct pf_error *err);

/* Shuts the service down and runs the loop until it is done (within its
 * shutdown_timeout). Counters stay readable until sh_env_free(). */
void sh_env_shutdown(struct sh_env *env);

/* Frees everything and checks that no handle is left open. */
void sh_env_free(struct sh_env *env);

/* Both. */
void sh_env_stop(struct sh_env *env);

/* The component with this kind and id (asserted to exist). */
struct pf_component *sh_find(struct sh_env *env, enum pf_kind kind, const char *id);

/* The sink instance of exporter `id`. */
struct sh_sink *sh_sink(struct sh_env *env, const char *id);

/* Runs the loop for `ms` milliseconds. */
void sh_run_for(struct sh_env *env, uint64_t ms);

/* Runs the loop until cond(arg) holds, for at most timeout_ms; returns cond. */
bool sh_run_until(struct sh_env *env, bool (*cond)(void *arg), void *arg, uint64_t timeout_ms);

/* Runs the loop until exporter `id` has settled `want` samples (sent or
 * failed), for at most timeout_ms; returns whether it did. */
bool sh_wait_settled(struct sh_env *env, const char *id, uint64_t want, uint64_t timeout_ms);

/* ---- batch builders ---- */

/* A profile for a resource with service.name (NULL: none) and process.pid
 * (< 0: none), of sample type type/unit, at time_ns. Returns its index. */
uint32_t sh_profile(struct pf_batch *b, const char *service, int64_t pid, const char *type,
		    const char *unit, uint64_t time_ns);

/* A stack of one-line locations, one per function named in `frames`, leaf
 * first, NULL-terminated. */
uint32_t sh_stack(struct pf_batch *b, const char *const *frames);

/* Adds a sample with one value. */
void sh_sample(struct pf_batch *b, uint32_t p, const char *const *frames, int64_t value);

/* The sum of the values of the samples of profiles of sample type `type`
 * whose leaf function is `leaf` (NULL: any); timestamps-only samples count 1
 * per timestamp. */
int64_t sh_sum(const struct pf_batch *b, const char *type, const char *leaf);

#endif
