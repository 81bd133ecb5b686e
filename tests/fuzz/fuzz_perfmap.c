// SPDX-License-Identifier: Apache-2.0
/* Fuzzes the perf-map parser; what parses must be sorted, findable and consumed to a newline. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processors/symbolize/perfmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_symtab t;
	size_t bad = 0, i;
	long used;

	if (pf_symtab_init(&t) < 0)
		return 0;
	used = pf_perfmap_parse((const char *)data, size, &t, &bad);
	if (used < 0)
		goto out;
	if ((size_t)used > size || (used > 0 && data[used - 1] != '\n')) {
		fprintf(stderr, "consumed %ld of %zu bytes, not up to a newline\n", used, size);
		abort();
	}
	pf_symtab_finish(&t);
	for (i = 0; i < t.n; i++) {
		const struct pf_sym *s = &t.syms[i], *hit;

		if (i && s->addr <= t.syms[i - 1].addr) {
			fprintf(stderr, "entry %zu out of order\n", i);
			abort();
		}
		if (s->size == 0 || s->name >= t.pool_len || s->addr + s->size < s->addr) {
			fprintf(stderr, "entry %zu is malformed\n", i);
			abort();
		}
		hit = pf_symtab_lookup(&t, s->addr);
		if (!hit || hit->addr > s->addr) {
			fprintf(stderr, "entry %zu cannot be found at its start\n", i);
			abort();
		}
		(void)strlen(pf_symtab_str(&t, s->name));
	}
out:
	pf_symtab_free(&t);
	return 0;
}
