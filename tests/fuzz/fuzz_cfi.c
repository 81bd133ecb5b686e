// SPDX-License-Identifier: Apache-2.0
/* Fuzzes the CFI compiler and the FDE index: an ELF image, or (any other input) one raw .eh_frame or .debug_frame section; what compiles must be sorted, findable and bounded. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "host/cfi_parse.h"
#include "host/fde_index.h"
#include "host/unwind_table.h"

static void fail(const char *what, size_t i)
{
	fprintf(stderr, "%s (at %zu)\n", what, i);
	abort();
}

static void check_row(const struct pf_unwind_row *r, size_t i)
{
	unsigned kind = PF_UNWIND_ROW_KIND(r), ra = PF_UNWIND_ROW_RA(r);

	if (kind >= PF_UNWIND_KINDS)
		fail("kind out of range", i);
	if ((kind == PF_UNWIND_GAP || kind == PF_UNWIND_SIGNAL || kind == PF_UNWIND_UNKNOWN) &&
	    (r->cfa_off || r->fp))
		fail("a rule without a CFA carries offsets", i);
	if (kind == PF_UNWIND_GAP && ra)
		fail("a gap has a return address rule", i);
	if ((kind == PF_UNWIND_CFA_SP || kind == PF_UNWIND_CFA_FP || kind == PF_UNWIND_CFA_PLT ||
	     kind >= PF_UNWIND_CFA_FP_DEREF) &&
	    (ra == PF_UNWIND_RA_IN_REG || (kind == PF_UNWIND_CFA_PLT && r->fp > 15)))
		fail("a rule x86-64 cannot have", i);
}

static void check_table(const struct pf_unwind_table *t)
{
	size_t i;

	if (t->n_rows == 0)
		return;
	if ((uint64_t)t->n_rows > t->cfi_bytes + (uint64_t)t->n_fdes + 1)
		fail("more rows than the CFI has instructions", t->n_rows);
	if (PF_UNWIND_ROW_KIND(&t->rows[t->n_rows - 1]) != PF_UNWIND_GAP)
		fail("the last row is not a gap", t->n_rows - 1);
	for (i = 0; i < t->n_rows; i++) {
		const struct pf_unwind_row *r = &t->rows[i];

		check_row(r, i);
		if (i && r->pc <= t->rows[i - 1].pc)
			fail("rows out of order", i);
		if (i && !memcmp(&r->cfa_off, &t->rows[i - 1].cfa_off, 4))
			fail("equal adjacent rows not merged", i);
		if (pf_unwind_table_find(t, t->base + r->pc) != r)
			fail("row not found at its pc", i);
		if (r->pc && pf_unwind_table_find(t, t->base + r->pc - 1) != r - 1)
			fail("the byte before a row is not the previous row's", i);
	}
	if (t->base && pf_unwind_table_find(t, t->base - 1))
		fail("a row below the table's base", 0);
}

/* Raw section mode: byte 0 picks .debug_frame (bit 0) and a 32-bit ELF's
 * pointers (bit 1); the rest is the section, at vaddr 0x1000. */
static void fuzz_section(const uint8_t *data, size_t size)
{
	struct pf_cfi_section sec = {.vaddr = 0x1000, .arch = &pf_cfi_arch_x86_64};
	struct pf_cfi_out o = {0};
	size_t i, j;

	sec.debug_frame = data[0] & 1;
	sec.addr_size = data[0] & 2 ? 4 : 8;
	sec.data = data + 1;
	sec.size = size - 1;
	if (pf_cfi_parse(&sec, &o) < 0)
		goto out;
	if (o.n_rows > sec.size + o.n_fdes)
		fail("more rows than the section has bytes", o.n_rows);
	for (i = 0; i < o.n_fdes; i++) {
		const struct pf_cfi_fde *f = &o.fdes[i];

		if (f->end <= f->start || f->first + f->n > o.n_rows || f->n == 0)
			fail("FDE malformed", i);
		for (j = 0; j < f->n; j++) {
			const struct pf_unwind_row *r = &o.rows[f->first + j];

			check_row(r, f->first + j);
			if (r->pc >= f->end - f->start ||
			    (j && r->pc <= o.rows[f->first + j - 1].pc))
				fail("FDE row outside or out of order", f->first + j);
		}
	}
out:
	pf_cfi_out_free(&o);
}

/* The same image read for its FDE ranges only (as the symbolizer does, from
 * a file): an index at most one FDE per 16 bytes of input, and every
 * address asked answered within an FDE that holds it. */
static void check_fde_index(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_cfi", MFD_CLOEXEC);
	struct pf_error err = {0};
	struct pf_fde_index *x;
	uint64_t start;

	if (fd < 0)
		return;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	x = pf_fde_index_from_fd(fd, &err);
	close(fd);
	if (!x) {
		if (!pf_error_isset(&err))
			fail("no FDE index and no error", 0);
		return;
	}
	if (pf_fde_index_count(x) > size / 16 + 1)
		fail("more FDEs than the input holds", pf_fde_index_count(x));
	for (size_t i = 0; i + 8 <= size && i < 64 * 8; i += 8) {
		uint64_t vaddr;

		memcpy(&vaddr, data + i, sizeof(vaddr));
		if (pf_fde_index_find(x, vaddr, &start) && start > vaddr)
			fail("an FDE found that starts after the address", i);
	}
	pf_fde_index_destroy(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_unwind_table *t;
	struct pf_error err = {0};

	if (size == 0)
		return 0;
	if (size < 4 || memcmp(data, "\177ELF", 4) != 0) {
		fuzz_section(data, size);
		return 0;
	}
	check_fde_index(data, size);
	t = pf_unwind_table_from_mem(data, size, &err);
	if (!t) {
		if (!pf_error_isset(&err))
			fail("no table and no error", 0);
		return 0;
	}
	check_table(t);
	pf_unwind_table_destroy(t);
	return 0;
}
