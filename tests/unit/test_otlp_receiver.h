/* SPDX-License-Identifier: Apache-2.0 */
/* What the two files of unit.otlp_receiver share: the service, the requests, the gRPC tests. */
#ifndef PF_TEST_OTLP_RECEIVER_H
#define PF_TEST_OTLP_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "receiver_harness.h"
#include "receivers/otlp/receiver.h"

#define HTTP_ONLY "    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"
#define BOTH                                                                                       \
	"    protocols:\n      http:\n        endpoint: 127.0.0.1:0\n"                             \
	"      grpc:\n        endpoint: 127.0.0.1:0\n"

struct env {
	struct rh_env rh;
	struct pf_otlp_rx *rx;
	char http_url[128];   /* http://127.0.0.1:port/v1development/profiles */
	char grpc_target[64]; /* 127.0.0.1:port */
};

/* A service: the otlp receiver configured by `receiver_yaml` (the lines
 * under "receivers: otlp:") -> capture. */
void env_start(struct env *env, const char *receiver_yaml);
/* The same with a bearertokenauth extension of `token` listed in the
 * service, for receiver_yaml's auth.authenticator to name. */
void env_start_token(struct env *env, const char *receiver_yaml, const char *token);
void env_stop(struct env *env);

/* The config loaded against the test registry, or NULL with err. */
struct pf_config *load(const char *yaml, struct pf_error *err);

/* An ExportProfilesServiceRequest with one profile of n samples worth
 * 1..n, protobuf or JSON (malloc'ed). */
void make_request(int n, bool json, uint8_t **out, size_t *size);

/* The same for 4 samples as a v1.9 peer sends it (values in field 2). */
void make_v19_request(uint8_t **out, size_t *size);

/* POSTs h to the receiver: env's URL, https when h->ca_file is set. */
struct hp_call;
void http_post(struct env *env, struct hp_call *h);

/* The samples captured so far. */
size_t samples_received(struct env *env);

/* test_otlp_receiver_grpc.c */
void test_grpc(void **state);
void test_grpc_size_and_auth(void **state);
void test_grpc_long_bearer_token(void **state);
void test_grpc_answer_waits_for_exporters(void **state);
void test_tls(void **state);

#endif
