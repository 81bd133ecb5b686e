/* SPDX-License-Identifier: Apache-2.0 */
/* Test programs print where a function lives: pid, address and the /proc/self/maps line. */
#ifndef WHERE_H
#define WHERE_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Prints "label pid addr start offset path end" for the mapping holding fn. */
static void where(const char *label, const void *fn)
{
	unsigned long lo, hi, off, a = (unsigned long)fn;
	char line[4096], path[4096];
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		path[0] = '\0';
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %4095s", &lo, &hi, &off, path) < 3)
			continue;
		if (a >= lo && a < hi) {
			printf("%s %d %lx %lx %lx %s %lx\n", label, (int)getpid(), a, lo, off, path,
			       hi);
			break;
		}
	}
	if (f)
		fclose(f);
}

#endif
