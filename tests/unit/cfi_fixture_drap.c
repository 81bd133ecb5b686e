// SPDX-License-Identifier: Apache-2.0
/* unit.unwind_table's realigned frames: gcc's own (through r10, DRAP) and, whatever the compiler, the same shape and OpenSSL's saved entry rsp written in assembly with their CFI. */
#include "cfi_fixture.h"

int __attribute__((noinline)) pf_fixture_touch(char *p, long n)
{
	p[0] = (char)n;
	return p[0];
}

/* An over-aligned local and an argument on the stack: gcc realigns the
 * frame through r10 (clang does it otherwise). */
int __attribute__((noinline))
pf_fixture_realigned(long n, long a, long b, long c, long d, long e, long f, long g)
{
	char vla[n + 1];
	int buf[64] __attribute__((aligned(64)));
	int i;

	for (i = 0; i < 64; i++)
		buf[i] = i * (int)(n + a + b + c + d + e + f + g);
	return pf_fixture_touch(vla, n) + buf[n & 63];
}

/* gcc's DRAP prologue and epilogue, with the CFI gcc gives them:
 * CFA = r10, then CFA = *(rbp - 8) and rbp saved where rbp points. */
__asm__(".text\n"
	".globl pf_fixture_drap_asm\n"
	".type pf_fixture_drap_asm, @function\n"
	"pf_fixture_drap_asm:\n"
	".cfi_startproc\n"
	"leaq 8(%rsp), %r10\n"
	".cfi_def_cfa %r10, 0\n"
	"andq $-64, %rsp\n"
	"pushq -8(%r10)\n"
	"pushq %rbp\n"
	".cfi_escape 0x10, 0x06, 0x02, 0x76, 0x00\n" /* DW_CFA_expression rbp: breg6 0 */
	"movq %rsp, %rbp\n"
	"pushq %r10\n"
	".cfi_escape 0x0f, 0x03, 0x76, 0x78, 0x06\n" /* def_cfa_expression: breg6 -8; deref */
	"subq $64, %rsp\n"
	"movq %rdi, %rax\n"
	"addq $64, %rsp\n"
	"popq %r10\n"
	".cfi_def_cfa %r10, 0\n"
	"popq %rbp\n"
	".cfi_restore %rbp\n"
	"leaq -8(%r10), %rsp\n"
	".cfi_def_cfa %rsp, 8\n"
	"ret\n"
	".cfi_endproc\n"
	".size pf_fixture_drap_asm, .-pf_fixture_drap_asm\n");

/* OpenSSL's perlasm prologue: the entry rsp kept in rax, then on the
 * realigned stack: CFA = *(rsp + 56) + 8. */
__asm__(".text\n"
	".globl pf_fixture_saved_sp_asm\n"
	".type pf_fixture_saved_sp_asm, @function\n"
	"pf_fixture_saved_sp_asm:\n"
	".cfi_startproc\n"
	"movq %rsp, %rax\n"
	".cfi_def_cfa_register %rax\n"
	"pushq %rbx\n"
	".cfi_offset %rbx, -16\n"
	"subq $64, %rsp\n"
	"andq $-64, %rsp\n"
	"movq %rax, 56(%rsp)\n"
	".cfi_escape 0x0f, 0x05, 0x77, 0x38, 0x06, 0x23, 0x08\n" /* breg7 56; deref; plus 8 */
	"movq %rdi, %rbx\n"
	/* the same rule with LEB128s padded to 4 bytes, as libgcrypt's are */
	".cfi_escape 0x0f, 0x0b, 0x77, 0xb8, 0x80, 0x80, 0x00, 0x06, 0x23, 0x88, 0x80, 0x80, 0x00\n"
	"movq %rbx, %rax\n"
	"movq 56(%rsp), %rsi\n"
	".cfi_def_cfa %rsi, 8\n"
	"movq -8(%rsi), %rbx\n"
	".cfi_restore %rbx\n"
	"leaq (%rsi), %rsp\n"
	".cfi_def_cfa_register %rsp\n"
	"ret\n"
	".cfi_endproc\n"
	".size pf_fixture_saved_sp_asm, .-pf_fixture_saved_sp_asm\n");
