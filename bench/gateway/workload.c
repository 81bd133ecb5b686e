// SPDX-License-Identifier: Apache-2.0
/* Synthetic agent reports for the gateway benchmark: realistic CPU profiles encoded as OTLP requests. */
#include "bench/gateway/workload.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "model/batch.h"

/*
 * Each process is a CPU profile (samples/count) of 10 s at 99 Hz on 4
 * threads = 3,960 sampled events. Events pick a stack from a pool of 2,000
 * with log-uniform (Zipf-like) popularity: the hottest stack takes ~9 % of
 * the events, the top ten ~30 %, and ~1,000 distinct stacks are hit per
 * process. A stack has depth 20-60: a common runtime prefix of 8 frames, then
 * a walk down a fixed call graph over 4,000 functions (add_stack). Events are aggregated per stack as OTLP
 * senders do (one Sample with the count). The processes of one report share
 * the stack pool (replicas of one service) but draw their own mixes.
 */

#define EVENTS (99 * 10 * 4)
#define POOL   2000
#define FUNCS  4000

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A stack of the pool by popularity rank: log-uniform over [0, POOL). */
static uint32_t pick_stack(uint64_t *seed)
{
	double u = (double)(rnd(seed) >> 11) / (double)(1ULL << 53);
	uint32_t k = (uint32_t)exp(u * log(POOL + 1.0)) - 1;

	return k < POOL ? k : POOL - 1;
}

/* The k-th most likely callee of function f (a fixed call graph). */
static uint32_t callee(uint32_t f, uint32_t k)
{
	uint64_t h = ((uint64_t)f << 8 | k) * 0x9e3779b97f4a7c15ULL;

	return 8 + (uint32_t)((h >> 17) % (FUNCS - 8));
}

/* Appends pool stack s (the same frames in every process and report): a
 * walk down the call graph from a common runtime prefix of 8 frames, each
 * step taking the k-th callee with probability 2^-(k+1), so stacks share
 * their hot paths as real ones do. */
static uint32_t add_stack(struct pf_batch *b, uint32_t map, uint32_t s)
{
	char name[64];
	uint32_t locs[60], fn[60];
	uint64_t ss = (uint64_t)s * 2654435761u + 1;
	size_t depth = 20 + rnd(&ss) % 41;

	for (size_t d = 0; d < depth; d++) {
		uint64_t r = rnd(&ss) | 1ULL << 15;
		fn[d] = d < 8 ? (uint32_t)d : callee(fn[d - 1], (uint32_t)__builtin_ctzll(r));
	}
	for (size_t i = 0; i < depth; i++) {
		uint32_t f = fn[depth - 1 - i]; /* leaf first */
		snprintf(name, sizeof(name), "github.com/acme/svc/pkg%u.Func%u", f / 40, f);
		struct pf_function fn = {.name = pf_batch_cstring(b, name),
					 .filename = pf_batch_cstring(b, "svc/main.go")};
		struct pf_line line = {.function = pf_batch_function(b, &fn), .line = 10 + f % 500};
		struct pf_location loc = {.mapping = map, .address = 0x401000u + f * 64u};
		locs[i] = pf_batch_location(b, &loc, &line, 1);
	}
	return pf_batch_stack(b, locs, depth);
}

static int add_process(struct pf_batch *b, uint64_t *seed, int pid, struct pf_bench_request *rq)
{
	uint32_t attrs[3];
	struct pf_resource res = {0};
	struct pf_profile_desc d = {0};
	uint32_t *counts = calloc(POOL, sizeof(*counts));
	struct pf_mapping m = {.memory_start = 0x400000,
			       .memory_limit = 0x4000000,
			       .filename = pf_batch_cstring(b, "/usr/bin/service")};
	uint32_t map = pf_batch_mapping(b, &m);
	int rc = -ENOMEM;

	if (!counts)
		return -ENOMEM;
	attrs[0] = pf_batch_attr_int(b, "process.pid", pid);
	attrs[1] = pf_batch_attr_str(b, "service.name", "checkout");
	attrs[2] = pf_batch_attr_str(b, "host.name", "node-1");
	res.attrs = pf_batch_attr_set(b, attrs, 3);
	d.resource = pf_batch_resource(b, &res);
	d.sample_type.type = pf_batch_cstring(b, "samples");
	d.sample_type.unit = pf_batch_cstring(b, "count");
	d.period_type.type = pf_batch_cstring(b, "cpu");
	d.period_type.unit = pf_batch_cstring(b, "nanoseconds");
	d.period = 1000000000 / 99;
	d.time_unix_nano = 1795760100ULL * 1000000000ULL;
	d.duration_nano = 10ULL * 1000000000ULL;
	uint32_t p = pf_batch_add_profile(b, &d);
	if (p == PF_INDEX_ERROR)
		goto out_free_counts;
	for (int e = 0; e < EVENTS; e++)
		counts[pick_stack(seed)]++;
	for (uint32_t s = 0; s < POOL; s++) {
		if (!counts[s])
			continue;
		int64_t v = counts[s];
		uint32_t st = add_stack(b, map, s);
		if (st == PF_INDEX_ERROR || pf_batch_add_sample(b, p, st, 0, 0, &v, 1, NULL, 0) < 0)
			goto out_free_counts;
		rq->events += counts[s];
		rq->messages++;
	}
	rc = 0;
out_free_counts:
	free(counts);
	return rc;
}

int pf_bench_gateway_request(struct pf_bench_request *rq, uint64_t seed, int procs, int pid0)
{
	struct pf_batch *b = pf_batch_new();
	uint8_t *gz;
	int rc = -ENOMEM;

	*rq = (struct pf_bench_request){0};
	if (!b)
		return -ENOMEM;
	for (int i = 0; i < procs; i++) {
		rc = add_process(b, &seed, pid0 + i, rq);
		if (rc < 0)
			goto out_unref;
	}
	rc = pf_otlp_encode(b, NULL, 0, &rq->bytes, &rq->size);
	if (rc < 0)
		goto out_unref;
	if (pf_gzip_compress(rq->bytes, rq->size, 6, &gz, &rq->gz_size) == 0)
		free(gz);
out_unref:
	pf_batch_unref(b);
	return rc;
}
