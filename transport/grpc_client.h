/* SPDX-License-Identifier: Apache-2.0 */
/* A unary-call gRPC client over grpc's C core, with completions handed back to the libuv loop. */
#ifndef PF_GRPC_CLIENT_H
#define PF_GRPC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/error.h"
#include "tls.h"

/*
 * One client is one grpc channel and one completion queue, drained by a
 * thread of its own (DESIGN.md "Threads"); that thread only moves finished
 * calls to a list and wakes the loop with uv_async, so every callback runs
 * on the loop thread. Calls may overlap (HTTP/2 streams on one channel).
 */

struct pf_grpc_client;
struct pf_grpc_call;

/* gRPC status codes (grpc/status.h), so callers need no grpc headers. */
enum pf_grpc_code {
	PF_GRPC_OK = 0,
	PF_GRPC_CANCELLED = 1,
	PF_GRPC_UNKNOWN = 2,
	PF_GRPC_INVALID_ARGUMENT = 3,
	PF_GRPC_DEADLINE_EXCEEDED = 4,
	PF_GRPC_NOT_FOUND = 5,
	PF_GRPC_ALREADY_EXISTS = 6,
	PF_GRPC_PERMISSION_DENIED = 7,
	PF_GRPC_RESOURCE_EXHAUSTED = 8,
	PF_GRPC_FAILED_PRECONDITION = 9,
	PF_GRPC_ABORTED = 10,
	PF_GRPC_OUT_OF_RANGE = 11,
	PF_GRPC_UNIMPLEMENTED = 12,
	PF_GRPC_INTERNAL = 13,
	PF_GRPC_UNAVAILABLE = 14,
	PF_GRPC_DATA_LOSS = 15,
	PF_GRPC_UNAUTHENTICATED = 16,
};

struct pf_grpc_client_config {
	const char *target;		 /* "host:port", "dns:///host:port", "unix:/path" */
	const struct pf_tls_config *tls; /* NULL or tls->insecure: plaintext */
	bool gzip;			 /* grpc-encoding: gzip on requests */
	size_t max_recv;		 /* largest response message; 0 = 4 MiB */
	/* With gzip, compresses each request message into one gzip member
	 * (malloc'd *out; returns 0 or a negative errno) instead of grpc core's
	 * zlib. NULL: core compresses. */
	int (*gzip_fn)(const void *data, size_t size, uint8_t **out, size_t *out_size);
};

/* One request metadata entry. Keys are lowercased when sent; keys ending in
 * "-bin" carry raw bytes (NUL-terminated text here). */
struct pf_grpc_metadata {
	const char *key;
	const char *value;
};

/*
 * How a call ended; borrowed for the completion callback only.
 *  - code: the gRPC status; transport failures come as UNAVAILABLE,
 *    timeouts as DEADLINE_EXCEEDED, pf_grpc_cancel and close as CANCELLED.
 *  - message: the status message ("" when none).
 *  - details: the raw grpc-status-details-bin trailer (a google.rpc.Status
 *    whose details may hold a RetryInfo: decode it with
 *    pf_otlp_decode_status), NULL/0 when absent.
 *  - body: the response message (code OK), NULL/0 when none.
 */
struct pf_grpc_result {
	int code;
	const char *message;
	const uint8_t *details;
	size_t details_size;
	const uint8_t *body;
	size_t body_size;
};

typedef void (*pf_grpc_done_fn)(const struct pf_grpc_result *res, void *arg);
typedef void (*pf_grpc_closed_fn)(void *arg);

/* Creates the channel (it connects lazily) and starts the completion-queue
 * thread; it initialises a uv_async on `loop`, so close it with
 * pf_grpc_client_close before the loop. Reads the PEM files named by `tls`.
 * Returns NULL with `err` filled (unreadable files, out of memory). */
struct pf_grpc_client *pf_grpc_client_new(uv_loop_t *loop, const struct pf_grpc_client_config *cfg,
					  struct pf_error *err);

/*
 * Starts a unary call of `method` ("/pkg.Service/Method") with the request
 * message `body` (copied) and `md` (copied), ending after `timeout_ms` at
 * the latest. Returns 0 and stores the call in *call when `call` is not NULL
 * (valid until `done` runs); `done(res, arg)` then runs exactly once, later,
 * on the loop thread. Returns -ENOMEM, -EINVAL (bad metadata) or -ESHUTDOWN
 * (closing), and then never calls `done`.
 */
int pf_grpc_call(struct pf_grpc_client *cl, const char *method, const void *body, size_t size,
		 const struct pf_grpc_metadata *md, size_t n_md, uint64_t timeout_ms,
		 pf_grpc_done_fn done, void *arg, struct pf_grpc_call **call);

/* Cancels a call still in progress; its `done` runs later with CANCELLED
 * (or with the status it had already reached). */
void pf_grpc_cancel(struct pf_grpc_call *call);

/* Calls started and not yet completed. */
size_t pf_grpc_pending(const struct pf_grpc_client *cl);

/* Cancels every pending call (their `done` run, with CANCELLED), stops the
 * thread, destroys the channel, closes the uv_async and frees the client in
 * its close callback, then calls closed(arg) (may be NULL). Call it once;
 * NULL is accepted (closed is then not called). */
void pf_grpc_client_close(struct pf_grpc_client *cl, pf_grpc_closed_fn closed, void *arg);

/* The code's name ("UNAVAILABLE"). */
const char *pf_grpc_code_name(int code);

#endif
