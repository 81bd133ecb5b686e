// SPDX-License-Identifier: Apache-2.0
/* unit.symbolize: names, lines and inlines against nm/eu-addr2line; debug files, demangling, live processes, batches. */
#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/elf.h"
#include "host/vdso.h"
#include "model/batch.h"
#include "model/semconv.h"
#include "processors/symbolize/demangle.h"
#include "processors/symbolize/elf_symbols.h"
#include "processors/symbolize/kallsyms.h"
#include "processors/symbolize/resolve.h"
#include "processors/symbolize/symfile.h"
#include "readelf_frames.h"

/* The binaries built once for every test, in a temp dir. */
struct env {
	char dir[64];
	char src[1024]; /* tests/data/symbolize */
};

static struct env E;

static const struct pf_symfile_opts OPTS = {true, true, "/usr/lib/debug", NULL};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (ret < 0)
		return -1;
	ret = system(cmd);
	if (ret != 0)
		fprintf(stderr, "failed (%d): %s\n", ret, cmd);
	free(cmd);
	return ret;
}

static char *path_of(const char *name)
{
	static char buf[8][1024];
	static int i;
	char *p = buf[i++ % 8];

	snprintf(p, 1024, "%s/%s", E.dir, name);
	return p;
}

/* The line of the source file holding marker. */
static int marker_line(const char *file, const char *marker)
{
	char path[1200], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", E.src, file);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, marker)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	fail_msg("no %s in %s", marker, file);
	return 0;
}

static int setup(void **state)
{
	const char *data = getenv("PF_TEST_DATA");
	const char *d = E.dir;

	snprintf(E.src, sizeof(E.src), "%s/symbolize", data ? data : "tests/data");
	strcpy(E.dir, "/tmp/pf-symtest-XXXXXX");
	if (!mkdtemp(E.dir))
		return -1;
	/* PIE and non-PIE, -O2 so leaf() is inlined. */
	if (sh("cc -g -O2 -fPIE -pie -o %s/pie %s/inl.c", d, E.src) ||
	    sh("cc -g -O2 -fno-pie -no-pie -o %s/nopie %s/inl.c", d, E.src) ||
	    /* A shared library built with -g and a program using it. */
	    sh("cc -g -O1 -fPIC -shared -o %s/libpfshlib.so %s/shlib.c", d, E.src) ||
	    sh("cc -g -O1 -o %s/useshlib %s/useshlib.c -L%s -lpfshlib -Wl,-rpath,%s", d, E.src, d,
	       d) ||
	    /* Split debug info: found by .gnu_debuglink beside the binary... */
	    sh("cd %s && cp pie split && objcopy --only-keep-debug split split.debug && "
	       "objcopy --strip-all --add-gnu-debuglink=split.debug split",
	       d) ||
	    /* ...and by build ID in a debug root, the binary elsewhere. */
	    sh("cd %s && mkdir -p elsewhere droot && cp split elsewhere/split && "
	       "id=$(readelf -n split | awk '/Build ID/ {print $3}') && "
	       "mkdir -p droot/.build-id/$(echo $id | cut -c1-2) && "
	       "cp split.debug droot/.build-id/$(echo $id | cut -c1-2)/$(echo $id | cut "
	       "-c3-).debug",
	       d) ||
	    /* Stripped of every symbol: functions are known by their FDEs only. */
	    sh("cd %s && cp pie stripped && strip --strip-all stripped", d) ||
	    sh("c++ -g -O1 -o %s/cxx %s/cxx.cc", d, E.src) ||
	    /* clang emits no .debug_aranges: CUs are found by their ranges. */
	    sh("clang -g -O2 -o %s/clang_pie %s/inl.c", d, E.src))
		return -1;
	*state = &E;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return sh("rm -rf %s", E.dir);
}

/* ---- independent truth: nm and eu-addr2line ---- */

struct nm_sym {
	uint64_t addr, size;
	char name[256];
};

/* The defined function symbols of bin by nm, with sizes. */
static size_t nm_functions(const char *bin, struct nm_sym *out, size_t max)
{
	char cmd[1200], line[512];
	FILE *p;
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "nm --defined-only -S %s", bin);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (n < max && fgets(line, sizeof(line), p)) {
		char type;
		struct nm_sym s = {0};

		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %c %255s", &s.addr, &s.size, &type,
			   s.name) != 4)
			continue;
		if ((type == 'T' || type == 't') && s.size)
			out[n++] = s;
	}
	pclose(p);
	return n;
}

static const struct nm_sym *nm_find(const struct nm_sym *s, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(s[i].name, name))
			return &s[i];
	fail_msg("nm shows no %s", name);
	return NULL;
}

static const char *base(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "";
}

static void check_names_match_nm(const char *bin, bool lines)
{
	struct pf_symfile_opts o = OPTS;
	struct nm_sym syms[512];
	struct pf_symfile *f;
	size_t n, i, ok = 0;

	o.lines = lines;
	n = nm_functions(bin, syms, 512);
	assert_true(n >= 1);
	assert_int_equal(pf_symfile_open("", bin, NULL, &o, &f), 0);
	for (i = 0; i < n; i++) {
		const struct pf_sym_result *r = pf_symfile_resolve_vaddr(f, syms[i].addr);
		const struct pf_sym_result *end =
			pf_symfile_resolve_vaddr(f, syms[i].addr + syms[i].size - 1);

		assert_non_null(r);
		assert_non_null(end);
		/* The outermost frame is the function itself. */
		if (!strcmp(r->frames[r->n - 1].system_name, syms[i].name) &&
		    !strcmp(end->frames[end->n - 1].system_name, syms[i].name))
			ok++;
		else
			fprintf(stderr, "%s: %s at %" PRIx64 " named %s\n", bin, syms[i].name,
				syms[i].addr, r->frames[r->n - 1].system_name);
	}
	/* Aliases (two names, one address) may pick the other name. */
	assert_true(ok + 2 >= n);
	/* Past the last function nothing resolves. */
	pf_symfile_close(f);
}

/* Issue 10 #1: the binary was read through libelf's mapping, so one
 * truncated while open (an O_TRUNC rewrite, an upgrade in place) raised
 * SIGBUS when its DWARF was first read. Now what is gone is unresolved. */
static void elf_truncated_while_open(void **state)
{
	struct nm_sym syms[512];
	const struct nm_sym *mid;
	const struct pf_sym_result *r;
	struct pf_symfile *f;
	size_t n;

	(void)state;
	assert_int_equal(sh("cp %s %s", path_of("pie"), path_of("shrinking")), 0);
	n = nm_functions(path_of("shrinking"), syms, 512);
	mid = nm_find(syms, n, "middle");
	assert_non_null(mid);
	assert_int_equal(pf_symfile_open("", path_of("shrinking"), NULL, &OPTS, &f), 0);
	assert_int_equal(truncate(path_of("shrinking"), 4096), 0);
	/* DWARF is read on first use: it is gone, the symbol table is not. */
	r = pf_symfile_resolve_vaddr(f, mid->addr);
	assert_non_null(r);
	assert_string_equal(r->frames[r->n - 1].system_name, "middle");
	assert_int_equal(r->frames[r->n - 1].line, 0);
	assert_true(pf_symfile_dwarf_failed(f));
	pf_symfile_close(f);
	/* The cut file keeps its headers only: it opens with nothing in it. */
	if (pf_symfile_open("", path_of("shrinking"), NULL, &OPTS, &f) == 0) {
		assert_null(pf_symfile_resolve_vaddr(f, mid->addr));
		pf_symfile_close(f);
	}
	unlink(path_of("shrinking"));
}

/* Issue 10 #1, dwz: libdw opened a dwz'd file's shared file itself, through
 * a mapping, so one cut while open raised SIGBUS at the next lookup. */
static void dwz_shared_file_truncated_while_open(void **state)
{
	struct nm_sym syms[512];
	const struct nm_sym *mid;
	const struct pf_sym_result *r;
	struct pf_symfile *f;
	size_t n, i;

	(void)state;
	/* dwz comes with scripts/setup.sh. */
	assert_int_equal(sh("cd %s && cp pie dwz_a && cp nopie dwz_b && "
			    "dwz -m %s/dwz_common -M %s/dwz_common dwz_a dwz_b && "
			    "readelf -S dwz_a | grep -q gnu_debugaltlink",
			    E.dir, E.dir, E.dir),
			 0);
	n = nm_functions(path_of("dwz_a"), syms, 512);
	mid = nm_find(syms, n, "middle");
	assert_non_null(mid);
	assert_int_equal(pf_symfile_open("", path_of("dwz_a"), NULL, &OPTS, &f), 0);
	r = pf_symfile_resolve_vaddr(f, mid->addr);
	assert_non_null(r);
	assert_string_equal(r->frames[r->n - 1].name, "middle");
	assert_true(r->frames[r->n - 1].line > 0);
	assert_int_equal(truncate(path_of("dwz_common"), 0), 0);
	/* The rest reads what is gone: unresolved or not, never a crash. */
	for (i = 0; i < n; i++)
		pf_symfile_resolve_vaddr(f, syms[i].addr + syms[i].size / 2);
	pf_symfile_close(f);
}

static void names_match_nm(void **state)
{
	(void)state;
	check_names_match_nm(path_of("pie"), true);
	check_names_match_nm(path_of("nopie"), true);
	check_names_match_nm(path_of("pie"), false);
	check_names_match_nm(path_of("libpfshlib.so"), true);
}

/* Reads eu-addr2line -f -i's answer for addr: names and file:line pairs. */
static size_t eu_frames(const char *bin, uint64_t addr, char names[][256], char files[][512],
			int *lines, size_t max)
{
	char cmd[1200], l1[1024], l2[1024];
	FILE *p;
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "eu-addr2line -f -i -e %s 0x%" PRIx64, bin, addr);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (n < max && fgets(l1, sizeof(l1), p) && fgets(l2, sizeof(l2), p)) {
		char *sp = strchr(l1, ' '), *colon;

		l1[strcspn(l1, "\n")] = '\0';
		if (sp)
			*sp = '\0'; /* "leaf inlined at ... in middle" */
		snprintf(names[n], 256, "%.255s", l1);
		l2[strcspn(l2, "\n")] = '\0';
		colon = strchr(l2, ':');
		lines[n] = colon ? atoi(colon + 1) : 0;
		if (colon)
			*colon = '\0';
		snprintf(files[n], 512, "%.511s", l2);
		n++;
	}
	pclose(p);
	return n;
}

static void check_inlines(const char *bin)
{
	struct nm_sym syms[512];
	struct pf_symfile *f;
	size_t n = nm_functions(bin, syms, 512);
	const struct nm_sym *mid = nm_find(syms, n, "middle");
	int leaf_line = marker_line("inl.c", "LEAF"), call_line = marker_line("inl.c", "CALL");
	uint64_t a;
	size_t chains = 0;

	assert_int_equal(pf_symfile_open("", bin, NULL, &OPTS, &f), 0);
	for (a = mid->addr; a < mid->addr + mid->size; a++) {
		char names[8][256], files[8][512];
		int lines[8];
		size_t k = eu_frames(bin, a, names, files, lines, 8), i;
		const struct pf_sym_result *r = pf_symfile_resolve_vaddr(f, a);

		assert_non_null(r);
		assert_int_equal(r->n, k);
		for (i = 0; i < k; i++) {
			assert_string_equal(r->frames[i].name, names[i]);
			assert_string_equal(r->frames[i].file ? r->frames[i].file : "??", files[i]);
			assert_int_equal(r->frames[i].line, lines[i]);
		}
		if (r->n == 2) {
			/* leaf inlined into middle, leaf first. */
			assert_string_equal(r->frames[0].name, "leaf");
			assert_int_equal(r->frames[0].line, leaf_line);
			assert_string_equal(base(r->frames[0].file), "inl.c");
			assert_string_equal(r->frames[1].name, "middle");
			assert_int_equal(r->frames[1].line, call_line);
			chains++;
		}
	}
	assert_true(chains > 0);
	pf_symfile_close(f);
}

/* llvm-symbolizer's answer for addr: "name\nfile:line:col\n" per frame,
 * then an empty line. */
static size_t llvm_frames(const char *bin, uint64_t addr, char names[][256], int *lines, size_t max)
{
	char cmd[1200], l1[1024], l2[1024];
	FILE *p;
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "llvm-symbolizer-14 --obj=%s 0x%" PRIx64, bin, addr);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (n < max && fgets(l1, sizeof(l1), p) && l1[0] != '\n' && fgets(l2, sizeof(l2), p)) {
		char *colon = strchr(l2, ':');

		l1[strcspn(l1, "\n")] = '\0';
		snprintf(names[n], 256, "%.255s", l1);
		lines[n] = colon ? atoi(colon + 1) : 0;
		n++;
	}
	pclose(p);
	return n;
}

/* A clang binary (no .debug_aranges) against llvm-symbolizer. */
static void clang_binary_matches_llvm_symbolizer(void **state)
{
	const char *bin = path_of("clang_pie");
	struct nm_sym syms[512];
	size_t n = nm_functions(bin, syms, 512), chains = 0;
	const struct nm_sym *mid = nm_find(syms, n, "middle");
	struct pf_symfile *f;
	uint64_t a;

	(void)state;
	assert_int_equal(pf_symfile_open("", bin, NULL, &OPTS, &f), 0);
	for (a = mid->addr; a < mid->addr + mid->size; a += 3) {
		char names[8][256];
		int lines[8];
		size_t k = llvm_frames(bin, a, names, lines, 8), i;
		const struct pf_sym_result *r = pf_symfile_resolve_vaddr(f, a);

		assert_non_null(r);
		assert_int_equal(r->n, k);
		for (i = 0; i < k; i++) {
			assert_string_equal(r->frames[i].name, names[i]);
			/* line 0: no line-table row of its own (llvm prints 0 too) */
			assert_int_equal(r->frames[i].line, lines[i]);
		}
		chains += k == 2;
	}
	assert_true(chains > 0);
	pf_symfile_close(f);
}

static void inline_chains_match_eu_addr2line(void **state)
{
	(void)state;
	check_inlines(path_of("pie"));
	check_inlines(path_of("nopie"));
}

/* ---- live processes: file offsets through /proc/PID/maps ---- */

struct where {
	int pid;
	uint64_t addr, start, offset, end;
	char path[1024];
};

/* Starts `cmd` (which prints a where() line, then sleeps) and reads it. */
static FILE *start_where(const char *cmd, struct where *w)
{
	char line[2048], label[64];
	FILE *p = popen(cmd, "r");

	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	assert_int_equal(sscanf(line, "%63s %d %" SCNx64 " %" SCNx64 " %" SCNx64 " %1023s %" SCNx64,
				label, &w->pid, &w->addr, &w->start, &w->offset, w->path, &w->end),
			 7);
	return p;
}

static void stop_where(FILE *p, const struct where *w)
{
	kill(w->pid, SIGKILL);
	pclose(p);
}

static void check_live_offset(const char *bin, const char *func)
{
	char cmd[1200];
	struct where w;
	struct pf_symfile *f;
	const struct pf_sym_result *r;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "exec %s 3 30", bin);
	p = start_where(cmd, &w);
	assert_int_equal(pf_symfile_open("", w.path, NULL, &OPTS, &f), 0);
	r = pf_symfile_resolve(f, w.addr - w.start + w.offset);
	assert_non_null(r);
	assert_string_equal(r->frames[r->n - 1].name, func);
	pf_symfile_close(f);
	stop_where(p, &w);
}

static void pie_and_non_pie_offsets(void **state)
{
	(void)state;
	check_live_offset(path_of("pie"), "middle");
	check_live_offset(path_of("nopie"), "middle");
	check_live_offset(path_of("split"), "middle");
}

static void shared_library_file_line(void **state)
{
	char cmd[1200];
	struct where w;
	struct pf_symfile *f;
	const struct pf_sym_result *r;
	int decl = marker_line("shlib.c", "SHLIB_WORK");
	FILE *p;

	(void)state;
	snprintf(cmd, sizeof(cmd), "exec %s 30", path_of("useshlib"));
	p = start_where(cmd, &w);
	assert_string_equal(base(w.path), "libpfshlib.so");
	/* Through the process's root, as the processor opens it. */
	snprintf(cmd, sizeof(cmd), "/proc/%d/root", w.pid);
	assert_int_equal(pf_symfile_open(cmd, w.path, NULL, &OPTS, &f), 0);
	r = pf_symfile_resolve(f, w.addr - w.start + w.offset);
	assert_non_null(r);
	assert_int_equal(r->n, 1);
	assert_string_equal(r->frames[0].name, "shlib_work");
	assert_string_equal(base(r->frames[0].file), "shlib.c");
	assert_int_equal(r->frames[0].start_line, decl);
	/* The entry's line as eu-addr2line reads it from the file on disk. */
	{
		char names[4][256], files[4][512];
		int lines[4];
		struct nm_sym syms[64];
		size_t n = nm_functions(w.path, syms, 64);

		assert_int_equal(eu_frames(w.path, nm_find(syms, n, "shlib_work")->addr, names,
					   files, lines, 4),
				 1);
		assert_int_equal(r->frames[0].line, lines[0]);
		assert_true(lines[0] >= decl && lines[0] < decl + 8);
	}
	pf_symfile_close(f);
	stop_where(p, &w);
}

/* ---- separate debug files ---- */

static void check_split(const char *bin, const char *debug_root)
{
	struct pf_symfile_opts o = OPTS;
	struct pf_elf_file e;
	struct nm_sym syms[512];
	size_t n = nm_functions(path_of("pie"), syms, 512);
	const struct nm_sym *mid = nm_find(syms, n, "middle");
	struct pf_symfile *f;
	const struct pf_sym_result *r;

	/* The binary itself has neither DWARF nor .symtab. */
	assert_int_equal(pf_elf_open(bin, &e), 0);
	assert_false(e.has_debug_info);
	assert_false(e.has_symtab);
	assert_true(e.build_id_len > 0);
	pf_elf_close(&e);
	o.debug_root = debug_root;
	assert_int_equal(pf_symfile_open("", bin, NULL, &o, &f), 0);
	r = pf_symfile_resolve_vaddr(f, mid->addr);
	assert_non_null(r);
	assert_string_equal(r->frames[r->n - 1].name, "middle");
	assert_string_equal(base(r->frames[r->n - 1].file), "inl.c");
	assert_true(r->frames[r->n - 1].line > 0);
	pf_symfile_close(f);
}

static void debuglink_and_build_id_dir(void **state)
{
	(void)state;
	check_split(path_of("split"), "/nonexistent");
	check_split(path_of("elsewhere/split"), path_of("droot"));
}

static void build_id_mismatch_refused(void **state)
{
	struct pf_symfile *f = NULL;

	(void)state;
	assert_int_equal(pf_symfile_open("", path_of("pie"), "00112233", &OPTS, &f), -ESTALE);
	assert_int_equal(pf_symfile_open("", path_of("missing"), NULL, &OPTS, &f), -ENOENT);
}

/* ---- demangling ---- */

static void demangles_cxx_and_rust(void **state)
{
	struct nm_sym syms[1024];
	size_t n = nm_functions(path_of("cxx"), syms, 1024);
	const struct nm_sym *m = nm_find(syms, n, "_ZN2ns5Klass6methodEi");
	struct pf_symfile_opts o = OPTS;
	const struct pf_sym_result *r;
	struct pf_symfile *f;
	char *s;

	(void)state;
	assert_int_equal(pf_symfile_open("", path_of("cxx"), NULL, &OPTS, &f), 0);
	r = pf_symfile_resolve_vaddr(f, m->addr);
	assert_non_null(r);
	assert_string_equal(r->frames[r->n - 1].name, "ns::Klass::method(int)");
	assert_string_equal(r->frames[r->n - 1].system_name, "_ZN2ns5Klass6methodEi");
	pf_symfile_close(f);
	o.demangle = false;
	assert_int_equal(pf_symfile_open("", path_of("cxx"), NULL, &o, &f), 0);
	r = pf_symfile_resolve_vaddr(f, m->addr);
	assert_string_equal(r->frames[r->n - 1].name, "_ZN2ns5Klass6methodEi");
	pf_symfile_close(f);

	s = pf_demangle("_ZN4core3fmt5write17h0123456789abcdefE");
	assert_non_null(s);
	assert_string_equal(s, "core::fmt::write");
	free(s);
	assert_null(pf_demangle("main"));
	assert_null(pf_demangle("_Zgarbage"));
}

/* The address of a text symbol in the real /proc/kallsyms. */
static uint64_t real_kernel_symbol(const char *want)
{
	char line[512], name[256], type;
	uint64_t addr, found = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, name) == 3 &&
		    !strcmp(name, want) && (type == 'T' || type == 't')) {
			found = addr;
			break;
		}
	fclose(f);
	return found;
}

static void kallsyms_real(void **state)
{
	uint64_t addr = real_kernel_symbol("schedule");
	struct pf_kallsyms *k;
	const char *name, *module;
	int err = 0;

	(void)state;
	k = pf_kallsyms_open(NULL, NULL, &err);
	if (!k && err == -EACCES && geteuid() != 0)
		skip(); /* addresses hidden from non-root */
	assert_non_null(k);
	assert_true(addr != 0);
	assert_true(pf_kallsyms_lookup(k, addr + 1, &name, &module));
	assert_string_equal(name, "schedule");
	assert_string_equal(module, "");
	pf_kallsyms_close(k);
}

/* ---- the resolver over a batch, as the processor runs it ---- */

static uint32_t mapping(struct pf_batch *b, const char *file, uint64_t start, uint64_t limit,
			uint64_t off, const char *build_id)
{
	struct pf_mapping m = {start, limit, off, pf_batch_cstring(b, file), 0};
	uint32_t a;

	if (build_id) {
		a = pf_batch_attr_str(b, PF_ATTR_BUILD_ID_GNU, build_id);
		m.attrs = pf_batch_attr_set(b, &a, 1);
	}
	return pf_batch_mapping(b, &m);
}

static uint32_t raw_location(struct pf_batch *b, uint32_t m, uint64_t addr, const char *type)
{
	uint32_t a = pf_batch_attr_str(b, PF_ATTR_FRAME_TYPE, type);
	struct pf_location l = {
		.mapping = m, .address = addr, .attrs = pf_batch_attr_set(b, &a, 1)};

	return pf_batch_location(b, &l, NULL, 0);
}

static uint32_t profile_for(struct pf_batch *b, int64_t pid)
{
	uint32_t a = pf_batch_attr_int(b, PF_ATTR_PROCESS_PID, pid);
	struct pf_resource r = {.attrs = pid > 0 ? pf_batch_attr_set(b, &a, 1) : 0};
	struct pf_profile_desc d = {0};

	d.resource = pf_batch_resource(b, &r);
	d.sample_type.type = pf_batch_cstring(b, "samples");
	d.sample_type.unit = pf_batch_cstring(b, "count");
	d.period = 1;
	return pf_batch_add_profile(b, &d);
}

static void sample1(struct pf_batch *b, uint32_t p, uint32_t loc, int64_t v)
{
	uint32_t st = pf_batch_stack(b, &loc, 1);

	assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, &v, 1, NULL, 0), 0);
}

/* The leaf location of sample i of profile p. */
static uint32_t leaf_of(const struct pf_batch *b, uint32_t p, size_t i, int64_t *value)
{
	size_t n;
	const struct pf_sample *s = pf_batch_samples(b, p, &n);
	const uint32_t *locs;

	assert_true(i < n);
	*value = pf_batch_sample_values(b, &s[i])[0];
	locs = pf_batch_stack_get(b, s[i].stack, &n);
	assert_int_equal(n, 1);
	return locs[0];
}

static const char *fn_name(const struct pf_batch *b, uint32_t loc, size_t line, int64_t *lineno,
			   const char **file)
{
	size_t n;
	const struct pf_line *l = pf_batch_location_lines(b, loc, &n);
	const struct pf_function *f;

	if (line >= n)
		return NULL;
	f = pf_batch_function_get(b, l[line].function);
	if (lineno)
		*lineno = l[line].line;
	if (file)
		*file = pf_batch_str(b, f->filename);
	return pf_batch_str(b, f->name);
}

static const char *frame_type(const struct pf_batch *b, uint32_t loc)
{
	const struct pf_value *v =
		pf_batch_attr_lookup(b, pf_batch_location_get(b, loc)->attrs, PF_ATTR_FRAME_TYPE);

	return v && v->kind == PF_VALUE_STRING ? pf_batch_str(b, v->u.str) : "";
}

static void resolver_names_a_batch(void **state)
{
	char cmd[1200], map_path[64];
	struct pf_resolver_opts o = {.lines = true,
				     .demangle = true,
				     .kernel = true,
				     .perf_maps = true,
				     .cache_size = 64 << 20};
	uint64_t kaddr = real_kernel_symbol("schedule");
	struct pf_elf_file e;
	struct where w;
	struct pf_batch *b = pf_batch_new(), *out;
	struct pf_resolver *r;
	struct pf_resolver_stats st;
	uint32_t p1, p2, mk, mn, ma, mx, l_native, l_kernel, l_jit, l_gone, l_given, fn, loc;
	struct pf_function given = {0};
	struct pf_line gl;
	const char *file = NULL;
	int64_t v, line;
	FILE *p, *pm;

	(void)state;
	snprintf(cmd, sizeof(cmd), "exec %s 3 30", path_of("pie"));
	p = start_where(cmd, &w);
	assert_int_equal(pf_elf_open(w.path, &e), 0);
	/* A perf map for the live process, in its root's /tmp. */
	snprintf(map_path, sizeof(map_path), "/tmp/perf-%d.map", w.pid);
	pm = fopen(map_path, "w");
	assert_non_null(pm);
	fputs("7f1200001000 100 LazyCompile:~hotLoop /app/main.js:10\n", pm);
	fclose(pm);

	p1 = profile_for(b, w.pid);
	mn = mapping(b, w.path, w.start, w.start + 0x10000, w.offset, e.build_id_hex);
	mk = mapping(b, PF_KERNEL_MAPPING, 0, UINT64_MAX, 0, NULL);
	ma = mapping(b, PF_ANON_MAPPING, 0x7f1200000000, 0x7f1200100000, 0, NULL);
	mx = mapping(b, "/nonexistent/libgone.so", 0x7f3300000000, 0x7f3300100000, 0x2000, NULL);
	l_native = raw_location(b, mn, w.addr + 4, PF_FRAME_NATIVE);
	l_kernel = raw_location(b, mk, kaddr + 2, PF_FRAME_KERNEL);
	l_jit = raw_location(b, ma, 0x7f1200001010, PF_FRAME_JIT);
	l_gone = raw_location(b, mx, 0x7f3300000abc, PF_FRAME_NATIVE);
	given.name = pf_batch_cstring(b, "given");
	fn = pf_batch_function(b, &given);
	gl = (struct pf_line){fn, 7, 0};
	l_given = pf_batch_location(b, &(struct pf_location){.mapping = mn, .address = 1}, &gl, 1);
	sample1(b, p1, l_native, 1);
	sample1(b, p1, l_kernel, 2);
	sample1(b, p1, l_jit, 3);
	sample1(b, p1, l_gone, 4);
	sample1(b, p1, l_given, 5);
	/* The same JIT address in a process without a perf map stays unnamed. */
	p2 = profile_for(b, 999999999);
	sample1(b, p2, l_jit, 6);

	r = pf_resolver_new(&o);
	assert_non_null(r);
	out = pf_resolver_run(r, b, 1000);
	assert_non_null(out);
	assert_int_equal(pf_batch_n_profiles(out), 2);
	assert_int_equal(pf_batch_sample_count(out), 6);

	loc = leaf_of(out, 0, 0, &v);
	assert_int_equal(v, 1);
	assert_string_equal(fn_name(out, loc, 0, &line, &file), "middle");
	assert_string_equal(base(file), "inl.c");
	assert_true(line > 0);
	{
		size_t nl;
		const struct pf_line *ls = pf_batch_location_lines(out, loc, &nl);

		assert_int_equal(pf_batch_function_get(out, ls[nl - 1].function)->start_line,
				 marker_line("inl.c", "int middle(int x)"));
	}
	assert_string_equal(frame_type(out, loc), PF_FRAME_NATIVE);
	assert_int_equal(pf_batch_location_get(out, loc)->address, w.addr + 4);

	loc = leaf_of(out, 0, 1, &v);
	assert_int_equal(v, 2);
	if (kaddr) {
		assert_string_equal(fn_name(out, loc, 0, NULL, &file), "schedule");
		assert_string_equal(file, PF_KERNEL_MAPPING);
		assert_string_equal(frame_type(out, loc), PF_FRAME_KERNEL);
	}

	loc = leaf_of(out, 0, 2, &v);
	assert_int_equal(v, 3);
	assert_string_equal(fn_name(out, loc, 0, NULL, NULL),
			    "LazyCompile:~hotLoop /app/main.js:10");
	assert_string_equal(frame_type(out, loc), PF_FRAME_JIT);

	loc = leaf_of(out, 0, 3, &v);
	assert_int_equal(v, 4);
	assert_string_equal(fn_name(out, loc, 0, NULL, NULL), "libgone.so+0x2abc");

	loc = leaf_of(out, 0, 4, &v);
	assert_int_equal(v, 5);
	assert_string_equal(fn_name(out, loc, 0, &line, NULL), "given");
	assert_int_equal(line, 7);

	loc = leaf_of(out, 1, 0, &v);
	assert_int_equal(v, 6);
	assert_null(fn_name(out, loc, 0, NULL, NULL));
	assert_string_equal(frame_type(out, loc), PF_FRAME_JIT);

	pf_resolver_stats(r, &st);
	assert_int_equal(st.native, 1);
	assert_int_equal(st.jit, 1);
	assert_true(st.open_failed >= 1);

	/* The process is gone: the build ID lets the plain path stand in. */
	stop_where(p, &w);
	unlink(map_path);
	pf_batch_unref(out);
	pf_resolver_free(r);
	r = pf_resolver_new(&o);
	out = pf_resolver_run(r, b, 2000);
	assert_non_null(out);
	loc = leaf_of(out, 0, 0, &v);
	assert_string_equal(fn_name(out, loc, 0, NULL, NULL), "middle");
	pf_batch_unref(out);
	pf_resolver_free(r);
	pf_elf_close(&e);
	pf_batch_unref(b);
}

/* A return address is named by the call before it (address - 1): the same
 * location, where one JIT function ends and the next begins, is the next
 * function as a leaf and the first as a caller; both keep the address. */
static void callers_named_at_the_call(void **state)
{
	struct pf_resolver_opts o = {.perf_maps = true, .cache_size = 1 << 20};
	struct pf_batch *b = pf_batch_new(), *out;
	struct pf_resolver *r;
	char map_path[64];
	uint32_t p, ma, l_edge, l_leaf, st, stack[2];
	const uint32_t *locs;
	const struct pf_sample *smp;
	size_t n;
	int64_t v = 1;
	FILE *pm;

	(void)state;
	snprintf(map_path, sizeof(map_path), "/tmp/perf-%d.map", (int)getpid());
	pm = fopen(map_path, "w");
	assert_non_null(pm);
	fputs("7f1200001000 100 callsAtItsEnd\n7f1200001100 100 nextFunction\n", pm);
	fclose(pm);
	p = profile_for(b, getpid());
	ma = mapping(b, PF_ANON_MAPPING, 0x7f1200000000, 0x7f1200100000, 0, NULL);
	l_edge = raw_location(b, ma, 0x7f1200001100, PF_FRAME_JIT);
	l_leaf = raw_location(b, ma, 0x7f1200001150, PF_FRAME_JIT);
	sample1(b, p, l_edge, 1); /* as a leaf */
	stack[0] = l_leaf;
	stack[1] = l_edge; /* as a caller */
	st = pf_batch_stack(b, stack, 2);
	assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, &v, 1, NULL, 0), 0);

	r = pf_resolver_new(&o);
	assert_non_null(r);
	out = pf_resolver_run(r, b, 1000);
	unlink(map_path);
	assert_non_null(out);
	smp = pf_batch_samples(out, 0, &n);
	assert_int_equal(n, 2);
	locs = pf_batch_stack_get(out, smp[0].stack, &n);
	assert_int_equal(n, 1);
	assert_string_equal(fn_name(out, locs[0], 0, NULL, NULL), "nextFunction");
	assert_int_equal(pf_batch_location_get(out, locs[0])->address, 0x7f1200001100);
	locs = pf_batch_stack_get(out, smp[1].stack, &n);
	assert_int_equal(n, 2);
	assert_string_equal(fn_name(out, locs[0], 0, NULL, NULL), "nextFunction");
	assert_string_equal(fn_name(out, locs[1], 0, NULL, NULL), "callsAtItsEnd");
	assert_int_equal(pf_batch_location_get(out, locs[1])->address, 0x7f1200001100);
	pf_batch_unref(out);
	pf_resolver_free(r);
	pf_batch_unref(b);
}

/* A binary deleted while its process runs resolves through map_files. */
static void deleted_binary_through_map_files(void **state)
{
	struct pf_resolver_opts o = {.lines = true, .demangle = true, .cache_size = 64 << 20};
	struct pf_batch *b = pf_batch_new(), *out;
	struct pf_resolver *r = pf_resolver_new(&o);
	char cmd[1200], shown[1100];
	struct where w;
	uint32_t p, loc;
	int64_t v;
	FILE *pp;

	(void)state;
	assert_int_equal(sh("cp %s %s", path_of("pie"), path_of("doomed")), 0);
	snprintf(cmd, sizeof(cmd), "exec %s 3 30", path_of("doomed"));
	pp = start_where(cmd, &w);
	assert_int_equal(unlink(path_of("doomed")), 0);
	/* What /proc/PID/maps now shows. */
	snprintf(shown, sizeof(shown), "%s (deleted)", w.path);
	p = profile_for(b, w.pid);
	sample1(b, p,
		raw_location(b, mapping(b, shown, w.start, w.end, w.offset, NULL), w.addr,
			     PF_FRAME_NATIVE),
		1);
	out = pf_resolver_run(r, b, 1);
	assert_non_null(out);
	loc = leaf_of(out, 0, 0, &v);
	assert_string_equal(fn_name(out, loc, 0, NULL, NULL), "middle");
	stop_where(pp, &w);
	pf_batch_unref(out);
	pf_resolver_free(r);
	pf_batch_unref(b);
}

/* The file offset of the vDSO's dynamic symbol `name` (its image is laid
 * out at file offset = virtual address), or 0. */
static uint64_t vdso_symbol(const void *image, size_t size, const char *name)
{
	Elf *elf = elf_memory((char *)image, size);
	Elf_Scn *scn = NULL;
	uint64_t found = 0;
	GElf_Shdr sh;
	GElf_Sym sym;

	assert_non_null(elf);
	while (!found && (scn = elf_nextscn(elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++)
			if (gelf_getsym(d, (int)i, &sym) &&
			    !strcmp(elf_strptr(elf, sh.sh_link, sym.st_name), name))
				found = sym.st_value;
	}
	elf_end(elf);
	return found;
}

/* A [vdso] frame is named from proflow's own copy of the vDSO when its
 * build ID is this kernel's, and left unnamed when it is another's. */
static void vdso_named_for_this_kernel_only(void **state)
{
	struct pf_resolver_opts o = {.lines = true, .demangle = true, .cache_size = 64 << 20};
	struct pf_batch *b = pf_batch_new(), *out;
	struct pf_resolver *r = pf_resolver_new(&o);
	const uint64_t start = 0x7ffd1000000;
	char id[PF_HOST_BUILD_ID_HEX];
	const void *image;
	size_t size;
	uint64_t off;
	uint32_t p, l_ours, l_other;
	int64_t v;
	const char *name;

	(void)state;
	assert_int_equal(elf_version(EV_CURRENT) != EV_NONE, 1);
	assert_int_equal(pf_host_vdso(&image, &size), 0);
	assert_int_equal(pf_host_vdso_build_id(id, sizeof(id)), 0);
	off = vdso_symbol(image, size, "__vdso_clock_gettime");
	assert_true(off > 0 && off < size);
	p = profile_for(b, 0);
	l_ours = raw_location(b, mapping(b, "[vdso]", start, start + size, 0, id), start + off + 4,
			      PF_FRAME_NATIVE);
	l_other = raw_location(b,
			       mapping(b, "[vdso]", start + size, start + 2 * size, 0,
				       "00112233445566778899aabbccddeeff00112233"),
			       start + size + off + 4, PF_FRAME_NATIVE);
	sample1(b, p, l_ours, 1);
	sample1(b, p, l_other, 2);
	out = pf_resolver_run(r, b, 1);
	assert_non_null(out);
	name = fn_name(out, leaf_of(out, 0, 0, &v), 0, NULL, NULL);
	assert_non_null(name);
	assert_true(!strcmp(name, "__vdso_clock_gettime") || !strcmp(name, "clock_gettime"));
	name = fn_name(out, leaf_of(out, 0, 1, &v), 0, NULL, NULL);
	assert_non_null(name);
	assert_true(!strncmp(name, "[vdso]+0x", 9));
	pf_batch_unref(out);
	pf_resolver_free(r);
	pf_batch_unref(b);
}

/* A cache far too small for one binary still answers, one file at a time. */
static void tiny_cache_still_answers(void **state)
{
	struct pf_resolver_opts o = {.lines = true, .demangle = true, .cache_size = 1};
	struct pf_batch *b = pf_batch_new(), *out;
	struct nm_sym syms[512];
	size_t n = nm_functions(path_of("nopie"), syms, 512);
	const struct nm_sym *mid = nm_find(syms, n, "middle");
	const struct nm_sym *mn = nm_find(syms, n, "main");
	struct pf_resolver *r = pf_resolver_new(&o);
	uint32_t p, m1, m2, loc;
	struct pf_elf_file e;
	int64_t v;
	int i;

	(void)state;
	/* Two files (nopie, and pie as the other) alternate in one batch. */
	assert_int_equal(pf_elf_open(path_of("nopie"), &e), 0);
	assert_true(e.n_loads > 0);
	p = profile_for(b, -1);
	m1 = mapping(b, path_of("nopie"), e.loads[0].vaddr, UINT64_MAX / 2, e.loads[0].offset,
		     e.build_id_hex);
	m2 = mapping(b, path_of("libpfshlib.so"), 0x7f0000000000, 0x7f0000100000, 0, NULL);
	for (i = 0; i < 4; i++) {
		sample1(b, p, raw_location(b, m1, (i % 2 ? mid : mn)->addr, PF_FRAME_NATIVE), 1);
		sample1(b, p, raw_location(b, m2, 0x7f0000000000 + (uint64_t)i, PF_FRAME_NATIVE),
			1);
	}
	out = pf_resolver_run(r, b, 1);
	assert_non_null(out);
	loc = leaf_of(out, 0, 0, &v);
	assert_string_equal(fn_name(out, loc, 0, NULL, NULL), "main");
	loc = leaf_of(out, 0, 2, &v);
	assert_string_equal(fn_name(out, loc, 0, NULL, NULL), "middle");
	pf_batch_unref(out);
	pf_resolver_free(r);
	pf_elf_close(&e);
	pf_batch_unref(b);
}

/* The file offset the PT_LOAD segments of e map at vaddr. */
static uint64_t offset_of(const struct pf_elf_file *e, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < e->n_loads; i++)
		if (vaddr >= e->loads[i].vaddr && vaddr - e->loads[i].vaddr < e->loads[i].filesz)
			return vaddr - e->loads[i].vaddr + e->loads[i].offset;
	fail_msg("no segment maps %#llx", (unsigned long long)vaddr);
	return 0;
}

/* A stripped binary's addresses are named by the FDE holding them, as
 * readelf lists it: two addresses of middle() as leaves and its return
 * address at its very end as a caller (looked up at address - 1) share
 * one name, "stripped+0x<offset of the FDE's start>"; an address no FDE
 * holds (the ELF header) keeps its own offset. */
static void stripped_function_one_name(void **state)
{
	const uint64_t at = 0x555500000000;
	struct pf_resolver_opts o = {.lines = true, .demangle = true, .cache_size = 64 << 20};
	struct nm_sym syms[512];
	size_t n = nm_functions(path_of("pie"), syms, 512), i, nl;
	const struct nm_sym *mid = nm_find(syms, n, "middle");
	const struct rf_fde *fde = NULL;
	struct pf_batch *b = pf_batch_new(), *out;
	struct pf_resolver *r = pf_resolver_new(&o);
	struct pf_resolver_stats st;
	struct rf_dump d = {0};
	struct pf_elf_file e;
	uint32_t p, m, stack[2];
	const struct pf_sample *smp;
	const uint32_t *locs;
	char want[64];
	int64_t v = 1;

	(void)state;
	assert_non_null(r);
	assert_int_equal(rf_load(path_of("stripped"), &d), 0);
	for (i = 0; i < d.n_fdes && !fde; i++)
		if (d.fdes[i].start <= mid->addr && mid->addr < d.fdes[i].end)
			fde = &d.fdes[i];
	assert_non_null(fde);
	assert_true(fde->end - fde->start >= 8);
	assert_int_equal(pf_elf_open(path_of("stripped"), &e), 0);
	assert_false(e.has_symtab);
	snprintf(want, sizeof(want), "stripped+0x%" PRIx64, offset_of(&e, fde->start));

	p = profile_for(b, -1);
	m = mapping(b, path_of("stripped"), at, at + 0x100000, 0, e.build_id_hex);
	sample1(b, p, raw_location(b, m, at + offset_of(&e, fde->start + 1), PF_FRAME_NATIVE), 1);
	sample1(b, p, raw_location(b, m, at + offset_of(&e, fde->end - 1), PF_FRAME_NATIVE), 1);
	stack[0] = raw_location(b, m, at + offset_of(&e, fde->start + 2), PF_FRAME_NATIVE);
	stack[1] = raw_location(b, m, at + offset_of(&e, fde->end), PF_FRAME_NATIVE);
	assert_int_equal(
		pf_batch_add_sample(b, p, pf_batch_stack(b, stack, 2), 0, 0, &v, 1, NULL, 0), 0);
	sample1(b, p, raw_location(b, m, at + 0x10, PF_FRAME_NATIVE), 1);

	out = pf_resolver_run(r, b, 1000);
	assert_non_null(out);
	smp = pf_batch_samples(out, 0, &n);
	assert_int_equal(n, 4);
	for (i = 0; i < 3; i++) {
		size_t j;

		locs = pf_batch_stack_get(out, smp[i].stack, &nl);
		for (j = 0; j < nl; j++)
			assert_string_equal(fn_name(out, locs[j], 0, NULL, NULL), want);
	}
	assert_int_equal(nl, 2);
	/* Each location keeps its own address. */
	assert_int_equal(pf_batch_location_get(out, locs[1])->address,
			 at + offset_of(&e, fde->end));
	locs = pf_batch_stack_get(out, smp[3].stack, &nl);
	assert_string_equal(fn_name(out, locs[0], 0, NULL, NULL), "stripped+0x10");
	pf_resolver_stats(r, &st);
	assert_int_equal(st.unresolved, 5);
	pf_batch_unref(out);
	pf_resolver_free(r);
	pf_elf_close(&e);
	rf_free(&d);
	pf_batch_unref(b);
}

/* Resolves each of vaddrs of the file at path (e open on it) as a leaf
 * and checks that all are named want. */
static void assert_leaves_named(const char *path, const struct pf_elf_file *e,
				const uint64_t *vaddrs, size_t n, const char *want)
{
	const uint64_t at = 0x7f5500000000;
	struct pf_resolver_opts o = {.lines = true, .demangle = true, .cache_size = 64 << 20};
	struct pf_batch *b = pf_batch_new(), *out;
	struct pf_resolver *r = pf_resolver_new(&o);
	uint32_t p, m;
	int64_t v;
	size_t i;

	assert_non_null(r);
	p = profile_for(b, -1);
	m = mapping(b, path, at, at + 0x10000000, 0, e->build_id_hex);
	for (i = 0; i < n; i++)
		sample1(b, p, raw_location(b, m, at + offset_of(e, vaddrs[i]), PF_FRAME_NATIVE), 1);
	out = pf_resolver_run(r, b, 1000);
	assert_non_null(out);
	for (i = 0; i < n; i++)
		assert_string_equal(fn_name(out, leaf_of(out, 0, i, &v), 0, NULL, NULL), want);
	pf_batch_unref(out);
	pf_resolver_free(r);
	pf_batch_unref(b);
}

/* The case: Debian's liblzma names only its exported functions;
 * two addresses of a static one (an FDE no symbol covers) share the name
 * of the FDE's start, liblzma.so.5.4.1+0x<offset>. */
#define LIBLZMA "/lib/x86_64-linux-gnu/liblzma.so.5.4.1"
static void stripped_library_static_function_one_name(void **state)
{
	struct pf_symfile *f = NULL;
	struct rf_dump d = {0};
	struct pf_elf_file e;
	uint64_t at[3];
	char want[64];
	size_t i;

	(void)state;
	if (access(LIBLZMA, R_OK) != 0)
		skip();
	assert_int_equal(rf_load(LIBLZMA, &d), 0);
	assert_int_equal(pf_symfile_open("", LIBLZMA, NULL, &OPTS, &f), 0);
	/* An FDE of some size that no symbol (nor a debug file) names. */
	for (i = 0; i < d.n_fdes; i++) {
		const struct rf_fde *x = &d.fdes[i];

		if (x->end - x->start >= 64 && !pf_symfile_resolve_vaddr(f, x->start) &&
		    !pf_symfile_resolve_vaddr(f, x->start + 40))
			break;
	}
	pf_symfile_close(f);
	if (i == d.n_fdes)
		skip(); /* named throughout: its debug file is installed */
	assert_int_equal(pf_elf_open(LIBLZMA, &e), 0);
	at[0] = d.fdes[i].start;
	at[1] = d.fdes[i].start + 40;
	at[2] = d.fdes[i].end - 1;
	snprintf(want, sizeof(want), "liblzma.so.5.4.1+0x%" PRIx64, offset_of(&e, at[0]));
	assert_leaves_named(LIBLZMA, &e, at, 3, want);
	pf_elf_close(&e);
	rf_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_match_nm),
		cmocka_unit_test(inline_chains_match_eu_addr2line),
		cmocka_unit_test(clang_binary_matches_llvm_symbolizer),
		cmocka_unit_test(pie_and_non_pie_offsets),
		cmocka_unit_test(shared_library_file_line),
		cmocka_unit_test(debuglink_and_build_id_dir),
		cmocka_unit_test(build_id_mismatch_refused),
		cmocka_unit_test(demangles_cxx_and_rust),
		cmocka_unit_test(kallsyms_real),
		cmocka_unit_test(resolver_names_a_batch),
		cmocka_unit_test(callers_named_at_the_call),
		cmocka_unit_test(deleted_binary_through_map_files),
		cmocka_unit_test(elf_truncated_while_open),
		cmocka_unit_test(dwz_shared_file_truncated_while_open),
		cmocka_unit_test(tiny_cache_still_answers),
		cmocka_unit_test(vdso_named_for_this_kernel_only),
		cmocka_unit_test(stripped_function_one_name),
		cmocka_unit_test(stripped_library_static_function_one_name),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
