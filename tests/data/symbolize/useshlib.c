/* SPDX-License-Identifier: Apache-2.0 */
/* Calls into the test shared library and says where its function is. */
#include <stdlib.h>
#include <unistd.h>

#include "where.h"

int shlib_work(int x);

int main(int argc, char **argv)
{
	where("shlib_work", (const void *)shlib_work);
	fflush(stdout);
	if (argc > 1)
		sleep((unsigned)atoi(argv[1]));
	return shlib_work(argc) == 42;
}
