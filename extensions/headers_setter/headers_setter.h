/* SPDX-License-Identifier: Apache-2.0 */
/* The headers_setter extension as exporters use it: per-batch header edits carried in front of a queued payload. */
#ifndef PF_EXTENSIONS_HEADERS_SETTER_H
#define PF_EXTENSIONS_HEADERS_SETTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pipeline/batch.h"
#include "pipeline/component.h"

/*
 * contrib's headers_setter: a list of {key, value | from_context,
 * default_value, action} applied to an exporter's request headers. An
 * exporter with `auth: {authenticator: headers_setter[/name]}` finds the
 * extension in start, resolves the edits for each batch when it queues the
 * batch's payload (from_context reads the batch's client metadata, see the
 * otlp receiver's include_metadata), stores them in front of the payload
 * with pf_headers_setter_wrap(), and applies them to each attempt's
 * headers with pf_headers_apply(). The edits thus survive retries and a
 * file-backed queue.
 */

extern const struct pf_component_def pf_extension_headers_setter;

/* Edits per request at most, so pf_headers_apply() adds at most this many
 * lines to those it is given. */
#define PF_HEADERS_MAX_EDITS 64

struct pf_headers_setter;

/* An exporter's `auth` section, spelt as the Collector's HTTP and gRPC
 * client settings: `auth: {authenticator: headers_setter[/name]}`. The
 * exporter embeds the rows as a PF_OPT_SECTION at the offset of a struct
 * pf_headers_setter_auth field and looks the extension up in start. */
struct pf_headers_setter_auth {
	char *authenticator;
};

extern const struct pf_option pf_headers_setter_auth_options[];

/* The running headers_setter extension `id` for exporter c, or NULL after
 * logging why (not listed in service.extensions, or another type). */
const struct pf_headers_setter *pf_headers_setter_find(struct pf_component *c, const char *id);

/* A new buffer holding the edits of `hs` for batch b (NULL: one without
 * client metadata) followed by the `size` bytes of `payload` (which stays
 * the caller's; may be NULL when size is 0). Returns 0 with *out malloc'd
 * and *out_size set, or -ENOMEM. */
int pf_headers_setter_wrap(const struct pf_headers_setter *hs, const struct pf_batch *b,
			   const void *payload, size_t size, uint8_t **out, size_t *out_size);

/* The edits block alone for batch b, for an encoder that puts it in front
 * of the payloads it makes: `arg` is a `const struct pf_headers_setter **`
 * (the exporter's, set in start; NULL there: no block, *bytes NULL and
 * *size 0). Returns 0 or -ENOMEM. */
int pf_headers_setter_prefix(void *arg, const struct pf_batch *b, uint8_t **bytes, size_t *size);

/* The length of the edits block at the front of data (the payload follows
 * it); 0 when data carries none (a payload queued without an
 * authenticator), -EINVAL when the block is corrupt. */
ssize_t pf_headers_block_len(const void *data, size_t size);

/*
 * Applies the edits of block (len bytes, as pf_headers_block_len() found)
 * to a request's headers, `n` lines "Name: value" (names compared without
 * case): insert adds a header that is absent, update replaces one that is
 * present, upsert does either, delete removes it. Returns 0 with *out a
 * malloc'd array of *n_out malloc'd lines (free with pf_headers_lines_free),
 * -EINVAL (corrupt block) or -ENOMEM.
 */
int pf_headers_apply(const void *block, size_t len, const char *const *lines, size_t n, char ***out,
		     size_t *n_out);

/* Frees lines made by pf_headers_apply(). Takes NULL. */
void pf_headers_lines_free(char **lines, size_t n);

/*
 * What an exporter's send does with a queued payload: the header lines of
 * the request are `lines` with the edits of the block at the front of data
 * applied when data has one, else with those of `hs` for a batch without
 * client metadata (fixed values and default_value) when hs is not NULL, else
 * `lines` as they are. Returns 0 with *out (NULL when lines stay as they
 * are, else as pf_headers_apply() makes it) and *skip, the bytes of data
 * before the payload proper; -EINVAL for a corrupt block (a permanent
 * failure) or -ENOMEM.
 */
int pf_headers_for_payload(const struct pf_headers_setter *hs, const void *data, size_t size,
			   const char *const *lines, size_t n, char ***out, size_t *n_out,
			   size_t *skip);

#endif
