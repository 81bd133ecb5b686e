// SPDX-License-Identifier: Apache-2.0
/* Folds the samples of a batch into a flame graph tree, and writes the folded-stack text. */
#include "fold.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <xxhash.h>

#include "model/semconv.h"

#define NAME_MAX_LEN 4096 /* longer names are cut: nobody reads them in a flame graph */
#define DEPTH_MAX    PF_FLAME_DEPTH_MAX

/* ---- names ---- */

static bool name_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_flame *f = ctx;

	return strcmp(f->names + idx, key) == 0;
}

/* Interns `name` (already clean); returns its offset or PF_FLAME_NONE. */
static uint32_t intern_name(struct pf_flame *f, const char *name)
{
	size_t len = strlen(name), pos;
	uint32_t h = pf_intern_hash32(XXH3_64bits_withSeed(name, len, f->seed));
	uint32_t off;

	if (pf_intern_reserve(&f->name_index, 1) < 0)
		return PF_FLAME_NONE;
	off = pf_intern_find(&f->name_index, h, name_eq, f, name, &pos);
	if (off != PF_INTERN_EMPTY)
		return off;
	if (f->names_len + len + 1 >= UINT32_MAX)
		return PF_FLAME_NONE;
	if (f->names_len + len + 1 > f->names_cap) {
		size_t cap = f->names_cap * 2 > f->names_len + len + 1 ? f->names_cap * 2
								       : f->names_len + len + 1;
		char *p = realloc(f->names, cap);

		if (!p)
			return PF_FLAME_NONE;
		f->names = p;
		f->names_cap = cap;
	}
	off = (uint32_t)f->names_len;
	memcpy(f->names + off, name, len + 1);
	f->names_len += len + 1;
	pf_intern_put(&f->name_index, pos, h, off);
	return off;
}

/* Copies a name into buf, cut to NAME_MAX_LEN bytes, with ';' -> ':' and
 * control characters -> ' '. */
static const char *clean_name(const char *in, size_t len, char *buf, size_t size)
{
	size_t n = len < size - 1 ? len : size - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		buf[i] = ch == ';' ? ':' : (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	buf[n] = '\0';
	return buf;
}

/* ---- nodes ---- */

struct child_key {
	uint32_t parent;
	uint32_t name;
};

static uint32_t child_hash(const struct pf_flame *f, uint32_t parent, uint32_t name)
{
	struct child_key k = {parent, name};

	return pf_intern_hash32(XXH3_64bits_withSeed(&k, sizeof(k), f->seed));
}

static bool child_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pf_flame *f = ctx;
	const struct child_key *k = key;

	return f->nodes[idx].parent == k->parent && f->nodes[idx].name == k->name;
}

/* The child of `parent` named `name`, created with kind/inlined when new;
 * PF_FLAME_NONE when out of memory or room. */
static uint32_t child_of(struct pf_flame *f, uint32_t parent, uint32_t name, uint8_t kind,
			 bool inlined)
{
	struct child_key k = {parent, name};
	uint32_t h = child_hash(f, parent, name), i;
	struct pf_flame_node *n;
	size_t pos;

	if (pf_intern_reserve(&f->child_index, 1) < 0)
		return PF_FLAME_NONE;
	i = pf_intern_find(&f->child_index, h, child_eq, f, &k, &pos);
	if (i != PF_INTERN_EMPTY)
		return i;
	if (f->n_nodes >= PF_FLAME_NONE - 1)
		return PF_FLAME_NONE;
	if (f->n_nodes == f->cap_nodes) {
		size_t cap = f->cap_nodes * 2;
		struct pf_flame_node *v = reallocarray(f->nodes, cap, sizeof(*v));

		if (!v)
			return PF_FLAME_NONE;
		f->nodes = v;
		f->cap_nodes = cap;
	}
	i = (uint32_t)f->n_nodes++;
	n = &f->nodes[i];
	memset(n, 0, sizeof(*n));
	n->name = name;
	n->parent = parent;
	n->child = n->sibling = PF_FLAME_NONE;
	n->kind = kind;
	n->inlined = inlined;
	n->depth = f->nodes[parent].depth + 1;
	pf_intern_put(&f->child_index, pos, h, i);
	return i;
}

int pf_flame_init(struct pf_flame *f)
{
	memset(f, 0, sizeof(*f));
	if (getrandom(&f->seed, sizeof(f->seed), GRND_NONBLOCK) != sizeof(f->seed))
		f->seed = (uint64_t)(uintptr_t)f ^ 0x9e3779b97f4a7c15ULL;
	f->cap_nodes = 64;
	f->nodes = calloc(f->cap_nodes, sizeof(*f->nodes));
	if (!f->nodes)
		goto out_free;
	if (pf_intern_init(&f->name_index, 64) < 0 || pf_intern_init(&f->child_index, 64) < 0)
		goto out_free;
	if (intern_name(f, "all") == PF_FLAME_NONE)
		goto out_free;
	f->n_nodes = 1;
	f->nodes[0] = (struct pf_flame_node){.name = 0,
					     .parent = PF_FLAME_NONE,
					     .child = PF_FLAME_NONE,
					     .sibling = PF_FLAME_NONE,
					     .kind = PF_FLAME_ROOT};
	return 0;

out_free:
	pf_flame_free(f);
	return -ENOMEM;
}

void pf_flame_free(struct pf_flame *f)
{
	pf_intern_free(&f->child_index);
	pf_intern_free(&f->name_index);
	free(f->names);
	free(f->nodes);
	memset(f, 0, sizeof(*f));
}

/* ---- the sample type ---- */

static bool type_matches(const struct pf_batch *b, const struct pf_profile_desc *d,
			 const char *type, size_t type_len, const char *unit)
{
	const char *t = pf_batch_str(b, d->sample_type.type);

	return strlen(t) == type_len && memcmp(t, type, type_len) == 0 &&
	       (!unit || strcmp(pf_batch_str(b, d->sample_type.unit), unit) == 0);
}

int pf_flame_pick_type(struct pf_flame *f, const struct pf_batch *b, const char *want)
{
	size_t np = pf_batch_n_profiles(b), type_len;
	const struct pf_profile_desc *pick = NULL;
	const char *type, *unit = NULL;
	bool fallback = false;

	if (f->has_type) {
		type = f->type;
		unit = f->unit;
		type_len = strlen(type);
	} else if (want && want[0]) {
		const char *slash = strchr(want, '/');

		type = want;
		type_len = slash ? (size_t)(slash - want) : strlen(want);
		unit = slash ? slash + 1 : NULL;
	} else {
		type = "cpu";
		type_len = 3;
		fallback = true;
	}
	for (uint32_t p = 0; p < np && !pick; p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, p);

		if (type_matches(b, d, type, type_len, unit))
			pick = d;
	}
	if (!pick && fallback && np > 0)
		pick = pf_batch_profile_get(b, 0);
	if (!pick)
		return -ENOENT;
	if (!f->has_type) {
		snprintf(f->type, sizeof(f->type), "%s", pf_batch_str(b, pick->sample_type.type));
		snprintf(f->unit, sizeof(f->unit), "%s", pf_batch_str(b, pick->sample_type.unit));
		f->has_type = true;
	}
	return 0;
}

/* ---- folding ---- */

/* One frame of a location, as cached per location. */
struct frame {
	uint32_t name;
	uint8_t kind;
	bool inlined;
};

struct fold_ctx {
	struct pf_flame *f;
	const struct pf_batch *b;
	enum pf_flame_group group;
	/* per location: its frames, outermost first, at frames[loc_off[l]..+loc_len[l]) */
	uint32_t *loc_off;
	uint32_t *loc_len; /* UINT32_MAX: not computed yet */
	struct frame *frames;
	size_t n_frames, cap_frames;
	uint32_t *res_group; /* per resource: group frame name, PF_FLAME_NONE: not yet */
	char buf[NAME_MAX_LEN + 1];
};

static uint8_t kind_of(const struct pf_batch *b, const struct pf_location *loc)
{
	const struct pf_value *v = pf_batch_attr_lookup(b, loc->attrs, PF_ATTR_FRAME_TYPE);

	if (v && v->kind == PF_VALUE_STRING && pf_batch_str_len(b, v->u.str) > 0) {
		const char *t = pf_batch_str(b, v->u.str);

		if (strcmp(t, PF_FRAME_KERNEL) == 0)
			return PF_FLAME_KERNEL;
		if (strcmp(t, PF_FRAME_NATIVE) == 0 || strcmp(t, "go") == 0)
			return PF_FLAME_NATIVE;
		if (strcmp(t, PF_FRAME_JIT) == 0 || strcmp(t, "phpjit") == 0)
			return PF_FLAME_JIT;
		return PF_FLAME_INTERPRETED;
	}
	if (loc->mapping) {
		const struct pf_mapping *m = pf_batch_mapping_get(b, loc->mapping);

		if (strcmp(pf_batch_str(b, m->filename), PF_KERNEL_MAPPING) == 0)
			return PF_FLAME_KERNEL;
	}
	return PF_FLAME_NATIVE;
}

/* The name of an unsymbolized location, into ctx->buf. */
static const char *address_name(struct fold_ctx *ctx, const struct pf_location *loc)
{
	const struct pf_batch *b = ctx->b;
	const char *file = NULL, *slash;
	uint64_t off = loc->address;
	char tmp[NAME_MAX_LEN + 1];

	if (loc->mapping) {
		const struct pf_mapping *m = pf_batch_mapping_get(b, loc->mapping);

		file = pf_batch_str(b, m->filename);
		if (loc->address >= m->memory_start)
			off = loc->address - m->memory_start + m->file_offset;
	}
	if (file && file[0]) {
		slash = strrchr(file, '/');
		if (slash && slash[1])
			file = slash + 1;
		snprintf(tmp, sizeof(tmp), "%s+0x%" PRIx64, file, off);
	} else if (loc->address) {
		snprintf(tmp, sizeof(tmp), "0x%" PRIx64, loc->address);
	} else {
		snprintf(tmp, sizeof(tmp), "[unknown]");
	}
	return clean_name(tmp, strlen(tmp), ctx->buf, sizeof(ctx->buf));
}

static int push_frame(struct fold_ctx *ctx, const char *name, uint8_t kind, bool inlined)
{
	uint32_t off = intern_name(ctx->f, name);

	if (off == PF_FLAME_NONE)
		return -ENOMEM;
	if (ctx->n_frames == ctx->cap_frames) {
		size_t cap = ctx->cap_frames ? ctx->cap_frames * 2 : 256;
		struct frame *v = reallocarray(ctx->frames, cap, sizeof(*v));

		if (!v || cap >= UINT32_MAX)
			return -ENOMEM;
		ctx->frames = v;
		ctx->cap_frames = cap;
	}
	ctx->frames[ctx->n_frames++] = (struct frame){off, kind, inlined};
	return 0;
}

/* Computes the frames of location l once. */
static int location_frames(struct fold_ctx *ctx, uint32_t l)
{
	const struct pf_batch *b = ctx->b;
	const struct pf_location *loc = pf_batch_location_get(b, l);
	uint8_t kind = kind_of(b, loc);
	size_t n_lines = 0, start = ctx->n_frames;
	const struct pf_line *lines = pf_batch_location_lines(b, l, &n_lines);
	int err;

	/* lines[0] is the leaf-most inlined function, the last one the caller. */
	for (size_t j = n_lines; j-- > 0;) {
		const struct pf_function *fn = NULL;
		uint32_t s = 0;

		if (lines[j].function && lines[j].function < pf_batch_n_functions(b))
			fn = pf_batch_function_get(b, lines[j].function);
		if (fn)
			s = fn->name && pf_batch_str_len(b, fn->name) ? fn->name : fn->system_name;
		if (s && pf_batch_str_len(b, s)) {
			const char *name = clean_name(pf_batch_str(b, s), pf_batch_str_len(b, s),
						      ctx->buf, sizeof(ctx->buf));

			err = push_frame(ctx, name, kind, j + 1 < n_lines);
		} else {
			err = push_frame(ctx, address_name(ctx, loc), kind, j + 1 < n_lines);
		}
		if (err)
			return err;
	}
	if (ctx->n_frames == start) {
		err = push_frame(ctx, address_name(ctx, loc), kind, false);
		if (err)
			return err;
	}
	ctx->loc_off[l] = (uint32_t)start;
	ctx->loc_len[l] = (uint32_t)(ctx->n_frames - start);
	return 0;
}

/* The group frame of a resource (PF_FLAME_NONE on ENOMEM). */
static uint32_t group_name(struct fold_ctx *ctx, uint32_t resource)
{
	const struct pf_batch *b = ctx->b;
	uint32_t set = pf_batch_resource_get(b, resource)->attrs;
	char pidbuf[32], name[NAME_MAX_LEN + 1];
	const char *exe, *svc, *pid;

	if (ctx->res_group[resource] != PF_FLAME_NONE)
		return ctx->res_group[resource];
	exe = pf_batch_attr_text(b, set, PF_ATTR_PROCESS_EXECUTABLE_NAME, pidbuf, sizeof(pidbuf));
	svc = pf_batch_attr_text(b, set, PF_ATTR_SERVICE_NAME, pidbuf, sizeof(pidbuf));
	if (ctx->group == PF_FLAME_GROUP_PROCESS) {
		const char *who = exe ? exe : svc ? svc : "unknown";
		size_t n = strlen(who);

		if (n > NAME_MAX_LEN - 32)
			n = NAME_MAX_LEN - 32;
		pid = pf_batch_attr_text(b, set, PF_ATTR_PROCESS_PID, pidbuf, sizeof(pidbuf));
		if (pid)
			snprintf(name, sizeof(name), "%.*s (%.20s)", (int)n, who, pid);
		else
			snprintf(name, sizeof(name), "%.*s", (int)n, who);
	} else if (svc) {
		snprintf(name, sizeof(name), "%s", svc);
	} else if (exe) {
		snprintf(name, sizeof(name), "unknown_service:%s", exe);
	} else {
		snprintf(name, sizeof(name), "unknown_service");
	}
	clean_name(name, strlen(name), ctx->buf, sizeof(ctx->buf));
	ctx->res_group[resource] = intern_name(ctx->f, ctx->buf);
	return ctx->res_group[resource];
}

/* Adds one sample of weight v (> 0) under resource r along its stack. */
static int fold_sample(struct fold_ctx *ctx, uint32_t r, uint32_t stack, int64_t v)
{
	struct pf_flame *f = ctx->f;
	const struct pf_batch *b = ctx->b;
	size_t n_locs = 0, n_locations = pf_batch_n_locations(b);
	const uint32_t *locs = NULL;
	uint32_t node = 0;
	int err;

	if (stack && stack < pf_batch_n_stacks(b))
		locs = pf_batch_stack_get(b, stack, &n_locs);
	f->nodes[0].total = __builtin_add_overflow(f->nodes[0].total, v, &f->nodes[0].total)
				    ? INT64_MAX
				    : f->nodes[0].total;
	if (ctx->group != PF_FLAME_GROUP_NONE) {
		uint32_t name = group_name(ctx, r);

		if (name == PF_FLAME_NONE)
			return -ENOMEM;
		node = child_of(f, node, name, PF_FLAME_GROUP, false);
		if (node == PF_FLAME_NONE)
			return -ENOMEM;
		f->nodes[node].total =
			__builtin_add_overflow(f->nodes[node].total, v, &f->nodes[node].total)
				? INT64_MAX
				: f->nodes[node].total;
	}
	/* Stacks are leaf first: walk them from the end. */
	for (size_t k = n_locs; k-- > 0;) {
		uint32_t l = locs[k];

		if (l == 0 || l >= n_locations)
			continue;
		if (ctx->loc_len[l] == UINT32_MAX) {
			err = location_frames(ctx, l);
			if (err)
				return err;
		}
		for (uint32_t j = 0; j < ctx->loc_len[l]; j++) {
			const struct frame *fr = &ctx->frames[ctx->loc_off[l] + j];
			struct pf_flame_node *n;

			if (f->nodes[node].depth >= DEPTH_MAX)
				break; /* deeper frames count for the deepest kept */

			node = child_of(f, node, fr->name, fr->kind, fr->inlined);
			if (node == PF_FLAME_NONE)
				return -ENOMEM;
			n = &f->nodes[node];
			n->total = __builtin_add_overflow(n->total, v, &n->total) ? INT64_MAX
										  : n->total;
		}
	}
	f->nodes[node].self = __builtin_add_overflow(f->nodes[node].self, v, &f->nodes[node].self)
				      ? INT64_MAX
				      : f->nodes[node].self;
	return 0;
}

int pf_flame_fold(struct pf_flame *f, const struct pf_batch *b, enum pf_flame_group group)
{
	struct fold_ctx *ctx;
	size_t np = pf_batch_n_profiles(b), n_loc = pf_batch_n_locations(b);
	size_t n_res = pf_batch_n_resources(b), type_len = strlen(f->type);
	int added = 0, err = 0;

	if (!f->has_type)
		return 0;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->f = f;
	ctx->b = b;
	ctx->group = group;
	ctx->loc_off = calloc(n_loc, sizeof(*ctx->loc_off));
	ctx->loc_len = malloc(n_loc * sizeof(*ctx->loc_len));
	ctx->res_group = malloc(n_res * sizeof(*ctx->res_group));
	if (!ctx->loc_off || !ctx->loc_len || !ctx->res_group) {
		err = -ENOMEM;
		goto out_free;
	}
	memset(ctx->loc_len, 0xff, n_loc * sizeof(*ctx->loc_len));
	memset(ctx->res_group, 0xff, n_res * sizeof(*ctx->res_group));
	for (uint32_t p = 0; p < np; p++) {
		const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
		const struct pf_sample *s;
		size_t ns = 0;

		if (!type_matches(b, d, f->type, type_len, f->unit))
			continue;
		s = pf_batch_samples(b, p, &ns);
		for (size_t k = 0; k < ns; k++) {
			int64_t v = pf_batch_sample_total(b, &s[k]);

			if (v <= 0)
				continue;
			err = fold_sample(ctx, d->resource, s[k].stack, v);
			if (err)
				goto out_free;
			f->n_samples++;
			if (added < INT32_MAX)
				added++;
		}
	}
out_free:
	free(ctx->frames);
	free(ctx->res_group);
	free(ctx->loc_len);
	free(ctx->loc_off);
	free(ctx);
	return err ? err : added;
}

int pf_flame_merge(struct pf_flame *dst, const struct pf_flame *src)
{
	uint32_t *map = calloc(src->n_nodes, sizeof(*map));
	int err = 0;

	if (!map)
		return -ENOMEM;
	map[0] = 0;
	dst->nodes[0].total = __builtin_add_overflow(dst->nodes[0].total, src->nodes[0].total,
						     &dst->nodes[0].total)
				      ? INT64_MAX
				      : dst->nodes[0].total;
	/* Parents come before their children, so map[parent] is known. */
	for (size_t i = 1; i < src->n_nodes; i++) {
		const struct pf_flame_node *s = &src->nodes[i];
		uint32_t name = intern_name(dst, src->names + s->name), d;
		struct pf_flame_node *n;

		if (name == PF_FLAME_NONE) {
			err = -ENOMEM;
			break;
		}
		d = child_of(dst, map[s->parent], name, s->kind, s->inlined);
		if (d == PF_FLAME_NONE) {
			err = -ENOMEM;
			break;
		}
		map[i] = d;
		n = &dst->nodes[d];
		n->total = __builtin_add_overflow(n->total, s->total, &n->total) ? INT64_MAX
										 : n->total;
		n->self = __builtin_add_overflow(n->self, s->self, &n->self) ? INT64_MAX : n->self;
	}
	dst->n_samples += src->n_samples;
	free(map);
	return err;
}

int pf_flame_prune(struct pf_flame *f, int64_t min_total)
{
	uint32_t *map = calloc(f->n_nodes, sizeof(*map));
	struct pf_flame g;
	int err = -ENOMEM;

	if (!map)
		return -ENOMEM;
	if (pf_flame_init(&g) < 0)
		goto out_free_map;
	g.has_type = f->has_type;
	memcpy(g.type, f->type, sizeof(g.type));
	memcpy(g.unit, f->unit, sizeof(g.unit));
	g.n_samples = f->n_samples;
	g.nodes[0].total = f->nodes[0].total;
	g.nodes[0].self = f->nodes[0].self;
	map[0] = 0;
	/* Parents come first: map[parent] is known, PF_FLAME_NONE when left out. */
	for (size_t i = 1; i < f->n_nodes; i++) {
		const struct pf_flame_node *s = &f->nodes[i];
		uint32_t p = map[s->parent], name;
		struct pf_flame_node *caller;

		map[i] = PF_FLAME_NONE;
		if (p == PF_FLAME_NONE)
			continue;
		if (s->total < min_total) {
			caller = &g.nodes[p];
			caller->self = __builtin_add_overflow(caller->self, s->total, &caller->self)
					       ? INT64_MAX
					       : caller->self;
			continue;
		}
		name = intern_name(&g, f->names + s->name);
		if (name == PF_FLAME_NONE)
			goto out_free_g;
		map[i] = child_of(&g, p, name, s->kind, s->inlined);
		if (map[i] == PF_FLAME_NONE)
			goto out_free_g;
		g.nodes[map[i]].total = s->total;
		g.nodes[map[i]].self = s->self;
	}
	pf_flame_free(f);
	*f = g;
	free(map);
	return 0;

out_free_g:
	pf_flame_free(&g);
out_free_map:
	free(map);
	return err;
}

/* ---- order and text ---- */

static int by_parent_name(const void *pa, const void *pb, void *arg)
{
	const struct pf_flame *f = arg;
	const struct pf_flame_node *a = &f->nodes[*(const uint32_t *)pa];
	const struct pf_flame_node *b = &f->nodes[*(const uint32_t *)pb];

	if (a->parent != b->parent)
		return a->parent < b->parent ? -1 : 1;
	return strcmp(f->names + a->name, f->names + b->name);
}

int pf_flame_sort(struct pf_flame *f)
{
	size_t n = f->n_nodes;
	uint32_t *order = calloc(n, sizeof(*order));

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		order[i] = (uint32_t)i;
		f->nodes[i].child = f->nodes[i].sibling = PF_FLAME_NONE;
	}
	if (n > 2)
		qsort_r(order + 1, n - 1, sizeof(*order), by_parent_name, f);
	/* Backwards, so that each parent's first child ends up the smallest. */
	for (size_t i = n; i-- > 1;) {
		struct pf_flame_node *c = &f->nodes[order[i]];

		c->sibling = f->nodes[c->parent].child;
		f->nodes[c->parent].child = order[i];
	}
	free(order);
	return 0;
}

int pf_flame_folded(const struct pf_flame *f, char **text, size_t *len)
{
	uint32_t *path = calloc(DEPTH_MAX + 2, sizeof(*path));
	size_t depth = 0;
	char *buf = NULL;
	size_t size = 0;
	uint32_t node;
	FILE *out;

	*text = NULL;
	*len = 0;
	if (!path)
		return -ENOMEM;
	out = open_memstream(&buf, &size);
	if (!out) {
		free(path);
		return -ENOMEM;
	}
	/* Depth-first, children in name order; path[1..depth] are the frames. */
	node = f->nodes[0].child;
	while (node != PF_FLAME_NONE) {
		const struct pf_flame_node *n = &f->nodes[node];

		path[++depth] = node;
		if (n->self > 0) {
			for (size_t i = 1; i <= depth; i++)
				fprintf(out, "%s%s", i > 1 ? ";" : "", pf_flame_name(f, path[i]));
			fprintf(out, " %" PRId64 "\n", n->self);
		}
		if (n->child != PF_FLAME_NONE) {
			node = n->child;
			continue;
		}
		/* Up until a node with a next sibling. */
		while (depth > 0 && f->nodes[path[depth]].sibling == PF_FLAME_NONE)
			depth--;
		if (depth == 0)
			break;
		node = f->nodes[path[depth]].sibling;
		depth--;
	}
	free(path);
	if (ferror(out) | fclose(out)) {
		free(buf);
		return -ENOMEM;
	}
	*text = buf;
	*len = size;
	return 0;
}
