// SPDX-License-Identifier: Apache-2.0
/* Spins in one named function for MILLISECONDS of CPU time, then exits. */
#include <stdint.h>
#include <stdlib.h>

#include "spin.h"

uint64_t pf_short_spin(double ms)
{
	return pf_spin_until(ms);
}

int main(int argc, char **argv)
{
	return (int)(pf_short_spin(argc > 1 ? atof(argv[1]) : 200.0) & 1) * 0;
}
