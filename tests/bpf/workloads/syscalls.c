// SPDX-License-Identifier: Apache-2.0
/* A syscall-heavy loop: write(2) to /dev/null from one named function, for SECONDS seconds. */
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static char buf[4096];

void pf_sys_writer(int fd, long n)
{
	for (long i = 0; i < n; i++)
		if (write(fd, buf, sizeof(buf)) < 0)
			exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double end = now() + (argc > 1 ? atof(argv[1]) : 5.0);
	int fd = open("/dev/null", O_WRONLY);

	if (fd < 0)
		return 1;
	while (now() < end)
		pf_sys_writer(fd, 1000);
	close(fd);
	return 0;
}
