// SPDX-License-Identifier: Apache-2.0
/* Reads OTLP Sample messages by hand into flat rows, once per request. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/internal.h"
#include "formats/pb_wire.h"

/*
 * Samples are a large part of a request. Unpacking each into its own
 * protobuf-c message costs an allocation, an init and a descriptor walk per
 * sample, so pf_otlp_strip() hands each Sample here as it passes: its
 * indices go into a row and its lists into three pools shared by every
 * sample, which the validator and the converter then both read.
 */

int pf_otlp_grow_slow(struct pf_budget_meter *m, void **arr, size_t *cap, size_t used, size_t more,
		      size_t size)
{
	size_t cap2 = *cap ? *cap : 64;

	if (more > SIZE_MAX - used)
		return -ENOMEM;
	while (cap2 < used + more) {
		if (cap2 > SIZE_MAX / 2 / size)
			return -ENOMEM;
		cap2 *= 2;
	}
	if (pf_budget_charge(m, (cap2 - *cap) * size) < 0)
		return -ENOMEM;
	/* Not zeroed: every user writes an entry before it counts it. */
	void *n = realloc(*arr, cap2 * size);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = cap2;
	return 0;
}

int pf_otlp_samples_begin_profile(struct pf_otlp_samples *s)
{
	if (pf_otlp_grow(s->meter, (void **)&s->first, &s->cap_profiles, s->n_profiles, 2,
			 sizeof(*s->first)))
		return -ENOMEM;
	s->first[s->n_profiles++] = s->n;
	s->first[s->n_profiles] = s->n;
	return 0;
}

void pf_otlp_samples_fini(struct pf_otlp_samples *s)
{
	free(s->rows);
	free(s->first);
	free(s->attrs);
	free(s->values);
	free(s->ts);
	memset(s, 0, sizeof(*s));
}

static int layout_error(struct pf_error *err, size_t p, size_t i, uint32_t field, unsigned wire)
{
	return pf_error_set(err, "",
			    "profile %zu sample %zu: field %u has wire type %u, which the proto "
			    "v1.10+ layout does not allow: the request looks like the old v1.9 "
			    "Sample layout (values=2, attribute_indices=3, link_index=4), which is "
			    "not supported",
			    p, i, field, wire);
}

/* A repeated varint field (one value, or packed) as the span of its varints. */
static bool varints(struct pf_pb_cursor *c, unsigned wire, struct pf_pb_cursor *vc)
{
	const uint8_t *sub;
	size_t len;
	uint64_t v;

	if (wire == PF_PB_VARINT) {
		*vc = *c;
		if (!pf_pb_read_varint(c, &v))
			return false;
		vc->end = c->p;
		return true;
	}
	if (!pf_pb_read_len(c, &sub, &len))
		return false;
	*vc = (struct pf_pb_cursor){sub, sub + len};
	return true;
}

/* Timestamps: fixed64, packed or not, appended to the pool. */
static int fixed64s(struct pf_otlp_samples *s, struct pf_pb_cursor *c, unsigned wire)
{
	const uint8_t *sub = c->p;
	size_t len = 8;

	if (wire == PF_PB_FIXED64) {
		if (!pf_pb_skip(c, wire))
			return -EINVAL;
	} else if (!pf_pb_read_len(c, &sub, &len) || len % 8) {
		return -EINVAL;
	}
	if (pf_otlp_grow(s->meter, (void **)&s->ts, &s->cap_ts, s->n_ts, len / 8, sizeof(*s->ts)))
		return -ENOMEM;
	for (size_t k = 0; k < len; k += 8) {
		uint64_t x = 0;
		for (int b = 7; b >= 0; b--)
			x = x << 8 | sub[k + (size_t)b];
		s->ts[s->n_ts++] = x;
	}
	return 0;
}

/* Attribute indices (int32) or values (int64), appended to their pool. */
static int ints(struct pf_otlp_samples *s, uint32_t field, struct pf_pb_cursor *vc)
{
	size_t most = (size_t)(vc->end - vc->p); /* a varint takes a byte at least */
	uint64_t v;

	if (field == 2 ? pf_otlp_grow(s->meter, (void **)&s->attrs, &s->cap_attrs, s->n_attrs, most,
				      sizeof(*s->attrs))
		       : pf_otlp_grow(s->meter, (void **)&s->values, &s->cap_values, s->n_values,
				      most, sizeof(*s->values)))
		return -ENOMEM;
	while (vc->p < vc->end) {
		if (!pf_pb_read_varint(vc, &v))
			return -EINVAL;
		if (field == 2)
			s->attrs[s->n_attrs++] = (int32_t)v;
		else
			s->values[s->n_values++] = (int64_t)v;
	}
	return 0;
}

/* Reads the fields of one Sample into r and the pools; the last scalar
 * wins and repeated fields accumulate, as protobuf-c would have it. */
static int read_fields(struct pf_otlp_samples *s, size_t p, size_t i, const uint8_t *data,
		       size_t size, struct pf_otlp_row *r, struct pf_error *err)
{
	struct pf_pb_cursor c = {data, data + size}, vc;
	uint32_t field;
	unsigned wire;
	uint64_t v;
	int rc;

	while (c.p < c.end) {
		if (!pf_pb_read_key(&c, &field, &wire))
			return -EINVAL;
		switch (field) {
		case 1:
		case 3:
			if (wire != PF_PB_VARINT)
				return layout_error(err, p, i, field, wire);
			if (!pf_pb_read_varint(&c, &v))
				return -EINVAL;
			if (field == 1)
				r->stack_index = (int32_t)v;
			else
				r->link_index = (int32_t)v;
			break;
		case 2:
		case 4:
			if (wire != PF_PB_VARINT && wire != PF_PB_LEN)
				return layout_error(err, p, i, field, wire);
			if (!varints(&c, wire, &vc))
				return -EINVAL;
			rc = ints(s, field, &vc);
			if (rc < 0)
				return rc;
			break;
		case 5:
			if (wire != PF_PB_FIXED64 && wire != PF_PB_LEN)
				return layout_error(err, p, i, field, wire);
			rc = fixed64s(s, &c, wire);
			if (rc < 0)
				return rc;
			break;
		default:
			if (!pf_pb_skip(&c, wire))
				return -EINVAL;
		}
	}
	return 0;
}

int pf_otlp_samples_add(struct pf_otlp_samples *s, const uint8_t *data, size_t size,
			struct pf_error *err)
{
	size_t p = s->n_profiles - 1, i = s->n - s->first[p];
	struct pf_otlp_row r = {.attrs_off = (uint32_t)s->n_attrs,
				.values_off = (uint32_t)s->n_values,
				.ts_off = (uint32_t)s->n_ts};
	int rc;

	if (pf_otlp_grow(s->meter, (void **)&s->rows, &s->cap, s->n, 1, sizeof(*s->rows)))
		return -ENOMEM;
	rc = read_fields(s, p, i, data, size, &r, err);
	if (rc == -EINVAL && !pf_error_isset(err))
		rc = pf_error_set(err, "", "profile %zu sample %zu: malformed protobuf", p, i);
	if (rc < 0)
		return rc;
	r.n_attrs = (uint32_t)(s->n_attrs - r.attrs_off);
	r.n_values = (uint32_t)(s->n_values - r.values_off);
	r.n_ts = (uint32_t)(s->n_ts - r.ts_off);
	s->rows[s->n++] = r;
	s->first[s->n_profiles] = s->n;
	return 0;
}

size_t pf_otlp_n_samples(const struct pf_otlp_samples *smp, size_t p,
			 const PF_OTLP_PB(Profile) * pr)
{
	if (!smp)
		return pr->n_samples;
	return p < smp->n_profiles ? smp->first[p + 1] - smp->first[p] : 0;
}
