// SPDX-License-Identifier: Apache-2.0
/* Fuzzes the config loader: YAML, anchors, env, --set, option tables, endpoints and validation. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

struct fz_section {
	int64_t n;
	struct {
		bool on;
	} inner;
};

struct fz_config {
	bool b;
	int64_t i;
	double d;
	char *s;
	int64_t dur, size;
	int e;
	struct pf_strings list;
	struct pf_string_map map;
	struct fz_section sec;
	char *ep, *ep_off;
};

static const char *const fz_choices[] = {"a", "b", "c", NULL};

static const struct pf_option fz_inner[] = {
	{.name = "on", .type = PF_OPT_BOOL, .def = "on", .doc = "x"},
	PF_OPTION_END,
};

static const struct pf_option fz_section_options[] = {
	{.name = "n",
	 .type = PF_OPT_INT,
	 .def = "2",
	 .min = 1,
	 .max = 9,
	 .offset = offsetof(struct fz_section, n),
	 .doc = "x"},
	{.name = "inner",
	 .type = PF_OPT_SECTION,
	 .section = fz_inner,
	 .offset = offsetof(struct fz_section, inner),
	 .doc = "x"},
	PF_OPTION_END,
};

static const struct pf_option fz_options[] = {
	{.name = "b",
	 .type = PF_OPT_BOOL,
	 .def = "true",
	 .offset = offsetof(struct fz_config, b),
	 .doc = "x"},
	{.name = "i",
	 .type = PF_OPT_INT,
	 .def = "5",
	 .min = 1,
	 .max = 1000,
	 .offset = offsetof(struct fz_config, i),
	 .doc = "x"},
	{.name = "d",
	 .type = PF_OPT_DOUBLE,
	 .def = "0.5",
	 .offset = offsetof(struct fz_config, d),
	 .doc = "x"},
	{.name = "s",
	 .type = PF_OPT_STRING,
	 .def = "x",
	 .offset = offsetof(struct fz_config, s),
	 .doc = "x"},
	{.name = "dur",
	 .type = PF_OPT_DURATION,
	 .def = "1s",
	 .min = 0,
	 .max = 86400e9,
	 .offset = offsetof(struct fz_config, dur),
	 .doc = "x"},
	{.name = "size",
	 .type = PF_OPT_SIZE,
	 .def = "1MiB",
	 .offset = offsetof(struct fz_config, size),
	 .doc = "x"},
	{.name = "e",
	 .type = PF_OPT_ENUM,
	 .def = "b",
	 .choices = fz_choices,
	 .offset = offsetof(struct fz_config, e),
	 .doc = "x"},
	{.name = "list",
	 .type = PF_OPT_STRINGS,
	 .def = "[x, y]",
	 .offset = offsetof(struct fz_config, list),
	 .doc = "x"},
	{.name = "map",
	 .type = PF_OPT_MAP,
	 .def = "{k: v}",
	 .offset = offsetof(struct fz_config, map),
	 .doc = "x"},
	{.name = "sec",
	 .type = PF_OPT_SECTION,
	 .section = fz_section_options,
	 .offset = offsetof(struct fz_config, sec),
	 .doc = "x"},
	{.name = "ep",
	 .type = PF_OPT_STRING,
	 .def = "localhost:1",
	 .flags = PF_OPT_ENDPOINT,
	 .offset = offsetof(struct fz_config, ep),
	 .doc = "x"},
	{.name = "ep_off",
	 .type = PF_OPT_STRING,
	 .def = "",
	 .flags = PF_OPT_ENDPOINT | PF_OPT_EMPTY_OFF,
	 .offset = offsetof(struct fz_config, ep_off),
	 .doc = "x"},
	PF_OPTION_END,
};

static const struct pf_option fz_required[] = {
	{.name = "path", .type = PF_OPT_STRING, .flags = PF_OPT_REQUIRED, .doc = "x"},
	PF_OPTION_END,
};

static const char *const fz_aliases[] = {"o", NULL};

static const struct pf_component_def fz_rcv = {
	.kind = PF_RECEIVER,
	.type = "r",
	.options = fz_options,
	.config_size = sizeof(struct fz_config),
};
static const struct pf_component_def fz_proc = {
	.kind = PF_PROCESSOR,
	.type = "p",
	.options = fz_options,
	.config_size = sizeof(struct fz_config),
};
static const struct pf_component_def fz_exp = {
	.kind = PF_EXPORTER,
	.type = "x",
	.aliases = fz_aliases,
	.options = fz_required,
	.config_size = sizeof(char *),
};
static const struct pf_component_def fz_ext = {
	.kind = PF_EXTENSION,
	.type = "e",
};

static const struct pf_component_def *const fz_registry[] = {
	&fz_rcv, &fz_proc, &fz_exp, &fz_ext, NULL,
};

/* "S" then newline-separated --set assignments; anything else is a YAML file. */
static void fuzz_sets(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	const char *sets[8];
	size_t n = 0;
	for (char *line = text; line && n < 8;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		sets[n++] = line;
		line = nl ? nl + 1 : NULL;
	}
	struct pf_config_sources src = {.sets = sets, .n_sets = n};
	struct pf_error err;
	pf_error_clear(&err);
	pf_config_free(pf_config_load(&src, fz_registry, &err));
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == 'S') {
		fuzz_sets(data + 1, size - 1);
		return 0;
	}
	if (size < 64) {
		char text[64];
		memcpy(text, data, size);
		text[size] = '\0';
		int64_t v;
		char msg[256];
		pf_parse_duration(text, &v);
		pf_parse_size(text, &v);
		pf_config_check_endpoint(text, true, msg, sizeof(msg));
	}
	struct pf_error err;
	pf_error_clear(&err);
	pf_config_free(
		pf_config_load_string("fuzz.yaml", (const char *)data, size, fz_registry, &err));
	return 0;
}
