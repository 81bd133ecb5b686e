/* SPDX-License-Identifier: Apache-2.0 */
/* The framework's side of struct pf_component: what the service, fan-out and telemetry use. */
#ifndef PF_COMPONENT_INTERNAL_H
#define PF_COMPONENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/component.h"

struct pf_service;

#define PF_DROP_REASONS	   8 /* distinct reasons kept per component; more count as "other" */
#define PF_DROP_REASON_MAX 32

enum pf_component_state {
	PF_STATE_NEW,	   /* wrapper only, no instance */
	PF_STATE_CREATED,  /* def->create returned an instance */
	PF_STATE_STARTED,  /* def->start returned 0 */
	PF_STATE_STOPPING, /* def->shutdown called, done not yet */
	PF_STATE_STOPPED,  /* done called (or never created): the instance is gone */
};

struct pf_drop_count {
	char reason[PF_DROP_REASON_MAX];
	uint64_t n;
};

/*
 * One component instance in the running graph. Owned by the service. `id`
 * and `config` are borrowed from struct pf_config, which must outlive it.
 * `next` lists the consumers emit() hands batches to (borrowed pointers to
 * other components of the same service).
 */
struct pf_component {
	const struct pf_component_def *def;
	const char *id;
	const void *config;
	const char *pipeline; /* processors: the pipeline id; NULL otherwise */
	char *log_id;	      /* "receiver/otlp" */
	struct pf_logger logger;
	struct pf_service *svc;
	void *inst;
	enum pf_component_state state;
	bool started; /* start succeeded at some point */
	const char *transport;

	struct pf_component **next;
	size_t n_next;
	struct pf_ack *acking; /* during consume/emit: the request's acknowledgement, or NULL */

	uint64_t counters[PF_CTR__COUNT];
	unsigned counters_set; /* bit per enum pf_counter ever counted */
	int64_t gauges[PF_GAUGE__COUNT];
	unsigned gauges_set;				 /* bit per enum pf_gauge */
	struct pf_drop_count drops[PF_DROP_REASONS + 1]; /* the last is "other" */
};

/* A wrapper for configured component `id` of type `def` in service `svc`.
 * Creates no instance. Returns NULL on ENOMEM. */
struct pf_component *pf_component_new(struct pf_service *svc, const struct pf_component_def *def,
				      const char *id, const void *config, enum pf_log_level level);

/* Frees the wrapper (not the instance, which shutdown frees). Takes NULL. */
void pf_component_free(struct pf_component *c);

/* Adds `to` to c's consumers. Returns 0 or -ENOMEM. */
int pf_component_link(struct pf_component *c, struct pf_component *to);

/* Calls def->create. Returns 0, or -EINVAL when create returned NULL. */
int pf_component_create_instance(struct pf_component *c);

/* Calls def->start (when set). Returns its result. */
int pf_component_start_instance(struct pf_component *c);

/* Calls def->shutdown(inst, done), or done(c) at once when there is no
 * instance or no shutdown function. */
void pf_component_shutdown_instance(struct pf_component *c, pf_done_fn done);

/* The value of a counter. */
uint64_t pf_component_counter(const struct pf_component *c, enum pf_counter ctr);

#endif
