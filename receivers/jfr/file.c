// SPDX-License-Identifier: Apache-2.0
/* Reads a JFR file chunk by chunk through short-lived mappings, so memory stays near one chunk. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"

static int read_full(int fd, uint8_t *buf, size_t n, uint64_t off)
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
	return (int)got;
}

int pf_jfr_decode_file(struct pf_jfr_decoder *d, const char *path, uint64_t max_size,
		       struct pf_error *err)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t head[PF_JFR_HEADER_SIZE];
	struct stat st;
	uint64_t pos = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out_close;
	}
	if (max_size && (uint64_t)st.st_size > max_size) {
		ret = -EFBIG;
		goto out_close;
	}
	if (st.st_size == 0) {
		char where[32];
		snprintf(where, sizeof(where), "offset 0");
		ret = pf_error_set(err, where, "empty file");
		goto out_close;
	}
	while (pos < (uint64_t)st.st_size) {
		struct pf_jfr_header h;
		int got = read_full(fd, head, sizeof(head), pos);
		if (got < 0) {
			ret = got;
			break;
		}
		ret = pf_jfr_read_header(head, (size_t)got, pos, &h, err);
		if (ret < 0)
			break;
		uint64_t avail = (uint64_t)st.st_size - pos;
		uint64_t len = h.size < avail ? h.size : avail;
		uint64_t map_off = pos & ~(uint64_t)(page - 1), lead = pos - map_off;
		uint8_t *map = mmap(NULL, (size_t)(len + lead), PROT_READ, MAP_PRIVATE, fd,
				    (off_t)map_off);
		if (map == MAP_FAILED) {
			ret = -errno;
			break;
		}
		madvise(map, (size_t)(len + lead), MADV_SEQUENTIAL);
		size_t used = 0;
		ret = pf_jfr_decoder_chunk(d, map + lead, (size_t)len, pos, &used, err);
		munmap(map, (size_t)(len + lead));
		if (ret < 0)
			break;
		pos += used;
	}
out_close:
	close(fd);
	return ret;
}
