// SPDX-License-Identifier: Apache-2.0
/* Reads an ELF file's build ID, segments, debug link and function symbols with libelf (never mapped). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_symbols.h"
#include "host/proc_file.h"

#define NOTE_ALIGN(n) (((n) + 3u) & ~3u)

/* .gnu_debuglink: a NUL-terminated name, padding to 4, a CRC-32. */
static void read_debuglink(struct pf_elf_file *f, Elf_Data *d)
{
	const char *s = d->d_buf;
	size_t n;

	if (!s || d->d_size < 8)
		return;
	n = strnlen(s, d->d_size);
	if (n == 0 || n >= sizeof(f->debuglink) || NOTE_ALIGN(n + 1) + 4 > d->d_size)
		return;
	memcpy(f->debuglink, s, n + 1);
	memcpy(&f->debuglink_crc, s + NOTE_ALIGN(n + 1), 4);
}

/* .gnu_debugaltlink (dwz): the shared file's path, a NUL, its build ID. */
static void read_altlink(struct pf_elf_file *f, Elf_Data *d)
{
	const char *s = d->d_buf;
	size_t n, id_len;

	if (!s || d->d_size < 2)
		return;
	n = strnlen(s, d->d_size);
	if (n == 0 || n >= sizeof(f->altlink) || n + 1 >= d->d_size)
		return;
	id_len = d->d_size - n - 1;
	if (id_len > PF_BUILD_ID_MAX)
		return;
	memcpy(f->altlink, s, n + 1);
	memcpy(f->alt_build_id, s + n + 1, id_len);
	f->alt_build_id_len = id_len;
}

static int read_loads(struct pf_elf_file *f)
{
	size_t n, i, out = 0;

	if (elf_getphdrnum(f->elf, &n) < 0)
		return -ENOEXEC;
	if (n == 0)
		return 0;
	if (n > 65535)
		return -ENOEXEC;
	f->loads = calloc(n, sizeof(*f->loads));
	if (!f->loads)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		f->loads[out++] = (struct pf_elf_load){ph.p_vaddr, ph.p_offset, ph.p_filesz};
	}
	f->n_loads = out;
	return 0;
}

static int scan_sections(struct pf_elf_file *f)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(f->elf, &shstrndx) < 0)
		return 0; /* no section names: segments only */
	while ((scn = elf_nextscn(f->elf, scn)) != NULL) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(f->elf, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_SYMTAB)
			f->has_symtab = true;
		/* What libelf will read into memory: symbols, strings, DWARF. */
		if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM ||
		    sh.sh_type == SHT_STRTAB ||
		    (name && sh.sh_type != SHT_NOBITS &&
		     (!strncmp(name, ".debug_", 7) || !strncmp(name, ".zdebug_", 8))))
			f->data_bytes += sh.sh_size;
		if (!name)
			continue;
		if ((!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")) &&
		    sh.sh_type != SHT_NOBITS && sh.sh_size)
			f->has_debug_info = true;
		if (!strcmp(name, ".gnu_debuglink") && sh.sh_type != SHT_NOBITS) {
			d = elf_getdata(scn, NULL);
			if (d)
				read_debuglink(f, d);
		}
		if (!strcmp(name, ".gnu_debugaltlink") && sh.sh_type != SHT_NOBITS) {
			d = elf_getdata(scn, NULL);
			if (d)
				read_altlink(f, d);
		}
	}
	return 0;
}

/* Fills f from f->elf. */
static int inspect(struct pf_elf_file *f)
{
	GElf_Ehdr eh;
	int ret;

	if (elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &eh))
		return -ENOEXEC;
	f->type = eh.e_type;
	f->build_id_len = pf_host_build_id(f->elf, f->build_id);
	if (f->build_id_len)
		pf_host_hex(f->build_id, f->build_id_len, f->build_id_hex);
	ret = read_loads(f);
	if (ret < 0)
		return ret;
	return scan_sections(f);
}

static int open_common(struct pf_elf_file *f)
{
	int ret;

	if (!f->elf)
		return -ENOEXEC;
	ret = inspect(f);
	if (ret < 0)
		pf_elf_close(f);
	return ret;
}

int pf_elf_open_fd(int fd, struct pf_elf_file *f)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->elf = pf_host_elf_begin(fd, &err);
	if (!f->elf) {
		close(fd);
		f->fd = -1;
		return err;
	}
	return open_common(f);
}

int pf_elf_open(const char *path, struct pf_elf_file *f)
{
	int fd = pf_host_open_regular(path), ret;

	if (fd < 0) {
		memset(f, 0, sizeof(*f));
		f->fd = -1;
		return fd;
	}
	ret = pf_elf_open_fd(fd, f);
	if (ret == 0)
		snprintf(f->path, sizeof(f->path), "%s", path);
	return ret;
}

int pf_elf_open_mem(const void *image, size_t len, struct pf_elf_file *f)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	elf_version(EV_CURRENT);
	f->elf = elf_memory((char *)image, len);
	return open_common(f);
}

void pf_elf_close(struct pf_elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd > 0)
		close(f->fd);
	free(f->loads);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

static bool is_function(const GElf_Sym *s)
{
	int type = GELF_ST_TYPE(s->st_info);

	return (type == STT_FUNC || type == STT_GNU_IFUNC) && s->st_shndx != SHN_UNDEF &&
	       s->st_value != 0;
}

static long read_table(const struct pf_elf_file *f, Elf_Scn *scn, const GElf_Shdr *sh,
		       struct pf_symtab *t)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t i, n;
	long added = 0;

	if (!d || sh->sh_entsize == 0)
		return 0;
	n = d->d_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		GElf_Sym s;
		const char *name;
		uint32_t off;

		if (!gelf_getsym(d, (int)i, &s) || !is_function(&s))
			continue;
		name = elf_strptr(f->elf, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		off = pf_symtab_name(t, name, strlen(name));
		if (off == UINT32_MAX || pf_symtab_add(t, s.st_value, s.st_size, off, 0) < 0)
			return -ENOMEM;
		added++;
	}
	return added;
}

long pf_elf_read_symbols(const struct pf_elf_file *f, struct pf_symtab *t)
{
	Elf_Scn *scn = NULL;
	uint32_t want = f->has_symtab ? SHT_SYMTAB : SHT_DYNSYM;
	long added = 0;

	while ((scn = elf_nextscn(f->elf, scn)) != NULL) {
		GElf_Shdr sh;
		long r;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != want)
			continue;
		r = read_table(f, scn, &sh, t);
		if (r < 0)
			return r;
		added += r;
	}
	return added;
}

bool pf_elf_offset_to_vaddr(const struct pf_elf_file *f, uint64_t offset, uint64_t *vaddr)
{
	size_t i;

	for (i = 0; i < f->n_loads; i++) {
		const struct pf_elf_load *l = &f->loads[i];

		if (offset >= l->offset && offset - l->offset < l->filesz) {
			*vaddr = offset - l->offset + l->vaddr;
			return true;
		}
	}
	return false;
}

bool pf_elf_vaddr_to_offset(const struct pf_elf_file *f, uint64_t vaddr, uint64_t *offset)
{
	size_t i;

	for (i = 0; i < f->n_loads; i++) {
		const struct pf_elf_load *l = &f->loads[i];

		if (vaddr >= l->vaddr && vaddr - l->vaddr < l->filesz) {
			*offset = vaddr - l->vaddr + l->offset;
			return true;
		}
	}
	return false;
}
