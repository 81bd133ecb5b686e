// SPDX-License-Identifier: Apache-2.0
/* Building, copying and freeing config tree nodes. */
#include "node.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pf_cnode *pf_cnode_new(enum pf_cnode_kind kind, const char *file, int line, int col,
			      const char *text, size_t len)
{
	struct pf_cnode *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->kind = kind;
	n->file = file;
	n->line = line;
	n->col = col;
	if (kind == PF_CNODE_SCALAR && pf_cnode_set_text(n, text ? text : "", text ? len : 0) < 0) {
		free(n);
		return NULL;
	}
	return n;
}

int pf_cnode_set_text(struct pf_cnode *n, const char *text, size_t len)
{
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	free(n->text);
	n->text = copy;
	n->len = len;
	return 0;
}

void pf_cnode_free(struct pf_cnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			pf_cnode_free(n->keys[i]);
		pf_cnode_free(n->items[i]);
	}
	free(n->keys);
	free(n->items);
	free(n->text);
	free(n);
}

int pf_cnode_append(struct pf_cnode *parent, struct pf_cnode *key, struct pf_cnode *value)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		struct pf_cnode **items = calloc(cap, sizeof(*items));
		struct pf_cnode **keys = NULL;
		if (parent->kind == PF_CNODE_MAP)
			keys = calloc(cap, sizeof(*keys));
		if (!items || (parent->kind == PF_CNODE_MAP && !keys)) {
			free(items);
			free(keys);
			return -ENOMEM;
		}
		if (parent->n) {
			memcpy(items, parent->items, parent->n * sizeof(*items));
			if (keys)
				memcpy(keys, parent->keys, parent->n * sizeof(*keys));
		}
		free(parent->items);
		free(parent->keys);
		parent->items = items;
		parent->keys = keys;
		parent->cap = cap;
	}
	if (parent->keys)
		parent->keys[parent->n] = key;
	parent->items[parent->n] = value;
	parent->n++;
	return 0;
}

struct pf_cnode *pf_cnode_clone(const struct pf_cnode *n, size_t *nodes, size_t *bytes)
{
	if (*nodes >= PF_CONFIG_MAX_NODES || n->len > PF_CONFIG_MAX_BYTES - *bytes)
		return NULL;
	(*nodes)++;
	*bytes += n->len;
	struct pf_cnode *c = pf_cnode_new(n->kind, n->file, n->line, n->col, n->text, n->len);
	if (!c)
		return NULL;
	c->plain = n->plain;
	for (size_t i = 0; i < n->n; i++) {
		struct pf_cnode *k = NULL;
		if (n->keys) {
			k = pf_cnode_clone(n->keys[i], nodes, bytes);
			if (!k)
				goto out_free_copy;
		}
		struct pf_cnode *v = pf_cnode_clone(n->items[i], nodes, bytes);
		if (!v || pf_cnode_append(c, k, v) < 0) {
			pf_cnode_free(k);
			pf_cnode_free(v);
			goto out_free_copy;
		}
	}
	return c;

out_free_copy:
	pf_cnode_free(c);
	return NULL;
}

bool pf_cnode_is_null(const struct pf_cnode *n)
{
	if (!n)
		return true;
	if (n->kind != PF_CNODE_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
	       strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

struct pf_cnode *pf_cnode_map_get(const struct pf_cnode *map, const char *key)
{
	if (!map || map->kind != PF_CNODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->text, key) == 0)
			return map->items[i];
	return NULL;
}

const char *pf_cnode_kind_name(const struct pf_cnode *n)
{
	if (pf_cnode_is_null(n))
		return "null";
	switch (n->kind) {
	case PF_CNODE_SCALAR: return "a scalar";
	case PF_CNODE_SEQ: return "a list";
	case PF_CNODE_MAP: return "a mapping";
	}
	return "?";
}

int pf_cnode_error(struct pf_error *err, const struct pf_cnode *n, const char *fmt, ...)
{
	char msg[PF_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pf_error_set_at(err, n->file, n->line, n->col, "%s", msg);
}

const char *pf_cnode_where(const struct pf_cnode *n, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%d:%d", n->file ? n->file : "<input>", n->line, n->col);
	return buf;
}
