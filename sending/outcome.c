// SPDX-License-Identifier: Apache-2.0
/* Classifies a send's result for the sending queue by the protocol's retryable HTTP statuses and gRPC codes. */
#include <errno.h>
#include <stdbool.h>

#include "transport/grpc_client.h"
#include "outcome.h"
#include "retry.h"

void pf_outcome_transport(int error, struct pf_send_result *out)
{
	out->status = error == -EINVAL ? PF_SEND_PERMANENT : PF_SEND_RETRY;
	out->retry_after_ns = 0;
}

static bool http_retryable(enum pf_outcome_rules rules, long status)
{
	if (status == 429)
		return true;
	if (rules == PF_OUTCOME_PYROSCOPE)
		return status >= 500 && status < 600 && status != 501 && status != 505;
	return status == 502 || status == 503 || status == 504;
}

void pf_outcome_http(enum pf_outcome_rules rules, long status, const char *retry_after,
		     int64_t hint_ns, int64_t now_unix, struct pf_send_result *out)
{
	int64_t after_ns = 0;

	out->retry_after_ns = 0;
	if (status >= 200 && status < 300) {
		out->status = PF_SEND_OK;
		return;
	}
	if (!http_retryable(rules, status)) {
		out->status = PF_SEND_PERMANENT;
		return;
	}
	out->status = PF_SEND_RETRY;
	if (retry_after && pf_retry_parse_after(retry_after, now_unix, &after_ns) == 0 &&
	    after_ns > 0)
		out->retry_after_ns = after_ns;
	else if (hint_ns > 0)
		out->retry_after_ns = hint_ns;
}

void pf_outcome_grpc(int code, int64_t hint_ns, struct pf_send_result *out)
{
	out->retry_after_ns = 0;
	switch (code) {
	case PF_GRPC_OK: out->status = PF_SEND_OK; return;
	case PF_GRPC_RESOURCE_EXHAUSTED:
		if (hint_ns < 0) {
			out->status = PF_SEND_PERMANENT;
			return;
		}
		/* fall through */
	case PF_GRPC_CANCELLED:
	case PF_GRPC_DEADLINE_EXCEEDED:
	case PF_GRPC_ABORTED:
	case PF_GRPC_OUT_OF_RANGE:
	case PF_GRPC_UNAVAILABLE:
	case PF_GRPC_DATA_LOSS:
		out->status = PF_SEND_RETRY;
		out->retry_after_ns = hint_ns > 0 ? hint_ns : 0;
		return;
	default: out->status = PF_SEND_PERMANENT; return;
	}
}
