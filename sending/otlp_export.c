/* SPDX-License-Identifier: Apache-2.0 */
/* The OTLP export step of the otlp and otlphttp exporters: validation, batch -> queued requests, responses. */
#include "otlp_export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "formats/pb_wire.h"
#include "model/batch.h"
#include "core/log.h"
#include "pipeline/work.h"

#define GZIP_LEVEL 6

const char *const pf_otlpexp_compressions[] = {"gzip", "none", NULL};

int pf_otlpexp_validate(const struct pf_otlpexp_config *cfg, struct pf_error *err)
{
	int ret;

	if (!cfg->endpoint || !cfg->endpoint[0])
		return pf_error_set(err, "", "endpoint must not be empty");
	ret = pf_tls_validate_client(&cfg->tls, err);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < cfg->headers.n; i++) {
		const char *k = cfg->headers.keys[i], *v = cfg->headers.values[i];

		if (!k[0] || strpbrk(k, ": \t\r\n") || (v && strpbrk(v, "\r\n")))
			return pf_error_set(err, "", "headers: \"%s\" is not a valid header", k);
	}
	return pf_queue_validate(&cfg->queue, err);
}

/* ---- counting the profiles of an encoded request ---- */

/* Counts occurrences of the length-delimited field `want` at `depth` 0,
 * descending through field 1 (resource_profiles) and then 2
 * (scope_profiles) first: `path` lists the field to follow at each level.
 * Stops at the first malformed field. */
static uint32_t count_field(const uint8_t *p, const uint8_t *end, const int *path, int depth)
{
	struct pf_pb_cursor c = {p, end};
	uint32_t n = 0;

	while (c.p < c.end) {
		const uint8_t *data;
		uint32_t field;
		unsigned wire;
		size_t len;

		if (!pf_pb_read_key(&c, &field, &wire))
			return n;
		if (wire != PF_PB_LEN) {
			if (!pf_pb_skip(&c, wire))
				return n;
			continue;
		}
		if (!pf_pb_read_len(&c, &data, &len))
			return n;
		if ((int)field == path[0])
			n += depth == 0 ? 1 : count_field(data, data + len, path + 1, depth - 1);
	}
	return n;
}

/* ExportProfilesServiceRequest.resource_profiles(1) -> ResourceProfiles.
 * scope_profiles(2) -> ScopeProfiles.profiles(2). */
static uint32_t count_profiles(const uint8_t *req, size_t size)
{
	static const int path[] = {1, 2, 2};

	return count_field(req, req + size, path, 2);
}

/* ---- encoding on the thread pool (pipeline/work), then into the queue ---- */

#define MAX_ENCODING 2 /* batches being encoded at once; more: PF_BUSY */

struct part {
	uint8_t *payload; /* header + wire bytes */
	size_t size;
	uint64_t samples;
};

/* One batch's results, written on the pool thread (the pf_work job). */
struct encode_job {
	struct pf_queue_room room; /* memory queue: taken by consume */
	bool gzip;
	uint8_t *prefix; /* before each part's wire bytes, or NULL */
	size_t prefix_len;
	struct part *parts;
	size_t n_parts, cap;
	int err;
};

struct pf_otlpexp_encoder {
	struct pf_component *c;
	struct pf_queue *q;
	const struct pf_otlpexp_config *cfg;
	bool gzip;
	pf_otlpexp_prefix_fn prefix;
	void *prefix_arg;
	struct pf_work *work; /* NULL once it has freed itself */
	bool started;
	bool draining;
	void (*closed)(void *arg); /* after the pool freed itself */
	void *closed_arg;
};

/* On the pool thread: one encoded request becomes a queued payload. */
static int collect_part(void *arg, uint8_t *bytes, size_t size, size_t samples)
{
	struct encode_job *j = arg;
	struct pf_otlpexp_payload hdr = {.samples = samples};
	const uint8_t *wire = bytes;
	uint8_t *zipped = NULL, *payload;
	size_t wire_size = size;
	int ret = 0;

	hdr.profiles = count_profiles(bytes, size);
	if (j->gzip) {
		ret = pf_gzip_compress(bytes, size, GZIP_LEVEL, &zipped, &wire_size);
		if (ret < 0)
			goto out_free_bytes;
		wire = zipped;
		hdr.flags |= PF_OTLPEXP_GZIPPED;
	}
	if (j->n_parts == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 4;
		struct part *grown = calloc(cap, sizeof(*grown));

		if (!grown) {
			ret = -ENOMEM;
			goto out_free_zipped;
		}
		if (j->n_parts)
			memcpy(grown, j->parts, j->n_parts * sizeof(*grown));
		free(j->parts);
		j->parts = grown;
		j->cap = cap;
	}
	payload = malloc(PF_OTLPEXP_HEADER + j->prefix_len + wire_size);
	if (!payload) {
		ret = -ENOMEM;
		goto out_free_zipped;
	}
	memcpy(payload, &hdr, PF_OTLPEXP_HEADER);
	if (j->prefix_len)
		memcpy(payload + PF_OTLPEXP_HEADER, j->prefix, j->prefix_len);
	memcpy(payload + PF_OTLPEXP_HEADER + j->prefix_len, wire, wire_size);
	j->parts[j->n_parts++] =
		(struct part){payload, PF_OTLPEXP_HEADER + j->prefix_len + wire_size, samples};
out_free_zipped:
	free(zipped);
out_free_bytes:
	free(bytes);
	return ret;
}

static void encode_run(void *arg, const struct pf_batch *batch, void *job)
{
	const struct pf_otlpexp_encoder *enc = arg;
	struct encode_job *j = job;
	int ret;

	j->gzip = enc->gzip;
	if (enc->prefix &&
	    (ret = enc->prefix(enc->prefix_arg, batch, &j->prefix, &j->prefix_len)) < 0) {
		j->err = ret;
		return;
	}
	ret = pf_otlp_encode_parts(batch, (size_t)enc->cfg->max_request_size, collect_part, j);
	if (ret < 0)
		j->err = ret;
}

static void free_parts(struct encode_job *j)
{
	for (size_t i = 0; i < j->n_parts; i++)
		free(j->parts[i].payload);
	free(j->parts);
	free(j->prefix);
}

/*
 * Back on the loop: queues every part of the batch as one (all or none,
 * into the room consume reserved) and returns the batch's answer: PF_OK
 * once queued; PF_BUSY when it could not be (no room, a full disk, out of
 * memory: the client may retry); -EMSGSIZE when a part alone exceeds the
 * queue. The queue counts what it refuses.
 */
static int encode_finish(void *arg, struct pf_batch *batch, void *job, int status)
{
	struct pf_otlpexp_encoder *enc = arg;
	struct encode_job *j = job;
	const struct pf_logger *lg = pf_component_logger(enc->c);
	uint64_t total = pf_batch_sample_count(batch);
	struct pf_queue_request *reqs = NULL;
	int ret = j->err < 0 ? j->err : status;

	if (ret < 0) {
		if (ret != -ECANCELED)
			pf_log(lg, PF_LOG_ERROR, "encoding a batch of %" PRIu64 " samples: %s",
			       total, strerror(-ret));
		pf_queue_release(enc->q, &j->room);
		pf_component_count(enc->c, PF_CTR_EXPORTER_ENQUEUE_FAILED, total);
		goto out_free_parts;
	}
	reqs = calloc(j->n_parts ? j->n_parts : 1, sizeof(*reqs));
	if (!reqs) {
		ret = -ENOMEM;
		pf_queue_release(enc->q, &j->room);
		pf_component_count(enc->c, PF_CTR_EXPORTER_ENQUEUE_FAILED, total);
		goto out_free_parts;
	}
	for (size_t i = 0; i < j->n_parts; i++)
		reqs[i] = (struct pf_queue_request){j->parts[i].payload, j->parts[i].size,
						    j->parts[i].samples};
	ret = pf_queue_enqueue_all(enc->q, reqs, j->n_parts, &j->room);
	free(reqs);
	if (ret == PF_OK) {
		free(j->parts);
		free(j->prefix);
		return PF_OK;
	}
	if (ret != PF_BUSY)
		pf_log(lg, PF_LOG_WARN, "a batch of %" PRIu64 " samples not queued: %s", total,
		       strerror(-ret));
out_free_parts:
	free_parts(j);
	return ret == -EMSGSIZE ? ret : PF_BUSY;
}

static void encode_closed(void *arg)
{
	struct pf_otlpexp_encoder *enc = arg;

	enc->work = NULL;
	enc->closed(enc->closed_arg);
}

struct pf_otlpexp_encoder *pf_otlpexp_encoder_new(struct pf_component *c, struct pf_queue *q,
						  const struct pf_otlpexp_config *cfg, bool gzip)
{
	struct pf_work_ops ops = {
		.run = encode_run,
		.finish = encode_finish,
		.closed = encode_closed,
		.job_size = sizeof(struct encode_job),
		.max_running = MAX_ENCODING,
		.max_queued = 0,
		.verb = "encoded",
	};
	struct pf_otlpexp_encoder *enc = calloc(1, sizeof(*enc));

	if (!enc)
		return NULL;
	enc->c = c;
	enc->q = q;
	enc->cfg = cfg;
	enc->gzip = gzip;
	enc->work = pf_work_create(c, &ops, enc);
	if (!enc->work) {
		free(enc);
		return NULL;
	}
	return enc;
}

/*
 * With storage file, PF_OK promises the batch is on disk: a gateway answers
 * its agent when consume returns, and an agent whose request was answered
 * never sends it again. So the batch is encoded and its files are written
 * here, on the loop, as the Collector's persistent queue marshals in the
 * caller's goroutine, and consume returns whether they were; the in-memory
 * queue, which a crash empties anyway, encodes on the thread pool into room
 * reserved here, and the receiver's answer waits for it (the batch's
 * acknowledgement, held by pipeline/work).
 */
static int encode_now(struct pf_otlpexp_encoder *enc, struct pf_batch *b)
{
	struct encode_job j = {0};

	encode_run(enc, b, &j);
	return encode_finish(enc, b, &j, 0);
}

int pf_otlpexp_encoder_consume(struct pf_otlpexp_encoder *enc, struct pf_batch *b)
{
	size_t samples = pf_batch_sample_count(b), estimate, limit;
	struct encode_job j = {0};
	int ret;

	if (enc->draining)
		return -ESHUTDOWN;
	if (samples == 0)
		return PF_OK;
	if (enc->cfg->queue.storage == PF_QUEUE_STORAGE_FILE)
		return encode_now(enc, b);
	estimate = pf_otlp_estimate_size(b);
	if (enc->gzip)
		estimate /= 4; /* profiles compress well; only a hint for the bytes sizer */
	limit = (size_t)enc->cfg->max_request_size;
	if (!enc->started) {
		/* the first batch comes after the exporter's start: the loop runs */
		ret = pf_work_start(enc->work);
		if (ret < 0)
			return ret;
		enc->started = true;
	}
	ret = pf_queue_reserve(enc->q, estimate < limit ? estimate : limit, samples, &j.room);
	if (ret != PF_OK)
		return ret;
	ret = pf_work_submit_job(enc->work, b, &j);
	if (ret != PF_OK)
		pf_queue_release(enc->q, &j.room);
	return ret;
}

void pf_otlpexp_encoder_prefix(struct pf_otlpexp_encoder *enc, pf_otlpexp_prefix_fn fn, void *arg)
{
	enc->prefix = fn;
	enc->prefix_arg = arg;
}

void pf_otlpexp_encoder_drain(struct pf_otlpexp_encoder *enc, void (*idle)(void *arg), void *arg)
{
	enc->draining = true;
	pf_work_drain(enc->work, idle, arg);
}

void pf_otlpexp_encoder_destroy(struct pf_otlpexp_encoder *enc)
{
	if (!enc)
		return;
	pf_work_destroy(enc->work);
	free(enc);
}

int pf_otlpexp_consume(struct pf_otlpexp_base *base, struct pf_batch *b)
{
	if (base->stopping)
		return -ESHUTDOWN;
	return pf_otlpexp_encoder_consume(base->enc, b);
}

static void on_encoder_closed(void *arg)
{
	struct pf_otlpexp_base *base = arg;

	base->destroy(base->exporter); /* the encoder too */
}

static void on_client_closed(void *arg)
{
	struct pf_otlpexp_base *base = arg;
	struct pf_otlpexp_encoder *enc = base->enc;

	/* last, the encoder's pool closes: then the exporter is freed and the
	 * component told */
	enc->closed = on_encoder_closed;
	enc->closed_arg = base;
	pf_work_shutdown(enc->work, base->done);
}

static void on_queue_closed(void *arg)
{
	struct pf_otlpexp_base *base = arg;

	base->close_client(base->exporter, on_client_closed, base);
}

static void on_encoded(void *arg)
{
	struct pf_otlpexp_base *base = arg;

	pf_queue_shutdown(base->queue, pf_queue_shutdown_deadline(base->c), on_queue_closed, base);
}

void pf_otlpexp_shutdown(struct pf_otlpexp_base *base, pf_done_fn done)
{
	if (base->stopping)
		return;
	base->stopping = true;
	base->done = done;
	/* batches being encoded are queued first, then the queue drains */
	pf_otlpexp_encoder_drain(base->enc, on_encoded, base);
}

void pf_otlpexp_payload(const void *data, size_t size, struct pf_otlpexp_payload *hdr,
			const uint8_t **wire, size_t *wire_size)
{
	memset(hdr, 0, sizeof(*hdr));
	if (size < PF_OTLPEXP_HEADER) {
		*wire = data;
		*wire_size = size;
		return;
	}
	memcpy(hdr, data, PF_OTLPEXP_HEADER);
	*wire = (const uint8_t *)data + PF_OTLPEXP_HEADER;
	*wire_size = size - PF_OTLPEXP_HEADER;
}

uint64_t pf_otlpexp_partial(struct pf_component *c, const struct pf_otlpexp_payload *hdr,
			    const void *body, size_t size, bool json)
{
	struct pf_error err = {0};
	char message[512] = "";
	int64_t rejected = 0;
	uint64_t samples;
	int ret;

	if (size == 0)
		return 0;
	ret = pf_otlp_decode_response(body, size, json, &rejected, message, sizeof(message), &err);
	if (ret < 0) {
		pf_component_count(c, PF_CTR_INPUT_ERRORS, 1);
		pf_log(pf_component_logger(c), PF_LOG_DEBUG, "unreadable response: %s", err.msg);
		return 0;
	}
	if (ret == 0 || (rejected <= 0 && !message[0]))
		return 0;
	if (rejected <= 0) {
		pf_log(pf_component_logger(c), PF_LOG_WARN, "server warning: %s", message);
		return 0;
	}
	if (hdr->profiles == 0 || (uint64_t)rejected >= hdr->profiles)
		samples = hdr->samples;
	else
		samples = hdr->samples * (uint64_t)rejected / hdr->profiles;
	pf_log(pf_component_logger(c), PF_LOG_WARN,
	       "partial success: %" PRId64 " profiles (about %" PRIu64
	       " samples) rejected, not retried: %s",
	       rejected, samples, message[0] ? message : "(no message)");
	return samples;
}

void pf_otlpexp_clean_text(const void *text, size_t len, char *out, size_t size)
{
	const unsigned char *s = text;
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < size; i++)
		out[n++] = (s[i] < 0x20 || s[i] == 0x7f) ? ' ' : (char)s[i];
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}
