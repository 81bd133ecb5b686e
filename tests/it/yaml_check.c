// SPDX-License-Identifier: Apache-2.0
/* Checks that stdin is one YAML mapping document holding every key named on the command line. */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

int main(int argc, char **argv)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int status = 1;

	if (!yaml_parser_initialize(&parser))
		return 1;
	yaml_parser_set_input_file(&parser, stdin);
	if (!yaml_parser_load(&parser, &doc)) {
		fprintf(stderr, "yaml_check: line %zu: %s\n", parser.problem_mark.line + 1,
			parser.problem ? parser.problem : "parse error");
		goto out_parser;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		fprintf(stderr, "yaml_check: the document is not a mapping\n");
		goto out_doc;
	}
	status = 0;
	for (int i = 1; i < argc; i++) {
		int found = 0;
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		     p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&doc, p->key);
			if (k && k->type == YAML_SCALAR_NODE &&
			    strcmp((const char *)k->data.scalar.value, argv[i]) == 0)
				found = 1;
		}
		if (!found) {
			fprintf(stderr, "yaml_check: no top-level key \"%s\"\n", argv[i]);
			status = 1;
		}
	}
out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	return status;
}
