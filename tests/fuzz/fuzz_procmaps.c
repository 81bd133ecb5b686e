// SPDX-License-Identifier: Apache-2.0
/* Fuzzes the /proc/PID/maps and /proc/PID/cgroup parsers; what parses must be ordered and findable. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receivers/ebpf/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char id[PF_EBPF_CONTAINER_MAX];
	struct pf_procmaps m;
	struct pf_error err;
	int n;

	pf_error_clear(&err);
	n = pf_procmaps_parse(text, size, 4096, &m, &err);
	if (n < 0 && !pf_error_isset(&err)) {
		fprintf(stderr, "error %d without a message\n", n);
		abort();
	}
	for (int i = 0; i < n; i++) {
		const struct pf_ebpf_mapping *x = &m.maps[i];
		if (x->end < x->start || (i && x->start < m.maps[i - 1].end) || !x->path) {
			fprintf(stderr, "mapping %d out of order or without a path\n", i);
			abort();
		}
		if (x->end > x->start && pf_procmaps_find(&m, x->start) != x) {
			fprintf(stderr, "mapping %d not found by its start\n", i);
			abort();
		}
	}
	pf_procmaps_free(&m);

	if (pf_cgroup_container_id(text, size, id) == 1 && strlen(id) != 64) {
		fprintf(stderr, "container id of %zu characters\n", strlen(id));
		abort();
	}
	return 0;
}
