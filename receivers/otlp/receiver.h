/* SPDX-License-Identifier: Apache-2.0 */
/* Internal contract between the otlp receiver's parts: the instance, the shared export step, the two protocols. */
#ifndef PF_RECEIVER_OTLP_H
#define PF_RECEIVER_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/budget.h"
#include "core/component.h"
#include "core/error.h"
#include "pipeline/auth.h"
#include "transport/http_limits.h"
#include "transport/tls.h"

/* Seconds a busy pipeline asks clients to wait (Retry-After, RetryInfo). */
#define PF_OTLP_RX_RETRY_AFTER_S    1
#define PF_OTLP_RX_RETRY_AFTER_TEXT "1"

/* protocols.grpc and protocols.http; `present` must stay first (PF_OPT_PRESENCE). */
struct pf_otlp_rx_proto {
	bool present;
	char *endpoint;
	struct pf_tls_config tls;
	int64_t max_recv_msg_size_mib;
	int64_t max_concurrent_requests;
	bool include_metadata;
	struct pf_auth_config auth;
	struct pf_http_server_limits http_limits; /* protocols.http only */
};

struct pf_otlp_rx_config {
	struct {
		struct pf_otlp_rx_proto grpc;
		struct pf_otlp_rx_proto http;
	} protocols;
	int64_t decode_memory_limit_mib;
};

struct pf_batch;
struct pf_grpc_server;
struct pf_http_server;

struct pf_otlp_rx {
	struct pf_component *c;
	struct pf_otlp_rx_config cfg;
	struct pf_grpc_server *grpc;
	struct pf_http_server *http;
	struct pf_budget budget; /* decoding memory, shared by both protocols' requests */
	struct pf_auth_server grpc_auth, http_auth; /* each protocol's auth.authenticator */
	unsigned open;				    /* servers still closing */
	bool stopping;
	pf_done_fn done;
};

/* How one export request ended. */
enum pf_otlp_rx_outcome {
	PF_OTLP_RX_OK,
	PF_OTLP_RX_INVALID,  /* 400 / INVALID_ARGUMENT */
	PF_OTLP_RX_TOO_BIG,  /* 413 / RESOURCE_EXHAUSTED */
	PF_OTLP_RX_BUSY,     /* 503 + Retry-After / UNAVAILABLE + RetryInfo */
	PF_OTLP_RX_UNAUTH,   /* 401 / UNAUTHENTICATED */
	PF_OTLP_RX_INTERNAL, /* 500 / INTERNAL */
};

struct pf_otlp_rx_result {
	enum pf_otlp_rx_outcome outcome;
	char message[400];
};

struct pf_metadata;

/* Called once, on the loop, with the outcome of a request whose answer
 * waited for the pipeline (pf_otlp_rx_deliver() returned false). */
typedef void (*pf_otlp_rx_answer_fn)(void *arg, const struct pf_otlp_rx_result *res);

/* Decodes one ExportProfilesServiceRequest (protobuf, or JSON with `json`;
 * already decompressed) of at most max_size bytes, validated whole, and
 * emits it downstream with client metadata `md` (taken; NULL for none).
 * Returns true with `res` filled, or false when the outcome comes later to
 * answer(arg, ...) (see pf_otlp_rx_deliver()). Counts bad input. Loop
 * thread. */
bool pf_otlp_rx_export(struct pf_otlp_rx *r, const void *body, size_t size, size_t max_size,
		       bool json, struct pf_metadata *md, struct pf_otlp_rx_result *res,
		       pf_otlp_rx_answer_fn answer, void *arg);

/* The two halves of pf_otlp_rx_export(). Decoding touches no component
 * and may run on the thread pool, charging what it allocates to `budget`
 * (the receiver's; thread-safe): it returns the number of profiles and the
 * batch in *out (NULL unless > 0), or a negative error with err set
 * (-EFBIG: the request or its decoding is too large; -EBUSY: the budget is
 * in use by other requests).
 * Delivering runs on the loop: it maps the result, counts bad input, emits
 * and drops the batch reference. The answer is OK only once every exporter
 * of the pipeline holds the batch in its queue (on disk for file storage);
 * a refusal is BUSY (503 / UNAVAILABLE with retry information). Returns
 * true when `res` is filled now, or false when the exporters settle later:
 * answer(arg, res) is then called once, after this returned. */
int pf_otlp_rx_decode(const void *body, size_t size, size_t max_size, bool json,
		      struct pf_budget *budget, struct pf_batch **out, struct pf_error *err);
bool pf_otlp_rx_deliver(struct pf_otlp_rx *r, struct pf_batch *b, int n, const struct pf_error *err,
			size_t max_size, struct pf_otlp_rx_result *res, pf_otlp_rx_answer_fn answer,
			void *arg);

/* ---- metadata.c: include_metadata ---- */

struct pf_grpc_request;
struct pf_http_request;

/* The request's gRPC metadata or HTTP headers as client metadata (keys
 * lower case, every value) when the protocol sets include_metadata; NULL
 * otherwise, or when out of memory (logged: the request goes on without).
 * Call it in the handler, on the loop; the caller owns the result. */
struct pf_metadata *pf_otlp_rx_grpc_metadata(const struct pf_otlp_rx *r,
					     const struct pf_grpc_request *req);
struct pf_metadata *pf_otlp_rx_http_metadata(const struct pf_otlp_rx *r,
					     const struct pf_http_request *req);

/* Hands md (taken; may be NULL) to batch b before pf_otlp_rx_deliver();
 * frees it when b is NULL (nothing decoded) or md is empty. */
void pf_otlp_rx_attach(struct pf_batch *b, struct pf_metadata *md);

/* The request limit of a protocol in bytes. */
size_t pf_otlp_rx_max_size(const struct pf_otlp_rx_proto *p);

/* ---- grpc.c / http.c: each returns 0 or a negative error (logged). ---- */
int pf_otlp_rx_grpc_start(struct pf_otlp_rx *r);
int pf_otlp_rx_http_start(struct pf_otlp_rx *r);

#endif
