// SPDX-License-Identifier: Apache-2.0
/* The shared HTTP client against a libmicrohttpd server on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "transport/http_client.h"

#define BIG_SIZE (256 * 1024)

struct post_buf {
	char data[4096];
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const void *body,
			     size_t len, const char *hname, const char *hvalue)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (hname)
		MHD_add_response_header(r, hname, hvalue);
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Streams BIG_SIZE bytes without a Content-Length (chunked). */
static ssize_t chunk_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	if (pos >= BIG_SIZE)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = BIG_SIZE - pos < max ? BIG_SIZE - pos : max;
	if (n > 4096)
		n = 4096;
	memset(buf, 'y', n);
	return (ssize_t)n;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **state)
{
	if (strcmp(url, "/echo") == 0) {
		struct post_buf *pb = *state;
		if (!pb) {
			*state = calloc(1, sizeof(*pb));
			return *state ? MHD_YES : MHD_NO;
		}
		if (*upload_size) {
			size_t n = *upload_size;
			if (n > sizeof(pb->data) - pb->len)
				n = sizeof(pb->data) - pb->len;
			memcpy(pb->data + pb->len, upload, n);
			pb->len += n;
			*upload_size = 0;
			return MHD_YES;
		}
		const char *tok = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Token");
		enum MHD_Result ret = reply(conn, 201, pb->data, pb->len, "X-Method", method);
		(void)tok;
		return ret;
	}
	if (strcmp(url, "/token") == 0) {
		const char *tok = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Token");
		return reply(conn, 200, tok ? tok : "-", tok ? strlen(tok) : 1, NULL, NULL);
	}
	if (strcmp(url, "/ok") == 0)
		return reply(conn, 200, "hello", 5, "X-Test", "yes");
	if (strcmp(url, "/slow") == 0) {
		usleep(700 * 1000);
		return reply(conn, 200, "late", 4, NULL, NULL);
	}
	if (strcmp(url, "/big") == 0) {
		char *big = malloc(BIG_SIZE);
		if (!big)
			return MHD_NO;
		memset(big, 'x', BIG_SIZE);
		enum MHD_Result ret = reply(conn, 200, big, BIG_SIZE, NULL, NULL);
		free(big);
		return ret;
	}
	if (strcmp(url, "/chunked") == 0) {
		struct MHD_Response *r = MHD_create_response_from_callback(
			MHD_SIZE_UNKNOWN, 4096, chunk_reader, NULL, NULL);
		enum MHD_Result ret = MHD_queue_response(conn, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	return reply(conn, 404, "not found", 9, NULL, NULL);
}

static void completed(void *cls, struct MHD_Connection *conn, void **state,
		      enum MHD_RequestTerminationCode toe)
{
	free(*state);
	*state = NULL;
}

struct fixture {
	struct MHD_Daemon *mhd;
	unsigned port;
	uv_loop_t loop;
	struct pf_http_client *client;
	bool closed;
};

static int setup(void **st)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
				  0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
				  MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	assert_non_null(f->mhd);
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->mhd, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	f->port = info->port;
	assert_int_equal(uv_loop_init(&f->loop), 0);
	f->client = pf_http_client_new(&f->loop);
	assert_non_null(f->client);
	*st = f;
	return 0;
}

static void on_closed(void *arg)
{
	struct fixture *f = arg;
	f->closed = true;
}

static int teardown(void **st)
{
	struct fixture *f = *st;
	if (f->client)
		pf_http_client_close(f->client, on_closed, f);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_true(f->closed || !f->client);
	/* No handle may be left open. */
	assert_int_equal(uv_loop_close(&f->loop), 0);
	MHD_stop_daemon(f->mhd);
	free(f);
	return 0;
}

struct result {
	int calls;
	int error;
	long status;
	char body[64];
	size_t body_size;
	char header[64];
	char error_text[256];
};

static void on_done(const struct pf_http_response *resp, void *arg)
{
	struct result *r = arg;
	r->calls++;
	r->error = resp->error;
	r->status = resp->status;
	r->body_size = resp->body_size;
	snprintf(r->body, sizeof(r->body), "%.*s",
		 (int)(resp->body_size < 63 ? resp->body_size : 63), (const char *)resp->body);
	const char *h = pf_http_header_get(resp, "x-test");
	if (!h)
		h = pf_http_header_get(resp, "x-method");
	snprintf(r->header, sizeof(r->header), "%s", h ? h : "");
	snprintf(r->error_text, sizeof(r->error_text), "%s", resp->error_text);
}

static void get(struct fixture *f, const char *path, uint64_t timeout_ms, size_t max_body,
		struct result *r)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
	struct pf_http_request req = {.url = url, .timeout_ms = timeout_ms, .max_body = max_body};
	assert_int_equal(pf_http_send(f->client, &req, on_done, r, NULL), 0);
	assert_int_equal(r->calls, 0); /* never synchronous */
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r->calls, 1);
	assert_int_equal(pf_http_pending(f->client), 0);
}

static void test_ok_with_body(void **st)
{
	struct result r = {0};
	get(*st, "/ok", 5000, 0, &r);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	assert_int_equal(r.body_size, 5);
	assert_string_equal(r.header, "yes");
}

static void test_not_found(void **st)
{
	struct result r = {0};
	get(*st, "/nothing-here", 5000, 0, &r);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "not found");
}

static void test_timeout(void **st)
{
	struct result r = {0};
	get(*st, "/slow", 200, 0, &r);
	assert_int_equal(r.error, -ETIMEDOUT);
	assert_int_equal(r.status, 0);
	assert_true(r.error_text[0] != '\0');
}

static void test_size_limit(void **st)
{
	struct result r = {0};
	get(*st, "/big", 5000, 1000, &r);
	assert_int_equal(r.error, -EFBIG);

	/* Exactly at the limit passes. */
	struct result ok = {0};
	get(*st, "/big", 5000, BIG_SIZE, &ok);
	assert_int_equal(ok.error, 0);
	assert_int_equal(ok.body_size, BIG_SIZE);

	/* Without a Content-Length the limit is enforced while the body arrives. */
	struct result chunked = {0};
	get(*st, "/chunked", 5000, 10000, &chunked);
	assert_int_equal(chunked.error, -EFBIG);
	struct result whole = {0};
	get(*st, "/chunked", 5000, BIG_SIZE, &whole);
	assert_int_equal(whole.error, 0);
	assert_int_equal(whole.body_size, BIG_SIZE);
	assert_int_equal(whole.body[0], 'y');
}

static void test_connection_refused(void **st)
{
	struct fixture *f = *st;
	/* A port that was just free: bind, read it, close. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t len = sizeof(sa);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	close(s);

	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", ntohs(sa.sin_port));
	struct result r = {0};
	struct pf_http_request req = {.url = url, .timeout_ms = 5000};
	assert_int_equal(pf_http_send(f->client, &req, on_done, &r, NULL), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.error, -ECONNREFUSED);
}

static void test_post_with_headers(void **st)
{
	struct fixture *f = *st;
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", f->port);
	const char *hdrs[] = {"Content-Type: application/x-protobuf"};
	static const char payload[] = "payload-bytes";
	struct pf_http_request req = {.method = "POST",
				      .url = url,
				      .headers = hdrs,
				      .n_headers = 1,
				      .body = payload,
				      .body_size = sizeof(payload) - 1,
				      .timeout_ms = 5000};
	struct result r = {0};
	assert_int_equal(pf_http_send(f->client, &req, on_done, &r, NULL), 0);

	/* A request header reaches the server. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/token", f->port);
	const char *tok[] = {"X-Token: abc123"};
	struct pf_http_request req2 = {.url = url, .headers = tok, .n_headers = 1};
	struct result r2 = {0};
	assert_int_equal(pf_http_send(f->client, &req2, on_done, &r2, NULL), 0);
	assert_int_equal(pf_http_pending(f->client), 2);

	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "payload-bytes");
	assert_string_equal(r.header, "POST");
	assert_int_equal(r2.calls, 1);
	assert_string_equal(r2.body, "abc123");
}

static void test_cancel(void **st)
{
	struct fixture *f = *st;
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/slow", f->port);
	struct pf_http_request req = {.url = url, .timeout_ms = 5000};
	struct pf_http_call *call = NULL;
	struct result r = {0};
	assert_int_equal(pf_http_send(f->client, &req, on_done, &r, &call), 0);
	assert_non_null(call);
	uv_run(&f->loop, UV_RUN_NOWAIT); /* let it connect */
	pf_http_cancel(call);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.error, -ECANCELED);
	assert_int_equal(pf_http_pending(f->client), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.calls, 1);
}

static void test_close_with_request_in_flight(void **st)
{
	struct fixture *f = *st;
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/slow", f->port);
	struct pf_http_request req = {.url = url, .timeout_ms = 5000};
	struct result r = {0};
	assert_int_equal(pf_http_send(f->client, &req, on_done, &r, NULL), 0);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	pf_http_client_close(f->client, on_closed, f);
	f->client = NULL;
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.error, -ECANCELED);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_true(f->closed);
	/* teardown checks that no handle is left. */
}

/* Closing from inside a completion callback is allowed. */
struct close_in_cb {
	struct fixture *f;
	struct result r;
};

static void on_done_then_close(const struct pf_http_response *resp, void *arg)
{
	struct close_in_cb *c = arg;
	on_done(resp, &c->r);
	pf_http_client_close(c->f->client, on_closed, c->f);
	c->f->client = NULL;
}

static void test_close_from_callback(void **st)
{
	struct fixture *f = *st;
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/ok", f->port);
	struct pf_http_request req = {.url = url, .timeout_ms = 5000};
	struct close_in_cb c = {.f = f};
	struct result other = {0};
	assert_int_equal(pf_http_send(f->client, &req, on_done_then_close, &c, NULL), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/slow", f->port);
	assert_int_equal(pf_http_send(f->client, &req, on_done, &other, NULL), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(c.r.calls, 1);
	assert_int_equal(c.r.status, 200);
	assert_int_equal(other.calls, 1);
	assert_int_equal(other.error, -ECANCELED);
	assert_true(f->closed);
}

static void test_send_after_close_refused(void **st)
{
	struct fixture *f = *st;
	struct pf_http_client *client = f->client;
	struct result r = {0};
	struct pf_http_request req = {.url = "http://127.0.0.1:1/"};
	pf_http_client_close(client, on_closed, f);
	f->client = NULL;
	assert_int_equal(pf_http_send(client, &req, on_done, &r, NULL), -ESHUTDOWN);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.calls, 0);
	assert_true(f->closed);
}

/* Credentials in a URL never reach a log line or an error message. */
static void test_redact_url(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"http://user:pass@host:4318/v1", "http://user:***@host:4318/v1"},
		{"https://u:p@ss:w@h/x@y", "https://u:***@h/x@y"},
		{"http://tok3n@host/", "http://***@host/"},
		{"http://host:80/a@b?c=d@e", "http://host:80/a@b?c=d@e"},
		{"http://[::1]:8080/", "http://[::1]:8080/"},
		{"http://u:p@[::1]:8080", "http://u:***@[::1]:8080"},
		{"/var/lib/file.pprof", "/var/lib/file.pprof"},
		{"", ""},
	};
	char buf[PF_HTTP_REDACTED_MAX], small[12];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(pf_http_redact_url(cases[i].in, buf, sizeof(buf)),
				    cases[i].out);
	assert_string_equal(pf_http_redact_url(NULL, buf, sizeof(buf)), "");
	/* Truncated, never the password. */
	assert_string_equal(pf_http_redact_url("http://user:secret@h", small, sizeof(small)),
			    "http://user");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ok_with_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_with_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_with_request_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_from_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_after_close_refused, setup, teardown),
		cmocka_unit_test(test_redact_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
