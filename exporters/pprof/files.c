// SPDX-License-Identifier: Apache-2.0
/* Names, atomic writes and rotation of the pprof exporter's files (blocking; thread pool). */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_COLLISIONS 1000
#define TEMP_TAG       ".pb.gz."
#define TEMP_END       ".tmp"
#define NS_PER_SEC     1000000000ULL

size_t pf_pprof_files_sanitize(const char *in, size_t max, char *out, size_t size)
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

/* The text of a string or int attribute of the resource, into buf; NULL if absent. */
static const char *resource_attr(const struct pf_batch *b, uint32_t set, const char *key, char *buf,
				 size_t size)
{
	const struct pf_value *v = pf_batch_attr_lookup(b, set, key);

	if (!v)
		return NULL;
	if (v->kind == PF_VALUE_STRING && pf_batch_str_len(b, v->u.str) > 0)
		return pf_batch_str(b, v->u.str);
	if (v->kind == PF_VALUE_INT) {
		snprintf(buf, size, "%" PRId64, v->u.i);
		return buf;
	}
	return NULL;
}

const char *pf_pprof_files_name(const struct pf_batch *b, uint32_t p, const char *prefix,
				uint64_t now_ns, char *buf, size_t size)
{
	const struct pf_profile_desc *d = pf_batch_profile_get(b, p);
	uint32_t set = pf_batch_resource_get(b, d->resource)->attrs;
	char num[32], pre[48], svc[72], pid[24], type[40], unit[40], stamp[32];
	const char *service, *pid_text, *type_text;
	uint64_t t = d->time_unix_nano ? d->time_unix_nano : now_ns;
	time_t secs = (time_t)(t / NS_PER_SEC);
	struct tm tm;

	service = resource_attr(b, set, "service.name", num, sizeof(num));
	if (!service)
		service = resource_attr(b, set, "process.executable.name", num, sizeof(num));
	pf_pprof_files_sanitize(prefix, 40, pre, sizeof(pre));
	pf_pprof_files_sanitize(service ? service : "unknown", 64, svc, sizeof(svc));
	pid_text = resource_attr(b, set, "process.pid", num, sizeof(num));
	pf_pprof_files_sanitize(pid_text, 20, pid, sizeof(pid));
	type_text = pf_batch_str(b, d->sample_type.type);
	pf_pprof_files_sanitize(type_text[0] ? type_text : "profile", 32, type, sizeof(type));
	pf_pprof_files_sanitize(pf_batch_str(b, d->sample_type.unit), 32, unit, sizeof(unit));
	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);

	snprintf(buf, size, "%s%s%s%s.%s%s%s.%s.%03uZ", pre, svc, pid[0] ? ".pid" : "", pid, type,
		 unit[0] ? "_" : "", unit, stamp, (unsigned)(t % NS_PER_SEC / 1000000));
	return buf;
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

static int fsync_dir(const char *dir)
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

int pf_pprof_files_write(const char *dir, const char *base, const void *data, size_t size,
			 char *path, size_t path_size)
{
	char tmp[PATH_MAX];
	int fd, err;

	if (path_size)
		path[0] = '\0';
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s" TEMP_TAG "XXXXXX" TEMP_END, dir, base) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemps(tmp, (int)strlen(TEMP_END), O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644) < 0) {
		err = -errno;
		goto out_unlink;
	}
	err = write_all(fd, data, size);
	if (err)
		goto out_unlink;
	if (fsync(fd) < 0) {
		err = -errno;
		goto out_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		err = -errno;
		goto out_unlink;
	}
	fd = -1;

	for (unsigned i = 0; i < MAX_COLLISIONS; i++) {
		int n = i ? snprintf(path, path_size, "%s/%s.%u" PF_PPROF_FILES_SUFFIX, dir, base,
				     i)
			  : snprintf(path, path_size, "%s/%s" PF_PPROF_FILES_SUFFIX, dir, base);

		if (n < 0 || (size_t)n >= path_size) {
			err = -ENAMETOOLONG;
			goto out_unlink;
		}
		err = rename_noreplace(tmp, path);
		if (err != -EEXIST)
			break;
	}
	if (err)
		goto out_unlink;
	/* Make the rename itself durable; the file is already complete. */
	fsync_dir(dir);
	return 0;

out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	if (path_size)
		path[0] = '\0';
	return err;
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

/* Collects the regular files of dir accepted by `match`, oldest first. */
static int list_files(DIR *d, bool (*match)(const char *name, const char *prefix),
		      const char *prefix, struct file_entry **out, size_t *n_out)
{
	struct file_entry *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int err = 0;

	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (!match(de->d_name, prefix))
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

static bool is_output(const char *name, const char *prefix)
{
	return name[0] != '.' && has_prefix(name, prefix) &&
	       has_suffix(name, PF_PPROF_FILES_SUFFIX);
}

static bool is_temp(const char *name, const char *prefix)
{
	return name[0] == '.' && has_prefix(name + 1, prefix) && has_suffix(name, TEMP_END) &&
	       strstr(name, TEMP_TAG) != NULL;
}

/* Lists the matching files of dir and removes the first `keep_from` of them
 * plus any older than max_age_ns (0 = no age limit). */
static int remove_old(const char *dir, bool (*match)(const char *, const char *),
		      const char *prefix, int64_t max_files, int64_t max_age_ns, uint64_t now_ns)
{
	struct file_entry *v = NULL;
	size_t n = 0;
	int removed = 0, err;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	err = list_files(d, match, prefix ? prefix : "", &v, &n);
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

int pf_pprof_files_rotate(const char *dir, const char *prefix, int64_t max_files,
			  int64_t max_age_ns, uint64_t now_ns)
{
	if (max_files <= 0 && max_age_ns <= 0)
		return 0;
	return remove_old(dir, is_output, prefix, max_files, max_age_ns, now_ns);
}

int pf_pprof_files_clean_temp(const char *dir, const char *prefix, int64_t min_age_ns,
			      uint64_t now_ns)
{
	return remove_old(dir, is_temp, prefix, 0, min_age_ns > 0 ? min_age_ns : 1, now_ns);
}

int pf_pprof_files_mkdir(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

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
	struct stat st;

	if (stat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}
