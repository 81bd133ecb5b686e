/* SPDX-License-Identifier: Apache-2.0 */
/* A test program with an inlined leaf; built PIE, non-PIE and split. */
#include <stdlib.h>
#include <unistd.h>

#include "where.h"

static inline __attribute__((always_inline)) int leaf(int x)
{
	return x * x + (x >> 3); /* LEAF */
}

__attribute__((noinline)) int middle(int x)
{
	int s = 0, i;

	for (i = 0; i < x; i++)
		s += leaf(i + x); /* CALL */
	return s;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;

	where("middle", (const void *)middle);
	fflush(stdout);
	if (argc > 2)
		sleep((unsigned)atoi(argv[2]));
	return middle(n) == 42;
}
