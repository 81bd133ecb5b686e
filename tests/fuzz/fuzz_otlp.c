// SPDX-License-Identifier: Apache-2.0
/* Fuzzes pf_otlp_decode; what decodes must encode, decode again and re-encode identically. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/otlp.h"

static void round_trip(const struct pf_batch *b, int n_profiles)
{
	uint8_t *out1 = NULL, *out2 = NULL;
	size_t n1 = 0, n2 = 0;
	struct pf_error err;
	struct pf_batch *b2;

	if (pf_otlp_encode(b, NULL, 0, &out1, &n1) != 0)
		return;
	b2 = pf_batch_new();
	if (!b2)
		goto out_free_out1;
	pf_error_clear(&err);
	int rc = pf_otlp_decode(b2, out1, n1, 0, NULL, &err);
	if (rc != n_profiles) {
		fprintf(stderr, "our own encoding does not decode (%d): %s\n", rc, err.msg);
		abort();
	}
	if (pf_otlp_encode(b2, NULL, 0, &out2, &n2) == 0 &&
	    (n1 != n2 || memcmp(out1, out2, n1) != 0)) {
		fprintf(stderr, "re-encoding differs (%zu vs %zu bytes)\n", n1, n2);
		abort();
	}
	free(out2);
	pf_batch_unref(b2);
out_free_out1:
	free(out1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_error err;
	struct pf_batch *b = pf_batch_new();
	int64_t rejected, delay;
	int code;
	char msg[64];

	if (!b)
		return 0;
	pf_error_clear(&err);
	int rc = pf_otlp_decode(b, data, size, 16 << 20, NULL, &err);
	if (rc < 0 && err.msg[0] == '\0') {
		fprintf(stderr, "error %d without a message\n", rc);
		abort();
	}
	if (rc > 0)
		round_trip(b, rc);
	pf_batch_unref(b);
	/* The response and status parsers see the same hostile bytes. */
	pf_error_clear(&err);
	pf_otlp_decode_response(data, size, false, &rejected, msg, sizeof(msg), &err);
	pf_otlp_decode_status(data, size, &code, msg, sizeof(msg), &delay);
	return 0;
}
