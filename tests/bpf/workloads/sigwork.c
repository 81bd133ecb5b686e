// SPDX-License-Identifier: Apache-2.0
/* Spins in busy_work for SECONDS of CPU time while a SIGPROF handler, every 10 ms of CPU, spins 6 ms in handler_spin: most samples (about 80 %) fall in the handler, above the signal frame. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>

#include "spin.h"
#include "named.h"

#define TICK_US	   10000
#define HANDLER_MS 6.0

static volatile uint64_t sink;

PF_NAMED uint64_t handler_spin(void)
{
	return pf_spin_until(pf_spin_cpu_ms() + HANDLER_MS);
}

PF_NAMED void on_tick(int sig)
{
	sink += handler_spin() + (uint64_t)sig;
}

PF_NAMED uint64_t busy_work(double ms)
{
	return pf_spin_until(ms);
}

PF_NAMED uint64_t main_loop(double seconds)
{
	uint64_t x = busy_work(seconds * 1e3);

	return x ^ sink; /* no tail call: main_loop stays on the stack */
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_tick, .sa_flags = SA_RESTART};
	struct itimerval tick = {{0, TICK_US}, {0, TICK_US}};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPROF, &sa, NULL) < 0 || setitimer(ITIMER_PROF, &tick, NULL) < 0)
		return 1;
	return (int)(main_loop(argc > 1 ? atof(argv[1]) : 10.0) & 1) * 0;
}
