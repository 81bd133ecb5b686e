// SPDX-License-Identifier: Apache-2.0
/* Exponential backoff with jitter (the Collector's retry_on_failure) and Retry-After parsing. */
#include "retry.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000LL

const struct pf_option pf_retry_options[] = {
	{.name = "enabled",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct pf_retry_config, enabled),
	 .doc = "Retry retryable failures with exponential backoff"},
	{.name = "initial_interval",
	 .type = PF_OPT_DURATION,
	 .def = "5s",
	 .min = 1e6,
	 .max = 3600e9,
	 .offset = offsetof(struct pf_retry_config, initial_interval),
	 .doc = "Wait before the first retry"},
	{.name = "max_interval",
	 .type = PF_OPT_DURATION,
	 .def = "30s",
	 .min = 1e6,
	 .max = 86400e9,
	 .offset = offsetof(struct pf_retry_config, max_interval),
	 .doc = "Upper bound of the wait between retries"},
	{.name = "max_elapsed_time",
	 .type = PF_OPT_DURATION,
	 .def = "300s",
	 .min = 0,
	 .max = 30 * 86400e9,
	 .offset = offsetof(struct pf_retry_config, max_elapsed_time),
	 .doc = "Give up on a request after this long since its first attempt (0 = never)"},
	{.name = "multiplier",
	 .type = PF_OPT_DOUBLE,
	 .def = "1.5",
	 .min = 1,
	 .max = 100,
	 .offset = offsetof(struct pf_retry_config, multiplier),
	 .doc = "Factor by which the wait grows after each retry"},
	{.name = "randomization_factor",
	 .type = PF_OPT_DOUBLE,
	 .def = "0.5",
	 .min = 0,
	 .max = 1,
	 .offset = offsetof(struct pf_retry_config, randomization_factor),
	 .doc = "Jitter: each wait is drawn from interval * (1 +- factor)"},
	PF_OPTION_END,
};

void pf_retry_reset(struct pf_backoff *b, const struct pf_retry_config *cfg)
{
	b->interval = cfg->initial_interval;
	b->attempts = 0;
}

int64_t pf_retry_next(struct pf_backoff *b, const struct pf_retry_config *cfg, int64_t elapsed_ns,
		      int64_t server_delay_ns, double u)
{
	if (!cfg->enabled)
		return -1;
	double iv = (double)b->interval;
	double delta = cfg->randomization_factor * iv;
	double lo = iv - delta;
	int64_t delay = (int64_t)(lo + u * 2 * delta);
	if (delay < 0)
		delay = 0;
	if (server_delay_ns > delay)
		delay = server_delay_ns;

	double grown = iv * cfg->multiplier;
	if (grown > (double)cfg->max_interval)
		grown = (double)cfg->max_interval;
	b->interval = (int64_t)grown;

	if (cfg->max_elapsed_time > 0 && elapsed_ns + delay > cfg->max_elapsed_time)
		return -1;
	b->attempts++;
	return delay;
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int month_index(const char *m)
{
	for (int i = 0; i < 12; i++)
		if (strcmp(m, months[i]) == 0)
			return i;
	return -1;
}

/* Parses the three HTTP-date forms of RFC 9110 5.6.7 into seconds since the
 * epoch (UTC). Returns 0 or -EINVAL. */
static int parse_http_date(const char *s, int64_t *out)
{
	char wday[16], mon[4], tz[4];
	int day, year, hh, mm, ss, n = 0;
	struct tm tm = {0};

	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (sscanf(s, "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wday, &day, mon, &year, &hh, &mm, &ss,
		   tz, &n) == 8 &&
	    strlen(wday) == 3) {
		/* fall through to the checks below */
	} else if (sscanf(s, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", wday, &day, mon, &year,
			  &hh, &mm, &ss, tz, &n) == 8) {
		/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years
		 * that look more than 50 years ahead are in the past century */
		year += year < 70 ? 2000 : 1900;
		mon[3] = '\0';
	} else if (sscanf(s, "%3s %3s %2d %2d:%2d:%2d %4d%n", wday, mon, &day, &hh, &mm, &ss, &year,
			  &n) == 7) {
		/* asctime: "Sun Nov  6 08:49:37 1994" */
		strcpy(tz, "GMT");
	} else {
		return -EINVAL;
	}
	if (s[n] != '\0' || strcmp(tz, "GMT") != 0)
		return -EINVAL;
	int m = month_index(mon);
	if (m < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970 ||
	    year > 9999 || hh < 0 || mm < 0 || ss < 0)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = m;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = (int64_t)t;
	return 0;
}

int pf_retry_parse_after(const char *value, int64_t now_unix, int64_t *delay_ns)
{
	if (!value)
		return -EINVAL;
	while (*value == ' ' || *value == '\t')
		value++;
	size_t len = strlen(value);
	while (len && (value[len - 1] == ' ' || value[len - 1] == '\t' || value[len - 1] == '\r' ||
		       value[len - 1] == '\n'))
		len--;
	if (len == 0 || len > 64)
		return -EINVAL;
	char buf[65];
	memcpy(buf, value, len);
	buf[len] = '\0';

	if (isdigit((unsigned char)buf[0])) {
		int64_t secs = 0;
		for (size_t i = 0; i < len; i++) {
			if (!isdigit((unsigned char)buf[i]))
				return -EINVAL;
			if (secs > (INT64_MAX / NS_PER_S) / 10)
				return -EINVAL;
			secs = secs * 10 + (buf[i] - '0');
		}
		if (secs > INT64_MAX / NS_PER_S)
			return -EINVAL;
		*delay_ns = secs * NS_PER_S;
		return 0;
	}
	int64_t when;
	if (parse_http_date(buf, &when) < 0)
		return -EINVAL;
	*delay_ns = when > now_unix ? (when - now_unix) * NS_PER_S : 0;
	return 0;
}
