/* SPDX-License-Identifier: Apache-2.0 */
/* The OTLP export step the otlp (gRPC) and otlphttp exporters embed: common options, batches encoded into the sending queue, responses. */
#ifndef PF_OTLP_EXPORT_H
#define PF_OTLP_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/component.h"
#include "core/option.h"
#include "sending/queue.h"
#include "sending/retry.h"
#include "transport/tls.h"

enum pf_otlpexp_compression {
	PF_OTLPEXP_GZIP,
	PF_OTLPEXP_NONE,
};

/* The settings both exporters have; each embeds it as `common`. */
struct pf_otlpexp_config {
	char *endpoint;
	struct pf_tls_config tls;
	struct pf_string_map headers;
	int compression; /* enum pf_otlpexp_compression */
	int64_t timeout; /* ns, per attempt */
	int64_t max_request_size;
	struct pf_queue_config queue;
	struct pf_retry_config retry;
};

extern const char *const pf_otlpexp_compressions[];

/* The common option rows of a config struct `cfg_type` whose struct
 * pf_otlpexp_config member is `common`; `timeout` is the default text. */
#define PF_OTLPEXP_OPTIONS(cfg_type, endpoint_doc, timeout_def)                                    \
	{.name = "endpoint",                                                                       \
	 .type = PF_OPT_STRING,                                                                    \
	 .flags = PF_OPT_REQUIRED,                                                                 \
	 .offset = offsetof(cfg_type, common.endpoint),                                            \
	 .doc = endpoint_doc},                                                                     \
		{.name = "tls",                                                                    \
		 .type = PF_OPT_SECTION,                                                           \
		 .section = pf_tls_options,                                                        \
		 .offset = offsetof(cfg_type, common.tls),                                         \
		 .doc = "TLS: insecure, ca_file, cert_file/key_file (mTLS), ..."},                 \
		{.name = "headers",                                                                \
		 .type = PF_OPT_MAP,                                                               \
		 .offset = offsetof(cfg_type, common.headers),                                     \
		 .doc = "Headers sent with every request (e.g. authorization)."},                  \
		{.name = "compression",                                                            \
		 .type = PF_OPT_ENUM,                                                              \
		 .def = "gzip",                                                                    \
		 .choices = pf_otlpexp_compressions,                                               \
		 .offset = offsetof(cfg_type, common.compression),                                 \
		 .doc = "Request compression: gzip or none."},                                     \
		{.name = "timeout",                                                                \
		 .type = PF_OPT_DURATION,                                                          \
		 .def = timeout_def,                                                               \
		 .min = 1e6,                                                                       \
		 .max = 3600e9,                                                                    \
		 .offset = offsetof(cfg_type, common.timeout),                                     \
		 .doc = "Time limit of one attempt."},                                             \
		{.name = "max_request_size",                                                       \
		 .type = PF_OPT_SIZE,                                                              \
		 .def = "4MiB",                                                                    \
		 .min = 1024,                                                                      \
		 .max = 1073741824.0,                                                              \
		 .offset = offsetof(cfg_type, common.max_request_size),                            \
		 .doc = "Largest request (the Collector's default receive limit); bigger batches " \
			"are split by samples."},                                                  \
		{.name = "sending_queue",                                                          \
		 .type = PF_OPT_SECTION,                                                           \
		 .section = pf_queue_options,                                                      \
		 .offset = offsetof(cfg_type, common.queue),                                       \
		 .doc = "The sending queue (exporterhelper semantics)."},                          \
	{                                                                                          \
		.name = "retry_on_failure", .type = PF_OPT_SECTION, .section = pf_retry_options,   \
		.offset = offsetof(cfg_type, common.retry),                                        \
		.doc = "Retries with exponential backoff."                                         \
	}

/* Cross-field checks of the common settings. */
int pf_otlpexp_validate(const struct pf_otlpexp_config *cfg, struct pf_error *err);

/*
 * A queued request is a small header and the bytes sent on the wire (the
 * request, gzip'd for HTTP with compression gzip). The header keeps what a
 * response needs to count rejected samples.
 */
struct pf_otlpexp_payload {
	uint64_t samples;
	uint32_t profiles;
	uint32_t flags; /* PF_OTLPEXP_GZIPPED */
};
#define PF_OTLPEXP_GZIPPED 0x1u
#define PF_OTLPEXP_HEADER  sizeof(struct pf_otlpexp_payload)

/*
 * Encodes batches into requests of at most max_request_size on the libuv
 * thread pool (DESIGN.md "Threads", through pipeline/work), gzips each when
 * `gzip` (HTTP: the queue then keeps compressed bytes) and queues them on
 * the loop. A batch is taken only when room for it can be reserved in the
 * queue (pf_queue_reserve()) and fewer than two are being encoded; its
 * parts are queued into that room, all or none, and the part of the
 * batch's acknowledgement held by pipeline/work is settled with the result
 * (see pf_component_ack_hold()). With storage file the batch is encoded
 * and written within consume, whose result is then the answer.
 */
struct pf_otlpexp_encoder;

/* Returns NULL when out of memory. Touches no loop. `c`, `q` and `cfg` must
 * outlive it. */
struct pf_otlpexp_encoder *pf_otlpexp_encoder_new(struct pf_component *c, struct pf_queue *q,
						  const struct pf_otlpexp_config *cfg, bool gzip);

/* Optional bytes put between the payload header and the wire bytes of every
 * part of a batch (an authenticator's header edits for the batch). Called
 * where the batch is encoded (the thread pool, or the loop with storage
 * file), so it may only read b: returns 0 with *bytes malloc'd (or NULL
 * with *size 0: none), or a negative error (the batch fails to encode). */
typedef int (*pf_otlpexp_prefix_fn)(void *arg, const struct pf_batch *b, uint8_t **bytes,
				    size_t *size);
void pf_otlpexp_encoder_prefix(struct pf_otlpexp_encoder *enc, pf_otlpexp_prefix_fn fn, void *arg);

/* Takes a reference to `b` and starts encoding it (the first call starts
 * the pool on the component's loop). Returns PF_OK (with storage file: the
 * batch is on disk), PF_BUSY (nothing taken: no room, or with storage file
 * a write failed), -ESHUTDOWN once draining, or a negative error. */
int pf_otlpexp_encoder_consume(struct pf_otlpexp_encoder *enc, struct pf_batch *b);

/* Takes no more batches; calls idle(arg) once every batch taken is encoded
 * and its parts queued (at once when none is), or, for those not started
 * shortly before pf_component_deadline(), dropped and counted as
 * send_failed. */
void pf_otlpexp_encoder_drain(struct pf_otlpexp_encoder *enc, void (*idle)(void *arg), void *arg);

/* Frees it: from the exporter's destroy, which pf_otlpexp_shutdown() calls
 * once the encoder's pool has closed, or when it never encoded. Takes
 * NULL. */
void pf_otlpexp_encoder_destroy(struct pf_otlpexp_encoder *enc);

/*
 * What both OTLP exporters hold in common and the lifecycle around it:
 * intake through the encoder, and the shutdown sequence (batches being
 * encoded reach the queue, the queue drains until a little before the
 * deadline, the exporter's client closes, the encoder's pool closes, then
 * the exporter frees itself and the component is told). Embedded in each exporter; create fills every
 * field but `stopping` and `done`.
 */
struct pf_otlpexp_base {
	struct pf_component *c;
	struct pf_queue *queue;
	struct pf_otlpexp_encoder *enc;
	void *exporter;
	/* Closes the exporter's client, then calls closed(arg); at once when
	 * it has none. */
	void (*close_client)(void *exporter, void (*closed)(void *arg), void *arg);
	/* Frees the exporter, `base` included. */
	void (*destroy)(void *exporter);
	bool stopping;
	pf_done_fn done;
};

/* consume for both exporters: -ESHUTDOWN once stopping, else the encoder's. */
int pf_otlpexp_consume(struct pf_otlpexp_base *base, struct pf_batch *b);

/* shutdown for both exporters; a second call does nothing. */
void pf_otlpexp_shutdown(struct pf_otlpexp_base *base, pf_done_fn done);

/* Splits a queued payload into its header and wire bytes. */
void pf_otlpexp_payload(const void *data, size_t size, struct pf_otlpexp_payload *hdr,
			const uint8_t **wire, size_t *wire_size);

/* Reads an ExportProfilesServiceResponse after a success: logs a
 * partial_success (warning) and returns the samples to count as rejected,
 * prorated from rejected_profiles. */
uint64_t pf_otlpexp_partial(struct pf_component *c, const struct pf_otlpexp_payload *hdr,
			    const void *body, size_t size, bool json);

/* Copies a server's error text for a log line: at most `size`-1 bytes,
 * control characters replaced. */
void pf_otlpexp_clean_text(const void *text, size_t len, char *out, size_t size);

#endif
