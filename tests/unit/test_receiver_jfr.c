// SPDX-License-Identifier: Apache-2.0
/* unit.receiver_jfr: the jfr receiver in a real service: a recording is removed only once the exporter holds its batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/component.h"
#include "pipeline/component_internal.h"
#include "receiver_harness.h"

extern const struct pf_component_def pf_receiver_jfr;

static const struct pf_component_def *const registry[] = {&pf_receiver_jfr, &rh_capture_def, NULL};

static bool one_held(struct rh_env *env)
{
	return env->cap->n_held >= 1;
}

/* Copies the test recording to `path`. */
static void copy_recording(const char *path)
{
	char src[512], cmd[1200];
	const char *data = getenv("PF_TEST_DATA");

	assert_non_null(data);
	snprintf(src, sizeof(src), "%s/jfr/workload.jfr", data);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s.tmp' && mv '%s.tmp' '%s'", src, path, path, path);
	assert_int_equal(system(cmd), 0);
}

/* With delete_after_read (and move_to) a recording goes only once the
 * exporter holds its batch, and stays when the exporter refuses it; it
 * used to go on the thread pool before its batch was even passed on. */
static void test_removed_after_acknowledged(void **state)
{
	char dir[] = "/tmp/pf_recv_jfr.XXXXXX", done[64], removal[96], yaml[1024], path[128],
	     moved[160];
	const int results[] = {PF_BUSY, PF_OK};
	struct rh_env env;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(done, sizeof(done), "%s/done", dir);
	assert_int_equal(mkdir(done, 0700), 0);
	for (int move = 0; move < 2; move++) {
		if (move)
			snprintf(removal, sizeof(removal), "move_to: %s", done);
		else
			snprintf(removal, sizeof(removal), "delete_after_read: true");
		snprintf(yaml, sizeof(yaml),
			 "receivers:\n"
			 "  jfr:\n"
			 "    paths: ['%s/*.jfr']\n"
			 "    poll_interval: 30ms\n"
			 "    %s\n"
			 "exporters:\n"
			 "  capture:\n"
			 "service:\n"
			 "  pipelines:\n"
			 "    profiles: {receivers: [jfr], exporters: [capture]}\n",
			 dir, removal);
		rh_env_start(&env, registry, yaml, "jfr");
		env.cap->hold = true;
		for (int i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "%s/r%d-%d.jfr", dir, move, i);
			snprintf(moved, sizeof(moved), "%s/r%d-%d.jfr", done, move, i);
			copy_recording(path);
			assert_true(rh_run_until(&env, one_held, 20000));
			rh_run_until(&env, NULL, 100);
			/* not before the exporter has it */
			assert_int_equal(access(path, F_OK), 0);
			rh_settle(env.cap, results[i]);
			rh_run_until(&env, NULL, 100);
			assert_int_equal(access(path, F_OK), results[i] == PF_OK ? -1 : 0);
			assert_int_equal(access(moved, F_OK), move && results[i] == PF_OK ? 0 : -1);
		}
		rh_env_stop(&env);
		/* the refused one stays for a restart to read: not this test's */
		snprintf(path, sizeof(path), "%s/r%d-0.jfr", dir, move);
		assert_int_equal(unlink(path), 0);
	}
	snprintf(yaml, sizeof(yaml), "rm -rf '%s'", dir);
	assert_int_equal(system(yaml), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_removed_after_acknowledged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
