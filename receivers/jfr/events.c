// SPDX-License-Identifier: Apache-2.0
/* The JFR decoder: walks a chunk's events and maps samples, allocations, locks and GC to profiles. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "decoder.h"
#include "pipeline/batch.h"
#include "pipeline/semconv.h"

/* Copies src after the first `len` bytes of dst (of `size`), truncating; returns the new length. */
static size_t append(char *dst, size_t size, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (len >= size)
		return len;
	if (n > size - 1 - len)
		n = size - 1 - len;
	memcpy(dst + len, src, n);
	dst[len + n] = '\0';
	return len + n;
}

enum handler {
	H_EXECUTION,
	H_NATIVE,
	H_ALLOC_SAMPLE,
	H_ALLOC_TLAB,
	H_MONITOR,
	H_PARK,
	H_GC,
	H_SETTING,
	H_JVM_INFO,
	H_COUNT,
};

static const char *const handler_events[H_COUNT][2] = {
	[H_EXECUTION] = {"jdk.ExecutionSample", NULL},
	[H_NATIVE] = {"jdk.NativeMethodSample", NULL},
	[H_ALLOC_SAMPLE] = {"jdk.ObjectAllocationSample", NULL},
	[H_ALLOC_TLAB] = {"jdk.ObjectAllocationInNewTLAB", "jdk.ObjectAllocationOutsideTLAB"},
	[H_MONITOR] = {"jdk.JavaMonitorEnter", NULL},
	[H_PARK] = {"jdk.ThreadPark", NULL},
	[H_GC] = {"jdk.GarbageCollection", NULL},
	[H_SETTING] = {"jdk.ActiveSetting", NULL},
	[H_JVM_INFO] = {"jdk.JVMInformation", NULL},
};

/* Field names read from events, by position in ev_fields[]. */
enum ev_field {
	F_START,
	F_DURATION,
	F_THREAD, /* eventThread or sampledThread */
	F_STACK,
	F_CLASS, /* objectClass, monitorClass or parkedClass */
	F_WEIGHT,
	F_NAME,
	F_PAUSES,
	F_ID,
	F_VALUE,
	F_JVM_NAME,
	F_JVM_VERSION,
	F_JAVA_ARGS,
	F_PID,
	F_COUNT,
};

struct ev_type {
	uint64_t id;
	enum handler h;
	const struct jfr_class *cls;
	int f[F_COUNT];
};

/* (thread key, class key, which) -> attribute set, exact (open addressing). */
struct set_slot {
	uint64_t thread, cls;
	uint32_t which; /* 0: empty slot; 1: no class, 2: allocation, 3: lock */
	uint32_t set;
};

struct set_memo {
	struct set_slot *slots;
	size_t cap, n;
};

/* Per-chunk state: the metadata and what was resolved from its pools. */
struct chunk_ctx {
	struct pf_jfr_decoder *d;
	struct jfr_meta meta;
	const uint8_t *data;
	size_t size;
	double ticks_per_ns;
	uint64_t start_ticks, start_nanos;
	struct ev_type ev[H_COUNT * 2];
	size_t n_ev;
	const struct jfr_class *stack_cls, *frame_cls, *method_cls, *class_cls, *symbol_cls,
		*ftype_cls, *thread_cls, *gcname_cls;
	int st_frames, fr_method, fr_line, fr_type, me_type, me_name, me_desc, cl_name, sy_string,
		ft_desc, th_java_name, th_os_name, th_java_id, th_os_id, gc_name;
	uint32_t attr_jvm; /* profile.frame.type = jvm */
	struct jfr_memo stacks, functions, ftypes, thread_names, thread_ids, classes, topped;
	struct set_memo sets;
	uint32_t key_alloc_class, key_lock_class; /* string indices, 0 until needed */
	int err;
};

static int64_t ticks_to_ns(const struct chunk_ctx *x, uint64_t ticks)
{
	return (int64_t)((double)ticks / x->ticks_per_ns);
}

/* Reads a pooled struct's fields; false when the key is not in the pool. */
static bool pooled(const struct chunk_ctx *x, const struct jfr_class *c, uint64_t key,
		   struct jfr_val *vals)
{
	uint32_t off = c ? jfr_pool_get(c, key) : 0;

	if (!off)
		return false;
	struct jfr_rd r = {.base = x->data,
			   .limit = x->data + x->size,
			   .p = x->data + off,
			   .end = x->data + x->size};
	jfr_read_struct(&r, c, vals);
	return !r.bad;
}

/* A string at a chunk offset, into buf; -1 for null or unreadable. */
static long string_at(const struct chunk_ctx *x, uint32_t off, char *buf)
{
	struct jfr_rd r = {.base = x->data,
			   .limit = x->data + x->size,
			   .p = x->data + off,
			   .end = x->data + x->size};
	long n = jfr_read_string(&r, &x->meta, buf, STR_MAX);

	return r.bad ? -1 : n;
}

/* The text of a jdk.types.Symbol. */
static long symbol(const struct chunk_ctx *x, uint64_t key, char *buf)
{
	struct jfr_val v[JFR_MAX_FIELDS];

	buf[0] = '\0';
	if (x->sy_string < 0 || !pooled(x, x->symbol_cls, key, v))
		return -1;
	return string_at(x, v[x->sy_string].off, buf);
}

/* "java/lang/String" -> "java.lang.String", "[B" -> "byte[]", "[Ljava/lang/Object;" -> ... */
static void java_name(char *s)
{
	static const char *const prim[][2] = {{"Z", "boolean"}, {"B", "byte"},	{"C", "char"},
					      {"S", "short"},	{"I", "int"},	{"J", "long"},
					      {"F", "float"},	{"D", "double"}};
	size_t dims = 0, len;

	while (s[dims] == '[')
		dims++;
	if (dims) {
		char tmp[STR_MAX];
		const char *base = s + dims;
		if (base[0] == 'L') {
			snprintf(tmp, sizeof(tmp), "%s", base + 1);
			len = strlen(tmp);
			if (len && tmp[len - 1] == ';')
				tmp[len - 1] = '\0';
		} else {
			snprintf(tmp, sizeof(tmp), "%s", base);
			for (size_t i = 0; i < sizeof(prim) / sizeof(prim[0]); i++)
				if (strcmp(base, prim[i][0]) == 0)
					snprintf(tmp, sizeof(tmp), "%s", prim[i][1]);
		}
		len = strlen(tmp);
		for (size_t i = 0; i < dims && len + 2 < sizeof(tmp); i++, len += 2)
			memcpy(tmp + len, "[]", 3);
		memcpy(s, tmp, len + 1 < STR_MAX ? len + 1 : STR_MAX);
		s[STR_MAX - 1] = '\0';
	}
	for (; *s; s++)
		if (*s == '/')
			*s = '.';
}

/* The display name of a java.lang.Class as a string index (0 when unknown). */
static uint32_t class_name(struct chunk_ctx *x, uint64_t key)
{
	struct jfr_val v[JFR_MAX_FIELDS];
	uint32_t idx;

	if (jfr_memo_get(&x->classes, key, &idx))
		return idx;
	idx = 0;
	if (x->cl_name >= 0 && pooled(x, x->class_cls, key, v) &&
	    symbol(x, v[x->cl_name].u, x->d->str) >= 0) {
		java_name(x->d->str);
		idx = pf_batch_cstring(x->d->b, x->d->str);
		if (idx == PF_INDEX_ERROR)
			return x->err = -ENOMEM, 0;
	}
	if (jfr_memo_put(&x->classes, key, idx) < 0)
		x->err = -ENOMEM;
	return idx;
}

static uint32_t function_of(struct chunk_ctx *x, uint64_t method)
{
	struct pf_jfr_decoder *d = x->d;
	struct jfr_val v[JFR_MAX_FIELDS];
	struct pf_function fn = {0};
	uint32_t idx;

	if (jfr_memo_get(&x->functions, method, &idx))
		return idx;
	const char *cls = "";
	if (pooled(x, x->method_cls, method, v)) {
		uint32_t c = x->me_type >= 0 ? class_name(x, v[x->me_type].u) : 0;
		if (c)
			cls = pf_batch_str(d->b, c);
		if (x->me_name < 0 || symbol(x, v[x->me_name].u, d->str2) < 0)
			snprintf(d->str2, STR_MAX, "unknown");
		size_t len = append(d->str, STR_MAX, 0, cls);
		len = append(d->str, STR_MAX, len, *cls ? "." : "");
		len = append(d->str, STR_MAX, len, d->str2);
		fn.name = pf_batch_cstring(d->b, d->str);
		if (x->me_desc >= 0 && symbol(x, v[x->me_desc].u, d->str2) >= 0)
			append(d->str, STR_MAX, len, d->str2);
		fn.system_name = pf_batch_cstring(d->b, d->str);
	} else {
		fn.name = fn.system_name = pf_batch_cstring(d->b, "unknown");
	}
	idx = fn.name == PF_INDEX_ERROR || fn.system_name == PF_INDEX_ERROR
		      ? PF_INDEX_ERROR
		      : pf_batch_function(d->b, &fn);
	if (idx == PF_INDEX_ERROR || jfr_memo_put(&x->functions, method, idx) < 0)
		return x->err = -ENOMEM, 0;
	return idx;
}

/* The attribute set of a location of this JFR frame type. */
static uint32_t frame_attrs(struct chunk_ctx *x, uint64_t ftype)
{
	struct jfr_val v[JFR_MAX_FIELDS];
	const char *t = "unknown";
	uint32_t idx;

	if (jfr_memo_get(&x->ftypes, ftype, &idx))
		return idx;
	if (x->ft_desc >= 0 && pooled(x, x->ftype_cls, ftype, v) &&
	    string_at(x, v[x->ft_desc].off, x->d->str) >= 0) {
		const char *s = x->d->str;
		t = strcmp(s, "Interpreted") == 0    ? "interpreted"
		    : strcmp(s, "JIT compiled") == 0 ? "jit"
		    : strcmp(s, "Inlined") == 0	     ? "inlined"
		    : strcmp(s, "Native") == 0	     ? "native"
						     : s;
	}
	uint32_t attrs[2] = {x->attr_jvm, pf_batch_attr_str(x->d->b, "jvm.frame.type", t)};
	idx = attrs[1] == PF_INDEX_ERROR ? PF_INDEX_ERROR : pf_batch_attr_set(x->d->b, attrs, 2);
	if (idx == PF_INDEX_ERROR || jfr_memo_put(&x->ftypes, ftype, idx) < 0)
		return x->err = -ENOMEM, 0;
	return idx;
}

static uint32_t stack_of(struct chunk_ctx *x, uint64_t key)
{
	struct pf_jfr_decoder *d = x->d;
	struct jfr_val v[JFR_MAX_FIELDS], fv[JFR_MAX_FIELDS];
	uint32_t idx;
	size_t n = 0;

	if (!key)
		return 0;
	if (jfr_memo_get(&x->stacks, key, &idx))
		return idx;
	idx = 0;
	if (x->st_frames >= 0 && x->fr_method >= 0 && pooled(x, x->stack_cls, key, v)) {
		struct jfr_rd r = {.base = x->data,
				   .limit = x->data + x->size,
				   .p = x->data + v[x->st_frames].off,
				   .end = x->data + x->size};
		uint64_t count = jfr_varint(&r);
		for (uint64_t i = 0; i < count && !r.bad && n < MAX_FRAMES; i++) {
			jfr_read_struct(&r, x->frame_cls, fv);
			if (r.bad)
				break;
			struct pf_line line = {
				.function = function_of(x, fv[x->fr_method].u),
				.line = x->fr_line >= 0 ? (int32_t)fv[x->fr_line].u : 0,
			};
			struct pf_location loc = {
				.attrs = x->fr_type >= 0 ? frame_attrs(x, fv[x->fr_type].u)
							 : x->attr_jvm,
			};
			if (x->err)
				return 0;
			d->locs[n] = pf_batch_location(d->b, &loc, &line, 1);
			if (d->locs[n++] == PF_INDEX_ERROR)
				return x->err = -ENOMEM, 0;
		}
		if (n)
			idx = pf_batch_stack(d->b, d->locs, n);
	}
	if (idx == PF_INDEX_ERROR || jfr_memo_put(&x->stacks, key, idx) < 0)
		return x->err = -ENOMEM, 0;
	return idx;
}

/* thread.name and thread.id of a java.lang.Thread into attrs; returns how many. */
static size_t thread_attrs(struct chunk_ctx *x, uint64_t key, uint32_t *attrs)
{
	struct jfr_val v[JFR_MAX_FIELDS];
	uint32_t name, id;

	if (!key || !x->thread_cls)
		return 0;
	if (!jfr_memo_get(&x->thread_names, key, &name) ||
	    !jfr_memo_get(&x->thread_ids, key, &id)) {
		name = id = 0;
		if (pooled(x, x->thread_cls, key, v)) {
			long len = x->th_java_name >= 0
					   ? string_at(x, v[x->th_java_name].off, x->d->str)
					   : -1;
			if (len < 0 && x->th_os_name >= 0)
				len = string_at(x, v[x->th_os_name].off, x->d->str);
			if (len >= 0)
				name = pf_batch_attr_str(x->d->b, PF_ATTR_THREAD_NAME, x->d->str);
			int f = x->th_java_id >= 0 ? x->th_java_id : x->th_os_id;
			if (f >= 0)
				id = pf_batch_attr_int(x->d->b, PF_ATTR_THREAD_ID, (int64_t)v[f].u);
		}
		if (name == PF_INDEX_ERROR || id == PF_INDEX_ERROR ||
		    jfr_memo_put(&x->thread_names, key, name) < 0 ||
		    jfr_memo_put(&x->thread_ids, key, id) < 0)
			return x->err = -ENOMEM, 0;
	}
	size_t n = 0;
	if (name)
		attrs[n++] = name;
	if (id)
		attrs[n++] = id;
	return n;
}

static void add(struct chunk_ctx *x, enum pf_jfr_kind kind, uint32_t stack, uint32_t set,
		int64_t v0, int64_t v1)
{
	struct pf_jfr_decoder *d = x->d;
	uint32_t i;

	uint64_t key = jfr_mix(((uint64_t)stack << 32 | set) ^ jfr_mix((uint64_t)kind + 1));
	/* The memo is keyed by a hash: confirm the entry, probing on by
	 * re-keying when two triples collide. */
	for (;;) {
		if (!jfr_memo_get(&d->agg_index, key, &i))
			break;
		struct jfr_agg *a = &d->aggs[i];
		if (a->kind == kind && a->stack == stack && a->attrs == set) {
			a->v[0] += v0;
			a->v[1] += v1;
			goto out_count;
		}
		key = jfr_mix(key + 1);
	}
	if (d->n_aggs == d->cap_aggs) {
		size_t ncap = d->cap_aggs ? d->cap_aggs * 2 : 1024;
		struct jfr_agg *grown = realloc(d->aggs, ncap * sizeof(*grown));
		if (!grown) {
			x->err = -ENOMEM;
			return;
		}
		d->aggs = grown;
		d->cap_aggs = ncap;
	}
	d->aggs[d->n_aggs] =
		(struct jfr_agg){.kind = kind, .stack = stack, .attrs = set, .v = {v0, v1}};
	if (jfr_memo_put(&d->agg_index, key, (uint32_t)d->n_aggs) < 0) {
		x->err = -ENOMEM;
		return;
	}
	d->n_aggs++;
out_count:
	d->stats.by_kind[kind]++;
	d->stats.totals[kind][0] += v0;
	d->stats.totals[kind][1] += v1;
}

/* "20 ms", "10 ms", "1 s", "100 us", "500 ns" -> ns; 0 when not a period. */
static int64_t parse_period(const char *s)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {{"ns", 1},
		     {"us", 1000},
		     {"ms", NS_PER_MS},
		     {"s", 1000 * NS_PER_MS},
		     {"m", 60000 * NS_PER_MS},
		     {"h", 3600000 * NS_PER_MS}};
	char *end;
	long long v = strtoll(s, &end, 10);

	while (*end == ' ')
		end++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (v > 0 && strcmp(end, units[i].unit) == 0)
			return (int64_t)v * units[i].ns;
	return 0;
}

static void on_setting(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v)
{
	char *val = x->d->str2;

	if (t->f[F_ID] < 0 || t->f[F_NAME] < 0 || t->f[F_VALUE] < 0)
		return;
	if (string_at(x, v[t->f[F_NAME]].off, x->d->str) < 0 || strcmp(x->d->str, "period") != 0)
		return;
	if (string_at(x, v[t->f[F_VALUE]].off, val) < 0)
		return;
	for (size_t i = 0; i < x->n_ev; i++) {
		int64_t ns = parse_period(val);
		if (x->ev[i].id != v[t->f[F_ID]].u || !ns)
			continue;
		if (x->ev[i].h == H_EXECUTION)
			x->d->period[PF_JFR_CPU] = ns;
		else if (x->ev[i].h == H_NATIVE)
			x->d->period[PF_JFR_WALL] = ns;
	}
}

static void on_jvm_info(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v)
{
	struct pf_jfr_decoder *d = x->d;

	if (t->f[F_JVM_NAME] >= 0 && string_at(x, v[t->f[F_JVM_NAME]].off, d->str) >= 0)
		append(d->jvm_name, sizeof(d->jvm_name), 0, d->str);
	if (t->f[F_JVM_VERSION] >= 0 && string_at(x, v[t->f[F_JVM_VERSION]].off, d->str) >= 0)
		append(d->jvm_version, sizeof(d->jvm_version), 0, d->str);
	if (t->f[F_PID] >= 0)
		d->pid = (int64_t)v[t->f[F_PID]].u;
	if (t->f[F_JAVA_ARGS] >= 0 && string_at(x, v[t->f[F_JAVA_ARGS]].off, d->str) >= 0) {
		/* "Main a b" or "app.jar a b": the first word, a jar by its base name. */
		char *s = d->str, *end = strchr(s, ' ');
		if (end)
			*end = '\0';
		size_t len = strlen(s);
		if (len > 4 && strcmp(s + len - 4, ".jar") == 0) {
			s[len - 4] = '\0';
			char *slash = strrchr(s, '/');
			if (slash)
				s = slash + 1;
		}
		if (*s)
			append(d->main_class, sizeof(d->main_class), 0, s);
	}
}

static struct set_slot *set_find(struct set_memo *m, uint64_t thread, uint64_t cls, uint32_t which)
{
	size_t h = jfr_mix(jfr_mix(thread) ^ (cls * 4 + which)) & (m->cap - 1);

	while (m->slots[h].which && (m->slots[h].thread != thread || m->slots[h].cls != cls ||
				     m->slots[h].which != which))
		h = (h + 1) & (m->cap - 1);
	return &m->slots[h];
}

static int set_grow(struct set_memo *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 256;
	struct set_slot *old = m->slots, *slots = calloc(ncap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	m->slots = slots;
	size_t ocap = m->cap;
	m->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].which)
			*set_find(m, old[i].thread, old[i].cls, old[i].which) = old[i];
	free(old);
	return 0;
}

/* The attribute set of an event: its thread's, and the allocated or locked
 * class (which: 1 none, 2 allocation, 3 lock). */
static uint32_t event_attrs(struct chunk_ctx *x, uint64_t thread, uint64_t cls, uint32_t which)
{
	struct pf_batch *b = x->d->b;
	uint32_t attrs[3];
	size_t n;

	if ((x->sets.n + 1) * 2 > x->sets.cap && set_grow(&x->sets) < 0)
		return x->err = -ENOMEM, 0;
	struct set_slot *slot = set_find(&x->sets, thread, cls, which);
	if (slot->which)
		return slot->set;
	n = thread_attrs(x, thread, attrs);
	uint32_t name = which > 1 && cls ? class_name(x, cls) : 0;
	if (name) {
		uint32_t *key = which == 2 ? &x->key_alloc_class : &x->key_lock_class;
		if (!*key)
			*key = pf_batch_cstring(b,
						which == 2 ? "jvm.alloc.class" : "jvm.lock.class");
		struct pf_attribute a = {.key = *key,
					 .value = {.kind = PF_VALUE_STRING, .u.str = name}};
		attrs[n++] = *key == PF_INDEX_ERROR ? PF_INDEX_ERROR : pf_batch_attribute(b, &a);
	}
	uint32_t set = pf_batch_attr_set(b, attrs, n);
	for (size_t i = 0; i < n; i++)
		if (attrs[i] == PF_INDEX_ERROR)
			set = PF_INDEX_ERROR;
	if (set == PF_INDEX_ERROR || x->err)
		return x->err = x->err ? x->err : -ENOMEM, 0;
	*slot = (struct set_slot){.thread = thread, .cls = cls, .which = which, .set = set};
	x->sets.n++;
	return set;
}

/* A location of one frame named `name` (a string index), of JFR frame type `type`. */
static uint32_t named_location(struct chunk_ctx *x, uint32_t name, const char *type)
{
	struct pf_batch *b = x->d->b;
	struct pf_function fn = {.name = name, .system_name = name};
	uint32_t attrs[2] = {pf_batch_attr_str(b, PF_ATTR_FRAME_TYPE, PF_FRAME_JVM),
			     pf_batch_attr_str(b, "jvm.frame.type", type)};
	struct pf_line line = {.function = pf_batch_function(b, &fn)};
	struct pf_location loc = {0};

	if (attrs[0] == PF_INDEX_ERROR || attrs[1] == PF_INDEX_ERROR ||
	    line.function == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	loc.attrs = pf_batch_attr_set(b, attrs, 2);
	return loc.attrs == PF_INDEX_ERROR ? PF_INDEX_ERROR : pf_batch_location(b, &loc, &line, 1);
}

/* The stack with a leaf frame for the allocated or locked class on top
 * (frame type "allocation" or "lock"), or, for a sample without a stack, a
 * single "[unknown stack]" frame: pprof tools drop samples without frames. */
static uint32_t topped_stack(struct chunk_ctx *x, uint32_t stack, uint32_t cls, const char *type)
{
	struct pf_jfr_decoder *d = x->d;
	uint64_t key = (uint64_t)stack << 32 | cls;
	uint32_t idx, loc;
	size_t n = 0, n_locs = 0;

	if (!cls && stack)
		return stack;
	key = key * 4 + (type[0] == 'a');
	if (jfr_memo_get(&x->topped, key, &idx))
		return idx;
	if (!cls)
		cls = pf_batch_cstring(d->b, "[unknown stack]");
	loc = cls == PF_INDEX_ERROR ? PF_INDEX_ERROR : named_location(x, cls, type);
	if (loc == PF_INDEX_ERROR)
		return x->err = -ENOMEM, 0;
	d->locs[n++] = loc;
	const uint32_t *locs = stack ? pf_batch_stack_get(d->b, stack, &n_locs) : NULL;
	for (size_t i = 0; i < n_locs && n < MAX_FRAMES + 1; i++)
		d->locs[n++] = locs[i];
	idx = pf_batch_stack(d->b, d->locs, n);
	if (idx == PF_INDEX_ERROR || jfr_memo_put(&x->topped, key, idx) < 0)
		return x->err = -ENOMEM, 0;
	return idx;
}

static void on_event(struct chunk_ctx *x, const struct ev_type *t, struct jfr_rd *r)
{
	struct jfr_val v[JFR_MAX_FIELDS];
	uint32_t set, stack = 0;

	jfr_read_struct(r, t->cls, v); /* fills every field index that t->f holds */
	if (r->bad) {
		x->err = -EINVAL;
		return;
	}
#define FV(name) (t->f[name] >= 0 ? v[t->f[name]].u : 0)
	if (t->h == H_SETTING)
		return on_setting(x, t, v);
	if (t->h == H_JVM_INFO)
		return on_jvm_info(x, t, v);
	if (t->h != H_GC)
		stack = stack_of(x, FV(F_STACK));
	if (x->err)
		return;
	switch (t->h) {
	case H_EXECUTION:
	case H_NATIVE:
		stack = stack ? stack : topped_stack(x, 0, 0, "unknown");
		set = event_attrs(x, FV(F_THREAD), 0, 1);
		if (!x->err)
			add(x, t->h == H_EXECUTION ? PF_JFR_CPU : PF_JFR_WALL, stack, set, 1, 0);
		break;
	case H_ALLOC_SAMPLE:
	case H_ALLOC_TLAB:
	case H_MONITOR:
	case H_PARK: {
		bool alloc = t->h == H_ALLOC_SAMPLE || t->h == H_ALLOC_TLAB;
		uint32_t cls = FV(F_CLASS) ? class_name(x, FV(F_CLASS)) : 0;
		set = event_attrs(x, FV(F_THREAD), FV(F_CLASS), alloc ? 2 : 3);
		stack = x->err ? 0 : topped_stack(x, stack, cls, alloc ? "allocation" : "lock");
		if (x->err)
			return;
		if (alloc)
			add(x, PF_JFR_ALLOC, stack, set, 1, (int64_t)FV(F_WEIGHT));
		else
			add(x, PF_JFR_LOCK, stack, set, 1, ticks_to_ns(x, FV(F_DURATION)));
		break;
	}
	case H_GC: {
		uint32_t fn_idx, loc_idx, attr;
		struct jfr_val g[JFR_MAX_FIELDS];
		const char *name = "unknown";
		if (t->f[F_NAME] >= 0 && x->gc_name >= 0 &&
		    pooled(x, x->gcname_cls, FV(F_NAME), g) &&
		    string_at(x, g[x->gc_name].off, x->d->str) >= 0)
			name = x->d->str;
		struct pf_function fn = {.name = pf_batch_cstring(x->d->b, name)};
		fn.system_name = fn.name;
		fn_idx = fn.name == PF_INDEX_ERROR ? PF_INDEX_ERROR
						   : pf_batch_function(x->d->b, &fn);
		struct pf_line line = {.function = fn_idx};
		struct pf_location loc = {.attrs = x->attr_jvm};
		loc_idx = fn_idx == PF_INDEX_ERROR ? PF_INDEX_ERROR
						   : pf_batch_location(x->d->b, &loc, &line, 1);
		stack = loc_idx == PF_INDEX_ERROR ? PF_INDEX_ERROR
						  : pf_batch_stack(x->d->b, &loc_idx, 1);
		attr = pf_batch_attr_str(x->d->b, "jvm.gc.name", name);
		set = attr == PF_INDEX_ERROR ? PF_INDEX_ERROR
					     : pf_batch_attr_set(x->d->b, &attr, 1);
		if (stack == PF_INDEX_ERROR || set == PF_INDEX_ERROR) {
			x->err = -ENOMEM;
			return;
		}
		add(x, PF_JFR_GC, stack, set, 1, ticks_to_ns(x, FV(F_PAUSES)));
		break;
	}
	default: break;
	}
#undef FV
}

/* ---- a chunk ---- */

static const struct {
	enum ev_field f;
	const char *names[3];
} ev_field_names[] = {
	{F_START, {"startTime"}},
	{F_DURATION, {"duration"}},
	{F_THREAD, {"sampledThread", "eventThread"}},
	{F_STACK, {"stackTrace"}},
	{F_CLASS, {"objectClass", "monitorClass", "parkedClass"}},
	{F_WEIGHT, {"weight", "allocationSize"}},
	{F_NAME, {"name"}},
	{F_PAUSES, {"sumOfPauses"}},
	{F_ID, {"id"}},
	{F_VALUE, {"value"}},
	{F_JVM_NAME, {"jvmName"}},
	{F_JVM_VERSION, {"jvmVersion"}},
	{F_JAVA_ARGS, {"javaArguments"}},
	{F_PID, {"pid"}},
};

static void setup_types(struct chunk_ctx *x)
{
	const struct jfr_meta *m = &x->meta;

	for (int h = 0; h < H_COUNT; h++) {
		for (int k = 0; k < 2 && handler_events[h][k]; k++) {
			const struct jfr_class *c = jfr_class_by_name(m, handler_events[h][k]);
			if (!c)
				continue;
			struct ev_type *t = &x->ev[x->n_ev++];
			t->id = c->id;
			t->h = (enum handler)h;
			t->cls = c;
			for (size_t i = 0; i < sizeof(ev_field_names) / sizeof(ev_field_names[0]);
			     i++) {
				int f = -1;
				for (int n = 0; n < 3 && f < 0 && ev_field_names[i].names[n]; n++)
					f = jfr_field_index(c, ev_field_names[i].names[n]);
				t->f[ev_field_names[i].f] = f;
			}
		}
	}
	x->stack_cls = jfr_class_by_name(m, "jdk.types.StackTrace");
	x->frame_cls = jfr_class_by_name(m, "jdk.types.StackFrame");
	x->method_cls = jfr_class_by_name(m, "jdk.types.Method");
	x->class_cls = jfr_class_by_name(m, "java.lang.Class");
	x->symbol_cls = jfr_class_by_name(m, "jdk.types.Symbol");
	x->ftype_cls = jfr_class_by_name(m, "jdk.types.FrameType");
	x->thread_cls = jfr_class_by_name(m, "java.lang.Thread");
	x->gcname_cls = jfr_class_by_name(m, "jdk.types.GCName");
	x->st_frames = jfr_field_index(x->stack_cls, "frames");
	x->fr_method = jfr_field_index(x->frame_cls, "method");
	x->fr_line = jfr_field_index(x->frame_cls, "lineNumber");
	x->fr_type = jfr_field_index(x->frame_cls, "type");
	x->me_type = jfr_field_index(x->method_cls, "type");
	x->me_name = jfr_field_index(x->method_cls, "name");
	x->me_desc = jfr_field_index(x->method_cls, "descriptor");
	x->cl_name = jfr_field_index(x->class_cls, "name");
	x->sy_string = jfr_field_index(x->symbol_cls, "string");
	x->ft_desc = jfr_field_index(x->ftype_cls, "description");
	x->th_java_name = jfr_field_index(x->thread_cls, "javaName");
	x->th_os_name = jfr_field_index(x->thread_cls, "osName");
	x->th_java_id = jfr_field_index(x->thread_cls, "javaThreadId");
	x->th_os_id = jfr_field_index(x->thread_cls, "osThreadId");
	x->gc_name = jfr_field_index(x->gcname_cls, "name");
	/* A frame's method must be a pooled reference, its frames an array. */
	if (x->st_frames >= 0 && !x->stack_cls->fields[x->st_frames].array)
		x->st_frames = -1;
	if (!x->frame_cls || (x->fr_method >= 0 && !x->frame_cls->fields[x->fr_method].cpool))
		x->fr_method = -1;
}

int pf_jfr_read_header(const uint8_t *data, size_t size, uint64_t base_offset,
		       struct pf_jfr_header *h, struct pf_error *err)
{
	struct jfr_rd r = {.base = data, .limit = data + size, .p = data, .end = data + size};
	uint64_t f[8];

	if (size < PF_JFR_HEADER_SIZE)
		return jfr_bad_at(err, base_offset + size, "truncated chunk header");
	if (memcmp(data, "FLR", 4) != 0)
		return jfr_bad_at(err, base_offset, "not a JFR chunk (no FLR magic)");
	h->major = (uint16_t)(data[4] << 8 | data[5]);
	h->minor = (uint16_t)(data[6] << 8 | data[7]);
	r.p = data + 8;
	for (int i = 0; i < 7; i++) {
		f[i] = 0;
		for (int k = 0; k < 8; k++)
			f[i] = f[i] << 8 | jfr_u8(&r);
	}
	h->size = f[0];
	h->cpool_offset = f[1];
	h->meta_offset = f[2];
	h->start_nanos = f[3];
	h->duration_nanos = f[4];
	h->start_ticks = f[5];
	h->ticks_per_second = f[6];
	h->file_state = data[64];
	h->flags = data[67];
	if (h->major != 2)
		return jfr_bad_at(err, base_offset + 4,
				  "unsupported JFR version (not 2.x: JDK 11+)");
	if (h->file_state != 0 || h->size == 0 || h->meta_offset == 0)
		return -EAGAIN;
	if (h->size < PF_JFR_HEADER_SIZE || h->size > UINT32_MAX)
		return jfr_bad_at(err, base_offset + 8, "bad chunk size");
	if (h->meta_offset >= h->size || h->cpool_offset >= h->size)
		return jfr_bad_at(err, base_offset + 16,
				  "metadata or constant pool beyond the chunk");
	if (h->ticks_per_second == 0)
		return jfr_bad_at(err, base_offset + 56, "zero ticks per second");
	return 0;
}

/* Walks the events from the header on. With pools, indexes the checkpoint
 * events only; without, maps the events of known types. */
static int walk(struct chunk_ctx *x, bool pools, uint64_t base_offset, struct pf_error *err)
{
	const uint8_t *data = x->data;
	size_t pos = PF_JFR_HEADER_SIZE;
	struct pf_jfr_decoder *d = x->d;

	while (pos < x->size) {
		struct jfr_rd r = {.base = data,
				   .limit = data + x->size,
				   .p = data + pos,
				   .end = data + x->size};
		uint64_t ev_size = jfr_varint(&r);
		if (r.bad || ev_size == 0 || ev_size > x->size - pos)
			return jfr_bad_at(err, base_offset + pos, "event size beyond the chunk");
		r.end = data + pos + ev_size;
		uint64_t type = jfr_varint(&r);
		if (r.bad)
			return jfr_bad_at(err, base_offset + pos, "truncated event");
		if (pools) {
			if (type == 1) {
				int ret = jfr_pools_read(&x->meta, data, x->size, pos, base_offset,
							 err);
				if (ret < 0)
					return ret;
			}
		} else if (type > 1) {
			const struct ev_type *t = NULL;
			d->stats.events++;
			for (size_t i = 0; i < x->n_ev && !t; i++)
				if (x->ev[i].id == type)
					t = &x->ev[i];
			if (t)
				on_event(x, t, &r);
			else
				d->stats.skipped++;
			if (x->err == -EINVAL)
				return jfr_bad_at(err, base_offset + pos,
						  "event shorter than its type's fields");
			if (x->err)
				return x->err;
		}
		pos += ev_size;
	}
	return 0;
}

int pf_jfr_decoder_chunk(struct pf_jfr_decoder *d, const uint8_t *data, size_t size,
			 uint64_t base_offset, size_t *used, struct pf_error *err)
{
	struct pf_jfr_header h;
	struct chunk_ctx *x;
	int ret;

	ret = pf_jfr_read_header(data, size, base_offset, &h, err);
	if (ret < 0)
		return ret;
	if (h.size > size)
		return jfr_bad_at(err, base_offset + size, "truncated chunk");
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->d = d;
	x->data = data;
	x->size = (size_t)h.size;
	x->ticks_per_ns = (double)h.ticks_per_second / 1e9;
	x->start_ticks = h.start_ticks;
	x->start_nanos = h.start_nanos;
	x->attr_jvm = pf_batch_attr_str(d->b, PF_ATTR_FRAME_TYPE, PF_FRAME_JVM);
	if (x->attr_jvm == PF_INDEX_ERROR) {
		ret = -ENOMEM;
		goto out_free;
	}
	x->attr_jvm = pf_batch_attr_set(d->b, &x->attr_jvm, 1);
	if (x->attr_jvm == PF_INDEX_ERROR) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = jfr_meta_read(&x->meta, data, x->size, h.meta_offset, base_offset, err);
	if (ret < 0)
		goto out_free_meta;
	setup_types(x);
	ret = walk(x, true, base_offset, err);
	if (ret < 0)
		goto out_free_meta;
	ret = walk(x, false, base_offset, err);
	if (ret < 0)
		goto out_free_meta;
	if (!d->t_start || h.start_nanos < d->t_start)
		d->t_start = h.start_nanos;
	if (h.start_nanos + h.duration_nanos > d->t_end)
		d->t_end = h.start_nanos + h.duration_nanos;
	d->stats.chunks++;
	*used = (size_t)h.size;
out_free_meta:
	jfr_memo_free(&x->stacks);
	jfr_memo_free(&x->functions);
	jfr_memo_free(&x->ftypes);
	jfr_memo_free(&x->thread_names);
	jfr_memo_free(&x->thread_ids);
	jfr_memo_free(&x->classes);
	jfr_memo_free(&x->topped);
	free(x->sets.slots);
	jfr_meta_free(&x->meta);
out_free:
	free(x);
	return ret;
}
