// SPDX-License-Identifier: Apache-2.0
/* Builds a file's sorted FDE ranges from the CFI parser run without rows, and finds the one holding an address. */
#include <errno.h>
#include <stdlib.h>

#include "host/cfi_elf.h"
#include "host/fde_index.h"

/* One FDE: 8 bytes, its start relative to the index's base. */
struct fde_range {
	uint32_t off, len;
};

struct pf_fde_index {
	uint64_t base;
	struct fde_range *fdes; /* sorted by off */
	size_t n;
};

static int by_start(const void *a, const void *b)
{
	const struct pf_cfi_fde *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

/* Sorts o's FDEs into x. Returns 0, -E2BIG when they span 4 GiB or more,
 * -ENOMEM. */
static int lay_out(struct pf_cfi_out *o, struct pf_fde_index *x)
{
	size_t i;

	if (o->n_fdes == 0)
		return 0;
	qsort(o->fdes, o->n_fdes, sizeof(*o->fdes), by_start);
	x->base = o->fdes[0].start;
	if (o->fdes[o->n_fdes - 1].start - x->base > UINT32_MAX)
		return -E2BIG;
	x->fdes = calloc(o->n_fdes, sizeof(*x->fdes));
	if (!x->fdes)
		return -ENOMEM;
	for (i = 0; i < o->n_fdes; i++) {
		const struct pf_cfi_fde *f = &o->fdes[i];

		/* The parser keeps no FDE of 4 GiB or more. */
		x->fdes[i] = (struct fde_range){(uint32_t)(f->start - x->base),
						(uint32_t)(f->end - f->start)};
	}
	x->n = o->n_fdes;
	return 0;
}

struct pf_fde_index *pf_fde_index_from_fd(int fd, struct pf_error *err)
{
	struct pf_cfi_out o = {.ranges_only = 1};
	struct pf_cfi_elf_info info = {0};
	struct pf_fde_index *x;
	Elf *elf;
	int rc;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		pf_error_set(err, "", "libelf: %s", elf_errmsg(-1));
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		pf_error_set(err, "", "out of memory indexing FDEs");
		return NULL;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf) {
		pf_error_set(err, "", "not an ELF file: %s", elf_errmsg(-1));
		goto out_free;
	}
	rc = pf_cfi_elf_parse(elf, &o, &info, err);
	/* The FDE ranges are copied out of the section bytes: libelf's copy goes now. */
	elf_end(elf);
	if (rc < 0)
		goto out_free_out;
	rc = lay_out(&o, x);
	if (rc < 0) {
		pf_error_set(err, "",
			     rc == -E2BIG ? "FDEs span more than 4 GiB of addresses"
					  : "out of memory indexing FDEs");
		goto out_free_out;
	}
	pf_cfi_out_free(&o);
	return x;

out_free_out:
	pf_cfi_out_free(&o);
out_free:
	pf_fde_index_destroy(x);
	return NULL;
}

void pf_fde_index_destroy(struct pf_fde_index *x)
{
	if (!x)
		return;
	free(x->fdes);
	free(x);
}

bool pf_fde_index_find(const struct pf_fde_index *x, uint64_t vaddr, uint64_t *start)
{
	size_t lo = 0, hi = x->n;
	uint64_t off;

	if (x->n == 0 || vaddr < x->base || vaddr - x->base > UINT32_MAX)
		return false;
	off = vaddr - x->base;
	/* The first FDE starting above off; the one before it holds off, if any does. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (x->fdes[mid].off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || off - x->fdes[lo - 1].off >= x->fdes[lo - 1].len)
		return false;
	*start = x->base + x->fdes[lo - 1].off;
	return true;
}

size_t pf_fde_index_count(const struct pf_fde_index *x)
{
	return x ? x->n : 0;
}

size_t pf_fde_index_bytes(const struct pf_fde_index *x)
{
	return x ? sizeof(*x) + x->n * sizeof(*x->fdes) : 0;
}
