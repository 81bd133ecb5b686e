/* SPDX-License-Identifier: Apache-2.0 */
/* gzip (RFC 1952) compression and bounded decompression over zlib. */
#ifndef PF_GZIP_H
#define PF_GZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* zlib levels: 1 is fastest (what Go's runtime/pprof uses), 9 smallest. */
#define PF_GZIP_FASTEST 1
#define PF_GZIP_DEFAULT 6

/* True when `data` starts with the gzip magic bytes 1f 8b. */
bool pf_gzip_detect(const void *data, size_t size);

/* Compresses `size` bytes at `data` into one gzip member at `level` (1..9).
 * Returns 0 and a malloc'd buffer in *out (the caller frees it), or -ENOMEM
 * or -EINVAL (bad level). */
int pf_gzip_compress(const void *data, size_t size, int level, uint8_t **out, size_t *out_size);

/* Decompresses gzip data (several concatenated members are one stream), never
 * producing more than `max_size` bytes (> 0): a larger output is refused
 * with -EFBIG as soon as it is reached, so a small "bomb" costs at most
 * max_size of memory. Returns 0 and a malloc'd buffer in *out (the caller
 * frees it; it holds one extra NUL byte past *out_size), -EINVAL for corrupt,
 * truncated or trailing data, or -ENOMEM. */
int pf_gzip_decompress(const void *data, size_t size, size_t max_size, uint8_t **out,
		       size_t *out_size);

/* The same for one zlib (RFC 1950) stream, what gRPC calls "deflate". */
int pf_gzip_decompress_zlib(const void *data, size_t size, size_t max_size, uint8_t **out,
			    size_t *out_size);

/* A streaming compressor into a growing memory buffer, for encoders that
 * produce their output piece by piece and should never hold it uncompressed. */
struct pf_gzip_writer;

/* A writer at `level` (1..9); `size_hint` is the expected compressed size
 * (0 if unknown). Returns NULL on ENOMEM or a bad level. */
struct pf_gzip_writer *pf_gzip_writer_new(int level, size_t size_hint);

/* Compresses `size` more bytes. Returns 0 or -ENOMEM (the writer is then
 * only good for pf_gzip_writer_destroy()). */
int pf_gzip_writer_write(struct pf_gzip_writer *w, const void *data, size_t size);

/* Ends the gzip member and hands the compressed bytes to the caller (who
 * frees *out). Returns 0 or -ENOMEM. The writer must still be destroyed. */
int pf_gzip_writer_finish(struct pf_gzip_writer *w, uint8_t **out, size_t *out_size);

/* Frees the writer and any output not handed over. Takes NULL. */
void pf_gzip_writer_destroy(struct pf_gzip_writer *w);

#endif
