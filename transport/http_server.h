/* SPDX-License-Identifier: Apache-2.0 */
/* A small HTTP server on the libuv loop: libmicrohttpd in external epoll mode, routes by path. */
#ifndef PF_HTTP_SERVER_H
#define PF_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "core/error.h"
#include "http_limits.h"

/*
 * The server never runs a thread of its own: libmicrohttpd runs with
 * MHD_USE_EPOLL and no internal thread, its epoll fd is watched with
 * uv_poll and its timeouts with a uv_timer, and MHD_run() is called from
 * those callbacks. Handlers therefore run on the loop thread and must not
 * block. Used by self-telemetry, health_check and the OTLP/HTTP receiver.
 *
 * A handler with slow work (decoding a large body) defers its answer: it
 * sets `deferred`, hands the work elsewhere (the libuv thread pool) and
 * answers later from the loop with pf_http_server_reply(). The connection
 * is suspended meanwhile; other connections are served as usual.
 */

struct pf_http_server;

/* What a handler sees. Everything is borrowed for the handler's duration,
 * except `body` of a deferred request: it stays valid until the reply. */
struct pf_http_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* without the query string */
	const char *body;   /* NULL when empty; not NUL-terminated */
	size_t body_len;
	void *conn; /* internal: the MHD connection, for the lookups below */
	void *call; /* the request, for pf_http_server_reply() once deferred */
};

#define PF_HTTP_MAX_HEADERS 4

/* What a handler fills. The server frees `body` (malloc'ed, may be NULL).
 * `content_type` and the extra header names and values must stay valid
 * until the handler returns (they are copied). */
struct pf_http_response {
	unsigned status; /* defaults to 200 */
	const char *content_type;
	char *body;
	size_t body_len;
	struct {
		const char *name;
		const char *value;
	} headers[PF_HTTP_MAX_HEADERS];
	size_t n_headers;
	/* Set by the handler (with nothing else filled): it answers later with
	 * pf_http_server_reply(req->call, ...), exactly once. */
	bool deferred;
};

typedef void (*pf_http_handler_fn)(void *arg, const struct pf_http_request *req,
				   struct pf_http_response *resp);

typedef void (*pf_http_closed_fn)(void *arg);

/* A check on a request's headers, run once they are complete and before any
 * of its body is read or counted against the body budget. Return true to go
 * on; false after filling `resp` (as a handler would, never deferred): that
 * answer goes out at once, the body is not read and the connection closes.
 * `req->body` is NULL. Loop thread; must not block. */
typedef bool (*pf_http_check_fn)(void *arg, const struct pf_http_request *req,
				 struct pf_http_response *resp);

/* What the server saw, for tests and telemetry. */
struct pf_http_server_stats {
	uint64_t accepted;  /* connections handed to the HTTP engine */
	uint64_t refused;   /* over a connection limit: 503 (or closed) at once */
	uint64_t timed_out; /* closed past a header or body deadline */
	uint64_t malformed; /* not an HTTP/1.x request line: 400 at once */
	size_t open;	    /* connections open now */
};

/* What the first bytes of a connection say about its request line. */
enum pf_http_line {
	PF_HTTP_LINE_OK,   /* method SP target SP HTTP/d.d CRLF: MHD takes it from here */
	PF_HTTP_LINE_MORE, /* a valid beginning: wait for more */
	PF_HTTP_LINE_BAD,  /* not HTTP/1.x: 400 */
};

#define PF_HTTP_METHOD_MAX 17	/* longest method accepted (IANA: UPDATEREDIRECTREF) */
#define PF_HTTP_LINE_MAX   8192 /* longest request line accepted */

/* Checks the request line at the start of buf[0..len) (a prefix of what the
 * client sent). Pure; no allocation. A caller seeing PF_HTTP_LINE_MORE with
 * PF_HTTP_LINE_MAX bytes treats the line as too long. */
enum pf_http_line pf_http_request_line_check(const char *buf, size_t len);

/* Parses "host:port", "[v6addr]:port", "localhost:port" or ":port" (all
 * interfaces) into *addr. Host names other than localhost are resolved once,
 * numerically first. Returns 0 or -EINVAL with `err` set. */
int pf_http_parse_address(const char *text, struct sockaddr_storage *addr, socklen_t *len,
			  struct pf_error *err);

/* A server for `address` whose request bodies may be up to max_body bytes
 * (larger ones get 413). Checks the address; binds nothing yet. Returns NULL
 * with `err` set. Free with pf_http_server_close(), also when never started. */
struct pf_http_server *pf_http_server_create(uv_loop_t *loop, const char *address, size_t max_body,
					     struct pf_error *err);

/* Routes requests for the exact `path` to handler (method NULL: any method;
 * otherwise others get 405; unknown paths get 404). Call before start; at
 * most 16 routes. Returns 0, -ENOSPC or -ENOMEM. */
int pf_http_server_route(struct pf_http_server *s, const char *method, const char *path,
			 pf_http_handler_fn handler, void *arg);

/* Replaces the default limits (the PF_HTTP_* values); a zero timeout or
 * max_connections keeps its default, a zero max_connections_per_client
 * means no limit. Before start. */
void pf_http_server_limits(struct pf_http_server *s, const struct pf_http_server_limits *limits);

/* Adds a header check to every route of `path` (see pf_http_check_fn); it
 * gets the route's arg. Before start. Returns 0 or -ENOENT (no such route). */
int pf_http_server_route_check(struct pf_http_server *s, const char *path, pf_http_check_fn check);

/* Bounds the bytes of request bodies held at once over all connections
 * (0, the default: only max_body per request). A request whose body would
 * pass it is answered 503 with Retry-After: 1 and its body dropped. */
void pf_http_server_body_budget(struct pf_http_server *s, size_t bytes);

/* Serves HTTPS instead of HTTP with the PEM certificate chain and key
 * (copied). With client_ca_pem (may be NULL), clients must present a
 * certificate that verifies against it; others get 401 before any handler
 * runs. Call before start. Returns 0, -ENOTSUP when libmicrohttpd has no
 * TLS, or -ENOMEM. */
int pf_http_server_tls(struct pf_http_server *s, const char *cert_pem, const char *key_pem,
		       const char *client_ca_pem);

/* Binds, listens and starts serving on the loop. Returns 0 or a negative
 * errno (-EADDRINUSE ...) with `err` saying why. */
int pf_http_server_start(struct pf_http_server *s, struct pf_error *err);

/* The port actually bound (useful with port 0), or 0 before start. */
unsigned pf_http_server_port(const struct pf_http_server *s);

/* Copies the counters into *out. */
void pf_http_server_stats(const struct pf_http_server *s, struct pf_http_server_stats *out);

/* Deferred requests not completed yet (answered or not). */
size_t pf_http_server_pending(const struct pf_http_server *s);

/* Looks up a request header (case-insensitive) or query argument; NULL when absent. */
const char *pf_http_request_header(const struct pf_http_request *req, const char *name);
const char *pf_http_request_query(const struct pf_http_request *req, const char *name);

/* Calls fn for every request header, in arrival order (value "" when
 * empty), until fn returns nonzero. Returns 0 or fn's nonzero result. */
int pf_http_request_headers_each(const struct pf_http_request *req,
				 int (*fn)(void *arg, const char *key, const char *value),
				 void *arg);

/* Answers a deferred request (see pf_http_response.deferred) with `resp`,
 * whose body the server then owns, and resumes its connection. Loop thread,
 * outside handlers; also while the server is closing, which waits for every
 * deferred request. `call` is gone after it, and the last reply may let a
 * close finish: the server frees itself and calls the close callback from
 * the loop soon after (whoever's state that callback frees is then gone). */
void pf_http_server_reply(void *call, struct pf_http_response *resp);

/* Stops serving, closes every connection and handle, frees the server and
 * then calls done(arg) (done may be NULL). Takes NULL (done is then not called).
 * With deferred requests unanswered, it stops accepting connections, answers
 * new requests 503, and finishes once each deferred request got its reply
 * and the reply was sent (or a second passed). */
void pf_http_server_close(struct pf_http_server *s, pf_http_closed_fn done, void *arg);

#endif
