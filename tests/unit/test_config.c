// SPDX-License-Identifier: Apache-2.0
/* The config loader: YAML, env, merge, --set, option tables and validation, with exact positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

/* ---- a small test registry ---- */

struct inner_config {
	bool deep;
};

struct sub_config {
	int64_t depth;
	char *label;
	struct inner_config inner;
};

struct rcv_config {
	bool enabled;
	int64_t frequency;
	double ratio;
	char *path;
	int64_t interval_ns;
	int64_t buffer;
	int mode;
	struct pf_strings tags;
	struct pf_string_map labels;
	struct sub_config sub;
	char *listen;
};

static const char *const modes[] = {"fast", "slow", "auto", NULL};

static const struct pf_option inner_options[] = {
	{.name = "deep",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct inner_config, deep),
	 .doc = "d"},
	PF_OPTION_END,
};

static const struct pf_option sub_options[] = {
	{.name = "depth",
	 .type = PF_OPT_INT,
	 .def = "3",
	 .min = 1,
	 .max = 10,
	 .offset = offsetof(struct sub_config, depth),
	 .doc = "d"},
	{.name = "label",
	 .type = PF_OPT_STRING,
	 .def = "x",
	 .offset = offsetof(struct sub_config, label),
	 .doc = "l"},
	{.name = "inner",
	 .type = PF_OPT_SECTION,
	 .section = inner_options,
	 .offset = offsetof(struct sub_config, inner),
	 .doc = "i"},
	PF_OPTION_END,
};

static const struct pf_option rcv_options[] = {
	{.name = "enabled",
	 .type = PF_OPT_BOOL,
	 .def = "yes",
	 .offset = offsetof(struct rcv_config, enabled),
	 .doc = "e"},
	{.name = "frequency",
	 .type = PF_OPT_INT,
	 .def = "19",
	 .min = 1,
	 .max = 1000,
	 .offset = offsetof(struct rcv_config, frequency),
	 .doc = "f"},
	{.name = "ratio",
	 .type = PF_OPT_DOUBLE,
	 .def = "0.5",
	 .min = 0,
	 .max = 1,
	 .offset = offsetof(struct rcv_config, ratio),
	 .doc = "r"},
	{.name = "path",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct rcv_config, path),
	 .doc = "p"},
	{.name = "interval",
	 .type = PF_OPT_DURATION,
	 .def = "10s",
	 .min = 1e6,
	 .max = 3600e9,
	 .offset = offsetof(struct rcv_config, interval_ns),
	 .doc = "i"},
	{.name = "buffer",
	 .type = PF_OPT_SIZE,
	 .def = "64KiB",
	 .offset = offsetof(struct rcv_config, buffer),
	 .doc = "b"},
	{.name = "mode",
	 .type = PF_OPT_ENUM,
	 .def = "auto",
	 .choices = modes,
	 .offset = offsetof(struct rcv_config, mode),
	 .doc = "m"},
	{.name = "tags",
	 .type = PF_OPT_STRINGS,
	 .def = "[a, b]",
	 .offset = offsetof(struct rcv_config, tags),
	 .doc = "t"},
	{.name = "labels",
	 .type = PF_OPT_MAP,
	 .def = "{k: v}",
	 .offset = offsetof(struct rcv_config, labels),
	 .doc = "l"},
	{.name = "sub",
	 .type = PF_OPT_SECTION,
	 .section = sub_options,
	 .offset = offsetof(struct rcv_config, sub),
	 .doc = "s"},
	{.name = "listen",
	 .type = PF_OPT_STRING,
	 .def = "localhost:4317",
	 .flags = PF_OPT_ENDPOINT,
	 .offset = offsetof(struct rcv_config, listen),
	 .doc = "l"},
	PF_OPTION_END,
};

struct exp_config {
	char *directory;
	int64_t keep;
};

static const struct pf_option exp_options[] = {
	{.name = "directory",
	 .type = PF_OPT_STRING,
	 .flags = PF_OPT_REQUIRED,
	 .offset = offsetof(struct exp_config, directory),
	 .doc = "d"},
	{.name = "keep",
	 .type = PF_OPT_INT,
	 .def = "5",
	 .offset = offsetof(struct exp_config, keep),
	 .doc = "k"},
	PF_OPTION_END,
};

static int exp_validate(const void *config, struct pf_error *err)
{
	const struct exp_config *c = config;
	if (c->keep < 0)
		return pf_error_set(err, NULL, "keep must not be negative");
	return 0;
}

static const char *const exp_aliases[] = {"exp_old", NULL};

static const struct pf_component_def rcv_def = {
	.kind = PF_RECEIVER,
	.type = "rcv",
	.options = rcv_options,
	.config_size = sizeof(struct rcv_config),
};
static const struct pf_component_def rcv2_def = {
	.kind = PF_RECEIVER,
	.type = "other",
};
static const struct pf_component_def proc_def = {
	.kind = PF_PROCESSOR,
	.type = "proc",
};
static const struct pf_component_def exp_def = {
	.kind = PF_EXPORTER,
	.type = "exp",
	.aliases = exp_aliases,
	.options = exp_options,
	.config_size = sizeof(struct exp_config),
	.validate = exp_validate,
};
static const struct pf_component_def ext_def = {
	.kind = PF_EXTENSION,
	.type = "ext",
};

static const struct pf_component_def *const registry[] = {
	&rcv_def, &rcv2_def, &proc_def, &exp_def, &ext_def, NULL,
};

/* ---- helpers ---- */

#define PIPE                                                                                       \
	"service:\n"                                                                               \
	"  pipelines:\n"                                                                           \
	"    profiles:\n"                                                                          \
	"      receivers: [rcv]\n"                                                                 \
	"      exporters: [exp]\n"

#define EXP "exporters:\n  exp:\n    directory: /tmp\n"

static struct pf_config *load(const char *yaml, struct pf_error *err)
{
	pf_error_clear(err);
	return pf_config_load_string("t.yaml", yaml, strlen(yaml), registry, err);
}

static struct pf_config *load_ok(const char *yaml)
{
	struct pf_error err;
	struct pf_config *cfg = load(yaml, &err);
	if (!cfg) {
		char buf[1400];
		fail_msg("unexpected error: %s", pf_error_str(&err, buf, sizeof(buf)));
	}
	return cfg;
}

/* Loading fails at `where` with a message containing `part`. */
static void expect_error(const char *yaml, const char *where, const char *part)
{
	struct pf_error err;
	struct pf_config *cfg = load(yaml, &err);
	if (cfg) {
		pf_config_free(cfg);
		fail_msg("expected an error at %s (%s)", where, part);
	}
	if (strcmp(err.where, where) != 0 || !strstr(err.msg, part))
		fail_msg("got \"%s: %s\", want \"%s: ...%s...\"", err.where, err.msg, where, part);
}

static const struct pf_config_component *find(const struct pf_config *cfg, const char *id,
					      enum pf_kind kind)
{
	for (size_t i = 0; i < cfg->n_components; i++)
		if (strcmp(cfg->components[i].id, id) == 0 && cfg->components[i].def->kind == kind)
			return &cfg->components[i];
	return NULL;
}

/* ---- happy paths ---- */

static void test_full_config(void **state)
{
	struct pf_config *cfg = load_ok("receivers:\n"
					"  rcv:\n"
					"    frequency: 99\n"
					"    ratio: 0.25\n"
					"    path: /x\n"
					"    interval: 1m30s\n"
					"    buffer: 1.5MB\n"
					"    mode: SLOW\n"
					"    enabled: off\n"
					"    tags: [x, '', y]\n"
					"    labels: {a: 1, b: }\n"
					"    sub: {depth: 7, inner: {deep: no}}\n"
					"  rcv/two:\n"
					"processors:\n"
					"  proc:\n"
					"exporters:\n"
					"  exp:\n"
					"    directory: /tmp/out\n"
					"  exp_old/b:\n"
					"    directory: /tmp/b\n"
					"extensions:\n"
					"  ext:\n"
					"service:\n"
					"  extensions: [ext]\n"
					"  telemetry:\n"
					"    logs: {level: debug}\n"
					"    metrics: {address: ''}\n"
					"  shutdown_timeout: 3s\n"
					"  pipelines:\n"
					"    profiles:\n"
					"      receivers: [rcv, rcv/two]\n"
					"      processors: [proc]\n"
					"      exporters: [exp, exp_old/b]\n");
	assert_int_equal(cfg->n_components, 6);
	const struct pf_config_component *r = find(cfg, "rcv", PF_RECEIVER);
	assert_non_null(r);
	assert_string_equal(r->where, "t.yaml:2:3");
	assert_string_equal(r->name, "");
	const struct rcv_config *rc = r->config;
	assert_false(rc->enabled);
	assert_int_equal(rc->frequency, 99);
	assert_true(rc->ratio == 0.25);
	assert_string_equal(rc->path, "/x");
	assert_int_equal(rc->interval_ns, 90000000000ll);
	assert_int_equal(rc->buffer, 1500000);
	assert_int_equal(rc->mode, 1);
	assert_int_equal(rc->tags.n, 3);
	assert_string_equal(rc->tags.items[0], "x");
	assert_string_equal(rc->tags.items[1], "");
	assert_string_equal(rc->tags.items[2], "y");
	assert_int_equal(rc->labels.n, 2);
	assert_string_equal(pf_string_map_get(&rc->labels, "a"), "1");
	assert_string_equal(pf_string_map_get(&rc->labels, "b"), "");
	assert_int_equal(rc->sub.depth, 7);
	assert_string_equal(rc->sub.label, "x");
	assert_false(rc->sub.inner.deep);

	const struct pf_config_component *two = find(cfg, "rcv/two", PF_RECEIVER);
	assert_non_null(two);
	assert_string_equal(two->name, "two");
	const struct rcv_config *dc = two->config;
	assert_true(dc->enabled);
	assert_int_equal(dc->frequency, 19);
	assert_null(dc->path);
	assert_int_equal(dc->interval_ns, 10000000000ll);
	assert_int_equal(dc->buffer, 65536);
	assert_int_equal(dc->mode, 2);
	assert_int_equal(dc->tags.n, 2);
	assert_string_equal(dc->tags.items[1], "b");
	assert_string_equal(pf_string_map_get(&dc->labels, "k"), "v");
	assert_int_equal(dc->sub.depth, 3);
	assert_true(dc->sub.inner.deep);

	const struct pf_config_component *b = find(cfg, "exp_old/b", PF_EXPORTER);
	assert_non_null(b);
	assert_ptr_equal(b->def, &exp_def);
	assert_string_equal(((const struct exp_config *)b->config)->directory, "/tmp/b");

	assert_int_equal(cfg->n_pipelines, 1);
	const struct pf_config_pipeline *p = &cfg->pipelines[0];
	assert_string_equal(p->id, "profiles");
	assert_int_equal(p->n_receivers, 2);
	assert_int_equal(p->n_processors, 1);
	assert_int_equal(p->n_exporters, 2);
	assert_string_equal(cfg->components[p->receivers[1]].id, "rcv/two");
	assert_string_equal(cfg->components[p->processors[0]].id, "proc");
	assert_string_equal(cfg->components[p->exporters[1]].id, "exp_old/b");
	assert_int_equal(cfg->n_extensions, 1);
	assert_string_equal(cfg->components[cfg->extensions[0]].id, "ext");
	assert_int_equal(cfg->log_level, PF_LOG_DEBUG);
	assert_string_equal(cfg->metrics_address, "");
	assert_int_equal(cfg->shutdown_timeout_ns, 3000000000ll);
	assert_int_equal(cfg->n_warnings, 0);
	pf_config_free(cfg);
}

static void test_service_defaults(void **state)
{
	struct pf_config *cfg = load_ok("receivers: {rcv: }\n" EXP PIPE);
	assert_int_equal(cfg->log_level, PF_LOG_INFO);
	assert_string_equal(cfg->metrics_address, "127.0.0.1:8888");
	assert_int_equal(cfg->shutdown_timeout_ns, 10000000000ll);
	assert_int_equal(cfg->n_extensions, 0);
	pf_config_free(cfg);
	/* The Collector's metrics level none turns the endpoint off. */
	cfg = load_ok("receivers: {rcv: }\n" EXP PIPE "  telemetry: {metrics: {level: none}}\n");
	assert_string_equal(cfg->metrics_address, "");
	pf_config_free(cfg);
	cfg = load_ok("receivers: {rcv: }\n" EXP PIPE
		      "  telemetry: {metrics: {level: detailed, address: ':9999'}}\n");
	assert_string_equal(cfg->metrics_address, ":9999");
	pf_config_free(cfg);
}

static void test_unused_component_warns(void **state)
{
	struct pf_config *cfg = load_ok("receivers:\n  rcv:\n  other/x:\n"
					"extensions:\n  ext:\n" EXP PIPE);
	assert_int_equal(cfg->n_warnings, 2);
	assert_string_equal(
		cfg->warnings[0],
		"t.yaml:3:3: receiver \"other/x\" is defined but not used in any pipeline");
	assert_string_equal(cfg->warnings[1],
			    "t.yaml:5:3: extension \"ext\" is defined but not used "
			    "in service.extensions");
	pf_config_free(cfg);
}

static void test_named_pipelines(void **state)
{
	struct pf_config *cfg =
		load_ok("receivers: {rcv: , other: }\n" EXP "service:\n  pipelines:\n"
			"    profiles/a: {receivers: [rcv], exporters: [exp]}\n"
			"    profiles/b: {receivers: [other, rcv], exporters: [exp]}\n");
	assert_int_equal(cfg->n_pipelines, 2);
	assert_string_equal(cfg->pipelines[1].id, "profiles/b");
	assert_string_equal(cfg->pipelines[1].where, "t.yaml:8:5");
	assert_int_equal(find(cfg, "rcv", PF_RECEIVER)->used, 2);
	assert_int_equal(find(cfg, "exp", PF_EXPORTER)->used, 2);
	pf_config_free(cfg);
}

static void test_anchors_and_merge_keys(void **state)
{
	expect_error("x-common: 1\n", "t.yaml:1:1", "unknown top-level key \"x-common\"");
	struct pf_config *cfg =
		load_ok("receivers:\n  rcv: &r\n    <<: {frequency: 50, mode: fast}\n"
			"    mode: slow\n  rcv/2: *r\n" EXP
			"service:\n  pipelines:\n    profiles:\n      receivers: [rcv, rcv/2]\n"
			"      exporters: [exp]\n");
	const struct rcv_config *c = find(cfg, "rcv/2", PF_RECEIVER)->config;
	assert_int_equal(c->frequency, 50);
	assert_int_equal(c->mode, 1);
	pf_config_free(cfg);

	/* Explicit keys win over merged ones, earlier merged mappings over later. */
	cfg = load_ok("receivers:\n  rcv:\n    <<: [{frequency: 1, mode: fast}, {frequency: 2, "
		      "ratio: 0.125, mode: slow}]\n    mode: auto\n" EXP PIPE);
	c = find(cfg, "rcv", PF_RECEIVER)->config;
	assert_int_equal(c->frequency, 1);
	assert_true(c->ratio == 0.125);
	assert_int_equal(c->mode, 2);
	pf_config_free(cfg);
	expect_error("receivers:\n  rcv:\n    <<: [a]\n", "t.yaml:3:10",
		     "a merge key (<<) needs a mapping");
	expect_error("a: &a [*a]\n", "t.yaml:1:8", "alias to an unknown anchor");
}

/* ---- error classes, each with its exact position ---- */

static void test_yaml_syntax_error(void **state)
{
	expect_error("receivers:\n  rcv:\n    frequency: [1, 2\n", "t.yaml:4:1", "YAML: ");
	expect_error("a: b: c\n", "t.yaml:1:5", "mapping values are not allowed");
	expect_error("receivers: {rcv: }\nreceivers: {}\n", "t.yaml:2:1",
		     "duplicate key \"receivers\"");
	expect_error("a: *nope\n", "t.yaml:1:4", "unknown anchor");
	expect_error("a: 1\n---\nb: 2\n", "t.yaml:2:1", "only one document");
}

static void test_unknown_top_level_key(void **state)
{
	expect_error(EXP PIPE "recievers:\n  rcv:\n", "t.yaml:9:1",
		     "unknown top-level key \"recievers\"; valid keys: receivers, processors");
}

static void test_unknown_option_lists_valid_keys(void **state)
{
	expect_error("receivers:\n  rcv:\n    frequency: 10\n    frequncy: 10\n" EXP PIPE,
		     "t.yaml:4:5",
		     "receiver \"rcv\": unknown option \"frequncy\"; valid options: enabled, "
		     "frequency, ratio, path, interval, buffer, mode, tags, labels, sub, listen");
	expect_error("receivers:\n  rcv:\n    sub:\n      inner: {deeep: 1}\n" EXP PIPE,
		     "t.yaml:4:15", "unknown option \"sub.inner.deeep\"; valid options: deep");
	expect_error("receivers:\n  other:\n    x: 1\n" EXP PIPE, "t.yaml:3:5",
		     "valid options: (none)");
}

static void test_wrong_type(void **state)
{
	expect_error("receivers:\n  rcv:\n    path: {a: 1}\n" EXP PIPE, "t.yaml:3:11",
		     "option \"path\": expected a scalar (string), got a mapping");
	expect_error("receivers:\n  rcv:\n    frequency: abc\n" EXP PIPE, "t.yaml:3:16",
		     "option \"frequency\": \"abc\" is not an integer");
	expect_error("receivers:\n  rcv:\n    tags: x\n" EXP PIPE, "t.yaml:3:11",
		     "expected a list of strings, got a scalar");
	expect_error("receivers:\n  rcv:\n    tags: [[x]]\n" EXP PIPE, "t.yaml:3:12",
		     "expected a scalar item, got a list");
	expect_error("receivers:\n  rcv:\n    enabled: maybe\n" EXP PIPE, "t.yaml:3:14",
		     "is not a bool");
	expect_error("receivers:\n  rcv:\n    ratio: 0.5x\n" EXP PIPE, "t.yaml:3:12",
		     "\"0.5x\" is not a number");
	expect_error("receivers:\n  rcv: [1]\n" EXP PIPE, "t.yaml:2:8",
		     "receiver \"rcv\": expected a mapping of options, got a list");
	expect_error("receivers: [rcv]\n" EXP PIPE, "t.yaml:1:12",
		     "receivers: expected a mapping of receiver ids to settings, got a list");
	expect_error("- a\n", "t.yaml:1:1", "the config must be a mapping, got a list");
}

static void test_out_of_range(void **state)
{
	expect_error("receivers:\n  rcv:\n    frequency: 5000\n" EXP PIPE, "t.yaml:3:16",
		     "receiver \"rcv\": option \"frequency\": 5000 is out of range [1, 1000]");
	expect_error("receivers:\n  rcv:\n    interval: 2h\n" EXP PIPE, "t.yaml:3:15",
		     "2h is out of range [1ms, 1h]");
	expect_error("receivers:\n  rcv:\n    sub: {depth: 0}\n" EXP PIPE, "t.yaml:3:18",
		     "option \"sub.depth\": 0 is out of range [1, 10]");
}

static void test_bad_duration_and_size(void **state)
{
	expect_error("receivers:\n  rcv:\n    interval: 10 parsecs\n" EXP PIPE, "t.yaml:3:15",
		     "\"10 parsecs\" is not a duration");
	expect_error("receivers:\n  rcv:\n    buffer: 12XB\n" EXP PIPE, "t.yaml:3:13",
		     "\"12XB\" is not a size");
}

static void test_bad_enum_lists_choices(void **state)
{
	expect_error("receivers:\n  rcv:\n    mode: medium\n" EXP PIPE, "t.yaml:3:11",
		     "option \"mode\": \"medium\" is not one of: fast, slow, auto");
}

static void test_unknown_component_type(void **state)
{
	expect_error("receivers:\n  nope/1:\n" EXP PIPE, "t.yaml:2:3",
		     "unknown receiver type \"nope\"; known: rcv, other");
	/* A receiver type under exporters. */
	expect_error("receivers: {rcv: }\n" EXP "  rcv:\n" PIPE, "t.yaml:5:3",
		     "unknown exporter type \"rcv\"; known: exp");
}

static void test_bad_component_id(void **state)
{
	expect_error("receivers:\n  rcv/:\n" EXP PIPE, "t.yaml:2:3",
		     "invalid receiver id \"rcv/\": the name after '/' is empty");
	expect_error("receivers:\n  /x:\n" EXP PIPE, "t.yaml:2:3", "the type part is empty");
	expect_error("receivers:\n  1rcv:\n" EXP PIPE, "t.yaml:2:3", "must start with a letter");
	expect_error("receivers:\n  rc-v:\n" EXP PIPE, "t.yaml:2:3",
		     "may only hold letters, digits and '_'");
	expect_error("receivers:\n  \"rcv/a b\":\n" EXP PIPE, "t.yaml:2:3",
		     "may not hold spaces, control characters or symbols");
	expect_error("receivers:\n  \"rcv/a+b\":\n" EXP PIPE, "t.yaml:2:3", "may not hold spaces");
	expect_error("receivers:\n  \"rcv/a\\u2603\":\n" EXP PIPE, "t.yaml:2:3",
		     "may not hold spaces");
	struct pf_config *cfg = load_ok("receivers:\n  rcv/a.b-c_\xc3\xa9:\n" EXP
					"service:\n  pipelines:\n    profiles:\n"
					"      receivers: [rcv/a.b-c_\xc3\xa9]\n"
					"      exporters: [exp]\n");
	pf_config_free(cfg);
}

static void test_missing_required_option(void **state)
{
	/* Reported at the mapping that lacks it, or at the key when empty. */
	expect_error("receivers: {rcv: }\nexporters:\n  exp:\n    keep: 2\n" PIPE, "t.yaml:4:5",
		     "exporter \"exp\": missing required option \"directory\"");
	expect_error("receivers: {rcv: }\nexporters:\n  exp:\n" PIPE, "t.yaml:3:3",
		     "missing required option \"directory\"");
	expect_error("receivers: {rcv: }\nexporters:\n  exp:\n    directory:\n" PIPE, "t.yaml:4:5",
		     "option \"directory\" is required, got null");
}

static void test_component_validate(void **state)
{
	expect_error(
		"receivers: {rcv: }\nexporters:\n  exp:\n    directory: d\n    keep: -1\n" PIPE,
		"t.yaml:4:5", "exporter \"exp\": keep must not be negative");
}

static void test_pipeline_errors(void **state)
{
	expect_error("receivers: {rcv: }\n" EXP
		     "service:\n  pipelines:\n    profiles:\n      receivers: [rcv, nope]\n"
		     "      exporters: [exp]\n",
		     "t.yaml:8:24",
		     "pipeline \"profiles\" references receiver \"nope\", which is not defined");
	expect_error("receivers: {rcv: }\n" EXP
		     "service:\n  pipelines:\n    profiles:\n      exporters: [exp]\n",
		     "t.yaml:8:7", "pipeline \"profiles\" must have at least one receiver");
	expect_error("receivers: {rcv: }\n" EXP
		     "service:\n  pipelines:\n    profiles:\n      receivers: [rcv]\n"
		     "      exporters: []\n",
		     "t.yaml:8:7", "pipeline \"profiles\" must have at least one exporter");
	expect_error("receivers: {rcv: }\n" EXP "service:\n  pipelines:\n    profiles:\n",
		     "t.yaml:7:5", "must have at least one receiver");
	expect_error("receivers: {rcv: }\nprocessors: {proc: }\n" EXP
		     "service:\n  pipelines:\n    profiles:\n      receivers: [rcv]\n"
		     "      processors: [proc, proc]\n      exporters: [exp]\n",
		     "t.yaml:10:26", "lists processor \"proc\" more than once");
	expect_error("receivers: {rcv: }\n" EXP
		     "service:\n  pipelines:\n    profiles:\n      receivers: [rcv]\n"
		     "      exporters: [rcv]\n",
		     "t.yaml:9:19", "references exporter \"rcv\", which is not defined");
	expect_error("receivers: {rcv: }\n" EXP
		     "service:\n  pipelines:\n    traces:\n      receivers: [rcv]\n",
		     "t.yaml:7:5", "proflow handles profiles only, not traces");
	expect_error("receivers: {rcv: }\n" EXP "service:\n  pipelines:\n    profile:\n",
		     "t.yaml:7:5", "invalid pipeline id \"profile\"");
	expect_error("receivers: {rcv: }\n" EXP "service:\n  pipelines:\n    profiles/:\n",
		     "t.yaml:7:5", "the name after '/' is empty");
	expect_error("receivers: {rcv: }\n" EXP
		     "service:\n  pipelines:\n    profiles:\n      receiver: [rcv]\n",
		     "t.yaml:8:7", "unknown key \"receiver\"; valid keys: receivers, processors");
	expect_error("receivers: {rcv: }\n" EXP, "t.yaml:1:1",
		     "service.pipelines: at least one pipeline is required");
	expect_error("receivers: {rcv: }\n" EXP "service:\n  pipelines: {}\n", "t.yaml:6:14",
		     "at least one pipeline is required");
	expect_error("receivers: {rcv: }\n" EXP PIPE "  extensions: [ext]\n", "t.yaml:10:16",
		     "service.extensions references extension \"ext\", which is not defined");
	expect_error("receivers: {rcv: }\n" EXP PIPE "  telemetry: {logs: {level: loud}}\n",
		     "t.yaml:10:29", "\"loud\" is not one of: error, warn, info, debug");
	expect_error("receivers: {rcv: }\n" EXP PIPE "  telemetry: {traces: {}}\n", "t.yaml:10:15",
		     "service: unknown option \"telemetry.traces\"; valid options: logs, metrics");
	expect_error("receivers: {rcv: }\n" EXP PIPE "  shutdown: 1s\n", "t.yaml:10:3",
		     "service: unknown key \"shutdown\"");
	expect_error("receivers: {rcv: }\n" EXP PIPE "connectors:\n  forward:\n", "t.yaml:11:3",
		     "connectors are not supported yet");
}

/* ---- env ---- */

static const char *fake_env(const char *name, void *arg)
{
	if (strcmp(name, "FREQ") == 0)
		return "77";
	if (strcmp(name, "DIR") == 0)
		return "/data";
	if (strcmp(name, "EMPTY") == 0)
		return "";
	if (strcmp(name, "NESTED") == 0)
		return "${env:PORT}";
	return NULL;
}

struct tmpdir {
	char path[64];
	char files[4][128];
	int n;
};

static const char *write_file(struct tmpdir *t, const char *text)
{
	if (!t->path[0]) {
		snprintf(t->path, sizeof(t->path), "/tmp/pf_config_test.XXXXXX");
		assert_non_null(mkdtemp(t->path));
	}
	char name[128];
	snprintf(name, sizeof(name), "%s/c%d.yaml", t->path, t->n + 1);
	char *f = t->files[t->n++];
	memcpy(f, name, sizeof(name));
	FILE *fp = fopen(f, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return f;
}

static void remove_files(struct tmpdir *t)
{
	for (int i = 0; i < t->n; i++)
		unlink(t->files[i]);
	if (t->path[0])
		rmdir(t->path);
}

static struct pf_config *load_sources(const char *const *files, size_t n_files,
				      const char *const *sets, size_t n_sets, struct pf_error *err)
{
	struct pf_config_sources src = {
		.files = files,
		.n_files = n_files,
		.sets = sets,
		.n_sets = n_sets,
		.getenv = fake_env,
	};
	pf_error_clear(err);
	return pf_config_load(&src, registry, err);
}

static void test_env_expansion(void **state)
{
	struct tmpdir t = {0};
	const char *f =
		write_file(&t, "receivers:\n  rcv:\n    frequency: ${env:FREQ}\n"
			       "    path: \"$$HOME/${DIR}/$X/${env:UNSET:-dflt}/${UNSET}.\"\n"
			       "    tags: [\"${EMPTY}\", '${env:UNSET:-}', $$, a$$b]\n"
			       "    labels: {\"${DIR}\": x}\n" EXP PIPE);
	struct pf_error err;
	struct pf_config *cfg = load_sources(&f, 1, NULL, 0, &err);
	assert_non_null(cfg);
	const struct rcv_config *c = find(cfg, "rcv", PF_RECEIVER)->config;
	assert_int_equal(c->frequency, 77);
	assert_string_equal(c->path, "$HOME//data/$X/dflt/.");
	assert_int_equal(c->tags.n, 4);
	assert_string_equal(c->tags.items[0], "");
	assert_string_equal(c->tags.items[1], "");
	assert_string_equal(c->tags.items[2], "$");
	assert_string_equal(c->tags.items[3], "a$b");
	/* Keys are not expanded. */
	assert_non_null(pf_string_map_get(&c->labels, "${DIR}"));
	pf_config_free(cfg);
	remove_files(&t);
}

static void test_env_whole_value_is_typed(void **state)
{
	/* An undefined variable alone is null, so the default applies. */
	struct tmpdir t = {0};
	const char *f = write_file(&t, "receivers:\n  rcv:\n    frequency: ${env:UNSET}\n"
				       "    path: ${UNSET}\n" EXP PIPE);
	struct pf_error err;
	struct pf_config *cfg = load_sources(&f, 1, NULL, 0, &err);
	assert_non_null(cfg);
	const struct rcv_config *c = find(cfg, "rcv", PF_RECEIVER)->config;
	assert_int_equal(c->frequency, 19);
	assert_null(c->path);
	pf_config_free(cfg);
	remove_files(&t);
}

static void test_env_bad_syntax(void **state)
{
	struct tmpdir t = {0};
	const char *f[4];
	f[0] = write_file(&t, "receivers:\n  rcv:\n    path: ${env:1BAD}\n" EXP PIPE);
	f[1] = write_file(&t, "receivers:\n  rcv:\n    path: a${env:X\n" EXP PIPE);
	/* Quoted: the scalar's position, as escapes may shift columns. */
	f[2] = write_file(&t, "receivers:\n  rcv:\n    path: \"x ${file:/etc/x}\"\n" EXP PIPE);
	f[3] = write_file(&t, "receivers:\n  rcv:\n    frequency: ${FREQ}x\n" EXP PIPE);
	const char *want[4][2] = {
		{"3:11", "invalid environment variable name \"1BAD\""},
		{"3:12", "unterminated \"${\""},
		{"3:11", "unsupported config provider \"file\""},
		{"3:16", "\"77x\" is not an integer"},
	};
	for (int i = 0; i < 4; i++) {
		struct pf_error err;
		assert_null(load_sources(&f[i], 1, NULL, 0, &err));
		char where[300];
		snprintf(where, sizeof(where), "%s:%s", f[i], want[i][0]);
		assert_string_equal(err.where, where);
		if (!strstr(err.msg, want[i][1]))
			fail_msg("got %s", err.msg);
	}
	remove_files(&t);
}

/* ---- merging files and --set ---- */

static void test_merge_files(void **state)
{
	struct tmpdir t = {0};
	const char *f[2];
	f[0] = write_file(&t, "receivers:\n  rcv:\n    frequency: 5\n    tags: [a, b, c]\n"
			      "    sub: {depth: 4, label: one}\n" EXP PIPE);
	f[1] = write_file(&t, "receivers:\n  rcv:\n    tags: [z]\n    sub: {label: two}\n"
			      "exporters:\n  exp:\n    keep: 9\n");
	struct pf_error err;
	struct pf_config *cfg = load_sources(f, 2, NULL, 0, &err);
	assert_non_null(cfg);
	const struct rcv_config *c = find(cfg, "rcv", PF_RECEIVER)->config;
	assert_int_equal(c->frequency, 5);
	assert_int_equal(c->tags.n, 1);
	assert_string_equal(c->tags.items[0], "z");
	assert_int_equal(c->sub.depth, 4);
	assert_string_equal(c->sub.label, "two");
	const struct exp_config *e = find(cfg, "exp", PF_EXPORTER)->config;
	assert_int_equal(e->keep, 9);
	assert_string_equal(e->directory, "/tmp");
	pf_config_free(cfg);

	/* Positions name the file that wrote the value. */
	f[1] = write_file(&t, "receivers:\n  rcv:\n    frequency: 0\n");
	assert_null(load_sources(f, 2, NULL, 0, &err));
	char where[300];
	snprintf(where, sizeof(where), "%s:3:16", f[1]);
	assert_string_equal(err.where, where);
	remove_files(&t);
}

static void test_set_overrides(void **state)
{
	struct tmpdir t = {0};
	const char *f = write_file(&t, "receivers:\n  rcv:\n  rcv/a.b:\n" EXP
				       "  exp/x.y:\n    directory: d\n"
				       "service:\n  pipelines:\n    profiles:\n"
				       "      receivers: [rcv, rcv/a.b]\n"
				       "      exporters: [exp, exp/x.y]\n");
	const char *sets[] = {
		"receivers.rcv.frequency=42",
		"receivers.rcv.tags=[p, q]",
		"receivers.rcv/a.b.sub.depth=9",
		"exporters.exp/x.y.directory=/tmp/x",
		"exporters.exp/new.directory=/n",
		"service.pipelines.profiles/2={receivers: [rcv], exporters: [exp/new]}",
		"service.telemetry.logs.level=warn",
		"receivers.rcv.path=${DIR}",
		"receivers.rcv.labels.k=a=b",
	};
	struct pf_error err;
	struct pf_config *cfg = load_sources(&f, 1, sets, sizeof(sets) / sizeof(sets[0]), &err);
	if (!cfg)
		fail_msg("%s: %s", err.where, err.msg);
	const struct rcv_config *c = find(cfg, "rcv", PF_RECEIVER)->config;
	assert_int_equal(c->frequency, 42);
	assert_int_equal(c->tags.n, 2);
	assert_string_equal(c->tags.items[1], "q");
	assert_string_equal(c->path, "/data");
	assert_string_equal(pf_string_map_get(&c->labels, "k"), "a=b");
	assert_int_equal(
		((const struct rcv_config *)find(cfg, "rcv/a.b", PF_RECEIVER)->config)->sub.depth,
		9);
	assert_string_equal(
		((const struct exp_config *)find(cfg, "exp/x.y", PF_EXPORTER)->config)->directory,
		"/tmp/x");
	assert_non_null(find(cfg, "exp/new", PF_EXPORTER));
	assert_int_equal(cfg->n_pipelines, 2);
	assert_int_equal(cfg->log_level, PF_LOG_WARN);
	pf_config_free(cfg);
	remove_files(&t);
}

static void test_set_errors(void **state)
{
	struct tmpdir t = {0};
	const char *f = write_file(&t, "receivers:\n  rcv:\n" EXP PIPE);
	const char *cases[][3] = {
		{"receivers.rcv.frequency", "--set:1:1", "is not key.path=value"},
		{"receivers..frequency=1", "--set:1:11", "empty key"},
		{"receivers.rcv.frequency=[1", "--set:1:27", "YAML: "},
		{"receivers.rcv.frequency=5000", "--set:1:25", "5000 is out of range [1, 1000]"},
		{"receivers.rcv.freq=1", "--set:1:15", "unknown option \"freq\""},
		{"receivers.rcv.frequency.x=1", "--set:1:15",
		 "option \"frequency\": expected a scalar (int), got a mapping"},
		{"service.pipelines.profiles.receivers.x=1", "--set:1:38", "it is not a mapping"},
		{"=1", "--set:1:1", "empty key"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_error err;
		const char *set = cases[i][0];
		struct pf_config *cfg = load_sources(&f, 1, &set, 1, &err);
		if (cfg) {
			pf_config_free(cfg);
			fail_msg("%s: no error", set);
		}
		if (strcmp(err.where, cases[i][1]) != 0 || !strstr(err.msg, cases[i][2]))
			fail_msg("%s: got %s: %s", set, err.where, err.msg);
	}
	remove_files(&t);
}

static void test_file_errors(void **state)
{
	struct pf_error err;
	const char *f = "/nonexistent/proflow.yaml";
	assert_null(load_sources(&f, 1, NULL, 0, &err));
	assert_string_equal(err.where, "/nonexistent/proflow.yaml");
	assert_non_null(strstr(err.msg, "cannot open"));
	assert_null(load_sources(NULL, 0, NULL, 0, &err));
	assert_non_null(strstr(err.msg, "no config given"));

	size_t big = 16u * 1024 * 1024 + 1;
	char *text = malloc(big);
	assert_non_null(text);
	memset(text, ' ', big);
	pf_error_clear(&err);
	assert_null(pf_config_load_string("big.yaml", text, big, registry, &err));
	assert_non_null(strstr(err.msg, "larger than"));
	free(text);
}

static void test_hostile_nesting_and_aliases(void **state)
{
	char deep[400];
	size_t n = 0;
	for (int i = 0; i < 100; i++)
		deep[n++] = '[';
	deep[n] = '\0';
	expect_error(deep, "t.yaml:1:65", "nesting is too deep");
	expect_error("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
		     "t.yaml:6:8", "too large once aliases are expanded");
}

/* ---- option parsing ---- */

static void test_parse_duration(void **state)
{
	int64_t ns;
	struct {
		const char *text;
		int64_t ns;
	} ok[] = {
		{"1h2m3.5s", 3723500000000ll},
		{"200ms", 200000000},
		{"10us", 10000},
		{"10\xc2\xb5s", 10000},
		{"5ns", 5},
		{"3", 3000000000ll},
		{"1.5", 1500000000},
		{"0", 0},
		{"-1m", -60000000000ll},
		{".5s", 500000000},
		{"1m30s", 90000000000ll},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(pf_parse_duration(ok[i].text, &ns), 0);
		assert_int_equal(ns, ok[i].ns);
	}
	const char *bad[] = {"", "s", "1x", "1h 2m", "1.s5", "10 s", "9999999999h", "1e3s", "--1s"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pf_parse_duration(bad[i], &ns) == 0)
			fail_msg("\"%s\" parsed", bad[i]);
}

static void test_parse_size(void **state)
{
	int64_t b;
	struct {
		const char *text;
		int64_t bytes;
	} ok[] = {
		{"64MiB", 67108864},	{"1.5GB", 1500000000}, {"512KiB", 524288},
		{"1kB", 1000},		{"100", 100},	       {"7 B", 7},
		{"2gib", 2147483648ll},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(pf_parse_size(ok[i].text, &b), 0);
		assert_int_equal(b, ok[i].bytes);
	}
	const char *bad[] = {"", "MiB", "-1", "1XB", "99999999999TiB", "1.5.5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pf_parse_size(bad[i], &b) == 0)
			fail_msg("\"%s\" parsed", bad[i]);
}

static void test_option_parse(void **state)
{
	struct rcv_config c = {0};
	struct pf_error err;
	pf_error_clear(&err);
	assert_int_equal(pf_option_parse(&rcv_options[1], "12", &c, &err), 0);
	assert_int_equal(c.frequency, 12);
	assert_int_equal(pf_option_parse(&rcv_options[1], "0", &c, &err), -EINVAL);
	assert_string_equal(err.where, "");
	assert_string_equal(err.msg, "option \"frequency\": 0 is out of range [1, 1000]");
	pf_error_clear(&err);
	assert_int_equal(pf_option_parse(&rcv_options[7], "[u, v, w]", &c, &err), 0);
	assert_int_equal(c.tags.n, 3);
	assert_int_equal(pf_option_parse(&rcv_options[7], "{a: b}", &c, &err), -EINVAL);
	assert_string_equal(err.where, "");
	pf_error_clear(&err);
	assert_int_equal(pf_option_parse(&rcv_options[8], "{x: y, z: w}", &c, &err), 0);
	assert_string_equal(pf_string_map_get(&c.labels, "z"), "w");
	assert_int_equal(pf_option_parse(&rcv_options[3], "p1", &c, &err), 0);
	assert_int_equal(pf_option_parse(&rcv_options[3], "p2", &c, &err), 0);
	assert_string_equal(c.path, "p2");
	assert_int_equal(pf_option_parse(&rcv_options[6], "FAST", &c, &err), 0);
	assert_int_equal(c.mode, 0);
	free(c.path);
	for (size_t i = 0; i < c.tags.n; i++)
		free(c.tags.items[i]);
	free(c.tags.items);
	for (size_t i = 0; i < c.labels.n; i++) {
		free(c.labels.keys[i]);
		free(c.labels.values[i]);
	}
	free(c.labels.keys);
	free(c.labels.values);
}

/* Endpoint options: a bad host:port fails validation at the value, not the run. */
static void test_endpoint_accepts(void **state)
{
	static const char *const good[] = {
		"127.0.0.1:4317",
		"localhost:1",
		":4317",
		"0.0.0.0:0",
		"[::1]:65535",
		"[::]:80",
		"[fe80::1%eth0]:9",
		"my-host_1.example.com:443",
		"a:00080",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char yaml[256];
		snprintf(yaml, sizeof(yaml), "receivers:\n  rcv:\n    listen: '%s'\n" EXP PIPE,
			 good[i]);
		struct pf_config *cfg = load_ok(yaml);
		assert_string_equal(
			((const struct rcv_config *)find(cfg, "rcv", PF_RECEIVER)->config)->listen,
			good[i]);
		pf_config_free(cfg);
	}
}

static void test_endpoint_invalid_fails_validation_at_value(void **state)
{
	static const char *const bad[][2] = {
		{"127.0.0.1:99999", "port 99999 is out of range 0..65535"},
		{"127.0.0.1:65536", "out of range"},
		{"127.0.0.1:123456789012345678901234567890", "out of range"},
		{"bogus", "expected host:port"},
		{"$${env:X}", "\"${\" was left unexpanded"},
		{"${NESTED}", "\"${\" was left unexpanded"},
		{"", "must not be empty"},
		{"127.0.0.1:", "the port is missing"},
		{"127.0.0.1:http", "the port must be a number"},
		{"127.0.0.1:-1", "the port must be a number"},
		{"::1:4317", "IPv6 address must be in brackets"},
		{"[::1]", "expected [ipv6]:port"},
		{"[1.2.3.4]:80", "not an IPv6 address"},
		{"[::1%]:80", "not an IPv6 address"},
		{"1.2.3.256:80", "not a host name or an IPv4 address"},
		{"a..b:80", "not a host name"},
		{"a/b:80", "not a host name"},
		{"host.:80", "not a host name"},
		{"local host:80", "a space"},
		{"h\\tx:80", "a control"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tmpdir t = {0};
		char yaml[256];
		struct pf_error err;
		snprintf(yaml, sizeof(yaml), "receivers:\n  rcv:\n    listen: \"%s\"\n" EXP PIPE,
			 bad[i][0]);
		const char *f = write_file(&t, yaml);
		struct pf_config *cfg = load_sources(&f, 1, NULL, 0, &err);
		if (cfg)
			fail_msg("\"%s\" was accepted", bad[i][0]);
		/* At the value, whose line is 3, column 13: "listen: " then the quote. */
		if (!strstr(err.where, ":3:13") || !strstr(err.msg, "option \"listen\"") ||
		    !strstr(err.msg, bad[i][1]))
			fail_msg("\"%s\": got \"%s: %s\", want 3:13 and \"%s\"", bad[i][0],
				 err.where, err.msg, bad[i][1]);
		remove_files(&t);
	}
	/* The same check holds for --set. */
	const char *set = "receivers.rcv.listen=10.0.0.1:70000";
	const char *f = NULL;
	struct tmpdir t = {0};
	struct pf_error err;
	f = write_file(&t, "receivers:\n  rcv:\n" EXP PIPE);
	assert_null(load_sources(&f, 1, &set, 1, &err));
	assert_non_null(strstr(err.where, "--set:1:"));
	assert_non_null(strstr(err.msg, "port 70000 is out of range"));
	remove_files(&t);
}

/* service.telemetry.metrics.address: "" turns it off, anything else must be host:port. */
static void test_metrics_address_checked(void **state)
{
	struct pf_config *cfg = load_ok("receivers: {rcv: }\n" EXP PIPE
					"  telemetry: {metrics: {address: \"\"}}\n");
	assert_string_equal(cfg->metrics_address, "");
	pf_config_free(cfg);
	expect_error("receivers: {rcv: }\n" EXP PIPE
		     "  telemetry:\n    metrics:\n      address: 127.0.0.1:99999\n",
		     "t.yaml:12:16", "option \"telemetry.metrics.address\": \"127.0.0.1:99999\"");
	expect_error("receivers: {rcv: }\n" EXP PIPE
		     "  telemetry:\n    metrics:\n      address: bogus\n",
		     "t.yaml:12:16", "expected host:port");
	expect_error("receivers: {rcv: }\n" EXP PIPE
		     "  telemetry:\n    metrics:\n      address: $${env:X}\n",
		     "t.yaml:12:16", "left unexpanded");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_service_defaults),
		cmocka_unit_test(test_unused_component_warns),
		cmocka_unit_test(test_named_pipelines),
		cmocka_unit_test(test_anchors_and_merge_keys),
		cmocka_unit_test(test_yaml_syntax_error),
		cmocka_unit_test(test_unknown_top_level_key),
		cmocka_unit_test(test_unknown_option_lists_valid_keys),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_bad_duration_and_size),
		cmocka_unit_test(test_bad_enum_lists_choices),
		cmocka_unit_test(test_unknown_component_type),
		cmocka_unit_test(test_bad_component_id),
		cmocka_unit_test(test_missing_required_option),
		cmocka_unit_test(test_component_validate),
		cmocka_unit_test(test_pipeline_errors),
		cmocka_unit_test(test_env_expansion),
		cmocka_unit_test(test_env_whole_value_is_typed),
		cmocka_unit_test(test_env_bad_syntax),
		cmocka_unit_test(test_merge_files),
		cmocka_unit_test(test_set_overrides),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_hostile_nesting_and_aliases),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_option_parse),
		cmocka_unit_test(test_endpoint_accepts),
		cmocka_unit_test(test_endpoint_invalid_fails_validation_at_value),
		cmocka_unit_test(test_metrics_address_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
