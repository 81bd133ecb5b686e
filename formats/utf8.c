// SPDX-License-Identifier: Apache-2.0
/* The multi-byte half of the UTF-8 checker, and the encoder of one code point. */
#include "formats/utf8.h"

/* Length of the sequence a lead byte starts (0: never a lead byte), and the
 * range its second byte must be in; the others are 80..BF. */
static unsigned lead(uint8_t c, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c == 0xe0)
		*lo = 0xa0;
	else if (c == 0xed)
		*hi = 0x9f; /* D800-DFFF are surrogates */
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c == 0xf0)
		*lo = 0x90;
	else if (c == 0xf4)
		*hi = 0x8f; /* nothing above U+10FFFF */
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

size_t pf_utf8_check_from(const uint8_t *p, size_t i, size_t n)
{
	while (i < n) {
		uint8_t c = p[i], lo, hi;
		unsigned len;

		if (c < 0x80) {
			/* Back in ASCII: skip it 8 bytes at a time (no call back
			 * into pf_utf8_check, which would recurse per switch). */
			uint64_t a;
			i++;
			while (i + 8 <= n && (memcpy(&a, p + i, 8), !(a & 0x8080808080808080ull)))
				i += 8;
			continue;
		}
		len = lead(c, &lo, &hi);
		if (len == 0 || n - i < len || p[i + 1] < lo || p[i + 1] > hi)
			return i;
		for (unsigned k = 2; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return i;
		i += len;
	}
	return n;
}

size_t pf_utf8_put(uint8_t *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}
