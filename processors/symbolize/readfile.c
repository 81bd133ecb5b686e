// SPDX-License-Identifier: Apache-2.0
/* Reads small text files whole; procfs reports no sizes, so it reads until EOF. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "readfile.h"

int pf_readfile(const char *path, size_t max, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	b = malloc(cap);
	if (!b) {
		ret = -ENOMEM;
		goto out_close;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *p;

			if (cap > max) {
				ret = -EFBIG;
				goto out_free;
			}
			p = realloc(b, cap * 2);
			if (!p) {
				ret = -ENOMEM;
				goto out_free;
			}
			b = p;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto out_free;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		ret = -EFBIG;
		goto out_free;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	close(fd);
	return 0;

out_free:
	free(b);
out_close:
	close(fd);
	return ret;
}
