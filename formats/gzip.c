// SPDX-License-Identifier: Apache-2.0
/* gzip: one-shot (libdeflate) and streaming (zlib) compression, bounded decompression. */
#include "formats/gzip.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <zlib.h>

/* windowBits 15 plus 16 selects the gzip wrapper in zlib. */
#define GZIP_WINDOW_BITS (15 + 16)
/* zlib counts in uInt; feed it at most this much per call. */
#define ZLIB_CHUNK ((size_t)1 << 30)

struct pf_gzip_writer {
	z_stream zs;
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool finished;
};

bool pf_gzip_detect(const void *data, size_t size)
{
	const uint8_t *p = data;
	return size >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* Makes room for at least `more` bytes after len in *buf (capacity *cap),
 * doubling its capacity. */
static int buf_reserve(uint8_t **buf, size_t *cap, size_t len, size_t more)
{
	if (*cap - len >= more)
		return 0;
	size_t want = *cap ? *cap : 4096;
	while (want - len < more) {
		if (want > SIZE_MAX / 2)
			return -ENOMEM;
		want *= 2;
	}
	uint8_t *nb = realloc(*buf, want);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = want;
	return 0;
}

struct pf_gzip_writer *pf_gzip_writer_new(int level, size_t size_hint)
{
	if (level < 1 || level > 9)
		return NULL;
	struct pf_gzip_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	if (deflateInit2(&w->zs, level, Z_DEFLATED, GZIP_WINDOW_BITS, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		goto out_free_writer;
	if (buf_reserve(&w->buf, &w->cap, 0, size_hint > 4096 ? size_hint : 4096) != 0)
		goto out_end_deflate;
	return w;

out_end_deflate:
	deflateEnd(&w->zs);
out_free_writer:
	free(w);
	return NULL;
}

/* Runs deflate over the pending input with `flush`, growing the output. */
static int writer_pump(struct pf_gzip_writer *w, int flush)
{
	for (;;) {
		/* deflateBound-like slack: a little more than the input plus headers. */
		size_t more = w->zs.avail_in / 2 + 65536;
		if (buf_reserve(&w->buf, &w->cap, w->len, more) != 0)
			return -ENOMEM;
		size_t room = w->cap - w->len;
		if (room > ZLIB_CHUNK)
			room = ZLIB_CHUNK;
		w->zs.next_out = w->buf + w->len;
		w->zs.avail_out = (uInt)room;
		int rc = deflate(&w->zs, flush);
		w->len += room - w->zs.avail_out;
		if (rc == Z_STREAM_END)
			return 0;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -ENOMEM;
		if (flush == Z_NO_FLUSH && w->zs.avail_in == 0)
			return 0;
	}
}

int pf_gzip_writer_write(struct pf_gzip_writer *w, const void *data, size_t size)
{
	const uint8_t *p = data;
	while (size > 0) {
		size_t n = size < ZLIB_CHUNK ? size : ZLIB_CHUNK;
		w->zs.next_in = (Bytef *)p;
		w->zs.avail_in = (uInt)n;
		int rc = writer_pump(w, Z_NO_FLUSH);
		if (rc != 0)
			return rc;
		p += n;
		size -= n;
	}
	return 0;
}

int pf_gzip_writer_finish(struct pf_gzip_writer *w, uint8_t **out, size_t *out_size)
{
	if (!w->finished) {
		w->zs.next_in = NULL;
		w->zs.avail_in = 0;
		int rc = writer_pump(w, Z_FINISH);
		if (rc != 0)
			return rc;
		w->finished = true;
	}
	*out = w->buf;
	*out_size = w->len;
	w->buf = NULL;
	w->cap = 0;
	w->len = 0;
	return 0;
}

void pf_gzip_writer_destroy(struct pf_gzip_writer *w)
{
	if (!w)
		return;
	deflateEnd(&w->zs);
	free(w->buf);
	free(w);
}

int pf_gzip_compress(const void *data, size_t size, int level, uint8_t **out, size_t *out_size)
{
	if (level < 1 || level > 9)
		return -EINVAL;
	/* libdeflate is 2-3x faster than zlib at equal ratio, but one-shot. */
	struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
	if (!c)
		return -ENOMEM;
	size_t cap = libdeflate_gzip_compress_bound(c, size);
	uint8_t *buf = malloc(cap ? cap : 1); /* written before read: no zeroing */
	int ret = -ENOMEM;
	if (!buf)
		goto out_free_compressor;
	size_t n = libdeflate_gzip_compress(c, data, size, buf, cap);
	if (n == 0) {
		free(buf);
		goto out_free_compressor;
	}
	/* Give back the slack of the bound when it is large. */
	uint8_t *shrunk = cap - n > ((size_t)1 << 20) ? realloc(buf, n) : NULL;
	*out = shrunk ? shrunk : buf;
	*out_size = n;
	ret = 0;

out_free_compressor:
	libdeflate_free_compressor(c);
	return ret;
}

/* The size the gzip trailer claims (mod 2^32); a hint only, never trusted. */
static size_t claimed_size(const uint8_t *p, size_t size)
{
	if (size < 18)
		return 0;
	const uint8_t *t = p + size - 4;
	return (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
}

/* Inflates one gzip member or zlib stream at `in` into `out`. */
static enum libdeflate_result member(struct libdeflate_decompressor *d, bool zlib, const void *in,
				     size_t size, void *out, size_t room, size_t *used_in,
				     size_t *produced)
{
	if (zlib)
		return libdeflate_zlib_decompress_ex(d, in, size, out, room, used_in, produced);
	return libdeflate_gzip_decompress_ex(d, in, size, out, room, used_in, produced);
}

/* pf_gzip_decompress() for gzip members, or for one zlib stream. */
static int decompress(const void *data, size_t size, size_t max_size, bool zlib, uint8_t **out,
		      size_t *out_size)
{
	const uint8_t *in = data;
	uint8_t *buf = NULL;
	size_t cap, len = 0;
	int ret = -EINVAL;

	if (max_size == 0 || max_size >= SIZE_MAX / 2 || (!zlib && !pf_gzip_detect(data, size)) ||
	    (zlib && size < 6))
		return -EINVAL;
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	if (!d)
		return -ENOMEM;
	/* Deflate expands at most ~1032:1, which bounds what a lying trailer
	 * can make us allocate up front. */
	size_t bound = size < SIZE_MAX / 1032 ? size * 1032 : SIZE_MAX;
	cap = zlib ? 0 : claimed_size(in, size);
	if (cap < size)
		cap = size < SIZE_MAX / 4 ? size * 4 : SIZE_MAX;
	if (cap > bound)
		cap = bound;
	if (cap > max_size)
		cap = max_size;
	buf = malloc(cap + 1); /* written before read: no zeroing */
	if (!buf) {
		ret = -ENOMEM;
		goto out_free_decompressor;
	}
	/* One gzip member per round; several concatenated members are one
	 * stream (RFC 1952 2.2), anything else after a member is an error. */
	while (size > 0) {
		size_t used_in = 0, produced = 0;
		enum libdeflate_result r;
		if (!zlib && !pf_gzip_detect(in, size))
			goto out_free_buf;
		for (;;) {
			r = member(d, zlib, in, size, buf + len, cap - len, &used_in, &produced);
			if (r != LIBDEFLATE_INSUFFICIENT_SPACE)
				break;
			/* Refusing as soon as max_size is full: a bomb costs max_size. */
			if (cap == max_size) {
				ret = -EFBIG;
				goto out_free_buf;
			}
			size_t want = cap < max_size / 2 ? cap * 2 : max_size;
			if (want < 4096)
				want = 4096 < max_size ? 4096 : max_size;
			uint8_t *nb = realloc(buf, want + 1);
			if (!nb) {
				ret = -ENOMEM;
				goto out_free_buf;
			}
			buf = nb;
			cap = want;
		}
		if (r != LIBDEFLATE_SUCCESS)
			goto out_free_buf;
		len += produced;
		in += used_in;
		size -= used_in;
		if (zlib && size > 0)
			goto out_free_buf; /* one zlib stream only */
	}
	buf[len] = 0;
	*out = buf;
	*out_size = len;
	libdeflate_free_decompressor(d);
	return 0;

out_free_buf:
	free(buf);
out_free_decompressor:
	libdeflate_free_decompressor(d);
	return ret;
}

int pf_gzip_decompress(const void *data, size_t size, size_t max_size, uint8_t **out,
		       size_t *out_size)
{
	return decompress(data, size, max_size, false, out, out_size);
}

int pf_gzip_decompress_zlib(const void *data, size_t size, size_t max_size, uint8_t **out,
			    size_t *out_size)
{
	return decompress(data, size, max_size, true, out, out_size);
}
