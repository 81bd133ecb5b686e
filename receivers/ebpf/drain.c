// SPDX-License-Identifier: Apache-2.0
/* Double-buffered drain: flip the BPF program to the other maps, read and clear the old ones, emit a batch. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpf/profile.skel.h"
#include "ebpf.h"
#include "host/unwind_row.h"
#include "model/batch.h"

#define BATCH_STACKS	256   /* stacks read per syscall: 256 KiB of frames */
#define RESCAN_EVERY_MS 10000 /* re-reads of maps for addresses in none of them */

/* One stack read from the old stack map. */
struct stack_ref {
	uint64_t id;
	uint32_t n;   /* frames */
	uint32_t off; /* into the frame pool */
};

/* The stacks read from one stack map: refs sorted by id into a pool of frames. */
struct stack_set {
	struct stack_ref *refs;
	size_t n_refs, cap_refs;
	void *frames; /* every stack's frames, back to back */
	size_t frame_size, n_frames, cap_frames;
};

struct drained {
	struct pf_bpf_key *keys;
	__u64 *counts;
	size_t n;
	struct stack_set plain; /* uint64_t frames */
	struct stack_set bids;	/* struct pf_bpf_bframe frames */
	struct pf_ebpf_record *records;
	size_t n_records;
};

static const struct pf_logger *lg(const struct ebpf_recv *r)
{
	return pf_component_logger(r->c);
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ebpf_flip(struct ebpf_recv *r)
{
	/* A count, not a bit: the BPF program's per-CPU memory of stack ids
	 * stored is valid for one flip only. */
	__u32 next = r->skel->bss->active + 1;

	__atomic_store_n(&r->skel->bss->active, next, __ATOMIC_SEQ_CST);
	r->gen++;
}

/* Reads and deletes every entry of the old counts map. */
static int read_counts(struct ebpf_recv *r, int fd, struct drained *d)
{
	size_t cap = (size_t)r->cfg.map_size;
	__u32 batch_out = 0;
	void *in = NULL;
	int ret;

	d->keys = calloc(cap, sizeof(*d->keys));
	d->counts = calloc(cap, sizeof(*d->counts));
	if (!d->keys || !d->counts)
		return -ENOMEM;
	for (;;) {
		__u32 count = (__u32)(cap - d->n);
		if (count == 0)
			break;
		ret = bpf_map_lookup_and_delete_batch(fd, in, &batch_out, d->keys + d->n,
						      d->counts + d->n, &count, NULL);
		d->n += count;
		if (ret < 0 && errno == ENOENT)
			break;
		if (ret < 0)
			return -errno;
		in = &batch_out;
	}
	return 0;
}

static int cmp_ref(const void *a, const void *b)
{
	const struct stack_ref *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct stack_ref *find_stack(const struct stack_set *set, uint64_t id)
{
	struct stack_ref key = {.id = id};

	if (id <= PF_BPF_STACK_LOST || !set->n_refs)
		return NULL;
	return bsearch(&key, set->refs, set->n_refs, sizeof(key), cmp_ref);
}

static const void *stack_frames(const struct stack_set *set, const struct stack_ref *ref)
{
	return (const char *)set->frames + (size_t)ref->off * set->frame_size;
}

/* Keeps the first n frames of one stack. */
static int add_stack(struct stack_set *set, uint64_t id, const void *frames, uint32_t n)
{
	if (set->n_refs == set->cap_refs) {
		size_t cap = set->cap_refs ? set->cap_refs * 2 : 256;
		struct stack_ref *grown = reallocarray(set->refs, cap, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		set->refs = grown;
		set->cap_refs = cap;
	}
	while (set->n_frames + n > set->cap_frames) {
		size_t cap = set->cap_frames ? set->cap_frames * 2 : 8192;
		void *grown = reallocarray(set->frames, cap, set->frame_size);
		if (!grown || cap > UINT32_MAX)
			return -ENOMEM;
		set->frames = grown;
		set->cap_frames = cap;
	}
	memcpy((char *)set->frames + set->n_frames * set->frame_size, frames, n * set->frame_size);
	set->refs[set->n_refs++] =
		(struct stack_ref){.id = id, .n = n, .off = (uint32_t)set->n_frames};
	set->n_frames += n;
	return 0;
}

/* Frames before the first empty one. */
static uint32_t plain_depth(const void *value)
{
	const struct pf_bpf_stack *st = value;
	uint32_t n = 0;

	while (n < PF_BPF_MAX_FRAMES && st->ips[n])
		n++;
	return n;
}

static uint32_t bid_depth(const void *value)
{
	const struct pf_bpf_bstack *st = value;
	uint32_t n = 0;

	while (n < PF_BPF_MAX_BFRAMES && st->frames[n].status != PF_BPF_BFRAME_EMPTY)
		n++;
	return n;
}

/* Reads and deletes every stack of an old stack map whose values are
 * value_size bytes of frames, depth() of them in use. */
static int read_stacks(int fd, size_t value_size, uint32_t (*depth)(const void *),
		       struct stack_set *set)
{
	__u64 ids[BATCH_STACKS], batch_out = 0;
	char *vals;
	void *in = NULL;
	int ret = 0;

	vals = calloc(BATCH_STACKS, value_size);
	if (!vals)
		return -ENOMEM;
	for (;;) {
		__u32 count = BATCH_STACKS;
		int rc = bpf_map_lookup_and_delete_batch(fd, in, &batch_out, ids, vals, &count,
							 NULL);
		if (rc < 0 && errno != ENOENT) {
			ret = -errno;
			break;
		}
		for (__u32 i = 0; i < count && ret == 0; i++) {
			const char *v = vals + i * value_size;
			ret = add_stack(set, ids[i], v, depth(v));
		}
		if (rc < 0 || ret < 0)
			break; /* ENOENT: that was the last batch */
		in = &batch_out;
	}
	free(vals);
	/* An empty drain leaves set->refs NULL, which qsort must not see. */
	if (set->n_refs > 1)
		qsort(set->refs, set->n_refs, sizeof(*set->refs), cmp_ref);
	return ret;
}

/* Adds the per-CPU error counters to the totals and returns how many
 * samples the counts map refused since the last drain. */
static uint64_t read_errors(struct ebpf_recv *r)
{
	int fd = bpf_map__fd(r->skel->maps.errors);
	uint64_t lost = 0;
	__u64 *vals = calloc((size_t)r->n_cpus, sizeof(*vals));

	if (!vals)
		return 0;
	for (__u32 e = 0; e < PF_BPF_ERR__COUNT; e++) {
		uint64_t sum = 0;
		if (bpf_map_lookup_elem(fd, &e, vals) < 0)
			continue;
		for (int i = 0; i < r->n_cpus; i++)
			sum += vals[i];
		if (e == PF_BPF_ERR_COUNTS_FULL && sum > r->stats.bpf_errors[e])
			lost = sum - r->stats.bpf_errors[e];
		r->stats.bpf_errors[e] = sum;
	}
	free(vals);
	return lost;
}

/* The unwinder's counters and the tables' sizes, for self-telemetry. */
static void report_unwinding(struct ebpf_recv *r)
{
	const uint64_t *e = r->stats.bpf_errors;
	struct pf_ebpf_unwind_stats u;
	uint64_t complete = e[PF_BPF_ERR_USTACK_COMPLETE], cut = 0;

	for (uint32_t t = 1; t < PF_BPF_TRUNC__COUNT; t++)
		cut += e[PF_BPF_ERR_TRUNC_BASE + t];
	pf_ebpf_unwind_stats(r->unwind, &u);
	pf_component_count(r->c, PF_CTR_EBPF_STACKS_COMPLETE, complete - r->stats.told_complete);
	pf_component_count(r->c, PF_CTR_EBPF_STACKS_TRUNCATED, cut - r->stats.told_truncated);
	pf_component_count(r->c, PF_CTR_EBPF_TABLES_EVICTED, u.evicted - r->stats.told_evicted);
	r->stats.told_complete = complete;
	r->stats.told_truncated = cut;
	r->stats.told_evicted = u.evicted;
	pf_component_gauge(r->c, PF_GAUGE_UNWIND_TABLES, (int64_t)u.tables);
	pf_component_gauge(r->c, PF_GAUGE_UNWIND_ROW_BYTES,
			   (int64_t)(u.rows * sizeof(struct pf_unwind_row)));
	pf_component_gauge(r->c, PF_GAUGE_UNWIND_MAP_BYTES, (int64_t)u.map_bytes);
	pf_component_gauge(r->c, PF_GAUGE_UNWIND_USER_BYTES, (int64_t)u.user_bytes);
}

bool ebpf_comm_matches(const struct ebpf_recv *r, const char *thread, const char *proc)
{
	for (size_t i = 0; i < r->n_comm_re; i++)
		if (regexec(&r->comm_re[i], thread, 0, NULL, 0) == 0 ||
		    (proc && regexec(&r->comm_re[i], proc, 0, NULL, 0) == 0))
			return true;
	return false;
}

/* Learns of processes first seen in this drain and re-reads the maps of
 * those with frames outside every known mapping (libraries loaded since). */
static struct pf_ebpf_proc *proc_for(struct ebpf_recv *r, const struct pf_ebpf_record *rec,
				     uint64_t now_ms)
{
	struct pf_ebpf_proc *p = pf_ebpf_proctab_get(r->procs, rec->pid);
	bool gone;

	if (rec->pid == 0)
		return NULL;			 /* the idle task */
	if (!p || (!p->read_ok && !p->exited)) { /* new, or exec'd and not read yet */
		p = pf_ebpf_proctab_read(r->procs, rec->pid, &gone);
		if (gone) {
			r->stats.procs_gone++;
			pf_log(lg(r), PF_LOG_DEBUG, "pid %u (%.16s) gone before it was read",
			       rec->pid, rec->comm);
			if (p)
				p->exited = true; /* not looked for again; swept after this drain */
		}
		return p;
	}
	/* A frame-pointer walk through code built without them yields
	 * addresses in no mapping, every interval: re-read at most every
	 * RESCAN_EVERY_MS, not on every such frame. */
	if (p->exited || (p->rescan_at_ms && now_ms - p->rescan_at_ms < RESCAN_EVERY_MS))
		return p;
	for (uint32_t i = 0; i < rec->n_uips; i++) {
		if (!pf_procmaps_find(&p->maps, rec->uips[i] & ~PF_BPF_FRAME_BY_FP)) {
			p->rescan_at_ms = now_ms ? now_ms : 1;
			pf_ebpf_proctab_rescan(r->procs, p);
			break;
		}
	}
	return p;
}

static const struct pf_ebpf_proc *lookup(void *arg, uint32_t pid)
{
	struct ebpf_recv *r = arg;
	return pid ? pf_ebpf_proctab_get(r->procs, pid) : NULL;
}

static const char *build_id_path(void *arg, const char *build_id)
{
	struct ebpf_recv *r = arg;
	return pf_ebpf_proctab_build_id_path(r->procs, build_id);
}

/* Turns counts into records; drops (and counts) those whose stacks were lost. */
static int make_records(struct ebpf_recv *r, struct drained *d)
{
	uint64_t full = 0, gone = 0, filtered = 0;

	d->records = calloc(d->n + 1, sizeof(*d->records));
	if (!d->records)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++) {
		const struct pf_bpf_key *k = &d->keys[i];
		struct pf_ebpf_record *rec = &d->records[d->n_records];
		bool bid = k->ustack & PF_BPF_STACK_BUILD_ID;
		const struct stack_ref *ks = find_stack(&d->plain, k->kstack);
		const struct stack_ref *us = find_stack(bid ? &d->bids : &d->plain, k->ustack);
		const struct pf_ebpf_proc *known = pf_ebpf_proctab_get(r->procs, k->pid);
		char comm[PF_BPF_COMM_LEN + 1];

		*rec = (struct pf_ebpf_record){0}; /* the slot may hold a filtered record */
		if (k->kstack == PF_BPF_STACK_LOST || k->ustack == PF_BPF_STACK_LOST) {
			full += d->counts[i];
			continue;
		}
		if ((k->kstack > PF_BPF_STACK_LOST && !ks) ||
		    (k->ustack > PF_BPF_STACK_LOST && !us)) {
			gone += d->counts[i];
			continue;
		}
		rec->pid = k->pid;
		rec->tid = k->tid;
		memcpy(rec->comm, k->comm, sizeof(rec->comm));
		rec->count = d->counts[i];
		/* Before its exec the pid ran another program (a shell's child
		 * between fork and exec): neither its name nor its maps are
		 * those the table holds now. */
		rec->other_image = known && known->exec_known && known->exec_id != k->exec_id;
		if (rec->other_image)
			known = NULL;
		if (ks) {
			rec->kips = stack_frames(&d->plain, ks);
			rec->n_kips = ks->n;
		}
		if (us && bid) {
			rec->ubf = stack_frames(&d->bids, us);
			rec->n_ubf = us->n;
		} else if (us) {
			rec->uips = stack_frames(&d->plain, us);
			rec->n_uips = us->n;
			if (rec->n_uips && rec->uips[rec->n_uips - 1] >= PF_BPF_FRAME_TRUNCATED) {
				rec->truncated = (uint32_t)(rec->uips[rec->n_uips - 1] -
							    PF_BPF_FRAME_TRUNCATED);
				rec->n_uips--;
			}
		}
		if (r->n_comm_re) {
			/* Before reading /proc: the thread's name, or the name of
			 * a process already known (exec events fill those). */
			memcpy(comm, k->comm, PF_BPF_COMM_LEN);
			comm[PF_BPF_COMM_LEN] = '\0';
			if (!ebpf_comm_matches(r, comm, known ? known->comm : NULL)) {
				filtered += rec->count;
				continue;
			}
		}
		if (!rec->other_image) /* /proc tells of the image now running */
			proc_for(r, rec, uv_now(r->loop));
		d->n_records++;
	}
	if (full)
		pf_component_drop(r->c, "stack_map_full", full);
	if (gone) {
		r->stats.stack_gone += gone;
		pf_component_drop(r->c, "stack_gone", gone);
	}
	(void)filtered; /* filtered by configuration: not a loss */
	return 0;
}

static void drained_free(struct drained *d)
{
	free(d->records);
	free(d->plain.frames);
	free(d->plain.refs);
	free(d->bids.frames);
	free(d->bids.refs);
	free(d->counts);
	free(d->keys);
}

void ebpf_drain(struct ebpf_recv *r)
{
	__u32 old = (r->skel->bss->active & 1) ^ 1;
	int counts_fd = bpf_map__fd(old ? r->skel->maps.counts1 : r->skel->maps.counts0);
	int stacks_fd = bpf_map__fd(old ? r->skel->maps.stacks1 : r->skel->maps.stacks0);
	int bstacks_fd = bpf_map__fd(old ? r->skel->maps.bstacks1 : r->skel->maps.bstacks0);
	uint64_t now = wall_ns(), problems;
	struct drained d = {.plain.frame_size = sizeof(uint64_t),
			    .bids.frame_size = sizeof(struct pf_bpf_bframe)};
	struct pf_batch *b = NULL;
	uint64_t lost;
	int ret;

	r->stats.drains++;
	/* Exec events of images whose samples are in this drain: read now,
	 * their samples are decoded with their maps. */
	ebpf_events_consume(r);
	ret = read_counts(r, counts_fd, &d);
	if (ret == 0)
		ret = read_stacks(stacks_fd, sizeof(struct pf_bpf_stack), plain_depth, &d.plain);
	if (ret == 0)
		ret = read_stacks(bstacks_fd, sizeof(struct pf_bpf_bstack), bid_depth, &d.bids);
	if (ret == 0)
		ret = make_records(r, &d);
	lost = read_errors(r);
	if (lost)
		pf_component_drop(r->c, "map_full", lost);
	report_unwinding(r);
	if (ret < 0) {
		pf_log(lg(r), PF_LOG_WARN, "reading the BPF maps failed: %s", strerror(-ret));
		goto out_free;
	}
	/* Incomplete but emitted: processes gone unread, truncated stacks. */
	problems = r->stats.procs_gone + r->stats.bpf_errors[PF_BPF_ERR_KSTACK_TRUNCATED] +
		   r->stats.bpf_errors[PF_BPF_ERR_USTACK_TRUNCATED];
	if (problems > r->stats.reported)
		pf_component_count(r->c, PF_CTR_INPUT_ERRORS, problems - r->stats.reported);
	r->stats.reported = problems;
	if (d.n_records) {
		struct pf_ebpf_decode_in in = {
			.host_name = pf_component_host_name(r->c),
			.frequency = r->cfg.frequency,
			.time_unix_nano = r->interval_start_ns,
			.duration_nano =
				now > r->interval_start_ns ? now - r->interval_start_ns : 0,
			.records = d.records,
			.n_records = d.n_records,
			.lookup = lookup,
			.build_id_path = build_id_path,
			.arg = r,
			.not_code = &r->stats.bstack_not_code,
		};
		b = pf_batch_new();
		ret = b ? pf_ebpf_decode(b, &in) : -ENOMEM;
		if (ret < 0) {
			pf_log(lg(r), PF_LOG_WARN, "building the batch failed: %s", strerror(-ret));
			goto out_free;
		}
		for (size_t i = 0; i < d.n_records; i++)
			r->stats.samples += d.records[i].count;
		pf_log(lg(r), PF_LOG_DEBUG,
		       "drained %zu counts, %zu stacks, %zu build-ID stacks, %zu processes known",
		       d.n, d.plain.n_refs, d.bids.n_refs, pf_ebpf_proctab_size(r->procs));
		ret = pf_component_emit(r->c, b);
		if (ret == PF_BUSY)
			pf_component_drop(r->c, "busy", pf_batch_sample_count(b));
		else if (ret < 0)
			pf_log(lg(r), PF_LOG_WARN, "passing the profile on failed: %s",
			       strerror(-ret));
	}
out_free:
	pf_batch_unref(b);
	drained_free(&d);
	r->interval_start_ns = now;
	/* Samples of processes that exited before the flip are now out. */
	pf_ebpf_proctab_sweep(r->procs, r->gen);
	pf_ebpf_unwind_collect(r->unwind);
}
