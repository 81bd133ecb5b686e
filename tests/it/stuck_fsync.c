// SPDX-License-Identifier: Apache-2.0
/* LD_PRELOAD shim for it.cli: fsync(2) never returns, as on a hung network file system. */
#include <unistd.h>

int fsync(int fd)
{
	(void)fd;
	for (;;)
		pause();
}
