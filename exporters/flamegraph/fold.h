/* SPDX-License-Identifier: Apache-2.0 */
/* Folding profiles into a flame graph tree and the folded-stack text format. */
#ifndef PF_FLAMEGRAPH_FOLD_H
#define PF_FLAMEGRAPH_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/batch.h"
#include "model/intern.h"

/*
 * A flame graph is a tree of frames: node 0 is the root ("all"), each other
 * node one frame under its caller. Frames are named as follows:
 *
 *  - A symbolized location gives one frame per line, outermost caller first:
 *    the function's name (its system name when the name is empty). Inlined
 *    functions are frames of their own, with `inlined` set; their name is
 *    the function name alone, so the folded text reads like any other tool's
 *    and a search for a function finds it inlined or not.
 *  - An unsymbolized location is "<mapping file basename>+0x<file offset>"
 *    (offset = address - memory_start + file_offset), "0x<address>" without
 *    a mapping file, "[unknown]" without an address either.
 *  - ';' in a name becomes ':' and control characters become ' ', so the
 *    folded text stays parseable.
 *  - With group_by process, every stack starts with "<executable> (<pid>)"
 *    (process.executable.name, else service.name, else "unknown"); with
 *    group_by service with the service.name (else "unknown_service:<exe>", as
 *    OpenTelemetry SDKs name it, or "unknown_service").
 *
 * Children are keyed by name: two frames of one caller with the same name are
 * one node (its kind and inlined flag are those of the first one seen).
 * A sample's weight is pf_batch_sample_total(); samples weighing <= 0 are
 * left out (a flame graph cannot draw them).
 */

enum pf_flame_group {
	PF_FLAME_GROUP_PROCESS,
	PF_FLAME_GROUP_SERVICE,
	PF_FLAME_GROUP_NONE,
};

/* What colours a frame. */
enum pf_flame_kind {
	PF_FLAME_ROOT,
	PF_FLAME_GROUP, /* a process or service frame */
	PF_FLAME_NATIVE,
	PF_FLAME_KERNEL,
	PF_FLAME_JIT,
	PF_FLAME_INTERPRETED, /* jvm, v8js, cpython, ruby, php, ... */
};

#define PF_FLAME_NONE UINT32_MAX

/* Frames below this depth (root 0) are cut: their weight stays with the
 * deepest frame kept. No real stack is this deep; hostile ones may be. */
#define PF_FLAME_DEPTH_MAX 4096

struct pf_flame_node {
	uint32_t name;	  /* offset of the NUL-terminated name in `names` */
	uint32_t parent;  /* PF_FLAME_NONE for the root */
	uint32_t child;	  /* first child by name, after pf_flame_sort(); PF_FLAME_NONE */
	uint32_t sibling; /* next child of the parent by name; PF_FLAME_NONE */
	uint8_t kind;	  /* enum pf_flame_kind */
	bool inlined;
	uint16_t depth; /* root 0, at most PF_FLAME_DEPTH_MAX */
	int64_t total;	/* own value plus the children's */
	int64_t self;
};

/* Owns its nodes and names. A parent's index is always below its children's. */
struct pf_flame {
	struct pf_flame_node *nodes;
	size_t n_nodes, cap_nodes;
	char *names;
	size_t names_len, names_cap;
	struct pf_intern name_index;  /* name offsets by content */
	struct pf_intern child_index; /* nodes by (parent, name) */
	uint64_t seed;
	bool has_type; /* type and unit chosen */
	char type[64]; /* the sample type folded */
	char unit[64];
	size_t n_samples; /* samples folded */
};

/* Makes `f` an empty graph (only the root). Returns 0 or -ENOMEM. */
int pf_flame_init(struct pf_flame *f);

/* Frees what `f` holds; takes a zeroed or half-built graph. */
void pf_flame_free(struct pf_flame *f);

/*
 * Picks the sample type to draw from `b` into f->type and f->unit, unless f
 * already has one (a cumulative graph keeps its first): `want` is "type" or
 * "type/unit" (e.g. "cpu", "alloc_space/bytes"); NULL or "" picks the "cpu"
 * profile if there is one, else the first profile. Returns 0, or -ENOENT when
 * no profile of `b` has the wanted type (f is unchanged then).
 */
int pf_flame_pick_type(struct pf_flame *f, const struct pf_batch *b, const char *want);

/*
 * Adds every sample of the profiles of b with f's sample type to f (call
 * pf_flame_pick_type() first). Returns the number of samples added, or
 * -ENOMEM / -E2BIG (f stays valid, holding part of b). Leaves f unsorted.
 */
int pf_flame_fold(struct pf_flame *f, const struct pf_batch *b, enum pf_flame_group group);

/* Adds every frame of src to dst (same sample type). Returns 0 or -ENOMEM /
 * -E2BIG (dst stays valid). Leaves dst unsorted. */
int pf_flame_merge(struct pf_flame *dst, const struct pf_flame *src);

/* Keeps the root and the frames whose total is at least min_total; the
 * weight of each frame left out goes to the self value of its nearest caller
 * kept, so every total stays right. Bounds a graph that keeps growing (the
 * cumulative one). Returns 0 or -ENOMEM (f unchanged). Leaves f unsorted. */
int pf_flame_prune(struct pf_flame *f, int64_t min_total);

/* Links every node's children in name order (byte order). Returns 0 or -ENOMEM. */
int pf_flame_sort(struct pf_flame *f);

/* The name of node i. */
static inline const char *pf_flame_name(const struct pf_flame *f, uint32_t i)
{
	return f->names + f->nodes[i].name;
}

/* The folded-stack text of a sorted graph, "root;...;leaf self\n" per node
 * with a self value, in depth-first name order, as flamegraph.pl, inferno
 * and speedscope read it. Returns 0 and a malloc'd *text (NUL-terminated,
 * *len bytes without the NUL; the caller frees it), or -ENOMEM. */
int pf_flame_folded(const struct pf_flame *f, char **text, size_t *len);

#endif
