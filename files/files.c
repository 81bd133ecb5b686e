// SPDX-License-Identifier: Apache-2.0
/* Atomic writes, rotation and temp cleanup for the file exporters (blocking; thread pool). */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Renames one write tries before it gives up: only reached when other
 * writers' files hold that many of the numbers drawn. */
#define MAX_PROBES	1000000
#define TEMP_RANDOM	".XXXXXX"
#define TEMP_END	".tmp"
#define NS_PER_SEC	1000000000ULL
#define TEMP_MAX_AGE_NS (3600LL * 1000000000LL) /* older temp files are a crash's */

size_t pf_files_sanitize(const char *in, size_t max, char *out, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return 0;
	for (; in && *in && n < max && n + 1 < size; in++) {
		char ch = *in;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || (ch == '.' && n);

		out[n++] = ok ? ch : '_';
	}
	out[n] = '\0';
	return n;
}

int pf_files_check_prefix(const char *prefix, size_t max, struct pf_error *err)
{
	char clean[NAME_MAX + 1];
	size_t n;

	if (!prefix)
		return 0;
	n = pf_files_sanitize(prefix, max, clean, sizeof(clean));
	if (n != strlen(prefix) || strcmp(clean, prefix) != 0)
		return pf_error_set(err, "",
				    "file_prefix \"%s\" may only hold up to %zu of [A-Za-z0-9._-] "
				    "and must not start with '.'",
				    prefix, max);
	return 0;
}

static int write_all(int fd, const void *data, size_t size)
{
	const char *p = data;

	while (size > 0) {
		ssize_t n = write(fd, p, size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

int pf_files_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		err = -errno;
	close(fd);
	return err;
}

/* Writes data into a new hidden temp file <dir>/.<name>.XXXXXX.tmp, fsync'd
 * and closed; fills tmp with its path. Removes it again on failure. */
static int write_temp(const char *dir, const char *name, const void *data, size_t size, char *tmp,
		      size_t tmp_size)
{
	int fd, err;

	if ((size_t)snprintf(tmp, tmp_size, "%s/.%s" TEMP_RANDOM TEMP_END, dir, name) >= tmp_size)
		return -ENAMETOOLONG;
	fd = mkostemps(tmp, (int)strlen(TEMP_END), O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644) < 0) {
		err = -errno;
		goto out_close;
	}
	err = write_all(fd, data, size);
	if (err)
		goto out_close;
	if (fsync(fd) < 0) {
		err = -errno;
		goto out_close;
	}
	if (close(fd) < 0) {
		err = -errno;
		goto out_unlink;
	}
	return 0;

out_close:
	close(fd);
out_unlink:
	unlink(tmp);
	return err;
}

/* Moves tmp to path unless path exists: -EEXIST then. */
static int rename_noreplace(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* The file system cannot rename without replacing: link, then unlink. */
	if (link(tmp, path) < 0)
		return -errno;
	unlink(tmp);
	return 0;
}

int pf_files_write(const char *dir, const char *base, const char *suffix, const void *data,
		   size_t size, struct pf_files_seq *seq, char *path, size_t path_size)
{
	char tmp[PATH_MAX], name[NAME_MAX + 1];
	int err;

	if (path_size)
		path[0] = '\0';
	/* room for the largest collision number */
	if ((size_t)snprintf(name, sizeof(name), "%s.%" PRIuFAST64 "%s", base, UINT_FAST64_MAX,
			     suffix) >= sizeof(name))
		return -ENAMETOOLONG;
	snprintf(name, sizeof(name), "%s%s", base, suffix);
	err = write_temp(dir, name, data, size, tmp, sizeof(tmp));
	if (err)
		return err;
	for (unsigned i = 0; i < MAX_PROBES; i++) {
		uint_fast64_t n = i ? atomic_fetch_add(&seq->next, 1) + 1 : 0;
		int len = n ? snprintf(path, path_size, "%s/%s.%" PRIuFAST64 "%s", dir, base, n,
				       suffix)
			    : snprintf(path, path_size, "%s/%s%s", dir, base, suffix);

		if (len < 0 || (size_t)len >= path_size) {
			err = -ENAMETOOLONG;
			goto out_unlink;
		}
		err = rename_noreplace(tmp, path);
		if (err != -EEXIST)
			break;
	}
	if (err)
		goto out_unlink;
	return 0;

out_unlink:
	unlink(tmp);
	if (path_size)
		path[0] = '\0';
	return err;
}

int pf_files_replace(const char *dir, const char *name, const void *data, size_t size)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	err = write_temp(dir, name, data, size, tmp, sizeof(tmp));
	if (err)
		return err;
	if (rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
		return err;
	}
	pf_files_sync_dir(dir);
	return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* What a directory scan keeps: visible outputs, or hidden temp files. */
struct file_match {
	const char *prefix;
	const char *suffix; /* outputs only */
	bool temp;
};

static bool matches(const struct file_match *m, const char *name)
{
	size_t len = strlen(name), tail = strlen(TEMP_RANDOM TEMP_END);

	if (!m->temp)
		return name[0] != '.' && has_prefix(name, m->prefix) && has_suffix(name, m->suffix);
	/* .<prefix>...<.XXXXXX>.tmp */
	return name[0] == '.' && has_prefix(name + 1, m->prefix) && len > tail + 1 &&
	       has_suffix(name, TEMP_END) && name[len - tail] == '.';
}

struct file_entry {
	char *name;
	uint64_t mtime_ns;
};

static int entry_cmp(const void *pa, const void *pb)
{
	const struct file_entry *a = pa, *b = pb;

	if (a->mtime_ns != b->mtime_ns)
		return a->mtime_ns < b->mtime_ns ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* Collects the regular files of dir accepted by `m`, oldest first. */
static int list_files(DIR *d, const struct file_match *m, struct file_entry **out, size_t *n_out)
{
	struct file_entry *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int err = 0;

	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (!matches(m, de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct file_entry *nv = reallocarray(v, ncap, sizeof(*nv));

			if (!nv) {
				err = -ENOMEM;
				goto out_free;
			}
			v = nv;
			cap = ncap;
		}
		v[n].name = strdup(de->d_name);
		if (!v[n].name) {
			err = -ENOMEM;
			goto out_free;
		}
		v[n].mtime_ns =
			(uint64_t)st.st_mtim.tv_sec * NS_PER_SEC + (uint64_t)st.st_mtim.tv_nsec;
		n++;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), entry_cmp);
	*out = v;
	*n_out = n;
	return 0;

out_free:
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return err;
}

/* Lists the files of dir matching `m` and removes those beyond the newest
 * max_files plus any older than max_age_ns (0 = no age limit). */
static int remove_old(const char *dir, const struct file_match *m, int64_t max_files,
		      int64_t max_age_ns, uint64_t now_ns)
{
	struct file_entry *v = NULL;
	size_t n = 0;
	int removed = 0, err;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	err = list_files(d, m, &v, &n);
	if (err)
		goto out_close;
	for (size_t i = 0; i < n; i++) {
		bool too_many = max_files > 0 && n - i > (uint64_t)max_files;
		bool too_old = max_age_ns > 0 && now_ns > v[i].mtime_ns &&
			       now_ns - v[i].mtime_ns > (uint64_t)max_age_ns;

		if ((too_many || too_old) && unlinkat(dirfd(d), v[i].name, 0) == 0)
			removed++;
		free(v[i].name);
	}
	free(v);
	err = removed;
out_close:
	closedir(d);
	return err;
}

int pf_files_rotate(const char *dir, const char *prefix, const char *suffix, int64_t max_files,
		    int64_t max_age_ns, uint64_t now_ns)
{
	struct file_match m = {.prefix = prefix ? prefix : "", .suffix = suffix};

	if (max_files <= 0 && max_age_ns <= 0)
		return 0;
	return remove_old(dir, &m, max_files, max_age_ns, now_ns);
}

int pf_files_clean_temp(const char *dir, const char *prefix, int64_t min_age_ns, uint64_t now_ns)
{
	struct file_match m = {.prefix = prefix ? prefix : "", .temp = true};

	return remove_old(dir, &m, 0, min_age_ns > 0 ? min_age_ns : 1, now_ns);
}

int pf_files_mkdir(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	struct stat st;

	if (len == 0 || len >= sizeof(path))
		return -EINVAL;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (stat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int pf_files_prepare(const struct pf_logger *lg, const char *dir, const char *prefix)
{
	int err = pf_files_mkdir(dir);

	if (err) {
		pf_log(lg, PF_LOG_ERROR, "cannot create directory %s: %s", dir, strerror(-err));
		return err;
	}
	err = pf_files_clean_temp(dir, prefix, TEMP_MAX_AGE_NS, pf_files_now_ns());
	if (err < 0) {
		pf_log(lg, PF_LOG_ERROR, "cannot read directory %s: %s", dir, strerror(-err));
		return err;
	}
	return 0;
}

uint64_t pf_files_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}
