// SPDX-License-Identifier: Apache-2.0
/* Fixed work on every CPU at a known stack depth: one thread per CPU recurses DEPTH frames and spins ITERATIONS in the leaf, many times. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Each frame its own, not inlined, cloned or turned into a loop. */
#define NAMED __attribute__((noipa))

static long iterations, rounds;
static int depth;

NAMED static uint64_t leaf(uint64_t x)
{
	for (long i = 0; i < iterations; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

NAMED static uint64_t level(int d, uint64_t x)
{
	uint64_t r;

	if (d <= 0)
		return leaf(x);
	r = level(d - 1, x);
	__asm__ volatile("" : "+r"(r)); /* no tail call, no loop made of it: the frame stays */
	return r;
}

NAMED static void *worker(void *arg)
{
	uint64_t x = (uintptr_t)arg;

	for (long r = 0; r < rounds; r++)
		x = level(depth, x);
	return (void *)(uintptr_t)x;
}

int main(int argc, char **argv)
{
	int threads = argc > 4 ? atoi(argv[4]) : 2;
	pthread_t t[64];
	struct timespec a, b;

	if (argc < 4 || threads < 1 || threads > 64) {
		fprintf(stderr, "usage: depth DEPTH ITERATIONS ROUNDS [THREADS]\n");
		return 2;
	}
	depth = atoi(argv[1]);
	iterations = atol(argv[2]);
	rounds = atol(argv[3]);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("wall %.3f\n", (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	return 0;
}
