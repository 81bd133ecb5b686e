/* SPDX-License-Identifier: Apache-2.0 */
/* Spends its time in the shared library's pf_shlib_hot for argv[1] seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

unsigned long pf_shlib_hot(unsigned long n);

int main(int argc, char **argv)
{
	time_t end = time(NULL) + (argc > 1 ? atoi(argv[1]) : 3);
	unsigned long s = 0;

	while (time(NULL) < end)
		s += pf_shlib_hot(1000000);
	printf("%lu\n", s);
	return 0;
}
