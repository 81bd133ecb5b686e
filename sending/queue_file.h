/* SPDX-License-Identifier: Apache-2.0 */
/* The sending queue's disk storage: one file per request (blocking calls). */
#ifndef PF_QUEUE_FILE_H
#define PF_QUEUE_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Layout of a queue directory: one file per request not yet acknowledged,
 * named q-<seq as 16 hex digits>-<samples>.req, written whole into a temp file
 * and then renamed, so a name always holds a complete request. The names are the queue's indices: the write index is the
 * highest seq plus one, the read order is ascending seq, and a request that
 * is being sent (the Collector's "dispatched" list) keeps its file until it
 * is acknowledged, so after a crash or kill -9 every file present is sent
 * again (at-least-once). A file is a 32-byte header (magic "PFQ1", version,
 * samples, payload length, XXH64 of the payload) and the payload.
 */

struct pf_queue_file_entry {
	uint64_t seq;
	uint64_t items;
	uint64_t size; /* payload bytes (file size minus the header) */
};

/* Makes <base>/<id sanitized>/ and takes its lock (flock on .lock, so one
 * process uses a queue directory). Sets *dir (malloc'd; set even on most
 * errors, for messages: the caller frees it) and *lock_fd (-1 or an fd the
 * caller closes, which releases the lock). Returns 0, -EBUSY when another
 * process holds the lock, or a negative errno. */
int pf_queue_file_open(const char *base, const char *id, char **dir, int *lock_fd);

/* Removes temp files left by a crashed write and lists the request files,
 * oldest (lowest seq) first, without opening any (stat only). *entries is
 * malloc'd (NULL when there are none) and the caller frees it. Returns 0 or
 * a negative errno. */
int pf_queue_file_list(const char *dir, struct pf_queue_file_entry **entries, size_t *n);

/*
 * Writes one request without waiting for the disk: into a temp file, renamed
 * to the request's name once complete (no fsync). From its return the
 * request survives the death of the process (kill -9, crash): the kernel
 * holds it. It survives a power loss or kernel crash only once
 * pf_queue_file_sync() has covered it; before, it may come back empty or
 * torn, which pf_queue_file_read() reports as -EBADMSG. `dir_fd` is the
 * queue directory, opened O_DIRECTORY. Cheap enough for the loop thread
 * (page-cache copy; blocks only when the kernel throttles dirty pages).
 * Returns 0 or a negative errno, leaving no file.
 */
int pf_queue_file_put(int dir_fd, uint64_t seq, uint64_t items, const void *data, size_t size);

/* Flushes the files of `n` requests written by pf_queue_file_put() to the
 * disk (those removed since are skipped), then the directory. Blocking:
 * thread pool. Returns 0 or the first negative errno. */
int pf_queue_file_sync(int dir_fd, const struct pf_queue_file_entry *e, size_t n);

/* pf_queue_file_put() and pf_queue_file_sync() of one request, by path
 * (tests and tools). Returns 0 or a negative errno. */
int pf_queue_file_write(const char *dir, uint64_t seq, uint64_t items, const void *data,
			size_t size);

/* Reads and checks one request; *data is malloc'd (the caller frees it).
 * Returns 0, -EBADMSG when the file is not a valid request, or a negative
 * errno. */
int pf_queue_file_read(const char *dir, uint64_t seq, uint64_t items, void **data, size_t *size);

/* Checks the `size` bytes of a whole request file read into memory, as
 * pf_queue_file_read() checks the file: header, the request's sample count
 * `items` (from its name), length and checksum. Returns 0 with *payload
 * pointing into `file` and *len set, or -EBADMSG. Pure (the fuzz target's
 * entry). */
int pf_queue_file_parse(const void *file, size_t size, uint64_t items, const void **payload,
			size_t *len);

/* Removes one request's file. Returns 0 or a negative errno (-ENOENT when
 * it is gone already). */
int pf_queue_file_remove(const char *dir, uint64_t seq, uint64_t items);

#endif
