// SPDX-License-Identifier: Apache-2.0
/* unit.headers_setter: contrib's config shape, found as an exporter's authenticator, actions on header lines, from_context and default_value per batch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "pipeline/auth.h"
#include "model/batch.h"
#include "pipeline/component_internal.h"
#include "model/metadata.h"
#include "pipeline/service.h"
#include "sinks_harness.h"

extern const struct pf_component_def pf_extension_headers_setter;

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
	struct pf_auth_client auth;
};

static void env_start(struct env *env, const char *ext_yaml)
{
	struct pf_auth_config listed = {.authenticator = "headers_setter"};
	struct pf_auth_config absent = {.authenticator = "headers_setter/other"};
	struct pf_auth_config none = {0};
	struct pf_auth_client other;
	struct pf_component *sink;
	char yaml[2048];

	sh_env_start_with(&env->sh, config_yaml(ext_yaml, yaml, sizeof(yaml)), registry);
	sink = sh_find(&env->sh, PF_EXPORTER, "sink");

	assert_int_equal(pf_auth_client_find(sink, &listed, &env->auth), 0);
	assert_non_null(env->auth.ops);
	assert_int_equal(pf_auth_client_find(sink, &absent, &other), -ENOENT);
	assert_int_equal(pf_auth_client_find(sink, &none, &other), 0);
	assert_null(other.ops);
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
static void headers_for(const struct pf_auth_client *a, const char *t, const char *const *in,
			size_t n, char *out, size_t size)
{
	struct pf_batch *b = batch_from(t);
	uint8_t *wrapped;
	size_t wrapped_size, n_lines, used = 0;
	ssize_t block;
	char **lines;

	assert_int_equal(pf_auth_client_wrap(a, b, "PAYLOAD", 7, &wrapped, &wrapped_size), 0);
	block = pf_header_edits_len(wrapped, wrapped_size);
	assert_true(block > 0);
	assert_int_equal(wrapped_size - (size_t)block, 7);
	assert_memory_equal(wrapped + block, "PAYLOAD", 7);
	assert_int_equal(pf_header_edits_apply(wrapped, (size_t)block, in, n, &lines, &n_lines), 0);
	out[0] = '\0';
	for (size_t i = 0; i < n_lines; i++)
		used += (size_t)snprintf(out + used, size - used, "%s%s", i ? "|" : "", lines[i]);
	pf_header_lines_free(lines, n_lines);
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
	headers_for(&env.auth, "tenant-a", in, 5, got, sizeof(got));
	assert_string_equal(got, "Content-Type: application/x-protobuf|X-Update-Me: new|"
				 "X-Insert-Me: keep|X-Scope-OrgID: tenant-a|X-Insert-New: yes");
	headers_for(&env.auth, NULL, in, 1, got, sizeof(got));
	assert_string_equal(got, "Content-Type: application/x-protobuf|"
				 "X-Scope-OrgID: anonymous|x-insert-me: lost|X-Insert-New: yes");
	sh_env_stop(&env.sh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_actions_and_context),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
