// SPDX-License-Identifier: Apache-2.0
/* Spins in one named function for MILLISECONDS of CPU time, then replaces itself with PROGRAM ARGS. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

uint64_t pf_before_exec(double ms)
{
	uint64_t x = 1;

	while (cpu_ms() < ms) {
		for (int i = 0; i < 100000; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			__asm__ volatile("" : "+r"(x));
		}
	}
	return x;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: execafter MILLISECONDS PROGRAM [ARGS...]\n");
		return 2;
	}
	if (pf_before_exec(atof(argv[1])) == 0)
		return 1; /* never: keeps the spin from being optimised away */
	execv(argv[2], argv + 2);
	perror("execafter: execv");
	return 1;
}
