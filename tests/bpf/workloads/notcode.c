// SPDX-License-Identifier: Apache-2.0
/* Spins for MILLISECONDS of CPU time under a frame whose return address is a data word, as a frame-pointer walk through code built without them meets one. */
#include <stdint.h>
#include <stdlib.h>

#include "spin.h"

/* In the file's data; zeros before the word: no call instruction ends there. */
uint64_t pf_data_words[4] = {0, 0, 1, 0};

uint64_t pf_data_spin(double ms)
{
	return pf_spin_until(ms);
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
