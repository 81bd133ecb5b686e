/* SPDX-License-Identifier: Apache-2.0 */
/* A unary gRPC server over grpc's C core, its completion queue on its own thread, handlers on the loop. */
#ifndef PF_GRPC_SERVER_H
#define PF_GRPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/error.h"

/*
 * grpc core runs its completion queue on a thread of this module. Each
 * incoming call (its request message already read, and decompressed by
 * core when the client used grpc-encoding gzip, unless the server is raw) is handed to the loop with
 * uv_async; the handler runs there, fills a response, and the reply is
 * started from the loop (grpc core calls are thread-safe). At most
 * `max_calls` calls are requested from core at a time: further clients wait
 * inside core, so memory stays bounded by max_calls * max_recv.
 */

struct pf_grpc_server;

/* gRPC status codes used by proflow (grpc/status.h has them all). */
#define PF_GRPC_OK		   0
#define PF_GRPC_INVALID_ARGUMENT   3
#define PF_GRPC_RESOURCE_EXHAUSTED 8
#define PF_GRPC_UNIMPLEMENTED	   12
#define PF_GRPC_INTERNAL	   13
#define PF_GRPC_UNAVAILABLE	   14
#define PF_GRPC_UNAUTHENTICATED	   16

/* Server credentials. All NULL: plaintext. cert_file and key_file: TLS;
 * with client_ca_file too, clients must present a certificate signed by
 * that CA (mTLS). Paths are read at start. */
struct pf_grpc_server_tls {
	const char *cert_file;
	const char *key_file;
	const char *client_ca_file;
};

/* How a request message was compressed (grpc-encoding), as handed to the
 * handlers of a server made raw with pf_grpc_server_raw(). */
enum pf_grpc_encoding {
	PF_GRPC_IDENTITY, /* not compressed */
	PF_GRPC_GZIP,	  /* gzip (RFC 1952) */
	PF_GRPC_DEFLATE,  /* zlib (RFC 1950) */
};

/* What a handler sees; everything borrowed for the handler's duration. */
struct pf_grpc_request {
	const char *method;  /* "/pkg.Service/Method" */
	const uint8_t *body; /* the request message (decompressed); NULL when empty */
	size_t body_len;
	void *call; /* internal, for pf_grpc_request_metadata() */
	/* Raw servers only: body is the message as sent, compressed this way
	 * (the handler inflates it and bounds its size). Else PF_GRPC_IDENTITY. */
	enum pf_grpc_encoding encoding;
};

/* What a handler fills. The server frees `body` and `details` (malloc'ed,
 * may be NULL). With code != PF_GRPC_OK, `message` is the status message and
 * `details` a serialized google.rpc.Status sent as grpc-status-details-bin;
 * with PF_GRPC_OK, `body` is the response message. */
struct pf_grpc_response {
	int code;
	char message[512];
	uint8_t *body;
	size_t body_len;
	uint8_t *details;
	size_t details_len;
	/* Set by a handler that answers later (e.g. after work on the thread
	 * pool): it keeps req->call, and req->body stays valid, until it calls
	 * pf_grpc_server_reply(); the rest of this struct is then ignored. */
	bool deferred;
};

typedef void (*pf_grpc_handler_fn)(void *arg, const struct pf_grpc_request *req,
				   struct pf_grpc_response *resp);

typedef void (*pf_grpc_closed_fn)(void *arg);

/* A server for `address` ("host:port", "[::1]:port", ":port"), accepting
 * messages of up to max_recv bytes after decompression (larger ones get
 * RESOURCE_EXHAUSTED from core) and handling up to max_calls calls at once.
 * `tls` may be NULL (plaintext); it is copied. Binds nothing yet. Returns
 * NULL with `err` set. Free with pf_grpc_server_close(), also when never
 * started. */
struct pf_grpc_server *pf_grpc_server_create(uv_loop_t *loop, const char *address,
					     const struct pf_grpc_server_tls *tls, size_t max_recv,
					     unsigned max_calls, struct pf_error *err);

/* Makes core hand compressed request messages over as they came (see
 * pf_grpc_request.encoding) instead of inflating them with zlib, so that
 * handlers inflate them where and how they like; max_recv then bounds the
 * compressed size only. Before start. */
void pf_grpc_server_raw(struct pf_grpc_server *s);

/* Routes calls of the full method path to handler. Before start; at most 8.
 * Returns 0, -ENOSPC or -ENOMEM. */
int pf_grpc_server_method(struct pf_grpc_server *s, const char *method, pf_grpc_handler_fn handler,
			  void *arg);

/* Reads the credentials, binds, starts the completion-queue thread and
 * serves. Returns 0 or a negative errno with `err` saying why. */
int pf_grpc_server_start(struct pf_grpc_server *s, struct pf_error *err);

/* The port actually bound (useful with port 0), or 0 before start. */
unsigned pf_grpc_server_port(const struct pf_grpc_server *s);

/* Answers a deferred call (see pf_grpc_response.deferred) with `resp`,
 * whose body and details it takes. On the loop thread, exactly once per
 * deferred call, also while the server is closing (which waits for it). */
void pf_grpc_server_reply(void *call, struct pf_grpc_response *resp);

/* Copies the first value of request metadata `key` (lower case) into buf,
 * NUL-terminated and truncated to size. Returns its full length, or -ENOENT. */
int pf_grpc_request_metadata(const struct pf_grpc_request *req, const char *key, char *buf,
			     size_t size);

/* Calls fn(arg, key, key_len, value, value_len) for every request metadata
 * entry in the order received (keys lower case; values not NUL-terminated,
 * binary for keys ending in "-bin"). Stops at and returns the first nonzero
 * result of fn; 0 otherwise. Valid where pf_grpc_request_metadata is. */
typedef int (*pf_grpc_metadata_fn)(void *arg, const char *key, size_t key_len, const char *value,
				   size_t value_len);
int pf_grpc_request_metadata_each(const struct pf_grpc_request *req, pf_grpc_metadata_fn fn,
				  void *arg);

/* Stops accepting calls, cancels those in flight, joins the thread, frees
 * the server and then calls done(arg) on the loop (done may be NULL). Takes
 * NULL (done is then not called). */
void pf_grpc_server_close(struct pf_grpc_server *s, pf_grpc_closed_fn done, void *arg);

#endif
