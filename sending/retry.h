/* SPDX-License-Identifier: Apache-2.0 */
/* Exponential backoff with jitter for exporters' retries, and the server's Retry-After hint. */
#ifndef PF_RETRY_H
#define PF_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/option.h"

/*
 * The `retry_on_failure` settings, with the OpenTelemetry Collector's
 * defaults (configretry): enabled, initial_interval 5s, max_interval 30s,
 * max_elapsed_time 300s (0 = retry forever), multiplier 1.5,
 * randomization_factor 0.5. Durations are in nanoseconds.
 */
struct pf_retry_config {
	bool enabled;
	int64_t initial_interval;
	int64_t max_interval;
	int64_t max_elapsed_time;
	double multiplier;
	double randomization_factor;
};

/* The option rows of `retry_on_failure`, offsets into struct
 * pf_retry_config. An exporter embeds them as a PF_OPT_SECTION row whose
 * offset is that of its struct pf_retry_config field. */
extern const struct pf_option pf_retry_options[];

/* The state of one request's retries. Plain data; zero it with
 * pf_retry_reset() before the first attempt. */
struct pf_backoff {
	int64_t interval; /* ns: the next un-randomized interval */
	int attempts;	  /* retries scheduled so far */
};

/* Starts a new sequence of retries at initial_interval. */
void pf_retry_reset(struct pf_backoff *b, const struct pf_retry_config *cfg);

/*
 * The delay before the next retry, in ns, or -1 to give up (retries
 * disabled, or the retry would start after max_elapsed_time since the
 * first attempt). `elapsed_ns` is the time since the first attempt,
 * `server_delay_ns` the server's hint (Retry-After, RetryInfo; 0 = none) and
 * `u` a uniform random number in [0, 1). The delay is
 * max(interval * (1 +- randomization_factor), server_delay); the interval
 * then grows by `multiplier` up to max_interval.
 */
int64_t pf_retry_next(struct pf_backoff *b, const struct pf_retry_config *cfg, int64_t elapsed_ns,
		      int64_t server_delay_ns, double u);

/*
 * Parses an HTTP Retry-After value: delta-seconds ("120") or an HTTP-date
 * (IMF-fixdate "Fri, 27 Nov 2026 08:00:00 GMT", or the obsolete RFC 850 and
 * asctime forms). `now_unix` is the current time in seconds since the
 * epoch; a date in the past gives 0. Returns 0 and sets *delay_ns, or
 * -EINVAL.
 */
int pf_retry_parse_after(const char *value, int64_t now_unix, int64_t *delay_ns);

#endif
