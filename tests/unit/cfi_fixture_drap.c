// SPDX-License-Identifier: Apache-2.0
/* unit.unwind_table's realigned frame: an over-aligned local and an argument on the stack make gcc realign through r10 (DRAP). */
#include "cfi_fixture.h"

int __attribute__((noinline)) pf_fixture_touch(char *p, long n)
{
	p[0] = (char)n;
	return p[0];
}

int __attribute__((noinline))
pf_fixture_realigned(long n, long a, long b, long c, long d, long e, long f, long g)
{
	char vla[n + 1];
	int buf[64] __attribute__((aligned(64)));
	int i;

	for (i = 0; i < 64; i++)
		buf[i] = i * (int)(n + a + b + c + d + e + f + g);
	return pf_fixture_touch(vla, n) + buf[n & 63];
}
