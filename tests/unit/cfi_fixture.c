// SPDX-License-Identifier: Apache-2.0
/* unit.unwind_table's fixture: built without unwind tables, so its functions' CFI is only in .debug_frame. */
#include <stdio.h>
#include <stdlib.h>

#include "cfi_fixture.h"

static int __attribute__((noinline)) leaf(int x)
{
	return x * 3 + 1;
}

static int __attribute__((noinline)) middle(int n)
{
	volatile int buf[64];
	int i, s = 0;

	for (i = 0; i < 64; i++)
		buf[i] = leaf(i + n);
	for (i = 0; i < 64; i++)
		s += buf[i];
	return s;
}

int main(int argc, char **argv)
{
	printf("%d\n", middle(argc > 1 ? atoi(argv[1]) : 0) +
			       pf_fixture_realigned(argc, 1, 2, 3, 4, 5, 6, 7) +
			       (int)pf_fixture_drap_asm(argc) + (int)pf_fixture_saved_sp_asm(argc));
	return 0;
}
