// SPDX-License-Identifier: Apache-2.0
/* LD_PRELOAD shim for it.cli: fsync(2) and fdatasync(2) never return, as on a hung network file system. */
#include <unistd.h>

static void hang(void)
{
	for (;;)
		pause();
}

int fsync(int fd)
{
	(void)fd;
	hang();
	return -1;
}

int fdatasync(int fd)
{
	(void)fd;
	hang();
	return -1;
}
