// SPDX-License-Identifier: Apache-2.0
/* unit.host: the bounded file reader. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/read_file.h"

static char dir[] = "/tmp/pf_host_test.XXXXXX";

static void path_in_dir(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

static void write_bytes(const char *path, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(fputc('a' + (int)(i % 26), f), 'a' + (int)(i % 26));
	assert_int_equal(fclose(f), 0);
}

/* ---- pf_host_read_file ---- */

static void read_file_bounds(void **state)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0;

	path_in_dir(path, sizeof(path), "exact");
	write_bytes(path, 10000);
	assert_int_equal(pf_host_read_file(path, 10000, 0, &buf, &len), 0);
	assert_int_equal(len, 10000);
	assert_int_equal(buf[9999], 'a' + 9999 % 26);
	assert_int_equal(buf[10000], '\0');
	free(buf);
	buf = NULL;
	/* One byte over the limit is refused, or cut with PF_HOST_READ_PREFIX. */
	assert_int_equal(pf_host_read_file(path, 9999, 0, &buf, &len), -EFBIG);
	assert_null(buf);
	assert_int_equal(pf_host_read_file(path, 9999, PF_HOST_READ_PREFIX, &buf, &len), 0);
	assert_int_equal(len, 9999);
	assert_int_equal(buf[9999], '\0');
	free(buf);
	assert_int_equal(pf_host_read_file(path, 0, 0, &buf, &len), -EFBIG);
	/* Empty. */
	path_in_dir(path, sizeof(path), "empty");
	write_bytes(path, 0);
	assert_int_equal(pf_host_read_file(path, 0, PF_HOST_READ_REGULAR, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], '\0');
	free(buf);
	/* procfs reports size 0: read to the end all the same. */
	assert_int_equal(pf_host_read_file("/proc/self/status", 1 << 20, 0, &buf, &len), 0);
	assert_true(len > 100);
	assert_int_equal(strlen(buf), len);
	assert_non_null(strstr(buf, "\nPid:"));
	free(buf);
	assert_int_equal(
		pf_host_read_file("/proc/self/status", 16, PF_HOST_READ_PREFIX, &buf, &len), 0);
	assert_int_equal(len, 16);
	free(buf);
	assert_int_equal(pf_host_read_file(dir, 100, 0, &buf, &len), -EISDIR);
	path_in_dir(path, sizeof(path), "missing");
	assert_int_equal(pf_host_read_file(path, 100, 0, &buf, &len), -ENOENT);
}

/* A FIFO with no writer would block a plain open() forever. */
static void read_file_regular_refuses_fifo(void **state)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len;

	path_in_dir(path, sizeof(path), "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(pf_host_read_file(path, 100, PF_HOST_READ_REGULAR, &buf, &len), -EINVAL);
	assert_null(buf);
	unlink(path);
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(read_file_bounds),
		cmocka_unit_test(read_file_regular_refuses_fifo),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
