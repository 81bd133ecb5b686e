/* SPDX-License-Identifier: Apache-2.0 */
/* Test harness for receivers: a real service from YAML whose `capture` exporter keeps every batch, and a two-stack test batch. */
#ifndef PF_TEST_RECEIVER_HARNESS_H
#define PF_TEST_RECEIVER_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sinks_harness.h"

#define RH_MAX_BATCHES 256

/* The instance of exporter type `capture`: a reference to every batch it
 * accepted; it refuses (PF_BUSY) while `busy`. It outlives the service's
 * shutdown so that the test can look; rh_env_free() frees it. */
struct rh_capture {
	struct pf_component *c;
	struct pf_batch *got[RH_MAX_BATCHES];
	size_t n_got;
	bool busy;
	/* hold: take a part of each batch's acknowledgement, as an exporter
	 * that queues later does; rh_settle() settles them */
	bool hold;
	struct pf_ack *held[RH_MAX_BATCHES];
	size_t n_held;
};

/* Settles every part the capture holds with `result`. */
void rh_settle(struct rh_capture *cap, int result);

/* Exporter type `capture`, for the test's registry. */
extern const struct pf_component_def rh_capture_def;

/* The service (sinks_harness.h's, with the test's registry). */
struct rh_env {
	struct sh_env sh;
	struct rh_capture *cap;
	struct pf_component *recv; /* the receiver under test */
};

/* Loads `yaml` against `registry` (telemetry off), builds and starts the
 * service and finds receiver `receiver_id` and exporter "capture". Fails
 * the test on any error. */
void rh_env_start(struct rh_env *env, const struct pf_component_def *const *registry,
		  const char *yaml, const char *receiver_id);

/* Shuts the service down and runs the loop until it stopped (asserted, in
 * time). Returns how long it took in ms. */
uint64_t rh_env_shutdown(struct rh_env *env);

/* Frees everything and checks that no handle is left open. */
void rh_env_free(struct rh_env *env);

/* Both. */
void rh_env_stop(struct rh_env *env);

/* Runs the loop until cond(env) holds (NULL: never) or timeout_ms passed;
 * returns cond (true without one). */
bool rh_run_until(struct rh_env *env, bool (*cond)(struct rh_env *env), uint64_t timeout_ms);

/* The samples and the sum of the first values of every captured batch. */
size_t rh_samples(const struct rh_env *env);
int64_t rh_sum(const struct rh_env *env);

/* A batch with one CPU profile of sample type samples/count and n samples
 * worth values[0..n), alternately on stacks main.hot and main.cold. */
struct pf_batch *rh_batch(const int64_t *values, size_t n);

#endif
