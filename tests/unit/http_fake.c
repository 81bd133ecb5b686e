// SPDX-License-Identifier: Apache-2.0
/* The fake HTTP peer of exporter tests: gathers each request's body, asks the test's handler, sends its answer. */
#include "http_fake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

/* A request's body as it arrives. */
struct upload {
	uint8_t *data;
	size_t size;
};

void hf_check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "http peer thread: %s\n", what);
		abort();
	}
}

void hf_value(const struct hf_request *r, enum MHD_ValueKind kind, const char *key, char *out,
	      size_t size)
{
	const char *v = MHD_lookup_connection_value(r->conn, kind, key);

	snprintf(out, size, "%s", v ? v : "");
}

void hf_text(struct hf_answer *ans, const char *text)
{
	ans->body_size = strlen(text);
	ans->body = malloc(ans->body_size + 1);
	hf_check(ans->body != NULL, "malloc");
	memcpy(ans->body, text, ans->body_size + 1);
}

uint64_t hf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Appends a piece of the body; false when out of memory. */
static bool upload_add(struct upload *up, const char *data, size_t size)
{
	uint8_t *grown = malloc(up->size + size);

	if (!grown)
		return false;
	if (up->size)
		memcpy(grown, up->data, up->size);
	memcpy(grown + up->size, data, size);
	free(up->data);
	up->data = grown;
	up->size += size;
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct hf_peer *p = cls;
	struct upload *up = *con_cls;
	struct hf_answer ans = {.status = 200};
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!up) {
		up = calloc(1, sizeof(*up));
		*con_cls = up;
		return up ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		if (!upload_add(up, data, *data_size))
			return MHD_NO;
		*data_size = 0;
		return MHD_YES;
	}
	struct hf_request req = {.conn = conn,
				 .method = method,
				 .url = url,
				 .body = up->data,
				 .body_size = up->size};
	uv_mutex_lock(&p->lock);
	p->handler(p->arg, &req, &ans);
	uv_mutex_unlock(&p->lock);
	if (ans.delay_ms)
		uv_sleep(ans.delay_ms);
	resp = MHD_create_response_from_buffer(ans.body_size, ans.body, MHD_RESPMEM_MUST_FREE);
	hf_check(resp != NULL, "response");
	if (ans.content_type)
		MHD_add_response_header(resp, "Content-Type", ans.content_type);
	if (ans.retry_after)
		MHD_add_response_header(resp, "Retry-After", ans.retry_after);
	ret = MHD_queue_response(conn, ans.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	if (up) {
		free(up->data);
		free(up);
		*con_cls = NULL;
	}
}

void hf_start(struct hf_peer *p, int port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem opts[8];
	size_t n = 0;

	assert_non_null(p->handler);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	uv_mutex_init(&p->lock);
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, p};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr};
	if (p->key_pem) {
		flags |= MHD_USE_TLS;
		opts[n++] =
			(struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)p->key_pem};
		opts[n++] =
			(struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)p->cert_pem};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	p->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, p,
				  MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	assert_non_null(p->mhd);
	info = MHD_get_daemon_info(p->mhd, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	p->port = info->port;
}

void hf_stop(struct hf_peer *p)
{
	MHD_stop_daemon(p->mhd);
	p->mhd = NULL;
	uv_mutex_destroy(&p->lock);
}
