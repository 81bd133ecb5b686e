/* SPDX-License-Identifier: Apache-2.0 */
/* The running service: the component graph built from a config, its start and its shutdown. */
#ifndef PF_SERVICE_H
#define PF_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "core/component.h"

/*
 * The graph follows the OpenTelemetry Collector: one instance per receiver
 * id and per exporter id, shared by every pipeline naming it; one processor
 * instance per (pipeline, processor); one instance per extension listed in
 * service.extensions. A receiver's emit fans out to the first processor (or
 * the exporters) of every pipeline it is in; processors chain; exporters
 * consume. A receiver in two pipelines that lead to the same exporter with
 * no processor between hands that exporter each batch twice, as the
 * Collector does.
 *
 * Results of a fan-out: PF_OK when every consumer took the batch; PF_BUSY
 * when any said busy, even though others may have taken it and keep it (so
 * a retry may deliver the same samples to those again: at-least-once);
 * otherwise the first negative error. A batch is shared read-only between
 * consumers; a processor whose definition sets `mutates` gets its own
 * pf_batch_copy() whenever the batch is shared or goes to more than one
 * consumer.
 *
 * Start: extensions, exporters, processors, receivers (each kind in config
 * order), after the self-telemetry endpoint. Shutdown: the reverse, one
 * component at a time, each awaited through its done callback, all within
 * service.shutdown_timeout.
 */

struct pf_service;
struct pf_component;

/* Called once shutdown is over. `timed_out` is true when the deadline
 * passed with components still running: their handles may still be open,
 * so the loop must not be closed; the caller should exit. */
typedef void (*pf_service_done_fn)(struct pf_service *s, bool timed_out, void *arg);

/* Builds the graph of `cfg` (borrowed: it must outlive the service) on
 * `loop`. Creates no instance and touches no loop. host_name is copied.
 * Returns NULL on ENOMEM. */
struct pf_service *pf_service_create(uv_loop_t *loop, const struct pf_config *cfg,
				     const char *host_name);

/* Starts the telemetry endpoint, creates every instance, then starts them
 * in order. Returns 0, or the first negative error (logged); the caller
 * must then call pf_service_shutdown(), which releases what was made. */
int pf_service_start(struct pf_service *s);

/* Begins shutdown (also valid before or after a failed start); done(s,
 * timed_out, arg) is called once, possibly before this returns. A second
 * call does nothing. */
void pf_service_shutdown(struct pf_service *s, pf_service_done_fn done, void *arg);

/* Frees the service after shutdown is done (or before it ever started).
 * Takes NULL. */
void pf_service_destroy(struct pf_service *s);

/* ---- accessors for components and telemetry ---- */

uv_loop_t *pf_service_loop(const struct pf_service *s);
const char *pf_service_host_name(const struct pf_service *s);
/* True between "all started" and "shutdown begun". */
bool pf_service_ready(const struct pf_service *s);
/* uv_now() ms by which shutdown must end; 0 before shutdown. */
uint64_t pf_service_deadline(const struct pf_service *s);
/* The instances in start order. */
size_t pf_service_n_components(const struct pf_service *s);
struct pf_component *pf_service_component(const struct pf_service *s, size_t i);
/* The first instance with this kind and id, or NULL. */
struct pf_component *pf_service_find(const struct pf_service *s, enum pf_kind kind, const char *id);
/* The port the telemetry endpoint bound (0 when disabled or not started). */
unsigned pf_service_metrics_port(const struct pf_service *s);
/* Wall-clock start time of the service, for uptime. */
uint64_t pf_service_start_time_ms(const struct pf_service *s);

#endif
