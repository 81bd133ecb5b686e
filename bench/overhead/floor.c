// SPDX-License-Identifier: Apache-2.0
/* Loads floor.bpf.c on one cpu-clock perf event per CPU at a given frequency until SIGINT/SIGTERM;
 * `floor stats` instead holds BPF run-time statistics on (which a sysctl write elsewhere cannot turn off). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "floor.skel.h"

#define MAX_CPUS 1024

static void on_signal(int sig)
{
	(void)sig; /* pause() returns */
}

int main(int argc, char **argv)
{
	long freq = argc > 1 ? atol(argv[1]) : 99;
	struct bpf_link *links[MAX_CPUS] = {0};
	int fds[MAX_CPUS], n = libbpf_num_possible_cpus(), ret = 1;
	struct floor *skel;

	if (argc > 1 && strcmp(argv[1], "stats") == 0) {
		int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (fd < 0) {
			fprintf(stderr, "floor: cannot enable BPF statistics: %s\n",
				strerror(errno));
			return 1;
		}
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		printf("ready\n");
		fflush(stdout);
		pause();
		close(fd);
		return 0;
	}
	if (n <= 0 || n > MAX_CPUS || freq < 1)
		return 2;
	for (int i = 0; i < n; i++)
		fds[i] = -1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	skel = floor__open_and_load();
	if (!skel) {
		fprintf(stderr, "floor: cannot load: %s\n", strerror(errno));
		return 1;
	}
	for (int cpu = 0; cpu < n; cpu++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.size = sizeof(attr),
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.sample_freq = (__u64)freq,
			.freq = 1,
		};
		fds[cpu] =
			(int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fds[cpu] < 0) {
			if (errno == ENODEV)
				continue;
			fprintf(stderr, "floor: perf_event_open: %s\n", strerror(errno));
			goto out_close;
		}
		links[cpu] = bpf_program__attach_perf_event(skel->progs.pf_floor, fds[cpu]);
		if (!links[cpu]) {
			fprintf(stderr, "floor: attach: %s\n", strerror(errno));
			goto out_close;
		}
	}
	printf("ready\n");
	fflush(stdout);
	pause();
	ret = 0;
out_close:
	for (int cpu = 0; cpu < n; cpu++) {
		bpf_link__destroy(links[cpu]);
		if (fds[cpu] >= 0)
			close(fds[cpu]);
	}
	floor__destroy(skel);
	return ret;
}
