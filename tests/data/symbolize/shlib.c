/* SPDX-License-Identifier: Apache-2.0 */
/* A shared library whose functions must resolve with file:line. */
__attribute__((noinline)) int shlib_work(int x) /* SHLIB_WORK */
{
	int s = 0, i;

	for (i = 0; i < x * 1000; i++)
		s += i ^ x;
	return s;
}
