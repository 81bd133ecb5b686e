// SPDX-License-Identifier: Apache-2.0
/* unit.host: the bounded file reader, opening a process's mapped files, ELF files truncated while open. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <malloc.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <sys/auxv.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/elf.h"
#include "host/proc_file.h"
#include "host/vdso.h"
#include "host/read_file.h"

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

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

static void copy_file(const char *from, const char *to)
{
	char cmd[2 * PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
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
	/* Sized by fstat(): no doubling just to find the end. */
	assert_int_equal(pf_host_read_file(path, 1 << 20, 0, &buf, &len), 0);
	assert_int_equal(len, 10000);
	assert_true(malloc_usable_size(buf) < 10100);
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
	/* Growing past the first 4 KiB. */
	assert_int_equal(pf_host_read_file("/proc/self/smaps", 1 << 24, 0, &buf, &len), 0);
	assert_true(len > 8192);
	assert_int_equal(strlen(buf), len);
	assert_int_equal(buf[len - 1], '\n');
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
	assert_int_equal(pf_host_open_regular(path), -EINVAL);
	unlink(path);
}

/* ---- pf_host_open_mapped ---- */

struct mapped {
	char path[PATH_MAX];
	void *addr;
	size_t size;
	struct stat st;
};

static void map_file(struct mapped *m, const char *name)
{
	int fd;

	path_in_dir(m->path, sizeof(m->path), name);
	write_bytes(m->path, 3 * 4096);
	fd = open(m->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &m->st), 0);
	m->size = 3 * 4096;
	m->addr = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(m->addr != MAP_FAILED);
	close(fd);
}

/* 0 when fd is the file m mapped. */
static int same_file(int fd, const struct mapped *m)
{
	struct stat st;
	int ret;

	if (fd < 0)
		return fd;
	ret = fstat(fd, &st) == 0 && st.st_ino == m->st.st_ino && st.st_dev == m->st.st_dev ? 0 : 1;
	close(fd);
	return ret;
}

static int open_mapped(const struct mapped *m, const char *shown)
{
	uint64_t start = (uint64_t)(uintptr_t)m->addr;

	return pf_host_open_mapped(getpid(), shown, start, start + m->size);
}

/* Drops CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE, which map_files needs. */
static int drop_map_files_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
	d[CAP_CHECKPOINT_RESTORE / 32].effective &= ~(1u << (CAP_CHECKPOINT_RESTORE % 32));
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

/*
 * As root, map_files reaches the mapped inode, deleted or not. Without
 * CAP_SYS_ADMIN (a forked child drops it), the process's root still reaches
 * a file that is there, and a deleted one is out of reach.
 */
static void open_mapped_both_ways(void **state)
{
	struct mapped kept, gone;
	char shown[PATH_MAX + 16];
	int status;
	pid_t child;

	map_file(&kept, "kept");
	map_file(&gone, "gone");
	assert_int_equal(unlink(gone.path), 0);
	snprintf(shown, sizeof(shown), "%s (deleted)", gone.path);
	assert_int_equal(same_file(open_mapped(&kept, kept.path), &kept), 0);
	assert_int_equal(same_file(open_mapped(&gone, shown), &gone), 0);
	/* No such mapping: nothing opens. */
	assert_true(pf_host_open_mapped(getpid(), "/nonexistent/x", 4096, 8192) < 0);
	assert_int_equal(pf_host_open_mapped(0, kept.path, 0, 1), -EINVAL);

	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char mf[128];
		uint64_t start = (uint64_t)(uintptr_t)kept.addr;
		int fd;

		if (drop_map_files_caps() < 0)
			_exit(10);
		snprintf(mf, sizeof(mf), "/proc/self/map_files/%llx-%llx",
			 (unsigned long long)start, (unsigned long long)(start + kept.size));
		fd = open(mf, O_RDONLY);
		if (fd >= 0 || errno != EPERM)
			_exit(11); /* map_files still open: the test shows nothing */
		if (same_file(open_mapped(&kept, kept.path), &kept) != 0)
			_exit(12);
		if (open_mapped(&gone, shown) != -ENOENT)
			_exit(13);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	munmap(kept.addr, kept.size);
	munmap(gone.addr, gone.size);
}

/* ---- ELF ---- */

/* The build ID as file(1) prints it ("BuildID[sha1]=hex"): another reader. */
static void file_build_id(const char *path, char *out, size_t size)
{
	char cmd[PATH_MAX + 64], line[1024], *id;
	FILE *p;
	size_t n = 0;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "file -b '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	if (fgets(line, sizeof(line), p) && (id = strstr(line, "BuildID[")) != NULL &&
	    (id = strstr(id, "]=")) != NULL)
		for (id += 2; n + 1 < size && strchr("0123456789abcdef", *id) && *id; id++)
			out[n++] = *id;
	out[n] = '\0';
	pclose(p);
}

static void elf_build_id(void **state)
{
	char path[PATH_MAX], want[PF_HOST_BUILD_ID_HEX], got[PF_HOST_BUILD_ID_HEX];
	uint8_t id[PF_HOST_BUILD_ID_MAX];
	size_t len;
	int fd, err;
	Elf *elf;

	path_in_dir(path, sizeof(path), "self");
	copy_file("/proc/self/exe", path);
	file_build_id(path, want, sizeof(want));
	assert_true(strlen(want) >= 32);
	fd = pf_host_open_regular(path);
	assert_true(fd >= 0);
	elf = pf_host_elf_begin(fd, &err);
	assert_non_null(elf);
	len = pf_host_build_id(elf, id);
	pf_host_hex(id, len, got);
	assert_string_equal(got, want);
	elf_end(elf);
	close(fd);
	/* Not ELF. */
	fd = pf_host_open_regular("/proc/self/status");
	assert_true(fd >= 0);
	assert_null(pf_host_elf_begin(fd, &err));
	assert_int_equal(err, -ENOEXEC);
	close(fd);
}

/* Issue 10 #1: libelf mapped files (ELF_C_READ_MMAP), so a file truncated
 * while open raised SIGBUS at the next read of its headers or sections. Read
 * with pread, what is gone is an error. */
static void elf_truncated_while_open(void **state)
{
	char path[PATH_MAX];
	uint8_t id[PF_HOST_BUILD_ID_MAX];
	Elf_Scn *scn = NULL;
	size_t n = 0, failed = 0;
	int fd, err;
	Elf *elf;

	path_in_dir(path, sizeof(path), "cut");
	copy_file("/proc/self/exe", path);
	fd = pf_host_open_regular(path);
	assert_true(fd >= 0);
	elf = pf_host_elf_begin(fd, &err);
	assert_non_null(elf);
	/* Rewritten in place, as an O_TRUNC writer does. */
	assert_int_equal(truncate(path, 2048), 0);
	pf_host_build_id(elf, id);
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;

		n++;
		if (!gelf_getshdr(scn, &sh)) {
			failed++;
			continue;
		}
		if (sh.sh_type == SHT_NOBITS)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d && sh.sh_size)
			failed++;
	}
	/* The section headers were at the end, gone: nothing or errors. */
	assert_true(n == 0 || failed > 0);
	elf_end(elf);
	close(fd);
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

/* The vDSO: found where the auxiliary vector says, with a build ID, and
 * copied whole into a sealed file that reads back the same bytes. */
static void vdso_image_build_id_and_copy(void **state)
{
	const void *image;
	size_t size;
	char id[PF_HOST_BUILD_ID_HEX];
	unsigned char *back;
	int fd;

	(void)state;
	assert_int_equal(pf_host_vdso(&image, &size), 0);
	assert_true(image == (const void *)getauxval(AT_SYSINFO_EHDR));
	assert_true(size >= 4096 && size % 4096 == 0);
	assert_memory_equal(image, ELFMAG, SELFMAG);
	assert_int_equal(pf_host_vdso_build_id(id, sizeof(id)), 0);
	assert_true(strlen(id) >= 32);
	assert_int_equal(pf_host_vdso_build_id(id, 8), -ENOENT); /* no room */
	fd = pf_host_vdso_fd();
	assert_true(fd >= 0);
	back = malloc(size + 1);
	assert_non_null(back);
	assert_int_equal(pread(fd, back, size + 1, 0), (ssize_t)size);
	assert_memory_equal(back, image, size);
	assert_int_equal(write(fd, "x", 1), -1); /* sealed */
	free(back);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(read_file_bounds),
		cmocka_unit_test(read_file_regular_refuses_fifo),
		cmocka_unit_test(open_mapped_both_ways),
		cmocka_unit_test(elf_build_id),
		cmocka_unit_test(elf_truncated_while_open),
		cmocka_unit_test(vdso_image_build_id_and_copy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
