/* SPDX-License-Identifier: Apache-2.0 */
/* Which HTTP statuses and gRPC codes each protocol retries, and whose delay wins. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "transport/grpc_client.h"
#include "sending/outcome.h"

#define S ((int64_t)1000000000)

static enum pf_send_status http(enum pf_outcome_rules rules, long status)
{
	struct pf_send_result out = {0};

	pf_outcome_http(rules, status, NULL, 0, 0, &out);
	return out.status;
}

static void test_http_statuses(void **state)
{
	static const struct {
		long status;
		enum pf_send_status otlp, pyroscope;
	} cases[] = {
		{200, PF_SEND_OK, PF_SEND_OK},
		{204, PF_SEND_OK, PF_SEND_OK},
		{301, PF_SEND_PERMANENT, PF_SEND_PERMANENT},
		{400, PF_SEND_PERMANENT, PF_SEND_PERMANENT},
		{401, PF_SEND_PERMANENT, PF_SEND_PERMANENT},
		{413, PF_SEND_PERMANENT, PF_SEND_PERMANENT},
		{429, PF_SEND_RETRY, PF_SEND_RETRY},
		{500, PF_SEND_PERMANENT, PF_SEND_RETRY},
		{501, PF_SEND_PERMANENT, PF_SEND_PERMANENT},
		{502, PF_SEND_RETRY, PF_SEND_RETRY},
		{503, PF_SEND_RETRY, PF_SEND_RETRY},
		{504, PF_SEND_RETRY, PF_SEND_RETRY},
		{505, PF_SEND_PERMANENT, PF_SEND_PERMANENT},
		{507, PF_SEND_PERMANENT, PF_SEND_RETRY},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (http(PF_OUTCOME_OTLP, cases[i].status) != cases[i].otlp)
			fail_msg("otlp %ld", cases[i].status);
		if (http(PF_OUTCOME_PYROSCOPE, cases[i].status) != cases[i].pyroscope)
			fail_msg("pyroscope %ld", cases[i].status);
	}
}

/* Retry-After wins over the body's RetryInfo; either alone is taken; a
 * permanent status keeps no delay. */
static void test_http_delays(void **state)
{
	struct pf_send_result out = {0};

	pf_outcome_http(PF_OUTCOME_OTLP, 503, "7", 2 * S, 1000, &out);
	assert_int_equal(out.retry_after_ns, 7 * S);
	pf_outcome_http(PF_OUTCOME_OTLP, 429, NULL, 2 * S, 1000, &out);
	assert_int_equal(out.retry_after_ns, 2 * S);
	pf_outcome_http(PF_OUTCOME_OTLP, 429, "soon", 2 * S, 1000, &out);
	assert_int_equal(out.retry_after_ns, 2 * S);
	pf_outcome_http(PF_OUTCOME_PYROSCOPE, 503, "Thu, 01 Jan 1970 00:16:50 GMT", 0, 1000, &out);
	assert_int_equal(out.retry_after_ns, 10 * S);
	pf_outcome_http(PF_OUTCOME_OTLP, 400, "7", 2 * S, 1000, &out);
	assert_int_equal(out.status, PF_SEND_PERMANENT);
	assert_int_equal(out.retry_after_ns, 0);
}

static void test_grpc_codes(void **state)
{
	static const int retry[] = {PF_GRPC_CANCELLED,	 PF_GRPC_DEADLINE_EXCEEDED,
				    PF_GRPC_ABORTED,	 PF_GRPC_OUT_OF_RANGE,
				    PF_GRPC_UNAVAILABLE, PF_GRPC_DATA_LOSS};
	static const int permanent[] = {
		PF_GRPC_UNKNOWN,	PF_GRPC_INVALID_ARGUMENT,  PF_GRPC_NOT_FOUND,
		PF_GRPC_ALREADY_EXISTS, PF_GRPC_PERMISSION_DENIED, PF_GRPC_FAILED_PRECONDITION,
		PF_GRPC_UNIMPLEMENTED,	PF_GRPC_INTERNAL,	   PF_GRPC_UNAUTHENTICATED};
	struct pf_send_result out = {0};

	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
		pf_outcome_grpc(retry[i], -1, &out);
		assert_int_equal(out.status, PF_SEND_RETRY);
		assert_int_equal(out.retry_after_ns, 0);
	}
	for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++) {
		pf_outcome_grpc(permanent[i], 3 * S, &out);
		assert_int_equal(out.status, PF_SEND_PERMANENT);
	}
	pf_outcome_grpc(PF_GRPC_OK, -1, &out);
	assert_int_equal(out.status, PF_SEND_OK);
	/* RESOURCE_EXHAUSTED is retried only when RetryInfo says it can recover */
	pf_outcome_grpc(PF_GRPC_RESOURCE_EXHAUSTED, -1, &out);
	assert_int_equal(out.status, PF_SEND_PERMANENT);
	pf_outcome_grpc(PF_GRPC_RESOURCE_EXHAUSTED, 0, &out);
	assert_int_equal(out.status, PF_SEND_RETRY);
	pf_outcome_grpc(PF_GRPC_UNAVAILABLE, 3 * S, &out);
	assert_int_equal(out.retry_after_ns, 3 * S);
}

static void test_transport(void **state)
{
	struct pf_send_result out = {0};

	pf_outcome_transport(-ECONNREFUSED, &out);
	assert_int_equal(out.status, PF_SEND_RETRY);
	pf_outcome_transport(-ETIMEDOUT, &out);
	assert_int_equal(out.status, PF_SEND_RETRY);
	pf_outcome_transport(-EINVAL, &out);
	assert_int_equal(out.status, PF_SEND_PERMANENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_statuses),
		cmocka_unit_test(test_http_delays),
		cmocka_unit_test(test_grpc_codes),
		cmocka_unit_test(test_transport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
