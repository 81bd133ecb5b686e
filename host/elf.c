// SPDX-License-Identifier: Apache-2.0
/* Opens ELF files with libelf's pread mode (never mmap) and finds their GNU build ID. */
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "host/elf.h"

#define GNU_BUILD_ID 3 /* NT_GNU_BUILD_ID */

Elf *pf_host_elf_begin(int fd, int *err)
{
	struct stat st;
	Elf *elf;

	if (fstat(fd, &st) < 0) {
		*err = -errno;
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = -EINVAL;
		return NULL;
	}
	if (st.st_size > PF_HOST_ELF_MAX) {
		*err = -EFBIG;
		return NULL;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		*err = -ENOSYS;
		return NULL;
	}
	/* ELF_C_READ: libelf preads headers and section data on demand into
	 * memory it owns. ELF_C_READ_MMAP would map the file, and any access
	 * past the end of a file truncated meanwhile raises SIGBUS. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf) {
		*err = -ENOEXEC;
		return NULL;
	}
	if (elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		*err = -ENOEXEC;
		return NULL;
	}
	return elf;
}

/* Looks for the GNU build ID in one block of notes; its length or 0. */
static size_t in_notes(Elf_Data *d, uint8_t id[PF_HOST_BUILD_ID_MAX])
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	if (!d || !d->d_buf)
		return 0;
	while (off < d->d_size && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		const char *base = d->d_buf;

		if (nh.n_type != GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp(base + name_off, "GNU", 4) != 0 || nh.n_descsz == 0 ||
		    nh.n_descsz > PF_HOST_BUILD_ID_MAX)
			continue;
		memcpy(id, base + desc_off, nh.n_descsz);
		return nh.n_descsz;
	}
	return 0;
}

size_t pf_host_build_id(Elf *elf, uint8_t id[PF_HOST_BUILD_ID_MAX])
{
	Elf_Scn *scn = NULL;
	size_t phnum, len = 0;

	/* Segments first: stripped files may have no section headers. */
	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum && !len; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
				continue;
			len = in_notes(
				elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
						     ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR),
				id);
		}
	}
	while (!len && (scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE)
			len = in_notes(elf_getdata(scn, NULL), id);
	}
	return len;
}

void pf_host_hex(const uint8_t *id, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * len] = '\0';
}
