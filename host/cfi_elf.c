// SPDX-License-Identifier: Apache-2.0
/* Finds an ELF file's CFI sections with libelf and parses them, keeping the FDEs of executable code. */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include "host/cfi_elf.h"
#include "host/unwind_table.h"

/* The section's bytes, decompressed if needed, bounded by PF_UNWIND_CFI_MAX. */
static int section_bytes(Elf_Scn *scn, const GElf_Shdr *sh, Elf_Data **out, struct pf_error *err)
{
	Elf_Data *d = NULL;

	if (sh->sh_flags & SHF_COMPRESSED) {
		GElf_Chdr ch;

		if (!gelf_getchdr(scn, &ch) || ch.ch_size > PF_UNWIND_CFI_MAX)
			return pf_error_set(err, "",
					    "compressed CFI section unreadable or too large");
		if (elf_compress(scn, 0, 0) < 0)
			return pf_error_set(err, "", "CFI section: %s", elf_errmsg(-1));
	} else if (sh->sh_size > PF_UNWIND_CFI_MAX) {
		return pf_error_set(err, "", "CFI section of %llu bytes is over the %u byte limit",
				    (unsigned long long)sh->sh_size, PF_UNWIND_CFI_MAX);
	}
	d = elf_getdata(scn, NULL);
	if (!d || (d->d_size && !d->d_buf) || d->d_size > PF_UNWIND_CFI_MAX)
		return pf_error_set(err, "", "CFI section unreadable: %s", elf_errmsg(-1));
	*out = d;
	return 0;
}

/* Checks the ELF header and finds the CFI sections (NULL where absent). */
static int find_cfi(Elf *elf, Elf_Scn **eh, Elf_Scn **dbg, struct pf_error *err)
{
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh_hdr;
	GElf_Shdr sh;
	size_t shstrndx, shnum, seen = 0;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh_hdr))
		return pf_error_set(err, "", "not an ELF file");
	if (eh_hdr.e_ident[EI_DATA] != ELFDATA2LSB)
		return pf_error_set(err, "", "big-endian ELF: no unwind rules for it");
	if (eh_hdr.e_machine != EM_X86_64)
		return pf_error_set(err, "", "ELF machine %u: no unwind rules for it",
				    eh_hdr.e_machine);
	if (elf_getshdrstrndx(elf, &shstrndx) < 0 || elf_getshdrnum(elf, &shnum) < 0)
		return pf_error_set(err, "", "no section names: %s", elf_errmsg(-1));
	*eh = *dbg = NULL;
	/* A section table cut off (a file truncated on disk) is an error, not
	 * a file without CFI, whose every pc would be taken for a gap. */
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		const char *name;

		seen++;
		if (!gelf_getshdr(scn, &sh))
			return pf_error_set(err, "", "section header: %s", elf_errmsg(-1));
		if (sh.sh_type == SHT_NOBITS || sh.sh_size == 0)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".eh_frame") && !*eh)
			*eh = scn;
		else if (name && !strcmp(name, ".debug_frame") && !*dbg)
			*dbg = scn;
	}
	/* libelf drops a section table that lies past the end of the file. */
	if ((eh_hdr.e_shoff != 0 && shnum == 0) || (shnum > 0 && seen != shnum - 1))
		return pf_error_set(err, "", "section table cut off or unreadable");
	return 0;
}

/* Parses one CFI section into o. */
static int parse_section(Elf *elf, Elf_Scn *scn, int debug_frame, struct pf_cfi_elf_info *t,
			 struct pf_cfi_out *o, struct pf_error *err)
{
	struct pf_cfi_section sec = {.arch = &pf_cfi_arch_x86_64, .debug_frame = debug_frame};
	Elf_Data *d = NULL;
	GElf_Shdr sh;
	int rc;

	if (!gelf_getshdr(scn, &sh))
		return pf_error_set(err, "", "CFI section header: %s", elf_errmsg(-1));
	rc = section_bytes(scn, &sh, &d, err);
	if (rc < 0)
		return rc;
	sec.addr_size = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	sec.data = d->d_buf;
	sec.size = d->d_size;
	sec.vaddr = debug_frame ? 0 : sh.sh_addr;
	t->sources |= debug_frame ? PF_UNWIND_FROM_DEBUG_FRAME : PF_UNWIND_FROM_EH_FRAME;
	t->cfi_bytes += sec.size;
	rc = pf_cfi_parse(&sec, o);
	if (rc < 0)
		return pf_error_set(err, "", "out of memory compiling CFI");
	return 0;
}

/* Keeps the FDEs whose range lies inside one executable segment: any
 * other describes no code a process runs (a discarded function's leftover
 * at 0, a damaged pointer) and would only spread the table. Files without
 * program headers keep all. Their rows stay in o, unreferenced. */
static void keep_executable(Elf *elf, struct pf_cfi_out *o, struct pf_cfi_elf_info *t)
{
	uint64_t lo[16], len[16];
	size_t n_ph = 0, n_x = 0, i, j, kept = 0;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n_ph) < 0 || n_ph == 0)
		return;
	for (i = 0; i < n_ph; i++)
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			if (n_x == 16)
				return; /* more than any linker makes: keep all */
			if (t->n_segs < PF_UNWIND_MAX_SEGMENTS)
				t->segs[t->n_segs++] = (struct pf_unwind_segment){
					.offset = ph.p_offset,
					.vaddr = ph.p_vaddr,
					.filesz = ph.p_filesz,
				};
			lo[n_x] = ph.p_vaddr;
			len[n_x++] = ph.p_memsz;
		}
	for (i = 0; i < o->n_fdes; i++) {
		const struct pf_cfi_fde *f = &o->fdes[i];
		int inside = 0;

		for (j = 0; j < n_x && !inside; j++)
			inside = f->start >= lo[j] && f->end - lo[j] <= len[j];
		if (inside)
			o->fdes[kept++] = *f;
		else
			t->outside_fdes++;
	}
	o->n_fdes = kept;
}

int pf_cfi_elf_parse(Elf *elf, struct pf_cfi_out *o, struct pf_cfi_elf_info *t,
		     struct pf_error *err)
{
	Elf_Scn *eh = NULL, *dbg = NULL;

	if (find_cfi(elf, &eh, &dbg, err) < 0)
		return -EINVAL;
	if (eh && parse_section(elf, eh, 0, t, o, err) < 0)
		return -EINVAL;
	if (dbg && parse_section(elf, dbg, 1, t, o, err) < 0)
		return -EINVAL;
	keep_executable(elf, o, t);
	return 0;
}
