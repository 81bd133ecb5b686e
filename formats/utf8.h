/* SPDX-License-Identifier: Apache-2.0 */
/* UTF-8 well-formedness checks for decoders of outside input, with an ASCII fast path. */
#ifndef PF_UTF8_H
#define PF_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Protobuf `string` fields and JSON text must be well-formed UTF-8
 * (Unicode 15, Table 3-7: no overlong forms, no surrogates D800-DFFF, nothing
 * above U+10FFFF). Decoders check every string they accept, so that one bad
 * string is refused where it arrives and not by an exporter's peer after it
 * was merged with everyone else's data.
 */

/* The checker past the first byte at or above 0x80. */
size_t pf_utf8_check_from(const uint8_t *p, size_t i, size_t n);

/* Returns n when s[0..n) is well-formed UTF-8, else the offset of the first
 * byte of the first ill-formed sequence. Inline: ASCII, nearly every string
 * of a profile, is checked 16 bytes to a test without a call. */
static inline size_t pf_utf8_check(const void *s, size_t n)
{
	const uint8_t *p = s;
	const uint64_t high = 0x8080808080808080ull;
	size_t i = 0;
	uint64_t a, b;

	for (; i + 16 <= n; i += 16) {
		memcpy(&a, p + i, 8);
		memcpy(&b, p + i + 8, 8);
		if ((a | b) & high)
			return pf_utf8_check_from(p, i, n);
	}
	if (i + 8 <= n) {
		memcpy(&a, p + i, 8);
		if (a & high)
			return pf_utf8_check_from(p, i, n);
		i += 8;
	}
	for (; i < n; i++)
		if (p[i] & 0x80)
			return pf_utf8_check_from(p, i, n);
	return n;
}

/* Writes code point cp (at most U+10FFFF, not a surrogate) as UTF-8 into
 * out (4 bytes of room). Returns the number of bytes written. */
size_t pf_utf8_put(uint8_t *out, uint32_t cp);

#endif
