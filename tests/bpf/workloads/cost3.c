// SPDX-License-Identifier: Apache-2.0
/* Three functions with known shares of the CPU (60/30/10 %) on one thread, for SECONDS seconds. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define UNIT 100000L /* iterations per share point */

static uint64_t spin(uint64_t x, long n)
{
	for (long i = 0; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(x)); /* no closed form, no vectorizing */
	}
	return x;
}

/* Each function spins itself (no shared helper) so its samples are its own.
 * GCC 12 sets up no frame in a leaf function that needs no stack, even with
 * -fno-omit-frame-pointer, and a frame-pointer walk then skips its caller. */
uint64_t pf_cost60(uint64_t x)
{
	volatile uint64_t keep = 0; /* a stack slot: GCC then sets up a frame */

	for (long i = 0; i < 60 * UNIT; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(x));
	}
	keep = x;
	return keep;
}

uint64_t pf_cost30(uint64_t x)
{
	volatile uint64_t keep = 0; /* a stack slot: GCC then sets up a frame */

	for (long i = 0; i < 30 * UNIT; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(x));
	}
	keep = x;
	return keep;
}

uint64_t pf_cost10(uint64_t x)
{
	volatile uint64_t keep = 0; /* a stack slot: GCC then sets up a frame */

	for (long i = 0; i < 10 * UNIT; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(x));
	}
	keep = x;
	return keep;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double end = now() + (argc > 1 ? atof(argv[1]) : 5.0);
	uint64_t x = spin(1, 10);

	while (now() < end) {
		x = pf_cost60(x);
		x = pf_cost30(x);
		x = pf_cost10(x);
	}
	return (int)(x & 1) * 0;
}
