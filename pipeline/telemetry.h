/* SPDX-License-Identifier: Apache-2.0 */
/* Self-telemetry: the service's counters as Prometheus text on an HTTP endpoint. */
#ifndef PF_TELEMETRY_H
#define PF_TELEMETRY_H

#include <stddef.h>

#include "core/error.h"
#include "transport/http_server.h"
#include "core/log.h"

struct pf_service;
struct pf_telemetry;

/* Renders every counter of s, then the process metrics, in the Prometheus
 * text format (version 0.0.4). Returns a malloc'ed NUL-terminated text
 * (length in *len) owned by the caller, or NULL on ENOMEM. */
char *pf_telemetry_render(const struct pf_service *s, size_t *len);

/* Logs one line per component with its counters (at info), for the log's
 * end-of-run summary. */
void pf_telemetry_log_summary(const struct pf_service *s, const struct pf_logger *lg);

/* Serves pf_telemetry_render() at http://address/metrics on s's loop.
 * Returns NULL with `err` set when the address is bad or cannot be bound. */
struct pf_telemetry *pf_telemetry_start(struct pf_service *s, const char *address,
					struct pf_error *err);

/* The bound port (useful with port 0). */
unsigned pf_telemetry_port(const struct pf_telemetry *t);

/* Stops serving, frees t, then calls done(arg). Takes NULL (done is then
 * called at once, when set). */
void pf_telemetry_close(struct pf_telemetry *t, pf_http_closed_fn done, void *arg);

#endif
