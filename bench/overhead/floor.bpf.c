// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* The sampling floor: a perf_event program that does nothing, to price the interrupt alone. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("perf_event")
int pf_floor(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
