// SPDX-License-Identifier: Apache-2.0
/* Client metadata: lower-cased keys with one or more values each, owned strings. */
#include "model/metadata.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct entry {
	char *key;
	char **values;
	size_t n_values;
};

struct pf_metadata {
	struct entry *v;
	size_t n, cap;
};

struct pf_metadata *pf_metadata_new(void)
{
	return calloc(1, sizeof(struct pf_metadata));
}

static void entry_free(struct entry *e)
{
	for (size_t i = 0; i < e->n_values; i++)
		free(e->values[i]);
	free(e->values);
	free(e->key);
}

void pf_metadata_free(struct pf_metadata *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		entry_free(&m->v[i]);
	free(m->v);
	free(m);
}

static char *dup_bytes(const char *s, size_t n, bool lower)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	for (size_t i = 0; lower && i < n; i++)
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] = (char)(d[i] - 'A' + 'a');
	return d;
}

static struct entry *find(const struct pf_metadata *m, const char *key, size_t len)
{
	for (size_t i = 0; m && i < m->n; i++)
		if (strlen(m->v[i].key) == len && strncasecmp(m->v[i].key, key, len) == 0)
			return &m->v[i];
	return NULL;
}

/* Appends one value to e; 0 or -ENOMEM, e unchanged on failure. */
static int entry_push(struct entry *e, const char *value, size_t len)
{
	char *v = dup_bytes(value, len, false);
	char **grown;

	if (!v)
		return -ENOMEM;
	grown = calloc(e->n_values + 1, sizeof(*grown));
	if (!grown) {
		free(v);
		return -ENOMEM;
	}
	if (e->n_values)
		memcpy(grown, e->values, e->n_values * sizeof(*grown));
	grown[e->n_values] = v;
	free(e->values);
	e->values = grown;
	e->n_values++;
	return 0;
}

int pf_metadata_add(struct pf_metadata *m, const char *key, size_t key_len, const char *value,
		    size_t value_len)
{
	struct entry *e = find(m, key, key_len), fresh = {0};

	if (key_len == 0)
		return -EINVAL;
	if (e)
		return entry_push(e, value, value_len);
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 8;
		struct entry *grown = calloc(cap, sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		if (m->n)
			memcpy(grown, m->v, m->n * sizeof(*grown));
		free(m->v);
		m->v = grown;
		m->cap = cap;
	}
	fresh.key = dup_bytes(key, key_len, true);
	if (!fresh.key)
		return -ENOMEM;
	if (entry_push(&fresh, value, value_len) < 0) {
		free(fresh.key);
		return -ENOMEM;
	}
	m->v[m->n++] = fresh;
	return 0;
}

size_t pf_metadata_n(const struct pf_metadata *m)
{
	return m ? m->n : 0;
}

const char *pf_metadata_key(const struct pf_metadata *m, size_t i)
{
	return m->v[i].key;
}

const char *const *pf_metadata_values(const struct pf_metadata *m, size_t i, size_t *n)
{
	*n = m->v[i].n_values;
	return (const char *const *)m->v[i].values;
}

const char *const *pf_metadata_get(const struct pf_metadata *m, const char *key, size_t *n)
{
	const struct entry *e = find(m, key, strlen(key));

	*n = e ? e->n_values : 0;
	return e ? (const char *const *)e->values : NULL;
}

static bool entries_equal(const struct entry *a, const struct entry *b)
{
	if (!a || !b)
		return a == b;
	if (a->n_values != b->n_values)
		return false;
	for (size_t i = 0; i < a->n_values; i++)
		if (strcmp(a->values[i], b->values[i]) != 0)
			return false;
	return true;
}

bool pf_metadata_same(const struct pf_metadata *a, const struct pf_metadata *b, const char *key)
{
	size_t len = strlen(key);

	return entries_equal(find(a, key, len), find(b, key, len));
}

struct pf_metadata *pf_metadata_copy(const struct pf_metadata *m)
{
	struct pf_metadata *c = pf_metadata_new();

	if (!c)
		return NULL;
	for (size_t i = 0; i < m->n; i++) {
		const struct entry *e = &m->v[i];

		for (size_t j = 0; j < e->n_values; j++)
			if (pf_metadata_add(c, e->key, strlen(e->key), e->values[j],
					    strlen(e->values[j])) < 0)
				goto out_free;
	}
	return c;

out_free:
	pf_metadata_free(c);
	return NULL;
}

void pf_metadata_intersect(struct pf_metadata *m, const struct pf_metadata *other)
{
	size_t kept = 0;

	for (size_t i = 0; i < m->n; i++) {
		struct entry *e = &m->v[i];

		if (entries_equal(e, find(other, e->key, strlen(e->key))))
			m->v[kept++] = *e;
		else
			entry_free(e);
	}
	m->n = kept;
}
