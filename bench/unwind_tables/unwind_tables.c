// SPDX-License-Identifier: Apache-2.0
/* Times compiling unwind tables: one file (ours, or libdw's CFI API asked for the same rows), or every executable mapped on the host. */
#include <dirent.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/unwind_table.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Peak resident set so far, KiB. */
static long peak_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Code bytes each kind of row covers, up to the last row (a gap to the end). */
struct kinds {
	unsigned long long bytes[PF_UNWIND_KINDS], outermost;
};

static void count_kinds(const struct pf_unwind_table *t, struct kinds *k)
{
	uint32_t i;

	for (i = 0; i + 1 < t->n_rows; i++) {
		unsigned long long len = t->rows[i + 1].pc - t->rows[i].pc;

		k->bytes[PF_UNWIND_ROW_KIND(&t->rows[i])] += len;
		if (PF_UNWIND_ROW_KIND(&t->rows[i]) != PF_UNWIND_GAP &&
		    PF_UNWIND_ROW_RA(&t->rows[i]) == PF_UNWIND_RA_UNDEFINED)
			k->outermost += len;
	}
}

/* Prints the share of the code with CFI that each rule covers. */
static void print_kinds(const struct kinds *k)
{
	static const char *const names[] = {"gap",	"sp",	     "fp",	 "plt",
					    "signal",	"unknown",   "fp_deref", "fp_deref_8",
					    "sp_deref", "sp_deref_8"};
	unsigned long long cfi = 0;
	unsigned i;

	for (i = PF_UNWIND_CFA_SP; i < PF_UNWIND_KINDS; i++)
		cfi += k->bytes[i];
	for (i = PF_UNWIND_CFA_SP; i < PF_UNWIND_KINDS; i++)
		printf(" %s_pct=%.4f", names[i],
		       cfi ? 100.0 * (double)k->bytes[i] / (double)cfi : 0);
	printf(" outermost_bytes=%llu gaps_inside_bytes=%llu\n", k->outermost,
	       k->bytes[PF_UNWIND_GAP]);
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_unwind_tables ours FILE | libdw FILE | host\n");
	return 2;
}

/* Compiles FILE once; prints seconds, peak RSS above the start, sizes. */
static int one_ours(const char *path)
{
	struct pf_error err = {0};
	struct kinds k = {0};
	long before = peak_kib();
	double t0 = now_s(), t1;
	struct pf_unwind_table *t = pf_unwind_table_from_path(path, &err);

	t1 = now_s();
	if (!t) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		return 1;
	}
	printf("seconds=%.6f peak_kib=%ld cfi_bytes=%llu table_bytes=%zu rows=%u fdes=%u "
	       "bad=%u skipped=%u overlaps=%u outside=%u\n",
	       t1 - t0, peak_kib() - before, (unsigned long long)t->cfi_bytes,
	       pf_unwind_table_bytes(t), t->n_rows, t->n_fdes, t->bad_fdes, t->skipped_fdes,
	       t->overlaps, t->outside_fdes);
	count_kinds(t, &k);
	print_kinds(&k);
	pf_unwind_table_destroy(t);
	return 0;
}

/* The same rows from libdw: for every pc range our table covers with CFI,
 * dwarf_cfi_addrframe from its start, then from each row's end, reading the
 * CFA and the rbp and return address rules as a compiler of tables must.
 * Our table only supplies where the FDEs are (libdw cannot list them). */
static int one_libdw(const char *path)
{
	struct pf_unwind_table *t = pf_unwind_table_from_path(path, NULL);
	long before = peak_kib(), frames = 0, errors = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	double t0, t1;
	Dwarf_CFI *cfi;
	uint32_t i, k;
	Elf *elf;

	if (!t || fd < 0)
		return 1;
	t0 = now_s();
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cfi = elf ? dwarf_getcfi_elf(elf) : NULL;
	if (!cfi) {
		fprintf(stderr, "%s: libdw has no CFI for it\n", path);
		return 1;
	}
	/* Each run of rows between gaps is one or more adjacent FDEs. */
	for (i = 0; i < t->n_rows; i = k) {
		uint64_t pc, end;

		for (k = i; k < t->n_rows && PF_UNWIND_ROW_KIND(&t->rows[k]) != PF_UNWIND_GAP; k++)
			;
		if (k == i) {
			k++;
			continue;
		}
		if (k == t->n_rows)
			break;
		pc = t->base + t->rows[i].pc;
		end = t->base + t->rows[k].pc;
		while (pc < end) {
			Dwarf_Op mem[3], *ops;
			Dwarf_Addr s, e;
			Dwarf_Frame *f;
			size_t nops;
			bool sig;

			if (dwarf_cfi_addrframe(cfi, pc, &f) != 0) {
				errors++;
				break;
			}
			dwarf_frame_info(f, &s, &e, &sig);
			(void)dwarf_frame_cfa(f, &ops, &nops);
			(void)dwarf_frame_register(f, 6, mem, &ops, &nops);
			(void)dwarf_frame_register(f, 16, mem, &ops, &nops);
			free(f);
			frames++;
			pc = e > pc ? e : pc + 1;
		}
	}
	dwarf_cfi_end(cfi);
	elf_end(elf);
	t1 = now_s();
	close(fd);
	printf("seconds=%.6f peak_kib=%ld frames=%ld errors=%ld\n", t1 - t0, peak_kib() - before,
	       frames, errors);
	pf_unwind_table_destroy(t);
	return 0;
}

struct seen {
	dev_t *dev;
	ino_t *ino;
	size_t n, cap;
};

/* 1 if (dev, ino) was already compiled, else records it. */
static int seen_before(struct seen *s, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->dev[i] == dev && s->ino[i] == ino)
			return 1;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		dev_t *d = reallocarray(s->dev, cap, sizeof(*d));
		ino_t *n = d ? reallocarray(s->ino, cap, sizeof(*n)) : NULL;

		if (d)
			s->dev = d;
		if (!d || !n)
			return 1;
		s->ino = n;
		s->cap = cap;
	}
	s->dev[s->n] = dev;
	s->ino[s->n++] = ino;
	return 0;
}

/* Every executable file mapped by a process of this host, compiled once
 * each and all kept, as the collector keeps them. */
static int host(void)
{
	struct pf_unwind_table **tables = NULL;
	size_t n = 0, cap = 0, failed = 0, none = 0, i;
	unsigned long long cfi = 0, bytes = 0, rows = 0;
	long before = peak_kib();
	struct seen seen = {0};
	struct kinds k = {0};
	struct dirent *de;
	double t0 = now_s();
	DIR *proc = opendir("/proc");

	if (!proc)
		return 1;
	while ((de = readdir(proc)) != NULL) {
		char maps[300], line[4608];
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(maps, sizeof(maps), "/proc/%s/maps", de->d_name);
		f = fopen(maps, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char perms[8], path[4096] = "";
			struct stat st;
			struct pf_unwind_table *t;

			if (sscanf(line, "%*x-%*x %7s %*x %*x:%*x %*u %4095[^\n]", perms, path) !=
				    2 ||
			    perms[2] != 'x' || path[0] != '/' || stat(path, &st) != 0 ||
			    seen_before(&seen, st.st_dev, st.st_ino))
				continue;
			t = pf_unwind_table_from_path(path, NULL);
			if (!t) {
				failed++;
				continue;
			}
			none += t->n_rows == 0;
			count_kinds(t, &k);
			cfi += t->cfi_bytes;
			bytes += pf_unwind_table_bytes(t);
			rows += t->n_rows;
			if (n == cap) {
				size_t c = cap ? 2 * cap : 256;
				struct pf_unwind_table **m = reallocarray(tables, c, sizeof(*m));

				if (!m) {
					pf_unwind_table_destroy(t);
					break;
				}
				tables = m;
				cap = c;
			}
			tables[n++] = t;
		}
		fclose(f);
	}
	closedir(proc);
	printf("files=%zu failed=%zu without_cfi=%zu seconds=%.3f peak_kib=%ld peak_total_kib=%ld "
	       "cfi_bytes=%llu table_bytes=%llu rows=%llu\n",
	       n, failed, none, now_s() - t0, peak_kib() - before, peak_kib(), cfi, bytes, rows);
	print_kinds(&k);
	for (i = 0; i < n; i++)
		pf_unwind_table_destroy(tables[i]);
	free(tables);
	free(seen.dev);
	free(seen.ino);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "ours"))
		return one_ours(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "libdw"))
		return one_libdw(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "host"))
		return host();
	return usage();
}
