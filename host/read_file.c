// SPDX-License-Identifier: Apache-2.0
/* Reads a file whole, bounded: a growing buffer filled until end of file, never mapped. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/read_file.h"

#define FIRST_CAP 4096u

/* The first buffer size: the file's size when it tells one (procfs says 0). */
static size_t first_cap(const struct stat *st, size_t max)
{
	size_t want = FIRST_CAP;

	if (S_ISREG(st->st_mode) && st->st_size > 0)
		want = (uint64_t)st->st_size < max ? (size_t)st->st_size + 1 : max + 1;
	return want < max + 1 ? want : max + 1;
}

/* read() past EINTR: the count, 0 at end of file, or a negative errno. */
static ssize_t read_some(int fd, char *buf, size_t n)
{
	ssize_t r;

	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int pf_host_read_fd(int fd, size_t max, unsigned flags, char **buf, size_t *len)
{
	bool regular = flags & PF_HOST_READ_REGULAR;
	size_t cap, n = 0;
	struct stat st;
	char *b;
	int ret;

	if (max == (size_t)-1)
		max--; /* room for the NUL */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode) || (regular && !S_ISREG(st.st_mode)))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	cap = first_cap(&st, max);
	b = malloc(cap);
	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap - 1) {
			/* Full. Most files are the size fstat() gave: look for
			 * one byte more before growing for it. */
			char extra;
			size_t grown_cap = cap <= (max + 1) / 2 ? cap * 2 : max + 1;
			char *grown;

			r = read_some(fd, &extra, 1);
			if (r < 0) {
				ret = (int)r;
				goto out_free;
			}
			if (r == 0)
				break;
			if (cap == max + 1) {
				if (!(flags & PF_HOST_READ_PREFIX)) {
					ret = -EFBIG;
					goto out_free;
				}
				break;
			}
			grown = realloc(b, grown_cap);
			if (!grown) {
				ret = -ENOMEM;
				goto out_free;
			}
			b = grown;
			cap = grown_cap;
			b[n++] = extra;
			continue;
		}
		r = read_some(fd, b + n, cap - 1 - n);
		if (r < 0) {
			ret = (int)r;
			goto out_free;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;

out_free:
	free(b);
	return ret;
}

int pf_host_read_file(const char *path, size_t max, unsigned flags, char **buf, size_t *len)
{
	bool regular = flags & PF_HOST_READ_REGULAR;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (regular ? O_NONBLOCK : 0));
	int ret;

	if (fd < 0)
		return -errno;
	ret = pf_host_read_fd(fd, max, flags, buf, len);
	close(fd);
	return ret;
}
