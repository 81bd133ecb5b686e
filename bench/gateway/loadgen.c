// SPDX-License-Identifier: Apache-2.0
/* bench/gateway load generator: concurrent OTLP/gRPC clients sending realistic CPU profiles to a gateway. */
#include <errno.h>
#include <stdbool.h>
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "bench/gateway/workload.h"

/*
 * Each request is one agent's report (workload.c): `procs` processes, each
 * 10 s of 99 Hz CPU samples on 4 threads over ~1,000 distinct stacks of
 * depth 20-60. Each client sends `variants` different requests (different
 * pids and stack mixes) in a loop for `seconds`.
 */

#define EXPORT	      "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
#define MAX_LATENCIES (1u << 20)

struct client {
	const char *target;
	bool gzip;
	int seconds;
	struct pf_bench_request *reqs;
	int n_reqs;
	uv_thread_t thread;
	uint64_t sent, failed, events, messages, bytes;
	double *lat_ms;
	size_t n_lat;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int call(grpc_channel *ch, grpc_completion_queue *cq, const struct pf_bench_request *rq)
{
	gpr_timespec deadline =
		gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(30, GPR_TIMESPAN));
	grpc_call *c = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
						grpc_slice_from_static_string(EXPORT), NULL,
						deadline, NULL);
	grpc_slice payload = grpc_slice_from_static_buffer(rq->bytes, rq->size);
	grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&payload, 1);
	grpc_byte_buffer *recv = NULL;
	grpc_metadata_array init_md, trail_md;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op ops[6];
	size_t n = 0;
	int tag;

	grpc_metadata_array_init(&init_md);
	grpc_metadata_array_init(&trail_md);
	memset(ops, 0, sizeof(ops));
	ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n++].data.send_message.send_message = send;
	ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[n++].data.recv_initial_metadata.recv_initial_metadata = &init_md;
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n++].data.recv_message.recv_message = &recv;
	ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[n].data.recv_status_on_client.trailing_metadata = &trail_md;
	ops[n].data.recv_status_on_client.status = &status;
	ops[n++].data.recv_status_on_client.status_details = &details;
	if (grpc_call_start_batch(c, ops, n, &tag, NULL) == GRPC_CALL_OK)
		grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	if (recv)
		grpc_byte_buffer_destroy(recv);
	grpc_byte_buffer_destroy(send);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&init_md);
	grpc_metadata_array_destroy(&trail_md);
	grpc_call_unref(c);
	return (int)status;
}

static void client_run(void *arg)
{
	struct client *cl = arg;
	grpc_arg a = {.type = GRPC_ARG_INTEGER,
		      .key = (char *)GRPC_COMPRESSION_CHANNEL_DEFAULT_ALGORITHM,
		      .value.integer = GRPC_COMPRESS_GZIP};
	grpc_arg args_arr[2] = {a,
				{.type = GRPC_ARG_INTEGER,
				 .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
				 .value.integer = -1}};
	grpc_channel_args args = {.num_args = 2, .args = args_arr};

	if (!cl->gzip)
		args_arr[0].value.integer = GRPC_COMPRESS_NONE;
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	grpc_channel *ch = grpc_channel_create(cl->target, creds, &args);
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	double end = now_ms() + cl->seconds * 1e3;

	for (int i = 0; now_ms() < end; i++) {
		const struct pf_bench_request *rq = &cl->reqs[i % cl->n_reqs];
		double t0 = now_ms();
		int st = call(ch, cq, rq);
		double dt = now_ms() - t0;
		if (cl->n_lat < MAX_LATENCIES)
			cl->lat_ms[cl->n_lat++] = dt;
		if (st == 0) {
			cl->sent++;
			cl->events += rq->events;
			cl->messages += rq->messages;
			cl->bytes += rq->gz_size;
		} else {
			cl->failed++;
			if (st == GRPC_STATUS_UNAVAILABLE)
				uv_sleep(50); /* busy gateway: back off a little */
		}
	}
	grpc_channel_destroy(ch);
	grpc_channel_credentials_release(creds);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
		       .type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *target = argc > 1 ? argv[1] : "127.0.0.1:4317";
	int clients = argc > 2 ? atoi(argv[2]) : 4;
	int seconds = argc > 3 ? atoi(argv[3]) : 10;
	int procs = argc > 4 ? atoi(argv[4]) : 4;
	bool gzip = !(argc > 5 && strcmp(argv[5], "none") == 0);
	int variants = 4;
	struct client *cl = calloc((size_t)clients, sizeof(*cl));
	double *all;
	size_t n_all = 0;
	uint64_t sent = 0, failed = 0, events = 0, messages = 0, bytes = 0, raw = 0, rq_events = 0;

	if (!cl || clients < 1 || seconds < 1 || procs < 1) {
		fprintf(stderr, "usage: %s TARGET CLIENTS SECONDS PROCS_PER_REQUEST [gzip|none]\n",
			argv[0]);
		return 2;
	}
	grpc_init();
	for (int c = 0; c < clients; c++) {
		cl[c].target = target;
		cl[c].seconds = seconds;
		cl[c].gzip = gzip;
		cl[c].n_reqs = variants;
		cl[c].reqs = calloc((size_t)variants, sizeof(struct pf_bench_request));
		cl[c].lat_ms = calloc(MAX_LATENCIES, sizeof(double));
		if (!cl[c].reqs || !cl[c].lat_ms)
			return 1;
		for (int v = 0; v < variants; v++)
			if (pf_bench_gateway_request(&cl[c].reqs[v],
						     0x9e3779b97f4a7c15ULL *
							     (uint64_t)(c * 16 + v + 1),
						     procs, 1000 + c * 100 + v * procs) < 0)
				return 1;
	}
	raw = cl[0].reqs[0].size;
	rq_events = cl[0].reqs[0].events;
	fprintf(stderr,
		"request: %d processes, %llu events in %llu samples, %zu bytes (%zu gzip)\n", procs,
		(unsigned long long)rq_events, (unsigned long long)cl[0].reqs[0].messages,
		cl[0].reqs[0].size, cl[0].reqs[0].gz_size);
	double t0 = now_ms();
	for (int c = 0; c < clients; c++)
		uv_thread_create(&cl[c].thread, client_run, &cl[c]);
	for (int c = 0; c < clients; c++)
		uv_thread_join(&cl[c].thread);
	double wall = (now_ms() - t0) / 1e3;
	all = calloc(MAX_LATENCIES * (size_t)clients, sizeof(double));
	for (int c = 0; c < clients; c++) {
		sent += cl[c].sent;
		failed += cl[c].failed;
		events += cl[c].events;
		messages += cl[c].messages;
		bytes += cl[c].bytes;
		memcpy(all + n_all, cl[c].lat_ms, cl[c].n_lat * sizeof(double));
		n_all += cl[c].n_lat;
	}
	qsort(all, n_all, sizeof(double), cmp_double);
	/* Machine-readable, one key=value per line, for run.sh. */
	printf("wall_s=%.3f\n", wall);
	printf("requests_ok=%llu\nrequests_failed=%llu\n", (unsigned long long)sent,
	       (unsigned long long)failed);
	printf("events=%llu\nsample_messages=%llu\n", (unsigned long long)events,
	       (unsigned long long)messages);
	printf("events_per_s=%.0f\nsample_messages_per_s=%.0f\n", events / wall, messages / wall);
	printf("p50_ms=%.2f\np99_ms=%.2f\n", n_all ? all[n_all / 2] : 0.0,
	       n_all ? all[(size_t)((double)n_all * 0.99)] : 0.0);
	printf("wire_bytes=%llu\n", (unsigned long long)bytes);
	printf("bytes_per_event_raw=%.2f\nbytes_per_event_gzip=%.2f\n", (double)raw / rq_events,
	       (double)cl[0].reqs[0].gz_size / rq_events);
	printf("bytes_per_sample_msg_raw=%.2f\nbytes_per_sample_msg_gzip=%.2f\n",
	       (double)raw / cl[0].reqs[0].messages,
	       (double)cl[0].reqs[0].gz_size / cl[0].reqs[0].messages);
	for (int c = 0; c < clients; c++) {
		for (int v = 0; v < variants; v++)
			free(cl[c].reqs[v].bytes);
		free(cl[c].reqs);
		free(cl[c].lat_ms);
	}
	free(all);
	free(cl);
	grpc_shutdown();
	return 0;
}
