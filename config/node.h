/* SPDX-License-Identifier: Apache-2.0 */
/* The config tree: YAML nodes that remember where they were written (private to config/). */
#ifndef PF_CONFIG_NODE_H
#define PF_CONFIG_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "core/option.h"

/* Bounds on hostile input. */
#define PF_CONFIG_MAX_FILE  (16u * 1024 * 1024) /* bytes of one config file or string */
#define PF_CONFIG_MAX_DEPTH 64			/* nesting of sequences and mappings */
#define PF_CONFIG_MAX_NODES 200000		/* nodes in one document, aliases included */
#define PF_CONFIG_MAX_BYTES (64u * 1024 * 1024) /* scalar bytes in one document, aliases included */

enum pf_cnode_kind {
	PF_CNODE_SCALAR,
	PF_CNODE_SEQ,
	PF_CNODE_MAP,
};

/*
 * One node. A null value is a plain scalar reading "", "~" or "null".
 * Maps keep their entries in the order written: keys[i] (always scalars)
 * maps to items[i]. Sequences use items only. Each node owns its children
 * and text; `file` is borrowed from whoever named the input and must outlive
 * the tree.
 */
struct pf_cnode {
	enum pf_cnode_kind kind;
	bool plain;    /* scalar written without quotes or tag: may read as null */
	int line, col; /* 1-based */
	const char *file;
	char *text; /* scalars: NUL-terminated, no embedded NUL */
	size_t len;
	struct pf_cnode **keys; /* maps */
	struct pf_cnode **items;
	size_t n, cap;
};

/* A new node owning a copy of text (scalars) or no children. NULL on ENOMEM. */
struct pf_cnode *pf_cnode_new(enum pf_cnode_kind kind, const char *file, int line, int col,
			      const char *text, size_t len);

/* Frees the node and everything under it. Takes NULL. */
void pf_cnode_free(struct pf_cnode *n);

/* Deep copy; NULL on ENOMEM. *nodes and *bytes count what it adds and the
 * copy fails (NULL) once they would pass the PF_CONFIG_MAX_* bounds. */
struct pf_cnode *pf_cnode_clone(const struct pf_cnode *n, size_t *nodes, size_t *bytes);

/* Appends an entry: key is NULL for sequences. Takes ownership of key and
 * value on success only. Returns 0 or -ENOMEM. */
int pf_cnode_append(struct pf_cnode *parent, struct pf_cnode *key, struct pf_cnode *value);

/* Replaces a scalar's text (copied). Returns 0 or -ENOMEM. */
int pf_cnode_set_text(struct pf_cnode *n, const char *text, size_t len);

/* True for NULL, or a plain scalar "", "~", "null", "Null", "NULL". */
bool pf_cnode_is_null(const struct pf_cnode *n);

/* The value under `key` in a map, or NULL. Linear: for small fixed maps. */
struct pf_cnode *pf_cnode_map_get(const struct pf_cnode *map, const char *key);

/* "a mapping", "a list", "a scalar" or "null", for messages. */
const char *pf_cnode_kind_name(const struct pf_cnode *n);

/* Records an error at n's position (formats like pf_error_set_at). */
int pf_cnode_error(struct pf_error *err, const struct pf_cnode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Formats "file:line:col" of n into buf; returns buf. */
const char *pf_cnode_where(const struct pf_cnode *n, char *buf, size_t size);

/* ---- yaml_tree.c ---- */

/* Parses one YAML document into a tree. Positions are reported in `file`,
 * with line_offset and col_offset added to libyaml's 0-based marks (pass 0
 * and 0 for a file). An empty document yields a null scalar. Returns 0 and
 * *out (owned by the caller), or -EINVAL with err, or -ENOMEM. */
int pf_cnode_parse(const char *file, const char *text, size_t len, int line_offset, int col_offset,
		   struct pf_cnode **out, struct pf_error *err);

/* ---- merge.c ---- */

/* Merges src into *dst and consumes src: maps key by key (recursively),
 * anything else replaced. Returns 0, -EINVAL (err) or -ENOMEM. */
int pf_cnode_merge(struct pf_cnode **dst, struct pf_cnode *src, struct pf_error *err);

/* Applies one `--set key.path=value` override to *root (created when NULL).
 * The value is parsed as YAML; positions are "--set:1:col". */
int pf_cnode_set(struct pf_cnode **root, const char *assignment, struct pf_error *err);

/* ---- env.c ---- */

typedef const char *(*pf_getenv_fn)(const char *name, void *arg);

/* Expands ${env:NAME}, ${NAME}, ${env:NAME:-default} and $$ in every scalar
 * value (not keys) under n. A scalar that is exactly one ${...} becomes a
 * plain scalar (typed as YAML); otherwise it is a string. */
int pf_cnode_expand_env(struct pf_cnode *n, pf_getenv_fn get, void *arg, struct pf_error *err);

/* ---- options.c ---- */

/* Sets every default of `table` into the zeroed struct `config`. Returns 0
 * or -EINVAL/-ENOMEM (a bad default is a bug in the table). */
int pf_coptions_defaults(const struct pf_option *table, void *config, struct pf_error *err);

/*
 * Applies the mapping `map` (NULL or null: nothing given) to `config`, which
 * already holds the defaults. `pos` is where to report a missing required
 * key when the mapping itself is absent; `what` names the owner in messages
 * ("exporter \"pprof\""). Unknown keys, wrong types and bounds fail at the
 * offending node.
 */
int pf_coptions_apply(const struct pf_option *table, const struct pf_cnode *map,
		      const struct pf_cnode *pos, const char *what, void *config,
		      struct pf_error *err);

/* Frees every value `table` describes inside config (strings, lists, maps,
 * sections) and zeroes those fields. */
void pf_coptions_free(const struct pf_option *table, void *config);

#endif
