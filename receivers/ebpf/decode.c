// SPDX-License-Identifier: Apache-2.0
/* Turns drained (process, thread, stacks) counts into a batch laid out as model/semconv.h says. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ebpf.h"
#include "model/batch.h"
#include "model/semconv.h"

#define NS_PER_S	1000000000LL
#define MAX_FILE_OFFSET (1ull << 40) /* beyond any mapped file */

/* Indices reused by every frame and profile of the batch. */
struct common {
	uint32_t scope;
	uint32_t kernel_mapping;
	uint32_t type_kernel, type_native, type_jit, type_abort; /* attribute sets */
	uint32_t native_by_fp, jit_by_fp; /* the same, found by frame pointer */
	struct pf_value_type samples, cpu;
	int64_t period;
};

static int cmp_pid(const void *a, const void *b)
{
	const struct pf_ebpf_record *x = *(const struct pf_ebpf_record *const *)a;
	const struct pf_ebpf_record *y = *(const struct pf_ebpf_record *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->other_image != y->other_image)
		return x->other_image ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/* The attribute set of a frame of `type`, found by frame pointer or not. */
static uint32_t type_set(struct pf_batch *b, const char *type, bool by_fp)
{
	uint32_t a[2] = {
		pf_batch_attr_str(b, PF_ATTR_FRAME_TYPE, type),
		by_fp ? pf_batch_attr_str(b, PF_ATTR_FRAME_UNWIND, PF_UNWIND_FRAME_POINTER) : 0,
	};

	if (a[0] == PF_INDEX_ERROR || a[1] == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_attr_set(b, a, by_fp ? 2 : 1);
}

static int common_init(struct pf_batch *b, const struct pf_ebpf_decode_in *in, struct common *k)
{
	struct pf_scope scope = {0};
	struct pf_mapping km = {.memory_start = 0, .memory_limit = UINT64_MAX};

	scope.name = pf_batch_cstring(b, "proflow/receiver/ebpf");
	scope.version = pf_batch_cstring(b, PF_VERSION);
	if (scope.name == PF_INDEX_ERROR || scope.version == PF_INDEX_ERROR)
		return -ENOMEM;
	k->scope = pf_batch_scope(b, &scope);
	km.filename = pf_batch_cstring(b, PF_KERNEL_MAPPING);
	if (km.filename == PF_INDEX_ERROR)
		return -ENOMEM;
	k->kernel_mapping = pf_batch_mapping(b, &km);
	k->type_kernel = type_set(b, PF_FRAME_KERNEL, false);
	k->type_native = type_set(b, PF_FRAME_NATIVE, false);
	k->type_jit = type_set(b, PF_FRAME_JIT, false);
	k->type_abort = type_set(b, PF_FRAME_ABORT, false);
	k->native_by_fp = type_set(b, PF_FRAME_NATIVE, true);
	k->jit_by_fp = type_set(b, PF_FRAME_JIT, true);
	k->samples.type = pf_batch_cstring(b, "samples");
	k->samples.unit = pf_batch_cstring(b, "count");
	k->cpu.type = pf_batch_cstring(b, "cpu");
	k->cpu.unit = pf_batch_cstring(b, "nanoseconds");
	k->period = in->frequency > 0 ? NS_PER_S / in->frequency : 0;
	if (k->scope == PF_INDEX_ERROR || k->kernel_mapping == PF_INDEX_ERROR ||
	    k->type_kernel == PF_INDEX_ERROR || k->type_native == PF_INDEX_ERROR ||
	    k->type_jit == PF_INDEX_ERROR || k->type_abort == PF_INDEX_ERROR ||
	    k->native_by_fp == PF_INDEX_ERROR || k->jit_by_fp == PF_INDEX_ERROR ||
	    k->samples.type == PF_INDEX_ERROR || k->samples.unit == PF_INDEX_ERROR ||
	    k->cpu.type == PF_INDEX_ERROR || k->cpu.unit == PF_INDEX_ERROR)
		return -ENOMEM;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static uint32_t resource_for(struct pf_batch *b, const struct pf_ebpf_decode_in *in,
			     const struct pf_ebpf_record *rec, const struct pf_ebpf_proc *p)
{
	char comm[PF_BPF_COMM_LEN + 1];
	uint32_t attrs[8];
	size_t n = 0;

	attrs[n++] = pf_batch_attr_str(b, PF_ATTR_HOST_NAME, in->host_name ? in->host_name : "");
	attrs[n++] = pf_batch_attr_int(b, PF_ATTR_PROCESS_PID, rec->pid);
	if (p && p->exe && p->exe[0]) {
		char name[256];
		const char *base = base_name(p->exe);
		size_t len = strlen(base);
		/* A replaced binary reads "/usr/bin/x (deleted)". */
		if (len > 10 && strcmp(base + len - 10, " (deleted)") == 0)
			len -= 10;
		if (len >= sizeof(name))
			len = sizeof(name) - 1;
		memcpy(name, base, len);
		name[len] = '\0';
		attrs[n++] = pf_batch_attr_str(b, PF_ATTR_PROCESS_EXECUTABLE_NAME, name);
		attrs[n++] = pf_batch_attr_str(b, PF_ATTR_PROCESS_EXECUTABLE_PATH, p->exe);
	} else {
		/* Kernel threads and processes gone unread: the name is all we have. */
		const char *c = p && p->comm[0] ? p->comm : NULL;
		if (!c) {
			memcpy(comm, rec->comm, PF_BPF_COMM_LEN);
			comm[PF_BPF_COMM_LEN] = '\0';
			c = comm;
		}
		attrs[n++] = pf_batch_attr_str(b, PF_ATTR_PROCESS_EXECUTABLE_NAME, c);
	}
	if (p && p->cmdline && p->cmdline[0])
		attrs[n++] = pf_batch_attr_str(b, PF_ATTR_PROCESS_COMMAND_LINE, p->cmdline);
	if (p && p->container_id[0])
		attrs[n++] = pf_batch_attr_str(b, PF_ATTR_CONTAINER_ID, p->container_id);
	for (size_t i = 0; i < n; i++)
		if (attrs[i] == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
	struct pf_resource res = {.attrs = pf_batch_attr_set(b, attrs, n)};
	if (res.attrs == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_resource(b, &res);
}

/* The mapping of [start, limit) at file offset `offset` of filename, with
 * its build ID ("" when none) as an attribute. */
static uint32_t mapping_index(struct pf_batch *b, uint64_t start, uint64_t limit, uint64_t offset,
			      const char *filename, const char *build_id)
{
	struct pf_mapping map = {
		.memory_start = start, .memory_limit = limit, .file_offset = offset};

	map.filename = pf_batch_cstring(b, filename);
	if (map.filename == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	if (build_id[0]) {
		uint32_t id_attr = pf_batch_attr_str(b, PF_ATTR_BUILD_ID_GNU, build_id);
		if (id_attr == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
		map.attrs = pf_batch_attr_set(b, &id_attr, 1);
		if (map.attrs == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
	}
	return pf_batch_mapping(b, &map);
}

/* A user frame; `ip` may carry PF_BPF_FRAME_BY_FP. */
static uint32_t user_location(struct pf_batch *b, const struct common *k,
			      const struct pf_ebpf_proc *p, uint64_t ip)
{
	bool by_fp = ip & PF_BPF_FRAME_BY_FP;
	const struct pf_ebpf_mapping *m;
	struct pf_location loc = {.attrs = by_fp ? k->native_by_fp : k->type_native};

	ip &= ~PF_BPF_FRAME_BY_FP;
	loc.address = ip;
	m = p ? pf_procmaps_find(&p->maps, ip) : NULL;

	if (m) {
		bool anon = m->path[0] == '\0';

		loc.mapping = mapping_index(b, m->start, m->end, m->offset,
					    anon ? PF_ANON_MAPPING : m->path, m->build_id);
		if (loc.mapping == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
		if (anon)
			loc.attrs = by_fp ? k->jit_by_fp : k->type_jit;
	}
	return pf_batch_location(b, &loc, NULL, 0);
}

/* The hex forms the build ID of f may have, longest first: the kernel pads
 * IDs shorter than 20 bytes with zeros, so with a zero tail the 16-byte
 * (MD5, UUID) and 8-byte (lld's fast hash) forms are candidates too. */
static int bframe_ids(const struct pf_bpf_bframe *f, char ids[3][PF_EBPF_BUILD_ID_HEX])
{
	static const size_t lens[] = {PF_BPF_BUILD_ID_LEN, 16, 8};
	static const char digits[] = "0123456789abcdef";
	size_t used = PF_BPF_BUILD_ID_LEN;
	int n = 0;

	while (used > 0 && f->build_id[used - 1] == 0)
		used--;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		if (lens[i] < used)
			break;
		for (size_t j = 0; j < lens[i]; j++) {
			ids[n][2 * j] = digits[f->build_id[j] >> 4];
			ids[n][2 * j + 1] = digits[f->build_id[j] & 15];
		}
		ids[n++][2 * lens[i]] = '\0';
	}
	return n;
}

/* The mapping of p holding file offset `offset` of the file with build ID id. */
static const struct pf_ebpf_mapping *mapping_of_file(const struct pf_ebpf_proc *p, const char *id,
						     uint64_t offset)
{
	for (size_t i = 0; p && i < p->maps.n; i++) {
		const struct pf_ebpf_mapping *m = &p->maps.maps[i];
		if (offset >= m->offset && offset - m->offset < m->end - m->start &&
		    !strcmp(m->build_id, id))
			return m;
	}
	return NULL;
}

/* True when f is no code: its offset wrapped (the kernel's find_vma()
 * also answers for an address below a mapping), or its file is mapped
 * executable in p but not at that offset (a data word of the file that a
 * walk through code without frame pointers took for a return address). */
static bool bframe_not_code(const struct pf_ebpf_proc *p, const struct pf_bpf_bframe *f)
{
	char ids[3][PF_EBPF_BUILD_ID_HEX];
	bool file_mapped = false;
	int n;

	if (f->status != PF_BPF_BFRAME_VALID)
		return false;
	if (f->offset >= MAX_FILE_OFFSET)
		return true;
	n = bframe_ids(f, ids);
	for (size_t i = 0; p && i < p->maps.n; i++) {
		const struct pf_ebpf_mapping *m = &p->maps.maps[i];
		for (int j = 0; j < n; j++) {
			if (strcmp(m->build_id, ids[j]))
				continue;
			if (f->offset >= m->offset && f->offset - m->offset < m->end - m->start)
				return false;
			file_mapped = true;
		}
	}
	return file_mapped;
}

/* A frame the kernel resolved to build ID + file offset at sample time. */
static uint32_t bframe_location(struct pf_batch *b, const struct common *k,
				const struct pf_ebpf_decode_in *in, const struct pf_ebpf_proc *p,
				const struct pf_bpf_bframe *f)
{
	struct pf_location loc = {.address = f->offset, .attrs = k->type_native};
	char ids[3][PF_EBPF_BUILD_ID_HEX];
	const char *path = NULL;
	int n, i;

	if (f->status != PF_BPF_BFRAME_VALID)
		return user_location(b, k, p, f->offset); /* the kernel kept the address */
	n = bframe_ids(f, ids);
	for (i = 0; i < n; i++) {
		const struct pf_ebpf_mapping *m = mapping_of_file(p, ids[i], f->offset);
		if (m)
			return user_location(b, k, p, m->start + (f->offset - m->offset));
	}
	for (i = 0; i < n && !path; i++)
		path = in->build_id_path ? in->build_id_path(in->arg, ids[i]) : NULL;
	/* The file alone: address = file offset. Unknown, it is named by its ID. */
	i = path ? i - 1 : n - 1;
	loc.mapping = mapping_index(b, 0, UINT64_MAX, 0, path ? path : ids[i], ids[i]);
	if (loc.mapping == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_location(b, &loc, NULL, 0);
}

/* Why a user stack stopped short, as its marker frame's function name. */
static const char *const truncation_names[PF_BPF_TRUNC__COUNT] = {
	[PF_BPF_TRUNC_DEPTH] = "[truncated: deeper than 128 frames]",
	[PF_BPF_TRUNC_NO_MAPPING] = "[truncated: return address in no executable mapping]",
	[PF_BPF_TRUNC_NOT_CODE] = "[truncated: frame pointer led to no return address]",
	[PF_BPF_TRUNC_UNSUPPORTED] = "[truncated: call frame information not followed]",
	[PF_BPF_TRUNC_UNREADABLE] = "[truncated: stack memory unreadable]",
	[PF_BPF_TRUNC_BAD_FRAME] = "[truncated: caller frame not above its callee]",
	[PF_BPF_TRUNC_NO_FRAME_POINTER] = "[truncated: code without unwind info or frame pointer]",
	[PF_BPF_TRUNC_NO_TABLES] = "[truncated: unwind tables not loaded yet]",
};

/* The name of truncation reason `why`, for the marker frame and the summary. */
const char *pf_ebpf_truncation_name(uint32_t why)
{
	return why > 0 && why < PF_BPF_TRUNC__COUNT && truncation_names[why] ? truncation_names[why]
									     : "[truncated]";
}

/* The marker frame that ends a stack cut short: no address, no mapping,
 * a function that says why. */
static uint32_t truncation_location(struct pf_batch *b, const struct common *k, uint32_t why)
{
	struct pf_function fn = {.name = pf_batch_cstring(b, pf_ebpf_truncation_name(why))};
	struct pf_location loc = {.attrs = k->type_abort};
	struct pf_line line = {0};

	if (fn.name == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	line.function = pf_batch_function(b, &fn);
	if (line.function == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_location(b, &loc, &line, 1);
}

/* The stack of one record: kernel frames (leaf first), then user frames. */
static uint32_t stack_for(struct pf_batch *b, const struct common *k,
			  const struct pf_ebpf_decode_in *in, const struct pf_ebpf_record *rec,
			  const struct pf_ebpf_proc *p, uint32_t *locs)
{
	size_t n = 0;
	uint32_t truncated = rec->truncated;

	for (uint32_t i = 0; i < rec->n_kips && i < PF_BPF_MAX_FRAMES; i++) {
		struct pf_location loc = {
			.mapping = k->kernel_mapping,
			.attrs = k->type_kernel,
			.address = rec->kips[i],
		};
		if ((locs[n++] = pf_batch_location(b, &loc, NULL, 0)) == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
	}
	for (uint32_t i = 0; i < rec->n_uips && i < PF_BPF_MAX_FRAMES; i++)
		if ((locs[n++] = user_location(b, k, p, rec->uips[i])) == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
	/* The kernel walked a build-ID stack by frame pointer, before the
	 * process's tables were loaded: not known to be complete. */
	if (!rec->n_uips && rec->n_ubf)
		truncated = PF_BPF_TRUNC_NO_TABLES;
	for (uint32_t i = 0; !rec->n_uips && i < rec->n_ubf && i < PF_BPF_MAX_FRAMES; i++) {
		const struct pf_bpf_bframe *f = &rec->ubf[i];
		/* The kernel's walk went on past it: what follows is no
		 * frame either. */
		if (bframe_not_code(p, f)) {
			if (in->not_code)
				*in->not_code += rec->count;
			truncated = PF_BPF_TRUNC_NOT_CODE;
			break;
		}
		if ((locs[n++] = bframe_location(b, k, in, p, f)) == PF_INDEX_ERROR)
			return PF_INDEX_ERROR;
	}
	if (n > rec->n_kips && truncated &&
	    (locs[n++] = truncation_location(b, k, truncated)) == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_stack(b, locs, n);
}

static uint32_t thread_attrs(struct pf_batch *b, const struct pf_ebpf_record *rec)
{
	char name[PF_BPF_COMM_LEN + 1];
	uint32_t a[2];

	memcpy(name, rec->comm, PF_BPF_COMM_LEN);
	name[PF_BPF_COMM_LEN] = '\0';
	a[0] = pf_batch_attr_int(b, PF_ATTR_THREAD_ID, rec->tid);
	a[1] = pf_batch_attr_str(b, PF_ATTR_THREAD_NAME, name);
	if (a[0] == PF_INDEX_ERROR || a[1] == PF_INDEX_ERROR)
		return PF_INDEX_ERROR;
	return pf_batch_attr_set(b, a, 2);
}

/* Adds the profiles of records[0..n), all of one pid and image. Returns
 * samples added or -ENOMEM. */
static int add_process(struct pf_batch *b, const struct pf_ebpf_decode_in *in,
		       const struct common *k, const struct pf_ebpf_record *const *recs, size_t n,
		       uint32_t *locs)
{
	const struct pf_ebpf_proc *p =
		in->lookup && !recs[0]->other_image ? in->lookup(in->arg, recs[0]->pid) : NULL;
	struct pf_profile_desc d = {
		.scope = k->scope,
		.period_type = k->cpu,
		.period = k->period,
		.time_unix_nano = in->time_unix_nano,
		.duration_nano = in->duration_nano,
	};
	uint32_t count_p, cpu_p;
	int added = 0;

	d.resource = resource_for(b, in, recs[0], p);
	if (d.resource == PF_INDEX_ERROR)
		return -ENOMEM;
	d.sample_type = k->samples;
	count_p = pf_batch_add_profile(b, &d);
	d.sample_type = k->cpu;
	cpu_p = pf_batch_add_profile(b, &d);
	if (count_p == PF_INDEX_ERROR || cpu_p == PF_INDEX_ERROR)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct pf_ebpf_record *rec = recs[i];
		int64_t count = (int64_t)rec->count, cpu = count * k->period;
		uint32_t stack, attrs;

		stack = stack_for(b, k, in, rec, p, locs);
		attrs = thread_attrs(b, rec);
		if (stack == PF_INDEX_ERROR || attrs == PF_INDEX_ERROR)
			return -ENOMEM;
		if (pf_batch_add_sample(b, count_p, stack, attrs, 0, &count, 1, NULL, 0) < 0 ||
		    pf_batch_add_sample(b, cpu_p, stack, attrs, 0, &cpu, 1, NULL, 0) < 0)
			return -ENOMEM;
		added += 2;
	}
	return added;
}

int pf_ebpf_decode(struct pf_batch *b, const struct pf_ebpf_decode_in *in)
{
	const struct pf_ebpf_record **order;
	struct common k;
	uint32_t *locs;
	size_t n = 0;
	int ret, total = 0;

	if (in->n_records == 0)
		return 0;
	order = calloc(in->n_records, sizeof(*order));
	locs = calloc(2 * PF_BPF_MAX_FRAMES + 1, sizeof(*locs));
	if (!order || !locs) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < in->n_records; i++)
		if (in->records[i].count > 0)
			order[n++] = &in->records[i];
	if (n == 0) {
		ret = 0;
		goto out_free;
	}
	ret = common_init(b, in, &k);
	if (ret < 0)
		goto out_free;
	qsort(order, n, sizeof(*order), cmp_pid);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && order[j]->pid == order[i]->pid &&
		       order[j]->other_image == order[i]->other_image)
			j++;
		ret = add_process(b, in, &k, order + i, j - i, locs);
		if (ret < 0)
			goto out_free;
		total += ret;
		i = j;
	}
	ret = total;

out_free:
	free(locs);
	free(order);
	return ret;
}

int pf_ebpf_event_decode(const void *data, size_t size, struct pf_bpf_event *out)
{
	if (!data || size < sizeof(*out))
		return -EINVAL;
	memcpy(out, data, sizeof(*out));
	if (out->type != PF_BPF_EV_EXEC && out->type != PF_BPF_EV_EXIT &&
	    out->type != PF_BPF_EV_MAPS_STALE)
		return -EINVAL;
	out->comm[PF_BPF_COMM_LEN - 1] = '\0';
	out->filename[PF_BPF_PATH_LEN - 1] = '\0';
	return 0;
}
