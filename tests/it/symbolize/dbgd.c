// SPDX-License-Identifier: Apache-2.0
/* it.symbolize_debuginfod: a program whose static functions only its separate debug file names. */
#include <stdio.h>

static inline __attribute__((always_inline)) int pf_dbgd_inlined(int x)
{
	return x * 7 + 3; /* DBGD_INLINED */
}

static __attribute__((noinline)) int pf_dbgd_static_leaf(int x)
{
	return pf_dbgd_inlined(x) ^ (x >> 2); /* DBGD_LEAF */
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("%d\n", pf_dbgd_static_leaf(argc));
	return 0;
}
