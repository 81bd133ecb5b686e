// SPDX-License-Identifier: Apache-2.0
/* Globs expanded on the thread pool each poll; each complete file handed to a bounded read. */
#include "files/file_watch.h"

#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "core/log.h"

enum file_state {
	FILE_SEEN,  /* waiting for its size to settle, or to be complete */
	FILE_READY, /* waiting for a read slot */
	FILE_READING,
	FILE_DONE, /* read (valid or not); skipped until it changes */
};

struct file_entry {
	char *path;
	uint64_t dev, ino;
	int64_t size, mtime_ns;
	enum file_state state;
	bool checked, present;
};

struct scan_hit {
	char *path;
	uint64_t dev, ino;
	int64_t size, mtime_ns;
	bool checked, complete;
};

struct scan_job {
	uv_work_t work;
	struct pf_file_watch *fw;
	struct scan_hit *hits;
	size_t n_hits, cap;
	int err;
};

struct pf_file_watch {
	struct pf_component *c;
	uv_loop_t *loop;
	struct pf_file_watch_pattern *patterns; /* globs owned */
	size_t n_patterns;
	int64_t poll_interval;
	bool once;
	unsigned max_reads;
	struct pf_file_watch_ops ops;
	void *arg;

	uv_timer_t timer;
	bool started, timer_open, stopping, scanning, scanned_once, closed;
	unsigned reading;
	struct file_entry *entries;
	size_t n, cap;
};

/* ---- scanning (thread pool) ---- */

static int add_hit(struct scan_job *job, const char *path, const struct stat *st, bool checked)
{
	const struct pf_file_watch *fw = job->fw;

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
	h->checked = checked;
	h->complete = checked && fw->ops.complete && fw->ops.complete(fw->arg, path, st->st_size);
	job->n_hits++;
	return 0;
}

static void expand(struct scan_job *job, const struct pf_file_watch_pattern *p)
{
	glob_t g;
	int ret = glob(p->glob, GLOB_BRACE | GLOB_TILDE, NULL, &g);

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
		if (add_hit(job, g.gl_pathv[k], &st, p->checked) < 0) {
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
	const struct pf_file_watch *fw = job->fw;

	for (size_t i = 0; i < fw->n_patterns; i++)
		expand(job, &fw->patterns[i]);
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

static int cmp_hit_entry(const void *key, const void *elem)
{
	const struct scan_hit *h = key;
	const struct file_entry *e = elem;

	return cmp_id(h->dev, h->ino, e->dev, e->ino);
}

static struct file_entry *add_entry(struct pf_file_watch *fw, const struct scan_hit *h)
{
	if (fw->n == fw->cap) {
		size_t ncap = fw->cap ? fw->cap * 2 : 64;
		struct file_entry *grown = realloc(fw->entries, ncap * sizeof(*grown));
		if (!grown)
			return NULL;
		fw->entries = grown;
		fw->cap = ncap;
	}
	struct file_entry *e = &fw->entries[fw->n];
	memset(e, 0, sizeof(*e));
	e->path = strdup(h->path);
	if (!e->path)
		return NULL;
	e->dev = h->dev;
	e->ino = h->ino;
	e->size = h->size;
	e->mtime_ns = h->mtime_ns;
	e->checked = h->checked;
	fw->n++;
	return e;
}

static void remove_entry(struct pf_file_watch *fw, struct file_entry *e)
{
	free(e->path);
	*e = fw->entries[--fw->n];
}

static void dispatch_reads(struct pf_file_watch *fw)
{
	for (size_t i = 0; i < fw->n && fw->reading < fw->max_reads; i++) {
		struct file_entry *e = &fw->entries[i];
		if (e->state != FILE_READY)
			continue;
		if (fw->ops.read(fw->arg, e->path, e->checked) < 0)
			return; /* tried again on the next poll */
		e->state = FILE_READING;
		fw->reading++;
	}
}

void pf_file_watch_read_done(struct pf_file_watch *fw, const char *path, bool gone)
{
	fw->reading--;
	for (size_t i = 0; i < fw->n; i++) {
		struct file_entry *e = &fw->entries[i];
		if (e->state != FILE_READING || strcmp(e->path, path) != 0)
			continue;
		if (gone)
			remove_entry(fw, e);
		else
			e->state = FILE_DONE;
		break;
	}
	if (!fw->stopping)
		dispatch_reads(fw);
}

static void merge_scan(struct pf_file_watch *fw, const struct scan_job *job)
{
	size_t known = fw->n;

	/* Sorted, so each hit is found in O(log n); new entries go after `known`
	 * and are never looked up in this round (hits are unique). */
	if (fw->n)
		qsort(fw->entries, fw->n, sizeof(*fw->entries), cmp_entry);
	for (size_t i = 0; i < fw->n; i++)
		fw->entries[i].present = false;
	for (size_t i = 0; i < job->n_hits; i++) {
		const struct scan_hit *h = &job->hits[i];
		struct file_entry *e =
			known ? bsearch(h, fw->entries, known, sizeof(*fw->entries), cmp_hit_entry)
			      : NULL;
		bool changed = e && (e->size != h->size || e->mtime_ns != h->mtime_ns);

		if (!e) {
			e = add_entry(fw, h);
			if (!e)
				return; /* out of memory: try again next round */
			e->state = fw->once && !h->checked ? FILE_READY : FILE_SEEN;
		} else if (e->state == FILE_SEEN) {
			if (!e->checked && !changed)
				e->state = FILE_READY;
		} else if (e->state == FILE_DONE && changed) {
			e->state = FILE_SEEN; /* rewritten or grown: read again */
		}
		if (e->state == FILE_SEEN && e->checked && h->complete)
			e->state = FILE_READY;
		e->size = h->size;
		e->mtime_ns = h->mtime_ns;
		e->present = true;
	}
	for (size_t i = 0; i < fw->n;) {
		struct file_entry *e = &fw->entries[i];
		if (!e->present && e->state != FILE_READING)
			remove_entry(fw, e); /* gone: forget it */
		else
			i++;
	}
}

/* Calls ops.closed once the timer is closed and no scan runs; last use of fw. */
static void check_closed(struct pf_file_watch *fw)
{
	if (!fw->stopping || fw->closed || fw->timer_open || fw->scanning || !fw->started)
		return;
	fw->closed = true;
	fw->ops.closed(fw->arg);
}

static void scan_after(uv_work_t *w, int status)
{
	struct scan_job *job = w->data;
	struct pf_file_watch *fw = job->fw;

	fw->scanning = false;
	if (status == 0 && job->err < 0)
		pf_log(pf_component_logger(fw->c), PF_LOG_WARN, "expanding paths: %s",
		       strerror(-job->err));
	if (status == 0 && !fw->stopping) {
		merge_scan(fw, job);
		fw->scanned_once = true;
		dispatch_reads(fw);
	}
	scan_job_free(job);
	check_closed(fw);
}

static void on_poll(uv_timer_t *t)
{
	struct pf_file_watch *fw = t->data;
	struct scan_job *job;

	if (fw->scanning || fw->stopping)
		return;
	if (fw->once && fw->scanned_once) {
		uv_timer_stop(&fw->timer); /* read once: nothing new is looked for */
		return;
	}
	job = calloc(1, sizeof(*job));
	if (!job)
		return;
	job->fw = fw;
	job->work.data = job;
	if (uv_queue_work(fw->loop, &job->work, scan_work, scan_after) < 0) {
		free(job);
		return;
	}
	fw->scanning = true;
}

/* ---- lifecycle ---- */

struct pf_file_watch *pf_file_watch_create(struct pf_component *c,
					   const struct pf_file_watch_config *cfg,
					   const struct pf_file_watch_ops *ops, void *arg)
{
	struct pf_file_watch *fw = calloc(1, sizeof(*fw));

	if (!fw)
		goto out_oom;
	fw->c = c;
	fw->loop = pf_component_loop(c);
	fw->poll_interval = cfg->poll_interval;
	fw->once = cfg->once;
	fw->max_reads = cfg->max_reads ? cfg->max_reads : 1;
	fw->ops = *ops;
	fw->arg = arg;
	if (cfg->n_patterns) {
		fw->patterns = calloc(cfg->n_patterns, sizeof(*fw->patterns));
		if (!fw->patterns)
			goto out_free;
	}
	for (size_t i = 0; i < cfg->n_patterns; i++) {
		fw->patterns[i].checked = cfg->patterns[i].checked;
		fw->patterns[i].glob = strdup(cfg->patterns[i].glob);
		fw->n_patterns++;
		if (!fw->patterns[i].glob)
			goto out_free;
	}
	return fw;

out_free:
	pf_file_watch_destroy(fw);
out_oom:
	pf_log(pf_component_logger(c), PF_LOG_ERROR, "out of memory");
	return NULL;
}

int pf_file_watch_start(struct pf_file_watch *fw)
{
	uint64_t ms = (uint64_t)(fw->poll_interval / 1000000);
	int err = uv_timer_init(fw->loop, &fw->timer);

	if (err < 0)
		return err;
	fw->timer.data = fw;
	fw->timer_open = true;
	fw->started = true;
	/* Cannot fail: the timer is open and on_poll is set. */
	uv_timer_start(&fw->timer, on_poll, 0, ms ? ms : 1);
	return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct pf_file_watch *fw = h->data;

	fw->timer_open = false;
	check_closed(fw);
}

void pf_file_watch_stop(struct pf_file_watch *fw)
{
	if (fw->stopping)
		return;
	fw->stopping = true;
	if (fw->timer_open) {
		uv_timer_stop(&fw->timer);
		uv_close((uv_handle_t *)&fw->timer, on_timer_closed);
	}
}

void pf_file_watch_destroy(struct pf_file_watch *fw)
{
	if (!fw)
		return;
	for (size_t i = 0; i < fw->n; i++)
		free(fw->entries[i].path);
	free(fw->entries);
	for (size_t i = 0; i < fw->n_patterns; i++)
		free((char *)fw->patterns[i].glob);
	free(fw->patterns);
	free(fw);
}
