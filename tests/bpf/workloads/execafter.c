// SPDX-License-Identifier: Apache-2.0
/* Spins in one named function for MILLISECONDS of CPU time, then replaces itself with PROGRAM ARGS. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "spin.h"

uint64_t pf_before_exec(double ms)
{
	return pf_spin_until(ms);
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
