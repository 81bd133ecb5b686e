// SPDX-License-Identifier: Apache-2.0
/* Tests for files/file_watch: settling, once, checked patterns, bounded reads and close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "files/file_watch.h"
#include "sinks_harness.h"

#define YAML                                                                                       \
	"receivers:\n  feeder:\n"                                                                  \
	"exporters:\n  sink:\n"                                                                    \
	"service:\n  pipelines:\n    profiles:\n"                                                  \
	"      receivers: [feeder]\n      exporters: [sink]\n"

/* What the callbacks saw. */
struct seen {
	char reads[16][512]; /* paths handed to read, in order */
	bool checked[16];
	int n_reads;
	int in_flight;
	int closed;
	bool complete; /* what complete() answers (read on the thread pool) */
};

static bool complete(void *arg, const char *path, int64_t size)
{
	struct seen *s = arg;

	(void)path;
	(void)size;
	return __atomic_load_n(&s->complete, __ATOMIC_SEQ_CST);
}

static int on_read(void *arg, const char *path, bool checked)
{
	struct seen *s = arg;

	assert_true(s->n_reads < 16);
	snprintf(s->reads[s->n_reads], sizeof(s->reads[0]), "%s", path);
	s->checked[s->n_reads] = checked;
	s->n_reads++;
	s->in_flight++;
	return 0;
}

static void on_closed(void *arg)
{
	((struct seen *)arg)->closed++;
}

static bool is_closed(void *arg)
{
	return ((struct seen *)arg)->closed > 0;
}

static void write_file(const char *path, const char *text, const char *mode)
{
	FILE *fp = fopen(path, mode);

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

struct fixture {
	struct sh_env env;
	char dir[64];
	char glob[96];
	struct seen s;
	struct pf_file_watch *fw;
};

static void setup_watch(struct fixture *fx, bool once, bool checked, unsigned max_reads)
{
	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/pf_fw_XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->glob, sizeof(fx->glob), "%s/*.prof", fx->dir);
	sh_env_start(&fx->env, YAML);
	struct pf_file_watch_pattern pat = {.glob = fx->glob, .checked = checked};
	struct pf_file_watch_config cfg = {
		.patterns = &pat,
		.n_patterns = 1,
		.poll_interval = 20 * 1000000,
		.once = once,
		.max_reads = max_reads,
	};
	struct pf_file_watch_ops ops = {.complete = complete, .read = on_read, .closed = on_closed};
	fx->fw = pf_file_watch_create(sh_find(&fx->env, PF_RECEIVER, "feeder"), &cfg, &ops, &fx->s);
	assert_non_null(fx->fw);
}

static void path_of(const struct fixture *fx, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", fx->dir, name);
}

static void teardown_watch(struct fixture *fx)
{
	char cmd[128];

	pf_file_watch_stop(fx->fw);
	pf_file_watch_stop(fx->fw); /* a second call does nothing */
	assert_true(sh_run_until(&fx->env, is_closed, &fx->s, 2000));
	assert_int_equal(fx->s.closed, 1);
	pf_file_watch_destroy(fx->fw);
	sh_env_stop(&fx->env);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
}

/* While watching, a file is read once its size and mtime held across two
 * polls; never twice unless it changes; a grown file is read again. */
static void test_settles_then_reads_once(void **state)
{
	struct fixture fx;
	char a[128], other[128];

	(void)state;
	setup_watch(&fx, false, false, 2);
	path_of(&fx, "a.prof", a, sizeof(a));
	path_of(&fx, "a.txt", other, sizeof(other));
	write_file(a, "one", "w");
	write_file(other, "not matched", "w");
	assert_int_equal(pf_file_watch_start(fx.fw), 0);
	sh_run_for(&fx.env, 5); /* first poll: seen, not settled */
	assert_int_equal(fx.s.n_reads, 0);
	sh_run_for(&fx.env, 150);
	assert_int_equal(fx.s.n_reads, 1);
	assert_string_equal(fx.s.reads[0], a);
	assert_false(fx.s.checked[0]);
	pf_file_watch_read_done(fx.fw, a, false);
	sh_run_for(&fx.env, 100);
	assert_int_equal(fx.s.n_reads, 1); /* unchanged: not read again */
	write_file(a, " two", "a");
	sh_run_for(&fx.env, 150);
	assert_int_equal(fx.s.n_reads, 2); /* grown: read again */
	pf_file_watch_read_done(fx.fw, a, true);
	teardown_watch(&fx);
}

/* At most max_reads at once; the next starts when one ends. */
static void test_reads_bounded(void **state)
{
	struct fixture fx;
	char p[128];

	(void)state;
	setup_watch(&fx, true, false, 2);
	for (int i = 0; i < 5; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%d.prof", i);
		path_of(&fx, name, p, sizeof(p));
		write_file(p, "x", "w");
	}
	assert_int_equal(pf_file_watch_start(fx.fw), 0);
	sh_run_for(&fx.env, 100); /* once: read without settling */
	assert_int_equal(fx.s.n_reads, 2);
	pf_file_watch_read_done(fx.fw, fx.s.reads[0], true);
	assert_int_equal(fx.s.n_reads, 3);
	pf_file_watch_read_done(fx.fw, fx.s.reads[1], false);
	pf_file_watch_read_done(fx.fw, fx.s.reads[2], false);
	assert_int_equal(fx.s.n_reads, 5);
	pf_file_watch_read_done(fx.fw, fx.s.reads[3], false);
	pf_file_watch_read_done(fx.fw, fx.s.reads[4], false);
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			assert_string_not_equal(fx.s.reads[i], fx.s.reads[j]);
	/* once: a file created later is never looked at. */
	path_of(&fx, "late.prof", p, sizeof(p));
	write_file(p, "x", "w");
	sh_run_for(&fx.env, 100);
	assert_int_equal(fx.s.n_reads, 5);
	teardown_watch(&fx);
}

/* A file of a checked pattern waits for complete(), not for settling. */
static void test_checked_waits_for_complete(void **state)
{
	struct fixture fx;
	char a[128];

	(void)state;
	setup_watch(&fx, false, true, 1);
	path_of(&fx, "chunk.prof", a, sizeof(a));
	write_file(a, "head", "w");
	assert_int_equal(pf_file_watch_start(fx.fw), 0);
	sh_run_for(&fx.env, 150);
	assert_int_equal(fx.s.n_reads, 0); /* settled, but not complete */
	__atomic_store_n(&fx.s.complete, true, __ATOMIC_SEQ_CST);
	sh_run_for(&fx.env, 100);
	assert_int_equal(fx.s.n_reads, 1);
	assert_true(fx.s.checked[0]);
	/* Stopped with a read in flight: closed comes, the read ends later. */
	pf_file_watch_stop(fx.fw);
	assert_true(sh_run_until(&fx.env, is_closed, &fx.s, 2000));
	pf_file_watch_read_done(fx.fw, a, false);
	assert_int_equal(fx.s.n_reads, 1);
	teardown_watch(&fx);
}

/* Never started: stop calls nothing back, destroy frees. */
static void test_never_started(void **state)
{
	struct fixture fx;
	char cmd[128];

	(void)state;
	setup_watch(&fx, false, false, 1);
	pf_file_watch_stop(fx.fw);
	sh_run_for(&fx.env, 10);
	assert_int_equal(fx.s.closed, 0);
	pf_file_watch_destroy(fx.fw);
	sh_env_stop(&fx.env);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settles_then_reads_once),
		cmocka_unit_test(test_reads_bounded),
		cmocka_unit_test(test_checked_waits_for_complete),
		cmocka_unit_test(test_never_started),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
