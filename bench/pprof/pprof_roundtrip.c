// SPDX-License-Identifier: Apache-2.0
/* bench/pprof, our side: pf_pprof_decode of one file, then pf_pprof_encode (gzip) of every group. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "formats/pprof/pprof.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf = NULL;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) != 0)
		goto out_close;
	buf = malloc((size_t)st.st_size + 1);
	if (buf && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	}
	*size = (size_t)st.st_size;
out_close:
	fclose(f);
	return buf;
}

/* Encodes group g and appends it to `out`. */
static int write_group(const struct pf_batch *b, const uint32_t *group_of, size_t n, uint32_t g,
		       FILE *out)
{
	uint32_t *list = calloc(n + 1, sizeof(*list));
	uint8_t *data = NULL;
	size_t k = 0, size = 0;
	int rc;

	if (!list)
		return -ENOMEM;
	for (size_t p = 0; p < n; p++)
		if (group_of[p] == g)
			list[k++] = (uint32_t)p;
	rc = pf_pprof_encode(b, list, k, true, &data, &size);
	if (rc == 0 && fwrite(data, 1, size, out) != size)
		rc = -EIO;
	free(data);
	free(list);
	return rc;
}

int main(int argc, char **argv)
{
	struct pf_error err;
	size_t size = 0;
	int ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s IN OUT\n", argv[0]);
		return 2;
	}
	uint8_t *in = slurp(argv[1], &size);
	if (!in) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	struct pf_batch *b = pf_batch_new();
	if (!b)
		goto out_free_in;
	pf_error_clear(&err);
	double t0 = now();
	int rc = pf_pprof_decode(b, NULL, in, size, (size_t)1 << 31, &err);
	free(in);
	in = NULL;
	if (rc < 0) {
		char text[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];
		fprintf(stderr, "decode: %s\n", pf_error_str(&err, text, sizeof(text)));
		goto out_unref;
	}
	size_t n = pf_batch_n_profiles(b);
	uint32_t *group_of = calloc(n + 1, sizeof(*group_of));
	if (!group_of)
		goto out_unref;
	int groups = pf_pprof_groups(b, group_of);
	FILE *out = fopen(argv[2], "wb");
	if (!out) {
		fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
		goto out_free_groups;
	}
	double t1 = now();
	for (int g = 0; g < groups; g++) {
		rc = write_group(b, group_of, n, (uint32_t)g, out);
		if (rc) {
			fprintf(stderr, "encode: %s\n", strerror(-rc));
			break;
		}
	}
	if (fclose(out) == 0 && rc == 0)
		ret = 0;
	fprintf(stderr, "decode %.2fs, encode+write %.2fs\n", t1 - t0, now() - t1);
	printf("samples %zu profiles %zu locations %zu functions %zu\n",
	       pf_batch_sample_count(b) / (n ? n : 1), n, pf_batch_n_locations(b) - 1,
	       pf_batch_n_functions(b) - 1);

out_free_groups:
	free(group_of);
out_unref:
	pf_batch_unref(b);
out_free_in:
	free(in);
	return ret;
}
