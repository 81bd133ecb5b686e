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

/* Checks every rule of an unpacked request (see otlp.h) without touching any
 * batch. Returns 0 or -EINVAL with `err` naming the first problem. */
int pf_otlp_validate(const PF_OTLP_REQ *req, struct pf_error *err);

/* Appends a request that passed pf_otlp_validate() to `b`. Returns the number
 * of profiles appended or -ENOMEM (then none were appended). */
int pf_otlp_to_batch(struct pf_batch *b, const PF_OTLP_REQ *req);

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
 * `pack`. Returns pack's result or -ENOMEM. */
int pf_otlp_encode_sel(const struct pf_batch *b, const struct pf_otlp_sel *sel, size_t n_sel,
		       pf_otlp_pack_fn pack, void *ctx);

/* Writes `msg` as OTLP/JSON (lowerCamelCase, hex ids, int64 as strings) into
 * a malloc'd NUL-terminated buffer. Returns 0 or -ENOMEM. */
int pf_otlp_json_write(const ProtobufCMessage *msg, char **out, size_t *out_size);

/* Parses OTLP/JSON text as a message of type `desc` into arena-held
 * protobuf-c structures (*out). Returns 0, -EINVAL with `err` set, or -ENOMEM. */
int pf_otlp_json_read(const ProtobufCMessageDescriptor *desc, const void *data, size_t size,
		      struct pf_pb_arena *arena, ProtobufCMessage **out, struct pf_error *err);

#endif
