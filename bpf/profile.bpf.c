// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* Counts (process, thread, kernel stack, user stack) on a per-CPU clock and reports exec/exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "profile.h"
#include "unwind.bpf.h"

#define EEXIST 17
#define EFAULT 14

/* Knobs set by user space between open and load. */
const volatile bool include_kernel = true;
const volatile bool include_idle = false;
const volatile bool filter_pids = false;    /* keep only pids marked PF_BPF_PID_KEEP */
const volatile bool use_pid_filter = false; /* pid_filter has entries */
const volatile __u32 self_pid = 0;	    /* proflow itself, left out; 0: none */
/* A thread that has run for less than this (ns of CPU) in a process
 * exec'd whose maps user space has not read yet (it is in `unread`) has its
 * user stacks taken as build ID + file offset: the process may be gone
 * before user space reads them. 0: never. */
const volatile __u64 fresh_ns = 0;
const volatile bool debug = false;

/* Flips so far: samples go to buffer active & 1 (counts0/stacks0 or
 * counts1/stacks1); user space counts it up and then drains the other one. */
__u32 active = 0;

/* Sizes are set by user space before load (map_size); these are defaults. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct pf_bpf_key);
	__type(value, __u64);
} counts0 SEC(".maps"), counts1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pf_bpf_stack);
} stacks0 SEC(".maps"), stacks1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2048);
	__type(key, __u64);
	__type(value, struct pf_bpf_bstack);
} bstacks0 SEC(".maps"), bstacks1 SEC(".maps");

/* Processes exec'd whose maps user space has not read: pid -> start time.
 * The exec tracepoint adds them; user space deletes them once read. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} unread SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} pid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PF_BPF_ERR__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} errors SEC(".maps");

/* Stack ids this CPU stored in the active stack map: most samples repeat a
 * recent stack, and then skip the map lookup. */
#define SEEN_SLOTS 64

/* The key and a stack are built here: a stack is twice the BPF stack. */
struct scratch {
	struct pf_bpf_key key;
	__u32 seen_flip; /* `active` when seen[] was filled */
	__u32 pad;
	__u64 seen[SEEN_SLOTS];
	struct pf_unwind_state uw;
	union {
		struct pf_bpf_stack stack;
		struct pf_bpf_bstack bstack;
	};
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* 1 MiB: about 3,500 events of 296 bytes, a second of a build storm's
 * execs and exits while the loop is busy elsewhere. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

static __always_inline void count_errors(__u32 e, __u64 k)
{
	__u64 *n = bpf_map_lookup_elem(&errors, &e);

	if (n)
		*n += k; /* per-CPU: no atomics needed */
}

static __always_inline void count_error(__u32 e)
{
	count_errors(e, 1);
}

/* A 63-bit hash of the first n frames, never 0 or 1 (the top bit marks
 * build-ID stacks). */
static __always_inline __u64 hash_frames(const __u64 *ips, __u32 n)
{
	__u64 h = 0xcbf29ce484222325ULL ^ n;

	for (__u32 i = 0; i < PF_BPF_MAX_FRAMES; i++) {
		if (i >= n)
			break;
		h ^= ips[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 32;
	}
	h &= ~PF_BPF_STACK_BUILD_ID;
	return h < 2 ? h + 2 : h;
}

/* Keeps the first n frames of st in `stacks` under their hash; returns the id. */
static __always_inline __u64 store_stack(struct scratch *s, struct pf_bpf_stack *st, __u32 n,
					 void *stacks, __u32 err_full)
{
	__u64 id = hash_frames(st->ips, n);
	__u64 *seen = &s->seen[id & (SEEN_SLOTS - 1)];
	long err;

	if (*seen == id)
		return id;
	if (!bpf_map_lookup_elem(stacks, &id)) {
		err = bpf_map_update_elem(stacks, &id, st, BPF_NOEXIST);
		if (err && err != -EEXIST) {
			count_error(err_full);
			return PF_BPF_STACK_LOST;
		}
	}
	*seen = id;
	return id;
}

/* The kernel stack, unwound by the kernel (ORC or frame pointers). */
static __always_inline __u64 kernel_stack(void *ctx, struct scratch *s, void *stacks)
{
	struct pf_bpf_stack *st = &s->stack;
	long len = bpf_get_stack(ctx, st->ips, sizeof(st->ips), 0);
	__u32 n;

	if (len <= 0)
		return PF_BPF_STACK_NONE; /* sampled in user mode */
	n = (__u32)len / sizeof(__u64);
	if (n >= PF_BPF_MAX_FRAMES)
		count_error(PF_BPF_ERR_KSTACK_TRUNCATED);
	/* bpf_get_stack zeroed the frames past n. */
	return store_stack(s, st, n, stacks, PF_BPF_ERR_KSTACK_FULL);
}

#define SCAN_SLOTS 8

static __always_inline void send_event(__u32 type, __u32 pid, __u32 old_pid, __u32 exec_id,
				       struct linux_binprm *bprm)
{
	struct pf_bpf_event *ev;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_error(PF_BPF_ERR_EVENTS_FULL);
		return;
	}
	ev->type = type;
	ev->pid = pid;
	ev->old_pid = old_pid;
	ev->exec_id = exec_id;
	ev->time_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->filename[0] = '\0';
	if (bprm)
		bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename),
					  BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(ev, 0);
}

/* Processes told stale lately: pid -> bpf_ktime_get_ns() of the event. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} stale_told SEC(".maps");

/* Asks user space to read pid's maps again, at most every PF_BPF_STALE_NS. */
static __always_inline void report_stale_maps(__u32 pid)
{
	__u64 now = bpf_ktime_get_ns(), *told = bpf_map_lookup_elem(&stale_told, &pid);

	if (told && now - *told < PF_BPF_STALE_NS)
		return;
	bpf_map_update_elem(&stale_told, &pid, &now, BPF_ANY);
	send_event(PF_BPF_EV_MAPS_STALE, pid, 0, 0, NULL);
}

/* A sample in a system call stopped in its libc wrapper, right after the
 * `syscall` instruction. The wrappers set up no frame, so the frame-pointer
 * walk would skip their caller: find the return address on the stack (the
 * first slot that follows a call instruction) and keep it as frame 1, unless
 * the walk finds it anyway. Returns the frames now in st. */
static __always_inline __u32 syscall_caller(struct pf_bpf_stack *st, __u64 ip, __u64 sp, __u64 fp)
{
	__u64 slots[SCAN_SLOTS];
	__u16 insn;
	__u64 first = 0;

	if (bpf_probe_read_user(&insn, sizeof(insn), (void *)(ip - 2)) < 0 || insn != 0x050f)
		return 1;
	if (bpf_probe_read_user(slots, sizeof(slots), (void *)sp) < 0)
		return 1;
	if (fp)
		bpf_probe_read_user(&first, sizeof(first), (void *)(fp + 8));
	for (int k = 0; k < SCAN_SLOTS; k++) {
		__u64 v = slots[k];
		if (v < 4096 || v == first)
			continue;
		if (sp + 8 * k >= fp && fp)
			break; /* past the wrapper's own stack: the walk takes over */
		if (pf_is_return_address(v)) {
			st->ips[1] = v | PF_BPF_FRAME_BY_FP; /* found by a scan: no better */
			return 2;
		}
	}
	return 1;
}

/* The user stack: by the process's unwind tables (CFI) when user space
 * has loaded them, else by frame pointers. A stack that does not reach
 * its outermost frame ends with a PF_BPF_FRAME_TRUNCATED marker. */
static __always_inline __u64 user_stack(struct bpf_perf_event_data *ctx, struct task_struct *task,
					struct scratch *s, void *stacks, bool in_user)
{
	struct pf_bpf_stack *st = &s->stack;
	struct pf_unwind_state *u = &s->uw;
	__u64 fp, ip, sp;
	__u32 n = 1;
	int rc;

	if (!task->mm)
		return PF_BPF_STACK_NONE; /* a kernel thread */
	/* Loaded here, whichever is used: the verifier refuses a context
	 * load the compiler would otherwise merge with the pt_regs loads. */
	ip = ctx->regs.ip; /* interrupted in user mode */
	fp = ctx->regs.bp;
	sp = ctx->regs.sp;
	barrier_var(ip);
	barrier_var(fp);
	barrier_var(sp);
	if (!in_user) { /* in the kernel: the registers saved at entry */
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
		if (!regs)
			return PF_BPF_STACK_NONE;
		ip = regs->ip; /* loads, not helper calls: regs is a trusted pointer */
		fp = regs->bp;
		sp = regs->sp;
	}
	if (!ip)
		return PF_BPF_STACK_NONE;
	st->ips[0] = ip;
	rc = unwind_begin(u, task->tgid, (__u32)task->self_exec_id, ip, sp, fp);
	if (rc == 0 && !u->n) {
		count_error(PF_BPF_ERR_USTACK_NO_TABLES);
		if (!in_user)
			n = syscall_caller(st, ip, sp, fp);
	}
	for (__u32 i = n; i < PF_BPF_MAX_FRAMES - 1 && rc == STEP_MORE; i++) {
		rc = pf_unwind_step(u);
		if (rc != STEP_MORE)
			break;
		st->ips[i] = u->pc | (u->by_fp ? PF_BPF_FRAME_BY_FP : 0);
		n = i + 1;
	}
	if (rc == STEP_MORE) { /* the stack is full: complete only if that was all */
		rc = pf_unwind_step(u);
		if (rc == STEP_MORE)
			rc = -PF_BPF_TRUNC_DEPTH;
	} else if (rc == STEP_DONE && !u->n)
		rc = -PF_BPF_TRUNC_NO_TABLES;
	if (rc == -PF_BPF_TRUNC_NO_MAPPING && u->n)
		report_stale_maps(task->tgid);
	if (rc < 0 && n < PF_BPF_MAX_FRAMES) {
		__u32 why = (__u32)-rc;

		if (why < PF_BPF_TRUNC__COUNT) {
			st->ips[n] = PF_BPF_FRAME_TRUNCATED + why;
			n++;
			count_error(PF_BPF_ERR_TRUNC_BASE + why);
		}
	} else if (rc == STEP_DONE) {
		count_error(PF_BPF_ERR_USTACK_COMPLETE);
	}
	count_errors(PF_BPF_ERR_USTACK_CFI_FRAMES, u->cfi_frames);
	count_errors(PF_BPF_ERR_USTACK_FP_FRAMES, u->fp_frames);
	if (n < PF_BPF_MAX_FRAMES)
		st->ips[n] = 0; /* the scratch holds older frames */
	return store_stack(s, st, n, stacks, PF_BPF_ERR_USTACK_FULL);
}

/* True for a process user space has not read yet, young enough that it
 * may be gone before it does. Young by the thread's CPU time, a field the
 * task holds: other threads pay two loads here, no map lookup, no clock. */
static __always_inline bool is_fresh(struct task_struct *task, __u32 pid)
{
	__u64 *unread_start;

	if (task->se.sum_exec_runtime >= fresh_ns)
		return false;
	unread_start = bpf_map_lookup_elem(&unread, &pid);
	/* Not an earlier process's entry under a reused pid. */
	return unread_start && *unread_start == task->group_leader->start_time;
}

/* A 64-bit hash of the first n build-ID frames with PF_BPF_STACK_BUILD_ID set. */
static __always_inline __u64 hash_bframes(const struct pf_bpf_bstack *st, __u32 n)
{
	const __u64 *w = (const __u64 *)st->frames;
	__u64 h = 0x84222325cbf29ce4ULL ^ n;

	for (__u32 i = 0; i < PF_BPF_MAX_BFRAMES * 4; i++) {
		if (i >= n * 4)
			break;
		h ^= w[i];
		h *= 0x100000001b3ULL;
		h ^= h >> 32;
	}
	return h | PF_BPF_STACK_BUILD_ID;
}

/* The kernel's walk takes any word for a return address. The frames past
 * the leaf it found no file for (status IP: anonymous memory, or every
 * frame while the task holds its mmap lock) are checked as the plain walk
 * checks its own: st ends before the first that is no code. Frames with a
 * file are checked in user space, against its mappings. Returns the frames
 * kept of n. A global function: the verifier checks it once. */
__noinline int pf_bstack_code_frames(struct pf_bpf_bstack *st, __u32 n)
{
	if (!st)
		return 0;
	for (__u32 i = 1; i < PF_BPF_MAX_BFRAMES; i++) {
		if (i >= n)
			break;
		if (st->frames[i].status == PF_BPF_BFRAME_IP &&
		    !pf_is_return_address(st->frames[i].offset)) {
			st->frames[i].status = PF_BPF_BFRAME_EMPTY;
			return (int)i;
		}
	}
	return (int)n;
}

/* The user stack as build ID + file offset per frame, resolved by the
 * kernel now, while the mappings exist. Returns the id, or
 * PF_BPF_STACK_LOST when the caller should take the plain walk instead. */
static __always_inline __u64 user_bstack(void *ctx, struct pf_bpf_bstack *st, void *bstacks)
{
	long len = bpf_get_stack(ctx, st->frames, sizeof(st->frames),
				 BPF_F_USER_STACK | BPF_F_USER_BUILD_ID);
	__u64 id;
	__u32 n, k;
	long err;

	if (len <= 0)
		return PF_BPF_STACK_LOST;
	n = (__u32)len / sizeof(st->frames[0]);
	if (n >= PF_BPF_MAX_BFRAMES)
		count_error(PF_BPF_ERR_USTACK_TRUNCATED);
	k = pf_bstack_code_frames(st, n);
	if (k < n) {
		count_error(PF_BPF_ERR_USTACK_NOT_CODE);
		n = k;
	}
	/* Frame n is empty: bpf_get_stack zeroed those past its last, or the
	 * cut above emptied it. */
	id = hash_bframes(st, n);
	if (bpf_map_lookup_elem(bstacks, &id))
		return id;
	err = bpf_map_update_elem(bstacks, &id, st, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		count_error(PF_BPF_ERR_BSTACK_FULL);
		return PF_BPF_STACK_LOST;
	}
	return id;
}

static __always_inline void add_sample(void *counts, struct pf_bpf_key *key)
{
	__u64 one = 1, *n;
	long err;

	n = bpf_map_lookup_elem(counts, key);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	err = bpf_map_update_elem(counts, key, &one, BPF_NOEXIST);
	if (err == -EEXIST) { /* another CPU added it meanwhile */
		n = bpf_map_lookup_elem(counts, key);
		if (n)
			__sync_fetch_and_add(n, 1);
	} else if (err) {
		count_error(PF_BPF_ERR_COUNTS_FULL);
	}
}

SEC("perf_event")
int pf_sample(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 pid = task->tgid, zero = 0, flip = active, which = flip & 1;
	void *stacks = which ? (void *)&stacks1 : (void *)&stacks0;
	struct scratch *s;
	__u32 *filter;
	bool in_user;

	if ((pid == 0 && !include_idle) || (self_pid && pid == self_pid))
		return 0;
	if (use_pid_filter) { /* a map lookup only when pids are configured */
		filter = bpf_map_lookup_elem(&pid_filter, &pid);
		if (filter && *filter == PF_BPF_PID_SKIP)
			return 0;
		if (filter_pids && !(filter && *filter == PF_BPF_PID_KEEP))
			return 0;
	}
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	if (s->seen_flip != flip) { /* the ids seen are in the other buffer */
		for (int i = 0; i < SEEN_SLOTS; i++)
			s->seen[i] = 0;
		s->seen_flip = flip;
	}
	s->key.pid = pid;
	s->key.tid = task->pid;
	/* Loads rather than bpf_get_current_comm(): the kernel keeps comm
	 * NUL-padded (strscpy_pad), and a helper call costs more. */
	*(__u64 *)&s->key.comm[0] = *(__u64 *)&task->comm[0];
	*(__u64 *)&s->key.comm[8] = *(__u64 *)&task->comm[8];
	s->key.kstack = PF_BPF_STACK_NONE;
	s->key.ustack = PF_BPF_STACK_NONE;
	s->key.exec_id = (__u32)task->self_exec_id;
	s->key.pad = 0;
	/* The context allows 8-byte loads only; cs is a 2-byte union member
	 * in recent kernels. */
	in_user = *(__u64 *)((void *)&ctx->regs + __builtin_offsetof(struct pt_regs, cs)) & 3;
	if (include_kernel && !in_user)
		s->key.kstack = kernel_stack(ctx, s, stacks);
	if (pid) {
		__u64 u = PF_BPF_STACK_LOST;

		if (fresh_ns && is_fresh(task, pid)) {
			u = user_bstack(ctx, &s->bstack,
					which ? (void *)&bstacks1 : (void *)&bstacks0);
			if (u != PF_BPF_STACK_LOST)
				count_error(PF_BPF_ERR_TRUNC_BASE + PF_BPF_TRUNC_NO_TABLES);
		}
		if (u == PF_BPF_STACK_LOST)
			u = user_stack(ctx, task, s, stacks, in_user);
		s->key.ustack = u;
	}
	if (debug)
		bpf_printk("sample pid %u tid %u k %llx u %llx", pid, s->key.tid, s->key.kstack,
			   s->key.ustack);
	add_sample(which ? (void *)&counts1 : (void *)&counts0, &s->key);
	return 0;
}

/* Raw tracepoints: attached by name, without tracefs. */
SEC("raw_tp/sched_process_exec")
int pf_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 start = task->start_time;

	if (fresh_ns)
		bpf_map_update_elem(&unread, &pid, &start, BPF_ANY);
	/* The old image's mappings are not the new one's. */
	bpf_map_delete_elem(&unwind_procs, &pid);
	/* args: struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm */
	/* After the exec: self_exec_id counts the new image already. */
	send_event(PF_BPF_EV_EXEC, pid, (__u32)ctx->args[1], (__u32)task->self_exec_id,
		   (struct linux_binprm *)ctx->args[2]);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int pf_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;

	if ((__u32)id != pid)
		return 0; /* a thread, not the process */
	if (fresh_ns)
		bpf_map_delete_elem(&unread, &pid);
	send_event(PF_BPF_EV_EXIT, pid, 0, 0, NULL);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
