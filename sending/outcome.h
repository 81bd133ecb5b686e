/* SPDX-License-Identifier: Apache-2.0 */
/* How one send to a backend ended: OK, retry (with the server's delay) or permanent, decided once for every exporter. */
#ifndef PF_OUTCOME_H
#define PF_OUTCOME_H

#include <stdint.h>

#include "queue.h"

/*
 * The rules are the protocols' own (opentelemetry-proto's "Failures" for
 * OTLP/HTTP and OTLP/gRPC, Pyroscope's for its push and ingest APIs), kept
 * here once so exporters of one protocol can never disagree. Each function fills out->status and out->retry_after_ns and leaves
 * out->reason and out->rejected to the caller.
 */

/*
 * No response arrived: transport `error` (a negative errno from the HTTP or
 * gRPC client). -EINVAL means the request cannot be sent as configured (bad
 * URL, unsupported scheme) and is permanent; a refused, lost or timed-out
 * connection is retried.
 */
void pf_outcome_transport(int error, struct pf_send_result *out);

/* Which HTTP statuses a backend's protocol says to retry. */
enum pf_outcome_rules {
	/* OTLP/HTTP: 429, 502, 503 and 504; every other status MUST NOT be
	 * retried (the specification's words), 500 included. */
	PF_OUTCOME_OTLP,
	/* Pyroscope (as Grafana's own pyroscope.write client): 429 and every
	 * 5xx but 501 and 505, which no retry can cure; its distributors
	 * answer 500 while ingesters restart. */
	PF_OUTCOME_PYROSCOPE,
};

/*
 * An HTTP response of `status` from a backend speaking `rules`. 2xx: OK.
 * A retryable status is retried after the Retry-After header `retry_after`
 * (NULL when absent: seconds or an HTTP date, relative to `now_unix`), or
 * else after `hint_ns`, the delay the body gave (google.rpc.RetryInfo; 0 =
 * none). Anything else is permanent.
 */
void pf_outcome_http(enum pf_outcome_rules rules, long status, const char *retry_after,
		     int64_t hint_ns, int64_t now_unix, struct pf_send_result *out);

/*
 * A gRPC status `code` (PF_GRPC_*). OK; CANCELLED, DEADLINE_EXCEEDED,
 * ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are retried after
 * `hint_ns` (RetryInfo's delay; 0 = none, -1 = no RetryInfo);
 * RESOURCE_EXHAUSTED is retried only when the server sent RetryInfo (it can
 * recover); every other code is permanent.
 */
void pf_outcome_grpc(int code, int64_t hint_ns, struct pf_send_result *out);

#endif
