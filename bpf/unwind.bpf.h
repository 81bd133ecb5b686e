/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* The user-stack unwinder of profile.bpf.c: one frame per step, by the process's unwind tables or by frame pointer. */
#ifndef PF_BPF_UNWIND_BPF_H
#define PF_BPF_UNWIND_BPF_H

#include "profile.h"
#include "host/unwind_row.h"

/* Sizes are set by user space before load (unwind budget); these are defaults. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct pf_bpf_unwind_proc);
} unwind_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pf_bpf_unwind_mapping);
} unwind_mappings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 20);
	__type(key, __u32);
	__type(value, struct pf_unwind_row);
} unwind_rows SEC(".maps");

/* What the tables say of one pc of one process: its row, if any. */
struct pf_unwind_rule {
	__u64 pc;
	__u32 pid, gen; /* the process and its load (pf_bpf_unwind_proc.gen) */
	struct pf_unwind_row row;
	__u8 has_row; /* 0: no table covers pc (JIT code, no CFI, a gap): frame pointers */
	__u8 leaf;    /* looked up at pc itself, not at pc - 1 */
	__u8 pad[6];
};

/* The rules of the pcs seen lately, per CPU: hot stacks repeat, and a pc
 * found here costs one lookup instead of two binary searches. */
#define RULE_SLOTS 1024 /* a power of two */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RULE_SLOTS);
	__type(key, __u32);
	__type(value, struct pf_unwind_rule);
} unwind_rules SEC(".maps");

#define STACK_WINDOW 1024 /* a power of two */

/* Where a walk is: the registers of the frame whose caller is looked for. */
struct pf_unwind_state {
	__u64 pc, sp, fp;
	__u32 first, n; /* the process's mappings; n 0: frame pointers only */
	__u32 pid, gen;
	struct pf_unwind_row row; /* the rule of pc, when has_row */
	__u8 has_row;
	__u8 leaf;    /* pc is where the thread stopped, not a return address */
	__u8 fp_lost; /* the CFI said the caller's fp cannot be recovered */
	__u8 by_fp;   /* pc was found by frame pointer */
	__u8 pad[4];
	__u32 cfi_frames, fp_frames;
	/* A copy of the stack from win_base: most words a walk reads lie
	 * within a few KiB above the leaf's sp, and one read of them costs
	 * less than a read of each. win_len 0: empty. */
	__u64 win_base;
	__u32 win_len;
	__u32 pad2;
	__u8 win[STACK_WINDOW];
};

#define STEP_MORE 0 /* pc, sp and fp are the caller's now */
#define STEP_DONE 1 /* the frame was the outermost one */
/* Anything else: -(enum pf_bpf_truncation). */

/* `mov $15, %rax; syscall` (rt_sigreturn), how libc's signal restorer
 * begins: the return address the kernel gives a signal handler. */
#define SIGRETURN_INSN 0x0f0000000fc0c748ull /* 48 c7 c0 0f 00 00 00 0f, little-endian */

/* Where the interrupted registers are in the kernel's signal frame, from
 * the sp of the restorer (struct ucontext: 40 bytes, then struct
 * sigcontext's r8..r15, di, si, bp, bx, dx, ax, cx, sp, ip). */
#define SIGFRAME_BP 120
#define SIGFRAME_SP 160
#define SIGFRAME_IP 168

/* True when the 8 bytes b end in a near call: call rel32 (e8) or an
 * indirect call (ff /2: through a register or memory, with or without
 * SIB byte and displacement, 2 to 7 bytes). */
static __always_inline bool ends_in_call(const __u8 *b)
{
	if (b[3] == 0xe8)
		return true;
#pragma unroll
	for (int len = 2; len <= 7; len++) {
		__u8 modrm = b[9 - len], mod = modrm >> 6, rm = modrm & 7;
		int n = 2;

		if (b[8 - len] != 0xff || ((modrm >> 3) & 7) != 2)
			continue;
		if (mod != 3 && rm == 4) { /* a SIB byte; base 5 without mod: disp32 */
			if (len < 3)
				continue;
			n += 1 + (mod == 0 && (b[10 - len] & 7) == 5 ? 4 : 0);
		}
		n += mod == 1 ? 1 : mod == 2 ? 4 : mod == 0 && rm == 5 ? 4 : 0;
		if (n == len)
			return true;
	}
	return false;
}

/* 1 when ret can be a return address: it follows a call, or it is the
 * signal restorer; 0 for anything else, such as a data word a walk through
 * code without frame pointers took for one. A global function: the
 * verifier checks it once, not at each step of a walk. */
__noinline int pf_is_return_address(__u64 ret)
{
	__u8 b[16];

	if (ret < 8)
		return 0;
	if (bpf_probe_read_user(b, sizeof(b), (void *)(ret - 8)) == 0)
		return ends_in_call(b) || *(__u64 *)&b[8] == SIGRETURN_INSN;
	/* ret + 8 may be past the end of the mapping */
	if (bpf_probe_read_user(b, 8, (void *)(ret - 8)) < 0)
		return 0;
	return ends_in_call(b);
}

/* The index of the mapping of [first, first + n) that holds addr, or -1. */
static __always_inline int find_mapping(__u32 first, __u32 n, __u64 addr)
{
	__u32 lo = 0, hi = n, idx;
	struct pf_bpf_unwind_mapping *m;

	/* The last mapping that starts at or below addr. */
	for (int i = 0; i < PF_BPF_UNWIND_MAPPING_STEPS; i++) {
		__u32 mid;

		if (hi - lo <= 1)
			break;
		mid = lo + (hi - lo) / 2;
		idx = first + mid;
		m = bpf_map_lookup_elem(&unwind_mappings, &idx);
		if (!m)
			return -1;
		if (m->start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	idx = first + lo;
	m = bpf_map_lookup_elem(&unwind_mappings, &idx);
	if (!m || n == 0 || addr < m->start || addr >= m->end)
		return -1;
	return (int)idx;
}

/* The row in force at key of rows [first, first + n), or NULL. */
static __always_inline struct pf_unwind_row *find_row(__u32 first, __u32 n, __u32 key)
{
	__u32 lo = 0, hi = n, idx;
	struct pf_unwind_row *r;

	for (int i = 0; i < PF_BPF_UNWIND_ROW_STEPS; i++) {
		__u32 mid;

		if (hi - lo <= 1)
			break;
		mid = lo + (hi - lo) / 2;
		idx = first + mid;
		r = bpf_map_lookup_elem(&unwind_rows, &idx);
		if (!r)
			return NULL;
		if (r->pc <= key)
			lo = mid;
		else
			hi = mid;
	}
	idx = first + lo;
	r = bpf_map_lookup_elem(&unwind_rows, &idx);
	return r && r->pc <= key ? r : NULL;
}

/* Reads the stack word at addr: from the window when it holds it, else
 * the window is read again from addr (or, near the top of the stack, where
 * a whole window would run past it, the word alone). */
static __always_inline int read_word(struct pf_unwind_state *u, __u64 addr, __u64 *v)
{
	__u64 off = addr - u->win_base;

	if (off > STACK_WINDOW - 8 || off + 8 > u->win_len) {
		if (bpf_probe_read_user(u->win, STACK_WINDOW, (void *)addr) == 0) {
			u->win_base = addr;
			u->win_len = STACK_WINDOW;
			off = 0;
		} else {
			u->win_len = 0;
			return bpf_probe_read_user(v, sizeof(*v), (void *)addr) < 0 ? -1 : 0;
		}
	}
	*v = *(__u64 *)&u->win[off & (STACK_WINDOW - 8)];
	return 0;
}

/* Finds the rule of u->pc (at pc - 1 unless u->leaf) in the process's
 * tables, through the per-CPU cache. Returns 0, or -(reason) when pc lies
 * in none of its mappings. A global function: the verifier checks the
 * searches once. */
__noinline int pf_unwind_lookup(struct pf_unwind_state *u)
{
	__u64 pc, key;
	__u32 slot, idx;
	struct pf_unwind_rule *c;
	struct pf_bpf_unwind_mapping *m;
	struct pf_unwind_row *r;
	int map;

	if (!u)
		return -PF_BPF_TRUNC_BAD_FRAME;
	u->has_row = 0;
	if (!u->n)
		return 0;
	pc = u->leaf ? u->pc : u->pc - 1;
	slot = (__u32)((pc ^ (pc >> 12) ^ ((__u64)u->pid << 7)) & (RULE_SLOTS - 1));
	c = bpf_map_lookup_elem(&unwind_rules, &slot);
	if (c && c->pc == pc && c->pid == u->pid && c->gen == u->gen && c->leaf == u->leaf) {
		u->row = c->row;
		u->has_row = c->has_row;
		return 0;
	}
	map = find_mapping(u->first, u->n, pc);
	if (map < 0)
		return -PF_BPF_TRUNC_NO_MAPPING;
	idx = (__u32)map;
	m = bpf_map_lookup_elem(&unwind_mappings, &idx);
	if (!m)
		return -PF_BPF_TRUNC_NO_MAPPING;
	key = pc - m->adj;
	if (m->n_rows && key <= 0xffffffffull) {
		r = find_row(m->first_row, m->n_rows, (__u32)key);
		if (r && PF_UNWIND_ROW_KIND(r) != PF_UNWIND_GAP) {
			u->row = *r;
			u->has_row = 1;
		}
	}
	if (c) {
		c->pc = pc;
		c->pid = u->pid;
		c->gen = u->gen;
		c->leaf = u->leaf;
		c->row = u->row;
		c->has_row = u->has_row;
	}
	return 0;
}

/* The caller's pc is ra: checks that it lies in a mapping of the process
 * (when its mappings are known), finds its rule and makes it the walk's. */
static __always_inline int to_caller(struct pf_unwind_state *u, __u64 ra, __u64 sp, __u64 fp)
{
	int rc;

	u->pc = ra;
	u->sp = sp;
	u->fp = fp;
	u->leaf = 0;
	rc = pf_unwind_lookup(u); /* on failure the walk ends: u is not used again */
	return rc < 0 ? rc : STEP_MORE;
}

/* One frame by its frame pointer: code without CFI, or a process whose
 * tables are not loaded. A frame pointer of 0 is the outermost frame (the
 * ABI's mark, which _start and the thread entry set). */
static __always_inline int fp_step(struct pf_unwind_state *u)
{
	__u64 frame[2]; /* the caller's fp, the return address */

	if (!u->fp)
		return STEP_DONE;
	if (u->fp_lost || u->fp < u->sp)
		return -PF_BPF_TRUNC_NO_FRAME_POINTER;
	if (read_word(u, u->fp, &frame[0]) < 0 || read_word(u, u->fp + 8, &frame[1]) < 0)
		return -PF_BPF_TRUNC_UNREADABLE;
	if (!frame[1])
		return STEP_DONE;
	if (!pf_is_return_address(frame[1]))
		return -PF_BPF_TRUNC_NOT_CODE;
	if (frame[0] && frame[0] <= u->fp)
		return -PF_BPF_TRUNC_BAD_FRAME;
	u->fp_frames++;
	u->by_fp = 1;
	return to_caller(u, frame[1], u->fp + 16, frame[0]);
}

/* Through the kernel's signal frame into the interrupted code, whose pc is
 * where it stopped (no call before it). */
static __always_inline int signal_step(struct pf_unwind_state *u)
{
	__u64 ip, sp, bp;
	int rc;

	if (read_word(u, u->sp + SIGFRAME_IP, &ip) < 0 ||
	    read_word(u, u->sp + SIGFRAME_SP, &sp) < 0 ||
	    read_word(u, u->sp + SIGFRAME_BP, &bp) < 0)
		return -PF_BPF_TRUNC_UNREADABLE;
	u->pc = ip;
	u->sp = sp;
	u->fp = bp;
	u->by_fp = 0;
	u->leaf = 1; /* where it stopped: looked up at ip itself */
	rc = pf_unwind_lookup(u);
	if (rc == 0)
		u->cfi_frames++;
	return rc < 0 ? rc : STEP_MORE;
}

/* The CFA of the frame `r` describes, or -(reason). */
static __always_inline int row_cfa(struct pf_unwind_state *u, const struct pf_unwind_row *r,
				   __u64 *cfa)
{
	__s64 off = 8 * (__s64)(__s16)r->cfa_off;

	switch (PF_UNWIND_ROW_KIND(r)) {
	case PF_UNWIND_CFA_SP:
	case PF_UNWIND_CFA_FP:
	case PF_UNWIND_CFA_PLT:
		return pf_unwind_row_cfa(r, u->pc, u->sp, u->fp, cfa) < 0
			       ? -PF_BPF_TRUNC_UNSUPPORTED
			       : 0;
	case PF_UNWIND_CFA_FP_DEREF:
	case PF_UNWIND_CFA_FP_DEREF_8:
		if (read_word(u, u->fp + off, cfa) < 0)
			return -PF_BPF_TRUNC_UNREADABLE;
		*cfa += PF_UNWIND_ROW_KIND(r) == PF_UNWIND_CFA_FP_DEREF_8 ? 8 : 0;
		return 0;
	case PF_UNWIND_CFA_SP_DEREF:
	case PF_UNWIND_CFA_SP_DEREF_8:
		if (read_word(u, u->sp + off, cfa) < 0)
			return -PF_BPF_TRUNC_UNREADABLE;
		*cfa += PF_UNWIND_ROW_KIND(r) == PF_UNWIND_CFA_SP_DEREF_8 ? 8 : 0;
		return 0;
	default: return -PF_BPF_TRUNC_UNSUPPORTED;
	}
}

/* One frame by its CFI row. */
static __always_inline int cfi_step(struct pf_unwind_state *u, const struct pf_unwind_row *r)
{
	__u64 cfa, ra, fp = u->fp;
	__u8 ra_rule = PF_UNWIND_ROW_RA(r);
	int rc;

	if (PF_UNWIND_ROW_KIND(r) == PF_UNWIND_SIGNAL)
		return signal_step(u);
	rc = row_cfa(u, r, &cfa);
	if (rc < 0)
		return rc;
	u->by_fp = 0;
	if (ra_rule == PF_UNWIND_RA_UNDEFINED)
		return STEP_DONE;
	if (ra_rule == PF_UNWIND_RA_IN_REG)
		return -PF_BPF_TRUNC_UNSUPPORTED; /* arm64's link register */
	if (cfa <= u->sp)
		return -PF_BPF_TRUNC_BAD_FRAME;
	if (read_word(u, cfa - 8 * (__u64)ra_rule, &ra) < 0)
		return -PF_BPF_TRUNC_UNREADABLE;
	if (!ra)
		return STEP_DONE; /* a thread entry without CFI saying so */
	if (PF_UNWIND_ROW_KIND(r) == PF_UNWIND_CFA_PLT) {
		/* the row's fp field is the PLT threshold: fp is unchanged */
	} else if (r->fp == PF_UNWIND_FP_AT_FP) {
		if (read_word(u, u->fp, &fp) < 0)
			return -PF_BPF_TRUNC_UNREADABLE;
	} else if (r->fp == PF_UNWIND_FP_LOST) {
		u->fp_lost = 1;
	} else if (r->fp != PF_UNWIND_FP_SAME) {
		if (read_word(u, cfa - 8 * (__u64)r->fp, &fp) < 0)
			return -PF_BPF_TRUNC_UNREADABLE;
		u->fp_lost = 0;
	}
	rc = to_caller(u, ra, cfa, fp);
	if (rc == STEP_MORE)
		u->cfi_frames++;
	return rc;
}

/* Finds the caller of the frame at u. Returns STEP_MORE with u moved to
 * it, STEP_DONE at the outermost frame, or -(enum pf_bpf_truncation). A
 * global function: the verifier checks it once, not at each frame. */
__noinline int pf_unwind_step(struct pf_unwind_state *u)
{
	struct pf_unwind_row r;

	if (!u)
		return -PF_BPF_TRUNC_BAD_FRAME;
	if (!u->has_row)
		return fp_step(u);
	r = u->row;
	return cfi_step(u, &r);
}

/* Starts a walk of pid's stack at (pc, sp, fp): by its tables when they
 * describe the image the task runs, else by frame pointers. Returns
 * 0, or -(reason) when pc lies in none of its mappings. */
static __always_inline int unwind_begin(struct pf_unwind_state *u, __u32 pid, __u32 exec_id,
					__u64 pc, __u64 sp, __u64 fp)
{
	struct pf_bpf_unwind_proc *p = bpf_map_lookup_elem(&unwind_procs, &pid);

	u->pc = pc;
	u->sp = sp;
	u->fp = fp;
	u->leaf = 1;
	u->fp_lost = 0;
	u->by_fp = 0;
	u->has_row = 0;
	u->cfi_frames = 0;
	u->fp_frames = 0;
	u->win_len = 0;
	u->pid = pid;
	u->gen = 0;
	u->first = 0;
	u->n = 0;
	if (!p || (p->exec_known && p->exec_id != exec_id) || p->n == 0)
		return 0;
	u->first = p->first;
	u->n = p->n;
	u->gen = p->gen;
	return pf_unwind_lookup(u);
}

#endif
