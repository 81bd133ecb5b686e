// SPDX-License-Identifier: Apache-2.0
/* Fuzzes pf_pprof_decode; what decodes must encode, decode again and re-encode identically. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/pprof/pprof.h"

/* Encodes group g of b, decodes that into a new batch, encodes again and
 * checks both encodings are the same bytes. */
static void round_trip(const struct pf_batch *b, const uint32_t *group_of, size_t n, uint32_t g)
{
	uint32_t *list = calloc(n, sizeof(*list));
	size_t k = 0;
	uint8_t *out1 = NULL, *out2 = NULL;
	size_t n1 = 0, n2 = 0;
	struct pf_error err;

	if (!list)
		return;
	for (size_t p = 0; p < n; p++)
		if (group_of[p] == g)
			list[k++] = (uint32_t)p;
	if (pf_pprof_encode(b, list, k, (g & 1) != 0, &out1, &n1) != 0)
		goto out_free_list;
	struct pf_batch *b2 = pf_batch_new();
	if (!b2)
		goto out_free_out1;
	pf_error_clear(&err);
	int rc = pf_pprof_decode(b2, NULL, out1, n1, 0, &err);
	if (rc < 0) {
		fprintf(stderr, "our own encoding does not decode: %s\n", err.msg);
		abort();
	}
	uint32_t *all = calloc((size_t)rc + 1, sizeof(*all));
	if (!all)
		goto out_unref;
	for (int i = 0; i < rc; i++)
		all[i] = (uint32_t)i;
	if (pf_pprof_encode(b2, all, (size_t)rc, false, &out2, &n2) == 0) {
		uint8_t *raw1 = out1;
		/* out1 may be gzip (odd groups): compare against a raw encoding. */
		if (g & 1) {
			free(out1);
			out1 = NULL;
			if (pf_pprof_encode(b, list, k, false, &out1, &n1) != 0)
				goto out_free_all;
			raw1 = out1;
		}
		if (n1 != n2 || memcmp(raw1, out2, n1) != 0) {
			fprintf(stderr, "re-encoding differs (%zu vs %zu bytes)\n", n1, n2);
			abort();
		}
	}
out_free_all:
	free(all);
	free(out2);
out_unref:
	pf_batch_unref(b2);
out_free_out1:
	free(out1);
out_free_list:
	free(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_error err;
	struct pf_batch *b = pf_batch_new();
	if (!b)
		return 0;
	pf_error_clear(&err);
	/* A small limit keeps decompression bombs cheap. */
	int rc = pf_pprof_decode(b, NULL, data, size, 16 << 20, &err);
	if (rc < 0 && err.msg[0] == '\0') {
		fprintf(stderr, "error %d without a message\n", rc);
		abort();
	}
	if (rc > 0) {
		size_t n = pf_batch_n_profiles(b);
		uint32_t *group_of = calloc(n, sizeof(*group_of));
		int groups = group_of ? pf_pprof_groups(b, group_of) : -1;
		for (int g = 0; g < groups; g++)
			round_trip(b, group_of, n, (uint32_t)g);
		free(group_of);
	}
	pf_batch_unref(b);
	return 0;
}
