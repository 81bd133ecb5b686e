// SPDX-License-Identifier: Apache-2.0
/* Keeps OTLP samples out of protobuf-c: strips them from a request and parses each one by hand. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/internal.h"
#include "formats/pb_wire.h"

/*
 * Samples are a large part of a request. Unpacking each into its own
 * protobuf-c message costs an allocation, an init and a descriptor walk per
 * sample, so the request is first copied without them (every enclosing
 * ResourceProfiles, ScopeProfiles and Profile gets a fixed five-byte length,
 * a valid if not minimal varint) while the position of each sample is noted;
 * samples are then read straight from the input, one at a time, into
 * reusable arrays. The hot dictionary tables are left out the same way and
 * read by dict.c.
 */

/* Field numbers on the path to the samples. */
enum {
	F_RESOURCE_PROFILES = 1,
	F_DICTIONARY = 2,
	F_SCOPE_PROFILES = 2,
	F_PROFILES = 2,
	F_SAMPLES = 2
};

enum level { L_REQUEST, L_DICTIONARY, L_RESOURCE, L_SCOPE, L_PROFILE };

struct strip {
	uint8_t *out;			/* NULL while counting */
	size_t n;			/* bytes written */
	size_t samples, profiles, dict; /* counted in the first pass */
	struct pf_otlp_spans *sp;
};

int pf_otlp_grow(void **arr, size_t *cap, size_t used, size_t more, size_t size)
{
	if (used + more <= *cap)
		return 0;
	size_t cap2 = *cap ? *cap : 64;
	while (cap2 < used + more) {
		if (cap2 > SIZE_MAX / 2 / size)
			return -ENOMEM;
		cap2 *= 2;
	}
	/* Not zeroed: every user writes an entry before it counts it. */
	void *n = realloc(*arr, cap2 * size);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = cap2;
	return 0;
}

static void put(struct strip *s, const void *data, size_t len)
{
	if (s->out)
		memcpy(s->out + s->n, data, len);
	s->n += len;
}

static int strip_level(struct strip *s, enum level lv, const uint8_t *data, size_t size);

/* A sub-message re-emitted with a five-byte length filled in afterwards. */
static int wrapper(struct strip *s, uint32_t field, enum level lv, const uint8_t *sub, size_t len)
{
	uint8_t key = (uint8_t)(field << 3 | PF_PB_LEN);

	if (lv == L_PROFILE)
		s->profiles++;
	put(s, &key, 1);
	size_t at = s->n;
	s->n += 5;
	if (lv == L_PROFILE && s->out) {
		struct pf_otlp_spans *sp = s->sp;
		if (pf_otlp_grow((void **)&sp->first, &sp->cap_profiles, sp->n_profiles, 2,
				 sizeof(*sp->first)))
			return -ENOMEM;
		sp->first[sp->n_profiles++] = sp->n;
		sp->first[sp->n_profiles] = sp->n;
	}
	int rc = strip_level(s, lv, sub, len);
	if (rc < 0)
		return rc;
	if (s->out) {
		size_t n = s->n - at - 5;
		for (int i = 0; i < 5; i++)
			s->out[at + i] = (uint8_t)(((n >> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0));
	}
	if (lv == L_PROFILE && s->out)
		s->sp->first[s->sp->n_profiles] = s->sp->n;
	return 0;
}

static int strip_level(struct strip *s, enum level lv, const uint8_t *data, size_t size)
{
	struct pf_pb_cursor c = {data, data + size};

	while (c.p < c.end) {
		const uint8_t *start = c.p, *sub;
		uint32_t field;
		unsigned wire;
		size_t len;
		int rc;

		if (!pf_pb_read_key(&c, &field, &wire))
			return -EINVAL;
		if (wire != PF_PB_LEN) {
			if (!pf_pb_skip(&c, wire))
				return -EINVAL;
			put(s, start, (size_t)(c.p - start));
			continue;
		}
		if (!pf_pb_read_len(&c, &sub, &len))
			return -EINVAL;
		if (lv == L_REQUEST && field == F_RESOURCE_PROFILES)
			rc = wrapper(s, field, L_RESOURCE, sub, len);
		else if (lv == L_REQUEST && field == F_DICTIONARY)
			rc = wrapper(s, field, L_DICTIONARY, sub, len);
		else if (lv == L_DICTIONARY && pf_otlp_dict_field(field)) {
			struct pf_otlp_spans *sp = s->sp;
			rc = 0;
			s->dict++;
			if (s->out) {
				if (pf_otlp_grow((void **)&sp->dict, &sp->cap_dict, sp->n_dict, 1,
						 sizeof(*sp->dict)))
					return -ENOMEM;
				sp->dict[sp->n_dict++] =
					(struct pf_otlp_span){.p = sub, .len = len, .field = field};
			}
		} else if (lv == L_RESOURCE && field == F_SCOPE_PROFILES)
			rc = wrapper(s, field, L_SCOPE, sub, len);
		else if (lv == L_SCOPE && field == F_PROFILES)
			rc = wrapper(s, field, L_PROFILE, sub, len);
		else if (lv == L_PROFILE && field == F_SAMPLES) {
			struct pf_otlp_spans *sp = s->sp;
			rc = 0;
			s->samples++;
			if (s->out) {
				if (pf_otlp_grow((void **)&sp->data, &sp->cap, sp->n, 1,
						 sizeof(*sp->data)) ||
				    pf_otlp_grow((void **)&sp->len, &sp->cap_len, sp->n, 1,
						 sizeof(*sp->len)))
					return -ENOMEM;
				sp->data[sp->n] = sub;
				sp->len[sp->n++] = len;
			}
		} else {
			put(s, start, (size_t)(c.p - start));
			rc = 0;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int pf_otlp_strip_samples(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size,
			  struct pf_otlp_spans *sp)
{
	struct strip s = {.sp = sp};
	int rc = strip_level(&s, L_REQUEST, data, size);

	if (rc < 0)
		return rc;
	/* The first pass counted everything: no growing in the second. */
	if (pf_otlp_grow((void **)&sp->data, &sp->cap, sp->n, s.samples, sizeof(*sp->data)) ||
	    pf_otlp_grow((void **)&sp->len, &sp->cap_len, sp->n, s.samples, sizeof(*sp->len)) ||
	    pf_otlp_grow((void **)&sp->first, &sp->cap_profiles, sp->n_profiles, s.profiles + 2,
			 sizeof(*sp->first)) ||
	    pf_otlp_grow((void **)&sp->dict, &sp->cap_dict, sp->n_dict, s.dict, sizeof(*sp->dict)))
		return -ENOMEM;
	s = (struct strip){.out = malloc(s.n + 1), .sp = sp};
	if (!s.out)
		return -ENOMEM;
	rc = strip_level(&s, L_REQUEST, data, size);
	if (rc < 0) {
		free(s.out);
		return rc;
	}
	*out = s.out;
	*out_size = s.n;
	return 0;
}

void pf_otlp_spans_fini(struct pf_otlp_spans *sp)
{
	free(sp->dict);
	free(sp->data);
	free(sp->len);
	free(sp->first);
	free(sp->attrs);
	free(sp->values);
	free(sp->ts);
	memset(sp, 0, sizeof(*sp));
}

size_t pf_otlp_n_samples(const struct pf_otlp_spans *sp, size_t p, const PF_OTLP_PB(Profile) * pr)
{
	if (!sp)
		return pr->n_samples;
	return p < sp->n_profiles ? sp->first[p + 1] - sp->first[p] : 0;
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

static int parse(struct pf_otlp_spans *sp, size_t p, size_t i, const uint8_t *data, size_t size,
		 struct pf_otlp_sample *out, struct pf_error *err)
{
	struct pf_pb_cursor c = {data, data + size};
	size_t na = 0, nv = 0, nt = 0;

	memset(out, 0, sizeof(*out));
	while (c.p < c.end) {
		uint32_t field;
		unsigned wire;
		uint64_t v;
		const uint8_t *sub;
		size_t len;

		if (!pf_pb_read_key(&c, &field, &wire))
			goto bad;
		if (field < 1 || field > 5) {
			if (!pf_pb_skip(&c, wire))
				goto bad;
			continue;
		}
		if (field == 1 || field == 3) {
			if (wire != PF_PB_VARINT)
				return layout_error(err, p, i, field, wire);
			if (!pf_pb_read_varint(&c, &v))
				goto bad;
			if (field == 1)
				out->stack_index = (int32_t)v;
			else
				out->link_index = (int32_t)v;
			continue;
		}
		if (field == 5) {
			if (wire == PF_PB_FIXED64) {
				sub = c.p;
				len = 8;
				if (!pf_pb_skip(&c, wire))
					goto bad;
			} else if (wire != PF_PB_LEN) {
				return layout_error(err, p, i, field, wire);
			} else if (!pf_pb_read_len(&c, &sub, &len) || len % 8) {
				goto bad;
			}
			if (pf_otlp_grow((void **)&sp->ts, &sp->cap_ts, nt, len / 8,
					 sizeof(*sp->ts)))
				return -ENOMEM;
			for (size_t k = 0; k < len; k += 8) {
				uint64_t x = 0;
				for (int b = 7; b >= 0; b--)
					x = x << 8 | sub[k + (size_t)b];
				sp->ts[nt++] = x;
			}
			continue;
		}
		/* 2: attribute indices (int32), 4: values (int64); packed or not. */
		struct pf_pb_cursor vc;
		if (wire == PF_PB_VARINT) {
			vc = c;
			if (!pf_pb_read_varint(&c, &v))
				goto bad;
			vc.end = c.p;
		} else if (wire == PF_PB_LEN) {
			if (!pf_pb_read_len(&c, &sub, &len))
				goto bad;
			vc = (struct pf_pb_cursor){sub, sub + len};
		} else {
			return layout_error(err, p, i, field, wire);
		}
		size_t most = (size_t)(vc.end - vc.p);
		if (field == 2 ? pf_otlp_grow((void **)&sp->attrs, &sp->cap_attrs, na, most,
					      sizeof(*sp->attrs))
			       : pf_otlp_grow((void **)&sp->values, &sp->cap_values, nv, most,
					      sizeof(*sp->values)))
			return -ENOMEM;
		while (vc.p < vc.end) {
			if (!pf_pb_read_varint(&vc, &v))
				goto bad;
			if (field == 2)
				sp->attrs[na++] = (int32_t)v;
			else
				sp->values[nv++] = (int64_t)v;
		}
	}
	out->attribute_indices = sp->attrs;
	out->n_attribute_indices = na;
	out->values = sp->values;
	out->n_values = nv;
	out->timestamps = sp->ts;
	out->n_timestamps = nt;
	return 0;
bad:
	return pf_error_set(err, "", "profile %zu sample %zu: malformed protobuf", p, i);
}

int pf_otlp_sample_get(struct pf_otlp_spans *sp, size_t p, const PF_OTLP_PB(Profile) * pr, size_t i,
		       struct pf_otlp_sample *out, struct pf_error *err)
{
	if (sp) {
		size_t k = sp->first[p] + i;
		return parse(sp, p, i, sp->data[k], sp->len[k], out, err);
	}
	const PF_OTLP_PB(Sample) *s = pr->samples[i];
	*out = (struct pf_otlp_sample){
		.stack_index = s->stack_index,
		.link_index = s->link_index,
		.attribute_indices = s->attribute_indices,
		.n_attribute_indices = s->n_attribute_indices,
		.values = s->values,
		.n_values = s->n_values,
		.timestamps = s->timestamps_unix_nano,
		.n_timestamps = s->n_timestamps_unix_nano,
	};
	return 0;
}
