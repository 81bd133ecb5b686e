// SPDX-License-Identifier: Apache-2.0
/* The pprof receiver's files: globs expanded on the thread pool, each complete file read once. */
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "receiver.h"

#define MAX_READS 2 /* files read at once; the others wait for the next round */

/*
 * A file is known by device, inode and mtime. While watching, a file is read
 * once two successive scans saw the same size and mtime (so a writer still
 * appending is left alone); without watch, the files found by the first scan
 * are read at once and nothing is scanned again. Files that disappear from
 * the globs are forgotten, which bounds memory by what the globs match.
 */

enum file_state {
	FILE_SEEN,  /* waiting for its size to settle */
	FILE_READY, /* settled, waiting for a read slot */
	FILE_READING,
	FILE_DONE, /* read (valid or not); skipped until its mtime changes */
};

struct file_entry {
	char *path;
	uint64_t dev, ino;
	int64_t size, mtime_ns;
	enum file_state state;
	bool present; /* matched by the latest scan */
};

struct scan_hit {
	char *path;
	uint64_t dev, ino;
	int64_t size, mtime_ns;
};

struct scan_job {
	uv_work_t work;
	struct pf_pprof_rx_files *f;
	struct scan_hit *hits;
	size_t n_hits;
	int err;
};

struct pf_pprof_rx_files {
	struct pf_pprof_rx *r;
	uv_timer_t timer;
	bool timer_open, stopping, scanning, scanned_once;
	unsigned reading;
	struct file_entry *entries;
	size_t n, cap;
};

/* ---- scanning (thread pool) ---- */

static int add_hit(struct scan_job *job, size_t *cap, const char *path, const struct stat *st)
{
	if (job->n_hits == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct scan_hit *grown = realloc(job->hits, ncap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		job->hits = grown;
		*cap = ncap;
	}
	struct scan_hit *h = &job->hits[job->n_hits];
	h->path = strdup(path);
	if (!h->path)
		return -ENOMEM;
	h->dev = st->st_dev;
	h->ino = st->st_ino;
	h->size = st->st_size;
	h->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	job->n_hits++;
	return 0;
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
	const struct pf_strings *paths = &job->f->r->cfg.paths;
	size_t cap = 0;

	for (size_t i = 0; i < paths->n; i++) {
		glob_t g;
		int ret = glob(paths->items[i], GLOB_BRACE | GLOB_TILDE, NULL, &g);
		if (ret == GLOB_NOMATCH)
			continue;
		if (ret != 0) {
			job->err = ret == GLOB_NOSPACE ? -ENOMEM : -EIO;
			continue;
		}
		for (size_t k = 0; k < g.gl_pathc; k++) {
			struct stat st;
			if (stat(g.gl_pathv[k], &st) < 0 || !S_ISREG(st.st_mode))
				continue;
			if (add_hit(job, &cap, g.gl_pathv[k], &st) < 0) {
				job->err = -ENOMEM;
				break;
			}
		}
		globfree(&g);
	}
	/* Patterns may overlap: keep each file once. */
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

static int cmp_entry(const void *a, const void *b)
{
	const struct file_entry *x = a, *y = b;

	return cmp_id(x->dev, x->ino, y->dev, y->ino);
}

/* Looks a hit up among the first n entries, sorted by cmp_entry. */
static int cmp_hit_entry(const void *key, const void *elem)
{
	const struct scan_hit *h = key;
	const struct file_entry *e = elem;

	return cmp_id(h->dev, h->ino, e->dev, e->ino);
}

static struct file_entry *add_entry(struct pf_pprof_rx_files *f, const struct scan_hit *h)
{
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 64;
		struct file_entry *grown = realloc(f->entries, ncap * sizeof(*grown));
		if (!grown)
			return NULL;
		f->entries = grown;
		f->cap = ncap;
	}
	struct file_entry *e = &f->entries[f->n];
	memset(e, 0, sizeof(*e));
	e->path = strdup(h->path);
	if (!e->path)
		return NULL;
	e->dev = h->dev;
	e->ino = h->ino;
	e->size = h->size;
	e->mtime_ns = h->mtime_ns;
	f->n++;
	return e;
}

static void remove_entry(struct pf_pprof_rx_files *f, struct file_entry *e)
{
	free(e->path);
	*e = f->entries[--f->n];
}

static void read_finished(struct pf_pprof_rx_job *job, int err)
{
	struct pf_pprof_rx_files *f = job->owner;
	struct file_entry *e;

	f->reading--;
	for (size_t i = 0; i < f->n; i++) {
		e = &f->entries[i];
		if (e->state != FILE_READING || strcmp(e->path, job->path) != 0)
			continue;
		if (job->deleted)
			remove_entry(f, e);
		else
			e->state = FILE_DONE;
		break;
	}
}

static void dispatch_reads(struct pf_pprof_rx_files *f);

static void on_read_done(struct pf_pprof_rx_job *job, int err)
{
	struct pf_pprof_rx_files *f = job->owner;

	read_finished(job, err);
	if (!f->stopping)
		dispatch_reads(f);
}

static void dispatch_reads(struct pf_pprof_rx_files *f)
{
	struct pf_pprof_rx *r = f->r;

	for (size_t i = 0; i < f->n && f->reading < MAX_READS; i++) {
		struct file_entry *e = &f->entries[i];
		if (e->state != FILE_READY)
			continue;
		struct pf_pprof_rx_job *job = calloc(1, sizeof(*job));
		if (!job)
			return;
		job->path = strdup(e->path);
		if (!job->path) {
			free(job);
			return;
		}
		job->source = job->path;
		job->attrs[0] = "file.path";
		job->attrs[1] = job->path;
		job->n_attrs = 2;
		job->delete_after_read = r->cfg.delete_after_read;
		job->limiter = &r->file_errors;
		job->finished = on_read_done;
		job->owner = f;
		if (pf_pprof_rx_submit(r, job) < 0)
			return;
		e->state = FILE_READING;
		f->reading++;
	}
}

static void merge_scan(struct pf_pprof_rx_files *f, const struct scan_job *job)
{
	bool settle = f->r->cfg.watch;
	size_t known = f->n;

	/* Sorted, so each hit is found in O(log n); new entries go after `known`
	 * and are never looked up in this round (hits are unique). */
	if (f->n)
		qsort(f->entries, f->n, sizeof(*f->entries), cmp_entry);
	for (size_t i = 0; i < f->n; i++)
		f->entries[i].present = false;
	for (size_t i = 0; i < job->n_hits; i++) {
		const struct scan_hit *h = &job->hits[i];
		struct file_entry *e =
			known ? bsearch(h, f->entries, known, sizeof(*f->entries), cmp_hit_entry)
			      : NULL;

		if (!e) {
			e = add_entry(f, h);
			if (!e)
				return; /* out of memory: try again next round */
			e->state = settle ? FILE_SEEN : FILE_READY;
		} else if (e->state == FILE_SEEN) {
			if (e->size == h->size && e->mtime_ns == h->mtime_ns)
				e->state = FILE_READY;
			e->size = h->size;
			e->mtime_ns = h->mtime_ns;
		} else if (e->state == FILE_DONE && e->mtime_ns != h->mtime_ns) {
			/* Rewritten in place: a new profile. */
			e->state = FILE_SEEN;
			e->size = h->size;
			e->mtime_ns = h->mtime_ns;
		}
		e->present = true;
	}
	for (size_t i = 0; i < f->n;) {
		struct file_entry *e = &f->entries[i];
		if (!e->present && e->state != FILE_READING)
			remove_entry(f, e); /* gone: forget it */
		else
			i++;
	}
}

static void scan_after(uv_work_t *w, int status)
{
	struct scan_job *job = w->data;
	struct pf_pprof_rx_files *f = job->f;
	struct pf_pprof_rx *r = f->r;

	f->scanning = false;
	r->jobs--;
	if (status == 0 && job->err < 0)
		pf_log(pf_component_logger(r->c), PF_LOG_WARN, "expanding paths: %s",
		       strerror(-job->err));
	if (status == 0 && !f->stopping) {
		merge_scan(f, job);
		f->scanned_once = true;
		dispatch_reads(f);
	}
	scan_job_free(job);
	pf_pprof_rx_check_done(r);
}

static void on_poll(uv_timer_t *t)
{
	struct pf_pprof_rx_files *f = t->data;
	struct pf_pprof_rx *r = f->r;
	struct scan_job *job;

	if (f->scanning || f->stopping)
		return;
	if (!r->cfg.watch && f->scanned_once) {
		uv_timer_stop(&f->timer); /* read once: nothing new is looked for */
		return;
	}
	job = calloc(1, sizeof(*job));
	if (!job)
		return;
	job->f = f;
	job->work.data = job;
	if (uv_queue_work(r->loop, &job->work, scan_work, scan_after) < 0) {
		free(job);
		return;
	}
	f->scanning = true;
	r->jobs++;
}

/* ---- lifecycle ---- */

struct pf_pprof_rx_files *pf_pprof_rx_files_new(struct pf_pprof_rx *r)
{
	struct pf_pprof_rx_files *f = calloc(1, sizeof(*f));

	if (f)
		f->r = r;
	return f;
}

int pf_pprof_rx_files_start(struct pf_pprof_rx_files *f)
{
	struct pf_pprof_rx *r = f->r;
	uint64_t ms = (uint64_t)(r->cfg.poll_interval / 1000000);
	int err;

	err = uv_timer_init(r->loop, &f->timer);
	if (err < 0)
		return err;
	f->timer.data = f;
	f->timer_open = true;
	r->open_handles++;
	return uv_timer_start(&f->timer, on_poll, 0, ms ? ms : 1);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct pf_pprof_rx_files *f = h->data;
	struct pf_pprof_rx *r = f->r;

	r->open_handles--;
	pf_pprof_rx_check_done(r);
}

void pf_pprof_rx_files_stop(struct pf_pprof_rx_files *f)
{
	if (f->stopping)
		return;
	f->stopping = true;
	if (f->timer_open) {
		f->timer_open = false;
		uv_timer_stop(&f->timer);
		uv_close((uv_handle_t *)&f->timer, on_timer_closed);
	}
}

void pf_pprof_rx_files_free(struct pf_pprof_rx_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->entries[i].path);
	free(f->entries);
	free(f);
}
