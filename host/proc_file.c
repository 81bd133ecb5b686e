// SPDX-License-Identifier: Apache-2.0
/* Opens a process's mapped file through /proc/PID/map_files, else /proc/PID/root. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/proc_file.h"

int pf_host_open_regular(const char *path)
{
	struct stat st = {0};
	int err, fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		return fd;
	err = S_ISREG(st.st_mode) ? -errno : -EINVAL;
	close(fd);
	return err;
}

int pf_host_open_mapped(int64_t pid, const char *path, uint64_t start, uint64_t end)
{
	char p[PATH_MAX + 64];
	int fd;

	if (pid <= 0)
		return -EINVAL;
	snprintf(p, sizeof(p), "/proc/%" PRId64 "/map_files/%" PRIx64 "-%" PRIx64, pid, start, end);
	fd = pf_host_open_regular(p);
	if (fd >= 0 || fd == -EINVAL || !path || path[0] != '/')
		return fd;
	if ((size_t)snprintf(p, sizeof(p), "/proc/%" PRId64 "/root%s", pid, path) >= sizeof(p))
		return -ENAMETOOLONG;
	return pf_host_open_regular(p);
}
