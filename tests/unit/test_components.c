// SPDX-License-Identifier: Apache-2.0
/* `proflow components`: every option type, nesting and awkward text come out as valid YAML. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <cmocka.h>

#include "main/components.h"

struct inner {
	int64_t n;
	char *s;
};

struct outer {
	bool b;
	double d;
	int64_t dur, size;
	int e;
	struct pf_strings list;
	struct pf_string_map map;
	struct inner in;
	char *req;
};

static const char *const colours[] = {"red", "green: yes", NULL};

static const struct pf_option inner_options[] = {
	{.name = "n", .type = PF_OPT_INT, .def = "3", .min = 1, .max = 9, .doc = "inner int"},
	{.name = "s", .type = PF_OPT_STRING, .doc = "no default"},
	PF_OPTION_END,
};

static const struct pf_option outer_options[] = {
	{.name = "b", .type = PF_OPT_BOOL, .def = "true", .doc = "a bool: with a colon"},
	{.name = "d", .type = PF_OPT_DOUBLE, .def = "0.5", .min = 0, .max = 1, .doc = "ratio"},
	{.name = "dur",
	 .type = PF_OPT_DURATION,
	 .def = "10s",
	 .min = 1e6,
	 .max = 3600e9,
	 .doc = "\"quoted\" and \\ backslash"},
	{.name = "size",
	 .type = PF_OPT_SIZE,
	 .def = "64MiB",
	 .min = 1024,
	 .max = 1073741824.0,
	 .doc = "- dash first, # hash"},
	{.name = "e", .type = PF_OPT_ENUM, .def = "red", .choices = colours, .doc = "choice"},
	{.name = "list", .type = PF_OPT_STRINGS, .def = "[a, b]", .doc = "list\nwith newline"},
	{.name = "map", .type = PF_OPT_MAP, .doc = "map"},
	{.name = "in", .type = PF_OPT_SECTION, .section = inner_options, .doc = "nested"},
	{.name = "req", .type = PF_OPT_STRING, .flags = PF_OPT_REQUIRED, .doc = "required"},
	{.name = "ep",
	 .type = PF_OPT_STRING,
	 .def = ":1",
	 .flags = PF_OPT_ENDPOINT,
	 .doc = "listen here"},
	PF_OPTION_END,
};

static const char *const aliases[] = {"old_name", NULL};

static const struct pf_component_def fake_receiver = {
	.kind = PF_RECEIVER,
	.type = "fake",
	.aliases = aliases,
	.doc = "A fake: {not a flow map}",
	.stability = "alpha",
	.options = outer_options,
};

static const struct pf_component_def fake_processor = {
	.kind = PF_PROCESSOR,
	.type = "noopts",
	.doc = "none",
	.mutates = true,
};

/* Finds `key` in mapping node `map`; NULL when absent. */
static yaml_node_t *get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	assert_int_equal(map->type, YAML_MAPPING_NODE);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

static const char *scalar(yaml_node_t *n)
{
	assert_non_null(n);
	assert_int_equal(n->type, YAML_SCALAR_NODE);
	return (const char *)n->data.scalar.value;
}

static yaml_node_t *item(yaml_document_t *doc, yaml_node_t *seq, size_t i)
{
	assert_int_equal(seq->type, YAML_SEQUENCE_NODE);
	assert_true(seq->data.sequence.items.start + i < seq->data.sequence.items.top);
	return yaml_document_get_node(doc, seq->data.sequence.items.start[i]);
}

static void test_components_yaml(void **state)
{
	const struct pf_component_def *const registry[] = {&fake_receiver, &fake_processor, NULL};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	yaml_parser_t parser;
	yaml_document_t doc;

	assert_non_null(f);
	assert_int_equal(pf_components_print(f, registry), 0);
	fclose(f);

	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc))
		fail_msg("not YAML (%s at line %zu):\n%s", parser.problem,
			 parser.problem_mark.line + 1, text);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	assert_string_equal(scalar(get(&doc, get(&doc, root, "buildinfo"), "version")), PF_VERSION);
	assert_int_equal(get(&doc, root, "exporters")->type, YAML_SEQUENCE_NODE);
	assert_int_equal(get(&doc, root, "exporters")->data.sequence.items.top -
				 get(&doc, root, "exporters")->data.sequence.items.start,
			 0);

	yaml_node_t *fake = item(&doc, get(&doc, root, "receivers"), 0);
	assert_string_equal(scalar(get(&doc, fake, "name")), "fake");
	assert_string_equal(scalar(get(&doc, fake, "doc")), "A fake: {not a flow map}");
	assert_string_equal(scalar(get(&doc, get(&doc, fake, "stability"), "profiles")), "alpha");
	assert_string_equal(scalar(item(&doc, get(&doc, fake, "aliases"), 0)), "old_name");

	yaml_node_t *opts = get(&doc, fake, "options");
	yaml_node_t *dur = item(&doc, opts, 2);
	assert_string_equal(scalar(get(&doc, dur, "type")), "duration");
	assert_string_equal(scalar(get(&doc, dur, "default")), "10s");
	assert_string_equal(scalar(get(&doc, dur, "min")), "1ms");
	assert_string_equal(scalar(get(&doc, dur, "max")), "1h");
	assert_string_equal(scalar(get(&doc, dur, "doc")), "\"quoted\" and \\ backslash");
	yaml_node_t *size = item(&doc, opts, 3);
	assert_string_equal(scalar(get(&doc, size, "min")), "1KiB");
	assert_string_equal(scalar(get(&doc, size, "max")), "1GiB");
	yaml_node_t *e = item(&doc, opts, 4);
	assert_string_equal(scalar(item(&doc, get(&doc, e, "allowed"), 1)), "green: yes");
	assert_string_equal(scalar(get(&doc, item(&doc, opts, 5), "doc")), "list\nwith newline");
	yaml_node_t *in = item(&doc, opts, 7);
	assert_string_equal(scalar(get(&doc, in, "type")), "section");
	yaml_node_t *n = item(&doc, get(&doc, in, "options"), 0);
	assert_string_equal(scalar(get(&doc, n, "name")), "n");
	assert_string_equal(scalar(get(&doc, n, "max")), "9");
	assert_null(get(&doc, item(&doc, get(&doc, in, "options"), 1), "default"));
	yaml_node_t *req = item(&doc, opts, 8);
	assert_string_equal(scalar(get(&doc, req, "required")), "true");
	assert_null(get(&doc, req, "default"));
	yaml_node_t *ep = item(&doc, opts, 9);
	assert_string_equal(scalar(get(&doc, ep, "format")), "host:port");
	assert_null(get(&doc, req, "format"));

	yaml_node_t *noopts = item(&doc, get(&doc, root, "processors"), 0);
	assert_string_equal(scalar(get(&doc, noopts, "mutates")), "true");
	assert_int_equal(get(&doc, noopts, "options")->type, YAML_SEQUENCE_NODE);

	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_components_yaml),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
