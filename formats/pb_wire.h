/* SPDX-License-Identifier: Apache-2.0 */
/* Protocol-buffers wire primitives for streaming codecs: varints, tags, skipping. */
#ifndef PF_PB_WIRE_H
#define PF_PB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The pprof and OTLP codecs walk the top level of a large message by hand
 * (so they never hold it all unpacked) and leave each small sub-message to
 * protobuf-c. These helpers read from a bounded cursor: every read checks
 * the end and reports failure instead of reading past it.
 */

enum pf_pb_wire_type {
	PF_PB_VARINT = 0,
	PF_PB_FIXED64 = 1,
	PF_PB_LEN = 2,
	PF_PB_FIXED32 = 5,
};

struct pf_pb_cursor {
	const uint8_t *p;
	const uint8_t *end;
};

/* Reads a varint; false when truncated or longer than 10 bytes. */
static inline bool pf_pb_read_varint(struct pf_pb_cursor *c, uint64_t *v)
{
	const uint8_t *p = c->p;
	uint64_t x = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (p >= c->end)
			return false;
		uint8_t byte = *p++;
		x |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			c->p = p;
			*v = x;
			return true;
		}
	}
	return false;
}

/* Reads every varint of [p, end) (a packed repeated field) as int32 (its
 * low 32 bits, as protobuf-c reads int32) into out, which has room for
 * end - p of them. Returns how many, or -1 when one is truncated or too long.
 * Table indices are mostly one or two bytes: those take no inner loop. */
static inline ptrdiff_t pf_pb_read_packed_int32(const uint8_t *p, const uint8_t *end, int32_t *out)
{
	int32_t *o = out;

	while (p < end) {
		if (p[0] < 0x80) {
			*o++ = p[0];
			p++;
		} else if (end - p >= 2 && p[1] < 0x80) {
			*o++ = (int32_t)((uint32_t)(p[0] & 0x7f) | (uint32_t)p[1] << 7);
			p += 2;
		} else {
			struct pf_pb_cursor c = {p, end};
			uint64_t v;

			if (!pf_pb_read_varint(&c, &v))
				return -1;
			*o++ = (int32_t)v;
			p = c.p;
		}
	}
	return o - out;
}

/* Reads a field key into its number and wire type. */
static inline bool pf_pb_read_key(struct pf_pb_cursor *c, uint32_t *field, unsigned *wire)
{
	uint64_t key;
	if (!pf_pb_read_varint(c, &key) || key >> 3 == 0 || key >> 3 > 0x1fffffff)
		return false;
	*field = (uint32_t)(key >> 3);
	*wire = (unsigned)(key & 7);
	return true;
}

/* Reads the length prefix of a PF_PB_LEN field and the span it covers. */
static inline bool pf_pb_read_len(struct pf_pb_cursor *c, const uint8_t **data, size_t *len)
{
	uint64_t n;
	if (!pf_pb_read_varint(c, &n) || n > (uint64_t)(c->end - c->p))
		return false;
	*data = c->p;
	*len = (size_t)n;
	c->p += n;
	return true;
}

/* Skips the value of a field of wire type `wire`; false for groups, unknown
 * types or truncation. */
static inline bool pf_pb_skip(struct pf_pb_cursor *c, unsigned wire)
{
	uint64_t v;
	const uint8_t *d;
	size_t n;
	switch (wire) {
	case PF_PB_VARINT: return pf_pb_read_varint(c, &v);
	case PF_PB_LEN: return pf_pb_read_len(c, &d, &n);
	case PF_PB_FIXED64:
		if (c->end - c->p < 8)
			return false;
		c->p += 8;
		return true;
	case PF_PB_FIXED32:
		if (c->end - c->p < 4)
			return false;
		c->p += 4;
		return true;
	default: return false;
	}
}

/* Writes a varint at p (room for 10 bytes); returns the bytes written. */
static inline size_t pf_pb_put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Bytes a varint of v takes. */
static inline size_t pf_pb_varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

#endif
