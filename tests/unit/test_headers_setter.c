// SPDX-License-Identifier: Apache-2.0
/* unit.headers_setter: contrib's config shape, actions on header lines, from_context and default_value per batch, hostile blocks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "extensions/headers_setter/headers_setter.h"
#include "pipeline/batch.h"
#include "pipeline/component_internal.h"
#include "pipeline/metadata.h"
#include "pipeline/service.h"
#include "sinks_harness.h"

static const struct pf_component_def *const registry[] = {&pf_extension_headers_setter,
							  &sh_feeder_def, &sh_sink_def, NULL};

#define PIPELINE                                                                                   \
	"receivers:\n  feeder:\nexporters:\n  sink:\n"                                             \
	"service:\n  extensions: [headers_setter]\n  pipelines:\n    profiles:\n"                  \
	"      receivers: [feeder]\n      exporters: [sink]\n"

/* The whole config around the extension's options. */
static const char *config_yaml(const char *ext_yaml, char *yaml, size_t size)
{
	snprintf(yaml, size, "extensions:\n  headers_setter:\n%s" PIPELINE, ext_yaml);
	return yaml;
}

static struct pf_config *load(const char *ext_yaml, struct pf_error *err)
{
	char yaml[2048];

	config_yaml(ext_yaml, yaml, sizeof(yaml));
	return pf_config_load_string("test.yaml", yaml, strlen(yaml), registry, err);
}

static void expect_invalid(const char *ext_yaml, const char *needle)
{
	struct pf_error err = {0};
	char buf[PF_ERROR_WHERE_MAX + PF_ERROR_MSG_MAX + 4];
	struct pf_config *cfg = load(ext_yaml, &err);

	assert_null(cfg);
	pf_error_str(&err, buf, sizeof(buf));
	if (!strstr(buf, needle))
		fail_msg("error \"%s\" lacks \"%s\"", buf, needle);
}

static void test_config_errors(void **state)
{
	(void)state;
	expect_invalid(
		"    headers:\n      - key: X-A\n        value: a\n        from_context: a\n",
		"exactly one of value and from_context");
	expect_invalid("    headers:\n      - key: X-A\n", "exactly one of value and from_context");
	expect_invalid("    headers:\n      - value: a\n", "key");
	expect_invalid("    headers:\n      - key: X-A\n        value: a\n        action: add\n",
		       "is not one of");
	expect_invalid("    headers:\n      - key: X-A\n        value: a\n        colour: red\n",
		       "headers[0].colour");
	expect_invalid("    headers: [X-A]\n", "expected a mapping of options");
	expect_invalid("    headers:\n      - key: \"X A\"\n        value: a\n",
		       "is not a header name");
	expect_invalid("    headers: []\n", "at least one header");
	expect_invalid("    {}\n", "headers");
}

struct env {
	struct sh_env sh;
	const struct pf_headers_setter *hs;
};

static void env_start(struct env *env, const char *ext_yaml)
{
	char yaml[2048];
	struct pf_component *sink;

	sh_env_start_with(&env->sh, config_yaml(ext_yaml, yaml, sizeof(yaml)), registry);
	sink = sh_find(&env->sh, PF_EXPORTER, "sink");
	env->hs = pf_headers_setter_find(sink, "headers_setter");
	assert_non_null(env->hs);
	assert_null(pf_headers_setter_find(sink, "headers_setter/other"));
}

/* An empty batch from tenant `t` (NULL: no client metadata). */
static struct pf_batch *batch_from(const char *t)
{
	struct pf_batch *b = pf_batch_new();

	if (t) {
		struct pf_metadata *m = pf_metadata_new();
		assert_int_equal(pf_metadata_add(m, "x-scope-orgid", 13, t, strlen(t)), 0);
		assert_int_equal(pf_metadata_add(m, "x-scope-orgid", 13, "second", 6), 0);
		pf_batch_set_metadata(b, m);
	}
	return b;
}

/* Wraps "PAYLOAD" for a batch of tenant t, checks the payload follows the
 * block, and applies the block to `in`; the result joined by "|". */
static void headers_for(const struct pf_headers_setter *hs, const char *t, const char *const *in,
			size_t n, char *out, size_t size)
{
	struct pf_batch *b = batch_from(t);
	uint8_t *wrapped;
	size_t wrapped_size, n_lines, used = 0;
	ssize_t block;
	char **lines;

	assert_int_equal(pf_headers_setter_wrap(hs, b, "PAYLOAD", 7, &wrapped, &wrapped_size), 0);
	block = pf_headers_block_len(wrapped, wrapped_size);
	assert_true(block > 0);
	assert_int_equal(wrapped_size - (size_t)block, 7);
	assert_memory_equal(wrapped + block, "PAYLOAD", 7);
	assert_int_equal(pf_headers_apply(wrapped, (size_t)block, in, n, &lines, &n_lines), 0);
	out[0] = '\0';
	for (size_t i = 0; i < n_lines; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "|" : "", lines[i]);
	pf_headers_lines_free(lines, n_lines);
	free(wrapped);
	pf_batch_unref(b);
}

static void test_actions_and_context(void **state)
{
	static const char *const in[] = {"Content-Type: application/x-protobuf", "x-update-me: old",
					 "X-Insert-Me: keep", "x-gone: 1", "X-Gone: 2"};
	struct env env;
	char got[1024];

	(void)state;
	env_start(&env, "    headers:\n"
			"      - key: X-Scope-OrgID\n        from_context: X-Scope-OrgID\n"
			"        default_value: anonymous\n"
			"      - key: X-Update-Me\n        value: new\n        action: update\n"
			"      - key: X-Update-Absent\n        value: no\n        action: update\n"
			"      - key: x-insert-me\n        value: lost\n        action: insert\n"
			"      - key: X-Insert-New\n        value: yes\n        action: insert\n"
			"      - key: X-Gone\n        action: delete\n"
			"      - key: X-Optional\n        from_context: absent-key\n");
	headers_for(env.hs, "tenant-a", in, 5, got, sizeof(got));
	assert_string_equal(got, "Content-Type: application/x-protobuf|X-Update-Me: new|"
				 "X-Insert-Me: keep|X-Scope-OrgID: tenant-a|X-Insert-New: yes");
	headers_for(env.hs, NULL, in, 1, got, sizeof(got));
	assert_string_equal(got, "Content-Type: application/x-protobuf|"
				 "X-Scope-OrgID: anonymous|x-insert-me: lost|X-Insert-New: yes");
	sh_env_stop(&env.sh);
}

static void test_hostile_blocks(void **state)
{
	static const char *const in[] = {"A: b"};
	uint8_t block[64];
	char **lines;
	size_t n;

	(void)state;
	assert_int_equal(pf_headers_block_len("\x0a\x02hi", 4), 0); /* a plain payload */
	assert_int_equal(pf_headers_block_len("\xffPF", 3), 0);
	assert_int_equal(pf_headers_block_len("\xffPFH\x40\0\0\0", 8), -EINVAL);
	memcpy(block, "\xffPFH", 4);
	/* length 64 > size 20 */
	memcpy(block + 4, "\x40\0\0\0\x01\0", 6);
	assert_int_equal(pf_headers_block_len(block, 20), -EINVAL);
	/* one edit whose name runs past the end */
	memcpy(block + 4, "\x10\0\0\0\x01\0", 6);
	memcpy(block + 10, "\x02\x30\0AB", 5);
	assert_int_equal(pf_headers_block_len(block, 16), 16);
	assert_int_equal(pf_headers_apply(block, 16, in, 1, &lines, &n), -EINVAL);
	/* a header injected with CR LF in the value */
	memcpy(block + 4, "\x14\0\0\0\x01\0", 6);
	memcpy(block + 10, "\x02\x01\0X\x02\0\0\0\r\n", 10);
	assert_int_equal(pf_headers_apply(block, 20, in, 1, &lines, &n), -EINVAL);
	/* an unknown action */
	memcpy(block + 10, "\x09\x01\0X\x02\0\0\0ok", 10);
	assert_int_equal(pf_headers_apply(block, 20, in, 1, &lines, &n), -EINVAL);
	/* too many edits */
	memcpy(block + 4, "\x0a\0\0\0\xff\xff", 6);
	assert_int_equal(pf_headers_apply(block, 10, in, 1, &lines, &n), -EINVAL);
}

/* A stored edit whose name or value holds a NUL is corrupt: the line it
 * makes would stop at the NUL, so an upsert of "A\0" added a second "A"
 * header instead of replacing it. */
static void test_stored_edit_with_nul_refused(void **state)
{
	static const char *const in[] = {"A: b"};
	uint8_t block[32];
	char **lines;
	size_t n;

	(void)state;
	memcpy(block, "\xffPFH\x14\0\0\0\x01\0", 10);
	memcpy(block + 10, "\x02\x02\0A\0\x01\0\0\0v", 10);
	assert_int_equal(pf_headers_apply(block, 20, in, 1, &lines, &n), -EINVAL);
	memcpy(block + 10, "\x02\x01\0A\x02\0\0\0v\0", 10);
	assert_int_equal(pf_headers_apply(block, 20, in, 1, &lines, &n), -EINVAL);
	/* the same edit without the NUL replaces the header */
	memcpy(block + 10, "\x02\x01\0A\x02\0\0\0vw", 10);
	assert_int_equal(pf_headers_apply(block, 20, in, 1, &lines, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(lines[0], "A: vw");
	pf_headers_lines_free(lines, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_actions_and_context),
		cmocka_unit_test(test_hostile_blocks),
		cmocka_unit_test(test_stored_edit_with_nul_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
