// SPDX-License-Identifier: Apache-2.0
/* Go-style durations ("1h2m3.5s") and byte sizes ("64MiB", "1.5GB") to integers. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

typedef unsigned __int128 u128;

/* A decimal number: whole part and up to 18 fraction digits as frac/scale. */
struct decimal {
	uint64_t whole, frac, scale;
};

/* Reads digits[.digits] at *p; fails on overflow or no digits at all. */
static int read_decimal(const char **p, struct decimal *d)
{
	const char *s = *p;
	bool any = false;
	d->whole = 0;
	d->frac = 0;
	d->scale = 1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (d->whole > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		d->whole = d->whole * 10 + (uint64_t)(*s - '0');
		any = true;
	}
	if (*s == '.') {
		s++;
		for (; *s >= '0' && *s <= '9'; s++) {
			any = true;
			/* Digits past 1e-18 cannot change a nanosecond or byte count. */
			if (d->scale < 1000000000000000000ull) {
				d->frac = d->frac * 10 + (uint64_t)(*s - '0');
				d->scale *= 10;
			}
		}
	}
	if (!any)
		return -EINVAL;
	*p = s;
	return 0;
}

/* whole*unit + frac*unit/scale, added to *total; fails past INT64_MAX. */
static int add_scaled(const struct decimal *d, uint64_t unit, u128 *total)
{
	u128 v = (u128)d->whole * unit + (u128)d->frac * unit / d->scale;
	*total += v;
	return *total > (u128)INT64_MAX ? -ERANGE : 0;
}

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{"ns", 1ull},		{"us", 1000ull},
	{"\xc2\xb5s", 1000ull}, /* U+00B5 micro sign */
	{"\xce\xbcs", 1000ull}, /* U+03BC Greek mu */
	{"ms", 1000000ull},	{"s", 1000000000ull},
	{"m", 60000000000ull},	{"h", 3600000000000ull},
};

/* The longest unit name at p. */
static int match_duration_unit(const char **p, uint64_t *ns)
{
	size_t best = 0;
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		size_t len = strlen(duration_units[i].name);
		if (len > best && strncmp(*p, duration_units[i].name, len) == 0) {
			best = len;
			*ns = duration_units[i].ns;
		}
	}
	if (!best)
		return -EINVAL;
	*p += best;
	return 0;
}

int pf_parse_duration(const char *text, int64_t *ns)
{
	const char *p = text;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	struct decimal d;
	u128 total = 0;
	if (read_decimal(&p, &d) < 0)
		return -EINVAL;
	if (*p == '\0') {
		/* A bare number is seconds. */
		if (add_scaled(&d, 1000000000ull, &total) < 0)
			return -EINVAL;
	} else {
		for (;;) {
			uint64_t unit;
			if (match_duration_unit(&p, &unit) < 0 || add_scaled(&d, unit, &total) < 0)
				return -EINVAL;
			if (*p == '\0')
				break;
			if (read_decimal(&p, &d) < 0)
				return -EINVAL;
		}
	}
	*ns = neg ? -(int64_t)total : (int64_t)total;
	return 0;
}

int pf_parse_size(const char *text, int64_t *bytes)
{
	static const struct {
		const char *name;
		uint64_t mult;
	} units[] = {
		{"", 1ull},
		{"b", 1ull},
		{"k", 1000ull},
		{"kb", 1000ull},
		{"ki", 1024ull},
		{"kib", 1024ull},
		{"m", 1000000ull},
		{"mb", 1000000ull},
		{"mi", 1048576ull},
		{"mib", 1048576ull},
		{"g", 1000000000ull},
		{"gb", 1000000000ull},
		{"gi", 1073741824ull},
		{"gib", 1073741824ull},
		{"t", 1000000000000ull},
		{"tb", 1000000000000ull},
		{"ti", 1099511627776ull},
		{"tib", 1099511627776ull},
	};
	const char *p = text;
	if (*p == '+')
		p++;
	struct decimal d;
	if (read_decimal(&p, &d) < 0)
		return -EINVAL;
	while (*p == ' ')
		p++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(p, units[i].name) == 0) {
			u128 total = 0;
			if (add_scaled(&d, units[i].mult, &total) < 0)
				return -EINVAL;
			*bytes = (int64_t)total;
			return 0;
		}
	}
	return -EINVAL;
}
