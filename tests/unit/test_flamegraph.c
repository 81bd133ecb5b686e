// SPDX-License-Identifier: Apache-2.0
/* unit.flamegraph: folding, grouping, SVG escaping, elision and well-formedness, files; main. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "exporters/flamegraph/fold.h"
#include "exporters/flamegraph/svg.h"
#include "test_flamegraph.h"
#include "model/batch.h"
#include "files/files.h"
#include "model/semconv.h"

/* ---- building batches ---- */

static uint32_t resource(struct pf_batch *b, const char *exe, int64_t pid, const char *service)
{
	uint32_t attrs[3];
	size_t n = 0;
	struct pf_resource r = {0};

	if (exe)
		attrs[n++] = pf_batch_attr_str(b, PF_ATTR_PROCESS_EXECUTABLE_NAME, exe);
	if (pid >= 0)
		attrs[n++] = pf_batch_attr_int(b, PF_ATTR_PROCESS_PID, pid);
	if (service)
		attrs[n++] = pf_batch_attr_str(b, PF_ATTR_SERVICE_NAME, service);
	r.attrs = pf_batch_attr_set(b, attrs, n);
	return pf_batch_resource(b, &r);
}

static uint32_t profile(struct pf_batch *b, uint32_t res, const char *type, const char *unit)
{
	struct pf_profile_desc d = {0};

	d.resource = res;
	d.sample_type.type = pf_batch_cstring(b, type);
	d.sample_type.unit = pf_batch_cstring(b, unit);
	d.time_unix_nano = 1795760100ULL * 1000000000ULL;
	return pf_batch_add_profile(b, &d);
}

static uint32_t function(struct pf_batch *b, const char *name)
{
	struct pf_function f = {.name = pf_batch_cstring(b, name)};

	return pf_batch_function(b, &f);
}

static uint32_t frame_type(struct pf_batch *b, const char *type)
{
	uint32_t a = pf_batch_attr_str(b, PF_ATTR_FRAME_TYPE, type);

	return type ? pf_batch_attr_set(b, &a, 1) : 0;
}

/* A location of one function (or, with "inner>outer", of an inlined pair). */
static uint32_t loc_fn(struct pf_batch *b, const char *name, const char *type)
{
	struct pf_location loc = {.attrs = frame_type(b, type)};
	struct pf_line lines[2] = {{0}};
	const char *gt = strchr(name, '>');
	size_t n = 1;

	if (gt) {
		char inner[64];

		snprintf(inner, sizeof(inner), "%.*s", (int)(gt - name), name);
		lines[0].function = function(b, inner);
		lines[1].function = function(b, gt + 1);
		n = 2;
	} else {
		lines[0].function = function(b, name);
	}
	return pf_batch_location(b, &loc, lines, n);
}

/* An unsymbolized location at `address` in a mapping of `file`. */
static uint32_t loc_addr(struct pf_batch *b, const char *file, uint64_t start, uint64_t limit,
			 uint64_t offset, uint64_t address, const char *type)
{
	struct pf_mapping m = {.memory_start = start, .memory_limit = limit, .file_offset = offset};
	struct pf_location loc = {.attrs = frame_type(b, type), .address = address};

	m.filename = pf_batch_cstring(b, file);
	loc.mapping = pf_batch_mapping(b, &m);
	return pf_batch_location(b, &loc, NULL, 0);
}

static uint32_t stack(struct pf_batch *b, const uint32_t *locs, size_t n)
{
	return pf_batch_stack(b, locs, n);
}

static void sample(struct pf_batch *b, uint32_t p, uint32_t st, int64_t v)
{
	assert_int_equal(pf_batch_add_sample(b, p, st, 0, 0, &v, 1, NULL, 0), 0);
}

/*
 * app (pid 42, service svc-a), cpu/nanoseconds and samples/count:
 *   main > work                          30 + 3
 *   main > outer > inner (inlined)       20
 *   main > libc.so.6+0x1234              10
 *   main > work > kernel frame            5
 *   a sample of weight -4                 left out
 * db (pid 7), cpu/nanoseconds:
 *   main > query                          7, and 3 timestamps without values
 *   main > "a;b\nc"                        2
 */
struct pf_batch *test_batch(void)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t app = resource(b, "app", 42, "svc-a"), db = resource(b, "db", 7, NULL);
	uint32_t pa = profile(b, app, "samples", "count");
	uint32_t pc = profile(b, app, "cpu", "nanoseconds");
	uint32_t pd = profile(b, db, "cpu", "nanoseconds");
	uint32_t main_ = loc_fn(b, "main", "native"), work = loc_fn(b, "work", "native");
	uint32_t inl = loc_fn(b, "inner>outer", "native");
	uint32_t libc = loc_addr(b, "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x7f0000001000,
				 0x7f0000100000, 0x1000, 0x7f0000001234, "native");
	uint32_t kern =
		loc_addr(b, PF_KERNEL_MAPPING, 0, UINT64_MAX, 0, 0xffffffff81000010, "kernel");
	uint32_t query = loc_fn(b, "query", "native"), odd = loc_fn(b, "a;b\nc", "native");
	uint32_t s_work[] = {work, main_}, s_inl[] = {inl, main_}, s_libc[] = {libc, main_};
	uint32_t s_kern[] = {kern, work, main_}, s_query[] = {query, main_}, s_odd[] = {odd, main_};
	uint64_t ts[3] = {1, 2, 3};

	assert_non_null(b);
	sample(b, pc, stack(b, s_work, 2), 30);
	sample(b, pc, stack(b, s_inl, 2), 20);
	sample(b, pc, stack(b, s_libc, 2), 10);
	sample(b, pc, stack(b, s_kern, 3), 5);
	sample(b, pc, stack(b, s_work, 2), 3);
	sample(b, pc, stack(b, s_work, 2), -4);
	sample(b, pa, stack(b, s_work, 2), 2);
	sample(b, pa, stack(b, s_kern, 3), 1);
	sample(b, pd, stack(b, s_query, 2), 7);
	assert_int_equal(pf_batch_add_sample(b, pd, stack(b, s_query, 2), 0, 0, NULL, 0, ts, 3), 0);
	sample(b, pd, stack(b, s_odd, 2), 2);
	return b;
}

/* Folds b as told and returns the folded text (caller frees). */
static char *fold_text(const struct pf_batch *b, const char *type, enum pf_flame_group group,
		       int expect_samples)
{
	struct pf_flame f;
	char *text;
	size_t len;

	assert_int_equal(pf_flame_init(&f), 0);
	assert_int_equal(pf_flame_pick_type(&f, b, type), 0);
	assert_int_equal(pf_flame_fold(&f, b, group), expect_samples);
	assert_int_equal(pf_flame_sort(&f), 0);
	assert_int_equal(pf_flame_folded(&f, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	pf_flame_free(&f);
	return text;
}

static void test_fold_process(void **state)
{
	struct pf_batch *b = test_batch();
	char *text = fold_text(b, NULL, PF_FLAME_GROUP_PROCESS, 8);

	assert_string_equal(text, "app (42);main;libc.so.6+0x1234 10\n"
				  "app (42);main;outer;inner 20\n"
				  "app (42);main;work 33\n"
				  "app (42);main;work;[kernel.kallsyms]+0xffffffff81000010 5\n"
				  "db (7);main;a:b c 2\n"
				  "db (7);main;query 10\n");
	free(text);
	pf_batch_unref(b);
}

static void test_fold_service_and_none(void **state)
{
	struct pf_batch *b = test_batch();
	char *text = fold_text(b, "cpu/nanoseconds", PF_FLAME_GROUP_SERVICE, 8);

	assert_string_equal(text, "svc-a;main;libc.so.6+0x1234 10\n"
				  "svc-a;main;outer;inner 20\n"
				  "svc-a;main;work 33\n"
				  "svc-a;main;work;[kernel.kallsyms]+0xffffffff81000010 5\n"
				  "unknown_service:db;main;a:b c 2\n"
				  "unknown_service:db;main;query 10\n");
	free(text);
	/* Without grouping, both processes' main is one frame. */
	text = fold_text(b, "cpu", PF_FLAME_GROUP_NONE, 8);
	assert_string_equal(text, "main;a:b c 2\n"
				  "main;libc.so.6+0x1234 10\n"
				  "main;outer;inner 20\n"
				  "main;query 10\n"
				  "main;work 33\n"
				  "main;work;[kernel.kallsyms]+0xffffffff81000010 5\n");
	free(text);
	pf_batch_unref(b);
}

static void test_fold_sample_type(void **state)
{
	struct pf_batch *b = test_batch();
	struct pf_flame f;
	char *text = fold_text(b, "samples", PF_FLAME_GROUP_PROCESS, 2);

	assert_string_equal(text, "app (42);main;work 2\n"
				  "app (42);main;work;[kernel.kallsyms]+0xffffffff81000010 1\n");
	free(text);
	/* A type no profile has, or the right type with another unit. */
	assert_int_equal(pf_flame_init(&f), 0);
	assert_int_equal(pf_flame_pick_type(&f, b, "alloc_space"), -ENOENT);
	assert_int_equal(pf_flame_pick_type(&f, b, "cpu/bytes"), -ENOENT);
	assert_false(f.has_type);
	assert_int_equal(pf_flame_pick_type(&f, b, NULL), 0);
	assert_string_equal(f.type, "cpu");
	assert_string_equal(f.unit, "nanoseconds");
	/* Once chosen, the type stays (a cumulative graph keeps its first). */
	assert_int_equal(pf_flame_pick_type(&f, b, "samples"), 0);
	assert_string_equal(f.type, "cpu");
	pf_flame_free(&f);
	pf_batch_unref(b);

	/* Without a cpu profile, the first profile's type is drawn. */
	b = pf_batch_new();
	profile(b, resource(b, "x", 1, NULL), "alloc_space", "bytes");
	assert_int_equal(pf_flame_init(&f), 0);
	assert_int_equal(pf_flame_pick_type(&f, b, ""), 0);
	assert_string_equal(f.type, "alloc_space");
	assert_string_equal(f.unit, "bytes");
	pf_flame_free(&f);
	pf_batch_unref(b);
}

static void test_fold_kinds_and_merge(void **state)
{
	struct pf_batch *b = test_batch();
	struct pf_flame one, two;
	char *t1, *t2;
	size_t len;
	int kernel = 0, inlined = 0;

	assert_int_equal(pf_flame_init(&one), 0);
	assert_int_equal(pf_flame_pick_type(&one, b, NULL), 0);
	assert_int_equal(pf_flame_fold(&one, b, PF_FLAME_GROUP_PROCESS), 8);
	for (size_t i = 0; i < one.n_nodes; i++) {
		const char *name = pf_flame_name(&one, (uint32_t)i);

		if (one.nodes[i].kind == PF_FLAME_KERNEL) {
			kernel++;
			assert_non_null(strstr(name, "kernel.kallsyms"));
		}
		if (one.nodes[i].inlined) {
			inlined++;
			assert_string_equal(name, "inner");
		}
		if (strcmp(name, "app (42)") == 0)
			assert_int_equal(one.nodes[i].kind, PF_FLAME_GROUP);
	}
	assert_int_equal(kernel, 1);
	assert_int_equal(inlined, 1);
	assert_int_equal(one.nodes[0].total, 80);

	/* Merging a graph into an empty one, twice, doubles every value. */
	assert_int_equal(pf_flame_init(&two), 0);
	two.has_type = true;
	assert_int_equal(pf_flame_merge(&two, &one), 0);
	assert_int_equal(pf_flame_merge(&two, &one), 0);
	assert_int_equal(pf_flame_fold(&one, b, PF_FLAME_GROUP_PROCESS), 8);
	assert_int_equal(pf_flame_sort(&one), 0);
	assert_int_equal(pf_flame_sort(&two), 0);
	assert_int_equal(pf_flame_folded(&one, &t1, &len), 0);
	assert_int_equal(pf_flame_folded(&two, &t2, &len), 0);
	assert_string_equal(t1, t2);
	assert_int_equal(two.nodes[0].total, 160);
	free(t1);
	free(t2);
	pf_flame_free(&two);
	pf_flame_free(&one);
	pf_batch_unref(b);
}

static void test_fold_prune(void **state)
{
	struct pf_batch *b = test_batch();
	struct pf_flame f;
	char *text;
	size_t len;

	assert_int_equal(pf_flame_init(&f), 0);
	assert_int_equal(pf_flame_pick_type(&f, b, NULL), 0);
	assert_int_equal(pf_flame_fold(&f, b, PF_FLAME_GROUP_PROCESS), 8);
	/* Frames under 10 go to their callers: the kernel frame into work, "a:b c" into main. */
	assert_int_equal(pf_flame_prune(&f, 10), 0);
	assert_int_equal(f.n_nodes, 10);
	assert_int_equal(f.nodes[0].total, 80);
	assert_string_equal(f.type, "cpu");
	assert_int_equal(pf_flame_sort(&f), 0);
	assert_int_equal(pf_flame_folded(&f, &text, &len), 0);
	assert_string_equal(text, "app (42);main;libc.so.6+0x1234 10\n"
				  "app (42);main;outer;inner 20\n"
				  "app (42);main;work 38\n"
				  "db (7);main 2\n"
				  "db (7);main;query 10\n");
	free(text);
	/* A pruned graph still takes more. */
	assert_int_equal(pf_flame_fold(&f, b, PF_FLAME_GROUP_PROCESS), 8);
	assert_int_equal(f.nodes[0].total, 160);
	pf_flame_free(&f);
	pf_batch_unref(b);
}

/* A graph of the test batch as SVG (caller frees). */
static char *svg_of(const struct pf_batch *b, const char *title, double min_width)
{
	struct pf_flame_svg_options opt = {.title = title, .width = 1200, .min_width = min_width};
	struct pf_flame f;
	char *svg;
	size_t len;

	assert_int_equal(pf_flame_init(&f), 0);
	assert_int_equal(pf_flame_pick_type(&f, b, NULL), 0);
	assert_true(pf_flame_fold(&f, b, PF_FLAME_GROUP_PROCESS) > 0);
	assert_int_equal(pf_flame_sort(&f), 0);
	assert_int_equal(pf_flame_svg(&f, &opt, &svg, &len), 0);
	assert_int_equal(strlen(svg), len);
	pf_flame_free(&f);
	return svg;
}

/* Runs xmllint on the document: 0 when well-formed. */
int xmllint_quiet(const char *doc, bool quiet)
{
	char path[] = "/tmp/pf_flame_test.XXXXXX.svg", cmd[256];
	int fd = mkstemps(path, 4), rc;
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(doc, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "xmllint --noout %s%s", path, quiet ? " 2>/dev/null" : "");
	rc = system(cmd);
	unlink(path);
	return rc;
}

int xmllint(const char *doc)
{
	return xmllint_quiet(doc, false);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_svg_well_formed(void **state)
{
	struct pf_batch *b = test_batch();
	char *svg = svg_of(b, "Flame <Graph> & \"friends\"", 0.1), *kernel, *native;
	int r, g, bl;

	/* xmllint comes with libxml2-utils (scripts/setup.sh). */
	assert_int_equal(system("command -v xmllint >/dev/null"), 0);
	assert_int_equal(xmllint(svg), 0);
	assert_non_null(strstr(svg, "Flame &lt;Graph&gt; &amp; &quot;friends&quot;"));
	/* One frame per node: all, 2 processes, 2 mains, 7 below them. */
	assert_int_equal(count(svg, "<g class=\"f\""), 12);
	assert_non_null(strstr(svg, "<title>all (80 ns, 100.00%)</title>"));
	assert_non_null(strstr(svg, "<title>inner (20 ns, 25.00%, inlined)</title>"));
	assert_non_null(strstr(svg, "<![CDATA["));
	assert_non_null(strstr(svg, "function search(term)"));
	/* The kernel frame says so, and is amber where native frames are red. */
	kernel = strstr(svg, ">[kernel.kallsyms]+0xffffffff81000010 (");
	assert_non_null(kernel);
	assert_int_equal(sscanf(strstr(kernel, "fill=\"rgb("), "fill=\"rgb(%d,%d,%d)", &r, &g, &bl),
			 3);
	assert_true(r >= 240 && g >= 170 && bl <= 50);
	native = strstr(svg, ">work (");
	assert_non_null(native);
	assert_int_equal(sscanf(strstr(native, "fill=\"rgb("), "fill=\"rgb(%d,%d,%d)", &r, &g, &bl),
			 3);
	assert_true(r >= 210 && g <= 110 && bl <= 80);
	assert_non_null(
		strstr(svg, ">[kernel.kallsyms]+0xffffffff81000010 (5 ns, 6.25%, kernel)<"));
	/* And an ill-formed document is caught. */
	assert_int_not_equal(xmllint_quiet("<svg><g></svg>", true), 0);
	free(svg);
	pf_batch_unref(b);
}

static void test_svg_escaping(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t p = profile(b, resource(b, "a&b", 1, NULL), "cpu", "nanoseconds");
	uint32_t l1 = loc_fn(b, "operator<<(std::ostream&, char const*)", NULL);
	uint32_t l2 = loc_fn(b, "it's \"quoted\"", NULL);
	uint32_t l3 = loc_fn(b, "bad\xff\xfeutf8\xc3", NULL);
	uint32_t l4 = loc_fn(b, "caf\xc3\xa9", NULL);
	uint32_t s[] = {l1, l2, l3, l4};
	char *svg, *text;
	FILE *out;
	size_t size;

	sample(b, p, stack(b, s, 4), 100);
	svg = svg_of(b, NULL, 0.1);
	assert_int_equal(xmllint(svg), 0);
	assert_non_null(strstr(svg, "<title>a&amp;b (1) (100 ns"));
	assert_non_null(strstr(svg, "operator&lt;&lt;(std::ostream&amp;, char const*)"));
	assert_non_null(strstr(svg, "it&apos;s &quot;quoted&quot;"));
	assert_non_null(strstr(svg, "bad\xef\xbf\xbd\xef\xbf\xbdutf8\xef\xbf\xbd ("));
	assert_non_null(strstr(svg, "caf\xc3\xa9 ("));
	assert_non_null(strstr(svg, "<text id=\"title\" x=\"600.0\" y=\"24\">Flame Graph</text>"));
	free(svg);
	pf_batch_unref(b);

	/* Control characters become spaces; tab and newline stay. */
	out = open_memstream(&text, &size);
	assert_int_equal(pf_flame_svg_escape(out,
					     "a\x01"
					     "b\tc\n<\xef\xbf\xbe",
					     10),
			 0);
	fclose(out);
	assert_string_equal(text, "a b\tc\n&lt;\xef\xbf\xbd");
	free(text);
}

static void test_svg_min_width(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t p = profile(b, resource(b, "x", 1, NULL), "cpu", "nanoseconds");
	uint32_t big = loc_fn(b, "big", NULL), tiny = loc_fn(b, "tiny", NULL);
	uint32_t under = loc_fn(b, "under_tiny", NULL), main_ = loc_fn(b, "main", NULL);
	uint32_t s1[] = {big, main_}, s2[] = {under, tiny, main_};
	char *svg, *label;

	sample(b, p, stack(b, s1, 2), 1000000);
	sample(b, p, stack(b, s2, 3), 50); /* 0.06 px of 1180 */
	svg = svg_of(b, NULL, 0.1);
	assert_null(strstr(svg, "tiny"));
	assert_non_null(strstr(svg, "<title>big ("));
	free(svg);
	svg = svg_of(b, NULL, 0.05);
	assert_non_null(strstr(svg, "<title>tiny ("));
	assert_non_null(strstr(svg, "<title>under_tiny ("));
	/* Too narrow for a label: the frame is drawn without text. */
	label = strstr(strstr(strstr(svg, "<title>tiny ("), "<text"), ">");
	assert_memory_equal(label, "></text>", 8);
	assert_int_equal(xmllint(svg), 0);
	free(svg);
	pf_batch_unref(b);
}

/* Issue 10 #8: sibling offsets were summed in int64_t: under a saturated
 * parent, `off += total` overflowed (the asan build aborted, the release
 * build drew frames at negative offsets). */
static void test_svg_saturated_totals_overflow(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t p = profile(b, resource(b, "x", 1, NULL), "cpu", "nanoseconds");
	uint32_t main_ = loc_fn(b, "main", NULL), a = loc_fn(b, "a", NULL);
	uint32_t b_ = loc_fn(b, "b", NULL), c = loc_fn(b, "c", NULL);
	uint32_t sa[] = {a, main_}, sb[] = {b_, main_}, sc[] = {c, main_};
	const char *at;
	char *svg;

	sample(b, p, stack(b, sa, 2), INT64_MAX / 4 * 3);
	sample(b, p, stack(b, sb, 2), INT64_MAX / 4 * 3);
	sample(b, p, stack(b, sc, 2), INT64_MAX);
	svg = svg_of(b, NULL, 0.1);
	assert_non_null(strstr(svg, "<title>all ("));
	for (at = strstr(svg, "pf:x=\""); at; at = strstr(at + 1, "pf:x=\""))
		assert_true(at[6] >= '0' && at[6] <= '9');
	assert_int_equal(xmllint(svg), 0);
	free(svg);
	pf_batch_unref(b);
}

static void test_svg_labels_and_values(void **state)
{
	struct pf_batch *b = pf_batch_new();
	uint32_t p = profile(b, resource(b, "x", 1, NULL), "cpu", "nanoseconds");
	uint32_t longf = loc_fn(b,
				"a_function_with_a_rather_long_name_that_will_not_fit_in_a_"
				"small_frame_of_the_graph",
				NULL);
	uint32_t other = loc_fn(b, "other", NULL);
	uint32_t s1[] = {longf}, s2[] = {other};
	char *svg, buf[64];

	sample(b, p, stack(b, s1, 1), 10);
	sample(b, p, stack(b, s2, 1), 990);
	svg = svg_of(b, NULL, 0.1);
	/* 10 of 1000 over 1180 px: 11.8 px, room for one character: no label. */
	assert_non_null(strstr(svg,
			       "rather_long_name_that_will_not_fit_in_a_small_frame_of_the_graph "
			       "(10 ns, 1.00%)</title>"));
	assert_null(strstr(svg, "\">a_function_with"));
	assert_non_null(strstr(svg, ">other</text>"));
	free(svg);

	assert_string_equal(pf_flame_svg_value(1234567890, "cpu", "nanoseconds", buf, 64),
			    "1.23 s");
	assert_string_equal(pf_flame_svg_value(2500000, "cpu", "nanoseconds", buf, 64), "2.50 ms");
	assert_string_equal(pf_flame_svg_value(3 << 20, "alloc", "bytes", buf, 64), "3.00 MiB");
	assert_string_equal(pf_flame_svg_value(1234567, "samples", "count", buf, 64),
			    "1,234,567 samples");
	assert_string_equal(pf_flame_svg_value(123, "samples", "count", buf, 64), "123 samples");
	assert_string_equal(pf_flame_svg_value(-1234, "x", "widgets", buf, 64), "-1,234 widgets");
	pf_batch_unref(b);
}

/* ---- files ---- */

int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void test_files_replace(void **state)
{
	char dir[] = "/tmp/pf_flame_files.XXXXXX", path[512], buf[16] = {0};
	struct pf_files_seq seq = {0};
	FILE *f;
	int n = 0;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(pf_files_replace(dir, "cumulative.svg", "first", 5), 0);
	assert_int_equal(pf_files_replace(dir, "cumulative.svg", "two", 3), 0);
	snprintf(path, sizeof(path), "%s/cumulative.svg", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f), 3);
	fclose(f);
	assert_string_equal(buf, "two");
	/* Nothing else is left in the directory. */
	snprintf(path, sizeof(path), "ls -A %s | wc -l", dir);
	f = popen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	assert_int_equal(n, 1);
	/* A missing directory is an error and leaves nothing. */
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(pf_files_replace(path, "x.svg", "x", 1), -ENOENT);
	/* Rotation by prefix keeps the cumulative file. */
	assert_int_equal(
		pf_files_write(dir, "flamegraph.1", ".svg", "a", 1, &seq, path, sizeof(path)), 0);
	assert_int_equal(
		pf_files_write(dir, "flamegraph.2", ".svg", "b", 1, &seq, path, sizeof(path)), 0);
	assert_int_equal(pf_files_rotate(dir, "flamegraph.", ".svg", 1, 0, 0), 1);
	snprintf(path, sizeof(path), "%s/cumulative.svg", dir);
	assert_int_equal(access(path, F_OK), 0);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold_process),
		cmocka_unit_test(test_fold_service_and_none),
		cmocka_unit_test(test_fold_sample_type),
		cmocka_unit_test(test_fold_kinds_and_merge),
		cmocka_unit_test(test_fold_prune),
		cmocka_unit_test(test_svg_well_formed),
		cmocka_unit_test(test_svg_escaping),
		cmocka_unit_test(test_svg_min_width),
		cmocka_unit_test(test_svg_saturated_totals_overflow),
		cmocka_unit_test(test_svg_labels_and_values),
		cmocka_unit_test(test_files_replace),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	return failed + flamegraph_exporter_tests();
}
