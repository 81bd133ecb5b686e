// SPDX-License-Identifier: Apache-2.0
/* Separate debug files: the build-ID tree and .gnu_debuglink, each candidate verified. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "debuginfo.h"

/* The CRC-32 of a whole file (the one .gnu_debuglink records is zlib's). */
static int file_crc(int fd, uint32_t *crc)
{
	unsigned char buf[65536];
	uLong c = crc32(0, Z_NULL, 0);
	ssize_t r;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		c = crc32(c, buf, (uInt)r);
	}
	*crc = (uint32_t)c;
	return 0;
}

static bool matches(const struct pf_elf_file *bin, const struct pf_elf_file *dbg)
{
	uint32_t crc;

	if (!dbg->has_debug_info)
		return false;
	if (bin->build_id_len)
		return dbg->build_id_len == bin->build_id_len &&
		       !memcmp(dbg->build_id, bin->build_id, bin->build_id_len);
	if (!bin->debuglink[0] || dbg->fd < 0 || file_crc(dbg->fd, &crc) < 0)
		return false;
	return crc == bin->debuglink_crc;
}

/* Opens path into out when it matches bin. */
static bool try_path(const struct pf_elf_file *bin, const char *path, struct pf_elf_file *out)
{
	if (pf_elf_open(path, out) < 0)
		return false;
	if (matches(bin, out))
		return true;
	pf_elf_close(out);
	return false;
}

int pf_debuginfo_find(const struct pf_elf_file *bin, const char *root, const char *filename,
		      const char *debug_root, struct pf_elf_file *out)
{
	char path[PATH_MAX], dir[PATH_MAX];
	const char *slash;
	int n;

	if (bin->build_id_len >= 2) {
		n = snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", debug_root,
			     bin->build_id_hex, bin->build_id_hex + 2);
		if (n > 0 && (size_t)n < sizeof(path) && try_path(bin, path, out))
			return 0;
	}
	if (!bin->debuglink[0] || strchr(bin->debuglink, '/'))
		return -ENOENT;
	slash = strrchr(filename, '/');
	if (!slash || (size_t)(slash - filename) >= sizeof(dir))
		return -ENOENT;
	memcpy(dir, filename, (size_t)(slash - filename));
	dir[slash - filename] = '\0';
	n = snprintf(path, sizeof(path), "%s%s/%s", root, dir, bin->debuglink);
	/* The link may name the binary itself when it was not split. */
	if (n > 0 && (size_t)n < sizeof(path) && strcmp(slash + 1, bin->debuglink) != 0 &&
	    try_path(bin, path, out))
		return 0;
	n = snprintf(path, sizeof(path), "%s%s/.debug/%s", root, dir, bin->debuglink);
	if (n > 0 && (size_t)n < sizeof(path) && try_path(bin, path, out))
		return 0;
	n = snprintf(path, sizeof(path), "%s%s/%s", debug_root, dir, bin->debuglink);
	if (n > 0 && (size_t)n < sizeof(path) && try_path(bin, path, out))
		return 0;
	return -ENOENT;
}

bool pf_debuginfo_open_matching(const struct pf_elf_file *bin, const char *path,
				struct pf_elf_file *out)
{
	return try_path(bin, path, out);
}
