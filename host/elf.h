/* SPDX-License-Identifier: Apache-2.0 */
/* ELF files through libelf without mappings, and the GNU build ID they carry. */
#ifndef PF_HOST_ELF_H
#define PF_HOST_ELF_H

#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

/* The longest build ID kept (GNU ld writes 16 or 20 bytes; --build-id=0x...
 * any length). */
#define PF_HOST_BUILD_ID_MAX 64
/* Lowercase hex of the longest build ID, with its NUL. */
#define PF_HOST_BUILD_ID_HEX (2 * PF_HOST_BUILD_ID_MAX + 1)

/* The largest ELF file opened (-EFBIG beyond): libelf reads the sections
 * asked for into memory, so a file's size bounds what it may take. */
#define PF_HOST_ELF_MAX ((int64_t)4 << 30)

/*
 * Starts reading the ELF file open on fd with libelf, which reads what is
 * asked for with pread into its own memory and never maps the file: a file
 * truncated or rewritten meanwhile gives libelf read errors, not SIGBUS.
 * The file must be regular and at most PF_HOST_ELF_MAX bytes. Returns the
 * Elf (the caller ends it with elf_end() and keeps fd open until then), or
 * NULL with *err set: -EINVAL (not a regular file), -EFBIG, -ENOEXEC (not
 * ELF or unreadable) or another negative errno.
 */
Elf *pf_host_elf_begin(int fd, int *err);

/*
 * Copies the GNU build ID of elf (NT_GNU_BUILD_ID, in a PT_NOTE segment,
 * which stripped files keep, else in a SHT_NOTE section) into id, of
 * PF_HOST_BUILD_ID_MAX bytes. Returns its length, or 0 when there is none.
 */
size_t pf_host_build_id(Elf *elf, uint8_t id[PF_HOST_BUILD_ID_MAX]);

/* Writes the lowercase hex of id[0..len) and a NUL to out (2 * len + 1 bytes). */
void pf_host_hex(const uint8_t *id, size_t len, char *out);

#endif
