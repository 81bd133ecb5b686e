// SPDX-License-Identifier: Apache-2.0
/* Finds this process's vDSO image and the size of its mapping. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include <fcntl.h>
#include <libelf.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/elf.h"
#include "host/read_file.h"
#include "host/vdso.h"

#define MAPS_MAX (4u << 20)

int pf_host_vdso(const void **image, size_t *size)
{
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	char *buf = NULL, *line, *save = NULL;
	size_t len;
	int rc = -ENOENT;

	if (!base ||
	    pf_host_read_file("/proc/self/maps", MAPS_MAX, PF_HOST_READ_PREFIX, &buf, &len) < 0) {
		free(buf);
		return -ENOENT;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t start, end;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2 && start == base &&
		    end > start) {
			*image = (const void *)base;
			*size = (size_t)(end - start);
			rc = 0;
			break;
		}
	}
	free(buf);
	return rc;
}

int pf_host_vdso_build_id(char *out, size_t size)
{
	uint8_t id[PF_HOST_BUILD_ID_MAX];
	const void *image;
	size_t image_size, len = 0;
	Elf *elf;

	if (size < PF_HOST_BUILD_ID_HEX || pf_host_vdso(&image, &image_size) < 0 ||
	    elf_version(EV_CURRENT) == EV_NONE)
		return -ENOENT;
	/* Only read: libelf writes to an image only to convert byte order. */
	elf = elf_memory((char *)image, image_size);
	if (elf) {
		len = pf_host_build_id(elf, id);
		elf_end(elf);
	}
	if (!len)
		return -ENOENT;
	pf_host_hex(id, len, out);
	return 0;
}

int pf_host_vdso_fd(void)
{
	const void *image;
	size_t size, done = 0;
	int fd, err;

	if (pf_host_vdso(&image, &size) < 0)
		return -ENOENT;
	fd = memfd_create(PF_HOST_VDSO_MAPPING, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	while (done < size) {
		ssize_t n = write(fd, (const char *)image + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			close(fd);
			return err;
		}
		done += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}
