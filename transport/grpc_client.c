/* SPDX-License-Identifier: Apache-2.0 */
/* The gRPC unary client: grpc core channel, a completion-queue thread, results back on the loop. */
#include "grpc_client.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#define MAX_RECV_DEFAULT ((size_t)4 << 20)
#define MAX_MD		 64

struct pf_grpc_call {
	struct pf_grpc_client *cl;
	grpc_call *call;
	grpc_metadata md[MAX_MD];
	size_t n_md;
	grpc_byte_buffer *send_buf;
	grpc_byte_buffer *recv_buf;
	grpc_metadata_array initial_md;
	grpc_metadata_array trailing_md;
	grpc_status_code status;
	grpc_slice status_details;
	pf_grpc_done_fn done;
	void *arg;
	struct pf_grpc_call *prev, *next; /* pending list (loop thread) */
	struct pf_grpc_call *done_next;	  /* finished list (under mutex) */
};

struct pf_grpc_client {
	uv_loop_t *loop;
	grpc_channel *channel;
	grpc_completion_queue *cq;
	uv_thread_t thread;
	bool thread_started;
	uv_async_t async;
	uv_mutex_t lock;
	/* under lock */
	struct pf_grpc_call *finished;
	bool thread_done;
	/* loop thread */
	struct pf_grpc_call *pending;
	size_t n_pending;
	bool closing;
	bool cq_shut;
	pf_grpc_closed_fn closed;
	void *closed_arg;
	/* cfg->gzip_fn when cfg->gzip: messages go out compressed by it */
	int (*gzip_fn)(const void *data, size_t size, uint8_t **out, size_t *out_size);
};

/* The request message: compressed by gzip_fn and marked so (core then sends
 * it as it is, with the compressed flag, under the channel's grpc-encoding
 * gzip), or copied for core to compress or not. */
static grpc_byte_buffer *message(struct pf_grpc_client *cl, const void *body, size_t size)
{
	grpc_byte_buffer *bb;
	grpc_slice slice;
	uint8_t *z;
	size_t z_size;

	if (cl->gzip_fn && size > 0 && cl->gzip_fn(body, size, &z, &z_size) == 0) {
		slice = grpc_slice_new(z, z_size, free);
		bb = grpc_raw_compressed_byte_buffer_create(&slice, 1, GRPC_COMPRESS_GZIP);
	} else {
		slice = grpc_slice_from_copied_buffer(body, size);
		bb = grpc_raw_byte_buffer_create(&slice, 1);
	}
	grpc_slice_unref(slice);
	return bb;
}

/* The only thing the thread does: move finished calls to the loop. */
static void cq_thread(void *arg)
{
	struct pf_grpc_client *cl = arg;

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			cl->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

		if (ev.type == GRPC_QUEUE_SHUTDOWN) {
			uv_mutex_lock(&cl->lock);
			cl->thread_done = true;
			uv_mutex_unlock(&cl->lock);
			uv_async_send(&cl->async);
			return;
		}
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		struct pf_grpc_call *call = ev.tag;

		if (!ev.success && call->status == GRPC_STATUS_OK)
			call->status = GRPC_STATUS_UNAVAILABLE;
		uv_mutex_lock(&cl->lock);
		call->done_next = cl->finished;
		cl->finished = call;
		uv_mutex_unlock(&cl->lock);
		uv_async_send(&cl->async);
	}
}

static void call_free(struct pf_grpc_call *call)
{
	if (!call)
		return;
	for (size_t i = 0; i < call->n_md; i++) {
		grpc_slice_unref(call->md[i].key);
		grpc_slice_unref(call->md[i].value);
	}
	if (call->send_buf)
		grpc_byte_buffer_destroy(call->send_buf);
	if (call->recv_buf)
		grpc_byte_buffer_destroy(call->recv_buf);
	grpc_metadata_array_destroy(&call->initial_md);
	grpc_metadata_array_destroy(&call->trailing_md);
	grpc_slice_unref(call->status_details);
	if (call->call)
		grpc_call_unref(call->call);
	free(call);
}

/* Flattens the response message; NULL when there is none. */
static uint8_t *read_message(grpc_byte_buffer *buf, size_t *size)
{
	grpc_byte_buffer_reader reader;
	grpc_slice all;
	uint8_t *out;

	*size = 0;
	if (!buf || !grpc_byte_buffer_reader_init(&reader, buf))
		return NULL;
	all = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	out = malloc(GRPC_SLICE_LENGTH(all) + 1);
	if (out) {
		memcpy(out, GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all));
		out[GRPC_SLICE_LENGTH(all)] = 0;
		*size = GRPC_SLICE_LENGTH(all);
	}
	grpc_slice_unref(all);
	return out;
}

/* Copies what the caller sees, frees the call (so that a close from inside
 * `done` finds no grpc object left), then calls `done`. */
static void finish_call(struct pf_grpc_client *cl, struct pf_grpc_call *call)
{
	struct pf_grpc_result res = {.code = (int)call->status};
	size_t mlen = GRPC_SLICE_LENGTH(call->status_details);
	char *message = malloc(mlen + 1);
	uint8_t *body = NULL, *details = NULL;
	pf_grpc_done_fn done = call->done;
	void *arg = call->arg;

	if (message) {
		memcpy(message, GRPC_SLICE_START_PTR(call->status_details), mlen);
		message[mlen] = '\0';
	}
	res.message = message ? message : "";
	for (size_t i = 0; i < call->trailing_md.count; i++) {
		const grpc_metadata *m = &call->trailing_md.metadata[i];
		size_t len = GRPC_SLICE_LENGTH(m->value);

		if (grpc_slice_str_cmp(m->key, "grpc-status-details-bin") != 0 || details)
			continue;
		details = malloc(len ? len : 1);
		if (details) {
			memcpy(details, GRPC_SLICE_START_PTR(m->value), len);
			res.details = details;
			res.details_size = len;
		}
	}
	if (res.code == PF_GRPC_OK) {
		body = read_message(call->recv_buf, &res.body_size);
		res.body = body;
	}
	if (call->prev)
		call->prev->next = call->next;
	else
		cl->pending = call->next;
	if (call->next)
		call->next->prev = call->prev;
	cl->n_pending--;
	call_free(call);
	done(&res, arg);
	free(details);
	free(body);
	free(message);
}

static void on_async_closed(uv_handle_t *h)
{
	struct pf_grpc_client *cl = h->data;
	pf_grpc_closed_fn closed = cl->closed;
	void *arg = cl->closed_arg;

	uv_mutex_destroy(&cl->lock);
	free(cl);
	grpc_shutdown();
	if (closed)
		closed(arg);
}

/* Once closing and nothing is pending: stop the queue, then the thread. */
static void maybe_finish_close(struct pf_grpc_client *cl)
{
	bool thread_done;

	if (!cl->closing || cl->n_pending)
		return;
	if (!cl->cq_shut) {
		cl->cq_shut = true;
		grpc_completion_queue_shutdown(cl->cq);
	}
	uv_mutex_lock(&cl->lock);
	thread_done = cl->thread_done;
	uv_mutex_unlock(&cl->lock);
	if (!thread_done || uv_is_closing((uv_handle_t *)&cl->async))
		return;
	uv_thread_join(&cl->thread);
	grpc_completion_queue_destroy(cl->cq);
	grpc_channel_destroy(cl->channel);
	uv_close((uv_handle_t *)&cl->async, on_async_closed);
}

static void on_async(uv_async_t *a)
{
	struct pf_grpc_client *cl = a->data;
	struct pf_grpc_call *list, *rev = NULL;

	uv_mutex_lock(&cl->lock);
	list = cl->finished;
	cl->finished = NULL;
	uv_mutex_unlock(&cl->lock);
	/* oldest first */
	while (list) {
		struct pf_grpc_call *next = list->done_next;

		list->done_next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct pf_grpc_call *next = rev->done_next;

		finish_call(cl, rev);
		rev = next;
	}
	maybe_finish_close(cl);
}

static grpc_channel_credentials *tls_credentials(const struct pf_tls_config *tls,
						 struct pf_error *err)
{
	grpc_channel_credentials *creds = NULL;
	char *ca = NULL, *cert = NULL, *key = NULL;

	if (tls->ca_file && pf_tls_read_pem(tls->ca_file, "ca_file", &ca, err) < 0)
		goto out_free;
	if (tls->cert_file && pf_tls_read_pem(tls->cert_file, "cert_file", &cert, err) < 0)
		goto out_free;
	if (tls->key_file && pf_tls_read_pem(tls->key_file, "key_file", &key, err) < 0)
		goto out_free;
	if (tls->insecure_skip_verify) {
		/* Only the experimental TLS options can turn verification off. */
		grpc_tls_credentials_options *opts = grpc_tls_credentials_options_create();
		grpc_tls_identity_pairs *pairs = NULL;
		grpc_tls_certificate_verifier *verifier;
		grpc_tls_certificate_provider *provider = NULL;

		if (cert) {
			pairs = grpc_tls_identity_pairs_create();
			grpc_tls_identity_pairs_add_pair(pairs, key, cert);
		}
		if (ca || pairs) {
			/* grpc refuses a provider with neither */
			provider = grpc_tls_certificate_provider_static_data_create(ca, pairs);
			grpc_tls_credentials_options_set_certificate_provider(opts, provider);
		}
		if (ca)
			grpc_tls_credentials_options_watch_root_certs(opts);
		if (cert)
			grpc_tls_credentials_options_watch_identity_key_cert_pairs(opts);
		grpc_tls_credentials_options_set_verify_server_cert(opts, 0);
		grpc_tls_credentials_options_set_check_call_host(opts, 0);
		verifier = grpc_tls_certificate_verifier_no_op_create();
		grpc_tls_credentials_options_set_certificate_verifier(opts, verifier);
		creds = grpc_tls_credentials_create(opts);
		grpc_tls_certificate_verifier_release(verifier);
		if (provider)
			grpc_tls_certificate_provider_release(provider);
	} else {
		grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};

		creds = grpc_ssl_credentials_create(ca, cert ? &pair : NULL, NULL, NULL);
	}
	if (!creds)
		pf_error_set(err, "", "tls: grpc refused the credentials");
out_free:
	free(key);
	free(cert);
	free(ca);
	return creds;
}

struct pf_grpc_client *pf_grpc_client_new(uv_loop_t *loop, const struct pf_grpc_client_config *cfg,
					  struct pf_error *err)
{
	struct pf_grpc_client *cl;
	grpc_channel_credentials *creds;
	grpc_arg args[3];
	grpc_channel_args chargs = {.num_args = 0, .args = args};

	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		pf_error_set(err, "", "out of memory");
		return NULL;
	}
	cl->loop = loop;
	cl->gzip_fn = cfg->gzip ? cfg->gzip_fn : NULL;
	grpc_init();
	if (cfg->tls && !cfg->tls->insecure)
		creds = tls_credentials(cfg->tls, err);
	else
		creds = grpc_insecure_credentials_create();
	if (!creds)
		goto out_shutdown;

	args[chargs.num_args++] = (grpc_arg){
		.type = GRPC_ARG_INTEGER,
		.key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		.value.integer = (int)(cfg->max_recv ? cfg->max_recv : MAX_RECV_DEFAULT),
	};
	if (cfg->gzip)
		args[chargs.num_args++] = (grpc_arg){
			.type = GRPC_ARG_INTEGER,
			.key = GRPC_COMPRESSION_CHANNEL_DEFAULT_ALGORITHM,
			.value.integer = GRPC_COMPRESS_GZIP,
		};
	if (cfg->tls && !cfg->tls->insecure && cfg->tls->server_name_override)
		args[chargs.num_args++] = (grpc_arg){
			.type = GRPC_ARG_STRING,
			.key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
			.value.string = cfg->tls->server_name_override,
		};
	cl->channel = grpc_channel_create(cfg->target, creds, &chargs);
	grpc_channel_credentials_release(creds);
	if (!cl->channel) {
		pf_error_set(err, "", "cannot create a gRPC channel to %s", cfg->target);
		goto out_shutdown;
	}
	cl->cq = grpc_completion_queue_create_for_next(NULL);
	if (uv_mutex_init(&cl->lock) != 0) {
		pf_error_set(err, "", "cannot create a mutex");
		goto out_destroy_cq;
	}
	if (uv_async_init(loop, &cl->async, on_async) != 0) {
		pf_error_set(err, "", "cannot create a uv_async");
		goto out_destroy_lock;
	}
	cl->async.data = cl;
	if (uv_thread_create(&cl->thread, cq_thread, cl) != 0) {
		pf_error_set(err, "", "cannot start the gRPC completion thread");
		goto out_close_async;
	}
	cl->thread_started = true;
	return cl;

out_close_async:
	/* the handle is on the loop: let on_async_closed free what is left */
	grpc_completion_queue_shutdown(cl->cq);
	grpc_completion_queue_destroy(cl->cq);
	grpc_channel_destroy(cl->channel);
	cl->closed = NULL;
	uv_close((uv_handle_t *)&cl->async, on_async_closed);
	return NULL;
out_destroy_lock:
	uv_mutex_destroy(&cl->lock);
out_destroy_cq:
	grpc_completion_queue_shutdown(cl->cq);
	grpc_completion_queue_destroy(cl->cq);
	grpc_channel_destroy(cl->channel);
out_shutdown:
	grpc_shutdown();
	free(cl);
	return NULL;
}

static int add_md(struct pf_grpc_call *call, const char *key, const char *value)
{
	size_t klen = strlen(key);
	char lower[256];

	if (klen == 0 || klen >= sizeof(lower) || call->n_md >= MAX_MD)
		return -EINVAL;
	for (size_t i = 0; i <= klen; i++)
		lower[i] = (char)tolower((unsigned char)key[i]);
	call->md[call->n_md].key = grpc_slice_from_copied_string(lower);
	call->md[call->n_md].value = grpc_slice_from_copied_string(value ? value : "");
	call->n_md++;
	return 0;
}

int pf_grpc_call(struct pf_grpc_client *cl, const char *method, const void *body, size_t size,
		 const struct pf_grpc_metadata *md, size_t n_md, uint64_t timeout_ms,
		 pf_grpc_done_fn done, void *arg, struct pf_grpc_call **out)
{
	struct pf_grpc_call *call;
	grpc_op ops[6];
	grpc_slice mslice;
	gpr_timespec deadline;
	int ret = 0;

	if (cl->closing)
		return -ESHUTDOWN;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->cl = cl;
	call->done = done;
	call->arg = arg;
	call->status_details = grpc_empty_slice();
	grpc_metadata_array_init(&call->initial_md);
	grpc_metadata_array_init(&call->trailing_md);
	for (size_t i = 0; i < n_md; i++) {
		ret = add_md(call, md[i].key, md[i].value);
		if (ret < 0)
			goto out_free_call;
	}
	call->send_buf = message(cl, body, size);
	deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
				gpr_time_from_millis((int64_t)timeout_ms, GPR_TIMESPAN));
	mslice = grpc_slice_from_copied_string(method);
	call->call = grpc_channel_create_call(cl->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cl->cq,
					      mslice, NULL, deadline, NULL);
	grpc_slice_unref(mslice);
	if (!call->call) {
		ret = -ENOMEM;
		goto out_free_call;
	}

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = call->n_md;
	ops[0].data.send_initial_metadata.metadata = call->md;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = call->send_buf;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &call->initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &call->recv_buf;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &call->trailing_md;
	ops[5].data.recv_status_on_client.status = &call->status;
	ops[5].data.recv_status_on_client.status_details = &call->status_details;
	if (grpc_call_start_batch(call->call, ops, 6, call, NULL) != GRPC_CALL_OK) {
		ret = -EINVAL;
		goto out_free_call;
	}
	call->next = cl->pending;
	if (cl->pending)
		cl->pending->prev = call;
	cl->pending = call;
	cl->n_pending++;
	if (out)
		*out = call;
	return 0;

out_free_call:
	call_free(call);
	return ret;
}

void pf_grpc_cancel(struct pf_grpc_call *call)
{
	grpc_call_cancel_with_status(call->call, GRPC_STATUS_CANCELLED, "cancelled", NULL);
}

size_t pf_grpc_pending(const struct pf_grpc_client *cl)
{
	return cl->n_pending;
}

void pf_grpc_client_close(struct pf_grpc_client *cl, pf_grpc_closed_fn closed, void *arg)
{
	if (!cl)
		return;
	assert(!cl->closing);
	cl->closing = true;
	cl->closed = closed;
	cl->closed_arg = arg;
	for (struct pf_grpc_call *c = cl->pending; c; c = c->next)
		pf_grpc_cancel(c);
	maybe_finish_close(cl);
}

const char *pf_grpc_code_name(int code)
{
	static const char *const names[] = {
		"OK",
		"CANCELLED",
		"UNKNOWN",
		"INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED",
		"NOT_FOUND",
		"ALREADY_EXISTS",
		"PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION",
		"ABORTED",
		"OUT_OF_RANGE",
		"UNIMPLEMENTED",
		"INTERNAL",
		"UNAVAILABLE",
		"DATA_LOSS",
		"UNAUTHENTICATED",
	};

	if (code < 0 || code > PF_GRPC_UNAUTHENTICATED)
		return "UNKNOWN";
	return names[code];
}
