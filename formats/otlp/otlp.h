/* SPDX-License-Identifier: Apache-2.0 */
/* OTLP profiles (proto v1.10+, v1development) <-> batch conversion, protobuf and JSON. */
#ifndef PF_OTLP_H
#define PF_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/batch.h"
#include "core/error.h"

/*
 * The wire form is `opentelemetry.proto.collector.profiles.v1development.
 * ExportProfilesServiceRequest` {resource_profiles = 1, dictionary = 2}, which
 * has the same field numbers as `ProfilesData`, so both decode alike. Only the
 * proto v1.10+ layout is spoken (Sample: stack_index 1, attribute_indices 2,
 * link_index 3, values 4, timestamps_unix_nano 5).
 *
 * Mapping to the batch (model/batch.h), lossless both ways:
 *  - dictionary tables map one to one; OTLP `attribute_indices` lists become
 *    batch attribute sets (same attributes, same order);
 *  - ResourceProfiles.resource -> pf_resource, ScopeProfiles.scope ->
 *    pf_scope, each Profile -> one batch profile of that resource and scope;
 *  - attribute values: string, bool, int, double and arrays of strings are
 *    kept; other AnyValue kinds (bytes, kvlist, mixed arrays) cannot be held
 *    by the batch and are dropped, counted in dropped_attributes_count where
 *    the message has one;
 *  - `key_strindex` / `string_value_strindex` (v1.10) are resolved against
 *    the string table; inline `key` / `string_value` are accepted too.
 *
 * Decoding validates the whole request before the batch is touched: every
 * table present and non-empty with its zero entry at [0], string_table[0]
 * == "", every index in range, keys unique within each attribute_indices
 * list, values and timestamps lengths (one of them non-empty; equal when
 * both are), profile_id 16 bytes and not all zero when present. A request
 * that looks like the old v1.9 layout (values in field 2 read as attribute
 * indices, out of range) is flagged as such in the error message.
 *
 * Encoding emits spec-valid dictionaries: zero entries at index 0
 * (link_table[0] holds 16 and 8 zero bytes), only the entries the encoded
 * profiles use, no duplicates; profiles are grouped by resource, then scope.
 */

/* Default request limit (the OTLP specification's recommendation). */
#define PF_OTLP_MAX_SIZE_DEFAULT ((size_t)64 << 20)

/* Decoding memory a request may take, per byte of its size limit: the
 * input itself (held meanwhile), the decode's tables, the unpacked messages
 * and what the batch grows by, all charged as they are allocated
 * (capacity, so an upper bound of what is resident). bench/gateway's
 * requests take 7-8 times their size; crafted ones (a packed list of 1-byte
 * varints, 2-byte empty messages) would take up to 40 times. */
#define PF_OTLP_DECODE_FACTOR 10

struct pf_budget;

/* ---- decoding ---- */

/* Decodes an ExportProfilesServiceRequest (or ProfilesData) in protobuf form
 * and appends its profiles to `b` (which must not be shared). Input larger
 * than `max_size` (0 = PF_OTLP_MAX_SIZE_DEFAULT) is refused with -EFBIG, and
 * so is input whose decoding would take more than PF_OTLP_DECODE_FACTOR *
 * max_size bytes of memory (or more than all of `budget`). The input's size
 * and what decoding allocates are charged to `budget` (may be NULL) while
 * it runs; when the
 * budget is used up by other decodes the request is refused with -EBUSY
 * (retry later). Returns the number of profiles appended (0 for an empty
 * request), or -EINVAL with `err` naming what is wrong (suitable for an
 * INVALID_ARGUMENT / HTTP 400 message), -EFBIG or -EBUSY (`err` says why),
 * or -ENOMEM. After -EINVAL, -EFBIG or -EBUSY no profile was appended (the
 * batch may hold unused dictionary entries); after -ENOMEM some may have
 * been, so decode into a fresh batch when that matters. */
int pf_otlp_decode(struct pf_batch *b, const void *data, size_t size, size_t max_size,
		   struct pf_budget *budget, struct pf_error *err);

/* The same for the OTLP/JSON encoding: lowerCamelCase keys (snake_case is
 * accepted too), hex traceId/spanId/profileId, 64-bit integers as strings or
 * numbers, enums as integers, bytes as base64, unknown fields ignored.
 * Nesting deeper than 64 levels is refused. */
int pf_otlp_decode_json(struct pf_batch *b, const void *data, size_t size, size_t max_size,
			struct pf_budget *budget, struct pf_error *err);

/* ---- encoding ---- */

/* Encodes the listed profiles of `b` (indices; NULL with n_profiles == 0
 * means every profile) as one ExportProfilesServiceRequest. Returns 0 and a
 * malloc'd buffer in *out that the caller frees, -ENOMEM, or -EINVAL for a
 * bad profile index. */
int pf_otlp_encode(const struct pf_batch *b, const uint32_t *profiles, size_t n_profiles,
		   uint8_t **out, size_t *out_size);

/* The same request in the OTLP/JSON encoding (NUL-terminated; *out_size
 * excludes the NUL). For tests and the debug exporter. */
int pf_otlp_encode_json(const struct pf_batch *b, const uint32_t *profiles, size_t n_profiles,
			char **out, size_t *out_size);

/* Receives one encoded request of pf_otlp_encode_parts(); takes ownership of
 * `bytes` (free() it). `samples` is the number of samples it carries. A
 * negative return stops the encoding and is passed back to the caller. */
typedef int (*pf_otlp_part_fn)(void *ctx, uint8_t *bytes, size_t size, size_t samples);

/* Encodes every profile of `b` as as few requests as possible, each at most
 * `max_size` bytes (0 = PF_OTLP_MAX_SIZE_DEFAULT), splitting by profiles and
 * then by samples (E7). A single sample too large for the limit is sent
 * alone rather than dropped. An empty batch produces no request. Returns the
 * number of requests handed to `fn`, -ENOMEM, or fn's negative return. */
int pf_otlp_encode_parts(const struct pf_batch *b, size_t max_size, pf_otlp_part_fn fn, void *ctx);

/* An upper estimate of the protobuf size of pf_otlp_encode() over all of
 * `b`, cheap to compute (for byte sizers and limits). */
size_t pf_otlp_estimate_size(const struct pf_batch *b);

/* ---- responses and errors ---- */

/* ExportProfilesServiceResponse. With rejected == 0 and no message the
 * partial_success field is left unset (full success). `json` selects the
 * OTLP/JSON encoding. Returns 0 and a malloc'd buffer (possibly of size 0,
 * still to be freed), or -ENOMEM. */
int pf_otlp_encode_response(int64_t rejected, const char *message, bool json, uint8_t **out,
			    size_t *out_size);

/* Parses an ExportProfilesServiceResponse (protobuf, or JSON with `json`).
 * Fills *rejected and `message` (NUL-terminated, truncated to message_size;
 * may be NULL) and returns 1 when partial_success was present, 0 when not,
 * or -EINVAL with `err` set. */
int pf_otlp_decode_response(const void *data, size_t size, bool json, int64_t *rejected,
			    char *message, size_t message_size, struct pf_error *err);

/* A google.rpc.Status {code, message} in protobuf (or JSON with `json`),
 * for gRPC trailers and HTTP error bodies. With retry_delay_ms > 0 a
 * google.rpc.RetryInfo detail is attached. Returns 0 and a malloc'd buffer,
 * or -ENOMEM. */
int pf_otlp_encode_status(int code, const char *message, int64_t retry_delay_ms, bool json,
			  uint8_t **out, size_t *out_size);

/* Parses a google.rpc.Status in protobuf form: its code, its message (into
 * `message`, may be NULL) and the RetryInfo delay in ms (-1 when absent).
 * Returns 0, or -EINVAL when the bytes are not a Status (callers then treat
 * the body as plain text). */
int pf_otlp_decode_status(const void *data, size_t size, int *code, char *message,
			  size_t message_size, int64_t *retry_delay_ms);

#endif
