/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the OTLP codec's files: generated type names, checks and the request-to-batch step. */
#ifndef PF_OTLP_INTERNAL_H
#define PF_OTLP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "formats/pb_arena.h"
#include "model/batch.h"
#include "core/budget.h"
#include "core/error.h"
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

/* The growing half of pf_otlp_grow(). */
int pf_otlp_grow_slow(struct pf_budget_meter *m, void **arr, size_t *cap, size_t used, size_t more,
		      size_t size);

/* Makes room for `more` entries after `used` in the array *arr of capacity
 * *cap (elements of `size` bytes), doubling, and charges what it adds to
 * `m` (may be NULL). Returns 0 or -ENOMEM (also when the meter refused:
 * m->refused says why). Inline: the readers call it per entry, and it
 * nearly always has room. */
static inline int pf_otlp_grow(struct pf_budget_meter *m, void **arr, size_t *cap, size_t used,
			       size_t more, size_t size)
{
	if (more <= *cap && used <= *cap - more)
		return 0;
	return pf_otlp_grow_slow(m, arr, cap, used, more, size);
}

/* One sample read by hand: its indices, and where its lists are in the
 * pools of struct pf_otlp_samples. */
struct pf_otlp_row {
	int32_t stack_index, link_index;
	uint32_t attrs_off, n_attrs;
	uint32_t values_off, n_values;
	uint32_t ts_off, n_ts;
};

/* Every sample of a request, read once by pf_otlp_strip() for the
 * validator and the converter. */
struct pf_otlp_samples {
	struct pf_otlp_row *rows;
	size_t n, cap;
	size_t *first; /* first[p] .. first[p + 1]: the rows of profile p */
	size_t n_profiles, cap_profiles;
	int32_t *attrs;
	size_t n_attrs, cap_attrs;
	int64_t *values;
	size_t n_values, cap_values;
	uint64_t *ts;
	size_t n_ts, cap_ts;
	struct pf_budget_meter *meter; /* charged for what the pools take */
};

/* Starts the rows of the next profile. Returns 0 or -ENOMEM. */
int pf_otlp_samples_begin_profile(struct pf_otlp_samples *s);

/* Reads one Sample message into a row of the current profile. Returns 0,
 * -EINVAL with `err` set, or -ENOMEM. */
int pf_otlp_samples_add(struct pf_otlp_samples *s, const uint8_t *data, size_t size,
			struct pf_error *err);

/* Frees what `s` holds. */
void pf_otlp_samples_fini(struct pf_otlp_samples *s);

struct pf_otlp_dict;

/* Copies a request without its samples and hot dictionary entries into a
 * malloc'd buffer for protobuf-c, reading those into `dict` and `smp` on
 * the way: one pass over the input. The levels it walks are few and fixed,
 * so any input is safe; fields it does not take out are copied as they are,
 * for pf_otlp_wire_check() on the copy to judge. Returns 0, -EINVAL (with
 * `err` set when a reader named the problem, unset when the structure
 * around them was malformed) or -ENOMEM. */
int pf_otlp_strip(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size,
		  struct pf_otlp_dict *dict, struct pf_otlp_samples *smp, struct pf_error *err);
/* The copy is charged to smp->meter. */

/* The hot dictionary tables as flat arrays: what protobuf-c would have
 * unpacked, without a message per entry. Strings point into the input (or
 * into the unpacked JSON request) and end at their first NUL, as C strings
 * would; locations' lines and attribute indices and stacks' location
 * indices are runs of `lines` and `idx`. */
struct pf_otlp_str {
	const char *s;
	size_t len;
};

struct pf_otlp_function {
	int32_t name_strindex, system_name_strindex, filename_strindex;
	int64_t start_line;
};

struct pf_otlp_line {
	int32_t function_index;
	int64_t line, column;
};

struct pf_otlp_location {
	int32_t mapping_index;
	uint64_t address;
	size_t lines_off, n_lines; /* into lines */
	size_t attrs_off, n_attrs; /* attribute_indices, into idx */
};

struct pf_otlp_list {
	size_t off, n; /* into idx */
};

struct pf_otlp_dict {
	struct pf_otlp_str *str;
	size_t n_str, cap_str;
	struct pf_otlp_function *fn;
	size_t n_fn, cap_fn;
	struct pf_otlp_location *loc;
	size_t n_loc, cap_loc;
	struct pf_otlp_line *lines;
	size_t n_lines, cap_lines;
	struct pf_otlp_list *stack; /* location_indices of each stack */
	size_t n_stack, cap_stack;
	int32_t *idx;
	size_t n_idx, cap_idx;
	struct pf_budget_meter *meter; /* charged for what the arrays take */
};

/* Field numbers of ProfilesDictionary's hot tables. */
enum {
	PF_OTLP_DICT_LOCATIONS = 2,
	PF_OTLP_DICT_FUNCTIONS = 3,
	PF_OTLP_DICT_STRINGS = 5,
	PF_OTLP_DICT_STACKS = 7,
};

/* True for the ProfilesDictionary fields kept out of protobuf-c. */
static inline bool pf_otlp_dict_field(uint32_t field)
{
	return field == PF_OTLP_DICT_LOCATIONS || field == PF_OTLP_DICT_FUNCTIONS ||
	       field == PF_OTLP_DICT_STRINGS || field == PF_OTLP_DICT_STACKS;
}

/* Reads one entry of a hot table (field: its number, one of the above) into
 * `d` after those already there. `base` is the input, for offsets in
 * messages. Returns 0, -EINVAL with `err` set, or -ENOMEM. */
int pf_otlp_dict_add(struct pf_otlp_dict *d, uint32_t field, const uint8_t *p, size_t len,
		     const uint8_t *base, struct pf_error *err);

/* Fills `d` from an unpacked dictionary (NULL: nothing), pointing into it.
 * Returns 0 or -ENOMEM. */
int pf_otlp_dict_from_pb(struct pf_otlp_dict *d, const PF_OTLP_PB(ProfilesDictionary) * pd);

/* Frees the arrays of `d` (not the strings). */
void pf_otlp_dict_fini(struct pf_otlp_dict *d);

/* Samples of profile p (counted over the whole request in order); with
 * smp == NULL they are the unpacked ones of `pr`. */
size_t pf_otlp_n_samples(const struct pf_otlp_samples *smp, size_t p,
			 const PF_OTLP_PB(Profile) * pr);

/* Sample i of profile p, pointing into `smp` or `pr`. Inline: the
 * validator and the converter call it per sample. */
static inline void pf_otlp_sample_get(const struct pf_otlp_samples *smp, size_t p,
				      const PF_OTLP_PB(Profile) * pr, size_t i,
				      struct pf_otlp_sample *out)
{
	if (smp) {
		const struct pf_otlp_row *r = &smp->rows[smp->first[p] + i];

		*out = (struct pf_otlp_sample){
			.stack_index = r->stack_index,
			.link_index = r->link_index,
			.attribute_indices = smp->attrs + r->attrs_off,
			.n_attribute_indices = r->n_attrs,
			.values = smp->values + r->values_off,
			.n_values = r->n_values,
			.timestamps = smp->ts + r->ts_off,
			.n_timestamps = r->n_ts,
		};
		return;
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
}

/* Checks every rule of an unpacked request (see otlp.h) without touching any
 * batch; samples come from `smp` when not NULL, the hot dictionary tables
 * always from `hot`. Returns 0 or -EINVAL with `err` naming the first
 * problem (or -ENOMEM). */
int pf_otlp_validate(const PF_OTLP_REQ *req, const struct pf_otlp_dict *hot,
		     const struct pf_otlp_samples *smp, struct pf_error *err);

/* Starts the meter of one decode on `budget` (may be NULL), limited to
 * PF_OTLP_DECODE_FACTOR times the request limit. */
void pf_otlp_meter_init(struct pf_budget_meter *m, struct pf_budget *budget, size_t max_size);

/* Charges the input of `size` bytes, held while it is decoded (the
 * request's body or its decompressed copy). Returns 0, or -EFBIG / -EBUSY
 * with `err` set and the meter released. */
int pf_otlp_meter_input(struct pf_budget_meter *m, size_t size, struct pf_error *err);

/* Maps rc after a decode step: -ENOMEM caused by the meter becomes its
 * -EFBIG or -EBUSY with `err` saying why. Returns the mapped rc. */
int pf_otlp_meter_error(const struct pf_budget_meter *m, int rc, struct pf_error *err);

/* Checks that every string field of `m` and the messages in it is UTF-8.
 * Returns 0 or -EINVAL with `err` naming the field ("resource_profiles[0].
 * resource.attributes[1].key: invalid UTF-8 at byte 3"). */
int pf_otlp_check_strings(const ProtobufCMessage *m, struct pf_error *err);

/* Appends a request that passed pf_otlp_validate() to `b`, charging `m`
 * (may be NULL) for what the batch grows by before filling it. Returns the
 * number of profiles appended or -ENOMEM (m->refused says when the meter
 * refused). */
int pf_otlp_to_batch(struct pf_batch *b, const PF_OTLP_REQ *req, const struct pf_otlp_dict *hot,
		     const struct pf_otlp_samples *smp, struct pf_budget_meter *m);

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
