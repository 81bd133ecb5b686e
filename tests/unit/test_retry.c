/* SPDX-License-Identifier: Apache-2.0 */
/* Backoff with jitter: bounds, growth, server delays, max_elapsed_time; Retry-After in both forms. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sending/retry.h"

#define MS ((int64_t)1000000)

static void test_jitter_bounds(void **state)
{
	struct pf_retry_config cfg = {.enabled = true,
				      .initial_interval = 1000 * MS,
				      .max_interval = 3000 * MS,
				      .multiplier = 2,
				      .randomization_factor = 0.5};
	struct pf_backoff b;
	int64_t iv = 1000 * MS;

	for (int round = 0; round < 200; round++) {
		pf_retry_reset(&b, &cfg);
		iv = 1000 * MS;
		for (int i = 0; i < 6; i++) {
			double u = (double)((round * 7919 + i * 104729) % 1000) / 1000.0;
			int64_t d = pf_retry_next(&b, &cfg, 0, 0, u);
			assert_true(d >= iv / 2 && d <= iv + iv / 2);
			iv = iv * 2 > 3000 * MS ? 3000 * MS : iv * 2;
		}
	}
	/* the extremes */
	pf_retry_reset(&b, &cfg);
	assert_int_equal(pf_retry_next(&b, &cfg, 0, 0, 0.0), 500 * MS);
	assert_int_equal(b.interval, 2000 * MS);
	assert_true(pf_retry_next(&b, &cfg, 0, 0, 0.999999) > 2999 * MS);
	assert_int_equal(b.interval, 3000 * MS); /* capped at max_interval */
	/* no randomization: exact */
	cfg.randomization_factor = 0;
	pf_retry_reset(&b, &cfg);
	assert_int_equal(pf_retry_next(&b, &cfg, 0, 0, 0.7), 1000 * MS);
	/* disabled: give up at once */
	cfg.enabled = false;
	pf_retry_reset(&b, &cfg);
	assert_int_equal(pf_retry_next(&b, &cfg, 0, 0, 0.5), -1);
}

static void test_backoff_server_delay_and_elapsed(void **state)
{
	struct pf_retry_config cfg = {.enabled = true,
				      .initial_interval = 5000 * MS,
				      .max_interval = 30000 * MS,
				      .max_elapsed_time = 300000 * MS,
				      .multiplier = 1.5,
				      .randomization_factor = 0};
	struct pf_backoff b;

	pf_retry_reset(&b, &cfg);
	/* max(backoff, server delay) */
	assert_int_equal(pf_retry_next(&b, &cfg, 0, 20000 * MS, 0.5), 20000 * MS);
	assert_int_equal(pf_retry_next(&b, &cfg, 0, 1000 * MS, 0.5), 7500 * MS);
	/* the next would end after max_elapsed_time: give up */
	pf_retry_reset(&b, &cfg);
	assert_int_equal(pf_retry_next(&b, &cfg, 295000 * MS, 0, 0.5), 5000 * MS);
	assert_int_equal(pf_retry_next(&b, &cfg, 295001 * MS, 0, 0.5), -1);
	/* 0 = forever */
	cfg.max_elapsed_time = 0;
	pf_retry_reset(&b, &cfg);
	assert_int_equal(pf_retry_next(&b, &cfg, INT64_MAX / 4, 0, 0.5), 5000 * MS);
}

static void test_retry_after_parsing(void **state)
{
	int64_t d = -1;
	/* 2026-11-27T08:00:00Z */
	const int64_t at = 1795766400;

	assert_int_equal(pf_retry_parse_after("120", at, &d), 0);
	assert_int_equal(d, 120000 * MS);
	assert_int_equal(pf_retry_parse_after(" 0 \r\n", at, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(pf_retry_parse_after("Fri, 27 Nov 2026 08:00:30 GMT", at, &d), 0);
	assert_int_equal(d, 30000 * MS);
	assert_int_equal(pf_retry_parse_after("Friday, 27-Nov-26 08:01:00 GMT", at, &d), 0);
	assert_int_equal(d, 60000 * MS);
	assert_int_equal(pf_retry_parse_after("Fri Nov 27 08:00:05 2026", at, &d), 0);
	assert_int_equal(d, 5000 * MS);
	/* a date in the past: retry now */
	assert_int_equal(pf_retry_parse_after("Sun, 06 Nov 1994 08:49:37 GMT", at, &d), 0);
	assert_int_equal(d, 0);
	const char *bad[] = {"",
			     "-1",
			     "12a",
			     "1.5",
			     "Fri, 27 Nov 2026 08:00:30 PST",
			     "Fri, 27 Foo 2026 08:00:30 GMT",
			     "Fri, 27 Nov 2026 25:00:30 GMT",
			     "Fri, 27 Nov 2026 08:00:30 GMT junk",
			     "99999999999999999999",
			     NULL};
	for (int i = 0; bad[i]; i++)
		assert_int_equal(pf_retry_parse_after(bad[i], at, &d), -EINVAL);
	assert_int_equal(pf_retry_parse_after(NULL, at, &d), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jitter_bounds),
		cmocka_unit_test(test_backoff_server_delay_and_elapsed),
		cmocka_unit_test(test_retry_after_parsing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
