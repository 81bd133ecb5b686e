/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP client every component shares: libcurl's multi interface driven by the libuv loop. */
#ifndef PF_HTTP_CLIENT_H
#define PF_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/*
 * A client owns one curl multi handle, one uv_timer and one uv_poll per
 * socket curl opens; everything runs on the loop thread and nothing blocks.
 * A component creates one client in `start` and closes it in `shutdown`.
 *
 * Every request ends with exactly one call of its completion callback, on
 * the loop thread: when the response is complete, when it fails, when it is
 * cancelled (pf_http_cancel) or when the client is closed (both -ECANCELED).
 * The callback may send new requests, cancel others or close the client.
 * Only http:// and https:// URLs are accepted; redirects are not followed
 * (a 3xx is a response like any other).
 */

struct pf_http_client;
struct pf_http_call;
struct pf_tls_config;

struct pf_http_header {
	const char *name;
	const char *value;
};

struct pf_http_request {
	const char *method; /* "GET" when NULL; "POST", "PUT", "HEAD", ... */
	const char *url;
	/* Extra request headers as "Name: value" lines. */
	const char *const *headers;
	size_t n_headers;
	/* Request body, borrowed: it must stay valid until the completion
	 * callback has run. NULL with body_size 0 sends none. */
	const void *body;
	size_t body_size;
	uint64_t timeout_ms; /* whole transfer; 0 = 30 s */
	size_t max_body;     /* largest response body kept; 0 = 64 MiB */
	/* Ask for gzip/deflate and decode it (max_body applies to the decoded body). */
	bool accept_encoding;
	/* TLS for https:// URLs (transport/tls.h: ca_file, cert_file/key_file,
	 * insecure_skip_verify, min_version; server_name_override is not
	 * supported here); NULL = curl's defaults. Only read by pf_http_send. */
	const struct pf_tls_config *tls;
};

/*
 * What a request ended with. Everything here is borrowed for the duration of
 * the completion callback only.
 *  - error: 0 when an HTTP response arrived (any status), else a negative
 *    errno: -ETIMEDOUT (timeout), -ECONNREFUSED (could not connect),
 *    -EHOSTUNREACH (name not resolved), -EFBIG (body over max_body),
 *    -ECONNRESET (connection lost or empty reply), -ECANCELED (cancelled or
 *    client closed), -EINVAL (bad URL or unsupported scheme), -EPROTO (TLS),
 *    -ENOMEM, -EIO (anything else).
 *  - status: the HTTP status code, 0 when none arrived.
 *  - error_text: why, for logs ("" when error is 0).
 *  - headers: of the final response, in order, names as sent.
 *  - body: NUL-terminated for convenience (not counted in body_size).
 */
struct pf_http_response {
	int error;
	long status;
	const char *error_text;
	const struct pf_http_header *headers;
	size_t n_headers;
	const uint8_t *body;
	size_t body_size;
	uint64_t elapsed_ms;
};

typedef void (*pf_http_done_fn)(const struct pf_http_response *resp, void *arg);
typedef void (*pf_http_closed_fn)(void *arg);

/* A new client on `loop` (it initialises a timer there, so it must be closed
 * with pf_http_client_close before the loop is). Returns NULL when out of
 * memory or curl cannot be initialised. */
struct pf_http_client *pf_http_client_new(uv_loop_t *loop);

/* Starts a request. The request struct and its strings are copied, except
 * `body` (see above). On success returns 0, stores the call in *call when
 * `call` is not NULL (valid until `done` runs) and `done(resp, arg)` will run
 * exactly once later, never from inside this function. Returns a negative
 * errno (-ENOMEM, -EINVAL, -ESHUTDOWN once closing) and then never calls
 * `done`. */
int pf_http_send(struct pf_http_client *client, const struct pf_http_request *req,
		 pf_http_done_fn done, void *arg, struct pf_http_call **call);

/* Cancels a request that has not completed yet: its `done` runs before this
 * returns, with error -ECANCELED. */
void pf_http_cancel(struct pf_http_call *call);

/* Number of requests sent and not yet completed. */
size_t pf_http_pending(const struct pf_http_client *client);

/* Case-insensitive lookup of a response header; NULL when absent. */
const char *pf_http_header_get(const struct pf_http_response *resp, const char *name);

/* Copies url into buf (size > 0 bytes; NUL-terminated, truncated to fit)
 * for logs and error messages, with the password of its userinfo replaced
 * by "***" ("http://user:***@host/"); userinfo without a password (often a
 * token) becomes "***" whole. Text that is not a URL is copied as it is.
 * Returns buf. */
#define PF_HTTP_REDACTED_MAX 1024 /* a buf size that fits any URL worth logging */
const char *pf_http_redact_url(const char *url, char *buf, size_t size);

/* Cancels every pending request (each `done` runs with -ECANCELED before this
 * returns), closes every libuv handle and frees the client in the last close
 * callback, then calls `closed(arg)` (may be NULL). Call it once; NULL is
 * accepted (then `closed` is not called). */
void pf_http_client_close(struct pf_http_client *client, pf_http_closed_fn closed, void *arg);

#endif
