// SPDX-License-Identifier: Apache-2.0
/* libmicrohttpd driven by the libuv loop (uv_poll on MHD's epoll fd, uv_timer for its timeouts). */
#include "http_server.h"

#include <assert.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http_server_internal.h"

/* How long a closing server waits for deferred replies to be sent. */
#define FLUSH_MS 1000
/* MHD's own limit stays above ours, so that ours answers first. */
#define MHD_CONNECTION_SLACK 16

/* Per-request state kept in MHD's con_cls between calls. */
struct request {
	struct pf_http_server *s;
	struct MHD_Connection *conn;
	char *body;
	size_t len, cap;
	bool too_big;
	bool answered;		    /* answered from the headers: the body is not read */
	bool over_budget;	    /* the server holds too many bodies: 503 */
	bool deferred;		    /* suspended until pf_http_server_reply() */
	struct MHD_Response *reply; /* the deferred answer, queued once resumed */
	unsigned reply_status;
};

static int split_host_port(const char *text, char *host, size_t host_size, char *port,
			   size_t port_size)
{
	const char *colon;
	const char *h = text;
	size_t hlen;

	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		h = text + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon || memchr(text, ':', (size_t)(colon - text)))
			return -EINVAL;
		hlen = (size_t)(colon - text);
	}
	if (hlen >= host_size || strlen(colon + 1) >= port_size || colon[1] == '\0')
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

int pf_http_parse_address(const char *text, struct sockaddr_storage *addr, socklen_t *len,
			  struct pf_error *err)
{
	char host[256], port[16];
	struct addrinfo hints = {0}, *res = NULL;
	char *end;
	long p;

	if (!text || split_host_port(text, host, sizeof(host), port, sizeof(port)) < 0)
		return pf_error_set(err, "", "address \"%s\": expected host:port or [ipv6]:port",
				    text ? text : "");
	errno = 0;
	p = strtol(port, &end, 10);
	if (*end || errno || p < 0 || p > 65535)
		return pf_error_set(err, "", "address \"%s\": port must be 0..65535", text);
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags |= AI_NUMERICHOST;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc == EAI_NONAME && host[0]) {
		hints.ai_flags &= ~AI_NUMERICHOST;
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc != 0 || !res)
		return pf_error_set(err, "", "address \"%s\": %s", text, gai_strerror(rc));
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

struct pf_http_server *pf_http_server_create(uv_loop_t *loop, const char *address, size_t max_body,
					     struct pf_error *err)
{
	struct pf_http_server *s = calloc(1, sizeof(*s));
	if (!s) {
		pf_error_set(err, "", "out of memory");
		return NULL;
	}
	if (pf_http_parse_address(address, &s->addr, &s->addr_len, err) < 0) {
		free(s);
		return NULL;
	}
	s->loop = loop;
	s->max_body = max_body;
	s->listen_fd = -1;
	s->limits = (struct pf_http_server_limits){
		.read_header_timeout = (int64_t)PF_HTTP_READ_HEADER_TIMEOUT_S * 1000000000,
		.read_timeout = (int64_t)PF_HTTP_READ_TIMEOUT_S * 1000000000,
		.idle_timeout = (int64_t)PF_HTTP_IDLE_TIMEOUT_S * 1000000000,
		.max_connections = PF_HTTP_MAX_CONNECTIONS,
		.max_connections_per_client = PF_HTTP_MAX_PER_CLIENT,
	};
	return s;
}

int pf_http_server_route(struct pf_http_server *s, const char *method, const char *path,
			 pf_http_handler_fn handler, void *arg)
{
	if (s->n_routes == PF_HTTP_MAX_ROUTES || s->daemon)
		return -ENOSPC;
	struct pf_http_route *r = &s->routes[s->n_routes];
	r->path = strdup(path);
	if (!r->path)
		return -ENOMEM;
	if (method) {
		r->method = strdup(method);
		if (!r->method) {
			free(r->path);
			r->path = NULL;
			return -ENOMEM;
		}
	}
	r->handler = handler;
	r->arg = arg;
	s->n_routes++;
	return 0;
}

int pf_http_server_route_check(struct pf_http_server *s, const char *path, pf_http_check_fn check)
{
	int rc = -ENOENT;

	for (size_t i = 0; i < s->n_routes; i++) {
		if (strcmp(s->routes[i].path, path) == 0) {
			s->routes[i].check = check;
			rc = 0;
		}
	}
	return rc;
}

void pf_http_server_limits(struct pf_http_server *s, const struct pf_http_server_limits *limits)
{
	const struct pf_http_server_limits *d = &s->limits; /* the defaults */
	struct pf_http_server_limits l = *limits;

	assert(!s->daemon);
	l.read_header_timeout =
		l.read_header_timeout > 0 ? l.read_header_timeout : d->read_header_timeout;
	l.read_timeout = l.read_timeout > 0 ? l.read_timeout : d->read_timeout;
	l.idle_timeout = l.idle_timeout > 0 ? l.idle_timeout : d->idle_timeout;
	l.max_connections = l.max_connections > 0 ? l.max_connections : d->max_connections;
	l.max_connections_per_client =
		l.max_connections_per_client > 0 ? l.max_connections_per_client : 0;
	s->limits = l;
}

void pf_http_server_stats(const struct pf_http_server *s, struct pf_http_server_stats *out)
{
	*out = s->stats;
}

void pf_http_server_body_budget(struct pf_http_server *s, size_t bytes)
{
	s->budget = bytes;
}

int pf_http_server_tls(struct pf_http_server *s, const char *cert_pem, const char *key_pem,
		       const char *client_ca_pem)
{
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return -ENOTSUP;
	s->tls_cert = strdup(cert_pem);
	s->tls_key = strdup(key_pem);
	s->tls_ca = client_ca_pem ? strdup(client_ca_pem) : NULL;
	if (!s->tls_cert || !s->tls_key || (client_ca_pem && !s->tls_ca))
		return -ENOMEM; /* freed with the server */
	return 0;
}

/* With a client CA: true when the peer presented a certificate that verifies. */
static bool client_verified(const struct pf_http_server *s, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info;
	unsigned status = 0;

	if (!s->tls_ca)
		return true;
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!info || !info->tls_session)
		return false;
	if (gnutls_certificate_type_get(info->tls_session) != GNUTLS_CRT_X509)
		return false;
	if (gnutls_certificate_verify_peers2(info->tls_session, &status) != GNUTLS_E_SUCCESS)
		return false;
	return status == 0;
}

unsigned pf_http_server_port(const struct pf_http_server *s)
{
	return s->port;
}

size_t pf_http_server_pending(const struct pf_http_server *s)
{
	return s->n_pending;
}

const char *pf_http_request_header(const struct pf_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *pf_http_request_query(const struct pf_http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct header_walk {
	int (*fn)(void *arg, const char *key, const char *value);
	void *arg;
	int rc;
};

static enum MHD_Result visit_header(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct header_walk *w = cls;

	(void)kind;
	w->rc = w->fn(w->arg, key, value ? value : "");
	return w->rc ? MHD_NO : MHD_YES;
}

int pf_http_request_headers_each(const struct pf_http_request *req,
				 int (*fn)(void *arg, const char *key, const char *value),
				 void *arg)
{
	struct header_walk w = {.fn = fn, .arg = arg};

	if (!req->conn)
		return 0; /* a request made up by a test */
	MHD_get_connection_values(req->conn, MHD_HEADER_KIND, visit_header, &w);
	return w.rc;
}

static const struct pf_http_route *find_route(const struct pf_http_server *s, const char *path,
					      const char *method, bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < s->n_routes; i++) {
		const struct pf_http_route *r = &s->routes[i];
		if (strcmp(r->path, path) != 0)
			continue;
		*path_known = true;
		if (!r->method || strcmp(r->method, method) == 0)
			return r;
	}
	return NULL;
}

static int append_body(struct pf_http_server *s, struct request *rq, const char *data, size_t n)
{
	if (rq->over_budget)
		return 0;
	if (rq->too_big || n > s->max_body - rq->len) {
		rq->too_big = true;
		return 0;
	}
	if (rq->len + n > rq->cap) {
		size_t cap = rq->cap ? rq->cap : 4096;
		while (cap < rq->len + n)
			cap *= 2;
		if (cap > s->max_body)
			cap = s->max_body;
		if (s->budget && s->held + (cap - rq->cap) > s->budget) {
			s->held -= rq->cap;
			free(rq->body);
			rq->body = NULL;
			rq->len = rq->cap = 0;
			rq->over_budget = true;
			return 0;
		}
		char *grown = realloc(rq->body, cap);
		if (!grown)
			return -ENOMEM;
		rq->body = grown;
		s->held += cap - rq->cap;
		rq->cap = cap;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	return 0;
}

static void plain_response(struct pf_http_response *resp, unsigned status, const char *text)
{
	resp->status = status;
	resp->content_type = "text/plain; charset=utf-8";
	resp->body = strdup(text);
	resp->body_len = resp->body ? strlen(resp->body) : 0;
}

/* An MHD response owning out->body (freed also on failure), headers copied. */
static struct MHD_Response *make_response(struct pf_http_response *out)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(out->body_len, out->body ? out->body : (char *)"",
					       out->body ? MHD_RESPMEM_MUST_FREE
							 : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(out->body);
		return NULL;
	}
	if (out->content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, out->content_type);
	for (size_t i = 0; i < out->n_headers && i < PF_HTTP_MAX_HEADERS; i++)
		MHD_add_response_header(resp, out->headers[i].name, out->headers[i].value);
	return resp;
}

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status,
			     struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, status ? status : 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct pf_http_response *out)
{
	return queue(conn, out->status, make_response(out));
}

/* A closing server takes no new requests; the client should try another. */
static void closing_response(struct pf_http_response *out)
{
	plain_response(out, 503, "server shutting down\n");
	out->headers[0].name = "Retry-After";
	out->headers[0].value = "1";
	out->headers[1].name = MHD_HTTP_HEADER_CONNECTION;
	out->headers[1].value = "close";
	out->n_headers = 2;
}

/* Content-Length headers of a request: how many, and whether they differ. */
struct length_walk {
	const char *first;
	bool conflict;
	bool chunked;
};

static enum MHD_Result visit_length(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	struct length_walk *w = cls;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		w->chunked = true;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		if (!w->first)
			w->first = value ? value : "";
		else if (strcmp(w->first, value ? value : "") != 0)
			w->conflict = true;
	}
	return MHD_YES;
}

/* True when the body's framing is ambiguous: Content-Length headers that
 * differ, or Content-Length with Transfer-Encoding (RFC 9112 6.3: what a
 * proxy in front made of it may differ from what MHD makes of it). */
static bool ambiguous_length(struct MHD_Connection *conn)
{
	struct length_walk w = {0};

	MHD_get_connection_values(conn, MHD_HEADER_KIND, visit_length, &w);
	return w.conflict || (w.first && w.chunked);
}

/* The headers alone decide the answer: the body is neither read nor kept,
 * and MHD closes the connection after the answer. */
static enum MHD_Result answer_from_headers(struct pf_http_server *s, struct MHD_Connection *conn,
					   struct request *rq, struct pf_http_response *out)
{
	rq->answered = true;
	pf_http_conns_phase(s, conn, PF_HTTP_HANDLED);
	return send_response(conn, out);
}

/* First call, the headers complete: everything that can be refused from
 * them is refused here, before any byte of the body is read or counted. */
static enum MHD_Result on_headers(struct pf_http_server *s, struct MHD_Connection *conn,
				  struct request *rq, const char *url, const char *method)
{
	struct pf_http_response out = {0};
	const struct pf_http_route *r;
	bool path_known;

	if (s->closing) {
		closing_response(&out);
		return answer_from_headers(s, conn, rq, &out);
	}
	if (!client_verified(s, conn)) {
		plain_response(&out, 401, "a client certificate is required\n");
		return answer_from_headers(s, conn, rq, &out);
	}
	if (ambiguous_length(conn)) {
		plain_response(&out, 400,
			       "conflicting Content-Length or Transfer-Encoding headers\n");
		return answer_from_headers(s, conn, rq, &out);
	}
	/* A declared length over the limit is refused before reading it.
	 * Chunked bodies are counted as they arrive. */
	const char *cl =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > s->max_body) {
		plain_response(&out, 413, "request body too large\n");
		return answer_from_headers(s, conn, rq, &out);
	}
	r = find_route(s, url, method, &path_known);
	if (!r) {
		plain_response(&out, path_known ? 405 : 404,
			       path_known ? "method not allowed\n" : "not found\n");
		return answer_from_headers(s, conn, rq, &out);
	}
	if (r->check) {
		struct pf_http_request req = {.method = method, .path = url, .conn = conn};

		if (!r->check(r->arg, &req, &out)) {
			assert(!out.deferred);
			return answer_from_headers(s, conn, rq, &out);
		}
	}
	pf_http_conns_phase(s, conn, PF_HTTP_BODY);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct pf_http_server *s = cls;
	struct request *rq = *con_cls;
	struct pf_http_response out = {0};
	bool path_known;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		rq->s = s;
		rq->conn = conn;
		*con_cls = rq;
		return on_headers(s, conn, rq, url, method);
	}
	if (rq->answered) {
		*upload_data_size = 0; /* not kept */
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (append_body(s, rq, upload_data, *upload_data_size) < 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->deferred) {
		/* Resumed by pf_http_server_reply(). */
		struct MHD_Response *reply = rq->reply;

		rq->reply = NULL;
		return queue(conn, rq->reply_status, reply);
	}

	pf_http_conns_phase(s, conn, PF_HTTP_HANDLED);
	const struct pf_http_route *r = find_route(s, url, method, &path_known);
	if (rq->too_big) {
		plain_response(&out, 413, "request body too large\n");
	} else if (rq->over_budget) {
		plain_response(&out, 503, "server busy: too many requests in flight\n");
		out.headers[0].name = "Retry-After";
		out.headers[0].value = "1";
		out.n_headers = 1;
	} else if (!r) {
		plain_response(&out, path_known ? 405 : 404,
			       path_known ? "method not allowed\n" : "not found\n");
	} else {
		struct pf_http_request req = {
			.method = method,
			.path = url,
			.body = rq->len ? rq->body : NULL,
			.body_len = rq->len,
			.conn = conn,
			.call = rq,
		};
		r->handler(r->arg, &req, &out);
		if (out.deferred) {
			assert(!out.body);
			rq->deferred = true;
			s->n_suspended++;
			s->n_pending++;
			MHD_suspend_connection(conn);
			return MHD_YES;
		}
	}
	return send_response(conn, &out);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct pf_http_server *s = cls;
	struct request *rq = *con_cls;
	if (rq) {
		if (rq->deferred)
			s->n_pending--;
		if (rq->reply)
			MHD_destroy_response(rq->reply);
		s->held -= rq->cap;
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
	/* A connection kept alive waits for its next request. */
	pf_http_conns_phase(s, conn, PF_HTTP_HEADERS);
}

static void on_timer(uv_timer_t *t);
static void stop(struct pf_http_server *s);

/* A closing server stops once its deferred requests completed. */
void pf_http_server_pump(struct pf_http_server *s)
{
	MHD_UNSIGNED_LONG_LONG timeout;

	s->in_run = true;
	MHD_run(s->daemon);
	s->in_run = false;
	if (s->closing && s->n_pending == 0) {
		stop(s);
		return;
	}
	if (MHD_get_timeout(s->daemon, &timeout) == MHD_YES)
		uv_timer_start(&s->timer, on_timer, timeout, 0);
	else
		uv_timer_stop(&s->timer);
}

static void on_timer(uv_timer_t *t)
{
	pf_http_server_pump(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	pf_http_server_pump(p->data);
}

int pf_http_server_start(struct pf_http_server *s, struct pf_error *err)
{
	const struct pf_http_server_limits *l = &s->limits;
	const union MHD_DaemonInfo *info;
	int rc;

	rc = pf_http_conns_listen(s, err);
	if (rc < 0)
		return rc;
	struct MHD_OptionItem tls_opts[4] = {{MHD_OPTION_END, 0, NULL}};
	size_t n_tls = 0;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET;
	if (s->tls_cert) {
		flags |= MHD_USE_TLS;
		tls_opts[n_tls++] =
			(struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
		tls_opts[n_tls++] =
			(struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
		if (s->tls_ca)
			tls_opts[n_tls++] =
				(struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls_ca};
		tls_opts[n_tls] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	}
	/* MHD's timeout is reset by every byte: it bounds silence only. */
	unsigned idle_s = (unsigned)((l->idle_timeout + 999999999) / 1000000000);
	s->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, s, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)l->max_connections + MHD_CONNECTION_SLACK, MHD_OPTION_CONNECTION_TIMEOUT,
		idle_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
		pf_http_conns_notify, s, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
	if (!s->daemon) {
		rc = pf_error_set(err, "", "cannot start the HTTP server (libmicrohttpd)");
		goto out_close_listen;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		rc = pf_error_set(err, "", "libmicrohttpd has no epoll support");
		goto out_stop;
	}
	rc = uv_poll_init(s->loop, &s->poll, info->epoll_fd);
	if (rc < 0) {
		pf_error_set(err, "", "uv_poll_init: %s", uv_strerror(rc));
		goto out_stop;
	}
	s->poll.data = s;
	uv_timer_init(s->loop, &s->timer);
	s->timer.data = s;
	uv_timer_init(s->loop, &s->flush);
	s->flush.data = s;
	s->open_handles = 3;
	rc = pf_http_conns_start(s);
	if (rc < 0) {
		/* The handles close on the loop; the server is freed by close. */
		pf_error_set(err, "", "uv_poll_init: %s", uv_strerror(rc));
		goto out_close_handles;
	}
	uv_poll_start(&s->poll, UV_READABLE, on_poll);
	pf_http_server_pump(s);
	return 0;

out_close_handles:
	uv_close((uv_handle_t *)&s->poll, pf_http_server_handle_closed);
	uv_close((uv_handle_t *)&s->timer, pf_http_server_handle_closed);
	uv_close((uv_handle_t *)&s->flush, pf_http_server_handle_closed);
out_stop:
	MHD_stop_daemon(s->daemon);
	s->daemon = NULL;
out_close_listen:
	close(s->listen_fd);
	s->listen_fd = -1;
	s->port = 0;
	return rc;
}

static void free_server(struct pf_http_server *s)
{
	pf_http_closed_fn done = s->done;
	void *arg = s->done_arg;

	for (size_t i = 0; i < s->n_routes; i++) {
		free(s->routes[i].method);
		free(s->routes[i].path);
	}
	free(s->tls_cert);
	free(s->tls_key);
	free(s->tls_ca);
	free(s);
	if (done)
		done(arg);
}

void pf_http_server_unref(struct pf_http_server *s)
{
	/* Also after a failed start; the server is then freed by close. */
	if (--s->open_handles == 0 && s->closing)
		free_server(s);
}

void pf_http_server_handle_closed(uv_handle_t *h)
{
	pf_http_server_unref(h->data);
}

/* Closes the handles and the daemon; the last handle's callback frees. */
static void stop(struct pf_http_server *s)
{
	assert(s->n_suspended == 0); /* MHD must not stop with suspended connections */
	/* libuv stops watching the epoll fd now, before MHD closes it. */
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, pf_http_server_handle_closed);
	uv_close((uv_handle_t *)&s->timer, pf_http_server_handle_closed);
	uv_close((uv_handle_t *)&s->flush, pf_http_server_handle_closed);
	pf_http_conns_close(s);
	MHD_stop_daemon(s->daemon); /* reports every connection closed */
	s->daemon = NULL;
}

static void on_flush_deadline(uv_timer_t *t)
{
	struct pf_http_server *s = t->data;

	if (s->daemon)
		stop(s);
}

void pf_http_server_reply(void *call, struct pf_http_response *resp)
{
	struct request *rq = call;
	struct pf_http_server *s = rq->s;

	assert(rq->deferred && !rq->reply && !s->in_run && s->n_suspended > 0);
	rq->reply_status = resp->status;
	rq->reply = make_response(resp);
	if (!rq->reply)
		rq->reply_status = 500; /* queue() fails: MHD closes the connection */
	s->n_suspended--;
	MHD_resume_connection(rq->conn);
	if (s->closing && s->n_suspended == 0)
		uv_timer_start(&s->flush, on_flush_deadline, FLUSH_MS, 0);
	pf_http_server_pump(s);
}

void pf_http_server_close(struct pf_http_server *s, pf_http_closed_fn done, void *arg)
{
	if (!s || s->closing)
		return;
	s->closing = true;
	s->done = done;
	s->done_arg = arg;
	if (!s->daemon) {
		if (s->open_handles == 0)
			free_server(s); /* else the last close callback does */
		return;
	}
	if (s->n_pending == 0) {
		stop(s);
		return;
	}
	/* Deferred requests still run: no new connections, and the deferred
	 * ones end when answered (pump() or the flush timer stops us). */
	pf_http_conns_stop_accepting(s);
	if (s->n_suspended == 0)
		uv_timer_start(&s->flush, on_flush_deadline, FLUSH_MS, 0);
}
