// SPDX-License-Identifier: Apache-2.0
/* grpc core server: a completion-queue thread requests calls, the loop answers them. */
#include "grpc_server.h"

#include <errno.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

#define MAX_METHODS 8

struct method {
	char *path;
	void *registered; /* grpc's handle */
	pf_grpc_handler_fn handler;
	void *arg;
};

enum slot_state {
	SLOT_WAITING,  /* requested from core: the tag completes with a new call */
	SLOT_REPLYING, /* reply batch started: the tag completes when it is sent */
};

/* One call slot: requested from core, handed to the loop, answered, reused. */
struct slot {
	struct pf_grpc_server *s;
	struct method *m;
	enum slot_state state;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_byte_buffer *payload;
	grpc_slice body; /* the request, flattened; alive until the reply */
	/* Reply. */
	grpc_byte_buffer *reply;
	grpc_slice status_msg;
	grpc_metadata trailer;
	bool has_trailer;
	int cancelled;
	struct slot *next; /* in the ready list */
};

struct pf_grpc_server {
	uv_loop_t *loop;
	char *address;
	char *cert_file, *key_file, *ca_file;
	size_t max_recv;
	unsigned max_calls;
	bool raw; /* pf_grpc_server_raw() */
	struct method methods[MAX_METHODS];
	size_t n_methods;

	grpc_server *server;
	grpc_completion_queue *cq;
	unsigned port;
	uv_thread_t thread;
	uv_async_t async;
	uv_mutex_t lock;
	struct slot *ready, **ready_tail; /* calls for the loop, under lock */
	bool closing;			  /* under lock */
	bool thread_done;		  /* under lock */
	bool started, grpc_inited;
	bool async_open;  /* also while a failed start's async handle closes */
	bool close_asked; /* pf_grpc_server_close() called before start succeeded */
	int shutdown_tag; /* its address is the tag */
	pf_grpc_closed_fn done;
	void *done_arg;
};

/* Frees a server whose core, thread and handles are gone (or never were),
 * then calls its done callback. */
static void free_server(struct pf_grpc_server *s)
{
	pf_grpc_closed_fn done = s->done;
	void *done_arg = s->done_arg;

	for (size_t i = 0; i < s->n_methods; i++)
		free(s->methods[i].path);
	free(s->address);
	free(s->cert_file);
	free(s->key_file);
	free(s->ca_file);
	free(s);
	if (done)
		done(done_arg);
}

struct pf_grpc_server *pf_grpc_server_create(uv_loop_t *loop, const char *address,
					     const struct pf_grpc_server_tls *tls, size_t max_recv,
					     unsigned max_calls, struct pf_error *err)
{
	struct pf_grpc_server *s;

	if (!address || !address[0]) {
		pf_error_set(err, "", "a gRPC listen address is required");
		return NULL;
	}
	if (tls && (!tls->cert_file != !tls->key_file)) {
		pf_error_set(err, "", "tls: cert_file and key_file go together");
		return NULL;
	}
	if (tls && tls->client_ca_file && !tls->cert_file) {
		pf_error_set(err, "", "tls: client_ca_file needs cert_file and key_file");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto out_enomem;
	s->loop = loop;
	s->max_recv = max_recv;
	s->max_calls = max_calls ? max_calls : 1;
	s->address = strdup(address);
	if (!s->address)
		goto out_free;
	if (tls && tls->cert_file) {
		s->cert_file = strdup(tls->cert_file);
		s->key_file = strdup(tls->key_file);
		if (!s->cert_file || !s->key_file)
			goto out_free;
		if (tls->client_ca_file && !(s->ca_file = strdup(tls->client_ca_file)))
			goto out_free;
	}
	s->ready_tail = &s->ready;
	return s;

out_free:
	free_server(s);
out_enomem:
	pf_error_set(err, "", "out of memory");
	return NULL;
}

int pf_grpc_server_method(struct pf_grpc_server *s, const char *method, pf_grpc_handler_fn handler,
			  void *arg)
{
	if (s->n_methods == MAX_METHODS)
		return -ENOSPC;
	struct method *m = &s->methods[s->n_methods];
	m->path = strdup(method);
	if (!m->path)
		return -ENOMEM;
	m->handler = handler;
	m->arg = arg;
	s->n_methods++;
	return 0;
}

void pf_grpc_server_raw(struct pf_grpc_server *s)
{
	s->raw = true;
}

unsigned pf_grpc_server_port(const struct pf_grpc_server *s)
{
	return s->port;
}

int pf_grpc_request_metadata(const struct pf_grpc_request *req, const char *key, char *buf,
			     size_t size)
{
	const struct slot *sl = req->call;
	size_t klen = strlen(key);

	for (size_t i = 0; i < sl->md.count; i++) {
		const grpc_metadata *md = &sl->md.metadata[i];
		if (GRPC_SLICE_LENGTH(md->key) != klen ||
		    memcmp(GRPC_SLICE_START_PTR(md->key), key, klen) != 0)
			continue;
		size_t n = GRPC_SLICE_LENGTH(md->value);
		if (size) {
			size_t c = n < size - 1 ? n : size - 1;
			memcpy(buf, GRPC_SLICE_START_PTR(md->value), c);
			buf[c] = '\0';
		}
		return n > INT32_MAX ? INT32_MAX : (int)n;
	}
	return -ENOENT;
}

int pf_grpc_request_metadata_each(const struct pf_grpc_request *req, pf_grpc_metadata_fn fn,
				  void *arg)
{
	const struct slot *sl = req->call;
	int rc;

	for (size_t i = 0; i < sl->md.count; i++) {
		const grpc_metadata *md = &sl->md.metadata[i];

		rc = fn(arg, (const char *)GRPC_SLICE_START_PTR(md->key),
			GRPC_SLICE_LENGTH(md->key), (const char *)GRPC_SLICE_START_PTR(md->value),
			GRPC_SLICE_LENGTH(md->value));
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- completion-queue thread ---- */

static void slot_reset(struct slot *sl)
{
	if (sl->call)
		grpc_call_unref(sl->call);
	sl->call = NULL;
	grpc_metadata_array_destroy(&sl->md);
	grpc_metadata_array_init(&sl->md);
	if (sl->payload)
		grpc_byte_buffer_destroy(sl->payload);
	sl->payload = NULL;
	grpc_slice_unref(sl->body);
	sl->body = grpc_empty_slice();
	if (sl->reply)
		grpc_byte_buffer_destroy(sl->reply);
	sl->reply = NULL;
	grpc_slice_unref(sl->status_msg);
	sl->status_msg = grpc_empty_slice();
	if (sl->has_trailer)
		grpc_slice_unref(sl->trailer.value);
	sl->has_trailer = false;
	sl->cancelled = 0;
	sl->next = NULL;
}

static void slot_free(struct slot *sl)
{
	slot_reset(sl);
	grpc_metadata_array_destroy(&sl->md);
	free(sl);
}

/* Asks core for the next call of sl's method. False when core refused. */
static bool slot_request(struct slot *sl)
{
	struct pf_grpc_server *s = sl->s;

	sl->state = SLOT_WAITING;
	return grpc_server_request_registered_call(s->server, sl->m->registered, &sl->call,
						   &sl->deadline, &sl->md, &sl->payload, s->cq,
						   s->cq, sl) == GRPC_CALL_OK;
}

static void cq_thread(void *arg)
{
	struct pf_grpc_server *s = arg;

	for (;;) {
		grpc_event ev =
			grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		if (ev.tag == &s->shutdown_tag) {
			grpc_completion_queue_shutdown(s->cq);
			continue;
		}
		struct slot *sl = ev.tag;
		bool closing;
		uv_mutex_lock(&s->lock);
		closing = s->closing;
		if (sl->state == SLOT_WAITING && ev.success && !closing) {
			*s->ready_tail = sl;
			s->ready_tail = &sl->next;
			uv_mutex_unlock(&s->lock);
			uv_async_send(&s->async);
			continue;
		}
		uv_mutex_unlock(&s->lock);
		/* A reply went out (or failed), or core gave the request back. */
		slot_reset(sl);
		if (closing || !ev.success || !slot_request(sl))
			slot_free(sl);
	}
	uv_mutex_lock(&s->lock);
	s->thread_done = true;
	uv_mutex_unlock(&s->lock);
	uv_async_send(&s->async);
}

/* ---- the loop's side ---- */

/* Starts the reply batch of a call taken from the ready list; the slot is
 * then the cq thread's again. */
static void reply(struct slot *sl, struct pf_grpc_response *resp)
{
	grpc_op ops[4];
	size_t n = 0;
	grpc_call_error rc;

	memset(ops, 0, sizeof(ops));
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (resp->code == PF_GRPC_OK) {
		grpc_slice sl_body =
			grpc_slice_from_copied_buffer((const char *)resp->body, resp->body_len);
		sl->reply = grpc_raw_byte_buffer_create(&sl_body, 1);
		grpc_slice_unref(sl_body);
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = sl->reply;
	}
	sl->status_msg = grpc_slice_from_copied_string(resp->message);
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = (grpc_status_code)resp->code;
	ops[n].data.send_status_from_server.status_details = &sl->status_msg;
	if (resp->code != PF_GRPC_OK && resp->details && resp->details_len) {
		sl->trailer.key = grpc_slice_from_static_string("grpc-status-details-bin");
		sl->trailer.value = grpc_slice_from_copied_buffer((const char *)resp->details,
								  resp->details_len);
		sl->has_trailer = true;
		ops[n].data.send_status_from_server.trailing_metadata_count = 1;
		ops[n].data.send_status_from_server.trailing_metadata = &sl->trailer;
	}
	n++;
	ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[n++].data.recv_close_on_server.cancelled = &sl->cancelled;
	free(resp->body);
	free(resp->details);
	sl->state = SLOT_REPLYING;
	rc = grpc_call_start_batch(sl->call, ops, n, sl, NULL);
	if (rc != GRPC_CALL_OK) {
		/* Cannot happen with a well-formed batch; cancel so the tag is
		 * never waited for, and let core drop the call. */
		grpc_call_cancel(sl->call, NULL);
		slot_reset(sl);
		slot_free(sl);
	}
}

/* A raw server's message: how it is compressed, or -1 for an algorithm
 * proflow does not know. Marks the buffer uncompressed so that core's reader
 * hands its bytes over as they are (instead of inflating them with zlib). */
static int take_encoding(grpc_byte_buffer *bb)
{
	if (bb->type != GRPC_BB_RAW)
		return -1;
	grpc_compression_algorithm alg = bb->data.raw.compression;
	bb->data.raw.compression = GRPC_COMPRESS_NONE;
	switch (alg) {
	case GRPC_COMPRESS_NONE: return PF_GRPC_IDENTITY;
	case GRPC_COMPRESS_GZIP: return PF_GRPC_GZIP;
	case GRPC_COMPRESS_DEFLATE: return PF_GRPC_DEFLATE;
	default: return -1;
	}
}

static void serve(struct pf_grpc_server *s, struct slot *sl, bool closing)
{
	struct pf_grpc_response resp = {.code = PF_GRPC_OK};
	grpc_byte_buffer_reader rd;
	int encoding = PF_GRPC_IDENTITY;

	if (s->raw && sl->payload && !closing)
		encoding = take_encoding(sl->payload);
	if (closing) {
		resp.code = PF_GRPC_UNAVAILABLE;
		snprintf(resp.message, sizeof(resp.message), "server shutting down");
	} else if (!sl->payload) {
		resp.code = PF_GRPC_INVALID_ARGUMENT;
		snprintf(resp.message, sizeof(resp.message), "no request message");
	} else if (encoding < 0) {
		resp.code = PF_GRPC_UNIMPLEMENTED;
		snprintf(resp.message, sizeof(resp.message), "unsupported grpc-encoding");
	} else if (!grpc_byte_buffer_reader_init(&rd, sl->payload)) {
		resp.code = PF_GRPC_INVALID_ARGUMENT;
		snprintf(resp.message, sizeof(resp.message), "cannot decompress the request");
	} else {
		sl->body = grpc_byte_buffer_reader_readall(&rd);
		grpc_byte_buffer_reader_destroy(&rd);
		size_t len = GRPC_SLICE_LENGTH(sl->body);
		if (len > s->max_recv) {
			resp.code = PF_GRPC_RESOURCE_EXHAUSTED;
			snprintf(resp.message, sizeof(resp.message),
				 "request of %zu bytes exceeds the limit of %zu bytes", len,
				 s->max_recv);
		} else {
			struct pf_grpc_request req = {
				.method = sl->m->path,
				.body = len ? GRPC_SLICE_START_PTR(sl->body) : NULL,
				.body_len = len,
				.call = sl,
				.encoding = (enum pf_grpc_encoding)encoding,
			};
			sl->m->handler(sl->m->arg, &req, &resp);
			if (resp.deferred)
				return; /* the handler calls pf_grpc_server_reply() */
		}
	}
	pf_grpc_server_reply(sl, &resp);
}

void pf_grpc_server_reply(void *call, struct pf_grpc_response *resp)
{
	struct slot *sl = call;

	if (resp->code != PF_GRPC_OK && !resp->message[0])
		snprintf(resp->message, sizeof(resp->message), "error");
	reply(sl, resp);
}

static void on_async_closed(uv_handle_t *h)
{
	struct pf_grpc_server *s = h->data;

	uv_mutex_destroy(&s->lock);
	free_server(s);
}

/* The async handle of a failed start is closed: a close asked for
 * meanwhile can free the server now. */
static void on_failed_async_closed(uv_handle_t *h)
{
	struct pf_grpc_server *s = h->data;

	s->async_open = false;
	if (s->close_asked)
		free_server(s);
}

static void on_async(uv_async_t *a)
{
	struct pf_grpc_server *s = a->data;
	struct slot *list;
	bool closing, thread_done;

	uv_mutex_lock(&s->lock);
	list = s->ready;
	s->ready = NULL;
	s->ready_tail = &s->ready;
	closing = s->closing;
	thread_done = s->thread_done;
	uv_mutex_unlock(&s->lock);
	while (list) {
		struct slot *sl = list;
		list = sl->next;
		sl->next = NULL;
		serve(s, sl, closing);
	}
	if (!thread_done)
		return;
	uv_thread_join(&s->thread);
	grpc_server_destroy(s->server);
	grpc_completion_queue_destroy(s->cq);
	grpc_shutdown();
	uv_close((uv_handle_t *)&s->async, on_async_closed);
}

/* ---- start and close ---- */

static grpc_server_credentials *make_credentials(struct pf_grpc_server *s, struct pf_error *err)
{
	grpc_server_credentials *creds = NULL;
	grpc_ssl_pem_key_cert_pair pair;
	char *cert = NULL, *key = NULL, *ca = NULL;

	if (!s->cert_file)
		return grpc_insecure_server_credentials_create();
	if (pf_tls_read_pem(s->cert_file, "tls.cert_file", &cert, err) < 0 ||
	    pf_tls_read_pem(s->key_file, "tls.key_file", &key, err) < 0 ||
	    (s->ca_file && pf_tls_read_pem(s->ca_file, "tls.client_ca_file", &ca, err) < 0))
		goto out_free;
	pair.private_key = key;
	pair.cert_chain = cert;
	creds = grpc_ssl_server_credentials_create_ex(
		ca, &pair, 1,
		ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
		   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
		NULL);
	if (!creds)
		pf_error_set(err, "", "tls: grpc refused the certificate or key");
out_free:
	free(cert);
	free(key);
	free(ca);
	return creds;
}

int pf_grpc_server_start(struct pf_grpc_server *s, struct pf_error *err)
{
	grpc_arg args[5];
	grpc_channel_args chargs = {.num_args = 4, .args = args};
	grpc_server_credentials *creds;
	grpc_resource_quota *quota;
	size_t quota_bytes;
	char addr[300];
	int rc, port;

	if (s->address[0] == ':')
		snprintf(addr, sizeof(addr), "0.0.0.0%s", s->address);
	else
		snprintf(addr, sizeof(addr), "%s", s->address);
	grpc_init();
	s->grpc_inited = true;
	creds = make_credentials(s, err);
	if (!creds) {
		rc = -EINVAL;
		goto out_shutdown;
	}
	memset(args, 0, sizeof(args));
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = s->max_recv > INT32_MAX ? INT32_MAX : (int)s->max_recv;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
	args[1].value.integer = 0;
	/* Memory: at most max_calls streams per connection, and core's buffers
	 * for every connection together within a quota of two messages per
	 * call slot (reads stall, rather than allocate, beyond it). */
	args[2].type = GRPC_ARG_INTEGER;
	args[2].key = (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS;
	args[2].value.integer = (int)s->max_calls;
	quota_bytes = s->max_recv * 2 * s->max_calls + ((size_t)64 << 20);
	quota = grpc_resource_quota_create("pf_grpc_server");
	grpc_resource_quota_resize(quota, quota_bytes);
	args[3].type = GRPC_ARG_POINTER;
	args[3].key = (char *)GRPC_ARG_RESOURCE_QUOTA;
	args[3].value.pointer.p = quota;
	args[3].value.pointer.vtable = grpc_resource_quota_arg_vtable();
	if (s->raw) {
		args[4].type = GRPC_ARG_INTEGER;
		args[4].key = (char *)GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION;
		args[4].value.integer = 0;
		chargs.num_args = 5;
	}
	s->server = grpc_server_create(&chargs, NULL);
	grpc_resource_quota_unref(quota); /* the server holds its own reference */
	s->cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(s->server, s->cq, NULL);
	for (size_t i = 0; i < s->n_methods; i++)
		s->methods[i].registered =
			grpc_server_register_method(s->server, s->methods[i].path, NULL,
						    GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
	port = grpc_server_add_http2_port(s->server, addr, creds);
	grpc_server_credentials_release(creds);
	if (port <= 0) {
		rc = pf_error_set(err, "", "cannot listen on %s (gRPC)", s->address);
		if (rc == 0)
			rc = -EADDRINUSE;
		goto out_destroy;
	}
	s->port = (unsigned)port;
	rc = uv_mutex_init(&s->lock);
	if (rc < 0) {
		pf_error_set(err, "", "uv_mutex_init: %s", uv_strerror(rc));
		goto out_destroy;
	}
	rc = uv_async_init(s->loop, &s->async, on_async);
	if (rc < 0) {
		pf_error_set(err, "", "uv_async_init: %s", uv_strerror(rc));
		goto out_mutex;
	}
	s->async.data = s;
	s->async_open = true;
	grpc_server_start(s->server);
	for (size_t i = 0; i < s->n_methods; i++) {
		for (unsigned k = 0; k < s->max_calls; k++) {
			struct slot *sl = calloc(1, sizeof(*sl));
			if (!sl)
				break; /* fewer slots; still serving */
			sl->s = s;
			sl->m = &s->methods[i];
			sl->status_msg = grpc_empty_slice();
			sl->body = grpc_empty_slice();
			grpc_metadata_array_init(&sl->md);
			if (!slot_request(sl)) {
				slot_free(sl);
				break;
			}
		}
	}
	rc = uv_thread_create(&s->thread, cq_thread, s);
	if (rc < 0) {
		pf_error_set(err, "", "uv_thread_create: %s", uv_strerror(rc));
		goto out_close_async;
	}
	s->started = true;
	return 0;

out_close_async:
	/* libuv holds the handle until its close callback; a close asked for
	 * before then waits for it (on_failed_async_closed). */
	uv_close((uv_handle_t *)&s->async, on_failed_async_closed);
out_mutex:
	uv_mutex_destroy(&s->lock);
out_destroy:
	/* Nobody drains the queue: stop core here, freeing the call slots
	 * requested (if any) as core gives them back. */
	grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
	grpc_server_cancel_all_calls(s->server);
	for (;;) {
		grpc_event ev =
			grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.tag == &s->shutdown_tag)
			grpc_completion_queue_shutdown(s->cq);
		else if (ev.type == GRPC_OP_COMPLETE)
			slot_free(ev.tag);
	}
	grpc_server_destroy(s->server);
	grpc_completion_queue_destroy(s->cq);
	s->server = NULL;
	s->cq = NULL;
	s->port = 0;
out_shutdown:
	grpc_shutdown();
	s->grpc_inited = false;
	return rc < 0 ? rc : -EINVAL;
}

void pf_grpc_server_close(struct pf_grpc_server *s, pf_grpc_closed_fn done, void *arg)
{
	if (!s)
		return;
	s->done = done;
	s->done_arg = arg;
	if (!s->started) {
		s->close_asked = true;
		if (!s->async_open) /* else on_failed_async_closed frees it */
			free_server(s);
		return;
	}
	uv_mutex_lock(&s->lock);
	s->closing = true;
	uv_mutex_unlock(&s->lock);
	/* Calls already handed to the loop are answered UNAVAILABLE by on_async;
	 * core fails every waiting request and then completes the shutdown tag. */
	grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
	grpc_server_cancel_all_calls(s->server);
	uv_async_send(&s->async);
}
