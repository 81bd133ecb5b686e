/* SPDX-License-Identifier: Apache-2.0 */
/* A shared library with one hot function, built with -g by it.symbolize_shlib_lines. */
__attribute__((noinline)) unsigned long pf_shlib_hot(unsigned long n) /* HOT_DECL */
{
	unsigned long s = 0, i;

	for (i = 0; i < n; i++)
		s += i * i ^ (s >> 3);
	return s;
} /* HOT_END */
