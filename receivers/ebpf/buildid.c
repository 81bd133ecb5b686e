// SPDX-License-Identifier: Apache-2.0
/* The ebpf receiver's build IDs, as hex: host/ opens the mapped file and reads its note. */
#include <errno.h>
#include <libelf.h>
#include <unistd.h>

#include "ebpf.h"
#include "host/elf.h"
#include "host/proc_file.h"

/* BPF build-ID stacks carry 20 bytes (BPF_BUILD_ID_SIZE): a longer ID could
 * never match one. */
#define MAX_BUILD_ID 20
_Static_assert(PF_EBPF_BUILD_ID_HEX >= 2 * MAX_BUILD_ID + 1, "room for 20 bytes of hex");

int pf_buildid_read_fd(int fd, char out[PF_EBPF_BUILD_ID_HEX])
{
	uint8_t id[PF_HOST_BUILD_ID_MAX];
	size_t len;
	int err;
	Elf *elf;

	out[0] = '\0';
	elf = pf_host_elf_begin(fd, &err);
	if (!elf)
		return err;
	len = pf_host_build_id(elf, id);
	elf_end(elf);
	if (len == 0 || len > MAX_BUILD_ID)
		return 0;
	pf_host_hex(id, len, out);
	return 1;
}

int pf_buildid_read_path(const char *path, char out[PF_EBPF_BUILD_ID_HEX])
{
	int fd, ret;

	out[0] = '\0';
	fd = pf_host_open_regular(path);
	if (fd < 0)
		return fd;
	ret = pf_buildid_read_fd(fd, out);
	close(fd);
	return ret;
}

int pf_buildid_read(uint32_t pid, const struct pf_ebpf_mapping *m, char out[PF_EBPF_BUILD_ID_HEX])
{
	int fd, ret;

	out[0] = '\0';
	fd = pf_host_open_mapped(pid, m->path, m->start, m->end);
	if (fd < 0)
		return fd;
	ret = pf_buildid_read_fd(fd, out);
	close(fd);
	return ret;
}
