// SPDX-License-Identifier: Apache-2.0
/* Fuzzes the ELF reader (build ID, segments, debug link, symbols) and the DWARF line and inline walk. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processors/symbolize/demangle.h"
#include "processors/symbolize/dwarf_lines.h"
#include "processors/symbolize/elf_symbols.h"

#define MAX_PROBES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_dwarf_frame frames[16];
	struct pf_dwarf_lines *dl = NULL;
	struct pf_elf_file f;
	struct pf_symtab t;
	Dwarf *dw = NULL;
	uint8_t *image;
	size_t i;
	uint64_t v;

	/* libelf may write through the image (it is ours to keep). */
	image = malloc(size ? size : 1);
	if (!image)
		return 0;
	memcpy(image, data, size);
	if (pf_elf_open_mem(image, size, &f) < 0)
		goto out_free;
	if (strlen(f.build_id_hex) != 2 * f.build_id_len || strlen(f.debuglink) >= 256) {
		fprintf(stderr, "build ID or debug link malformed\n");
		abort();
	}
	for (i = 0; i < f.n_loads; i++)
		if (f.loads[i].filesz && !pf_elf_offset_to_vaddr(&f, f.loads[i].offset, &v)) {
			fprintf(stderr, "segment %zu does not map its own offset\n", i);
			abort();
		}
	if (pf_symtab_init(&t) < 0)
		goto out_close;
	if (pf_elf_read_symbols(&f, &t) >= 0) {
		pf_symtab_finish(&t);
		for (i = 0; i < t.n && i < MAX_PROBES; i++) {
			const struct pf_sym *s = pf_symtab_lookup(&t, t.syms[i].addr);
			char *d;

			if (!s) {
				fprintf(stderr, "symbol %zu not found at its own address\n", i);
				abort();
			}
			d = pf_demangle(pf_symtab_str(&t, s->name));
			free(d);
		}
	}
	if (f.has_debug_info && (dw = dwarf_begin_elf(f.elf, DWARF_C_READ, NULL)) != NULL &&
	    (dl = pf_dwarf_lines_new(dw)) != NULL)
		for (i = 0; i < t.n && i < MAX_PROBES; i++) {
			size_t n = pf_dwarf_frames(dl, t.syms[i].addr, frames, 16), k;

			if (n > 16)
				abort();
			for (k = 0; k < n; k++)
				if (frames[k].name)
					(void)strlen(frames[k].name);
		}
	pf_dwarf_lines_free(dl);
	if (dw)
		dwarf_end(dw);
	pf_symtab_free(&t);
out_close:
	pf_elf_close(&f);
out_free:
	free(image);
	return 0;
}
