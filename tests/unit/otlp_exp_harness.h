/* SPDX-License-Identifier: Apache-2.0 */
/* Harness of unit.otlp_exporters: a service with the two exporters, and scripted HTTP and gRPC servers in threads. */
#ifndef PF_TEST_OTLP_EXP_HARNESS_H
#define PF_TEST_OTLP_EXP_HARNESS_H

#include <grpc/grpc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http_fake.h"
#include "sinks_harness.h"

#define OE_MAX_REQS  16
#define OE_MAX_STEPS 8

/* The registry: a test-driven `feeder` receiver, otlp and otlphttp. */
extern const struct pf_component_def *const oe_registry[];

/* Loads `yaml` against oe_registry, builds and starts the service. */
void oe_env_start(struct sh_env *env, const char *yaml);

/* Three samples (values 1, 2, 3) in one profile. */
struct pf_batch *oe_batch(void);

/* n profiles of `per` one-valued samples with distinct stacks. */
struct pf_batch *oe_big_batch(int n, int per);

/* Emits `b` (and drops the caller's reference) and runs until the
 * exporter's samples are all sent or failed. */
void oe_send_and_wait(struct sh_env *env, struct pf_batch *b, uint64_t timeout_ms);

/* Emits oe_batch() without waiting. */
void oe_emit_one(struct sh_env *env);

/* A counter of exporter `id`. */
uint64_t oe_counter(struct sh_env *env, const char *id, enum pf_counter ctr);

/* Runs until exporter `id` has settled `want` samples (sent or failed). */
bool oe_wait_settled(struct sh_env *env, const char *id, uint64_t want, uint64_t timeout_ms);

/* What a server saw of one request. */
struct oe_seen {
	char path[128];
	char content_type[128];
	char content_encoding[64];
	char authorization[128];
	size_t samples;	  /* decoded from the request */
	int64_t total;	  /* sum of sample values */
	int decode_error; /* pf_otlp_decode's result when negative */
	uint64_t at_ms;	  /* uv_hrtime at arrival */
};

/* One scripted answer. */
struct oe_step {
	unsigned status;	 /* HTTP status, or gRPC code */
	const char *retry_after; /* HTTP Retry-After */
	int64_t retry_delay_ms;	 /* RetryInfo, 0 = none */
	int64_t rejected;	 /* partial_success.rejected_profiles */
	const char *message;
	bool text_body;	   /* HTTP: body is `message` as text/plain */
	unsigned delay_ms; /* answer this much later */
};

struct oe_server {
	struct oe_step steps[OE_MAX_STEPS]; /* the last one repeats */
	size_t n_steps;
	struct oe_seen seen[OE_MAX_REQS];
	size_t n_seen;
	int port;
	/* TLS (PEM text; NULL: plaintext). client_ca: require client certificates. */
	const char *key_pem, *cert_pem, *client_ca_pem;
	/* internal */
	uv_mutex_t lock;
	struct hf_peer http;
	grpc_server *gs;
	grpc_completion_queue *cq;
	uv_thread_t thread;
	bool shutdown_seen;
};

/* The HTTP server on 127.0.0.1 (`port` 0: any), TLS when key_pem is set. */
void oe_http_start(struct oe_server *srv, int port);
void oe_http_stop(struct oe_server *srv);

/* The gRPC server on 127.0.0.1 (`port` 0: any), TLS when key_pem is set. */
void oe_grpc_start(struct oe_server *srv, int port);
void oe_grpc_stop(struct oe_server *srv);

/* Test certificates made with openssl in a temp dir: a CA, a server
 * certificate for localhost/127.0.0.1, a client certificate, and a second
 * CA that signed neither. Paths and PEM text. */
struct oe_certs {
	char dir[64];
	char ca[128], other_ca[128], server_cert[128], server_key[128], client_cert[128],
		client_key[128];
	char *ca_pem, *server_cert_pem, *server_key_pem;
};
void oe_certs_make(struct oe_certs *c);
void oe_certs_free(struct oe_certs *c);

/* The gRPC and TLS tests (test_otlp_exporters_grpc.c); returns failures. */
int oe_run_grpc_tests(void);

#endif
