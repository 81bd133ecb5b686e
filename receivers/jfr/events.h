/* SPDX-License-Identifier: Apache-2.0 */
/* Internal contract of the JFR decoder's per-chunk parts: the chunk context, the event types, and what the event handlers share. */
#ifndef PF_JFR_EVENTS_H
#define PF_JFR_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "decoder.h"

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
	H_WALL_CLOCK,
	H_MALLOC,
	H_LIVE,
	H_COUNT,
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
	F_SAMPLES,
	F_SIZE,
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
	uint64_t recording_id; /* jdk.ActiveRecording's type id (async-profiler's settings) */
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

static inline int64_t jfr_ticks_to_ns(const struct chunk_ctx *x, uint64_t ticks)
{
	return (int64_t)((double)ticks / x->ticks_per_ns);
}

/* An event's field `f` as an integer or pool key; 0 when the type lacks it. */
static inline uint64_t jfr_fv(const struct ev_type *t, const struct jfr_val *v, enum ev_field f)
{
	return t->f[f] >= 0 ? v[t->f[f]].u : 0;
}

/* ---- resolve.c: constant pool references to batch entries (errors in x->err) ---- */

/* Copies src after the first `len` bytes of dst (of `size`), truncating; returns the new length. */
size_t jfr_append(char *dst, size_t size, size_t len, const char *src);

/* Reads a pooled struct's fields; false when the key is not in the pool. */
bool jfr_pooled(const struct chunk_ctx *x, const struct jfr_class *c, uint64_t key,
		struct jfr_val *vals);

/* A string at a chunk offset, into buf (STR_MAX); -1 for null or unreadable. */
long jfr_string_at(const struct chunk_ctx *x, uint32_t off, char *buf);

/* The display name of a java.lang.Class as a string index (0 when unknown). */
uint32_t jfr_class_name(struct chunk_ctx *x, uint64_t key);

/* The stack of a jdk.types.StackTrace key (0 for none or an empty one). */
uint32_t jfr_stack_of(struct chunk_ctx *x, uint64_t key);

/* thread.name and thread.id of a java.lang.Thread into attrs; returns how many. */
size_t jfr_thread_attrs(struct chunk_ctx *x, uint64_t key, uint32_t *attrs);

/* ---- sample.c: attribute sets, synthetic frames, and summing ---- */

/* The attribute set of an event: its thread's, and the allocated or locked
 * class (which: 1 none, 2 allocation, 3 lock). */
uint32_t jfr_event_attrs(struct chunk_ctx *x, uint64_t thread, uint64_t cls, uint32_t which);

/* The stack with a leaf frame for the allocated or locked class on top
 * (frame type "allocation" or "lock"), or, for a sample without a stack, a
 * single "[unknown stack]" frame. */
uint32_t jfr_topped_stack(struct chunk_ctx *x, uint32_t stack, uint32_t cls, const char *type);

/* Adds (v0, v1) to the aggregate of (kind, stack, set). */
void jfr_add(struct chunk_ctx *x, enum pf_jfr_kind kind, uint32_t stack, uint32_t set, int64_t v0,
	     int64_t v1);

/* ---- the handlers, one family each; `stack` is the event's stackTrace ---- */

/* ev_cpu.c: jdk.ExecutionSample and jdk.NativeMethodSample. */
void jfr_on_sample(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v,
		   uint32_t stack);

/* ev_alloc_lock.c: allocation (sample, TLAB, async-profiler's live object) and
 * lock (monitor, park) events. */
void jfr_on_alloc_lock(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v,
		       uint32_t stack);

/* ev_gc.c: jdk.GarbageCollection. */
void jfr_on_gc(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v);

/* ev_profiler.c: async-profiler's profiler.WallClockSample and profiler.Malloc. */
void jfr_on_wall_clock(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v,
		       uint32_t stack);
void jfr_on_malloc(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v,
		   uint32_t stack);

/* ev_recording.c: jdk.ActiveSetting (sampling periods, the JDK's and
 * async-profiler's) and jdk.JVMInformation. */
void jfr_on_setting(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v);
void jfr_on_jvm_info(struct chunk_ctx *x, const struct ev_type *t, const struct jfr_val *v);

#endif
