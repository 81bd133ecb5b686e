// SPDX-License-Identifier: Apache-2.0
/* unit.symbolize_text: the perf-map and kallsyms parsers, perf maps re-read, kallsyms reloads, and the LRU cache. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "processors/symbolize/cache.h"
#include "processors/symbolize/jitmap.h"
#include "processors/symbolize/kallsyms.h"
#include "processors/symbolize/perfmap.h"

/* ---- perf maps ---- */

static void perfmap_parses(void **state)
{
	static const char text[] = "7f0000001000 40 LazyCompile:~hot /app/x.js:3\n"
				   "0x7f0000002000 0x10 Function:cold\r\n"
				   "garbage line\n"
				   "7f0000003000 0 zero-size\n"
				   "7f0000004000 20\n"
				   "ffffffffffffffff 10 wraps\n"
				   "7f0000005000 8 partial";
	struct pf_symtab t;
	const struct pf_sym *s;
	size_t bad = 0;
	long used;

	(void)state;
	assert_int_equal(pf_symtab_init(&t), 0);
	used = pf_perfmap_parse(text, sizeof(text) - 1, &t, &bad);
	/* The unterminated last line is left for the next read. */
	assert_int_equal(used, strrchr(text, '\n') + 1 - text);
	assert_int_equal(bad, 4);
	pf_symtab_finish(&t);
	assert_int_equal(t.n, 2);
	s = pf_symtab_lookup(&t, 0x7f000000103f);
	assert_non_null(s);
	assert_string_equal(pf_symtab_str(&t, s->name), "LazyCompile:~hot /app/x.js:3");
	assert_null(pf_symtab_lookup(&t, 0x7f0000001040));
	s = pf_symtab_lookup(&t, 0x7f0000002000);
	assert_non_null(s);
	assert_string_equal(pf_symtab_str(&t, s->name), "Function:cold");
	assert_null(pf_symtab_lookup(&t, 0x7f0000000fff));
	/* The rest arrives later. */
	used = pf_perfmap_parse("7f0000005000 8 partial\n", 23, &t, &bad);
	assert_int_equal(used, 23);
	pf_symtab_finish(&t);
	assert_non_null(pf_symtab_lookup(&t, 0x7f0000005007));
	pf_symtab_free(&t);
}

/* ---- kallsyms ---- */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w"); /* O_TRUNC, as a JIT starting its map over */

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Issue 10 #1: a perf map cut under the reader (rewritten with O_TRUNC by a
 * JIT that started over) was skipped from then on, its old entries kept
 * naming code they no longer describe. Now it is read again from the start. */
static void perfmap_cut_while_read(void **state)
{
	char proc[] = "/tmp/pf_jitmap.XXXXXX", path[256], cmd[1024];
	struct pf_jitmap *j;
	int err = 0;

	(void)state;
	assert_non_null(mkdtemp(proc));
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/4242/root/tmp", proc);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/4242/status", proc);
	write_text(path, "Name:\tnode\nNSpid:\t4242\t17\n");
	snprintf(path, sizeof(path), "%s/4242/root/tmp/perf-17.map", proc);
	write_text(path, "1000 10 LazyCompile:~oldFunction\n2000 10 Stub:old\n");
	j = pf_jitmap_open(proc, 4242, &err);
	assert_non_null(j);
	assert_string_equal(pf_jitmap_lookup(j, 0x1004), "LazyCompile:~oldFunction");
	/* Appended: read on. */
	snprintf(cmd, sizeof(cmd), "echo '3000 10 appended' >> %s", path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(pf_jitmap_refresh(j), 0);
	assert_string_equal(pf_jitmap_lookup(j, 0x3004), "appended");
	/* Cut and rewritten shorter: started over. */
	write_text(path, "5000 10 fresh\n");
	assert_int_equal(pf_jitmap_refresh(j), 1);
	assert_string_equal(pf_jitmap_lookup(j, 0x5004), "fresh");
	assert_null(pf_jitmap_lookup(j, 0x1004));
	assert_null(pf_jitmap_lookup(j, 0x3004));
	/* Replaced by another file (rename over it), even a longer one. */
	snprintf(cmd, sizeof(cmd),
		 "printf '6000 10 replaced\\n%%0100d\\n' 0 > %s.new && mv %s.new %s", path, path,
		 path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(pf_jitmap_refresh(j), 1);
	assert_string_equal(pf_jitmap_lookup(j, 0x6004), "replaced");
	assert_null(pf_jitmap_lookup(j, 0x5004));
	pf_jitmap_close(j);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", proc);
	assert_int_equal(system(cmd), 0);
}

static void kallsyms_synthetic(void **state)
{
	static const char text[] = "ffffffff81000000 T _stext\n"
				   "ffffffff81000100 t helper\n"
				   "ffffffff81000200 D some_data\n"
				   "ffffffff81000300 W weak_fn\n"
				   "ffffffffc0001000 t ext4_read\t[ext4]\n"
				   "ffffffffc0001100 T ext4_write\t[ext4]\n"
				   "bad\n";
	char dir[] = "/tmp/pf-kallsyms-XXXXXX", ks[128], mods[128];
	struct pf_symtab t;
	const struct pf_sym *s;
	struct pf_kallsyms *k;
	const char *name, *module;
	FILE *f;
	int err = 0;

	(void)state;
	assert_int_equal(pf_symtab_init(&t), 0);
	assert_int_equal(pf_kallsyms_parse(text, sizeof(text) - 1, &t), 5);
	pf_symtab_finish(&t);
	s = pf_symtab_lookup(&t, 0xffffffff81000150);
	assert_string_equal(pf_symtab_str(&t, s->name), "helper");
	assert_string_equal(pf_symtab_str(&t, s->module), "");
	s = pf_symtab_lookup(&t, 0xffffffffc0001010);
	assert_string_equal(pf_symtab_str(&t, s->name), "ext4_read");
	assert_string_equal(pf_symtab_str(&t, s->module), "[ext4]");
	pf_symtab_free(&t);
	/* kptr_restrict: every address zero. */
	assert_int_equal(pf_symtab_init(&t), 0);
	assert_int_equal(pf_kallsyms_parse("0000000000000000 T a\n0000000000000000 t b\n", 42, &t),
			 -EACCES);
	pf_symtab_free(&t);

	/* Reloaded when the module list changes, not when use counts do. */
	assert_non_null(mkdtemp(dir));
	snprintf(ks, sizeof(ks), "%s/kallsyms", dir);
	snprintf(mods, sizeof(mods), "%s/modules", dir);
	f = fopen(ks, "w");
	fputs(text, f);
	fclose(f);
	f = fopen(mods, "w");
	fputs("ext4 100 1 - Live 0x0\n", f);
	fclose(f);
	k = pf_kallsyms_open(ks, mods, &err);
	assert_non_null(k);
	assert_true(pf_kallsyms_lookup(k, 0xffffffffc0001100, &name, &module));
	assert_string_equal(name, "ext4_write");
	assert_string_equal(module, "[ext4]");
	f = fopen(mods, "w");
	fputs("ext4 100 2 - Live 0x0\n", f);
	fclose(f);
	assert_int_equal(pf_kallsyms_refresh(k, 20000, 10000), 0);
	f = fopen(ks, "w");
	fputs("ffffffff81000000 T _stext\nffffffffc0002000 t xfs_read\t[xfs]\n", f);
	fclose(f);
	f = fopen(mods, "w");
	fputs("ext4 100 2 - Live 0x0\nxfs 100 0 - Live 0x0\n", f);
	fclose(f);
	assert_int_equal(pf_kallsyms_refresh(k, 25000, 10000), 0); /* too soon */
	assert_int_equal(pf_kallsyms_refresh(k, 40000, 10000), 1);
	assert_true(pf_kallsyms_lookup(k, 0xffffffffc0002004, &name, &module));
	assert_string_equal(name, "xfs_read");
	assert_string_equal(module, "[xfs]");
	pf_kallsyms_close(k);
	unlink(ks);
	unlink(mods);
	rmdir(dir);
}

/* The file is read in 64 KiB chunks: lines across a chunk's end are whole,
 * a line longer than a chunk is skipped, and hidden addresses still tell. */
static void kallsyms_read_in_chunks(void **state)
{
	char dir[] = "/tmp/pf-kallsyms-XXXXXX", ks[64], name_buf[64];
	const char *name, *module;
	struct pf_kallsyms *k;
	int err = 0, i;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(ks, sizeof(ks), "%s/kallsyms", dir);
	f = fopen(ks, "w");
	for (i = 0; i < 5000; i++) /* about 170 KiB */
		fprintf(f, "%016llx T function_number_%d\t[mod%d]\n",
			0xffffffff81000000ull + 0x100ull * (unsigned)i, i, i % 7);
	fputs("ffffffff82000000 T ", f);
	for (i = 0; i < 70000; i++)
		fputc('x', f);
	fputs("\nffffffff82000100 T after_the_long_line\n", f);
	fclose(f);
	k = pf_kallsyms_open(ks, "/nonexistent", &err);
	assert_non_null(k);
	for (i = 0; i < 5000; i++) {
		assert_true(pf_kallsyms_lookup(k, 0xffffffff81000010ull + 0x100ull * (unsigned)i,
					       &name, &module));
		snprintf(name_buf, sizeof(name_buf), "function_number_%d", i);
		assert_string_equal(name, name_buf);
		snprintf(name_buf, sizeof(name_buf), "[mod%d]", i % 7);
		assert_string_equal(module, name_buf);
	}
	assert_true(pf_kallsyms_lookup(k, 0xffffffff82000104ull, &name, &module));
	assert_string_equal(name, "after_the_long_line");
	pf_kallsyms_close(k);

	f = fopen(ks, "w");
	for (i = 0; i < 5000; i++)
		fprintf(f, "0000000000000000 T function_number_%d\n", i);
	fclose(f);
	assert_null(pf_kallsyms_open(ks, "/nonexistent", &err));
	assert_int_equal(err, -EACCES);
	unlink(ks);
	rmdir(dir);
}

/* ---- the cache ---- */

struct dummy {
	int id;
	int *destroyed;
};

static void dummy_destroy(void *v)
{
	struct dummy *d = v;

	*d->destroyed |= 1 << d->id;
	free(d);
}

static struct dummy *dummy(int id, int *destroyed)
{
	struct dummy *d = calloc(1, sizeof(*d));

	d->id = id;
	d->destroyed = destroyed;
	return d;
}

static void cache_evicts_least_recently_used(void **state)
{
	int destroyed = 0;
	struct pf_symcache *c = pf_symcache_new(100, dummy_destroy);
	struct pf_symcache_stats st;
	struct dummy *a;

	(void)state;
	assert_non_null(c);
	a = dummy(0, &destroyed);
	assert_int_equal(pf_symcache_put(c, "b:aa", a, 40), 0);
	assert_int_equal(pf_symcache_put(c, "b:bb", dummy(1, &destroyed), 40), 0);
	assert_ptr_equal(pf_symcache_get(c, "b:aa"), a); /* a is now the newest */
	assert_int_equal(pf_symcache_put(c, "b:cc", dummy(2, &destroyed), 40), 0);
	assert_int_equal(destroyed, 1 << 1); /* b went */
	assert_null(pf_symcache_get(c, "b:bb"));
	/* Growing an entry evicts others, never itself. */
	pf_symcache_set_cost(c, a, 90);
	assert_int_equal(destroyed, (1 << 1) | (1 << 2));
	pf_symcache_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.bytes, 90);
	assert_int_equal(st.evictions, 2);
	/* One entry over budget stays until another arrives. */
	pf_symcache_set_cost(c, a, 500);
	assert_ptr_equal(pf_symcache_get(c, "b:aa"), a);
	assert_int_equal(pf_symcache_put(c, "p:1", dummy(3, &destroyed), 10), 0);
	assert_true(destroyed & 1);
	pf_symcache_remove(c, "p:1");
	assert_true(destroyed & (1 << 3));
	pf_symcache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(perfmap_parses),
		cmocka_unit_test(perfmap_cut_while_read),
		cmocka_unit_test(kallsyms_synthetic),
		cmocka_unit_test(kallsyms_read_in_chunks),
		cmocka_unit_test(cache_evicts_least_recently_used),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
