// SPDX-License-Identifier: Apache-2.0
/* bench/gateway codec driver: the gateway's per-request work (inflate, decode, merge, aggregate, encode, gzip) in one thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "bench/gateway/workload.h"
#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "model/batch.h"
#include "core/error.h"

/*
 * What the gateway of run.sh does with each request, without the network:
 * gunzip (libdeflate, as the otlp receiver does; zlib, as gRPC core's own
 * decompression would, is timed too as the baseline of that step),
 * pf_otlp_decode into a fresh batch, pf_batch_merge_sum into the aggregate
 * processor's pending batch (equal samples summed as they arrive); every
 * `tick` requests the pending batch is encoded in parts and each part gzip'd at level 6, as the otlp
 * exporter does. Prints CPU ns per OTLP Sample message for each phase.
 * Small runs suit callgrind:
 *
 *   bench_gateway_codec [requests=400] [tick=100] [procs=4] [inflate=1]
 */

#define VARIANTS 16

enum { P_ZLIB, P_DEFLATE, P_DECODE, P_MERGE, P_AGGREGATE, P_ENCODE, P_N };
static const char *const phase_names[P_N] = {
	"inflate (zlib)", "inflate (libdeflate)", "decode", "merge", "aggregate", "encode+gzip"};

struct req {
	struct pf_bench_request rq;
	uint8_t *gz;
	size_t gz_size;
};

struct parts {
	size_t bytes, gz_bytes, samples;
};

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* gzip'd input through zlib's inflate, as gRPC core decompresses messages. */
static int zlib_gunzip(const struct req *r, uint8_t *out)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -ENOMEM;
	zs.next_in = r->gz;
	zs.avail_in = (uInt)r->gz_size;
	zs.next_out = out;
	zs.avail_out = (uInt)r->rq.size;
	rc = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	return rc == Z_STREAM_END ? 0 : -EINVAL;
}

static int on_part(void *ctx, uint8_t *bytes, size_t size, size_t samples)
{
	struct parts *p = ctx;
	uint8_t *gz;
	size_t gz_size;
	int rc = pf_gzip_compress(bytes, size, 6, &gz, &gz_size);

	free(bytes);
	if (rc < 0)
		return rc;
	free(gz);
	p->bytes += size;
	p->gz_bytes += gz_size;
	p->samples += samples;
	return 0;
}

/* The interval's end: the pending batch is already its aggregate. */
static int tick(struct pf_batch **pending, struct pf_batch_sums **sums, double *t,
		struct parts *parts)
{
	double t0 = cpu_ns();
	struct pf_batch *agg = *pending;
	int rc;

	pf_batch_sums_free(*sums);
	*sums = pf_batch_sums_new();
	*pending = pf_batch_new();
	if (!*pending || !*sums) {
		pf_batch_unref(agg);
		return -ENOMEM;
	}
	double t1 = cpu_ns();
	rc = pf_otlp_encode_parts(agg, 0, on_part, parts);
	pf_batch_unref(agg);
	t[P_AGGREGATE] += t1 - t0;
	t[P_ENCODE] += cpu_ns() - t1;
	return rc < 0 ? rc : 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 400;
	int every = argc > 2 ? atoi(argv[2]) : 100;
	int procs = argc > 3 ? atoi(argv[3]) : 4;
	int inflate_too = argc > 4 ? atoi(argv[4]) : 1;
	struct req reqs[VARIANTS];
	struct pf_batch *pending = pf_batch_new();
	struct pf_batch_sums *sums = pf_batch_sums_new();
	struct parts parts = {0};
	double t[P_N] = {0};
	uint64_t messages = 0, events = 0;
	size_t max = 0;
	uint8_t *plain = NULL;
	int rc = 1;

	if (n < 1 || every < 1 || procs < 1 || !pending || !sums) {
		fprintf(stderr, "usage: %s [requests] [tick] [procs] [inflate 0|1]\n", argv[0]);
		return 2;
	}
	memset(reqs, 0, sizeof(reqs));
	for (int v = 0; v < VARIANTS; v++) {
		struct req *r = &reqs[v];
		/* the seeds and pids of loadgen's 4 clients x 4 variants */
		if (pf_bench_gateway_request(&r->rq, 0x9e3779b97f4a7c15ULL * (uint64_t)(v + 1),
					     procs, 1000 + v / 4 * 100 + v % 4 * procs) < 0 ||
		    pf_gzip_compress(r->rq.bytes, r->rq.size, 6, &r->gz, &r->gz_size) < 0)
			goto out;
		if (r->rq.size > max)
			max = r->rq.size;
	}
	plain = calloc(max, 1);
	if (!plain)
		goto out;
	for (int i = 0; i < n; i++) {
		const struct req *r = &reqs[i % VARIANTS];
		struct pf_error err = {0};
		struct pf_batch *b = pf_batch_new();
		uint8_t *out;
		size_t out_size;
		double t0 = cpu_ns(), t1, t2;

		if (!b)
			goto out;
		if (inflate_too) {
			if (zlib_gunzip(r, plain) < 0)
				goto out;
			t1 = cpu_ns();
			t[P_ZLIB] += t1 - t0;
			if (pf_gzip_decompress(r->gz, r->gz_size, (size_t)64 << 20, &out,
					       &out_size) < 0)
				goto out;
			free(out);
			t0 = cpu_ns();
			t[P_DEFLATE] += t0 - t1;
		}
		if (pf_otlp_decode(b, r->rq.bytes, r->rq.size, 0, NULL, &err) < 0) {
			fprintf(stderr, "decode: %s\n", err.msg);
			goto out;
		}
		t1 = cpu_ns();
		if (pf_batch_merge_sum(pending, b, sums) < 0)
			goto out;
		pf_batch_unref(b);
		t2 = cpu_ns();
		t[P_DECODE] += t1 - t0;
		t[P_MERGE] += t2 - t1;
		messages += r->rq.messages;
		events += r->rq.events;
		if ((i + 1) % every == 0 && tick(&pending, &sums, t, &parts) < 0)
			goto out;
	}
	if (pf_batch_sample_count(pending) && tick(&pending, &sums, t, &parts) < 0)
		goto out;
	printf("requests=%d tick=%d procs=%d: %llu Sample messages, %llu events; "
	       "request %zu bytes (%zu gzip)\n",
	       n, every, procs, (unsigned long long)messages, (unsigned long long)events,
	       reqs[0].rq.size, reqs[0].gz_size);
	struct pf_batch *one = pf_batch_new();
	struct pf_error err = {0};
	if (one && pf_otlp_decode(one, reqs[0].rq.bytes, reqs[0].rq.size, 0, NULL, &err) >= 0)
		printf("a request: %zu samples, %zu stacks, %zu locations, %zu functions, "
		       "%zu strings\n",
		       pf_batch_sample_count(one), pf_batch_n_stacks(one) - 1,
		       pf_batch_n_locations(one) - 1, pf_batch_n_functions(one) - 1,
		       pf_batch_n_strings(one) - 1);
	pf_batch_unref(one);
	double gw = 0;
	for (int p = 0; p < P_N; p++) {
		if (!inflate_too && (p == P_ZLIB || p == P_DEFLATE))
			continue;
		printf("%-22s %8.1f ns per Sample message\n", phase_names[p], t[p] / messages);
		if (p != P_ZLIB)
			gw += t[p];
	}
	printf("%-22s %8.1f ns per Sample message = %.2f M Sample messages/s per core "
	       "(%.2f M events/s)\n",
	       "total", gw / messages, messages / gw * 1e3, events / gw * 1e3);
	if (inflate_too)
		printf("inflate: libdeflate / zlib (gRPC core's) = %.2fx\n",
		       t[P_DEFLATE] / t[P_ZLIB]);
	printf("exported: %zu samples, %zu bytes (%zu gzip)\n", parts.samples, parts.bytes,
	       parts.gz_bytes);
	rc = 0;
out:
	for (int v = 0; v < VARIANTS; v++) {
		free(reqs[v].rq.bytes);
		free(reqs[v].gz);
	}
	free(plain);
	pf_batch_sums_free(sums);
	pf_batch_unref(pending);
	return rc;
}
