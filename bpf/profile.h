/* SPDX-License-Identifier: Apache-2.0 */
/* Types shared by profile.bpf.c and the ebpf receiver: map keys, values, events and error codes. */
#ifndef PF_BPF_PROFILE_H
#define PF_BPF_PROFILE_H

/* Frames kept per stack: 128 user frames and the truncation marker that
 * may follow them (the kernel gives at most 127 of its own). */
#define PF_BPF_MAX_FRAMES 129
#define PF_BPF_COMM_LEN	  16

/* pid_filter values: the pid's samples are kept or dropped in the kernel. */
#define PF_BPF_PID_KEEP 1
#define PF_BPF_PID_SKIP 2

/* Stack ids in a key: 0 is "no stack of this kind" (a user stack of a
 * kernel thread, a kernel stack of a sample taken in user mode), 1 is "the
 * stack was lost" (stack map full); any other value is the stack's 64-bit
 * content hash, its key in stacks0/stacks1. A content hash rather than
 * bpf_get_stackid(): the kernel's stack map refuses a stack whose bucket is
 * taken (-EEXIST), which loses a few percent of samples once a few hundred
 * stacks are in a 16k map. */
#define PF_BPF_STACK_NONE 0
#define PF_BPF_STACK_LOST 1
/* Set in a user stack id whose stack is in bstacks0/bstacks1: frames as
 * build ID + file offset (struct pf_bpf_bframe), taken for processes too
 * young for user space to have read their mappings. */
#define PF_BPF_STACK_BUILD_ID (1ULL << 63)

/* Frames kept per build-ID stack (32 bytes each). */
#define PF_BPF_MAX_BFRAMES  64
#define PF_BPF_BUILD_ID_LEN 20
/* Bytes of an exec'd file's name kept in an exec event. */
#define PF_BPF_PATH_LEN 256

/* A sample's key in counts0/counts1; the value is a __u64 count. */
struct pf_bpf_key {
	__u32 pid;		    /* thread group id (process.pid) */
	__u32 tid;		    /* thread id */
	__u64 kstack;		    /* kernel stack id, see above */
	__u64 ustack;		    /* user stack id */
	char comm[PF_BPF_COMM_LEN]; /* thread name */
	/* The image the process ran: the low 32 bits of the task's
	 * self_exec_id, which each exec counts up. A process's samples from
	 * before an exec (a shell's child between fork and exec) are of
	 * another program than the one /proc shows after it. */
	__u32 exec_id;
	__u32 pad;
};

/* A user stack cut short ends with a marker instead of a return address:
 * PF_BPF_FRAME_TRUNCATED + enum pf_bpf_truncation, an address no user
 * program has. A stack without one reached its outermost frame. */
#define PF_BPF_FRAME_TRUNCATED 0xffffffffffffff00ULL
/* Set in a user frame found by frame pointer (code without CFI: JIT code,
 * assembly without unwind info), not by its file's unwind table. */
#define PF_BPF_FRAME_BY_FP (1ULL << 62)

enum pf_bpf_truncation {
	PF_BPF_TRUNC_DEPTH = 1,	       /* deeper than the frames kept */
	PF_BPF_TRUNC_NO_MAPPING,       /* a return address in no executable mapping */
	PF_BPF_TRUNC_NOT_CODE,	       /* a frame-pointer step found a word that follows no call */
	PF_BPF_TRUNC_UNSUPPORTED,      /* CFI the BPF program cannot follow (a DWARF expression) */
	PF_BPF_TRUNC_UNREADABLE,       /* stack memory that could not be read (paged out) */
	PF_BPF_TRUNC_BAD_FRAME,	       /* the caller's frame is not above this one */
	PF_BPF_TRUNC_NO_FRAME_POINTER, /* code without CFI whose frame pointer is not a frame */
	/* Walked by frame pointer before user space loaded the process's
	 * tables (or build-ID stacks, which the kernel walks so): where the
	 * walk ended says nothing of whether the stack is complete. */
	PF_BPF_TRUNC_NO_TABLES,
	PF_BPF_TRUNC__COUNT,
};

/* ---- unwind tables, filled by user space ---- */

/* One executable mapping of a process in `unwind_mappings`: addresses in
 * [start, end) look their row up at (address - adj) in rows
 * [first_row, first_row + n_rows) of `unwind_rows` (struct pf_unwind_row,
 * host/unwind_row.h). n_rows 0: no table (JIT code, a file without CFI,
 * the budget spent): frame pointers. */
struct pf_bpf_unwind_mapping {
	__u64 start, end;
	__u64 adj;
	__u32 first_row;
	__u32 n_rows;
};

/* A process in `unwind_procs` (by pid): its mappings are entries
 * [first, first + n) of `unwind_mappings`, sorted by start, describing the
 * image exec_id (pf_bpf_key.exec_id) when exec_known; else the image it ran
 * when user space read it (the exec tracepoint deletes the entry). */
struct pf_bpf_unwind_proc {
	__u32 first;
	__u32 n;
	__u32 exec_id;
	__u32 exec_known;
	/* Distinct for every load of every process (never 0): what the BPF
	 * program remembers of a pc is good for this load only. */
	__u32 gen;
	__u32 pad;
};

/* Binary search steps: 2^14 mappings of a process, 2^23 rows of a table. */
#define PF_BPF_UNWIND_MAPPING_STEPS 14
#define PF_BPF_UNWIND_ROW_STEPS	    23

/* A stack in stacks0/stacks1: frames leaf first, zeros after the last. */
struct pf_bpf_stack {
	__u64 ips[PF_BPF_MAX_FRAMES];
};

/* pf_bpf_bframe.status, as the kernel's struct bpf_stack_build_id. */
#define PF_BPF_BFRAME_EMPTY 0
#define PF_BPF_BFRAME_VALID 1 /* build_id and offset (into the file) are set */
#define PF_BPF_BFRAME_IP    2 /* the kernel could not tell the file: ip only */

/* One frame of a build-ID stack: the layout of the kernel's struct
 * bpf_stack_build_id. A build ID shorter than 20 bytes is padded with zeros. */
struct pf_bpf_bframe {
	__s32 status;
	unsigned char build_id[PF_BPF_BUILD_ID_LEN];
	__u64 offset; /* VALID: file offset; IP: the address */
};

/* A stack in bstacks0/bstacks1: frames leaf first, status EMPTY after the last. */
struct pf_bpf_bstack {
	struct pf_bpf_bframe frames[PF_BPF_MAX_BFRAMES];
};

#define PF_BPF_STALE_NS (50 * 1000000ULL)

/* Ring buffer events about processes. */
enum pf_bpf_event_type {
	PF_BPF_EV_EXEC = 1, /* a process replaced its image (sched_process_exec) */
	PF_BPF_EV_EXIT = 2, /* a thread group leader exited (sched_process_exit) */
	/* A user stack met an address in none of the mappings the unwinder
	 * has of the process (code mapped since: JIT pages, dlopen): read its
	 * maps again. At most one per process per PF_BPF_STALE_NS. */
	PF_BPF_EV_MAPS_STALE = 3,
};

struct pf_bpf_event {
	__u32 type; /* enum pf_bpf_event_type */
	__u32 pid;
	__u32 old_pid; /* EXEC: the pid before exec (differs when a thread exec'd) */
	__u32 exec_id; /* EXEC: the new image's pf_bpf_key.exec_id; EXIT: 0 */
	__u64 time_ns; /* bpf_ktime_get_ns() */
	char comm[PF_BPF_COMM_LEN];
	char filename[PF_BPF_PATH_LEN]; /* EXEC: the file as execve(2) named it */
};

/* Errors of the hot path, counted in the per-CPU `errors` array. */
enum pf_bpf_error {
	PF_BPF_ERR_COUNTS_FULL = 0,  /* counts map full: the sample was lost */
	PF_BPF_ERR_KSTACK_FULL,	     /* stack map full: the sample was lost */
	PF_BPF_ERR_USTACK_FULL,	     /* stack map full: the sample was lost */
	PF_BPF_ERR_KSTACK_TRUNCATED, /* deeper than PF_BPF_MAX_FRAMES: outer frames cut */
	PF_BPF_ERR_USTACK_TRUNCATED,
	PF_BPF_ERR_USTACK_OTHER, /* bpf_get_stack failed otherwise: no user stack */
	PF_BPF_ERR_EVENTS_FULL,	 /* ring buffer full: a process event was lost */
	PF_BPF_ERR_BSTACK_FULL,	 /* build-ID stack map full: the sample took the plain walk */
	/* The frame-pointer walk met a "return address" that follows no call
	 * (a data word, through code built without frame pointers): the
	 * stack ends with the frame before it. */
	PF_BPF_ERR_USTACK_NOT_CODE,
	PF_BPF_ERR_USTACK_COMPLETE,   /* user stacks unwound to their outermost frame */
	PF_BPF_ERR_USTACK_FP_FRAMES,  /* frames found by frame pointer (code without CFI) */
	PF_BPF_ERR_USTACK_CFI_FRAMES, /* frames found by the unwind tables */
	PF_BPF_ERR_USTACK_NO_TABLES,  /* user stacks walked by frame pointer: no tables loaded */
	/* User stacks cut short, by enum pf_bpf_truncation (index 0 unused). */
	PF_BPF_ERR_TRUNC_BASE,
	PF_BPF_ERR__COUNT = PF_BPF_ERR_TRUNC_BASE + PF_BPF_TRUNC__COUNT,
};

#endif
