// SPDX-License-Identifier: Apache-2.0
/* Whole-batch OTLP encoding entry points: one request, JSON, size-bounded parts, size estimate. */
#include <errno.h>
#include <stdlib.h>

#include "formats/otlp/internal.h"
#include "formats/otlp/otlp.h"

struct packed {
	uint8_t *buf;
	size_t size;
};

static int pack_pb(void *ctx, const ProtobufCMessage *req)
{
	struct packed *out = ctx;
	size_t n = protobuf_c_message_get_packed_size(req);

	out->buf = calloc(n ? n : 1, 1);
	if (!out->buf)
		return -ENOMEM;
	out->size = protobuf_c_message_pack(req, out->buf);
	return 0;
}

static int pack_json(void *ctx, const ProtobufCMessage *req)
{
	struct packed *out = ctx;

	return pf_otlp_json_write(req, (char **)&out->buf, &out->size);
}

/* The selection for a list of whole profiles (NULL = all). */
static struct pf_otlp_sel *select_profiles(const struct pf_batch *b, const uint32_t *profiles,
					   size_t *n)
{
	size_t total = pf_batch_n_profiles(b);
	size_t count = profiles ? *n : total;
	struct pf_otlp_sel *sel = calloc(count ? count : 1, sizeof(*sel));

	if (!sel)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		uint32_t p = profiles ? profiles[i] : (uint32_t)i;
		size_t n_samples;
		if (p >= total) {
			free(sel);
			errno = EINVAL;
			return NULL;
		}
		pf_batch_samples(b, p, &n_samples);
		sel[i] = (struct pf_otlp_sel){.profile = p, .end = (uint32_t)n_samples};
	}
	*n = count;
	return sel;
}

static int encode_with(const struct pf_batch *b, const uint32_t *profiles, size_t n_profiles,
		       pf_otlp_pack_fn pack, struct packed *out)
{
	size_t n = n_profiles;
	struct pf_otlp_sel *sel;
	int rc;

	errno = 0;
	sel = select_profiles(b, profiles, &n);
	if (!sel)
		return errno == EINVAL ? -EINVAL : -ENOMEM;
	rc = pf_otlp_encode_sel(b, sel, n, pack == pack_pb, pack, out);
	free(sel);
	return rc;
}

int pf_otlp_encode(const struct pf_batch *b, const uint32_t *profiles, size_t n_profiles,
		   uint8_t **out, size_t *out_size)
{
	struct packed p = {0};
	int rc = encode_with(b, profiles, n_profiles, pack_pb, &p);

	if (rc < 0)
		return rc;
	*out = p.buf;
	*out_size = p.size;
	return 0;
}

int pf_otlp_encode_json(const struct pf_batch *b, const uint32_t *profiles, size_t n_profiles,
			char **out, size_t *out_size)
{
	struct packed p = {0};
	int rc = encode_with(b, profiles, n_profiles, pack_json, &p);

	if (rc < 0)
		return rc;
	*out = (char *)p.buf;
	*out_size = p.size;
	return 0;
}

struct splitter {
	const struct pf_batch *b;
	size_t max_size;
	pf_otlp_part_fn fn;
	void *ctx;
	int parts;
};

static size_t sel_samples(const struct pf_otlp_sel *sel, size_t n)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += sel[i].end - sel[i].first;
	return total;
}

/* Encodes the selection; when too large, halves it (by profiles, then by the
 * samples of a lone profile) and tries each half. */
static int split(struct splitter *s, struct pf_otlp_sel *sel, size_t n)
{
	struct packed p = {0};
	int rc = pf_otlp_encode_sel(s->b, sel, n, true, pack_pb, &p);
	size_t samples = sel_samples(sel, n);

	if (rc < 0)
		return rc;
	if (p.size <= s->max_size || (n == 1 && sel[0].end - sel[0].first <= 1)) {
		rc = s->fn(s->ctx, p.buf, p.size, samples);
		if (rc < 0)
			return rc;
		s->parts++;
		return 0;
	}
	free(p.buf);
	if (n > 1) {
		/* Cut where half of the samples lie before. */
		size_t acc = 0, cut = 1;
		for (size_t i = 0; i + 1 < n; i++) {
			acc += sel[i].end - sel[i].first;
			cut = i + 1;
			if (acc * 2 >= samples)
				break;
		}
		rc = split(s, sel, cut);
		return rc < 0 ? rc : split(s, sel + cut, n - cut);
	}
	struct pf_otlp_sel halves[2] = {sel[0], sel[0]};
	halves[0].end = sel[0].first + (sel[0].end - sel[0].first) / 2;
	halves[1].first = halves[0].end;
	rc = split(s, &halves[0], 1);
	return rc < 0 ? rc : split(s, &halves[1], 1);
}

int pf_otlp_encode_parts(const struct pf_batch *b, size_t max_size, pf_otlp_part_fn fn, void *ctx)
{
	struct splitter s = {.b = b,
			     .max_size = max_size ? max_size : PF_OTLP_MAX_SIZE_DEFAULT,
			     .fn = fn,
			     .ctx = ctx};
	size_t n = 0;
	struct pf_otlp_sel *sel;
	int rc;

	if (pf_batch_n_profiles(b) == 0)
		return 0;
	sel = select_profiles(b, NULL, &n);
	if (!sel)
		return -ENOMEM;
	rc = split(&s, sel, n);
	free(sel);
	return rc < 0 ? rc : s.parts;
}

size_t pf_otlp_estimate_size(const struct pf_batch *b)
{
	size_t size = 64;

	for (uint32_t i = 0; i < pf_batch_n_strings(b); i++)
		size += pf_batch_str_len(b, i) + 6;
	size += pf_batch_n_attributes(b) * 24 + pf_batch_n_functions(b) * 24 +
		pf_batch_n_mappings(b) * 48 + pf_batch_n_links(b) * 30;
	for (uint32_t i = 0; i < pf_batch_n_locations(b); i++) {
		size_t n;
		pf_batch_location_lines(b, i, &n);
		size += 24 + n * 24;
	}
	for (uint32_t i = 0; i < pf_batch_n_stacks(b); i++) {
		size_t n;
		pf_batch_stack_get(b, i, &n);
		size += 8 + n * 5;
	}
	for (uint32_t p = 0; p < pf_batch_n_profiles(b); p++) {
		size_t n;
		const struct pf_sample *s = pf_batch_samples(b, p, &n);
		size += 160;
		for (size_t k = 0; k < n; k++) {
			size_t n_attrs;
			pf_batch_attr_set_get(b, s[k].attrs, &n_attrs);
			size += 24 + s[k].values_len * 10 + s[k].timestamps_len * 8 + n_attrs * 5;
		}
	}
	return size;
}
