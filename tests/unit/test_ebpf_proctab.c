// SPDX-License-Identifier: Apache-2.0
/* unit.ebpf_proctab: the ebpf receiver's process table on this very process: /proc reads, build ids, reads after exec, exit and sweep. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "receivers/ebpf/ebpf.h"

/* The build id readelf prints for path, or "" when none. */
static void readelf_build_id(const char *path, char out[PF_EBPF_BUILD_ID_HEX])
{
	char cmd[PATH_MAX + 64], line[512];
	FILE *p;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "readelf -n '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		char *s = strstr(line, "Build ID: ");
		if (s && sscanf(s + 10, "%40s", out) == 1)
			break;
	}
	pclose(p);
}

static void test_read_self(void **state)
{
	struct pf_ebpf_proctab *t = pf_ebpf_proctab_new(NULL);
	char exe[PATH_MAX], want[PF_EBPF_BUILD_ID_HEX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	bool gone = true;
	struct pf_ebpf_proc *p;
	const struct pf_ebpf_mapping *m;

	assert_non_null(t);
	assert_true(n > 0);
	exe[n] = '\0';
	p = pf_ebpf_proctab_read(t, (uint32_t)getpid(), &gone);
	assert_non_null(p);
	assert_false(gone);
	assert_true(p->read_ok);
	assert_string_equal(p->exe, exe);
	assert_non_null(strstr(p->cmdline, "unit_ebpf_proctab"));
	assert_string_equal(p->comm, "unit_ebpf_proct"); /* the kernel keeps 15 characters */
	assert_ptr_equal(pf_ebpf_proctab_get(t, (uint32_t)getpid()), p);
	assert_int_equal(pf_ebpf_proctab_size(t), 1);

	/* The mapping of this function's code is the test binary, with its build id. */
	m = pf_procmaps_find(&p->maps, (uint64_t)(uintptr_t)&test_read_self);
	assert_non_null(m);
	assert_string_equal(m->path, exe);
	readelf_build_id(exe, want);
	if (want[0] == '\0')
		skip(); /* a toolchain without --build-id: nothing to compare */
	assert_string_equal(m->build_id, want);
	pf_ebpf_proctab_free(t);
}

static void test_buildid_of_files(void **state)
{
	char id[PF_EBPF_BUILD_ID_HEX], want[PF_EBPF_BUILD_ID_HEX], exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int fd = open("/proc/self/exe", O_RDONLY);

	assert_true(fd >= 0 && n > 0);
	exe[n] = '\0'; /* not /proc/self/exe: readelf would read itself */
	readelf_build_id(exe, want);
	assert_int_equal(pf_buildid_read_fd(fd, id), want[0] ? 1 : 0);
	assert_string_equal(id, want);
	close(fd);
	/* Not ELF at all. */
	fd = open("/proc/self/cmdline", O_RDONLY);
	assert_true(fd >= 0);
	assert_true(pf_buildid_read_fd(fd, id) < 0);
	assert_string_equal(id, "");
	close(fd);
}

static void test_exit_and_sweep(void **state)
{
	struct pf_ebpf_proctab *t = pf_ebpf_proctab_new(NULL);
	uint32_t self = (uint32_t)getpid();
	bool gone;

	assert_non_null(pf_ebpf_proctab_read(t, self, &gone));
	/* Exited in generation 3: kept through the drain of that buffer. */
	pf_ebpf_proctab_exit(t, self, 3);
	assert_true(pf_ebpf_proctab_get(t, self)->exited);
	assert_int_equal(pf_ebpf_proctab_sweep(t, 3), 0);
	assert_non_null(pf_ebpf_proctab_get(t, self));
	assert_int_equal(pf_ebpf_proctab_sweep(t, 4), 1);
	assert_null(pf_ebpf_proctab_get(t, self));
	assert_int_equal(pf_ebpf_proctab_size(t), 0);
	/* An exit of an unknown pid is ignored. */
	pf_ebpf_proctab_exit(t, self, 5);
	assert_null(pf_ebpf_proctab_get(t, self));
	pf_ebpf_proctab_free(t);
}

static void test_gone_process_stub(void **state)
{
	struct pf_ebpf_proctab *t = pf_ebpf_proctab_new(NULL);
	uint32_t pid = 4194304 + 7; /* above the kernel's pid limit: never exists */
	bool gone = false;

	assert_null(pf_ebpf_proctab_read(t, pid, &gone));
	assert_true(gone);
	/* A stub remembers it until the next sweep, so it is looked for once. */
	struct pf_ebpf_proc *stub = pf_ebpf_proctab_get(t, pid);
	assert_non_null(stub);
	assert_false(stub->read_ok);
	assert_true(stub->exited);
	assert_int_equal(pf_ebpf_proctab_sweep(t, 1), 1);
	assert_null(pf_ebpf_proctab_get(t, pid));
	pf_ebpf_proctab_free(t);
}

static size_t settled_calls;
static uint32_t settled_pid;

static void on_settled(void *arg, uint32_t pid)
{
	settled_calls++;
	settled_pid = pid;
}

static void test_read_at_exec(void **state)
{
	struct pf_ebpf_proctab *t = pf_ebpf_proctab_new(NULL);
	uint32_t self = (uint32_t)getpid(), ghost = 4194304 + 9;
	char exe[PATH_MAX], id[PF_EBPF_BUILD_ID_HEX];
	uint64_t gone = 0;
	struct pf_ebpf_proc *p;
	ssize_t len;

	assert_int_equal(pf_ebpf_proctab_read_due(t, 1000, &gone, on_settled, NULL), 0);
	/* Read at once, while the process lives; its libraries are mapped. */
	p = pf_ebpf_proctab_exec(t, self, 1, "fresh", "/usr/bin/fresh", 1000, &gone);
	assert_non_null(p);
	assert_true(p->read_ok);
	assert_non_null(p->exe);
	assert_true(p->maps.n > 0);
	assert_true(p->settled);
	assert_int_equal(p->read_ms, 0);
	assert_string_not_equal(p->comm, "fresh"); /* what /proc says */
	/* Every file with a build ID in its maps is known by it. */
	for (size_t i = 0; i < p->maps.n; i++)
		if (p->maps.maps[i].build_id[0] && p->maps.maps[i].path[0] == '/')
			assert_string_equal(
				pf_ebpf_proctab_build_id_path(t, p->maps.maps[i].build_id),
				p->maps.maps[i].path);
	/* Read again when due (as when ld.so had not mapped the libraries at
	 * exec), then settled: these maps hold them. */
	p->settled = false;
	p->read_stage = 0;
	p->read_ms = 1005;
	pf_procmaps_free(&p->maps);
	assert_int_equal(pf_ebpf_proctab_read_due(t, 1004, &gone, on_settled, NULL), 1005);
	assert_int_equal(p->maps.n, 0);
	assert_int_equal(pf_ebpf_proctab_read_due(t, 1005, &gone, on_settled, NULL), 0);
	assert_true(p->maps.n > 2);
	assert_true(p->settled);
	assert_int_equal(settled_calls, 1);
	assert_int_equal(settled_pid, self);
	/* A process gone before the read: the exec'd file stands for it. */
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(len > 0);
	exe[len] = '\0';
	assert_int_equal(pf_buildid_read_path(exe, id), 1);
	assert_non_null(pf_ebpf_proctab_exec(t, ghost, 1, "ghost", exe, 2000, &gone));
	assert_int_equal(gone, 1);
	struct pf_ebpf_proc *g = pf_ebpf_proctab_get(t, ghost);
	assert_false(g->read_ok);
	assert_true(g->settled); /* nothing more to read */
	assert_int_equal(g->read_ms, 0);
	assert_string_equal(g->exe, exe);
	assert_string_equal(g->comm, "ghost");
	assert_string_equal(pf_ebpf_proctab_build_id_path(t, id), exe);
	/* A relative name of a gone process stands for nothing. */
	assert_non_null(pf_ebpf_proctab_exec(t, ghost, 2, "ghost", "./ghost", 3000, &gone));
	assert_null(g->exe);
	/* Its exit retires it after the next drain. */
	pf_ebpf_proctab_exit(t, ghost, 2);
	assert_int_equal(pf_ebpf_proctab_sweep(t, 3), 1);
	assert_null(pf_ebpf_proctab_get(t, ghost));
	pf_ebpf_proctab_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_self),      cmocka_unit_test(test_buildid_of_files),
		cmocka_unit_test(test_exit_and_sweep), cmocka_unit_test(test_gone_process_stub),
		cmocka_unit_test(test_read_at_exec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
