// SPDX-License-Identifier: Apache-2.0
/* One pass over an OTLP request: the hot parts read by hand, the rest copied for protobuf-c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/internal.h"
#include "formats/pb_wire.h"

/*
 * Samples and the string, function, location and stack tables are nearly
 * all of a request. They are read as the walk meets them (samples.c,
 * dict.c); everything else is copied into a smaller request for protobuf-c,
 * in which every enclosing message on the way (dictionary,
 * ResourceProfiles, ScopeProfiles, Profile) gets a fixed five-byte length,
 * a valid if not minimal varint, filled in once its content is copied.
 */

/* Field numbers on the path to the samples and the hot tables. */
enum {
	F_RESOURCE_PROFILES = 1,
	F_DICTIONARY = 2,
	F_SCOPE_PROFILES = 2,
	F_PROFILES = 2,
	F_SAMPLES = 2
};

enum level { L_REQUEST, L_DICTIONARY, L_RESOURCE, L_SCOPE, L_PROFILE };

struct strip {
	uint8_t *out;
	size_t n, cap;
	const uint8_t *base; /* the input, for offsets in messages */
	struct pf_otlp_dict *dict;
	struct pf_otlp_samples *smp;
	struct pf_error *err;
};

static int put(struct strip *s, const void *data, size_t len)
{
	if (pf_otlp_grow(s->smp->meter, (void **)&s->out, &s->cap, s->n, len, 1))
		return -ENOMEM;
	memcpy(s->out + s->n, data, len);
	s->n += len;
	return 0;
}

static int strip_level(struct strip *s, enum level lv, const uint8_t *data, size_t size);

/* A message on the way, copied with a five-byte length filled in after. */
static int wrapper(struct strip *s, uint32_t field, enum level lv, const uint8_t *sub, size_t len)
{
	static const uint8_t room[5];
	uint8_t key = (uint8_t)(field << 3 | PF_PB_LEN);
	size_t at, n;
	int rc;

	if (put(s, &key, 1) < 0)
		return -ENOMEM;
	at = s->n;
	if (put(s, room, sizeof(room)) < 0)
		return -ENOMEM;
	if (lv == L_PROFILE && pf_otlp_samples_begin_profile(s->smp) < 0)
		return -ENOMEM;
	rc = strip_level(s, lv, sub, len);
	if (rc < 0)
		return rc;
	n = s->n - at - 5;
	for (int i = 0; i < 5; i++)
		s->out[at + i] = (uint8_t)(((n >> (7 * i)) & 0x7f) | (i < 4 ? 0x80 : 0));
	return 0;
}

/* What take() returns for a field it read or walked into. */
static int taken(int rc)
{
	return rc < 0 ? rc : 1;
}

/* Handles one length-delimited field of level lv: 1 when it was taken (read
 * or walked into), 0 when it is to be copied, or a negative errno. */
static int take(struct strip *s, enum level lv, uint32_t field, const uint8_t *sub, size_t len)
{
	switch (lv) {
	case L_REQUEST:
		if (field == F_RESOURCE_PROFILES)
			return taken(wrapper(s, field, L_RESOURCE, sub, len));
		if (field == F_DICTIONARY)
			return taken(wrapper(s, field, L_DICTIONARY, sub, len));
		return 0;
	case L_DICTIONARY:
		if (!pf_otlp_dict_field(field))
			return 0;
		return taken(pf_otlp_dict_add(s->dict, field, sub, len, s->base, s->err));
	case L_RESOURCE:
		if (field == F_SCOPE_PROFILES)
			return taken(wrapper(s, field, L_SCOPE, sub, len));
		return 0;
	case L_SCOPE:
		if (field == F_PROFILES)
			return taken(wrapper(s, field, L_PROFILE, sub, len));
		return 0;
	case L_PROFILE:
		if (field == F_SAMPLES)
			return taken(pf_otlp_samples_add(s->smp, sub, len, s->err));
		return 0;
	}
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
		int rc = 0;

		if (!pf_pb_read_key(&c, &field, &wire))
			return -EINVAL;
		if (wire != PF_PB_LEN) {
			if (!pf_pb_skip(&c, wire))
				return -EINVAL;
		} else {
			if (!pf_pb_read_len(&c, &sub, &len))
				return -EINVAL;
			rc = take(s, lv, field, sub, len);
			if (rc < 0)
				return rc;
		}
		if (rc == 0 && put(s, start, (size_t)(c.p - start)) < 0)
			return -ENOMEM;
	}
	return 0;
}

int pf_otlp_strip(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size,
		  struct pf_otlp_dict *dict, struct pf_otlp_samples *smp, struct pf_error *err)
{
	struct strip s = {.base = data, .dict = dict, .smp = smp, .err = err};
	int rc = strip_level(&s, L_REQUEST, data, size);

	if (rc == 0 && !s.out && pf_otlp_grow(smp->meter, (void **)&s.out, &s.cap, 0, 1, 1))
		rc = -ENOMEM; /* nothing to copy: still a buffer */
	if (rc < 0) {
		free(s.out);
		return rc;
	}
	*out = s.out;
	*out_size = s.n;
	return 0;
}
