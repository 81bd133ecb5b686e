// SPDX-License-Identifier: Apache-2.0
/* unit.debuginfod: symbolize's debuginfod options, and the client's negative cache and bounds against a server that refuses. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "config/config.h"
#include "config/node.h"
#include "processors/symbolize/debuginfod.h"
#include "sinks_harness.h"

extern const struct pf_component_def pf_processor_symbolize;

static const struct pf_component_def *const registry[] = {&sh_feeder_def, &pf_processor_symbolize,
							  &sh_sink_def, NULL};

/* Loads a pipeline feeder -> symbolize (with `options` under it) -> sink. */
static struct pf_config *load(const char *options, struct pf_error *err)
{
	char *yaml;
	struct pf_config *cfg;

	assert_true(asprintf(&yaml,
			     "receivers:\n  feeder:\n"
			     "processors:\n  symbolize:\n%s"
			     "exporters:\n  sink:\n"
			     "service:\n  pipelines:\n    profiles:\n"
			     "      receivers: [feeder]\n      processors: [symbolize]\n"
			     "      exporters: [sink]\n",
			     options) > 0);
	pf_error_clear(err);
	cfg = pf_config_load_string("t.yaml", yaml, strlen(yaml), registry, err);
	free(yaml);
	return cfg;
}

/* Loading fails at `where` (line 5 is the first line of options) with a
 * message containing `part`. */
static void expect_error(const char *options, const char *where, const char *part)
{
	struct pf_error err;
	struct pf_config *cfg = load(options, &err);

	if (cfg) {
		pf_config_free(cfg);
		fail_msg("expected an error at %s (%s)", where, part);
	}
	if (strcmp(err.where, where) != 0 || !strstr(err.msg, part))
		fail_msg("got \"%s: %s\", want \"%s: ...%s...\"", err.where, err.msg, where, part);
}

static void test_defaults(void **state)
{
	struct pf_debuginfod_config cfg;
	struct pf_error err = {0};

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(pf_coptions_defaults(pf_debuginfod_options, &cfg, &err), 0);
	assert_false(cfg.enabled);
	assert_int_equal(cfg.urls.n, 0);
	assert_int_equal(cfg.timeout, 10LL * 1000 * 1000 * 1000);
	assert_string_equal(cfg.cache_dir, "");
	assert_int_equal(pf_debuginfod_validate(&cfg, &err), 0);
	pf_coptions_free(pf_debuginfod_options, &cfg);
}

static void test_options_accepted(void **state)
{
	struct pf_error err;
	struct pf_config *cfg;

	(void)state;
	cfg = load("    debuginfod:\n      enabled: true\n"
		   "      urls: [http://127.0.0.1:8002, https://debuginfod.debian.net]\n"
		   "      timeout: 30s\n      cache_dir: /var/cache/proflow\n",
		   &err);
	if (!cfg)
		fail_msg("%s: %s", err.where, err.msg);
	pf_config_free(cfg);
}

static void test_bad_values_cite_their_place(void **state)
{
	(void)state;
	expect_error("    debuginfod:\n      timeout: 100ms\n", "t.yaml:6:16", "timeout");
	expect_error("    debuginfod:\n      timeout: soon\n", "t.yaml:6:16", "timeout");
	expect_error("    debuginfod:\n      enabled: maybe\n", "t.yaml:6:16", "enabled");
	expect_error("    debuginfod:\n      url: [http://x]\n", "t.yaml:6:7", "urls");
	expect_error("    debuginfod:\n      urls: http://x\n", "t.yaml:6:13", "urls");
	/* Cross-field rules: at the processor's settings. */
	expect_error("    debuginfod:\n      urls: [ftp://x]\n", "t.yaml:5:5",
		     "not an http:// or https:// URL");
	expect_error("    debuginfod:\n      urls: [\"http://a http://b\"]\n", "t.yaml:5:5",
		     "contains a space");
	expect_error("    debuginfod:\n      cache_dir: cache\n", "t.yaml:5:5",
		     "not an absolute path");
}

/* ---- the client, against a port nobody listens on ---- */

static char urls_buf[64];
static char *url_item = urls_buf;
static const struct pf_strings refused_urls = {&url_item, 1};
static char cache_dir[] = "/tmp/pf-unit-debuginfod.XXXXXX";

static int refused_setup(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	/* A port just bound and closed: connections to it are refused. */
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	close(fd);
	snprintf(urls_buf, sizeof(urls_buf), "http://127.0.0.1:%u", ntohs(a.sin_port));
	return mkdtemp(cache_dir) ? 0 : -1;
}

static int refused_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cache_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct pf_debuginfod *client(uint64_t retry_ms, size_t max_ids)
{
	struct pf_debuginfod_opts o = {
		.urls = &refused_urls,
		.cache_dir = cache_dir,
		.timeout_ms = 5000,
		.retry_ms = retry_ms,
		.max_ids = max_ids,
	};
	struct pf_debuginfod *d;
	int err;

	d = pf_debuginfod_new(&o, &err);
	assert_non_null(d);
	assert_int_equal(err, 0);
	return d;
}

/* Waits (up to 10 s) until hex is no longer queued or in flight. */
static int settle(struct pf_debuginfod *d, const char *hex)
{
	int ret;

	for (int i = 0; i < 1000; i++) {
		ret = pf_debuginfod_lookup(d, hex, NULL, 0);
		if (ret != -EAGAIN)
			return ret;
		usleep(10000);
	}
	return ret;
}

static uint64_t requests(struct pf_debuginfod *d)
{
	struct pf_debuginfod_stats s;

	pf_debuginfod_stats(d, &s);
	return s.requests;
}

#define ID_A "0123456789abcdef0123456789abcdef01234567"
#define ID_B "1123456789abcdef0123456789abcdef01234567"
#define ID_C "2123456789abcdef0123456789abcdef01234567"

static void test_no_url_is_no_client(void **state)
{
	struct pf_debuginfod_opts o = {.timeout_ms = 1000, .retry_ms = 1000, .max_ids = 4};
	int err = 0;

	(void)state;
	assert_int_equal(unsetenv("DEBUGINFOD_URLS"), 0);
	assert_null(pf_debuginfod_new(&o, &err));
	assert_int_equal(err, -ENOENT);
}

static void test_failure_is_not_asked_again_until_retry(void **state)
{
	struct pf_debuginfod *d = client(600, 16);
	struct pf_debuginfod_stats s;
	uint64_t failed_at;

	(void)state;
	assert_int_equal(pf_debuginfod_lookup(d, ID_A, NULL, 0), -EAGAIN);
	/* settle() looks it up every 10 ms meanwhile: still one request. */
	assert_int_equal(settle(d, ID_A), -ENOENT);
	failed_at = uv_hrtime() / 1000000;
	pf_debuginfod_stats(d, &s);
	assert_int_equal(s.requests, 1);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.found, 0);
	/* Within retry_ms: answered from the table, nothing asked. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(pf_debuginfod_lookup(d, ID_A, NULL, 0), -ENOENT);
		usleep(20000);
	}
	assert_int_equal(requests(d), 1);
	/* After it: asked again. */
	while (uv_hrtime() / 1000000 < failed_at + 700)
		usleep(20000);
	assert_int_equal(pf_debuginfod_lookup(d, ID_A, NULL, 0), -EAGAIN);
	assert_int_equal(settle(d, ID_A), -ENOENT);
	assert_int_equal(requests(d), 2);
	pf_debuginfod_free(d);
}

static void test_table_is_bounded(void **state)
{
	struct pf_debuginfod *d = client(60000, 2);

	(void)state;
	assert_int_equal(pf_debuginfod_lookup(d, ID_A, NULL, 0), -EAGAIN);
	assert_int_equal(settle(d, ID_A), -ENOENT);
	assert_int_equal(pf_debuginfod_lookup(d, ID_B, NULL, 0), -EAGAIN);
	assert_int_equal(settle(d, ID_B), -ENOENT);
	/* B was used last: C takes A's place, and A, forgotten, is asked again. */
	assert_int_equal(pf_debuginfod_lookup(d, ID_C, NULL, 0), -EAGAIN);
	assert_int_equal(settle(d, ID_C), -ENOENT);
	assert_int_equal(pf_debuginfod_lookup(d, ID_B, NULL, 0), -ENOENT);
	assert_int_equal(requests(d), 3);
	assert_int_equal(pf_debuginfod_lookup(d, ID_A, NULL, 0), -EAGAIN);
	assert_int_equal(settle(d, ID_A), -ENOENT);
	assert_int_equal(requests(d), 4);
	/* Not a build ID: never asked. */
	assert_int_equal(pf_debuginfod_lookup(d, "../../etc", NULL, 0), -ENOENT);
	assert_int_equal(pf_debuginfod_lookup(d, "", NULL, 0), -ENOENT);
	assert_int_equal(requests(d), 4);
	pf_debuginfod_free(d);
}

/* Freeing with a request queued and one in flight returns (the worker is
 * told to stop) and leaks nothing (ASan). */
static void test_free_while_busy(void **state)
{
	struct pf_debuginfod *d = client(60000, 4);

	(void)state;
	assert_int_equal(pf_debuginfod_lookup(d, ID_A, NULL, 0), -EAGAIN);
	assert_int_equal(pf_debuginfod_lookup(d, ID_B, NULL, 0), -EAGAIN);
	pf_debuginfod_free(d);
}

int main(void)
{
	const struct CMUnitTest options[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_options_accepted),
		cmocka_unit_test(test_bad_values_cite_their_place),
	};
	const struct CMUnitTest refused[] = {
		cmocka_unit_test(test_no_url_is_no_client),
		cmocka_unit_test(test_failure_is_not_asked_again_until_retry),
		cmocka_unit_test(test_table_is_bounded),
		cmocka_unit_test(test_free_while_busy),
	};

	return cmocka_run_group_tests_name("options", options, NULL, NULL) |
	       cmocka_run_group_tests_name("refused", refused, refused_setup, refused_teardown);
}
