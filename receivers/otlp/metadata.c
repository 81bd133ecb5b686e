// SPDX-License-Identifier: Apache-2.0
/* The otlp receiver's include_metadata: a request's gRPC metadata or HTTP headers as the batch's client metadata. */
#include <stdlib.h>
#include <string.h>

#include "model/batch.h"
#include "transport/grpc_server.h"
#include "transport/http_server.h"
#include "model/metadata.h"
#include "receiver.h"

#define lg(r) pf_component_logger((r)->c)

/* Binary gRPC metadata ("-bin" keys) is no text for headers: left out. */
static int add_grpc(void *arg, const char *key, size_t key_len, const char *value, size_t value_len)
{
	if (key_len == 0 || (key_len >= 4 && memcmp(key + key_len - 4, "-bin", 4) == 0))
		return 0;
	return pf_metadata_add(arg, key, key_len, value, value_len);
}

struct pf_metadata *pf_otlp_rx_grpc_metadata(const struct pf_otlp_rx *r,
					     const struct pf_grpc_request *req)
{
	struct pf_metadata *m;

	if (!r->cfg.protocols.grpc.include_metadata)
		return NULL;
	m = pf_metadata_new();
	if (m && pf_grpc_request_metadata_each(req, add_grpc, m) < 0) {
		pf_metadata_free(m);
		m = NULL;
	}
	if (!m)
		pf_log(lg(r), PF_LOG_WARN, "out of memory: request passed on without metadata");
	return m;
}

static int add_http(void *arg, const char *key, const char *value)
{
	if (!key || !key[0])
		return 0;
	return pf_metadata_add(arg, key, strlen(key), value, strlen(value));
}

struct pf_metadata *pf_otlp_rx_http_metadata(const struct pf_otlp_rx *r,
					     const struct pf_http_request *req)
{
	struct pf_metadata *m;

	if (!r->cfg.protocols.http.include_metadata)
		return NULL;
	m = pf_metadata_new();
	if (m && pf_http_request_headers_each(req, add_http, m) < 0) {
		pf_metadata_free(m);
		m = NULL;
	}
	if (!m)
		pf_log(lg(r), PF_LOG_WARN, "out of memory: request passed on without metadata");
	return m;
}

void pf_otlp_rx_attach(struct pf_batch *b, struct pf_metadata *md)
{
	if (!md)
		return;
	if (!b || pf_metadata_n(md) == 0) {
		pf_metadata_free(md);
		return;
	}
	pf_batch_set_metadata(b, md);
}
