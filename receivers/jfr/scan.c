// SPDX-License-Identifier: Apache-2.0
/* The jfr receiver's scanner: paths and repository via files/file_watch; each file read once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "files/file_watch.h"
#include "receiver.h"

#define MAX_READS 2 /* files read at once; the others wait for a slot */

/*
 * A file of `paths` is read once two successive scans saw the same size and
 * mtime; a chunk file of the repository once its header says the JVM
 * finished it (the JVM writes the chunk size and metadata offset last).
 * files/file_watch does the rest: a file changed after its read is read
 * again, files no longer found are forgotten.
 */

struct pf_jfr_rx_scan {
	struct pf_jfr_rx *r;
	struct pf_file_watch *fw;
};

/* Thread pool: true when the file holds only finished chunks (the
 * repository's files hold one chunk each; the check reads its header). */
static bool chunk_finished(void *arg, const char *path, int64_t size)
{
	uint8_t head[PF_JFR_HEADER_SIZE];
	struct pf_jfr_header h;
	struct pf_error err = {0};
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	(void)arg;
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

static void on_read_done(struct pf_jfr_rx_read *rd)
{
	struct pf_jfr_rx_scan *s = rd->owner;

	pf_file_watch_read_done(s->fw, rd->path, rd->moved);
}

static int start_read(void *arg, const char *path, bool from_repository)
{
	struct pf_jfr_rx_scan *s = arg;
	struct pf_jfr_rx_read *rd = calloc(1, sizeof(*rd));

	if (!rd)
		return -ENOMEM;
	rd->path = strdup(path);
	if (!rd->path) {
		free(rd);
		return -ENOMEM;
	}
	rd->from_repository = from_repository;
	rd->finished = on_read_done;
	rd->owner = s;
	return pf_jfr_rx_submit(s->r, rd);
}

static void on_closed(void *arg)
{
	struct pf_jfr_rx_scan *s = arg;
	struct pf_jfr_rx *r = s->r;

	r->open_handles--;
	pf_jfr_rx_check_done(r);
}

struct pf_jfr_rx_scan *pf_jfr_rx_scan_new(struct pf_jfr_rx *r)
{
	const struct pf_jfr_rx_config *cfg = &r->cfg;
	struct pf_jfr_rx_scan *s = calloc(1, sizeof(*s));
	struct pf_file_watch_pattern *pat = calloc(cfg->paths.n + 2, sizeof(*pat));
	char repo_top[4096], repo_sub[4096];
	size_t n = 0;

	if (!s || !pat)
		goto out_free;
	s->r = r;
	for (size_t i = 0; i < cfg->paths.n; i++)
		pat[n++] = (struct pf_file_watch_pattern){.glob = cfg->paths.items[i]};
	if (cfg->repository && cfg->repository[0]) {
		/* The JVM writes its chunks into a directory of its own in the
		 * repository (<date>_<pid>/<date>.jfr). */
		snprintf(repo_top, sizeof(repo_top), "%s/*.jfr", cfg->repository);
		snprintf(repo_sub, sizeof(repo_sub), "%s/*/*.jfr", cfg->repository);
		pat[n++] = (struct pf_file_watch_pattern){.glob = repo_top, .checked = true};
		pat[n++] = (struct pf_file_watch_pattern){.glob = repo_sub, .checked = true};
	}
	struct pf_file_watch_config wc = {
		.patterns = pat,
		.n_patterns = n,
		.poll_interval = cfg->poll_interval,
		.max_reads = MAX_READS,
	};
	struct pf_file_watch_ops ops = {
		.complete = chunk_finished,
		.read = start_read,
		.closed = on_closed,
	};
	s->fw = pf_file_watch_create(r->c, &wc, &ops, s);
	if (!s->fw)
		goto out_free;
	free(pat);
	return s;

out_free:
	free(pat);
	free(s);
	return NULL;
}

int pf_jfr_rx_scan_start(struct pf_jfr_rx_scan *s)
{
	int err = pf_file_watch_start(s->fw);

	if (err < 0)
		return err;
	s->r->open_handles++;
	return 0;
}

void pf_jfr_rx_scan_stop(struct pf_jfr_rx_scan *s)
{
	pf_file_watch_stop(s->fw);
}

void pf_jfr_rx_scan_free(struct pf_jfr_rx_scan *s)
{
	if (!s)
		return;
	pf_file_watch_destroy(s->fw);
	free(s);
}
