// SPDX-License-Identifier: Apache-2.0
/* `proflow components`: YAML generated from the registry's option tables alone. */
#include "components.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static const char *const kind_keys[] = {
	[PF_RECEIVER] = "receivers",
	[PF_PROCESSOR] = "processors",
	[PF_EXPORTER] = "exporters",
	[PF_EXTENSION] = "extensions",
};

/* A YAML double-quoted scalar: always valid, whatever the text holds. */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void put_duration(FILE *f, double ns)
{
	static const struct {
		double scale;
		const char *unit;
	} units[] = {{3600e9, "h"}, {60e9, "m"}, {1e9, "s"}, {1e6, "ms"}, {1e3, "us"}, {1, "ns"}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		double q = ns / units[i].scale;
		if (ns != 0 && q == floor(q)) {
			fprintf(f, "\"%.0f%s\"", q, units[i].unit);
			return;
		}
	}
	fputs("\"0s\"", f);
}

static void put_size(FILE *f, double bytes)
{
	static const struct {
		double scale;
		const char *unit;
	} units[] = {{1073741824.0, "GiB"}, {1048576.0, "MiB"}, {1024.0, "KiB"}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		double q = bytes / units[i].scale;
		if (bytes != 0 && q == floor(q)) {
			fprintf(f, "\"%.0f%s\"", q, units[i].unit);
			return;
		}
	}
	fprintf(f, "%.0f", bytes);
}

static void put_bound(FILE *f, const struct pf_option *o, double v)
{
	if (o->type == PF_OPT_DURATION)
		put_duration(f, v);
	else if (o->type == PF_OPT_SIZE)
		put_size(f, v);
	else
		fprintf(f, "%.17g", v);
}

static void put_options(FILE *f, const struct pf_option *opts, int indent)
{
	for (const struct pf_option *o = opts; o && o->name; o++) {
		fprintf(f, "%*s- name: ", indent, "");
		put_str(f, o->name);
		fprintf(f, "\n%*s  type: %s\n", indent, "", pf_option_type_name(o->type));
		if (o->flags & PF_OPT_REQUIRED)
			fprintf(f, "%*s  required: true\n", indent, "");
		else if (o->def) {
			fprintf(f, "%*s  default: ", indent, "");
			put_str(f, o->def);
			fputc('\n', f);
		}
		if (o->flags & PF_OPT_ENDPOINT)
			fprintf(f, "%*s  format: \"host:port\"\n", indent, "");
		if (o->type == PF_OPT_ENUM && o->choices) {
			fprintf(f, "%*s  allowed: [", indent, "");
			for (const char *const *c = o->choices; *c; c++) {
				if (c != o->choices)
					fputs(", ", f);
				put_str(f, *c);
			}
			fputs("]\n", f);
		}
		if (o->min != o->max) {
			fprintf(f, "%*s  min: ", indent, "");
			put_bound(f, o, o->min);
			fprintf(f, "\n%*s  max: ", indent, "");
			put_bound(f, o, o->max);
			fputc('\n', f);
		}
		fprintf(f, "%*s  doc: ", indent, "");
		put_str(f, o->doc ? o->doc : "");
		fputc('\n', f);
		if ((o->type == PF_OPT_SECTION || o->type == PF_OPT_LIST) && o->section) {
			fprintf(f, "%*s  options:\n", indent, "");
			put_options(f, o->section, indent + 4);
		}
	}
}

static void put_def(FILE *f, const struct pf_component_def *d)
{
	fputs("  - name: ", f);
	put_str(f, d->type);
	fputs("\n    doc: ", f);
	put_str(f, d->doc ? d->doc : "");
	fputs("\n    stability:\n      profiles: ", f);
	put_str(f, d->stability ? d->stability : "development");
	fputs("\n    aliases: [", f);
	for (const char *const *a = d->aliases; a && *a; a++) {
		if (a != d->aliases)
			fputs(", ", f);
		put_str(f, *a);
	}
	fputs("]\n", f);
	if (d->kind == PF_PROCESSOR)
		fprintf(f, "    mutates: %s\n", d->mutates ? "true" : "false");
	if (d->options && d->options[0].name) {
		fputs("    options:\n", f);
		put_options(f, d->options, 6);
	} else {
		fputs("    options: []\n", f);
	}
}

int pf_components_print(FILE *f, const struct pf_component_def *const *registry)
{
	fputs("buildinfo:\n  command: \"proflow\"\n  description: \"proflow continuous profiling "
	      "collector\"\n  version: ",
	      f);
	put_str(f, PF_VERSION);
	fputc('\n', f);
	for (int k = PF_RECEIVER; k <= PF_EXTENSION; k++) {
		bool any = false;
		for (const struct pf_component_def *const *d = registry; *d; d++)
			any |= (int)(*d)->kind == k;
		fprintf(f, "%s:%s\n", kind_keys[k], any ? "" : " []");
		for (const struct pf_component_def *const *d = registry; *d; d++)
			if ((int)(*d)->kind == k)
				put_def(f, *d);
	}
	return ferror(f) ? -EIO : 0;
}
