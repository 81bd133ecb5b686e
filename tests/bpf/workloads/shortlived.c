// SPDX-License-Identifier: Apache-2.0
/* Spins in one named function for MILLISECONDS of CPU time, then exits. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

uint64_t pf_short_spin(double ms)
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
	return (int)(pf_short_spin(argc > 1 ? atof(argv[1]) : 200.0) & 1) * 0;
}
