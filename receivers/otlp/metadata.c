// SPDX-License-Identifier: Apache-2.0
/* The otlp receiver's include_metadata: a request's gRPC metadata or HTTP headers as the batch's client metadata. */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/batch.h"
#include "pipeline/grpc_server.h"
#include "pipeline/http_server.h"
#include "pipeline/metadata.h"
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

struct http_walk {
	struct pf_metadata *m;
	int rc;
};

static enum MHD_Result add_http(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct http_walk *w = cls;

	(void)kind;
	if (!key || !key[0])
		return MHD_YES;
	w->rc = pf_metadata_add(w->m, key, strlen(key), value ? value : "",
				value ? strlen(value) : 0);
	return w->rc < 0 ? MHD_NO : MHD_YES;
}

struct pf_metadata *pf_otlp_rx_http_metadata(const struct pf_otlp_rx *r,
					     const struct pf_http_request *req)
{
	struct http_walk w = {0};

	if (!r->cfg.protocols.http.include_metadata || !req->conn)
		return NULL;
	w.m = pf_metadata_new();
	/* pf_http_request.conn is the MHD connection (pipeline/http_server.h). */
	if (w.m)
		MHD_get_connection_values(req->conn, MHD_HEADER_KIND, add_http, &w);
	if (w.m && w.rc < 0) {
		pf_metadata_free(w.m);
		w.m = NULL;
	}
	if (!w.m)
		pf_log(lg(r), PF_LOG_WARN, "out of memory: request passed on without metadata");
	return w.m;
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
