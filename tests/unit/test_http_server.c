// SPDX-License-Identifier: Apache-2.0
/* The loop-driven HTTP server: routes, methods, bodies and their limit, headers, IPv6, closing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "pipeline/http_server.h"

#define MAX_BODY 1000

struct seen {
	char method[16];
	char body[MAX_BODY + 1];
	size_t body_len;
	char header[64];
	char query[64];
	int calls;
};

static void on_echo(void *arg, const struct pf_http_request *req, struct pf_http_response *resp)
{
	struct seen *s = arg;
	const char *h = pf_http_request_header(req, "x-test");
	const char *q = pf_http_request_query(req, "q");

	s->calls++;
	snprintf(s->method, sizeof(s->method), "%s", req->method);
	memcpy(s->body, req->body ? req->body : "", req->body_len);
	s->body_len = req->body_len;
	snprintf(s->header, sizeof(s->header), "%s", h ? h : "");
	snprintf(s->query, sizeof(s->query), "%s", q ? q : "");
	resp->status = 202;
	resp->content_type = "application/x-test";
	resp->headers[0].name = "Retry-After";
	resp->headers[0].value = "7";
	resp->n_headers = 1;
	if (asprintf(&resp->body, "got %zu bytes", req->body_len) > 0)
		resp->body_len = strlen(resp->body);
}

struct exchange {
	const char *request;
	size_t request_len;
	char reply[4096];
};

struct client {
	int family;
	unsigned port;
	struct exchange *ex;
	size_t n;
	uv_async_t async;
	pthread_t thread;
	struct pf_http_server *server;
	bool closed;
};

static void talk(int family, unsigned port, struct exchange *ex)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	struct timeval tv = {.tv_sec = 5};
	size_t got = 0;

	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	ex->reply[0] = '\0';
	int fd = socket(family, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		goto out_close;
	for (size_t off = 0; off < ex->request_len;) {
		ssize_t w = write(fd, ex->request + off, ex->request_len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	for (;;) {
		ssize_t r = read(fd, ex->reply + got, sizeof(ex->reply) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	ex->reply[got] = '\0';
out_close:
	close(fd);
}

static void *client_main(void *arg)
{
	struct client *cl = arg;
	for (size_t i = 0; i < cl->n; i++)
		talk(cl->family, cl->port, &cl->ex[i]);
	uv_async_send(&cl->async);
	return NULL;
}

static void on_closed_done(void *arg)
{
	*(bool *)arg = true;
}

static void on_async_closed(uv_handle_t *h)
{
}

static void on_client_done(uv_async_t *a)
{
	struct client *cl = a->data;
	uv_close((uv_handle_t *)a, on_async_closed);
	pf_http_server_close(cl->server, on_closed_done, &cl->closed);
}

/* Serves `ex` from a client thread, then closes the server; the loop must
 * end with nothing open. */
static void serve(const char *address, int family, struct seen *seen, struct exchange *ex, size_t n)
{
	uv_loop_t loop;
	struct pf_error err = {0};
	struct client cl;

	assert_int_equal(uv_loop_init(&loop), 0);
	struct pf_http_server *s = pf_http_server_create(&loop, address, MAX_BODY, &err);
	assert_non_null(s);
	assert_int_equal(pf_http_server_route(s, "POST", "/echo", on_echo, seen), 0);
	assert_int_equal(pf_http_server_route(s, NULL, "/any", on_echo, seen), 0);
	assert_int_equal(pf_http_server_start(s, &err), 0);
	memset(&cl, 0, sizeof(cl));
	cl.family = family;
	cl.port = pf_http_server_port(s);
	assert_int_not_equal(cl.port, 0);
	cl.ex = ex;
	cl.n = n;
	uv_async_init(&loop, &cl.async, on_client_done);
	cl.async.data = &cl;
	cl.server = s;
	assert_int_equal(pthread_create(&cl.thread, NULL, client_main, &cl), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	pthread_join(cl.thread, NULL);
	assert_true(cl.closed);
	assert_int_equal(uv_loop_close(&loop), 0);
}

#define REQ(s)                                                                                     \
	{                                                                                          \
		.request = s, .request_len = sizeof(s) - 1                                         \
	}

static void test_routes_methods_and_bodies(void **state)
{
	struct seen seen = {0};
	struct exchange ex[] = {
		REQ("POST /echo?q=42 HTTP/1.1\r\nHost: x\r\nX-Test: hello\r\nContent-Length: 5\r\n"
		    "Connection: close\r\n\r\nabcde"),
		REQ("GET /echo HTTP/1.0\r\n\r\n"),
		REQ("GET /nowhere HTTP/1.0\r\n\r\n"),
		REQ("DELETE /any HTTP/1.0\r\n\r\n"),
	};
	serve("127.0.0.1:0", AF_INET, &seen, ex, 4);

	assert_non_null(strstr(ex[0].reply, "HTTP/1.1 202"));
	assert_non_null(strstr(ex[0].reply, "Content-Type: application/x-test"));
	assert_non_null(strstr(ex[0].reply, "Retry-After: 7"));
	assert_non_null(strstr(ex[0].reply, "got 5 bytes"));
	assert_non_null(strstr(ex[1].reply, " 405 "));
	assert_non_null(strstr(ex[2].reply, " 404 "));
	assert_non_null(strstr(ex[3].reply, " 202 "));
	assert_int_equal(seen.calls, 2);
	assert_string_equal(seen.method, "DELETE");
}

static void test_body_and_headers_reach_the_handler(void **state)
{
	struct seen seen = {0};
	struct exchange ex[] = {
		REQ("POST /echo?q=42 HTTP/1.1\r\nHost: x\r\nX-Test: hello\r\nContent-Length: 5\r\n"
		    "Connection: close\r\n\r\nabcde"),
	};
	serve("localhost:0", AF_INET, &seen, ex, 1);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.method, "POST");
	assert_int_equal(seen.body_len, 5);
	assert_memory_equal(seen.body, "abcde", 5);
	assert_string_equal(seen.header, "hello");
	assert_string_equal(seen.query, "42");
}

static void test_body_over_the_limit_is_413(void **state)
{
	struct seen seen = {0};
	static char chunked[4096], fits[4096];
	/* Declared too long: refused from the headers alone. */
	static const char declared[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n"
				       "Connection: close\r\n\r\n";
	/* Chunked, no length: counted as it arrives, refused at the end. */
	int n = snprintf(chunked, sizeof(chunked),
			 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
			 "Connection: close\r\n\r\n%x\r\n",
			 MAX_BODY + 1);
	memset(chunked + n, 'z', MAX_BODY + 1);
	n += MAX_BODY + 1;
	n += snprintf(chunked + n, sizeof(chunked) - (size_t)n, "\r\n0\r\n\r\n");
	int head = snprintf(fits, sizeof(fits),
			    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
			    "Connection: close\r\n\r\n",
			    MAX_BODY);
	memset(fits + head, 'y', MAX_BODY);
	struct exchange ex[] = {
		{.request = declared, .request_len = sizeof(declared) - 1},
		{.request = chunked, .request_len = (size_t)n},
		{.request = fits, .request_len = (size_t)head + MAX_BODY},
	};
	serve("127.0.0.1:0", AF_INET, &seen, ex, 3);
	assert_non_null(strstr(ex[0].reply, " 413 "));
	assert_non_null(strstr(ex[1].reply, " 413 "));
	assert_non_null(strstr(ex[2].reply, " 202 "));
	assert_non_null(strstr(ex[2].reply, "got 1000 bytes"));
	assert_int_equal(seen.calls, 1);
}

static void test_ipv6(void **state)
{
	struct seen seen = {0};
	struct exchange ex[] = {REQ("GET /any HTTP/1.0\r\n\r\n")};
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		skip(); /* no IPv6 in this sandbox */
	close(fd);
	serve("[::1]:0", AF_INET6, &seen, ex, 1);
	assert_non_null(strstr(ex[0].reply, " 202 "));
}

static void test_close_before_start_and_bad_addresses(void **state)
{
	uv_loop_t loop;
	struct pf_error err = {0};
	bool done = false;

	assert_int_equal(uv_loop_init(&loop), 0);
	struct pf_http_server *s = pf_http_server_create(&loop, "127.0.0.1:0", 10, &err);
	assert_non_null(s);
	pf_http_server_close(s, on_closed_done, &done);
	assert_true(done);
	pf_http_server_close(NULL, NULL, NULL);
	assert_null(pf_http_server_create(&loop, "nohost", 10, &err));
	assert_non_null(strstr(err.msg, "host:port"));
	pf_error_clear(&err);
	assert_null(pf_http_server_create(&loop, "127.0.0.1:http", 10, &err));
	pf_error_clear(&err);
	assert_null(pf_http_server_create(&loop, "[::1:80", 10, &err));
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_parse_address(void **state)
{
	struct pf_error err = {0};
	struct sockaddr_storage a;
	socklen_t len;
	assert_int_equal(pf_http_parse_address("127.0.0.1:80", &a, &len, &err), 0);
	assert_int_equal(a.ss_family, AF_INET);
	assert_int_equal(pf_http_parse_address("[::1]:4318", &a, &len, &err), 0);
	assert_int_equal(a.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&a)->sin6_port), 4318);
	assert_int_equal(pf_http_parse_address("localhost:1", &a, &len, &err), 0);
	assert_int_equal(a.ss_family, AF_INET);
	assert_int_equal(pf_http_parse_address(":8888", &a, &len, &err), 0);
	assert_int_equal(pf_http_parse_address("127.0.0.1", &a, &len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "host:port"));
	pf_error_clear(&err);
	assert_int_equal(pf_http_parse_address("127.0.0.1:99999", &a, &len, &err), -EINVAL);
	pf_error_clear(&err);
	assert_int_equal(pf_http_parse_address("::1:80", &a, &len, &err), -EINVAL);
	pf_error_clear(&err);
	assert_int_equal(pf_http_parse_address("[::1]80", &a, &len, &err), -EINVAL);
}

/* ---- deferred answers ---- */

struct later {
	struct pf_http_server *s;
	void *call;
	const char *body; /* the request's, kept until the reply */
	size_t body_len;
	uv_timer_t timer;
	bool closed;
	struct exchange ex;
	pthread_t thread;
};

static void on_later(void *arg, const struct pf_http_request *req, struct pf_http_response *resp)
{
	struct later *l = arg;

	l->call = req->call;
	l->body = req->body;
	l->body_len = req->body_len;
	resp->deferred = true;
}

static void *later_client(void *arg)
{
	struct later *l = arg;

	talk(AF_INET, pf_http_server_port(l->s), &l->ex);
	return NULL;
}

/* The handler deferred: close first (it must wait), then answer from the
 * loop with the body the request brought. */
static void on_later_timer(uv_timer_t *t)
{
	struct later *l = t->data;
	struct pf_http_response resp = {.status = 201};

	if (!l->call)
		return;
	uv_close((uv_handle_t *)t, NULL);
	assert_int_equal(pf_http_server_pending(l->s), 1);
	pf_http_server_close(l->s, on_closed_done, &l->closed);
	assert_false(l->closed);
	assert_non_null(l->body);
	assert_true(asprintf(&resp.body, "later: %.*s", (int)l->body_len, l->body) > 0);
	resp.body_len = strlen(resp.body);
	pf_http_server_reply(l->call, &resp);
}

static void test_deferred_reply_and_close_waits(void **state)
{
	static const char req[] = "POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
				  "Connection: close\r\n\r\nabcde";
	struct pf_error err = {0};
	struct later l = {.ex = {.request = req, .request_len = sizeof(req) - 1}};
	uv_loop_t loop;

	assert_int_equal(uv_loop_init(&loop), 0);
	l.s = pf_http_server_create(&loop, "127.0.0.1:0", MAX_BODY, &err);
	assert_non_null(l.s);
	assert_int_equal(pf_http_server_route(l.s, "POST", "/later", on_later, &l), 0);
	assert_int_equal(pf_http_server_start(l.s, &err), 0);
	uv_timer_init(&loop, &l.timer);
	l.timer.data = &l;
	uv_timer_start(&l.timer, on_later_timer, 5, 5);
	assert_int_equal(pthread_create(&l.thread, NULL, later_client, &l), 0);
	uv_run(&loop, UV_RUN_DEFAULT); /* ends when the server closed */
	pthread_join(l.thread, NULL);
	assert_true(l.closed);
	assert_non_null(strstr(l.ex.reply, "HTTP/1.1 201"));
	assert_non_null(strstr(l.ex.reply, "later: abcde"));
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes_methods_and_bodies),
		cmocka_unit_test(test_body_and_headers_reach_the_handler),
		cmocka_unit_test(test_body_over_the_limit_is_413),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_close_before_start_and_bad_addresses),
		cmocka_unit_test(test_parse_address),
		cmocka_unit_test(test_deferred_reply_and_close_waits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
