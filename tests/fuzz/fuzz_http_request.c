// SPDX-License-Identifier: Apache-2.0
/* Fuzzes HTTP requests as the server takes them: the request-line check, and the whole input sent to a real pf_http_server over loopback (gate, limits, header checks, framing, routes, bodies). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "transport/http_server.h"

#define MAX_BODY 1000

/* The server lives across inputs: one loop, one listening port. */
struct rig {
	uv_loop_t loop;
	struct pf_http_server *s;
	unsigned port;
};

static void on_echo(void *arg, const struct pf_http_request *req, struct pf_http_response *resp)
{
	if (req->body_len > MAX_BODY || (req->body_len && !req->body)) {
		fprintf(stderr, "handler got a body of %zu bytes\n", req->body_len);
		abort();
	}
	resp->status = 200;
	resp->body = malloc(req->body_len + 1);
	if (resp->body) {
		memcpy(resp->body, req->body ? req->body : "", req->body_len);
		resp->body_len = req->body_len;
	}
}

static bool check_header(void *arg, const struct pf_http_request *req,
			 struct pf_http_response *resp)
{
	const char *t = pf_http_request_header(req, "Authorization");

	if (req->body) {
		fprintf(stderr, "a header check saw a body\n");
		abort();
	}
	if (t && strcmp(t, "Bearer t") == 0)
		return true;
	resp->status = 401;
	return false;
}

static struct rig *rig(void)
{
	static struct rig r;
	struct pf_error err = {0};
	struct pf_http_server_limits l = {
		.read_header_timeout = 50 * 1000000LL,
		.read_timeout = 100 * 1000000LL,
		.idle_timeout = 1000000000LL,
		.max_connections = 64,
		.max_connections_per_client = 0,
	};

	if (r.s)
		return &r;
	if (uv_loop_init(&r.loop) != 0)
		abort();
	r.s = pf_http_server_create(&r.loop, "127.0.0.1:0", MAX_BODY, &err);
	if (!r.s || pf_http_server_route(r.s, "POST", "/echo", on_echo, NULL) < 0 ||
	    pf_http_server_route(r.s, NULL, "/any", on_echo, NULL) < 0 ||
	    pf_http_server_route(r.s, "POST", "/auth", on_echo, NULL) < 0 ||
	    pf_http_server_route_check(r.s, "/auth", check_header) < 0)
		abort();
	pf_http_server_limits(r.s, &l);
	pf_http_server_body_budget(r.s, 3 * MAX_BODY);
	if (pf_http_server_start(r.s, &err) < 0) {
		fprintf(stderr, "cannot start: %s\n", err.msg);
		abort();
	}
	r.port = pf_http_server_port(r.s);
	return &r;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends data on a fresh connection, half-closes it and serves until the
 * server closed it or its answers stopped; checks that what came back is
 * an HTTP/1.x answer. */
static void exchange(struct rig *r, const uint8_t *data, size_t size)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->port)};
	char reply[8192];
	size_t got = 0, sent = 0;
	bool eof = false;
	int64_t start = now_ms(), last = 0;
	struct linger rst = {.l_onoff = 1, .l_linger = 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		abort();
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
		abort();
	while (!eof && now_ms() - start < 2000) {
		if (sent < size) {
			ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != ENOTCONN)
				sent = size; /* the server closed early */
			if (sent == size)
				shutdown(fd, SHUT_WR);
		}
		uv_run(&r->loop, UV_RUN_NOWAIT);
		for (;;) {
			ssize_t n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
			if (n > 0)
				last = now_ms();
			if (n > 0 && (got += (size_t)n) < sizeof(reply) - 1)
				continue;
			if (n == 0 || (n < 0 && errno != EAGAIN) || got == sizeof(reply) - 1)
				eof = true;
			break;
		}
		/* A kept-alive connection stays open after its answers: once
		 * they stopped coming for a while, this input is done. */
		if (got && now_ms() - last >= 20)
			eof = true;
		if (!eof)
			uv_sleep(0);
	}
	if (!eof) {
		fprintf(stderr, "the server neither answered nor closed within 2 s\n");
		abort();
	}
	reply[got] = '\0';
	/* Reset, not FIN: the server drops its side at once. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	if (got && strncmp(reply, "HTTP/1.1 ", 9) != 0 && strncmp(reply, "HTTP/1.0 ", 9) != 0) {
		fprintf(stderr, "not an HTTP answer: %.40s\n", reply);
		abort();
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	enum pf_http_line whole, half;

	/* A prefix decides no differently from the whole, once it decided. */
	whole = pf_http_request_line_check(text, size);
	half = pf_http_request_line_check(text, size / 2);
	if (half != PF_HTTP_LINE_MORE && half != whole) {
		fprintf(stderr, "the first %zu bytes said %d, all %zu said %d\n", size / 2, half,
			size, whole);
		abort();
	}

	exchange(rig(), data, size);
	return 0;
}
