// SPDX-License-Identifier: Apache-2.0
/* A batch as one Push API request: a series per resource and pprof group, each a gzipped pprof. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "formats/pprof/pprof.h"
#include "proto/pyroscope/push.pb-c.h"
#include "pyroscope.h"

void pf_pyroscope_uuid(char out[37])
{
	uint8_t r[16] = {0};
	size_t got = 0;

	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);

		if (n <= 0)
			break; /* never on Linux >= 3.17 for 16 bytes; zeros are still a UUID */
		got += (size_t)n;
	}
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* version 4 */
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80); /* variant 10 */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
		 r[13], r[14], r[15]);
}

/* One series being built; it owns its labels and raw profile. */
struct series {
	Push__V1__RawProfileSeries msg;
	Push__V1__RawSample sample;
	Push__V1__RawSample *samples[1];
	Push__V1__LabelPair *pairs;
	Push__V1__LabelPair **pair_ptrs;
	struct pf_pyroscope_labels labels;
	uint8_t *raw;
	char id[37];
};

static void series_free(struct series *s)
{
	free(s->raw);
	free(s->pair_ptrs);
	free(s->pairs);
	pf_pyroscope_labels_clear(&s->labels);
}

/* Fills s for the profiles sel[0..n); returns 0 or a negative error. */
static int series_build(struct series *s, const struct pf_batch *b, const uint32_t *sel, size_t n,
			const struct pf_pyroscope_config *cfg)
{
	Push__V1__RawProfileSeries init = PUSH__V1__RAW_PROFILE_SERIES__INIT;
	Push__V1__RawSample sinit = PUSH__V1__RAW_SAMPLE__INIT;
	Push__V1__LabelPair pinit = PUSH__V1__LABEL_PAIR__INIT;
	size_t raw_size = 0;
	int err;

	err = pf_pyroscope_series_labels(b, sel, n, cfg, false, &s->labels);
	if (err)
		return err;
	s->pairs = calloc(s->labels.n, sizeof(*s->pairs));
	s->pair_ptrs = calloc(s->labels.n, sizeof(*s->pair_ptrs));
	if (!s->pairs || !s->pair_ptrs)
		return -ENOMEM;
	for (size_t i = 0; i < s->labels.n; i++) {
		s->pairs[i] = pinit;
		s->pairs[i].name = s->labels.v[i].name;
		s->pairs[i].value = s->labels.v[i].value;
		s->pair_ptrs[i] = &s->pairs[i];
	}
	err = pf_pprof_encode(b, sel, n, true, &s->raw, &raw_size);
	if (err)
		return err;
	pf_pyroscope_uuid(s->id);
	s->sample = sinit;
	s->sample.raw_profile.data = s->raw;
	s->sample.raw_profile.len = raw_size;
	s->sample.id = s->id;
	s->samples[0] = &s->sample;
	s->msg = init;
	s->msg.n_labels = s->labels.n;
	s->msg.labels = s->pair_ptrs;
	s->msg.n_samples = 1;
	s->msg.samples = s->samples;
	return 0;
}

/* One batch's Push request, a series per group with samples. */
struct push_walk {
	const struct pf_batch *b;
	const struct pf_pyroscope_config *cfg;
	struct series *series; /* room for one per profile: no more groups */
	Push__V1__RawProfileSeries **ptrs;
	size_t n_series;
	uint64_t items;
};

/* pf_pprof_group_fn: one series per group with samples. */
static int push_next_group(void *arg, const uint32_t *sel, size_t n)
{
	struct push_walk *x = arg;
	uint64_t samples = pf_batch_sample_count_of(x->b, sel, n);
	struct series *s = &x->series[x->n_series];
	int err;

	if (samples == 0)
		return 0;
	err = series_build(s, x->b, sel, n, x->cfg);
	x->n_series++; /* freed with the others, built or not */
	if (err)
		return err;
	x->ptrs[x->n_series - 1] = &s->msg;
	x->items += samples;
	return 0;
}

int pf_pyroscope_encode_push(const struct pf_batch *b, const struct pf_pyroscope_config *cfg,
			     uint8_t **out, size_t *out_size, uint64_t *items)
{
	Push__V1__PushRequest req = PUSH__V1__PUSH_REQUEST__INIT;
	size_t np = pf_batch_n_profiles(b);
	struct push_walk x = {.b = b, .cfg = cfg};
	int err = 0;

	*out = NULL;
	*out_size = 0;
	*items = 0;
	if (np == 0)
		return 0;
	x.series = calloc(np, sizeof(*x.series));
	x.ptrs = calloc(np, sizeof(*x.ptrs));
	if (!x.series || !x.ptrs) {
		err = -ENOMEM;
		goto out_free_series;
	}
	err = pf_pprof_each_group(b, push_next_group, &x);
	if (err || x.n_series == 0)
		goto out_free_series;
	req.n_series = x.n_series;
	req.series = x.ptrs;
	*out_size = push__v1__push_request__get_packed_size(&req);
	*out = malloc(*out_size ? *out_size : 1);
	if (!*out) {
		err = -ENOMEM;
		goto out_free_series;
	}
	push__v1__push_request__pack(&req, *out);
	*items = x.items;

out_free_series:
	for (size_t i = 0; i < x.n_series; i++)
		series_free(&x.series[i]);
	free(x.ptrs);
	free(x.series);
	if (err)
		*out_size = 0;
	return err;
}
