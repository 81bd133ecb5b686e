// SPDX-License-Identifier: Apache-2.0
/* Rounds of four phases for SECONDS seconds, whose hot code is frameless: glibc's memcpy on large buffers, malloc and free, qsort's calls of a comparator, and a leaf function. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "named.h"

#define COPY_BYTES   (4 << 20)
#define COPIES	     24
#define SORT_KEYS    60000
#define LIVE_BLOCKS  512
#define ALLOC_ROUNDS 60000
#define LEAF_STEPS   4000000L

struct work {
	char *src, *dst;
	uint32_t *keys;
	void *blocks[LIVE_BLOCKS];
	uint64_t seed;
};

static uint64_t next_random(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	return *seed >> 33;
}

PF_NAMED int compare_keys(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* A leaf that needs no stack: GCC 12 gives it no frame even with -fno-omit-frame-pointer. */
PF_NAMED uint64_t mix_leaf(uint64_t x, long steps)
{
	for (long i = 0; i < steps; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

PF_NAMED uint64_t phase_copy(struct work *w)
{
	for (int i = 0; i < COPIES; i++) {
		memcpy(i & 1 ? w->src : w->dst, i & 1 ? w->dst : w->src, COPY_BYTES);
		w->src[i] ^= 1;
	}
	return (uint8_t)w->dst[7];
}

PF_NAMED uint64_t phase_alloc(struct work *w)
{
	uint64_t sum = 0;

	for (int i = 0; i < ALLOC_ROUNDS; i++) {
		uint64_t r = next_random(&w->seed);
		void **slot = &w->blocks[r % LIVE_BLOCKS];

		free(*slot);
		*slot = malloc(16 + (r >> 8) % 4000);
		if (*slot)
			sum += (uintptr_t)*slot & 0xff;
	}
	return sum;
}

PF_NAMED uint64_t phase_sort(struct work *w)
{
	for (int i = 0; i < SORT_KEYS; i++)
		w->keys[i] = (uint32_t)next_random(&w->seed);
	qsort(w->keys, SORT_KEYS, sizeof(w->keys[0]), compare_keys);
	return w->keys[SORT_KEYS / 2];
}

PF_NAMED uint64_t phase_leaf(struct work *w)
{
	uint64_t x = mix_leaf(w->seed, LEAF_STEPS);

	return x ^ w->seed; /* work after the call: no tail call, phase_leaf stays on the stack */
}

PF_NAMED uint64_t run_phases(struct work *w)
{
	return phase_copy(w) + phase_alloc(w) + phase_sort(w) + phase_leaf(w);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double end = now_s() + (argc > 1 ? atof(argv[1]) : 10.0);
	struct work w = {.seed = 42};
	uint64_t sum = 0;

	w.src = calloc(1, COPY_BYTES);
	w.dst = calloc(1, COPY_BYTES);
	w.keys = calloc(SORT_KEYS, sizeof(w.keys[0]));
	if (!w.src || !w.dst || !w.keys)
		return 1;
	while (now_s() < end)
		sum += run_phases(&w);
	for (int i = 0; i < LIVE_BLOCKS; i++)
		free(w.blocks[i]);
	free(w.keys);
	free(w.dst);
	free(w.src);
	return (int)(sum & 1) * 0;
}
