// SPDX-License-Identifier: Apache-2.0
/* The JFR decoder's chunk walk: reads the header, metadata and pools, and hands each event to its family's handler. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "model/batch.h"
#include "model/semconv.h"

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
	[H_WALL_CLOCK] = {"profiler.WallClockSample", NULL},
	[H_MALLOC] = {"profiler.Malloc", NULL},
	[H_LIVE] = {"profiler.LiveObject", NULL},
};

static void on_event(struct chunk_ctx *x, const struct ev_type *t, struct jfr_rd *r)
{
	struct jfr_val v[JFR_MAX_FIELDS];
	uint32_t stack = 0;

	jfr_read_struct(r, t->cls, v); /* fills every field index that t->f holds */
	if (r->bad) {
		x->err = -EINVAL;
		return;
	}
	if (t->h == H_SETTING)
		return jfr_on_setting(x, t, v);
	if (t->h == H_JVM_INFO)
		return jfr_on_jvm_info(x, t, v);
	if (t->h != H_GC)
		stack = jfr_stack_of(x, jfr_fv(t, v, F_STACK));
	if (x->err)
		return;
	switch (t->h) {
	case H_EXECUTION:
	case H_NATIVE: jfr_on_sample(x, t, v, stack); break;
	case H_ALLOC_SAMPLE:
	case H_ALLOC_TLAB:
	case H_MONITOR:
	case H_PARK:
	case H_LIVE: jfr_on_alloc_lock(x, t, v, stack); break;
	case H_GC: jfr_on_gc(x, t, v); break;
	case H_WALL_CLOCK: jfr_on_wall_clock(x, t, v, stack); break;
	case H_MALLOC: jfr_on_malloc(x, t, v, stack); break;
	default: break;
	}
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
	{F_SAMPLES, {"samples"}},
	{F_SIZE, {"size"}},
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
	const struct jfr_class *rec = jfr_class_by_name(m, "jdk.ActiveRecording");
	x->recording_id = rec ? rec->id : UINT64_MAX;
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
