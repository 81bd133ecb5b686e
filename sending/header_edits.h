/* SPDX-License-Identifier: Apache-2.0 */
/* Edits of a request's headers, stored in front of a queued payload so retries and a file-backed queue send the same headers. */
#ifndef PF_HEADER_EDITS_H
#define PF_HEADER_EDITS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What one edit does to the header it names (names compared without case). */
enum pf_header_action {
	PF_HEADER_INSERT, /* add it when absent */
	PF_HEADER_UPDATE, /* replace it when present */
	PF_HEADER_UPSERT, /* either */
	PF_HEADER_DELETE, /* remove every line of that name */
};

struct pf_header_edit {
	int action; /* enum pf_header_action */
	const char *name;
	const char *value; /* "" for PF_HEADER_DELETE */
};

/* Bounds of one block: what a reader accepts and a writer may put. */
#define PF_HEADER_MAX_EDITS 64
#define PF_HEADER_MAX_NAME  256
#define PF_HEADER_MAX_VALUE 8192

/*
 * A new buffer holding the block of `n` edits followed by the `size` bytes
 * of `payload` (which stays the caller's; may be NULL when size is 0).
 * Names must be 1..PF_HEADER_MAX_NAME bytes without ':', CR or LF, values
 * at most PF_HEADER_MAX_VALUE bytes without CR or LF, n at most
 * PF_HEADER_MAX_EDITS. Returns 0 with *out malloc'd and *out_size set,
 * -EINVAL for an edit out of those bounds, or -ENOMEM.
 *
 * The block: magic "\xffPFH" | total length u32 LE | count u16 LE | count
 * times: action u8 | name length u16 LE | name | value length u32 LE |
 * value. The magic's first byte, 0xff, starts neither a protobuf message
 * (field 31, wire type 7 does not exist), a gzip stream nor a pyroscope
 * payload, so a payload queued without edits is told apart.
 */
int pf_header_edits_wrap(const struct pf_header_edit *edits, size_t n, const void *payload,
			 size_t size, uint8_t **out, size_t *out_size);

/* The length of the block at the front of data (the payload follows it); 0
 * when data carries none, -EINVAL when the block is corrupt. */
ssize_t pf_header_edits_len(const void *data, size_t size);

/*
 * Applies the edits of block (len bytes, as pf_header_edits_len() found) to
 * a request's header lines, `n` lines "Name: value". Returns 0 with *out a
 * malloc'd array of *n_out malloc'd lines (free with pf_header_lines_free),
 * -EINVAL (corrupt block: read from disk, it may be anything) or -ENOMEM.
 */
int pf_header_edits_apply(const void *block, size_t len, const char *const *lines, size_t n,
			  char ***out, size_t *n_out);

/* Frees lines made by pf_header_edits_apply(). Takes NULL. */
void pf_header_lines_free(char **lines, size_t n);

#endif
