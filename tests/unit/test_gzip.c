/* SPDX-License-Identifier: Apache-2.0 */
/* gzip: one-shot and streaming compression, bounded decompression, members, bombs, garbage. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "formats/gzip.h"

static void test_gzip_round_trip(void **state)
{
	size_t n = 1 << 20, gz_n, out_n;
	uint8_t *in = malloc(n), *gz, *out;
	assert_non_null(in);
	for (size_t i = 0; i < n; i++)
		in[i] = (uint8_t)(i * 2654435761u >> 13);
	assert_int_equal(pf_gzip_compress(in, n, PF_GZIP_FASTEST, &gz, &gz_n), 0);
	assert_true(pf_gzip_detect(gz, gz_n));
	assert_false(pf_gzip_detect(in, 1));
	assert_int_equal(pf_gzip_decompress(gz, gz_n, n, &out, &out_n), 0);
	assert_int_equal(out_n, n);
	assert_memory_equal(out, in, n);
	free(out);
	/* One byte short of the limit is refused. */
	assert_int_equal(pf_gzip_decompress(gz, gz_n, n - 1, &out, &out_n), -EFBIG);
	assert_int_equal(pf_gzip_compress(in, 1, 0, &out, &out_n), -EINVAL);
	free(gz);
	free(in);
}

static void test_gzip_bomb(void **state)
{
	size_t n = 64 << 20, gz_n;
	uint8_t *zeros = calloc(1, n), *gz, *out = NULL;
	assert_non_null(zeros);
	assert_int_equal(pf_gzip_compress(zeros, n, 9, &gz, &gz_n), 0);
	free(zeros);
	assert_true(gz_n < n / 500);
	size_t out_n = 0;
	assert_int_equal(pf_gzip_decompress(gz, gz_n, 1 << 20, &out, &out_n), -EFBIG);
	assert_null(out);
	free(gz);
}

static void test_gzip_members_and_garbage(void **state)
{
	uint8_t *a, *b2, *out;
	size_t a_n, b_n, out_n;
	assert_int_equal(pf_gzip_compress("hello ", 6, 6, &a, &a_n), 0);
	assert_int_equal(pf_gzip_compress("world", 5, 6, &b2, &b_n), 0);
	uint8_t *both = malloc(a_n + b_n + 1);
	memcpy(both, a, a_n);
	memcpy(both + a_n, b2, b_n);
	assert_int_equal(pf_gzip_decompress(both, a_n + b_n, 100, &out, &out_n), 0);
	assert_int_equal(out_n, 11);
	assert_memory_equal(out, "hello world", 11);
	assert_int_equal(out[11], 0);
	free(out);
	both[a_n] = 'x';
	assert_int_equal(pf_gzip_decompress(both, a_n + 1, 100, &out, &out_n), -EINVAL);
	assert_int_equal(pf_gzip_decompress(a, a_n - 1, 100, &out, &out_n), -EINVAL);
	assert_int_equal(pf_gzip_decompress("plain", 5, 100, &out, &out_n), -EINVAL);
	free(both);
	free(a);
	free(b2);
}

/* The zlib streaming writer: many small writes give one member that the
 * one-shot decompressor reads back. */
static void test_gzip_writer(void **state)
{
	struct pf_gzip_writer *w = pf_gzip_writer_new(PF_GZIP_DEFAULT, 0);
	assert_non_null(w);
	char line[64];
	size_t total = 0;
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(line, sizeof(line), "line %d of the stream\n", i);
		assert_int_equal(pf_gzip_writer_write(w, line, (size_t)n), 0);
		total += (size_t)n;
	}
	uint8_t *gz, *out;
	size_t gz_n, out_n;
	assert_int_equal(pf_gzip_writer_finish(w, &gz, &gz_n), 0);
	pf_gzip_writer_destroy(w);
	assert_true(gz_n < total / 4);
	assert_int_equal(pf_gzip_decompress(gz, gz_n, total, &out, &out_n), 0);
	assert_int_equal(out_n, total);
	assert_memory_equal(out, "line 0 of the stream\nline 1 ", 28);
	free(out);
	free(gz);
	assert_null(pf_gzip_writer_new(10, 0));
	pf_gzip_writer_destroy(NULL);
}

/* Empty input compresses to a valid, empty member. */
static void test_gzip_empty(void **state)
{
	uint8_t *gz, *out;
	size_t gz_n, out_n;
	assert_int_equal(pf_gzip_compress("", 0, PF_GZIP_FASTEST, &gz, &gz_n), 0);
	assert_int_equal(pf_gzip_decompress(gz, gz_n, 1, &out, &out_n), 0);
	assert_int_equal(out_n, 0);
	free(out);
	free(gz);
	assert_int_equal(pf_gzip_decompress("\x1f\x8b", 2, 1, &out, &out_n), -EINVAL);
}

/* zlib streams (gRPC's deflate): round trip, bound, trailing data, gzip refused. */
static void test_gzip_zlib(void **state)
{
	size_t n = 100000, out_n;
	uint8_t *in = calloc(1, n), *out;
	uLongf z_n = compressBound((uLong)n);
	uint8_t *z = malloc(z_n + 1);
	assert_non_null(in);
	assert_non_null(z);
	for (size_t i = 0; i < n; i++)
		in[i] = (uint8_t)(i % 251 < 20 ? i : 0);
	assert_int_equal(compress2(z, &z_n, in, (uLong)n, 6), Z_OK);
	assert_int_equal(pf_gzip_decompress_zlib(z, z_n, n, &out, &out_n), 0);
	assert_int_equal(out_n, n);
	assert_memory_equal(out, in, n);
	free(out);
	assert_int_equal(pf_gzip_decompress_zlib(z, z_n, n - 1, &out, &out_n), -EFBIG);
	z[z_n] = 0;
	assert_int_equal(pf_gzip_decompress_zlib(z, z_n + 1, n, &out, &out_n), -EINVAL);
	/* truncated (with room to spare, else it may read as too big) */
	assert_int_equal(pf_gzip_decompress_zlib(z, z_n - 1, 2 * n, &out, &out_n), -EINVAL);
	z[z_n - 1] ^= 1; /* the Adler-32 */
	assert_int_equal(pf_gzip_decompress_zlib(z, z_n, n, &out, &out_n), -EINVAL);
	free(z);
	assert_int_equal(pf_gzip_compress(in, n, 1, &z, &out_n), 0);
	assert_int_equal(pf_gzip_decompress_zlib(z, out_n, n, &out, &out_n), -EINVAL);
	free(z);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzip_round_trip),
		cmocka_unit_test(test_gzip_bomb),
		cmocka_unit_test(test_gzip_members_and_garbage),
		cmocka_unit_test(test_gzip_writer),
		cmocka_unit_test(test_gzip_empty),
		cmocka_unit_test(test_gzip_zlib),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
