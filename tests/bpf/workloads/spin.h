/* SPDX-License-Identifier: Apache-2.0 */
/* The CPU-time spin of the bpf.* workloads, inlined into the named function the samples must show as their leaf. */
#ifndef PF_BPF_SPIN_H
#define PF_BPF_SPIN_H

#include <stdint.h>
#include <time.h>

/* Always inlined, though the workloads build with -fno-inline: the
 * function that calls it is the one the samples name. */
#define PF_SPIN_INLINE static inline __attribute__((always_inline))

/* CPU time of the process so far in ms (it goes on across an exec). */
PF_SPIN_INLINE double pf_spin_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Spins until the process has used ms of CPU time; returns a value the
 * caller must use, so the loop is not optimised away. */
PF_SPIN_INLINE uint64_t pf_spin_until(double ms)
{
	uint64_t x = 1;

	while (pf_spin_cpu_ms() < ms) {
		for (int i = 0; i < 100000; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			__asm__ volatile("" : "+r"(x));
		}
	}
	return x;
}

#endif
