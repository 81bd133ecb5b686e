// SPDX-License-Identifier: Apache-2.0
/* The loop-driven HTTP server: routes, methods, bodies and their limit, headers, IPv6, closing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "transport/http_server.h"

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

/* ---- limits: deadlines, connection limits, framing, header checks ---- */

/* A server on 127.0.0.1 with `limits`, driven by a client thread; closed
 * when the client is done. */
struct rig {
	uv_loop_t loop;
	struct pf_http_server *s;
	uv_async_t async;
	pthread_t thread;
	void (*client)(struct rig *);
	unsigned port;
	bool closed;
	struct seen seen;
	struct pf_http_server_stats stats; /* when the client was done */
	/* Client results. */
	char reply[8][1024];
	int64_t ms[8];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection to the rig from source address `from` (127.0.0.x). */
static int dial(const struct rig *r, const char *from)
{
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, from, &src.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	dst.sin_port = htons((uint16_t)r->port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&dst, sizeof(dst)), 0);
	return fd;
}

static void send_text(int fd, const char *text)
{
	size_t n = strlen(text);

	assert_int_equal(send(fd, text, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads until EOF or `ms` pass; NUL-terminated. Returns the bytes read. */
static size_t read_reply(int fd, char *buf, size_t size, int ms)
{
	int64_t end = now_ms() + ms;
	size_t got = 0;

	while (got < size - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = end - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t n = recv(fd, buf + got, size - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

/* Sends `step` every 50 ms until the server closes the connection (or 3 s
 * pass); returns how long the server let it go on, in ms. */
static int64_t trickle(int fd, const char *step)
{
	int64_t start = now_ms();

	while (now_ms() - start < 3000) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char c;

		if (send(fd, step, strlen(step), MSG_NOSIGNAL) < 0)
			break;
		if (poll(&p, 1, 50) > 0 && recv(fd, &c, 1, 0) <= 0)
			break;
	}
	return now_ms() - start;
}

static void *rig_main(void *arg)
{
	struct rig *r = arg;

	r->client(r);
	uv_async_send(&r->async);
	return NULL;
}

static void on_rig_done(uv_async_t *a)
{
	struct rig *r = a->data;

	pf_http_server_stats(r->s, &r->stats);
	uv_close((uv_handle_t *)a, on_async_closed);
	pf_http_server_close(r->s, on_closed_done, &r->closed);
}

static void run_rig(struct rig *r, const struct pf_http_server_limits *limits,
		    pf_http_check_fn check, void (*client)(struct rig *))
{
	struct pf_error err = {0};

	assert_int_equal(uv_loop_init(&r->loop), 0);
	r->s = pf_http_server_create(&r->loop, "127.0.0.1:0", MAX_BODY, &err);
	assert_non_null(r->s);
	assert_int_equal(pf_http_server_route(r->s, "POST", "/echo", on_echo, &r->seen), 0);
	assert_int_equal(pf_http_server_route(r->s, NULL, "/any", on_echo, &r->seen), 0);
	if (check)
		assert_int_equal(pf_http_server_route_check(r->s, "/echo", check), 0);
	assert_int_equal(pf_http_server_route_check(r->s, "/nowhere", check), -ENOENT);
	if (limits)
		pf_http_server_limits(r->s, limits);
	assert_int_equal(pf_http_server_start(r->s, &err), 0);
	r->port = pf_http_server_port(r->s);
	r->client = client;
	uv_async_init(&r->loop, &r->async, on_rig_done);
	r->async.data = r;
	assert_int_equal(pthread_create(&r->thread, NULL, rig_main, r), 0);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	pthread_join(r->thread, NULL);
	assert_true(r->closed);
	assert_int_equal(uv_loop_close(&r->loop), 0);
}

static struct pf_http_server_limits short_limits(void)
{
	return (struct pf_http_server_limits){
		.read_header_timeout = 300 * 1000000LL,
		.read_timeout = 500 * 1000000LL,
		.idle_timeout = 60 * 1000000000LL,
		.max_connections = 100,
		.max_connections_per_client = 3,
	};
}

static void slow_headers_client(struct rig *r)
{
	int fd = dial(r, "127.0.0.1");

	send_text(fd, "POST /echo HTTP/1.1\r\nHost: x\r\n");
	r->ms[0] = trickle(fd, "X-Slow: a\r\n");
	close(fd);
}

/* Each header line resets an idle timeout; the header deadline is not. */
static void test_slow_headers_are_cut_at_the_deadline(void **state)
{
	struct rig r = {0};
	struct pf_http_server_limits l = short_limits();

	run_rig(&r, &l, NULL, slow_headers_client);
	assert_in_range(r.ms[0], 250, 1500);
	assert_int_equal(r.stats.timed_out, 1);
	assert_int_equal(r.seen.calls, 0);
}

static void slow_body_client(struct rig *r)
{
	int fd = dial(r, "127.0.0.1");

	send_text(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n");
	r->ms[0] = trickle(fd, "b");
	close(fd);
}

static void test_slow_body_is_cut_at_the_deadline(void **state)
{
	struct rig r = {0};
	struct pf_http_server_limits l = short_limits();

	run_rig(&r, &l, NULL, slow_body_client);
	assert_in_range(r.ms[0], 400, 1600);
	assert_int_equal(r.stats.timed_out, 1);
	assert_int_equal(r.seen.calls, 0);
}

static void per_client_client(struct rig *r)
{
	int held[3], fd;

	for (int i = 0; i < 3; i++) {
		held[i] = dial(r, "127.0.0.2");
		send_text(held[i], "POST /echo HTTP/1.1\r\n");
	}
	/* The fourth from 127.0.0.2 is over its limit. */
	fd = dial(r, "127.0.0.2");
	send_text(fd, "GET /any HTTP/1.1\r\nHost: x\r\n\r\n");
	r->ms[0] = now_ms();
	read_reply(fd, r->reply[0], sizeof(r->reply[0]), 2000);
	r->ms[0] = now_ms() - r->ms[0];
	close(fd);
	/* Another address is served meanwhile. */
	fd = dial(r, "127.0.0.3");
	send_text(fd, "GET /any HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	read_reply(fd, r->reply[1], sizeof(r->reply[1]), 2000);
	close(fd);
	for (int i = 0; i < 3; i++)
		close(held[i]);
}

static void test_connections_over_the_per_client_limit_get_503(void **state)
{
	struct rig r = {0};
	struct pf_http_server_limits l = short_limits();

	l.read_header_timeout = 10 * 1000000000LL;
	run_rig(&r, &l, NULL, per_client_client);
	assert_non_null(strstr(r.reply[0], "HTTP/1.1 503"));
	assert_non_null(strstr(r.reply[0], "Retry-After: 1"));
	assert_in_range(r.ms[0], 0, 1000);
	assert_non_null(strstr(r.reply[1], "HTTP/1.1 202"));
	assert_int_equal(r.stats.refused, 1);
}

static void max_connections_client(struct rig *r)
{
	int held[2], fd;

	held[0] = dial(r, "127.0.0.2");
	held[1] = dial(r, "127.0.0.3");
	send_text(held[0], "POST");
	send_text(held[1], "POST");
	fd = dial(r, "127.0.0.4");
	send_text(fd, "GET /any HTTP/1.1\r\nHost: x\r\n\r\n");
	read_reply(fd, r->reply[0], sizeof(r->reply[0]), 2000);
	close(fd);
	close(held[0]);
	close(held[1]);
}

static void test_connections_over_max_connections_get_503(void **state)
{
	struct rig r = {0};
	struct pf_http_server_limits l = short_limits();

	l.read_header_timeout = 10 * 1000000000LL;
	l.max_connections = 2;
	l.max_connections_per_client = 0;
	run_rig(&r, &l, NULL, max_connections_client);
	assert_non_null(strstr(r.reply[0], "HTTP/1.1 503"));
	assert_non_null(strstr(r.reply[0], "Retry-After: 1"));
}

static const char *const framing_requests[] = {
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
	"5\r\nabcde\r\n0\r\n\r\n",
	"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n"
	"Connection: close\r\n\r\nabcde",
	"HELLO\r\n\r\n",
	"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
	"GET\r\n\r\n",
};

static void framing_client(struct rig *r)
{
	for (size_t i = 0; i < sizeof(framing_requests) / sizeof(framing_requests[0]); i++) {
		int fd = dial(r, "127.0.0.1");

		send_text(fd, framing_requests[i]);
		r->ms[i] = now_ms();
		read_reply(fd, r->reply[i], sizeof(r->reply[i]), 3000);
		r->ms[i] = now_ms() - r->ms[i];
		close(fd);
	}
}

/* Two lengths: which one a proxy in front used is anyone's guess. */
static void test_conflicting_content_length_is_400(void **state)
{
	struct rig r = {0};

	run_rig(&r, NULL, NULL, framing_client);
	assert_non_null(strstr(r.reply[0], "HTTP/1.1 400"));
	assert_non_null(strstr(r.reply[1], "HTTP/1.1 400"));
	assert_non_null(strstr(r.reply[2], "HTTP/1.1 202"));
	assert_int_equal(r.seen.calls, 1);
}

static void test_garbage_request_line_is_400_at_once(void **state)
{
	struct rig r = {0};

	run_rig(&r, NULL, NULL, framing_client);
	for (int i = 3; i < 6; i++) {
		assert_non_null(strstr(r.reply[i], " 400 "));
		assert_in_range(r.ms[i], 0, 1000);
	}
}

static void pieces_client(struct rig *r)
{
	int fd = dial(r, "127.0.0.1");

	send_text(fd, "\r\nGET /an");
	usleep(150 * 1000);
	send_text(fd, "y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	read_reply(fd, r->reply[0], sizeof(r->reply[0]), 2000);
	close(fd);
}

/* A request line cut across packets waits for the rest, then is served. */
static void test_request_line_in_pieces_is_served(void **state)
{
	struct rig r = {0};

	run_rig(&r, NULL, NULL, pieces_client);
	assert_non_null(strstr(r.reply[0], "HTTP/1.1 202"));
	assert_int_equal(r.stats.malformed, 0);
}

static void test_request_line_check(void **state)
{
	static const struct {
		const char *text;
		enum pf_http_line want;
	} cases[] = {
		{"GET / HTTP/1.1\r\n", PF_HTTP_LINE_OK},
		{"GET / HTTP/1.0\n", PF_HTTP_LINE_OK},
		{"\r\nPOST /v1development/profiles?x=1 HTTP/1.1\r\nHost", PF_HTTP_LINE_OK},
		{"", PF_HTTP_LINE_MORE},
		{"\r", PF_HTTP_LINE_MORE},
		{"GE", PF_HTTP_LINE_MORE},
		{"GET /x HTTP/1", PF_HTTP_LINE_MORE},
		{"GET /x HTTP/1.1\r", PF_HTTP_LINE_MORE},
		{"GET\r\n", PF_HTTP_LINE_BAD},
		{"GET /\r\n", PF_HTTP_LINE_BAD},
		{"GET  / HTTP/1.1\r\n", PF_HTTP_LINE_BAD},
		{"GET / HTTP/1.1 \r\n", PF_HTTP_LINE_BAD},
		{"GET / HTTX/1.1\r\n", PF_HTTP_LINE_BAD},
		{"GET / HTTP/1.1\rX", PF_HTTP_LINE_BAD},
		{"\x16\x03\x01", PF_HTTP_LINE_BAD},
		{"\r\n\r\n\r\nGET", PF_HTTP_LINE_BAD},
		{"G(T / HTTP/1.1\r\n", PF_HTTP_LINE_BAD},
		{"GET /\x7f HTTP/1.1\r\n", PF_HTTP_LINE_BAD},
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\n", PF_HTTP_LINE_BAD},
		{"SSH-2.0-OpenSSH_9.2", PF_HTTP_LINE_BAD}, /* not a method: too long */
		{"UPDATEREDIRECTREFS / HTTP/1.1\r\n", PF_HTTP_LINE_BAD},
		{"UPDATEREDIRECTREF / HTTP/1.1\r\n", PF_HTTP_LINE_OK},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(pf_http_request_line_check(cases[i].text, strlen(cases[i].text)),
				 cases[i].want);
}

static bool check_token(void *arg, const struct pf_http_request *req, struct pf_http_response *resp)
{
	const char *t = pf_http_request_header(req, "x-token");

	assert_null(req->body);
	if (t && strcmp(t, "ok") == 0)
		return true;
	resp->status = 401;
	resp->body = strdup("no\n");
	resp->body_len = 3;
	return false;
}

static void header_check_client(struct rig *r)
{
	/* The body is never sent: the answer must come from the headers. */
	int fd = dial(r, "127.0.0.1");

	send_text(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n");
	r->ms[0] = now_ms();
	read_reply(fd, r->reply[0], sizeof(r->reply[0]), 2000);
	r->ms[0] = now_ms() - r->ms[0];
	close(fd);
	fd = dial(r, "127.0.0.1");
	send_text(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nX-Token: ok\r\nContent-Length: 3\r\n"
		      "Connection: close\r\n\r\nabc");
	read_reply(fd, r->reply[1], sizeof(r->reply[1]), 2000);
	close(fd);
}

static void test_header_check_answers_before_the_body(void **state)
{
	struct rig r = {0};

	run_rig(&r, NULL, check_token, header_check_client);
	assert_non_null(strstr(r.reply[0], "HTTP/1.1 401"));
	assert_in_range(r.ms[0], 0, 1000);
	assert_non_null(strstr(r.reply[1], "HTTP/1.1 202"));
	assert_int_equal(r.seen.calls, 1);
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
		cmocka_unit_test(test_slow_headers_are_cut_at_the_deadline),
		cmocka_unit_test(test_slow_body_is_cut_at_the_deadline),
		cmocka_unit_test(test_connections_over_the_per_client_limit_get_503),
		cmocka_unit_test(test_connections_over_max_connections_get_503),
		cmocka_unit_test(test_conflicting_content_length_is_400),
		cmocka_unit_test(test_garbage_request_line_is_400_at_once),
		cmocka_unit_test(test_header_check_answers_before_the_body),
		cmocka_unit_test(test_request_line_in_pieces_is_served),
		cmocka_unit_test(test_request_line_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
