// SPDX-License-Identifier: Apache-2.0
/* Symbolizes hex addresses from stdin like `eu-addr2line -f -i -e BIN`, with proflow's symbolizer. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processors/symbolize/symfile.h"

/*
 * Usage: bench_symbolize_addrs [-n] BIN < addresses
 * Prints, per address and frame (innermost inlined first), the function
 * name and file:line, the name suffixed " inlined at FILE:LINE in CALLER"
 * for inlined frames as eu-addr2line does. -n prints no file:line lines.
 */
int main(int argc, char **argv)
{
	struct pf_symfile_opts opts = {
		.lines = true, .demangle = false, .debug_root = "/usr/lib/debug"};
	struct pf_symfile *f;
	bool names_only = false;
	const char *bin;
	char line[128];
	int ret;

	if (argc > 2 && !strcmp(argv[1], "-n")) {
		names_only = true;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s [-n] BIN < addresses\n", argv[0]);
		return 2;
	}
	bin = argv[1];
	ret = pf_symfile_open("", bin, NULL, &opts, &f);
	if (ret < 0) {
		fprintf(stderr, "%s: %s\n", bin, strerror(-ret));
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		uint64_t addr = strtoull(line, NULL, 16);
		const struct pf_sym_result *r = pf_symfile_resolve_vaddr(f, addr);
		uint32_t i;

		if (!r) {
			fputs("??\n", stdout);
			if (!names_only)
				fputs("??:0\n", stdout);
			continue;
		}
		for (i = 0; i < r->n; i++) {
			const struct pf_sym_frame *fr = &r->frames[i];

			if (i + 1 < r->n)
				printf("%s inlined at %s:%" PRId64 " in %s\n", fr->name,
				       r->frames[i + 1].file ? r->frames[i + 1].file : "??",
				       r->frames[i + 1].line, r->frames[i + 1].name);
			else
				printf("%s\n", fr->name);
			if (!names_only)
				printf("%s:%" PRId64 "\n", fr->file ? fr->file : "??", fr->line);
		}
	}
	pf_symfile_close(f);
	return 0;
}
