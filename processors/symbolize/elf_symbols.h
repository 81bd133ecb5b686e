/* SPDX-License-Identifier: Apache-2.0 */
/* One ELF file: build ID, loadable segments, debug link and function symbols, via libelf. */
#ifndef PF_ELF_SYMBOLS_H
#define PF_ELF_SYMBOLS_H

#include <gelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/elf.h"
#include "symtab.h"

#define PF_BUILD_ID_MAX PF_HOST_BUILD_ID_MAX

struct pf_elf_load {
	uint64_t vaddr;
	uint64_t offset;
	uint64_t filesz;
};

/*
 * An open ELF file. It owns fd (-1 for files read from memory) and elf;
 * everything else is read once at open. Addresses in symbols and DWARF are
 * the file's virtual addresses, for PIE and non-PIE alike; a file offset
 * becomes one through the PT_LOAD segment that maps it.
 */
struct pf_elf_file {
	int fd;
	Elf *elf;
	uint16_t type; /* ET_EXEC, ET_DYN, ... */
	uint8_t build_id[PF_BUILD_ID_MAX];
	size_t build_id_len;
	char build_id_hex[2 * PF_BUILD_ID_MAX + 1]; /* "" when none */
	char debuglink[256];			    /* "" when none */
	uint32_t debuglink_crc;
	char altlink[256]; /* dwz's shared file, "" when none */
	uint8_t alt_build_id[PF_BUILD_ID_MAX];
	size_t alt_build_id_len;
	char path[PATH_MAX]; /* what it was opened as, "" when unknown */
	bool has_symtab;     /* .symtab (else only .dynsym, if any) */
	bool has_debug_info; /* .debug_info with content */
	uint64_t data_bytes; /* symbol, string and DWARF sections: what libelf may read */
	struct pf_elf_load *loads;
	size_t n_loads;
};

/* Opens the regular file at path read-only. Returns 0 or a negative errno
 * (-ENOEXEC: not ELF or malformed; -EFBIG: over PF_HOST_ELF_MAX). libelf
 * reads it with pread, never through a mapping, so a file truncated while
 * open gives errors, not SIGBUS. */
int pf_elf_open(const char *path, struct pf_elf_file *f);

/* Same over fd, which f owns from then on (closed on failure too). */
int pf_elf_open_fd(int fd, struct pf_elf_file *f);

/* Same over an image in memory, which must outlive f (for fuzzing and
 * tests). */
int pf_elf_open_mem(const void *image, size_t len, struct pf_elf_file *f);

/* Closes what f holds; f may be zeroed (fd 0 is never owned: use -1). */
void pf_elf_close(struct pf_elf_file *f);

/* Appends f's function symbols (from .symtab, else .dynsym) to t. Returns
 * the number added or a negative errno. */
long pf_elf_read_symbols(const struct pf_elf_file *f, struct pf_symtab *t);

/* Translates a file offset to f's virtual address. False when no PT_LOAD
 * segment maps it. */
bool pf_elf_offset_to_vaddr(const struct pf_elf_file *f, uint64_t offset, uint64_t *vaddr);

/* The reverse: the file offset a PT_LOAD segment maps at virtual address
 * vaddr. False when none maps it from the file. */
bool pf_elf_vaddr_to_offset(const struct pf_elf_file *f, uint64_t vaddr, uint64_t *offset);

#endif
