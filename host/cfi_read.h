/* SPDX-License-Identifier: Apache-2.0 */
/* A bounded cursor over CFI bytes: fixed-size, LEB128 and pointer-encoded reads that never pass the end. */
#ifndef PF_HOST_CFI_READ_H
#define PF_HOST_CFI_READ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Pointer encodings of .eh_frame (LSB "DWARF Extensions", DW_EH_PE_*). */
#define PF_EH_PE_OMIT	  0xff
#define PF_EH_PE_FORMAT	  0x0f
#define PF_EH_PE_APPLY	  0x70
#define PF_EH_PE_INDIRECT 0x80
#define PF_EH_PE_PCREL	  0x10

/* Reads past `end` set `bad` and return 0; callers check `bad` once after a
 * group of reads. `vaddr` is the address the section's first byte has in the
 * ELF, for pc-relative pointers. */
struct pf_cfi_cursor {
	const uint8_t *base; /* the section's first byte */
	const uint8_t *p;
	const uint8_t *end;
	uint64_t vaddr;
	int bad;
};

/* Bytes left before the end. */
static inline size_t pf_cfi_left(const struct pf_cfi_cursor *c)
{
	return (size_t)(c->end - c->p);
}

/* Reads n (1, 2, 4 or 8) little-endian bytes. */
static inline uint64_t pf_cfi_fixed(struct pf_cfi_cursor *c, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	if (c->bad || pf_cfi_left(c) < n) {
		c->bad = 1;
		return 0;
	}
	for (i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

/* Reads a LEB128's 7-bit groups into *v; returns how many bits it had, 0
 * when it runs past the end or past 10 bytes (no 64-bit value is longer). */
static inline unsigned pf_cfi_leb(struct pf_cfi_cursor *c, uint64_t *v)
{
	unsigned shift = 0;
	uint8_t b;

	*v = 0;
	while (!c->bad) {
		if (c->p >= c->end || shift >= 70) {
			c->bad = 1;
			break;
		}
		b = *c->p++;
		if (shift < 64)
			*v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return shift;
	}
	*v = 0;
	return 0;
}

/* An unsigned LEB128 (0 when bad). */
static inline uint64_t pf_cfi_uleb(struct pf_cfi_cursor *c)
{
	uint64_t v;

	pf_cfi_leb(c, &v);
	return v;
}

/* A signed LEB128 (0 when bad). */
static inline int64_t pf_cfi_sleb(struct pf_cfi_cursor *c)
{
	uint64_t v;
	unsigned bits = pf_cfi_leb(c, &v);

	if (bits && bits < 64 && ((v >> (bits - 1)) & 1))
		v |= ~(uint64_t)0 << bits;
	return (int64_t)v;
}

/* Skips n bytes. */
static inline void pf_cfi_skip(struct pf_cfi_cursor *c, uint64_t n)
{
	if (c->bad || pf_cfi_left(c) < n) {
		c->bad = 1;
		return;
	}
	c->p += n;
}

/* Reads a pointer in encoding `enc` (addr_size bytes for absptr). Only the
 * forms a loader-visible unwind table uses are accepted: absolute and
 * pc-relative values; others (text-, data-, function-relative, aligned,
 * indirect) set `bad`. */
static inline uint64_t pf_cfi_pointer(struct pf_cfi_cursor *c, uint8_t enc, unsigned addr_size)
{
	uint64_t at = c->vaddr + (uint64_t)(c->p - c->base), v;

	if (enc == PF_EH_PE_OMIT || (enc & PF_EH_PE_INDIRECT)) {
		c->bad = 1;
		return 0;
	}
	switch (enc & PF_EH_PE_FORMAT) {
	case 0x0: v = pf_cfi_fixed(c, addr_size); break;
	case 0x1: v = pf_cfi_uleb(c); break;
	case 0x2: v = pf_cfi_fixed(c, 2); break;
	case 0x3: v = pf_cfi_fixed(c, 4); break;
	case 0x4: v = pf_cfi_fixed(c, 8); break;
	case 0x9: v = (uint64_t)pf_cfi_sleb(c); break;
	case 0xa: v = (uint64_t)(int64_t)(int16_t)pf_cfi_fixed(c, 2); break;
	case 0xb: v = (uint64_t)(int64_t)(int32_t)pf_cfi_fixed(c, 4); break;
	case 0xc: v = pf_cfi_fixed(c, 8); break;
	default: c->bad = 1; return 0;
	}
	switch (enc & PF_EH_PE_APPLY) {
	case 0: break;
	case PF_EH_PE_PCREL: v += at; break;
	default: c->bad = 1; return 0;
	}
	if (addr_size == 4)
		v &= 0xffffffffu;
	return v;
}

#endif
