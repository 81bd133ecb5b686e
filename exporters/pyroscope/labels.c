// SPDX-License-Identifier: Apache-2.0
/* Series labels for Pyroscope: __name__ from sample types, service_name from the resource, valid names. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/semconv.h"
#include "pyroscope.h"

#define UNKNOWN_SERVICE "unknown_service"

void pf_pyroscope_labels_clear(struct pf_pyroscope_labels *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const char *pf_pyroscope_label_get(const struct pf_pyroscope_labels *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return l->v[i].value;
	return NULL;
}

/* A valid label name made of `raw`, malloc'd: for ingest [A-Za-z0-9_.],
 * for push Prometheus' [a-zA-Z_][a-zA-Z0-9_]*; others become '_'. */
static char *valid_name(const char *raw, bool ingest)
{
	size_t len = strlen(raw);
	bool lead_digit = !ingest && raw[0] >= '0' && raw[0] <= '9';
	char *s = calloc(len + 2, 1);
	char *p = s;

	if (!s)
		return NULL;
	if (lead_digit)
		*p++ = '_';
	for (size_t i = 0; i < len; i++) {
		char ch = raw[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '_' || (ingest && ch == '.');

		*p++ = ok ? ch : '_';
	}
	return s;
}

/* Sets name=value, replacing an existing value. Takes ownership of `name`
 * and `value` (both freed on error). */
static int put(struct pf_pyroscope_labels *l, char *name, char *value)
{
	if (!name || !value)
		goto out_free;
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, name) == 0) {
			free(name);
			free(l->v[i].value);
			l->v[i].value = value;
			return 0;
		}
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct pf_pyroscope_label *v = calloc(cap, sizeof(*v));

		if (!v)
			goto out_free;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*v));
		free(l->v);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].name = name;
	l->v[l->n].value = value;
	l->n++;
	return 0;

out_free:
	free(name);
	free(value);
	return -ENOMEM;
}

static bool contains(const char *s, const char *part)
{
	return strstr(s, part) != NULL;
}

const char *pf_pyroscope_profile_name(const struct pf_batch *b, const uint32_t *sel, size_t n)
{
	static const char *const memory[] = {"alloc_", "inuse_", "space", "objects"};
	static const char *const mutex[] = {"contention", "delay", "lock", "mutex"};
	bool cpu = false, wall = false, mem = false, mtx = false, block = false, gor = false;

	for (size_t i = 0; i < n; i++) {
		const char *t = pf_batch_str(b, pf_batch_profile_get(b, sel[i])->sample_type.type);

		cpu |= contains(t, "cpu");
		wall |= strcmp(t, "wall") == 0;
		for (size_t k = 0; k < sizeof(memory) / sizeof(memory[0]); k++)
			mem |= contains(t, memory[k]);
		for (size_t k = 0; k < sizeof(mutex) / sizeof(mutex[0]); k++)
			mtx |= contains(t, mutex[k]);
		block |= contains(t, "block");
		gor |= contains(t, "goroutine");
	}
	if (cpu)
		return "process_cpu";
	if (wall)
		return "wall";
	if (mem)
		return "memory";
	if (block)
		return "block";
	if (mtx)
		return "mutex";
	if (gor)
		return "goroutines";
	return NULL;
}

/* An attribute value as label text, malloc'd; NULL for empty values. */
static char *value_text(const struct pf_batch *b, const struct pf_value *v)
{
	char buf[64];

	switch (v->kind) {
	case PF_VALUE_STRING: return strdup(pf_batch_str(b, v->u.str));
	case PF_VALUE_INT: snprintf(buf, sizeof(buf), "%" PRId64, v->u.i); return strdup(buf);
	case PF_VALUE_DOUBLE: snprintf(buf, sizeof(buf), "%.17g", v->u.d); return strdup(buf);
	case PF_VALUE_BOOL: return strdup(v->u.b ? "true" : "false");
	case PF_VALUE_STRINGS: {
		size_t n, len = 1;
		const uint32_t *s = pf_batch_string_list_get(b, v->u.strs, &n);
		char *out;

		for (size_t i = 0; i < n; i++)
			len += pf_batch_str_len(b, s[i]) + 1;
		out = calloc(len, 1);
		if (!out)
			return NULL;
		for (size_t i = 0; i < n; i++) {
			if (i)
				strcat(out, ",");
			strcat(out, pf_batch_str(b, s[i]));
		}
		return out;
	}
	case PF_VALUE_EMPTY: break;
	}
	return NULL;
}

static char *service_name(const struct pf_batch *b, uint32_t attrs)
{
	const struct pf_value *v = pf_batch_attr_lookup(b, attrs, PF_ATTR_SERVICE_NAME);
	char *s;

	if (v && v->kind == PF_VALUE_STRING && pf_batch_str_len(b, v->u.str))
		return strdup(pf_batch_str(b, v->u.str));
	v = pf_batch_attr_lookup(b, attrs, PF_ATTR_PROCESS_EXECUTABLE_NAME);
	if (v && v->kind == PF_VALUE_STRING && pf_batch_str_len(b, v->u.str)) {
		if (asprintf(&s, UNKNOWN_SERVICE ":%s", pf_batch_str(b, v->u.str)) < 0)
			return NULL;
		return s;
	}
	return strdup(UNKNOWN_SERVICE);
}

static int by_name(const void *a, const void *b)
{
	const struct pf_pyroscope_label *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int pf_pyroscope_series_labels(const struct pf_batch *b, const uint32_t *sel, size_t n,
			       const struct pf_pyroscope_config *cfg, bool ingest,
			       struct pf_pyroscope_labels *out)
{
	const struct pf_profile_desc *d = pf_batch_profile_get(b, sel[0]);
	uint32_t attrs = pf_batch_resource_get(b, d->resource)->attrs;
	const char *name = pf_pyroscope_profile_name(b, sel, n);
	int err;

	memset(out, 0, sizeof(*out));
	err = put(out, strdup("service_name"), service_name(b, attrs));
	if (!err && !ingest)
		err = put(out, strdup("__delta__"), strdup("false"));
	for (size_t i = 0; !err && i < cfg->resource_labels.n; i++) {
		const char *key = cfg->resource_labels.items[i];
		const struct pf_value *v = pf_batch_attr_lookup(b, attrs, key);
		char *text = v ? value_text(b, v) : NULL;

		if (!text) {
			if (v && v->kind != PF_VALUE_EMPTY)
				err = -ENOMEM;
			continue;
		}
		err = put(out, valid_name(key, ingest), text);
	}
	for (size_t i = 0; !err && i < cfg->labels.n; i++)
		err = put(out, valid_name(cfg->labels.keys[i], ingest),
			  strdup(cfg->labels.values[i]));
	/* __name__ last: it names the profile type and cannot be overridden. */
	if (!err) {
		const char *t = pf_batch_str(b, d->sample_type.type);

		err = put(out, strdup("__name__"), name ? strdup(name) : valid_name(t, ingest));
	}
	if (err) {
		pf_pyroscope_labels_clear(out);
		return err;
	}
	qsort(out->v, out->n, sizeof(out->v[0]), by_name);
	return 0;
}
