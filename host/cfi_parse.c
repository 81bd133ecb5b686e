// SPDX-License-Identifier: Apache-2.0
/* Walks the CIE and FDE records of a .eh_frame or .debug_frame section, every read bounded by its record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/cfi_parse.h"
#include "host/cfi_read.h"

/* A record's header: its body (after the length) and whether it is 64-bit DWARF. */
struct record {
	const uint8_t *body, *end;
	int dwarf64;
};

/* Reads the length of the record at c->p and moves c past it. Returns 1,
 * 0 at .eh_frame's zero terminator, or -1 when the length runs past the
 * section. */
static int next_record(struct pf_cfi_cursor *c, const struct pf_cfi_section *sec,
		       struct record *rec)
{
	uint64_t len = pf_cfi_fixed(c, 4);

	rec->dwarf64 = 0;
	if (!c->bad && len == 0 && !sec->debug_frame)
		return 0;
	if (len == 0xffffffffu) {
		len = pf_cfi_fixed(c, 8);
		rec->dwarf64 = 1;
	}
	if (c->bad || len > pf_cfi_left(c))
		return -1;
	rec->body = c->p;
	rec->end = c->p + len;
	c->p = rec->end;
	return 1;
}

static int is_cie_id(const struct pf_cfi_section *sec, const struct record *rec, uint64_t id)
{
	if (!sec->debug_frame)
		return id == 0;
	return id == (rec->dwarf64 ? UINT64_MAX : 0xffffffffu);
}

/* Reads the augmentation data named by `aug` (after its 'z'). */
static void read_augmentation(struct pf_cfi_cursor *c, const char *aug,
			      const struct pf_cfi_section *sec, struct pf_cfi_cie *cie)
{
	uint64_t len = pf_cfi_uleb(c);
	struct pf_cfi_cursor a = *c;

	pf_cfi_skip(c, len);
	if (c->bad)
		return;
	a.end = c->p;
	for (; *aug && !a.bad; aug++) {
		switch (*aug) {
		case 'R': cie->fde_enc = (uint8_t)pf_cfi_fixed(&a, 1); break;
		case 'L': (void)pf_cfi_fixed(&a, 1); break;
		case 'P': {
			uint8_t enc = (uint8_t)pf_cfi_fixed(&a, 1);

			/* Only its size matters: skip the value whatever it is relative to. */
			(void)pf_cfi_pointer(&a, enc & PF_EH_PE_FORMAT, sec->addr_size);
			break;
		}
		case 'S': cie->signal = 1; break;
		case 'B': /* arm64 BTI, memory tagging: no data */
		case 'G': break;
		default: return; /* the length lets the rest be skipped unread */
		}
	}
	if (a.bad)
		c->bad = 1;
}

/* Parses the CIE at section offset `off`. Returns 0 or -EINVAL. */
static int parse_cie(const struct pf_cfi_section *sec, uint64_t off, struct pf_cfi_cie *cie)
{
	struct pf_cfi_cursor c = {
		.base = sec->data, .end = sec->data + sec->size, .vaddr = sec->vaddr};
	struct record rec;
	const char *aug;
	unsigned version;
	size_t n;

	if (off >= sec->size)
		return -EINVAL;
	c.p = sec->data + off;
	if (next_record(&c, sec, &rec) != 1)
		return -EINVAL;
	c.p = rec.body;
	c.end = rec.end;
	if (!is_cie_id(sec, &rec, pf_cfi_fixed(&c, rec.dwarf64 ? 8 : 4)))
		return -EINVAL;
	version = (unsigned)pf_cfi_fixed(&c, 1);
	if (c.bad || (version != 1 && version != 3 && version != 4))
		return -EINVAL;
	aug = (const char *)c.p;
	n = strnlen(aug, pf_cfi_left(&c));
	pf_cfi_skip(&c, n + 1); /* fails when no NUL ends it within the record */
	if (version == 4 && (pf_cfi_fixed(&c, 1) != sec->addr_size || pf_cfi_fixed(&c, 1) != 0))
		return -EINVAL;
	memset(cie, 0, sizeof(*cie));
	cie->code_align = pf_cfi_uleb(&c);
	cie->data_align = pf_cfi_sleb(&c);
	cie->ra_reg = version == 1 ? pf_cfi_fixed(&c, 1) : pf_cfi_uleb(&c);
	if (c.bad)
		return -EINVAL;
	cie->z = aug[0] == 'z';
	if (cie->z)
		read_augmentation(&c, aug + 1, sec, cie);
	else if (aug[0] != '\0')
		return -EINVAL; /* pre-'z' augmentations ("eh") have data of unknown size */
	if (c.bad)
		return -EINVAL;
	cie->init = c.p;
	cie->init_len = pf_cfi_left(&c);
	return 0;
}

/* Grows rows to hold at least `want`. */
static int reserve_rows(struct pf_cfi_out *out, size_t want)
{
	struct pf_unwind_row *rows;

	if (want <= out->cap_rows)
		return 0;
	rows = reallocarray(out->rows, want, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	out->rows = rows;
	out->cap_rows = want;
	return 0;
}

int pf_cfi_out_row(struct pf_cfi_out *out, uint32_t off, struct pf_unwind_row r)
{
	if (out->n_rows == out->cap_rows &&
	    reserve_rows(out, out->cap_rows ? 2 * out->cap_rows : 1024) < 0)
		return -ENOMEM;
	r.pc = off;
	out->rows[out->n_rows++] = r;
	return 0;
}

static int add_fde(struct pf_cfi_out *out, uint64_t start, uint64_t end, size_t first)
{
	if (out->n_fdes == out->cap_fdes) {
		size_t cap = out->cap_fdes ? 2 * out->cap_fdes : 256;
		struct pf_cfi_fde *fdes = reallocarray(out->fdes, cap, sizeof(*fdes));

		if (!fdes)
			return -ENOMEM;
		out->fdes = fdes;
		out->cap_fdes = cap;
	}
	out->fdes[out->n_fdes++] = (struct pf_cfi_fde){
		.start = start, .end = end, .first = first, .n = out->n_rows - first};
	return 0;
}

/* Parses the FDE whose body (after its CIE pointer) c covers. */
static int parse_fde(const struct pf_cfi_section *sec, struct pf_cfi_cursor *c,
		     const struct pf_cfi_cie *cie, struct pf_cfi_out *out)
{
	uint8_t enc = sec->debug_frame ? 0 : cie->fde_enc;
	uint64_t start, range;
	size_t first = out->n_rows;
	int rc;

	start = pf_cfi_pointer(c, enc, sec->addr_size);
	range = pf_cfi_pointer(c, enc & PF_EH_PE_FORMAT, sec->addr_size);
	if (cie->z)
		pf_cfi_skip(c, pf_cfi_uleb(c));
	if (c->bad || start + range < start || range > UINT32_MAX) {
		out->skipped++;
		return 0;
	}
	/* No code, or a discarded function's leftover at address 0. */
	if (range == 0 || start == 0)
		return 0;
	if (out->ranges_only)
		return add_fde(out, start, start + range, first);
	rc = pf_cfi_exec(sec, cie, c->p, pf_cfi_left(c), start, start + range, out);
	if (rc == -EINVAL) {
		out->bad_fdes++;
		rc = pf_cfi_out_row(
			out, 0,
			(struct pf_unwind_row){.rule = PF_UNWIND_RULE(PF_UNWIND_UNKNOWN, 0)});
	}
	if (rc < 0)
		return rc;
	return add_fde(out, start, start + range, first);
}

int pf_cfi_parse(const struct pf_cfi_section *sec, struct pf_cfi_out *out)
{
	struct pf_cfi_cursor c = {.base = sec->data,
				  .p = sec->data,
				  .end = sec->data + sec->size,
				  .vaddr = sec->vaddr};
	uint64_t cie_off = UINT64_MAX;
	struct pf_cfi_cie cie;
	int cie_ok = 0, rc;

	/* Compilers' CFI makes a row of about every 5-8 bytes: reserving a
	 * row per 4 bytes up front saves copying the array as it grows (the
	 * pages past the last row are never touched, so cost no memory). */
	if (!out->ranges_only && reserve_rows(out, out->n_rows + sec->size / 4 + 16) < 0)
		return -ENOMEM;

	while (pf_cfi_left(&c) > 0) {
		struct pf_cfi_cursor r = c;
		struct record rec;
		uint64_t id, off;

		rc = next_record(&c, sec, &rec);
		if (rc == 0)
			break;
		if (rc < 0) {
			out->truncated = 1;
			break;
		}
		r.p = rec.body;
		r.end = rec.end;
		id = pf_cfi_fixed(&r, rec.dwarf64 ? 8 : 4);
		if (r.bad) {
			out->skipped++;
			continue;
		}
		if (is_cie_id(sec, &rec, id))
			continue; /* read when an FDE names it */
		if (sec->debug_frame)
			off = id;
		else if (id <= (uint64_t)(rec.body - sec->data))
			off = (uint64_t)(rec.body - sec->data) - id;
		else
			off = UINT64_MAX;
		if (off != cie_off) {
			cie_off = off;
			cie_ok = parse_cie(sec, off, &cie) == 0;
		}
		if (!cie_ok) {
			out->skipped++;
			continue;
		}
		rc = parse_fde(sec, &r, &cie, out);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void pf_cfi_out_free(struct pf_cfi_out *out)
{
	free(out->rows);
	free(out->fdes);
	memset(out, 0, sizeof(*out));
}
