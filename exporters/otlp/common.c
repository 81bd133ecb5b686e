/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the otlp and otlphttp exporters: validation, batch -> queued requests, responses. */
#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gzip.h"
#include "formats/otlp/otlp.h"
#include "pipeline/batch.h"

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

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t byte = *(*p)++;

		*v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return 0;
	}
	return -EINVAL;
}

/* Counts occurrences of the length-delimited field `want` at `depth` 0,
 * descending through field 1 (resource_profiles) and then 2
 * (scope_profiles) first: `path` lists the field to follow at each level. */
static uint32_t count_field(const uint8_t *p, const uint8_t *end, const int *path, int depth)
{
	uint32_t n = 0;

	while (p < end) {
		uint64_t key, len;

		if (read_varint(&p, end, &key) < 0)
			return n;
		switch (key & 7) {
		case 0:
			if (read_varint(&p, end, &len) < 0)
				return n;
			break;
		case 1: p += 8; break;
		case 5: p += 4; break;
		case 2:
			if (read_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p))
				return n;
			if ((int)(key >> 3) == path[0])
				n += depth == 0 ? 1 : count_field(p, p + len, path + 1, depth - 1);
			p += len;
			break;
		default: return n;
		}
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

/* ---- into the queue ---- */

struct enqueue_ctx {
	struct pf_component *c;
	struct pf_queue *q;
	bool gzip;
	int parts;
	uint64_t failed;
};

static int enqueue_part(void *arg, uint8_t *bytes, size_t size, size_t samples)
{
	struct enqueue_ctx *ctx = arg;
	struct pf_otlpexp_payload hdr = {.samples = samples};
	const uint8_t *wire = bytes;
	uint8_t *zipped = NULL, *payload;
	size_t wire_size = size;
	int ret;

	hdr.profiles = count_profiles(bytes, size);
	if (ctx->gzip) {
		ret = pf_gzip_compress(bytes, size, GZIP_LEVEL, &zipped, &wire_size);
		if (ret < 0)
			goto out_free_bytes;
		wire = zipped;
		hdr.flags |= PF_OTLPEXP_GZIPPED;
	}
	payload = malloc(PF_OTLPEXP_HEADER + wire_size);
	if (!payload) {
		ret = -ENOMEM;
		goto out_free_zipped;
	}
	memcpy(payload, &hdr, PF_OTLPEXP_HEADER);
	memcpy(payload + PF_OTLPEXP_HEADER, wire, wire_size);
	ret = pf_queue_enqueue(ctx->q, payload, PF_OTLPEXP_HEADER + wire_size, samples);
	if (ret != PF_OK) {
		free(payload);
		if (ctx->parts == 0 && ret == PF_BUSY) {
			ret = -EBUSY; /* nothing queued yet: the caller may retry all */
			goto out_free_zipped;
		}
		/* later parts: the queue counted enqueue_failed (or we count it) */
		if (ret != PF_BUSY && ret != -EMSGSIZE)
			pf_component_count(ctx->c, PF_CTR_EXPORTER_ENQUEUE_FAILED, samples);
		ctx->failed += samples;
		ret = 0;
		goto out_free_zipped;
	}
	ctx->parts++;
out_free_zipped:
	free(zipped);
out_free_bytes:
	free(bytes);
	return ret;
}

int pf_otlpexp_consume(struct pf_component *c, struct pf_queue *q,
		       const struct pf_otlpexp_config *cfg, bool gzip, const struct pf_batch *b)
{
	struct enqueue_ctx ctx = {.c = c, .q = q, .gzip = gzip};
	size_t samples = pf_batch_sample_count(b), estimate;
	int ret;

	if (samples == 0)
		return PF_OK;
	estimate = pf_otlp_estimate_size(b);
	if (gzip)
		estimate /= 4; /* profiles compress well; only a hint for the bytes sizer */
	if (!pf_queue_has_room(q,
			       estimate < (size_t)cfg->max_request_size
				       ? estimate
				       : (size_t)cfg->max_request_size,
			       samples))
		return PF_BUSY;
	ret = pf_otlp_encode_parts(b, (size_t)cfg->max_request_size, enqueue_part, &ctx);
	if (ret == -EBUSY)
		return PF_BUSY;
	if (ret < 0) {
		pf_log(pf_component_logger(c), PF_LOG_ERROR, "encoding a batch of %zu samples: %s",
		       samples, strerror(-ret));
		pf_component_drop(c, "encode_failed", samples);
		return ret;
	}
	if (ctx.failed)
		pf_log(pf_component_logger(c), PF_LOG_WARN,
		       "queue full while splitting a batch: %" PRIu64 " of %zu samples not queued",
		       ctx.failed, samples);
	return PF_OK;
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
