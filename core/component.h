/* SPDX-License-Identifier: Apache-2.0 */
/* The component contract: what every receiver, processor, exporter and extension provides. */
#ifndef PF_COMPONENT_H
#define PF_COMPONENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "error.h"
#include "log.h"
#include "option.h"

struct pf_auth_client_ops;
struct pf_auth_server_ops;
struct pf_batch;
struct pf_component;

enum pf_kind {
	PF_RECEIVER,
	PF_PROCESSOR,
	PF_EXPORTER,
	PF_EXTENSION,
};

/* Results of consume and emit. Negative values are -errno style errors. */
#define PF_OK	   0
#define PF_BUSY	   1 /* downstream is full; nothing was taken, try again later */
#define PF_PENDING 2 /* pf_component_emit_acked(): the result comes to the callback */

/* Called by a component's shutdown once it has closed its handles and freed
 * itself. */
typedef void (*pf_done_fn)(struct pf_component *c);

/*
 * One const definition per component type, in <kind>s/<type>/<type>.c, named
 * in exactly one place besides: the registry in main/registry.c.
 *
 * Lifecycle (OpenTelemetry Collector semantics, on the libuv loop thread):
 *  - create(c, config): allocate and check; touch no loop. Returns the
 *    instance or NULL (after pf_log'ing why).
 *  - start(inst): register libuv handles. Returns 0 or a negative error,
 *    which aborts startup.
 *  - consume(inst, batch): processors and exporters. Never blocks. The batch
 *    is borrowed: take a reference (pf_batch_ref) to keep it. Unless the
 *    definition sets `mutates`, the batch is read-only. Returns PF_OK,
 *    PF_BUSY or a negative error.
 *  - shutdown(inst, done): stop intake, flush or drain until
 *    pf_component_deadline(c), close handles, free the instance in the last
 *    close callback, then call done(c) exactly once. Safe before start and
 *    when called twice (the second call may do nothing but must not call
 *    done again).
 */
struct pf_component_def {
	enum pf_kind kind;
	const char *type;
	const char *const *aliases; /* other accepted type names, NULL-terminated, or NULL */
	const char *doc;	    /* one line */
	const char *stability;	    /* "development", "alpha", "beta", "stable" */
	const struct pf_option *options;
	size_t config_size;
	bool mutates; /* processors: changes batches in place (gets a private copy) */
	/* extensions: what an authenticator provides (pipeline/auth.h): headers
	 * for exporters' requests, checks of receivers' requests */
	const struct pf_auth_client_ops *auth_client;
	const struct pf_auth_server_ops *auth_server;

	int (*validate)(const void *config, struct pf_error *err);
	void *(*create)(struct pf_component *c, const void *config);
	int (*start)(void *inst);
	int (*consume)(void *inst, struct pf_batch *batch);
	void (*shutdown)(void *inst, pf_done_fn done);
};

/* Per-component counters, named for the OTel Collector metric they feed. */
enum pf_counter {
	PF_CTR_RECEIVER_ACCEPTED,	/* otelcol_receiver_accepted_profile_samples */
	PF_CTR_RECEIVER_REFUSED,	/* otelcol_receiver_refused_profile_samples */
	PF_CTR_RECEIVER_FAILED,		/* otelcol_receiver_failed_profile_samples */
	PF_CTR_EXPORTER_SENT,		/* otelcol_exporter_sent_profile_samples */
	PF_CTR_EXPORTER_SEND_FAILED,	/* otelcol_exporter_send_failed_profile_samples */
	PF_CTR_EXPORTER_ENQUEUE_FAILED, /* otelcol_exporter_enqueue_failed_profile_samples */
	PF_CTR_PROCESSOR_INCOMING,	/* otelcol_processor_incoming_items */
	PF_CTR_PROCESSOR_OUTGOING,	/* otelcol_processor_outgoing_items */
	PF_CTR_DROPPED,			/* proflow_component_dropped_profile_samples{reason} */
	PF_CTR_INPUT_ERRORS,		/* proflow_component_input_errors: bad files/responses */
	/* Shown only for components that counted them (even 0). */
	PF_CTR_DEBUGINFOD_REQUESTS,   /* proflow_debuginfod_requests */
	PF_CTR_DEBUGINFOD_FOUND,      /* proflow_debuginfod_found */
	PF_CTR_DEBUGINFOD_FAILED,     /* proflow_debuginfod_failed */
	PF_CTR_DEBUGINFOD_BYTES,      /* proflow_debuginfod_received_bytes */
	PF_CTR_EBPF_STACKS_COMPLETE,  /* proflow_ebpf_user_stacks_complete */
	PF_CTR_EBPF_STACKS_TRUNCATED, /* proflow_ebpf_user_stacks_truncated */
	PF_CTR_EBPF_TABLES_EVICTED,   /* proflow_ebpf_unwind_tables_evicted */
	PF_CTR__COUNT,
};

/* Per-component gauges (exporters with a sending queue, the ebpf receiver). */
enum pf_gauge {
	PF_GAUGE_QUEUE_SIZE,	    /* otelcol_exporter_queue_size: batches queued now */
	PF_GAUGE_QUEUE_CAPACITY,    /* otelcol_exporter_queue_capacity */
	PF_GAUGE_UNWIND_TABLES,	    /* proflow_ebpf_unwind_tables: files with rows loaded */
	PF_GAUGE_UNWIND_ROW_BYTES,  /* proflow_ebpf_unwind_row_bytes: rows held in BPF maps */
	PF_GAUGE_UNWIND_MAP_BYTES,  /* proflow_ebpf_unwind_map_bytes: the maps' whole size */
	PF_GAUGE_UNWIND_USER_BYTES, /* proflow_ebpf_unwind_user_bytes: the cache in user space */
	PF_GAUGE__COUNT,
};

/* ---- what a component may ask of the framework (loop thread only) ---- */

/* The id, "type" or "type/name". */
const char *pf_component_id(const struct pf_component *c);

/* The component's logger, for pf_log(). */
const struct pf_logger *pf_component_logger(const struct pf_component *c);

uv_loop_t *pf_component_loop(const struct pf_component *c);

/* The host name proflow runs on (for host.name). */
const char *pf_component_host_name(const struct pf_component *c);

/* uv_now()-based time, in ms, by which shutdown must have finished. Only
 * meaningful once shutdown has been called. */
uint64_t pf_component_deadline(const struct pf_component *c);

/* Hands a batch to every consumer downstream of c (receivers and
 * processors). The batch stays owned by the caller: consumers that keep it
 * take their own reference, and mutating processors get their own copy.
 * Returns PF_OK when every consumer took it, PF_BUSY when any refused it for
 * lack of room, or a negative error. For receivers the framework counts the
 * samples as accepted, refused or failed accordingly; for processors it
 * counts outgoing items. */
int pf_component_emit(struct pf_component *c, struct pf_batch *batch);

/*
 * Acknowledgements: a receiver whose client waits for an answer emits with
 * pf_component_emit_acked(). While the batch goes downstream (synchronously,
 * through processors' own emits), each consumer that takes responsibility
 * for it later (an exporter that encodes it before queueing it) takes a
 * pending part with pf_component_ack_hold() in its consume and settles it
 * once the batch is in its queue, or failed. When every part is settled the
 * receiver learns the worst result. A consumer that keeps a batch in memory
 * by design (aggregate) or drops it on purpose takes no part: its consume's
 * result is its answer. Loop thread only.
 */
struct pf_ack;

/* Called once with the combined result: PF_OK (every consumer has the batch
 * in its queue), PF_BUSY (one refused it for now: the client may retry) or
 * a negative error. */
typedef void (*pf_ack_fn)(void *arg, int result);

/*
 * pf_component_emit() for a receiver that answers a client. Returns PF_OK,
 * PF_BUSY or a negative error when every consumer settled before it
 * returned (fn is then never called), or PF_PENDING: fn(arg, result) is
 * called once later, on the loop, after this call returned. The receiver's
 * samples are counted as accepted, refused or failed once the result is
 * known. On PF_BUSY or an error, consumers that took the batch keep it
 * (at-least-once when the client sends it again).
 */
int pf_component_emit_acked(struct pf_component *c, struct pf_batch *batch, pf_ack_fn fn,
			    void *arg);

/* In consume: when the batch being consumed belongs to a request whose
 * client waits for an answer, adds one pending part and returns it; NULL
 * otherwise (nobody waits). The caller settles it exactly once. */
struct pf_ack *pf_component_ack_hold(struct pf_component *c);

/* Settles a part from pf_component_ack_hold() with PF_OK (the batch is in
 * the queue, on disk for file storage), PF_BUSY (refused for now) or a
 * negative error. May call the receiver's fn. Takes NULL. */
void pf_ack_settle(struct pf_ack *ack, int result);

/* Adds n to one of c's counters. */
void pf_component_count(struct pf_component *c, enum pf_counter ctr, uint64_t n);

/* Sets a gauge; only gauges ever set are exposed. */
void pf_component_gauge(struct pf_component *c, enum pf_gauge g, int64_t value);

/* Counts n dropped samples with a short reason ("queue_full"). */
void pf_component_drop(struct pf_component *c, const char *reason, uint64_t n);

/* Receivers: the `transport` label of c's receiver metrics ("http", "grpc";
 * empty until set). The string must outlive the component. */
void pf_component_set_transport(struct pf_component *c, const char *transport);

/* For extensions: true once every pipeline has started and none is stopping. */
bool pf_component_pipelines_ready(const struct pf_component *c);

/* The definition of extension `id` ("type[/name]", listed in
 * service.extensions), with its instance in *inst (NULL when it was not
 * created); NULL when there is none. Extensions start before every
 * pipeline, so exporters may look theirs up (auth.authenticator) in start. */
const struct pf_component_def *pf_component_extension_find(const struct pf_component *c,
							   const char *id, void **inst);

#endif
