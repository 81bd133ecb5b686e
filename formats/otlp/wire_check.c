// SPDX-License-Identifier: Apache-2.0
/* A schema-driven walk over OTLP protobuf bytes that bounds nesting and names wire-type mismatches. */
#include <errno.h>
#include <stdio.h>

#include "formats/otlp/internal.h"
#include "formats/pb_wire.h"

/*
 * protobuf-c recurses into nested messages without a limit (AnyValue arrays
 * can nest as deep as the input is long) and reports any mismatch as a bare
 * failure. This walk runs first: it follows the descriptors, so it knows
 * which length-delimited fields are messages, and stops at the first field
 * of the wrong wire type with a message that says which one.
 */

struct walk {
	const uint8_t *base;
	struct pf_error *err;
};

static int expected_wire(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT: return PF_PB_FIXED32;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE: return PF_PB_FIXED64;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE: return PF_PB_LEN;
	default: return PF_PB_VARINT;
	}
}

static int mismatch(struct walk *w, const ProtobufCMessageDescriptor *desc, const uint8_t *at,
		    uint32_t field, unsigned wire, int want)
{
	char where[32];

	snprintf(where, sizeof(where), "offset %zu", (size_t)(at - w->base));
	if (desc == &opentelemetry__proto__profiles__v1development__sample__descriptor)
		return pf_error_set(
			w->err, where,
			"Sample field %u has wire type %u where proto v1.10+ expects %d: "
			"the request looks like the old v1.9 Sample layout "
			"(values=2, attribute_indices=3, link_index=4), which is not "
			"supported; upgrade the sender to OTLP proto v1.10 or later",
			field, wire, want);
	return pf_error_set(w->err, where, "%s field %u has wire type %u, expected %d",
			    desc->short_name, field, wire, want);
}

static int walk_message(struct walk *w, const ProtobufCMessageDescriptor *desc, const uint8_t *data,
			size_t size, unsigned depth)
{
	struct pf_pb_cursor c = {data, data + size};
	const ProtobufCFieldDescriptor *fd = NULL;
	char where[32];

	if (depth > PF_OTLP_MAX_DEPTH) {
		snprintf(where, sizeof(where), "offset %zu", (size_t)(data - w->base));
		return pf_error_set(w->err, where, "messages nested deeper than %d levels",
				    PF_OTLP_MAX_DEPTH);
	}
	while (c.p < c.end) {
		const uint8_t *at = c.p;
		uint32_t field;
		unsigned wire;
		const uint8_t *sub;
		size_t len;

		if (!pf_pb_read_key(&c, &field, &wire))
			goto bad;
		/* Repeated fields come in runs: the last lookup usually answers. */
		if (!fd || fd->id != field)
			fd = protobuf_c_message_descriptor_get_field(desc, field);
		if (!fd) {
			if (!pf_pb_skip(&c, wire))
				goto bad;
			continue;
		}
		int want = expected_wire(fd->type);
		bool packed = fd->label == PROTOBUF_C_LABEL_REPEATED && want != PF_PB_LEN &&
			      wire == PF_PB_LEN;
		if ((int)wire != want && !packed)
			return mismatch(w, desc, at, field, wire, want);
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE) {
			if (!pf_pb_skip(&c, wire))
				goto bad;
			continue;
		}
		if (!pf_pb_read_len(&c, &sub, &len))
			goto bad;
		/* Samples and the hot dictionary entries are checked as they are
		 * read (samples.c, dict.c); Sample, Function and Stack hold no
		 * messages, Location only Lines. */
		if (fd->descriptor ==
			    &opentelemetry__proto__profiles__v1development__sample__descriptor ||
		    fd->descriptor ==
			    &opentelemetry__proto__profiles__v1development__function__descriptor ||
		    fd->descriptor ==
			    &opentelemetry__proto__profiles__v1development__location__descriptor ||
		    fd->descriptor ==
			    &opentelemetry__proto__profiles__v1development__stack__descriptor)
			continue;
		int rc = walk_message(w, fd->descriptor, sub, len, depth + 1);
		if (rc < 0)
			return rc;
	}
	return 0;
bad:
	snprintf(where, sizeof(where), "offset %zu", (size_t)(c.p - w->base));
	return pf_error_set(w->err, where, "truncated or malformed protobuf in %s",
			    desc->short_name);
}

int pf_otlp_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t size,
		       struct pf_error *err)
{
	struct walk w = {.base = data, .err = err};

	return walk_message(&w, desc, data, size, 0);
}
