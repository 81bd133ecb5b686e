// SPDX-License-Identifier: Apache-2.0
/* A fixed amount of CPU-bound work on N threads (default: every CPU); prints its wall and CPU time. */
#include <pthread.h>
#include <sys/resource.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

/* A few nested calls so every sample has a real user stack to walk. */
__attribute__((noinline)) static uint64_t mix(uint64_t x)
{
	for (int i = 0; i < 64; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

__attribute__((noinline)) static uint64_t level3(uint64_t x, long n)
{
	for (long i = 0; i < n; i++)
		x = mix(x ^ (uint64_t)i);
	return x;
}

__attribute__((noinline)) static uint64_t level2(uint64_t x, long n)
{
	return level3(x, n);
}

__attribute__((noinline)) static void *worker(void *arg)
{
	long n = *(long *)arg;
	sink = level2((uint64_t)(uintptr_t)&n, n);
	return NULL;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 20000000;
	long threads = argc > 2 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t tid[256];
	struct timespec a, b;

	if (threads < 1 || threads > 256)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, worker, &iters) != 0)
			return 1;
	for (long i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	/* CPU time holds the sampling interrupts and BPF programs that ran on
	 * this process's time, and not the time other tasks took the CPUs. */
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%.6f %.6f\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}
