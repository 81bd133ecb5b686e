// SPDX-License-Identifier: Apache-2.0
/* Component and pipeline ids: type[/name] with the OpenTelemetry Collector's rules. */
#include "loader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_TYPE 63

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decodes one UTF-8 sequence; returns its length or 0 when malformed. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len;
	uint32_t min;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		*cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		*cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		*cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Unicode separators (Z), controls and format/private characters (C) and
 * symbols (S) are not allowed in names. ASCII is exact; beyond it the common
 * blocks of those categories are listed (not the whole Unicode database).
 */
static bool name_char_ok(uint32_t cp)
{
	if (cp < 0x80)
		return cp > 0x20 && cp != 0x7f && !strchr("$+<=>^`|~", (int)cp);
	static const struct {
		uint32_t lo, hi;
	} banned[] = {
		{0x80, 0xa0},	     {0xa2, 0xa6},     {0xa8, 0xa9},	 {0xac, 0xae},
		{0xaf, 0xb1},	     {0xb4, 0xb4},     {0xb8, 0xb8},	 {0xd7, 0xd7},
		{0xf7, 0xf7},	     {0x2000, 0x200f}, {0x2028, 0x202f}, {0x205f, 0x206f},
		{0x20a0, 0x20cf},    {0x2100, 0x2bff}, {0x3000, 0x3000}, {0xd800, 0xf8ff},
		{0xfe00, 0xfe0f},    {0xfeff, 0xfeff}, {0xfff0, 0xffff}, {0x1f000, 0x1faff},
		{0xe0000, 0x10ffff},
	};
	for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		if (cp >= banned[i].lo && cp <= banned[i].hi)
			return false;
	return true;
}

int pf_cloader_check_id(const char *id, size_t *type_len, char *msg, size_t size)
{
	const char *slash = strchr(id, '/');
	size_t tlen = slash ? (size_t)(slash - id) : strlen(id);
	if (tlen == 0) {
		snprintf(msg, size, "the type part is empty");
		return -EINVAL;
	}
	if (tlen > MAX_TYPE) {
		snprintf(msg, size, "the type is longer than %d characters", MAX_TYPE);
		return -EINVAL;
	}
	if (!is_alpha(id[0])) {
		snprintf(msg, size, "the type must start with a letter");
		return -EINVAL;
	}
	for (size_t i = 1; i < tlen; i++) {
		if (!is_alpha(id[i]) && !is_digit(id[i]) && id[i] != '_') {
			snprintf(msg, size, "the type may only hold letters, digits and '_'");
			return -EINVAL;
		}
	}
	*type_len = tlen;
	if (!slash)
		return 0;
	const unsigned char *s = (const unsigned char *)slash + 1;
	if (*s == '\0') {
		snprintf(msg, size, "the name after '/' is empty");
		return -EINVAL;
	}
	while (*s) {
		uint32_t cp;
		size_t len = utf8_decode(s, &cp);
		if (len == 0 || !name_char_ok(cp)) {
			snprintf(msg, size,
				 "the name may not hold spaces, control characters or symbols");
			return -EINVAL;
		}
		s += len;
	}
	return 0;
}
