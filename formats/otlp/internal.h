/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the OTLP codec's files: generated type names, checks and the request-to-batch step. */
#ifndef PF_OTLP_INTERNAL_H
#define PF_OTLP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "formats/pb_arena.h"
#include "pipeline/batch.h"
#include "pipeline/error.h"
#include "proto/opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

/* Short names for the protoc-c generated types. */
#define PF_OTLP_PB(x)  Opentelemetry__Proto__Profiles__V1development__##x
#define PF_OTLP_CPB(x) Opentelemetry__Proto__Common__V1__##x
#define PF_OTLP_REQ                                                                                \
	Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
#define PF_OTLP_RES Opentelemetry__Proto__Resource__V1__Resource

/* Deepest message nesting accepted (a request needs 6; AnyValue arrays nest). */
#define PF_OTLP_MAX_DEPTH 64

/* Walks `data` as a message of type `desc` without unpacking it: rejects
 * nesting deeper than PF_OTLP_MAX_DEPTH and fields whose wire type does not
 * match the schema (which protobuf-c would refuse without saying why), and
 * names the v1.9 Sample layout when that is the likely cause. Returns 0 or
 * -EINVAL with `err` set. */
int pf_otlp_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t size,
		       struct pf_error *err);

/* One sample, whether unpacked by protobuf-c or read by hand. */
struct pf_otlp_sample {
	int32_t stack_index;
	int32_t link_index;
	const int32_t *attribute_indices;
	size_t n_attribute_indices;
	const int64_t *values;
	size_t n_values;
	const uint64_t *timestamps;
	size_t n_timestamps;
};

/* Where the samples of a stripped request are in its input, and the arrays
 * a sample is read into (valid until the next sample is read). */
struct pf_otlp_spans {
	const uint8_t **data;
	size_t *len;
	size_t n, cap, cap_len;
	size_t *first; /* first[p] .. first[p + 1]: the samples of profile p */
	size_t n_profiles, cap_profiles;
	int32_t *attrs;
	int64_t *values;
	uint64_t *ts;
	size_t cap_attrs, cap_values, cap_ts;
};

/* Copies a request (already passed by pf_otlp_wire_check()) without its
 * samples into a malloc'd buffer, noting each sample's bytes in `sp`, whose
 * entries point into `data`. Returns 0, -EINVAL or -ENOMEM. */
int pf_otlp_strip_samples(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size,
			  struct pf_otlp_spans *sp);

/* Frees what `sp` holds (not the input it points into). */
void pf_otlp_spans_fini(struct pf_otlp_spans *sp);

/* Samples of profile p (counted over the whole request in order); with
 * sp == NULL they are the unpacked ones of `pr`. */
size_t pf_otlp_n_samples(const struct pf_otlp_spans *sp, size_t p, const PF_OTLP_PB(Profile) * pr);

/* Reads sample i of profile p. Returns 0, -EINVAL with `err` set, or -ENOMEM. */
int pf_otlp_sample_get(struct pf_otlp_spans *sp, size_t p, const PF_OTLP_PB(Profile) * pr, size_t i,
		       struct pf_otlp_sample *out, struct pf_error *err);

/* Checks every rule of an unpacked request (see otlp.h) without touching any
 * batch; samples come from `sp` when not NULL. Returns 0 or -EINVAL with
 * `err` naming the first problem (or -ENOMEM). */
int pf_otlp_validate(const PF_OTLP_REQ *req, struct pf_otlp_spans *sp, struct pf_error *err);

/* Appends a request that passed pf_otlp_validate() to `b`. Returns the number
 * of profiles appended or -ENOMEM. */
int pf_otlp_to_batch(struct pf_batch *b, const PF_OTLP_REQ *req, struct pf_otlp_spans *sp);

/* A run of samples [first, end) of one batch profile to encode. */
struct pf_otlp_sel {
	uint32_t profile;
	uint32_t first;
	uint32_t end;
};

/* Receives the built request message (valid only during the call). */
typedef int (*pf_otlp_pack_fn)(void *ctx, const ProtobufCMessage *req);

/* Builds the ExportProfilesServiceRequest for the selection (grouped by
 * resource and scope, with a dictionary of only what it uses) and hands it to
 * `pack`. With raw_samples each Profile carries its samples pre-encoded as
 * unknown fields (for protobuf packing; JSON needs them as messages).
 * Returns pack's result or -ENOMEM. */
int pf_otlp_encode_sel(const struct pf_batch *b, const struct pf_otlp_sel *sel, size_t n_sel,
		       bool raw_samples, pf_otlp_pack_fn pack, void *ctx);

/* Writes `msg` as OTLP/JSON (lowerCamelCase, hex ids, int64 as strings) into
 * a malloc'd NUL-terminated buffer. Returns 0 or -ENOMEM. */
int pf_otlp_json_write(const ProtobufCMessage *msg, char **out, size_t *out_size);

/* Parses OTLP/JSON text as a message of type `desc` into arena-held
 * protobuf-c structures (*out). Returns 0, -EINVAL with `err` set, or -ENOMEM. */
int pf_otlp_json_read(const ProtobufCMessageDescriptor *desc, const void *data, size_t size,
		      struct pf_pb_arena *arena, ProtobufCMessage **out, struct pf_error *err);

#endif
