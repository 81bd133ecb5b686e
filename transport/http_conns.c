// SPDX-License-Identifier: Apache-2.0
/* The HTTP server's connection side: it listens and accepts itself, limits connections per client address, and closes connections past their absolute header and body deadlines. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_server_internal.h"

/*
 * libmicrohttpd's own limits do not hold against slow clients: its timeout
 * is reset by every byte, and at its connection limit it resets new
 * connections, so ~256 clients trickling a header line now and then lock
 * the server. So MHD runs without a listening socket; connections are
 * accepted here, counted per client address, answered 503 + Retry-After
 * over a limit, watched until their request line is complete and valid
 * (garbage gets 400 at once; MHD would close silently or wait), and then
 * handed to MHD with MHD_add_connection(). A timer checks
 * each connection's deadline, absolute from when its request could start,
 * and shuts a late one down; MHD then reads EOF and closes it.
 */

#define TICK_MS	       100 /* deadline precision; also the EMFILE back-off */
#define ACCEPT_BATCH   64  /* connections accepted per poll callback */
#define LISTEN_BACKLOG 1024

#define BUSY_BODY "too many connections\n"
static const char busy_reply[] = "HTTP/1.1 503 Service Unavailable\r\n"
				 "Retry-After: 1\r\n"
				 "Content-Type: text/plain; charset=utf-8\r\n"
				 "Connection: close\r\n"
				 "Content-Length: 21\r\n"
				 "\r\n" BUSY_BODY;
_Static_assert(sizeof(BUSY_BODY) - 1 == 21, "Content-Length of busy_reply");

#define BAD_BODY "malformed request line\n"
static const char bad_reply[] = "HTTP/1.1 400 Bad Request\r\n"
				"Content-Type: text/plain; charset=utf-8\r\n"
				"Connection: close\r\n"
				"Content-Length: 23\r\n"
				"\r\n" BAD_BODY;
_Static_assert(sizeof(BAD_BODY) - 1 == 23, "Content-Length of bad_reply");

static void format_address(const struct sockaddr_storage *ss, char *host, size_t size,
			   unsigned *port)
{
	snprintf(host, size, "?");
	*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, host, (socklen_t)size);
		*port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, (socklen_t)size);
		*port = ntohs(in6->sin6_port);
	}
}

int pf_http_conns_listen(struct pf_http_server *s, struct pf_error *err)
{
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	int one = 1, saved;
	int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		goto out_err;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&s->addr, s->addr_len) < 0)
		goto out_close;
	if (listen(fd, LISTEN_BACKLOG) < 0)
		goto out_close;
	/* Clients speak first: accept once their first bytes are in, which
	 * usually holds the whole request line (best effort; no error). */
	setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
	if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) == 0)
		format_address(&bound, host, sizeof(host), &s->port);
	s->listen_fd = fd;
	return 0;

out_close:
	saved = errno;
	close(fd);
	errno = saved;
out_err:
	saved = errno;
	format_address(&s->addr, host, sizeof(host), &port);
	pf_error_set(err, "", "cannot listen on %s port %u: %s", host, port, strerror(saved));
	return -saved;
}

/* ---- clients: connections per address ---- */

static void client_key(const struct sockaddr_storage *ss, uint8_t key[16])
{
	memset(key, 0, 16);
	if (ss->ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

static struct pf_http_client **client_bucket(struct pf_http_server *s, const uint8_t key[16])
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return &s->clients[h % PF_HTTP_CLIENT_BUCKETS];
}

static struct pf_http_client *client_find(struct pf_http_server *s, const uint8_t key[16])
{
	for (struct pf_http_client *c = *client_bucket(s, key); c; c = c->next)
		if (memcmp(c->addr, key, 16) == 0)
			return c;
	return NULL;
}

/* Drops one connection of `cl`; frees it with its last. */
static void client_put(struct pf_http_server *s, struct pf_http_client *cl)
{
	struct pf_http_client **p;

	if (--cl->n > 0)
		return;
	for (p = client_bucket(s, cl->addr); *p != cl; p = &(*p)->next)
		;
	*p = cl->next;
	free(cl);
}

/* ---- connection records ---- */

static void conn_free(struct pf_http_server *s, struct pf_http_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->conns_tail = c->prev;
	client_put(s, c->client);
	s->stats.open--;
	free(c);
}

static void on_tick(uv_timer_t *t);

static void arm_tick(struct pf_http_server *s)
{
	if (!uv_is_active((uv_handle_t *)&s->tick))
		uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
}

/* Answers with `reply` (NULL: none) and closes fd. The bytes the client
 * already sent are read first, so that closing sends FIN, not RST, and the
 * answer reaches it. HTTPS connections are closed unanswered. */
static void answer_and_close(struct pf_http_server *s, int fd, const char *reply, size_t len)
{
	char junk[4096];
	ssize_t n;

	if (reply && !s->tls_cert) {
		for (int i = 0; i < 16; i++) {
			n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
			if (n <= 0)
				break;
		}
		n = send(fd, reply, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n; /* a client that cannot take 200 bytes gets the close alone */
		shutdown(fd, SHUT_WR);
	}
	close(fd);
}

static void refuse(struct pf_http_server *s, int fd)
{
	s->stats.refused++;
	answer_and_close(s, fd, busy_reply, sizeof(busy_reply) - 1);
}

/* Hands c's socket to MHD, which takes it (and closes it even on failure). */
static void hand_over(struct pf_http_server *s, struct pf_http_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) < 0) {
		close(c->fd);
		conn_free(s, c);
		return;
	}
	s->adding = c;
	enum MHD_Result rc =
		MHD_add_connection(s->daemon, c->fd, (const struct sockaddr *)&ss, len);
	bool alive = s->adding == c; /* else MHD reported it closed: c is gone */
	s->adding = NULL;
	if (rc != MHD_YES) {
		if (alive && !c->attached)
			conn_free(s, c);
		return;
	}
	s->stats.accepted++;
}

static void on_gate_closed(uv_handle_t *h)
{
	struct pf_http_gate *g = h->data;
	struct pf_http_server *s = g->s;

	free(g);
	pf_http_server_unref(s);
}

/* Ends c's gate; c's socket stays open. */
static void gate_end(struct pf_http_conn *c)
{
	/* uv_close removes the fd from libuv's epoll set at once. */
	uv_close((uv_handle_t *)&c->gate->poll, on_gate_closed);
	c->gate = NULL;
}

/* Closes a connection MHD does not have, answering `reply` when not NULL. */
static void gate_drop(struct pf_http_server *s, struct pf_http_conn *c, const char *reply,
		      size_t len)
{
	if (c->gate)
		gate_end(c);
	answer_and_close(s, c->fd, reply, len);
	conn_free(s, c);
}

static void on_gate(uv_poll_t *p, int status, int events);

/* True when the client shut its side down: a partial line stays partial. */
static bool peer_done(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

enum { PEEK_WAIT = -1, PEEK_GONE = -2 };

/* What fd's first bytes say: a pf_http_line, PEEK_WAIT (nothing yet) or
 * PEEK_GONE (closed or failed before a request). */
static int peek_line(int fd)
{
	char buf[PF_HTTP_LINE_MAX];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	enum pf_http_line v;

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return PEEK_WAIT;
	if (n <= 0)
		return PEEK_GONE;
	v = pf_http_request_line_check(buf, (size_t)n);
	/* Too long, or never to be completed. */
	if (v == PF_HTTP_LINE_MORE && ((size_t)n == sizeof(buf) || peer_done(fd)))
		return PF_HTTP_LINE_BAD;
	return v;
}

/* Watches c until its request line is complete: by polling for its next
 * bytes (`poll`), or, with a partial line already there (which would wake
 * the poll at once, again and again), from the tick. Returns 0 or -ENOMEM. */
static int gate_watch(struct pf_http_server *s, struct pf_http_conn *c, bool poll)
{
	if (!c->gate) {
		c->gate = calloc(1, sizeof(*c->gate));
		if (!c->gate)
			return -ENOMEM;
		if (uv_poll_init(s->loop, &c->gate->poll, c->fd) < 0) {
			free(c->gate);
			c->gate = NULL;
			return -ENOMEM;
		}
		c->gate->poll.data = c->gate;
		c->gate->s = s;
		c->gate->conn = c;
		s->open_handles++;
	}
	c->gate->waiting = !poll;
	if (poll)
		return uv_poll_start(&c->gate->poll, UV_READABLE, on_gate) < 0 ? -ENOMEM : 0;
	uv_poll_stop(&c->gate->poll);
	return 0;
}

/* Decides on a connection MHD does not have yet: wait, 400, or MHD. */
static void gate_check(struct pf_http_server *s, struct pf_http_conn *c)
{
	int v = peek_line(c->fd);

	switch (v) {
	case PF_HTTP_LINE_OK:
		if (c->gate)
			gate_end(c);
		hand_over(s, c);
		return;
	case PF_HTTP_LINE_BAD:
		s->stats.malformed++;
		gate_drop(s, c, bad_reply, sizeof(bad_reply) - 1);
		return;
	case PEEK_GONE: gate_drop(s, c, NULL, 0); return;
	default: /* PEEK_WAIT, PF_HTTP_LINE_MORE */
		if (gate_watch(s, c, v == PEEK_WAIT) < 0) {
			s->stats.refused++;
			gate_drop(s, c, busy_reply, sizeof(busy_reply) - 1);
		}
		return;
	}
}

static void on_gate(uv_poll_t *p, int status, int events)
{
	struct pf_http_gate *g = p->data;
	struct pf_http_server *s = g->s;

	(void)status;
	(void)events;
	gate_check(s, g->conn);
	pf_http_server_pump(s);
}

/* Takes fd: watches it within the limits, or refuses it. */
static void admit(struct pf_http_server *s, int fd, const struct sockaddr_storage *ss)
{
	const struct pf_http_server_limits *l = &s->limits;
	struct pf_http_client *cl;
	struct pf_http_conn *c;
	uint8_t key[16];

	client_key(ss, key);
	cl = client_find(s, key);
	if (s->stats.open >= (size_t)l->max_connections ||
	    (l->max_connections_per_client > 0 && cl &&
	     cl->n >= (size_t)l->max_connections_per_client)) {
		refuse(s, fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out_refuse;
	if (!cl) {
		cl = calloc(1, sizeof(*cl));
		if (!cl)
			goto out_free_conn;
		memcpy(cl->addr, key, 16);
		struct pf_http_client **b = client_bucket(s, key);
		cl->next = *b;
		*b = cl;
	}
	cl->n++;
	c->client = cl;
	c->fd = fd;
	c->phase = PF_HTTP_HEADERS;
	c->since_ms = uv_now(s->loop);
	c->prev = s->conns_tail;
	if (s->conns_tail)
		s->conns_tail->next = c;
	else
		s->conns = c;
	s->conns_tail = c;
	s->stats.open++;
	arm_tick(s);
	if (s->tls_cert)
		hand_over(s, c); /* MHD does the handshake */
	else
		gate_check(s, c); /* with TCP_DEFER_ACCEPT the line is mostly there */
	return;

out_free_conn:
	free(c);
out_refuse:
	refuse(s, fd);
}

static void pause_accepting(struct pf_http_server *s)
{
	uv_poll_stop(&s->listen_poll);
	s->accept_paused = true;
	arm_tick(s);
}

static void on_listen(uv_poll_t *p, int status, int events)
{
	struct pf_http_server *s = p->data;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	(void)status;
	(void)events;
	for (int i = 0; i < ACCEPT_BATCH && !s->closing; i++) {
		len = sizeof(ss);
		fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			admit(s, fd, &ss);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			pause_accepting(s); /* else the socket stays readable: a busy loop */
		break;
	}
	pf_http_server_pump(s);
}

/* Closes connections past their deadline (MHD's by shutting them down: it
 * then reads EOF and closes them) and re-checks partial request lines. */
static void on_tick(uv_timer_t *t)
{
	struct pf_http_server *s = t->data;
	uint64_t now = uv_now(s->loop);
	uint64_t header_ms = (uint64_t)s->limits.read_header_timeout / 1000000;
	uint64_t read_ms = (uint64_t)s->limits.read_timeout / 1000000;
	struct pf_http_conn *c, *next;
	bool cut = false;

	for (c = s->conns; c; c = next) {
		next = c->next; /* c may be freed */
		if (c->cut || c->phase == PF_HTTP_HANDLED)
			continue;
		uint64_t limit = (c->phase == PF_HTTP_HEADERS ? header_ms : read_ms) + c->grace_ms;
		if (now - c->since_ms >= limit) {
			s->stats.timed_out++;
			if (c->gate) {
				gate_drop(s, c, NULL, 0);
				continue;
			}
			shutdown(c->fd, SHUT_RDWR);
			c->cut = true;
			cut = true;
		} else if (c->gate && c->gate->waiting) {
			gate_check(s, c);
		}
	}
	if (s->accept_paused && s->listen_fd >= 0) {
		s->accept_paused = false;
		uv_poll_start(&s->listen_poll, UV_READABLE, on_listen);
	}
	if (!s->conns && !s->accept_paused)
		uv_timer_stop(&s->tick);
	if (cut)
		pf_http_server_pump(s);
}

int pf_http_conns_start(struct pf_http_server *s)
{
	int rc = uv_poll_init(s->loop, &s->listen_poll, s->listen_fd);

	if (rc < 0)
		return rc;
	s->listen_poll.data = s;
	uv_timer_init(s->loop, &s->tick);
	s->tick.data = s;
	s->open_handles += 2;
	return uv_poll_start(&s->listen_poll, UV_READABLE, on_listen);
}

static void close_listener(struct pf_http_server *s)
{
	struct pf_http_conn *c, *next;

	if (s->listen_fd >= 0) {
		/* uv_close removes the fd from libuv's epoll set; only then close it. */
		uv_close((uv_handle_t *)&s->listen_poll, pf_http_server_handle_closed);
		close(s->listen_fd);
		s->listen_fd = -1;
		s->accept_paused = false;
	}
	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->gate)
			gate_drop(s, c, NULL, 0);
	}
}

void pf_http_conns_stop_accepting(struct pf_http_server *s)
{
	close_listener(s);
}

void pf_http_conns_close(struct pf_http_server *s)
{
	close_listener(s);
	uv_close((uv_handle_t *)&s->tick, pf_http_server_handle_closed);
}

void pf_http_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct pf_http_server *s = cls;
	struct pf_http_conn *c;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		c = *socket_context;
		if (c && c == s->adding)
			s->adding = NULL;
		if (c)
			conn_free(s, c);
		*socket_context = NULL;
		return;
	}
	c = s->adding;
	if (!c || c->attached) {
		/* Not from inside MHD_add_connection(): find it by its socket. */
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		for (c = s->conns_tail; c; c = c->prev)
			if (!c->attached && info && c->fd == info->connect_fd)
				break;
	}
	if (c) {
		c->attached = true;
		*socket_context = c;
	}
}

void pf_http_conns_phase(struct pf_http_server *s, struct MHD_Connection *conn,
			 enum pf_http_phase phase)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct pf_http_conn *c = info ? info->socket_context : NULL;

	if (!c)
		return;
	if (phase == PF_HTTP_HEADERS) {
		/* Kept alive: the next request may take the idle time to begin. */
		c->since_ms = uv_now(s->loop);
		c->grace_ms = (uint64_t)s->limits.idle_timeout / 1000000;
	}
	c->phase = phase;
}
