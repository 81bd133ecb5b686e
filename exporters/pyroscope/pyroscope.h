/* SPDX-License-Identifier: Apache-2.0 */
/* The pyroscope exporter's parts: its config, series labels, and request payloads for both APIs. */
#ifndef PF_EXPORTERS_PYROSCOPE_H
#define PF_EXPORTERS_PYROSCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/auth.h"
#include "model/batch.h"
#include "core/option.h"
#include "sending/queue.h"
#include "sending/retry.h"
#include "transport/tls.h"

enum pf_pyroscope_api {
	PF_PYROSCOPE_PUSH,   /* POST /push.v1.PusherService/Push (Connect, protobuf) */
	PF_PYROSCOPE_INGEST, /* POST /ingest?name=...&format=pprof (multipart) */
};

struct pf_pyroscope_auth {
	char *username;
	char *password;
};

/* The exporter's settings; strings, lists and maps belong to config/. */
struct pf_pyroscope_config {
	char *endpoint;
	int api; /* enum pf_pyroscope_api */
	struct pf_pyroscope_auth basic_auth;
	char *bearer_token;
	char *tenant_id;
	struct pf_string_map headers;
	struct pf_string_map labels;
	struct pf_strings resource_labels;
	int64_t timeout; /* ns */
	struct pf_tls_config tls;
	struct pf_queue_config sending_queue;
	struct pf_retry_config retry_on_failure;
	struct pf_auth_config auth;
};

/* One series label; both strings are owned by the list. */
struct pf_pyroscope_label {
	char *name;
	char *value;
};

struct pf_pyroscope_labels {
	struct pf_pyroscope_label *v;
	size_t n;
	size_t cap;
};

/* Frees the labels' strings and array; the list is then empty. */
void pf_pyroscope_labels_clear(struct pf_pyroscope_labels *l);

/*
 * The labels of the series made of profiles `sel[0..n)` of `b` (one pprof
 * group, so one resource): `__name__` from the sample types (Pyroscope's
 * createLabels rules), `service_name` from the resource, the resource
 * attributes listed in resource_labels, then the configured labels (which
 * may override service_name but not __name__). For `ingest` label names keep
 * [A-Za-z0-9_.] and no `__delta__` is added; for push they are made
 * Prometheus-valid and `__delta__` is "false" (proflow's profiles are
 * deltas already). Sorted by name, names unique. Returns 0 or -ENOMEM.
 */
int pf_pyroscope_series_labels(const struct pf_batch *b, const uint32_t *sel, size_t n,
			       const struct pf_pyroscope_config *cfg, bool ingest,
			       struct pf_pyroscope_labels *out);

/* The value of label `name`, or NULL. */
const char *pf_pyroscope_label_get(const struct pf_pyroscope_labels *l, const char *name);

/* Pyroscope's profile name (`__name__`) for a group of sample type names. */
const char *pf_pyroscope_profile_name(const struct pf_batch *b, const uint32_t *sel, size_t n);

/*
 * Encodes a whole batch as one Push API request: one series per (resource,
 * pprof group) with one sample holding the gzipped pprof and a random UUID.
 * On success returns 0, a malloc'd PushRequest in *out and the number of
 * samples sent in *items; a batch with no samples gives 0 with *out NULL.
 * Returns -ENOMEM or the pprof encoder's error.
 */
int pf_pyroscope_encode_push(const struct pf_batch *b, const struct pf_pyroscope_config *cfg,
			     uint8_t **out, size_t *out_size, uint64_t *items);

/*
 * One /ingest request, as the queue stores it: the query string (without
 * '?') and the multipart parts, all pointing into the stored payload.
 */
struct pf_pyroscope_ingest {
	const char *query;
	size_t query_len;
	const uint8_t *config; /* sample_type_config JSON */
	size_t config_len;
	const uint8_t *profile; /* gzipped pprof */
	size_t profile_len;
};

/* Called once per /ingest payload made by pf_pyroscope_encode_ingest:
 * returns 0 when it took the payload, > 0 when it refused it (the encoder
 * frees it and goes on) or a negative error (freed, and encoding stops). */
typedef int (*pf_pyroscope_ingest_fn)(void *arg, uint8_t *payload, size_t size, uint64_t items);

/*
 * Encodes every pprof group of the batch with samples as one /ingest payload
 * and hands each to emit (see pf_pyroscope_ingest_fn). `now_ns` stands in
 * for profiles without a time. Returns 0 or the first error.
 */
int pf_pyroscope_encode_ingest(const struct pf_batch *b, const struct pf_pyroscope_config *cfg,
			       uint64_t now_ns, pf_pyroscope_ingest_fn emit, void *arg);

/* Splits a payload made by pf_pyroscope_encode_ingest. Returns 0 or -EINVAL
 * (not such a payload, e.g. a stored file from another version). */
int pf_pyroscope_ingest_parse(const uint8_t *data, size_t size, struct pf_pyroscope_ingest *v);

/* Builds the multipart/form-data body of an ingest request with `boundary`
 * (parts `profile` and `sample_type_config`). Returns 0 and a malloc'd body,
 * or -ENOMEM. */
int pf_pyroscope_multipart(const struct pf_pyroscope_ingest *v, const char *boundary, uint8_t **out,
			   size_t *out_size);

/* Fills `out` (37 bytes) with a random UUID version 4 in text form. */
void pf_pyroscope_uuid(char out[37]);

#endif
