/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway benchmark's synthetic agent reports, shared by the load generator and the codec driver. */
#ifndef PF_BENCH_GATEWAY_WORKLOAD_H
#define PF_BENCH_GATEWAY_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

/* One encoded agent report (an ExportProfilesServiceRequest). */
struct pf_bench_request {
	uint8_t *bytes; /* malloc'd protobuf */
	size_t size;
	size_t gz_size;	   /* its size gzip'd at level 6 */
	uint64_t events;   /* sampled events (sum of counts) */
	uint64_t messages; /* OTLP Sample messages */
};

/* Builds a report of `procs` processes (pids pid0, pid0 + 1, ...), each a
 * CPU profile of 10 s at 99 Hz on 4 threads over ~1,000 distinct stacks of
 * depth 20-60; `seed` picks the stack mix. Fills *rq (free rq->bytes).
 * Returns 0 or -ENOMEM. */
int pf_bench_gateway_request(struct pf_bench_request *rq, uint64_t seed, int procs, int pid0);

#endif
