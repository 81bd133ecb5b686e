/* SPDX-License-Identifier: Apache-2.0 */
/* A loopback HTTP client for tests of servers on the loop: libcurl on a thread while the test's loop serves (the server side: http_fake.h). */
#ifndef PF_TEST_HTTP_PEER_H
#define PF_TEST_HTTP_PEER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

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

#endif
