// SPDX-License-Identifier: Apache-2.0
/* The jfr receiver's scanner: globs and the repository listed on the thread pool, each finished file read once. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"
#include "receiver.h"

#define MAX_READS 2 /* files read at once; the others wait for a slot */

/*
 * A file is known by device and inode. A file of `paths` is read once two
 * successive scans saw the same size and mtime; a chunk file of the
 * repository once its header says the JVM finished it (the JVM writes the
 * chunk size and metadata offset last). A file whose mtime or size changes
 * after it was read is read again; files no longer found are forgotten.
 */

enum file_state {
	FILE_SEEN,  /* waiting for its size to settle, or for its chunk to finish */
	FILE_READY, /* waiting for a read slot */
	FILE_READING,
	FILE_DONE, /* read (valid or not); skipped until it changes */
};

struct file_entry {
	char *path;
	uint64_t dev, ino;
	int64_t size, mtime_ns;
	enum file_state state;
	bool repo, finished, present;
};

struct scan_hit {
	char *path;
	uint64_t dev, ino;
	int64_t size, mtime_ns;
	bool repo, finished;
};

struct scan_job {
	uv_work_t work;
	struct pf_jfr_rx_scan *s;
	struct scan_hit *hits;
	size_t n_hits, cap;
	int err;
};

struct pf_jfr_rx_scan {
	struct pf_jfr_rx *r;
	uv_timer_t timer;
	bool timer_open, stopping, scanning;
	unsigned reading;
	struct file_entry *entries;
	size_t n, cap;
};

/* ---- scanning (thread pool) ---- */

/* True when the file holds only finished chunks (the repository's files
 * hold one chunk each; the check reads its header). */
static bool chunk_finished(const char *path, int64_t size)
{
	uint8_t head[PF_JFR_HEADER_SIZE];
	struct pf_jfr_header h;
	struct pf_error err = {0};
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return false;
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n != (ssize_t)sizeof(head))
		return false;
	/* A corrupt header counts as finished: the read reports it. */
	if (pf_jfr_read_header(head, sizeof(head), 0, &h, &err) == -EAGAIN)
		return false;
	return pf_error_isset(&err) || (int64_t)h.size <= size;
}

static int add_hit(struct scan_job *job, const char *path, const struct stat *st, bool repo)
{
	if (job->n_hits == job->cap) {
		size_t ncap = job->cap ? job->cap * 2 : 64;
		struct scan_hit *grown = realloc(job->hits, ncap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		job->hits = grown;
		job->cap = ncap;
	}
	struct scan_hit *h = &job->hits[job->n_hits];
	memset(h, 0, sizeof(*h));
	h->path = strdup(path);
	if (!h->path)
		return -ENOMEM;
	h->dev = st->st_dev;
	h->ino = st->st_ino;
	h->size = st->st_size;
	h->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	h->repo = repo;
	h->finished = repo && chunk_finished(path, st->st_size);
	job->n_hits++;
	return 0;
}

static void expand(struct scan_job *job, const char *pattern, bool repo)
{
	glob_t g;
	int ret = glob(pattern, GLOB_BRACE | GLOB_TILDE, NULL, &g);

	if (ret == GLOB_NOMATCH)
		return;
	if (ret != 0) {
		job->err = ret == GLOB_NOSPACE ? -ENOMEM : -EIO;
		return;
	}
	for (size_t k = 0; k < g.gl_pathc; k++) {
		struct stat st;
		if (stat(g.gl_pathv[k], &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (add_hit(job, g.gl_pathv[k], &st, repo) < 0) {
			job->err = -ENOMEM;
			break;
		}
	}
	globfree(&g);
}

static int cmp_id(uint64_t dev_a, uint64_t ino_a, uint64_t dev_b, uint64_t ino_b)
{
	if (dev_a != dev_b)
		return dev_a < dev_b ? -1 : 1;
	if (ino_a != ino_b)
		return ino_a < ino_b ? -1 : 1;
	return 0;
}

static int cmp_hit(const void *a, const void *b)
{
	const struct scan_hit *x = a, *y = b;

	return cmp_id(x->dev, x->ino, y->dev, y->ino);
}

static void scan_work(uv_work_t *w)
{
	struct scan_job *job = w->data;
	const struct pf_jfr_rx_config *cfg = &job->s->r->cfg;

	for (size_t i = 0; i < cfg->paths.n; i++)
		expand(job, cfg->paths.items[i], false);
	if (cfg->repository && cfg->repository[0]) {
		/* The JVM writes its chunks into a directory of its own in the
		 * repository (<date>_<pid>/<date>.jfr). */
		char pattern[4096];
		snprintf(pattern, sizeof(pattern), "%s/*.jfr", cfg->repository);
		expand(job, pattern, true);
		snprintf(pattern, sizeof(pattern), "%s/*/*.jfr", cfg->repository);
		expand(job, pattern, true);
	}
	if (job->n_hits)
		qsort(job->hits, job->n_hits, sizeof(*job->hits), cmp_hit);
	size_t kept = 0;
	for (size_t i = 0; i < job->n_hits; i++) {
		if (kept && cmp_hit(&job->hits[kept - 1], &job->hits[i]) == 0) {
			free(job->hits[i].path);
			continue;
		}
		job->hits[kept++] = job->hits[i];
	}
	job->n_hits = kept;
}

static void scan_job_free(struct scan_job *job)
{
	for (size_t i = 0; i < job->n_hits; i++)
		free(job->hits[i].path);
	free(job->hits);
	free(job);
}

/* ---- bookkeeping on the loop ---- */

static struct file_entry *find_entry(struct pf_jfr_rx_scan *s, const struct scan_hit *h)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->entries[i].dev == h->dev && s->entries[i].ino == h->ino)
			return &s->entries[i];
	return NULL;
}

static struct file_entry *add_entry(struct pf_jfr_rx_scan *s, const struct scan_hit *h)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct file_entry *grown = realloc(s->entries, ncap * sizeof(*grown));
		if (!grown)
			return NULL;
		s->entries = grown;
		s->cap = ncap;
	}
	struct file_entry *e = &s->entries[s->n];
	memset(e, 0, sizeof(*e));
	e->path = strdup(h->path);
	if (!e->path)
		return NULL;
	e->dev = h->dev;
	e->ino = h->ino;
	e->size = h->size;
	e->mtime_ns = h->mtime_ns;
	e->repo = h->repo;
	s->n++;
	return e;
}

static void remove_entry(struct pf_jfr_rx_scan *s, struct file_entry *e)
{
	free(e->path);
	*e = s->entries[--s->n];
}

static void dispatch_reads(struct pf_jfr_rx_scan *s);

static void on_read_done(struct pf_jfr_rx_read *rd)
{
	struct pf_jfr_rx_scan *s = rd->owner;

	s->reading--;
	for (size_t i = 0; i < s->n; i++) {
		struct file_entry *e = &s->entries[i];
		if (e->state != FILE_READING || strcmp(e->path, rd->path) != 0)
			continue;
		if (rd->moved)
			remove_entry(s, e);
		else
			e->state = FILE_DONE;
		break;
	}
	if (!s->stopping)
		dispatch_reads(s);
}

static void dispatch_reads(struct pf_jfr_rx_scan *s)
{
	for (size_t i = 0; i < s->n && s->reading < MAX_READS; i++) {
		struct file_entry *e = &s->entries[i];
		if (e->state != FILE_READY)
			continue;
		struct pf_jfr_rx_read *rd = calloc(1, sizeof(*rd));
		if (!rd)
			return;
		rd->path = strdup(e->path);
		if (!rd->path) {
			free(rd);
			return;
		}
		rd->from_repository = e->repo;
		rd->finished = on_read_done;
		rd->owner = s;
		if (pf_jfr_rx_submit(s->r, rd) < 0)
			return;
		e->state = FILE_READING;
		s->reading++;
	}
}

static void merge_scan(struct pf_jfr_rx_scan *s, const struct scan_job *job)
{
	for (size_t i = 0; i < s->n; i++)
		s->entries[i].present = false;
	for (size_t i = 0; i < job->n_hits; i++) {
		const struct scan_hit *h = &job->hits[i];
		struct file_entry *e = find_entry(s, h);
		bool changed = e && (e->size != h->size || e->mtime_ns != h->mtime_ns);

		if (!e) {
			e = add_entry(s, h);
			if (!e)
				return; /* out of memory: try again next round */
			e->state = FILE_SEEN;
		} else if (e->state == FILE_SEEN) {
			if (!e->repo && !changed)
				e->state = FILE_READY;
		} else if (e->state == FILE_DONE && changed) {
			e->state = FILE_SEEN; /* rewritten or grown: read again */
		}
		if (e->state == FILE_SEEN && e->repo && h->finished)
			e->state = FILE_READY;
		e->size = h->size;
		e->mtime_ns = h->mtime_ns;
		e->present = true;
	}
	for (size_t i = 0; i < s->n;) {
		struct file_entry *e = &s->entries[i];
		if (!e->present && e->state != FILE_READING)
			remove_entry(s, e);
		else
			i++;
	}
}

static void scan_after(uv_work_t *w, int status)
{
	struct scan_job *job = w->data;
	struct pf_jfr_rx_scan *s = job->s;
	struct pf_jfr_rx *r = s->r;

	s->scanning = false;
	r->jobs--;
	if (status == 0 && job->err < 0)
		pf_log(pf_component_logger(r->c), PF_LOG_WARN, "expanding paths: %s",
		       strerror(-job->err));
	if (status == 0 && !s->stopping) {
		merge_scan(s, job);
		dispatch_reads(s);
	}
	scan_job_free(job);
	pf_jfr_rx_check_done(r);
}

static void on_poll(uv_timer_t *t)
{
	struct pf_jfr_rx_scan *s = t->data;
	struct pf_jfr_rx *r = s->r;

	if (s->scanning || s->stopping)
		return;
	struct scan_job *job = calloc(1, sizeof(*job));
	if (!job)
		return;
	job->s = s;
	job->work.data = job;
	if (uv_queue_work(r->loop, &job->work, scan_work, scan_after) < 0) {
		free(job);
		return;
	}
	s->scanning = true;
	r->jobs++;
}

/* ---- lifecycle ---- */

struct pf_jfr_rx_scan *pf_jfr_rx_scan_new(struct pf_jfr_rx *r)
{
	struct pf_jfr_rx_scan *s = calloc(1, sizeof(*s));

	if (s)
		s->r = r;
	return s;
}

int pf_jfr_rx_scan_start(struct pf_jfr_rx_scan *s)
{
	struct pf_jfr_rx *r = s->r;
	uint64_t ms = (uint64_t)(r->cfg.poll_interval / 1000000);
	int err = uv_timer_init(r->loop, &s->timer);

	if (err < 0)
		return err;
	s->timer.data = s;
	s->timer_open = true;
	r->open_handles++;
	return uv_timer_start(&s->timer, on_poll, 0, ms ? ms : 1);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct pf_jfr_rx_scan *s = h->data;
	struct pf_jfr_rx *r = s->r;

	r->open_handles--;
	pf_jfr_rx_check_done(r);
}

void pf_jfr_rx_scan_stop(struct pf_jfr_rx_scan *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	if (s->timer_open) {
		s->timer_open = false;
		uv_timer_stop(&s->timer);
		uv_close((uv_handle_t *)&s->timer, on_timer_closed);
	}
}

void pf_jfr_rx_scan_free(struct pf_jfr_rx_scan *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->entries[i].path);
	free(s->entries);
	free(s);
}
