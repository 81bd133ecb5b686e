// SPDX-License-Identifier: Apache-2.0
/* Spins for MILLISECONDS of CPU time under a frame whose return address is a data word, as a frame-pointer walk through code built without them meets one. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/* In the file's data; zeros before the word: no call instruction ends there. */
uint64_t pf_data_words[4] = {0, 0, 1, 0};

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

uint64_t pf_data_spin(double ms)
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

/* Its frame record says it returns to pf_data_words[2] while pf_data_spin
 * runs; the real return address is back in place before it returns. */
uint64_t pf_data_caller(double ms)
{
	volatile uint64_t *record = __builtin_frame_address(0);
	uint64_t ret = record[1], x;

	record[1] = (uint64_t)&pf_data_words[2];
	x = pf_data_spin(ms);
	record[1] = ret;
	return x;
}

int main(int argc, char **argv)
{
	return (int)(pf_data_caller(argc > 1 ? atof(argv[1]) : 400.0) & 1) * 0;
}
