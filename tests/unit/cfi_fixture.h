/* SPDX-License-Identifier: Apache-2.0 */
/* unit.unwind_table's fixture program: its functions in realigned frames, built with unwind tables. */
#ifndef PF_TEST_CFI_FIXTURE_H
#define PF_TEST_CFI_FIXTURE_H

/* Writes n into p[0] and returns it. */
int pf_fixture_touch(char *p, long n);

/* Sums its arguments into an over-aligned array, with a variable-length one. */
int pf_fixture_realigned(long n, long a, long b, long c, long d, long e, long f, long g);

/* Return their argument, in a frame realigned through r10 (gcc's shape)
 * and on a stack realigned after saving rsp (OpenSSL's). */
long pf_fixture_drap_asm(long x);
long pf_fixture_saved_sp_asm(long x);

#endif
