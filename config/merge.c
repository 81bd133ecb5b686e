// SPDX-License-Identifier: Apache-2.0
/* Merging config files in order and applying --set key.path=value overrides. */
#include "node.h"
#include "strindex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SET_FILE "--set"

int pf_cnode_merge(struct pf_cnode **dst, struct pf_cnode *src, struct pf_error *err)
{
	struct pf_cnode *d = *dst;
	if (!d || d->kind != PF_CNODE_MAP || src->kind != PF_CNODE_MAP) {
		pf_cnode_free(d);
		*dst = src;
		return 0;
	}
	struct pf_strindex ix;
	pf_strindex_init(&ix);
	int rc = 0;
	for (size_t i = 0; i < d->n && rc >= 0; i++)
		rc = pf_strindex_put(&ix, d->keys[i]->text, i, NULL);
	for (size_t i = 0; i < src->n && rc >= 0; i++) {
		struct pf_cnode *k = src->keys[i], *v = src->items[i];
		size_t at;
		if (pf_strindex_get(&ix, k->text, &at)) {
			src->items[i] = NULL;
			rc = pf_cnode_merge(&d->items[at], v, err);
			continue;
		}
		rc = pf_cnode_append(d, k, v);
		if (rc < 0)
			break;
		src->keys[i] = NULL;
		src->items[i] = NULL;
		rc = pf_strindex_put(&ix, k->text, d->n - 1, NULL);
	}
	pf_strindex_fini(&ix);
	pf_cnode_free(src);
	return rc < 0 ? rc : 0;
}

static bool is_component_section(const char *key, size_t len)
{
	static const char *const sections[] = {"receivers",  "processors", "exporters",
					       "extensions", "connectors", NULL};
	for (size_t i = 0; sections[i]; i++)
		if (strlen(sections[i]) == len && memcmp(sections[i], key, len) == 0)
			return true;
	return false;
}

static struct pf_cnode *find_key(const struct pf_cnode *map, const char *key, size_t len,
				 size_t *at)
{
	for (size_t i = 0; i < map->n; i++) {
		if (map->keys[i]->len == len && memcmp(map->keys[i]->text, key, len) == 0) {
			*at = i;
			return map->items[i];
		}
	}
	return NULL;
}

/*
 * Where the segment starting at key[pos] ends. A component or pipeline id
 * ("pprof/out.v2") may hold dots after its '/': prefer the longest such id
 * already present in the map, else stop at the first dot after the '/'.
 */
static size_t segment_end(const char *key, size_t keylen, size_t pos, bool is_id,
			  const struct pf_cnode *map)
{
	const char *dot = memchr(key + pos, '.', keylen - pos);
	size_t end = dot ? (size_t)(dot - key) : keylen;
	const char *slash = memchr(key + pos, '/', end - pos);
	if (!is_id || !slash || !map || map->kind != PF_CNODE_MAP)
		return end;
	size_t best = end, at;
	for (size_t e = end; e <= keylen; e++) {
		if (e != keylen && key[e] != '.')
			continue;
		if (find_key(map, key + pos, e - pos, &at))
			best = e;
	}
	return best;
}

static int set_error(struct pf_error *err, size_t col0, const char *fmt, const char *what)
{
	return pf_error_set_at(err, SET_FILE, 1, (int)col0 + 1, fmt, what);
}

/* Turns a null node into an empty mapping in place. */
static int make_map(struct pf_cnode *n, const char *assignment, size_t col0, struct pf_error *err)
{
	if (n->kind == PF_CNODE_MAP)
		return 0;
	if (!pf_cnode_is_null(n))
		return set_error(err, col0, "cannot set a key under \"%s\": it is not a mapping",
				 assignment);
	free(n->text);
	n->text = NULL;
	n->len = 0;
	n->plain = false;
	n->kind = PF_CNODE_MAP;
	return 0;
}

int pf_cnode_set(struct pf_cnode **root, const char *assignment, struct pf_error *err)
{
	const char *eq = strchr(assignment, '=');
	if (!eq)
		return set_error(err, 0, "\"%s\" is not key.path=value", assignment);
	size_t keylen = (size_t)(eq - assignment);
	const char *value_text = eq + 1;
	struct pf_cnode *value = NULL;
	int rc = pf_cnode_parse(SET_FILE, value_text, strlen(value_text), 0, (int)keylen + 1,
				&value, err);
	if (rc < 0)
		return rc;

	if (!*root) {
		*root = pf_cnode_new(PF_CNODE_MAP, SET_FILE, 1, 1, NULL, 0);
		if (!*root) {
			rc = -ENOMEM;
			goto out_free_value;
		}
	}
	struct pf_cnode *node = *root;
	size_t pos = 0;
	for (unsigned depth = 0;; depth++) {
		rc = make_map(node, assignment, pos, err);
		if (rc < 0)
			goto out_free_value;
		bool is_id = (depth == 1 &&
			      is_component_section(assignment, strcspn(assignment, ".="))) ||
			     (depth == 2 && strncmp(assignment, "service.pipelines.", 18) == 0);
		size_t end = segment_end(assignment, keylen, pos, is_id, node);
		if (end == pos) {
			rc = set_error(err, pos, "empty key in \"%s\"", assignment);
			goto out_free_value;
		}
		size_t at;
		struct pf_cnode *child = find_key(node, assignment + pos, end - pos, &at);
		if (end == keylen) {
			if (child)
				return pf_cnode_merge(&node->items[at], value, err);
			struct pf_cnode *k =
				pf_cnode_new(PF_CNODE_SCALAR, SET_FILE, 1, (int)pos + 1,
					     assignment + pos, end - pos);
			if (!k || pf_cnode_append(node, k, value) < 0) {
				pf_cnode_free(k);
				rc = -ENOMEM;
				goto out_free_value;
			}
			return 0;
		}
		if (!child) {
			struct pf_cnode *k =
				pf_cnode_new(PF_CNODE_SCALAR, SET_FILE, 1, (int)pos + 1,
					     assignment + pos, end - pos);
			child = pf_cnode_new(PF_CNODE_MAP, SET_FILE, 1, (int)pos + 1, NULL, 0);
			if (!k || !child || pf_cnode_append(node, k, child) < 0) {
				pf_cnode_free(k);
				pf_cnode_free(child);
				rc = -ENOMEM;
				goto out_free_value;
			}
		}
		node = child;
		pos = end + 1;
	}

out_free_value:
	pf_cnode_free(value);
	return rc;
}
