/* SPDX-License-Identifier: Apache-2.0 */
/* A fake HTTP peer for exporter tests: libmicrohttpd on loopback in its own thread, answering as the test's handler says. */
#ifndef PF_TEST_HTTP_FAKE_H
#define PF_TEST_HTTP_FAKE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* One complete request, valid during the handler call only. */
struct hf_request {
	struct MHD_Connection *conn; /* for hf_value() */
	const char *method, *url;
	const uint8_t *body;
	size_t body_size;
};

/* The answer the handler fills (zeroed before the call: 200, no body). */
struct hf_answer {
	unsigned status;
	const char *content_type; /* NULL: no Content-Type */
	const char *retry_after;  /* NULL: no Retry-After */
	void *body;		  /* malloc'd: the peer frees it */
	size_t body_size;
	unsigned delay_ms; /* answer this much later, the peer's lock released */
};

/* Called on the peer's thread under its lock, once per complete request.
 * cmocka's asserts must not run there: failures abort (hf_check). */
typedef void (*hf_handler_fn)(void *arg, const struct hf_request *req, struct hf_answer *ans);

struct hf_peer {
	hf_handler_fn handler;
	void *arg;
	const char *key_pem, *cert_pem; /* PEM text: HTTPS; NULL: plain HTTP */
	int port;			/* after hf_start: the bound port */
	/* internal */
	uv_mutex_t lock;
	struct MHD_Daemon *mhd;
};

/* Listens on 127.0.0.1:port (0: any) and serves until hf_stop. Fails the test on error. */
void hf_start(struct hf_peer *p, int port);
void hf_stop(struct hf_peer *p);

/* Copies a header (MHD_HEADER_KIND) or query argument (MHD_GET_ARGUMENT_KIND)
 * of the request into out; "" when absent. */
void hf_value(const struct hf_request *r, enum MHD_ValueKind kind, const char *key, char *out,
	      size_t size);

/* Aborts with `what` unless ok: the check for the peer's thread. */
void hf_check(bool ok, const char *what);

/* A copy of text as a malloc'd body for hf_answer. */
void hf_text(struct hf_answer *ans, const char *text);

/* CLOCK_MONOTONIC in milliseconds: when a request arrived. */
uint64_t hf_now_ms(void);

#endif
