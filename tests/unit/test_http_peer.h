/* SPDX-License-Identifier: Apache-2.0 */
/* Loopback HTTP peers for tests: a libcurl client on a thread while the test's loop serves, and a libmicrohttpd server on its own thread. */
#ifndef PF_TEST_HTTP_PEER_H
#define PF_TEST_HTTP_PEER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* ---- client ---- */

/* One request. The test fills the inputs; the client thread fills the
 * results (read them once `done`). */
struct hp_call {
	const char *url;
	const char *method; /* NULL: POST */
	const char *content_type, *encoding, *auth;
	const void *body;
	size_t body_len;
	const char *ca_file, *cert_file, *key_file; /* for https URLs */
	size_t pause_at; /* > 0: stall after this many bytes until `release` */
	atomic_bool release;
	atomic_size_t sent; /* body bytes handed to libcurl so far */
	/* Results. */
	long status; /* 0: no answer */
	char ctype[128];
	char retry_after[32];
	uint8_t *resp; /* NUL-terminated; free with hp_call_free() */
	size_t resp_len;
	uint64_t done_ns; /* uv_hrtime() when the answer was complete */
	atomic_bool done;
	uv_thread_t thread;
};

/* Starts the request on its own thread. */
void hp_call_start(struct hp_call *h);

/* Runs `loop` (one non-blocking turn a millisecond) until the request is
 * done, then joins its thread. */
void hp_call_wait(uv_loop_t *loop, struct hp_call *h);

/* Both. */
void hp_call(uv_loop_t *loop, struct hp_call *h);

/* Frees the response body. */
void hp_call_free(struct hp_call *h);

/* ---- server ---- */

struct hp_request {
	const char *method, *url;
	void *conn; /* for hp_request_header() */
};

/* The server's answer: status, and a body it copies. */
struct hp_answer {
	unsigned status;
	const void *body;
	size_t body_len;
};

/* Runs on a server thread (one a connection, so it may sleep). */
typedef void (*hp_handler_fn)(void *arg, const struct hp_request *req, struct hp_answer *ans);

struct hp_server;

/* A server on 127.0.0.1 on a free port calling handler(arg, ...) for every
 * request. Fails the test when it cannot start. */
struct hp_server *hp_server_start(hp_handler_fn handler, void *arg);

unsigned hp_server_port(const struct hp_server *srv);

/* A request header (case-insensitive), or NULL. */
const char *hp_request_header(const struct hp_request *req, const char *name);

/* Stops the server (waiting for its threads) and frees it. */
void hp_server_stop(struct hp_server *srv);

#endif
