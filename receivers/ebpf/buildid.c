// SPDX-License-Identifier: Apache-2.0
/* Reads the GNU build ID of a mapped ELF file with libelf, through /proc/PID/map_files or /proc/PID/root. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ebpf.h"

#define NT_GNU_BUILD_ID_TYPE 3
#define MAX_BUILD_ID	     20

static void to_hex(const unsigned char *id, size_t n, char out[PF_EBPF_BUILD_ID_HEX])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Looks for NT_GNU_BUILD_ID in one note section or segment. */
static bool find_in_notes(Elf_Data *data, char out[PF_EBPF_BUILD_ID_HEX])
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *base = data->d_buf;
		if (nh.n_type == NT_GNU_BUILD_ID_TYPE && nh.n_namesz == 4 &&
		    memcmp(base + name_off, "GNU", 4) == 0 && nh.n_descsz > 0 &&
		    nh.n_descsz <= MAX_BUILD_ID) {
			to_hex((const unsigned char *)base + desc_off, nh.n_descsz, out);
			return true;
		}
	}
	return false;
}

int pf_buildid_read_fd(int fd, char out[PF_EBPF_BUILD_ID_HEX])
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t phnum;
	bool found = false;
	Elf *elf;

	out[0] = '\0';
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return -ENOEXEC;
	}
	/* Program headers first: stripped files may have no section headers. */
	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum && !found; i++) {
			GElf_Phdr ph;
			Elf_Data *d;
			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
				continue;
			d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
						 ELF_T_NHDR);
			if (d)
				found = find_in_notes(d, out);
		}
	}
	while (!found && (scn = elf_nextscn(elf, scn)) != NULL) {
		Elf_Data *d;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		if (d)
			found = find_in_notes(d, out);
	}
	elf_end(elf);
	return found ? 1 : 0;
}

/* The build ID of the regular file at path (never a FIFO or a device a
 * hostile container put there). */
int pf_buildid_read_path(const char *path, char out[PF_EBPF_BUILD_ID_HEX])
{
	struct stat st;
	int fd, ret;

	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	ret = pf_buildid_read_fd(fd, out);
	close(fd);
	return ret;
}

int pf_buildid_read(uint32_t pid, const struct pf_ebpf_mapping *m, char out[PF_EBPF_BUILD_ID_HEX])
{
	char path[PATH_MAX + 64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%u/map_files/%llx-%llx", pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	ret = pf_buildid_read_path(path, out);
	/* map_files needs CAP_SYS_ADMIN: any failure to open it tries the path. */
	if (ret < 0 && ret != -EINVAL && ret != -ENOEXEC && ret != -ENOSYS && m->path[0] == '/') {
		snprintf(path, sizeof(path), "/proc/%u/root%s", pid, m->path);
		ret = pf_buildid_read_path(path, out);
	}
	return ret;
}
