// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* Counts (process, thread, kernel stack, user stack) on a per-CPU clock and reports exec/exit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "profile.h"

#define EEXIST 17
#define ENOMEM 12
#define EFAULT 14

/* Knobs set by user space between open and load. */
const volatile bool include_kernel = true;
const volatile bool include_idle = false;
const volatile bool filter_pids = false; /* keep only pids marked PF_BPF_PID_KEEP */
const volatile bool debug = false;

/* Which of the two buffers (counts0/stacks0 or counts1/stacks1) samples go
 * to; user space flips it and then drains the other one. */
__u32 active = 0;

/* Sizes are set by user space before load (map_size); these are defaults. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct pf_bpf_key);
	__type(value, __u64);
} counts0 SEC(".maps"), counts1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, PF_BPF_MAX_FRAMES * sizeof(__u64));
} stacks0 SEC(".maps"), stacks1 SEC(".maps");

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

/* The key is built here rather than on the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pf_bpf_key);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline void count_error(__u32 e)
{
	__u64 *n = bpf_map_lookup_elem(&errors, &e);

	if (n)
		*n += 1; /* per-CPU: no atomics needed */
}

static __always_inline void count_stack_error(long err, __u32 collision, __u32 full)
{
	if (err == -EEXIST)
		count_error(collision);
	else if (err == -ENOMEM)
		count_error(full);
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
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, zero = 0;
	struct pf_bpf_key *key;
	__u32 *filter;

	if (pid == 0 && !include_idle)
		return 0;
	filter = bpf_map_lookup_elem(&pid_filter, &pid);
	if (filter && *filter == PF_BPF_PID_SKIP)
		return 0;
	if (filter_pids && !(filter && *filter == PF_BPF_PID_KEEP))
		return 0;
	key = bpf_map_lookup_elem(&scratch, &zero);
	if (!key)
		return 0;
	key->pid = pid;
	key->tid = (__u32)id;
	bpf_get_current_comm(key->comm, sizeof(key->comm));

	/* Two copies of the same code: get_stackid needs a constant map. */
	if (active) {
		key->kstack = include_kernel ? bpf_get_stackid(ctx, &stacks1, 0) : -EFAULT;
		key->ustack = pid ? bpf_get_stackid(ctx, &stacks1, BPF_F_USER_STACK) : -EFAULT;
	} else {
		key->kstack = include_kernel ? bpf_get_stackid(ctx, &stacks0, 0) : -EFAULT;
		key->ustack = pid ? bpf_get_stackid(ctx, &stacks0, BPF_F_USER_STACK) : -EFAULT;
	}
	if (key->kstack < 0)
		count_stack_error(key->kstack, PF_BPF_ERR_KSTACK_COLLISION, PF_BPF_ERR_KSTACK_FULL);
	if (key->ustack < 0 && key->ustack != -EFAULT) {
		if (key->ustack == -EEXIST || key->ustack == -ENOMEM)
			count_stack_error(key->ustack, PF_BPF_ERR_USTACK_COLLISION,
					  PF_BPF_ERR_USTACK_FULL);
		else
			count_error(PF_BPF_ERR_USTACK_OTHER);
	}
	if (debug)
		bpf_printk("sample pid %u tid %u k %d u %d", key->pid, key->tid, key->kstack,
			   key->ustack);
	add_sample(active ? (void *)&counts1 : (void *)&counts0, key);
	return 0;
}

static __always_inline void send_event(__u32 type, __u32 pid, __u32 old_pid)
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
	ev->pad = 0;
	ev->time_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_ringbuf_submit(ev, 0);
}

/* Raw tracepoints: attached by name, without tracefs. */
SEC("raw_tp/sched_process_exec")
int pf_exec(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;

	/* args: struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm */
	send_event(PF_BPF_EV_EXEC, pid, (__u32)ctx->args[1]);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int pf_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	if ((__u32)id != (__u32)(id >> 32))
		return 0; /* a thread, not the process */
	send_event(PF_BPF_EV_EXIT, id >> 32, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
