/* SPDX-License-Identifier: Apache-2.0 */
/* One row of a compiled unwind table: the layout user space writes and the BPF unwinder reads. */
#ifndef PF_HOST_UNWIND_ROW_H
#define PF_HOST_UNWIND_ROW_H

#ifndef __VMLINUX_H__ /* BPF programs have the kernel's types from vmlinux.h */
#include <linux/types.h>
#endif

/*
 * A table is an array of rows sorted by pc; a row holds from its pc up to
 * the next row's. Registers are named for their role, not their x86-64
 * name: "sp" is rsp (arm64: sp), "fp" is rbp (arm64: x29), and the return
 * address is rip's column (arm64: x30), so arm64 tables use the same rows.
 *
 * Unwinding one frame with a row, given the frame's sp, fp and pc:
 *   PF_UNWIND_CFA_SP   CFA = sp + 8 * cfa_off
 *   PF_UNWIND_CFA_FP   CFA = fp + 8 * cfa_off
 *   PF_UNWIND_CFA_PLT  CFA = sp + 8 * cfa_off + ((pc & 15) >= fp ? 8 : 0)
 *                      (a lazy-binding PLT stub; `fp` holds the threshold
 *                      and the caller's fp is unchanged)
 *   PF_UNWIND_CFA_FP_DEREF    CFA = *(fp + 8 * (__s16)cfa_off)
 *   PF_UNWIND_CFA_FP_DEREF_8  CFA = *(fp + 8 * (__s16)cfa_off) + 8
 *   PF_UNWIND_CFA_SP_DEREF    CFA = *(sp + 8 * (__s16)cfa_off)
 *   PF_UNWIND_CFA_SP_DEREF_8  CFA = *(sp + 8 * (__s16)cfa_off) + 8
 *                      frames that realigned sp after saving where the CFA
 *                      is: gcc's DRAP for over-aligned locals (fp - 8, with
 *                      fp PF_UNWIND_FP_AT_FP), OpenSSL's assembly keeping
 *                      its entry sp on the stack (SHA, AES, bignum loops)
 *   then the caller's fp is where `fp` says (PF_UNWIND_FP_*), the return
 *   address where PF_UNWIND_ROW_RA(row) says, and the caller's sp is the
 *   CFA.
 *   PF_UNWIND_SIGNAL   a signal trampoline (the FDE's 'S' augmentation):
 *                      the interrupted registers are in the kernel's signal
 *                      frame at sp; other fields are 0.
 *   PF_UNWIND_UNKNOWN  there is CFI but it cannot be followed in BPF (a
 *                      DWARF expression, a CFA in another register): the
 *                      walk stops here, marked truncated.
 *   PF_UNWIND_GAP      no FDE covers the pc: fall back to the frame
 *                      pointer and mark the frame as such.
 * A return address rule of PF_UNWIND_RA_UNDEFINED (in any kind but GAP)
 * is the true outermost frame (_start, the thread entry): the stack is
 * complete.
 */
enum pf_unwind_kind {
	PF_UNWIND_GAP = 0,
	PF_UNWIND_CFA_SP = 1,
	PF_UNWIND_CFA_FP = 2,
	PF_UNWIND_CFA_PLT = 3,
	PF_UNWIND_SIGNAL = 4,
	PF_UNWIND_UNKNOWN = 5,
	PF_UNWIND_CFA_FP_DEREF = 6,
	PF_UNWIND_CFA_FP_DEREF_8 = 7,
	PF_UNWIND_CFA_SP_DEREF = 8,
	PF_UNWIND_CFA_SP_DEREF_8 = 9,
	PF_UNWIND_KINDS = 10,
};

/* The caller's frame pointer, in `fp`: unchanged, saved at CFA - 8 * fp
 * (1..253), saved where the frame's fp points (the frame-pointer chain of a
 * realigned frame, whose save slot is not at a fixed distance from the
 * CFA), or not recoverable. */
#define PF_UNWIND_FP_SAME     0
#define PF_UNWIND_FP_MAX_SLOT 253
#define PF_UNWIND_FP_AT_FP    254
#define PF_UNWIND_FP_LOST     255

/* The return address, in the high nibble of `rule`: still in its register
 * (arm64's link register at a leaf), saved at CFA - 8 * ra (1..14), or
 * undefined (the outermost frame). x86-64 rows have 1 or undefined. */
#define PF_UNWIND_RA_IN_REG    0
#define PF_UNWIND_RA_MAX_SLOT  14
#define PF_UNWIND_RA_UNDEFINED 15

struct pf_unwind_row {
	__u32 pc;      /* first address of the row, minus the table's base */
	__u16 cfa_off; /* CFA offset from its register, in 8-byte units (signed for *_DEREF) */
	__u8 rule;     /* enum pf_unwind_kind in bits 0-3, the return address rule in 4-7 */
	__u8 fp;       /* PF_UNWIND_FP_SAME, a slot 1..253 below the CFA, _AT_FP or _LOST */
};

#define PF_UNWIND_ROW_KIND(r)	 ((r)->rule & 15)
#define PF_UNWIND_ROW_RA(r)	 ((r)->rule >> 4)
#define PF_UNWIND_RULE(kind, ra) ((__u8)((kind) | ((ra) << 4)))

_Static_assert(sizeof(struct pf_unwind_row) == 8, "an unwind row is 8 bytes");

/* The CFA of the frame a row describes, given the frame's pc, sp and fp:
 * 0 and *cfa set, or -1 for the kinds that have no CFA rule (gap, signal,
 * unknown, and the realigned frames, whose CFA is read from memory). pc may be a file address or a process's one: load
 * biases are page-aligned, so the PLT rule's low bits are the same. */
static inline int pf_unwind_row_cfa(const struct pf_unwind_row *r, __u64 pc, __u64 sp, __u64 fp,
				    __u64 *cfa)
{
	switch (PF_UNWIND_ROW_KIND(r)) {
	case PF_UNWIND_CFA_SP: *cfa = sp + 8 * (__u64)r->cfa_off; return 0;
	case PF_UNWIND_CFA_FP: *cfa = fp + 8 * (__u64)r->cfa_off; return 0;
	case PF_UNWIND_CFA_PLT:
		*cfa = sp + 8 * (__u64)r->cfa_off + ((pc & 15) >= r->fp ? 8 : 0);
		return 0;
	default: return -1;
	}
}

#endif
