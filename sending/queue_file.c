// SPDX-License-Identifier: Apache-2.0
/* The sending queue's disk storage: scan, write, read and remove one request file (blocking). */
#include "queue_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "files/files.h"

#define HEADER_SIZE 32
#define MAGIC	    "PFQ1"
#define VERSION	    1u
#define NAME_MAX_Q  64
/* the temp name of pf_files_write(): ".<name>.XXXXXX.tmp", so a crash's are cleaned the same way */
#define PUT_TEMP ".000000.tmp"
/* Requests are encoded batches; anything bigger is not ours. */
#define MAX_PAYLOAD ((uint64_t)1 << 34)

static void file_name(char *buf, size_t size, uint64_t seq, uint64_t items)
{
	snprintf(buf, size, "q-%016" PRIx64 "-%" PRIu64 ".req", seq, items);
}

/* Parses a request file name; false for anything else (temp files, strays). */
static bool parse_name(const char *name, uint64_t *seq, uint64_t *items)
{
	uint64_t s = 0, n = 0;
	const char *p = name;

	if (strncmp(p, "q-", 2) != 0)
		return false;
	p += 2;
	for (int i = 0; i < 16; i++, p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else
			return false;
		s = s << 4 | (uint64_t)d;
	}
	if (*p++ != '-' || *p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (strcmp(p, ".req") != 0)
		return false;
	*seq = s;
	*items = n;
	return true;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Calls fn for each request file in `dir`, in directory order, without
 * opening any (stat only). Stops at fn's first non-zero result and returns
 * it; otherwise returns 0, or a negative errno. */
static int scan(const char *dir, int (*fn)(void *arg, const struct pf_queue_file_entry *e),
		void *arg)
{
	int rc = 0;
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int dfd = dirfd(d);

	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			rc = errno ? -errno : 0;
			break;
		}
		struct pf_queue_file_entry e;
		struct stat st;
		if (!parse_name(de->d_name, &e.seq, &e.items))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		e.size = st.st_size > HEADER_SIZE ? (uint64_t)st.st_size - HEADER_SIZE : 0;
		rc = fn(arg, &e);
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

static void fill_header(unsigned char *hdr, uint64_t items, const void *data, size_t size)
{
	memcpy(hdr, MAGIC, 4);
	put_u32(hdr + 4, VERSION);
	put_u64(hdr + 8, items);
	put_u64(hdr + 16, size);
	put_u64(hdr + 24, XXH64(data, size, 0));
}

/* Writes the header and the payload with as few calls as the kernel allows. */
static int write_request(int fd, const unsigned char *hdr, const void *data, size_t size)
{
	struct iovec iov[2] = {{(void *)hdr, HEADER_SIZE}, {(void *)data, size}};
	int n_iov = size ? 2 : 1;
	struct iovec *v = iov;

	while (n_iov > 0) {
		ssize_t n = writev(fd, v, n_iov);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		while (n_iov > 0 && (size_t)n >= v->iov_len) {
			n -= (ssize_t)v->iov_len;
			v++;
			n_iov--;
		}
		if (n_iov > 0) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int pf_queue_file_put(int dir_fd, uint64_t seq, uint64_t items, const void *data, size_t size)
{
	char name[NAME_MAX_Q], tmp[NAME_MAX_Q + sizeof(PUT_TEMP) + 1];
	unsigned char hdr[HEADER_SIZE];
	int fd, rc;

	file_name(name, sizeof(name), seq, items);
	snprintf(tmp, sizeof(tmp), ".%s" PUT_TEMP, name);
	fill_header(hdr, items, data, size);
	/* the queue holds the directory's lock and seqs are unique: no other
	 * writer of this temp name; one left by a crash is truncated */
	fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	rc = write_request(fd, hdr, data, size);
	if (rc < 0)
		goto out_close;
	if (close(fd) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	/* complete before it gets its name: a kill between leaves a temp file */
	if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
		rc = -errno;
		goto out_unlink;
	}
	return 0;

out_close:
	close(fd);
out_unlink:
	unlinkat(dir_fd, tmp, 0);
	return rc;
}

int pf_queue_file_sync(int dir_fd, const struct pf_queue_file_entry *e, size_t n)
{
	char name[NAME_MAX_Q];
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		file_name(name, sizeof(name), e[i].seq, e[i].items);
		int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno != ENOENT && !rc) /* ENOENT: acknowledged already */
				rc = -errno;
			continue;
		}
		if (fsync(fd) < 0 && !rc)
			rc = -errno;
		close(fd);
	}
	/* the names (renames and removals) */
	if (fsync(dir_fd) < 0 && errno != EINVAL && !rc)
		rc = -errno;
	return rc;
}

int pf_queue_file_write(const char *dir, uint64_t seq, uint64_t items, const void *data,
			size_t size)
{
	struct pf_queue_file_entry e = {.seq = seq, .items = items, .size = size};
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (dir_fd < 0)
		return -errno;
	rc = pf_queue_file_put(dir_fd, seq, items, data, size);
	if (rc == 0)
		rc = pf_queue_file_sync(dir_fd, &e, 1);
	close(dir_fd);
	return rc;
}

static int read_all(int fd, unsigned char *p, size_t size)
{
	while (size) {
		ssize_t n = read(fd, p, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG;
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

/* Checks a request file's header against the request's sample count (from
 * its name) and the file's size; sets *len to the payload's length. */
static int check_header(const unsigned char *hdr, uint64_t items, uint64_t file_size, uint64_t *len)
{
	*len = get_u64(hdr + 16);
	if (memcmp(hdr, MAGIC, 4) != 0 || get_u32(hdr + 4) != VERSION ||
	    get_u64(hdr + 8) != items || *len > MAX_PAYLOAD || file_size != HEADER_SIZE + *len)
		return -EBADMSG;
	return 0;
}

static int check_payload(const unsigned char *hdr, const void *payload, uint64_t len)
{
	return XXH64(payload, len, 0) == get_u64(hdr + 24) ? 0 : -EBADMSG;
}

int pf_queue_file_parse(const void *file, size_t size, uint64_t items, const void **payload,
			size_t *len)
{
	const unsigned char *hdr = file;
	uint64_t n;

	if (size < HEADER_SIZE || check_header(hdr, items, size, &n) < 0 ||
	    check_payload(hdr, hdr + HEADER_SIZE, n) < 0)
		return -EBADMSG;
	*payload = hdr + HEADER_SIZE;
	*len = (size_t)n;
	return 0;
}

int pf_queue_file_read(const char *dir, uint64_t seq, uint64_t items, void **data, size_t *size)
{
	char name[NAME_MAX_Q], path[PATH_MAX];
	unsigned char hdr[HEADER_SIZE];
	unsigned char *buf = NULL;
	struct stat st;
	uint64_t len;
	int rc;

	file_name(name, sizeof(name), seq, items);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	rc = read_all(fd, hdr, sizeof(hdr));
	if (rc < 0)
		goto out_close;
	rc = check_header(hdr, items, (uint64_t)st.st_size, &len);
	if (rc < 0)
		goto out_close;
	buf = calloc(1, len ? len : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out_close;
	}
	rc = read_all(fd, buf, len);
	if (rc < 0)
		goto out_free_buf;
	rc = check_payload(hdr, buf, len);
	if (rc < 0)
		goto out_free_buf;
	close(fd);
	*data = buf;
	*size = len;
	return 0;

out_free_buf:
	free(buf);
out_close:
	close(fd);
	return rc;
}

int pf_queue_file_remove(const char *dir, uint64_t seq, uint64_t items)
{
	char name[NAME_MAX_Q], path[PATH_MAX];

	file_name(name, sizeof(name), seq, items);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	return unlink(path) < 0 ? -errno : 0;
}

int pf_queue_file_open(const char *base, const char *id, char **dir, int *lock_fd)
{
	char sub[128], path[PATH_MAX];
	int rc;

	*dir = NULL;
	*lock_fd = -1;
	pf_files_sanitize(id, 100, sub, sizeof(sub));
	size_t n = strlen(base) + 1 + strlen(sub) + 1;
	char *d = calloc(1, n);
	if (!d)
		return -ENOMEM;
	snprintf(d, n, "%s/%s", base, sub);
	*dir = d;
	rc = pf_files_mkdir(d);
	if (rc < 0)
		return rc;
	if ((size_t)snprintf(path, sizeof(path), "%s/.lock", d) >= sizeof(path))
		return -ENAMETOOLONG;
	/* one process per queue directory: two would send the same files */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	*lock_fd = fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return 0;
}

struct listing {
	struct pf_queue_file_entry *e;
	size_t n, cap;
};

static int list_one(void *arg, const struct pf_queue_file_entry *e)
{
	struct listing *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct pf_queue_file_entry *grown = calloc(cap, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		if (l->n)
			memcpy(grown, l->e, l->n * sizeof(*grown));
		free(l->e);
		l->e = grown;
		l->cap = cap;
	}
	l->e[l->n++] = *e;
	return 0;
}

static int by_seq(const void *a, const void *b)
{
	const struct pf_queue_file_entry *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int pf_queue_file_list(const char *dir, struct pf_queue_file_entry **entries, size_t *n)
{
	struct listing l = {0};
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	pf_files_clean_temp(dir, "q-", 1,
			    (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
	int rc = scan(dir, list_one, &l);
	if (rc < 0) {
		free(l.e);
		return rc;
	}
	if (l.n)
		qsort(l.e, l.n, sizeof(*l.e), by_seq);
	*entries = l.e;
	*n = l.n;
	return 0;
}
