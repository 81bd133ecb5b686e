// SPDX-License-Identifier: Apache-2.0
/* libcurl's multi interface on the libuv loop: a uv_poll per socket, a uv_timer for curl's timeouts. */
#include "http_client.h"
#include "tls.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_TIMEOUT_MS 30000u
#define DEFAULT_MAX_BODY   ((size_t)64 << 20)

struct http_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct pf_http_client *client;
	struct http_sock *prev, *next;
};

struct pf_http_call {
	struct pf_http_client *client;
	struct pf_http_call *prev, *next;
	CURL *easy;
	struct curl_slist *req_headers;
	pf_http_done_fn done;
	void *arg;
	uint64_t started_ms;

	size_t max_body;
	uint8_t *body;
	size_t body_size, body_cap;
	bool too_big, no_memory;

	/* Each name points to one allocation "name\0value\0"; value into it. */
	struct pf_http_header *hdrs;
	size_t n_hdrs, cap_hdrs;

	char errbuf[CURL_ERROR_SIZE];
};

struct pf_http_client {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct pf_http_call *calls;
	size_t n_calls;
	struct http_sock *socks;
	unsigned open_handles; /* timer + polls not yet through their close callback */
	unsigned dispatching;  /* depth of completion dispatch loops */
	bool closing, torn_down;
	pf_http_closed_fn closed;
	void *closed_arg;
};

/* ---- handles ---- */

static void client_free(struct pf_http_client *client)
{
	pf_http_closed_fn closed = client->closed;
	void *arg = client->closed_arg;

	free(client);
	curl_global_cleanup();
	if (closed)
		closed(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct pf_http_client *client;

	if (h->type == UV_POLL) {
		struct http_sock *k = h->data;
		client = k->client;
		free(k);
	} else {
		client = h->data;
	}
	assert(client->open_handles > 0);
	if (--client->open_handles == 0 && client->torn_down)
		client_free(client);
}

static void sock_close(struct http_sock *k)
{
	struct pf_http_client *client = k->client;

	if (k->prev)
		k->prev->next = k->next;
	else
		client->socks = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->prev = k->next = NULL;
	uv_poll_stop(&k->poll);
	uv_close((uv_handle_t *)&k->poll, on_handle_closed);
}

/* ---- completion ---- */

static int map_error(const struct pf_http_call *call, CURLcode rc)
{
	switch (rc) {
	case CURLE_OK: return 0;
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
	case CURLE_FILESIZE_EXCEEDED: return -EFBIG;
	case CURLE_WRITE_ERROR:
		if (call->too_big)
			return -EFBIG;
		return call->no_memory ? -ENOMEM : -EIO;
	case CURLE_OUT_OF_MEMORY: return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL: return -EINVAL;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE: return -ECONNRESET;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE: return -EPROTO;
	default: return -EIO;
	}
}

static void headers_reset(struct pf_http_call *call)
{
	for (size_t i = 0; i < call->n_hdrs; i++)
		free((char *)call->hdrs[i].name);
	call->n_hdrs = 0;
}

static void call_free(struct pf_http_call *call)
{
	if (call->easy)
		curl_easy_cleanup(call->easy);
	curl_slist_free_all(call->req_headers);
	headers_reset(call);
	free(call->hdrs);
	free(call->body);
	free(call);
}

/* Detaches the call from curl and the client, runs its callback once, frees it.
 * `err_override` replaces the curl result (used for -ECANCELED). */
static void call_finish(struct pf_http_call *call, CURLcode rc, int err_override)
{
	struct pf_http_client *client = call->client;
	struct pf_http_response resp = {0};

	curl_multi_remove_handle(client->multi, call->easy);
	if (call->prev)
		call->prev->next = call->next;
	else
		client->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	client->n_calls--;

	resp.error = err_override ? err_override : map_error(call, rc);
	if (resp.error == 0)
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &resp.status);
	if (resp.error == -ECANCELED)
		resp.error_text = "cancelled";
	else if (resp.error == -EFBIG && call->too_big)
		resp.error_text = "response body larger than the size limit";
	else if (resp.error)
		resp.error_text = call->errbuf[0] ? call->errbuf : curl_easy_strerror(rc);
	else
		resp.error_text = "";
	resp.headers = call->hdrs;
	resp.n_headers = call->n_hdrs;
	resp.body = call->body ? call->body : (const uint8_t *)"";
	resp.body_size = call->body_size;
	resp.elapsed_ms = uv_now(client->loop) - call->started_ms;

	call->done(&resp, call->arg);
	call_free(call);
}

static void client_teardown(struct pf_http_client *client)
{
	assert(!client->torn_down && client->n_calls == 0);
	client->torn_down = true;
	/* curl must not call back into handles that are going away. */
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, NULL);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, NULL);
	while (client->socks)
		sock_close(client->socks);
	uv_timer_stop(&client->timer);
	uv_close((uv_handle_t *)&client->timer, on_handle_closed);
	curl_multi_cleanup(client->multi);
	client->multi = NULL;
}

static void dispatch_done(struct pf_http_client *client)
{
	CURLMsg *msg;
	int left;

	client->dispatching++;
	while (!client->closing && (msg = curl_multi_info_read(client->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;
		struct pf_http_call *call = NULL;

		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&call);
		call_finish(call, rc, 0);
	}
	client->dispatching--;
	if (client->closing && client->dispatching == 0 && !client->torn_down)
		client_teardown(client);
}

/* ---- curl <-> libuv ---- */

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct http_sock *k = h->data;
	struct pf_http_client *client = k->client;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(client->multi, k->fd, flags, &running);
	dispatch_done(client);
}

static void on_timer(uv_timer_t *t)
{
	struct pf_http_client *client = t->data;
	int running;

	curl_multi_socket_action(client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	dispatch_done(client);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct pf_http_client *client = userp;
	struct http_sock *k = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (k) {
			curl_multi_assign(client->multi, s, NULL);
			sock_close(k);
		}
		return 0;
	}
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return -1;
		if (uv_poll_init_socket(client->loop, &k->poll, s) < 0) {
			free(k);
			return -1;
		}
		k->fd = s;
		k->client = client;
		k->poll.data = k;
		k->next = client->socks;
		if (k->next)
			k->next->prev = k;
		client->socks = k;
		client->open_handles++;
		curl_multi_assign(client->multi, s, k);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	if (uv_poll_start(&k->poll, events, on_poll) < 0)
		return -1;
	return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct pf_http_client *client = userp;

	if (timeout_ms < 0)
		uv_timer_stop(&client->timer);
	else
		uv_timer_start(&client->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

/* ---- per-transfer callbacks (inside curl: must not call back into the client) ---- */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct pf_http_call *call = ud;
	size_t len = size * n;

	if (len > call->max_body - call->body_size) {
		call->too_big = true;
		return 0;
	}
	if (call->body_size + len + 1 > call->body_cap) {
		size_t cap = call->body_cap ? call->body_cap * 2 : 16384;
		if (cap < call->body_size + len + 1)
			cap = call->body_size + len + 1;
		if (cap > call->max_body + 1)
			cap = call->max_body + 1;
		uint8_t *grown = realloc(call->body, cap);
		if (!grown) {
			call->no_memory = true;
			return 0;
		}
		call->body = grown;
		call->body_cap = cap;
	}
	memcpy(call->body + call->body_size, data, len);
	call->body_size += len;
	call->body[call->body_size] = '\0';
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct pf_http_call *call = ud;
	size_t len = size * n, name_len;
	const char *colon, *value, *end = data + len;

	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new status line (after 100 Continue or a redirect): start over. */
		headers_reset(call);
		return len;
	}
	while (end > data && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	colon = memchr(data, ':', (size_t)(end - data));
	if (!colon || colon == data)
		return len;
	name_len = (size_t)(colon - data);
	value = colon + 1;
	while (value < end && (*value == ' ' || *value == '\t'))
		value++;
	if (call->n_hdrs == call->cap_hdrs) {
		size_t cap = call->cap_hdrs ? call->cap_hdrs * 2 : 16;
		struct pf_http_header *grown = realloc(call->hdrs, cap * sizeof(*grown));
		if (!grown)
			return len; /* a header less is better than failing the transfer */
		call->hdrs = grown;
		call->cap_hdrs = cap;
	}
	size_t value_len = (size_t)(end - value);
	char *s = malloc(name_len + value_len + 2);
	if (!s)
		return len;
	memcpy(s, data, name_len);
	s[name_len] = '\0';
	memcpy(s + name_len + 1, value, value_len);
	s[name_len + 1 + value_len] = '\0';
	call->hdrs[call->n_hdrs].name = s;
	call->hdrs[call->n_hdrs].value = s + name_len + 1;
	call->n_hdrs++;
	return len;
}

/* ---- public ---- */

struct pf_http_client *pf_http_client_new(uv_loop_t *loop)
{
	struct pf_http_client *client;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NULL;
	client = calloc(1, sizeof(*client));
	if (!client)
		goto out_global;
	client->loop = loop;
	client->multi = curl_multi_init();
	if (!client->multi)
		goto out_free;
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(client->multi, CURLMOPT_SOCKETDATA, client);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(client->multi, CURLMOPT_TIMERDATA, client);
	if (uv_timer_init(loop, &client->timer) < 0)
		goto out_multi;
	client->timer.data = client;
	client->open_handles = 1;
	return client;

out_multi:
	curl_multi_cleanup(client->multi);
out_free:
	free(client);
out_global:
	curl_global_cleanup();
	return NULL;
}

static int call_setup(struct pf_http_call *call, const struct pf_http_request *req)
{
	CURL *e = call->easy;
	const char *method = req->method ? req->method : "GET";

	for (size_t i = 0; i < req->n_headers; i++) {
		struct curl_slist *l = curl_slist_append(call->req_headers, req->headers[i]);
		if (!l)
			return -ENOMEM;
		call->req_headers = l;
	}
	/* No "Expect: 100-continue" round trip before bodies. */
	struct curl_slist *l = curl_slist_append(call->req_headers, "Expect:");
	if (!l)
		return -ENOMEM;
	call->req_headers = l;

	if (curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK)
		return -ENOMEM;
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)call);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->req_headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "proflow/" PF_VERSION);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
			 (long)(req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS));
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)call->max_body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (req->accept_encoding)
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
	if (req->tls) {
		/* curl copies these strings */
		if (req->tls->ca_file)
			curl_easy_setopt(e, CURLOPT_CAINFO, req->tls->ca_file);
		if (req->tls->cert_file)
			curl_easy_setopt(e, CURLOPT_SSLCERT, req->tls->cert_file);
		if (req->tls->key_file)
			curl_easy_setopt(e, CURLOPT_SSLKEY, req->tls->key_file);
		if (req->tls->insecure_skip_verify) {
			curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
		}
		curl_easy_setopt(e, CURLOPT_SSLVERSION,
				 req->tls->min_version == PF_TLS_1_3 ? CURL_SSLVERSION_TLSv1_3
								     : CURL_SSLVERSION_TLSv1_2);
	}

	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (req->body || strcmp(method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_size);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
	    strcmp(method, "HEAD") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	return 0;
}

int pf_http_send(struct pf_http_client *client, const struct pf_http_request *req,
		 pf_http_done_fn done, void *arg, struct pf_http_call **out)
{
	struct pf_http_call *call;
	int err;

	assert(client && req && done);
	if (client->closing)
		return -ESHUTDOWN;
	if (!req->url)
		return -EINVAL;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->client = client;
	call->done = done;
	call->arg = arg;
	call->max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
	call->easy = curl_easy_init();
	if (!call->easy) {
		err = -ENOMEM;
		goto out_free_call;
	}
	err = call_setup(call, req);
	if (err < 0)
		goto out_free_call;
	if (curl_multi_add_handle(client->multi, call->easy) != CURLM_OK) {
		err = -ENOMEM;
		goto out_free_call;
	}
	call->started_ms = uv_now(client->loop);
	call->next = client->calls;
	if (call->next)
		call->next->prev = call;
	client->calls = call;
	client->n_calls++;
	if (out)
		*out = call;
	return 0;

out_free_call:
	call_free(call);
	return err;
}

void pf_http_cancel(struct pf_http_call *call)
{
	call_finish(call, CURLE_OK, -ECANCELED);
}

size_t pf_http_pending(const struct pf_http_client *client)
{
	return client->n_calls;
}

const char *pf_http_header_get(const struct pf_http_response *resp, const char *name)
{
	for (size_t i = 0; i < resp->n_headers; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

void pf_http_client_close(struct pf_http_client *client, pf_http_closed_fn closed, void *arg)
{
	if (!client)
		return;
	assert(!client->closing);
	client->closing = true;
	client->closed = closed;
	client->closed_arg = arg;
	while (client->calls)
		call_finish(client->calls, CURLE_OK, -ECANCELED);
	if (client->dispatching == 0)
		client_teardown(client);
}

const char *pf_http_redact_url(const char *url, char *buf, size_t size)
{
	const char *auth, *end, *at = NULL, *colon;

	auth = url ? strstr(url, "://") : NULL;
	if (!auth) {
		snprintf(buf, size, "%s", url ? url : "");
		return buf;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (const char *p = auth; p < end; p++)
		if (*p == '@')
			at = p; /* the last one: a password may hold '@' */
	if (!at) {
		snprintf(buf, size, "%s", url);
		return buf;
	}
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon)
		snprintf(buf, size, "%.*s:***%s", (int)(colon - url), url, at);
	else
		snprintf(buf, size, "%.*s***%s", (int)(auth - url), url, at);
	return buf;
}
