// SPDX-License-Identifier: Apache-2.0
/* gzip compression into growing buffers and bounded, bomb-proof decompression. */
#include "formats/gzip.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
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
	struct pf_gzip_writer *w = pf_gzip_writer_new(level, size / 4);
	if (!w)
		return -ENOMEM;
	int rc = pf_gzip_writer_write(w, data, size);
	if (rc == 0)
		rc = pf_gzip_writer_finish(w, out, out_size);
	pf_gzip_writer_destroy(w);
	return rc;
}

/* The size the gzip trailer claims (mod 2^32); a hint only, never trusted. */
static size_t claimed_size(const uint8_t *p, size_t size)
{
	if (size < 18)
		return 0;
	const uint8_t *t = p + size - 4;
	return (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
}

int pf_gzip_decompress(const void *data, size_t size, size_t max_size, uint8_t **out,
		       size_t *out_size)
{
	const uint8_t *in = data;
	z_stream zs;
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0;
	int ret;

	if (max_size == 0 || max_size == SIZE_MAX)
		return -EINVAL;
	if (!pf_gzip_detect(data, size))
		return -EINVAL;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, GZIP_WINDOW_BITS) != Z_OK)
		return -ENOMEM;

	size_t hint = claimed_size(in, size);
	if (hint < size)
		hint = size * 4;
	if (hint > max_size)
		hint = max_size;
	cap = hint + 2;
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto out_end_inflate;
	}

	const uint8_t *p = in;
	size_t left = size;
	for (;;) {
		if (zs.avail_in == 0 && left > 0) {
			size_t n = left < ZLIB_CHUNK ? left : ZLIB_CHUNK;
			zs.next_in = (Bytef *)p;
			zs.avail_in = (uInt)n;
			p += n;
			left -= n;
		}
		if (cap - len < 2) {
			/* Never grow past max_size + 2: one byte more proves "too big". */
			size_t want = cap < (max_size + 2) / 2 ? cap * 2 : max_size + 2;
			uint8_t *nb = realloc(buf, want);
			if (!nb) {
				ret = -ENOMEM;
				goto out_free_buf;
			}
			buf = nb;
			cap = want;
		}
		size_t room = cap - len - 1;
		if (room > ZLIB_CHUNK)
			room = ZLIB_CHUNK;
		zs.next_out = buf + len;
		zs.avail_out = (uInt)room;
		int rc = inflate(&zs, Z_NO_FLUSH);
		len += room - zs.avail_out;
		if (len > max_size) {
			ret = -EFBIG;
			goto out_free_buf;
		}
		if (rc == Z_STREAM_END) {
			size_t rest = zs.avail_in + left;
			if (rest == 0)
				break;
			/* Another member must follow; anything else is garbage. */
			if (zs.avail_in == 0) {
				size_t n = left < ZLIB_CHUNK ? left : ZLIB_CHUNK;
				zs.next_in = (Bytef *)p;
				zs.avail_in = (uInt)n;
				p += n;
				left -= n;
			}
			if (!pf_gzip_detect(zs.next_in, zs.avail_in)) {
				ret = -EINVAL;
				goto out_free_buf;
			}
			if (inflateReset(&zs) != Z_OK) {
				ret = -EINVAL;
				goto out_free_buf;
			}
			continue;
		}
		if (rc == Z_MEM_ERROR) {
			ret = -ENOMEM;
			goto out_free_buf;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			ret = -EINVAL;
			goto out_free_buf;
		}
		if (rc == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
			ret = -EINVAL; /* truncated */
			goto out_free_buf;
		}
	}
	buf[len] = 0;
	*out = buf;
	*out_size = len;
	inflateEnd(&zs);
	return 0;

out_free_buf:
	free(buf);
out_end_inflate:
	inflateEnd(&zs);
	return ret;
}
