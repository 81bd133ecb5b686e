// SPDX-License-Identifier: Apache-2.0
/* Option tables applied to config nodes: defaults, types, bounds, enums, lists, maps, sections. */
#include "config.h"
#include "node.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATH_MAX_LEN 256
#define MSG_LEN	     512

static void *field_of(void *config, const struct pf_option *opt)
{
	return (char *)config + opt->offset;
}

static bool has_bounds(const struct pf_option *opt)
{
	return opt->min != opt->max;
}

static void format_duration(int64_t ns, char *buf, size_t size)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {
		{"h", 3600000000000ll}, {"m", 60000000000ll}, {"s", 1000000000ll},
		{"ms", 1000000ll},	{"us", 1000ll},	      {"ns", 1},
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ns % units[i].ns == 0) {
			snprintf(buf, size, "%lld%s", (long long)(ns / units[i].ns), units[i].unit);
			return;
		}
	}
}

static int out_of_range(const struct pf_option *opt, const char *text, char *msg, size_t size)
{
	char lo[48], hi[48];
	if (opt->type == PF_OPT_DURATION) {
		format_duration((int64_t)opt->min, lo, sizeof(lo));
		format_duration((int64_t)opt->max, hi, sizeof(hi));
	} else {
		snprintf(lo, sizeof(lo), "%.17g", opt->min);
		snprintf(hi, sizeof(hi), "%.17g", opt->max);
	}
	snprintf(msg, size, "%.64s is out of range [%s, %s]", text, lo, hi);
	return -EINVAL;
}

static int parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", NULL};
	static const char *const no[] = {"false", "no", "off", NULL};
	for (size_t i = 0; yes[i]; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_int(const char *text, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno || end == text || *end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_double(const char *text, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end != '\0' || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_enum(const struct pf_option *opt, const char *text, int *out, char *msg,
		      size_t size)
{
	for (int i = 0; opt->choices && opt->choices[i]; i++) {
		if (strcasecmp(text, opt->choices[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	int n = snprintf(msg, size, "\"%.64s\" is not one of:", text);
	for (size_t i = 0; opt->choices && opt->choices[i] && n > 0 && (size_t)n < size; i++)
		n += snprintf(msg + n, size - (size_t)n, "%s %s", i ? "," : "", opt->choices[i]);
	return -EINVAL;
}

/* Parses text for a scalar option into field. */
static int parse_scalar(const struct pf_option *opt, const char *text, void *field, char *msg,
			size_t size)
{
	int64_t i64;
	double d;
	switch (opt->type) {
	case PF_OPT_BOOL:
		if (parse_bool(text, field) < 0) {
			snprintf(msg, size, "\"%.64s\" is not a bool (true/false, yes/no, on/off)",
				 text);
			return -EINVAL;
		}
		return 0;
	case PF_OPT_INT:
		if (parse_int(text, &i64) < 0) {
			snprintf(msg, size, "\"%.64s\" is not an integer", text);
			return -EINVAL;
		}
		if (has_bounds(opt) && ((double)i64 < opt->min || (double)i64 > opt->max))
			return out_of_range(opt, text, msg, size);
		*(int64_t *)field = i64;
		return 0;
	case PF_OPT_DOUBLE:
		if (parse_double(text, &d) < 0) {
			snprintf(msg, size, "\"%.64s\" is not a number", text);
			return -EINVAL;
		}
		if (has_bounds(opt) && (d < opt->min || d > opt->max))
			return out_of_range(opt, text, msg, size);
		*(double *)field = d;
		return 0;
	case PF_OPT_DURATION:
		if (pf_parse_duration(text, &i64) < 0) {
			snprintf(msg, size,
				 "\"%.64s\" is not a duration (e.g. 10s, 200ms, 1h30m, 5us)", text);
			return -EINVAL;
		}
		if (has_bounds(opt) && ((double)i64 < opt->min || (double)i64 > opt->max))
			return out_of_range(opt, text, msg, size);
		*(int64_t *)field = i64;
		return 0;
	case PF_OPT_SIZE:
		if (pf_parse_size(text, &i64) < 0) {
			snprintf(msg, size,
				 "\"%.64s\" is not a size (e.g. 64MiB, 512KiB, 1.5GB, 100)", text);
			return -EINVAL;
		}
		if (has_bounds(opt) && ((double)i64 < opt->min || (double)i64 > opt->max))
			return out_of_range(opt, text, msg, size);
		*(int64_t *)field = i64;
		return 0;
	case PF_OPT_ENUM: return parse_enum(opt, text, field, msg, size);
	case PF_OPT_STRING: {
		if ((opt->flags & PF_OPT_ENDPOINT) &&
		    pf_config_check_endpoint(text, opt->flags & PF_OPT_EMPTY_OFF, msg, size) < 0)
			return -EINVAL;
		char *copy = strdup(text);
		if (!copy)
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	default: break;
	}
	snprintf(msg, size, "a %s is not a scalar", pf_option_type_name(opt->type));
	return -EINVAL;
}

static void free_strings(struct pf_strings *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->items[i]);
	free(s->items);
	s->items = NULL;
	s->n = 0;
}

static void free_map(struct pf_string_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->keys[i]);
		free(m->values[i]);
	}
	free(m->keys);
	free(m->values);
	m->keys = NULL;
	m->values = NULL;
	m->n = 0;
}

static void free_list(const struct pf_option *o, struct pf_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		pf_coptions_free(o->section, (char *)l->items + i * o->elem_size);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

void pf_coptions_free(const struct pf_option *table, void *config)
{
	for (const struct pf_option *o = table; o && o->name; o++) {
		void *f = field_of(config, o);
		switch (o->type) {
		case PF_OPT_STRING:
			free(*(char **)f);
			*(char **)f = NULL;
			break;
		case PF_OPT_STRINGS: free_strings(f); break;
		case PF_OPT_MAP: free_map(f); break;
		case PF_OPT_SECTION: pf_coptions_free(o->section, f); break;
		case PF_OPT_LIST: free_list(o, f); break;
		default: break;
		}
	}
}

struct apply {
	const char *what;
	struct pf_error *err;
};

static int option_error(const struct apply *a, const struct pf_cnode *at, const char *path,
			const char *msg)
{
	return pf_cnode_error(a->err, at, "%s: option \"%s\": %s", a->what, path, msg);
}

static int apply_map(const struct pf_option *table, const struct pf_cnode *map,
		     const struct pf_cnode *pos, const char *prefix, void *config,
		     const struct apply *a);

/* A scalar item of a list or map, with null read as "". */
static int scalar_item(const struct apply *a, const struct pf_cnode *item, const char *path,
		       char **out)
{
	if (item->kind != PF_CNODE_SCALAR) {
		char msg[MSG_LEN];
		snprintf(msg, sizeof(msg), "expected a scalar item, got %s",
			 pf_cnode_kind_name(item));
		return option_error(a, item, path, msg);
	}
	*out = strdup(pf_cnode_is_null(item) ? "" : item->text);
	return *out ? 0 : -ENOMEM;
}

static int apply_strings(const struct pf_cnode *v, const char *path, struct pf_strings *dst,
			 const struct apply *a)
{
	struct pf_strings s = {0};
	int rc = 0;
	if (v->n) {
		s.items = calloc(v->n, sizeof(*s.items));
		if (!s.items)
			return -ENOMEM;
	}
	for (; s.n < v->n; s.n++) {
		rc = scalar_item(a, v->items[s.n], path, &s.items[s.n]);
		if (rc < 0)
			goto out_free_list;
	}
	free_strings(dst);
	*dst = s;
	return 0;

out_free_list:
	free_strings(&s);
	return rc;
}

static int apply_string_map(const struct pf_cnode *v, const char *path, struct pf_string_map *dst,
			    const struct apply *a)
{
	struct pf_string_map m = {0};
	int rc = -ENOMEM;
	if (v->n) {
		m.keys = calloc(v->n, sizeof(*m.keys));
		m.values = calloc(v->n, sizeof(*m.values));
		if (!m.keys || !m.values)
			goto out_free_map;
	}
	for (; m.n < v->n; m.n++) {
		m.keys[m.n] = strdup(v->keys[m.n]->text);
		if (!m.keys[m.n]) {
			rc = -ENOMEM;
			m.n++;
			goto out_free_map;
		}
		rc = scalar_item(a, v->items[m.n], path, &m.values[m.n]);
		if (rc < 0) {
			m.n++;
			goto out_free_map;
		}
	}
	free_map(dst);
	*dst = m;
	return 0;

out_free_map:
	free_map(&m);
	return rc;
}

/* A sequence of mappings, each applied over the section's defaults. */
static int apply_list(const struct pf_option *opt, const struct pf_cnode *v, const char *path,
		      struct pf_list *dst, const struct apply *a)
{
	struct pf_list l = {0};
	char item_path[PATH_MAX_LEN];
	int rc = 0;

	if (v->n) {
		l.items = calloc(v->n, opt->elem_size);
		if (!l.items)
			return -ENOMEM;
	}
	for (; l.n < v->n; l.n++) {
		void *elem = (char *)l.items + l.n * opt->elem_size;
		const struct pf_cnode *item = v->items[l.n];

		snprintf(item_path, sizeof(item_path), "%s[%zu]", path, l.n);
		if (item->kind != PF_CNODE_MAP) {
			char msg[MSG_LEN];
			snprintf(msg, sizeof(msg), "expected a mapping of options, got %s",
				 pf_cnode_kind_name(item));
			rc = option_error(a, item, item_path, msg);
			goto out_free_list;
		}
		rc = pf_coptions_defaults(opt->section, elem, a->err);
		if (rc == 0)
			rc = apply_map(opt->section, item, item, item_path, elem, a);
		if (rc < 0) {
			l.n++; /* free what this element holds too */
			goto out_free_list;
		}
	}
	free_list(opt, dst);
	*dst = l;
	return 0;

out_free_list:
	free_list(opt, &l);
	return rc;
}

/* Applies a non-null node to one option. */
static int apply_value(const struct pf_option *opt, const struct pf_cnode *v, const char *path,
		       void *config, const struct apply *a)
{
	void *f = field_of(config, opt);
	char msg[MSG_LEN];
	enum pf_cnode_kind want = PF_CNODE_SCALAR;
	if (opt->type == PF_OPT_SECTION || opt->type == PF_OPT_MAP)
		want = PF_CNODE_MAP;
	else if (opt->type == PF_OPT_STRINGS || opt->type == PF_OPT_LIST)
		want = PF_CNODE_SEQ;
	if (v->kind != want) {
		const char *expected = "a mapping of options";
		if (opt->type == PF_OPT_STRINGS)
			expected = "a list of strings";
		else if (opt->type == PF_OPT_LIST)
			expected = "a list of mappings";
		else if (opt->type == PF_OPT_MAP)
			expected = "a mapping of strings";
		if (want == PF_CNODE_SCALAR)
			snprintf(msg, sizeof(msg), "expected a scalar (%s), got %s",
				 pf_option_type_name(opt->type), pf_cnode_kind_name(v));
		else
			snprintf(msg, sizeof(msg), "expected %s, got %s", expected,
				 pf_cnode_kind_name(v));
		return option_error(a, v, path, msg);
	}
	switch (opt->type) {
	case PF_OPT_SECTION: return apply_map(opt->section, v, v, path, f, a);
	case PF_OPT_STRINGS: return apply_strings(v, path, f, a);
	case PF_OPT_MAP: return apply_string_map(v, path, f, a);
	case PF_OPT_LIST: return apply_list(opt, v, path, f, a);
	default: break;
	}
	int rc = parse_scalar(opt, v->text, f, msg, sizeof(msg));
	if (rc == -EINVAL)
		return option_error(a, v, path, msg);
	return rc;
}

static void join_path(char *buf, size_t size, const char *prefix, const char *name)
{
	if (prefix && prefix[0])
		snprintf(buf, size, "%s.%s", prefix, name);
	else
		snprintf(buf, size, "%s", name);
}

/* Fails on the first required option under table, reported at pos. */
static int check_required(const struct pf_option *table, const struct pf_cnode *pos,
			  const char *prefix, const struct apply *a)
{
	char path[PATH_MAX_LEN];
	for (const struct pf_option *o = table; o && o->name; o++) {
		join_path(path, sizeof(path), prefix, o->name);
		if (o->flags & PF_OPT_REQUIRED)
			return pf_cnode_error(a->err, pos, "%s: missing required option \"%s\"",
					      a->what, path);
		if (o->type == PF_OPT_SECTION) {
			int rc = check_required(o->section, pos, path, a);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int unknown_key(const struct pf_option *table, const struct pf_cnode *key,
		       const char *prefix, const struct apply *a)
{
	char valid[MSG_LEN];
	int n = 0;
	valid[0] = '\0';
	for (const struct pf_option *o = table; o && o->name && (size_t)n < sizeof(valid); o++)
		n += snprintf(valid + n, sizeof(valid) - (size_t)n, "%s%s", n ? ", " : "", o->name);
	char path[PATH_MAX_LEN];
	join_path(path, sizeof(path), prefix, key->text);
	return pf_cnode_error(a->err, key, "%s: unknown option \"%.64s\"; valid options: %s",
			      a->what, path, n ? valid : "(none)");
}

static const struct pf_option *find_row(const struct pf_option *table, const char *name)
{
	for (const struct pf_option *o = table; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

static int apply_map(const struct pf_option *table, const struct pf_cnode *map,
		     const struct pf_cnode *pos, const char *prefix, void *config,
		     const struct apply *a)
{
	char path[PATH_MAX_LEN];
	if (pf_cnode_is_null(map))
		return check_required(table, pos, prefix, a);
	for (size_t i = 0; i < map->n; i++) {
		const struct pf_cnode *key = map->keys[i], *v = map->items[i];
		const struct pf_option *o = find_row(table, key->text);
		if (!o)
			return unknown_key(table, key, prefix, a);
		join_path(path, sizeof(path), prefix, o->name);
		if (o->type == PF_OPT_SECTION && (o->flags & PF_OPT_PRESENCE))
			*(bool *)field_of(config, o) = true;
		int rc;
		if (!pf_cnode_is_null(v))
			rc = apply_value(o, v, path, config, a);
		else if (o->flags & PF_OPT_REQUIRED)
			rc = pf_cnode_error(a->err, key, "%s: option \"%s\" is required, got null",
					    a->what, path);
		else if (o->type == PF_OPT_SECTION)
			rc = check_required(o->section, key, path, a);
		else
			rc = 0; /* null keeps the default */
		if (rc < 0)
			return rc;
	}
	/* Rows not given: required ones fail at the mapping that lacks them. */
	for (const struct pf_option *o = table; o && o->name; o++) {
		if (pf_cnode_map_get(map, o->name))
			continue;
		join_path(path, sizeof(path), prefix, o->name);
		if (o->flags & PF_OPT_REQUIRED)
			return pf_cnode_error(a->err, map, "%s: missing required option \"%s\"",
					      a->what, path);
		if (o->type == PF_OPT_SECTION) {
			int rc = check_required(o->section, map, path, a);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int pf_coptions_apply(const struct pf_option *table, const struct pf_cnode *map,
		      const struct pf_cnode *pos, const char *what, void *config,
		      struct pf_error *err)
{
	struct apply a = {.what = what, .err = err};
	if (map && !pf_cnode_is_null(map) && map->kind != PF_CNODE_MAP)
		return pf_cnode_error(err, map, "%s: expected a mapping of options, got %s", what,
				      pf_cnode_kind_name(map));
	return apply_map(table, map, map && !pf_cnode_is_null(map) ? map : pos, "", config, &a);
}

int pf_coptions_defaults(const struct pf_option *table, void *config, struct pf_error *err)
{
	for (const struct pf_option *o = table; o && o->name; o++) {
		int rc = 0;
		if (o->type == PF_OPT_SECTION)
			rc = pf_coptions_defaults(o->section, field_of(config, o), err);
		else if (o->def && !(o->flags & PF_OPT_REQUIRED))
			rc = pf_option_parse(o, o->def, config, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int pf_option_parse(const struct pf_option *opt, const char *text, void *config,
		    struct pf_error *err)
{
	char msg[MSG_LEN];
	if (opt->type != PF_OPT_STRINGS && opt->type != PF_OPT_MAP && opt->type != PF_OPT_SECTION &&
	    opt->type != PF_OPT_LIST) {
		int rc = parse_scalar(opt, text, field_of(config, opt), msg, sizeof(msg));
		if (rc == -EINVAL)
			return pf_error_set(err, NULL, "option \"%s\": %s", opt->name, msg);
		return rc;
	}
	/* Lists, maps and sections are written as YAML ("[a, b]", "{k: v}"). */
	struct pf_error local;
	pf_error_clear(&local);
	struct pf_cnode *n = NULL;
	int rc = pf_cnode_parse("<value>", text, strlen(text), 0, 0, &n, &local);
	if (rc == 0 && !pf_cnode_is_null(n)) {
		struct apply a = {.what = "value", .err = &local};
		rc = apply_value(opt, n, opt->name, config, &a);
	}
	pf_cnode_free(n);
	if (rc == -EINVAL)
		return pf_error_set(err, NULL, "%s", local.msg);
	return rc;
}
