// SPDX-License-Identifier: Apache-2.0
/* Reads a JFR file chunk by chunk into one reused buffer with pread, so memory stays near one chunk. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"
#include "host/proc_file.h"

/* Reads up to n bytes at off; fewer at end of file. Returns the count or a
 * negative errno. */
static ssize_t read_at(int fd, uint8_t *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Makes *buf hold at least n bytes. Returns 0 or -ENOMEM. */
static int reserve(uint8_t **buf, size_t *cap, size_t n)
{
	uint8_t *grown;

	if (n <= *cap)
		return 0;
	grown = realloc(*buf, n);
	if (!grown)
		return -ENOMEM;
	*buf = grown;
	*cap = n;
	return 0;
}

/*
 * Not mmap: a writer that truncates the file meanwhile (jcmd JFR.dump to the
 * same path, any O_TRUNC rewrite) would make the next access to a mapped page
 * past the new end raise SIGBUS and kill the collector. pread just returns
 * less, and the decoder reports a truncated chunk for this file. Copying a
 * chunk costs little next to decoding it (bench/jfr: within noise).
 */
int pf_jfr_decode_file(struct pf_jfr_decoder *d, const char *path, uint64_t max_size,
		       struct pf_error *err)
{
	uint8_t head[PF_JFR_HEADER_SIZE], *buf = NULL;
	size_t cap = 0;
	struct stat st;
	uint64_t pos = 0;
	int fd, ret = 0;

	fd = pf_host_open_regular(path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (max_size && (uint64_t)st.st_size > max_size) {
		ret = -EFBIG;
		goto out_close;
	}
	if (st.st_size == 0) {
		ret = pf_error_set(err, "offset 0", "empty file");
		goto out_close;
	}
	while (pos < (uint64_t)st.st_size) {
		struct pf_jfr_header h;
		ssize_t got = read_at(fd, head, sizeof(head), pos);
		uint64_t avail = (uint64_t)st.st_size - pos, len;
		size_t used = 0;

		if (got < 0) {
			ret = (int)got;
			break;
		}
		ret = pf_jfr_read_header(head, (size_t)got, pos, &h, err);
		if (ret < 0)
			break;
		/* At most the file's size (max_size bounds it) and 4 GiB. */
		len = h.size < avail ? h.size : avail;
		ret = reserve(&buf, &cap, (size_t)len);
		if (ret < 0)
			break;
		got = read_at(fd, buf, (size_t)len, pos);
		if (got < 0) {
			ret = (int)got;
			break;
		}
		/* A file cut meanwhile gives less: a truncated chunk, an error. */
		ret = pf_jfr_decoder_chunk(d, buf, (size_t)got, pos, &used, err);
		if (ret < 0)
			break;
		pos += used; /* at least a header: pf_jfr_read_header() checked */
	}
	free(buf);
out_close:
	close(fd);
	return ret;
}
