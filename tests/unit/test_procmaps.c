// SPDX-License-Identifier: Apache-2.0
/* unit.procmaps: the /proc/PID/maps parser (executable mappings, lookups, bad input) and container ids from cgroups. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "receivers/ebpf/proc.h"

static const char MAPS[] =
	"55d0c0a00000-55d0c0a02000 r--p 00000000 08:01 1048602                    /usr/bin/cat\n"
	"55d0c0a02000-55d0c0a07000 r-xp 00002000 08:01 1048602                    /usr/bin/cat\n"
	"55d0c0a07000-55d0c0a0a000 r--p 00007000 08:01 1048602                    /usr/bin/cat\n"
	"55d0c1e3b000-55d0c1e5c000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f1c2a028000-7f1c2a1bd000 r-xp 00028000 fe:00 2890                       "
	"/usr/lib/x86_64-linux-gnu/libc.so.6\n"
	"7f1c2a400000-7f1c2a500000 rwxp 00000000 00:00 0 \n"
	"7f1c2a600000-7f1c2a601000 r-xp 00000000 00:2a 77     /tmp/dir with space/x (deleted)\n"
	"7ffd5a1f0000-7ffd5a1f2000 r-xp 00000000 00:00 0                          [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

static void test_executable_mappings(void **state)
{
	struct pf_procmaps m;
	struct pf_error err = {0};
	int n = pf_procmaps_parse(MAPS, strlen(MAPS), 100, &m, &err);

	assert_int_equal(n, 6);
	assert_int_equal(m.n, 6);
	assert_true(m.maps[0].start == 0x55d0c0a02000ull);
	assert_true(m.maps[0].end == 0x55d0c0a07000ull);
	assert_true(m.maps[0].offset == 0x2000);
	assert_true(m.maps[0].inode == 1048602);
	assert_int_equal(m.maps[0].dev_major, 8);
	assert_int_equal(m.maps[0].dev_minor, 1);
	assert_string_equal(m.maps[0].path, "/usr/bin/cat");
	assert_string_equal(m.maps[1].path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(m.maps[1].dev_major, 0xfe);
	assert_string_equal(m.maps[2].path, ""); /* anonymous JIT-style memory */
	assert_string_equal(m.maps[3].path, "/tmp/dir with space/x (deleted)");
	assert_string_equal(m.maps[4].path, "[vdso]");
	assert_true(m.maps[5].end == 0xffffffffff601000ull);
	assert_string_equal(m.maps[0].build_id, "");
	pf_procmaps_free(&m);
	assert_null(m.maps);
	assert_int_equal(m.n, 0);
}

static void test_find(void **state)
{
	struct pf_procmaps m;
	int n = pf_procmaps_parse(MAPS, strlen(MAPS), 100, &m, NULL);

	assert_int_equal(n, 6);
	assert_ptr_equal(pf_procmaps_find(&m, 0x55d0c0a02000ull), &m.maps[0]);
	assert_ptr_equal(pf_procmaps_find(&m, 0x55d0c0a06fffull), &m.maps[0]);
	assert_null(pf_procmaps_find(&m, 0x55d0c0a07000ull)); /* end is exclusive */
	assert_null(pf_procmaps_find(&m, 0x55d0c0a01000ull)); /* not executable */
	assert_ptr_equal(pf_procmaps_find(&m, 0x7f1c2a100000ull), &m.maps[1]);
	assert_ptr_equal(pf_procmaps_find(&m, 0x7ffd5a1f1000ull), &m.maps[4]);
	assert_null(pf_procmaps_find(&m, 0));
	assert_null(pf_procmaps_find(&m, UINT64_MAX));
	pf_procmaps_free(&m);
	struct pf_procmaps empty = {0};
	assert_null(pf_procmaps_find(&empty, 0x1000));
}

static void expect_error_len(const char *text, size_t len, const char *where)
{
	struct pf_procmaps m = {(void *)1, 1};
	struct pf_error err = {0};
	int n = pf_procmaps_parse(text, len, 100, &m, &err);

	assert_true(n < 0);
	assert_null(m.maps);
	assert_int_equal(m.n, 0);
	assert_true(pf_error_isset(&err));
	if (where)
		assert_string_equal(err.where, where);
}

static void expect_error(const char *text, const char *where)
{
	expect_error_len(text, strlen(text), where);
}

static void test_bad_input(void **state)
{
	expect_error("garbage\n", "line 1");
	expect_error("1000-2000 r-xp 0 08:01 5 /a\nx\n", "line 2");
	expect_error("2000-1000 r-xp 0 08:01 5 /a\n", "line 1");	   /* end before start */
	expect_error("1000-2000 rzxp 0 08:01 5 /a\n", "line 1");	   /* bad permission */
	expect_error("1000-2000 r-xp 0 08:01\n", "line 1");		   /* no inode */
	expect_error("11112222333344445-2 r-xp 0 08:01 5 /a\n", "line 1"); /* 17 hex digits */
	expect_error("1000-2000 r-xp 0 08:01 99999999999999999999999 /a\n", "line 1");
	expect_error("3000-4000 r-xp 0 08:01 5 /a\n1000-2000 r-xp 0 08:01 5 /b\n", "line 2");
	expect_error_len("1000-2000 r-xp 0 08:01 5 /a\0b\n",
			 sizeof("1000-2000 r-xp 0 08:01 5 /a\0b\n") - 1, "line 1");
}

static void test_limits_and_edges(void **state)
{
	const char *two = "1000-2000 r-xp 0 08:01 5 /a\n3000-4000 r-xp 0 08:01 6 /b";
	struct pf_procmaps m;
	struct pf_error err = {0};

	/* No final newline, no mappings at all, and the bound on their number. */
	assert_int_equal(pf_procmaps_parse(two, strlen(two), 10, &m, NULL), 2);
	assert_string_equal(m.maps[1].path, "/b");
	pf_procmaps_free(&m);
	assert_int_equal(pf_procmaps_parse("", 0, 10, &m, NULL), 0);
	pf_procmaps_free(&m);
	assert_int_equal(pf_procmaps_parse(two, strlen(two), 1, &m, &err), -E2BIG);
	assert_null(m.maps);
	/* A length shorter than the text: only that much is read. */
	assert_int_equal(pf_procmaps_parse(two, 28, 10, &m, NULL), 1);
	pf_procmaps_free(&m);
}

#define ID  "3f4e5d6c7b8a99887766554433221100aabbccddeeff00112233445566778899"
#define IDU "3F4E5D6C7B8A99887766554433221100AABBCCDDEEFF00112233445566778899"

static void expect_container(const char *cgroup, const char *want)
{
	char out[PF_EBPF_CONTAINER_MAX];
	int found = pf_cgroup_container_id(cgroup, strlen(cgroup), out);

	if (!want) {
		assert_int_equal(found, 0);
		assert_string_equal(out, "");
		return;
	}
	assert_int_equal(found, 1);
	assert_string_equal(out, want);
}

static void test_container_ids(void **state)
{
	/* cgroup v2 under systemd: docker, containerd (CRI), cri-o, podman. */
	expect_container("0::/system.slice/docker-" ID ".scope\n", ID);
	expect_container("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-"
			 "pod1234abcd_5678.slice/cri-containerd-" ID ".scope\n",
			 ID);
	expect_container("0::/kubepods.slice/kubepods-pod1.slice/crio-" ID ".scope\n", ID);
	expect_container("0::/machine.slice/libpod-" ID ".scope/container\n", ID);
	expect_container("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID
			 ".scope\n",
			 ID);
	/* cgroupfs driver and cgroup v1. */
	expect_container("0::/docker/" ID "\n", ID);
	expect_container("12:pids:/kubepods/burstable/pod0f3b/" ID "\n"
			 "11:memory:/kubepods/burstable/pod0f3b/" ID "\n",
			 ID);
	expect_container("3:cpu,cpuacct:/k8s.io/" ID "\n", ID);
	expect_container("1:name=systemd:/docker/" IDU "\n", ID);
	/* Not containers: the host, conmon, ids of the wrong length. */
	expect_container("0::/init.scope\n", NULL);
	expect_container("0::/user.slice/user-1000.slice/session-2.scope\n", NULL);
	expect_container("0::/machine.slice/crio-conmon-" ID ".scope\n", NULL);
	expect_container("0::/docker/" ID "0\n", NULL);
	expect_container("0::/docker/abc\n", NULL);
	expect_container("", NULL);
	expect_container("no colons at all " ID "\n", NULL);
	/* The innermost element wins; a v1 line that has one is enough. */
	expect_container("5:blkio:/\n4:devices:/docker/" ID "\n", ID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_executable_mappings), cmocka_unit_test(test_find),
		cmocka_unit_test(test_bad_input),	    cmocka_unit_test(test_limits_and_edges),
		cmocka_unit_test(test_container_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
