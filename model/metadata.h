/* SPDX-License-Identifier: Apache-2.0 */
/* Client metadata: the request headers a batch arrived with (the Collector's client.Info.Metadata). */
#ifndef PF_METADATA_H
#define PF_METADATA_H

#include <stdbool.h>
#include <stddef.h>

/*
 * An ordered list of keys, each with one or more values, as a receiver with
 * `include_metadata` saw them in a request's gRPC metadata or HTTP headers.
 * Keys are stored lower-cased and looked up case-insensitively; a key given
 * several times keeps every value, in order. The list owns its strings.
 * Attached to a batch (pf_batch_set_metadata) it is read-only like the batch.
 */
struct pf_metadata;

/* An empty list, or NULL when out of memory. */
struct pf_metadata *pf_metadata_new(void);

/* Frees the list and its strings. Takes NULL. */
void pf_metadata_free(struct pf_metadata *m);

/* Appends `value` to key `key` (lower-cased; added when new). Lengths are
 * in bytes; neither needs a NUL. Returns 0, -EINVAL for an empty key, or
 * -ENOMEM (m unchanged). */
int pf_metadata_add(struct pf_metadata *m, const char *key, size_t key_len, const char *value,
		    size_t value_len);

/* Number of keys; 0 for NULL. */
size_t pf_metadata_n(const struct pf_metadata *m);

/* Key i (lower case) and its values; i must be below pf_metadata_n(). */
const char *pf_metadata_key(const struct pf_metadata *m, size_t i);
const char *const *pf_metadata_values(const struct pf_metadata *m, size_t i, size_t *n);

/* The values of `key` (any case), or NULL with *n = 0 when absent or m is
 * NULL. Valid until m changes or is freed. */
const char *const *pf_metadata_get(const struct pf_metadata *m, const char *key, size_t *n);

/* True when `key` has the same values, in the same order, in a and b
 * (absent in both counts as equal). Either may be NULL. */
bool pf_metadata_same(const struct pf_metadata *a, const struct pf_metadata *b, const char *key);

/* A deep copy, or NULL when out of memory. m must not be NULL. */
struct pf_metadata *pf_metadata_copy(const struct pf_metadata *m);

/* Removes from m every key whose values differ in `other` (NULL: every
 * key), so that m keeps what both agree on. */
void pf_metadata_intersect(struct pf_metadata *m, const struct pf_metadata *other);

#endif
