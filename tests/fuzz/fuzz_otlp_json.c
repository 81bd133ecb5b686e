// SPDX-License-Identifier: Apache-2.0
/* Fuzzes pf_otlp_decode_json; what decodes must survive JSON and protobuf round trips unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/otlp.h"

/* Encodes b as JSON, decodes that, and checks the protobuf encodings of both
 * batches are the same bytes. */
static void round_trip(const struct pf_batch *b, int n_profiles)
{
	char *json = NULL;
	uint8_t *pb1 = NULL, *pb2 = NULL;
	size_t n_json, n1, n2;
	struct pf_error err;
	struct pf_batch *b2;

	if (pf_otlp_encode_json(b, NULL, 0, &json, &n_json) != 0)
		return;
	b2 = pf_batch_new();
	if (!b2)
		goto out_free_json;
	pf_error_clear(&err);
	int rc = pf_otlp_decode_json(b2, json, n_json, 0, NULL, &err);
	if (rc != n_profiles) {
		fprintf(stderr, "our own JSON does not decode (%d): %s\n", rc, err.msg);
		abort();
	}
	if (pf_otlp_encode(b, NULL, 0, &pb1, &n1) == 0 &&
	    pf_otlp_encode(b2, NULL, 0, &pb2, &n2) == 0 &&
	    (n1 != n2 || memcmp(pb1, pb2, n1) != 0)) {
		fprintf(stderr, "JSON round trip changed the request (%zu vs %zu bytes)\n", n1, n2);
		abort();
	}
	free(pb1);
	free(pb2);
	pf_batch_unref(b2);
out_free_json:
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_error err;
	struct pf_batch *b = pf_batch_new();
	int64_t rejected;
	char msg[64];

	if (!b)
		return 0;
	pf_error_clear(&err);
	int rc = pf_otlp_decode_json(b, data, size, 16 << 20, NULL, &err);
	if (rc < 0 && err.msg[0] == '\0') {
		fprintf(stderr, "error %d without a message\n", rc);
		abort();
	}
	if (rc > 0)
		round_trip(b, rc);
	pf_batch_unref(b);
	pf_error_clear(&err);
	pf_otlp_decode_response(data, size, true, &rejected, msg, sizeof(msg), &err);
	return 0;
}
