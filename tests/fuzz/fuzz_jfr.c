// SPDX-License-Identifier: Apache-2.0
/* Fuzzes the JFR decoder; what decodes must have profiles whose totals equal the decoder's counts. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/batch.h"
#include "receivers/jfr/decode.h"

static int64_t total(const struct pf_batch *b, uint32_t p)
{
	size_t n;
	const struct pf_sample *s = pf_batch_samples(b, p, &n);
	int64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += pf_batch_sample_total(b, &s[i]);
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_jfr_stats st;
	struct pf_error err = {0};
	int64_t events = 0;

	if (!b)
		return 0;
	int rc = pf_jfr_decode(b, data, size, NULL, 0, &st, &err);
	if (rc < 0) {
		if (rc == -EINVAL && (!pf_error_isset(&err) || strncmp(err.where, "offset ", 7))) {
			fprintf(stderr, "an error without its offset: '%s' '%s'\n", err.where,
				err.msg);
			abort();
		}
		goto out;
	}
	/* Profiles come in pairs (count, then the weighted value). */
	if (rc % 2 || (size_t)rc != pf_batch_n_profiles(b)) {
		fprintf(stderr, "%d profiles, %zu in the batch\n", rc, pf_batch_n_profiles(b));
		abort();
	}
	/* totals[k][0]: events, but samples for async-profiler's batched wall-clock samples. */
	for (int k = 0; k < PF_JFR_N_KINDS; k++)
		events += st.totals[k][0];
	int64_t counted = 0;
	for (uint32_t p = 0; p < (uint32_t)rc; p += 2)
		counted += total(b, p);
	if (counted != events) {
		fprintf(stderr, "profiles count %lld events, the decoder %lld\n",
			(long long)counted, (long long)events);
		abort();
	}
out:
	pf_batch_unref(b);
	return 0;
}
