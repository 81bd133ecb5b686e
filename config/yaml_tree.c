// SPDX-License-Identifier: Apache-2.0
/* libyaml events to a pf_cnode tree with positions, anchors, merge keys and bounds. */
#include "node.h"
#include "strindex.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct anchor {
	char *name;
	struct pf_cnode *node; /* borrowed from the tree being built */
};

struct builder {
	yaml_parser_t parser;
	const char *file;
	size_t one_line_len; /* input without newline (a --set value): its length + 1, else 0 */
	int line_offset, col_offset;
	size_t nodes, bytes;
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
	struct pf_strindex anchor_index; /* name -> index in anchors */
	struct pf_cnode *graveyard;	 /* merged-away values anchors may still name */
	struct pf_error *err;
};

static int mark_line(const struct builder *b, yaml_mark_t m)
{
	if (b->one_line_len)
		return b->line_offset + 1;
	return b->line_offset + (int)m.line + 1;
}

/* On one-line input a mark past the end means "at the end of the value". */
static int mark_col(const struct builder *b, yaml_mark_t m)
{
	if (b->one_line_len && m.line > 0)
		return b->col_offset + (int)b->one_line_len;
	return b->col_offset + (int)m.column + 1;
}

static int syntax_error(struct builder *b)
{
	yaml_parser_t *p = &b->parser;
	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	const char *problem = p->problem ? p->problem : "invalid YAML";
	if (p->error == YAML_READER_ERROR)
		return pf_error_set_at(b->err, b->file, b->line_offset + 1, b->col_offset + 1,
				       "YAML: %s at byte offset %zu", problem, p->problem_offset);
	if (p->context)
		return pf_error_set_at(b->err, b->file, mark_line(b, p->problem_mark),
				       mark_col(b, p->problem_mark), "YAML: %s %s", problem,
				       p->context);
	return pf_error_set_at(b->err, b->file, mark_line(b, p->problem_mark),
			       mark_col(b, p->problem_mark), "YAML: %s", problem);
}

static int next_event(struct builder *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->parser, ev))
		return syntax_error(b);
	return 0;
}

static int error_at_mark(struct builder *b, yaml_mark_t m, const char *msg)
{
	return pf_error_set_at(b->err, b->file, mark_line(b, m), mark_col(b, m), "%s", msg);
}

static int count_node(struct builder *b, yaml_mark_t m, size_t len)
{
	if (b->nodes >= PF_CONFIG_MAX_NODES)
		return error_at_mark(b, m, "YAML: document has too many nodes");
	if (len > PF_CONFIG_MAX_BYTES - b->bytes)
		return error_at_mark(b, m, "YAML: document is too large");
	b->nodes++;
	b->bytes += len;
	return 0;
}

static int add_anchor(struct builder *b, const yaml_char_t *name, struct pf_cnode *node)
{
	if (!name)
		return 0;
	if (b->n_anchors == b->cap_anchors) {
		size_t cap = b->cap_anchors ? b->cap_anchors * 2 : 8;
		struct anchor *a = calloc(cap, sizeof(*a));
		if (!a)
			return -ENOMEM;
		if (b->n_anchors)
			memcpy(a, b->anchors, b->n_anchors * sizeof(*a));
		free(b->anchors);
		b->anchors = a;
		b->cap_anchors = cap;
		/* The index borrows names, which stay put: only the array moved. */
	}
	char *copy = strdup((const char *)name);
	if (!copy)
		return -ENOMEM;
	b->anchors[b->n_anchors].name = copy;
	b->anchors[b->n_anchors].node = node;
	if (pf_strindex_put(&b->anchor_index, copy, b->n_anchors, NULL) < 0) {
		free(copy);
		return -ENOMEM;
	}
	b->n_anchors++;
	return 0;
}

static int build_node(struct builder *b, yaml_event_t *ev, int depth, struct pf_cnode **out);

static int build_scalar(struct builder *b, yaml_event_t *ev, struct pf_cnode **out)
{
	const char *text = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	if (memchr(text, '\0', len))
		return error_at_mark(b, ev->start_mark, "YAML: NUL characters are not allowed");
	int rc = count_node(b, ev->start_mark, len);
	if (rc < 0)
		return rc;
	struct pf_cnode *n = pf_cnode_new(PF_CNODE_SCALAR, b->file, mark_line(b, ev->start_mark),
					  mark_col(b, ev->start_mark), text, len);
	if (!n)
		return -ENOMEM;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
	*out = n;
	return 0;
}

static int build_alias(struct builder *b, yaml_event_t *ev, struct pf_cnode **out)
{
	size_t i;
	if (!pf_strindex_get(&b->anchor_index, (const char *)ev->data.alias.anchor, &i))
		return error_at_mark(b, ev->start_mark, "YAML: alias to an unknown anchor");
	struct pf_cnode *n = pf_cnode_clone(b->anchors[i].node, &b->nodes, &b->bytes);
	if (!n)
		return error_at_mark(b, ev->start_mark,
				     "YAML: document is too large once aliases are expanded");
	*out = n;
	return 0;
}

static int build_seq(struct builder *b, yaml_event_t *start, int depth, struct pf_cnode **out)
{
	yaml_event_t ev;
	int rc = count_node(b, start->start_mark, 0);
	if (rc < 0)
		return rc;
	struct pf_cnode *seq = pf_cnode_new(PF_CNODE_SEQ, b->file, mark_line(b, start->start_mark),
					    mark_col(b, start->start_mark), NULL, 0);
	if (!seq)
		return -ENOMEM;
	for (;;) {
		rc = next_event(b, &ev);
		if (rc < 0)
			goto out_free_seq;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		struct pf_cnode *item = NULL;
		rc = build_node(b, &ev, depth + 1, &item);
		yaml_event_delete(&ev);
		if (rc < 0)
			goto out_free_seq;
		rc = pf_cnode_append(seq, NULL, item);
		if (rc < 0) {
			pf_cnode_free(item);
			goto out_free_seq;
		}
	}
	*out = seq;
	return 0;

out_free_seq:
	pf_cnode_free(seq);
	return rc;
}

static bool is_merge_key(const struct pf_cnode *k)
{
	return k->plain && strcmp(k->text, "<<") == 0;
}

/* Adds the entries of src (a mapping) that `have` lacks, copying them. */
static int merge_from(struct builder *b, struct pf_cnode *map, struct pf_strindex *have,
		      const struct pf_cnode *src)
{
	if (src->kind != PF_CNODE_MAP)
		return pf_cnode_error(
			b->err, src,
			"YAML: a merge key (<<) needs a mapping or a list of mappings");
	for (size_t i = 0; i < src->n; i++) {
		if (pf_strindex_get(have, src->keys[i]->text, NULL))
			continue;
		struct pf_cnode *k = pf_cnode_clone(src->keys[i], &b->nodes, &b->bytes);
		struct pf_cnode *v = k ? pf_cnode_clone(src->items[i], &b->nodes, &b->bytes) : NULL;
		if (!v || pf_cnode_append(map, k, v) < 0) {
			pf_cnode_free(k);
			pf_cnode_free(v);
			return pf_cnode_error(
				b->err, src,
				"YAML: document is too large once merge keys are expanded");
		}
		if (pf_strindex_put(have, k->text, map->n - 1, NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Rejects duplicate keys, then resolves `<<` merge keys: explicit keys win,
 * then earlier merged mappings over later ones. */
static int finish_map(struct builder *b, struct pf_cnode *map)
{
	struct pf_strindex have;
	pf_strindex_init(&have);
	int rc = 0;
	size_t n_merges = 0;
	for (size_t i = 0; i < map->n; i++) {
		if (is_merge_key(map->keys[i])) {
			n_merges++;
			continue;
		}
		rc = pf_strindex_put(&have, map->keys[i]->text, i, NULL);
		if (rc < 0)
			goto out_fini;
		if (rc == 1) {
			rc = pf_cnode_error(b->err, map->keys[i], "YAML: duplicate key \"%s\"",
					    map->keys[i]->text);
			goto out_fini;
		}
	}
	rc = 0;
	if (n_merges == 0)
		goto out_fini;

	/* Pull the merge entries out, keeping the explicit ones in order. */
	struct pf_cnode *merges = pf_cnode_new(PF_CNODE_SEQ, b->file, map->line, map->col, NULL, 0);
	if (!merges) {
		rc = -ENOMEM;
		goto out_fini;
	}
	size_t kept = 0;
	for (size_t i = 0; i < map->n; i++) {
		if (is_merge_key(map->keys[i])) {
			pf_cnode_free(map->keys[i]);
			if (pf_cnode_append(merges, NULL, map->items[i]) < 0) {
				pf_cnode_free(map->items[i]);
				rc = -ENOMEM;
			}
			continue;
		}
		map->keys[kept] = map->keys[i];
		map->items[kept] = map->items[i];
		pf_strindex_put(&have, map->keys[kept]->text, kept, NULL);
		kept++;
	}
	map->n = kept;
	for (size_t m = 0; rc == 0 && m < merges->n; m++) {
		const struct pf_cnode *src = merges->items[m];
		if (src->kind == PF_CNODE_SEQ) {
			for (size_t j = 0; rc == 0 && j < src->n; j++)
				rc = merge_from(b, map, &have, src->items[j]);
		} else {
			rc = merge_from(b, map, &have, src);
		}
	}
	/* Anchors may point into the merge values: free them with the builder. */
	if (pf_cnode_append(b->graveyard, NULL, merges) < 0) {
		pf_cnode_free(merges);
		rc = -ENOMEM;
	}

out_fini:
	pf_strindex_fini(&have);
	return rc;
}

static int build_map(struct builder *b, yaml_event_t *start, int depth, struct pf_cnode **out)
{
	yaml_event_t ev;
	int rc = count_node(b, start->start_mark, 0);
	if (rc < 0)
		return rc;
	struct pf_cnode *map = pf_cnode_new(PF_CNODE_MAP, b->file, mark_line(b, start->start_mark),
					    mark_col(b, start->start_mark), NULL, 0);
	if (!map)
		return -ENOMEM;
	for (;;) {
		rc = next_event(b, &ev);
		if (rc < 0)
			goto out_free_map;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		struct pf_cnode *key = NULL, *value = NULL;
		rc = build_node(b, &ev, depth + 1, &key);
		yaml_event_delete(&ev);
		if (rc < 0)
			goto out_free_map;
		if (key->kind != PF_CNODE_SCALAR) {
			rc = pf_cnode_error(b->err, key, "YAML: mapping keys must be scalars");
			pf_cnode_free(key);
			goto out_free_map;
		}
		rc = next_event(b, &ev);
		if (rc == 0) {
			rc = build_node(b, &ev, depth + 1, &value);
			yaml_event_delete(&ev);
		}
		if (rc == 0)
			rc = pf_cnode_append(map, key, value);
		if (rc < 0) {
			pf_cnode_free(key);
			pf_cnode_free(value);
			goto out_free_map;
		}
	}
	rc = finish_map(b, map);
	if (rc < 0)
		goto out_free_map;
	*out = map;
	return 0;

out_free_map:
	pf_cnode_free(map);
	return rc;
}

/* Builds the node that starts with *ev (which the caller deletes). */
static int build_node(struct builder *b, yaml_event_t *ev, int depth, struct pf_cnode **out)
{
	int rc;
	const yaml_char_t *anchor = NULL;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		rc = build_scalar(b, ev, out);
		anchor = ev->data.scalar.anchor;
		break;
	case YAML_ALIAS_EVENT: return build_alias(b, ev, out);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (depth >= PF_CONFIG_MAX_DEPTH)
			return error_at_mark(b, ev->start_mark, "YAML: nesting is too deep");
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			rc = build_seq(b, ev, depth, out);
			anchor = ev->data.sequence_start.anchor;
		} else {
			rc = build_map(b, ev, depth, out);
			anchor = ev->data.mapping_start.anchor;
		}
		break;
	default: return error_at_mark(b, ev->start_mark, "YAML: unexpected event");
	}
	if (rc < 0)
		return rc;
	rc = add_anchor(b, anchor, *out);
	if (rc < 0) {
		pf_cnode_free(*out);
		*out = NULL;
	}
	return rc;
}

/* Reads events until one of type `want`; anything else is a bug in libyaml. */
static int expect(struct builder *b, yaml_event_type_t want)
{
	yaml_event_t ev;
	int rc = next_event(b, &ev);
	if (rc < 0)
		return rc;
	if (ev.type != want)
		rc = error_at_mark(b, ev.start_mark, "YAML: unexpected event");
	yaml_event_delete(&ev);
	return rc;
}

static int parse_document(struct builder *b, struct pf_cnode **out)
{
	yaml_event_t ev;
	int rc = expect(b, YAML_STREAM_START_EVENT);
	if (rc < 0)
		return rc;
	rc = next_event(b, &ev);
	if (rc < 0)
		return rc;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		*out = pf_cnode_new(PF_CNODE_SCALAR, b->file, b->line_offset + 1, b->col_offset + 1,
				    "", 0);
		if (!*out)
			return -ENOMEM;
		(*out)->plain = true;
		return 0;
	}
	if (ev.type != YAML_DOCUMENT_START_EVENT) {
		rc = error_at_mark(b, ev.start_mark, "YAML: unexpected event");
		yaml_event_delete(&ev);
		return rc;
	}
	yaml_event_delete(&ev);
	rc = next_event(b, &ev);
	if (rc < 0)
		return rc;
	struct pf_cnode *root = NULL;
	rc = build_node(b, &ev, 0, &root);
	yaml_event_delete(&ev);
	if (rc < 0)
		return rc;
	rc = expect(b, YAML_DOCUMENT_END_EVENT);
	if (rc < 0)
		goto out_free_root;
	rc = next_event(b, &ev);
	if (rc < 0)
		goto out_free_root;
	if (ev.type != YAML_STREAM_END_EVENT)
		rc = error_at_mark(b, ev.start_mark,
				   "YAML: only one document per config file is supported");
	yaml_event_delete(&ev);
	if (rc < 0)
		goto out_free_root;
	*out = root;
	return 0;

out_free_root:
	pf_cnode_free(root);
	return rc;
}

int pf_cnode_parse(const char *file, const char *text, size_t len, int line_offset, int col_offset,
		   struct pf_cnode **out, struct pf_error *err)
{
	*out = NULL;
	if (len > PF_CONFIG_MAX_FILE)
		return pf_error_set_at(err, file, line_offset + 1, col_offset + 1,
				       "config is larger than %u bytes", PF_CONFIG_MAX_FILE);
	struct builder b = {
		.file = file,
		.line_offset = line_offset,
		.col_offset = col_offset,
		.err = err,
		.one_line_len = memchr(text, '\n', len) || memchr(text, '\r', len) ? 0 : len + 1,
	};
	pf_strindex_init(&b.anchor_index);
	b.graveyard = pf_cnode_new(PF_CNODE_SEQ, file, 0, 0, NULL, 0);
	if (!b.graveyard)
		return -ENOMEM;
	if (!yaml_parser_initialize(&b.parser)) {
		pf_cnode_free(b.graveyard);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
	int rc = parse_document(&b, out);
	yaml_parser_delete(&b.parser);
	pf_strindex_fini(&b.anchor_index);
	for (size_t i = 0; i < b.n_anchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	pf_cnode_free(b.graveyard);
	return rc;
}
