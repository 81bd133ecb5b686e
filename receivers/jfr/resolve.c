// SPDX-License-Identifier: Apache-2.0
/* Resolves a chunk's constant pool references (stacks, frames, methods, classes, threads) to batch entries. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "model/batch.h"
#include "model/semconv.h"

/* Copies src after the first `len` bytes of dst (of `size`), truncating; returns the new length. */
size_t jfr_append(char *dst, size_t size, size_t len, const char *src)
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

/* Reads a pooled struct's fields; false when the key is not in the pool. */
bool jfr_pooled(const struct chunk_ctx *x, const struct jfr_class *c, uint64_t key,
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
long jfr_string_at(const struct chunk_ctx *x, uint32_t off, char *buf)
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
	if (x->sy_string < 0 || !jfr_pooled(x, x->symbol_cls, key, v))
		return -1;
	return jfr_string_at(x, v[x->sy_string].off, buf);
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
uint32_t jfr_class_name(struct chunk_ctx *x, uint64_t key)
{
	struct jfr_val v[JFR_MAX_FIELDS];
	uint32_t idx;

	if (jfr_memo_get(&x->classes, key, &idx))
		return idx;
	idx = 0;
	if (x->cl_name >= 0 && jfr_pooled(x, x->class_cls, key, v) &&
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
	if (jfr_pooled(x, x->method_cls, method, v)) {
		uint32_t c = x->me_type >= 0 ? jfr_class_name(x, v[x->me_type].u) : 0;
		if (c)
			cls = pf_batch_str(d->b, c);
		if (x->me_name < 0 || symbol(x, v[x->me_name].u, d->str2) < 0)
			snprintf(d->str2, STR_MAX, "unknown");
		size_t len = jfr_append(d->str, STR_MAX, 0, cls);
		len = jfr_append(d->str, STR_MAX, len, *cls ? "." : "");
		len = jfr_append(d->str, STR_MAX, len, d->str2);
		fn.name = pf_batch_cstring(d->b, d->str);
		if (x->me_desc >= 0 && symbol(x, v[x->me_desc].u, d->str2) >= 0)
			jfr_append(d->str, STR_MAX, len, d->str2);
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
	if (x->ft_desc >= 0 && jfr_pooled(x, x->ftype_cls, ftype, v) &&
	    jfr_string_at(x, v[x->ft_desc].off, x->d->str) >= 0) {
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

uint32_t jfr_stack_of(struct chunk_ctx *x, uint64_t key)
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
	if (x->st_frames >= 0 && x->fr_method >= 0 && jfr_pooled(x, x->stack_cls, key, v)) {
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
size_t jfr_thread_attrs(struct chunk_ctx *x, uint64_t key, uint32_t *attrs)
{
	struct jfr_val v[JFR_MAX_FIELDS];
	uint32_t name, id;

	if (!key || !x->thread_cls)
		return 0;
	if (!jfr_memo_get(&x->thread_names, key, &name) ||
	    !jfr_memo_get(&x->thread_ids, key, &id)) {
		name = id = 0;
		if (jfr_pooled(x, x->thread_cls, key, v)) {
			long len = x->th_java_name >= 0
					   ? jfr_string_at(x, v[x->th_java_name].off, x->d->str)
					   : -1;
			if (len < 0 && x->th_os_name >= 0)
				len = jfr_string_at(x, v[x->th_os_name].off, x->d->str);
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
