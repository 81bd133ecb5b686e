// SPDX-License-Identifier: Apache-2.0
/* Bench driver: decodes a JFR file into a batch the way the jfr receiver does, prints the totals. */
#include <stdio.h>
#include <string.h>

#include "model/batch.h"
#include "receivers/jfr/decode.h"

static const char *const kinds[PF_JFR_N_KINDS] = {"cpu", "wall", "alloc", "lock", "gc"};

int main(int argc, char **argv)
{
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];
	int ret = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE.jfr...\n", argv[0]);
		return 2;
	}
	struct pf_batch *b = pf_batch_new();
	struct pf_jfr_decoder *d = b ? pf_jfr_decoder_new(b) : NULL;
	if (!d)
		goto out;
	for (int i = 1; i < argc; i++) {
		int r = pf_jfr_decode_file(d, argv[i], 0, &err);
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", argv[i],
				pf_error_isset(&err) ? pf_error_str(&err, buf, sizeof(buf))
						     : strerror(-r));
			goto out;
		}
	}
	int n = pf_jfr_decoder_finish(d, NULL, 0, NULL, 0);
	if (n < 0)
		goto out;
	const struct pf_jfr_stats *s = pf_jfr_decoder_stats(d);
	printf("chunks=%llu events=%llu skipped=%llu profiles=%d samples=%zu strings=%zu "
	       "locations=%zu stacks=%zu\n",
	       (unsigned long long)s->chunks, (unsigned long long)s->events,
	       (unsigned long long)s->skipped, n, pf_batch_sample_count(b), pf_batch_n_strings(b),
	       pf_batch_n_locations(b), pf_batch_n_stacks(b));
	for (int k = 0; k < PF_JFR_N_KINDS; k++)
		printf("%s events=%llu v0=%lld v1=%lld\n", kinds[k],
		       (unsigned long long)s->by_kind[k], (long long)s->totals[k][0],
		       (long long)s->totals[k][1]);
	ret = 0;
out:
	pf_jfr_decoder_free(d);
	pf_batch_unref(b);
	return ret;
}
