/* SPDX-License-Identifier: Apache-2.0 */
/* The profile batch: OTLP ProfilesData in dictionary form, with O(1) interning. */
#ifndef PF_BATCH_H
#define PF_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A batch mirrors `opentelemetry.proto.profiles.v1development.ProfilesData`:
 * one dictionary of tables shared by every profile in the batch, and a list
 * of profiles, each tagged with the resource and scope it belongs to.
 *
 * Every dictionary table keeps index 0 as its zero ("unset") entry, exactly as
 * OTLP requires, so an index of 0 always means "none". Entries are interned:
 * adding an entry equal to an existing one returns the existing index, so a
 * batch built this way never holds duplicates. Variable-length members (a
 * stack's locations, a location's lines, an attribute set's attributes) are
 * interned as a whole.
 *
 * A decoder of input whose tables are already de-duplicated (an OTLP
 * dictionary) may instead append strings, functions, locations and stacks as
 * given (pf_batch_append_*()), skipping the lookup that nearly always misses.
 * The batch then holds whatever duplicates its input had, as the OTel
 * Collector passes a dictionary on: they are harmless, and merging the batch
 * into another (pf_batch_merge(), pf_batch_merge_sum()) maps equal entries
 * to one. The next intern into such a table indexes the appended entries
 * first, so interning stays exact: it returns the first of equal entries.
 *
 * Unlike OTLP, attribute lists are interned as "attribute sets": every
 * `attrs` field below is an index into the attribute-set table, whose entry
 * 0 is the empty set. Translating to OTLP's `attribute_indices` is a lookup.
 *
 * A profile has exactly one sample type, as in OTLP. A pprof profile with N
 * sample types becomes N profiles that share stacks; they are told apart by
 * `sample_type` and kept together by equal resource, scope, period and time.
 *
 * Ownership: the batch owns every table, string and sample. Pointers returned
 * by the accessors stay valid until the next call that adds to the same
 * table, or until the batch is freed. A batch is reference-counted; once it
 * has more than one reference it is read-only (pf_batch_is_shared()).
 */

struct pf_batch;

/* Returned by the interning functions when memory runs out or an index
 * passed in is out of range; every valid index is below it. */
#define PF_INDEX_ERROR UINT32_MAX

struct pf_value_type {
	uint32_t type; /* string index, e.g. "cpu" */
	uint32_t unit; /* string index, e.g. "nanoseconds" */
};

enum pf_value_kind {
	PF_VALUE_EMPTY = 0,
	PF_VALUE_STRING,  /* u.str: string index */
	PF_VALUE_INT,	  /* u.i */
	PF_VALUE_DOUBLE,  /* u.d */
	PF_VALUE_BOOL,	  /* u.b */
	PF_VALUE_STRINGS, /* u.strs: an interned list of string indices */
};

struct pf_value {
	enum pf_value_kind kind;
	union {
		uint32_t str;
		int64_t i;
		double d;
		bool b;
		uint32_t strs; /* index of a string list, see pf_batch_string_list() */
	} u;
};

/* OTLP KeyValueAndUnit. */
struct pf_attribute {
	uint32_t key;  /* string index */
	uint32_t unit; /* string index, 0 if none */
	struct pf_value value;
};

struct pf_function {
	uint32_t name;	      /* string index */
	uint32_t system_name; /* string index */
	uint32_t filename;    /* string index */
	int64_t start_line;
};

struct pf_mapping {
	uint64_t memory_start;
	uint64_t memory_limit;
	uint64_t file_offset;
	uint32_t filename; /* string index */
	uint32_t attrs;	   /* attribute set: build ids, pprof flags */
};

struct pf_line {
	uint32_t function; /* function index */
	int64_t line;
	int64_t column;
};

/* A location as stored; its lines are read with pf_batch_location_lines(). */
struct pf_location {
	uint32_t mapping; /* mapping index, 0 if none */
	uint32_t attrs;	  /* attribute set, e.g. profile.frame.type */
	uint64_t address;
	uint32_t lines_off; /* internal: where its lines start */
	uint32_t lines_len; /* number of lines; the last is the outermost caller */
};

struct pf_link {
	uint8_t trace_id[16];
	uint8_t span_id[8];
};

/* A resource (OTLP ResourceProfiles.resource + schema_url). Interned. */
struct pf_resource {
	uint32_t attrs;	     /* attribute set */
	uint32_t schema_url; /* string index */
	uint32_t dropped_attributes_count;
};

/* An instrumentation scope (OTLP ScopeProfiles.scope + schema_url). Interned. */
struct pf_scope {
	uint32_t name;	  /* string index */
	uint32_t version; /* string index */
	uint32_t attrs;	  /* attribute set */
	uint32_t schema_url;
};

/* Everything about a profile except its samples. */
struct pf_profile_desc {
	uint32_t resource; /* resource index */
	uint32_t scope;	   /* scope index */
	struct pf_value_type sample_type;
	struct pf_value_type period_type;
	int64_t period;
	uint64_t time_unix_nano;
	uint64_t duration_nano;
	uint32_t attrs; /* attribute set */
	uint8_t profile_id[16];
	uint32_t dropped_attributes_count;
	uint32_t original_payload_format; /* string index */
};

struct pf_sample {
	uint32_t stack; /* stack index */
	uint32_t attrs; /* attribute set */
	uint32_t link;	/* link index */
	uint32_t values_len;
	uint32_t timestamps_len;
	uint32_t reserved;
	uint32_t values_off;	 /* internal: into the batch's value pool */
	uint32_t timestamps_off; /* internal: into the batch's timestamp pool */
};

/* ---- lifetime ---- */

/* A new empty batch with one reference; every table holds its zero entry.
 * Returns NULL when out of memory. */
struct pf_batch *pf_batch_new(void);

/* Takes another reference; returns b. */
struct pf_batch *pf_batch_ref(struct pf_batch *b);

/* Drops a reference; the last one frees everything. Takes NULL. */
void pf_batch_unref(struct pf_batch *b);

/* True when more than one reference exists: the batch must not be changed. */
bool pf_batch_is_shared(const struct pf_batch *b);

/* A deep copy with one reference (same indices), or NULL. */
struct pf_batch *pf_batch_copy(const struct pf_batch *b);

/* Bytes held by the batch's tables and pools (for sizers and limits). */
size_t pf_batch_memory_size(const struct pf_batch *b);

/* How much a builder is about to add, for pf_batch_reserve(). */
struct pf_batch_sizes {
	size_t strings, string_bytes; /* string_bytes: their lengths summed */
	size_t functions;
	size_t locations, lines;
	size_t stacks, stack_items; /* stack_items: their locations summed */
	size_t values, timestamps;  /* in samples, summed */
};

/* Makes room in the tables and pools for `more` new entries in one step, so
 * that a decoder that knows its sizes grows each of them once instead of
 * doubling its way there (the hash indexes grow as entries are interned;
 * appended ones need none). A hint only: entries that turn out to exist
 * already use no room, and adding beyond it still works. Returns 0 or
 * -ENOMEM (the batch is unchanged in content either way). b must not be
 * shared. */
int pf_batch_reserve(struct pf_batch *b, const struct pf_batch_sizes *more);

/* ---- interning (the builder API); each returns the index or PF_INDEX_ERROR ---- */

uint32_t pf_batch_string(struct pf_batch *b, const char *s, size_t len);
/* Same for a NUL-terminated string. */
uint32_t pf_batch_cstring(struct pf_batch *b, const char *s);
/* An interned list of string indices (for PF_VALUE_STRINGS). */
uint32_t pf_batch_string_list(struct pf_batch *b, const uint32_t *strs, size_t n);
uint32_t pf_batch_attribute(struct pf_batch *b, const struct pf_attribute *a);
/* An attribute set: the attribute indices in order. n == 0 gives 0. */
uint32_t pf_batch_attr_set(struct pf_batch *b, const uint32_t *attrs, size_t n);
uint32_t pf_batch_function(struct pf_batch *b, const struct pf_function *f);
uint32_t pf_batch_mapping(struct pf_batch *b, const struct pf_mapping *m);
/* A location with its lines (leaf-most inlined function first). The
 * lines_off/lines_len fields of `loc` are ignored. */
uint32_t pf_batch_location(struct pf_batch *b, const struct pf_location *loc,
			   const struct pf_line *lines, size_t n_lines);
/* A stack: location indices, leaf first. n == 0 gives 0. */
uint32_t pf_batch_stack(struct pf_batch *b, const uint32_t *locations, size_t n);
uint32_t pf_batch_link(struct pf_batch *b, const struct pf_link *l);
uint32_t pf_batch_resource(struct pf_batch *b, const struct pf_resource *r);
uint32_t pf_batch_scope(struct pf_batch *b, const struct pf_scope *s);

/* Appending without interning (see the top of this file): the same checks
 * and results as the interning calls above, except that an entry equal to
 * an existing one is added again. An empty string or stack is index 0. */
uint32_t pf_batch_append_string(struct pf_batch *b, const char *s, size_t len);
uint32_t pf_batch_append_function(struct pf_batch *b, const struct pf_function *f);
uint32_t pf_batch_append_location(struct pf_batch *b, const struct pf_location *loc,
				  const struct pf_line *lines, size_t n_lines);
/* A stack of n locations: map[items[i]] when map is given (a decoder's own
 * location indices re-indexed on the way in, each below n_map, without a
 * copy of the stack), items[i] itself when map is NULL. */
uint32_t pf_batch_append_stack(struct pf_batch *b, const uint32_t *items, size_t n,
			       const uint32_t *map, size_t n_map);

/* Convenience: interns key/value strings and the attribute in one call. */
uint32_t pf_batch_attr_str(struct pf_batch *b, const char *key, const char *value);
uint32_t pf_batch_attr_int(struct pf_batch *b, const char *key, int64_t value);

/* ---- profiles and samples ---- */

/* Appends a profile (not interned: two equal descriptions give two profiles).
 * Returns its index or PF_INDEX_ERROR. */
uint32_t pf_batch_add_profile(struct pf_batch *b, const struct pf_profile_desc *d);

/* Appends a sample to profile `p`. `values` and `timestamps` may be NULL with
 * a zero length; at least one must be non-empty, and when both are given
 * their lengths must match. Returns 0 or -EINVAL / -ENOMEM. */
int pf_batch_add_sample(struct pf_batch *b, uint32_t p, uint32_t stack, uint32_t attrs,
			uint32_t link, const int64_t *values, size_t n_values,
			const uint64_t *timestamps, size_t n_timestamps);

/* ---- reading ---- */

/* Table sizes, zero entry included (so never 0). */
size_t pf_batch_n_strings(const struct pf_batch *b);
size_t pf_batch_n_attributes(const struct pf_batch *b);
size_t pf_batch_n_attr_sets(const struct pf_batch *b);
size_t pf_batch_n_functions(const struct pf_batch *b);
size_t pf_batch_n_mappings(const struct pf_batch *b);
size_t pf_batch_n_locations(const struct pf_batch *b);
size_t pf_batch_n_stacks(const struct pf_batch *b);
size_t pf_batch_n_links(const struct pf_batch *b);
size_t pf_batch_n_resources(const struct pf_batch *b);
size_t pf_batch_n_scopes(const struct pf_batch *b);
size_t pf_batch_n_profiles(const struct pf_batch *b);

/* Entries by index; the index must be below the table size (assert). */
const char *pf_batch_str(const struct pf_batch *b, uint32_t i); /* NUL-terminated */
size_t pf_batch_str_len(const struct pf_batch *b, uint32_t i);
const uint32_t *pf_batch_string_list_get(const struct pf_batch *b, uint32_t i, size_t *n);
const struct pf_attribute *pf_batch_attribute_get(const struct pf_batch *b, uint32_t i);
const uint32_t *pf_batch_attr_set_get(const struct pf_batch *b, uint32_t i, size_t *n);
const struct pf_function *pf_batch_function_get(const struct pf_batch *b, uint32_t i);
const struct pf_mapping *pf_batch_mapping_get(const struct pf_batch *b, uint32_t i);
const struct pf_location *pf_batch_location_get(const struct pf_batch *b, uint32_t i);
const struct pf_line *pf_batch_location_lines(const struct pf_batch *b, uint32_t i, size_t *n);
const uint32_t *pf_batch_stack_get(const struct pf_batch *b, uint32_t i, size_t *n);
const struct pf_link *pf_batch_link_get(const struct pf_batch *b, uint32_t i);
const struct pf_resource *pf_batch_resource_get(const struct pf_batch *b, uint32_t i);
const struct pf_scope *pf_batch_scope_get(const struct pf_batch *b, uint32_t i);
const struct pf_profile_desc *pf_batch_profile_get(const struct pf_batch *b, uint32_t p);

/* The samples of profile p, in insertion order. */
const struct pf_sample *pf_batch_samples(const struct pf_batch *b, uint32_t p, size_t *n);
const int64_t *pf_batch_sample_values(const struct pf_batch *b, const struct pf_sample *s);
const uint64_t *pf_batch_sample_timestamps(const struct pf_batch *b, const struct pf_sample *s);

/* A sample's weight: the sum of its values (saturating at INT64_MIN/MAX),
 * or its number of timestamps when it carries no values. */
int64_t pf_batch_sample_total(const struct pf_batch *b, const struct pf_sample *s);

/* Total samples over all profiles (the OTel Collector's "profile samples"). */
size_t pf_batch_sample_count(const struct pf_batch *b);

/* The samples of the n profiles listed in `profiles` (indices into b). */
size_t pf_batch_sample_count_of(const struct pf_batch *b, const uint32_t *profiles, size_t n);

/* Looks up the value of attribute `key` in attribute set `set`; NULL if absent. */
const struct pf_value *pf_batch_attr_lookup(const struct pf_batch *b, uint32_t set,
					    const char *key);

/* The text of attribute `key` in set `set` when it is a non-empty string
 * (pointing into the batch) or an int (formatted into buf, of `size` bytes);
 * NULL when absent, empty or of another kind. */
const char *pf_batch_attr_text(const struct pf_batch *b, uint32_t set, const char *key, char *buf,
			       size_t size);

/* ---- client metadata ---- */

struct pf_metadata;

/* Attaches client metadata (model/metadata.h: the request headers a
 * receiver with include_metadata saw) to b, which takes ownership of m and
 * frees what it had; NULL removes it. b must not be shared. */
void pf_batch_set_metadata(struct pf_batch *b, struct pf_metadata *m);

/* b's client metadata, or NULL when it has none. pf_batch_copy() and
 * pf_batch_aggregate() keep it; pf_batch_merge() keeps in dst only the keys
 * whose values dst and src agree on (all of src's when dst was empty). */
const struct pf_metadata *pf_batch_metadata(const struct pf_batch *b);

/* ---- combining ---- */

/* Appends everything in src to dst, re-indexing src's dictionary into dst's
 * (entries already in dst are reused, so no duplicates appear). Profiles of
 * src are appended, not merged with dst's. dst must not be shared.
 * Client metadata: see pf_batch_metadata().
 * Returns 0 or -ENOMEM (dst may then hold part of src; it stays valid). */
int pf_batch_merge(struct pf_batch *dst, const struct pf_batch *src);

/* Returns a new batch in which profiles with equal descriptions (all of
 * pf_profile_desc but time and duration, which become the covering range) are
 * one profile, and samples with equal (stack, attrs, link) within it are one
 * sample. With keep_timestamps the merged sample appends the values and
 * timestamps of its parts, as OTLP prescribes; without, it carries one value:
 * the sum of all its parts' values (a timestamps-only part counts 1 per
 * timestamp). With keep_timestamps, a merged sample some of whose parts lack
 * timestamps is summed as without (values without timestamps cannot be kept
 * apart), and a timestamps-only part next to valued ones adds a value of 1 per
 * timestamp. Returns NULL on ENOMEM. */
struct pf_batch *pf_batch_aggregate(const struct pf_batch *src, bool keep_timestamps);

/* What pf_batch_merge_sum() knows of the batch it sums into: its profiles by
 * description and its samples by (profile, stack, attrs, link). */
struct pf_batch_sums;

/* An empty index, for an empty batch. NULL on ENOMEM. */
struct pf_batch_sums *pf_batch_sums_new(void);

/* Frees it; takes NULL. */
void pf_batch_sums_free(struct pf_batch_sums *s);

/* Merges src into dst as pf_batch_merge() does, then aggregates as
 * pf_batch_aggregate(, false) would: a profile of src joins dst's profile of
 * equal description, and a sample joins dst's equal sample, adding its values
 * to dst's one value, so dst holds only distinct samples (in first-seen
 * order) and the result is that of aggregating everything merged. dst must
 * have started empty with a new `sums` and been changed only by this
 * function with it (pf_batch_copy() of it may take its place). On -ENOMEM
 * dst may hold part of src and both stay valid. */
int pf_batch_merge_sum(struct pf_batch *dst, const struct pf_batch *src,
		       struct pf_batch_sums *sums);

#endif
