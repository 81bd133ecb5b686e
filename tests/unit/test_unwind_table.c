// SPDX-License-Identifier: Apache-2.0
/* unit.unwind_table: the CFI compiler against readelf's frames-interp on libc, libpython and our own binaries; PLT, signal and outermost frames; bad input. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/cfi_parse.h"
#include "host/unwind_table.h"
#include "cfi_compare.h"
#include "readelf_frames.h"

#define LIBC	  "/lib/x86_64-linux-gnu/libc.so.6"
#define LIBPYTHON "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
#define LIBCRYPTO "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"

static void test_libc_against_readelf(void **state)
{
	struct cfc_tally n = cfc_compare(LIBC);

	assert_true(n.fdes > 2000);
	assert_true(n.rows > 20000);
	assert_true(n.plt > 0);
	assert_true(n.signal > 0);
	assert_true(n.outermost > 0); /* clone, clone3 */
	assert_true(n.fp_cfa > 0);
}

static void test_libpython_against_readelf(void **state)
{
	struct cfc_tally n = cfc_compare(LIBPYTHON);

	assert_true(n.fdes > 5000);
	assert_true(n.rows > 50000);
	assert_true(n.plt > 0);
}

/* This test program's own path (readelf run on /proc/self/exe would read itself). */
static const char *own_binary(void)
{
	static char path[4096];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	assert_true(n > 0);
	path[n] = '\0';
	return path;
}

/* A file CMake names in the test's environment (a build product). */
static const char *env_file(const char *var)
{
	const char *path = getenv(var);

	assert_non_null(path);
	return path;
}

/* Binaries of our own: the proflow collector, and this test program. */
static void test_own_binary_against_readelf(void **state)
{
	struct cfc_tally n = cfc_compare(env_file("PF_PROFLOW_BIN"));

	assert_true(n.fdes > 1000);
	assert_true(n.outermost > 0);
	assert_true(n.fp_cfa > 0); /* we build with frame pointers */
	n = cfc_compare(own_binary());
	assert_true(n.fdes > 20);
	assert_true(n.outermost > 0);
	assert_true(n.fp_cfa > 0); /* we build with frame pointers */
}

/* A program built without unwind tables: its functions' CFI is only in
 * .debug_frame (crt's _start keeps its .eh_frame). */
static void test_debug_frame_against_readelf(void **state)
{
	const char *path = env_file("PF_CFI_DEBUG_FRAME_FIXTURE");
	struct pf_unwind_table *t;
	struct pf_error err = {0};
	struct cfc_tally n;

	t = pf_unwind_table_from_path(path, &err);
	assert_non_null(t);
	assert_int_equal(t->sources, PF_UNWIND_FROM_EH_FRAME | PF_UNWIND_FROM_DEBUG_FRAME);
	pf_unwind_table_destroy(t);
	n = cfc_compare(path);
	assert_true(n.fdes >= 4);
}

/* A frame realigned through r10 (gcc's DRAP, and the fixture's copy of it
 * in assembly, there whatever the compiler): CFA = *(rbp - 8 * n), the
 * caller's rbp where rbp points. */
static void test_realigned_frame(void **state)
{
	struct cfc_tally n = cfc_compare(env_file("PF_CFI_DEBUG_FRAME_FIXTURE"));

	assert_true(n.deref > 0);
	assert_true(n.fp_at_fp > 0);
}

/* OpenSSL's assembly saves the entry rsp on the stack and realigns rsp:
 * CFA = *(rsp + 8 * n) + 8, n maybe negative, or through rbp
 * (sha256_block_data_order_avx2 and kin), in the fixture's copy of the
 * shape and in libcrypto itself. */
static void test_saved_entry_sp(void **state)
{
	struct cfc_tally n = cfc_compare(env_file("PF_CFI_DEBUG_FRAME_FIXTURE"));

	assert_true(n.sp_deref > 0);
	n = cfc_compare(LIBCRYPTO);
	assert_true(n.fdes > 5000);
	assert_true(n.sp_deref > 0);
	assert_true(n.fp_deref_8 > 0); /* sha256_block_data_order_avx2 reads it through rbp */
}

/* A separate debug file (objcopy --only-keep-debug, as Debian's -dbgsym
 * packages ship, with zlib-compressed debug sections): its .eh_frame has
 * no bytes, its .debug_frame compiles. */
static void test_separate_debug_file(void **state)
{
	static const char *const how[] = {"", "--compress-debug-sections=zlib"};
	const char *path = env_file("PF_CFI_DEBUG_FRAME_FIXTURE");
	char dbg[] = "/tmp/pf-cfi-debug-XXXXXX", cmd[4200];
	struct pf_unwind_table *t, *full;
	struct cfc_tally n;
	unsigned i;
	int fd;

	fd = mkstemp(dbg);
	assert_true(fd >= 0);
	close(fd);
	full = pf_unwind_table_from_path(path, NULL);
	assert_non_null(full);
	for (i = 0; i < 2; i++) {
		snprintf(cmd, sizeof(cmd), "objcopy --only-keep-debug %s '%s' '%s'", how[i], path,
			 dbg);
		assert_int_equal(system(cmd), 0);
		t = pf_unwind_table_from_path(dbg, NULL);
		assert_non_null(t);
		assert_int_equal(t->sources, PF_UNWIND_FROM_DEBUG_FRAME);
		assert_true(t->n_fdes >= 3);
		/* the binary adds .eh_frame's FDEs (crt's _start, the PLT) */
		assert_true(t->n_fdes < full->n_fdes);
		n = cfc_compare(dbg);
		assert_int_equal(n.fdes, t->n_fdes);
		pf_unwind_table_destroy(t);
	}
	unlink(dbg);
	pf_unwind_table_destroy(full);
}

/* The vDSO's CFI is in its image: compiled from this process's memory,
 * and a copy on disk checked against readelf. */
static void test_vdso(void **state)
{
	const void *image = (const void *)getauxval(AT_SYSINFO_EHDR);
	char path[] = "/tmp/pf-vdso-XXXXXX", line[512];
	unsigned long lo = 0, hi = 0;
	struct pf_unwind_table *t;
	struct cfc_tally n;
	FILE *maps;
	int fd;

	if (!image)
		skip(); /* no vDSO on this kernel */
	maps = fopen("/proc/self/maps", "r");
	assert_non_null(maps);
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, "[vdso]"))
			assert_int_equal(sscanf(line, "%lx-%lx", &lo, &hi), 2);
	fclose(maps);
	assert_int_equal(lo, (unsigned long)(uintptr_t)image);
	t = pf_unwind_table_from_mem(image, hi - lo, NULL);
	assert_non_null(t);
	assert_int_equal(t->sources, PF_UNWIND_FROM_EH_FRAME);
	assert_true(t->n_fdes >= 4); /* clock_gettime, gettimeofday, time, getcpu... */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, image, hi - lo), (ssize_t)(hi - lo));
	close(fd);
	n = cfc_compare(path);
	assert_int_equal(n.fdes, t->n_fdes);
	unlink(path);
	pf_unwind_table_destroy(t);
}

/* libc's lazy PLT: PLT0 pushes twice, then each 16-byte entry jumps
 * (offsets 0-10, the return address at rsp) or has pushed its index
 * (11-15, one more word). */
static void test_plt_stubs(void **state)
{
	struct pf_unwind_table *t = pf_unwind_table_from_path(LIBC, NULL);
	uint64_t lo, hi, pc;
	__u64 cfa;
	const uint64_t sp = 0x7ffc0000;

	assert_non_null(t);
	cfc_plt_range(LIBC, &lo, &hi);
	assert_true(hi - lo >= 64);
	for (pc = lo + 16; pc < hi; pc++) {
		const struct pf_unwind_row *r = pf_unwind_table_find(t, pc);

		assert_non_null(r);
		assert_int_equal(PF_UNWIND_ROW_KIND(r), PF_UNWIND_CFA_PLT);
		assert_int_equal(PF_UNWIND_ROW_RA(r), 1);
		assert_int_equal(pf_unwind_row_cfa(r, pc, sp, 0, &cfa), 0);
		assert_int_equal(cfa, sp + ((pc & 15) >= 11 ? 16 : 8));
	}
	/* PLT0: push GOT[1] (rsp+16 after it), jmp *GOT[2] (rsp+24). */
	assert_int_equal(PF_UNWIND_ROW_KIND(pf_unwind_table_find(t, lo)), PF_UNWIND_CFA_SP);
	assert_int_equal(pf_unwind_table_find(t, lo)->cfa_off, 2);
	assert_int_equal(pf_unwind_table_find(t, lo + 6)->cfa_off, 3);
	pf_unwind_table_destroy(t);
}

/* __restore_rt: its CIE has the 'S' augmentation; every pc of its FDE,
 * including the byte before the symbol that unwinders look up (return
 * address - 1), is a signal frame. */
static void test_signal_frame(void **state)
{
	struct pf_unwind_table *t = pf_unwind_table_from_path(LIBC, NULL);
	struct rf_dump d;
	size_t i, found = 0;
	uint64_t pc;

	assert_non_null(t);
	assert_int_equal(rf_load(LIBC, &d), 0);
	for (i = 0; i < d.n_fdes; i++) {
		if (!d.fdes[i].signal)
			continue;
		found++;
		for (pc = d.fdes[i].start; pc < d.fdes[i].end; pc++)
			assert_int_equal(PF_UNWIND_ROW_KIND(pf_unwind_table_find(t, pc)),
					 PF_UNWIND_SIGNAL);
		/* The FDE before and after is something else. */
		assert_int_not_equal(PF_UNWIND_ROW_KIND(pf_unwind_table_find(t, d.fdes[i].end)),
				     PF_UNWIND_SIGNAL);
	}
	assert_int_equal(found, 1);
	rf_free(&d);
	pf_unwind_table_destroy(t);
}

/* Our own _start (the ELF entry point) says the return address is
 * undefined: the walk ends there, complete. */
static void test_outermost_frame(void **state)
{
	struct pf_unwind_table *t = pf_unwind_table_from_path("/proc/self/exe", NULL);
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	const struct pf_unwind_row *r;
	GElf_Ehdr eh;
	Elf *elf;

	assert_non_null(t);
	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(gelf_getehdr(elf, &eh));
	r = pf_unwind_table_find(t, eh.e_entry);
	assert_non_null(r);
	assert_int_equal(PF_UNWIND_ROW_RA(r), PF_UNWIND_RA_UNDEFINED);
	assert_int_equal(PF_UNWIND_ROW_KIND(r), PF_UNWIND_CFA_SP);
	elf_end(elf);
	close(fd);
	pf_unwind_table_destroy(t);
}

/* A hand-made .eh_frame at vaddr 0x1000: the CIE every x86-64 compiler
 * emits (CFA = rsp + 8, ra at CFA - 8, pc-relative sdata4 pointers), then
 * one FDE over [0x2000, 0x2000 + range) running `ins`. */
static size_t build_eh_frame(uint8_t *b, const uint8_t *ins, size_t n_ins, uint32_t range)
{
	static const uint8_t cie[] = {0x14, 0,	  0,  0, 0,    0,    0, 0, 1,	 'z', 'R', 0,
				      1,    0x78, 16, 1, 0x1b, 0x0c, 7, 8, 0x90, 1,   0,   0};
	size_t n = sizeof(cie), len_at;
	int32_t pc_rel;
	uint32_t v;

	memcpy(b, cie, n);
	len_at = n;
	n += 4;
	v = (uint32_t)n; /* the CIE pointer: back to offset 0 */
	memcpy(b + n, &v, 4);
	n += 4;
	pc_rel = (int32_t)(0x2000 - (0x1000 + n));
	memcpy(b + n, &pc_rel, 4);
	n += 4;
	memcpy(b + n, &range, 4);
	n += 4;
	b[n++] = 0; /* no augmentation data */
	memcpy(b + n, ins, n_ins);
	n += n_ins;
	while ((n - len_at) % 4)
		b[n++] = 0; /* DW_CFA_nop */
	v = (uint32_t)(n - len_at - 4);
	memcpy(b + len_at, &v, 4);
	return n;
}

static void parse_synthetic(const uint8_t *ins, size_t n_ins, struct pf_cfi_out *o)
{
	uint8_t buf[256];
	struct pf_cfi_section sec = {
		.data = buf, .vaddr = 0x1000, .addr_size = 8, .arch = &pf_cfi_arch_x86_64};

	sec.size = build_eh_frame(buf, ins, n_ins, 0x40);
	memset(o, 0, sizeof(*o));
	assert_int_equal(pf_cfi_parse(&sec, o), 0);
}

/* A prologue that saves rbp and switches the CFA to it, with remember and
 * restore state around an epilogue. */
static void test_cfa_program(void **state)
{
	static const uint8_t ins[] = {
		0x41, 0x0e, 16,	  0x86, 2, /* push rbp: CFA rsp+16, rbp at CFA-16 */
		0x43, 0x0d, 6,		   /* mov rsp, rbp: CFA rbp+16 */
		0x0a, 0x44, 0x0c, 7,	8, /* remember; leave: CFA rsp+8 */
		0x41, 0x0b,		   /* ret; restore: CFA rbp+16 again */
		0x41, 0x07, 16,		   /* ra undefined */
	};
	struct pf_cfi_out o;

	parse_synthetic(ins, sizeof(ins), &o);
	assert_int_equal(o.n_fdes, 1);
	assert_int_equal(o.fdes[0].start, 0x2000);
	assert_int_equal(o.fdes[0].end, 0x2040);
	assert_int_equal(o.n_rows, 6);
	assert_int_equal(o.rows[0].pc, 0);
	assert_int_equal(o.rows[0].rule, PF_UNWIND_RULE(PF_UNWIND_CFA_SP, 1));
	assert_int_equal(o.rows[0].cfa_off, 1);
	assert_int_equal(o.rows[1].pc, 1);
	assert_int_equal(o.rows[1].cfa_off, 2);
	assert_int_equal(o.rows[1].fp, 2);
	assert_int_equal(o.rows[2].pc, 4);
	assert_int_equal(o.rows[2].rule, PF_UNWIND_RULE(PF_UNWIND_CFA_FP, 1));
	assert_int_equal(o.rows[3].pc, 8);
	assert_int_equal(o.rows[3].rule, PF_UNWIND_RULE(PF_UNWIND_CFA_SP, 1));
	assert_int_equal(o.rows[3].cfa_off, 1);
	assert_int_equal(o.rows[4].pc, 9);
	assert_int_equal(o.rows[4].rule, PF_UNWIND_RULE(PF_UNWIND_CFA_FP, 1));
	assert_int_equal(o.rows[4].cfa_off, 2);
	assert_int_equal(o.rows[5].pc, 10);
	assert_int_equal(PF_UNWIND_ROW_RA(&o.rows[5]), PF_UNWIND_RA_UNDEFINED);
	pf_cfi_out_free(&o);
}

/* A program that cannot be followed is one "can't" row over the whole FDE,
 * never the rules read before the damage. */
static void test_malformed_program_is_unknown(void **state)
{
	static const uint8_t bad_op[] = {0x41, 0x0e, 16, 0x20};
	static const uint8_t pop_empty[] = {0x41, 0x0e, 16, 0x0b};
	static const uint8_t cut_leb[] = {0x41, 0x0e, 0x80}; /* 3 bytes: no padding follows */
	static const uint8_t cfa_in_r10[] = {0x41, 0x0c, 10, 0};
	const uint8_t *progs[] = {bad_op, pop_empty, cut_leb};
	const size_t lens[] = {sizeof(bad_op), sizeof(pop_empty), sizeof(cut_leb)};
	struct pf_cfi_out o;
	size_t i;

	for (i = 0; i < 3; i++) {
		parse_synthetic(progs[i], lens[i], &o);
		assert_int_equal(o.bad_fdes, 1);
		assert_int_equal(o.n_fdes, 1);
		assert_int_equal(o.n_rows, 1);
		assert_int_equal(o.rows[0].pc, 0);
		assert_int_equal(PF_UNWIND_ROW_KIND(&o.rows[0]), PF_UNWIND_UNKNOWN);
		pf_cfi_out_free(&o);
	}
	/* Well-formed but not expressible: the CFA in r10 (stack realignment). */
	parse_synthetic(cfa_in_r10, sizeof(cfa_in_r10), &o);
	assert_int_equal(o.bad_fdes, 0);
	assert_int_equal(o.n_rows, 2);
	assert_int_equal(PF_UNWIND_ROW_KIND(&o.rows[1]), PF_UNWIND_UNKNOWN);
	pf_cfi_out_free(&o);
}

/* The whole file in a heap block of its exact size (ASan sees overreads). */
static uint8_t *read_whole(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *image;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	*size = (size_t)ftell(f);
	rewind(f);
	image = malloc(*size);
	assert_non_null(image);
	assert_int_equal(fread(image, 1, *size, f), *size);
	fclose(f);
	return image;
}

static void test_bad_input(void **state)
{
	static const char not_elf[] = "this is not an ELF file at all, not even close";
	struct pf_unwind_table *t;
	struct pf_error err = {0};
	struct pf_cfi_out o = {0};
	uint8_t buf[256];
	struct pf_cfi_section sec = {
		.data = buf, .vaddr = 0x1000, .addr_size = 8, .arch = &pf_cfi_arch_x86_64};
	uint8_t *image;
	size_t size, cuts[] = {0, 16, 64, 4096, 0, 0}, i;

	assert_null(pf_unwind_table_from_path("/nonexistent/lib.so", &err));
	assert_true(pf_error_isset(&err));
	pf_error_clear(&err);
	assert_null(pf_unwind_table_from_mem(not_elf, sizeof(not_elf), &err));
	assert_true(pf_error_isset(&err));

	/* libc cut short anywhere: an error or a table, never a crash. */
	image = read_whole(LIBC, &size);
	cuts[4] = size / 2;
	cuts[5] = size - 1;
	for (i = 0; i < 6; i++) {
		t = pf_unwind_table_from_mem(image, cuts[i], NULL);
		pf_unwind_table_destroy(t);
	}
	/* Big-endian is refused before libelf would convert it in place. */
	image[EI_DATA] = ELFDATA2MSB;
	pf_error_clear(&err);
	assert_null(pf_unwind_table_from_mem(image, size, &err));
	assert_true(pf_error_isset(&err));
	free(image);

	/* A record longer than the section stops the walk. */
	sec.size = build_eh_frame(buf, (const uint8_t[]){0x41}, 1, 0x40);
	buf[0] = 0xf0;
	assert_int_equal(pf_cfi_parse(&sec, &o), 0);
	assert_true(o.truncated);
	assert_int_equal(o.n_fdes, 0);
	pf_cfi_out_free(&o);
}

/* A file cut short on disk (as when it is replaced while being read): the
 * reader preads it, so what lies past the end is an error, not SIGBUS. */
static void test_truncated_file(void **state)
{
	char path[] = "/tmp/pf-cfi-cut-XXXXXX", cmd[256];
	struct pf_unwind_table *t;
	struct pf_error err = {0};
	int fd = mkstemp(path);
	off_t size;

	assert_true(fd >= 0);
	snprintf(cmd, sizeof(cmd), "cat %s > %s", LIBC, path);
	assert_int_equal(system(cmd), 0);
	size = lseek(fd, 0, SEEK_END);
	assert_true(size > 0);
	/* libc's .eh_frame lies in its last tenth: cut it off, then inside it. */
	assert_int_equal(ftruncate(fd, size / 2), 0);
	t = pf_unwind_table_from_fd(fd, &err);
	assert_null(t);
	assert_true(pf_error_isset(&err));
	close(fd);
	unlink(path);
}

/* libc's image with its first FDE's pc-relative start moved 2 GiB down,
 * below address 0: that FDE is left out, the other 3700 still compile. */
static void test_fde_outside_code(void **state)
{
	struct pf_unwind_table *t;
	struct pf_error err = {0};
	size_t size, shstrndx, off = 0;
	Elf_Scn *scn = NULL;
	uint32_t cie_len;
	int32_t far = INT32_MIN;
	uint8_t *image;
	GElf_Shdr sh;
	Elf *elf;

	image = read_whole(LIBC, &size);
	elf_version(EV_CURRENT);
	elf = elf_memory((char *)image, size);
	assert_non_null(elf);
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn)) != NULL)
		if (gelf_getshdr(scn, &sh) &&
		    !strcmp(elf_strptr(elf, shstrndx, sh.sh_name), ".eh_frame"))
			off = sh.sh_offset;
	elf_end(elf);
	assert_true(off > 0);
	/* .eh_frame: the CIE, then the first FDE: length, CIE pointer, pc. */
	memcpy(&cie_len, image + off, 4);
	memcpy(image + off + 4 + cie_len + 8, &far, 4);
	t = pf_unwind_table_from_mem(image, size, &err);
	if (!t)
		fprintf(stderr, "%s\n", err.msg);
	assert_non_null(t);
	assert_int_equal(t->outside_fdes, 1);
	assert_true(t->n_fdes > 3700);
	pf_unwind_table_destroy(t);
	free(image);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libc_against_readelf),
		cmocka_unit_test(test_libpython_against_readelf),
		cmocka_unit_test(test_own_binary_against_readelf),
		cmocka_unit_test(test_debug_frame_against_readelf),
		cmocka_unit_test(test_separate_debug_file),
		cmocka_unit_test(test_realigned_frame),
		cmocka_unit_test(test_saved_entry_sp),
		cmocka_unit_test(test_vdso),
		cmocka_unit_test(test_plt_stubs),
		cmocka_unit_test(test_signal_frame),
		cmocka_unit_test(test_outermost_frame),
		cmocka_unit_test(test_cfa_program),
		cmocka_unit_test(test_malformed_program_is_unknown),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_truncated_file),
		cmocka_unit_test(test_fde_outside_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
